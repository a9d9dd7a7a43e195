//! Concurrent clients, with and without a lossy network: every answer must equal what the
//! independent model of the rules gives when fed the same sequence, and the four replicas' states
//! must end identical and hold what the model holds. Workloads are seeded; the seeds are printed.

use std::sync::Arc;

use dmtbs_cluster::config::TransportMode;
use dmtbs_contract::Operation;
use dmtbs_frontend::auth::{NotSequenced, admit};
use dmtbs_host::StateDigest;
use dmtbs_net::{FaultPlan, FaultTransport, LinkFaults};
use dmtbs_testkit::workload::Workload;

use dmtbs_client::{Answer, Error, outcome_of};
use dmtbs_contract::Success;

use crate::client::{client, converged, matches, start, start_with};
use crate::oracle::Oracle;

type Reply = Result<Answer<Success>, Error>;

/// Runs `clients` concurrent clients of `per_client` requests each and checks every sequenced
/// answer, and the final state, against the model of the rules. Returns how many requests were
/// sequenced.
async fn clients_agree_with_the_model(
    cluster: &dmtbs_cluster::local::LocalCluster,
    clients: u64,
    per_client: usize,
    seed: u64,
) -> u64 {
    println!("seed {seed}: {clients} clients × {per_client} requests");
    let client = client(cluster);
    let mut tasks = Vec::new();
    for c in 0..clients {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let ops: Vec<Operation> = Workload::new(seed + c)
                .take(per_client)
                .map(|r| r.operation)
                .collect();
            let mut answers = Vec::new();
            for op in ops {
                let reply = client.execute(&op).await;
                answers.push((op, reply));
            }
            answers
        }));
    }
    let mut sequenced: Vec<(u64, Operation, Reply)> = Vec::new();
    for task in tasks {
        for (op, reply) in task.await.expect("client task") {
            let seq = outcome_of(&reply).map(|(seq, _)| seq);
            match (admit(&op), seq) {
                (Ok(canonical), Some(seq)) => sequenced.push((seq, canonical, reply)),
                // Refused before sequencing: 422 with the rule's code, or no route at all when a
                // malformed ID leaves a path segment empty; 401 for an actor no token can name;
                // 403 `not-authorized` outside the token's rights.
                (Err(why), None) => assert!(
                    reply
                        .as_ref()
                        .err()
                        .and_then(Error::api)
                        .is_some_and(|e| e.seq.is_none()
                            && match &why {
                                NotSequenced::Malformed(_) => {
                                    e.status == 422
                                        || (e.status == 404 && e.code == "no-such-route")
                                }
                                NotSequenced::NoToken => e.code == "unauthenticated",
                                NotSequenced::OutOfScope(_) => e.code == "not-authorized",
                            }
                            && why.fits(e.status)),
                    "{op:?} → {reply:?}"
                ),
                (valid, seq) => panic!(
                    "well-formed {} but sequence number {seq:?}: {op:?} → {reply:?}",
                    valid.is_ok()
                ),
            }
        }
    }
    // Sequence numbers are exactly 1..=N: nothing executed twice, nothing lost.
    sequenced.sort_by_key(|(seq, _, _)| *seq);
    for (i, (seq, _, _)) in sequenced.iter().enumerate() {
        assert_eq!(
            *seq,
            i as u64 + 1,
            "sequence numbers have a gap or a repeat"
        );
    }
    // The oracle: the model of the rules fed the same sequence on its own.
    let mut oracle = Oracle::new(dmtbs_cluster::wire::today(&cluster.config));
    for (seq, op, reply) in &sequenced {
        let outcome = oracle.apply(op);
        assert!(
            matches(reply, &outcome),
            "seq {seq}: {op:?}\n  answered: {reply:?}\n  the rules: {outcome:?}"
        );
    }
    let digest = converged(cluster).await;
    let state = cluster.replicas[0].1.export_state().expect("export");
    assert_eq!(StateDigest::of(&state), digest);
    assert_eq!(
        Oracle::sorted(state),
        oracle.state(),
        "the replicas' state is the model's"
    );
    sequenced.len() as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_concurrent_clients_match_the_model_of_the_rules() {
    let cluster = start(TransportMode::Multicast).await;
    let n = clients_agree_with_the_model(&cluster, 16, 500, 0x16C1).await;
    println!("{n} requests sequenced and checked");
    assert!(n > 7_000, "most of the 8,000 requests are well-formed");
    cluster.stop().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_percent_loss_with_duplication_and_reordering_changes_nothing() {
    let seed = dmtbs_testkit::rng::seed_from_env(0x10_55);
    let plan = FaultPlan::new(seed);
    plan.set_all_links(LinkFaults {
        loss_pct: 10.0,
        duplicate_pct: 5.0,
        max_delay_ms: 5,
    })
    .expect("valid faults");
    let wrap_plan = plan.clone();
    let wrap = move |_, udp| -> Arc<dyn dmtbs_net::Transport> {
        Arc::new(FaultTransport::new(udp, wrap_plan.clone()))
    };
    let cluster = start_with(TransportMode::Multicast, &wrap).await;
    let n = clients_agree_with_the_model(&cluster, 4, 150, seed).await;
    let stats = plan.stats();
    println!("{n} requests under faults (seed {seed}): {stats:?}");
    assert!(
        stats.dropped > 0 && stats.duplicated > 0,
        "the fault layer was active"
    );
    cluster.stop().await.expect("clean shutdown");
}
