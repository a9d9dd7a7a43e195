//! The operator's side of a replica manager: commands through a front end (status, swap,
//! quarantine, chaos), the status it reports, and its metrics mirrored from its state.

use dmtbs_proto::{AdminCommand, Health, Message, NodeId, Outgoing, RmStatus};

use super::metrics::{Snapshot, SwapKind};
use super::{Choice, Node, Phase};

impl Node {
    pub(super) fn on_admin(&mut self, from: NodeId, command: AdminCommand) {
        let (nonce, error) = match command {
            AdminCommand::Status { nonce } => (nonce, None),
            AdminCommand::Swap {
                nonce,
                module,
                others,
                canary,
            } => {
                let min = self.config.min_implementations();
                let error = match self.modules.load(&module) {
                    // Two RMs on one implementation can agree on its bug: refused while fewer
                    // than the cluster's minimum of distinct implementations would remain
                    // (counted over the RMs that answered, and this one with the new module).
                    Ok(loaded)
                        if others.iter().any(|h| *h == loaded.hash())
                            && distinct_with(&others, loaded.hash()) < min =>
                    {
                        Some(format!(
                            "another replica manager already runs {module} (hash {}): the RMs \
                             would run {} distinct implementations, fewer than the cluster's \
                             minimum of {min} ([cluster] min_implementations), and two on one \
                             implementation lose the protection of independent versions; force \
                             the swap to do it anyway",
                            &loaded.hash()[..12.min(loaded.hash().len())],
                            distinct_with(&others, loaded.hash())
                        ))
                    }
                    // One swap at a time: a second one during a canary is refused.
                    Ok(_) if self.canary.is_some() => Some(format!(
                        "a canary swap is in flight on RM {}: one swap at a time",
                        self.me
                    )),
                    Ok(loaded) => match canary {
                        Some(spec) => self
                            .start_canary(loaded, spec, std::time::Instant::now())
                            .err(),
                        None => {
                            self.recover(
                                SwapKind::Operator,
                                format!("operator swap to {module}"),
                                Choice::Named(module),
                            );
                            None
                        }
                    },
                    Err(e) => Some(format!("{e:#}")),
                };
                (nonce, error)
            }
            AdminCommand::ClearQuarantine { nonce, module } => {
                let removed = self.modules.quarantine.clear(module.as_deref());
                let error = (removed.is_empty() && module.is_some())
                    .then(|| format!("{} is not quarantined", module.unwrap_or_default()));
                (nonce, error)
            }
            // Chaos is the wire's business, answered as every kind of node answers it.
            chaos @ (AdminCommand::Drop { .. }
            | AdminCommand::Heal { .. }
            | AdminCommand::Links { .. }) => {
                let reply = self.wire.answer_admin(from, &chaos);
                self.out.push(reply);
                return;
            }
        };
        self.out.push(Outgoing::To(
            from,
            Message::Status {
                nonce,
                status: Box::new(self.status()),
                error,
            },
        ));
    }

    pub(super) fn status(&self) -> RmStatus {
        let stable = self.checkpoints.stable();
        RmStatus {
            rm: self.me,
            pid: std::process::id(),
            module: self.module.0.clone(),
            hash: self.module.1.clone(),
            health: self.health(),
            applied_through: self.applied_through,
            delivered_through: self.delivery.delivered_through(),
            consecutive_wrong: self.strikes.wrong,
            consecutive_silent: self.strikes.silent,
            swaps: self.swaps,
            stable_checkpoint: stable.seq,
            stable_digest: stable.digest,
            own_checkpoint: self.checkpoints.own_latest(),
            last_swap_reason: self.last_swap_reason.clone(),
            quarantine: self.modules.quarantine.list(),
            agreed_dead: self.agreed_dead.keys().copied().collect(),
            epoch: self.epochs.current().0,
            durable_through: self.durable.through,
            commit_p99_micros: self.durable.commit_p99().as_micros() as u64,
            canary: self.canary_progress(),
            last_canary: self.last_canary.clone(),
        }
    }

    pub(super) fn health(&self) -> Health {
        match self.phase {
            Phase::Joining { .. } | Phase::Fetching { .. } | Phase::AwaitingCheckpoint { .. } => {
                Health::Recovering
            }
            Phase::Failed => Health::Failed,
            Phase::Serving if self.applied_through < self.caught_up_at => Health::CatchingUp,
            Phase::Serving => Health::Serving,
        }
    }

    /// Mirrors the RM's state into its gauges (on ticks and after each replica job).
    pub(super) fn sync_metrics(&mut self) {
        let snapshot = Snapshot {
            health: self.health(),
            applied_through: self.applied_through,
            delivery: &self.delivery,
            consecutive_wrong: self.strikes.wrong,
            consecutive_silent: self.strikes.silent,
            stable_checkpoint: self.checkpoints.stable().seq,
            module: &self.module,
        };
        self.metrics.sync(&snapshot);
    }
}

/// Distinct hashes among the other RMs' modules and `new` (this RM's after the swap).
fn distinct_with(others: &[String], new: &str) -> usize {
    let mut all: Vec<&str> = others.iter().map(String::as_str).collect();
    all.push(new);
    all.sort_unstable();
    all.dedup();
    all.len()
}

#[cfg(test)]
mod tests {
    use super::distinct_with;

    #[test]
    fn distinct_implementations_after_a_swap_count_the_new_module_once() {
        let others = ["a".to_owned(), "b".to_owned(), "d".to_owned()];
        assert_eq!(distinct_with(&others, "e"), 4);
        assert_eq!(distinct_with(&others, "a"), 3);
        assert_eq!(distinct_with(&["a".to_owned(), "a".to_owned()], "a"), 1);
    }
}
