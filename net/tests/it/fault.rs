// The seeded fault layer: loss, duplication, delay/reordering, per-link changes at runtime,
// reproducibility from the seed, and use over real UDP.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use dmtbs_net::{
    Bytes, FaultPlan, FaultTransport, GroupMode, LinkFaults, MemNetwork, MemTransport, Transport,
    UdpConfig, UdpTransport,
};

use crate::{drain, index_of, payload, run_tag};

/// The seed of every test here; printed so a failure can be replayed. Override with
/// `DMTBS_SEED=<u64>` to explore other schedules (the range assertions must still hold).
fn seed() -> u64 {
    let seed = std::env::var("DMTBS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5EED_D47B_5000_0001);
    eprintln!("fault seed: {seed} (rerun with DMTBS_SEED={seed})");
    seed
}

const N: u32 = 10_000;
/// Longer than any configured delay, so draining stops only when everything has arrived.
const QUIET: Duration = Duration::from_secs(1);

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// Sends `n` tagged datagrams from a fresh sender to a fresh receiver wrapped in `plan`, and
/// returns the indices in the order they arrived.
async fn run(plan: &FaultPlan, n: u32) -> Vec<u32> {
    let net = MemNetwork::new();
    let tx = net
        .endpoint(addr(1), GroupMode::Fanout(vec![]))
        .expect("register");
    let rx = FaultTransport::new(
        net.endpoint(addr(2), GroupMode::Fanout(vec![]))
            .expect("register"),
        plan.clone(),
    );
    for i in 0..n {
        tx.send_to(addr(2), payload(0, i)).await.expect("send");
    }
    drain(&rx, QUIET)
        .await
        .iter()
        .map(|(_, d)| index_of(0, d).expect("ours"))
        .collect()
}

fn pct(part: u64, whole: u32) -> f64 {
    part as f64 * 100.0 / f64::from(whole)
}

#[tokio::test(start_paused = true)]
async fn ten_percent_loss_is_about_ten_percent_and_reproducible() {
    let seed = seed();
    let plan = FaultPlan::new(seed);
    plan.set_all_links(LinkFaults::loss(10.0)).expect("valid");
    let got = run(&plan, N).await;
    let stats = plan.stats();
    eprintln!("10% loss: {stats:?}");
    assert_eq!(stats.arrived, u64::from(N));
    assert_eq!(got.len() as u64, u64::from(N) - stats.dropped);
    let lost = pct(stats.dropped, N);
    assert!(
        (7.0..=13.0).contains(&lost),
        "lost {lost}% with seed {seed}"
    );
    assert!(
        got.windows(2).all(|w| w[0] < w[1]),
        "loss alone never reorders or duplicates"
    );

    // Same seed, same fate for every datagram; another seed, another fate.
    let again = FaultPlan::new(seed);
    again.set_all_links(LinkFaults::loss(10.0)).expect("valid");
    assert_eq!(run(&again, N).await, got);
    assert_eq!(again.stats(), stats);
    let other = FaultPlan::new(seed ^ 1);
    other.set_all_links(LinkFaults::loss(10.0)).expect("valid");
    assert_ne!(run(&other, N).await, got);
}

#[tokio::test(start_paused = true)]
async fn duplication_adds_copies_at_the_configured_rate() {
    let plan = FaultPlan::new(seed());
    plan.set_all_links(LinkFaults {
        duplicate_pct: 10.0,
        ..LinkFaults::NONE
    })
    .expect("valid");
    let got = run(&plan, N).await;
    let stats = plan.stats();
    eprintln!("10% duplication: {stats:?}");
    assert_eq!(stats.dropped, 0);
    assert_eq!(got.len() as u64, u64::from(N) + stats.duplicated);
    assert!((7.0..=13.0).contains(&pct(stats.duplicated, N)));
    let mut copies: HashMap<u32, u32> = HashMap::new();
    for i in &got {
        *copies.entry(*i).or_default() += 1;
    }
    assert_eq!(copies.len() as u32, N, "nothing lost");
    assert!(copies.values().all(|&c| c == 1 || c == 2));
    assert_eq!(
        copies.values().filter(|&&c| c == 2).count() as u64,
        stats.duplicated
    );
}

#[tokio::test(start_paused = true)]
async fn delay_reorders_but_loses_nothing() {
    let seed = seed();
    let faults = LinkFaults {
        max_delay_ms: 20,
        ..LinkFaults::NONE
    };
    let plan = FaultPlan::new(seed);
    plan.set_all_links(faults).expect("valid");
    let started = tokio::time::Instant::now();
    let got = run(&plan, 2_000).await;
    let stats = plan.stats();
    eprintln!("delay 0..=20 ms: {stats:?}");
    let mut sorted = got.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        (0..2_000).collect::<Vec<_>>(),
        "every datagram exactly once"
    );
    // A datagram overtaken by a later one arrives after a higher index has been seen. (All
    // 2,000 are sent at one virtual instant, so equal delays keep send order among themselves;
    // counting adjacent inversions would only count the 20 delay classes.)
    let mut highest = 0;
    let mut overtaken = 0;
    for &i in &got {
        if i < highest {
            overtaken += 1;
        }
        highest = highest.max(i);
    }
    assert!(
        overtaken > 1_000,
        "only {overtaken} of 2,000 datagrams were overtaken"
    );
    // Uniform 0..=20: about 1 in 21 copies has no delay.
    assert!((1_800..2_000).contains(&stats.delayed), "{stats:?}");
    assert!(
        started.elapsed() >= Duration::from_millis(20),
        "delays took (virtual) time"
    );

    // The schedule, too, is a function of the seed.
    let again = FaultPlan::new(seed);
    again.set_all_links(faults).expect("valid");
    assert_eq!(run(&again, 2_000).await, got);
}

#[tokio::test(start_paused = true)]
async fn one_link_can_be_faulted_and_healed_at_runtime() {
    let net = MemNetwork::new();
    let plan = FaultPlan::new(seed());
    let endpoint = |port| {
        net.endpoint(addr(port), GroupMode::Fanout(vec![]))
            .expect("register")
    };
    let (a, b): (MemTransport, MemTransport) = (endpoint(1), endpoint(2));
    let rx = FaultTransport::new(endpoint(3), plan.clone());
    let send_both = |n: u32| {
        let (a, b) = (&a, &b);
        async move {
            for i in 0..n {
                a.send_to(addr(3), Bytes::from(vec![1, i as u8]))
                    .await
                    .expect("send");
                b.send_to(addr(3), Bytes::from(vec![2, i as u8]))
                    .await
                    .expect("send");
            }
        }
    };
    let count_from =
        |got: &[(SocketAddr, Bytes)], from| got.iter().filter(|(f, _)| *f == from).count();

    send_both(100).await;
    let got = drain(&rx, QUIET).await;
    assert_eq!(
        (count_from(&got, addr(1)), count_from(&got, addr(2))),
        (100, 100)
    );

    // Chaos: cut a → rx only.
    plan.set_link_faults(addr(1), addr(3), LinkFaults::loss(100.0))
        .expect("valid");
    send_both(100).await;
    let got = drain(&rx, QUIET).await;
    assert_eq!(
        (count_from(&got, addr(1)), count_from(&got, addr(2))),
        (0, 100)
    );
    assert_eq!(plan.link_stats(addr(1), addr(3)).dropped, 100);
    assert_eq!(plan.link_stats(addr(2), addr(3)).dropped, 0);

    // Heal.
    plan.clear_link_faults(addr(1), addr(3));
    assert_eq!(plan.link_faults(addr(1), addr(3)), LinkFaults::NONE);
    send_both(100).await;
    let got = drain(&rx, QUIET).await;
    assert_eq!(
        (count_from(&got, addr(1)), count_from(&got, addr(2))),
        (100, 100)
    );
}

#[tokio::test]
async fn works_over_real_udp() {
    const COUNT: u32 = 2_000;
    let tag = run_tag();
    let plan = FaultPlan::new(seed());
    plan.set_all_links(LinkFaults {
        loss_pct: 25.0,
        duplicate_pct: 5.0,
        max_delay_ms: 2,
    })
    .expect("valid");
    let rx = FaultTransport::new(
        UdpTransport::bind(UdpConfig::loopback(GroupMode::Fanout(vec![])))
            .await
            .expect("bind"),
        plan.clone(),
    );
    let tx = UdpTransport::bind(UdpConfig::loopback(GroupMode::Fanout(vec![
        rx.local_addr(),
    ])))
    .await
    .expect("bind");
    for i in 0..COUNT {
        tx.send_group(payload(tag, i)).await.expect("send");
    }
    let got = drain(&rx, Duration::from_millis(200)).await;
    let stats = plan.stats();
    eprintln!("over UDP: {stats:?}");
    assert_eq!(
        stats.arrived,
        u64::from(COUNT),
        "loopback with a raised buffer loses nothing itself"
    );
    assert_eq!(
        got.len() as u64,
        stats.arrived - stats.dropped + stats.duplicated
    );
    assert!(
        got.iter()
            .all(|(from, d)| *from == tx.local_addr() && index_of(tag, d).is_some())
    );
    assert!(
        (20.0..=30.0).contains(&pct(stats.dropped, COUNT)),
        "{stats:?}"
    );
}
