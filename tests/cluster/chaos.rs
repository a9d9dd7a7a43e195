//! Chaos (fault injection) through the operator API: links that drop all or part of the
//! sequencer's traffic to a replica manager lose no answer and the RMs still converge; healing
//! restores every link; invalid chaos requests are refused and change nothing.

use std::time::Duration;

use dmtbs_client::{ChaosLink, Client, Error, ReplicaStatus};
use dmtbs_cluster::config::TransportMode;
use dmtbs_cluster::local::{LocalCluster, test_config};
use dmtbs_contract::Operation;
use dmtbs_proto::NodeId;
use dmtbs_testkit::components::{self, IMPLEMENTATIONS};
use dmtbs_testkit::workload::Workload;
use serde_json::{Value, json};

use crate::client::{TODAY, client, converged};
use crate::oracle::Oracle;

/// A cluster of the four implementations checkpointing every `every` requests.
async fn start(every: u64) -> LocalCluster {
    let mut config = test_config(
        &components::dir(),
        IMPLEMENTATIONS,
        TransportMode::Multicast,
        TODAY,
    )
    .expect("test configuration");
    config.recovery.checkpoint_every = every;
    LocalCluster::start(config).await.expect("cluster starts")
}

/// Runs `n` seeded workload requests one at a time and checks every answer against the model of
/// the rules fed the same sequence: no client sees a wrong (or no) answer. `oracle` has seen
/// everything the cluster sequenced so far.
async fn checked_load(api: &Client, oracle: &mut Oracle, seed: u64, n: usize) -> u64 {
    println!("workload seed {seed}, {n} requests");
    let mut last = 0;
    for request in Workload::new(seed).take(n) {
        let op: &Operation = &request.operation;
        let result = api.execute(op).await;
        match dmtbs_frontend::auth::admit(op) {
            Err(why) => assert!(
                matches!(&result, Err(Error::Api(e)) if e.seq.is_none() && why.fits(e.status)),
                "{op:?} ({why:?}) → {result:?}"
            ),
            Ok(canonical) => {
                let (seq, outcome) = dmtbs_client::outcome_of(&result)
                    .unwrap_or_else(|| panic!("no sequenced answer: {op:?} → {result:?}"));
                let expected = oracle.apply(&canonical);
                assert_eq!(outcome, expected, "seq {seq}: {op:?} (seed {seed})");
                last = seq;
            }
        }
    }
    last
}

/// Polls the status until RM `rm`'s satisfies `done` (bounded), returning it.
async fn wait_for(
    api: &Client,
    rm: u8,
    what: &str,
    done: impl Fn(&ReplicaStatus) -> bool,
) -> ReplicaStatus {
    let mut last = None;
    for _ in 0..300 {
        let status = api.replicas().await.expect("the status answers");
        last = status.replicas.into_iter().find(|r| r.rm == rm);
        if last.as_ref().is_some_and(&done) {
            return last.expect("just checked");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("rm {rm}: {what} did not happen within 15 s; last status {last:?}");
}

fn link(links: &[ChaosLink], from: &str, to: &str) -> ChaosLink {
    links
        .iter()
        .find(|l| l.from == from && l.to == to)
        .unwrap_or_else(|| panic!("no link {from} → {to} in {links:?}"))
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_sequencers_traffic_to_rms_loses_no_answer_and_they_still_converge() {
    let cluster = start(20).await;
    let api = client(&cluster);
    let mut oracle = Oracle::new(dmtbs_testkit::build::date(2026, 11, 24));
    // RM 3 hears nothing from the sequencer, RM 2 half of it (names in any letter case).
    let set = api
        .chaos_drop("Sequencer", "RM3", 100)
        .await
        .expect("drop set");
    assert_eq!(set.links.len(), 1, "{set:?}");
    assert_eq!(link(&set.links, "sequencer", "rm3").percent, 100);
    api.chaos_drop("sequencer", "rm2", 50)
        .await
        .expect("drop set");

    let last = checked_load(&api, &mut oracle, 0xC4A05, 80).await;
    assert!(last >= 40, "most workload requests are sequenced: {last}");

    let links = api.chaos_links().await.expect("links").links;
    let full = link(&links, "sequencer", "rm3");
    let half = link(&links, "sequencer", "rm2");
    assert_eq!((full.percent, half.percent), (100, 50), "{links:?}");
    // The filter really worked in the receiving node, and the API reports its counts.
    let rm3_dropped = cluster.wire(NodeId::Rm(3)).expect("rm 3").dropped()[&NodeId::Sequencer];
    assert!(
        full.dropped >= last && rm3_dropped >= full.dropped,
        "{full:?}, wire {rm3_dropped}"
    );
    assert!(half.dropped > 0, "{half:?}");
    assert!(
        !links.iter().any(|l| l.to != "rm2" && l.to != "rm3"),
        "{links:?}"
    );

    // While the links still drop: RM 2 repairs its gaps (NACKs) and applies everything; RM 3,
    // which never hears of a request, catches up to the stable checkpoints its peers report.
    wait_for(&api, 2, "RM 2 repairing every gap", |r| {
        r.applied_through >= last
    })
    .await;
    wait_for(&api, 3, "RM 3 catching up by checkpoint", |r| {
        r.applied_through >= 20 && r.health == "serving"
    })
    .await;

    // Heal: every link of every node, counts kept; RM 3 hears the sequencer again.
    let healed = api.chaos_heal().await.expect("heal");
    assert!(healed.unanswered.is_empty(), "{healed:?}");
    assert!(healed.links.iter().all(|l| l.percent == 0), "{healed:?}");
    // Heartbeats kept being dropped since the count was read.
    assert!(link(&healed.links, "sequencer", "rm3").dropped >= full.dropped);
    let after = checked_load(&api, &mut oracle, 0xC4A06, 10).await;
    wait_for(&api, 3, "RM 3 applying everything after healing", |r| {
        r.applied_through >= after
    })
    .await;
    converged(&cluster).await;
    cluster.stop().await.expect("clean stop");
}

/// A chaos request sent by hand: status and JSON body.
async fn post_drop(cluster: &LocalCluster, body: Value, key: bool) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{}/v1/admin/chaos/drop", cluster.url(0)))
        .json(&body);
    if key {
        request = request.bearer_auth(&cluster.config.cluster.admin_key);
    }
    let response = request.send().await.expect("the front end answers");
    let status = response.status().as_u16();
    (status, response.json().await.expect("a JSON answer"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_chaos_requests_are_refused_clearly_and_change_nothing() {
    let cluster = start(1_000).await;
    let api = client(&cluster);
    for (body, says) in [
        (
            json!({"from": "rm9", "to": "rm2", "percent": 10}),
            "there is no node rm9 in this cluster (nodes: sequencer, fe1, rm1, rm2, rm3, rm4)",
        ),
        (
            json!({"from": "sequencer", "to": "router", "percent": 10}),
            "\"router\" is not a node name",
        ),
        (
            json!({"from": "sequencer", "to": "rm2", "percent": 101}),
            "percent must be 0..=100, not 101",
        ),
        (
            json!({"from": "rm2", "to": "RM2", "percent": 10}),
            "rm2 does not send to itself",
        ),
        (
            json!({"from": "sequencer", "to": "rm2"}),
            "the body must be",
        ),
        (
            json!({"from": "sequencer", "to": "rm2", "percent": -1}),
            "the body must be",
        ),
    ] {
        let (status, answer) = post_drop(&cluster, body.clone(), true).await;
        assert_eq!(status, 400, "{body} → {answer}");
        assert_eq!(answer["error"]["code"], "bad-request", "{answer}");
        let message = answer["error"]["message"].as_str().expect("a message");
        assert!(message.contains(says), "{body} → {message}");
    }
    // Without the admin key: refused too.
    let (status, _) = post_drop(
        &cluster,
        json!({"from": "sequencer", "to": "rm2", "percent": 10}),
        false,
    )
    .await;
    assert_eq!(status, 401);
    // Nothing changed anywhere: every node answers, no link drops.
    let links = api.chaos_links().await.expect("links");
    assert!(links.unanswered.is_empty(), "{links:?}");
    assert!(links.links.is_empty(), "{links:?}");
    for node in [NodeId::Sequencer, NodeId::FrontEnd(1), NodeId::Rm(2)] {
        assert!(cluster.wire(node).expect("node").links().is_empty());
    }

    // A valid drop into the front end itself, then healing it.
    let set = api.chaos_drop("rm4", "fe1", 100).await.expect("drop set");
    assert_eq!(link(&set.links, "rm4", "fe1").percent, 100);
    assert_eq!(
        cluster.wire(NodeId::FrontEnd(1)).expect("fe").links()[0].percent,
        100
    );
    // The front end still answers (three replicas' results remain).
    checked_load(
        &api,
        &mut Oracle::new(dmtbs_testkit::build::date(2026, 11, 24)),
        0xC4A07,
        5,
    )
    .await;
    api.chaos_heal().await.expect("heal");
    assert_eq!(
        cluster.wire(NodeId::FrontEnd(1)).expect("fe").links()[0].percent,
        0
    );
    cluster.stop().await.expect("clean stop");
}
