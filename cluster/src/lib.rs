//! Runs DMTBS nodes: the cluster file ([`config`]), and one driver per kind of node binding its
//! sans-IO state machine to a [`dmtbs_net::Transport`] and a clock.
//!
//! Layout:
//! - [`config`]: the TOML cluster file and the embedded default.
//! - [`wire`]: codec + transport + address book, shared by the drivers.
//! - [`sequencer`], [`rm`], [`frontend`]: the node drivers (`run(config, …, shutdown)`).
//! - [`local`]: a whole cluster in one process, for tests.
//! - `metrics`: what the sequencer's and RMs' Prometheus metrics share (docs/metrics.md).
//! - [`rundir`]: the run directory of a supervised cluster of processes (`dmtbs up`): the
//!   cluster file and one pid file per node.

pub mod config;
pub mod frontend;
pub mod holder;
pub mod local;
mod metrics;
pub mod rm;
pub mod rundir;
pub mod sequencer;
pub mod wire;

pub use config::ClusterConfig;
