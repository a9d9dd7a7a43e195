//! The DMTBS front end: the only component clients talk to.
//!
//! A request comes in over HTTP/JSON, is authenticated (the caller's token, [`auth`]),
//! canonicalised and validated (so a malformed request never consumes a sequence number), and
//! handed to the
//! [`Cluster`] — the seam behind which the network side sequences it, collects the replicas'
//! results and votes on them with the [`Voter`]. The client is answered as soon as two replicas
//! agree; every answer is written to the [`AuditLog`].
//!
//! Layout:
//! - [`validate`]: canonicalisation and the booking rules' V step (`invalid-user-id`, …).
//! - [`vote`]: the sans-IO voter — answer at two identical results, judge the rest (wrong,
//!   silent) by a dynamic deadline, emit verdicts for the replica managers.
//! - [`cluster`]: the [`Cluster`] seam trait and its result types.
//! - [`http`]: the axum router, the route table, status codes and JSON shapes.
//! - [`requests`]: the booking routes' handlers — bodies, path, query, `Idempotency-Key`.
//! - [`openapi`]: the OpenAPI 3 description served at `GET /openapi.json`.
//! - [`operator`]: the operator's API (replica status, swaps, quarantine, chaos) under
//!   `/v1/admin/`.
//! - [`audit`]: the JSON-lines audit log, and the policy when it cannot be written.
//! - `operator_audit`: the layer writing every operator and chaos action to the audit log.
//! - [`metrics`]: the Prometheus metrics served at `GET /metrics`.
//! - [`status`]: the live status page (`GET /status`) and its JSON (`GET /v1/status`).
//! - [`server`]: serving within [`Limits`] — connection cap, header/body/request timeouts,
//!   in-flight limit, body size (`docs/security.md`).
//! - [`ratelimit`]: the per-address budget of failed authentications (429 beyond it).
//! - [`auth`]: user tokens (PASETO v4.local), the operator's admin key, the revocation list.
//! - [`tokens`]: issuing and revoking tokens (`/v1/tokens…`), the front ends' list exchange.
//!
//! Routes (every booking request carries the caller's token, `Authorization: Bearer <token>`,
//! whose subject is the actor; every booking route takes an optional `Idempotency-Key`):
//!
//! | method | path | operation |
//! |---|---|---|
//! | POST | `/v1/shows` | add-show (`{movie, showId, capacity}`) |
//! | DELETE | `/v1/shows/{movie}/{showId}` | remove-show |
//! | GET | `/v1/movies/{movie}/availability` | availability |
//! | POST | `/v1/customers/{customer}/bookings` | book (`{movie, showId, tickets}`) |
//! | GET | `/v1/customers/{customer}/bookings` | schedule |
//! | DELETE | `/v1/customers/{customer}/bookings/{movie}/{showId}?tickets=N` | cancel |
//! | POST | `/v1/customers/{customer}/exchanges` | exchange (`{oldMovie, oldShowId, newMovie, newShowId, tickets}`) |
//! | POST | `/v1/tokens`, `/v1/tokens/revocations` | issue a token (`{user, ttlSeconds?}`), revoke (`{user, tokenId?}`) — admins of the user's area, or the operator key |
//! | GET | `/healthz`, `/openapi.json` | liveness, API description |
//! | GET | `/metrics`, `/status`, `/v1/status` (`/` redirects to `/status`) | Prometheus metrics, status page and its JSON |

// The OpenAPI document is one `json!` literal, deeper than the default limit of 128.
#![recursion_limit = "256"]

pub mod audit;
pub mod auth;
pub mod cluster;
pub mod http;
pub mod metrics;
pub mod openapi;
pub mod operator;
mod operator_audit;
pub mod ratelimit;
pub mod requests;
pub mod server;
pub mod status;
pub mod tokens;
pub mod validate;
pub mod vote;

pub use audit::{AuditLog, AuditRecord};
pub use auth::{AdminKey, Auth, Credential, Issued, Revocations, TokenError, TokenKey};
pub use cluster::{
    Cluster, ClusterError, NodeReport, Operator, OperatorAnswer, OperatorCommand, Replay, RmReport,
    VotedOutcome,
};
pub use http::{ROUTES, router, router_with};
pub use metrics::Metrics;
pub use server::{Limits, harden, serve, serve_with};
pub use status::StatusBoard;
pub use validate::{Invalid, RawCount, RawOperation, canonicalise};
pub use vote::{Decision, Event, Voter, VoterConfig};
