//! The replica's work, seen from the RM: requests handed to the applier in order (with a
//! checkpoint job after every K-th), and what comes back — results, checkpoints, replacements,
//! canary verdicts.

use dmtbs_proto::{CheckpointDigest, Message, Outgoing, ReplicaResult, Sequenced};

use super::applier::{Done, Job};
use super::checkpoints::Change;
use super::metrics::SwapKind;
use super::{Choice, Node, Phase, RECENT_RESULTS};

impl Node {
    /// Hand every delivered request not yet fed to the applier, with a checkpoint job after
    /// every `checkpoint_every`-th (an export) and every `digest_every`-th (a digest check).
    pub(super) fn feed(&mut self) {
        if !matches!(self.phase, Phase::Serving) {
            return;
        }
        let every = self.config.recovery.checkpoint_every;
        let digest_every = self.config.recovery.digest_every;
        let mut batch = Vec::new();
        for item in self.delivery.log_from(self.fed_through + 1) {
            let seq = item.seq;
            if seq != self.fed_through + 1 {
                // Applying past a hole would give every later request a wrong state. `install`
                // refuses a replay with a gap, so this is a bug; stay silent rather than wrong.
                tracing::error!(
                    rm = self.me,
                    fed_through = self.fed_through,
                    next = seq,
                    "requests missing between the replica's state and the log: not applying"
                );
                debug_assert!(false, "feed: {} follows {}", seq, self.fed_through);
                break;
            }
            batch.push(item.clone());
            let export = seq.is_multiple_of(every);
            if export || seq.is_multiple_of(digest_every) {
                self.applier.submit(Job::Apply {
                    generation: self.generation,
                    requests: std::mem::take(&mut batch),
                });
                self.applier.submit(Job::Checkpoint {
                    generation: self.generation,
                    seq,
                    export,
                });
            }
            self.fed_through = seq;
        }
        if !batch.is_empty() {
            self.applier.submit(Job::Apply {
                generation: self.generation,
                requests: batch,
            });
        }
    }

    pub(super) fn on_done(&mut self, done: Done) {
        match done {
            Done::Applied {
                generation,
                requests,
                outcomes,
                failure,
            } if generation == self.generation => {
                let behind = self.applied_through < self.caught_up_at;
                for (s, (outcome, replay_of)) in requests.iter().zip(outcomes) {
                    self.applied_through = s.seq;
                    let result = self.result(s, outcome, replay_of);
                    if s.seq <= self.results_sent_through {
                        // A replay: its result went out before, or is stale. Remembered for a
                        // front end that asks again (one that outlived a restart of this RM).
                        if s.seq > self.durable.snapshot {
                            self.recent.entry(s.seq).or_insert((s.fe, result));
                        }
                        continue;
                    }
                    self.results_sent_through = s.seq;
                    self.held_results.push((s.fe, result));
                }
                self.release_results();
                while self.recent.len() > RECENT_RESULTS {
                    self.recent.pop_first();
                }
                if behind && self.applied_through >= self.caught_up_at {
                    // The replay reached the present: what queued up meanwhile is not slowness.
                    self.quiet_through = self.delivery.delivered_through();
                }
                if let Some(failure) = failure {
                    tracing::error!(rm = self.me, error.type = failure.kind(), %failure, "replica failed");
                    self.recover(
                        SwapKind::Crash,
                        format!("the replica failed: {failure}"),
                        Choice::Next,
                    );
                }
            }
            Done::Checkpoint {
                generation,
                seq,
                result,
            } if generation == self.generation => {
                match result {
                    Ok((digest, state)) => {
                        self.out
                            .push(Outgoing::ToAllRms(Message::Checkpoint(CheckpointDigest {
                                rm: self.me,
                                seq,
                                digest,
                            })));
                        self.quiet_through = self.delivery.delivered_through();
                        let Some(state) = state else {
                            self.metrics.digest_checked();
                            let change = self.checkpoints.own_digest(seq, digest);
                            self.on_change(change);
                            return;
                        };
                        self.metrics.checkpoint_taken();
                        let change = self.checkpoints.own(seq, digest, state);
                        self.on_change(change);
                        // Agreed by peers before this RM got there: its own state is the snapshot.
                        self.persist_stable(seq);
                    }
                    Err(failure) => {
                        self.recover(
                        SwapKind::Crash,
                        format!("the replica failed at the checkpoint after request {seq}: {failure}"),
                        Choice::Next,
                    );
                    }
                }
            }
            Done::Replaced {
                generation,
                module,
                hash,
                result,
            } if generation == self.generation => match result {
                // Quarantined by a peer while it was being installed (the message came after
                // the replacement had started): it must not serve.
                Ok(()) if self.modules.quarantine.contains(&hash) => {
                    self.recover(
                        SwapKind::Quarantined,
                        format!("{module} was quarantined while it was being installed"),
                        Choice::Same,
                    );
                }
                Ok(()) => {
                    tracing::info!(rm = self.me, module, "replica serving again");
                    // A restart runs it again (the cluster file's list is the initial choice).
                    self.modules.remember(&module, &hash);
                    self.module = (module, hash);
                    self.metrics.installed();
                    self.quiet_through = self.delivery.delivered_through();
                }
                Err(e) => {
                    // The new instance could not start or refused the state: that module is
                    // no good either.
                    self.quarantine(&module, &hash, format!("failed to take over: {e}"));
                    self.recover(
                        SwapKind::TakeoverFailed,
                        format!("{module} failed to take over: {e}"),
                        Choice::Next,
                    );
                }
            },
            Done::Canary {
                generation,
                module,
                hash,
                verdict,
            } => self.on_canary(generation, module, hash, verdict),
            _ => {} // from an instance since replaced
        }
        self.sync_metrics();
    }

    pub(super) fn result(
        &self,
        s: &Sequenced,
        outcome: dmtbs_contract::Outcome,
        replay_of: Option<dmtbs_proto::Replay>,
    ) -> ReplicaResult {
        ReplicaResult {
            rm: self.me,
            epoch: s.epoch,
            seq: s.seq,
            request_id: s.request_id,
            outcome,
            replay_of,
        }
    }

    pub(super) fn on_change(&mut self, change: Change) {
        if let Some(seq) = change.new_stable {
            // Keep what the replica has not been handed yet, whatever the checkpoint says.
            self.delivery
                .truncate_below((seq + 1).min(self.fed_through + 1));
            self.persist_stable(seq);
        }
        if let Some(seq) = change.own_mismatch
            && matches!(self.phase, Phase::Serving)
        {
            self.recover(
                SwapKind::Corrupt,
                format!("its state at checkpoint {seq} differs from the one the others agree on"),
                Choice::Next,
            );
        }
    }
}
