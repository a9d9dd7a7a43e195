//! DMTBS replica implementation A (docs/replicas.md, "How A was written").
//!
//! - `lexicon`: the spec's vocabulary and the show key whose order is show order;
//! - `calendar`: dates as (year, month, day), next/previous day, weekday, ISO-week Monday;
//! - `store`: nine timelines (movie × theatre) of screenings plus a customer index;
//! - `journal`: tentative changes with an undo log, rolled back on the first violated rule;
//! - `rules`: the rules about a produced state, and book's admission built on them;
//! - `ops`: the seven operations (read request, guards, change-then-verify);
//! - `snapshot`: canonical export, and import validated into a fresh store.
// `no_std` in the component; natively (unit tests, the cdylib) std provides the allocator and
// panic handler that the guest crate supplies only on wasm32.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

mod calendar;
mod journal;
mod lexicon;
mod ops;
mod rules;
mod snapshot;
mod store;
#[cfg(test)]
mod tests;

use dmtbs_guest::{CanonicalState, Outcome, Replica, Request, StateDigest, StateError};

/// Most away-from-home movies a customer may hold in one ISO week (rules §5, book check 6).
/// The `fault-logic` feature injects the plausible off-by-one the fault tests expect: refusing
/// only when 4 (not 3) are already held.
#[cfg(not(feature = "fault-logic"))]
pub const WEEKLY_LIMIT: usize = 3;
#[cfg(feature = "fault-logic")]
pub const WEEKLY_LIMIT: usize = 4;

/// The replica: one store (which keeps the state digest), changed only through `ops` and
/// `snapshot`.
#[derive(Default)]
pub struct ReplicaA {
    store: store::Store,
}

impl Replica for ReplicaA {
    fn apply(&mut self, req: Request) -> Outcome {
        ops::apply(&mut self.store, req)
    }

    fn export_state(&self) -> CanonicalState {
        snapshot::export(&self.store)
    }

    fn import_state(&mut self, state: CanonicalState) -> Result<(), StateError> {
        self.store = snapshot::import(&state)?;
        Ok(())
    }

    /// Kept by the store's mutators (see `store`); an import brings its own, built as the
    /// imported screens were opened.
    fn state_digest(&self) -> StateDigest {
        self.store.digest()
    }
}

dmtbs_guest::export_replica!(ReplicaA);
