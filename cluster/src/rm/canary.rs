//! Canary swaps (docs/recovery.md, "Canary swaps"): before an operator's swap takes effect, the
//! new module runs in **shadow** beside the current replica — a second instance, given the
//! replica's current state, then every request the replica executes, on the replica's thread
//! right after the replica, so both see the same requests at the same points. Its results are
//! compared with the replica's, never voted. Once it has agreed on the requests asked (and then
//! on the whole state's digest), the swap goes ahead as an ordinary one; at its first
//! divergence, trap or fuel exhaustion it is refused and its module quarantined cluster-wide —
//! the current replica never stopped serving.
//!
//! The shadow's time is the RM's: while a canary runs, this RM answers a little later (the other
//! RMs make the quorum), and a module that loops holds it until the host's fuel limit stops it.

use std::time::Instant;

use dmtbs_contract::Outcome;
use dmtbs_host::{Replica, ReplicaHandle, ReplicaModule, StateDigest};
use dmtbs_proto::{CanaryProgress, CanarySpec};

use super::applier::{Done, Job, request};
use super::metrics::SwapKind;
use super::{Choice, Node, Phase};

/// The replica thread's side: the shadow instance and what it has matched.
pub(super) struct Shadow {
    pub generation: u64,
    module: ReplicaModule,
    handle: ReplicaHandle,
    pub compared: u64,
    target: u64,
}

impl Shadow {
    /// A fresh instance of `module` with the replica's current state; a refusal if either fails.
    pub fn start(
        replica: &mut dyn Replica,
        generation: u64,
        module: ReplicaModule,
        requests: u64,
    ) -> Result<Shadow, Done> {
        let state = replica.export_state().map_err(|e| {
            refusal(
                generation,
                &module,
                format!("the current replica's state could not be exported: {e}"),
                false,
            )
        })?;
        let handle = ReplicaHandle::spawn(&module, &state).map_err(|e| {
            refusal(
                generation,
                &module,
                format!("it could not take the current state: {e}"),
                true,
            )
        })?;
        Ok(Shadow {
            generation,
            module,
            handle,
            compared: 0,
            target: requests.max(1),
        })
    }

    /// After each job of the replica: the requests an `Apply` executed go to the shadow too (a
    /// replay answered from the executed-requests table runs on neither). The verdict, once
    /// there is one.
    pub fn follow(&mut self, replica: &mut dyn Replica, done: &Done) -> Option<Done> {
        let Done::Applied {
            generation,
            requests,
            outcomes,
            ..
        } = done
        else {
            return None;
        };
        if *generation != self.generation {
            return None;
        }
        let executed: Vec<(dmtbs_contract::Request, &Outcome)> = requests
            .iter()
            .zip(outcomes)
            .filter(|(_, (_, replay))| replay.is_none())
            .map(|(item, (outcome, _))| (request(item), outcome))
            .collect();
        if executed.is_empty() {
            return None;
        }
        let batch = self
            .handle
            .apply_batch(executed.iter().map(|(r, _)| r.clone()).collect());
        for ((req, expected), got) in executed.iter().zip(&batch.outcomes) {
            if got != *expected {
                return Some(self.refuse(format!(
                    "request {}: the current module answered {expected:?}, {} answered {got:?}",
                    req.context.seq,
                    self.module.name()
                )));
            }
            self.compared += 1;
        }
        if let Some(failure) = batch.failure {
            let seq = executed[batch.outcomes.len()].0.context.seq;
            return Some(self.refuse(format!("request {seq}: {failure}")));
        }
        (self.compared >= self.target).then(|| self.judge_state(replica))
    }

    /// The canary's time is up: judged on what it saw (nothing seen is a refusal: a module
    /// never compared is not a checked one).
    pub fn finish(self, replica: &mut dyn Replica) -> Done {
        if self.compared == 0 {
            // Not the module's fault: it is refused, not quarantined.
            return refusal(
                self.generation,
                &self.module,
                "no request reached it in the canary's time, so nothing was compared (retry \
                 under traffic, or swap without a canary)"
                    .into(),
                false,
            );
        }
        self.judge_state(replica)
    }

    /// The last check: the whole state, as a checkpoint compares it (a module can answer right
    /// and still keep a wrong state).
    fn judge_state(&self, replica: &mut dyn Replica) -> Done {
        match (replica.export_state(), self.handle.export_state()) {
            (Ok(current), Ok(shadow)) => {
                let (want, got) = (StateDigest::of(&current), StateDigest::of(&shadow));
                if want == got {
                    Done::Canary {
                        generation: self.generation,
                        module: self.module.name().to_owned(),
                        hash: self.module.hash().to_owned(),
                        verdict: Ok(self.compared),
                    }
                } else {
                    self.refuse(format!(
                        "its results agreed on {} requests but its state differs: digest {got} \
                         instead of {want}",
                        self.compared
                    ))
                }
            }
            (Err(e), _) => refusal(
                self.generation,
                &self.module,
                format!("the current replica's state could not be exported to compare: {e}"),
                false,
            ),
            (_, Err(e)) => self.refuse(format!("exporting its state failed: {e}")),
        }
    }

    /// A refusal for a fault of the module's own (quarantined).
    fn refuse(&self, why: String) -> Done {
        refusal(self.generation, &self.module, why, true)
    }
}

/// `faulty`: the module's own doing (a wrong result or state, a trap, fuel or memory), which
/// quarantines it; otherwise it is only refused.
fn refusal(generation: u64, module: &ReplicaModule, why: String, faulty: bool) -> Done {
    Done::Canary {
        generation,
        module: module.name().to_owned(),
        hash: module.hash().to_owned(),
        verdict: Err(Refusal { why, faulty }),
    }
}

/// Why a canary did not go ahead.
pub(super) struct Refusal {
    pub why: String,
    /// The module's own fault: quarantined.
    pub faulty: bool,
}

/// The RM's side: the canary in flight.
pub(super) struct Canary {
    module: String,
    spec: CanarySpec,
    deadline: Instant,
    generation: u64,
    /// The applier was told the time is up.
    ending: bool,
}

impl Node {
    /// Starts a canary of `module`; an error if one is in flight or the replica is not serving.
    pub(super) fn start_canary(
        &mut self,
        module: ReplicaModule,
        spec: CanarySpec,
        now: Instant,
    ) -> Result<(), String> {
        if let Some(c) = &self.canary {
            return Err(format!(
                "a canary swap of {} is in flight on RM {}: one swap at a time",
                c.module, self.me
            ));
        }
        if !matches!(self.phase, Phase::Serving) {
            return Err(format!(
                "RM {} is recovering its replica: a canary needs a serving replica to compare \
                 with (retry once it serves)",
                self.me
            ));
        }
        tracing::info!(
            rm = self.me,
            module = module.name(),
            requests = spec.requests,
            seconds = spec.seconds,
            "canary swap: the module runs in shadow"
        );
        self.applier.submit(Job::CanaryStart {
            generation: self.generation,
            module: module.clone(),
            requests: u64::from(spec.requests),
        });
        self.canary = Some(Canary {
            module: module.name().to_owned(),
            spec,
            deadline: now + std::time::Duration::from_secs(u64::from(spec.seconds)),
            generation: self.generation,
            ending: false,
        });
        Ok(())
    }

    /// On every tick: a canary whose time is up is judged; one overtaken by a replacement of
    /// the replica is over.
    pub(super) fn canary_tick(&mut self, now: Instant) {
        let Some(c) = &mut self.canary else {
            return;
        };
        if c.generation != self.generation {
            self.last_canary = Some(format!(
                "{} cancelled: the replica was replaced meanwhile",
                c.module
            ));
            self.canary = None;
        } else if now >= c.deadline && !c.ending {
            c.ending = true;
            self.applier.submit(Job::CanaryEnd {
                generation: c.generation,
            });
        }
    }

    /// The applier's verdict: promote (an ordinary operator swap) or refuse and quarantine.
    pub(super) fn on_canary(
        &mut self,
        generation: u64,
        module: String,
        hash: String,
        verdict: Result<u64, Refusal>,
    ) {
        if self
            .canary
            .as_ref()
            .is_none_or(|c| c.generation != generation)
        {
            return;
        }
        self.canary = None;
        match verdict {
            Ok(compared) => {
                let reason = format!(
                    "{module} promoted after agreeing on {compared} requests and on the state"
                );
                tracing::info!(rm = self.me, module, compared, "canary swap: promoted");
                self.last_canary = Some(reason.clone());
                self.recover(
                    SwapKind::Operator,
                    format!("operator swap ({reason})"),
                    Choice::Named(module),
                );
            }
            Err(Refusal { why, faulty }) => {
                tracing::warn!(rm = self.me, module, why, faulty, "canary swap: refused");
                self.last_canary = Some(format!("{module} refused: {why}"));
                if faulty {
                    self.quarantine(
                        &module,
                        &hash,
                        format!("canary swap refused on RM {}: {why}", self.me),
                    );
                }
            }
        }
    }

    /// For the status.
    pub(super) fn canary_progress(&self) -> Option<CanaryProgress> {
        self.canary.as_ref().map(|c| CanaryProgress {
            module: c.module.clone(),
            compared: self.applier.canary_compared(),
            spec: c.spec,
        })
    }
}
