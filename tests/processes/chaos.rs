//! `dmtbs chaos kill`: the command finds a replica manager's process through the run directory
//! of `dmtbs up`, checks it against the pid the RM reports, kills it; the supervisor starts a new
//! one and bookings keep succeeding. Pointed at another cluster's front end it kills nothing.

use std::process::{Command, Output};
use std::time::Duration;

use dmtbs_cluster::config::TransportMode;
use dmtbs_proto::NodeId;
use reqwest::Method;
use serde_json::json;

use crate::harness::{Up, alive, dmtbs_bin, parent_of};

/// Runs `dmtbs chaos args…` against `up`'s run directory, with `url` and the admin key.
fn chaos(up: &Up, url: &str, args: &[&str]) -> Output {
    Command::new(dmtbs_bin())
        .arg("chaos")
        .args(args)
        .arg("--run-dir")
        .arg(&up.run_dir)
        .args(["--url", url])
        .env("DMTBS_ADMIN_KEY", up.admin_key())
        .env_remove("DMTBS_URL")
        .output()
        .expect("dmtbs runs")
}

fn text(output: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_kill_crashes_the_named_rm_and_the_supervisor_brings_it_back() {
    let up = Up::start(TransportMode::Multicast);
    let url = up.url("");
    let rm3 = NodeId::Rm(3);
    let old = up.node_pid(rm3).expect("rm 3 runs");

    // No such RM, or a run directory that is not this cluster's: an error (2), nothing killed.
    let none = tokio::task::block_in_place(|| chaos(&up, &url, &["kill", "7"]));
    assert_eq!(none.status.code(), Some(2), "{}", text(&none));
    assert!(
        String::from_utf8_lossy(&none.stderr).contains("no pid file"),
        "{}",
        text(&none)
    );
    let real_pid_file = dmtbs_cluster::rundir::pid_file(&up.run_dir, rm3);
    // A process that is not RM 3, named by a stale pid file.
    let mut stranger = Command::new("sleep").arg("60").spawn().expect("sleep runs");
    let saved = std::fs::read(&real_pid_file).expect("pid file");
    std::fs::write(&real_pid_file, format!("{}\n", stranger.id())).expect("pid file written");
    let refused = tokio::task::block_in_place(|| chaos(&up, &url, &["kill", "rm3"]));
    std::fs::write(&real_pid_file, saved).expect("pid file restored");
    let stranger_alive = stranger.try_wait().expect("wait").is_none();
    let _ = stranger.kill();
    let _ = stranger.wait();
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains(&format!("reports pid {old}")),
        "{}",
        text(&refused)
    );
    assert!(alive(old) && stranger_alive, "nothing was killed");

    // The real thing.
    let killed = tokio::task::block_in_place(|| chaos(&up, &url, &["kill", "3"]));
    assert_eq!(
        killed.status.code(),
        Some(0),
        "{}\n{}",
        text(&killed),
        up.log()
    );
    let said = String::from_utf8_lossy(&killed.stdout);
    assert!(said.contains(&format!("Killed RM 3 (pid {old}")), "{said}");
    assert!(said.contains("restarts RM 3"), "{said}");
    let new = up.wait_new_pid(rm3, old, Duration::from_secs(60)).await;
    assert_ne!(new, old);
    assert_eq!(parent_of(new), Some(up.pid()), "restarted by up");
    // The killed process is gone once the supervisor has reaped it (bounded wait).
    for _ in 0..100 {
        if !alive(old) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!alive(old), "pid {old} still alive");

    // Bookings still succeed.
    let (status, _, body) = up
        .call(
            Method::POST,
            "/v1/shows",
            "ATWA0001",
            Some(json!({"movie": "Avatar", "showId": "ATWE251126", "capacity": 10})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let (status, _, body) = up
        .call(
            Method::POST,
            "/v1/customers/ATWC0001/bookings",
            "ATWC0001",
            Some(json!({"movie": "Avatar", "showId": "ATWE251126", "tickets": 2})),
        )
        .await;
    assert_eq!((status, &body["remaining"]), (200, &json!(8)), "{body}");
}
