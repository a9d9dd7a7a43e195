//! The `Idempotency-Key` header: checked before sequencing, carried to the cluster, and the answers
//! to a replayed request (`X-DMTBS-Replayed`) and to a key reused for another request (422).

use axum::body::Body;
use axum::http::{HeaderValue, Method, Request, StatusCode};
use dmtbs_contract::{Booked, BookingError, Outcome, Success};
use dmtbs_frontend::{Replay, VotedOutcome};
use serde_json::{Value, json};
use tower::ServiceExt;

use crate::support::{FixedCluster, app, send};

const CUSTOMER: (&str, &str) = ("X-DMTBS-User", "atwc0001");
const ADMIN: (&str, &str) = ("X-DMTBS-User", "atwa1000");
const BOOK: &str = r#"{"movie": "Avatar", "showId": "ATWM251126", "tickets": 2}"#;
const BOOKINGS: &str = "/v1/customers/ATWC0001/bookings";

fn booked() -> Outcome {
    Ok(Success::Booked(Booked {
        held: 2,
        remaining: 8,
    }))
}

/// A request: method, URI, headers, body.
type Route = (
    Method,
    &'static str,
    Vec<(&'static str, &'static str)>,
    Option<&'static str>,
);

/// Every booking route.
fn booking_routes() -> Vec<Route> {
    vec![
        (
            Method::POST,
            "/v1/shows",
            vec![ADMIN],
            Some(r#"{"movie":"Titanic","showId":"ATWE261126","capacity":5}"#),
        ),
        (
            Method::DELETE,
            "/v1/shows/Titanic/ATWE261126",
            vec![ADMIN],
            None,
        ),
        (
            Method::GET,
            "/v1/movies/Avatar/availability",
            vec![CUSTOMER],
            None,
        ),
        (Method::POST, BOOKINGS, vec![CUSTOMER], Some(BOOK)),
        (Method::GET, BOOKINGS, vec![CUSTOMER], None),
        (
            Method::DELETE,
            "/v1/customers/ATWC0001/bookings/Avatar/ATWM251126?tickets=1",
            vec![CUSTOMER],
            None,
        ),
        (
            Method::POST,
            "/v1/customers/ATWC0001/exchanges",
            vec![CUSTOMER],
            Some(
                r#"{"oldMovie":"Avatar","oldShowId":"ATWM251126","newMovie":"Avatar","newShowId":"VERM261126","tickets":1}"#,
            ),
        ),
    ]
}

/// Books with `Idempotency-Key` given as raw bytes (possibly several times); the status, the
/// headers and the JSON body.
async fn book_with_key(
    app: &axum::Router,
    keys: &[&[u8]],
) -> (StatusCode, axum::http::HeaderMap, Value) {
    let mut req = Request::builder()
        .method(Method::POST)
        .uri(BOOKINGS)
        .header(CUSTOMER.0, CUSTOMER.1)
        .header("authorization", crate::support::bearer(CUSTOMER.1))
        .header("content-type", "application/json");
    for key in keys {
        req = req.header("Idempotency-Key", HeaderValue::from_bytes(key).unwrap());
    }
    let response = app
        .clone()
        .oneshot(req.body(Body::from(BOOK)).unwrap())
        .await
        .unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, headers, serde_json::from_slice(&bytes).unwrap())
}

#[tokio::test]
async fn a_malformed_key_is_400_and_nothing_is_sequenced() {
    let (app, cluster, buffer) = app(booked());
    let long = "k".repeat(129);
    let cases: Vec<(Vec<&[u8]>, &str)> = vec![
        (vec![b""], "empty"),
        (vec![b"\"\""], "empty"),
        (vec![long.as_bytes()], "129 bytes"),
        (vec![b"two words"], "a space"),
        (vec![b"tab\there"], "a tab"),
        (vec![b"caf\xc3\xa9"], "non-ASCII"),
        (vec![b"one", b"two"], "more than once"),
    ];
    for (keys, why) in cases {
        let (status, headers, body) = book_with_key(&app, &keys).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{keys:?}: {body}");
        assert_eq!(body["error"]["code"], "bad-request", "{keys:?}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("Idempotency-Key") && message.contains(why),
            "{keys:?}: {message}"
        );
        assert!(message.contains("128"), "{message}");
        assert!(!headers.contains_key("x-dmtbs-seq"));
    }
    // On every booking route.
    for (method, uri, mut headers, body) in booking_routes() {
        headers.push(("Idempotency-Key", "has space"));
        let a = send(&app, method.clone(), uri, &headers, body).await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::BAD_REQUEST, "bad-request"),
            "{method} {uri}"
        );
    }
    assert_eq!(cluster.calls(), 0, "nothing was sequenced");
    // Audited like any refusal before sequencing.
    let lines = buffer.lines();
    assert_eq!(lines[0]["outcome"], "bad-request");
    assert_eq!(lines[0]["seq"], Value::Null);
    assert!(lines[0].get("replayed").is_none(), "{}", lines[0]);
}

#[tokio::test]
async fn the_key_reaches_the_cluster_on_every_booking_route() {
    let (app, cluster, _) = app(Ok(Success::Cancelled(1)));
    for (method, uri, mut headers, body) in booking_routes() {
        headers.push(("Idempotency-Key", "8e03978e-40d5-43e8-bc93-6894a57f9324"));
        let a = send(&app, method.clone(), uri, &headers, body).await;
        assert_eq!(a.status, StatusCode::OK, "{method} {uri}: {}", a.body);
        assert_eq!(
            cluster.last_key().as_deref(),
            Some("8e03978e-40d5-43e8-bc93-6894a57f9324"),
            "{method} {uri}"
        );
        assert!(!a.headers.contains_key("x-dmtbs-replayed"));
    }
    // Without the header: no key.
    send(&app, Method::POST, BOOKINGS, &[CUSTOMER], Some(BOOK)).await;
    assert_eq!(cluster.last_key(), None);
    // The draft's quoted form is the same key; every printable character and 128 bytes are fine.
    book_with_key(&app, &[b"\"abc\""]).await;
    assert_eq!(cluster.last_key().as_deref(), Some("abc"));
    let printable: String = (0x21u8..=0x7e).map(char::from).collect();
    book_with_key(&app, &[printable.as_bytes()]).await;
    assert_eq!(cluster.last_key(), Some(printable));
    let longest = "k".repeat(128);
    book_with_key(&app, &[longest.as_bytes()]).await;
    assert_eq!(cluster.last_key(), Some(longest));
}

fn replayed(cluster: &FixedCluster, outcome: Outcome, first: u64, same_operation: bool) {
    cluster.answer(Ok(VotedOutcome {
        seq: 42,
        outcome,
        agreed: vec![1, 3],
        replay_of: Some(Replay {
            seq: first,
            same_operation,
        }),
    }));
}

#[tokio::test]
async fn a_replay_answers_as_the_first_time_with_the_replayed_header() {
    let (app, cluster, buffer) = app(booked());
    let key = [CUSTOMER, ("Idempotency-Key", "k-1")];
    let first = send(&app, Method::POST, BOOKINGS, &key, Some(BOOK)).await;
    replayed(&cluster, booked(), 7, true);
    let again = send(&app, Method::POST, BOOKINGS, &key, Some(BOOK)).await;
    assert_eq!((again.status, &again.body), (first.status, &first.body));
    assert_eq!(again.headers["x-dmtbs-replayed"], "7");
    assert_eq!(again.headers["x-dmtbs-seq"], "42", "this answer's own");
    assert_eq!(again.headers["x-dmtbs-agreed"], "1,3");

    // A refusal by the rules is replayed as such.
    replayed(&cluster, Err(BookingError::ShowFull(1)), 8, true);
    let a = send(&app, Method::POST, BOOKINGS, &key, Some(BOOK)).await;
    assert_eq!((a.status, a.code()), (StatusCode::CONFLICT, "show-full"));
    assert_eq!(a.body["error"]["details"], json!({ "remaining": 1 }));
    assert_eq!(a.headers["x-dmtbs-replayed"], "8");

    let lines = buffer.lines();
    assert!(lines[0].get("replayed").is_none(), "{}", lines[0]);
    assert_eq!(lines[1]["replayed"], 7);
    assert_eq!(lines[1]["outcome"], "booked");
    assert_eq!(lines[2]["replayed"], 8);
}

#[tokio::test]
async fn a_key_reused_for_another_request_is_422() {
    let (app, cluster, buffer) = app(booked());
    replayed(&cluster, booked(), 7, false);
    let key = [CUSTOMER, ("Idempotency-Key", "k-1")];
    let a = send(&app, Method::POST, BOOKINGS, &key, Some(BOOK)).await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "idempotency-key-reused")
    );
    let message = a.body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("different request") && message.contains("seq 7"),
        "{message}"
    );
    assert_eq!(a.body["error"]["details"], json!({ "firstSeq": 7 }));
    assert_eq!(a.headers["x-dmtbs-seq"], "42");
    assert_eq!(a.headers["x-dmtbs-replayed"], "7");
    let line = &buffer.lines()[0];
    assert_eq!(
        (&line["outcome"], &line["status"], &line["replayed"]),
        (&json!("idempotency-key-reused"), &json!(422), &json!(7))
    );
}

#[tokio::test]
async fn openapi_describes_the_key_and_the_replayed_header() {
    let (app, _, _) = app(booked());
    let doc = send(&app, Method::GET, "/openapi.json", &[], None)
        .await
        .body;
    let param = &doc["components"]["parameters"]["IdempotencyKey"];
    assert_eq!(
        (&param["name"], &param["in"]),
        (&json!("Idempotency-Key"), &json!("header"))
    );
    assert!(doc["components"]["headers"]["Replayed"]["description"].is_string());
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let takes_key = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|p| p["$ref"] == "#/components/parameters/IdempotencyKey");
            // Token management is not sequenced: no key.
            let booking = path.starts_with("/v1/")
                && !path.starts_with("/v1/admin")
                && !path.starts_with("/v1/tokens")
                && path != "/v1/status";
            assert_eq!(takes_key, booking, "{method} {path}");
            if booking {
                let ok = op["responses"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .find(|(status, _)| status.starts_with('2'))
                    .unwrap()
                    .1;
                assert!(
                    ok["headers"]["X-DMTBS-Replayed"].is_object(),
                    "{method} {path}"
                );
            }
        }
    }
}
