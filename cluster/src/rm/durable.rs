//! Durability, the replica manager's side (docs/recovery.md, "Restarts"): every delivered
//! request goes to the store's log (`dmtbs-store`, group commit) and no result leaves before its
//! request is on disk — the front end answers at two identical results, so every acknowledged
//! request is on two disks. Stable checkpoints the RM's own replica agreed with become
//! snapshots, and the log is truncated below them. At start, an RM with a store restores its
//! latest snapshot and replays its log instead of asking its peers.

use std::collections::BTreeMap;
use std::sync::Arc;

use dmtbs_host::StateDigest;
use dmtbs_proto::{Epoch, FeId, Message, NodeId, Outgoing, ReplicaResult, Sequenced};
use dmtbs_store::{Committed, Meta, Recovered, Snapshot, Writer};

use super::checkpoints::{RmState, Stable, checkpoint_digest};
use super::executed::Executed;
use super::{Node, RECENT_RESULTS};

/// The store's writer, counting the operations queued (each commit says how many it made
/// durable, in order, so the RM can tell a commit from before a rollback from one after it).
pub(super) struct StoreQueue {
    writer: Writer,
    queued: u64,
}

impl StoreQueue {
    pub fn new(writer: Writer) -> Self {
        StoreQueue { writer, queued: 0 }
    }

    pub fn append(&mut self, items: Vec<Sequenced>) {
        self.queued += 1;
        self.writer.append(items);
    }

    pub fn snapshot(&mut self, snapshot: Snapshot) {
        self.queued += 1;
        self.writer.snapshot(snapshot);
    }

    pub fn truncate_below(&mut self, seq: u64) {
        self.queued += 1;
        self.writer.truncate_below(seq);
    }

    pub fn discard_after(&mut self, seq: u64) {
        self.queued += 1;
        self.writer.discard_after(seq);
    }

    pub fn set_meta(&mut self, meta: Meta) {
        self.queued += 1;
        self.writer.set_meta(meta);
    }

    /// Operations queued so far.
    pub fn queued(&self) -> u64 {
        self.queued
    }
}

/// What this RM's store has made durable, as its commits report it.
#[derive(Debug, Default)]
pub(super) struct Durable {
    /// Every delivered request up to here is on disk.
    pub through: u64,
    /// The epoch promise on disk.
    pub promised: Epoch,
    /// The newest snapshot written or read back.
    pub snapshot: u64,
    /// Operations made durable so far (the sum of the commits' counts).
    committed: u64,
    /// Until this many operations are durable, commits predate a rollback: their `through`
    /// is stale.
    ignore_before: u64,
    /// The last commits' times (fsync included), for the status.
    recent_commits: std::collections::VecDeque<std::time::Duration>,
}

/// Commits whose times the status's p99 is taken over.
const RECENT_COMMITS: usize = 1_024;

impl Durable {
    /// The slowest 1 % of the recent commits.
    pub fn commit_p99(&self) -> std::time::Duration {
        let mut times: Vec<_> = self.recent_commits.iter().copied().collect();
        times.sort_unstable();
        times
            .get((times.len() * 99).div_ceil(100).saturating_sub(1))
            .copied()
            .unwrap_or_default()
    }

    /// A rollback discarded everything after `start`; `queued` operations precede it.
    pub fn discarded_after(&mut self, start: u64, queued: u64) {
        self.through = self.through.min(start);
        self.ignore_before = queued;
    }
}

/// An RM's state as its store had it at start: the snapshot to install (with its digest),
/// and the requests of its log after it.
pub(super) struct Restored {
    pub stable: Stable,
    pub state: Arc<RmState>,
    pub log: Vec<Sequenced>,
}

/// The usable part of what the store recovered, or `None` when the RM must join from its
/// peers (nothing stored, or a snapshot that does not check out — said in the log).
pub(super) fn restored(me: u8, recovered: &mut Recovered) -> Option<Restored> {
    if recovered.fresh {
        return None;
    }
    let (seq, digest, state) = match recovered.snapshot.take() {
        None => (0, RmState::empty().digest(), RmState::empty()),
        Some(Snapshot {
            seq,
            digest,
            state,
            extra,
        }) => {
            let executed = match Executed::from_bytes(&extra) {
                Ok(t) => t,
                Err(e) => {
                    tracing::error!(rm = me, seq, error = %e, "the snapshot's executed-requests table is unreadable: refused; joining from the peers");
                    return None;
                }
            };
            let replica = StateDigest::of(&state).0;
            let actual = checkpoint_digest(replica, &executed);
            if actual != digest {
                if digest == replica || digest == StateDigest::legacy_v1(&state).0 {
                    // Written by wire format 8 (the replica's digest alone) or 7 (before rules
                    // §7.1): sound, and from now on known by the digest peers compare.
                    tracing::info!(
                        rm = me,
                        seq,
                        "the snapshot predates checkpoint digests covering the executed \
                         requests (wire format 7 or 8): taken with its new digest"
                    );
                } else {
                    tracing::error!(
                        rm = me,
                        seq,
                        "the snapshot's state does not have its digest: refused; joining from the peers"
                    );
                    return None;
                }
            }
            (
                seq,
                actual,
                RmState {
                    replica: state,
                    executed,
                },
            )
        }
    };
    Some(Restored {
        stable: Stable {
            seq,
            digest,
            holders: [me].into(),
        },
        state: Arc::new(state),
        log: std::mem::take(&mut recovered.log),
    })
}

impl Node {
    /// Starts from the state on disk: the snapshot installed, the log after it replayed. The
    /// results of the replayed requests went out before the restart (or are stale): they are
    /// only remembered, for a front end that asks again. The peers are asked how far the
    /// cluster is; one far ahead is caught up with by state transfer.
    pub(super) fn restore(&mut self, restored: Restored) {
        let Restored { stable, state, log } = restored;
        let last = log.last().map_or(stable.seq, |i| i.seq);
        tracing::info!(
            rm = self.me,
            snapshot = stable.seq,
            log = log.len(),
            through = last,
            epoch = self.epochs.current().0,
            "restoring from disk"
        );
        self.durable.snapshot = stable.seq;
        self.durable.through = last;
        self.metrics.snapshot_written(stable.seq);
        self.metrics.epoch(self.epochs.current().0);
        if self.epochs.meta.promised > self.epochs.current().0 {
            // A promise answered before the crash: nothing beyond what is on disk now.
            self.epochs.promised_end = Some(last);
        }
        self.checkpoints = super::checkpoints::Checkpoints::new(
            self.me,
            stable.clone(),
            self.config.recovery.checkpoint_every,
        );
        self.delivery.start_at(stable.seq + 1);
        self.delivery.on_deliver(log);
        self.results_sent_through = last;
        match self.modules.load(&self.module.0) {
            Ok(module) => self.install(module, stable, state, false),
            Err(e) => self.fail(format!("{e:#}")),
        }
        self.out.push(Outgoing::ToAllRms(Message::CheckpointWanted));
    }

    /// Requests newly delivered, in order: to the log on disk, and to the replica.
    pub(super) fn delivered(&mut self, items: Vec<Sequenced>) {
        if items.is_empty() {
            return;
        }
        self.fresh = false;
        self.store.append(items);
        self.feed();
    }

    /// The store made what was queued durable.
    pub(super) fn on_committed(&mut self, c: Committed) {
        self.metrics.committed(&c);
        self.durable.committed += c.operations as u64;
        self.durable.recent_commits.push_back(c.commit_time);
        if self.durable.recent_commits.len() > RECENT_COMMITS {
            self.durable.recent_commits.pop_front();
        }
        if self.durable.committed >= self.durable.ignore_before {
            self.durable.through = c.durable_through;
        }
        self.durable.promised = c.meta.promised;
        if let Some(epoch) = self.epochs.answer_when_durable
            && self.durable.promised >= epoch
        {
            self.epochs.answer_when_durable = None;
            self.answer_epoch(epoch);
        }
        self.release_results();
    }

    /// Sends every held result whose request is on disk (and that the epoch promise allows).
    pub(super) fn release_results(&mut self) {
        let (through, epochs) = (self.durable.through, &self.epochs);
        let ready = self
            .held_results
            .iter()
            .take_while(|(_, r)| r.seq <= through && epochs.may_answer(r.seq))
            .count();
        if ready == 0 {
            return;
        }
        let mut per_fe: BTreeMap<FeId, Vec<ReplicaResult>> = BTreeMap::new();
        for (fe, r) in self.held_results.drain(..ready) {
            self.recent.insert(r.seq, (fe, r.clone()));
            per_fe.entry(fe).or_default().push(r);
        }
        while self.recent.len() > RECENT_RESULTS {
            self.recent.pop_first();
        }
        for (fe, results) in per_fe {
            self.metrics.results_sent(results.len());
            self.out.push(Outgoing::To(
                NodeId::FrontEnd(fe),
                Message::Results(results),
            ));
        }
    }

    /// The stable checkpoint `seq` is this replica's own state too: make it the snapshot on
    /// disk, and drop the log below it.
    pub(super) fn persist_stable(&mut self, seq: u64) {
        let stable = self.checkpoints.stable();
        if seq <= self.durable.snapshot || stable.seq != seq {
            return;
        }
        if let Some(state) = self.checkpoints.own_agreed(seq, stable.digest) {
            let digest = stable.digest;
            self.write_snapshot(seq, digest, &state);
        }
    }

    /// A state installed from elsewhere (a peer, or after a rollback) is the new base.
    pub(super) fn persist_installed(&mut self, target: &Stable, state: &RmState) {
        if target.seq != self.durable.snapshot {
            self.write_snapshot(target.seq, target.digest, state);
        }
    }

    fn write_snapshot(&mut self, seq: u64, digest: [u8; 32], state: &RmState) {
        self.store.snapshot(Snapshot {
            seq,
            digest,
            state: state.replica.clone(), // an `Arc`: the state is not copied here
            extra: state.executed.to_bytes(),
        });
        self.store.truncate_below(seq + 1);
        self.durable.snapshot = seq;
        self.metrics.snapshot_written(seq);
    }

    /// Operations queued to the store so far (to tell commits before a rollback from after).
    pub(super) fn store_ops(&self) -> u64 {
        self.store.queued()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dmtbs_contract::{CanonicalState, ShowEntry};

    fn recovered(digest: [u8; 32], state: &CanonicalState) -> Recovered {
        Recovered {
            fresh: false,
            snapshot: Some(Snapshot {
                seq: 10,
                digest,
                state: std::sync::Arc::new(state.clone()),
                extra: Executed::default().to_bytes(),
            }),
            log: Vec::new(),
            meta: Default::default(),
            problems: Vec::new(),
        }
    }

    #[test]
    fn a_snapshot_is_taken_with_its_digest_a_legacy_one_rekeyed_a_wrong_one_refused() {
        let state = CanonicalState {
            shows: vec![ShowEntry {
                movie: "Avatar".into(),
                show_id: "ATWM251126".into(),
                capacity: 5,
            }],
            bookings: Vec::new(),
        };
        let new = checkpoint_digest(StateDigest::of(&state).0, &Executed::default());
        let got = restored(1, &mut recovered(new, &state)).expect("taken");
        assert_eq!((got.stable.seq, got.stable.digest), (10, new));
        // Stored by wire format 8 (the replica's digest alone) and 7 (before rules §7.1): the
        // same state, known from now on by its new digest.
        for legacy in [StateDigest::of(&state).0, StateDigest::legacy_v1(&state).0] {
            let got = restored(1, &mut recovered(legacy, &state)).expect("taken");
            assert_eq!(got.stable.digest, new);
        }
        assert!(restored(1, &mut recovered([7; 32], &state)).is_none());
    }
}
