//! The simulated replica manager: the real [`Delivery`] (hold-back queue, NACK gap repair, log)
//! and the real executed-requests table (`cluster/src/rm/executed.rs`, compiled here in place)
//! around a [`Replica`], glued by the smallest faithful transcription of what the real RM's
//! event loop does with them:
//!
//! | here | stands for (not run by the simulation) |
//! |---|---|
//! | [`SimRm::on_message`] | `Node::on_message` in `cluster/src/rm/mod.rs` (`Deliver`, epochs, `Heartbeat`, peer `Nack`, `ResultsWanted`) |
//! | `admits`, `on_epoch_wanted`, `answer_epoch`, `on_epoch_start`, `roll_back_to` | `cluster/src/rm/epochs.rs` |
//! | `delivered`, `on_commit`, `release_results`, [`SimRm::restart`] | `cluster/src/rm/durable.rs` and `store/` (group commit, results only once on disk, restore from the log) |
//! | `feed` / `apply` | `cluster/src/rm/applier.rs` (`apply_run`: the executed table, then the replica) |
//! | [`SimRm::on_tick`] | `Node::on_tick` (NACK to the current epoch's sequencer, `Ack` of what is durable) |
//!
//! The fixes for the bugs this simulator found in the real RM (bugs 1, 2 and 4 below,
//! docs/testing.md) are in both; `as_in_cluster` restores the behaviour before them
//! ([`crate::Options::rm_as_in_cluster`]).
//!
//! Not modelled: checkpoints, snapshots and log truncation (the log is kept whole, so a peer
//! can always fill a gap), state transfer, strikes, probes and replica replacement (a crashed
//! replica stays silent, a liar keeps lying), quarantine, operator commands. The durable epoch
//! meta (promise, starts) is written synchronously: the real RM answers only once it is on disk.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use dmtbs_delivery::{Delivery, DeliveryConfig};
use dmtbs_proto::{
    Epoch, EpochState, FeId, Message, NodeId, Outgoing, Replay, ReplicaResult, RmId, Sequenced,
    bounded_chain, chain_admits, chain_common_through,
};

use crate::executed::{Decision, Executed, mutates};
use crate::replica::{Kind, Replica};

/// What survives a crash of the RM process: its fsynced log and its epoch meta.
#[derive(Clone, Debug, Default)]
pub struct Disk {
    /// Every request made durable, contiguous from 1.
    pub log: Vec<Sequenced>,
    /// The highest epoch promised.
    pub promised: Epoch,
    /// The chain of the epoch it is in: (epoch, start), the latest [`dmtbs_proto::MAX_CHAIN`].
    pub epochs: Vec<(Epoch, u64)>,
}

impl Disk {
    pub fn through(&self) -> u64 {
        self.log.last().map_or(0, |i| i.seq)
    }
}

/// One request as this RM's replica applied it (the live record the checkers read).
#[derive(Clone, Debug)]
pub struct Applied {
    pub fe: FeId,
    pub request_id: u64,
    /// Executed (a mutating request not recognised as a repeat).
    pub executed: bool,
}

pub struct SimRm {
    pub id: RmId,
    pub kind: Kind,
    /// The planted bug: apply requests as they arrive, skipping the hold-back queue.
    skip_holdback: bool,
    /// Behave as `cluster/src/rm` did before the fixes for the bugs this simulator found (see
    /// [`crate::Options::rm_as_in_cluster`]).
    as_in_cluster: bool,
    pub disk: Disk,
    pub up: bool,
    /// The replica crashed: the RM runs on, the replica computes nothing more (until the RM
    /// process restarts with a fresh instance).
    pub replica_crashed: bool,
    /// The replica hangs inside a call until then.
    pub hung_until: Option<Instant>,
    /// Bumped by a crash or a rollback: a commit started before is void.
    commit_gen: u64,
    commit_in_flight: bool,
    /// A group commit to schedule: (generation, through).
    pub commit_wanted: Option<(u64, u64)>,
    pub delivery: Delivery,
    pub replica: Replica,
    pub executed: Executed,
    pub applied: Vec<Applied>,
    fed_through: u64,
    /// Delivered, written, not yet fsynced.
    unsynced: Vec<Sequenced>,
    held_results: Vec<(FeId, ReplicaResult)>,
    recent: BTreeMap<u64, (FeId, ReplicaResult)>,
    results_sent_through: u64,
    promised_end: Option<u64>,
    fresh: bool,
    /// The planted bug's memory of what it applied.
    applied_set: BTreeSet<u64>,
    /// Epoch starts that discarded requests delivered below the new start, because the RM's
    /// lineage parted from the new epoch's there (bug 5's fix; kept across restarts).
    pub lineage_rollbacks: u64,
}

fn delivery(id: RmId) -> Delivery {
    Delivery::new(DeliveryConfig::new(id, [1, 2, 3, 4]), 1)
}

impl SimRm {
    pub fn new(id: RmId, kind: Kind, skip_holdback: bool, as_in_cluster: bool) -> Self {
        SimRm {
            id,
            kind,
            skip_holdback,
            as_in_cluster,
            disk: Disk::default(),
            up: true,
            replica_crashed: false,
            hung_until: None,
            commit_gen: 0,
            commit_in_flight: false,
            commit_wanted: None,
            delivery: delivery(id),
            replica: Replica::new(kind),
            executed: Executed::default(),
            applied: Vec::new(),
            fed_through: 0,
            unsynced: Vec::new(),
            held_results: Vec::new(),
            recent: BTreeMap::new(),
            results_sent_through: 0,
            promised_end: None,
            fresh: true,
            applied_set: BTreeSet::new(),
            lineage_rollbacks: 0,
        }
    }

    /// `kill -9`: everything not on disk is gone.
    pub fn crash(&mut self) {
        self.up = false;
        self.commit_gen += 1;
        self.commit_in_flight = false;
        self.commit_wanted = None;
    }

    /// The process starts again from its disk: the log replayed into a fresh replica instance,
    /// the results of the replay remembered (for `ResultsWanted`), not sent again.
    pub fn restart(&mut self, out: &mut Vec<Outgoing>) {
        let disk = std::mem::take(&mut self.disk);
        let (commit_gen, lineage_rollbacks) = (self.commit_gen + 1, self.lineage_rollbacks);
        *self = SimRm::new(self.id, self.kind, self.skip_holdback, self.as_in_cluster);
        self.commit_gen = commit_gen;
        self.lineage_rollbacks = lineage_rollbacks;
        self.fresh = disk.log.is_empty();
        self.results_sent_through = disk.through();
        if disk.promised > disk.epochs.last().map_or(0, |e| e.0) {
            // A promise answered before the crash: nothing beyond what is on disk now.
            self.promised_end = Some(disk.through());
        }
        let _ = self.delivery.on_deliver(disk.log.clone());
        self.disk = disk;
        self.feed(out);
    }

    fn current(&self) -> (Epoch, u64) {
        self.disk.epochs.last().copied().unwrap_or((0, 0))
    }

    /// The sequencer of the current epoch: where `Ack`s and `Nack`s go.
    fn sequencer(&self) -> NodeId {
        NodeId::sequencer_of(self.current().0)
    }

    pub fn on_message(&mut self, from: NodeId, msg: Message, out: &mut Vec<Outgoing>) {
        if !self.up {
            return;
        }
        let peer = match from {
            NodeId::Rm(r) if r != self.id => Some(r),
            _ => None,
        };
        match msg {
            Message::Deliver(mut items) if from.is_sequencer() || peer.is_some() => {
                items.retain(|item| {
                    (peer.is_some() || NodeId::sequencer_of(item.epoch) == from)
                        && self.admits(item)
                });
                if self.skip_holdback {
                    self.apply_on_arrival(&items, out);
                }
                let delivered = self.delivery.on_deliver(items);
                self.delivered(delivered, out);
            }
            Message::EpochWanted { epoch } if from == NodeId::sequencer_of(epoch) => {
                self.on_epoch_wanted(epoch, out);
            }
            Message::EpochStart {
                epoch,
                start,
                chain,
            } if from == NodeId::sequencer_of(epoch) => {
                self.on_epoch_start(epoch, start, chain, out);
            }
            Message::Heartbeat { latest } if from == self.sequencer() => {
                self.delivery.on_heartbeat(latest);
            }
            Message::Nack { rm, missing } if peer == Some(rm) => {
                out.extend(self.delivery.on_peer_nack(rm, &missing));
            }
            Message::ResultsWanted(seqs) => {
                if let NodeId::FrontEnd(fe) = from {
                    let again: Vec<ReplicaResult> = seqs
                        .iter()
                        .filter_map(|seq| self.recent.get(seq))
                        .filter(|(owner, _)| *owner == fe)
                        .map(|(_, r)| r.clone())
                        .collect();
                    if !again.is_empty() {
                        out.push(Outgoing::To(from, Message::Results(again)));
                    }
                }
            }
            _ => {}
        }
    }

    pub fn on_tick(&mut self, now: Instant, out: &mut Vec<Outgoing>) {
        if !self.up {
            return;
        }
        if self.hung_until.is_some_and(|t| now >= t) {
            self.hung_until = None;
            self.feed(out);
        }
        if let Some(nack) = self.delivery.nack(now) {
            out.push(match nack {
                Outgoing::To(NodeId::Sequencer, msg) => Outgoing::To(self.sequencer(), msg),
                other => other,
            });
        }
        // The epoch and the promise go with every Ack (bug 7, seeds 34791 and 5961): the
        // sequencer counts it only from an RM in its epoch that promised no later one, and
        // recovers above a promise that stays unstarted.
        out.push(Outgoing::To(
            self.sequencer(),
            Message::Ack {
                rm: self.id,
                through: self.disk.through(),
                epoch: self.current().0,
                promised: self.disk.promised,
            },
        ));
    }

    /// The group commit scheduled as `(gen, through)` is done: that much is on disk.
    pub fn on_commit(&mut self, gen_: u64, through: u64, out: &mut Vec<Outgoing>) {
        if !self.up || gen_ != self.commit_gen {
            return;
        }
        self.commit_in_flight = false;
        let n = self
            .unsynced
            .iter()
            .take_while(|i| i.seq <= through)
            .count();
        self.disk.log.extend(self.unsynced.drain(..n));
        self.want_commit();
        self.release_results(out);
    }

    // --- epochs.rs ---

    fn admits(&self, item: &Sequenced) -> bool {
        if let Some(end) = self.promised_end
            && item.epoch < self.disk.promised
            && item.seq > end
        {
            return false;
        }
        chain_admits(&self.disk.epochs, item.epoch, item.seq)
    }

    fn may_answer(&self, seq: u64) -> bool {
        self.promised_end.is_none_or(|end| seq <= end)
    }

    fn on_epoch_wanted(&mut self, epoch: Epoch, out: &mut Vec<Outgoing>) {
        if epoch > self.disk.promised {
            self.disk.promised = epoch;
        }
        // Bug 4 (seed 9945): the real RM answers the owner of the epoch it promised, so a
        // sequencer asking for a lower epoch than an RM promised to a sequencer since dead never
        // hears that promise — which is how it would raise its candidate — and waits for ever.
        // The proposed fix: answer the sequencer that asked.
        let to = if self.as_in_cluster {
            NodeId::sequencer_of(self.disk.promised)
        } else {
            NodeId::sequencer_of(epoch)
        };
        self.answer_epoch(to, out);
    }

    fn answer_epoch(&mut self, to: NodeId, out: &mut Vec<Outgoing>) {
        let end = self.disk.through();
        if self.disk.promised > self.current().0 {
            self.promised_end = Some(end);
        }
        out.push(Outgoing::To(
            to,
            Message::EpochState(EpochState {
                rm: self.id,
                promised: self.disk.promised,
                chain: bounded_chain(&self.disk.epochs),
                durable_through: end,
                // Bug 2 (seed 3775): `fresh` says only that the log is empty, so an RM that
                // took part in an epoch but received nothing durable looks like one whose disk
                // was lost, and a new sequencer refuses to start. The proposed fix: a promise
                // of an earlier epoch on disk proves the disk was not lost.
                fresh: self.fresh && (self.as_in_cluster || self.disk.epochs.is_empty()),
            }),
        ));
    }

    fn on_epoch_start(
        &mut self,
        epoch: Epoch,
        start: u64,
        chain: Vec<(Epoch, u64)>,
        out: &mut Vec<Outgoing>,
    ) {
        if epoch <= self.current().0 || epoch < self.disk.promised {
            return;
        }
        if chain.last() != Some(&(epoch, start)) {
            return;
        }
        // Bug 5 (seed 71690): what this RM holds beyond the point where its lineage parts from
        // the new epoch's was numbered by a superseded epoch.
        let keep = chain_common_through(&self.disk.epochs, &chain).min(start);
        self.disk.promised = epoch;
        self.disk.epochs = bounded_chain(&chain);
        self.promised_end = None;
        if self.delivery.delivered_through() > keep {
            if keep < start {
                self.lineage_rollbacks += 1;
            }
            self.roll_back_to(keep, out);
        } else if !self.as_in_cluster {
            // Bug 1 (seed 4387): requests of the old epoch beyond `start` still in the
            // hold-back queue were delivered once the gap below them filled, in place of the
            // new epoch's. The fix: forget them too (nothing is delivered beyond `keep`, so
            // this only empties the queue beyond it).
            self.delivery.roll_back_to(keep);
        }
        self.delivery.on_heartbeat(start);
        self.release_results(out);
    }

    /// Discards what lies beyond `start`; a replica that applied any of it is rebuilt from the
    /// log up to `start` (the real RM reinstalls its stable snapshot and replays its log).
    fn roll_back_to(&mut self, start: u64, out: &mut Vec<Outgoing>) {
        self.delivery.roll_back_to(start);
        self.disk.log.retain(|i| i.seq <= start);
        self.unsynced.retain(|i| i.seq <= start);
        self.commit_gen += 1;
        self.commit_in_flight = false;
        self.commit_wanted = None;
        self.want_commit();
        self.held_results.retain(|(_, r)| r.seq <= start);
        self.recent.retain(|&seq, _| seq <= start);
        self.results_sent_through = self.results_sent_through.min(start);
        self.applied_set.retain(|&seq| seq <= start);
        if self.fed_through > start {
            self.replica = Replica::new(self.kind);
            self.executed = Executed::default();
            self.applied.clear();
            self.fed_through = 0;
            self.feed(out);
        }
    }

    // --- durable.rs / applier.rs ---

    fn delivered(&mut self, items: Vec<Sequenced>, out: &mut Vec<Outgoing>) {
        if items.is_empty() {
            return;
        }
        self.fresh = false;
        self.unsynced.extend(items);
        self.want_commit();
        self.feed(out);
    }

    fn want_commit(&mut self) {
        if !self.commit_in_flight
            && let Some(last) = self.unsynced.last()
        {
            self.commit_in_flight = true;
            self.commit_wanted = Some((self.commit_gen, last.seq));
        }
    }

    fn replica_runs(&self) -> bool {
        !self.replica_crashed && self.hung_until.is_none()
    }

    /// Hands every delivered request not yet applied to the replica, in order.
    fn feed(&mut self, out: &mut Vec<Outgoing>) {
        if !self.replica_runs() || self.skip_holdback {
            return;
        }
        let items: Vec<Sequenced> = self
            .delivery
            .log_from(self.fed_through + 1)
            .cloned()
            .collect();
        for item in items {
            let result = self.apply(&item);
            self.fed_through = item.seq;
            if item.seq <= self.results_sent_through {
                self.recent.entry(item.seq).or_insert((item.fe, result));
                continue;
            }
            self.results_sent_through = item.seq;
            self.held_results.push((item.fe, result));
        }
        self.release_results(out);
    }

    fn apply(&mut self, item: &Sequenced) -> ReplicaResult {
        let (outcome, replay_of): (_, Option<Replay>) = match self.executed.decide(item) {
            Decision::Replay(outcome, replay) => (outcome, Some(replay)),
            Decision::Execute => {
                let outcome = self.replica.apply(item.today, &item.operation);
                self.executed.record(item, &outcome);
                (outcome, None)
            }
        };
        self.applied.push(Applied {
            fe: item.fe,
            request_id: item.request_id,
            executed: replay_of.is_none() && mutates(&item.operation),
        });
        ReplicaResult {
            rm: self.id,
            epoch: item.epoch,
            seq: item.seq,
            request_id: item.request_id,
            outcome,
            replay_of,
        }
    }

    /// Results go out only for requests on disk, and not beyond a promise's end.
    fn release_results(&mut self, out: &mut Vec<Outgoing>) {
        let through = self.disk.through();
        let ready = self
            .held_results
            .iter()
            .take_while(|(_, r)| r.seq <= through && self.may_answer(r.seq))
            .count();
        if ready == 0 {
            return;
        }
        let mut per_fe: BTreeMap<FeId, Vec<ReplicaResult>> = BTreeMap::new();
        let released: Vec<(FeId, ReplicaResult)> = self.held_results.drain(..ready).collect();
        for (fe, r) in released {
            self.recent.insert(r.seq, (fe, r.clone()));
            per_fe.entry(fe).or_default().push(r);
        }
        for (fe, results) in per_fe {
            out.push(Outgoing::To(
                NodeId::FrontEnd(fe),
                Message::Results(results),
            ));
        }
    }

    /// The planted bug: every admitted request is applied the moment it arrives, in arrival
    /// order, and answered at once.
    fn apply_on_arrival(&mut self, items: &[Sequenced], out: &mut Vec<Outgoing>) {
        if !self.replica_runs() {
            return;
        }
        for item in items {
            if item.seq <= self.delivery.delivered_through() || !self.applied_set.insert(item.seq) {
                continue;
            }
            let result = self.apply(item);
            self.fed_through = self.fed_through.max(item.seq);
            out.push(Outgoing::To(
                NodeId::FrontEnd(item.fe),
                Message::Results(vec![result]),
            ));
        }
    }

    /// Every request applied so far is the delivered prefix (the planted bug breaks this).
    pub fn applied_through(&self) -> u64 {
        self.fed_through
    }
}
