//! Bounded property tests of the body, path and query parsers and the validation behind them:
//! whatever arrives, the front end never panics and answers either a success (the request was
//! valid and reached the cluster) or an error in the JSON shape — and a refusal never reaches the
//! cluster. A few hundred cases each, so the suite stays at seconds.

use axum::http::{Method, StatusCode};
use dmtbs_contract::{Booked, Success};
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::support::{Answer, app, send};

const CASES: u32 = 300;

/// Checks one answer: a success the cluster gave, or the error shape without reaching it.
fn check(a: &Answer, calls_before: usize, calls_after: usize) -> Result<(), TestCaseError> {
    if a.status.is_success() {
        prop_assert_eq!(a.body["outcome"].as_str(), Some("booked"));
        prop_assert_eq!(calls_after, calls_before + 1);
    } else {
        let e = &a.body["error"];
        prop_assert!(
            e["code"].as_str().is_some_and(|c| !c.is_empty()),
            "{}",
            a.body
        );
        prop_assert!(
            e["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{}",
            a.body
        );
        prop_assert!(e["details"].is_object(), "{}", a.body);
        prop_assert!(a.body.to_string().len() < 2_000, "an error echoes too much");
        prop_assert_eq!(calls_after, calls_before, "a refusal reached the cluster");
        prop_assert!(
            [400, 401, 404, 405, 413, 415, 422].contains(&a.status.as_u16()),
            "status {}",
            a.status
        );
    }
    Ok(())
}

/// Runs `f` on a fresh single-threaded runtime (proptest's closures are synchronous).
fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a test runtime")
        .block_on(f)
}

fn booked() -> dmtbs_contract::Outcome {
    Ok(Success::Booked(Booked {
        held: 1,
        remaining: 1,
    }))
}

/// A JSON value of any shape, small.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(".{0,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A booking body close to the real one: the right field names, each value sometimes right,
/// sometimes any JSON; sometimes a field missing or one more.
fn near_booking_body() -> impl Strategy<Value = Value> {
    let movie = prop_oneof![
        Just(json!("Avatar")),
        Just(json!("aVaTaR")),
        "[ \t\u{a0}]?(Avatar|Titanic)[ \t\u{a0}]?".prop_map(Value::from),
        any_json()
    ];
    let show = prop_oneof![
        Just(json!("ATWM251126")),
        "[A-Za-z]{3}[MAEx][0-9]{6}".prop_map(Value::from),
        any_json()
    ];
    let tickets = prop_oneof![
        (-3i64..10_005).prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        any_json()
    ];
    (movie, show, tickets, any::<u8>(), any_json()).prop_map(|(m, s, t, shape, extra)| {
        let mut body = json!({ "movie": m, "showId": s, "tickets": t });
        match shape % 8 {
            0 => {
                body.as_object_mut().unwrap().remove("tickets");
            }
            1 => {
                body["extra"] = extra;
            }
            _ => {}
        }
        body
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn arbitrary_bytes_as_a_body(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        block_on(async {
            let (app, cluster, _) = app(booked());
            for uri in ["/v1/customers/ATWC0001/bookings", "/v1/customers/ATWC0001/exchanges"] {
                let text = String::from_utf8_lossy(&bytes);
                let before = cluster.calls();
                let a = send(&app, Method::POST, uri, &[("X-DMTBS-User", "ATWC0001")], Some(&text)).await;
                check(&a, before, cluster.calls())?;
            }
            let text = String::from_utf8_lossy(&bytes);
            let before = cluster.calls();
            let a = send(
                &app,
                Method::POST,
                "/v1/shows",
                &[("X-DMTBS-User", "ATWA0001")],
                Some(&text),
            )
            .await;
            check(&a, before, cluster.calls())
        })?;
    }

    #[test]
    fn arbitrary_json_near_a_booking(body in near_booking_body()) {
        block_on(async {
            let (app, cluster, _) = app(booked());
            let text = body.to_string();
            let a = send(
                &app,
                Method::POST,
                "/v1/customers/ATWC0001/bookings",
                &[("X-DMTBS-User", "ATWC0001")],
                Some(&text),
            )
            .await;
            check(&a, 0, cluster.calls())?;
            // Valid exactly when every field is as the rules want it.
            let valid = body.as_object().is_some_and(|o| o.len() == 3)
                && body["movie"].as_str().is_some_and(|m| m.eq_ignore_ascii_case("avatar") || m.eq_ignore_ascii_case("titanic"))
                && body["showId"].as_str().is_some_and(|s| dmtbs_frontend::validate::show_id("showId", s).is_ok())
                && body["tickets"].as_i64().is_some_and(|t| (1..=10_000).contains(&t));
            prop_assert_eq!(a.status == StatusCode::OK, valid, "{}: {}", text, a.body);
            Ok(())
        })?;
    }

    #[test]
    fn arbitrary_path_segments_and_query(
        segment in prop::collection::vec(any::<u8>(), 0..24),
        query in prop::collection::vec(any::<u8>(), 0..12),
    ) {
        block_on(async {
            let (app, cluster, _) = app(booked());
            // Percent-encode every byte, so any byte (invalid UTF-8 included) reaches the router.
            let enc = |b: &[u8]| b.iter().map(|b| format!("%{b:02X}")).collect::<String>();
            let (s, q) = (enc(&segment), enc(&query));
            for (method, uri) in [
                (Method::GET, format!("/v1/movies/{s}/availability")),
                (Method::GET, format!("/v1/customers/{s}/bookings")),
                (Method::DELETE, format!("/v1/customers/ATWC0001/bookings/Avatar/{s}?tickets={q}")),
                (Method::DELETE, format!("/v1/customers/ATWC0001/bookings/Avatar/ATWM251126?tickets={q}")),
                (Method::DELETE, format!("/v1/admin/quarantine/{s}")),
            ] {
                let before = cluster.calls();
                // The operator's routes take the admin key; booking routes ATWC0001's token.
                let headers: &[(&str, &str)] = if uri.starts_with("/v1/admin") {
                    &[("Authorization", "Bearer s3cret-admin-key")]
                } else {
                    &[("X-DMTBS-User", "ATWC0001")]
                };
                let a = send(&app, method, &uri, headers, None).await;
                if uri.starts_with("/v1/admin") {
                    // No replica managers behind the test cluster: 503 when the name is fine;
                    // an empty name is another route (404).
                    prop_assert!([400, 404, 503].contains(&a.status.as_u16()), "{}", a.status);
                    prop_assert!(a.body["error"]["code"].is_string());
                } else {
                    check(&a, before, cluster.calls())?;
                }
            }
            Ok(())
        })?;
    }
}
