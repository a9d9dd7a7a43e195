//! A new sequencer's recovery: which epoch it numbers in, and where the history it continues
//! ends — learned from a majority of the replica managers' durable logs (anchor: Viewstamped
//! Replication's view change, NOPaxos' session change).
//!
//! The rules, for a candidate epoch (at first the lowest this sequencer owns above any epoch it
//! knows of: odd ones are the sequencer's, even ones the standby's, so two sequencers never ask
//! for the same epoch):
//! - An answer (`EpochState`) whose `promised` is higher than the candidate, or whose `epoch`
//!   is the candidate or higher, shows that the candidate is not new: the candidate becomes the
//!   lowest owned epoch above both, every answer is forgotten and the RMs are asked again.
//! - An answer promising a lower epoch answered an earlier, lower candidate: it is ignored.
//! - With promises for the candidate from a majority of the configured RMs, the epoch continues
//!   the history of the *highest epoch* `h` any of them is in (Viewstamped Replication's "log of
//!   the highest last normal view"): it starts at `S = max(s_h, the highest durable_through
//!   among those in h)`, `s_h` being h's start, and its chain is h's chain followed by
//!   `(candidate, S)`. An RM in an older epoch counts only through `s_h`: what it holds beyond
//!   was numbered by an epoch h superseded (found by the simulator, `sim/`, seed 71690: counting
//!   it made the new epoch start beyond requests the RMs of h refuse for good). This holds
//!   provided the RMs that still hold data (`fresh == false`) are themselves a majority, or none
//!   does (a brand-new cluster — which only every RM's answer can tell: until then one not
//!   heard from may hold the history). Otherwise more answers are awaited, and once every
//!   configured RM has promised with fewer than a majority still holding data, the sequencer
//!   refuses to start ([`StartRefused`]): a majority lost its disks, and what it held cannot be
//!   told from what it never had.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use dmtbs_proto::{Chain, Epoch, EpochState, NodeId, RmId, bounded_chain};

/// What an answer changed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// Nothing decided: more answers are needed (or the answer was stale).
    Wait,
    /// The candidate was raised to this epoch: ask every RM again, at once.
    Raised(Epoch),
    /// The epoch, where it starts (it numbers from `start + 1`) and its chain (ending with
    /// `(epoch, start)`).
    Decided {
        epoch: Epoch,
        start: u64,
        chain: Chain,
    },
    /// The sequencer must not start.
    Refused(StartRefused),
}

/// The answers gathered for the current candidate epoch.
#[derive(Debug)]
pub(crate) struct Recovery {
    /// The sequencer recovering: the epochs it may ask for are its own.
    me: NodeId,
    /// The configured RMs.
    rms: BTreeSet<RmId>,
    /// The epoch promises are asked for.
    candidate: Epoch,
    /// Promises for `candidate`, one per RM (the latest one).
    answers: BTreeMap<RmId, EpochState>,
}

impl Recovery {
    /// Recovery for sequencer `me`, asking first for its lowest epoch above `after` (an epoch
    /// it knows was used).
    pub(crate) fn new(me: NodeId, rms: &[RmId], after: Epoch) -> Self {
        Recovery {
            me,
            rms: rms.iter().copied().collect(),
            candidate: me.next_epoch_after(after),
            answers: BTreeMap::new(),
        }
    }

    /// More than half of the configured RMs (3 of 4).
    pub(crate) fn majority(&self) -> usize {
        self.rms.len() / 2 + 1
    }

    pub(crate) fn candidate(&self) -> Epoch {
        self.candidate
    }

    /// The promises for the current candidate, by RM.
    pub(crate) fn answers(&self) -> impl Iterator<Item = &EpochState> {
        self.answers.values()
    }

    /// The configured RMs that have not promised the current candidate.
    pub(crate) fn not_answered(&self) -> Vec<RmId> {
        self.rms
            .iter()
            .copied()
            .filter(|rm| !self.answers.contains_key(rm))
            .collect()
    }

    /// Takes one answer from a configured RM (the caller checked the sender).
    pub(crate) fn on_answer(&mut self, state: EpochState) -> Step {
        if !self.rms.contains(&state.rm) {
            return Step::Wait;
        }
        if state.promised > self.candidate || state.epoch() >= self.candidate {
            self.candidate = self.me.next_epoch_after(state.promised.max(state.epoch()));
            self.answers.clear();
            return Step::Raised(self.candidate);
        }
        if state.promised < self.candidate {
            // The answer to an earlier, lower candidate.
            return Step::Wait;
        }
        self.answers.insert(state.rm, state);
        self.decide()
    }

    fn decide(&self) -> Step {
        let majority = self.majority();
        if self.answers.len() < majority {
            return Step::Wait;
        }
        let kept = self.answers.values().filter(|s| !s.fresh).count();
        if kept == 0 && self.answers.len() < self.rms.len() {
            // Only empty stores so far: a new cluster — or RMs that lost their disks while one
            // not heard from yet holds the history. Only every RM's answer tells them apart.
            return Step::Wait;
        }
        if kept == 0 || kept >= majority {
            return self.decided();
        }
        if self.answers.len() < self.rms.len() {
            // Someone not heard from yet may still hold data.
            return Step::Wait;
        }
        if self.answers.values().all(|s| s.durable_through == 0) {
            // Every RM answered and none holds a single request: a new cluster, as when all are
            // fresh — some merely kept an earlier promise (found by the simulator, `sim/`).
            return self.decided();
        }
        Step::Refused(StartRefused {
            epoch: self.candidate,
            holding: self
                .answers
                .values()
                .filter(|s| !s.fresh)
                .map(|s| (s.rm, s.durable_through))
                .collect(),
            empty: self
                .answers
                .values()
                .filter(|s| s.fresh)
                .map(|s| s.rm)
                .collect(),
            majority,
            rms: self.rms.len(),
        })
    }
}

impl Recovery {
    /// The candidate decided on the answers: it continues the highest epoch among them (see
    /// the module docs).
    fn decided(&self) -> Step {
        let highest = self
            .answers
            .values()
            .map(EpochState::epoch)
            .max()
            .unwrap_or(0);
        let in_highest = self.answers.values().filter(|s| s.epoch() == highest);
        // Every RM in `highest` took the same chain (its sequencer decided it once).
        let lineage = in_highest
            .clone()
            .next()
            .map(|s| s.chain.clone())
            .unwrap_or_default();
        let (_, highest_start) = lineage.last().copied().unwrap_or((0, 0));
        let start = in_highest
            .map(|s| s.durable_through)
            .fold(highest_start, u64::max);
        let mut chain = lineage;
        chain.push((self.candidate, start));
        Step::Decided {
            epoch: self.candidate,
            start,
            chain: bounded_chain(&chain),
        }
    }
}

/// Why a new sequencer refuses to number anything: every configured RM answered, some still
/// hold data but fewer than a majority do — a majority lost its disks. Numbering on would
/// invent a history (requests clients were answered for could be given out again), so the
/// sequencer stops and an operator decides. Its message says who holds what and what to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StartRefused {
    /// The epoch the sequencer asked for.
    pub epoch: Epoch,
    /// The RMs whose store holds requests, each with the last one of its durable log.
    pub holding: Vec<(RmId, u64)>,
    /// The RMs reporting an empty store.
    pub empty: Vec<RmId>,
    /// How many RMs must hold data (more than half of them).
    pub majority: usize,
    /// How many RMs are configured.
    pub rms: usize,
}

impl fmt::Display for StartRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let holding: Vec<String> = self
            .holding
            .iter()
            .map(|(rm, through)| format!("RM {rm} holds requests through seq {through}"))
            .collect();
        let empty: Vec<String> = self.empty.iter().map(|rm| format!("RM {rm}")).collect();
        write!(
            f,
            "the sequencer refuses to start: {}, but {} {} an empty store. A majority of the \
             replica managers has lost its disks (only {} of {} still hold data, {} are needed to \
             know where the history ends), and the cluster refuses to invent state. Restore the \
             lost replica managers' data folders (from a backup), or start a fresh cluster with \
             an empty data directory for every replica manager (every booking is then lost)",
            and_list(&holding),
            and_list(&empty),
            if self.empty.len() == 1 {
                "reports"
            } else {
                "report"
            },
            self.holding.len(),
            self.rms,
            self.majority,
        )
    }
}

impl std::error::Error for StartRefused {}

/// `a`, `a and b`, `a, b and c`.
fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An answer from an RM in `epoch` (started at 0; none for 0).
    fn state(rm: RmId, promised: Epoch, epoch: Epoch, through: u64, fresh: bool) -> EpochState {
        let chain = if epoch == 0 { vec![] } else { vec![(epoch, 0)] };
        chained(rm, promised, chain, through, fresh)
    }

    fn chained(rm: RmId, promised: Epoch, chain: Chain, through: u64, fresh: bool) -> EpochState {
        EpochState {
            rm,
            promised,
            chain,
            durable_through: through,
            fresh,
        }
    }

    #[test]
    fn the_refusal_names_who_holds_what() {
        let mut r = Recovery::new(NodeId::Sequencer, &[1, 2, 3, 4], 0);
        assert_eq!(r.on_answer(state(1, 1, 0, 120, false)), Step::Wait);
        assert_eq!(r.on_answer(state(2, 1, 0, 118, false)), Step::Wait);
        assert_eq!(r.on_answer(state(3, 1, 0, 0, true)), Step::Wait);
        let Step::Refused(refused) = r.on_answer(state(4, 1, 0, 0, true)) else {
            panic!("expected a refusal");
        };
        assert_eq!(
            refused.to_string(),
            "the sequencer refuses to start: RM 1 holds requests through seq 120 and RM 2 holds \
             requests through seq 118, but RM 3 and RM 4 report an empty store. A majority of the \
             replica managers has lost its disks (only 2 of 4 still hold data, 3 are needed to \
             know where the history ends), and the cluster refuses to invent state. Restore the \
             lost replica managers' data folders (from a backup), or start a fresh cluster with \
             an empty data directory for every replica manager (every booking is then lost)"
        );
    }

    #[test]
    fn every_rm_answering_with_no_request_at_all_is_a_new_cluster_not_a_refusal() {
        let mut r = Recovery::new(NodeId::Standby, &[1, 2, 3, 4], 0);
        assert_eq!(r.on_answer(state(1, 2, 1, 0, false)), Step::Wait);
        assert_eq!(r.on_answer(state(2, 2, 0, 0, true)), Step::Wait);
        assert_eq!(r.on_answer(state(3, 2, 0, 0, true)), Step::Wait);
        assert_eq!(
            r.on_answer(state(4, 2, 0, 0, true)),
            Step::Decided {
                epoch: 2,
                start: 0,
                chain: vec![(1, 0), (2, 0)]
            }
        );
    }

    /// Bug 5 of the simulator (seed 71690): RM 3, cut off, never took epoch 2 (started at 121)
    /// and reports its epoch-1 log through 128; RMs 1 and 2 took epoch 2. Epoch 3 continues
    /// epoch 2's history — from 121, not from 128, which RMs 1 and 2 would refuse for good.
    #[test]
    fn a_new_epoch_continues_the_highest_epoch_not_the_longest_log() {
        let mut r = Recovery::new(NodeId::Sequencer, &[1, 2, 3, 4], 2);
        let epoch_2 = vec![(1, 0), (2, 121)];
        assert_eq!(
            r.on_answer(chained(3, 3, vec![(1, 0)], 128, false)),
            Step::Wait
        );
        assert_eq!(
            r.on_answer(chained(1, 3, epoch_2.clone(), 121, false)),
            Step::Wait
        );
        assert_eq!(
            r.on_answer(chained(2, 3, epoch_2.clone(), 100, false)),
            Step::Decided {
                epoch: 3,
                start: 121,
                chain: vec![(1, 0), (2, 121), (3, 121)]
            }
        );
        // Epoch 2 numbered 122..=130 (on RM 2's disk): epoch 5 starts after it, whatever an
        // RM of epoch 1 holds.
        let mut r = Recovery::new(NodeId::Sequencer, &[1, 2, 3, 4], 4);
        assert_eq!(
            r.on_answer(chained(3, 5, vec![(1, 0)], 140, false)),
            Step::Wait
        );
        assert_eq!(
            r.on_answer(chained(2, 5, epoch_2.clone(), 130, false)),
            Step::Wait
        );
        assert_eq!(
            r.on_answer(chained(4, 5, epoch_2, 125, false)),
            Step::Decided {
                epoch: 5,
                start: 130,
                chain: vec![(1, 0), (2, 121), (5, 130)]
            }
        );
    }

    #[test]
    fn the_chain_sent_is_bounded_to_its_latest_entries() {
        let long: Chain = (1..=40).map(|e| (e, e * 10)).collect();
        let mut r = Recovery::new(NodeId::Sequencer, &[1, 2, 3, 4], 40);
        for rm in 1..=2 {
            assert_eq!(
                r.on_answer(chained(rm, 41, long.clone(), 400, false)),
                Step::Wait
            );
        }
        let Step::Decided {
            epoch,
            start,
            chain,
        } = r.on_answer(chained(3, 41, long.clone(), 405, false))
        else {
            panic!("expected a decision");
        };
        assert_eq!((epoch, start), (41, 405));
        assert_eq!(chain.len(), dmtbs_proto::MAX_CHAIN);
        assert_eq!(chain.first(), Some(&(10, 100)));
        assert_eq!(chain.last(), Some(&(41, 405)));
    }

    #[test]
    fn an_answer_from_an_unknown_rm_counts_for_nothing() {
        let mut r = Recovery::new(NodeId::Sequencer, &[1, 2, 3, 4], 0);
        assert_eq!(r.on_answer(state(9, 7, 7, 5, false)), Step::Wait);
        assert_eq!(r.candidate(), 1);
        assert_eq!(r.not_answered(), vec![1, 2, 3, 4]);
    }

    #[test]
    fn each_sequencer_asks_only_for_epochs_it_owns() {
        let mut standby = Recovery::new(NodeId::Standby, &[1, 2, 3, 4], 3);
        assert_eq!(standby.candidate(), 4);
        // An RM promised 5 (the sequencer's): the standby's next is 6, never 5.
        assert_eq!(
            standby.on_answer(state(1, 5, 3, 10, false)),
            Step::Raised(6)
        );
        let mut primary = Recovery::new(NodeId::Sequencer, &[1, 2, 3, 4], 0);
        assert_eq!(
            primary.on_answer(state(2, 6, 6, 10, false)),
            Step::Raised(7)
        );
    }
}
