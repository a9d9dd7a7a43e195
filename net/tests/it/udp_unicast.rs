// Real unicast on loopback: fan-out group sends, point-to-point, and the loopback-only guard.

use std::net::SocketAddr;

use dmtbs_net::{GroupMode, NetError, Transport, UdpConfig, UdpTransport};

use crate::{PATIENCE, index_of, payload, run_tag};

#[tokio::test]
async fn fan_out_delivers_to_each_listed_address() {
    const DATAGRAMS: u32 = 200;
    let tag = run_tag();
    let mut members = Vec::new();
    for _ in 0..3 {
        // Members in fan-out mode need no group socket; listing them is membership.
        members.push(
            UdpTransport::bind(UdpConfig::loopback(GroupMode::Fanout(vec![])))
                .await
                .expect("bind"),
        );
    }
    let bystander = UdpTransport::bind(UdpConfig::loopback(GroupMode::Fanout(vec![])))
        .await
        .expect("bind");
    let list: Vec<SocketAddr> = members.iter().map(|m| m.local_addr()).collect();
    let sender = UdpTransport::bind(UdpConfig::loopback(GroupMode::Fanout(list)))
        .await
        .expect("bind");

    for i in 0..DATAGRAMS {
        sender
            .send_group(payload(tag, i))
            .await
            .expect("fan-out send");
    }
    for member in &members {
        // One socket, one sender, loopback: the kernel keeps order, so expect exactly 0..N.
        for i in 0..DATAGRAMS {
            let (from, datagram) = tokio::time::timeout(PATIENCE, member.recv())
                .await
                .expect("in time")
                .expect("recv");
            assert_eq!(from, sender.local_addr());
            assert_eq!(index_of(tag, &datagram), Some(i));
        }
    }
    let nothing =
        tokio::time::timeout(std::time::Duration::from_millis(50), bystander.recv()).await;
    assert!(nothing.is_err(), "an unlisted node got a group datagram");
}

#[tokio::test]
async fn send_to_reaches_one_node_and_never_leaves_loopback() {
    let tag = run_tag();
    let a = UdpTransport::bind(UdpConfig::loopback(GroupMode::Fanout(vec![])))
        .await
        .expect("bind");
    let b = UdpTransport::bind(UdpConfig::loopback(GroupMode::Fanout(vec![])))
        .await
        .expect("bind");
    a.send_to(b.local_addr(), payload(tag, 7))
        .await
        .expect("send");
    let (from, datagram) = tokio::time::timeout(PATIENCE, b.recv())
        .await
        .expect("in time")
        .expect("recv");
    assert_eq!((from, index_of(tag, &datagram)), (a.local_addr(), Some(7)));

    // Refused before any system call: nothing can reach a real network from a test.
    let remote: SocketAddr = "192.0.2.1:9".parse().expect("literal"); // TEST-NET-1
    assert!(matches!(
        a.send_to(remote, payload(tag, 0)).await,
        Err(NetError::NonLoopback(_))
    ));
    let big = dmtbs_net::Bytes::from(vec![0u8; dmtbs_net::MAX_DATAGRAM + 1]);
    assert!(matches!(
        a.send_to(b.local_addr(), big).await,
        Err(NetError::TooLarge(_))
    ));
}
