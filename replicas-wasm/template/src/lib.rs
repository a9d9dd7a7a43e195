//! A replica of your own starts here (docs/writing-a-replica.md). Implement the four functions
//! from `docs/booking-rules.md`; keep them deterministic — the host gives a std module a closed
//! WASI (frozen clocks, a fixed random seed, no files, no network), so that is easy, but every
//! answer must follow from the requests alone. Build with
//! `cargo build --release --target wasm32-wasip2`, then `dmtbs module check` the `.wasm`.

wit_bindgen::generate!({
    // The project's contract. In the repository `wit` is a link to its `wit/` folder; a copy
    // made with `cp -rL` holds a real copy of it, so the crate builds anywhere.
    path: "wit",
    world: "replica-world",
});

use exports::dmtbs::booking::replica::Guest;
use exports::dmtbs::booking::types::{BookingError, CanonicalState, Outcome, Request, StateError};

struct Replica;

impl Guest for Replica {
    /// One request, in sequence order, with the day it is (`req.context.today`).
    fn apply(_req: Request) -> Outcome {
        // To do: the rules. Until then every request is refused, which the check reports.
        Err(BookingError::NotAuthorized)
    }

    /// The whole state, canonical (docs/booking-rules.md §7): shows in show order, bookings by
    /// customer then show order.
    fn export_state() -> CanonicalState {
        CanonicalState {
            shows: Vec::new(),
            bookings: Vec::new(),
        }
    }

    /// Replace the state by `state`, or refuse it whole (the first fault) and change nothing.
    fn import_state(_state: CanonicalState) -> Result<(), StateError> {
        Ok(())
    }

    /// The digest of the current state (docs/booking-rules.md §7.1): keep it beside the state
    /// and update it wherever an entry comes or goes, so answering costs nothing. The empty
    /// state's digest is all zeros.
    fn state_digest() -> (u64, u64, u64, u64) {
        (0, 0, 0, 0)
    }
}

export!(Replica);
