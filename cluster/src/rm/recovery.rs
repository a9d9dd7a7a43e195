//! Replacing the replica: choose a module, obtain a correct state (own copy, or fetched from a
//! peer holding the stable checkpoint), install it in a fresh instance, replay the log
//! (docs/recovery.md, "Replacing a replica").

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use dmtbs_host::ReplicaModule;
use dmtbs_proto::{Message, Outgoing, QuarantineEntry};
use tokio_util::sync::CancellationToken;

use super::applier::Job;
use super::checkpoints::{RmState, Stable};
use super::metrics::SwapKind;
use super::{Choice, Node, Phase, RETRY, transfer};
use crate::config::Timeouts;

impl Node {
    pub(super) fn quarantine(&mut self, module: &str, hash: &str, reason: String) {
        let entry = QuarantineEntry {
            hash: hash.to_owned(),
            module: module.to_owned(),
            by: self.me,
            reason,
        };
        if self.modules.quarantine.add(entry.clone()) {
            self.out
                .push(Outgoing::ToAllRms(Message::Quarantined(entry)));
        }
    }

    /// Install the stable checkpoint's state in a fresh instance of the same module: not a
    /// replica fault (no quarantine, no swap counted), only a way past requests gone from the
    /// peers' logs.
    pub(super) fn catch_up(&mut self) {
        let target = self.checkpoints.stable().clone();
        tracing::warn!(
            rm = self.me,
            delivered = self.delivery.delivered_through(),
            checkpoint = target.seq,
            "behind the stable checkpoint: catching up by state transfer"
        );
        self.behind_since = None;
        self.generation += 1;
        match self.modules.load(&self.module.0) {
            Ok(module) => self.obtain(module, target, false),
            Err(e) => self.fail(format!("{e:#}")),
        }
    }

    /// Replace the replica: pick the module, then install a correct state and replay.
    pub(super) fn recover(&mut self, kind: SwapKind, reason: String, choice: Choice) {
        tracing::warn!(
            rm = self.me,
            module = self.module.0,
            reason,
            "replacing the replica"
        );
        if let Phase::Fetching { cancel, .. } = &self.phase {
            cancel.cancel();
        }
        self.generation += 1;
        self.swaps += 1;
        self.metrics.swap_decided(kind);
        self.last_swap_reason = Some(reason.clone());
        let module = match choice {
            Choice::Next => {
                let (name, hash) = self.module.clone();
                self.quarantine(&name, &hash, reason);
                self.modules.first_usable()
            }
            Choice::Same => self
                .modules
                .load(&self.module.0)
                .or_else(|_| self.modules.first_usable()),
            Choice::Named(name) => self.modules.load(&name),
        };
        match module {
            Ok(module) => {
                let target = self.checkpoints.stable().clone();
                self.obtain(module, target, false);
            }
            Err(e) => self.fail(format!("{e:#}")),
        }
    }

    pub(super) fn fail(&mut self, why: String) {
        tracing::error!(
            rm = self.me,
            why,
            "no usable module: the replica stays silent until an operator swaps one in"
        );
        self.metrics.swap_abandoned();
        self.phase = Phase::Failed;
    }

    /// Get the state of checkpoint `target` — our own copy if it is the agreed one, the empty
    /// state at 0, otherwise from a peer holding it — then install it.
    pub(super) fn obtain(&mut self, module: ReplicaModule, target: Stable, joining: bool) {
        let own = if target.seq == 0 {
            Some(Arc::new(RmState::empty()))
        } else if target.seq == self.checkpoints.stable().seq {
            self.checkpoints.own_stable_state()
        } else {
            None
        };
        if let Some(state) = own {
            self.install(module, target, state, joining);
            return;
        }
        let cancel = CancellationToken::new();
        let holders: Vec<_> = target
            .holders
            .iter()
            .filter(|&&r| r != self.me)
            .filter_map(|&r| self.config.rm(r).map(|s| (r, s.addr)))
            .collect();
        let (codec, generation, sender) = (
            self.transfer_codec.clone(),
            self.generation,
            self.fetched.clone(),
        );
        // Peers only answer from this RM's configured IP address.
        let local = self.config.rm(self.me).map(|r| r.addr.ip());
        let timeout = Timeouts::ms(self.config.recovery.transfer_timeout_ms);
        let (seq, digest, token) = (target.seq, target.digest, cancel.clone());
        tokio::spawn(async move {
            // Each holder in turn; if none delivers, report it (after a pause) and the RM
            // retries with the then-stable checkpoint — peers drop older states as new
            // checkpoints become stable.
            for &(peer, addr) in &holders {
                let attempt = tokio::select! {
                    _ = token.cancelled() => return,
                    r = transfer::fetch(addr, local, &codec, seq, digest, timeout) => r,
                };
                match attempt {
                    Ok(state) => {
                        let _ = sender.send((generation, Ok(state)));
                        return;
                    }
                    Err(e) => tracing::warn!(peer, seq, error = %e, "state transfer failed"),
                }
            }
            tokio::select! {
                _ = token.cancelled() => return,
                _ = tokio::time::sleep(RETRY) => {}
            }
            let _ = sender.send((
                generation,
                Err(anyhow::anyhow!("no peer delivered checkpoint {seq}")),
            ));
        });
        self.phase = Phase::Fetching {
            module,
            target,
            cancel,
            joining,
        };
    }

    pub(super) fn on_fetched(&mut self, generation: u64, state: anyhow::Result<RmState>) {
        if generation != self.generation {
            return;
        }
        let Phase::Fetching {
            module,
            target,
            joining,
            ..
        } = std::mem::replace(&mut self.phase, Phase::Failed)
        else {
            return;
        };
        match state {
            Ok(state) => {
                self.metrics.state_fetched();
                self.install(module, target, Arc::new(state), joining);
            }
            Err(e) if joining => {
                tracing::warn!(rm = self.me, error = %e, "joining again");
                let now = Instant::now();
                self.phase = Phase::Joining {
                    since: now,
                    first_answer: None,
                    last_ask: now - RETRY,
                    answers: BTreeMap::new(),
                };
            }
            Err(e) => {
                tracing::warn!(rm = self.me, error = %e, "fetching the newest stable checkpoint instead");
                let target = self.checkpoints.stable().clone();
                self.obtain(module, target, false);
            }
        }
    }

    /// Install `state` (the one after request `target.seq`) in a fresh instance of `module`,
    /// then replay the log from there.
    pub(super) fn install(
        &mut self,
        module: ReplicaModule,
        target: Stable,
        state: Arc<RmState>,
        joining: bool,
    ) {
        if !joining
            && let Some(from) = replay_gap(
                self.delivery.log_range(),
                self.delivery.delivered_through(),
                target.seq,
            )
        {
            tracing::error!(
                rm = self.me,
                checkpoint = target.seq,
                log_from = from + 1,
                "the log no longer reaches back to the checkpoint, so the replay would be \
                 incomplete: not replaying; waiting for a newer stable checkpoint to fetch"
            );
            self.phase = Phase::AwaitingCheckpoint { module, from };
            return;
        }
        // The state is the base on disk before anything after it is (the store keeps order).
        self.persist_installed(&target, &state);
        // A state past what was delivered here moves delivery forward (a no-op otherwise).
        let ready = self.delivery.start_at(target.seq + 1);
        if !ready.is_empty() {
            self.fresh = false;
            self.store.append(ready);
        }
        // Catching up (status) until the replay reaches what exists now.
        self.caught_up_at = self.delivery.latest_known();
        self.last_replaced = Some(Instant::now());
        if joining {
            // A restarted RM answers only for requests after those already sequenced when it
            // joined: older results are stale and the front ends have moved on. In a new
            // cluster (nothing checkpointed yet) the first requests may arrive while every RM
            // is still joining, so there it answers everything.
            if target.seq > 0 {
                self.results_sent_through = self.delivery.latest_known();
            }
        }
        self.strikes.reset(self.results_sent_through);
        self.checkpoints.reset_to(target.clone());
        // The installed state is this replica's own at that checkpoint too (and can be served).
        self.checkpoints
            .own(target.seq, target.digest, state.clone());
        self.metrics.installing();
        self.applier.submit(Job::Replace {
            generation: self.generation,
            module,
            state,
        });
        self.applied_through = target.seq;
        self.fed_through = target.seq;
        self.phase = Phase::Serving;
        self.feed();
    }
}

/// Whether replaying the log after a state at `checkpoint` would skip requests: `Some(c)` when
/// the log's first request comes after `checkpoint + 1`, where `c` is the newest checkpoint it
/// could still be replayed from. An empty log starts after everything delivered: requests
/// truncated away (a newer checkpoint became stable while the state was fetched) are gone too.
pub(super) fn replay_gap(
    log: Option<dmtbs_proto::SeqRange>,
    delivered_through: u64,
    checkpoint: u64,
) -> Option<u64> {
    let first = log.map_or(delivered_through + 1, |range| range.first);
    (first > checkpoint + 1).then(|| first - 1)
}

#[cfg(test)]
mod tests {
    use super::replay_gap;
    use dmtbs_proto::SeqRange;

    fn range(first: u64, last: u64) -> Option<SeqRange> {
        Some(SeqRange { first, last })
    }

    #[test]
    fn a_log_emptied_past_the_fetched_checkpoint_is_a_gap() {
        // Fetching the state at 25 while 50 became stable and the log (26..=50) was truncated:
        // replaying nothing would skip 26..=50.
        assert_eq!(replay_gap(None, 50, 25), Some(50));
        assert_eq!(replay_gap(range(51, 51), 51, 25), Some(50));
    }

    #[test]
    fn a_log_that_reaches_back_to_the_checkpoint_is_replayed() {
        assert_eq!(replay_gap(range(26, 50), 50, 25), None);
        assert_eq!(replay_gap(range(20, 50), 50, 25), None);
        // Nothing delivered past the checkpoint: nothing to replay, nothing skipped.
        assert_eq!(replay_gap(None, 25, 25), None);
        assert_eq!(replay_gap(None, 10, 25), None);
    }
}
