//! The cluster suites' oracle: the independent model of the rules (`dmtbs_checker::Model`,
//! written from `shared/spec/booking-rules.md` and `docs/booking-rules.md` by an author who read
//! none of the replicas), fed the sequence a cluster executed. A replica as the oracle could not
//! catch a misreading the four implementations share; the model can. (The differential compares
//! it with all four, and the conformance pack's hand-worked answers are checked against it.)

use std::collections::BTreeSet;

use dmtbs_checker::Model;
use dmtbs_contract::{BookingEntry, CanonicalState, Date, Operation, Outcome, ShowEntry, Success};
use dmtbs_testkit::build::{availability, schedule};
use dmtbs_testkit::workload::MOVIES;

/// The model and the one `today` every cluster suite's sequencer stamps.
pub(crate) struct Oracle {
    /// The rules' state after everything fed so far, and what gives each answer.
    model: Model,
    /// The cluster's `today` (fixed in the cluster suites): the day every request is applied on,
    /// and the reason [`Oracle::state`] can see every show (none is ever past).
    today: Date,
    /// Every customer ID a request named: who may hold bookings, for [`Oracle::state`].
    customers: BTreeSet<String>,
}

impl Oracle {
    pub(crate) fn new(today: Date) -> Self {
        Oracle {
            model: Model::new(),
            today,
            customers: BTreeSet::new(),
        }
    }

    /// The answer the rules give to `operation`, next in the sequence.
    pub(crate) fn apply(&mut self, operation: &Operation) -> Outcome {
        let customer = match operation {
            Operation::Book(o) => Some(&o.customer),
            Operation::Cancel(o) => Some(&o.customer),
            Operation::Exchange(o) => Some(&o.customer),
            Operation::Schedule(o) => Some(&o.customer),
            Operation::AddShow(_) | Operation::RemoveShow(_) | Operation::Availability(_) => None,
        };
        if let Some(customer) = customer {
            self.customers.insert(customer.clone());
        }
        self.model.apply(self.today, operation).0
    }

    /// The state the rules say the service holds now, read back from the model through its
    /// answers (availability of each movie, every named customer's schedule; both undone), as
    /// sorted sets: compare it with [`Oracle::sorted`] of a replica's export. The order of the
    /// canonical state is the replicas' own business, checked by the conformance pack.
    ///
    /// Sound because `today` never changes here: a show can only be added within the window, so
    /// none is past and availability lists them all; only named customers can hold bookings
    /// (remove-show moves existing ones).
    pub(crate) fn state(&mut self) -> CanonicalState {
        let mut bookings = Vec::new();
        let customers: Vec<String> = self.customers.iter().cloned().collect();
        for customer in &customers {
            match self.read(&schedule(customer, customer)) {
                Ok(Success::Schedule(held)) => {
                    bookings.extend(held.into_iter().map(|b| BookingEntry {
                        customer: customer.clone(),
                        movie: b.movie,
                        show_id: b.show_id,
                        tickets: b.tickets,
                    }))
                }
                // A malformed or admin customer ID holds nothing.
                Err(_) => {}
                Ok(other) => panic!("the model answered a schedule with {other:?}"),
            }
        }
        let mut shows = Vec::new();
        // The shows are read back one movie at a time.
        for movie in MOVIES {
            let Ok(Success::Availability(listed)) = self.read(&availability("ATWC0000", movie))
            else {
                panic!("the model answers availability of {movie}");
            };
            shows.extend(listed.into_iter().map(|s| {
                let held: u32 = bookings
                    .iter()
                    .filter(|b| b.movie == movie && b.show_id == s.show_id)
                    .map(|b| b.tickets)
                    .sum();
                ShowEntry {
                    movie: movie.to_string(),
                    show_id: s.show_id,
                    capacity: s.remaining + held,
                }
            }));
        }
        Oracle::sorted(CanonicalState { shows, bookings })
    }

    /// `state`'s entries sorted by their text, for comparing contents whatever the order.
    pub(crate) fn sorted(mut state: CanonicalState) -> CanonicalState {
        state
            .shows
            .sort_by(|a, b| (&a.movie, &a.show_id).cmp(&(&b.movie, &b.show_id)));
        state.bookings.sort_by(|a, b| {
            (&a.customer, &a.movie, &a.show_id).cmp(&(&b.customer, &b.movie, &b.show_id))
        });
        state
    }

    /// A read-only request answered by the model and undone, so the state is untouched.
    fn read(&mut self, operation: &Operation) -> Outcome {
        let (outcome, undo) = self.model.apply(self.today, operation);
        self.model.undo(undo);
        outcome
    }
}
