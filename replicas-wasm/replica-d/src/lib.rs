//! DMTBS replica implementation D: **rules as ordered tables, state as per-customer ledgers.**
//!
//! Written from `shared/spec/booking-rules.md`, `docs/booking-rules.md` and `wit/replica.wit`
//! only (see docs/replicas.md, "How D was written").
//!
//! ## Decomposition: a declarative table of checks per operation
//!
//! Every operation is a [`Procedure`]: the fields its V step validates, listed in signature
//! order ([`rules::Fields`]); an ordered table of named checks ([`rules::Rule`]: a predicate
//! over a read-only context and the error it yields), listed in the order the spec gives; and
//! an effect ([`effects`]) that applies the change once every check has held. One generic
//! runner ([`run`]) does the same thing for all seven operations.
//!
//! Why: the rules' hardest part is *precedence* — "the first failing check decides the
//! error" — and in most bugs of this kind of code the checks are right but run in the wrong
//! order or are skipped on some path. Here the order is data that reads like the spec's
//! numbered lists (and unit tests compare the tables' names with those lists), checks cannot
//! change the state (they get `&Cinema`), and the effect cannot refuse. Exchange's step 7 is
//! literally book's checks 3–7 reused: the same predicates, fed a view of the customer's
//! bookings "as if" the tickets had already left the old show ([`rules::Aim`]).
//!
//! ## Data: one ledger per customer plus a seat index per show
//!
//! [`cinema::Cinema`] keeps, per customer, a short sorted vector of (show, tickets) lines, and
//! per show its capacity and a maintained count of sold seats. Most checks are about one
//! customer's bookings (same show elsewhere, weekly limit, held, schedule, exchange), which
//! this design answers by reading one small ledger; per-show questions (remaining seats,
//! availability, remove-show's next fitting show) come from the seat index, an ordered map
//! whose key sorts in show order. Remove-show's "ascending customer ID" falls out of walking
//! the ledgers in key order, and the canonical export is a walk of both maps. Only two
//! functions change ticket counts (`credit`, `debit`), which keep both structures consistent
//! (and, with `set_capacity` and `close_show`, the state digest of rules §7.1).
//! It differs from A (movie-first nested maps), B (packed-key flat vectors), C (event log)
//! and the previous D (relational rows with indexes).
//!
//! `no_std` + `alloc`, `BTreeMap`s and sorted vectors only: deterministic, no imports.
// `no_std` in the component; natively (unit tests) std supplies the allocator and panic handler.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

pub mod cinema;
pub mod effects;
pub mod ids;
pub mod rules;

#[cfg(test)]
mod tests;

use dmtbs_guest::{
    BookingError, CanonicalState, Operation, Outcome, Replica, Request, StateDigest, StateError,
    Success,
};

use cinema::Cinema;
use ids::Day;
use rules::{
    AddShowReq, AvailabilityReq, BookReq, CancelReq, Ctx, ExchangeReq, Fields, RemoveShowReq, Rule,
    ScheduleReq,
};

/// One operation as data: V fields (from `W: Fields`), decoding, checks, effect.
pub struct Procedure<W, R: 'static> {
    /// Typed request from fields that passed V (`None` only for a malformed field).
    pub decode: fn(&W) -> Option<R>,
    /// Checks after V, in the spec's order.
    pub rules: &'static [Rule<R>],
    /// The change, applied once every check has held.
    pub effect: fn(&mut Cinema, Day, R) -> Success,
}

/// The one runner: V, then the checks in table order, then the effect.
pub fn run<W: Fields, R: Copy + 'static>(
    cinema: &mut Cinema,
    today: Day,
    wire: &W,
    p: &Procedure<W, R>,
) -> Outcome {
    rules::validate(&wire.fields())?;
    // V has passed, so decoding succeeds; the fallback is never taken.
    let req = (p.decode)(wire).ok_or(BookingError::InvalidUserId)?;
    rules::first_broken(p.rules, &Ctx { cinema, today, req })?;
    Ok((p.effect)(cinema, today, req))
}

use rules::{movie, show, user};

pub const ADD_SHOW: Procedure<dmtbs_guest::AddShow, AddShowReq> = Procedure {
    decode: |w| {
        Some(AddShowReq {
            actor: user(&w.actor)?,
            show: show(&w.movie, &w.show_id)?,
            capacity: w.capacity,
        })
    },
    rules: rules::ADD_SHOW,
    effect: effects::add_show,
};

pub const REMOVE_SHOW: Procedure<dmtbs_guest::RemoveShow, RemoveShowReq> = Procedure {
    decode: |w| {
        Some(RemoveShowReq {
            actor: user(&w.actor)?,
            show: show(&w.movie, &w.show_id)?,
        })
    },
    rules: rules::REMOVE_SHOW,
    effect: effects::remove_show,
};

pub const AVAILABILITY: Procedure<dmtbs_guest::Availability, AvailabilityReq> = Procedure {
    decode: |w| {
        Some(AvailabilityReq {
            actor: user(&w.actor)?,
            movie: movie(&w.movie)?,
        })
    },
    rules: rules::AVAILABILITY,
    effect: effects::availability,
};

pub const BOOK: Procedure<dmtbs_guest::Book, BookReq> = Procedure {
    decode: |w| {
        Some(BookReq {
            actor: user(&w.actor)?,
            customer: user(&w.customer)?,
            show: show(&w.movie, &w.show_id)?,
            tickets: w.tickets,
        })
    },
    rules: rules::BOOK,
    effect: effects::book,
};

pub const SCHEDULE: Procedure<dmtbs_guest::Schedule, ScheduleReq> = Procedure {
    decode: |w| {
        Some(ScheduleReq {
            actor: user(&w.actor)?,
            customer: user(&w.customer)?,
        })
    },
    rules: rules::SCHEDULE,
    effect: effects::schedule,
};

pub const CANCEL: Procedure<dmtbs_guest::Cancel, CancelReq> = Procedure {
    decode: |w| {
        Some(CancelReq {
            actor: user(&w.actor)?,
            customer: user(&w.customer)?,
            show: show(&w.movie, &w.show_id)?,
            tickets: w.tickets,
        })
    },
    rules: rules::CANCEL,
    effect: effects::cancel,
};

pub const EXCHANGE: Procedure<dmtbs_guest::Exchange, ExchangeReq> = Procedure {
    decode: |w| {
        Some(ExchangeReq {
            actor: user(&w.actor)?,
            customer: user(&w.customer)?,
            old: show(&w.old_movie, &w.old_show_id)?,
            new: show(&w.new_movie, &w.new_show_id)?,
            tickets: w.tickets,
        })
    },
    rules: rules::EXCHANGE,
    effect: effects::exchange,
};

/// Implementation D.
#[derive(Default)]
pub struct ReplicaD {
    cinema: Cinema,
}

impl ReplicaD {
    pub fn cinema(&self) -> &Cinema {
        &self.cinema
    }
}

impl Replica for ReplicaD {
    fn apply(&mut self, req: Request) -> Outcome {
        let t = req.context.today;
        let today = Day::new(t.year, t.month, t.day);
        let c = &mut self.cinema;
        match &req.operation {
            Operation::AddShow(w) => run(c, today, w, &ADD_SHOW),
            Operation::RemoveShow(w) => run(c, today, w, &REMOVE_SHOW),
            Operation::Availability(w) => run(c, today, w, &AVAILABILITY),
            Operation::Book(w) => run(c, today, w, &BOOK),
            Operation::Schedule(w) => run(c, today, w, &SCHEDULE),
            Operation::Cancel(w) => run(c, today, w, &CANCEL),
            Operation::Exchange(w) => run(c, today, w, &EXCHANGE),
        }
    }

    fn export_state(&self) -> CanonicalState {
        self.cinema.export()
    }

    fn import_state(&mut self, state: CanonicalState) -> Result<(), StateError> {
        // Built aside and swapped in only when whole: a refusal changes nothing.
        self.cinema = Cinema::import(&state)?;
        Ok(())
    }

    /// Kept by `Cinema` as its tables change (and rebuilt by import); never recomputed here.
    fn state_digest(&self) -> StateDigest {
        self.cinema.digest()
    }
}

dmtbs_guest::export_replica!(ReplicaD);
