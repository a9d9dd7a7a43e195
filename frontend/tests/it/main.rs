//! The front end's tests, one binary.

mod audit;
mod http;
mod idempotency;
mod metrics;
mod status;
mod support;
mod validate;
mod vote;
