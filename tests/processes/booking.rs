//! A booking end to end through separate node processes.

use dmtbs_cluster::config::TransportMode;
use reqwest::Method;
use serde_json::json;

use crate::harness::{Up, alive, parent_of};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_booking_succeeds_through_separate_node_processes() {
    let up = Up::start(TransportMode::Multicast);
    // Six nodes, each its own live process, each a child of `up`.
    let pids = up.node_pids();
    assert_eq!(pids.len(), 6);
    for (node, pid) in &pids {
        assert!(alive(*pid), "{node:?} (pid {pid}) is not running");
        assert_eq!(
            parent_of(*pid),
            Some(up.pid()),
            "{node:?} is not a child of up"
        );
    }
    let mut distinct: Vec<u32> = pids.iter().map(|(_, p)| *p).collect();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), 6, "{pids:?}");

    let (status, _, body) = up
        .call(
            Method::POST,
            "/v1/shows",
            "ATWA0001",
            Some(json!({"movie": "Avatar", "showId": "ATWE251126", "capacity": 50})),
        )
        .await;
    assert_eq!((status, &body), (201, &json!({"outcome": "show-added"})));
    let (status, agreed, body) = up
        .call(
            Method::POST,
            "/v1/customers/ATWC0001/bookings",
            "ATWC0001",
            Some(json!({"movie": "Avatar", "showId": "ATWE251126", "tickets": 2})),
        )
        .await;
    assert_eq!(
        (status, &body),
        (
            200,
            &json!({"outcome": "booked", "held": 2, "remaining": 48})
        )
    );
    assert!(
        agreed.as_deref().is_some_and(|a| a.split(',').count() >= 2),
        "{agreed:?}"
    );
    let (status, _, body) = up
        .call(
            Method::GET,
            "/v1/customers/ATWC0001/bookings",
            "ATWC0001",
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["bookings"],
        json!([{"movie": "Avatar", "showId": "ATWE251126", "tickets": 2}])
    );
}
