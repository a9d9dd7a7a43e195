//! Integration tests of the wire codec, one module per concern.

mod batch;
mod common;
mod fuzz;
mod rejects;
mod replay;
mod roundtrip;
mod stream;
