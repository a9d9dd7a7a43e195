//! DMTBS replica implementation B (see `docs/replicas.md`, "How B was written").
//!
//! - [`lexicon`]: IDs, movies and dates as small ordered integers (customer seats, grid cells,
//!   day numbers).
//! - [`grid`]: the data — a calendar grid of cells over a slab of shows with per-show holder
//!   lists and per-seat indexes; it applies primitive [`grid::Change`]s and knows no rule.
//! - [`view`]: read-only, possibly hypothetical views (the store plus pending adjustments) and
//!   the rules' questions as queries on them.
//! - [`ops`]: one planner per operation (validate, authorise, query, plan the changes), then
//!   commit and read the answer back.
//! - [`state_io`]: canonical export and validating import.
#![no_std]

extern crate alloc;
// Off wasm (native unit tests), std supplies the allocator and panic handler that the guest
// crate's runtime supplies inside the component. The code itself uses only `core` and `alloc`.
#[cfg(not(target_arch = "wasm32"))]
extern crate std;

mod grid;
mod lexicon;
mod ops;
mod state_io;
mod view;

#[cfg(test)]
mod tests;

use dmtbs_guest::{CanonicalState, Outcome, Replica, Request, StateDigest, StateError};

/// Replica B: the whole state is one [`grid::Store`], which also keeps the state digest.
#[derive(Default)]
pub struct ReplicaB {
    store: grid::Store,
}

impl Replica for ReplicaB {
    fn apply(&mut self, req: Request) -> Outcome {
        let t = req.context.today;
        let today = lexicon::day_number(i64::from(t.year), u32::from(t.month), u32::from(t.day));
        ops::run(&mut self.store, today, req.operation)
    }

    fn export_state(&self) -> CanonicalState {
        state_io::export(&self.store)
    }

    fn import_state(&mut self, state: CanonicalState) -> Result<(), StateError> {
        // The fresh store built its digest while loading; a refused one is dropped whole.
        self.store = state_io::import(&state)?;
        Ok(())
    }

    fn state_digest(&self) -> StateDigest {
        self.store.digest()
    }
}

dmtbs_guest::export_replica!(ReplicaB);
