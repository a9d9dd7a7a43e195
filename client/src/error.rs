//! What can go wrong with a request: a refusal in the API's error shape ([`ApiError`]), no answer
//! at all, or an answer that is not the API's.

use std::fmt;

use dmtbs_contract::BookingError;
use serde_json::Value;

use crate::RmId;

/// Why a request has no success value.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The front end answered with an error: refused before sequencing (malformed, no admin key,
    /// …), refused by the booking rules, or the cluster could not answer (503). Boxed: results
    /// stay small on the success path.
    #[error(transparent)]
    Api(Box<ApiError>),
    /// No (complete) answer: the front end is unreachable, the connection broke, or the timeout
    /// passed. The request may or may not have been executed.
    #[error("no answer from the front end: {0}")]
    Transport(#[source] reqwest::Error),
    /// An answer that is not the API's (wrong shape, missing headers, a success of another
    /// operation): the URL is probably not a DMTBS front end, or the versions differ.
    #[error("the answer (HTTP {status}) is not the DMTBS API's: {reason}")]
    Unexpected {
        /// The HTTP status of the answer.
        status: u16,
        /// What was wrong with it.
        reason: String,
    },
    /// The base URL given to the builder is unusable.
    #[error("invalid front end URL {url:?}: {reason}")]
    Url {
        /// The URL as given.
        url: String,
        /// Why it cannot be used.
        reason: String,
    },
}

impl Error {
    /// The API error, if the front end answered with one.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) => Some(&**e),
            _ => None,
        }
    }

    /// A short, stable name for what happened, for counting: the API's error code
    /// (`show-full`, `bad-request`, `no-agreement`, …), or `timeout`, `connect`, `transport`,
    /// `unexpected-answer`, `invalid-url`.
    pub fn kind(&self) -> &str {
        match self {
            Error::Api(e) => &e.code,
            Error::Transport(e) if e.is_timeout() => "timeout",
            Error::Transport(e) if e.is_connect() => "connect",
            Error::Transport(_) => "transport",
            Error::Unexpected { .. } => "unexpected-answer",
            Error::Url { .. } => "invalid-url",
        }
    }
}

/// An answer in the API's error shape, `{"error": {"code", "message", "details"}}`.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    /// The HTTP status (400, 401, 403, 404, 409, 422, 503, …).
    pub status: u16,
    /// The error code: a booking rule's (`show-full`, `weekly-limit`, …; see
    /// [`ApiError::booking_error`]) or the front end's own (`bad-request`, `unauthenticated`,
    /// `idempotency-key-reused`, `no-agreement`, `unavailable`, `no-such-route`,
    /// `method-not-allowed`).
    pub code: String,
    /// People-facing wording.
    pub message: String,
    /// Code-specific details (`{"remaining": n}` for `show-full`, `{"field", "value"}` for a
    /// malformed value, …); `{}` when there are none.
    pub details: Value,
    /// The request's sequence number when it was sequenced: refusals by the booking rules
    /// (`X-DMTBS-Seq`) and `no-agreement` (from its details). `None` when the front end refused
    /// it before sequencing or could not sequence it — then nothing was executed (`unavailable`:
    /// possibly executed).
    pub seq: Option<u64>,
    /// For refusals by the rules: the replica managers that agreed on it (`X-DMTBS-Agreed`).
    pub agreed: Vec<RmId>,
    /// Set when the request had been executed before (`X-DMTBS-Replayed`): a refusal by the rules
    /// replayed from that first execution, or `idempotency-key-reused` (the key was first used
    /// for another request, executed there). The first execution's sequence number.
    pub replayed: Option<u64>,
}

impl ApiError {
    /// The booking rule's refusal this code names, with its detail (`show-full` carries the
    /// seats left, `too-many-tickets` the tickets held). `None` for the front end's own codes.
    ///
    /// The malformed-value codes (`invalid-user-id`, …) are rule codes too; the front end usually
    /// answers them before sequencing (then [`ApiError::seq`] is `None`).
    pub fn booking_error(&self) -> Option<BookingError> {
        crate::json::booking_error(&self.code, &self.details)
    }

    /// Whether the cluster executed the request and the booking rules refused it (as opposed to
    /// a refusal by the front end, or a failure).
    pub fn refused_by_rules(&self) -> bool {
        self.seq.is_some() && self.booking_error().is_some()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (HTTP {}): {}", self.code, self.status, self.message)
    }
}

impl std::error::Error for ApiError {}
