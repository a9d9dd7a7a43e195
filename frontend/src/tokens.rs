//! Issuing and revoking user tokens over HTTP (see [`crate::auth`] for what a token is).
//!
//! | method | path | who | what |
//! |---|---|---|---|
//! | POST | `/v1/tokens` | operator key, or an admin's token for users of its area | `{user, ttlSeconds?}` → 201 `{user, token, tokenId, issuedAt, expiresAt}` |
//! | POST | `/v1/tokens/revocations` | the same | `{user, tokenId?}`: one token, or every token of the user issued until now |
//! | GET | `/v1/admin/revocations` | operator key | the front end's revocation list |
//! | POST | `/v1/admin/revocations` | operator key | merge a list (front ends hand theirs to each other) |
//!
//! The issuer is checked before the body is read. An area admin (a token whose subject has role
//! `A`) manages the users — customers and admins — of its own area only (403 `not-authorized`
//! otherwise); a customer's token issues nothing. Every issuance and revocation is a line of the
//! audit log, naming the issuer, the user and the token ID — never the token; while the audit log
//! cannot be written, tokens are not issued (503 `audit-unavailable`) but revocations go on.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::header::CACHE_CONTROL;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::audit::AuditRecord;
use crate::auth::{Bearer, DEFAULT_TTL, MAX_TTL, Revocations, bearer, rfc3339_ms};
use crate::cluster::Cluster;
use crate::http::{ApiError, FrontEnd};
use crate::requests::body_error;
use crate::validate;

type St<C> = State<Arc<FrontEnd<C>>>;

/// Who issues or revokes.
enum Issuer {
    /// The cluster operator (the admin key): any user.
    Operator,
    /// An area admin (its canonical user ID): users of its area.
    Admin(String),
}

impl Issuer {
    fn name(&self) -> String {
        match self {
            Issuer::Operator => "operator".into(),
            Issuer::Admin(id) => id.clone(),
        }
    }
}

fn issuer<C: Cluster>(fe: &FrontEnd<C>, headers: &HeaderMap) -> Result<Issuer, ApiError> {
    let token = match bearer(headers) {
        Bearer::Missing => {
            return Err(ApiError::unauthenticated(
                "issuing and revoking tokens needs the cluster's admin key or an area admin's \
                 token: Authorization: Bearer <…>",
            ));
        }
        Bearer::Malformed => {
            return Err(ApiError::unauthenticated(
                "the Authorization header must be `Bearer <token>`",
            ));
        }
        Bearer::Token(token) => token,
    };
    if fe.auth.admin_key().verify(token) {
        return Ok(Issuer::Operator);
    }
    let credential = fe
        .auth
        .verify(token)
        .map_err(|e| ApiError::unauthenticated(&e.to_string()))?;
    if !validate::is_admin(&credential.user) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "not-authorized",
            format!(
                "{} is a customer: only admins issue and revoke tokens",
                credential.user
            ),
        ));
    }
    Ok(Issuer::Admin(credential.user))
}

/// 403 unless `issuer` may manage `user`'s tokens.
fn may_manage(issuer: &Issuer, user: &str) -> Result<(), ApiError> {
    match issuer {
        Issuer::Operator => Ok(()),
        Issuer::Admin(admin) if admin[..3] == user[..3] => Ok(()),
        Issuer::Admin(admin) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "not-authorized",
            format!(
                "{admin} is an admin of {}: it manages the tokens of {}'s users only, not {user}'s",
                &admin[..3],
                &admin[..3]
            ),
        )),
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct IssueBody {
    user: String,
    #[serde(default)]
    ttl_seconds: Option<u64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RevokeBody {
    user: String,
    #[serde(default)]
    token_id: Option<String>,
}

/// Writes the audit line of a token action and returns the answer.
fn audited<C: Cluster>(
    fe: &FrontEnd<C>,
    operation: &str,
    actor: Option<String>,
    parameters: Value,
    result: Result<(StatusCode, &'static str, Value), ApiError>,
) -> Response {
    let (response, outcome, status) = match result {
        Ok((status, outcome, body)) => {
            let mut response = (status, Json(body)).into_response();
            response
                .headers_mut()
                .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
            (response, outcome, status)
        }
        Err(e) => {
            let code = e.code();
            let response = e.into_response();
            let status = response.status();
            (response, code, status)
        }
    };
    fe.audit_log().write(&AuditRecord {
        time: AuditRecord::now(),
        actor,
        operation: operation.to_owned(),
        parameters,
        outcome: outcome.to_owned(),
        status: status.as_u16(),
        seq: None,
        agreed: Vec::new(),
        replayed: None,
    });
    response
}

/// `POST /v1/tokens`: a token for a user.
pub(crate) async fn issue<C: Cluster>(
    State(fe): St<C>,
    headers: HeaderMap,
    body: Result<Json<IssueBody>, JsonRejection>,
) -> Response {
    let issuer = match issuer(&fe, &headers) {
        Ok(issuer) => issuer,
        Err(e) => return audited(&fe, "issue-token", None, Value::Null, Err(e)),
    };
    let actor = Some(issuer.name());
    let Json(body) = match body {
        Ok(body) => body,
        Err(e) => return audited(&fe, "issue-token", actor, Value::Null, Err(body_error(e))),
    };
    let mut parameters =
        json!({ "user": validate::clip(&body.user), "ttlSeconds": body.ttl_seconds });
    let result = (|| {
        let user = validate::user_id("user", &body.user).map_err(ApiError::invalid)?;
        may_manage(&issuer, &user)?;
        // No credential is handed out unaudited (the audit log's policy). Revoking goes on:
        // shutting a door matters more than its audit line.
        if fe.audit_log().is_failing() {
            return Err(crate::http::audit_unavailable());
        }
        let ttl = match body.ttl_seconds {
            None => DEFAULT_TTL,
            Some(s) if (1..=MAX_TTL.as_secs()).contains(&s) => Duration::from_secs(s),
            Some(s) => {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid-ttl",
                    format!(
                        "ttlSeconds = {s}: a token lives from 1 s to {} s ({} days)",
                        MAX_TTL.as_secs(),
                        MAX_TTL.as_secs() / 86_400
                    ),
                ));
            }
        };
        // A token issued in the same millisecond as a revocation of all the user's tokens would
        // be void at once: issue it just after.
        if fe
            .auth
            .revocations()
            .users
            .get(&user)
            .is_some_and(|before| *before >= now_ms())
        {
            std::thread::sleep(Duration::from_millis(2));
        }
        let issued = fe.auth.token_key().issue(&user, ttl).map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal-error",
                e.to_string(),
            )
        })?;
        let c = &issued.credential;
        parameters =
            json!({ "user": user, "tokenId": c.id, "expiresAt": rfc3339_ms(c.expires_at_ms) });
        Ok((
            StatusCode::CREATED,
            "token-issued",
            json!({
                "user": c.user,
                "token": issued.token,
                "tokenId": c.id,
                "issuedAt": rfc3339_ms(c.issued_at_ms),
                "expiresAt": rfc3339_ms(c.expires_at_ms),
            }),
        ))
    })();
    audited(&fe, "issue-token", actor, parameters, result)
}

/// `POST /v1/tokens/revocations`: one token of a user, or all the tokens it holds.
pub(crate) async fn revoke<C: Cluster>(
    State(fe): St<C>,
    headers: HeaderMap,
    body: Result<Json<RevokeBody>, JsonRejection>,
) -> Response {
    let issuer = match issuer(&fe, &headers) {
        Ok(issuer) => issuer,
        Err(e) => return audited(&fe, "revoke-token", None, Value::Null, Err(e)),
    };
    let actor = Some(issuer.name());
    let Json(body) = match body {
        Ok(body) => body,
        Err(e) => return audited(&fe, "revoke-token", actor, Value::Null, Err(body_error(e))),
    };
    let parameters = json!({
        "user": validate::clip(&body.user),
        "tokenId": body.token_id.as_deref().map(validate::clip),
    });
    let result = (|| {
        let user = validate::user_id("user", &body.user).map_err(ApiError::invalid)?;
        may_manage(&issuer, &user)?;
        let now = now_ms();
        let mut entry = Revocations::default();
        let answer = match &body.token_id {
            Some(id)
                if !id.is_empty()
                    && id.len() <= 64
                    && id.bytes().all(|b| b.is_ascii_hexdigit()) =>
            {
                // The token's own expiry is not known here; no token outlives MAX_TTL.
                let until = now + MAX_TTL.as_millis() as u64;
                entry.tokens.insert(
                    Revocations::token_entry(&user, &id.to_ascii_lowercase()),
                    until,
                );
                json!({ "user": user, "tokenId": id.to_ascii_lowercase(), "revoked": "token" })
            }
            Some(id) => {
                return Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid-token-id",
                    format!(
                        "tokenId {:?} is not a token ID (hex digits, as issued)",
                        validate::clip(id)
                    ),
                ));
            }
            None => {
                entry.users.insert(user.clone(), now);
                json!({ "user": user, "revoked": "all-tokens", "issuedUntil": rfc3339_ms(now) })
            }
        };
        fe.auth.merge(&entry).map_err(|e| {
            tracing::error!(error = %e, "cannot store the revocation list");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "revocation-unavailable",
                "the revocation could not be stored, so it was not applied; try again".into(),
            )
        })?;
        Ok((StatusCode::OK, "token-revoked", answer))
    })();
    audited(&fe, "revoke-token", actor, parameters, result)
}

/// `GET /v1/admin/revocations` (operator key): this front end's revocation list.
pub(crate) async fn revocations<C: Cluster>(State(fe): St<C>, headers: HeaderMap) -> Response {
    if let Some(refusal) = crate::operator::require_key(&fe, &headers) {
        return refusal;
    }
    Json(fe.auth.revocations()).into_response()
}

/// `POST /v1/admin/revocations` (operator key): merges another front end's list into this one's.
pub(crate) async fn merge_revocations<C: Cluster>(
    State(fe): St<C>,
    headers: HeaderMap,
    body: Result<Json<Revocations>, JsonRejection>,
) -> Response {
    if let Some(refusal) = crate::operator::require_key(&fe, &headers) {
        return refusal;
    }
    let Json(list) = match body {
        Ok(body) => body,
        Err(e) => return body_error(e).into_response(),
    };
    match fe.auth.merge(&list) {
        Ok(changed) => Json(json!({ "changed": changed })).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "cannot store the revocation list");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "revocation-unavailable",
                "the revocation list could not be stored".into(),
            )
            .into_response()
        }
    }
}
