//! Durability with real processes and real disks: bookings under load, then `kill -9` of every
//! process of the cluster at a seeded random moment (a power cut), or of the sequencer alone, and
//! `dmtbs up` again on the same data. Every booking whose answer a client received must be there
//! exactly once; none may be doubled. Damaged files on one RM are refused and repaired from its
//! peers; a cluster whose majority lost its disks refuses to start.
//!
//! Each booking is one ticket of a distinct (customer, show) pair of the harness's week, sent once: a customer holding
//! two tickets of a show would be a request executed twice. The seed (`DMTBS_SEED` to replay) is
//! printed.
//!
//! Besides the ledger, every operation the clients send is recorded with its call and answer
//! instants (one clock, the test process's) and its outcome — none when there was no answer —
//! and at the end the whole history, across restarts, must be linearizable against the booking
//! rules (`dmtbs-checker`): each answer's `remaining` pins the booking's place among the others
//! of its show, and a last availability read the seats taken.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use dmtbs_cluster::config::TransportMode;
use dmtbs_contract::{AddShow, Operation, Outcome, Schedule};
use dmtbs_proto::NodeId;
use rand::{Rng, SeedableRng};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::harness::record::{self, Recorder};
use crate::harness::{Up, alive, signal};

/// Requests between checkpoints: small, so snapshots and log truncation happen during the load.
const CHECKPOINT_EVERY: u64 = 40;
/// Clients booking at the same time, each one request after another.
const CLIENTS: usize = 4;
/// The shows booked (ATW, in the week of [`TODAY`]).
const SHOWS: [&str; 6] = [
    "ATWM241126",
    "ATWA241126",
    "ATWE241126",
    "ATWM251126",
    "ATWA251126",
    "ATWE251126",
];
/// The longest a load may run before the kill comes (the kill moment is drawn below it).
const MAX_LOAD_BEFORE_KILL: Duration = Duration::from_millis(2_500);
/// How long convergence may take to show in the status.
const STATUS_TIMEOUT: Duration = Duration::from_secs(30);

pub(super) fn seed() -> u64 {
    let seed = std::env::var("DMTBS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::rng().random());
    println!("seed {seed} (DMTBS_SEED={seed} replays it)");
    seed
}

/// A cluster file with small checkpoints, its data kept inside the test's folder.
pub(super) fn cluster_dir() -> tempfile::TempDir {
    let dir = Up::config_file(
        dmtbs_testkit::components::IMPLEMENTATIONS,
        TransportMode::Multicast,
    );
    let path = dir.path().join("cluster.toml");
    let text = std::fs::read_to_string(&path).expect("cluster file");
    let data = dir.path().join("data");
    let text: String = text
        .lines()
        .map(|line| {
            if line == "[recovery]" {
                format!("[recovery]\ncheckpoint_every = {CHECKPOINT_EVERY}\n")
            } else if line.starts_with("data_dir = ") {
                format!("data_dir = \"{}\"\n", data.display())
            } else {
                format!("{line}\n")
            }
        })
        .collect();
    std::fs::write(&path, text).expect("write cluster file");
    dir
}

fn data_dir(dir: &Path, rm: u8) -> PathBuf {
    dir.join("data").join(format!("rm-{rm}"))
}

/// What the clients were told: per (customer, show), whether the booking was acknowledged
/// (`true`) or its fate is unknown (sent, no answer: it may or may not have happened).
pub(super) type Ledger = Arc<Mutex<BTreeMap<(String, String), bool>>>;

pub(super) async fn add_shows(up: &Up) {
    add_shows_recorded(up, &Recorder::default()).await;
}

/// [`add_shows`], each recorded in `history` (as client 0).
async fn add_shows_recorded(up: &Up, history: &Recorder) {
    for show in SHOWS {
        let invoke = history.now();
        let (status, _, body) = up
            .call(
                Method::POST,
                "/v1/shows",
                "ATWA0001",
                Some(json!({"movie": "Avatar", "showId": show, "capacity": 10_000})),
            )
            .await;
        assert!(
            status == 201 || status == 200,
            "add show {show}: {status} {body}"
        );
        let operation = Operation::AddShow(AddShow {
            actor: "ATWA0001".into(),
            movie: "Avatar".into(),
            show_id: show.into(),
            capacity: 10_000,
        });
        let outcome = record::success(&body).map(Ok);
        assert!(outcome.is_some(), "add show {show}: {body}");
        history.record(0, operation, invoke, outcome);
    }
}

/// How the clients of a load behave when they get no answer.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Retry {
    /// Send each booking once: no answer leaves its fate unknown; a refused connection (the
    /// cluster is gone) ends the client.
    Never,
    /// Send each booking with an `Idempotency-Key` and, with no answer, again with the same key
    /// until one comes (bounded): every booking ends acknowledged, exactly once.
    SameKey,
}

/// What one load's clients counted.
#[derive(Default)]
pub(super) struct Counts {
    /// Bookings answered with `X-DMTBS-Replayed` (a retry recognised as executed before).
    pub(super) replayed: AtomicUsize,
    /// Bookings answered with a 5xx status (no agreement, no answer in time).
    pub(super) server_errors: AtomicUsize,
    /// Every booking sent: when, and what came back (client `n` is the load's client `n + 1`).
    pub(super) history: Recorder,
}

/// `CLIENTS` clients booking until `stop`, each with its own customers from `first_customer`
/// on, recording what they were told. Every answer must be the right one: the customer now
/// holds exactly the one ticket booked.
pub(super) fn start_load(
    up: &Up,
    first_customer: usize,
    ledger: &Ledger,
    stop: &Arc<AtomicBool>,
    retry: Retry,
    counts: &Arc<Counts>,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..CLIENTS)
        .map(|client| {
            let (url, http, ledger, stop, counts) = (
                up.url(""),
                up.http.clone(),
                ledger.clone(),
                stop.clone(),
                counts.clone(),
            );
            let tokens = up.config.mint_tokens();
            tokio::spawn(async move {
                let mut i = 0;
                'bookings: while !stop.load(Ordering::Relaxed) {
                    let customer = format!(
                        "ATWC{:04}",
                        first_customer + client * 1_000 + i / SHOWS.len()
                    );
                    let show = SHOWS[i % SHOWS.len()].to_owned();
                    let key = format!("load-{first_customer}-{client}-{i}");
                    i += 1;
                    ledger
                        .lock()
                        .await
                        .insert((customer.clone(), show.clone()), false);
                    let operation = record::book(&customer, "Avatar", &show, 1);
                    let recorded = client as u32 + 1;
                    let invoke = counts.history.now();
                    let give_up = Instant::now() + Duration::from_secs(30);
                    loop {
                        let mut request = http
                            .post(format!("{url}/v1/customers/{customer}/bookings"))
                            .header("X-DMTBS-User", &customer)
                            .bearer_auth(tokens(&customer).expect("a token"))
                            .timeout(Duration::from_secs(5))
                            .json(&json!({"movie": "Avatar", "showId": show, "tickets": 1}));
                        if retry == Retry::SameKey {
                            request = request.header("Idempotency-Key", &key);
                        }
                        match request.send().await {
                            Ok(r) if r.status().is_success() => {
                                if r.headers().contains_key("x-dmtbs-replayed") {
                                    counts.replayed.fetch_add(1, Ordering::Relaxed);
                                }
                                let body: Value = r.json().await.unwrap_or(Value::Null);
                                assert_eq!(
                                    body["held"], 1,
                                    "{customer} {show}: a wrong answer {body}"
                                );
                                let outcome = record::success(&body).map(Ok);
                                assert!(outcome.is_some(), "{customer} {show}: {body}");
                                counts.history.record(recorded, operation, invoke, outcome);
                                ledger.lock().await.insert((customer, show), true);
                                break;
                            }
                            Ok(r) if r.status().is_client_error() => {
                                panic!("booking refused: {} {:?}", r.status(), r.text().await)
                            }
                            // No answer, or 503: unknown, unless retried to an answer.
                            answer => {
                                if answer.as_ref().is_ok_and(|r| r.status().is_server_error()) {
                                    counts.server_errors.fetch_add(1, Ordering::Relaxed);
                                }
                                if retry == Retry::Never {
                                    counts.history.record(recorded, operation, invoke, None);
                                    if answer.is_err() {
                                        break 'bookings; // the cluster is gone
                                    }
                                    break;
                                }
                                assert!(
                                    Instant::now() < give_up,
                                    "{customer} {show}: no answer in 30 s of retries"
                                );
                                tokio::time::sleep(Duration::from_millis(50)).await;
                            }
                        }
                    }
                }
            })
        })
        .collect()
}

/// A power cut: every process of the cluster killed with SIGKILL at once (the supervisor frozen
/// first, so it restarts nothing meanwhile). Returns the folder, with its data, for the next
/// `dmtbs up`.
fn power_cut(up: Up) -> tempfile::TempDir {
    let supervisor = up.pid();
    signal(supervisor, libc::SIGSTOP);
    let nodes: Vec<u32> = up.node_pids().into_iter().map(|(_, pid)| pid).collect();
    for &pid in &nodes {
        signal(pid, libc::SIGKILL);
    }
    signal(supervisor, libc::SIGKILL);
    let deadline = Instant::now() + Duration::from_secs(10);
    while nodes.iter().any(|&p| alive(p)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!nodes.iter().any(|&p| alive(p)), "every node died");
    up.forget_killed()
}

/// Checks the clients' ledger against what the cluster holds: every acknowledged booking there
/// exactly once, none doubled, nothing unknown held twice. Returns (acknowledged, unknown).
pub(super) async fn check_ledger(up: &Up, ledger: &Ledger, seed: u64) -> (usize, usize) {
    let ledger = ledger.lock().await.clone();
    let mut customers: BTreeMap<&str, Vec<(&str, bool)>> = BTreeMap::new();
    for ((customer, show), acked) in &ledger {
        customers.entry(customer).or_default().push((show, *acked));
    }
    let mut failures = Vec::new();
    for (customer, booked) in &customers {
        let (status, _, body) = up
            .call(
                Method::GET,
                &format!("/v1/customers/{customer}/bookings"),
                customer,
                None,
            )
            .await;
        assert_eq!(status, 200, "{customer}'s schedule: {body}");
        let held: BTreeMap<&str, u64> = body["bookings"]
            .as_array()
            .expect("bookings")
            .iter()
            .map(|b| {
                (
                    b["showId"].as_str().expect("show id"),
                    b["tickets"].as_u64().expect("tickets"),
                )
            })
            .collect();
        for (show, acked) in booked {
            match (held.get(show).copied().unwrap_or(0), acked) {
                (1, _) | (0, false) => {}
                (0, true) => failures.push(format!("{customer} {show}: acknowledged, lost")),
                (n, _) => failures.push(format!("{customer} {show}: {n} tickets, executed twice")),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "seed {seed}: {} booking(s) wrong:\n{}\n{}",
        failures.len(),
        failures.join("\n"),
        up.log()
    );
    let acked = ledger.values().filter(|a| **a).count();
    (acked, ledger.len() - acked)
}

/// The operator's view: GET /v1/admin/replicas.
pub(super) async fn status(up: &Up) -> Value {
    let response = up
        .http
        .get(up.url("/v1/admin/replicas"))
        .bearer_auth(up.admin_key())
        .send()
        .await
        .expect("status request");
    assert_eq!(response.status(), 200);
    response.json().await.expect("status JSON")
}

/// Waits (bounded) until all four RMs serve and report the same own checkpoint — the same
/// state — at or after every request applied so far, sending reads (sequenced like any request)
/// to reach that checkpoint.
pub(super) async fn converged(up: &Up, seed: u64) -> String {
    let deadline = Instant::now() + STATUS_TIMEOUT;
    let applied = status(up).await["replicas"]
        .as_array()
        .map(|rs| {
            rs.iter()
                .filter_map(|r| r["appliedThrough"].as_u64())
                .max()
                .unwrap_or(0)
        })
        .unwrap_or(0);
    loop {
        let status = status(up).await;
        let own: Vec<Option<Value>> = (1..=4)
            .map(|id| {
                status["replicas"].as_array().and_then(|rs| {
                    rs.iter()
                        .find(|r| r["rm"] == id && r["health"] == "serving")
                        .map(|r| r["ownCheckpoint"].clone())
                })
            })
            .collect();
        if let Some(first) = &own[0]
            && first["seq"].as_u64().is_some_and(|seq| seq >= applied)
            && own.iter().all(|o| o.as_ref() == Some(first))
        {
            let digest = first["digest"].as_str().expect("a digest").to_owned();
            println!(
                "all four RMs hold the same state at {}: {digest}",
                first["seq"]
            );
            return digest;
        }
        assert!(
            Instant::now() < deadline,
            "seed {seed}: the RMs did not converge within {STATUS_TIMEOUT:?}\n{status:#}\n{}",
            up.log()
        );
        let _ = sequenced_read(up).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_power_cut_at_random_moments_loses_no_acknowledged_booking_and_doubles_none() {
    let seed = seed();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let ledger: Ledger = Arc::default();
    let counts = Arc::new(Counts::default());
    let mut dir = cluster_dir();
    let rounds = 3;
    for round in 0..rounds {
        let up = Up::start_in(dir);
        if round == 0 {
            add_shows_recorded(&up, &counts.history).await;
        } else {
            // Everything acknowledged before the last cut is back, before any new load.
            let (acked, unknown) = check_ledger(&up, &ledger, seed).await;
            println!(
                "round {round}: after the restart {acked} acknowledged bookings present, {unknown} unknown"
            );
        }
        let stop = Arc::new(AtomicBool::new(false));
        let load = start_load(&up, 1 + round * 100, &ledger, &stop, Retry::Never, &counts);
        let kill_after =
            Duration::from_millis(rng.random_range(300..MAX_LOAD_BEFORE_KILL.as_millis() as u64));
        tokio::time::sleep(kill_after).await;
        println!("round {round}: power cut after {kill_after:?}");
        dir = power_cut(up);
        stop.store(true, Ordering::Relaxed);
        for task in load {
            task.await.expect("client task");
        }
    }
    let started = Instant::now();
    let up = Up::start_in(dir);
    println!("whole-cluster restart took {:?}", started.elapsed());
    let (acked, unknown) = check_ledger(&up, &ledger, seed).await;
    assert!(acked > 0, "seed {seed}: no booking was acknowledged at all");
    println!(
        "{rounds} power cuts: {acked} acknowledged bookings all present once, {unknown} unknown"
    );
    counts.history.read_and_check(&up, "Avatar", seed).await;
    converged(&up, seed).await;
}

/// One read — sequenced like any request, so it moves the cluster towards its next checkpoint
/// and shows whether requests are answered; its HTTP status.
async fn sequenced_read(up: &Up) -> u16 {
    up.call(
        Method::GET,
        "/v1/movies/Avatar/availability",
        "ATWC0001",
        None,
    )
    .await
    .0
}

/// Sends reads (sequenced like any request) until one is answered (bounded: 20 s after
/// `since`); returns the time since `since`.
pub(super) async fn answered_again(up: &Up, since: Instant, seed: u64) -> Duration {
    loop {
        let status = sequenced_read(up).await;
        if status == 200 {
            return since.elapsed();
        }
        assert!(
            since.elapsed() < Duration::from_secs(20),
            "seed {seed}: no answer within 20 s\n{}",
            up.log()
        );
    }
}

/// What else happens when the sequencer is killed under load.
#[derive(Clone, Copy, Debug)]
enum Also {
    Nothing,
    /// RM 3's process is killed at the same moment.
    KillRm3,
    /// RM 2 is swapped to a module that answers garbage just before.
    LyingRm2,
}

/// `kill -9` of the sequencer under load (and `also`): `up` starts a new one, which learns the
/// history from the RMs and numbers in a new epoch. The load sees no wrong answer; the pause is
/// measured; nothing acknowledged is lost, nothing doubled.
async fn sequencer_failover(also: Also) {
    let seed = seed();
    let ledger: Ledger = Arc::default();
    let up = Up::start_in(cluster_dir());
    let counts = Arc::new(Counts::default());
    add_shows_recorded(&up, &counts.history).await;
    let stop = Arc::new(AtomicBool::new(false));
    let load = start_load(&up, 1, &ledger, &stop, Retry::Never, &counts);
    tokio::time::sleep(Duration::from_millis(800)).await;
    if let Also::LyingRm2 = also {
        let response = up
            .http
            .post(up.url("/v1/admin/replicas/2/swap"))
            .bearer_auth(up.admin_key())
            .json(&json!({"module": "faulty-random"}))
            .send()
            .await
            .expect("swap");
        assert_eq!(response.status(), 202, "swap to faulty-random");
    }
    let old = up.node_pid(NodeId::Sequencer).expect("sequencer pid");
    signal(old, libc::SIGKILL);
    let killed = Instant::now();
    if let Also::KillRm3 = also {
        signal(up.node_pid(NodeId::Rm(3)).expect("rm 3 pid"), libc::SIGKILL);
    }
    let new = up
        .wait_new_pid(NodeId::Sequencer, old, Duration::from_secs(20))
        .await;
    println!(
        "{also:?}: sequencer {old} killed; {new} started after {:?}",
        killed.elapsed()
    );
    let answered_again = answered_again(&up, killed, seed).await;
    println!("{also:?}: requests answered again {answered_again:?} after the kill");
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    stop.store(true, Ordering::Relaxed);
    for task in load {
        task.await.expect("client task: a wrong answer fails it");
    }
    let (acked, unknown) = check_ledger(&up, &ledger, seed).await;
    println!("{also:?}: {acked} acknowledged bookings all present once, {unknown} unknown");
    let errors = counts.server_errors.load(Ordering::Relaxed);
    assert_eq!(
        errors, 0,
        "seed {seed}: {also:?}: {errors} bookings answered 5xx through the failover"
    );
    counts.history.read_and_check(&up, "Avatar", seed).await;
    converged(&up, seed).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sequencer_killed_under_load_is_replaced_and_nothing_is_lost_or_doubled() {
    sequencer_failover(Also::Nothing).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sequencer_and_one_rm_killed_together_lose_nothing() {
    sequencer_failover(Also::KillRm3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sequencer_killed_while_an_rm_lies_shows_no_wrong_answer() {
    sequencer_failover(Also::LyingRm2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_front_end_killed_under_load_answers_retries_with_their_first_result() {
    let seed = seed();
    let ledger: Ledger = Arc::default();
    let up = Up::start_in(cluster_dir());
    let counts = Arc::new(Counts::default());
    add_shows_recorded(&up, &counts.history).await;
    let stop = Arc::new(AtomicBool::new(false));
    let load = start_load(&up, 1, &ledger, &stop, Retry::SameKey, &counts);
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(700)).await;
        let old = up.node_pid(NodeId::FrontEnd(1)).expect("front end pid");
        signal(old, libc::SIGKILL);
        up.wait_new_pid(NodeId::FrontEnd(1), old, Duration::from_secs(20))
            .await;
    }
    tokio::time::sleep(Duration::from_millis(700)).await;
    stop.store(true, Ordering::Relaxed);
    for task in load {
        task.await.expect("client task: a wrong answer fails it");
    }
    let (acked, unknown) = check_ledger(&up, &ledger, seed).await;
    assert_eq!(
        unknown, 0,
        "seed {seed}: every retried booking was answered"
    );
    println!(
        "front end killed 3 times: {acked} bookings, each held once; {} retries answered as replays",
        counts.replayed.load(Ordering::Relaxed)
    );
    counts.history.read_and_check(&up, "Avatar", seed).await;
    converged(&up, seed).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_store_on_one_rm_is_refused_and_repaired_from_its_peers() {
    let seed = seed();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let ledger: Ledger = Arc::default();
    let counts = Arc::new(Counts::default());
    let mut dir = cluster_dir();
    // RM 2's file with bytes flipped all over it, then RM 3's with its tail torn off.
    for (round, rm) in [(0, 2u8), (1, 3u8)] {
        let up = Up::start_in(dir);
        if round == 0 {
            add_shows_recorded(&up, &counts.history).await;
        }
        let stop = Arc::new(AtomicBool::new(false));
        let load = start_load(&up, 1 + round * 100, &ledger, &stop, Retry::Never, &counts);
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        stop.store(true, Ordering::Relaxed);
        for task in load {
            task.await.expect("client task");
        }
        dir = power_cut(up);
        let file = data_dir(dir.path(), rm).join("rm.redb");
        let mut bytes = std::fs::read(&file).expect("the RM's store");
        if round == 0 {
            for _ in 0..64 {
                let at = rng.random_range(0..bytes.len());
                bytes[at] ^= 0xA5;
            }
        } else {
            let cut = rng.random_range(1..bytes.len() / 2);
            bytes.truncate(bytes.len() - cut);
        }
        std::fs::write(&file, &bytes).expect("damage the store");
        let up = Up::start_in(dir);
        let (acked, _) = check_ledger(&up, &ledger, seed).await;
        println!("{acked} acknowledged bookings present after RM {rm}'s store was damaged");
        let log = up.log();
        let refusal = log
            .lines()
            .find(|l| l.contains(&format!("rm={rm}")) && l.contains("damaged part was refused"));
        println!("RM {rm} said: {refusal:?}");
        assert!(
            refusal.is_some(),
            "seed {seed}: RM {rm} says what it refused:\n{log}"
        );
        counts.history.read_and_check(&up, "Avatar", seed).await;
        converged(&up, seed).await;
        dir = power_cut(up);
    }
}

#[test]
fn a_cluster_whose_majority_lost_its_disks_refuses_to_start() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let dir = rt.block_on(async {
        let up = Up::start_in(cluster_dir());
        add_shows(&up).await;
        power_cut(up)
    });
    for rm in [1, 2] {
        std::fs::remove_dir_all(data_dir(dir.path(), rm)).expect("lose rm's disk");
    }
    let mut up = Up::spawn(dir);
    let status = up.wait_exit(Duration::from_secs(60));
    assert!(!status.success(), "up exited with {status:?}");
    let log = up.log();
    assert!(
        log.contains("majority") && log.contains("lost"),
        "the refusal names the lost majority:\n{log}"
    );
}

/// `POST /v1/admin/chaos/drop`: `to` drops `percent` % of what it receives from `from`.
async fn drop_link(up: &Up, from: &str, to: &str, percent: u8) {
    let response = up
        .http
        .post(up.url("/v1/admin/chaos/drop"))
        .bearer_auth(up.admin_key())
        .json(&json!({"from": from, "to": to, "percent": percent}))
        .send()
        .await
        .expect("chaos drop");
    assert!(
        response.status().is_success(),
        "drop {from} → {to} {percent} %: {}",
        response.status()
    );
}

/// An RM's counter, from its Prometheus endpoint.
async fn rm_counter(up: &Up, rm: u8, series: &str) -> Option<f64> {
    let addr = up.config.rm(rm)?.metrics?;
    let text = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    text.lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
}

/// Every RM's durable log position, RMs 1 to 4.
async fn durable_positions(up: &Up) -> Vec<Option<u64>> {
    let status = status(up).await;
    (1..=4u8)
        .map(|rm| {
            status["replicas"]
                .as_array()?
                .iter()
                .find(|r| r["rm"] == rm)?["durableThrough"]
                .as_u64()
        })
        .collect()
}

async fn durable_through(up: &Up, rm: u8) -> Option<u64> {
    status(up).await["replicas"]
        .as_array()?
        .iter()
        .find(|r| r["rm"] == rm)?["durableThrough"]
        .as_u64()
}

/// The case epochs exist for: RM 1 alone holds a request the old sequencer numbered (the others
/// never got it), and the new sequencer starts without RM 1. When RM 1 comes back it must discard
/// that request and roll its replica back, so that every log stays a prefix of one history; the
/// client's retry (same key) is then executed once, in the new epoch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_rm_holding_what_no_majority_saw_rolls_back_at_the_new_epoch() {
    let seed = seed();
    let up = Up::start_in(cluster_dir());
    let history = Recorder::default();
    add_shows_recorded(&up, &history).await;
    let book = |key: &'static str| {
        up.http
            .post(up.url("/v1/customers/ATWC0042/bookings"))
            .header("X-DMTBS-User", "ATWC0042")
            .bearer_auth(up.token("ATWC0042").expect("a token"))
            .header("Idempotency-Key", key)
            .timeout(Duration::from_secs(10))
            .json(&json!({"movie": "Avatar", "showId": SHOWS[0], "tickets": 1}))
            .send()
    };
    assert_eq!(sequenced_read(&up).await, 200);
    // Every RM has everything so far on disk.
    let settle = Instant::now() + Duration::from_secs(10);
    let before = loop {
        let all: Vec<Option<u64>> = durable_positions(&up).await;
        if all.iter().all(|d| d.is_some() && *d == all[0]) {
            break all[0].expect("a durable position");
        }
        assert!(
            Instant::now() < settle,
            "seed {seed}: the RMs' logs did not settle: {all:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // Only RM 1 hears the sequencer: the booking is numbered, on RM 1's disk, on no other.
    for rm in ["rm2", "rm3", "rm4"] {
        drop_link(&up, "sequencer", rm, 100).await;
    }
    // One operation for its client, from this first try to the retry's answer below.
    let invoke = history.now();
    let lost = tokio::spawn(book("only-rm1-saw-it"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while durable_through(&up, 1).await != Some(before + 1) {
        assert!(
            Instant::now() < deadline,
            "seed {seed}: rm 1 never logged the booking\n{}",
            up.log()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // RM 1 now hears nothing from any sequencer; the sequencer dies (before the others hear it
    // again: it would resend them the booking); the others hear the next one.
    drop_link(&up, "sequencer", "rm1", 100).await;
    let old = up.node_pid(NodeId::Sequencer).expect("sequencer pid");
    signal(old, libc::SIGKILL);
    for rm in ["rm2", "rm3", "rm4"] {
        drop_link(&up, "sequencer", rm, 0).await;
    }
    up.wait_new_pid(NodeId::Sequencer, old, Duration::from_secs(20))
        .await;
    answered_again(&up, Instant::now(), seed).await;
    // The first try: either never acknowledged, or — the front end resubmitted it when it saw
    // the new epoch — acknowledged in the new epoch, which RMs other than RM 1 agreed on (the
    // new epoch may give it the very number RM 1 held in the old one).
    let first = lost.await.expect("task");
    if let Ok(r) = &first
        && r.status().is_success()
    {
        let agreed = r.headers()["x-dmtbs-agreed"].to_str().unwrap().to_owned();
        assert!(
            agreed.split(',').any(|rm| rm != "1"),
            "seed {seed}: acknowledged by RM 1 alone: {r:?}"
        );
        println!(
            "the first try was resubmitted by the front end and answered at seq {}, agreed by {agreed}",
            r.headers()["x-dmtbs-seq"].to_str().unwrap()
        );
    }
    // RM 1 hears the new sequencer: it discards the request and rolls back.
    drop_link(&up, "sequencer", "rm1", 0).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while rm_counter(&up, 1, "dmtbs_rm_rolled_back_requests_total").await != Some(1.0) {
        assert!(
            Instant::now() < deadline,
            "seed {seed}: rm 1 did not roll back its request of the old epoch\n{}",
            up.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The client's retry with the same key: executed once, in the new epoch.
    let retry = book("only-rm1-saw-it")
        .await
        .expect("the retry is answered");
    assert!(retry.status().is_success(), "retry: {}", retry.status());
    let body: Value = retry.json().await.expect("JSON");
    assert_eq!(body["held"], 1, "seed {seed}: executed once: {body}");
    let booking = record::book("ATWC0042", "Avatar", SHOWS[0], 1);
    history.record(1, booking, invoke, record::success(&body).map(Ok));
    let read = Operation::Schedule(Schedule {
        actor: "ATWC0042".into(),
        customer: "ATWC0042".into(),
    });
    let invoke = history.now();
    let (_, _, schedule) = up
        .call(
            Method::GET,
            "/v1/customers/ATWC0042/bookings",
            "ATWC0042",
            None,
        )
        .await;
    let outcome: Option<Outcome> = record::success(&schedule).map(Ok);
    history.record(1, read, invoke, outcome);
    assert_eq!(
        schedule["bookings"],
        json!([{"movie": "Avatar", "showId": SHOWS[0], "tickets": 1}]),
        "seed {seed}"
    );
    history.read_and_check(&up, "Avatar", seed).await;
    converged(&up, seed).await;
}
