//! The DMTBS replica host: runs untrusted replica components in a wasmtime sandbox.
//!
//! A replica is a WebAssembly component implementing `wit/replica.wit` that imports nothing but
//! the WASI interfaces Rust's std needs, which the host serves closed and deterministic (`wasi`:
//! frozen clocks, fixed-seed random, no files, no network, no environment). The host loads it once ([`ReplicaModule`], compiled artifacts cached on disk), runs each live
//! instance on a thread of its own ([`ReplicaHandle`]) under a per-request fuel budget, an
//! epoch deadline and a memory cap ([`Limits`]), and turns every way a replica can die into a
//! typed [`ReplicaFailure`]. A dead or faulty instance is never reset: it is replaced by a fresh
//! instance — of the same or another module — with a canonical state installed, which is how a
//! replica manager recovers (the BASE pattern: export from a correct replica, import, replay).
//!
//! Layout:
//! - [`contract`]: the WIT contract's types (re-exported from `dmtbs-contract`).
//! - `runtime`: the one wasmtime `Engine` and its configuration, the epoch ticker.
//! - `module`: loading, purity check (the import allow-list), artifact cache.
//! - `wasi`: the closed, deterministic WASI a std module gets.
//! - `instance`: one sandboxed instance (a `Store`) and failure classification.
//! - `worker`: the thread that owns an instance; batched requests and posted tasks go through it.
//! - `digest`: the host-side digest of a canonical state.

pub use dmtbs_contract as contract;
mod digest;
mod instance;
mod limits;
mod module;
mod runtime;
mod wasi;
mod worker;

pub use digest::StateDigest;
pub use instance::{Instance, ReplicaFailure};
pub use limits::Limits;
pub use module::{ModuleError, ReplicaModule};
pub use runtime::Runtime;
pub use wasi::{ALLOWED as ALLOWED_IMPORTS, OUTPUT_CAP};
pub use worker::{BatchOutcome, ReplaceError, Replica, ReplicaHandle, Status, Task};
