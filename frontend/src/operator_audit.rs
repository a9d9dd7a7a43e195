//! Operator and chaos actions in the audit log: every request under `/v1/admin/` that would
//! change something (any method but GET and HEAD: a swap, clearing the quarantine, dropping or
//! healing links) is one audit line — who (the `X-DMTBS-User` given, else `operator` for a caller
//! with the admin key, else nobody), which action, its parameters (path and body, values capped
//! like every echoed value), the answer's code and status. Unauthenticated attempts are written
//! too. While the audit log cannot be written, an authenticated action is refused with 503
//! `audit-unavailable` before it reaches the cluster, as booking changes are (see
//! [`AuditLog`](crate::AuditLog)).
//!
//! A layer rather than a line in each handler, so an operator route added later is audited
//! without anyone remembering to.

use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::audit::AuditRecord;
use crate::cluster::Cluster;
use crate::http::{FrontEnd, USER_HEADER, audit_unavailable};
use crate::validate;

/// The largest operator request body read: axum's own default limit, so that a body the handler
/// could read (and refuse with its own answer) is read here too; the server's `max_body_bytes`
/// (16 KiB by default) refuses larger ones before they get here.
const MAX_OPERATOR_BODY: usize = 2 * 1024 * 1024;
/// The largest answer read back for its error code (a status answer of four RMs is a few KiB).
const MAX_ANSWER: usize = 1 << 20;

/// The layer: see the module docs.
pub(crate) async fn audit_operator_actions<C: Cluster>(
    State(fe): State<Arc<FrontEnd<C>>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    if !path.starts_with("/v1/admin/") || matches!(*request.method(), Method::GET | Method::HEAD) {
        return next.run(request).await;
    }
    let authenticated = crate::operator::bearer_token(request.headers())
        .is_some_and(|t| fe.auth.admin_key().verify(t));
    let actor = match request.headers().get(USER_HEADER) {
        Some(user) => Some(validate::clip(&String::from_utf8_lossy(user.as_bytes()))),
        None => authenticated.then(|| "operator".to_owned()),
    };
    let method = request.method().clone();
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_OPERATOR_BODY).await else {
        let response = crate::http::ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body-too-large",
            format!("an operator request body is at most {MAX_OPERATOR_BODY} bytes"),
        )
        .into_response();
        return record(&fe, actor, &method, &path, Value::Null, response).await;
    };
    let parameters = body_parameters(&bytes);
    let response = if authenticated && fe.audit_log().is_failing() {
        audit_unavailable().into_response()
    } else {
        next.run(Request::from_parts(parts, Body::from(bytes)))
            .await
    };
    record(&fe, actor, &method, &path, parameters, response).await
}

/// The request body as the audit line's parameters: its JSON with every string capped, or the
/// capped text when it is not JSON.
fn body_parameters(bytes: &[u8]) -> Value {
    if bytes.is_empty() {
        return Value::Null;
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(value) => clip_value(value),
        Err(_) => Value::String(validate::clip(&String::from_utf8_lossy(bytes))),
    }
}

fn clip_value(value: Value) -> Value {
    match value {
        Value::String(s) => Value::String(validate::clip(&s)),
        Value::Array(items) => Value::Array(items.into_iter().map(clip_value).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (validate::clip(&k), clip_value(v)))
                .collect(),
        ),
        other => other,
    }
}

/// Writes the action's line and hands the answer back (its body read to find the error code).
async fn record<C: Cluster>(
    fe: &FrontEnd<C>,
    actor: Option<String>,
    method: &Method,
    path: &str,
    body: Value,
    response: Response,
) -> Response {
    let (parts, answer) = response.into_parts();
    let answer = to_bytes(answer, MAX_ANSWER).await.unwrap_or_default();
    let outcome = serde_json::from_slice::<Value>(&answer)
        .ok()
        .and_then(|v| v["error"]["code"].as_str().map(str::to_owned))
        .unwrap_or_else(|| {
            if parts.status.is_success() {
                "ok".to_owned()
            } else {
                format!("http-{}", parts.status.as_u16())
            }
        });
    let record = AuditRecord {
        time: AuditRecord::now(),
        actor,
        operation: action(method, path),
        parameters: json!({ "path": validate::clip(path), "body": body }),
        outcome,
        status: parts.status.as_u16(),
        seq: None,
        agreed: Vec::new(),
        replayed: None,
    };
    fe.audit_log().write(&record);
    fe.metrics.audit(fe.audit_log());
    Response::from_parts(parts, Body::from(answer))
}

/// The action's name in the audit log: `operator:` and the route, e.g. `operator:swap`,
/// `operator:chaos-drop`, `operator:clear-quarantine`.
fn action(method: &Method, path: &str) -> String {
    let rest = path.trim_start_matches("/v1/admin/");
    let name = match (method, rest.split('/').collect::<Vec<_>>().as_slice()) {
        (_, ["replicas", _, "swap"]) => "swap".to_owned(),
        (&Method::DELETE, ["quarantine", ..]) => "clear-quarantine".to_owned(),
        (_, ["chaos", what]) => format!("chaos-{}", validate::clip(what)),
        _ => format!(
            "{} {}",
            method.as_str().to_ascii_lowercase(),
            validate::clip(rest)
        ),
    };
    format!("operator:{name}")
}
