//! The front end's tests, one binary.

mod audit;
mod audit_policy;
mod fuzz;
mod http;
mod idempotency;
mod metrics;
mod serve;
mod status;
mod strict;
mod support;
mod tokens;
mod validate;
mod vote;
