//! `kill -9` of a replica manager's process: the supervisor starts a new one, the cluster keeps
//! answering meanwhile, and the new process — which starts with an empty replica — fetches the
//! sequenced history from its peers (negative acknowledgements) until its answers agree again.

use std::time::Duration;

use dmtbs_cluster::config::TransportMode;
use dmtbs_proto::NodeId;
use reqwest::Method;
use serde_json::json;

use crate::harness::{Up, alive, parent_of, signal};
use dmtbs_testkit::components::IMPLEMENTATIONS;

/// Resumes stopped processes however the test ends.
struct Resume(Vec<u32>);

impl Drop for Resume {
    fn drop(&mut self) {
        for pid in &self.0 {
            signal(*pid, libc::SIGCONT);
        }
    }
}

async fn book(up: &Up, customer: &str, tickets: u32) -> (u16, Option<String>, serde_json::Value) {
    up.call(
        Method::POST,
        &format!("/v1/customers/{customer}/bookings"),
        customer,
        Some(json!({"movie": "Avatar", "showId": "ATWE251126", "tickets": tickets})),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_replica_manager_is_restarted_and_catches_up() {
    let up = Up::start(TransportMode::Multicast);
    let (status, _, body) = up
        .call(
            Method::POST,
            "/v1/shows",
            "ATWA0001",
            Some(json!({"movie": "Avatar", "showId": "ATWE251126", "capacity": 100})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    // History the restarted replica manager will have to recover: 20 bookings.
    for i in 1..=20 {
        let (status, _, body) = book(&up, &format!("ATWC{i:04}"), 1).await;
        assert_eq!(status, 200, "{body}");
    }

    let rm2 = NodeId::Rm(2);
    let old = up.node_pid(rm2).expect("rm 2 runs");
    assert!(signal(old, libc::SIGKILL));
    // The cluster keeps answering with three replicas while rm 2 is down or restarting.
    let (status, _, body) = book(&up, "ATWC0021", 1).await;
    assert_eq!(
        (status, &body["remaining"]),
        (200, &json!(79)),
        "{body}\n{}",
        up.log()
    );
    let new = up.wait_new_pid(rm2, old, Duration::from_secs(60)).await;
    assert!(!alive(old), "the killed process is gone");
    assert_eq!(parent_of(new), Some(up.pid()), "restarted by up");
    let log = up.log();
    assert!(log.contains("node process restarted"), "{log}");

    // Leave only rm 1 and the restarted rm 2 running: every answer now needs rm 2 to agree,
    // so it must have recovered all 22 earlier requests and be executing new ones.
    let others: Vec<u32> = [NodeId::Rm(3), NodeId::Rm(4)]
        .into_iter()
        .map(|n| up.node_pid(n).expect("running"))
        .collect();
    let _resume = Resume(others.clone());
    for pid in &others {
        assert!(signal(*pid, libc::SIGSTOP));
    }
    let (status, agreed, body) = book(&up, "ATWC0001", 2).await;
    assert_eq!(
        (status, agreed.as_deref()),
        (200, Some("1,2")),
        "{body}\n{}",
        up.log()
    );
    assert_eq!(
        body,
        json!({"outcome": "booked", "held": 3, "remaining": 77})
    );
    let (status, agreed, body) = up
        .call(
            Method::GET,
            "/v1/movies/Avatar/availability",
            "VERC0001",
            None,
        )
        .await;
    assert_eq!((status, agreed.as_deref()), (200, Some("1,2")), "{body}");
    assert_eq!(
        body["shows"],
        json!([{"showId": "ATWE251126", "remaining": 77}])
    );
}

/// RM `rm`'s entry in the operator's status.
async fn rm_status(up: &Up, rm: u64) -> serde_json::Value {
    let response = up
        .http
        .get(up.url("/v1/admin/replicas"))
        .bearer_auth(up.admin_key())
        .send()
        .await
        .expect("status request");
    let body: serde_json::Value = response.json().await.expect("status JSON");
    body["replicas"]
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["rm"] == rm).cloned())
        .unwrap_or(serde_json::Value::Null)
}

/// Waits (bounded) until RM `rm` serves with `module`.
async fn serving(up: &Up, rm: u64, module: &str) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let status = rm_status(up, rm).await;
        if status["module"] == module && status["health"] == "serving" {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "rm {rm} does not serve {module}: {status}\n{}",
            up.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_swap_outlasts_the_replica_managers_restart_and_the_clusters() {
    // Its data kept in the test's folder, so it outlives the first `up` (the harness removes a
    // test configuration's usual data folder when an `Up` goes).
    let mut up = Up::start_in(crate::durability::cluster_dir());
    // RM 2 starts with replica-b, the first of its configured list; the operator swaps in C.
    serving(&up, 2, "replica-b").await;
    let response = up
        .http
        .post(up.url("/v1/admin/replicas/2/swap"))
        .bearer_auth(up.admin_key())
        // RM 3 runs replica-c too: forced (the guardrail is tested in tests/cluster/recovery.rs).
        .json(&json!({"module": "replica-c", "force": true}))
        .send()
        .await
        .expect("swap");
    assert_eq!(response.status(), 202);
    serving(&up, 2, "replica-c").await;

    // Its process dies and `up` starts a new one: it runs replica-c again, not the list's first.
    let rm2 = NodeId::Rm(2);
    let old = up.node_pid(rm2).expect("rm 2 runs");
    assert!(signal(old, libc::SIGKILL));
    up.wait_new_pid(rm2, old, Duration::from_secs(60)).await;
    serving(&up, 2, "replica-c").await;
    let (status, _, body) = up
        .call(
            Method::POST,
            "/v1/shows",
            "ATWA0001",
            Some(json!({"movie": "Avatar", "showId": "ATWE251126", "capacity": 10})),
        )
        .await;
    assert_eq!(status, 201, "{body}");

    // The whole cluster stops and starts again on its data: still replica-c.
    let status = up.signal_and_wait(libc::SIGTERM, Duration::from_secs(30));
    assert_eq!(status.code(), Some(0), "{}", up.log());
    let up = Up::start_in(up.forget_killed());
    serving(&up, 2, "replica-c").await;
    serving(&up, 1, "replica-a").await;
}

/// `[cluster] min_implementations = 3` on four RMs: one operator swap onto a module another RM
/// runs is allowed (three distinct implementations remain), a second is refused without force
/// (two would remain) — the "two bad swaps" of issue 12 cannot both happen by accident.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swaps_keep_the_configured_minimum_of_distinct_implementations() {
    let dir = Up::config_file(IMPLEMENTATIONS, TransportMode::Unicast);
    let path = dir.path().join("cluster.toml");
    let text = std::fs::read_to_string(&path).expect("cluster file");
    std::fs::write(
        &path,
        text.replacen("[cluster]\n", "[cluster]\nmin_implementations = 3\n", 1),
    )
    .expect("write cluster file");
    let up = Up::start_in(dir);
    let swap = |rm: u64| {
        up.http
            .post(up.url(&format!("/v1/admin/replicas/{rm}/swap")))
            .bearer_auth(up.admin_key())
            .json(&json!({"module": "replica-a"}))
            .send()
    };
    let response = swap(2).await.expect("swap");
    assert_eq!(response.status(), 202, "{:?}", response.text().await);
    serving(&up, 2, "replica-a").await;
    let response = swap(3).await.expect("swap");
    assert_eq!(response.status(), 409);
    let body: serde_json::Value = response.json().await.expect("json");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(
            "would run 2 distinct implementations, fewer than the cluster's minimum of 3"
        ),
        "{body}"
    );
    serving(&up, 3, "replica-c").await;
}
