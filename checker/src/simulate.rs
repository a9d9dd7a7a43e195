//! Histories that are linearizable by construction, for tests and benchmarks: each operation is
//! given a moment inside its call–return interval at which it takes effect, and its outcome is
//! what the model gives when the operations are applied in the order of those moments.

use std::time::Duration;

use dmtbs_contract::{Date, Operation};

use crate::history::{Completion, History, Op};
use crate::model::Model;

/// One operation to put in a history.
#[derive(Clone, Debug)]
pub struct Planned {
    pub client: u32,
    pub today: Date,
    pub operation: Operation,
    /// When it is sent.
    pub invoke: Duration,
    /// When it takes effect (at or after `invoke`; ties are broken by position in the plan);
    /// `None`: never (only for an unanswered operation).
    pub effect: Option<Duration>,
    /// When it is answered (at or after `effect`); `None`: never (an unknown outcome).
    pub answer: Option<Duration>,
}

/// The history of `plan`: outcomes from the model applied in the order of the effects.
///
/// # Panics
/// When a planned operation is answered without taking effect, or its times are out of order:
/// the history would not be linearizable by construction.
pub fn history(plan: &[Planned]) -> History {
    let mut order: Vec<usize> = (0..plan.len())
        .filter(|&i| plan[i].effect.is_some())
        .collect();
    order.sort_by_key(|&i| (plan[i].effect, i));
    let mut outcomes = vec![None; plan.len()];
    let mut model = Model::new();
    for i in order {
        let (outcome, _) = model.apply(plan[i].today, &plan[i].operation);
        outcomes[i] = Some(outcome);
    }
    let mut history = History::new();
    for (p, outcome) in plan.iter().zip(outcomes) {
        if let Some(effect) = p.effect {
            assert!(p.invoke <= effect, "an effect before its call: {p:?}");
        }
        let completion = match p.answer {
            None => Completion::Unknown,
            Some(at) => {
                let effect = p.effect.expect("an answered operation takes effect");
                assert!(effect <= at, "an answer before its effect: {p:?}");
                Completion::Returned {
                    at,
                    outcome: outcome.expect("an operation with an effect has an outcome"),
                }
            }
        };
        history.push(Op {
            client: p.client,
            today: p.today,
            operation: p.operation.clone(),
            invoke: p.invoke,
            completion,
        });
    }
    history
}
