//! A booking end to end through separate node processes.

use dmtbs_cluster::config::TransportMode;
use reqwest::Method;
use serde_json::json;

use dmtbs_testkit::components::IMPLEMENTATIONS;

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn up_with_sample_shows_lets_a_newcomer_book_at_once() {
    let up = Up::start_in_with(
        Up::config_file(IMPLEMENTATIONS, TransportMode::Multicast),
        &["--sample-shows"],
    );
    // Every area, movie and slot, today (the test cluster's 2026-11-24) and the next 7 days.
    let (status, _, body) = up
        .call(
            Method::GET,
            "/v1/movies/Titanic/availability",
            "OUTC0001",
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let shows = body["shows"].as_array().expect("a list of shows");
    assert_eq!(shows.len(), 3 * 3 * 8, "{body}");
    assert!(shows.iter().all(|s| s["remaining"] == 50), "{body}");
    // No admin step needed: a customer books straight away.
    let (status, _, body) = up
        .call(
            Method::POST,
            "/v1/customers/VERC0001/bookings",
            "VERC0001",
            Some(json!({"movie": "Titanic", "showId": "VERA241126", "tickets": 3})),
        )
        .await;
    assert_eq!(
        (status, &body),
        (
            200,
            &json!({"outcome": "booked", "held": 3, "remaining": 47})
        )
    );
}
