//! The sequencer state machine: recovery (which epoch, from where), numbering, deduplication,
//! multicast, acknowledgement, retransmission and heartbeats, with no I/O of its own.

use std::collections::BTreeSet;
use std::fmt;
use std::time::{Duration, Instant};

use dmtbs_contract::Date;
use dmtbs_proto::{
    Accepted, Chain, ClientRequest, Epoch, EpochState, Message, NodeId, Outgoing, RmId, SeqRange,
    Sequenced,
};

use crate::buffer::RetransmitBuffer;
use crate::config::SequencerConfig;
use crate::dedup::{Dedup, Seen};
use crate::epoch::{Recovery, StartRefused, Step};

/// What the sequencer has done so far, for the status page and for tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SequencerStats {
    /// Requests given a sequence number in this epoch (the latest number is the epoch's start
    /// plus this, since there are no gaps).
    pub sequenced: u64,
    /// Retransmitted requests recognised and answered with their original number.
    pub duplicates: u64,
    /// Retransmissions older than the dedup window: refused, not sequenced, not answered.
    pub stale: u64,
    /// `Nack`s answered (from configured RMs naming themselves), whatever they asked for.
    pub nacks: u64,
    /// Requests re-sent in answer to `Nack`s.
    pub retransmitted: u64,
    /// Requests an RM asked for that were no longer buffered, or that were numbered before this
    /// epoch (it must repair from a peer).
    pub nack_misses: u64,
    /// Heartbeats sent.
    pub heartbeats: u64,
    /// `Submit`s refused because they did not come from the front end they name.
    pub bad_submits: u64,
    /// Other messages refused: an `Ack`/`Nack`/`EpochState` not from the RM it names or from an
    /// unknown RM, or a message a sequencer never receives.
    pub ignored: u64,
    /// Requests pushed out of the buffer by its limit before every live RM acknowledged them.
    pub evicted_unacked: u64,
    /// `Submit`s that arrived before the epoch started numbering (while recovering or
    /// starting): neither sequenced nor answered; the front ends send them again.
    pub submits_while_recovering: u64,
}

/// Totals over several sequencers of one process (a [`crate::Failover`] that took over twice).
impl std::ops::AddAssign for SequencerStats {
    fn add_assign(&mut self, other: Self) {
        self.sequenced += other.sequenced;
        self.duplicates += other.duplicates;
        self.stale += other.stale;
        self.nacks += other.nacks;
        self.retransmitted += other.retransmitted;
        self.nack_misses += other.nack_misses;
        self.heartbeats += other.heartbeats;
        self.bad_submits += other.bad_submits;
        self.ignored += other.ignored;
        self.evicted_unacked += other.evicted_unacked;
        self.submits_while_recovering += other.submits_while_recovering;
    }
}

/// How long a gap in hearing a higher promise ends a stretch of it ([`Sequencer::outbid`]):
/// RMs acknowledge every tick (`rm_tick_ms`, 20 ms by default), so a few lost `Ack`s do not end
/// it, while the moments a normal failover's promises are heard before its start (the RMs then
/// acknowledge its sequencer) do not add up to one.
const PROMISE_GAP: Duration = Duration::from_millis(100);

/// A promise above this sequencer's epoch, heard in `Ack`s from `since` to `last`.
#[derive(Clone, Copy, Debug)]
struct HigherPromise {
    epoch: Epoch,
    since: Instant,
    last: Instant,
}

/// Where a sequencer is in its life (see the crate docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Asking the RMs for promises and where their logs end (`EpochWanted` / `EpochState`).
    Recovering,
    /// The epoch and its start are decided (`EpochStart` sent); waiting for a majority of RMs
    /// to have everything through the start.
    Starting,
    /// Numbering requests from the start on.
    Numbering,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Recovering => "recovering",
            Phase::Starting => "starting",
            Phase::Numbering => "numbering",
        })
    }
}

/// Gives every new request the next sequence number and the date, multicasts it, and keeps it
/// until the replica managers have it. Feed it messages and ticks; send what it returns.
#[derive(Debug)]
pub struct Sequencer {
    /// Limits and the RM list, as configured (normalised by [`Sequencer::new`]).
    config: SequencerConfig,
    /// Recovering, starting or numbering.
    phase: Phase,
    /// The promises gathered while recovering (and, once decided, those it was decided on).
    recovery: Recovery,
    /// Why the sequencer refuses to start, once it does (it then does nothing more).
    refusal: Option<StartRefused>,
    /// The epoch numbered in (decided when recovery ends; 0 before).
    epoch: Epoch,
    /// The epoch's start: the last number of the history it continues.
    start: u64,
    /// The epoch's chain (its lineage, ending with `(epoch, start)`), sent in `EpochStart`.
    chain: Chain,
    /// The highest promise above this epoch that `Ack`s report, while they keep reporting one:
    /// see [`Sequencer::outbid`].
    higher_promise: Option<HigherPromise>,
    /// RMs that acknowledged everything through `start` since the epoch was decided.
    caught_up: BTreeSet<RmId>,
    /// When the epoch was decided: the RMs' silence ([`Sequencer::deserted`]) counts from then.
    decided_at: Option<Instant>,
    /// While recovering or starting, when `EpochWanted` / `EpochStart` is next sent; `None`
    /// sends on the next tick.
    next_retry: Option<Instant>,
    /// The highest sequence number given (the start before the first request of the epoch;
    /// 0 while recovering).
    latest: u64,
    /// Recognises retransmitted requests (this incarnation's only).
    dedup: Dedup,
    /// Sequenced requests not yet acknowledged by every live RM.
    buffer: RetransmitBuffer,
    /// When the next heartbeat is due; `None` sends one on the first tick of numbering.
    next_heartbeat: Option<Instant>,
    /// Counters, reported by [`Sequencer::stats`].
    stats: SequencerStats,
}

impl Sequencer {
    /// A new sequencer, recovering: its ticks ask the RMs where the history ends, and it numbers
    /// nothing until its epoch has started (see the crate docs). Zero limits are raised to 1.
    pub fn new(config: SequencerConfig) -> Self {
        Self::new_after(config, 0)
    }

    /// [`Sequencer::new`] for a sequencer that knows epoch `after` was used already: it asks
    /// first for its lowest epoch above it (a standby taking over from a silent sequencer).
    pub fn new_after(mut config: SequencerConfig, after: Epoch) -> Self {
        config.batch_limit = config.batch_limit.max(1);
        config.buffer_limit = config.buffer_limit.max(1);
        config.dedup_window = config.dedup_window.max(1);
        Sequencer {
            dedup: Dedup::new(config.dedup_window),
            buffer: RetransmitBuffer::new(&config.rms, config.buffer_limit, config.rm_timeout),
            recovery: Recovery::new(config.me, &config.rms, after),
            config,
            phase: Phase::Recovering,
            refusal: None,
            epoch: 0,
            start: 0,
            chain: Chain::new(),
            higher_promise: None,
            caught_up: BTreeSet::new(),
            decided_at: None,
            next_retry: None,
            latest: 0,
            next_heartbeat: None,
            stats: SequencerStats::default(),
        }
    }

    /// Handles one authenticated message from `from`. `today` is the cluster's date, stamped on
    /// any request sequenced now.
    pub fn on_message(
        &mut self,
        from: NodeId,
        msg: Message,
        today: Date,
        now: Instant,
    ) -> Vec<Outgoing> {
        self.buffer.clock(now);
        match msg {
            Message::Submit(reqs) => self.on_submit(from, reqs, today),
            Message::Ack {
                rm,
                through,
                epoch,
                promised,
            } => {
                if !self.rm_may_speak(from, rm) {
                    return Vec::new();
                }
                if promised > self.epoch && self.phase != Phase::Recovering {
                    // It promised a later epoch: it takes nothing of this one beyond the end it
                    // reported, and counts as deserting it.
                    self.heard_promise(promised, now);
                } else if epoch != self.epoch {
                    // Alive, but `through` is of another epoch's history (it has not taken
                    // this one's start yet): it acknowledges nothing here.
                    self.buffer.heard(rm, None, now);
                } else {
                    // An RM cannot have delivered what was never sequenced.
                    self.buffer.heard(rm, Some(through.min(self.latest)), now);
                    self.buffer.release(now);
                    if self.phase == Phase::Starting && through >= self.start {
                        self.caught_up.insert(rm);
                        if self.caught_up.len() >= self.recovery.majority() {
                            self.phase = Phase::Numbering;
                            tracing::debug!(
                                epoch = self.epoch,
                                start = self.start,
                                "a majority of RMs has the history: numbering"
                            );
                        }
                    }
                }
                Vec::new()
            }
            Message::Nack { rm, missing } => {
                if !self.rm_may_speak(from, rm) {
                    return Vec::new();
                }
                self.buffer.heard(rm, None, now);
                self.stats.nacks += 1;
                self.resend(rm, &missing)
            }
            Message::EpochState(state) => {
                if !self.rm_may_speak(from, state.rm) {
                    return Vec::new();
                }
                self.on_epoch_state(state, now)
            }
            Message::Accepted(_)
            | Message::Deliver(_)
            | Message::Heartbeat { .. }
            | Message::Results(_)
            | Message::Verdicts(_)
            | Message::ResultsWanted(_)
            | Message::Checkpoint(_)
            | Message::CheckpointWanted
            | Message::StableCheckpoint(_)
            | Message::Quarantined(_)
            | Message::Probe { .. }
            | Message::ProbeReply { .. }
            | Message::Suspicion { .. }
            | Message::Admin(_)
            | Message::Status { .. }
            | Message::AdminReply { .. }
            | Message::StateWanted { .. }
            | Message::EpochWanted { .. }
            | Message::EpochStart { .. }
            | Message::Active { .. } => {
                self.stats.ignored += 1;
                tracing::debug!(?from, "message a sequencer never receives, ignored");
                Vec::new()
            }
        }
    }

    /// Advances time. Recovering: asks every RM for a promise (`EpochWanted`) every
    /// `epoch_retry`. Starting: repeats `EpochStart` every `epoch_retry`. Numbering: sends a
    /// heartbeat, with the `EpochStart`, when one is due (the first tick of numbering sends one
    /// at once, also before anything is sequenced, so RMs can tell the sequencer is up), and
    /// releases what RMs that fell silent were holding.
    pub fn on_tick(&mut self, now: Instant) -> Vec<Outgoing> {
        self.buffer.clock(now);
        self.buffer.release(now);
        match self.phase {
            Phase::Recovering | Phase::Starting => {
                if self.refusal.is_some() || self.next_retry.is_some_and(|due| now < due) {
                    return Vec::new();
                }
                self.next_retry = Some(now + self.config.epoch_retry);
                vec![Outgoing::ToAllRms(match self.phase {
                    Phase::Recovering => Message::EpochWanted {
                        epoch: self.recovery.candidate(),
                    },
                    _ => self.epoch_start(),
                })]
            }
            Phase::Numbering => {
                if self.next_heartbeat.is_some_and(|due| now < due) {
                    return Vec::new();
                }
                self.next_heartbeat = Some(now + self.config.heartbeat_interval);
                self.stats.heartbeats += 1;
                vec![
                    Outgoing::ToAllRms(Message::Heartbeat {
                        latest: self.latest,
                    }),
                    Outgoing::ToAllRms(self.epoch_start()),
                ]
            }
        }
    }

    /// Recovering, starting or numbering.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The epoch this sequencer numbers in; while recovering, the candidate it asks the RMs to
    /// promise (1 at first, raised above any promise or epoch an RM reports).
    pub fn epoch(&self) -> Epoch {
        match self.phase {
            Phase::Recovering => self.recovery.candidate(),
            Phase::Starting | Phase::Numbering => self.epoch,
        }
    }

    /// Where the epoch starts: it numbers from `start() + 1` (0 while recovering).
    pub fn start(&self) -> u64 {
        self.start
    }

    /// Why the sequencer refuses to start, if it does: fatal, the driver stops with this error.
    pub fn refusal(&self) -> Option<&StartRefused> {
        self.refusal.as_ref()
    }

    /// While recovering, the promises for the current candidate; once the epoch is decided, the
    /// answers it was decided on (what the history was learned from).
    pub fn epoch_states(&self) -> impl Iterator<Item = &EpochState> {
        self.recovery.answers()
    }

    /// While recovering, the configured RMs that have not promised the current candidate;
    /// while starting, those that have not acknowledged everything through the start; empty
    /// once numbering.
    pub fn waiting_for(&self) -> Vec<RmId> {
        match self.phase {
            Phase::Recovering => self.recovery.not_answered(),
            Phase::Starting => self
                .buffer
                .rms()
                .filter(|rm| !self.caught_up.contains(rm))
                .collect(),
            Phase::Numbering => Vec::new(),
        }
    }

    /// The highest sequence number in the history: the last one given, or the epoch's start
    /// before its first request (0 while recovering).
    pub fn latest(&self) -> u64 {
        self.latest
    }

    /// Whether, starting or numbering, fewer than a majority of the RMs have sent an `Ack` or a
    /// `Nack` within `after` (counted from the epoch's decision at the earliest; [`crate::Failover`]
    /// gives `rm_timeout`: no majority is live). They do not
    /// take this epoch: they started or promised a later one whose sequencer died before it
    /// numbered (found by the simulator, `sim/`, seed 8353). Waiting cannot end that; a new
    /// recovery can ([`crate::Failover`] starts one).
    pub fn deserted(&self, now: Instant, after: Duration) -> bool {
        let Some(decided) = self.decided_at else {
            return false;
        };
        let hearing = self
            .buffer
            .rms()
            .filter(|&rm| {
                let last = self.buffer.heard_at(rm).map_or(decided, |t| t.max(decided));
                now.saturating_duration_since(last) < after
            })
            .count();
        hearing < self.recovery.majority()
    }

    /// How many sequenced requests are held for retransmission.
    pub fn buffered(&self) -> usize {
        self.buffer.len()
    }

    /// The lowest sequence number still held for retransmission.
    pub fn buffered_from(&self) -> Option<u64> {
        self.buffer.first()
    }

    /// What `rm` has acknowledged (`None` for an RM not in the configuration).
    pub fn acked_through(&self, rm: RmId) -> Option<u64> {
        self.buffer.acked(rm)
    }

    /// Whether `rm` currently holds back the release of the buffer (see the crate docs).
    pub fn is_live(&self, rm: RmId, now: Instant) -> bool {
        self.buffer.is_live(rm, now)
    }

    /// The counters so far, for the status page and tests.
    pub fn stats(&self) -> SequencerStats {
        self.stats
    }

    /// The configuration in force (zero limits already raised to 1).
    pub fn config(&self) -> &SequencerConfig {
        &self.config
    }

    fn epoch_start(&self) -> Message {
        Message::EpochStart {
            epoch: self.epoch,
            start: self.start,
            chain: self.chain.clone(),
        }
    }

    /// An `Ack` reported a promise above this epoch.
    fn heard_promise(&mut self, promised: Epoch, now: Instant) {
        // Heard again soon enough: the same stretch of hearing goes on.
        let keeps_on = |p: &HigherPromise| now.saturating_duration_since(p.last) <= PROMISE_GAP;
        self.higher_promise = Some(match self.higher_promise {
            Some(p) if keeps_on(&p) => HigherPromise {
                epoch: p.epoch.max(promised),
                since: p.since,
                last: now,
            },
            _ => HigherPromise {
                epoch: promised,
                since: now,
                last: now,
            },
        });
    }

    /// Starting or numbering, the promise above this epoch that RMs have kept reporting in
    /// their `Ack`s for at least `after` (and still report: none missing for over
    /// `PROMISE_GAP`). Such an RM takes nothing of this epoch beyond the end it reported, for
    /// good unless the promised epoch starts; if its sequencer is alive it campaigns, and its
    /// `Active` makes [`crate::Failover`] step down well before `after` (the failover time). If
    /// it is not, the promise outlived it (found by the simulator, `sim/`, seeds 34791 and
    /// 5961: an RM held behind for good) and [`crate::Failover`] recovers above it.
    pub fn outbid(&self, now: Instant, after: Duration) -> Option<Epoch> {
        let p = self.higher_promise?;
        (self.phase != Phase::Recovering
            && now.saturating_duration_since(p.last) <= PROMISE_GAP
            && now.saturating_duration_since(p.since) >= after)
            .then_some(p.epoch)
    }

    /// An RM's answer to `EpochWanted`: may raise the candidate (ask again at once), decide the
    /// epoch (send `EpochStart`), or refuse to start.
    fn on_epoch_state(&mut self, state: EpochState, now: Instant) -> Vec<Outgoing> {
        if self.phase != Phase::Recovering || self.refusal.is_some() {
            tracing::debug!(rm = state.rm, "late epoch state, ignored");
            return Vec::new();
        }
        let (rm, promised, epoch) = (state.rm, state.promised, state.epoch());
        match self.recovery.on_answer(state) {
            Step::Wait => Vec::new(),
            Step::Raised(candidate) => {
                tracing::debug!(
                    rm,
                    promised,
                    epoch,
                    candidate,
                    "an RM knows a higher epoch: asking again for a higher one"
                );
                self.next_retry = Some(now + self.config.epoch_retry);
                vec![Outgoing::ToAllRms(Message::EpochWanted {
                    epoch: candidate,
                })]
            }
            Step::Decided {
                epoch,
                start,
                chain,
            } => {
                self.phase = Phase::Starting;
                self.decided_at = Some(now);
                self.epoch = epoch;
                self.start = start;
                self.chain = chain;
                self.latest = start;
                self.next_retry = Some(now + self.config.epoch_retry);
                vec![Outgoing::ToAllRms(self.epoch_start())]
            }
            Step::Refused(refusal) => {
                tracing::debug!(%refusal, "refusing to start");
                self.refusal = Some(refusal);
                Vec::new()
            }
        }
    }

    fn on_submit(&mut self, from: NodeId, reqs: Vec<ClientRequest>, today: Date) -> Vec<Outgoing> {
        // A front end may only submit its own requests: anything else is a bug or a forgery,
        // and the whole datagram is refused rather than half-applied.
        let NodeId::FrontEnd(fe) = from else {
            self.stats.bad_submits += 1;
            tracing::warn!(?from, "submit from a node that is not a front end, refused");
            return Vec::new();
        };
        if reqs.iter().any(|r| r.fe != fe) {
            self.stats.bad_submits += 1;
            tracing::warn!(fe, "submit naming another front end, refused");
            return Vec::new();
        }
        if self.phase != Phase::Numbering {
            // Nothing may be numbered before the history is known and held by a majority; the
            // front end sends it again.
            self.stats.submits_while_recovering += 1;
            return Vec::new();
        }

        let mut accepted = Vec::with_capacity(reqs.len());
        let mut fresh = Vec::new();
        for req in reqs {
            match self.dedup.lookup(fe, req.request_id) {
                Seen::Known(seq) => {
                    self.stats.duplicates += 1;
                    accepted.push(Accepted {
                        epoch: self.epoch,
                        request_id: req.request_id,
                        seq,
                    });
                }
                Seen::Stale => {
                    self.stats.stale += 1;
                    tracing::debug!(fe, req.request_id, "retransmission below the dedup window");
                }
                Seen::New => {
                    self.latest += 1;
                    let seq = self.latest;
                    self.stats.sequenced += 1;
                    self.dedup.record(fe, req.request_id, seq);
                    accepted.push(Accepted {
                        epoch: self.epoch,
                        request_id: req.request_id,
                        seq,
                    });
                    let item = Sequenced {
                        epoch: self.epoch,
                        seq,
                        today,
                        fe,
                        request_id: req.request_id,
                        key: req.key,
                        operation: req.operation,
                    };
                    self.stats.evicted_unacked += self.buffer.push(item.clone());
                    fresh.push(item);
                }
            }
        }

        let mut out: Vec<Outgoing> = fresh
            .chunks(self.config.batch_limit)
            .map(|batch| Outgoing::ToAllRms(Message::Deliver(batch.to_vec())))
            .collect();
        if !accepted.is_empty() {
            out.push(Outgoing::To(from, Message::Accepted(accepted)));
        }
        out
    }

    /// Whether an `Ack`/`Nack`/`EpochState` naming `rm` may be believed: it must come from that
    /// RM, and the RM must be configured.
    fn rm_may_speak(&mut self, from: NodeId, rm: RmId) -> bool {
        if from == NodeId::Rm(rm) && self.buffer.is_configured(rm) {
            return true;
        }
        self.stats.ignored += 1;
        tracing::warn!(
            ?from,
            rm,
            "ack/nack/epoch state not from a configured RM it names, ignored"
        );
        false
    }

    /// Re-sends to `rm` what it asked for and is still buffered, batched.
    fn resend(&mut self, rm: RmId, missing: &[SeqRange]) -> Vec<Outgoing> {
        let lowest_held = self.buffer.first().unwrap_or(self.latest + 1);
        let mut items = Vec::new();
        for r in SeqRange::merge(missing) {
            let last = r.last.min(self.latest);
            if r.first > last {
                continue;
            }
            // Asked for, sequenced, but already released or evicted, or numbered before this
            // epoch (the RMs hold those).
            let gone_last = last.min(lowest_held.saturating_sub(1));
            if gone_last >= r.first {
                self.stats.nack_misses += gone_last - r.first + 1;
            }
            items.extend(self.buffer.range(r.first, last).cloned());
        }
        self.stats.retransmitted += items.len() as u64;
        items
            .chunks(self.config.batch_limit)
            .map(|batch| Outgoing::To(NodeId::Rm(rm), Message::Deliver(batch.to_vec())))
            .collect()
    }
}
