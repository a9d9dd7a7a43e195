//! Sequencer epochs, the replica manager's side (docs/protocol.md, "Sequencer failover").
//!
//! A new sequencer asks every RM to *promise* its epoch (`EpochWanted`) and to say where its
//! durable log ends (`EpochState`); with a majority of answers it starts numbering after the
//! highest of them (`EpochStart`). Every request a client was answered for is on the disks of
//! two RMs, and any majority includes one of them, so the new epoch starts after it. What an
//! RM holds beyond the start was numbered by the dead sequencer and seen by no majority: it is
//! discarded, the replica rolled back through its snapshot and log, so that every RM's log
//! stays a prefix of one history.
//!
//! Between its answer and the start, an RM keeps its promise: it takes no request of an older
//! epoch beyond the end it reported, and sends no result beyond it — otherwise two RMs outside
//! the sequencer's majority could together acknowledge a request the new epoch then drops.

use dmtbs_proto::{Epoch, EpochState, Message, NodeId, Outgoing, Sequenced};
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

    /// Whether `item` belongs to the one history as this RM knows it: no later epoch started
    /// before it, its own epoch is known, and no promise forbids it.
    pub fn admits(&self, item: &Sequenced) -> bool {
        let (current, _) = self.current();
        if item.epoch > current {
            return false; // its start is not known yet; it is asked for again once it is
        }
        if let Some(end) = self.promised_end
            && item.epoch < self.meta.promised
            && item.seq > end
        {
            return false;
        }
        self.meta
            .epochs
            .iter()
            .filter(|(e, _)| *e > item.epoch)
            .all(|(_, start)| item.seq <= *start)
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
                epoch: self.epochs.current().0,
                durable_through: end,
                fresh,
            }),
        ));
    }

    /// The sequencer's epoch `epoch` numbers from `start + 1` (sent at its start and with its
    /// heartbeats).
    pub(super) fn on_epoch_start(&mut self, epoch: Epoch, start: u64) {
        if epoch <= self.epochs.current().0 || epoch < self.epochs.meta.promised {
            return; // known already, or a sequencer older than the one promised to
        }
        tracing::info!(
            rm = self.me,
            epoch,
            start,
            delivered = self.delivery.delivered_through(),
            "sequencer epoch starts"
        );
        self.epochs.meta.promised = epoch;
        self.epochs.meta.epochs.push((epoch, start));
        self.epochs.promised_end = None;
        self.epochs.answer_when_durable = None;
        self.store.set_meta(self.epochs.meta.clone());
        self.metrics.epoch(epoch);
        if self.delivery.delivered_through() > start {
            self.roll_back_to(start);
        } else {
            // Requests of the old epoch beyond `start` still held back are dropped: delivered
            // once the gap below them filled, they would take the place of the new epoch's
            // (found by the simulator, sim/ seed 4387). What the new sequencer starts after is
            // asked for (from the peers: it has none).
            self.delivery.roll_back_to(start);
        }
        self.release_results();
    }

    /// Discard everything after `start` — requests of an older epoch that no majority saw —
    /// and, if the replica applied any of them, put it back to the state after `start`.
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
