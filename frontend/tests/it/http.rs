//! The HTTP API over an in-test cluster with fixed answers: statuses, JSON shapes, the admin key,
//! refusals before sequencing, the OpenAPI description.

use axum::http::{Method, StatusCode};
use dmtbs_contract::{
    AddShow, Book, Booked, BookingError, Cancel, DroppedBooking, Exchanged, MovedBooking,
    Operation, Outcome, ScheduledBooking, ShowRemaining, ShowRemoved, Success,
};
use dmtbs_frontend::{ClusterError, ROUTES, RawOperation};
use serde_json::{Value, json};

use crate::support::{app, bearer, send, send_raw, token};

fn booked() -> Outcome {
    Ok(Success::Booked(Booked {
        held: 2,
        remaining: 8,
    }))
}

/// A request refused before sequencing: method, URI, headers, body, status, error code.
type Refused = (
    Method,
    &'static str,
    Vec<(&'static str, &'static str)>,
    Option<&'static str>,
    StatusCode,
    &'static str,
);
/// A request that reaches the cluster: method, URI, headers, body, operation name.
type Routed = (
    Method,
    &'static str,
    Vec<(&'static str, &'static str)>,
    Option<&'static str>,
    &'static str,
);

const CUSTOMER: (&str, &str) = ("X-DMTBS-User", "atwc0001");
const ADMIN: (&str, &str) = ("X-DMTBS-User", "atwa1000");

#[tokio::test]
async fn booking_is_canonicalised_sequenced_and_answered() {
    let (app, cluster, _) = app(booked());
    let a = send(
        &app,
        Method::POST,
        "/v1/customers/atwc0001/bookings",
        &[CUSTOMER],
        Some(r#"{"movie": "avatar", "showId": "atwm251126", "tickets": 2}"#),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(
        a.body,
        json!({ "outcome": "booked", "held": 2, "remaining": 8 })
    );
    assert_eq!(a.headers["x-dmtbs-seq"], "42");
    assert_eq!(a.headers["x-dmtbs-agreed"], "1,3");
    assert_eq!(
        cluster.last(),
        Operation::Book(Book {
            actor: "ATWC0001".into(),
            customer: "ATWC0001".into(),
            movie: "Avatar".into(),
            show_id: "ATWM251126".into(),
            tickets: 2,
        })
    );
}

#[tokio::test]
async fn refusals_by_the_rules_carry_the_code_and_a_fitting_status() {
    use BookingError::*;
    let cases = [
        (WeeklyLimit, StatusCode::CONFLICT, json!({})),
        (ShowFull(3), StatusCode::CONFLICT, json!({ "remaining": 3 })),
        (
            TooManyTickets(2),
            StatusCode::CONFLICT,
            json!({ "held": 2 }),
        ),
        (SameShowOtherArea, StatusCode::CONFLICT, json!({})),
        (PastShow, StatusCode::CONFLICT, json!({})),
        (NotAuthorized, StatusCode::FORBIDDEN, json!({})),
        (ShowNotFound, StatusCode::NOT_FOUND, json!({})),
        (NotBooked, StatusCode::NOT_FOUND, json!({})),
        (OutsideWindow, StatusCode::UNPROCESSABLE_ENTITY, json!({})),
        (SameShow, StatusCode::UNPROCESSABLE_ENTITY, json!({})),
    ];
    let (app, cluster, _) = app(booked());
    for (error, status, details) in cases {
        let code = dmtbs_frontend::http::error_code(&error);
        cluster.set(Err(error));
        let a = send(
            &app,
            Method::POST,
            "/v1/customers/ATWC0001/bookings",
            &[CUSTOMER],
            Some(r#"{"movie": "Avatar", "showId": "OUTM271126", "tickets": 1}"#),
        )
        .await;
        assert_eq!(a.status, status, "{code}");
        assert_eq!(a.code(), code);
        assert_eq!(a.body["error"]["details"], details, "{code}");
        assert!(a.body["error"]["message"].as_str().unwrap().len() > 10);
        assert_eq!(a.headers["x-dmtbs-seq"], "42");
    }
    // The codes are exactly the rules' spelling.
    assert_eq!(
        dmtbs_frontend::http::error_code(&WeeklyLimit),
        "weekly-limit"
    );
    assert_eq!(dmtbs_frontend::http::error_code(&ShowFull(0)), "show-full");
}

#[tokio::test]
async fn every_booking_request_needs_the_callers_own_token() {
    let (app, cluster, _) = app(Ok(Success::ShowAdded));
    let body = Some(r#"{"movie": "Avatar", "showId": "ATWM251126", "capacity": 10}"#);
    // No token: refused, whoever the header names (customers and admins alike).
    for (uri, method, named) in [
        ("/v1/shows", Method::POST, ADMIN),
        ("/v1/customers/ATWC0001/bookings", Method::GET, CUSTOMER),
    ] {
        let no_token = send_raw(&app, method, uri, &[named], body).await;
        assert_eq!(no_token.status, StatusCode::UNAUTHORIZED, "{uri}");
        assert_eq!(no_token.code(), "unauthenticated");
        assert!(no_token.headers.contains_key("www-authenticate"));
    }
    // The cluster's admin key is the operator's, not a user's: it books nothing.
    let key = [ADMIN, ("Authorization", "Bearer s3cret-admin-key")];
    let a = send(&app, Method::POST, "/v1/shows", &key, body).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert!(
        a.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("operator API"),
        "{}",
        a.body
    );
    for bad in [
        "Bearer nope",
        "Bearer v4.local.AAAA",
        "Basic s3cret-admin-key",
        "Bearer",
    ] {
        let a = send(
            &app,
            Method::POST,
            "/v1/shows",
            &[ADMIN, ("Authorization", bad)],
            body,
        )
        .await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{bad}");
        assert_eq!(a.code(), "unauthenticated", "{bad}");
    }
    // A token acts for its own user only: another user's name in the header is 403.
    let atwc = bearer("ATWC0001");
    let a = send(
        &app,
        Method::GET,
        "/v1/customers/ATWC1002/bookings",
        &[("X-DMTBS-User", "ATWC1002"), ("Authorization", &atwc)],
        None,
    )
    .await;
    assert_eq!((a.status, a.code()), (StatusCode::FORBIDDEN, "wrong-user"));
    // Its own token, but another customer's bookings: 403 before sequencing.
    let a = send(
        &app,
        Method::GET,
        "/v1/customers/ATWC1002/bookings",
        &[("Authorization", &atwc)],
        None,
    )
    .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::FORBIDDEN, "not-authorized")
    );
    assert!(!a.headers.contains_key("x-dmtbs-seq"));
    // An admin manages its own area's shows only.
    let a = send(
        &app,
        Method::POST,
        "/v1/shows",
        &[ADMIN],
        Some(r#"{"movie": "Avatar", "showId": "VERM251126", "capacity": 10}"#),
    )
    .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::FORBIDDEN, "not-authorized")
    );
    assert_eq!(cluster.calls(), 0, "nothing unauthenticated was sequenced");

    let ok = send(&app, Method::POST, "/v1/shows", &[ADMIN], body).await;
    assert_eq!(ok.status, StatusCode::CREATED);
    assert_eq!(ok.body, json!({ "outcome": "show-added" }));
    // The token alone names the actor; the scheme in any letter case.
    let lower = format!("bearer {}", token("atwa1000"));
    let ok = send(
        &app,
        Method::POST,
        "/v1/shows",
        &[("authorization", &lower)],
        body,
    )
    .await;
    assert_eq!(ok.status, StatusCode::CREATED);
    assert_eq!(
        cluster.last(),
        Operation::AddShow(AddShow {
            actor: "ATWA1000".into(),
            movie: "Avatar".into(),
            show_id: "ATWM251126".into(),
            capacity: 10,
        })
    );
    // An admin acts for any customer, of any area.
    cluster.set(Ok(Success::Schedule(vec![])));
    let a = send(
        &app,
        Method::GET,
        "/v1/customers/VERC0001/bookings",
        &[ADMIN],
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    // A customer calling an admin operation is the rules' call.
    cluster.set(Err(BookingError::NotAuthorized));
    let a = send(&app, Method::POST, "/v1/shows", &[CUSTOMER], body).await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::FORBIDDEN, "not-authorized")
    );
    assert_eq!(a.headers["x-dmtbs-seq"], "42");
    assert_eq!(cluster.calls(), 4);
}

#[tokio::test]
async fn malformed_input_never_reaches_the_cluster() {
    let (app, cluster, _) = app(booked());
    let atwc: &'static str = bearer("ATWC0001").leak();
    let bookings = "/v1/customers/ATWC0001/bookings";
    let cases: Vec<Refused> = vec![
        // Rule codes, refused before sequencing.
        (
            Method::POST,
            bookings,
            vec![CUSTOMER],
            Some(r#"{"movie":"Avatar","showId":"ATWX251126","tickets":1}"#),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-show-id",
        ),
        (
            Method::POST,
            bookings,
            vec![CUSTOMER],
            Some(r#"{"movie":"Avatar","showId":"ATWM310226","tickets":1}"#),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-show-id",
        ),
        (
            Method::POST,
            bookings,
            vec![CUSTOMER],
            Some(r#"{"movie":"Matrix","showId":"ATWM251126","tickets":1}"#),
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown-movie",
        ),
        (
            Method::POST,
            bookings,
            vec![CUSTOMER],
            Some(r#"{"movie":"Avatar","showId":"ATWM251126","tickets":0}"#),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-tickets",
        ),
        (
            Method::POST,
            bookings,
            vec![CUSTOMER],
            Some(r#"{"movie":"Avatar","showId":"ATWM251126","tickets":-1}"#),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-tickets",
        ),
        (
            Method::POST,
            "/v1/customers/ATWZ0001/bookings",
            vec![CUSTOMER],
            Some(r#"{"movie":"Avatar","showId":"ATWM251126","tickets":1}"#),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-user-id",
        ),
        (
            Method::POST,
            bookings,
            vec![("X-DMTBS-User", "nobody"), ("Authorization", atwc)],
            Some(r#"{"movie":"Avatar","showId":"ATWM251126","tickets":1}"#),
            StatusCode::FORBIDDEN,
            "wrong-user",
        ),
        (
            Method::POST,
            "/v1/shows",
            vec![ADMIN],
            Some(r#"{"movie":"Avatar","showId":"ATWM251126","capacity":10001}"#),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-capacity",
        ),
        (
            Method::GET,
            "/v1/movies/Matrix/availability",
            vec![CUSTOMER],
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown-movie",
        ),
        (
            Method::DELETE,
            "/v1/shows/Avatar/ATWM2511",
            vec![ADMIN],
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-show-id",
        ),
        (
            Method::DELETE,
            "/v1/customers/ATWC0001/bookings/Avatar/ATWM251126?tickets=0",
            vec![CUSTOMER],
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-tickets",
        ),
        // Any query value that is not a plain integer in range is the count rule's refusal.
        (
            Method::DELETE,
            "/v1/customers/ATWC0001/bookings/Avatar/ATWM251126?tickets=two",
            vec![CUSTOMER],
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-tickets",
        ),
        (
            Method::POST,
            "/v1/customers/ATWC0001/exchanges",
            vec![CUSTOMER],
            Some(
                r#"{"oldMovie":"Avatar","oldShowId":"ATWM251126","newMovie":"Avatar","newShowId":"VERM301326","tickets":1}"#,
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-show-id",
        ),
        // Malformed HTTP: 400.
        (
            Method::POST,
            bookings,
            vec![CUSTOMER],
            Some(r#"{"movie":"Avatar","showId":"#),
            StatusCode::BAD_REQUEST,
            "bad-request",
        ),
        (
            Method::POST,
            bookings,
            vec![CUSTOMER],
            Some(r#"{"movie":"Avatar","showId":"ATWM251126"}"#),
            StatusCode::BAD_REQUEST,
            "bad-request",
        ),
        (
            Method::POST,
            bookings,
            vec![CUSTOMER],
            Some(r#"{"movie":"Avatar","showId":"ATWM251126","tickets":"2"}"#),
            StatusCode::BAD_REQUEST,
            "bad-request",
        ),
        (
            Method::POST,
            bookings,
            vec![CUSTOMER],
            Some(r#"{"movie":"Avatar","showID":"ATWM251126","tickets":2}"#),
            StatusCode::BAD_REQUEST,
            "bad-request",
        ),
        (
            Method::POST,
            bookings,
            vec![CUSTOMER],
            Some("[]"),
            StatusCode::BAD_REQUEST,
            "bad-request",
        ),
        (
            Method::POST,
            bookings,
            vec![],
            Some(r#"{"movie":"Avatar","showId":"ATWM251126","tickets":1}"#),
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
        ),
        (
            Method::DELETE,
            "/v1/customers/ATWC0001/bookings/Avatar/ATWM251126",
            vec![CUSTOMER],
            None,
            StatusCode::BAD_REQUEST,
            "bad-request",
        ),
        (
            Method::POST,
            bookings,
            vec![CUSTOMER],
            None,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
        ),
    ];
    for (method, uri, headers, body, status, code) in cases {
        let a = send(&app, method.clone(), uri, &headers, body).await;
        assert_eq!(
            (a.status, a.code()),
            (status, code),
            "{method} {uri} {body:?}: {}",
            a.body
        );
        assert!(!a.body["error"]["message"].as_str().unwrap().is_empty());
        assert!(!a.headers.contains_key("x-dmtbs-seq"));
    }
    assert_eq!(cluster.calls(), 0);
    // A malformed value names the field.
    let a = send(
        &app,
        Method::POST,
        bookings,
        &[CUSTOMER],
        Some(r#"{"movie":"Avatar","showId":"atwq251126","tickets":1}"#),
    )
    .await;
    assert_eq!(
        a.body["error"]["details"],
        json!({ "field": "showId", "value": "atwq251126" })
    );
}

#[tokio::test]
async fn every_operation_route_reaches_the_cluster_with_its_operation() {
    let (app, cluster, _) = app(Ok(Success::Cancelled(1)));
    let admin = [ADMIN];
    let calls: Vec<Routed> = vec![
        (
            Method::POST,
            "/v1/shows",
            admin.to_vec(),
            Some(r#"{"movie":"titanic","showId":"atwe261126","capacity":5}"#),
            "add-show",
        ),
        (
            Method::DELETE,
            "/v1/shows/TITANIC/atwe261126",
            admin.to_vec(),
            None,
            "remove-show",
        ),
        (
            Method::GET,
            "/v1/movies/avengers/availability",
            vec![CUSTOMER],
            None,
            "availability",
        ),
        (
            Method::POST,
            "/v1/customers/atwc0001/bookings",
            vec![CUSTOMER],
            Some(r#"{"movie":"Avatar","showId":"ATWM251126","tickets":1}"#),
            "book",
        ),
        (
            Method::GET,
            "/v1/customers/atwc0001/bookings",
            vec![CUSTOMER],
            None,
            "schedule",
        ),
        (
            Method::DELETE,
            "/v1/customers/atwc0001/bookings/avatar/atwm251126?tickets=1",
            vec![CUSTOMER],
            None,
            "cancel",
        ),
        (
            Method::POST,
            "/v1/customers/atwc0001/exchanges",
            vec![CUSTOMER],
            Some(
                r#"{"oldMovie":"Avatar","oldShowId":"ATWM251126","newMovie":"Avatar","newShowId":"VERM261126","tickets":1}"#,
            ),
            "exchange",
        ),
    ];
    for (i, (method, uri, headers, body, variant)) in calls.into_iter().enumerate() {
        let a = send(&app, method, uri, &headers, body).await;
        assert_eq!(a.status, StatusCode::OK, "{uri}: {}", a.body);
        assert_eq!(cluster.calls(), i + 1);
        assert_eq!(
            RawOperation::from_operation(&cluster.last()).1.name(),
            variant
        );
    }
    assert_eq!(
        cluster.last(),
        Operation::Exchange(dmtbs_contract::Exchange {
            actor: "ATWC0001".into(),
            customer: "ATWC0001".into(),
            old_movie: "Avatar".into(),
            old_show_id: "ATWM251126".into(),
            new_movie: "Avatar".into(),
            new_show_id: "VERM261126".into(),
            tickets: 1,
        })
    );
    let cancel = cluster.calls.lock().unwrap()[5].clone();
    assert_eq!(
        cancel,
        Operation::Cancel(Cancel {
            actor: "ATWC0001".into(),
            customer: "ATWC0001".into(),
            movie: "Avatar".into(),
            show_id: "ATWM251126".into(),
            tickets: 1,
        })
    );
}

#[tokio::test]
async fn success_values_have_clear_json_shapes() {
    let cases = [
        (
            Success::ShowUpdated(10),
            json!({ "outcome": "show-updated", "oldCapacity": 10 }),
        ),
        (
            Success::ShowRemoved(ShowRemoved {
                moved: vec![MovedBooking {
                    customer: "ATWC0001".into(),
                    to_show_id: "ATWE251126".into(),
                    tickets: 2,
                }],
                dropped: vec![DroppedBooking {
                    customer: "VERC0002".into(),
                    tickets: 1,
                }],
            }),
            json!({
                "outcome": "show-removed",
                "moved": [{ "customer": "ATWC0001", "toShowId": "ATWE251126", "tickets": 2 }],
                "dropped": [{ "customer": "VERC0002", "tickets": 1 }]
            }),
        ),
        (
            Success::Availability(vec![ShowRemaining {
                show_id: "ATWM251126".into(),
                remaining: 0,
            }]),
            json!({ "outcome": "availability", "shows": [{ "showId": "ATWM251126", "remaining": 0 }] }),
        ),
        (
            Success::Schedule(vec![ScheduledBooking {
                movie: "Avatar".into(),
                show_id: "ATWM251126".into(),
                tickets: 2,
            }]),
            json!({ "outcome": "schedule", "bookings": [{ "movie": "Avatar", "showId": "ATWM251126", "tickets": 2 }] }),
        ),
        (
            Success::Cancelled(0),
            json!({ "outcome": "cancelled", "held": 0 }),
        ),
        (
            Success::Exchanged(Exchanged {
                old_held: 0,
                new_held: 3,
            }),
            json!({ "outcome": "exchanged", "oldHeld": 0, "newHeld": 3 }),
        ),
    ];
    let (app, cluster, _) = app(booked());
    for (success, body) in cases {
        cluster.set(Ok(success));
        let a = send(
            &app,
            Method::GET,
            "/v1/customers/ATWC0001/bookings",
            &[CUSTOMER],
            None,
        )
        .await;
        assert_eq!((a.status, &a.body), (StatusCode::OK, &body));
    }
}

#[tokio::test]
async fn no_agreement_is_503_never_a_guess() {
    let (app, cluster, _) = app(booked());
    cluster.answer(Err(ClusterError::NoAgreement { seq: 77 }));
    let a = send(
        &app,
        Method::GET,
        "/v1/customers/ATWC0001/bookings",
        &[CUSTOMER],
        None,
    )
    .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::SERVICE_UNAVAILABLE, "no-agreement")
    );
    assert_eq!(a.body["error"]["details"], json!({ "seq": 77 }));
    cluster.answer(Err(ClusterError::Unavailable("sequencer silent".into())));
    let a = send(
        &app,
        Method::GET,
        "/v1/customers/ATWC0001/bookings",
        &[CUSTOMER],
        None,
    )
    .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
    );
}

#[tokio::test]
async fn health_unknown_routes_and_methods() {
    let (app, cluster, _) = app(booked());
    let a = send(&app, Method::GET, "/healthz", &[], None).await;
    assert_eq!(
        (a.status, a.body),
        (StatusCode::OK, json!({ "status": "ok" }))
    );
    let a = send(&app, Method::GET, "/v1/nothing", &[CUSTOMER], None).await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::NOT_FOUND, "no-such-route")
    );
    let a = send(&app, Method::PUT, "/v1/shows", &[CUSTOMER], None).await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed")
    );
    assert_eq!(cluster.calls(), 0);
}

/// Fills `{param}` placeholders with plausible values.
fn concrete(path: &str) -> String {
    path.replace("{movie}", "Avatar")
        .replace("{showId}", "ATWM251126")
        .replace("{customer}", "ATWC0001")
}

#[tokio::test]
async fn openapi_describes_every_route_and_only_those() {
    let (app, _, _) = app(booked());
    let a = send(&app, Method::GET, "/openapi.json", &[], None).await;
    assert_eq!(a.status, StatusCode::OK);
    let doc = a.body;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    // Every routed (method, path) is described…
    for (method, path) in ROUTES {
        let op = &paths
            .get(*path)
            .unwrap_or_else(|| panic!("{path} missing from the OpenAPI paths"))[*method];
        assert!(
            op.is_object(),
            "{method} {path} missing from the OpenAPI document"
        );
        assert!(
            op["responses"].is_object(),
            "{method} {path} has no responses"
        );
        // …and really is routed: the router does not answer "no such route" or 405.
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let r = send(&app, method.clone(), &concrete(path), &[CUSTOMER], None).await;
        assert!(
            !matches!(r.code(), "no-such-route" | "method-not-allowed"),
            "{method} {path} is not routed"
        );
        // Every path parameter of the template is declared.
        for segment in path.split('/').filter(|s| s.starts_with('{')) {
            let name = segment.trim_matches(['{', '}']);
            let declared = op["parameters"].as_array().into_iter().flatten().any(|p| {
                let p = match p["$ref"].as_str() {
                    Some(r) => &doc["components"]["parameters"][r.rsplit('/').next().unwrap()],
                    None => p,
                };
                p["name"] == name && p["in"] == "path"
            });
            assert!(declared, "{path}: parameter {name} not declared");
        }
    }
    // …and nothing else is described.
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            assert!(
                ROUTES.contains(&(method.as_str(), path.as_str())),
                "{method} {path} is described but not routed"
            );
        }
    }
    // Every $ref resolves.
    fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
        match v {
            Value::Object(m) => {
                if let Some(Value::String(r)) = m.get("$ref") {
                    out.push(r);
                }
                m.values().for_each(|v| refs(v, out));
            }
            Value::Array(a) => a.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    for r in all {
        let pointer = r.trim_start_matches('#');
        assert!(doc.pointer(pointer).is_some(), "dangling $ref {r}");
    }
}

#[tokio::test]
async fn operator_requests_tell_a_missing_admin_key_from_a_wrong_one() {
    let (app, _, _) = app(Ok(Success::Booked(Booked {
        held: 1,
        remaining: 9,
    })));
    let missing = send(&app, Method::GET, "/v1/admin/replicas", &[], None).await;
    assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
    assert!(
        missing.body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("need the cluster's admin key")),
        "{:?}",
        missing.body
    );
    let wrong = send(
        &app,
        Method::GET,
        "/v1/admin/replicas",
        &[("Authorization", "Bearer not-the-key")],
        None,
    )
    .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        wrong.body["error"]["message"], "the admin key is not valid",
        "{:?}",
        wrong.body
    );
}
