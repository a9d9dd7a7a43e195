//! A client request retransmitted many times, over a network that loses, duplicates and
//! reorders, gets one sequence number and executes exactly once.

use std::sync::Arc;
use std::time::Duration;

use dmtbs_cluster::config::TransportMode;
use dmtbs_net::{FaultPlan, FaultTransport, LinkFaults};
use dmtbs_proto::{ClientRequest, Codec, Message, NodeId, Outgoing};
use dmtbs_testkit::build;
use serde_json::json;

use crate::client::{Api, converged, start_with};
use crate::tap::Taps;

/// How many times the front end sends the same request.
const RESENDS: usize = 60;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_retransmitted_many_times_executes_exactly_once() {
    let seed = dmtbs_testkit::rng::seed_from_env(0xE1);
    println!("seed {seed}");
    let plan = FaultPlan::new(seed);
    plan.set_all_links(LinkFaults {
        loss_pct: 20.0,
        duplicate_pct: 20.0,
        max_delay_ms: 5,
    })
    .expect("valid faults");
    let taps = Taps::default();
    let faults = plan.clone();
    let wrap = taps.wrap(move |_, udp| Arc::new(FaultTransport::new(udp, faults.clone())));
    let cluster = start_with(TransportMode::Multicast, &wrap).await;
    let api = Api::new(&cluster);
    let config = cluster.config.clone();

    let reply = api
        .call(&build::add_show("ATWA1000", "Avatar", "ATWM251126", 10))
        .await;
    assert_eq!((reply.status, reply.seq), (201, Some(1)), "{reply:?}");

    // One request of front end 1 — id 42, which it never uses itself (its ids start at the
    // clock) — sent again and again from the front end's own socket, under its own identity,
    // each time as a fresh datagram (a new nonce), as its retransmissions are.
    let request = ClientRequest {
        fe: 1,
        request_id: 42,
        key: None,
        operation: build::book("ATWC0001", "ATWC0001", "Avatar", "ATWM251126", 3),
    };
    let fe = cluster.wire(NodeId::FrontEnd(1)).expect("front end 1");
    for _ in 0..RESENDS {
        fe.send(Outgoing::To(
            NodeId::Sequencer,
            Message::Submit(vec![request.clone()]),
        ))
        .await;
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Every answer the sequencer gave names the same sequence number: the next one, 2.
    let reader = Codec::with_nonce_start(&config.cluster.key, NodeId::FrontEnd(1), 0);
    let accepted: Vec<u64> = taps
        .of(NodeId::FrontEnd(1))
        .received_from(config.sequencer.addr)
        .iter()
        .filter_map(|d| match reader.decode(d) {
            Ok((_, Message::Accepted(list))) => Some(list),
            // Copies made by the fault layer are refused as replays; heartbeats do not come here.
            _ => None,
        })
        .flatten()
        .filter(|a| a.request_id == 42)
        .map(|a| a.seq)
        .collect();
    println!(
        "{RESENDS} sends, {} Accepted received; faults: {:?}",
        accepted.len(),
        plan.stats()
    );
    assert!(
        accepted.len() >= RESENDS / 4,
        "too few answers: {accepted:?}"
    );
    assert!(accepted.iter().all(|&seq| seq == 2), "{accepted:?}");
    let stats = plan.stats();
    assert!(
        stats.dropped > 0 && stats.duplicated > 0,
        "the fault layer was active"
    );

    // Exactly one sequence number was consumed, and the booking took effect once.
    let reply = api.call(&build::schedule("ATWC0001", "ATWC0001")).await;
    assert_eq!(reply.seq, Some(3), "{reply:?}");
    assert_eq!(
        reply.body["bookings"],
        json!([{"movie": "Avatar", "showId": "ATWM251126", "tickets": 3}]),
        "{reply:?}"
    );
    let reply = api.call(&build::availability("VERC0001", "Avatar")).await;
    assert_eq!(reply.seq, Some(4), "{reply:?}");
    assert_eq!(
        reply.body["shows"],
        json!([{"showId": "ATWM251126", "remaining": 7}]),
        "{reply:?}"
    );
    converged(&cluster).await;
    let state = cluster.replicas[0].1.export_state().expect("export");
    assert_eq!(state.bookings.len(), 1, "{state:?}");
    cluster.stop().await.expect("clean shutdown");
}
