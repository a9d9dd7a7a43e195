//! The DMTBS sequencer: puts every client request into one total order.
//!
//! Front ends submit requests; the sequencer gives each new `(fe, request_id)` the next
//! sequence number (1, 2, 3, … with no gaps) and the cluster's date, answers `Accepted`, and
//! multicasts the sequenced request to every replica manager, several to a `Deliver` under load.
//! A retransmitted request keeps its number and is never sequenced twice. Sequenced requests
//! stay in a retransmission buffer until the live RMs acknowledge them, so a gap an RM reports
//! (`Nack`) can be filled; periodic heartbeats carry the latest number so a lost *last* message
//! is noticed.
//!
//! A sequencer may crash and be restarted: the replica managers keep a durable log, and each
//! incarnation numbers in a new, higher *epoch* (docs/protocol.md, "Sequencer failover"). A new
//! [`Sequencer`] goes through three [`Phase`]s:
//! 1. *Recovering*: it asks every RM to promise a candidate epoch (`EpochWanted`, 1 at first, again
//!    every `epoch_retry`); each answers with an `EpochState` (what it promised, its epoch, where
//!    its durable log ends, the chain of the epoch it is in, whether its store is empty). An
//!    answer showing a promise above the candidate, or an epoch at or above it, raises the
//!    candidate past it and starts the asking over. With promises from a majority of the
//!    configured RMs, the epoch continues the highest epoch among them: it starts after the
//!    longest log of that epoch's RMs (at that epoch's start at least), its chain is that
//!    epoch's plus its own — if those still holding data are a majority too, or none holds any
//!    (a new cluster). Once every RM has promised and fewer than a majority still hold
//!    data, it refuses to start ([`StartRefused`], [`Sequencer::refusal`]): a majority lost its
//!    disks, and the cluster does not invent state.
//! 2. *Starting*: it sends `EpochStart { epoch, start, chain }` (again every `epoch_retry`) and
//!    numbers nothing until a majority of RMs in its epoch (their `Ack` says so) acknowledged
//!    everything through `start` (they fill their gaps from each other's logs meanwhile).
//! 3. *Numbering*: requests get `start + 1`, `start + 2`, … with the epoch in every `Sequenced`
//!    and `Accepted`; every heartbeat goes with an `EpochStart`, so a late RM learns the epoch.
//!
//! Starting or numbering, a sequencer that keeps hearing in the RMs' `Ack`s a promise above its
//! epoch, for the failover time, is *outbid* ([`Sequencer::outbid`]): that epoch's sequencer
//! died before starting it, and [`Failover`] recovers above it (else the RMs that promised stay
//! behind for good). One that no majority acknowledges for `rm_timeout` is *deserted*
//! ([`Sequencer::deserted`]) and recovers too.
//!
//! Before numbering, `Submit`s are neither sequenced nor answered (the front ends resend them),
//! and a `Nack` gets nothing: what was numbered before this epoch is in the RMs' logs, not in
//! this sequencer's buffer, so the RMs repair from their peers.
//!
//! A cluster file may name a *standby* sequencer ([`Failover`]): it stays passive while it hears
//! the sequencer, and takes over in a new epoch once it falls silent. The two own disjoint
//! epochs (odd and even), so they never ask the RMs for the same one.
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
//! - *Heartbeats*: every `heartbeat_interval`, from the first tick of numbering on, even before
//!   anything is sequenced.
//! - *Recovery*: `EpochWanted` and `EpochStart` are repeated every `epoch_retry` until the
//!   epoch numbers.
//!
//! Layout:
//! - `config`: [`SequencerConfig`] and its defaults.
//! - `sequencer`: [`Sequencer`], the state machine, its [`Phase`] and its [`SequencerStats`].
//! - `epoch`: recovery — promises, the epoch's start, and the lost-majority refusal.
//! - `failover`: [`Failover`], a sequencer with a standby (or the only one): which of the two is
//!   active, taking over from a silent one, stepping down for a higher epoch.
//! - `dedup`: the bounded `(fe, request_id) → seq` windows.
//! - `buffer`: the retransmission buffer and its release policy.

mod buffer;
mod config;
mod dedup;
mod epoch;
mod failover;
mod sequencer;

pub use config::{
    DEFAULT_BATCH_LIMIT, DEFAULT_BUFFER_LIMIT, DEFAULT_DEDUP_WINDOW, DEFAULT_EPOCH_RETRY,
    DEFAULT_HEARTBEAT_INTERVAL, DEFAULT_RM_TIMEOUT, SequencerConfig,
};
pub use epoch::StartRefused;
pub use failover::{Failover, FailoverStats};
pub use sequencer::{Phase, Sequencer, SequencerStats};
