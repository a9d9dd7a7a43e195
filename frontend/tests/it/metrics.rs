//! `GET /metrics`: valid Prometheus text; requests counted by operation and outcome, timed;
//! the voter's counters and result latencies as the network side feeds them.

use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use dmtbs_contract::{Booked, BookingError, Outcome, Success};
use dmtbs_frontend::{ClusterError, Metrics, Voter, VoterConfig};
use dmtbs_proto::ReplicaResult;
use prometheus_parse::{Sample, Scrape, Value};

use crate::support::{app, send};

const CUSTOMER: (&str, &str) = ("X-DMTBS-User", "atwc0001");
const BOOK: &str = "/v1/customers/atwc0001/bookings";
const BODY: &str = r#"{"movie": "Avatar", "showId": "ATWM251126", "tickets": 2}"#;

fn booked() -> Outcome {
    Ok(Success::Booked(Booked {
        held: 2,
        remaining: 8,
    }))
}

fn parse(text: &str) -> Scrape {
    Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("Prometheus text format")
}

/// The sample of `metric` whose labels include all of `labels`.
fn sample<'a>(scrape: &'a Scrape, metric: &str, labels: &[(&str, &str)]) -> Option<&'a Sample> {
    scrape
        .samples
        .iter()
        .find(|s| s.metric == metric && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
}

/// A counter's (or a histogram's `_count`) value; 0 when the series does not exist.
fn value(scrape: &Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    match sample(scrape, metric, labels).map(|s| &s.value) {
        Some(Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v)) => *v,
        Some(other) => panic!("{metric}{labels:?} is not a number: {other:?}"),
        None => 0.0,
    }
}

/// How many observations a histogram holds (its `+Inf` bucket).
fn observations(scrape: &Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    match sample(scrape, metric, labels).map(|s| &s.value) {
        Some(Value::Histogram(buckets)) => buckets
            .iter()
            .find(|b| b.less_than.is_infinite())
            .map_or(0.0, |b| b.count),
        other => panic!("{metric}{labels:?} is not a histogram: {other:?}"),
    }
}

#[tokio::test]
async fn requests_are_counted_by_operation_and_outcome_and_timed() {
    let (app, cluster, _) = app(booked());
    for _ in 0..2 {
        let a = send(&app, Method::POST, BOOK, &[CUSTOMER], Some(BODY)).await;
        assert_eq!(a.status, StatusCode::OK);
    }
    cluster.set(Err(BookingError::WeeklyLimit));
    let a = send(&app, Method::POST, BOOK, &[CUSTOMER], Some(BODY)).await;
    assert_eq!(a.status, StatusCode::CONFLICT);
    // Refused before sequencing: a malformed customer.
    let a = send(
        &app,
        Method::POST,
        "/v1/customers/nobody/bookings",
        &[CUSTOMER],
        Some(BODY),
    )
    .await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    cluster.answer(Err(ClusterError::NoAgreement { seq: 9 }));
    let a = send(&app, Method::POST, BOOK, &[CUSTOMER], Some(BODY)).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    cluster.answer(Err(ClusterError::Unavailable("test".into())));
    let a = send(
        &app,
        Method::GET,
        "/v1/movies/avatar/availability",
        &[CUSTOMER],
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);

    let a = send(&app, Method::GET, "/metrics", &[], None).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(
        a.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain"),
        "{:?}",
        a.headers
    );
    let text = a.body.as_str().expect("a text answer");
    let scrape = parse(text);
    let requests = "dmtbs_fe_requests_total";
    for (labels, expected) in [
        (
            [("operation", "book"), ("outcome", "ok"), ("code", "booked")],
            2.0,
        ),
        (
            [
                ("operation", "book"),
                ("outcome", "refused"),
                ("code", "weekly-limit"),
            ],
            1.0,
        ),
        (
            [
                ("operation", "book"),
                ("outcome", "invalid"),
                ("code", "invalid-user-id"),
            ],
            1.0,
        ),
        (
            [
                ("operation", "book"),
                ("outcome", "unavailable"),
                ("code", "no-agreement"),
            ],
            1.0,
        ),
        (
            [
                ("operation", "availability"),
                ("outcome", "unavailable"),
                ("code", "unavailable"),
            ],
            1.0,
        ),
    ] {
        assert_eq!(
            value(&scrape, requests, &labels),
            expected,
            "{labels:?}\n{text}"
        );
    }
    let all: f64 = scrape
        .samples
        .iter()
        .filter(|s| s.metric == requests)
        .map(|s| match s.value {
            Value::Counter(v) => v,
            _ => 0.0,
        })
        .sum();
    assert_eq!(all, 6.0, "every answered request once:\n{text}");
    let duration = "dmtbs_fe_request_duration_seconds";
    assert_eq!(
        observations(&scrape, duration, &[("operation", "book")]),
        5.0,
        "{text}"
    );
    assert_eq!(
        observations(&scrape, duration, &[("operation", "availability")]),
        1.0,
        "{text}"
    );
    // Neither the metrics nor the other routes count as booking requests.
    let again = parse(
        send(&app, Method::GET, "/metrics", &[], None)
            .await
            .body
            .as_str()
            .unwrap(),
    );
    assert_eq!(
        value(
            &again,
            requests,
            &[("operation", "book"), ("outcome", "ok")]
        ),
        2.0
    );
}

fn result(rm: u8, seq: u64, outcome: Outcome) -> ReplicaResult {
    ReplicaResult {
        rm,
        epoch: 1,
        seq,
        request_id: seq,
        outcome,
        replay_of: None,
    }
}

#[test]
fn voter_counters_and_result_latencies_become_series() {
    let metrics = Metrics::new(&[1, 2, 3, 4]);
    let mut voter = Voter::new(VoterConfig::new(vec![1, 2, 3, 4]));
    let t0 = Instant::now();
    let ms = Duration::from_millis(1);
    // Request 1: RM 1 and 2 agree, RM 4 is wrong, RM 3 silent until the deadline.
    voter.open(1, t0);
    voter.record(result(1, 1, booked()), t0 + 2 * ms);
    voter.record(result(2, 1, booked()), t0 + 3 * ms);
    voter.record(result(4, 1, Err(BookingError::ShowFull(0))), t0 + 4 * ms);
    // A second copy of RM 2's result: ignored, counted.
    voter.record(result(2, 1, booked()), t0 + 5 * ms);
    voter.tick(t0 + Duration::from_secs(10));
    // RM 3's result after the ballot closed: late.
    voter.record(result(3, 1, booked()), t0 + Duration::from_secs(11));
    metrics.voter(voter.counters());
    let latencies = voter.take_latencies();
    assert_eq!(
        latencies,
        vec![(1, 2 * ms), (2, 3 * ms), (4, 4 * ms)],
        "one latency per counted result, from the submission"
    );
    for (rm, latency) in latencies {
        metrics.result_latency(rm, latency);
    }
    metrics.submit_retransmitted(3);
    metrics.results_wanted(2);
    metrics.operator_swap();
    // Mirroring twice does not count twice.
    metrics.voter(voter.counters());

    let text = metrics.encode();
    let scrape = parse(&text);
    let rm = |n: &'static str| [("rm", n)];
    assert_eq!(value(&scrape, "dmtbs_fe_votes_total", &[]), 1.0, "{text}");
    assert_eq!(value(&scrape, "dmtbs_fe_no_agreement_total", &[]), 0.0);
    assert_eq!(
        value(&scrape, "dmtbs_fe_disagreements_total", &rm("4")),
        1.0
    );
    assert_eq!(value(&scrape, "dmtbs_fe_silences_total", &rm("3")), 1.0);
    // Replicas that never disagreed have their series, at zero.
    assert!(sample(&scrape, "dmtbs_fe_disagreements_total", &rm("1")).is_some());
    assert_eq!(
        value(&scrape, "dmtbs_fe_disagreements_total", &rm("1")),
        0.0
    );
    for (reason, n) in [("late", 1.0), ("duplicate", 1.0), ("unknown_rm", 0.0)] {
        assert_eq!(
            value(
                &scrape,
                "dmtbs_fe_results_ignored_total",
                &[("reason", reason)]
            ),
            n,
            "{reason}"
        );
    }
    let latency = "dmtbs_fe_result_latency_seconds";
    assert_eq!(observations(&scrape, latency, &rm("1")), 1.0);
    assert_eq!(observations(&scrape, latency, &rm("4")), 1.0);
    assert_eq!(
        value(&scrape, "dmtbs_fe_submit_retransmissions_total", &[]),
        3.0
    );
    assert_eq!(value(&scrape, "dmtbs_fe_results_wanted_total", &[]), 2.0);
    assert_eq!(value(&scrape, "dmtbs_fe_operator_swaps_total", &[]), 1.0);
}
