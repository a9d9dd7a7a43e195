//! Implementation E of the DMTBS booking rules (`docs/booking-rules.md`), a std Rust component
//! made with wit-bindgen: the completed example of `docs/writing-a-replica.md`.
//!
//! **Data.** The state is an append-only ledger of seat movements — shows provisioned, seats
//! moved onto or off a customer's booking, shows withdrawn — with hash-map indexes folded from
//! it. Nothing is kept in order: every ordered answer is sorted when it is given, by the rules'
//! keys. **Rules.** One declarative table for all seven operations, rows evaluated in order:
//! checks (predicate, error) and stages (movements put on a pending tail of the ledger, which
//! the later rows see). The request is admitted when every applicable row holds, and its tail is
//! committed.
//!
//! Layout:
//! - [`lexicon`]: user IDs, movies, show IDs, the calendar (Julian Day Numbers), show order.
//! - [`ledger`]: the ledger, its indexes, the pending tail and the view through it.
//! - [`rules`]: the signature walk (V), the proposal, the rule table and the answers.
//! - [`canonical`]: export and import of the canonical state.
//! - [`digest`]: the state digest's entry hashes (§7.1); the store keeps their sum.
//!
//! Deterministic by construction: no clock, no randomness, no I/O; the hash maps' iteration
//! order never reaches an answer, because every list is sorted by the rules' orders.

wit_bindgen::generate!({
    // `wit` links to the repository's `wit/` (as in the template): a `cp -rL` copy builds anywhere.
    path: "wit",
    world: "replica-world",
    // Results and states are compared whole in the unit tests.
    additional_derives: [PartialEq, Eq],
});

pub mod canonical;
pub mod digest;
pub mod ledger;
pub mod lexicon;
pub mod rules;
#[cfg(test)]
mod tests;

use std::sync::Mutex;

use exports::dmtbs::booking::replica::Guest;
use exports::dmtbs::booking::types::{CanonicalState, Outcome, Request, StateError};
use ledger::{Store, View};
use lexicon::calendar_day;

/// A replica: the store and the four functions of the contract on it.
#[derive(Default)]
pub struct Replica {
    store: Store,
}

impl Replica {
    pub fn apply(&mut self, req: &Request) -> Outcome {
        let t = req.context.today;
        // The host guarantees a valid `today` (docs/booking-rules.md §2).
        let today = calendar_day(t.year.into(), t.month.into(), t.day.into())
            .expect("the host sends a valid date");
        let proposal = rules::read(&req.operation)?;
        let tail = rules::admit(&self.store, today, &proposal)?;
        let view = View {
            store: &self.store,
            pending: &tail,
        };
        let success = rules::answer(view, today, &proposal);
        self.store.commit(tail);
        Ok(success)
    }

    pub fn export_state(&self) -> CanonicalState {
        canonical::export(&self.store)
    }

    pub fn import_state(&mut self, state: &CanonicalState) -> Result<(), StateError> {
        let entries = canonical::validate(state)?;
        // The fresh store folds the digest of the imported state; a refusal returned above.
        self.store = Store::from_entries(entries);
        Ok(())
    }

    /// The digest kept by the store (§7.1): constant time, whatever the state's size.
    pub fn state_digest(&self) -> (u64, u64, u64, u64) {
        self.store.digest().lanes()
    }
}

/// The component's one replica. A component instance is single-threaded; the mutex only makes
/// the static safe to share.
static REPLICA: Mutex<Option<Replica>> = Mutex::new(None);

fn with_replica<T>(f: impl FnOnce(&mut Replica) -> T) -> T {
    // A poisoned lock means an earlier call trapped; the host drops such an instance.
    let mut guard = REPLICA.lock().expect("no earlier call panicked");
    f(guard.get_or_insert_with(Replica::default))
}

struct Component;

impl Guest for Component {
    fn apply(req: Request) -> Outcome {
        with_replica(|r| r.apply(&req))
    }

    fn export_state() -> CanonicalState {
        with_replica(|r| r.export_state())
    }

    fn import_state(state: CanonicalState) -> Result<(), StateError> {
        with_replica(|r| r.import_state(&state))
    }

    fn state_digest() -> (u64, u64, u64, u64) {
        with_replica(|r| r.state_digest())
    }
}

export!(Component);
