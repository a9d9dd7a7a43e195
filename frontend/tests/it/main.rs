//! The front end's tests, one binary.

mod audit;
mod http;
mod idempotency;
mod metrics;
mod status;
mod validate;
mod vote;
