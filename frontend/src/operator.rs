//! The operator's API under `/v1/admin/` (admin key required): each replica manager's status,
//! swapping a replica's module on purpose (a rolling upgrade), and the cluster-wide quarantine.
//!
//! | method | path | what |
//! |---|---|---|
//! | GET | `/v1/admin/replicas` | every RM's status; `silent` lists RMs that did not answer |
//! | POST | `/v1/admin/replicas/{rm}/swap` | `{module}`: replace RM `rm`'s replica (202) |
//! | GET | `/v1/admin/quarantine` | the quarantined modules |
//! | DELETE | `/v1/admin/quarantine[/{module}]` | clear one (name or hash) or every quarantine |
//! | POST | `/v1/admin/chaos/drop` | `{from, to, percent}`: node `to` drops that share of `from`'s datagrams |
//! | GET | `/v1/admin/chaos` | every node's links that drop or have dropped |
//! | DELETE | `/v1/admin/chaos` | heal every link |
//!
//! The admin key is checked before anything else of the request is looked at, so a caller without
//! it learns nothing from path or body errors. A module name (a swap's `module`, a quarantine's
//! `{module}`) is 1 to [`MAX_MODULE_NAME`] letters, digits, `.`, `_` or `-`, not starting with
//! `.`: anything else is 400 `bad-request` before any replica manager is asked.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use dmtbs_proto::{Health, NodeId, QuarantineEntry, RmId, RmStatus};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::cluster::{Cluster, ClusterError, OperatorAnswer, OperatorCommand};
use crate::http::{ApiError, FrontEnd};
use crate::requests::body_error;

type St<C> = State<Arc<FrontEnd<C>>>;

/// The longest module name accepted: longer than any file stem or hash (64 hex digits) in use.
pub const MAX_MODULE_NAME: usize = 128;

/// An error answer in the API's one shape (the message cut as every error message is).
fn error(status: StatusCode, code: &'static str, message: impl Into<String>) -> Response {
    ApiError::new(status, code, message.into()).into_response()
}

/// The 400 answer when `name` is not a module name an operator may send (it names a file on the
/// replica managers' disks, so no path separators and no leading dot).
fn check_module(name: &str) -> Option<Response> {
    let bad = |why: String| {
        Some(error(
            StatusCode::BAD_REQUEST,
            "bad-request",
            format!(
                "the module name {why}: it must be 1 to {MAX_MODULE_NAME} letters, digits, `.`, \
                 `_` or `-`, not starting with `.` (e.g. replica-b, or a module's hash)"
            ),
        ))
    };
    if name.is_empty() {
        return bad("is empty".into());
    }
    if name.len() > MAX_MODULE_NAME {
        return bad(format!("is {} bytes long", name.len()));
    }
    if name.starts_with('.') {
        return bad("starts with `.`".into());
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return bad("contains a character other than letters, digits, `.`, `_` or `-`".into());
    }
    None
}

/// A body that could not be read: the size, time and content-type refusals as everywhere, any
/// other as 400 naming the shape expected.
fn operator_body_error(rejection: JsonRejection, shape: &str) -> Response {
    match rejection {
        JsonRejection::JsonDataError(_) | JsonRejection::JsonSyntaxError(_) => error(
            StatusCode::BAD_REQUEST,
            "bad-request",
            format!("the body must be {shape}: {}", rejection.body_text()),
        ),
        other => body_error(other).into_response(),
    }
}

/// The token of an `Authorization: Bearer <token>` header, if there is one.
pub(crate) fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
}

/// The refusal to send when the admin key is missing or wrong; `None` when it is right.
pub(crate) fn require_key<C: Cluster>(fe: &FrontEnd<C>, headers: &HeaderMap) -> Option<Response> {
    let token = bearer_token(headers);
    let presented = headers.contains_key(AUTHORIZATION);
    match token {
        Some(token) if fe.auth.admin_key().verify(token) => None,
        _ => {
            // Missing and wrong are told apart, as for admin booking requests: "need" for a
            // caller who sent nothing, "not valid" for one whose key is wrong.
            let mut response = error(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                match (presented, token) {
                    (false, _) => {
                        "operator requests need the cluster's admin key: Authorization: Bearer <key>"
                    }
                    (true, Some(_)) => "the admin key is not valid",
                    (true, None) => "the Authorization header must be `Bearer <admin key>`",
                },
            );
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"dmtbs\""),
            );
            Some(response)
        }
    }
}

async fn run<C: Cluster>(
    fe: &FrontEnd<C>,
    command: OperatorCommand,
) -> Result<OperatorAnswer, Box<Response>> {
    fe.cluster.operate(command).await.map_err(|e| {
        let why = match e {
            ClusterError::Unavailable(why) => why,
            other => other.to_string(),
        };
        Box::new(error(StatusCode::SERVICE_UNAVAILABLE, "unavailable", why))
    })
}

/// One RM's status as JSON.
pub fn status_json(s: &RmStatus) -> Value {
    json!({
        "rm": s.rm,
        "pid": s.pid,
        "module": s.module,
        "hash": s.hash,
        "health": match s.health {
            Health::Serving => "serving",
            Health::Recovering => "recovering",
            Health::CatchingUp => "catching-up",
            Health::Failed => "failed",
        },
        "appliedThrough": s.applied_through,
        "deliveredThrough": s.delivered_through,
        "consecutiveWrong": s.consecutive_wrong,
        "consecutiveSilent": s.consecutive_silent,
        "swaps": s.swaps,
        "lastSwapReason": s.last_swap_reason,
        "stableCheckpoint": { "seq": s.stable_checkpoint, "digest": hex::encode(s.stable_digest) },
        "ownCheckpoint": s.own_checkpoint.map(|(seq, d)| json!({ "seq": seq, "digest": hex::encode(d) })),
        "quarantine": s.quarantine.iter().map(quarantine_json).collect::<Vec<_>>(),
        "agreedDead": s.agreed_dead,
        "epoch": s.epoch,
        "durableThrough": s.durable_through,
        "commitP99Ms": s.commit_p99_micros as f64 / 1e3,
        "canary": s.canary.as_ref().map(|c| json!({
            "module": c.module,
            "compared": c.compared,
            "requests": c.spec.requests,
            "seconds": c.spec.seconds,
        })),
        "lastCanary": s.last_canary,
    })
}

fn quarantine_json(q: &QuarantineEntry) -> Value {
    json!({ "module": q.module, "hash": q.hash, "by": q.by, "reason": q.reason })
}

fn answer_json(answer: &OperatorAnswer) -> Value {
    let mut reports = answer.reports.clone();
    reports.sort_by_key(|r| r.status.rm);
    json!({
        "replicas": reports.iter().map(|r| status_json(&r.status)).collect::<Vec<_>>(),
        "silent": answer.silent,
    })
}

/// The union of the quarantine lists the RMs reported.
fn quarantine_union(answer: &OperatorAnswer) -> Value {
    let mut all: BTreeMap<&str, &QuarantineEntry> = BTreeMap::new();
    for r in &answer.reports {
        for q in &r.status.quarantine {
            all.entry(&q.hash).or_insert(q);
        }
    }
    json!({
        "quarantine": all.values().map(|q| quarantine_json(q)).collect::<Vec<_>>(),
        "silent": answer.silent,
    })
}

pub(crate) async fn replicas<C: Cluster>(State(fe): St<C>, headers: HeaderMap) -> Response {
    if let Some(r) = require_key(&fe, &headers) {
        return r;
    }
    match run(&fe, OperatorCommand::Status).await {
        Ok(answer) => Json(answer_json(&answer)).into_response(),
        Err(r) => *r,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SwapBody {
    module: String,
    /// Swap even if another RM runs the same module (N-version protection lost on purpose).
    #[serde(default)]
    force: bool,
    /// Run the module in shadow first (`{}` for the defaults); without it the swap is at once.
    #[serde(default)]
    canary: Option<CanaryBody>,
}

/// A canary's length: until `requests` agreed, or `seconds` passed.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CanaryBody {
    #[serde(default = "CanaryBody::default_requests")]
    requests: u32,
    #[serde(default = "CanaryBody::default_seconds")]
    seconds: u32,
}

impl CanaryBody {
    /// Defaults: enough requests to reach most rules of a realistic workload, and a time bound
    /// an operator waits for.
    pub(crate) const REQUESTS: u32 = 500;
    pub(crate) const SECONDS: u32 = 30;
    fn default_requests() -> u32 {
        Self::REQUESTS
    }
    fn default_seconds() -> u32 {
        Self::SECONDS
    }
}

pub(crate) async fn swap<C: Cluster>(
    State(fe): St<C>,
    headers: HeaderMap,
    rm: Result<Path<RmId>, PathRejection>,
    body: Result<Json<SwapBody>, JsonRejection>,
) -> Response {
    if let Some(r) = require_key(&fe, &headers) {
        return r;
    }
    let Ok(Path(rm)) = rm else {
        return error(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "the replica manager must be a number (e.g. /v1/admin/replicas/2/swap)",
        );
    };
    let body = match body {
        Ok(Json(body)) => body,
        Err(e) => return operator_body_error(e, "{\"module\": \"<name>\"}"),
    };
    if let Some(r) = check_module(&body.module) {
        return r;
    }
    let canary = match &body.canary {
        None => None,
        Some(c) if (1..=1_000_000).contains(&c.requests) && (1..=3_600).contains(&c.seconds) => {
            Some(dmtbs_proto::CanarySpec {
                requests: c.requests,
                seconds: c.seconds,
            })
        }
        Some(_) => {
            return error(
                StatusCode::BAD_REQUEST,
                "bad-request",
                "canary.requests must be 1..=1000000 and canary.seconds 1..=3600",
            );
        }
    };
    // What the RMs run now (asked, not remembered: a swap a moment ago counts).
    let status = match run(&fe, OperatorCommand::Status).await {
        Ok(status) => status,
        Err(r) => return *r,
    };
    // One swap in flight in the whole cluster: while another RM's canary runs, a second swap
    // (possibly of a module with the same bug) waits — two unjudged modules at once could
    // agree on a wrong answer. (The RM itself refuses a second swap on the same RM.)
    if let Some(busy) = status
        .reports
        .iter()
        .find(|r| r.status.rm != rm && r.status.canary.is_some())
    {
        return error(
            StatusCode::CONFLICT,
            "swap-refused",
            format!(
                "a canary swap is in flight on replica manager {}: one swap at a time in the \
                 cluster; try again when it has ended (`dmtbs status`)",
                busy.status.rm
            ),
        );
    }
    // The RM refuses to load a module another runs unless the operator forces it. An RM that
    // does not answer is not counted.
    let others = if body.force {
        Vec::new()
    } else {
        status
            .reports
            .iter()
            .filter(|r| r.status.rm != rm)
            .map(|r| r.status.hash.clone())
            .collect()
    };
    let answer = match run(
        &fe,
        OperatorCommand::Swap {
            rm,
            module: body.module.clone(),
            others,
            canary,
        },
    )
    .await
    {
        Ok(answer) => answer,
        Err(r) => return *r,
    };
    match answer.reports.first() {
        None if answer.silent.is_empty() => error(
            StatusCode::NOT_FOUND,
            "no-such-replica",
            format!("there is no replica manager {rm}"),
        ),
        None => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            format!("replica manager {rm} did not answer"),
        ),
        Some(report) => match &report.error {
            Some(why) => error(
                StatusCode::CONFLICT,
                "swap-refused",
                format!(
                    "replica manager {rm} refused to load {}: {why}",
                    body.module
                ),
            ),
            None => (
                StatusCode::ACCEPTED,
                Json(json!({ "replica": status_json(&report.status) })),
            )
                .into_response(),
        },
    }
}

pub(crate) async fn quarantine<C: Cluster>(State(fe): St<C>, headers: HeaderMap) -> Response {
    if let Some(r) = require_key(&fe, &headers) {
        return r;
    }
    match run(&fe, OperatorCommand::Status).await {
        Ok(answer) => Json(quarantine_union(&answer)).into_response(),
        Err(r) => *r,
    }
}

pub(crate) async fn clear_quarantine_all<C: Cluster>(
    State(fe): St<C>,
    headers: HeaderMap,
) -> Response {
    clear(&fe, &headers, None).await
}

pub(crate) async fn clear_quarantine<C: Cluster>(
    State(fe): St<C>,
    headers: HeaderMap,
    module: Result<Path<String>, PathRejection>,
) -> Response {
    if let Some(r) = require_key(&fe, &headers) {
        return r;
    }
    let module = match module {
        Ok(Path(module)) => module,
        Err(e) => return crate::requests::path_error(e).into_response(),
    };
    if let Some(r) = check_module(&module) {
        return r;
    }
    clear(&fe, &headers, Some(module)).await
}

async fn clear<C: Cluster>(
    fe: &FrontEnd<C>,
    headers: &HeaderMap,
    module: Option<String>,
) -> Response {
    if let Some(r) = require_key(fe, headers) {
        return r;
    }
    let answer = match run(
        fe,
        OperatorCommand::ClearQuarantine {
            module: module.clone(),
        },
    )
    .await
    {
        Ok(answer) => answer,
        Err(r) => return *r,
    };
    if !answer.reports.is_empty() && answer.reports.iter().all(|r| r.error.is_some()) {
        return error(
            StatusCode::NOT_FOUND,
            "not-quarantined",
            format!("{} is not quarantined", module.unwrap_or_default()),
        );
    }
    Json(quarantine_union(&answer)).into_response()
}

/// Every link of a chaos answer as JSON, with the nodes that did not answer.
fn links_json(answer: &OperatorAnswer) -> Value {
    let mut nodes = answer.nodes.clone();
    nodes.sort_by_key(|r| r.node);
    let links: Vec<Value> = nodes
        .iter()
        .flat_map(|r| {
            r.links.iter().map(|l| {
                json!({
                    "from": l.from.to_string(),
                    "to": r.node.to_string(),
                    "percent": l.percent,
                    "dropped": l.dropped,
                })
            })
        })
        .collect();
    let unanswered: Vec<String> = answer.unanswered.iter().map(|n| n.to_string()).collect();
    json!({ "links": links, "unanswered": unanswered })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DropBody {
    from: String,
    to: String,
    percent: u64,
}

/// A chaos link named in a request, checked against the cluster; why it is not valid.
fn chaos_link<C: Cluster>(
    fe: &FrontEnd<C>,
    body: &DropBody,
) -> Result<(NodeId, NodeId, u8), String> {
    let nodes = fe.cluster.nodes();
    let known = nodes
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let node = |name: &str| -> Result<NodeId, String> {
        let node: NodeId = name.parse().map_err(|e| format!("{e}"))?;
        if !nodes.contains(&node) {
            return Err(format!(
                "there is no node {node} in this cluster (nodes: {known})"
            ));
        }
        Ok(node)
    };
    let (from, to) = (node(&body.from)?, node(&body.to)?);
    if from == to {
        return Err(format!(
            "{from} does not send to itself: name two different nodes"
        ));
    }
    let percent = u8::try_from(body.percent)
        .ok()
        .filter(|p| *p <= 100)
        .ok_or_else(|| format!("percent must be 0..=100, not {}", body.percent))?;
    Ok((from, to, percent))
}

pub(crate) async fn chaos_drop<C: Cluster>(
    State(fe): St<C>,
    headers: HeaderMap,
    body: Result<Json<DropBody>, JsonRejection>,
) -> Response {
    if let Some(r) = require_key(&fe, &headers) {
        return r;
    }
    let body = match body {
        Ok(Json(body)) => body,
        Err(e) => {
            return operator_body_error(
                e,
                "{\"from\": \"<node>\", \"to\": \"<node>\", \"percent\": 0..100}",
            );
        }
    };
    let (from, to, percent) = match chaos_link(&fe, &body) {
        Ok(link) => link,
        Err(why) => return error(StatusCode::BAD_REQUEST, "bad-request", why),
    };
    let answer = match run(&fe, OperatorCommand::Drop { from, to, percent }).await {
        Ok(answer) => answer,
        Err(r) => return *r,
    };
    match answer.nodes.first() {
        None => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            format!("{to} did not answer; nothing is known to have changed"),
        ),
        Some(report) => match &report.error {
            Some(why) => error(
                StatusCode::CONFLICT,
                "chaos-refused",
                format!("{to} refused to drop {from}'s datagrams: {why}"),
            ),
            None => Json(links_json(&answer)).into_response(),
        },
    }
}

pub(crate) async fn chaos_links<C: Cluster>(State(fe): St<C>, headers: HeaderMap) -> Response {
    if let Some(r) = require_key(&fe, &headers) {
        return r;
    }
    match run(&fe, OperatorCommand::Links).await {
        Ok(answer) => Json(links_json(&answer)).into_response(),
        Err(r) => *r,
    }
}

pub(crate) async fn chaos_heal<C: Cluster>(State(fe): St<C>, headers: HeaderMap) -> Response {
    if let Some(r) = require_key(&fe, &headers) {
        return r;
    }
    match run(&fe, OperatorCommand::Heal).await {
        Ok(answer) => Json(links_json(&answer)).into_response(),
        Err(r) => *r,
    }
}
