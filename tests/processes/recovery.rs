//! Recovery with real node processes: a replica manager's process killed with SIGKILL in the
//! middle of a concurrent seeded workload is restarted by `dmtbs up` and, while the load goes on,
//! comes back by state transfer (a stable checkpoint fetched from a peer, then the log tail) —
//! alone, and while another RM runs a lying module. Every answer a client saw is checked against
//! the independent model of the rules fed the same sequence; every test ends with the four RMs'
//! own checkpoints equal.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use dmtbs_client::{Answer, Client, Error, Operation, Success};
use dmtbs_cluster::config::TransportMode;
use dmtbs_cluster::local::test_config_text;
use dmtbs_cluster::rundir;
use dmtbs_proto::NodeId;
use dmtbs_testkit::components::{self, IMPLEMENTATIONS};
use dmtbs_testkit::workload::Workload;
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::harness::{TODAY, Up, alive, signal};

/// Requests between checkpoints: small, so that the peers' logs are truncated well before the
/// killed RM comes back and it must start from a transferred checkpoint.
const CHECKPOINT_EVERY: u64 = 25;
/// Clients sending at the same time, each one request after another.
const CLIENTS: usize = 4;
/// Most requests one load may send (it stops earlier once the restarted RM has served
/// [`AFTER_BACK`] more).
const MAX_REQUESTS: usize = 8_000;
/// Answers the clients must get after the restarted RM reports `serving` before the load stops.
const AFTER_BACK: usize = 100;
/// The longest one request may take before the test counts it as failed.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest a whole load may take.
const LOAD_TIMEOUT: Duration = Duration::from_secs(25);
/// How long a restart, a swap or convergence may take to show in the status.
const STATUS_TIMEOUT: Duration = Duration::from_secs(20);

/// A cluster file in a fresh folder: RM `i` runs `modules[i]`, with the correct implementation
/// of its slot as the known-good fallback when `modules[i]` is another one; checkpoints every
/// [`CHECKPOINT_EVERY`] requests; the quarantine lists kept inside the folder.
fn cluster_file(modules: [&str; 4]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temporary folder");
    let text = test_config_text(&components::dir(), modules, TransportMode::Multicast, TODAY)
        .expect("test configuration");
    let data = dir.path().join("data");
    let mut rm = 0;
    let mut out = String::new();
    for line in text.lines() {
        if line == "[[rm]]" {
            rm += 1;
        }
        let line = if line == "[recovery]" {
            format!("[recovery]\ncheckpoint_every = {CHECKPOINT_EVERY}")
        } else if line.starts_with("data_dir = ") {
            format!("data_dir = \"{}\"", data.display())
        } else if line.starts_with("modules = ") && modules[rm - 1] != IMPLEMENTATIONS[rm - 1] {
            format!(
                "modules = [\"{}\", \"{}\"]",
                modules[rm - 1],
                IMPLEMENTATIONS[rm - 1]
            )
        } else {
            line.to_owned()
        };
        out += &line;
        out.push('\n');
    }
    std::fs::write(dir.path().join("cluster.toml"), out).expect("write cluster file");
    dir
}

/// Which RM process to SIGKILL during a load, and when.
#[derive(Clone, Copy)]
struct Kill {
    rm: u8,
    /// Killed by the client that gets the `after`-th answer, before it sends anything else.
    after: usize,
    /// Only the first client sends until the kill, the others start after it: at the kill
    /// exactly `after` requests have been sequenced and nothing is in flight. And `up` is
    /// frozen (SIGSTOP) from the kill until two more requests are answered, so the RM is
    /// surely absent for them however slow the machine (a restart in between would answer).
    alone: bool,
}

/// One request and what its client got.
type Seen = (Operation, Result<Answer<Success>, Error>);

/// What a load with a kill saw.
struct Outcome {
    /// Every request and its answer.
    seen: Vec<Seen>,
    /// The killed process.
    killed: u32,
    /// The restarted RM's first status entry once it had installed a state.
    installed: Value,
    /// Its entry once it served again.
    serving: Value,
    /// The highest sequence number answered when the restarted RM served again.
    answered_when_back: u64,
}

/// A running cluster, its client and the reference its answers are checked against.
struct Run {
    up: Up,
    client: Client,
    reference: Reference,
    seed: u64,
}

impl Run {
    fn start(modules: [&str; 4], seed: u64) -> Run {
        println!("seed {seed} (modules {modules:?}, checkpoint every {CHECKPOINT_EVERY})");
        let up = Up::start_in(cluster_file(modules));
        let client = Client::builder(up.url(""))
            .admin_key(up.admin_key())
            .tokens(up.config.mint_tokens())
            .timeout(REQUEST_TIMEOUT)
            .build()
            .expect("client");
        Run {
            up,
            client,
            reference: Reference::new(),
            seed,
        }
    }

    /// Runs the seeded workload from [`CLIENTS`] concurrent clients (round robin), SIGKILLs
    /// `kill.rm` on the way, waits for `up` to restart it and for the new process to serve, and
    /// stops the load [`AFTER_BACK`] answers later: the RM joins and catches up under load.
    /// Then checks every answer against the reference.
    async fn load_with_kill(&mut self, kill: Kill) -> Outcome {
        // Every RM takes part from the first request (an RM joining late would start from a
        // checkpoint, and a lying replica would then have answered nothing yet).
        for id in 1..=4 {
            self.wait_for(id, "serving before the load", |s| s["health"] == "serving")
                .await;
        }
        let done = Arc::new(AtomicUsize::new(0));
        let highest = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (killed_tx, mut killed) = watch::channel(None);
        let (go_tx, go) = watch::channel(!kill.alone);
        let killed_tx = Arc::new(killed_tx);
        let pid_file = rundir::pid_file(&self.up.run_dir, NodeId::Rm(kill.rm));
        let supervisor = self.up.pid();
        let mut lanes: Vec<Vec<Operation>> = vec![Vec::new(); CLIENTS];
        for (i, request) in Workload::new(self.seed).take(MAX_REQUESTS).enumerate() {
            lanes[i % CLIENTS].push(request.operation);
        }
        let deadline = Instant::now() + LOAD_TIMEOUT;
        let tasks: Vec<_> = lanes
            .into_iter()
            .enumerate()
            .map(|(lane_no, lane)| {
                let client = self.client.clone();
                let (done, highest, stop) = (done.clone(), highest.clone(), stop.clone());
                let (killed_tx, mut go, pid_file) =
                    (killed_tx.clone(), go.clone(), pid_file.clone());
                tokio::spawn(async move {
                    let mut seen = Vec::new();
                    if lane_no > 0 {
                        let _ = go.wait_for(|go| *go).await;
                    }
                    for op in lane {
                        if stop.load(Ordering::SeqCst) || Instant::now() > deadline {
                            break;
                        }
                        let result = client.execute(&op).await;
                        if let Some((seq, _)) = dmtbs_client::outcome_of(&result) {
                            highest.fetch_max(seq, Ordering::SeqCst);
                        }
                        seen.push((op, result));
                        if done.fetch_add(1, Ordering::SeqCst) + 1 == kill.after {
                            if kill.alone {
                                assert!(signal(supervisor, libc::SIGSTOP), "stop up");
                            }
                            let pid = rundir::read_pid_file(&pid_file).expect("the RM runs");
                            assert!(signal(pid, libc::SIGKILL), "kill -9 {pid}");
                            killed_tx.send_replace(Some(pid));
                            println!(
                                "killed rm {} (pid {pid}) after {} answers",
                                kill.rm, kill.after
                            );
                        }
                    }
                    seen
                })
            })
            .collect();
        let watcher = async {
            let _ = tokio::time::timeout(LOAD_TIMEOUT, killed.wait_for(Option::is_some)).await;
            // The other clients start once the kill is done (see `Kill::alone`).
            go_tx.send_replace(true);
            if kill.alone {
                // Requests `after + 1` and `after + 2` answered without the RM (the clients'
                // answers may come out of order: a margin of one request per client), then `up`
                // may restart it.
                let two_more = kill.after + 2 + CLIENTS;
                while done.load(Ordering::SeqCst) < two_more && Instant::now() < deadline {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                signal(supervisor, libc::SIGCONT);
            }
            let old = killed.borrow().expect("the RM was killed during the load");
            let (installed, serving) = self.restarted(kill.rm, old).await;
            let answered_when_back = highest.load(Ordering::SeqCst);
            let back = done.load(Ordering::SeqCst);
            while done.load(Ordering::SeqCst) < back + AFTER_BACK && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            stop.store(true, Ordering::SeqCst);
            (old, installed, serving, answered_when_back, back)
        };
        let collect = async {
            let mut seen = Vec::new();
            for task in tasks {
                seen.extend(task.await.expect("client task"));
            }
            seen
        };
        let (seen, (killed, installed, serving, answered_when_back, back)) =
            tokio::join!(collect, watcher);
        let sent = seen.len();
        println!(
            "{sent} requests; rm {} serving again after {back} answers (request {answered_when_back})",
            kill.rm
        );
        assert!(
            sent >= back + AFTER_BACK,
            "seed {}: the load ended ({sent} requests) before the restarted RM had been serving \
             for {AFTER_BACK} of them (it was back after {back})",
            self.seed
        );
        let outcome = Outcome {
            seen,
            killed,
            installed,
            serving,
            answered_when_back,
        };
        self.check(&outcome.seen).await;
        outcome
    }

    /// Checks what the clients saw against the reference; on any failure prints them all, the
    /// status and the cluster's log.
    async fn check(&mut self, seen: &[Seen]) {
        if let Err(failures) = self.reference.check(seen) {
            panic!(
                "seed {}: {} client request(s) failed or saw a wrong answer:\n{}\nstatus: {:#}\n{}",
                self.seed,
                failures.len(),
                failures.join("\n"),
                self.status().await,
                self.up.log()
            );
        }
    }

    /// The operator's view: GET /v1/admin/replicas.
    async fn status(&self) -> Value {
        let response = self
            .up
            .http
            .get(self.up.url("/v1/admin/replicas"))
            .bearer_auth(self.up.admin_key())
            .send()
            .await
            .expect("status request");
        assert_eq!(response.status(), 200);
        response.json().await.expect("status JSON")
    }

    /// Polls the status until RM `id` reports what `done` wants (bounded), returning its entry.
    async fn wait_for(&self, id: u8, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + STATUS_TIMEOUT;
        let mut last = Value::Null;
        while Instant::now() < deadline {
            if let Some(s) = rm(&self.status().await, id) {
                if done(&s) {
                    return s;
                }
                last = s;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!(
            "seed {}: rm {id}: {what} did not happen within {STATUS_TIMEOUT:?}; last {last:#}\n{}",
            self.seed,
            self.up.log()
        );
    }

    /// After RM `id`'s process `old` was killed: waits for `up` to start a new one and for it to
    /// serve; returns its first status entry once it has installed a state, and the serving one.
    async fn restarted(&self, id: u8, old: u32) -> (Value, Value) {
        let new = self
            .up
            .wait_new_pid(NodeId::Rm(id), old, STATUS_TIMEOUT)
            .await;
        assert!(!alive(old), "the killed process is gone");
        // The checkpoint it started from is its stable checkpoint then (newer ones follow as
        // the load goes on).
        let installed = self
            .wait_for(id, "the restarted RM installing a state", |s| {
                s["pid"] == new && s["health"] != "recovering"
            })
            .await;
        let serving = self
            .wait_for(id, "the restarted RM serving", |s| {
                s["pid"] == new && s["health"] == "serving"
            })
            .await;
        (installed, serving)
    }

    /// Waits (bounded) until every RM serves, none is silent, and all four report the same own
    /// checkpoint at the last checkpoint the requests reached; returns its digest. An RM whose
    /// replica was replaced after that checkpoint has no own copy of it (it installed a peer's)
    /// until the next one, so while they disagree a few more requests (checked like the load's)
    /// move the cluster past the next checkpoint.
    async fn converged(&mut self) -> String {
        let deadline = Instant::now() + STATUS_TIMEOUT;
        let mut round = 0;
        loop {
            let at = self.reference.applied / CHECKPOINT_EVERY * CHECKPOINT_EVERY;
            assert!(at > 0, "seed {}: no checkpoint was reached", self.seed);
            let settle = Instant::now() + Duration::from_secs(3);
            let mut status;
            loop {
                status = self.status().await;
                let own: Vec<Option<Value>> = (1..=4)
                    .map(|id| {
                        rm(&status, id)
                            .filter(|s| s["health"] == "serving")
                            .map(|s| s["ownCheckpoint"].clone())
                    })
                    .collect();
                if let Some(first) = &own[0]
                    && first["seq"] == at
                    && own.iter().all(|o| o.as_ref() == Some(first))
                    && status["silent"] == json!([])
                {
                    let digest = first["digest"].as_str().expect("a digest").to_owned();
                    println!("all four RMs hold the same state at checkpoint {at}: {digest}");
                    return digest;
                }
                if Instant::now() > settle.min(deadline) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            assert!(
                Instant::now() < deadline,
                "seed {}: the RMs' own checkpoints did not converge within {STATUS_TIMEOUT:?}\n\
                 {status:#}\n{}",
                self.seed,
                self.up.log()
            );
            round += 1;
            println!("not converged at {at} yet: past the next checkpoint (round {round})");
            let next = at + CHECKPOINT_EVERY;
            let mut more = Workload::new(self.seed ^ 0x5eed).skip(round * 1_000);
            while self.reference.applied < next {
                let op = more.next().expect("an endless workload").operation;
                let result = self.client.execute(&op).await;
                self.check(&[(op, result)]).await;
            }
        }
    }
}

/// RM `id`'s entry in a status answer (`None`: it did not answer).
fn rm(status: &Value, id: u8) -> Option<Value> {
    status["replicas"]
        .as_array()?
        .iter()
        .find(|r| r["rm"] == id)
        .cloned()
}

/// The independent model of the rules (`dmtbs_checker::Model`, written from the spec by an
/// author who read no replica) fed what the cluster sequenced, in sequence order, to check every
/// answer the clients saw: a replica as the oracle could not catch a misreading all four share.
struct Reference {
    model: dmtbs_checker::Model,
    today: dmtbs_contract::Date,
    /// The last sequence number applied: the next one checked must follow it.
    applied: u64,
}

impl Reference {
    fn new() -> Self {
        Reference {
            model: dmtbs_checker::Model::new(),
            today: dmtbs_testkit::build::date(2026, 11, 24),
            applied: 0,
        }
    }

    /// Checks one load's answers: a request the front end refuses before sequencing gets a
    /// 4xx without a sequence number; every other one a voted answer (a success or a rule's
    /// refusal — never 503, never no answer) equal to the reference's. The sequenced answers
    /// must cover every sequence number after the last one checked (nothing else is
    /// sequenced). Returns every failure in words.
    fn check(&mut self, seen: &[Seen]) -> Result<(), Vec<String>> {
        let mut failures = Vec::new();
        let mut sequenced = Vec::new();
        for (op, result) in seen {
            match (
                dmtbs_frontend::auth::admit(op),
                dmtbs_client::outcome_of(result),
            ) {
                (Err(why), _) => match result {
                    Err(Error::Api(e)) if e.seq.is_none() && why.fits(e.status) => {}
                    other => failures.push(format!("refused input {op:?} → {other:?}")),
                },
                (Ok(canonical), Some((seq, outcome))) => {
                    sequenced.push((seq, op, canonical, outcome))
                }
                (Ok(_), None) => failures.push(format!("no voted answer: {op:?} → {result:?}")),
            }
        }
        sequenced.sort_by_key(|(seq, ..)| *seq);
        for (seq, op, canonical, outcome) in sequenced {
            if seq != self.applied + 1 {
                failures.push(format!(
                    "sequence numbers not contiguous: {seq} after {}",
                    self.applied
                ));
                break;
            }
            let (expected, _) = self.model.apply(self.today, &canonical);
            self.applied = seq;
            if outcome != expected {
                failures.push(format!(
                    "seq {seq}: {op:?}\n  answered:  {outcome:?}\n  reference: {expected:?}"
                ));
            }
        }
        if failures.is_empty() {
            Ok(())
        } else {
            Err(failures)
        }
    }
}

/// The RMs that agreed on the answer (a success or a rule's refusal) to request `seq`.
fn agreed_on(seen: &[Seen], seq: u64) -> Option<Vec<u8>> {
    seen.iter().find_map(|(_, result)| match result {
        Ok(answer) if answer.seq == seq => Some(answer.agreed.clone()),
        Err(Error::Api(e)) if e.seq == Some(seq) => Some(e.agreed.clone()),
        _ => None,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_manager_killed_during_load_recovers_by_state_transfer() {
    let seed = 20261124;
    let mut run = Run::start(IMPLEMENTATIONS, seed);
    // Killed after 100 answers, by when checkpoints up to about 75 are stable and every peer's
    // log is truncated below them: replaying the history from request 1 is impossible.
    let out = run
        .load_with_kill(Kill {
            rm: 2,
            after: 100,
            alone: false,
        })
        .await;
    println!("rm 2 back: {}", out.installed);
    let from = out.installed["stableCheckpoint"]["seq"]
        .as_u64()
        .unwrap_or(0);
    assert!(
        from > 0 && from % CHECKPOINT_EVERY == 0,
        "seed {seed}: rm 2 did not come back from a checkpoint: {:#}",
        out.installed
    );
    // The load went on while it was away and after it was back.
    assert!(out.answered_when_back > 100, "{}", out.answered_when_back);
    assert!(run.reference.applied > out.answered_when_back + 50);
    // A fresh process, not a replacement inside the old one.
    assert_ne!(out.serving["pid"], out.killed, "{:#}", out.serving);
    assert_eq!(out.serving["swaps"], 0, "{:#}", out.serving);
    run.converged().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_replica_manager_and_a_lying_replica_at_the_same_time_never_show_a_wrong_answer() {
    let seed = 20261125;
    // RM 1 answers garbage from the first request (replica-a is its known-good fallback).
    let mut run = Run::start(
        [
            components::FAULTY_RANDOM,
            "replica-b",
            "replica-c",
            "replica-d",
        ],
        seed,
    );
    // RM 3 killed right after the first answer, before RM 1 can have three strikes: for the
    // next requests RMs 2 and 4 are the only two alive and correct.
    let out = run
        .load_with_kill(Kill {
            rm: 3,
            after: 1,
            alone: true,
        })
        .await;
    for seq in [2, 3] {
        assert_eq!(
            agreed_on(&out.seen, seq),
            Some(vec![2, 4]),
            "seed {seed}: request {seq} was answered by RMs 2 and 4 alone"
        );
    }
    let s1 = run
        .wait_for(1, "the lying replica swapped", |s| {
            s["module"] == "replica-a" && s["health"] == "serving"
        })
        .await;
    assert!(s1["swaps"].as_u64().is_some_and(|n| n >= 1), "{s1:#}");
    // Caught by its wrong answers or, whichever comes first, by the checkpoint digest, which
    // covers the outcomes it recorded in its RM's executed-requests table.
    assert!(
        s1["lastSwapReason"].as_str().is_some_and(|r| {
            r.contains("3 consecutive wrong results")
                || r.contains("state at checkpoint 25 differs from the one the others agree on")
        }),
        "{s1:#}"
    );
    println!(
        "rm 1 swapped: {}; rm 3 serving again at request {}",
        s1["lastSwapReason"], out.answered_when_back
    );
    println!("rm 3 back: {}", out.installed);
    assert_ne!(out.serving["pid"], out.killed, "{:#}", out.serving);
    run.converged().await;
    // The quarantine reached every RM that was up when RM 1 decided it. RM 3 was down: a
    // quarantine decided meanwhile reaches it only when told again (docs/recovery.md, a known
    // limit), so it is not asserted there.
    let status = run.status().await;
    for id in [1, 2, 4] {
        let s = rm(&status, id).expect("answers");
        let listed = s["quarantine"]
            .as_array()
            .is_some_and(|q| q.iter().any(|e| e["module"] == components::FAULTY_RANDOM));
        assert!(listed, "rm {id}: {s:#}");
    }
    let s1 = rm(&status, 1).expect("rm 1 answers");
    assert_eq!(s1["module"], "replica-a", "{s1:#}");
}
