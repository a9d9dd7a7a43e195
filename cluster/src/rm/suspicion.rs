//! Silence: probing a peer the front end found silent, and agreeing with the others that it
//! is dead or hung (docs/recovery.md, "Silence: probes and agreement").

use std::time::Instant;

use dmtbs_proto::{Message, NodeId, Outgoing, RmId};

use super::metrics::SwapKind;
use super::{Choice, Node, PROBE_EVERY, Phase, SUSPICION_FRESH};
use crate::config::Timeouts;

impl Node {
    /// Probe a peer the front end found silent (at most once per `PROBE_EVERY`).
    pub(super) fn probe(&mut self, suspect: RmId) {
        let now = Instant::now();
        if self
            .last_probe
            .get(&suspect)
            .is_some_and(|t| now.duration_since(*t) < PROBE_EVERY)
        {
            return;
        }
        self.last_probe.insert(suspect, now);
        let nonce = self.next_nonce;
        self.next_nonce += 1;
        self.probes.insert(suspect, (nonce, now, now));
        self.out
            .push(Outgoing::To(NodeId::Rm(suspect), Message::Probe { nonce }));
    }

    /// Our judgement of a probed suspect: counted here and told to the other RMs.
    pub(super) fn suspect(&mut self, suspect: RmId, dead: bool) {
        self.out
            .push(Outgoing::ToAllRms(Message::Suspicion { suspect, dead }));
        self.count_suspicion(suspect, self.me, dead);
    }

    /// A majority of the RMs other than the suspect judging it dead or hung is an agreement.
    pub(super) fn count_suspicion(&mut self, suspect: RmId, voter: RmId, dead: bool) {
        if voter == suspect {
            return;
        }
        let now = Instant::now();
        let votes = self.suspicions.entry(suspect).or_default();
        votes.insert(voter, (dead, now));
        votes.retain(|_, (_, t)| now.duration_since(*t) < SUSPICION_FRESH);
        let dead_votes = votes.values().filter(|(d, _)| *d).count();
        let majority = (self.config.rms.len() - 1) / 2 + 1;
        if dead_votes < majority {
            return;
        }
        self.suspicions.remove(&suspect);
        // Never itself: an RM that hears the others judge it dead is alive to hear it, and only
        // a probe of the suspect clears the list — which an RM never sends to itself.
        if suspect != self.me {
            self.agreed_dead.insert(suspect, now);
        }
        tracing::warn!(
            rm = self.me,
            suspect,
            "a majority of replica managers agree the replica is dead or hung"
        );
        if suspect == self.me && matches!(self.phase, Phase::Serving) {
            // This RM knows its own replica: only if it really is inside one call for too long
            // is it hung. Otherwise the probes or their answers were lost on the network, and
            // replacing a working replica (and quarantining a good module) would be wrong.
            let hang = Timeouts::ms(self.config.recovery.hang_ms);
            if self.applier.busy_for().is_some_and(|t| t > hang) {
                self.recover(
                    SwapKind::Hung,
                    "a majority of replica managers found it hung".into(),
                    Choice::Next,
                );
            } else {
                tracing::warn!(
                    rm = self.me,
                    "peers judged this RM dead, but its replica is responsive: messages were lost"
                );
            }
        }
    }
}
