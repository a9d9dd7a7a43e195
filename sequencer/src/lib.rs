//! The DMTBS sequencer: puts every client request into one total order.
//!
//! Front ends submit requests; the sequencer gives each new `(fe, request_id)` the next
//! sequence number (1, 2, 3, … with no gaps) and the cluster's date, answers `Accepted`, and
//! multicasts the sequenced request to every replica manager, several to a `Deliver` under load.
//! A retransmitted request keeps its number and is never sequenced twice. Sequenced requests
//! stay in a retransmission buffer until the live RMs acknowledge them, so a gap an RM reports
//! (`Nack`) can be filled; periodic heartbeats carry the latest number so a lost *last* message
//! is noticed. The sequencer is assumed failure-free (the course design).
//!
//! [`Sequencer`] is sans-IO: it takes authenticated messages, the date and the time as inputs
//! and returns [`Outgoing`](dmtbs_proto::Outgoing) messages; sockets, clocks and the calendar
//! belong to the service that drives it.
//!
//! Policies, each tunable in [`SequencerConfig`]:
//! - *Buffer release*: a request is dropped once every *live* RM (heard from within
//!   `rm_timeout`) has acknowledged it, and in any case once more than `buffer_limit` requests
//!   are held (oldest first); an RM that missed dropped requests repairs from its peers.
//! - *Deduplication*: per front end, the `dedup_window` highest request ids are remembered;
//!   a retransmission below them is refused (never re-sequenced), not answered.
//! - *Heartbeats*: every `heartbeat_interval`, from the first tick on, even before anything is
//!   sequenced.
//!
//! Layout:
//! - `config`: [`SequencerConfig`] and its defaults.
//! - `sequencer`: [`Sequencer`], the state machine, and its [`SequencerStats`].
//! - `dedup`: the bounded `(fe, request_id) → seq` windows.
//! - `buffer`: the retransmission buffer and its release policy.

mod buffer;
mod config;
mod dedup;
mod sequencer;

pub use config::{
    DEFAULT_BATCH_LIMIT, DEFAULT_BUFFER_LIMIT, DEFAULT_DEDUP_WINDOW, DEFAULT_HEARTBEAT_INTERVAL,
    DEFAULT_RM_TIMEOUT, SequencerConfig,
};
pub use sequencer::{Sequencer, SequencerStats};
