//! DMTBS replica implementation A: the booking rules (`docs/booking-rules.md`) over nested
//! ordered maps, as in the course.
//!
//! Design:
//! - Every wire string is parsed at the door into small typed values (`ids`): enums for area,
//!   slot, role and movie, a `Date`, and keys whose derived `Ord` is exactly the rules' order.
//! - `shows`: movie → show ID → `ShowRecord` (capacity, total tickets held, bookings per
//!   customer). Ranges over the inner map answer availability and remove-show's search.
//! - `customers`: customer → show → tickets, an index kept in step with `shows`, so the
//!   same-show and weekly-limit checks read only the customer's bookings of one slot or one week
//!   (an ordered range), and schedule/export read it already in canonical order.
//! - `canon`: canonical export/import; an import is fully validated into a fresh value and only
//!   then swapped in, so a refused import changes nothing.
//!
//! Only `alloc` is used, with no clock, randomness or hashing: results depend on the requests
//! alone. The cargo feature `fault-logic` injects one plausible bug (see `WEEKLY_LIMIT`).
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

mod canon;
mod ids;
#[cfg(test)]
mod tests;

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::ops::Bound::{Excluded, Unbounded};

use dmtbs_guest::{
    AddShow, Availability, Book, Booked, BookingError, Cancel, CanonicalState, DroppedBooking,
    Exchange, Exchanged, MovedBooking, Operation, Outcome, RemoveShow, Replica, Request, Schedule,
    ScheduledBooking, ShowRemaining, ShowRemoved, StateError, Success,
};
use ids::{Area, Date, Movie, Role, ShowId, ShowKey, Slot, UserId};

/// Other-area movies a customer may hold in one week before `weekly-limit` refuses.
#[cfg(not(feature = "fault-logic"))]
const WEEKLY_LIMIT: usize = 3;
/// Injected fault (`fault-logic`): an off-by-one that lets a fourth other-area movie through,
/// refusing only at a count of 4 or more. Nothing else changes under the feature.
#[cfg(feature = "fault-logic")]
const WEEKLY_LIMIT: usize = 4;

const MAX_SEATS: u32 = 10_000;

/// One show's state. `held` is the sum of `bookings`, kept so `remaining` is O(1).
#[derive(Clone, Debug)]
struct ShowRecord {
    capacity: u32,
    held: u32,
    bookings: BTreeMap<UserId, u32>,
}

impl ShowRecord {
    fn new(capacity: u32) -> ShowRecord {
        ShowRecord {
            capacity,
            held: 0,
            bookings: BTreeMap::new(),
        }
    }

    fn remaining(&self) -> u32 {
        self.capacity - self.held
    }
}

/// The replica's whole state (see the module header).
#[derive(Default, Debug)]
pub struct ReplicaA {
    shows: BTreeMap<Movie, BTreeMap<ShowId, ShowRecord>>,
    customers: BTreeMap<UserId, BTreeMap<ShowKey, u32>>,
}

dmtbs_guest::export_replica!(ReplicaA);

type Checked<T> = Result<T, BookingError>;

// The V step: one parser per kind of field, each with its own error.
fn user(s: &str) -> Checked<UserId> {
    UserId::parse(s).ok_or(BookingError::InvalidUserId)
}

/// Movie then show ID: the order both appear in every signature.
fn show(movie: &str, show_id: &str) -> Checked<ShowKey> {
    let movie = Movie::parse(movie).ok_or(BookingError::UnknownMovie)?;
    let id = ShowId::parse(show_id).ok_or(BookingError::InvalidShowId)?;
    Ok(ShowKey { id, movie })
}

fn capacity(n: u32) -> Checked<u32> {
    (1..=MAX_SEATS)
        .contains(&n)
        .then_some(n)
        .ok_or(BookingError::InvalidCapacity)
}

fn tickets(n: u32) -> Checked<u32> {
    (1..=MAX_SEATS)
        .contains(&n)
        .then_some(n)
        .ok_or(BookingError::InvalidTickets)
}

fn authorize_admin(actor: UserId, area: Area) -> Checked<()> {
    if actor.role == Role::Admin && actor.area == area {
        Ok(())
    } else {
        Err(BookingError::NotAuthorized)
    }
}

/// A customer acts for itself; an admin for any customer; nobody for an admin "customer".
fn authorize_customer(actor: UserId, customer: UserId) -> Checked<()> {
    let ok = customer.role == Role::Customer && (actor.role == Role::Admin || actor == customer);
    if ok {
        Ok(())
    } else {
        Err(BookingError::NotAuthorized)
    }
}

impl ReplicaA {
    fn record(&self, key: ShowKey) -> Option<&ShowRecord> {
        self.shows.get(&key.movie)?.get(&key.id)
    }

    fn held(&self, customer: UserId, key: ShowKey) -> Option<u32> {
        self.customers.get(&customer)?.get(&key).copied()
    }

    /// Adds tickets to an existing show (both maps); returns (held, remaining) after.
    fn add_booking(&mut self, customer: UserId, key: ShowKey, tickets: u32) -> (u32, u32) {
        let rec = self
            .shows
            .get_mut(&key.movie)
            .and_then(|m| m.get_mut(&key.id))
            .expect("callers check the show exists");
        rec.held += tickets;
        let held = rec.bookings.entry(customer).or_insert(0);
        *held += tickets;
        let (held, remaining) = (*held, rec.remaining());
        self.customers
            .entry(customer)
            .or_default()
            .insert(key, held);
        (held, remaining)
    }

    /// Takes tickets off an existing booking (both maps), dropping it at 0; returns held after.
    fn remove_booking(&mut self, customer: UserId, key: ShowKey, tickets: u32) -> u32 {
        let rec = self
            .shows
            .get_mut(&key.movie)
            .and_then(|m| m.get_mut(&key.id))
            .expect("callers check the booking exists");
        rec.held -= tickets;
        let held = rec.bookings.get(&customer).copied().unwrap_or(0) - tickets;
        if held == 0 {
            rec.bookings.remove(&customer);
        } else {
            rec.bookings.insert(customer, held);
        }
        self.set_index(customer, key, held);
        held
    }

    /// Sets the customer index entry for one show (0 removes it, and an emptied customer).
    fn set_index(&mut self, customer: UserId, key: ShowKey, held: u32) {
        if held > 0 {
            self.customers
                .entry(customer)
                .or_default()
                .insert(key, held);
        } else if let Some(mine) = self.customers.get_mut(&customer) {
            mine.remove(&key);
            if mine.is_empty() {
                self.customers.remove(&customer);
            }
        }
    }

    /// Book's checks 3–7 for `tickets` on `key`. `freed` is a booking of the customer that the
    /// request empties (exchange): it no longer exists for these checks.
    fn check_book(
        &self,
        today: Date,
        customer: UserId,
        key: ShowKey,
        tickets: u32,
        freed: Option<ShowKey>,
    ) -> Checked<()> {
        let rec = self.record(key).ok_or(BookingError::ShowNotFound)?;
        if key.id.date < today {
            return Err(BookingError::PastShow);
        }
        if let Some(mine) = self.customers.get(&customer) {
            let counts = |k: &ShowKey| Some(*k) != freed;
            // Only the ≤ 9 shows of this date and slot can conflict.
            let same_slot = ShowKey::first_on(key.id.date, key.id.slot)
                ..=ShowKey::last_on(key.id.date, key.id.slot);
            if mine
                .range(same_slot)
                .any(|(k, _)| k.movie == key.movie && k.id.area != key.id.area && counts(k))
            {
                return Err(BookingError::SameShowOtherArea);
            }
            // More tickets for a show already held are not a new movie.
            if key.id.area != customer.area && !mine.contains_key(&key) {
                let monday = key.id.date.monday();
                let week = ShowKey::first_on(Date::from_days(monday), Slot::Morning)
                    ..=ShowKey::last_on(Date::from_days(monday + 6), Slot::Evening);
                let count = mine
                    .range(week)
                    .filter(|(k, _)| k.id.area != customer.area && counts(k))
                    .count();
                if count >= WEEKLY_LIMIT {
                    return Err(BookingError::WeeklyLimit);
                }
            }
        }
        if tickets > rec.remaining() {
            return Err(BookingError::ShowFull(rec.remaining()));
        }
        Ok(())
    }

    fn add_show(&mut self, today: Date, op: &AddShow) -> Outcome {
        let actor = user(&op.actor)?;
        let key = show(&op.movie, &op.show_id)?;
        let capacity = capacity(op.capacity)?;
        authorize_admin(actor, key.id.area)?;
        let (first, date) = (today.days(), key.id.date.days());
        if date < first || date > first + 7 {
            return Err(BookingError::OutsideWindow);
        }
        let shows = self.shows.entry(key.movie).or_default();
        match shows.get_mut(&key.id) {
            Some(rec) if capacity < rec.held => Err(BookingError::CapacityBelowBooked),
            Some(rec) => {
                let old = core::mem::replace(&mut rec.capacity, capacity);
                Ok(Success::ShowUpdated(old))
            }
            None => {
                shows.insert(key.id, ShowRecord::new(capacity));
                Ok(Success::ShowAdded)
            }
        }
    }

    fn remove_show(&mut self, today: Date, op: &RemoveShow) -> Outcome {
        let actor = user(&op.actor)?;
        let key = show(&op.movie, &op.show_id)?;
        authorize_admin(actor, key.id.area)?;
        self.record(key).ok_or(BookingError::ShowNotFound)?;
        if key.id.date < today {
            return Err(BookingError::PastShow);
        }
        let removed = self
            .shows
            .get_mut(&key.movie)
            .and_then(|m| m.remove(&key.id))
            .expect("checked above");
        let (mut moved, mut dropped) = (Vec::new(), Vec::new());
        // `bookings` iterates in ascending customer ID: the processing order.
        for (customer, tickets) in removed.bookings {
            self.set_index(customer, key, 0);
            // Remaining is read now, so earlier moves of this removal count.
            let target = self.shows.get(&key.movie).and_then(|m| {
                m.range((Excluded(key.id), Unbounded))
                    .find(|(id, rec)| id.area == key.id.area && rec.remaining() >= tickets)
                    .map(|(id, _)| *id)
            });
            match target {
                Some(id) => {
                    self.add_booking(customer, ShowKey { id, ..key }, tickets);
                    moved.push(MovedBooking {
                        customer: customer.to_wire(),
                        to_show_id: id.to_wire(),
                        tickets,
                    });
                }
                None => dropped.push(DroppedBooking {
                    customer: customer.to_wire(),
                    tickets,
                }),
            }
        }
        Ok(Success::ShowRemoved(ShowRemoved { moved, dropped }))
    }

    fn availability(&self, today: Date, op: &Availability) -> Outcome {
        user(&op.actor)?;
        let movie = Movie::parse(&op.movie).ok_or(BookingError::UnknownMovie)?;
        let from = ShowId {
            date: today,
            slot: Slot::Morning,
            area: Area::Atw,
        };
        let list = self
            .shows
            .get(&movie)
            .map(|m| {
                m.range(from..)
                    .map(|(id, rec)| ShowRemaining {
                        show_id: id.to_wire(),
                        remaining: rec.remaining(),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(Success::Availability(list))
    }

    fn book(&mut self, today: Date, op: &Book) -> Outcome {
        let actor = user(&op.actor)?;
        let customer = user(&op.customer)?;
        let key = show(&op.movie, &op.show_id)?;
        let tickets = tickets(op.tickets)?;
        authorize_customer(actor, customer)?;
        self.check_book(today, customer, key, tickets, None)?;
        let (held, remaining) = self.add_booking(customer, key, tickets);
        Ok(Success::Booked(Booked { held, remaining }))
    }

    fn schedule(&self, op: &Schedule) -> Outcome {
        let actor = user(&op.actor)?;
        let customer = user(&op.customer)?;
        authorize_customer(actor, customer)?;
        let list = self
            .customers
            .get(&customer)
            .map(|mine| {
                mine.iter()
                    .map(|(k, &tickets)| ScheduledBooking {
                        movie: k.movie.as_str().into(),
                        show_id: k.id.to_wire(),
                        tickets,
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(Success::Schedule(list))
    }

    fn cancel(&mut self, today: Date, op: &Cancel) -> Outcome {
        let actor = user(&op.actor)?;
        let customer = user(&op.customer)?;
        let key = show(&op.movie, &op.show_id)?;
        let tickets = tickets(op.tickets)?;
        authorize_customer(actor, customer)?;
        let held = self.held(customer, key).ok_or(BookingError::NotBooked)?;
        if key.id.date < today {
            return Err(BookingError::PastShow);
        }
        if tickets > held {
            return Err(BookingError::TooManyTickets(held));
        }
        Ok(Success::Cancelled(
            self.remove_booking(customer, key, tickets),
        ))
    }

    fn exchange(&mut self, today: Date, op: &Exchange) -> Outcome {
        let actor = user(&op.actor)?;
        let customer = user(&op.customer)?;
        let old = show(&op.old_movie, &op.old_show_id)?;
        let new = show(&op.new_movie, &op.new_show_id)?;
        let tickets = tickets(op.tickets)?;
        authorize_customer(actor, customer)?;
        if old == new {
            return Err(BookingError::SameShow);
        }
        let held = self.held(customer, old).ok_or(BookingError::NotBooked)?;
        if old.id.date < today {
            return Err(BookingError::PastShow);
        }
        if tickets > held {
            return Err(BookingError::TooManyTickets(held));
        }
        let freed = (held == tickets).then_some(old);
        self.check_book(today, customer, new, tickets, freed)?;
        let old_held = self.remove_booking(customer, old, tickets);
        let (new_held, _) = self.add_booking(customer, new, tickets);
        Ok(Success::Exchanged(Exchanged { old_held, new_held }))
    }
}

impl Replica for ReplicaA {
    fn apply(&mut self, req: Request) -> Outcome {
        let t = req.context.today;
        let today = Date {
            year: t.year,
            month: t.month,
            day: t.day,
        };
        match &req.operation {
            Operation::AddShow(op) => self.add_show(today, op),
            Operation::RemoveShow(op) => self.remove_show(today, op),
            Operation::Availability(op) => self.availability(today, op),
            Operation::Book(op) => self.book(today, op),
            Operation::Schedule(op) => self.schedule(op),
            Operation::Cancel(op) => self.cancel(today, op),
            Operation::Exchange(op) => self.exchange(today, op),
        }
    }

    fn export_state(&self) -> CanonicalState {
        canon::export(self)
    }

    fn import_state(&mut self, state: CanonicalState) -> Result<(), StateError> {
        *self = canon::import(&state)?;
        Ok(())
    }
}
