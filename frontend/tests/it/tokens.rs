//! Issuing and revoking tokens through the router: who may, what the answer and the audit log
//! say (never the token), and a revoked token refused at once.

use axum::http::{Method, StatusCode};
use dmtbs_contract::Success;
use serde_json::json;

use crate::support::{KEY, app, bearer, send_raw};

const OPERATOR: &str = "Bearer s3cret-admin-key";

#[tokio::test]
async fn admins_issue_and_revoke_for_their_area_and_the_audit_log_never_holds_a_token() {
    let (app, cluster, audit) = app(Ok(Success::Schedule(vec![])));
    assert_eq!(OPERATOR, format!("Bearer {KEY}"));
    let issue = |auth: String, body: serde_json::Value| {
        let app = app.clone();
        async move {
            send_raw(
                &app,
                Method::POST,
                "/v1/tokens",
                &[("Authorization", &auth)],
                Some(&body.to_string()),
            )
            .await
        }
    };
    // The operator's key issues for anyone; the answer is not to be cached.
    let a = issue(
        OPERATOR.into(),
        json!({"user": "verc0001", "ttlSeconds": 60}),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    assert_eq!(a.headers["cache-control"], "no-store");
    assert_eq!(a.body["user"], "VERC0001");
    let token = a.body["token"].as_str().unwrap().to_owned();
    let id = a.body["tokenId"].as_str().unwrap().to_owned();
    // An area admin's token for its own area only; a customer's for nobody.
    let atw = bearer("ATWA0001");
    let a = issue(atw.clone(), json!({"user": "ATWC0002"})).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let a = issue(atw.clone(), json!({"user": "VERC0002"})).await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::FORBIDDEN, "not-authorized")
    );
    let a = issue(bearer("ATWC0001"), json!({"user": "ATWC0002"})).await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::FORBIDDEN, "not-authorized")
    );
    let a = issue("Bearer wrong".into(), json!({"user": "ATWC0002"})).await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::UNAUTHORIZED, "unauthenticated")
    );
    // Malformed: the user, the life, unknown fields.
    let a = issue(OPERATOR.into(), json!({"user": "nobody"})).await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid-user-id")
    );
    for ttl in [0, 90 * 86_400 + 1] {
        let a = issue(
            OPERATOR.into(),
            json!({"user": "ATWC0002", "ttlSeconds": ttl}),
        )
        .await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::UNPROCESSABLE_ENTITY, "invalid-ttl")
        );
    }
    let a = issue(OPERATOR.into(), json!({"user": "ATWC0002", "admin": true})).await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::BAD_REQUEST, "bad-request")
    );

    // The token works; revoked by its ID (VER's admin may; ATW's may not), it no longer does.
    let schedule = "/v1/customers/VERC0001/bookings";
    let with = format!("Bearer {token}");
    let a = send_raw(
        &app,
        Method::GET,
        schedule,
        &[("Authorization", &with)],
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    let revoke = json!({"user": "VERC0001", "tokenId": id}).to_string();
    let a = send_raw(
        &app,
        Method::POST,
        "/v1/tokens/revocations",
        &[("Authorization", &atw)],
        Some(&revoke),
    )
    .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::FORBIDDEN, "not-authorized")
    );
    let ver = bearer("VERA0001");
    let a = send_raw(
        &app,
        Method::POST,
        "/v1/tokens/revocations",
        &[("Authorization", &ver)],
        Some(&revoke),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["revoked"], "token");
    let calls = cluster.calls();
    let a = send_raw(
        &app,
        Method::GET,
        schedule,
        &[("Authorization", &with)],
        None,
    )
    .await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::UNAUTHORIZED, "unauthenticated")
    );
    assert!(
        a.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("revoked")
    );
    assert_eq!(cluster.calls(), calls, "nothing sequenced");
    // The operator's list shows it; the admin key alone reads it.
    let a = send_raw(
        &app,
        Method::GET,
        "/v1/admin/revocations",
        &[("Authorization", OPERATOR)],
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.body["tokens"].as_object().unwrap().len(), 1, "{}", a.body);
    let a = send_raw(
        &app,
        Method::GET,
        "/v1/admin/revocations",
        &[("Authorization", &ver)],
        None,
    )
    .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);

    // Every issuance and revocation is audited with its issuer — never with a token.
    let lines = audit.lines();
    let issued: Vec<_> = lines
        .iter()
        .filter(|l| l["operation"] == "issue-token")
        .collect();
    assert_eq!(issued[0]["actor"], "operator");
    assert_eq!(issued[0]["parameters"]["tokenId"], id.as_str());
    assert_eq!(issued[1]["actor"], "ATWA0001");
    let revoked: Vec<_> = lines
        .iter()
        .filter(|l| l["operation"] == "revoke-token")
        .collect();
    assert_eq!(
        revoked
            .iter()
            .map(|l| l["status"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [403, 200]
    );
    let text = serde_json::to_string(&lines).unwrap();
    assert!(!text.contains("v4.local."), "a token in the audit log");
}
