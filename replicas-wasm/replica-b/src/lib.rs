//! DMTBS replica B: the booking rules over flat sorted vectors searched by binary search.
//!
//! Design:
//! - Every show is one packed `u64` key that sorts in show order (see [`codec`]); `shows` is a
//!   `Vec` sorted by that key, each entry carrying its capacity and the tickets held on it, so
//!   `remaining` is O(1) once the show is found.
//! - A booking is keyed by `customer code << 32 | show key`, which sorts by customer ID and then
//!   show order — exactly the canonical order — so `bookings` is one sorted `Vec`. A customer's
//!   bookings are a contiguous slice found with `partition_point`, and the same-slot and
//!   same-week checks are sub-slices of it (both are contiguous key ranges).
//! - No index by show: the only operation that needs a show's bookings is `remove-show`, which
//!   rewrites the booking vector anyway (one O(n) pass), and per-show totals are kept in `shows`.
//! - No maps, no date crate, only `alloc`; all state changes happen after every check passed, so
//!   a refused request or import leaves the state untouched.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

mod codec;
#[cfg(test)]
mod tests;

use alloc::vec::Vec;
use codec::{User, key_area, key_days, key_movie, monday_of};
use dmtbs_guest::{
    AddShow, Availability, Book, Booked, BookingEntry, BookingError, Cancel, CanonicalState, Date,
    DroppedBooking, Exchange, Exchanged, MovedBooking, Operation, Outcome, RemoveShow, Replica,
    Request, Schedule, ScheduledBooking, ShowEntry, ShowRemaining, ShowRemoved, StateError,
    StateFault, StateSection, Success,
};

/// Largest capacity and ticket count a request may carry.
const MAX_COUNT: u32 = 10_000;

#[derive(Clone, Copy)]
struct Show {
    key: u64,
    capacity: u32,
    /// Sum of the tickets of every booking on this show.
    held: u32,
}

impl Show {
    fn remaining(&self) -> u32 {
        self.capacity - self.held
    }
}

#[derive(Clone, Copy)]
struct Booking {
    /// `customer code << 32 | show key`.
    id: u64,
    tickets: u32,
}

impl Booking {
    fn customer(&self) -> u32 {
        (self.id >> 32) as u32
    }
    fn show(&self) -> u64 {
        self.id & 0xFFFF_FFFF
    }
}

fn booking_id(customer: u32, show: u64) -> u64 {
    u64::from(customer) << 32 | show
}

/// The replica state: both vectors always sorted by key, without duplicates.
#[derive(Default)]
pub struct SortedReplica {
    shows: Vec<Show>,
    bookings: Vec<Booking>,
}

dmtbs_guest::export_replica!(SortedReplica);

// ---- the V step: one helper per field kind, so each maps to its own error ----

fn user(s: &str) -> Result<User, BookingError> {
    codec::parse_user(s).ok_or(BookingError::InvalidUserId)
}

fn movie(s: &str) -> Result<u64, BookingError> {
    codec::parse_movie(s).ok_or(BookingError::UnknownMovie)
}

/// A (movie, show ID) pair as a show key; the movie has already been validated.
fn show(movie: u64, s: &str) -> Result<u64, BookingError> {
    codec::parse_show_id(s)
        .map(|k| k | movie)
        .ok_or(BookingError::InvalidShowId)
}

fn count(n: u32, err: BookingError) -> Result<u32, BookingError> {
    if (1..=MAX_COUNT).contains(&n) {
        Ok(n)
    } else {
        Err(err)
    }
}

/// Rules §4 for customer operations.
fn authorise(actor: User, customer: User) -> Result<(), BookingError> {
    if customer.admin || (!actor.admin && actor != customer) {
        Err(BookingError::NotAuthorized)
    } else {
        Ok(())
    }
}

fn today_days(d: &Date) -> i64 {
    codec::days_from_civil(i64::from(d.year), u32::from(d.month), u32::from(d.day))
}

/// The smallest show key dated on or after `days` (show keys are never negative).
fn first_key_on(days: i64) -> u64 {
    if days <= 0 { 0 } else { (days as u64) << 6 }
}

impl SortedReplica {
    fn find_show(&self, key: u64) -> Result<usize, usize> {
        self.shows.binary_search_by_key(&key, |s| s.key)
    }

    fn find_booking(&self, id: u64) -> Result<usize, usize> {
        self.bookings.binary_search_by_key(&id, |b| b.id)
    }

    /// The customer's bookings, in show order.
    fn bookings_of(&self, customer: u32) -> &[Booking] {
        let lo = self
            .bookings
            .partition_point(|b| b.id < booking_id(customer, 0));
        let hi = self
            .bookings
            .partition_point(|b| b.id < booking_id(customer + 1, 0));
        &self.bookings[lo..hi]
    }

    /// Book's checks 3–7 (shared with exchange). `ignore` is a booking of the customer that
    /// the request empties, so it no longer counts. Returns the index of the show.
    fn check_booking(
        &self,
        customer: User,
        key: u64,
        tickets: u32,
        today: i64,
        ignore: Option<u64>,
    ) -> Result<usize, BookingError> {
        let index = self
            .find_show(key)
            .map_err(|_| BookingError::ShowNotFound)?;
        if key_days(key) < today {
            return Err(BookingError::PastShow);
        }
        let mine = self.bookings_of(customer.code());
        let counted = |b: &&Booking| Some(b.show()) != ignore;
        let within = |lo: u64, hi: u64| {
            let a = mine.partition_point(|b| b.show() < lo);
            let z = mine.partition_point(|b| b.show() < hi);
            mine[a..z].iter().filter(counted)
        };

        // Same date and slot is the key range sharing the bits above area and movie.
        let slot = key & !0xF;
        if within(slot, slot + 0x10)
            .any(|b| key_movie(b.show()) == key_movie(key) && key_area(b.show()) != key_area(key))
        {
            return Err(BookingError::SameShowOtherArea);
        }

        let holds_it = mine.binary_search_by_key(&key, |b| b.show()).is_ok();
        if key_area(key) != customer.area && !holds_it {
            let monday = monday_of(key_days(key));
            let others = within(first_key_on(monday), first_key_on(monday + 7))
                .filter(|b| key_area(b.show()) != customer.area)
                .count();
            if others >= 3 {
                return Err(BookingError::WeeklyLimit);
            }
        }

        let remaining = self.shows[index].remaining();
        if tickets > remaining {
            return Err(BookingError::ShowFull(remaining));
        }
        Ok(index)
    }

    /// Adds tickets to a booking, creating it if absent; returns the tickets held after.
    /// The show's total is the caller's business.
    fn add_to_booking(&mut self, id: u64, tickets: u32) -> u32 {
        match self.find_booking(id) {
            Ok(i) => {
                self.bookings[i].tickets += tickets;
                self.bookings[i].tickets
            }
            Err(i) => {
                self.bookings.insert(i, Booking { id, tickets });
                tickets
            }
        }
    }

    /// Takes tickets off the booking at `i` (and off its show); returns the tickets left.
    fn take_from_booking(&mut self, i: usize, tickets: u32) -> u32 {
        let key = self.bookings[i].show();
        if let Ok(s) = self.find_show(key) {
            self.shows[s].held -= tickets;
        }
        let left = self.bookings[i].tickets - tickets;
        if left == 0 {
            self.bookings.remove(i);
        } else {
            self.bookings[i].tickets = left;
        }
        left
    }

    fn add_show(&mut self, r: AddShow, today: i64) -> Outcome {
        let actor = user(&r.actor)?;
        let key = show(movie(&r.movie)?, &r.show_id)?;
        let capacity = count(r.capacity, BookingError::InvalidCapacity)?;
        if !actor.admin || actor.area != key_area(key) {
            return Err(BookingError::NotAuthorized);
        }
        let days = key_days(key);
        if days < today || days > today + 7 {
            return Err(BookingError::OutsideWindow);
        }
        match self.find_show(key) {
            Ok(i) => {
                let entry = &mut self.shows[i];
                if capacity < entry.held {
                    return Err(BookingError::CapacityBelowBooked);
                }
                let old = entry.capacity;
                entry.capacity = capacity;
                Ok(Success::ShowUpdated(old))
            }
            Err(i) => {
                let entry = Show {
                    key,
                    capacity,
                    held: 0,
                };
                self.shows.insert(i, entry);
                Ok(Success::ShowAdded)
            }
        }
    }

    fn remove_show(&mut self, r: RemoveShow, today: i64) -> Outcome {
        let actor = user(&r.actor)?;
        let key = show(movie(&r.movie)?, &r.show_id)?;
        if !actor.admin || actor.area != key_area(key) {
            return Err(BookingError::NotAuthorized);
        }
        let index = self
            .find_show(key)
            .map_err(|_| BookingError::ShowNotFound)?;
        if key_days(key) < today {
            return Err(BookingError::PastShow);
        }
        self.shows.remove(index);

        // One pass pulls the show's bookings out; they come in ascending customer order
        // because the vector is sorted by customer first.
        let mut taken = Vec::new();
        self.bookings.retain(|b| {
            let hit = b.show() == key;
            if hit {
                taken.push(*b);
            }
            !hit
        });

        // Targets: later shows (they now start at `index`) of the same movie and area.
        let targets: Vec<usize> = (index..self.shows.len())
            .filter(|&i| self.shows[i].key & 0xF == key & 0xF)
            .collect();
        let mut moved = Vec::new();
        let mut dropped = Vec::new();
        let mut created = Vec::new();
        for b in taken {
            let customer = b.customer();
            let target = targets
                .iter()
                .copied()
                .find(|&i| self.shows[i].remaining() >= b.tickets);
            let Some(t) = target else {
                dropped.push(DroppedBooking {
                    customer: codec::format_customer(customer),
                    tickets: b.tickets,
                });
                continue;
            };
            let to = self.shows[t].key;
            self.shows[t].held += b.tickets;
            // Each customer has one booking on the removed show, so new bookings can wait
            // in `created` without ever being looked up again.
            let id = booking_id(customer, to);
            match self.find_booking(id) {
                Ok(i) => self.bookings[i].tickets += b.tickets,
                Err(_) => created.push(Booking {
                    id,
                    tickets: b.tickets,
                }),
            }
            moved.push(MovedBooking {
                customer: codec::format_customer(customer),
                to_show_id: codec::format_show_id(to),
                tickets: b.tickets,
            });
        }
        if !created.is_empty() {
            // `created` is sorted (ascending customers, one each): the stable sort sees two
            // sorted runs and merges them in linear time.
            self.bookings.extend(created);
            self.bookings.sort_by_key(|b| b.id);
        }
        Ok(Success::ShowRemoved(ShowRemoved { moved, dropped }))
    }

    fn availability(&self, r: Availability, today: i64) -> Outcome {
        user(&r.actor)?;
        let wanted = movie(&r.movie)?;
        let from = self.shows.partition_point(|s| s.key < first_key_on(today));
        let list = self.shows[from..]
            .iter()
            .filter(|s| key_movie(s.key) == wanted)
            .map(|s| ShowRemaining {
                show_id: codec::format_show_id(s.key),
                remaining: s.remaining(),
            })
            .collect();
        Ok(Success::Availability(list))
    }

    fn book(&mut self, r: Book, today: i64) -> Outcome {
        let actor = user(&r.actor)?;
        let customer = user(&r.customer)?;
        let key = show(movie(&r.movie)?, &r.show_id)?;
        let tickets = count(r.tickets, BookingError::InvalidTickets)?;
        authorise(actor, customer)?;
        let index = self.check_booking(customer, key, tickets, today, None)?;
        self.shows[index].held += tickets;
        let held = self.add_to_booking(booking_id(customer.code(), key), tickets);
        Ok(Success::Booked(Booked {
            held,
            remaining: self.shows[index].remaining(),
        }))
    }

    fn schedule(&self, r: Schedule) -> Outcome {
        let actor = user(&r.actor)?;
        let customer = user(&r.customer)?;
        authorise(actor, customer)?;
        let list = self
            .bookings_of(customer.code())
            .iter()
            .map(|b| ScheduledBooking {
                movie: codec::movie_name(b.show()),
                show_id: codec::format_show_id(b.show()),
                tickets: b.tickets,
            })
            .collect();
        Ok(Success::Schedule(list))
    }

    fn cancel(&mut self, r: Cancel, today: i64) -> Outcome {
        let actor = user(&r.actor)?;
        let customer = user(&r.customer)?;
        let key = show(movie(&r.movie)?, &r.show_id)?;
        let tickets = count(r.tickets, BookingError::InvalidTickets)?;
        authorise(actor, customer)?;
        let i = self
            .find_booking(booking_id(customer.code(), key))
            .map_err(|_| BookingError::NotBooked)?;
        if key_days(key) < today {
            return Err(BookingError::PastShow);
        }
        let held = self.bookings[i].tickets;
        if tickets > held {
            return Err(BookingError::TooManyTickets(held));
        }
        Ok(Success::Cancelled(self.take_from_booking(i, tickets)))
    }

    fn exchange(&mut self, r: Exchange, today: i64) -> Outcome {
        let actor = user(&r.actor)?;
        let customer = user(&r.customer)?;
        let old = show(movie(&r.old_movie)?, &r.old_show_id)?;
        let new = show(movie(&r.new_movie)?, &r.new_show_id)?;
        let tickets = count(r.tickets, BookingError::InvalidTickets)?;
        authorise(actor, customer)?;
        if old == new {
            return Err(BookingError::SameShow);
        }
        let old_id = booking_id(customer.code(), old);
        let i = self
            .find_booking(old_id)
            .map_err(|_| BookingError::NotBooked)?;
        if key_days(old) < today {
            return Err(BookingError::PastShow);
        }
        let held = self.bookings[i].tickets;
        if tickets > held {
            return Err(BookingError::TooManyTickets(held));
        }
        // The shows differ, so taking tickets off the old one cannot change the new one's
        // remaining; only an emptied old booking stops counting.
        let ignore = (tickets == held).then_some(old);
        let index = self.check_booking(customer, new, tickets, today, ignore)?;

        self.shows[index].held += tickets;
        let new_held = self.add_to_booking(booking_id(customer.code(), new), tickets);
        // The insertion above may have shifted the old booking: look it up again.
        let i = self.find_booking(old_id).unwrap_or(i);
        let old_held = self.take_from_booking(i, tickets);
        Ok(Success::Exchanged(Exchanged { old_held, new_held }))
    }
}

fn state_error(section: StateSection, index: usize, fault: StateFault) -> StateError {
    StateError {
        section,
        index: index as u32,
        fault,
    }
}

/// Strict order of consecutive keys: `duplicate` on equality, `out-of-order` when smaller.
fn order_fault(previous: Option<u64>, key: u64) -> Option<StateFault> {
    match previous {
        Some(p) if p == key => Some(StateFault::Duplicate),
        Some(p) if p > key => Some(StateFault::OutOfOrder),
        _ => None,
    }
}

impl Replica for SortedReplica {
    fn apply(&mut self, req: Request) -> Outcome {
        let today = today_days(&req.context.today);
        match req.operation {
            Operation::AddShow(r) => self.add_show(r, today),
            Operation::RemoveShow(r) => self.remove_show(r, today),
            Operation::Availability(r) => self.availability(r, today),
            Operation::Book(r) => self.book(r, today),
            Operation::Schedule(r) => self.schedule(r),
            Operation::Cancel(r) => self.cancel(r, today),
            Operation::Exchange(r) => self.exchange(r, today),
        }
    }

    fn export_state(&self) -> CanonicalState {
        let shows = self
            .shows
            .iter()
            .map(|s| ShowEntry {
                movie: codec::movie_name(s.key),
                show_id: codec::format_show_id(s.key),
                capacity: s.capacity,
            })
            .collect();
        let bookings = self
            .bookings
            .iter()
            .map(|b| BookingEntry {
                customer: codec::format_customer(b.customer()),
                movie: codec::movie_name(b.show()),
                show_id: codec::format_show_id(b.show()),
                tickets: b.tickets,
            })
            .collect();
        CanonicalState { shows, bookings }
    }

    fn import_state(&mut self, state: CanonicalState) -> Result<(), StateError> {
        use StateSection::{Bookings, Shows};

        // Build the new state aside; `self` is replaced only once all of it is valid.
        let mut shows: Vec<Show> = Vec::with_capacity(state.shows.len());
        for (i, e) in state.shows.iter().enumerate() {
            let fault = |f| state_error(Shows, i, f);
            let movie = codec::parse_movie(&e.movie).ok_or(fault(StateFault::UnknownMovie))?;
            let key =
                codec::parse_show_id(&e.show_id).ok_or(fault(StateFault::MalformedId))? | movie;
            if !(1..=MAX_COUNT).contains(&e.capacity) {
                return Err(fault(StateFault::CapacityOutOfRange));
            }
            if let Some(f) = order_fault(shows.last().map(|s| s.key), key) {
                return Err(fault(f));
            }
            shows.push(Show {
                key,
                capacity: e.capacity,
                held: 0,
            });
        }

        // Totals in u64: imported ticket counts are unbounded, so a u32 sum could wrap.
        let mut totals = alloc::vec![0u64; shows.len()];
        let mut bookings: Vec<Booking> = Vec::with_capacity(state.bookings.len());
        for (i, e) in state.bookings.iter().enumerate() {
            let fault = |f| state_error(Bookings, i, f);
            let customer = codec::parse_user(&e.customer)
                .filter(|u| !u.admin)
                .ok_or(fault(StateFault::MalformedId))?;
            let movie = codec::parse_movie(&e.movie).ok_or(fault(StateFault::UnknownMovie))?;
            let key =
                codec::parse_show_id(&e.show_id).ok_or(fault(StateFault::MalformedId))? | movie;
            if e.tickets == 0 {
                return Err(fault(StateFault::ZeroTickets));
            }
            let id = booking_id(customer.code(), key);
            if let Some(f) = order_fault(bookings.last().map(|b| b.id), id) {
                return Err(fault(f));
            }
            let s = shows
                .binary_search_by_key(&key, |s| s.key)
                .map_err(|_| fault(StateFault::UnknownShow))?;
            totals[s] += u64::from(e.tickets);
            bookings.push(Booking {
                id,
                tickets: e.tickets,
            });
        }
        for (i, (show, &total)) in shows.iter_mut().zip(&totals).enumerate() {
            if total > u64::from(show.capacity) {
                return Err(state_error(Shows, i, StateFault::OverCapacity));
            }
            show.held = total as u32;
        }

        self.shows = shows;
        self.bookings = bookings;
        Ok(())
    }
}
