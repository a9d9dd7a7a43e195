//! The replicas the simulated RMs host: the checker's sequential model of the rules as the
//! correct replica (the real ones are wasm components the simulation does not run), and faulty
//! variants standing for the buggy modules of `replicas-wasm/`.

use dmtbs_checker::Model;
use dmtbs_contract::{BookingError, Date, Operation, Outcome, Success};

/// Which implementation a replica runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The model: the rules as written.
    Correct,
    /// Keeps a correct state but lies in its answers (a seat too many left, a booking missing
    /// from a schedule, a refusal for an add-show).
    Liar,
    /// Corrupts its state: every third successful booking is booked twice; its answers are the
    /// honest answers of a wrong state.
    Corrupt,
}

/// One replica instance: its state and its implementation.
#[derive(Clone, Debug)]
pub struct Replica {
    pub kind: Kind,
    pub model: Model,
    /// Successful bookings so far (the corrupt variant's counter; part of its state).
    booked: u64,
}

impl Replica {
    pub fn new(kind: Kind) -> Self {
        Replica {
            kind,
            model: Model::new(),
            booked: 0,
        }
    }

    /// Applies one request as a replica would, with the sequencer's `today`.
    pub fn apply(&mut self, today: Date, operation: &Operation) -> Outcome {
        let (outcome, _) = self.model.apply(today, operation);
        match self.kind {
            Kind::Correct => outcome,
            Kind::Liar => lie(outcome),
            Kind::Corrupt => {
                if matches!(outcome, Ok(Success::Booked(_))) {
                    self.booked += 1;
                    if self.booked.is_multiple_of(3) {
                        let _ = self.model.apply(today, operation);
                    }
                }
                outcome
            }
        }
    }
}

fn lie(outcome: Outcome) -> Outcome {
    match outcome {
        Ok(Success::Booked(mut b)) => {
            b.remaining += 1;
            Ok(Success::Booked(b))
        }
        Ok(Success::Schedule(mut s)) if !s.is_empty() => {
            s.pop();
            Ok(Success::Schedule(s))
        }
        Ok(Success::ShowAdded) => Err(BookingError::NotAuthorized),
        other => other,
    }
}
