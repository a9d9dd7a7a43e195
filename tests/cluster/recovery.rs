//! Failure detection and recovery on a live cluster: a lying replica swapped after exactly three
//! consecutive wrong results, latent state corruption caught at a checkpoint, hanging and
//! memory-hungry replicas replaced, a crash and a liar at once, and the operator's swap and
//! quarantine. Every test ends with all four replicas' states equal and no client having seen a
//! wrong answer.

use std::time::Duration;

use dmtbs_cluster::config::TransportMode;
use dmtbs_cluster::local::{LocalCluster, test_config};
use dmtbs_contract::Operation;
use dmtbs_testkit::build::{add_show, availability, book, schedule};
use dmtbs_testkit::components::{self, IMPLEMENTATIONS};
use serde_json::{Value, json};

use dmtbs_testkit::workload::Workload;

use dmtbs_client::{Client, Error};
use dmtbs_frontend::http::success_json;

use crate::client::{TODAY, client, converged};
use crate::oracle::Oracle;

/// One answer: what the client saw (HTTP status, sequence number, JSON body) and, for
/// sequenced answers, the outcome it stands for.
#[derive(Debug)]
struct Reply {
    status: u16,
    seq: Option<u64>,
    body: Value,
    outcome: Option<dmtbs_contract::Outcome>,
}

impl Reply {
    fn code(&self) -> Option<&str> {
        self.body["error"]["code"].as_str()
    }

    fn matches(&self, outcome: &dmtbs_contract::Outcome) -> bool {
        self.outcome.as_ref() == Some(outcome)
    }
}

#[derive(Clone)]
pub(crate) struct Api(pub(crate) Client);

impl Api {
    pub(crate) fn new(cluster: &LocalCluster) -> Self {
        Api(client(cluster))
    }

    async fn call(&self, op: &Operation) -> Reply {
        let result = self.0.execute(op).await;
        let outcome = dmtbs_client::outcome_of(&result).map(|(_, o)| o);
        match result {
            Ok(answer) => Reply {
                status: answer.status,
                seq: Some(answer.seq),
                body: success_json(&answer.value),
                outcome,
            },
            Err(Error::Api(e)) => Reply {
                status: e.status,
                seq: e.seq,
                body: json!({ "error": { "code": e.code, "message": e.message } }),
                outcome,
            },
            Err(e) => panic!("the front end answers: {e}"),
        }
    }
}

/// The model of the rules fed what the cluster sequenced, to check every answer a client saw.
pub(crate) struct Reference {
    oracle: Oracle,
}

impl Reference {
    pub(crate) fn new() -> Self {
        Reference {
            oracle: Oracle::new(dmtbs_testkit::build::date(2026, 11, 24)),
        }
    }

    /// The answer must be the rules' (a request refused before sequencing: a 4xx with no
    /// sequence number). 503 — no agreement — is a failure too: the service must keep answering.
    fn check(&mut self, op: &Operation, reply: &Reply) {
        match dmtbs_frontend::auth::admit(op) {
            Err(why) => assert!(
                reply.seq.is_none() && why.fits(reply.status),
                "{op:?} ({why:?}) → {reply:?}"
            ),
            Ok(canonical) => {
                let seq = reply
                    .seq
                    .unwrap_or_else(|| panic!("no sequence number: {op:?} → {reply:?}"));
                let expected = self.oracle.apply(&canonical);
                assert!(
                    reply.matches(&expected),
                    "seq {seq}: {op:?}\n  answered: {reply:?}\n  the rules: {expected:?}"
                );
            }
        }
    }
}

/// A cluster where RM `i` runs `modules[i]` with the correct implementation of its slot as the
/// known-good fallback, checkpointing every `every` requests.
pub(crate) async fn start(modules: [&str; 4], every: u64) -> LocalCluster {
    start_checking(modules, every, every).await
}

/// As [`start`], with digest checks every `digest_every` requests between the checkpoints.
pub(crate) async fn start_checking(
    modules: [&str; 4],
    every: u64,
    digest_every: u64,
) -> LocalCluster {
    start_tuned(modules, every, digest_every, 3).await
}

/// As [`start_checking`], with `strikes` consecutive wrong results before a swap.
pub(crate) async fn start_tuned(
    modules: [&str; 4],
    every: u64,
    digest_every: u64,
    strikes: u32,
) -> LocalCluster {
    let mut config = test_config(&components::dir(), modules, TransportMode::Multicast, TODAY)
        .expect("test configuration");
    for (i, rm) in config.rms.iter_mut().enumerate() {
        if rm.modules[0] != IMPLEMENTATIONS[i] {
            rm.modules.push(IMPLEMENTATIONS[i].to_owned());
        }
    }
    config.recovery.checkpoint_every = every;
    config.recovery.digest_every = digest_every;
    config.recovery.strikes = strikes;
    LocalCluster::start(config).await.expect("cluster starts")
}

/// The operator's view: GET /v1/admin/replicas.
pub(crate) async fn replicas(cluster: &LocalCluster) -> Value {
    let response = reqwest::Client::new()
        .get(format!("{}/v1/admin/replicas", cluster.url(0)))
        .bearer_auth(&cluster.config.cluster.admin_key)
        .send()
        .await
        .expect("status request");
    assert_eq!(response.status(), 200);
    response.json().await.expect("status JSON")
}

pub(crate) fn rm(status: &Value, id: u64) -> Value {
    status["replicas"]
        .as_array()
        .expect("replicas list")
        .iter()
        .find(|r| r["rm"] == id)
        .unwrap_or_else(|| panic!("rm {id} did not answer: {status}"))
        .clone()
}

/// Polls RM `id`'s status until `done` holds (bounded), returning it.
pub(crate) async fn wait_for(
    cluster: &LocalCluster,
    id: u64,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let mut last = Value::Null;
    for _ in 0..300 {
        let status = replicas(cluster).await;
        if status["replicas"]
            .as_array()
            .is_some_and(|l| l.iter().any(|r| r["rm"] == id))
        {
            last = rm(&status, id);
            if done(&last) {
                return last;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let all = replicas(cluster).await;
    panic!("rm {id}: {what} did not happen within 15 s; last status {last}\nall: {all:#}");
}

/// Sends `op` and asserts the answer is `expected` (an HTTP status and an error code or body).
async fn expect(api: &Api, op: &Operation, status: u16, body: Value) {
    let reply = api.call(op).await;
    assert_eq!(reply.status, status, "{op:?} → {reply:?}");
    match body {
        Value::String(code) => assert_eq!(reply.code(), Some(code.as_str()), "{op:?} → {reply:?}"),
        body => assert_eq!(reply.body, body, "{op:?} → {reply:?}"),
    }
}

/// Four other-area shows in the week of `TODAY` for an Atwater customer, and a control show
/// (Avengers, which the wrong results never touch).
async fn weekly_limit_setup(api: &Api) {
    for (actor, movie, show) in [
        ("VERA0001", "Avatar", "VERM251126"),
        ("OUTA0001", "Avatar", "OUTA261126"),
        ("VERA0001", "Titanic", "VERE251126"),
        ("OUTA0001", "Titanic", "OUTM271126"),
        ("ATWA0001", "Avengers", "ATWM251126"),
    ] {
        expect(
            api,
            &add_show(actor, movie, show, 100),
            201,
            json!({"outcome": "show-added"}),
        )
        .await;
    }
}

/// Customer `c` holds three other-area bookings this week: agreed by every replica.
async fn three_other_area_bookings(api: &Api, c: &str) {
    for (movie, show) in [
        ("Avatar", "VERM251126"),
        ("Avatar", "OUTA261126"),
        ("Titanic", "VERE251126"),
    ] {
        let reply = api.call(&book(c, c, movie, show, 1)).await;
        assert_eq!(reply.status, 200, "{reply:?}");
    }
}

/// A fourth other-area booking: the rules refuse it (`weekly-limit`); the buggy implementation
/// (limit off by one) accepts it — a wrong result the vote outvotes.
async fn wrong(api: &Api, c: &str) {
    expect(
        api,
        &book(c, c, "Titanic", "OUTM271126", 1),
        409,
        json!("weekly-limit"),
    )
    .await;
}

/// A request every replica answers alike.
async fn right(api: &Api) {
    let reply = api.call(&availability("ATWC0999", "Avengers")).await;
    assert_eq!(reply.status, 200, "{reply:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lying_replica_is_swapped_after_exactly_three_consecutive_wrong_results() {
    // No checkpoint during the test: the swap alone must repair the state (empty state + the
    // whole log replayed).
    let cluster = start(
        [
            components::FAULTY_LOGIC,
            "replica-b",
            "replica-c",
            "replica-d",
        ],
        1_000,
    )
    .await;
    let api = Api::new(&cluster);
    weekly_limit_setup(&api).await;
    let customers: Vec<String> = (1..=5).map(|i| format!("ATWC010{i}")).collect();
    for c in &customers {
        three_other_area_bookings(&api, c).await;
    }
    // wrong, right, wrong, right: never three in a row.
    wrong(&api, &customers[0]).await;
    right(&api).await;
    wrong(&api, &customers[1]).await;
    wait_for(&cluster, 1, "the first wrong result counted", |s| {
        s["consecutiveWrong"] == 1
    })
    .await;
    right(&api).await;
    let s = wait_for(&cluster, 1, "the right result resetting the count", |s| {
        s["consecutiveWrong"] == 0
    })
    .await;
    assert_eq!(s["swaps"], 0, "{s}");
    // Two in a row: still no swap.
    wrong(&api, &customers[2]).await;
    wrong(&api, &customers[3]).await;
    let s = wait_for(&cluster, 1, "two consecutive wrong results", |s| {
        s["consecutiveWrong"] == 2
    })
    .await;
    assert_eq!(s["swaps"], 0, "{s}");
    assert_eq!(s["module"], components::FAULTY_LOGIC, "{s}");
    // The third: quarantine, known-good module, correct state.
    wrong(&api, &customers[4]).await;
    let s = wait_for(&cluster, 1, "the swap to the known-good module", |s| {
        s["module"] == "replica-a" && s["health"] == "serving" && s["swaps"] == 1
    })
    .await;
    assert!(
        s["lastSwapReason"]
            .as_str()
            .unwrap()
            .contains("3 consecutive wrong results"),
        "{s}"
    );
    // The quarantine is cluster-wide: every RM lists the module.
    let status = replicas(&cluster).await;
    for id in 1..=4 {
        let q = &rm(&status, id)["quarantine"];
        assert_eq!(q.as_array().map(Vec::len), Some(1), "rm {id}: {q}");
        assert_eq!(q[0]["module"], components::FAULTY_LOGIC, "rm {id}: {q}");
        assert_eq!(q[0]["by"], 1, "rm {id}: {q}");
    }
    // ... and persisted where a restarted RM reads it.
    let path = cluster.config.rm_data_dir(1).join("quarantine.json");
    let saved = std::fs::read_to_string(&path).expect("quarantine list persisted");
    assert!(saved.contains(components::FAULTY_LOGIC), "{saved}");
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&path).expect("metadata").permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "the quarantine list is owner-only");
    // The replacement answers like the others from now on, and holds the same state.
    for c in &customers {
        let reply = api.call(&schedule(c, c)).await;
        assert_eq!(reply.status, 200, "{reply:?}");
    }
    converged(&cluster).await;
    let s = rm(&replicas(&cluster).await, 1);
    assert_eq!(s["consecutiveWrong"], 0, "{s}");
    cluster.stop().await.expect("clean stop");
}

/// Runs `n` seeded workload requests one client at a time and checks every answer against the
/// model of the rules fed the same sequence: no client sees a wrong result.
pub(crate) async fn checked_load(api: &Api, reference: &mut Reference, seed: u64, n: usize) {
    println!("workload seed {seed}, {n} requests");
    for request in Workload::new(seed).take(n) {
        let reply = api.call(&request.operation).await;
        reference.check(&request.operation, &reply);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latent_state_corruption_is_caught_at_the_next_checkpoint_and_repaired() {
    let cluster = start(
        [
            "replica-a",
            components::FAULTY_CORRUPT,
            "replica-c",
            "replica-d",
        ],
        20,
    )
    .await;
    let api = Api::new(&cluster);
    let mut reference = Reference::new();
    checked_load(&api, &mut reference, 41, 45).await;
    corrupt_replica_replaced(&cluster).await;
    // Past the next checkpoint, all four agree.
    checked_load(&api, &mut reference, 42, 40).await;
    let digest = converged(&cluster).await;
    own_checkpoints_agree(&cluster, 40).await;
    println!("converged on {digest}");
    cluster.stop().await.expect("clean stop");
}

/// Every RM's own latest checkpoint — a repaired one's included — is the same (a digest of the
/// same state and executed-requests table), at `at_least` or later.
async fn own_checkpoints_agree(cluster: &LocalCluster, at_least: u64) {
    let status = replicas(cluster).await;
    let own = rm(&status, 1)["ownCheckpoint"].clone();
    assert!(
        own["seq"].as_u64().is_some_and(|seq| seq >= at_least),
        "{own}"
    );
    for id in 2..=4 {
        assert_eq!(rm(&status, id)["ownCheckpoint"], own, "rm {id}");
    }
}

/// RM 2's replica, once replaced by B (its one swap) because its checkpoint digest differs from
/// the agreed one — not for wrong answers. Its status then.
async fn replaced_for_its_digest(cluster: &LocalCluster, what: &str) -> Value {
    let s = wait_for(cluster, 2, what, |s| {
        s["module"] == "replica-b" && s["health"] == "serving"
    })
    .await;
    assert_eq!(s["swaps"], 1, "{s}");
    assert!(
        s["lastSwapReason"]
            .as_str()
            .unwrap()
            .contains("differs from the one the others agree on"),
        "{s}"
    );
    s
}

/// RM 2's corrupt replica, once replaced by B for a state that differs from the agreed one: its
/// answers had looked right all along (no wrong verdict ever counted). Its status then.
async fn corrupt_replica_replaced(cluster: &LocalCluster) -> Value {
    let s = replaced_for_its_digest(cluster, "the corrupt replica replaced").await;
    assert_eq!(s["consecutiveWrong"], 0, "its answers looked right: {s}");
    s
}

/// Between full checkpoints (none here: one every 10,000 requests), the digest each replica
/// keeps finds the corrupt one at a digest check (every 20), with no export anywhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latent_state_corruption_is_caught_at_a_digest_check_without_an_export() {
    let modules = [
        "replica-a",
        components::FAULTY_CORRUPT,
        "replica-c",
        "replica-d",
    ];
    let cluster = start_checking(modules, 10_000, 20).await;
    let api = Api::new(&cluster);
    let mut reference = Reference::new();
    checked_load(&api, &mut reference, 43, 45).await;
    let s = corrupt_replica_replaced(&cluster).await;
    // No full checkpoint was taken: the only stable one is the empty state at 0.
    assert_eq!(s["stableCheckpoint"]["seq"], 0, "{s}");
    // Past the next check, every replica reports the same digest, the repaired one's included.
    checked_load(&api, &mut reference, 44, 40).await;
    converged(&cluster).await;
    own_checkpoints_agree(&cluster, 60).await;
    cluster.stop().await.expect("clean stop");
}

/// A replica that answers wrong but keeps its state right (`faulty-random`, with the strike
/// count out of reach) leaves its wrong answers in its RM's executed-requests table, which a
/// retried request would get back and a state transfer would carry to another RM. Checkpoint
/// digests cover that table, so the first digest check finds it like a corrupt state, and once
/// repaired every RM's table agrees again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lying_replicas_recorded_answers_are_caught_at_a_digest_check() {
    let modules = [
        "replica-a",
        components::FAULTY_RANDOM,
        "replica-c",
        "replica-d",
    ];
    let cluster = start_tuned(modules, 10_000, 20, 1_000).await;
    let api = Api::new(&cluster);
    let mut reference = Reference::new();
    checked_load(&api, &mut reference, 47, 45).await;
    // Not by the strikes (out of reach) but by the digest.
    replaced_for_its_digest(&cluster, "the lying replica replaced").await;
    checked_load(&api, &mut reference, 48, 40).await;
    converged(&cluster).await;
    own_checkpoints_agree(&cluster, 60).await;
    cluster.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endless_loop_and_runaway_memory_are_detected_and_replaced() {
    let cluster = start(
        [
            "replica-a",
            "replica-b",
            components::FAULTY_LOOP,
            components::FAULTY_MEMORY,
        ],
        10,
    )
    .await;
    let api = Api::new(&cluster);
    let mut reference = Reference::new();
    checked_load(&api, &mut reference, 51, 15).await;
    // Availability of Titanic sends RM 3's replica into an endless loop: the epoch deadline
    // interrupts it, the RM replaces it. The client is answered by the others meanwhile.
    let op = availability("ATWC0001", "Titanic");
    let reply = api.call(&op).await;
    reference.check(&op, &reply);
    let s = wait_for(&cluster, 3, "the looping replica replaced", |s| {
        s["module"] == "replica-c" && s["health"] == "serving"
    })
    .await;
    // Fuel catches the loop deterministically (the epoch deadline is the wall-clock backstop).
    let reason = s["lastSwapReason"].as_str().unwrap();
    assert!(
        reason.contains("fuel") || reason.contains("interrupted"),
        "{s}"
    );
    // A schedule request makes RM 4's replica allocate without bound: the memory cap stops it.
    let op = schedule("ATWC0001", "ATWC0001");
    let reply = api.call(&op).await;
    reference.check(&op, &reply);
    let s = wait_for(&cluster, 4, "the memory-hungry replica replaced", |s| {
        s["module"] == "replica-d" && s["health"] == "serving"
    })
    .await;
    // Whichever limit the allocation loop hits first (memory cap or fuel) stops it.
    let reason = s["lastSwapReason"].as_str().unwrap();
    assert!(reason.contains("memory") || reason.contains("fuel"), "{s}");
    checked_load(&api, &mut reference, 52, 20).await;
    converged(&cluster).await;
    cluster.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashing_replica_and_a_lying_one_at_the_same_time_never_show_a_wrong_answer() {
    // RM 1 traps at its 50th request; RM 2 answers garbage from the first.
    let cluster = start(
        [
            components::FAULTY_PANIC,
            components::FAULTY_RANDOM,
            "replica-c",
            "replica-d",
        ],
        25,
    )
    .await;
    let api = Api::new(&cluster);
    let mut reference = Reference::new();
    checked_load(&api, &mut reference, 61, 120).await;
    let s1 = wait_for(&cluster, 1, "the crashed replica replaced", |s| {
        s["module"] == "replica-a" && s["health"] == "serving"
    })
    .await;
    assert!(
        s1["lastSwapReason"].as_str().unwrap().contains("failed"),
        "{s1}"
    );
    let s2 = wait_for(&cluster, 2, "the lying replica replaced", |s| {
        s["module"] == "replica-b" && s["health"] == "serving"
    })
    .await;
    assert_eq!(s2["swaps"], 1, "{s2}");
    checked_load(&api, &mut reference, 62, 30).await;
    converged(&cluster).await;
    cluster.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_swaps_a_module_on_purpose_and_clears_a_quarantine() {
    let cluster = start(IMPLEMENTATIONS, 10).await;
    let api = Api::new(&cluster);
    let mut reference = Reference::new();
    checked_load(&api, &mut reference, 71, 25).await;
    let http = reqwest::Client::new();
    let key = cluster.config.cluster.admin_key.clone();
    let url = cluster.url(0);
    // RM 4 runs implementation D: a second RM on it is refused, and nothing changes ...
    let response = http
        .post(format!("{url}/v1/admin/replicas/2/swap"))
        .bearer_auth(&key)
        .json(&json!({"module": "replica-d"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 409);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "swap-refused", "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("another replica manager already runs replica-d")),
        "{body}"
    );
    // ... unless the operator forces it: a rolling upgrade of RM 2 to D, with the current state.
    let response = http
        .post(format!("{url}/v1/admin/replicas/2/swap"))
        .bearer_auth(&key)
        .json(&json!({"module": "replica-d", "force": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    wait_for(&cluster, 2, "the operator's swap", |s| {
        s["module"] == "replica-d" && s["health"] == "serving" && s["swaps"] == 1
    })
    .await;
    checked_load(&api, &mut reference, 72, 15).await;
    converged(&cluster).await;
    // Refusals in plain words: an unknown module, no key, no such RM.
    let response = http
        .post(format!("{url}/v1/admin/replicas/2/swap"))
        .bearer_auth(&key)
        .json(&json!({"module": "no-such-module"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 409);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "swap-refused", "{body}");
    let response = http
        .get(format!("{url}/v1/admin/replicas"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let response = http
        .post(format!("{url}/v1/admin/replicas/9/swap"))
        .bearer_auth(&key)
        .json(&json!({"module": "replica-a"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    // Nothing quarantined: clearing a module is refused, clearing all is a no-op.
    let response = http
        .delete(format!("{url}/v1/admin/quarantine/replica-a"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let response = http
        .get(format!("{url}/v1/admin/quarantine"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["quarantine"], json!([]), "{body}");
    cluster.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_rm_is_probed_agreed_dead_by_the_others_and_rejoins_when_reachable() {
    // Unicast, so every link is a (sender address, receiver address) pair the fault layer knows.
    let mut config = test_config(
        &components::dir(),
        IMPLEMENTATIONS,
        TransportMode::Unicast,
        TODAY,
    )
    .expect("test configuration");
    config.recovery.checkpoint_every = 10;
    let plan = dmtbs_net::FaultPlan::new(1);
    let wrap_plan = plan.clone();
    let wrap = move |_, udp| -> std::sync::Arc<dyn dmtbs_net::Transport> {
        std::sync::Arc::new(dmtbs_net::FaultTransport::new(udp, wrap_plan.clone()))
    };
    let cluster = LocalCluster::start_wrapped(config, &wrap)
        .await
        .expect("cluster starts");
    let api = Api::new(&cluster);
    let mut reference = Reference::new();
    checked_load(&api, &mut reference, 81, 15).await;
    // Cut RM 3 off: nothing reaches it, nothing it sends arrives.
    let c = &cluster.config;
    let rm3 = c.rm(3).unwrap().addr;
    let others: Vec<_> = [c.sequencer.addr, c.frontends[0].addr]
        .into_iter()
        .chain(c.rms.iter().filter(|r| r.id != 3).map(|r| r.addr))
        .collect();
    let cut = dmtbs_net::LinkFaults {
        loss_pct: 100.0,
        duplicate_pct: 0.0,
        max_delay_ms: 0,
    };
    for &other in &others {
        plan.set_link_faults(other, rm3, cut).unwrap();
        plan.set_link_faults(rm3, other, cut).unwrap();
    }
    // The front end reports it silent; the others probe it, get no answer, and agree.
    checked_load(&api, &mut reference, 82, 10).await;
    for id in [1, 2, 4] {
        wait_for(&cluster, id, "agreement that RM 3 is dead", |s| {
            s["agreedDead"] == json!([3])
        })
        .await;
    }
    let status = replicas(&cluster).await;
    assert_eq!(status["silent"], json!([3]), "{status}");
    // Reachable again: it catches up (gap repair), is heard from, and no longer counts as dead.
    for &other in &others {
        plan.clear_link_faults(other, rm3);
        plan.clear_link_faults(rm3, other);
    }
    checked_load(&api, &mut reference, 83, 25).await;
    for id in [1, 2, 4] {
        wait_for(&cluster, id, "RM 3 heard from again", |s| {
            s["agreedDead"] == json!([])
        })
        .await;
    }
    let s = wait_for(&cluster, 3, "RM 3 serving", |s| s["health"] == "serving").await;
    assert_eq!(s["swaps"], 0, "a network cut is not a replica fault: {s}");
    assert_eq!(
        s["agreedDead"],
        json!([]),
        "an RM never lists itself dead: {s}"
    );
    converged(&cluster).await;
    cluster.stop().await.expect("clean stop");
}
