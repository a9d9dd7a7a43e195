//! Who may call (docs/security.md, "Who may call"): every booking request proves its user with a
//! token, checked before anything is sequenced; area admins manage their own area only; a
//! revoked token is refused by every front end of the cluster. Real HTTP through real front ends
//! of an in-process cluster.

use std::path::Path;
use std::time::{Duration, Instant};

use dmtbs_cluster::ClusterConfig;
use dmtbs_cluster::config::TransportMode;
use dmtbs_cluster::local::{LocalCluster, free_port, test_config_text};
use dmtbs_testkit::components::{self, IMPLEMENTATIONS};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::client::TODAY;

/// A cluster of the four implementations with two front ends.
async fn two_front_ends() -> LocalCluster {
    let text = test_config_text(
        &components::dir(),
        IMPLEMENTATIONS,
        TransportMode::Multicast,
        TODAY,
    )
    .expect("test configuration");
    let second = format!(
        "[[frontend]]\nid = 2\naddr = \"127.0.0.1:{}\"\nhttp = \"127.0.0.1:{}\"\n",
        free_port().expect("a port"),
        free_port().expect("a port")
    );
    let config =
        ClusterConfig::parse(&format!("{text}{second}"), Path::new("/")).expect("configuration");
    LocalCluster::start(config).await.expect("cluster starts")
}

/// One answer: status, `X-DMTBS-Seq` if any, body.
struct Answer {
    status: StatusCode,
    seq: Option<u64>,
    body: Value,
}

impl Answer {
    fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

/// Sends one request to `base` with `headers`.
async fn call(
    base: &str,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> Answer {
    let mut request = reqwest::Client::new().request(method, format!("{base}{path}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("an answer");
    let status = response.status();
    let seq = response
        .headers()
        .get("x-dmtbs-seq")
        .and_then(|v| v.to_str().ok()?.parse().ok());
    let body = response.json().await.unwrap_or(Value::Null);
    Answer { status, seq, body }
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// A token for `user` issued through the front end at `base` by whoever `issuer` (a bearer
/// value) is; the whole answer.
async fn issue(base: &str, issuer: &str, user: &str) -> Answer {
    call(
        base,
        Method::POST,
        "/v1/tokens",
        &[("Authorization", issuer)],
        Some(json!({ "user": user })),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acting_as_another_customer_without_their_token_is_refused_and_nothing_is_sequenced() {
    let cluster = crate::client::start(TransportMode::Multicast).await;
    let base = cluster.url(0);
    let mint = cluster.config.mint_tokens();
    let admin = bearer(&mint("ATWA0001").unwrap());
    let victim = bearer(&mint("ATWC1002").unwrap());
    let me = bearer(&mint("ATWC0001").unwrap());
    let show = json!({"movie": "Avatar", "showId": "ATWE251126", "capacity": 10});
    let added = call(
        &base,
        Method::POST,
        "/v1/shows",
        &[("Authorization", &admin)],
        Some(show),
    )
    .await;
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
    let book = json!({"movie": "Avatar", "showId": "ATWE251126", "tickets": 2});
    let victims = "/v1/customers/ATWC1002/bookings";
    let booked = call(
        &base,
        Method::POST,
        victims,
        &[("Authorization", &victim)],
        Some(book.clone()),
    )
    .await;
    assert_eq!(booked.status, StatusCode::OK, "{}", booked.body);
    let before = booked.seq.expect("sequenced");

    // What worked before this change: naming the victim in X-DMTBS-User.
    let named = [("X-DMTBS-User", "ATWC1002")];
    for (method, body) in [(Method::GET, None), (Method::POST, Some(book.clone()))] {
        let a = call(&base, method.clone(), victims, &named, body).await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::UNAUTHORIZED, "unauthenticated"),
            "{method}"
        );
        assert_eq!(a.seq, None);
    }
    let cancel = "/v1/customers/ATWC1002/bookings/Avatar/ATWE251126?tickets=2";
    let a = call(&base, Method::DELETE, cancel, &named, None).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    // With my own token, naming the victim: 403, whether in the header or only in the path.
    let mine_named = [("X-DMTBS-User", "ATWC1002"), ("Authorization", me.as_str())];
    let a = call(&base, Method::GET, victims, &mine_named, None).await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::FORBIDDEN, "wrong-user"),
        "{}",
        a.body
    );
    let mine = [("Authorization", me.as_str())];
    for (method, path, body) in [
        (Method::GET, victims, None),
        (Method::POST, victims, Some(book.clone())),
        (Method::DELETE, cancel, None),
    ] {
        let a = call(&base, method.clone(), path, &mine, body).await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::FORBIDDEN, "not-authorized"),
            "{method} {path}: {}",
            a.body
        );
        assert_eq!(a.seq, None, "refused before sequencing");
    }
    // A forged token (another key), an altered one, an expired one: 401.
    let other_key = dmtbs_frontend::TokenKey::from_bytes(&[0x5a; 32])
        .issue("ATWC1002", Duration::from_secs(600))
        .unwrap()
        .token;
    let mut altered = mint("ATWC1002").unwrap();
    let last = altered.pop().unwrap();
    altered.push(if last == 'A' { 'B' } else { 'A' });
    let expired = cluster
        .config
        .token_key()
        .issue_at(
            "ATWC1002",
            std::time::SystemTime::now() - Duration::from_secs(7200),
            Duration::from_secs(3600),
        )
        .unwrap()
        .token;
    for (what, token) in [
        ("forged", other_key),
        ("altered", altered),
        ("expired", expired),
    ] {
        let a = call(
            &base,
            Method::GET,
            victims,
            &[("Authorization", &bearer(&token))],
            None,
        )
        .await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::UNAUTHORIZED, "unauthenticated"),
            "{what}"
        );
        if what == "expired" {
            assert!(
                a.body["error"]["message"]
                    .as_str()
                    .unwrap()
                    .contains("expired"),
                "{}",
                a.body
            );
        }
    }

    // Nothing of the above was sequenced: the victim's next request is the very next number, and
    // the victim still holds its 2 tickets.
    let a = call(
        &base,
        Method::GET,
        victims,
        &[("Authorization", &victim)],
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.seq, Some(before + 1), "nothing was sequenced in between");
    assert_eq!(a.body["bookings"][0]["tickets"], 2, "{}", a.body);
    cluster.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_area_admin_manages_its_own_area_only() {
    let cluster = crate::client::start(TransportMode::Multicast).await;
    let base = cluster.url(0);
    let operator = bearer(&cluster.config.cluster.admin_key);
    // The operator's key bootstraps the area admins: it issues any user's token.
    let atw = issue(&base, &operator, "atwa0001").await;
    assert_eq!(atw.status, StatusCode::CREATED, "{}", atw.body);
    assert_eq!(atw.body["user"], "ATWA0001");
    let atw_admin = bearer(atw.body["token"].as_str().unwrap());
    let ver_admin = bearer(
        issue(&base, &operator, "VERA0001").await.body["token"]
            .as_str()
            .unwrap(),
    );

    let ver_show = json!({"movie": "Avatar", "showId": "VERE251126", "capacity": 10});
    let a = call(
        &base,
        Method::POST,
        "/v1/shows",
        &[("Authorization", &atw_admin)],
        Some(ver_show.clone()),
    )
    .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::FORBIDDEN, "not-authorized"),
        "{}",
        a.body
    );
    assert_eq!(a.seq, None, "refused before sequencing");
    let a = call(
        &base,
        Method::POST,
        "/v1/shows",
        &[("Authorization", &ver_admin)],
        Some(ver_show),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let a = call(
        &base,
        Method::DELETE,
        "/v1/shows/Avatar/VERE251126",
        &[("Authorization", &atw_admin)],
        None,
    )
    .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::FORBIDDEN, "not-authorized")
    );
    assert_eq!(a.seq, None);
    // Still there: VER's admin sees it through availability.
    let a = call(
        &base,
        Method::GET,
        "/v1/movies/Avatar/availability",
        &[("Authorization", &ver_admin)],
        None,
    )
    .await;
    assert_eq!(
        a.body["shows"],
        json!([{"showId": "VERE251126", "remaining": 10}])
    );

    // An ATW admin issues tokens for ATW's users only; a customer issues none; the admin key
    // books nothing.
    let a = issue(&base, &atw_admin, "ATWC0042").await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let customer = bearer(a.body["token"].as_str().unwrap());
    let a = issue(&base, &atw_admin, "VERC0001").await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::FORBIDDEN, "not-authorized")
    );
    let a = issue(&base, &atw_admin, "VERA0002").await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::FORBIDDEN, "not-authorized")
    );
    let a = issue(&base, &customer, "ATWC0043").await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::FORBIDDEN, "not-authorized")
    );
    let a = call(
        &base,
        Method::POST,
        "/v1/tokens/revocations",
        &[("Authorization", &atw_admin)],
        Some(json!({"user": "VERC0001"})),
    )
    .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::FORBIDDEN, "not-authorized")
    );
    let a = call(
        &base,
        Method::GET,
        "/v1/customers/ATWC0042/bookings",
        &[("Authorization", &operator)],
        None,
    )
    .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::UNAUTHORIZED, "unauthenticated")
    );
    let a = call(
        &base,
        Method::GET,
        "/v1/customers/ATWC0042/bookings",
        &[("Authorization", &customer)],
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    cluster.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_revoked_through_one_front_end_is_refused_by_every_front_end() {
    let cluster = two_front_ends().await;
    let (fe1, fe2) = (cluster.url(0), cluster.url(1));
    let admin = bearer(&cluster.config.mint_tokens()("ATWA0001").unwrap());
    let schedule = "/v1/customers/ATWC0007/bookings";
    let one = bearer(
        issue(&fe1, &admin, "ATWC0007").await.body["token"]
            .as_str()
            .unwrap(),
    );
    let issued = issue(&fe2, &admin, "ATWC0007").await;
    let two = bearer(issued.body["token"].as_str().unwrap());
    let two_id = issued.body["tokenId"].as_str().unwrap().to_owned();
    for fe in [&fe1, &fe2] {
        for token in [&one, &two] {
            let a = call(fe, Method::GET, schedule, &[("Authorization", token)], None).await;
            assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        }
    }
    // One token, by its ID, through front end 2.
    let a = call(
        &fe2,
        Method::POST,
        "/v1/tokens/revocations",
        &[("Authorization", &admin)],
        Some(json!({"user": "ATWC0007", "tokenId": two_id})),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let refused_everywhere = |token: String| {
        let (fe1, fe2) = (fe1.clone(), fe2.clone());
        async move {
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                let mut refused = 0;
                for fe in [&fe1, &fe2] {
                    let a = call(
                        fe,
                        Method::GET,
                        schedule,
                        &[("Authorization", &token)],
                        None,
                    )
                    .await;
                    if a.status == StatusCode::UNAUTHORIZED {
                        assert!(
                            a.body["error"]["message"]
                                .as_str()
                                .unwrap()
                                .contains("revoked"),
                            "{}",
                            a.body
                        );
                        refused += 1;
                    }
                }
                if refused == 2 {
                    return Instant::now();
                }
                assert!(
                    Instant::now() < deadline,
                    "not refused by both front ends within 10 s"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    let started = Instant::now();
    refused_everywhere(two.clone()).await;
    println!("revoked on both front ends after {:?}", started.elapsed());
    let a = call(
        &fe1,
        Method::GET,
        schedule,
        &[("Authorization", &one)],
        None,
    )
    .await;
    assert_eq!(
        a.status,
        StatusCode::OK,
        "the user's other token still works"
    );
    // Every token of the user, through front end 1.
    let a = call(
        &fe1,
        Method::POST,
        "/v1/tokens/revocations",
        &[("Authorization", &admin)],
        Some(json!({"user": "atwc0007"})),
    )
    .await;
    assert_eq!(
        (a.status, &a.body["revoked"]),
        (StatusCode::OK, &json!("all-tokens")),
        "{}",
        a.body
    );
    refused_everywhere(one).await;
    // A token issued afterwards works.
    let fresh = bearer(
        issue(&fe2, &admin, "ATWC0007").await.body["token"]
            .as_str()
            .unwrap(),
    );
    for fe in [&fe1, &fe2] {
        let a = call(
            fe,
            Method::GET,
            schedule,
            &[("Authorization", &fresh)],
            None,
        )
        .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    }
    cluster.stop().await.expect("clean stop");
}
