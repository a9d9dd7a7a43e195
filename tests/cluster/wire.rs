//! Forged, truncated, garbage, oversized, misaddressed and replayed datagrams sent to the
//! sequencer and to a replica manager: each refused, counted under its reason exactly once, and
//! nothing executed.

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::Duration;

use dmtbs_cluster::config::TransportMode;
use dmtbs_cluster::local::LocalCluster;
use dmtbs_proto::{
    ClientRequest, ClusterKey, Codec, FORMAT_VERSION, MAGIC, MAX_DATAGRAM, Message, NodeId,
    RejectCounts, Sequenced,
};
use dmtbs_testkit::build;
use serde_json::json;

use crate::client::{Api, converged, start_with};
use crate::tap::{Dest, Taps};

/// How many of each kind are sent to each target.
const FORGED: u64 = 3;
const TAG_CUT: u64 = 2;
const TRUNCATED: u64 = 4;
const GARBAGE: u64 = 5;
const WRONG_VERSION: u64 = 2;
const OVERSIZED: u64 = 2;
const IMPOSTOR: u64 = 3;
const REPLAYED_ELSEWHERE: u64 = 2;
const REPLAYED: u64 = 4;

/// What each target must have counted.
const EXPECTED: RejectCounts = RejectCounts {
    too_short: TRUNCATED,
    too_large: OVERSIZED,
    bad_magic: GARBAGE,
    unsupported_version: WRONG_VERSION,
    bad_mac: FORGED + TAG_CUT,
    malformed: 0,
    replayed: REPLAYED,
    misaddressed: IMPOSTOR + REPLAYED_ELSEWHERE,
};

/// Sends `datagram` `n` times from `socket` to `to`.
fn send(socket: &UdpSocket, to: SocketAddr, datagram: &[u8], n: u64) {
    for _ in 0..n {
        socket.send_to(datagram, to).expect("loopback send");
    }
}

/// Waits (bounded) until `node` has counted `expected`, then a little longer to catch anything
/// counted twice, and returns the counts.
async fn counted(cluster: &LocalCluster, node: NodeId, expected: RejectCounts) -> RejectCounts {
    for _ in 0..100 {
        if cluster.rejects(node).expect("node exists").total() >= expected.total() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    cluster.rejects(node).expect("node exists")
}

/// A stranger on the machine sends, to `target`, every kind of bad datagram built from `good`
/// (an authentic datagram of the real cluster) and `impostor` (authentic datagrams from the
/// wrong address, with nonces far ahead of the genuine sender's).
fn attack(socket: &UdpSocket, target: SocketAddr, good: &[u8], impostor: &dyn Fn() -> Vec<u8>) {
    let forger = Codec::new(&ClusterKey::generate(), NodeId::FrontEnd(1));
    for _ in 0..FORGED {
        send(
            socket,
            target,
            &forger.encode(&Message::Heartbeat { latest: 9 }),
            1,
        );
    }
    send(socket, target, &good[..good.len() - 1], TAG_CUT);
    send(socket, target, &good[..10], TRUNCATED);
    send(
        socket,
        target,
        b"GET / HTTP/1.1\r\nHost: dmtbs\r\nUser-Agent: a stray client\r\n\r\n",
        GARBAGE,
    );
    let mut wrong_version = good.to_vec();
    wrong_version[MAGIC.len()] = FORMAT_VERSION + 1;
    send(socket, target, &wrong_version, WRONG_VERSION);
    // Larger than the codec accepts, small enough for UDP to carry.
    let mut oversized = MAGIC.to_vec();
    oversized.push(FORMAT_VERSION);
    oversized.resize(MAX_DATAGRAM + 100, 0);
    send(socket, target, &oversized, OVERSIZED);
    for _ in 0..IMPOSTOR {
        send(socket, target, &impostor(), 1);
    }
    // The genuine datagram copied from the wrong address: misaddressed, not a replay.
    send(socket, target, good, REPLAYED_ELSEWHERE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_datagrams_are_refused_counted_by_reason_and_execute_nothing() {
    let taps = Taps::default();
    let wrap = taps.wrap(|_, udp| Arc::new(udp));
    let cluster = start_with(TransportMode::Unicast, &wrap).await;
    let api = Api::new(&cluster);
    let config = cluster.config.clone();
    let (sequencer, rm1) = (config.sequencer.addr, config.rms[0].addr);

    let reply = api
        .call(&build::add_show("ATWA1000", "Avatar", "ATWM251126", 10))
        .await;
    assert_eq!((reply.status, reply.seq), (201, Some(1)), "{reply:?}");
    let before = converged(&cluster).await;
    // Genuine traffic alone is never refused.
    for node in [NodeId::Sequencer, NodeId::Rm(1)] {
        assert_eq!(
            cluster.rejects(node),
            Some(RejectCounts::default()),
            "{node:?}"
        );
    }

    // Genuine datagrams, as recorded on their way: the front end's Submit of request 1, and the
    // sequencer's Deliver of it (to the group: unicast fan-out).
    let reader = Codec::with_nonce_start(&config.cluster.key, NodeId::Rm(99), 0);
    let submit = taps.of(NodeId::FrontEnd(1)).sent(Dest::To(sequencer))[0].clone();
    let deliver = taps
        .of(NodeId::Sequencer)
        .sent(Dest::Group)
        .into_iter()
        .find(|d| matches!(reader.decode(d), Ok((_, Message::Deliver(_)))))
        .expect("the sequencer delivered request 1");

    // Requests that would change the state if they were ever executed.
    let op = build::add_show("ATWA1000", "Titanic", "ATWE251126", 7);
    let insider = Codec::new(&config.cluster.key, NodeId::FrontEnd(1));
    let impostor = Codec::new(&config.cluster.key, NodeId::Sequencer);
    let stranger = UdpSocket::bind("127.0.0.1:0").expect("socket");
    attack(&stranger, sequencer, &submit, &|| {
        insider.encode(&Message::Submit(vec![ClientRequest {
            fe: 1,
            request_id: 7,
            key: None,
            operation: op.clone(),
        }]))
    });
    attack(&stranger, rm1, &deliver, &|| {
        impostor.encode(&Message::Deliver(vec![Sequenced {
            epoch: 1,
            seq: 2,
            today: build::date(2026, 11, 24),
            fe: 1,
            request_id: 7,
            key: None,
            operation: op.clone(),
        }]))
    });
    // Replays from the genuine sender's own socket.
    for _ in 0..REPLAYED {
        taps.of(NodeId::FrontEnd(1))
            .inject(sequencer, submit.clone())
            .await;
        taps.of(NodeId::Sequencer)
            .inject(rm1, deliver.clone())
            .await;
    }

    for node in [NodeId::Sequencer, NodeId::Rm(1)] {
        assert_eq!(
            counted(&cluster, node, EXPECTED).await,
            EXPECTED,
            "{node:?} counted its rejects wrongly"
        );
    }
    // Nothing was executed: no replica's state moved, and the next real request gets the next
    // sequence number — the impostors, whose nonces ran far ahead, did not lock the genuine
    // front end and sequencer out either.
    assert_eq!(converged(&cluster).await, before);
    let reply = api.call(&build::availability("ATWC0001", "Avatar")).await;
    assert_eq!(reply.seq, Some(2), "{reply:?}");
    assert_eq!(
        reply.body["shows"],
        json!([{"showId": "ATWM251126", "remaining": 10}]),
        "{reply:?}"
    );
    assert_eq!(converged(&cluster).await, before);
    let rejects: u64 = cluster.wires.iter().map(|w| w.rejects().total()).sum();
    assert_eq!(
        rejects,
        2 * EXPECTED.total(),
        "only the targets refused anything"
    );
    cluster.stop().await.expect("clean shutdown");
}
