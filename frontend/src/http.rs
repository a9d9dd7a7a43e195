//! The HTTP/JSON API (axum) over a [`Cluster`].
//!
//! Every booking operation has a resource-style route ([`ROUTES`]; described for machines at
//! `GET /openapi.json`, see [`crate::openapi`]). A request goes through these steps, and the first
//! that fails decides the answer:
//!
//! 1. authentication ([`crate::auth`]) — the caller's token, `Authorization: Bearer <token>`:
//!    missing, malformed, forged, altered, expired or revoked: 401 `unauthenticated`. The token's
//!    subject is the actor; an `X-DMTBS-User` header naming anyone else: 403 `wrong-user`;
//! 2. the `Idempotency-Key` header, the body, path and query — a malformed key (see
//!    [`crate::requests`]), unreadable JSON, wrong types, missing or unknown fields: 400
//!    `bad-request`;
//! 3. validation and canonicalisation ([`crate::validate`]) — 422 with the rule's code;
//! 4. scope — a customer's token acts for that customer only, an admin's on its own area's shows
//!    only: 403 `not-authorized` (the rules' code, but before sequencing);
//! 5. the cluster — the voted outcome: a success (200, or 201 for `show-added`) or a refusal by
//!    the booking rules (403/404/409/422 with the rule's code); no agreement or no cluster: 503.
//!    While the audit log cannot be written, a request that would change something is refused
//!    here instead: 503 `audit-unavailable` (nothing executed; see [`AuditLog`]).
//!
//! Steps 1–4 happen before sequencing: a request refused there never reaches the cluster. Every
//! answered operation request is written to the audit log. Successful and rule-refused answers
//! carry `X-DMTBS-Seq` (the sequence number) and `X-DMTBS-Agreed` (the RMs that agreed, e.g.
//! `1,3`).
//!
//! A request the replicas recognised as executed before — a retry with the same
//! `Idempotency-Key` by the same actor, or the front end's own resubmission after a sequencer
//! failover — is not executed again: it is answered exactly as the first time (same status and
//! body), plus `X-DMTBS-Replayed: <the first execution's sequence number>`; `X-DMTBS-Seq` is still
//! this answer's own. A key reused for a *different* request is refused: 422
//! `idempotency-key-reused` (details `{"firstSeq": N}`), nothing executed.
//!
//! Errors have one shape: `{"error": {"code": "...", "message": "...", "details": {...}}}` —
//! every error, including those axum or a middleware produce (a last layer, [`json_errors`],
//! rewrites any other error body into it). A message quotes at most a few hundred bytes of what
//! was received ([`MAX_MESSAGE`]; values in `details` at most [`validate::MAX_ECHO`]).
//!
//! **Counts** (`capacity`, `tickets`) follow one rule in a body and in the cancel query alike: a
//! plain integer from 1 to 10000 (`-?(0|[1-9][0-9]*)`, as JSON writes integers) is a count; any
//! other JSON number (`1.5`, `2.0`, `1e0`, `2^70`) or query value (`+1`, `1 `, `01`, `abc`) is the
//! rule's 422 `invalid-capacity`/`invalid-tickets` in its place of the V step. A JSON value of
//! another type (`"2"`, `null`) is 400 `bad-request`, as is a missing field.
//!
//! **Limits** (see [`crate::server`] and `docs/security.md`): a body larger than the limit is 413
//! `body-too-large`, a body the client stops sending is 408 `request-timeout`, a request beyond
//! the in-flight limit 503 `overloaded`, an address with too many recent 401s 429
//! `too-many-attempts`.

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::header::{CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use dmtbs_contract::{BookingError, Operation, Outcome, Success};
use serde_json::{Value, json};

use crate::audit::{AuditLog, AuditRecord};
use crate::auth::{Auth, Credential};
use crate::cluster::{Cluster, ClusterError, VotedOutcome};
use crate::metrics::{Metrics, RequestOutcome};
use crate::operator::{
    chaos_drop, chaos_heal, chaos_links, clear_quarantine, clear_quarantine_all, quarantine,
    replicas, swap,
};
pub use crate::requests::IDEMPOTENCY_KEY_HEADER;
use crate::requests::{
    add_show, availability, book, cancel, exchange, idempotency_key, remove_show, schedule,
};
use crate::status::{StatusBoard, page as status_page, status};
use crate::tokens::{issue as issue_token, merge_revocations, revocations, revoke as revoke_token};
use crate::validate::{self, Invalid, RawOperation};

/// The longest error message, in bytes: messages quote what was received (a serde error names the
/// offending value), so they are cut here.
pub const MAX_MESSAGE: usize = 300;

/// The header naming the caller (a user ID, any letter case): optional; when sent it must name
/// the token's own user.
pub const USER_HEADER: &str = "x-dmtbs-user";
/// Response header: the request's sequence number.
pub const SEQ_HEADER: &str = "x-dmtbs-seq";
/// Response header: the replica managers that agreed, comma-separated.
pub const AGREED_HEADER: &str = "x-dmtbs-agreed";
/// Response header: the request was executed before, at this sequence number; the answer is that
/// first execution's.
pub const REPLAYED_HEADER: &str = "x-dmtbs-replayed";
/// The error code of a refusal: the idempotency key was used before for another request.
pub const KEY_REUSED: &str = "idempotency-key-reused";

/// What the handlers share.
pub struct FrontEnd<C> {
    /// Where validated operations go.
    pub(crate) cluster: Arc<C>,
    /// Verifies tokens and the operator's key; holds the revocation list.
    pub(crate) auth: Arc<Auth>,
    /// One line per answered request.
    audit: AuditLog,
    /// Served at `GET /metrics`; requests are counted here.
    pub(crate) metrics: Arc<Metrics>,
    /// Served at `GET /v1/status`; requests are counted here too (the page's request rate).
    pub(crate) board: Arc<StatusBoard>,
}

/// Builds the API's router: every route of [`ROUTES`], a JSON 404 for anything else and a JSON
/// 405 for a known path with another method. Its metrics and status board know of no replica
/// managers; a front end with a cluster behind it uses [`router_with`].
pub fn router<C: Cluster>(cluster: Arc<C>, auth: Arc<Auth>, audit: AuditLog) -> Router {
    router_with(
        cluster,
        auth,
        audit,
        Arc::new(Metrics::new(&[])),
        Arc::new(StatusBoard::new(Vec::new())),
    )
}

/// [`router`] serving `metrics` and `board`, which the front end driver also feeds.
pub fn router_with<C: Cluster>(
    cluster: Arc<C>,
    auth: Arc<Auth>,
    audit: AuditLog,
    metrics: Arc<Metrics>,
    board: Arc<StatusBoard>,
) -> Router {
    let fe = Arc::new(FrontEnd {
        cluster,
        auth,
        audit,
        metrics,
        board,
    });
    routes::<C>()
        .fallback(no_such_route)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(fe.clone())
        .layer(axum::middleware::map_response(json_errors))
        // Outermost, so it reads every answer in the JSON error shape.
        .layer(axum::middleware::from_fn_with_state(
            fe,
            crate::operator_audit::audit_operator_actions::<C>,
        ))
}

/// Rewrites any error answer that is not JSON (axum's own rejections, a middleware's bare status)
/// into the API's error shape, with its text (cut to [`MAX_MESSAGE`]) as the message.
pub async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let json = response
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || json {
        return response;
    }
    let (parts, body) = response.into_parts();
    // Such bodies are short texts made by axum or a layer; anything unreadable is left out.
    let text = axum::body::to_bytes(body, 4 * MAX_MESSAGE)
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let message = match text.trim() {
        "" => status.canonical_reason().unwrap_or("error").to_lowercase(),
        text => text.to_owned(),
    };
    let mut api = ApiError::new(status, status_code_name(status), message).into_response();
    for (name, value) in &parts.headers {
        if name != CONTENT_TYPE && name != axum::http::header::CONTENT_LENGTH {
            api.headers_mut().insert(name, value.clone());
        }
    }
    api
}

/// The error code for a status when nothing more precise is known.
fn status_code_name(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST => "bad-request",
        StatusCode::UNAUTHORIZED => "unauthenticated",
        StatusCode::NOT_FOUND => "no-such-route",
        StatusCode::METHOD_NOT_ALLOWED => "method-not-allowed",
        StatusCode::REQUEST_TIMEOUT => "request-timeout",
        StatusCode::PAYLOAD_TOO_LARGE => "body-too-large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported-media-type",
        StatusCode::TOO_MANY_REQUESTS => "too-many-attempts",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        s if s.is_client_error() => "bad-request",
        _ => "internal-error",
    }
}

/// Declares the routes once: the [`ROUTES`] table and the router are both built from this list,
/// so the OpenAPI test checks what is really routed.
macro_rules! routes {
    ($($method:ident $path:literal => $handler:ident,)*) => {
        /// Every route of the API as (lower-case method, path in OpenAPI/axum template syntax).
        pub const ROUTES: &[(&str, &str)] = &[$((stringify!($method), $path),)*];

        fn routes<C: Cluster>() -> Router<Arc<FrontEnd<C>>> {
            Router::new()$(.route($path, axum::routing::$method($handler::<C>)))*
        }
    };
}

routes! {
    get "/" => root,
    get "/healthz" => healthz,
    get "/openapi.json" => openapi,
    get "/metrics" => metrics,
    get "/status" => status_page,
    get "/v1/status" => status,
    post "/v1/shows" => add_show,
    delete "/v1/shows/{movie}/{showId}" => remove_show,
    get "/v1/movies/{movie}/availability" => availability,
    post "/v1/customers/{customer}/bookings" => book,
    get "/v1/customers/{customer}/bookings" => schedule,
    delete "/v1/customers/{customer}/bookings/{movie}/{showId}" => cancel,
    post "/v1/customers/{customer}/exchanges" => exchange,
    post "/v1/tokens" => issue_token,
    post "/v1/tokens/revocations" => revoke_token,
    get "/v1/admin/revocations" => revocations,
    post "/v1/admin/revocations" => merge_revocations,
    get "/v1/admin/replicas" => replicas,
    post "/v1/admin/replicas/{rm}/swap" => swap,
    get "/v1/admin/quarantine" => quarantine,
    delete "/v1/admin/quarantine" => clear_quarantine_all,
    delete "/v1/admin/quarantine/{module}" => clear_quarantine,
    post "/v1/admin/chaos/drop" => chaos_drop,
    get "/v1/admin/chaos" => chaos_links,
    delete "/v1/admin/chaos" => chaos_heal,
}

type St<C> = State<Arc<FrontEnd<C>>>;

async fn healthz<C: Cluster>(State(_): St<C>) -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

async fn openapi<C: Cluster>(State(_): St<C>) -> Json<Value> {
    Json(crate::openapi::document())
}

/// `GET /`: a person opening the front end's address lands on the status page.
async fn root<C: Cluster>(State(_): St<C>) -> Redirect {
    Redirect::to("/status")
}

/// `GET /metrics`: the Prometheus text format.
async fn metrics<C: Cluster>(State(fe): St<C>) -> Response {
    (
        [(CONTENT_TYPE, dmtbs_metrics::CONTENT_TYPE)],
        fe.metrics.encode(),
    )
        .into_response()
}

async fn no_such_route() -> Response {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "no-such-route",
        "no such route; see GET /openapi.json".into(),
    )
    .into_response()
}

async fn method_not_allowed() -> Response {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        "this route does not take that method; see GET /openapi.json".into(),
    )
    .into_response()
}

/// A refusal by the front end itself or by the booking rules, as the JSON error shape.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    details: Value,
    /// Add `WWW-Authenticate: Bearer` (401 answers).
    challenge: bool,
}

impl ApiError {
    /// An error answer; `message` is cut to [`MAX_MESSAGE`] bytes.
    pub(crate) fn new(status: StatusCode, code: &'static str, mut message: String) -> Self {
        if message.len() > MAX_MESSAGE {
            let mut end = MAX_MESSAGE;
            while !message.is_char_boundary(end) {
                end -= 1;
            }
            message.truncate(end);
            message.push_str("… (cut)");
        }
        ApiError {
            status,
            code,
            message,
            details: json!({}),
            challenge: false,
        }
    }

    /// The error code.
    pub(crate) fn code(&self) -> &'static str {
        self.code
    }

    pub(crate) fn invalid(invalid: Invalid) -> Self {
        let mut e = ApiError::new(
            error_status(&invalid.error),
            error_code(&invalid.error),
            invalid.to_string(),
        );
        e.details = json!({ "field": invalid.field, "value": invalid.value });
        e
    }

    pub(crate) fn unauthenticated(message: &str) -> Self {
        let mut e = ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", message.into());
        e.challenge = true;
        e
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({
            "error": { "code": self.code, "message": self.message, "details": self.details }
        });
        let mut response = (self.status, Json(body)).into_response();
        if self.challenge {
            response.headers_mut().insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"dmtbs\""),
            );
        }
        response
    }
}

/// Whether `op` changes the theatres' books (everything but the reads).
fn changes_something(op: &Operation) -> bool {
    !matches!(op, Operation::Availability(_) | Operation::Schedule(_))
}

/// The error code of a change refused because the audit log cannot be written.
pub const AUDIT_UNAVAILABLE: &str = "audit-unavailable";

/// 503 `audit-unavailable`: the change was not executed (see [`AuditLog`]).
pub(crate) fn audit_unavailable() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        AUDIT_UNAVAILABLE,
        "the audit log cannot be written, and nothing is changed unaudited: this request was not \
         executed; try again once the audit log is writable (reads are still answered)"
            .into(),
    )
}

/// What the audit line records about the request besides the answer.
struct Subject {
    actor: Option<String>,
    parameters: Value,
}

impl<C: Cluster> FrontEnd<C> {
    /// The steps of the module docs, then the audit line.
    pub(crate) async fn handle(
        &self,
        operation: &'static str,
        headers: &HeaderMap,
        raw: Result<RawOperation, ApiError>,
    ) -> Response {
        let started = Instant::now();
        let mut subject = Subject {
            actor: headers
                .get(USER_HEADER)
                .map(|v| validate::clip(&String::from_utf8_lossy(v.as_bytes()))),
            parameters: raw
                .as_ref()
                .map(|r| serde_json::to_value(r.clipped()).unwrap_or(Value::Null))
                .unwrap_or(Value::Null),
        };
        let mut replayed = None;
        let (response, outcome, seq, agreed, class) = match self.prepare(headers, raw, &mut subject)
        {
            Err(e) => {
                let code = e.code;
                let class = RequestOutcome::Invalid;
                (e.into_response(), code.to_owned(), None, Vec::new(), class)
            }
            // Nothing is changed unaudited: while the audit log cannot be written, requests
            // that would change something are refused (reads go on). See `AuditLog`.
            Ok((op, _)) if changes_something(&op) && self.audit.is_failing() => {
                let e = audit_unavailable();
                let code = e.code;
                (
                    e.into_response(),
                    code.to_owned(),
                    None,
                    Vec::new(),
                    RequestOutcome::Unavailable,
                )
            }
            Ok((op, key)) => match self.cluster.execute(op, key).await {
                Ok(voted) => {
                    let reused = voted.replay_of.is_some_and(|r| !r.same_operation);
                    let label = match &voted.outcome {
                        _ if reused => KEY_REUSED,
                        outcome => outcome_label(outcome),
                    };
                    let class = match voted.outcome {
                        // Sequenced, but refused by the front end: nothing was executed.
                        _ if reused => RequestOutcome::Invalid,
                        Ok(_) => RequestOutcome::Ok,
                        Err(_) => RequestOutcome::Refused,
                    };
                    replayed = voted.replay_of.map(|r| r.seq);
                    let (seq, agreed) = (voted.seq, voted.agreed.clone());
                    (
                        voted_response(voted),
                        label.to_owned(),
                        Some(seq),
                        agreed,
                        class,
                    )
                }
                Err(e) => {
                    let seq = match &e {
                        ClusterError::NoAgreement { seq } => Some(*seq),
                        ClusterError::Unavailable(_) => None,
                    };
                    let api = cluster_error(&e);
                    let code = api.code.to_owned();
                    let class = RequestOutcome::Unavailable;
                    (api.into_response(), code, seq, Vec::new(), class)
                }
            },
        };
        self.metrics
            .request(operation, class, &outcome, started.elapsed());
        self.board.request_answered(seq.is_some());
        let record = AuditRecord {
            time: AuditRecord::now(),
            actor: subject.actor,
            operation: operation.to_owned(),
            parameters: subject.parameters,
            outcome,
            status: response.status().as_u16(),
            seq,
            agreed,
            replayed,
        };
        tracing::debug!(
            operation,
            outcome = %record.outcome,
            status = record.status,
            seq = ?record.seq,
            "answered"
        );
        self.audit.write(&record);
        self.metrics.audit(&self.audit);
        response
    }

    /// The audit log, for the operator routes' audit layer.
    pub(crate) fn audit_log(&self) -> &AuditLog {
        &self.audit
    }

    /// Steps 1–5: the canonical operation and the idempotency key, or why the request is refused
    /// before sequencing.
    fn prepare(
        &self,
        headers: &HeaderMap,
        raw: Result<RawOperation, ApiError>,
        subject: &mut Subject,
    ) -> Result<(Operation, Option<String>), ApiError> {
        let credential = self.auth.authenticate(headers)?;
        let actor = credential.user.clone();
        subject.actor = Some(actor.clone());
        let key = idempotency_key(headers)?;
        let raw = raw?;
        let op = validate::canonicalise(&actor, &raw).map_err(ApiError::invalid)?;
        let (_, canonical) = RawOperation::from_operation(&op);
        subject.parameters = serde_json::to_value(&canonical).unwrap_or(Value::Null);
        within_scope(&credential, &op)?;
        Ok((op, key))
    }
}

/// Step 4: a token acts within its user's rights ([`crate::auth::within_scope`]), checked
/// before sequencing.
fn within_scope(credential: &Credential, op: &Operation) -> Result<(), ApiError> {
    debug_assert_eq!(crate::validate::actor(op), credential.user);
    crate::auth::within_scope(op)
        .map_err(|message| ApiError::new(StatusCode::FORBIDDEN, "not-authorized", message))
}

fn cluster_error(e: &ClusterError) -> ApiError {
    match e {
        ClusterError::NoAgreement { seq } => {
            let mut api = ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "no-agreement",
                "the replicas did not agree on a result in time; the request was executed but \
                 its result is unknown — check (e.g. the schedule) before retrying"
                    .into(),
            );
            api.details = json!({ "seq": seq });
            api
        }
        ClusterError::Unavailable(why) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            format!(
                "the booking cluster is unavailable ({why}); the request may not have been executed"
            ),
        ),
    }
}

/// The answer to a voted outcome: the success or the rule's refusal (as the first time, for a
/// replay), or 422 when the key was used before for another request; with its headers.
fn voted_response(voted: VotedOutcome) -> Response {
    let mut response = match &voted.outcome {
        _ if voted.replay_of.is_some_and(|r| !r.same_operation) => {
            let first = voted.replay_of.map_or(0, |r| r.seq);
            let mut api = ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                KEY_REUSED,
                format!(
                    "this Idempotency-Key was already used for a different request (executed at \
                     seq {first}); nothing was executed — use a new key for a new request"
                ),
            );
            api.details = json!({ "firstSeq": first });
            api.into_response()
        }
        Ok(success) => {
            let status = match success {
                Success::ShowAdded => StatusCode::CREATED,
                _ => StatusCode::OK,
            };
            (status, Json(success_json(success))).into_response()
        }
        Err(error) => rule_error(error).into_response(),
    };
    let agreed = voted
        .agreed
        .iter()
        .map(u8::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let h = response.headers_mut();
    h.insert(SEQ_HEADER, HeaderValue::from(voted.seq));
    // Digits and commas only.
    h.insert(
        AGREED_HEADER,
        HeaderValue::from_str(&agreed).expect("digits and commas"),
    );
    if let Some(replay) = voted.replay_of {
        h.insert(REPLAYED_HEADER, HeaderValue::from(replay.seq));
    }
    response
}

/// The success value as JSON: `{"outcome": "<kind>", ...fields in camelCase}`.
pub fn success_json(success: &Success) -> Value {
    let kind = success_kind(success);
    match success {
        Success::ShowAdded => json!({ "outcome": kind }),
        Success::ShowUpdated(old) => json!({ "outcome": kind, "oldCapacity": old }),
        Success::ShowRemoved(r) => json!({
            "outcome": kind,
            "moved": r.moved.iter().map(|m| json!({
                "customer": m.customer, "toShowId": m.to_show_id, "tickets": m.tickets
            })).collect::<Vec<_>>(),
            "dropped": r.dropped.iter().map(|d| json!({
                "customer": d.customer, "tickets": d.tickets
            })).collect::<Vec<_>>(),
        }),
        Success::Availability(shows) => json!({
            "outcome": kind,
            "shows": shows.iter().map(|s| json!({
                "showId": s.show_id, "remaining": s.remaining
            })).collect::<Vec<_>>(),
        }),
        Success::Booked(b) => json!({ "outcome": kind, "held": b.held, "remaining": b.remaining }),
        Success::Schedule(bookings) => json!({
            "outcome": kind,
            "bookings": bookings.iter().map(|b| json!({
                "movie": b.movie, "showId": b.show_id, "tickets": b.tickets
            })).collect::<Vec<_>>(),
        }),
        Success::Cancelled(held) => json!({ "outcome": kind, "held": held }),
        Success::Exchanged(e) => {
            json!({ "outcome": kind, "oldHeld": e.old_held, "newHeld": e.new_held })
        }
    }
}

/// The success value's kind, as named in the rules (`show-added`, `booked`, …).
pub fn success_kind(success: &Success) -> &'static str {
    match success {
        Success::ShowAdded => "show-added",
        Success::ShowUpdated(_) => "show-updated",
        Success::ShowRemoved(_) => "show-removed",
        Success::Availability(_) => "availability",
        Success::Booked(_) => "booked",
        Success::Schedule(_) => "schedule",
        Success::Cancelled(_) => "cancelled",
        Success::Exchanged(_) => "exchanged",
    }
}

/// The success kind or the error code of an outcome.
pub fn outcome_label(outcome: &Outcome) -> &'static str {
    match outcome {
        Ok(s) => success_kind(s),
        Err(e) => error_code(e),
    }
}

/// The rule's error code, exactly as the rules spell it (`weekly-limit`, …).
pub fn error_code(error: &BookingError) -> &'static str {
    match error {
        BookingError::InvalidUserId => "invalid-user-id",
        BookingError::InvalidShowId => "invalid-show-id",
        BookingError::UnknownMovie => "unknown-movie",
        BookingError::InvalidCapacity => "invalid-capacity",
        BookingError::InvalidTickets => "invalid-tickets",
        BookingError::NotAuthorized => "not-authorized",
        BookingError::OutsideWindow => "outside-window",
        BookingError::ShowNotFound => "show-not-found",
        BookingError::PastShow => "past-show",
        BookingError::CapacityBelowBooked => "capacity-below-booked",
        BookingError::SameShowOtherArea => "same-show-other-area",
        BookingError::WeeklyLimit => "weekly-limit",
        BookingError::ShowFull(_) => "show-full",
        BookingError::NotBooked => "not-booked",
        BookingError::TooManyTickets(_) => "too-many-tickets",
        BookingError::SameShow => "same-show",
    }
}

/// The HTTP status of a refusal by the rules: 422 for a request that can never succeed as
/// written, 403 for `not-authorized`, 404 when the show or booking does not exist, 409 when the
/// current state (seats, bookings, the date) forbids it.
pub fn error_status(error: &BookingError) -> StatusCode {
    use BookingError::*;
    match error {
        InvalidUserId | InvalidShowId | UnknownMovie | InvalidCapacity | InvalidTickets
        | OutsideWindow | SameShow => StatusCode::UNPROCESSABLE_ENTITY,
        NotAuthorized => StatusCode::FORBIDDEN,
        ShowNotFound | NotBooked => StatusCode::NOT_FOUND,
        PastShow | CapacityBelowBooked | SameShowOtherArea | WeeklyLimit | ShowFull(_)
        | TooManyTickets(_) => StatusCode::CONFLICT,
    }
}

/// People-facing wording for a refusal by the rules (replicas return codes only).
pub fn error_message(error: &BookingError) -> String {
    use BookingError::*;
    match error {
        InvalidUserId | InvalidShowId | UnknownMovie | InvalidCapacity | InvalidTickets => {
            "the replicas found the request malformed".into()
        }
        NotAuthorized => "not allowed: admins manage shows of their own area only, customers act \
                          only for themselves, and admin IDs cannot hold bookings"
            .into(),
        OutsideWindow => {
            "shows can be added or changed only for dates from today to 7 days ahead".into()
        }
        ShowNotFound => "there is no such show (movie and show ID)".into(),
        PastShow => "the show's date has passed".into(),
        CapacityBelowBooked => "the new capacity is below the tickets already booked".into(),
        SameShowOtherArea => "the customer already holds a booking of this movie at the same \
                              date and slot in another area"
            .into(),
        WeeklyLimit => "the customer already has 3 bookings outside their home area in that \
                        week (at most 3 a week)"
            .into(),
        ShowFull(remaining) => format!("not enough seats: {remaining} left on the show"),
        NotBooked => "the customer holds no booking on that show".into(),
        TooManyTickets(held) => format!("the customer holds only {held} tickets on that show"),
        SameShow => "the old and the new show are the same".into(),
    }
}

fn rule_error(error: &BookingError) -> ApiError {
    let mut api = ApiError::new(error_status(error), error_code(error), error_message(error));
    api.details = match error {
        BookingError::ShowFull(remaining) => json!({ "remaining": remaining }),
        BookingError::TooManyTickets(held) => json!({ "held": held }),
        _ => json!({}),
    };
    api
}
