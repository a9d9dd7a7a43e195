//! Sequencer epochs, the replica manager's side (docs/protocol.md, "Sequencer failover").
//!
//! A new sequencer asks every RM to *promise* its epoch (`EpochWanted`) and to say where its
//! durable log ends and which epoch's chain it holds (`EpochState`); with a majority of answers
//! it continues the highest epoch among them, after the longest log of that epoch
//! (`EpochStart`, with the new chain). Every request a client was answered for is on the disks
//! of two RMs, and any majority includes one of them, so the new epoch's history holds it
//! (docs/protocol.md). The RM takes the new chain and discards what it holds beyond the point
//! where its own chain parts from it (`chain_common_through`): numbered by an epoch the new
//! one superseded and seen by no majority. The replica is rolled back through its snapshot and
//! log, so that every RM's log stays a prefix of one history.
//!
//! Between its answer and the start, an RM keeps its promise: it takes no request of an older
//! epoch beyond the end it reported, and sends no result beyond it — otherwise two RMs outside
//! the sequencer's majority could together acknowledge a request the new epoch then drops.

use dmtbs_proto::{
    Epoch, EpochState, Message, NodeId, Outgoing, Sequenced, bounded_chain, chain_admits,
    chain_common_through,
};
use dmtbs_store::Meta;

use super::{Node, Phase};

/// The RM's epoch bookkeeping; `meta` is what it has queued to its store.
#[derive(Debug, Default)]
pub(super) struct Epochs {
    pub meta: Meta,
    /// The promise whose answer waits for the promise to be on disk.
    pub answer_when_durable: Option<Epoch>,
    /// Answered a promise for a newer epoch than the current one: the end reported, beyond
    /// which nothing of an older epoch is taken or answered until that epoch starts.
    pub promised_end: Option<u64>,
}

impl Epochs {
    pub fn new(meta: Meta) -> Self {
        Epochs {
            meta,
            ..Epochs::default()
        }
    }

    /// The epoch last started here, and where it started (0, 0 before any).
    pub fn current(&self) -> (Epoch, u64) {
        self.meta.epochs.last().copied().unwrap_or((0, 0))
    }

    /// Whether `item` belongs to the one history as this RM knows it: its epoch is in this
    /// RM's chain (or older than all of it) and numbered it between its start and the next
    /// epoch's (an epoch whose start is not known yet is asked for again once it is), and no
    /// promise forbids it.
    pub fn admits(&self, item: &Sequenced) -> bool {
        if let Some(end) = self.promised_end
            && item.epoch < self.meta.promised
            && item.seq > end
        {
            return false;
        }
        chain_admits(&self.meta.epochs, item.epoch, item.seq)
    }

    /// Whether the result of request `seq` may go out under the promise.
    pub fn may_answer(&self, seq: u64) -> bool {
        self.promised_end.is_none_or(|end| seq <= end)
    }
}

impl Node {
    /// A new sequencer asks for a promise.
    pub(super) fn on_epoch_wanted(&mut self, epoch: Epoch) {
        if epoch > self.epochs.meta.promised {
            self.epochs.meta.promised = epoch;
            self.store.set_meta(self.epochs.meta.clone());
            self.epochs.answer_when_durable = Some(epoch);
            tracing::info!(rm = self.me, epoch, "promised a new sequencer epoch");
        } else if self.durable.promised >= epoch {
            self.answer_epoch(epoch);
        } else {
            // Asked again before the promise is on disk: the answer follows the commit.
            self.epochs.answer_when_durable = Some(epoch);
        }
    }

    /// Tells the sequencer that asked for epoch `asked` where this RM stands (once its promise is
    /// durable).
    pub(super) fn answer_epoch(&mut self, asked: Epoch) {
        let end = self.durable.through;
        if self.epochs.meta.promised > self.epochs.current().0 {
            self.epochs.promised_end = Some(end);
        }
        // To the sequencer that asked, even when it asked for less than this RM promised since
        // to another: that is how it learns of the promise and asks higher (found by the
        // simulator, sim/ seed 9945 — answering the promised epoch's owner, perhaps dead, left
        // the asker waiting for ever).
        // Fresh only if no epoch ever started here: an RM that took part in an epoch but holds
        // no request did not lose its disk (sim/ seed 3775). A promise alone proves nothing —
        // a disk lost a moment ago promises during the very recovery that asks.
        let fresh = self.fresh && self.epochs.meta.epochs.is_empty();
        self.out.push(Outgoing::To(
            NodeId::sequencer_of(asked),
            Message::EpochState(EpochState {
                rm: self.me,
                promised: self.durable.promised,
                chain: bounded_chain(&self.epochs.meta.epochs),
                durable_through: end,
                fresh,
            }),
        ));
    }

    /// The sequencer's epoch `epoch` numbers from `start + 1`, continuing the history of
    /// `chain` (which ends with `(epoch, start)`; sent at its start and with its heartbeats).
    pub(super) fn on_epoch_start(&mut self, epoch: Epoch, start: u64, chain: Vec<(Epoch, u64)>) {
        if epoch <= self.epochs.current().0 || epoch < self.epochs.meta.promised {
            return; // known already, or a sequencer older than the one promised to
        }
        if chain.last() != Some(&(epoch, start)) {
            tracing::warn!(
                rm = self.me,
                epoch,
                start,
                "epoch start with a chain not ending in it, ignored"
            );
            return;
        }
        // What this RM holds beyond the point where its lineage parts from the new epoch's was
        // numbered by an epoch the new one superseded (sim/ seed 71690: an RM cut off in epoch
        // 1 held epoch 1's requests beyond epoch 2's start).
        let keep = chain_common_through(&self.epochs.meta.epochs, &chain).min(start);
        tracing::info!(
            rm = self.me,
            epoch,
            start,
            keep,
            delivered = self.delivery.delivered_through(),
            "sequencer epoch starts"
        );
        self.epochs.meta.promised = epoch;
        self.epochs.meta.epochs = bounded_chain(&chain);
        self.epochs.promised_end = None;
        self.epochs.answer_when_durable = None;
        self.store.set_meta(self.epochs.meta.clone());
        self.metrics.epoch(epoch);
        if self.delivery.delivered_through() > keep {
            self.roll_back_to(keep);
        } else {
            // Requests of older epochs beyond `keep` still held back are dropped: delivered
            // once the gap below them filled, they would take the place of the new history's
            // (found by the simulator, sim/ seed 4387).
            self.delivery.roll_back_to(keep);
        }
        // What the new sequencer starts after is asked for (from the peers: it has none).
        self.delivery.on_heartbeat(start);
        self.release_results();
    }

    /// Discard everything after `start` — requests of a superseded epoch that no majority
    /// saw — and, if the replica applied any of them, put it back to the state after `start`.
    fn roll_back_to(&mut self, start: u64) {
        let dropped = self.delivery.delivered_through() - start;
        tracing::warn!(
            rm = self.me,
            start,
            dropped,
            "discarding requests of the old epoch beyond the new start (never acknowledged)"
        );
        self.metrics.rolled_back(dropped);
        self.delivery.roll_back_to(start);
        self.store.discard_after(start);
        self.durable.discarded_after(start, self.store_ops());
        self.held_results.retain(|(_, r)| r.seq <= start);
        self.recent.retain(|&seq, _| seq <= start);
        self.results_sent_through = self.results_sent_through.min(start);
        self.checkpoints.forget_after(start);
        if self.fed_through > start && matches!(self.phase, Phase::Serving) {
            // The stable checkpoint is at or below `start`: two RMs agreed on it, so a
            // majority includes one that had it, and the new epoch starts after it.
            let target = self.checkpoints.stable().clone();
            self.generation += 1;
            match self.modules.load(&self.module.0) {
                Ok(module) => self.obtain(module, target, false),
                Err(e) => self.fail(format!("{e:#}")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dmtbs_contract::{Date, Operation, Schedule};

    fn item(epoch: Epoch, seq: u64) -> Sequenced {
        Sequenced {
            epoch,
            seq,
            today: Date {
                year: 2026,
                month: 12,
                day: 7,
            },
            fe: 1,
            request_id: seq,
            key: None,
            operation: Operation::Schedule(Schedule {
                actor: "ATWC0001".into(),
                customer: "ATWC0001".into(),
            }),
        }
    }

    #[test]
    fn requests_of_an_old_epoch_are_taken_only_up_to_where_the_next_started() {
        let e = Epochs::new(Meta {
            promised: 3,
            epochs: vec![(1, 0), (2, 100), (3, 250)],
        });
        assert!(e.admits(&item(1, 100)));
        assert!(!e.admits(&item(1, 101)));
        assert!(e.admits(&item(2, 250)));
        assert!(!e.admits(&item(2, 251)));
        assert!(e.admits(&item(3, 9_999)));
        // An epoch whose start is not known yet.
        assert!(!e.admits(&item(4, 251)));
    }

    /// Seed 71690 of the simulator (bug 5): RM 3, cut off in epoch 1 with epoch 1's requests
    /// through 128, takes epoch 3, which continues epoch 2 (started at 121, numbered 122–125).
    /// It keeps its log through 121 only, and takes epoch 2's 122–125 — never epoch 1's again.
    #[test]
    fn an_rm_of_a_superseded_epoch_keeps_only_what_the_new_chain_shares() {
        let mut e = Epochs::new(Meta {
            promised: 3,
            epochs: vec![(1, 0)],
        });
        assert!(e.admits(&item(1, 128)));
        let chain = vec![(1, 0), (2, 121), (3, 125)];
        assert_eq!(chain_common_through(&e.meta.epochs, &chain), 121);
        e.meta.epochs = chain;
        assert!(e.admits(&item(1, 121)));
        assert!(!e.admits(&item(1, 122)));
        assert!(e.admits(&item(2, 122)) && e.admits(&item(2, 125)));
        assert!(!e.admits(&item(2, 121)) && !e.admits(&item(2, 126)));
        assert!(e.admits(&item(3, 126)) && !e.admits(&item(3, 125)));
    }

    /// Epoch 3 (from 125) died without a majority; epoch 4 continues epoch 2 from 140. An RM
    /// that took epoch 3 keeps its log through 125, and takes none of epoch 3's requests again.
    #[test]
    fn a_superseded_epochs_requests_are_refused_and_rolled_back() {
        let mut e = Epochs::new(Meta {
            promised: 4,
            epochs: vec![(1, 0), (2, 121), (3, 125)],
        });
        assert!(e.admits(&item(3, 130)));
        let chain = vec![(1, 0), (2, 121), (4, 140)];
        assert_eq!(chain_common_through(&e.meta.epochs, &chain), 125);
        e.meta.epochs = chain;
        assert!(!e.admits(&item(3, 126)));
        assert!(e.admits(&item(2, 126)) && e.admits(&item(2, 140)));
        assert!(!e.admits(&item(2, 141)));
        assert!(e.admits(&item(4, 141)));
    }

    #[test]
    fn a_promise_stops_old_requests_and_results_beyond_the_end_reported() {
        let mut e = Epochs::new(Meta {
            promised: 2,
            epochs: vec![(1, 0)],
        });
        e.promised_end = Some(40);
        assert!(e.admits(&item(1, 40)));
        assert!(!e.admits(&item(1, 41)));
        assert!(e.may_answer(40));
        assert!(!e.may_answer(41));
    }
}
