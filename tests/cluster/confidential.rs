//! Confidential, authenticated cluster traffic: a stranger who joins the multicast group reads no
//! customer, movie or show; state transfers go only to configured RMs at their address, and
//! encrypted; a datagram captured before the nodes restarted is refused after.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use dmtbs_cluster::config::TransportMode;
use dmtbs_cluster::local::{LocalCluster, test_config};
use dmtbs_cluster::rm::transfer;
use dmtbs_net::{GroupMode, Transport, UdpConfig, UdpTransport};
use dmtbs_proto::{CLOCK_SKEW, ClusterKey, Codec, Message, NodeId};
use dmtbs_testkit::build;
use dmtbs_testkit::components::{self, IMPLEMENTATIONS};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;

use crate::client::{Api, TODAY, converged, start};
use crate::recovery::wait_for;
use crate::tap::{Dest, Taps};

/// Whether `needle` occurs in `haystack`.
fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The customers, movies and shows of [`bookings`]: what must never travel in clear.
fn secrets() -> Vec<String> {
    let mut secrets: Vec<String> = (1..=16).map(|i| format!("ATWC{:04}", 100 + i)).collect();
    secrets.extend(["ATWA1000", "Avatar", "Titanic", "ATWM251126", "ATWE251126"].map(String::from));
    secrets
}

/// Two shows, then sixteen customers booking in them from four clients at once.
async fn bookings(cluster: &LocalCluster) {
    let api = Api::new(cluster);
    for (movie, show) in [("Avatar", "ATWM251126"), ("Titanic", "ATWE251126")] {
        let reply = api
            .call(&build::add_show("ATWA1000", movie, show, 100))
            .await;
        assert_eq!(reply.status, 201, "{reply:?}");
    }
    let clients: Vec<_> = (0..4)
        .map(|c| {
            let api = Api::new(cluster);
            tokio::spawn(async move {
                for i in 0..4 {
                    let customer = format!("ATWC{:04}", 100 + c * 4 + i + 1);
                    let (movie, show) = if i % 2 == 0 {
                        ("Avatar", "ATWM251126")
                    } else {
                        ("Titanic", "ATWE251126")
                    };
                    let reply = api
                        .call(&build::book(&customer, &customer, movie, show, 2))
                        .await;
                    assert_eq!(reply.status, 200, "{customer}: {reply:?}");
                }
            })
        })
        .collect();
    for client in clients {
        client.await.expect("client task");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_in_the_multicast_group_reads_no_customer_movie_or_show() {
    let cluster = start(TransportMode::Multicast).await;
    let group = cluster
        .config
        .cluster
        .multicast_group
        .expect("a multicast cluster");
    // Anyone on the machine may join the group (loopback only, like the cluster).
    let mut udp = UdpConfig::loopback(GroupMode::Multicast(group));
    udp.join_group = true;
    let stranger = UdpTransport::bind(udp).await.expect("join the group");
    let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
    let listening = tokio::spawn(async move {
        let mut heard = Vec::new();
        // Bounded: far more than the load sends.
        while heard.len() < 100_000 {
            tokio::select! {
                _ = &mut stopped => break,
                received = stranger.recv() => heard.push(received.expect("loopback").1),
            }
        }
        heard
    });

    bookings(&cluster).await;
    converged(&cluster).await;
    stop.send(()).expect("still listening");
    let heard = listening.await.expect("listener task");

    // The stranger did hear the bookings go by: the cluster, which holds the key, reads them
    // out of the very datagrams the stranger got.
    let reader = Codec::with_nonce_start(&cluster.config.cluster.key, NodeId::Rm(99), 0);
    let delivered: usize = heard
        .iter()
        .filter_map(|d| match reader.decode(d) {
            Ok((_, Message::Deliver(items))) => Some(items.len()),
            _ => None,
        })
        .sum();
    assert!(
        delivered >= 18,
        "the group carried the 18 requests: {delivered} delivered in {} datagrams",
        heard.len()
    );
    for datagram in &heard {
        for secret in secrets() {
            assert!(
                !contains(datagram, secret.as_bytes()),
                "{secret} in clear in a group datagram of {} bytes",
                datagram.len()
            );
        }
    }
    cluster.stop().await.expect("clean shutdown");
}

/// Sends `request` to an RM's state server from `from` and returns all it answered (nothing:
/// refused).
async fn ask(from: IpAddr, to: SocketAddr, request: &[u8]) -> Vec<u8> {
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .bind(SocketAddr::new(from, 0))
        .expect("bind a loopback address");
    let mut stream = socket.connect(to).await.expect("connect");
    stream.write_u32(request.len() as u32).await.expect("send");
    stream.write_all(request).await.expect("send");
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer));
    // A refusal closes the connection; a reset is a refusal too.
    let _ = read
        .await
        .expect("the server answers or closes within 10 s");
    answer
}

/// A counter of an RM's metrics endpoint (RMs label their series with their id).
async fn counter(cluster: &LocalCluster, rm: NodeId, name: &str) -> f64 {
    let url = cluster.metrics_url(rm).expect("the RM serves metrics");
    let text = reqwest::get(&url)
        .await
        .and_then(|r| r.error_for_status())
        .expect("GET /metrics")
        .text()
        .await
        .expect("metrics body");
    // One series per RM: `name{rm="1"} 2`.
    text.lines()
        .find_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let labels = series.strip_prefix(name)?;
            (labels.is_empty() || labels.starts_with('{')).then(|| value.parse().ok())?
        })
        .unwrap_or_else(|| panic!("no {name} in:\n{text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_transfers_are_encrypted_and_only_for_configured_rms_at_their_address() {
    let mut config = test_config(
        &components::dir(),
        IMPLEMENTATIONS,
        TransportMode::Multicast,
        TODAY,
    )
    .expect("test configuration");
    // A checkpoint after the 18 requests of the load.
    config.recovery.checkpoint_every = 18;
    let cluster = LocalCluster::start(config).await.expect("cluster starts");
    bookings(&cluster).await;
    converged(&cluster).await;
    // The digest the RMs agreed on at 18 (state and executed-requests table), as RM 1 shows it.
    let status = wait_for(&cluster, 1, "the checkpoint at 18 stable", |s| {
        s["stableCheckpoint"]["seq"] == 18
    })
    .await;
    let digest: [u8; 32] = hex::decode(
        status["stableCheckpoint"]["digest"]
            .as_str()
            .expect("a hex digest"),
    )
    .expect("hex")
    .try_into()
    .expect("32 bytes");
    let key = cluster.config.cluster.key.clone();
    let rm1 = cluster.config.rms[0].addr;
    let localhost = IpAddr::V4(Ipv4Addr::LOCALHOST);

    // RM 2, as a peer asks: served once RM 1 holds the checkpoint (its export may lag).
    let rm2 = Codec::new(&key, NodeId::Rm(2));
    let mut fetched = None;
    for _ in 0..100 {
        let timeout = Duration::from_secs(5);
        match transfer::fetch_raw(rm1, Some(localhost), &rm2, 18, digest, timeout).await {
            Ok(state) => {
                fetched = Some(state);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    let (state, _) = fetched.expect("RM 1 serves its checkpoint to RM 2");
    assert_eq!(state.bookings.len(), 16, "{state:?}");

    // The answer as it travels: the whole state, and not one customer, movie or show in clear.
    let genuine = rm2.encode(&Message::StateWanted { seq: 18, digest });
    let answer = ask(localhost, rm1, &genuine).await;
    assert!(answer.len() > 500, "{} bytes", answer.len());
    for secret in secrets() {
        assert!(!contains(&answer, secret.as_bytes()), "{secret} in clear");
    }
    let served = counter(
        &cluster,
        NodeId::Rm(1),
        "dmtbs_rm_state_transfers_served_total",
    )
    .await;

    // Everything else is refused: the connection closes with nothing sent.
    let wanted = Message::StateWanted { seq: 18, digest };
    let other_host = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
    let refused: Vec<(&str, IpAddr, Vec<u8>)> = vec![
        (
            "the all-zero key",
            localhost,
            Codec::new(&ClusterKey::from_bytes([0; 32]), NodeId::Rm(2)).encode(&wanted),
        ),
        (
            "another key",
            localhost,
            Codec::new(&ClusterKey::generate(), NodeId::Rm(2)).encode(&wanted),
        ),
        ("RM 2 from another address", other_host, rm2.encode(&wanted)),
        (
            "a front end",
            localhost,
            Codec::new(&key, NodeId::FrontEnd(1)).encode(&wanted),
        ),
        (
            "an RM not in the configuration",
            localhost,
            Codec::new(&key, NodeId::Rm(9)).encode(&wanted),
        ),
        (
            "not a state request",
            localhost,
            rm2.encode(&Message::Heartbeat { latest: 18 }),
        ),
        ("a replayed request", localhost, genuine.clone()),
    ];
    for (what, from, request) in &refused {
        let answer = ask(*from, rm1, request).await;
        assert!(answer.is_empty(), "{what}: {} bytes answered", answer.len());
    }
    let name = "dmtbs_rm_state_transfers_refused_total";
    assert_eq!(
        counter(&cluster, NodeId::Rm(1), name).await,
        refused.len() as f64
    );
    assert_eq!(
        counter(
            &cluster,
            NodeId::Rm(1),
            "dmtbs_rm_state_transfers_served_total"
        )
        .await,
        served,
        "nothing more was served"
    );
    cluster.stop().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_datagram_captured_before_a_restart_is_refused_after_it() {
    let data = tempfile::tempdir().expect("a data folder");
    let mut config = test_config(
        &components::dir(),
        IMPLEMENTATIONS,
        TransportMode::Unicast,
        TODAY,
    )
    .expect("test configuration");
    // Kept across the restart (LocalCluster removes only the folders it made), so the
    // restarted nodes recover what they had.
    config.recovery.data_dir = data.path().join("data");
    let (sequencer, rm1) = (config.sequencer.addr, config.rms[0].addr);

    // First run: one request, and the datagrams that carried it, captured on their way.
    let taps = Taps::default();
    let cluster = LocalCluster::start_wrapped(config.clone(), &taps.wrap(|_, udp| Arc::new(udp)))
        .await
        .expect("cluster starts");
    let reply = Api::new(&cluster)
        .call(&build::add_show("ATWA1000", "Avatar", "ATWM251126", 10))
        .await;
    assert_eq!(reply.status, 201, "{reply:?}");
    let before = converged(&cluster).await;
    let reader = Codec::with_nonce_start(&config.cluster.key, NodeId::Rm(99), 0);
    let submit = taps.of(NodeId::FrontEnd(1)).sent(Dest::To(sequencer))[0].clone();
    let deliver = taps
        .of(NodeId::Sequencer)
        .sent(Dest::Group)
        .into_iter()
        .find(|d| matches!(reader.decode(d), Ok((_, Message::Deliver(_)))))
        .expect("the sequencer delivered the request");
    cluster.stop().await.expect("clean shutdown");
    drop(taps);

    // Restart every node once the captured datagrams are older than the clock skew allowed.
    let sent_at = u64::from_be_bytes(deliver[8..16].try_into().expect("a header")).max(
        u64::from_be_bytes(submit[8..16].try_into().expect("a header")),
    );
    for _ in 0..100 {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("a clock after 1970")
            .as_micros() as u64;
        if now > sent_at + CLOCK_SKEW {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let taps = Taps::default();
    let cluster = LocalCluster::start_wrapped(config, &taps.wrap(|_, udp| Arc::new(udp)))
        .await
        .expect("cluster restarts");
    assert_eq!(converged(&cluster).await, before, "recovered from disk");

    // The captured datagrams, replayed from their genuine senders' own addresses.
    taps.of(NodeId::Sequencer).inject(rm1, deliver).await;
    taps.of(NodeId::FrontEnd(1)).inject(sequencer, submit).await;
    for _ in 0..100 {
        let replayed = |node| cluster.rejects(node).expect("node exists").replayed;
        if replayed(NodeId::Rm(1)) >= 1 && replayed(NodeId::Sequencer) >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for node in [NodeId::Rm(1), NodeId::Sequencer] {
        let counts = cluster.rejects(node).expect("node exists");
        assert_eq!(
            counts.replayed, 1,
            "{node:?} refused the replay: {counts:?}"
        );
        assert_eq!(counts.total(), 1, "{node:?}: {counts:?}");
    }
    // Nothing was executed again, and the cluster serves on.
    assert_eq!(converged(&cluster).await, before);
    let reply = Api::new(&cluster)
        .call(&build::availability("ATWC0001", "Avatar"))
        .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(converged(&cluster).await, before);
    cluster.stop().await.expect("clean shutdown");
}
