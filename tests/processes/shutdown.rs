//! Stopping: SIGTERM to `up` stops every node and `up` exits 0; a node that cannot start makes
//! `up` fail with a message naming it.

use std::time::Duration;

use dmtbs_cluster::config::TransportMode;
use dmtbs_cluster::rundir;

use crate::harness::{Up, alive};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_every_node_and_up_exits_zero() {
    let mut up = Up::start(TransportMode::Unicast);
    let pids = up.node_pids();
    let status = up.signal_and_wait(libc::SIGTERM, Duration::from_secs(30));
    assert_eq!(status.code(), Some(0), "{status:?}\n{}", up.log());
    for (node, pid) in pids {
        assert!(!alive(pid), "{node:?} (pid {pid}) outlived up");
        assert!(
            !rundir::pid_file(&up.run_dir, node).exists(),
            "{node:?}'s pid file was left behind"
        );
    }
    assert!(!up.run_dir.join(rundir::SUPERVISOR_PID_FILE).exists());
    // Each node says what it refused, in words, not as a Rust debug dump.
    let log = up.log();
    assert!(
        log.matches("datagrams refused while running: ").count() >= 6,
        "{log}"
    );
    assert!(!log.contains("RejectCounts {"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_cannot_start_fails_up_with_its_name() {
    let dir = Up::config_file(
        ["replica-a", "replica-b", "no-such-module", "replica-d"],
        TransportMode::Unicast,
    );
    let mut up = Up::spawn(dir);
    let status = up.wait_exit(Duration::from_secs(60));
    let log = up.log();
    assert_eq!(status.code(), Some(2), "{status:?}\n{log}");
    assert!(log.contains("rm-3 exited during start-up"), "{log}");
    // The nodes that did start were stopped again.
    let leftovers: Vec<_> = up
        .nodes()
        .into_iter()
        .filter_map(|n| up.node_pid(n).map(|p| (n, p)))
        .filter(|(_, p)| alive(*p))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
