//! A standby sequencer named in the cluster file, with real processes: `kill -9` of the active
//! sequencer under load, and the other takes over in a new epoch — without waiting for `dmtbs
//! up` to restart the dead one, which then comes back passive instead of deposing it. The load
//! sees no wrong answer and no 5xx; nothing acknowledged is lost, nothing doubled; the pauses
//! are measured and printed. The seed (`DMTBS_SEED` to replay) is printed.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use dmtbs_proto::NodeId;

use crate::durability::{
    Counts, Ledger, Retry, add_shows, answered_again, check_ledger, cluster_dir, converged, seed,
    start_load, status,
};
use crate::harness::{Up, signal};

/// The RMs' epochs, as the operator sees them (`None` for one not reporting).
async fn epochs(up: &Up) -> Vec<Option<u64>> {
    let status = status(up).await;
    (1..=4)
        .map(|id| {
            status["replicas"].as_array().and_then(|rs| {
                rs.iter()
                    .find(|r| r["rm"] == id)
                    .and_then(|r| r["epoch"].as_u64())
            })
        })
        .collect()
}

/// Waits (bounded) until every RM reports the same epoch, owned by `owner` (odd: the
/// sequencer's, even: the standby's), and above `above`; returns it.
async fn all_in_epoch_of(up: &Up, owner: NodeId, above: u64, seed: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = epochs(up).await;
        if let Some(Some(first)) = now.first()
            && *first > above
            && NodeId::sequencer_of(*first) == owner
            && now.iter().all(|e| *e == Some(*first))
        {
            return *first;
        }
        assert!(
            Instant::now() < deadline,
            "seed {seed}: the RMs are not all in an epoch of {owner} above {above}: {now:?}\n{}",
            up.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// [`cluster_dir`] with a `[standby]` on a fresh loopback port.
fn cluster_dir_with_standby() -> tempfile::TempDir {
    let dir = cluster_dir();
    let path = dir.path().join("cluster.toml");
    let mut text = std::fs::read_to_string(&path).expect("cluster file");
    let port = dmtbs_cluster::local::free_port().expect("a free port");
    text.push_str(&format!("\n[standby]\naddr = \"127.0.0.1:{port}\"\n"));
    std::fs::write(&path, text).expect("write cluster file");
    dir
}

/// Kills `node` (a sequencer) under the running load and waits until requests are answered
/// again; returns the pause.
async fn kill_and_time(up: &Up, node: NodeId, seed: u64) -> Duration {
    let pid = up.node_pid(node).expect("sequencer pid");
    signal(pid, libc::SIGKILL);
    let killed = Instant::now();
    let pause = answered_again(up, killed, seed).await;
    println!("{node} (pid {pid}) killed: requests answered again after {pause:?}");
    pause
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standby_takes_over_from_a_killed_sequencer_and_the_restarted_one_stays_passive() {
    let seed = seed();
    let ledger: Ledger = Arc::default();
    let up = Up::start_in(cluster_dir_with_standby());
    assert!(
        up.node_pid(NodeId::Standby).is_some(),
        "`dmtbs up` starts the standby the cluster file names"
    );
    add_shows(&up).await;
    let first = all_in_epoch_of(&up, NodeId::Sequencer, 0, seed).await;
    println!("the sequencer numbers in epoch {first}");

    let stop = Arc::new(AtomicBool::new(false));
    let counts = Arc::new(Counts::default());
    let load = start_load(&up, 1, &ledger, &stop, Retry::Never, &counts);
    tokio::time::sleep(Duration::from_millis(800)).await;

    // The sequencer dies: the standby takes over in an even epoch.
    let old = up.node_pid(NodeId::Sequencer).expect("sequencer pid");
    let pause = kill_and_time(&up, NodeId::Sequencer, seed).await;
    let second = all_in_epoch_of(&up, NodeId::Standby, first, seed).await;
    println!("the standby numbers in epoch {second}; first pause {pause:?}");

    // `up` restarts the dead sequencer; it hears the standby and stays passive: the RMs stay in
    // the standby's epoch while the load goes on.
    let restarted = up
        .wait_new_pid(NodeId::Sequencer, old, Duration::from_secs(20))
        .await;
    println!("the sequencer was restarted as pid {restarted}");
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(
        epochs(&up).await,
        vec![Some(second); 4],
        "seed {seed}: the restarted sequencer deposed the active standby\n{}",
        up.log()
    );

    // Now the standby dies: the restarted sequencer takes over in a higher odd epoch.
    let pause = kill_and_time(&up, NodeId::Standby, seed).await;
    let third = all_in_epoch_of(&up, NodeId::Sequencer, second, seed).await;
    println!("the sequencer numbers again, in epoch {third}; second pause {pause:?}");

    tokio::time::sleep(Duration::from_millis(1_000)).await;
    stop.store(true, Ordering::Relaxed);
    for task in load {
        task.await.expect("client task: a wrong answer fails it");
    }
    let (acked, unknown) = check_ledger(&up, &ledger, seed).await;
    println!("{acked} acknowledged bookings all present once, {unknown} unknown");
    assert!(acked > 0, "seed {seed}: no booking was acknowledged at all");
    let errors = counts.server_errors.load(Ordering::Relaxed);
    assert_eq!(
        errors,
        0,
        "seed {seed}: {errors} bookings answered 5xx through two failovers\n{}",
        up.log()
    );
    converged(&up, seed).await;
}
