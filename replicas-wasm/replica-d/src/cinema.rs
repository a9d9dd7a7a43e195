//! The state: one ledger per customer, plus a seat index per show.
//!
//! - `ledgers`: customer → [`Ledger`], a short vector of (show, tickets) lines sorted in show
//!   order. A customer with no tickets has no ledger at all.
//! - `catalogue`: show → [`Seats`] (capacity, and `sold` = the sum of every ledger's tickets on
//!   that show, kept up to date by [`Cinema::credit`] and [`Cinema::debit`], the only two
//!   functions that change ticket counts).
//! - `digest`: the state digest (rules §7.1) of what [`Cinema::export`] would return, kept by
//!   the same few functions that change the two maps (`set_capacity`, `credit`, `debit`,
//!   `close_show`, `import`), so that reading it costs nothing in proportion to the state.
//!
//! The canonical export is a straight walk of both maps, because both are keyed in exactly
//! the canonical order (rules §7).

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use dmtbs_guest::{
    BookingEntry, CanonicalState, ShowEntry, StateDigest, StateError, StateFault, StateSection,
};

use crate::ids::{Movie, ShowId, ShowKey, UserId};

pub const MAX_COUNT: u32 = 10_000;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Seats {
    pub capacity: u32,
    pub sold: u32,
}

impl Seats {
    pub fn remaining(self) -> u32 {
        self.capacity.saturating_sub(self.sold)
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Line {
    pub show: ShowKey,
    pub tickets: u32,
}

/// One customer's bookings, sorted by show, every line with at least one ticket.
#[derive(Clone, Default, PartialEq, Eq, Debug)]
pub struct Ledger {
    lines: Vec<Line>,
}

impl Ledger {
    fn find(&self, show: ShowKey) -> Result<usize, usize> {
        self.lines.binary_search_by(|l| l.show.cmp(&show))
    }

    pub fn held(&self, show: ShowKey) -> u32 {
        self.find(show).map_or(0, |i| self.lines[i].tickets)
    }

    pub fn lines(&self) -> &[Line] {
        &self.lines
    }

    /// Adds tickets to a line (creating it); returns the tickets held there after.
    fn add(&mut self, show: ShowKey, tickets: u32) -> u32 {
        match self.find(show) {
            Ok(i) => {
                self.lines[i].tickets += tickets;
                self.lines[i].tickets
            }
            Err(i) => {
                self.lines.insert(i, Line { show, tickets });
                tickets
            }
        }
    }

    /// Takes up to `tickets` off a line (dropping it at 0); returns the tickets left there.
    fn take(&mut self, show: ShowKey, tickets: u32) -> u32 {
        match self.find(show) {
            Ok(i) => {
                let left = self.lines[i].tickets.saturating_sub(tickets);
                if left == 0 {
                    self.lines.remove(i);
                } else {
                    self.lines[i].tickets = left;
                }
                left
            }
            Err(_) => 0,
        }
    }
}

#[derive(Clone, Default, PartialEq, Eq, Debug)]
pub struct Cinema {
    catalogue: BTreeMap<ShowKey, Seats>,
    ledgers: BTreeMap<UserId, Ledger>,
    /// Part of `PartialEq` on purpose: a re-import (digest from scratch) must equal the
    /// incrementally kept state.
    digest: StateDigest,
}

// The digest's entry hashes, over exactly the strings `export` emits for the entry.
fn show_in(d: &mut StateDigest, show: ShowKey, capacity: u32) {
    d.add_show(show.movie.name(), &show.show_id(), capacity);
}

fn show_out(d: &mut StateDigest, show: ShowKey, capacity: u32) {
    d.remove_show(show.movie.name(), &show.show_id(), capacity);
}

/// A booking line went from `before` to `after` tickets (0: absent): old entry out, new in.
fn booking_changed(d: &mut StateDigest, customer: UserId, show: ShowKey, before: u32, after: u32) {
    if before == after {
        return;
    }
    let (c, m, id) = (customer.text(), show.movie.name(), show.show_id());
    if before > 0 {
        d.remove_booking(&c, m, &id, before);
    }
    if after > 0 {
        d.add_booking(&c, m, &id, after);
    }
}

impl Cinema {
    // ---- reads -------------------------------------------------------------------------------

    /// The digest of the current canonical state (rules §7.1), kept up to date: O(1).
    pub fn digest(&self) -> StateDigest {
        self.digest
    }

    pub fn seats(&self, show: ShowKey) -> Option<Seats> {
        self.catalogue.get(&show).copied()
    }

    pub fn held(&self, customer: UserId, show: ShowKey) -> u32 {
        self.ledgers.get(&customer).map_or(0, |l| l.held(show))
    }

    /// The customer's bookings in show order, **as if** `minus` = (show, n) had already taken
    /// `n` tickets off that show (lines brought to 0 vanish). `None`: the bookings as they are.
    pub fn holdings(
        &self,
        customer: UserId,
        minus: Option<(ShowKey, u32)>,
    ) -> impl Iterator<Item = Line> + '_ {
        self.ledgers
            .get(&customer)
            .map(Ledger::lines)
            .unwrap_or(&[])
            .iter()
            .map(move |l| match minus {
                Some((show, n)) if show == l.show => Line {
                    show: l.show,
                    tickets: l.tickets.saturating_sub(n),
                },
                _ => *l,
            })
            .filter(|l| l.tickets > 0)
    }

    /// Every show in show order.
    pub fn shows(&self) -> impl Iterator<Item = (ShowKey, Seats)> + '_ {
        self.catalogue.iter().map(|(k, s)| (*k, *s))
    }

    /// The first show strictly after `after` in show order with the same movie and area and at
    /// least `tickets` seats left.
    pub fn next_fit(&self, after: ShowKey, tickets: u32) -> Option<ShowKey> {
        use core::ops::Bound::{Excluded, Unbounded};
        self.catalogue
            .range((Excluded(after), Unbounded))
            .find(|(k, s)| {
                k.movie == after.movie && k.area == after.area && s.remaining() >= tickets
            })
            .map(|(k, _)| *k)
    }

    // ---- the only changes ----------------------------------------------------------------------

    /// Creates a show, or sets an existing show's capacity; returns the old capacity if any.
    pub fn set_capacity(&mut self, show: ShowKey, capacity: u32) -> Option<u32> {
        match self.catalogue.get_mut(&show) {
            Some(seats) => {
                let old = core::mem::replace(&mut seats.capacity, capacity);
                show_out(&mut self.digest, show, old);
                show_in(&mut self.digest, show, capacity);
                Some(old)
            }
            None => {
                self.catalogue.insert(show, Seats { capacity, sold: 0 });
                show_in(&mut self.digest, show, capacity);
                None
            }
        }
    }

    /// Adds tickets to a customer's booking on an existing show; returns (held, remaining)
    /// after the change.
    pub fn credit(&mut self, customer: UserId, show: ShowKey, tickets: u32) -> (u32, u32) {
        let held = self.ledgers.entry(customer).or_default().add(show, tickets);
        // What was held before: 0 for a new line, else that entry leaves (e.g. a move merging).
        booking_changed(&mut self.digest, customer, show, held - tickets, held);
        let remaining = match self.catalogue.get_mut(&show) {
            Some(seats) => {
                seats.sold += tickets;
                seats.remaining()
            }
            None => 0,
        };
        (held, remaining)
    }

    /// Takes tickets off a customer's booking; returns the tickets held there after.
    pub fn debit(&mut self, customer: UserId, show: ShowKey, tickets: u32) -> u32 {
        let Some(ledger) = self.ledgers.get_mut(&customer) else {
            return 0;
        };
        let before = ledger.held(show);
        let left = ledger.take(show, tickets);
        booking_changed(&mut self.digest, customer, show, before, left);
        if ledger.lines.is_empty() {
            self.ledgers.remove(&customer);
        }
        if let Some(seats) = self.catalogue.get_mut(&show) {
            seats.sold -= before - left;
        }
        left
    }

    /// Deletes a show and every booking on it; returns the bookings it held, in ascending
    /// customer ID.
    pub fn close_show(&mut self, show: ShowKey) -> Vec<(UserId, u32)> {
        let holders: Vec<(UserId, u32)> = self
            .ledgers
            .iter()
            .filter_map(|(c, l)| Some((*c, l.held(show))).filter(|(_, t)| *t > 0))
            .collect();
        for (customer, tickets) in &holders {
            self.debit(*customer, show, *tickets);
        }
        // The bookings left the digest through `debit`; now the show's own entry.
        if let Some(seats) = self.catalogue.remove(&show) {
            show_out(&mut self.digest, show, seats.capacity);
        }
        holders
    }

    // ---- canonical state (rules §7) ----------------------------------------------------------

    pub fn export(&self) -> CanonicalState {
        let shows = self
            .catalogue
            .iter()
            .map(|(k, s)| ShowEntry {
                movie: k.movie.name().into(),
                show_id: k.show_id(),
                capacity: s.capacity,
            })
            .collect();
        let bookings = self
            .ledgers
            .iter()
            .flat_map(|(c, l)| {
                l.lines.iter().map(move |line| BookingEntry {
                    customer: c.text(),
                    movie: line.show.movie.name().into(),
                    show_id: line.show.show_id(),
                    tickets: line.tickets,
                })
            })
            .collect();
        CanonicalState { shows, bookings }
    }

    /// Builds a whole new state from a canonical one, or names the first fault found.
    pub fn import(state: &CanonicalState) -> Result<Cinema, StateError> {
        let fault = |section, index: usize, fault| StateError {
            section,
            index: u32::try_from(index).unwrap_or(u32::MAX),
            fault,
        };
        let mut cinema = Cinema::default();
        let mut order: Vec<ShowKey> = Vec::with_capacity(state.shows.len());
        let mut previous: Option<ShowKey> = None;
        for (i, e) in state.shows.iter().enumerate() {
            let shows = |f| fault(StateSection::Shows, i, f);
            let movie = Movie::parse(&e.movie).ok_or(shows(StateFault::UnknownMovie))?;
            let id = ShowId::parse(&e.show_id).ok_or(shows(StateFault::MalformedId))?;
            if !(1..=MAX_COUNT).contains(&e.capacity) {
                return Err(shows(StateFault::CapacityOutOfRange));
            }
            let key = ShowKey::new(movie, id);
            check_after(previous, key).map_err(shows)?;
            previous = Some(key);
            order.push(key);
            cinema.catalogue.insert(
                key,
                Seats {
                    capacity: e.capacity,
                    sold: 0,
                },
            );
            // Built with the new state: a refused import drops it with the rest.
            show_in(&mut cinema.digest, key, e.capacity);
        }

        let mut sums: BTreeMap<ShowKey, u64> = BTreeMap::new();
        let mut previous: Option<(UserId, ShowKey)> = None;
        for (i, b) in state.bookings.iter().enumerate() {
            let bookings = |f| fault(StateSection::Bookings, i, f);
            let customer = UserId::parse(&b.customer)
                .filter(|c| !c.is_admin())
                .ok_or(bookings(StateFault::MalformedId))?;
            let movie = Movie::parse(&b.movie).ok_or(bookings(StateFault::UnknownMovie))?;
            let id = ShowId::parse(&b.show_id).ok_or(bookings(StateFault::MalformedId))?;
            if b.tickets == 0 {
                return Err(bookings(StateFault::ZeroTickets));
            }
            let key = (customer, ShowKey::new(movie, id));
            check_after(previous, key).map_err(bookings)?;
            previous = Some(key);
            if !cinema.catalogue.contains_key(&key.1) {
                return Err(bookings(StateFault::UnknownShow));
            }
            *sums.entry(key.1).or_default() += u64::from(b.tickets);
            // Appended in (customer, show) order, so every ledger stays sorted.
            cinema
                .ledgers
                .entry(customer)
                .or_default()
                .lines
                .push(Line {
                    show: key.1,
                    tickets: b.tickets,
                });
            booking_changed(&mut cinema.digest, customer, key.1, 0, b.tickets);
        }

        for (i, key) in order.iter().enumerate() {
            let sum = sums.get(key).copied().unwrap_or(0);
            let Some(seats) = cinema.catalogue.get_mut(key) else {
                continue;
            };
            if sum > u64::from(seats.capacity) {
                return Err(fault(StateSection::Shows, i, StateFault::OverCapacity));
            }
            // At most the capacity (<= 10000), so it fits.
            seats.sold = sum as u32;
        }
        Ok(cinema)
    }
}

/// An entry must come strictly after the previous one in its list's order.
fn check_after<K: Ord>(previous: Option<K>, key: K) -> Result<(), StateFault> {
    match previous.map(|p| p.cmp(&key)) {
        Some(core::cmp::Ordering::Equal) => Err(StateFault::Duplicate),
        Some(core::cmp::Ordering::Greater) => Err(StateFault::OutOfOrder),
        _ => Ok(()),
    }
}
