// Real multicast on loopback: safety assertions, exactly-once delivery to 4 members, merged recv.

use std::collections::HashSet;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use dmtbs_net::{DEFAULT_RECV_BUFFER, GroupMode, NetError, Transport, UdpConfig, UdpTransport};

use crate::{PATIENCE, drain, fresh_group, index_of, payload, run_tag};

const DATAGRAMS: u32 = 1_000;
const RECEIVERS: usize = 4;

async fn member(group: GroupMode) -> UdpTransport {
    UdpTransport::bind(UdpConfig {
        join_group: true,
        ..UdpConfig::loopback(group)
    })
    .await
    .expect("bind multicast member")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_members_each_receive_every_datagram_exactly_once() {
    let group = fresh_group();
    let mode = GroupMode::Multicast(group);
    let tag = run_tag();

    let mut receivers = Vec::new();
    for _ in 0..RECEIVERS {
        let rx = member(mode.clone()).await;
        // Without the raised buffer a 1,000-datagram burst loses a few percent silently.
        assert!(
            rx.recv_buffer_size() >= DEFAULT_RECV_BUFFER,
            "receive buffer {} < {} asked: raise net.core.rmem_max",
            rx.recv_buffer_size(),
            DEFAULT_RECV_BUFFER
        );
        receivers.push(rx);
    }
    let sender = UdpTransport::bind(UdpConfig::loopback(mode))
        .await
        .expect("bind sender");
    assert_eq!(
        sender.multicast_if().expect("read IP_MULTICAST_IF"),
        Ipv4Addr::LOCALHOST
    );
    let sender_addr = sender.local_addr();
    eprintln!(
        "group {group}, sender {sender_addr}, rcvbuf {}",
        receivers[0].recv_buffer_size()
    );

    let tasks: Vec<_> = receivers
        .into_iter()
        .map(|rx| {
            tokio::spawn(async move {
                let mut seen = vec![0u32; DATAGRAMS as usize];
                let mut received = 0;
                while received < DATAGRAMS {
                    let Ok(next) = tokio::time::timeout(PATIENCE, rx.recv()).await else {
                        break;
                    };
                    let (from, datagram) = next.expect("recv");
                    let index = index_of(tag, &datagram).expect("only this run's datagrams arrive");
                    assert_eq!(
                        from, sender_addr,
                        "the sender's unicast address is the source"
                    );
                    seen[index as usize] += 1;
                    received += 1;
                }
                // Anything beyond DATAGRAMS would be a duplicate: give it a moment to show up.
                for (_, datagram) in drain(&rx, Duration::from_millis(50)).await {
                    let index = index_of(tag, &datagram).expect("only this run's datagrams arrive");
                    seen[index as usize] += 1;
                }
                seen
            })
        })
        .collect();

    for i in 0..DATAGRAMS {
        sender
            .send_group(payload(tag, i))
            .await
            .expect("multicast send");
    }

    for (r, task) in tasks.into_iter().enumerate() {
        let seen = task.await.expect("receiver task");
        let missing: Vec<_> = (0..DATAGRAMS).filter(|&i| seen[i as usize] == 0).collect();
        let duplicated: Vec<_> = (0..DATAGRAMS).filter(|&i| seen[i as usize] > 1).collect();
        assert!(
            missing.is_empty(),
            "receiver {r} missed {} datagrams: {missing:?}",
            missing.len()
        );
        assert!(
            duplicated.is_empty(),
            "receiver {r} got duplicates: {duplicated:?}"
        );
    }
    // The sender did not join: it hears nothing of its own multicast.
    assert!(drain(&sender, Duration::from_millis(50)).await.is_empty());
}

#[tokio::test]
async fn member_receives_group_and_unicast_through_one_recv() {
    let mode = GroupMode::Multicast(fresh_group());
    let tag = run_tag();
    let rm = member(mode.clone()).await;
    let other = UdpTransport::bind(UdpConfig::loopback(mode))
        .await
        .expect("bind");

    other.send_group(payload(tag, 1)).await.expect("group send");
    other
        .send_to(rm.local_addr(), payload(tag, 2))
        .await
        .expect("unicast send");
    // A member hears its own group sends too (IP_MULTICAST_LOOP), as with the in-memory hub.
    rm.send_group(payload(tag, 3))
        .await
        .expect("own group send");

    let mut got = HashSet::new();
    for _ in 0..3 {
        let (from, datagram) = tokio::time::timeout(PATIENCE, rm.recv())
            .await
            .expect("in time")
            .expect("recv");
        let index = index_of(tag, &datagram).expect("ours");
        let expected_from = if index == 3 {
            rm.local_addr()
        } else {
            other.local_addr()
        };
        assert_eq!(from, expected_from);
        got.insert(index);
    }
    assert_eq!(got, HashSet::from([1, 2, 3]));
}

#[tokio::test]
async fn unsafe_multicast_setups_are_refused_at_bind() {
    let mode = GroupMode::Multicast(fresh_group());
    let any = UdpConfig {
        interface: Ipv4Addr::UNSPECIFIED,
        join_group: true,
        ..UdpConfig::loopback(mode.clone())
    };
    assert!(matches!(
        UdpTransport::bind(any).await,
        Err(NetError::UnsafeMulticast(_))
    ));
    let ttl = UdpConfig {
        multicast_ttl: 5,
        ..UdpConfig::loopback(mode.clone())
    };
    assert!(matches!(
        UdpTransport::bind(ttl).await,
        Err(NetError::UnsafeMulticast(_))
    ));
    let uplink = UdpConfig {
        interface: Ipv4Addr::new(10, 0, 0, 1),
        ..UdpConfig::loopback(mode.clone())
    };
    assert!(matches!(
        UdpTransport::bind(uplink).await,
        Err(NetError::UnsafeMulticast(_))
    ));

    // A correctly set up sender still refuses any multicast address but its own group, whose
    // interface it asserted.
    let sender = UdpTransport::bind(UdpConfig::loopback(mode))
        .await
        .expect("bind");
    let elsewhere: SocketAddr = "239.1.2.3:9".parse().expect("literal");
    assert!(matches!(
        sender.send_to(elsewhere, payload(0, 0)).await,
        Err(NetError::Config(_))
    ));
}
