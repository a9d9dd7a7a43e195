//! Reading a booking request: the routes' handlers, their JSON bodies, path and query, and the
//! `Idempotency-Key` header. Each handler turns what it extracted into a [`RawOperation`] (or a
//! 400) and hands it to the front end's common path, which does the rest (see [`crate::http`]).
//!
//! **`Idempotency-Key`** (the HTTP convention of the IETF draft
//! `draft-ietf-httpapi-idempotency-key-header`), accepted on every booking route: 1 to
//! [`MAX_IDEMPOTENCY_KEY`] (128) bytes of printable ASCII (`!` to `~`, no spaces), sent as is
//! (`abc-123`) or as the draft's quoted string (`"abc-123"`, the same key). Anything else — empty,
//! too long, a space or a non-ASCII byte, the header given twice — is refused with 400
//! `bad-request` before sequencing. The key travels to the replicas with the request: a request
//! carrying a key its actor used before is not executed again; it is answered as the first time,
//! plus `X-DMTBS-Replayed` (see [`crate::http`]).

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use dmtbs_proto::MAX_IDEMPOTENCY_KEY;
use serde::Deserialize;

use crate::cluster::Cluster;
use crate::http::{ApiError, FrontEnd};
use crate::validate::{RawCount, RawOperation};

/// Request header: the client's idempotency key.
pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";

type St<C> = State<Arc<FrontEnd<C>>>;

/// The request's idempotency key, if it has one; a 400 when the header is malformed.
pub(crate) fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let mut values = headers.get_all(IDEMPOTENCY_KEY_HEADER).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    let bad = |why: String| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            format!(
                "header Idempotency-Key {why}: it must be 1 to {MAX_IDEMPOTENCY_KEY} characters \
                 of printable ASCII without spaces (e.g. a UUID), the same for every retry of \
                 one request and new for each new request"
            ),
        )
    };
    if values.next().is_some() {
        return Err(bad("is given more than once".into()));
    }
    let bytes = value.as_bytes();
    // The draft's form is a quoted string (`"abc"`); the bare form (`abc`) is the same key.
    let key = match bytes {
        [b'"', inner @ .., b'"'] => inner,
        _ => bytes,
    };
    if key.is_empty() {
        return Err(bad("is empty".into()));
    }
    if key.len() > MAX_IDEMPOTENCY_KEY {
        return Err(bad(format!("is {} bytes long", key.len())));
    }
    if let Some(&b) = key.iter().find(|b| !(0x21..=0x7e).contains(*b)) {
        let what = match b {
            b' ' => "a space".to_owned(),
            b'\t' => "a tab".to_owned(),
            b if b.is_ascii() => format!("the control character 0x{b:02x}"),
            _ => "a non-ASCII byte".to_owned(),
        };
        return Err(bad(format!("contains {what}")));
    }
    // Printable ASCII only: valid UTF-8.
    Ok(Some(String::from_utf8_lossy(key).into_owned()))
}

/// Body of `POST /v1/shows`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct AddShowBody {
    movie: String,
    show_id: String,
    capacity: RawCount,
}

/// Body of `POST /v1/customers/{customer}/bookings`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct BookBody {
    movie: String,
    show_id: String,
    tickets: RawCount,
}

/// Body of `POST /v1/customers/{customer}/exchanges`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ExchangeBody {
    old_movie: String,
    old_show_id: String,
    new_movie: String,
    new_show_id: String,
    tickets: RawCount,
}

/// Query of the cancel route; `tickets` is read as text so that a missing value gets a clear
/// message and any other value is judged by the count rule ([`RawCount::from_text`]).
#[derive(Deserialize)]
pub(crate) struct CancelQuery {
    tickets: Option<String>,
}

/// Why a JSON body could not be read: 415 without a JSON content type, 413 past the size limit,
/// 408 when the client stopped sending it, 400 for anything else (syntax, types, fields).
pub(crate) fn body_error(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "the body must be JSON, sent with Content-Type: application/json".into(),
        ),
        JsonRejection::BytesRejection(ref e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            crate::server::body_too_large()
        }
        JsonRejection::BytesRejection(ref e) if crate::server::is_body_timeout(e) => {
            crate::server::body_timed_out()
        }
        other => ApiError::new(StatusCode::BAD_REQUEST, "bad-request", other.body_text()),
    }
}

pub(crate) fn path_error(rejection: PathRejection) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "bad-request",
        rejection.body_text(),
    )
}

fn query_error(rejection: QueryRejection) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "bad-request",
        rejection.body_text(),
    )
}

pub(crate) async fn add_show<C: Cluster>(
    State(fe): St<C>,
    headers: HeaderMap,
    body: Result<Json<AddShowBody>, JsonRejection>,
) -> Response {
    let raw = body
        .map_err(body_error)
        .map(|Json(b)| RawOperation::AddShow {
            movie: b.movie,
            show_id: b.show_id,
            capacity: b.capacity,
        });
    fe.handle("add-show", &headers, raw).await
}

pub(crate) async fn remove_show<C: Cluster>(
    State(fe): St<C>,
    headers: HeaderMap,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Response {
    let raw = path
        .map_err(path_error)
        .map(|Path((movie, show_id))| RawOperation::RemoveShow { movie, show_id });
    fe.handle("remove-show", &headers, raw).await
}

pub(crate) async fn availability<C: Cluster>(
    State(fe): St<C>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    let raw = path
        .map_err(path_error)
        .map(|Path(movie)| RawOperation::Availability { movie });
    fe.handle("availability", &headers, raw).await
}

pub(crate) async fn book<C: Cluster>(
    State(fe): St<C>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    body: Result<Json<BookBody>, JsonRejection>,
) -> Response {
    let raw = path.map_err(path_error).and_then(|Path(customer)| {
        let Json(b) = body.map_err(body_error)?;
        Ok(RawOperation::Book {
            customer,
            movie: b.movie,
            show_id: b.show_id,
            tickets: b.tickets,
        })
    });
    fe.handle("book", &headers, raw).await
}

pub(crate) async fn schedule<C: Cluster>(
    State(fe): St<C>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    let raw = path
        .map_err(path_error)
        .map(|Path(customer)| RawOperation::Schedule { customer });
    fe.handle("schedule", &headers, raw).await
}

pub(crate) async fn cancel<C: Cluster>(
    State(fe): St<C>,
    headers: HeaderMap,
    path: Result<Path<(String, String, String)>, PathRejection>,
    query: Result<Query<CancelQuery>, QueryRejection>,
) -> Response {
    let raw = path
        .map_err(path_error)
        .and_then(|Path((customer, movie, show_id))| {
            let Query(q) = query.map_err(query_error)?;
            let text = q.tickets.ok_or_else(|| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "bad-request",
                    "missing query parameter `tickets` (how many tickets to cancel)".into(),
                )
            })?;
            Ok(RawOperation::Cancel {
                customer,
                movie,
                show_id,
                tickets: RawCount::from_text(&text),
            })
        });
    fe.handle("cancel", &headers, raw).await
}

pub(crate) async fn exchange<C: Cluster>(
    State(fe): St<C>,
    headers: HeaderMap,
    path: Result<Path<String>, PathRejection>,
    body: Result<Json<ExchangeBody>, JsonRejection>,
) -> Response {
    let raw = path.map_err(path_error).and_then(|Path(customer)| {
        let Json(b) = body.map_err(body_error)?;
        Ok(RawOperation::Exchange {
            customer,
            old_movie: b.old_movie,
            old_show_id: b.old_show_id,
            new_movie: b.new_movie,
            new_show_id: b.new_show_id,
            tickets: b.tickets,
        })
    });
    fe.handle("exchange", &headers, raw).await
}
