//! The checkers run at the end of every run, once the cluster has quiesced:
//! (a) the clients' history is linearizable (`dmtbs_checker::check`);
//! (b) no acknowledged request lost, none executed twice;
//! (c) every correct replica ends in the same state, having applied the same log, and every
//!     RM's log (faulty replicas' included: delivery is the RM's, not the replica's) is a
//!     prefix of one history;
//! (d) every answer a client got is the model's answer at the request's place in that history;
//! (e) once every fault is over, the cluster answers again (a probe's read).

use std::collections::BTreeMap;

use dmtbs_checker::{Completion, History, Op, Verdict, check};
use dmtbs_proto::Sequenced;

use crate::client::TODAY;
use crate::executed::{Decision, Executed, mutates};
use crate::replica::{Kind, Replica};
use crate::world::World;

/// What went wrong, in plain words (empty: the run passed).
pub fn run_checks(world: &World) -> Vec<String> {
    let mut failures = Vec::new();
    if world.runaway {
        failures.push("the run did not quiesce: event budget exhausted (a livelock?)".into());
    }
    for (node, s) in &world.sequencers {
        if let Some(refusal) = s
            .as_ref()
            .and_then(|f| f.sequencer())
            .and_then(|s| s.refusal())
        {
            failures.push(format!("{node} refused to start: {refusal}"));
        }
    }

    // (e) Liveness: once every fault is over, the cluster answers again.
    match world.probe {
        Some(op) if world.history[op].answer.is_some() => {}
        _ => failures.push(format!(
            "(e) a read sent {:?} after the load, every fault over, got no answer within {:?}: \
             the cluster stalled",
            crate::world::PROBE_AFTER,
            crate::world::QUIESCE - crate::world::PROBE_AFTER
        )),
    }

    // The longest log among the running RMs is the history; every other is a prefix of it.
    let logs: BTreeMap<u8, Vec<Sequenced>> = world
        .rms
        .iter()
        .filter(|(_, r)| r.up)
        .map(|(&id, r)| (id, r.delivery.log_from(1).cloned().collect()))
        .collect();
    let Some(history) = logs.values().max_by_key(|l| l.len()).cloned() else {
        failures.push("no replica manager is running at the end".into());
        return failures;
    };
    for (rm, log) in &logs {
        if let Some((i, _)) = log
            .iter()
            .zip(&history)
            .enumerate()
            .find(|(_, (a, b))| a != b)
        {
            failures.push(format!(
                "(c) rm{rm}'s log differs from the history at seq {}: {:?} vs {:?}",
                i + 1,
                log[i],
                history[i]
            ));
        }
        if log.first().is_some_and(|i| i.seq != 1) {
            failures.push(format!("(c) rm{rm}'s log does not start at 1"));
        }
    }

    // The model's answers along the history, and which client operation each request carries.
    let mut model = Replica::new(Kind::Correct);
    let mut table = Executed::default();
    let mut answers = Vec::with_capacity(history.len());
    let mut executions: BTreeMap<usize, u32> = BTreeMap::new();
    for item in &history {
        let answer = match table.decide(item) {
            Decision::Replay(outcome, replay) => (outcome, Some(replay)),
            Decision::Execute => {
                let outcome = model.apply(item.today, &item.operation);
                table.record(item, &outcome);
                if mutates(&item.operation)
                    && let Some(&op) = world.request_ops.get(&item.request_id)
                {
                    *executions.entry(op).or_default() += 1;
                }
                (outcome, None)
            }
        };
        answers.push(answer);
    }
    for (&op, &n) in &executions {
        if n > 1 {
            failures.push(format!("(b) op #{op} executed {n} times in the history"));
        }
    }

    // (c) Correct replicas: caught up, same state as the model along the history.
    let correct: Vec<_> = world
        .rms
        .values()
        .filter(|r| r.up && r.kind == Kind::Correct && !r.replica_crashed && r.hung_until.is_none())
        .collect();
    for r in &correct {
        let through = r.delivery.delivered_through();
        if through != history.len() as u64 || r.applied_through() != through {
            let (epoch, _) = r.disk.epochs.last().copied().unwrap_or((0, 0));
            let why = if r.disk.promised > epoch {
                format!(
                    " — it promised epoch {} (whose sequencer never started it) and so refuses \
                     epoch {epoch}'s requests beyond what it had",
                    r.disk.promised
                )
            } else {
                String::new()
            };
            failures.push(format!(
                "(c) rm{} did not catch up: delivered {through}, applied {}, history {}{why}",
                r.id,
                r.applied_through(),
                history.len()
            ));
        } else if r.replica.model != model.model || r.executed != table {
            failures.push(format!(
                "(c) rm{}'s state differs from the model's after the same {} requests",
                r.id,
                history.len()
            ));
        }
        // (b) as this RM executed them, across its restarts and rollbacks.
        let mut mine: BTreeMap<usize, u32> = BTreeMap::new();
        for a in r
            .applied
            .iter()
            .filter(|a| a.executed && a.fe == crate::world::FE)
        {
            if let Some(&op) = world.request_ops.get(&a.request_id) {
                *mine.entry(op).or_default() += 1;
            }
        }
        for (op, n) in mine.into_iter().filter(|&(_, n)| n > 1) {
            failures.push(format!("(b) rm{} executed op #{op} {n} times", r.id));
        }
    }

    // (b) and (d): every answer is in the history, at its place, and is the model's.
    for (i, op) in world.history.iter().enumerate() {
        let Some(a) = &op.answer else { continue };
        let Some(item) = history.get(a.seq as usize - 1) else {
            failures.push(format!(
                "(b) op #{i} was answered at seq {} (epoch {}) but the history ends at {}: lost",
                a.seq,
                a.epoch,
                history.len()
            ));
            continue;
        };
        if item.epoch != a.epoch || world.request_ops.get(&item.request_id) != Some(&i) {
            failures.push(format!(
                "(b) op #{i} was answered at seq {} of epoch {}, but the history holds another \
                 request there: {item:?}",
                a.seq, a.epoch
            ));
            continue;
        }
        let (outcome, replay) = &answers[a.seq as usize - 1];
        if *outcome != a.outcome || *replay != a.replay_of {
            failures.push(format!(
                "(d) op #{i} at seq {}: the client got {:?} (replay {:?}), the model gives {:?} \
                 (replay {:?})",
                a.seq, a.outcome, a.replay_of, outcome, replay
            ));
        }
        if mutates(&op.operation) && !executions.contains_key(&i) {
            failures.push(format!("(b) op #{i} was acknowledged but never executed"));
        }
    }

    // (a) Linearizability of what the clients saw.
    let mut h = History::new();
    for op in &world.history {
        h.push(Op {
            client: op.client,
            today: TODAY,
            operation: op.operation.clone(),
            invoke: op.invoke,
            completion: match &op.answer {
                Some(a) => Completion::Returned {
                    at: a.at,
                    outcome: a.outcome.clone(),
                },
                None => Completion::Unknown,
            },
        });
    }
    let report = check(&h);
    if !matches!(report.verdict, Verdict::Linearizable) {
        failures.push(format!("(a) the clients' history: {report}"));
    }
    failures
}
