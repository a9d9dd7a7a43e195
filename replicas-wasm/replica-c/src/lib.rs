//! DMTBS replica implementation C: the booking rules as an **event-sourced decider**.
//!
//! A request goes through four stages, each its own module:
//! 1. [`command`]: parse the WIT operation into a typed [`command::Command`] (the V step — field
//!    by field in signature order; nothing else can fail here).
//! 2. [`decide`]: `decide(&state, today, &command) -> Result<Vec<Event>, BookingError>`, pure.
//!    Each event kind has one function that admits it by checking the invariants that event must
//!    preserve, in the rules' precedence; operations are sequences of admitted events.
//! 3. [`state::State::evolve`]: apply each event, the only code that mutates the state.
//! 4. [`outcome`]: the result, read off the events.
//!
//! Why this decomposition: the rules are really statements about *changes* — a reservation must
//! not oversell or break the weekly quota, a release must not go below zero, a withdrawal
//! re-homes each holding — so the checks live with the event they guard rather than with the
//! operation that asks for it; book and exchange share the reservation's guards because they
//! produce the same event, not because one calls the other with an "ignore" flag. The composite
//! operations become explicit: exchange decides its reservation against the state *after* its
//! release event (the rules' "as if"), remove-show decides each move against the state after the
//! earlier moves ("at that moment"), both through one overlay of already-decided events. Because
//! nothing is applied until every event is decided, exchange is atomic by construction.
//!
//! Data design: a single ordered **holdings relation** `BTreeMap<(ShowKey, UserId), u32>`
//! keyed show-first, beside `BTreeMap<ShowKey, ShowRecord>` (capacity and a maintained sold
//! count). Typed keys whose derived order is the rules' order make the ordered answers range
//! scans: a show's holders come out in customer order (remove-show); a week's or a day's shows
//! are one key range (weekly limit, availability); a customer's bookings come out of the
//! show-first relation already in show order (schedule, a filtered scan). Only the canonical
//! export re-sorts (customer-first). Unlike nested maps (A), packed-key vectors (B) or
//! per-customer ledgers (D), there is one relation and one place a booking lives. No hashing, no
//! clock: deterministic. On `wasm32` the crate is `no_std` + `alloc`; natively (unit tests) it
//! links `std` only for the allocator and panic handler.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

pub mod canonical;
pub mod command;
pub mod decide;
pub mod event;
pub mod model;
pub mod outcome;
pub mod state;

#[cfg(test)]
mod tests;

use dmtbs_guest::{CanonicalState, Outcome, Replica, Request, StateDigest, StateError};
use model::Date;

/// The replica: its state and nothing else.
#[derive(Default)]
pub struct ReplicaC {
    state: state::State,
}

impl Replica for ReplicaC {
    fn apply(&mut self, req: Request) -> Outcome {
        let d = req.context.today;
        let today = Date::new(d.year, d.month, d.day);
        let command = command::Command::parse(&req.operation)?;
        let events = decide::decide(&self.state, today, &command)?;
        for event in &events {
            self.state.evolve(event);
        }
        Ok(outcome::derive(&events))
    }

    fn export_state(&self) -> CanonicalState {
        canonical::export(&self.state)
    }

    fn import_state(&mut self, state: CanonicalState) -> Result<(), StateError> {
        self.state = canonical::import(&state)?;
        Ok(())
    }

    fn state_digest(&self) -> StateDigest {
        // Kept by `State::evolve` and `State::from_parts`; never recomputed here.
        self.state.digest()
    }
}

dmtbs_guest::export_replica!(ReplicaC);
