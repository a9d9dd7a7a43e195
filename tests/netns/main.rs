//! The netns suite: a whole cluster on nine hosts — the sequencer, the standby, four RMs, two
//! front ends and the clients, each in a network namespace of its own, joined by a bridge in
//! another — once with `transport = "multicast"`, once with `"unicast"`. Under a booking load
//! through both front ends it cuts one RM off (nftables), makes another deaf to the sequencer,
//! cuts the sequencer off (the standby takes over; healed, the old one stays passive), and
//! `kill -9`s an RM, the active sequencer and a front end. No client may see a wrong answer;
//! afterwards every acknowledged booking is held exactly once, the four RMs hold the same state,
//! and the clients' history is linearizable (`dmtbs-checker`).
//!
//! Needs root (`CAP_NET_ADMIN`, `CAP_SYS_ADMIN` for `ip netns exec`), `ip` and `nft`; without a
//! namespace it prints `SKIPPED: …` (to stderr, past the harness's capture) and passes; CI
//! (`.ci/run`) runs as root, where it runs. Without `nft` it fails, naming the package.
//! Which RM suffers which fault is drawn from a seed, printed (`DMTBS_SEED` replays it). Needs
//! the built `dmtbs` (`cargo build -p dmtbs-cli`). docs/testing.md has what it measured.

mod load;
mod nodes;
mod topology;

use std::io::Write as _;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use dmtbs_checker::check;
use dmtbs_cluster::config::TransportMode;
use dmtbs_proto::NodeId;
use rand::seq::SliceRandom as _;
use rand::{Rng as _, SeedableRng as _};

use crate::load::{Load, Shared};
use crate::nodes::{HTTP_PORT, Nodes};
use crate::topology::Topology;

/// The hosts and the last octet of each one's address.
const HOSTS: [(&str, u8); 9] = [
    ("seq", 1),
    ("standby", 2),
    ("rm1", 11),
    ("rm2", 12),
    ("rm3", 13),
    ("rm4", 14),
    ("fe1", 21),
    ("fe2", 22),
    ("client", 100),
];

/// How long each fault lasts at least (and until 30 more bookings were answered).
const HOLD: Duration = Duration::from_millis(1_500);

/// One cluster at a time: two clusters of eight processes on two cores would slow each other
/// into timeouts.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

#[test]
fn multicast_across_hosts_survives_partitions_and_kills() {
    run(TransportMode::Multicast, "mc", 1);
}

#[test]
fn unicast_across_hosts_survives_partitions_and_kills() {
    run(TransportMode::Unicast, "uc", 2);
}

fn seed() -> u64 {
    let seed = std::env::var("DMTBS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::rng().random());
    println!("seed {seed} (DMTBS_SEED={seed} replays it)");
    seed
}

/// Builds the network (or skips, saying why), then runs the scenario as the `client` host: on a
/// thread inside its namespace, with a runtime whose threads all start there. The network is
/// removed when this returns or unwinds; the scenario's node processes before it.
fn run(transport: TransportMode, tag: &str, subnet: u8) {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let started = Instant::now();
    let net = match Topology::create(tag, subnet, &HOSTS) {
        Ok(net) => net,
        // Skipped loudly rather than failed: a machine that cannot make namespaces (a container
        // without CAP_NET_ADMIN) says nothing about the cluster. CI runs as root, where it runs.
        Err(why) => {
            // Straight to stderr, past the test harness's capture: a skip is never silent.
            let _ = writeln!(
                std::io::stderr(),
                "SKIPPED: the namespace test needs root with CAP_NET_ADMIN and iproute2 ({why}); \
                 CI runs it as root"
            );
            return;
        }
    };
    if let Err(why) = topology::nft_available() {
        panic!("{why}");
    }
    let seed = seed();
    let outcome = std::thread::scope(|s| {
        s.spawn(|| {
            topology::enter(&net.host("client").ns);
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(scenario(&net, transport, tag, seed));
        })
        .join()
    });
    drop(net);
    if let Err(panic) = outcome {
        eprintln!("seed {seed}: DMTBS_SEED={seed} replays it");
        std::panic::resume_unwind(panic);
    }
    println!("{transport:?}: whole test {:?}", started.elapsed());
}

async fn scenario(net: &Topology, transport: TransportMode, tag: &str, seed: u64) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut rms = ["rm1", "rm2", "rm3", "rm4"];
    rms.shuffle(&mut rng);
    let [cut, deaf, killed, spare] = rms;
    println!(
        "{transport:?}: {cut} is cut off, {deaf} is deaf to the sequencer, {killed} is killed, \
         {spare} suffers nothing"
    );

    let mut nodes = Nodes::configure(net, transport);
    let started = Instant::now();
    nodes.start(&["rm1", "rm2", "rm3", "rm4", "seq", "standby", "fe1", "fe2"]);
    println!(
        "{transport:?}: 8 nodes in 8 namespaces ready after {:?}",
        started.elapsed()
    );
    let admin_key = nodes.config.cluster.admin_key.clone();
    let urls: Vec<String> = ["fe1", "fe2"]
        .iter()
        .map(|fe| format!("http://{}:{HTTP_PORT}", net.host(fe).ip))
        .collect();
    let fes = load::clients(&urls, &admin_key, nodes.config.mint_tokens());
    // The operator asks front end 2, which is never killed.
    let url = &urls[1];
    let http = reqwest::Client::new();
    let shared = Shared::new();
    load::add_shows(&fes, &shared, tag).await;
    println!("{transport:?}: first answers after {:?}", started.elapsed());
    let load = Load::start(&fes, &shared, tag);
    load::answered(&shared, 20, "warm-up", || nodes.logs()).await;

    // An RM cut off: the other three answer; healed, it catches up.
    net.isolate(cut);
    let phase = load::during(&shared, HOLD, 30, &format!("{cut} cut off"), || {
        nodes.logs()
    })
    .await;
    let dropped = net.heal(cut);
    assert!(
        dropped > 0,
        "cutting {cut} off dropped nothing: it tested nothing"
    );
    println!("{transport:?}: {cut} cut off: {phase}; {dropped} packets dropped");
    let catch_up = load::caught_up(&http, url, &admin_key, cut).await;
    println!("{transport:?}: {cut} caught up {catch_up:.2?} after it was reconnected");

    // An RM deaf to the sequencer (a one-way partition: it still sends, and hears its peers and
    // the front ends): the others answer; heard again, it catches up.
    net.deafen(deaf, "seq");
    let phase = load::during(&shared, HOLD, 30, &format!("{deaf} deaf"), || nodes.logs()).await;
    let dropped = net.heal(deaf);
    assert!(dropped > 0, "{deaf} deaf to the sequencer dropped nothing");
    println!("{transport:?}: {deaf} deaf to the sequencer: {phase}; {dropped} packets dropped");
    let catch_up = load::caught_up(&http, url, &admin_key, deaf).await;
    println!("{transport:?}: {deaf} caught up {catch_up:.2?} after it heard the sequencer again");

    // The sequencer cut off: the standby takes over in an epoch of its own; healed, the old
    // sequencer hears it and stays passive instead of deposing it.
    let first = load::all_in_epoch_of(&http, url, &admin_key, NodeId::Sequencer, 0).await;
    net.isolate("seq");
    let phase = load::during(&shared, HOLD, 30, "the sequencer cut off", || nodes.logs()).await;
    let second = load::all_in_epoch_of(&http, url, &admin_key, NodeId::Standby, first).await;
    let dropped = net.heal("seq");
    assert!(dropped > 0, "cutting the sequencer off dropped nothing");
    println!("{transport:?}: sequencer cut off: {phase}; the standby numbers in epoch {second}");
    load::answered(&shared, 30, "the sequencer healed", || nodes.logs()).await;
    assert_eq!(
        load::epochs(&http, url, &admin_key).await,
        vec![Some(second); 4],
        "the healed sequencer deposed the active standby"
    );

    // kill -9 of an RM: the others answer; restarted, it recovers from its disk and its peers.
    nodes.kill(killed);
    let phase = load::during(&shared, HOLD, 30, &format!("{killed} killed"), || {
        nodes.logs()
    })
    .await;
    nodes.start(&[killed]);
    let catch_up = load::caught_up(&http, url, &admin_key, killed).await;
    println!("{transport:?}: {killed} killed: {phase}; restarted, caught up in {catch_up:.2?}");

    // kill -9 of the active sequencer (the standby): the sequencer takes over again.
    nodes.kill("standby");
    let phase = load::during(&shared, HOLD, 30, "the standby killed", || nodes.logs()).await;
    let third = load::all_in_epoch_of(&http, url, &admin_key, NodeId::Sequencer, second).await;
    nodes.start(&["standby"]);
    println!("{transport:?}: standby killed: {phase}; the sequencer numbers in epoch {third}");

    // kill -9 of a front end: its clients try again through the other, with the same key.
    nodes.kill("fe1");
    let phase = load::during(&shared, HOLD, 30, "fe1 killed", || nodes.logs()).await;
    nodes.start(&["fe1"]);
    load::answered(&shared, 30, "fe1 restarted", || nodes.logs()).await;
    println!("{transport:?}: fe1 killed: {phase}; restarted");

    load.stop().await;
    let failures = shared.failures();
    assert!(
        failures.is_empty(),
        "seed {seed}: clients saw {} wrong answer(s) or failure(s):\n{}\n{}",
        failures.len(),
        failures.join("\n"),
        nodes.logs()
    );
    let (acked, unknown) = load::check_ledger(&fes, &shared, tag).await;
    assert_eq!(unknown, 0, "every booking was tried until answered");
    let (seq, digest) = load::converged(&http, &fes, url, &admin_key).await;
    println!(
        "{transport:?}: {acked} acknowledged bookings, each held once ({} tries answered 5xx, \
         {} answered as replays); all four RMs at checkpoint {seq}: {digest}",
        shared.server_errors(),
        shared.replayed()
    );
    // The group path crossed the bridge: the RM that suffered nothing got (nearly) every request
    // from the sequencer's multicast or fan-out, not from repairs after the fact.
    let at = nodes.rm_metrics(spare);
    let delivered = load::counter(&http, at, "dmtbs_rm_requests_delivered_total", &[]).await;
    let repairs = load::counter(&http, at, "dmtbs_rm_repairs_received_total", &[]).await;
    println!("{transport:?}: {spare} delivered {delivered} requests, {repairs} of them repairs");
    assert!(
        delivered >= seq as f64 && repairs < delivered / 10.0,
        "{spare} got {repairs} of {delivered} requests by repair: the {transport:?} group path \
         does not carry them across the hosts"
    );
    let history = shared.history();
    let report = check(&history);
    assert!(
        report.is_linearizable(),
        "seed {seed}: the clients' history ({} operations) is not linearizable: {report}",
        history.len()
    );
    println!(
        "{transport:?}: history of {} operations: {report}; scenario {:?}",
        history.len(),
        started.elapsed()
    );
}
