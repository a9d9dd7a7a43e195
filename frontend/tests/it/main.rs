//! The front end's tests, one binary.

mod audit;
mod http;
mod validate;
mod vote;
