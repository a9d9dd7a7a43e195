//! Forged, truncated, garbage and misaddressed datagrams sent to the sequencer and the replica
//! managers: rejected, and nothing is executed.

use std::net::UdpSocket;

use dmtbs_cluster::config::TransportMode;
use dmtbs_contract::Operation;
use dmtbs_proto::{ClientRequest, ClusterKey, Codec, Message, NodeId, Sequenced};
use dmtbs_testkit::build;

use crate::client::{Api, converged, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_truncated_and_misaddressed_datagrams_execute_nothing() {
    let cluster = start(TransportMode::Unicast).await;
    let api = Api::new(&cluster);
    let config = &cluster.config;
    let op: Operation = build::add_show("ATWA1000", "Avatar", "ATWM251126", 10);
    let submit = Message::Submit(vec![ClientRequest {
        fe: 1,
        request_id: 7,
        operation: op.clone(),
    }]);
    let deliver = Message::Deliver(vec![Sequenced {
        seq: 1,
        today: build::date(2026, 11, 24),
        fe: 1,
        request_id: 7,
        operation: op,
    }]);
    // Under another key: a forgery.
    let forger = Codec::new(&ClusterKey::generate(), NodeId::FrontEnd(1));
    // Under the real key but from an address that is not the front end's or the sequencer's.
    let insider = Codec::new(&config.cluster.key, NodeId::FrontEnd(1));
    let impostor = Codec::new(&config.cluster.key, NodeId::Sequencer);
    let socket = UdpSocket::bind("127.0.0.1:0").expect("socket");
    let good = insider.encode(&submit);
    let datagrams: Vec<Vec<u8>> = vec![
        forger.encode(&submit),
        good[..good.len() - 1].to_vec(),
        good[..10].to_vec(),
        b"hello".to_vec(),
        vec![0xFF; 70_000],
        good.clone(),
        good,
        impostor.encode(&deliver),
    ];
    for datagram in &datagrams {
        for target in [
            config.sequencer.addr,
            config.rms[0].addr,
            config.rms[1].addr,
        ] {
            // A datagram too large for UDP fails to send at all; that is fine too.
            let _ = socket.send_to(datagram, target);
        }
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    // Nothing was sequenced or delivered: the first real request gets sequence number 1, and
    // the replicas' states stay the empty one.
    let reply = api.call(&build::availability("ATWC0001", "Avatar")).await;
    assert_eq!(reply.seq, Some(1), "{reply:?}");
    assert_eq!(reply.body["shows"], serde_json::json!([]), "{reply:?}");
    converged(&cluster).await;
    for (rm, replica) in &cluster.replicas {
        let state = replica.export_state().expect("export");
        assert!(state.shows.is_empty(), "rm {rm} executed a forged request");
    }
    cluster.stop().await.expect("clean shutdown");
}
