//! DMTBS replica C: the booking rules (`docs/booking-rules.md`) over an append-only ledger.
//!
//! Design:
//! - The source of truth is [`Ledger::entries`], an append-only list of [`Event`]s (show opened,
//!   capacity set, show closed, tickets added, tickets removed). Nothing else is authoritative.
//! - Two indexes hold *ledger positions*, not state: per open show, the positions of its events
//!   since it was opened; per customer, the positions of its ticket events. A question about a
//!   customer ("what does X hold, where, which week") folds that customer's positions; a question
//!   about one show's bookings folds that show's positions.
//! - Each entry also records the show's balance after it (capacity, seats held), as an accounting
//!   ledger carries a running balance, so "remaining on S" reads S's latest entry instead of
//!   folding all its bookings: `availability` over hundreds of shows stays cheap.
//! - Removing a show appends explicit ticket removals for every booking on it before closing it,
//!   so customer folds never need to know about closures.
//! - The ledger is re-based (folded into a fresh ledger of one entry per show and per booking)
//!   on import and whenever it outgrows a multiple of the live state, so it stays bounded.
//!   Export folds the whole ledger into the canonical state.
//!
//! Identifiers are parsed into small integers whose numeric order *is* the contract's order:
//! a [`Show`] key sorts in show order, a [`CustKey`] in customer-ID byte order.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use dmtbs_guest::{
    AddShow, Availability, Book, Booked, BookingEntry, BookingError, Cancel, CanonicalState,
    DroppedBooking, Exchange, Exchanged, MovedBooking, Operation, Outcome, RemoveShow, Replica,
    Request, Schedule, ScheduledBooking, ShowEntry, ShowRemaining, ShowRemoved, StateError,
    StateFault, StateSection, Success,
};

#[cfg(test)]
mod tests;

/// Largest capacity and ticket count a request may carry.
const MAX_COUNT: u32 = 10_000;
/// A show may be created or changed up to this many days after `today`.
const WINDOW_DAYS: i64 = 7;
/// Refused when the customer already holds this many other-area shows in the week.
const WEEKLY_LIMIT: usize = 3;
/// Re-base when the ledger is longer than `FACTOR * live entries + SLACK`; the slack keeps a
/// small state from being re-based on almost every request.
const COMPACT_FACTOR: usize = 3;
const COMPACT_SLACK: usize = 4096;

/// Areas in show order (alphabetical, as the rules settle), slots and movies likewise.
const AREAS: [&str; 3] = ["ATW", "OUT", "VER"];
const SLOTS: [u8; 3] = [b'M', b'A', b'E'];
const MOVIES: [&str; 3] = ["Avatar", "Avengers", "Titanic"];

// ---------------------------------------------------------------------------------------------
// Calendar: days since 1970-01-01 in the proleptic Gregorian calendar (H. Hinnant's algorithms).

fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12; // March = 0, so the leap day ends the year
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The Monday of the ISO week holding `days`; equal Mondays mean the same week.
fn monday_of(days: i64) -> i64 {
    // 1970-01-01 was a Thursday, i.e. weekday 3 counting Monday as 0.
    days - (days + 3).rem_euclid(7)
}

// ---------------------------------------------------------------------------------------------
// Identifiers.

fn parse_area(b: &[u8]) -> Option<u8> {
    match b {
        b"ATW" => Some(0),
        b"OUT" => Some(1),
        b"VER" => Some(2),
        _ => None,
    }
}

fn parse_digits(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0u32, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
struct User {
    area: u8,
    admin: bool,
    number: u16,
}

impl User {
    fn parse(s: &str) -> Option<User> {
        let b = s.as_bytes();
        if b.len() != 8 {
            return None;
        }
        let area = parse_area(&b[..3])?;
        let admin = match b[3] {
            b'A' => true,
            b'C' => false,
            _ => return None,
        };
        let number = parse_digits(&b[4..])? as u16;
        Some(User {
            area,
            admin,
            number,
        })
    }

    fn cust_key(self) -> CustKey {
        u32::from(self.area) * 10_000 + u32::from(self.number)
    }
}

/// A customer (role `C`) as `area * 10000 + number`: its numeric order is the byte order of the
/// IDs, since every customer ID has the same role letter.
type CustKey = u32;

fn customer_string(c: CustKey) -> String {
    format!("{}C{:04}", AREAS[(c / 10_000) as usize], c % 10_000)
}

fn parse_movie(s: &str) -> Option<u8> {
    MOVIES.iter().position(|m| *m == s).map(|i| i as u8)
}

/// A parsed show ID (without the movie).
#[derive(Clone, Copy)]
struct ShowId {
    day: i64,
    slot: u8,
    area: u8,
}

impl ShowId {
    fn parse(s: &str) -> Option<ShowId> {
        let b = s.as_bytes();
        if b.len() != 10 {
            return None;
        }
        let area = parse_area(&b[..3])?;
        let slot = SLOTS.iter().position(|&c| c == b[3])? as u8;
        let dd = i64::from(parse_digits(&b[4..6])?);
        let mm = i64::from(parse_digits(&b[6..8])?);
        let year = 2000 + i64::from(parse_digits(&b[8..10])?);
        if !(1..=12).contains(&mm) || dd < 1 || dd > days_in_month(year, mm) {
            return None;
        }
        Some(ShowId {
            day: days_from_civil(year, mm, dd),
            slot,
            area,
        })
    }
}

/// A show (movie, show ID) packed as `((day * 3 + slot) * 3 + area) * 3 + movie`, so that the
/// integer order is exactly show order. Days of years 2000..=2099 are positive and small.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Show(u32);

impl Show {
    fn new(id: ShowId, movie: u8) -> Show {
        let day = id.day as u32;
        Show(((day * 3 + u32::from(id.slot)) * 3 + u32::from(id.area)) * 3 + u32::from(movie))
    }

    /// The first key of `day` in show order (for ranges "not past").
    fn first_on(day: i64) -> Show {
        Show(day.clamp(0, i64::from(u32::MAX / 27)) as u32 * 27)
    }

    fn movie(self) -> u8 {
        (self.0 % 3) as u8
    }

    fn area(self) -> u8 {
        (self.0 / 3 % 3) as u8
    }

    /// Date and slot together: equal for the "same show" in different areas.
    fn date_slot(self) -> u32 {
        self.0 / 9
    }

    fn day(self) -> i64 {
        i64::from(self.0 / 27)
    }

    fn movie_string(self) -> String {
        String::from(MOVIES[self.movie() as usize])
    }

    fn id_string(self) -> String {
        let (y, m, d) = civil_from_days(self.day());
        let slot = SLOTS[(self.0 / 9 % 3) as usize] as char;
        format!(
            "{}{}{:02}{:02}{:02}",
            AREAS[self.area() as usize],
            slot,
            d,
            m,
            y - 2000
        )
    }
}

// The V step: each field checked by its kind, in signature order, via `?`.

fn user(s: &str) -> Result<User, BookingError> {
    User::parse(s).ok_or(BookingError::InvalidUserId)
}

fn show(movie: &str, id: &str) -> Result<Show, BookingError> {
    let m = parse_movie(movie).ok_or(BookingError::UnknownMovie)?;
    let id = ShowId::parse(id).ok_or(BookingError::InvalidShowId)?;
    Ok(Show::new(id, m))
}

fn tickets(n: u32) -> Result<u32, BookingError> {
    if (1..=MAX_COUNT).contains(&n) {
        Ok(n)
    } else {
        Err(BookingError::InvalidTickets)
    }
}

/// Authorisation of a customer operation (rules §4).
fn may_act_for(actor: User, customer: User) -> Result<(), BookingError> {
    if customer.admin || (!actor.admin && actor != customer) {
        Err(BookingError::NotAuthorized)
    } else {
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// The ledger.

#[derive(Clone, Copy)]
enum Event {
    ShowOpened {
        show: Show,
        capacity: u32,
    },
    CapacitySet {
        show: Show,
        capacity: u32,
    },
    ShowClosed {
        show: Show,
    },
    TicketsAdded {
        cust: CustKey,
        show: Show,
        tickets: u32,
    },
    TicketsRemoved {
        cust: CustKey,
        show: Show,
        tickets: u32,
    },
}

/// The running balance of one show, as of some ledger entry.
#[derive(Clone, Copy, Default)]
struct Balance {
    capacity: u32,
    held: u32,
}

impl Balance {
    fn remaining(self) -> u32 {
        self.capacity - self.held
    }
}

#[derive(Clone, Copy)]
struct Entry {
    event: Event,
    /// The balance of the event's show after the event.
    balance: Balance,
}

/// Replica C. `Default` is the empty ledger.
#[derive(Default)]
pub struct Ledger {
    entries: Vec<Entry>,
    /// Open shows → positions of their events since they were opened.
    by_show: BTreeMap<Show, Vec<u32>>,
    /// Customers → positions of their ticket events (until the next re-base).
    by_customer: BTreeMap<CustKey, Vec<u32>>,
    /// Bookings with at least one ticket, to know when the ledger has outgrown the state.
    live_bookings: usize,
}

dmtbs_guest::export_replica!(Ledger);

type Folded = (Vec<(Show, u32)>, Vec<(CustKey, Show, u32)>);

impl Ledger {
    /// The show's current balance, from its latest entry; `None` when it is not open.
    fn balance(&self, show: Show) -> Option<Balance> {
        let &pos = self.by_show.get(&show)?.last()?;
        Some(self.entries[pos as usize].balance)
    }

    fn record(&mut self, event: Event) {
        let pos = self.entries.len() as u32;
        let (show, cust) = match event {
            Event::ShowOpened { show, .. }
            | Event::CapacitySet { show, .. }
            | Event::ShowClosed { show } => (show, None),
            Event::TicketsAdded { cust, show, .. } | Event::TicketsRemoved { cust, show, .. } => {
                (show, Some(cust))
            }
        };
        let prev = self.balance(show).unwrap_or_default();
        let balance = match event {
            Event::ShowOpened { capacity, .. } => Balance { capacity, held: 0 },
            Event::CapacitySet { capacity, .. } => Balance { capacity, ..prev },
            Event::ShowClosed { .. } => prev,
            Event::TicketsAdded { tickets, .. } => Balance {
                held: prev.held + tickets,
                ..prev
            },
            Event::TicketsRemoved { tickets, .. } => Balance {
                held: prev.held - tickets,
                ..prev
            },
        };
        self.entries.push(Entry { event, balance });
        match event {
            // A reopened show starts a fresh position list: its old bookings are all gone.
            Event::ShowOpened { .. } => {
                self.by_show.insert(show, vec![pos]);
            }
            Event::ShowClosed { .. } => {
                self.by_show.remove(&show);
            }
            _ => self.by_show.entry(show).or_default().push(pos),
        }
        if let Some(c) = cust {
            self.by_customer.entry(c).or_default().push(pos);
        }
    }

    fn add_tickets(&mut self, cust: CustKey, show: Show, tickets: u32, held_before: u32) {
        if held_before == 0 {
            self.live_bookings += 1;
        }
        self.record(Event::TicketsAdded {
            cust,
            show,
            tickets,
        });
    }

    fn remove_tickets(&mut self, cust: CustKey, show: Show, tickets: u32, held_before: u32) {
        if held_before == tickets {
            self.live_bookings -= 1;
        }
        self.record(Event::TicketsRemoved {
            cust,
            show,
            tickets,
        });
    }

    /// Folds ticket events at `positions` into tickets held per `key`, dropping empty ones.
    fn fold_tickets<K: Ord>(
        &self,
        positions: Option<&Vec<u32>>,
        key: impl Fn(CustKey, Show) -> K,
    ) -> BTreeMap<K, u32> {
        let mut held: BTreeMap<K, i64> = BTreeMap::new();
        for &p in positions.into_iter().flatten() {
            match self.entries[p as usize].event {
                Event::TicketsAdded {
                    cust,
                    show,
                    tickets,
                } => *held.entry(key(cust, show)).or_default() += i64::from(tickets),
                Event::TicketsRemoved {
                    cust,
                    show,
                    tickets,
                } => *held.entry(key(cust, show)).or_default() -= i64::from(tickets),
                _ => {}
            }
        }
        held.into_iter()
            .filter(|&(_, h)| h > 0)
            .map(|(k, h)| (k, h as u32))
            .collect()
    }

    /// A customer's bookings (show → tickets), in show order.
    fn holdings(&self, cust: CustKey) -> BTreeMap<Show, u32> {
        self.fold_tickets(self.by_customer.get(&cust), |_, s| s)
    }

    /// The bookings on one open show (customer → tickets), in customer order.
    fn holders(&self, show: Show) -> BTreeMap<CustKey, u32> {
        self.fold_tickets(self.by_show.get(&show), |c, _| c)
    }

    /// The whole ledger folded: shows in show order, bookings by customer then show order.
    fn fold_all(&self) -> Folded {
        let mut shows = BTreeMap::new();
        let mut bookings: BTreeMap<(CustKey, Show), u32> = BTreeMap::new();
        for e in &self.entries {
            match e.event {
                Event::ShowOpened { show, capacity } | Event::CapacitySet { show, capacity } => {
                    shows.insert(show, capacity);
                }
                Event::ShowClosed { show } => {
                    shows.remove(&show);
                }
                Event::TicketsAdded {
                    cust,
                    show,
                    tickets,
                } => {
                    *bookings.entry((cust, show)).or_default() += tickets;
                }
                Event::TicketsRemoved {
                    cust,
                    show,
                    tickets,
                } => {
                    let held = bookings.entry((cust, show)).or_default();
                    *held -= tickets;
                    if *held == 0 {
                        bookings.remove(&(cust, show));
                    }
                }
            }
        }
        (
            shows.into_iter().collect(),
            bookings.into_iter().map(|((c, s), t)| (c, s, t)).collect(),
        )
    }

    /// Replaces the ledger by one entry per show and per booking of a (valid) folded state.
    fn rebase(&mut self, (shows, bookings): Folded) {
        *self = Ledger::default();
        self.entries.reserve(shows.len() + bookings.len());
        for (show, capacity) in shows {
            self.record(Event::ShowOpened { show, capacity });
        }
        for (cust, show, tickets) in bookings {
            self.add_tickets(cust, show, tickets, 0);
        }
    }

    fn compact_if_grown(&mut self) {
        let live = self.by_show.len() + self.live_bookings;
        if self.entries.len() > COMPACT_FACTOR * live + COMPACT_SLACK {
            let folded = self.fold_all();
            self.rebase(folded);
        }
    }

    // -- operations (rules §5) ------------------------------------------------------------------

    fn add_show(&mut self, today: i64, op: AddShow) -> Outcome {
        let actor = user(&op.actor)?;
        let show_key = show(&op.movie, &op.show_id)?;
        if !(1..=MAX_COUNT).contains(&op.capacity) {
            return Err(BookingError::InvalidCapacity);
        }
        if !actor.admin || actor.area != show_key.area() {
            return Err(BookingError::NotAuthorized);
        }
        let day = show_key.day();
        if day < today || day > today + WINDOW_DAYS {
            return Err(BookingError::OutsideWindow);
        }
        let capacity = op.capacity;
        match self.balance(show_key) {
            Some(b) => {
                if capacity < b.held {
                    return Err(BookingError::CapacityBelowBooked);
                }
                self.record(Event::CapacitySet {
                    show: show_key,
                    capacity,
                });
                Ok(Success::ShowUpdated(b.capacity))
            }
            None => {
                self.record(Event::ShowOpened {
                    show: show_key,
                    capacity,
                });
                Ok(Success::ShowAdded)
            }
        }
    }

    fn remove_show(&mut self, today: i64, op: RemoveShow) -> Outcome {
        let actor = user(&op.actor)?;
        let removed = show(&op.movie, &op.show_id)?;
        if !actor.admin || actor.area != removed.area() {
            return Err(BookingError::NotAuthorized);
        }
        if self.balance(removed).is_none() {
            return Err(BookingError::ShowNotFound);
        }
        if removed.day() < today {
            return Err(BookingError::PastShow);
        }
        let holders = self.holders(removed);
        for (&cust, &t) in &holders {
            self.remove_tickets(cust, removed, t, t);
        }
        self.record(Event::ShowClosed { show: removed });

        // Later shows of the same movie and area, in show order; their balances move with
        // every booking placed, so "remaining at that moment" is read fresh each time.
        let candidates: Vec<Show> = self
            .by_show
            .range(removed..)
            .map(|(&s, _)| s)
            .filter(|s| *s > removed && s.movie() == removed.movie() && s.area() == removed.area())
            .collect();
        let mut moved = Vec::new();
        let mut dropped = Vec::new();
        for (cust, t) in holders {
            let target = candidates
                .iter()
                .copied()
                .find(|&s| self.balance(s).is_some_and(|b| b.remaining() >= t));
            match target {
                Some(to) => {
                    let before = self.holdings(cust).get(&to).copied().unwrap_or(0);
                    self.add_tickets(cust, to, t, before);
                    moved.push(MovedBooking {
                        customer: customer_string(cust),
                        to_show_id: to.id_string(),
                        tickets: t,
                    });
                }
                None => dropped.push(DroppedBooking {
                    customer: customer_string(cust),
                    tickets: t,
                }),
            }
        }
        Ok(Success::ShowRemoved(ShowRemoved { moved, dropped }))
    }

    fn availability(&self, today: i64, op: Availability) -> Outcome {
        user(&op.actor)?;
        let movie = parse_movie(&op.movie).ok_or(BookingError::UnknownMovie)?;
        let shows = self
            .by_show
            .range(Show::first_on(today)..)
            .filter(|(s, _)| s.movie() == movie)
            .filter_map(|(&s, _)| {
                self.balance(s).map(|b| ShowRemaining {
                    show_id: s.id_string(),
                    remaining: b.remaining(),
                })
            })
            .collect();
        Ok(Success::Availability(shows))
    }

    /// Book's checks 3–7 for `tickets` on `target`, against the customer's bookings `held`
    /// (for an exchange, already reduced by the tickets leaving the old booking).
    fn check_booking(
        &self,
        today: i64,
        customer: User,
        held: &BTreeMap<Show, u32>,
        target: Show,
        tickets: u32,
    ) -> Result<Balance, BookingError> {
        let balance = self.balance(target).ok_or(BookingError::ShowNotFound)?;
        if target.day() < today {
            return Err(BookingError::PastShow);
        }
        let same_elsewhere = held.keys().any(|s| {
            s.movie() == target.movie()
                && s.date_slot() == target.date_slot()
                && s.area() != target.area()
        });
        if same_elsewhere {
            return Err(BookingError::SameShowOtherArea);
        }
        let home = customer.area;
        if target.area() != home && !held.contains_key(&target) {
            let week = monday_of(target.day());
            let away_this_week = held
                .keys()
                .filter(|s| s.area() != home && monday_of(s.day()) == week)
                .count();
            if away_this_week >= WEEKLY_LIMIT {
                return Err(BookingError::WeeklyLimit);
            }
        }
        if tickets > balance.remaining() {
            return Err(BookingError::ShowFull(balance.remaining()));
        }
        Ok(balance)
    }

    fn book(&mut self, today: i64, op: Book) -> Outcome {
        let actor = user(&op.actor)?;
        let customer = user(&op.customer)?;
        let target = show(&op.movie, &op.show_id)?;
        let t = tickets(op.tickets)?;
        may_act_for(actor, customer)?;
        let cust = customer.cust_key();
        let held = self.holdings(cust);
        let balance = self.check_booking(today, customer, &held, target, t)?;
        let before = held.get(&target).copied().unwrap_or(0);
        self.add_tickets(cust, target, t, before);
        Ok(Success::Booked(Booked {
            held: before + t,
            remaining: balance.remaining() - t,
        }))
    }

    fn schedule(&self, op: Schedule) -> Outcome {
        let actor = user(&op.actor)?;
        let customer = user(&op.customer)?;
        may_act_for(actor, customer)?;
        let bookings = self
            .holdings(customer.cust_key())
            .into_iter()
            .map(|(s, t)| ScheduledBooking {
                movie: s.movie_string(),
                show_id: s.id_string(),
                tickets: t,
            })
            .collect();
        Ok(Success::Schedule(bookings))
    }

    fn cancel(&mut self, today: i64, op: Cancel) -> Outcome {
        let actor = user(&op.actor)?;
        let customer = user(&op.customer)?;
        let target = show(&op.movie, &op.show_id)?;
        let t = tickets(op.tickets)?;
        may_act_for(actor, customer)?;
        let cust = customer.cust_key();
        let held = self.holdings(cust).get(&target).copied().unwrap_or(0);
        if held == 0 {
            return Err(BookingError::NotBooked);
        }
        if target.day() < today {
            return Err(BookingError::PastShow);
        }
        if t > held {
            return Err(BookingError::TooManyTickets(held));
        }
        self.remove_tickets(cust, target, t, held);
        Ok(Success::Cancelled(held - t))
    }

    fn exchange(&mut self, today: i64, op: Exchange) -> Outcome {
        let actor = user(&op.actor)?;
        let customer = user(&op.customer)?;
        let old = show(&op.old_movie, &op.old_show_id)?;
        let new = show(&op.new_movie, &op.new_show_id)?;
        let t = tickets(op.tickets)?;
        may_act_for(actor, customer)?;
        if old == new {
            return Err(BookingError::SameShow);
        }
        let cust = customer.cust_key();
        let mut held = self.holdings(cust);
        let old_before = held.get(&old).copied().ok_or(BookingError::NotBooked)?;
        if old.day() < today {
            return Err(BookingError::PastShow);
        }
        if t > old_before {
            return Err(BookingError::TooManyTickets(old_before));
        }
        // The new show is judged as if the tickets had already left the old booking.
        let old_after = old_before - t;
        if old_after == 0 {
            held.remove(&old);
        } else {
            held.insert(old, old_after);
        }
        self.check_booking(today, customer, &held, new, t)?;
        let new_before = held.get(&new).copied().unwrap_or(0);
        self.remove_tickets(cust, old, t, old_before);
        self.add_tickets(cust, new, t, new_before);
        Ok(Success::Exchanged(Exchanged {
            old_held: old_after,
            new_held: new_before + t,
        }))
    }
}

/// Validates a canonical state completely (rules §7) and returns it parsed.
fn validate(state: &CanonicalState) -> Result<Folded, StateError> {
    let fault = |section, index: usize, fault| StateError {
        section,
        index: index as u32,
        fault,
    };
    let mut shows: Vec<(Show, u32)> = Vec::with_capacity(state.shows.len());
    for (i, e) in state.shows.iter().enumerate() {
        let err = |f| fault(StateSection::Shows, i, f);
        let movie = parse_movie(&e.movie).ok_or(err(StateFault::UnknownMovie))?;
        let id = ShowId::parse(&e.show_id).ok_or(err(StateFault::MalformedId))?;
        if !(1..=MAX_COUNT).contains(&e.capacity) {
            return Err(err(StateFault::CapacityOutOfRange));
        }
        let key = Show::new(id, movie);
        if let Some(&(prev, _)) = shows.last() {
            if key == prev {
                return Err(err(StateFault::Duplicate));
            }
            if key < prev {
                return Err(err(StateFault::OutOfOrder));
            }
        }
        shows.push((key, e.capacity));
    }

    let mut held = vec![0u64; shows.len()];
    let mut bookings: Vec<(CustKey, Show, u32)> = Vec::with_capacity(state.bookings.len());
    for (i, e) in state.bookings.iter().enumerate() {
        let err = |f| fault(StateSection::Bookings, i, f);
        let cust = User::parse(&e.customer)
            .filter(|u| !u.admin)
            .ok_or(err(StateFault::MalformedId))?
            .cust_key();
        let movie = parse_movie(&e.movie).ok_or(err(StateFault::UnknownMovie))?;
        let id = ShowId::parse(&e.show_id).ok_or(err(StateFault::MalformedId))?;
        if e.tickets == 0 {
            return Err(err(StateFault::ZeroTickets));
        }
        let key = Show::new(id, movie);
        if let Some(&(pc, ps, _)) = bookings.last() {
            if (cust, key) == (pc, ps) {
                return Err(err(StateFault::Duplicate));
            }
            if (cust, key) < (pc, ps) {
                return Err(err(StateFault::OutOfOrder));
            }
        }
        let at = shows
            .binary_search_by_key(&key, |&(s, _)| s)
            .map_err(|_| err(StateFault::UnknownShow))?;
        held[at] += u64::from(e.tickets);
        bookings.push((cust, key, e.tickets));
    }
    for (i, (&(_, capacity), &h)) in shows.iter().zip(&held).enumerate() {
        if h > u64::from(capacity) {
            return Err(fault(StateSection::Shows, i, StateFault::OverCapacity));
        }
    }
    Ok((shows, bookings))
}

impl Replica for Ledger {
    fn apply(&mut self, req: Request) -> Outcome {
        let d = req.context.today;
        let today = days_from_civil(i64::from(d.year), i64::from(d.month), i64::from(d.day));
        let outcome = match req.operation {
            Operation::AddShow(op) => self.add_show(today, op),
            Operation::RemoveShow(op) => self.remove_show(today, op),
            Operation::Availability(op) => self.availability(today, op),
            Operation::Book(op) => self.book(today, op),
            Operation::Schedule(op) => self.schedule(op),
            Operation::Cancel(op) => self.cancel(today, op),
            Operation::Exchange(op) => self.exchange(today, op),
        };
        self.compact_if_grown();
        outcome
    }

    fn export_state(&self) -> CanonicalState {
        let (shows, bookings) = self.fold_all();
        CanonicalState {
            shows: shows
                .into_iter()
                .map(|(s, capacity)| ShowEntry {
                    movie: s.movie_string(),
                    show_id: s.id_string(),
                    capacity,
                })
                .collect(),
            bookings: bookings
                .into_iter()
                .map(|(c, s, tickets)| BookingEntry {
                    customer: customer_string(c),
                    movie: s.movie_string(),
                    show_id: s.id_string(),
                    tickets,
                })
                .collect(),
        }
    }

    fn import_state(&mut self, state: CanonicalState) -> Result<(), StateError> {
        let folded = validate(&state)?;
        self.rebase(folded);
        Ok(())
    }
}
