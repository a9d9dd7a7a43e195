// The in-memory network: unicast, group membership, fan-out, bounded queues, registration.

use std::net::{SocketAddr, SocketAddrV4};
use std::time::Duration;

use dmtbs_net::{Bytes, GroupMode, MemNetwork, MemStats, NetError, Transport};

use crate::drain;

const GROUP: SocketAddrV4 = SocketAddrV4::new(std::net::Ipv4Addr::new(239, 255, 77, 1), 7700);

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

const QUIET: Duration = Duration::from_millis(10);

#[tokio::test(start_paused = true)]
async fn unicast_delivers_in_order_with_sender_address() {
    let net = MemNetwork::new();
    let a = net
        .endpoint(addr(1), GroupMode::Fanout(vec![]))
        .expect("register");
    let b = net
        .endpoint(addr(2), GroupMode::Fanout(vec![]))
        .expect("register");
    for i in 0..100u8 {
        a.send_to(b.local_addr(), Bytes::from(vec![i]))
            .await
            .expect("send");
    }
    let got = drain(&b, QUIET).await;
    let expected: Vec<_> = (0..100u8)
        .map(|i| (addr(1), Bytes::from(vec![i])))
        .collect();
    assert_eq!(got, expected);
    assert!(drain(&a, QUIET).await.is_empty());
}

#[tokio::test(start_paused = true)]
async fn multicast_reaches_members_only() {
    let net = MemNetwork::new();
    let mode = GroupMode::Multicast(GROUP);
    let seq = net.endpoint(addr(1), mode.clone()).expect("register");
    let rms: Vec<_> = (10..14)
        .map(|p| net.endpoint(addr(p), mode.clone()).expect("register"))
        .collect();
    for rm in &rms[..3] {
        net.join(GROUP, rm.local_addr());
    }

    seq.send_group(Bytes::from_static(b"one"))
        .await
        .expect("send");
    for rm in &rms[..3] {
        assert_eq!(
            drain(rm, QUIET).await,
            vec![(addr(1), Bytes::from_static(b"one"))]
        );
    }
    assert!(
        drain(&rms[3], QUIET).await.is_empty(),
        "a non-member heard the group"
    );
    assert!(
        drain(&seq, QUIET).await.is_empty(),
        "the sender is no member"
    );

    // Leaving cuts one member off; dropping an endpoint leaves its groups too.
    net.leave(GROUP, rms[0].local_addr());
    let [_, r1, r2, _] = <[_; 4]>::try_from(rms).expect("four");
    drop(r2);
    assert_eq!(net.members(GROUP), vec![addr(11)]);
    seq.send_to(SocketAddr::V4(GROUP), Bytes::from_static(b"two"))
        .await
        .expect("send_to group");
    assert_eq!(
        drain(&r1, QUIET).await,
        vec![(addr(1), Bytes::from_static(b"two"))]
    );
    assert_eq!(
        net.stats(),
        MemStats {
            delivered: 4,
            dropped_full: 0,
            undeliverable: 0
        }
    );
}

#[tokio::test(start_paused = true)]
async fn fan_out_reaches_listed_addresses_and_counts_the_absent() {
    let net = MemNetwork::new();
    let listed = vec![addr(10), addr(11), addr(99)]; // 99 never registers
    let fe = net
        .endpoint(addr(1), GroupMode::Fanout(listed))
        .expect("register");
    let r10 = net
        .endpoint(addr(10), GroupMode::Fanout(vec![]))
        .expect("register");
    let r11 = net
        .endpoint(addr(11), GroupMode::Fanout(vec![]))
        .expect("register");
    let r12 = net
        .endpoint(addr(12), GroupMode::Fanout(vec![]))
        .expect("register");
    fe.send_group(Bytes::from_static(b"x")).await.expect("send");
    assert_eq!(drain(&r10, QUIET).await.len(), 1);
    assert_eq!(drain(&r11, QUIET).await.len(), 1);
    assert!(drain(&r12, QUIET).await.is_empty());
    assert_eq!(
        net.stats(),
        MemStats {
            delivered: 2,
            dropped_full: 0,
            undeliverable: 1
        }
    );
}

#[tokio::test(start_paused = true)]
async fn bounded_queue_drops_overflow_like_a_full_socket_buffer() {
    let net = MemNetwork::with_capacity(8);
    let a = net
        .endpoint(addr(1), GroupMode::Fanout(vec![]))
        .expect("register");
    let b = net
        .endpoint(addr(2), GroupMode::Fanout(vec![]))
        .expect("register");
    for i in 0..20u8 {
        a.send_to(b.local_addr(), Bytes::from(vec![i]))
            .await
            .expect("send never blocks");
    }
    let got: Vec<u8> = drain(&b, QUIET).await.iter().map(|(_, d)| d[0]).collect();
    assert_eq!(
        got,
        (0..8).collect::<Vec<_>>(),
        "the first 8 fit; the rest were dropped"
    );
    assert_eq!(
        net.stats(),
        MemStats {
            delivered: 8,
            dropped_full: 12,
            undeliverable: 0
        }
    );
}

#[tokio::test(start_paused = true)]
async fn addresses_are_exclusive_and_port_zero_is_assigned() {
    let net = MemNetwork::new();
    let a = net
        .endpoint(addr(5), GroupMode::Fanout(vec![]))
        .expect("register");
    assert!(matches!(
        net.endpoint(addr(5), GroupMode::Fanout(vec![])),
        Err(NetError::AddrInUse(_))
    ));
    let p = net
        .endpoint(addr(0), GroupMode::Fanout(vec![]))
        .expect("register");
    let q = net
        .endpoint(addr(0), GroupMode::Fanout(vec![]))
        .expect("register");
    assert_ne!(p.local_addr().port(), 0);
    assert_ne!(p.local_addr(), q.local_addr());
    drop(a);
    assert!(
        net.endpoint(addr(5), GroupMode::Fanout(vec![])).is_ok(),
        "a dropped endpoint frees its address"
    );
    let big = Bytes::from(vec![0u8; dmtbs_net::MAX_DATAGRAM + 1]);
    assert!(matches!(
        p.send_to(q.local_addr(), big).await,
        Err(NetError::TooLarge(_))
    ));
}
