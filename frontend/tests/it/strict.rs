//! Hostile and sloppy input through HTTP: nothing trimmed, one rule for every count, every error
//! in the JSON shape, sizes capped before anything is echoed, the key checked before the path,
//! module names checked, the limits of `harden` (413, 503 overloaded, 429 after failed keys).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode};
use dmtbs_contract::{Booked, Operation, Outcome, Success};
use dmtbs_frontend::{AuditLog, Cluster, ClusterError, Limits, VotedOutcome, harden};
use serde_json::Value;
use tower::ServiceExt;

use crate::support::{app, send};

const CUSTOMER: (&str, &str) = ("X-DMTBS-User", "ATWC0001");
const ADMIN: (&str, &str) = ("X-DMTBS-User", "ATWA1000");
const BEARER: (&str, &str) = ("Authorization", "Bearer s3cret-admin-key");
const BOOKINGS: &str = "/v1/customers/ATWC0001/bookings";

fn booked() -> Outcome {
    Ok(Success::Booked(Booked {
        held: 1,
        remaining: 9,
    }))
}

/// Asserts the JSON error shape: a code, a non-empty message, an object of details.
fn assert_error_shape(body: &Value, context: &str) {
    let e = &body["error"];
    assert!(
        e["code"].as_str().is_some_and(|c| !c.is_empty()),
        "{context}: {body}"
    );
    assert!(
        e["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{context}: {body}"
    );
    assert!(e["details"].is_object(), "{context}: {body}");
}

#[tokio::test]
async fn whitespace_around_ids_and_movies_is_refused_with_the_rules_code() {
    let (app, cluster, _) = app(booked());
    let body =
        |movie: &str, show: &str| format!(r#"{{"movie":"{movie}","showId":"{show}","tickets":1}}"#);
    let cases = [
        // (method, uri, actor, body, code)
        (
            Method::GET,
            "/v1/movies/%20Avatar%09/availability",
            "ATWC0001",
            None,
            "unknown-movie",
        ),
        (
            Method::GET,
            "/v1/movies/Avatar%C2%A0/availability",
            "ATWC0001",
            None,
            "unknown-movie",
        ),
        (
            Method::GET,
            "/v1/movies/%E2%80%83Avatar/availability",
            "ATWC0001",
            None,
            "unknown-movie",
        ),
        (
            Method::GET,
            "/v1/customers/ATWC0001%C2%A0/bookings",
            "ATWC0001",
            None,
            "invalid-user-id",
        ),
        (
            Method::GET,
            "/v1/customers/%09ATWC0001/bookings",
            "ATWC0001",
            None,
            "invalid-user-id",
        ),
        (
            Method::POST,
            BOOKINGS,
            "ATWC0001",
            Some(body(" Avatar", "ATWM251126")),
            "unknown-movie",
        ),
        (
            Method::POST,
            BOOKINGS,
            "ATWC0001",
            Some(body("Avatar", "ATWM251126\\t")),
            "invalid-show-id",
        ),
        (
            Method::POST,
            BOOKINGS,
            "ATWC0001",
            Some(body("Avatar\\u00a0", "ATWM251126")),
            "unknown-movie",
        ),
    ];
    for (method, uri, actor, body, code) in cases {
        let a = send(
            &app,
            method.clone(),
            uri,
            &[("X-DMTBS-User", actor)],
            body.as_deref(),
        )
        .await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::UNPROCESSABLE_ENTITY, code),
            "{method} {uri} {body:?}: {}",
            a.body
        );
    }
    assert_eq!(cluster.calls(), 0, "nothing malformed was sequenced");
    // Letter case is still canonicalised.
    let a = send(
        &app,
        Method::GET,
        "/v1/movies/aVaTaR/availability",
        &[("X-DMTBS-User", "atwc0001")],
        None,
    )
    .await;
    assert_ne!(a.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", a.body);
    assert_eq!(cluster.calls(), 1);
}

#[tokio::test]
async fn every_count_follows_one_rule_in_body_and_query() {
    let (app, cluster, _) = app(booked());
    for n in [
        "-1",
        "0",
        "10001",
        "1099511627776",
        "1.5",
        "2.0",
        "1e0",
        "1E0",
        "-0",
        "1180591620717411303424",
    ] {
        let body = format!(r#"{{"movie":"Avatar","showId":"ATWM251126","tickets":{n}}}"#);
        let a = send(&app, Method::POST, BOOKINGS, &[CUSTOMER], Some(&body)).await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid-tickets"),
            "body tickets {n}: {}",
            a.body
        );
        let add = format!(r#"{{"movie":"Avatar","showId":"ATWM251126","capacity":{n}}}"#);
        let a = send(&app, Method::POST, "/v1/shows", &[ADMIN], Some(&add)).await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid-capacity"),
            "capacity {n}: {}",
            a.body
        );
    }
    for q in [
        "-1",
        "0",
        "10001",
        "1099511627776",
        "1.5",
        "2.0",
        "1e0",
        "%2B1",
        "1%20",
        "%201",
        "01",
        "",
        "one",
    ] {
        let uri = format!("/v1/customers/ATWC0001/bookings/Avatar/ATWM251126?tickets={q}");
        let a = send(&app, Method::DELETE, &uri, &[CUSTOMER], None).await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid-tickets"),
            "query tickets={q}: {}",
            a.body
        );
    }
    assert_eq!(cluster.calls(), 0);
    // A JSON value that is not a number is a malformed body, not a count.
    for v in [r#""2""#, "null", "true", "[1]"] {
        let body = format!(r#"{{"movie":"Avatar","showId":"ATWM251126","tickets":{v}}}"#);
        let a = send(&app, Method::POST, BOOKINGS, &[CUSTOMER], Some(&body)).await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::BAD_REQUEST, "bad-request"),
            "{v}"
        );
    }
    // The plain integers in range are counts, in the body and the query.
    let body = r#"{"movie":"Avatar","showId":"ATWM251126","tickets":10000}"#;
    assert_eq!(
        send(&app, Method::POST, BOOKINGS, &[CUSTOMER], Some(body))
            .await
            .status,
        StatusCode::OK
    );
    let uri = "/v1/customers/ATWC0001/bookings/Avatar/ATWM251126?tickets=1";
    send(&app, Method::DELETE, uri, &[CUSTOMER], None).await;
    assert!(matches!(cluster.last(), Operation::Cancel(c) if c.tickets == 1));
    assert_eq!(cluster.calls(), 2);
}

#[tokio::test]
async fn huge_fields_are_never_echoed_or_logged_in_full() {
    let (app, _, audit) = app(booked());
    let huge = "A".repeat(1_900_000);
    let body = format!(r#"{{"movie":"{huge}","showId":"ATWM251126","tickets":1}}"#);
    let a = send(&app, Method::POST, BOOKINGS, &[CUSTOMER], Some(&body)).await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "unknown-movie")
    );
    let answer = a.body.to_string();
    assert!(answer.len() < 1_000, "answer of {} bytes", answer.len());
    let line = serde_json::to_string(&audit.lines()[0]).unwrap();
    assert!(line.len() < 1_000, "audit line of {} bytes", line.len());
    // serde names a value of the wrong type in its message: cut too.
    let body = format!(r#"{{"movie":"Avatar","showId":"ATWM251126","tickets":"{huge}"}}"#);
    let a = send(&app, Method::POST, BOOKINGS, &[CUSTOMER], Some(&body)).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.body.to_string().len() < 1_000);
    // An unknown field's name likewise.
    let body = format!(r#"{{"{huge}":1}}"#);
    let a = send(&app, Method::POST, BOOKINGS, &[CUSTOMER], Some(&body)).await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    assert!(a.body.to_string().len() < 1_000);
    // A huge actor header beside a token: refused, quoted clipped in the answer and the log.
    let actor = "C".repeat(60_000);
    let token = crate::support::bearer("ATWC0001");
    let a = send(
        &app,
        Method::GET,
        BOOKINGS,
        &[("X-DMTBS-User", actor.as_str()), ("Authorization", &token)],
        None,
    )
    .await;
    assert_eq!(a.code(), "wrong-user");
    assert!(a.body.to_string().len() < 1_000);
    let lines = audit.lines();
    assert!(serde_json::to_string(lines.last().unwrap()).unwrap().len() < 1_000);
}

#[tokio::test]
async fn every_error_has_the_json_shape_and_the_key_comes_before_the_path() {
    let (app, _, _) = app(booked());
    // Without the key, a broken path reveals nothing: 401 first.
    for uri in [
        "/v1/admin/quarantine/%FF",
        "/v1/admin/replicas/x/swap",
        "/v1/admin/quarantine/a%2Fb",
    ] {
        let method = if uri.ends_with("swap") {
            Method::POST
        } else {
            Method::DELETE
        };
        let a = send(&app, method, uri, &[], Some("{")).await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::UNAUTHORIZED, "unauthenticated"),
            "{uri}"
        );
        assert_error_shape(&a.body, uri);
    }
    // A booking route: the token is checked before the path.
    let a = crate::support::send_raw(
        &app,
        Method::GET,
        "/v1/customers/%FF/bookings",
        &[ADMIN],
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    // With the key, the broken path is a JSON 400.
    let cases = [
        (Method::DELETE, "/v1/admin/quarantine/%FF", vec![BEARER]),
        (Method::GET, "/v1/customers/%FF/bookings", vec![CUSTOMER]),
        (
            Method::GET,
            "/v1/movies/%FF%FE/availability",
            vec![CUSTOMER],
        ),
        (Method::DELETE, "/v1/shows/Avatar/%C0", vec![ADMIN]),
        (
            Method::DELETE,
            "/v1/customers/ATWC0001/bookings/Avatar/ATWM251126?tickets=%FF",
            vec![CUSTOMER],
        ),
    ];
    for (method, uri, headers) in cases {
        let a = send(&app, method.clone(), uri, &headers, None).await;
        assert!(a.status.is_client_error(), "{method} {uri}: {}", a.status);
        assert_error_shape(&a.body, uri);
    }
    // Routing errors, wrong methods, wrong content types: JSON too.
    for (method, uri, body) in [
        (Method::GET, "/nowhere", None),
        (Method::PATCH, "/v1/shows", None),
        (Method::POST, "/v1/admin/replicas/1/swap", Some("not json")),
    ] {
        let a = send(&app, method, uri, &[BEARER], body).await;
        assert_error_shape(&a.body, uri);
    }
}

#[tokio::test]
async fn module_names_are_checked_before_any_replica_manager_is_asked() {
    let (app, _, _) = app(booked());
    let swap = "/v1/admin/replicas/2/swap";
    let huge = "m".repeat(1_000_000);
    for name in [
        huge.as_str(),
        "",
        "../etc/passwd",
        ".hidden",
        "a b",
        "ré",
        "x/y",
    ] {
        let body = serde_json::json!({ "module": name }).to_string();
        let a = send(&app, Method::POST, swap, &[BEARER], Some(&body)).await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::BAD_REQUEST, "bad-request"),
            "{}",
            &name[..name.len().min(20)]
        );
        assert!(a.body.to_string().len() < 1_000);
    }
    let a = send(
        &app,
        Method::DELETE,
        &format!("/v1/admin/quarantine/{}", "h".repeat(200)),
        &[BEARER],
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    // A well-formed name goes on (to a cluster without replica managers: 503).
    let a = send(
        &app,
        Method::POST,
        swap,
        &[BEARER],
        Some(r#"{"module":"replica-b"}"#),
    )
    .await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{}", a.body);
}

/// `harden` over the test router, with `limits`.
fn hardened(limits: &Limits) -> (Router, Arc<crate::support::FixedCluster>) {
    let (app, cluster, _) = app(booked());
    (harden(app, limits), cluster)
}

#[tokio::test]
async fn an_oversized_body_is_413() {
    let limits = Limits::default();
    let (app, cluster) = hardened(&limits);
    let movie = "A".repeat(limits.max_body_bytes);
    let body = format!(r#"{{"movie":"{movie}","showId":"ATWM251126","tickets":1}}"#);
    let a = send(&app, Method::POST, BOOKINGS, &[CUSTOMER], Some(&body)).await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::PAYLOAD_TOO_LARGE, "body-too-large")
    );
    let body = serde_json::json!({ "module": movie }).to_string();
    let a = send(
        &app,
        Method::POST,
        "/v1/admin/replicas/1/swap",
        &[BEARER],
        Some(&body),
    )
    .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::PAYLOAD_TOO_LARGE, "body-too-large")
    );
    assert_eq!(cluster.calls(), 0);
    // Just under the limit is read (and refused by the rules).
    let movie = "A".repeat(limits.max_body_bytes - 100);
    let body = format!(r#"{{"movie":"{movie}","showId":"ATWM251126","tickets":1}}"#);
    let a = send(&app, Method::POST, BOOKINGS, &[CUSTOMER], Some(&body)).await;
    assert_eq!(a.code(), "unknown-movie");
}

/// A cluster that holds every request until released.
struct HeldCluster {
    release: tokio::sync::Semaphore,
}

impl dmtbs_frontend::Operator for HeldCluster {}

impl Cluster for HeldCluster {
    async fn execute(&self, _: Operation, _: Option<String>) -> Result<VotedOutcome, ClusterError> {
        let _ = self.release.acquire().await;
        Ok(VotedOutcome {
            seq: 1,
            outcome: booked(),
            agreed: vec![1, 2],
            replay_of: None,
        })
    }
}

#[tokio::test]
async fn requests_beyond_the_in_flight_limit_are_shed_with_503() {
    let cluster = Arc::new(HeldCluster {
        release: tokio::sync::Semaphore::new(0),
    });
    let limits = Limits {
        max_in_flight: 2,
        ..Limits::default()
    };
    let app = harden(
        dmtbs_frontend::router(cluster.clone(), crate::support::auth(), AuditLog::discard()),
        &limits,
    );
    let held: Vec<_> = (0..2)
        .map(|_| {
            let app = app.clone();
            tokio::spawn(async move { send(&app, Method::GET, BOOKINGS, &[CUSTOMER], None).await })
        })
        .collect();
    // Poll (bounded) until the third request is shed: the two are then in flight.
    let mut shed = None;
    for _ in 0..200 {
        let a = send(&app, Method::GET, "/healthz", &[], None).await;
        if a.status == StatusCode::SERVICE_UNAVAILABLE {
            shed = Some(a);
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let shed = shed.expect("a third request is shed while two are in flight");
    assert_eq!(shed.code(), "overloaded");
    assert_eq!(shed.headers["retry-after"], "1");
    cluster.release.add_permits(2);
    for h in held {
        assert_eq!(h.await.unwrap().status, StatusCode::OK);
    }
    assert_eq!(
        send(&app, Method::GET, "/healthz", &[], None).await.status,
        StatusCode::OK
    );
}

/// One request from `peer` (as `serve_with` marks it).
async fn from(app: &Router, peer: &str, headers: &[(&str, &str)], uri: &str) -> StatusCode {
    let mut req = Request::builder().method(Method::GET).uri(uri);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let mut req = req.body(Body::empty()).unwrap();
    req.extensions_mut()
        .insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
    app.clone().oneshot(req).await.unwrap().status()
}

#[tokio::test]
async fn an_address_guessing_the_key_is_held_back_with_429() {
    let limits = Limits {
        auth_failures_per_minute: 3,
        ..Limits::default()
    };
    let (app, _) = hardened(&limits);
    let wrong = [("Authorization", "Bearer guess")];
    let (a, b) = ("127.0.0.1:5000", "127.0.0.2:5000");
    for _ in 0..3 {
        assert_eq!(
            from(&app, a, &wrong, "/v1/admin/replicas").await,
            StatusCode::UNAUTHORIZED
        );
    }
    // Out of budget: even the right key waits, on any route that authenticates.
    assert_eq!(
        from(&app, a, &wrong, "/v1/admin/replicas").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        from(&app, a, &[BEARER], "/v1/admin/replicas").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        from(&app, a, &[ADMIN], BOOKINGS).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // A request presenting nothing from that address, and another address, are served.
    assert_eq!(from(&app, a, &[], "/healthz").await, StatusCode::OK);
    let token = crate::support::bearer(CUSTOMER.1);
    assert_eq!(
        from(&app, b, &[CUSTOMER, ("Authorization", &token)], BOOKINGS).await,
        StatusCode::OK
    );
    assert_eq!(
        from(&app, b, &[BEARER], "/v1/admin/replicas").await,
        StatusCode::SERVICE_UNAVAILABLE
    );
}
