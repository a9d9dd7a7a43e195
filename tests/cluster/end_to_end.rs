//! Every booking operation end to end through HTTP, with its error cases — over multicast, and
//! the same over unicast fan-out.

use dmtbs_cluster::config::TransportMode;
use dmtbs_testkit::build::{add_show, availability, book, cancel, exchange, remove_show, schedule};
use serde_json::json;

use crate::client::{Api, converged, start};

async fn every_operation(transport: TransportMode) {
    let cluster = start(transport).await;
    let api = Api::new(&cluster);
    let mut last_seq = 0;
    // (operation, HTTP status, error code or the success body)
    let steps = [
        (
            add_show("ATWA1000", "Avatar", "ATWM251126", 4),
            201,
            json!({"outcome": "show-added"}),
        ),
        (
            add_show("ATWA1000", "Avatar", "ATWM251126", 5),
            200,
            json!({"outcome": "show-updated", "oldCapacity": 4}),
        ),
        (
            add_show("OUTA1000", "Avatar", "OUTM251126", 9),
            201,
            json!({"outcome": "show-added"}),
        ),
        (
            add_show("ATWA1000", "Titanic", "ATWE261126", 3),
            201,
            json!({"outcome": "show-added"}),
        ),
        (
            add_show("VERA1000", "Avatar", "ATWA251126", 5),
            403,
            json!("not-authorized"),
        ),
        (
            add_show("ATWA1000", "Avatar", "ATWA031226", 5),
            422,
            json!("outside-window"),
        ),
        // Any letter case is canonicalised by the front end.
        (
            book("atwc0001", "atwc0001", "avatar", "atwm251126", 2),
            200,
            json!({"outcome": "booked", "held": 2, "remaining": 3}),
        ),
        (
            book("ATWC0001", "ATWC0001", "Avatar", "ATWM251126", 9),
            409,
            json!("show-full"),
        ),
        (
            book("ATWC0001", "ATWC0001", "Avatar", "OUTM251126", 1),
            409,
            json!("same-show-other-area"),
        ),
        (
            book("ATWC0002", "ATWC0001", "Avatar", "ATWM251126", 1),
            403,
            json!("not-authorized"),
        ),
        (
            book("ATWC0001", "ATWC0001", "Avengers", "ATWM251126", 1),
            404,
            json!("show-not-found"),
        ),
        (
            availability("VERC0003", "Avatar"),
            200,
            json!({"outcome": "availability", "shows": [
            {"showId": "ATWM251126", "remaining": 3}, {"showId": "OUTM251126", "remaining": 9}]}),
        ),
        (
            schedule("VERA1000", "ATWC0001"),
            200,
            json!({"outcome": "schedule", "bookings": [
            {"movie": "Avatar", "showId": "ATWM251126", "tickets": 2}]}),
        ),
        (
            exchange(
                "ATWC0001",
                "ATWC0001",
                ("Avatar", "ATWM251126"),
                ("Titanic", "ATWE261126"),
                1,
            ),
            200,
            json!({"outcome": "exchanged", "oldHeld": 1, "newHeld": 1}),
        ),
        (
            exchange(
                "ATWC0001",
                "ATWC0001",
                ("Titanic", "ATWE261126"),
                ("Titanic", "ATWE261126"),
                1,
            ),
            422,
            json!("same-show"),
        ),
        (
            cancel("ATWC0001", "ATWC0001", "Avatar", "ATWM251126", 5),
            409,
            json!("too-many-tickets"),
        ),
        (
            cancel("ATWC0001", "ATWC0001", "Avatar", "ATWM251126", 1),
            200,
            json!({"outcome": "cancelled", "held": 0}),
        ),
        (
            cancel("ATWC0001", "ATWC0001", "Avatar", "ATWM251126", 1),
            404,
            json!("not-booked"),
        ),
        (
            book("ATWA1000", "OUTC0001", "Titanic", "ATWE261126", 2),
            200,
            json!({"outcome": "booked", "held": 2, "remaining": 0}),
        ),
        (
            remove_show("ATWA1000", "Titanic", "ATWE261126"),
            200,
            json!({"outcome": "show-removed",
            "moved": [], "dropped": [{"customer": "ATWC0001", "tickets": 1}, {"customer": "OUTC0001", "tickets": 2}]}),
        ),
        (
            remove_show("ATWA1000", "Titanic", "ATWE261126"),
            404,
            json!("show-not-found"),
        ),
    ];
    for (i, (op, status, expected)) in steps.iter().enumerate() {
        let reply = api.call(op).await;
        assert_eq!(reply.status, *status, "step {i}: {op:?} → {reply:?}");
        match expected.as_str() {
            Some(code) => assert_eq!(reply.code(), Some(code), "step {i}: {reply:?}"),
            None => assert_eq!(reply.body, *expected, "step {i}: {reply:?}"),
        }
        // Every answer from the cluster comes with its sequence number (in order, no gaps) and
        // the two or more replicas that agreed.
        let seq = reply
            .seq
            .unwrap_or_else(|| panic!("step {i}: no sequence number: {reply:?}"));
        assert_eq!(seq, last_seq + 1, "step {i}");
        last_seq = seq;
        let agreed = reply.agreed.as_deref().unwrap_or("");
        assert!(
            agreed.split(',').count() >= 2,
            "step {i}: agreed by {agreed:?}"
        );
    }
    // Malformed input is refused by the front end and never consumes a sequence number.
    for op in [
        book("ATWC0001", "ATWC0001", "Avatar", "ATWM311126", 1),
        book("ATWC0001", "ATWCX001", "Avatar", "ATWM251126", 1),
        book("ATWC0001", "ATWC0001", "Matrix", "ATWM251126", 1),
        book("ATWC0001", "ATWC0001", "Avatar", "ATWM251126", 0),
        add_show("ATWA1000", "Avatar", "ATWM251126", 10_001),
    ] {
        let reply = api.call(&op).await;
        assert_eq!(reply.status, 422, "{op:?} → {reply:?}");
        assert_eq!(reply.seq, None);
    }
    // An admin without the cluster's admin key is refused before sequencing.
    let reply = Api::without_key(&api)
        .call(&add_show("ATWA1000", "Avatar", "ATWE251126", 5))
        .await;
    assert_eq!(reply.status, 401, "{reply:?}");
    let reply = api.call(&availability("ATWC0001", "Titanic")).await;
    assert_eq!(
        reply.seq,
        Some(last_seq + 1),
        "refused requests consumed sequence numbers"
    );
    converged(&cluster).await;
    cluster.stop().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_end_to_end_over_multicast() {
    every_operation(TransportMode::Multicast).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_end_to_end_over_unicast_fanout() {
    every_operation(TransportMode::Unicast).await;
}
