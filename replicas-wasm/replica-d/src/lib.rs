//! DMTBS replica implementation D: the booking rules over relational-style tables.
//!
//! The state is two tables of rows addressed by surrogate row ids, as a small database would
//! keep them:
//! - `shows`: (key, show ID text, capacity, tickets held) — the key is the parsed
//!   (movie, show ID) pair, ordered by *show order*;
//! - `bookings`: (customer, show row id, tickets).
//!
//! Deleted rows become tombstones (`None`) whose ids go on a free list for reuse. Secondary
//! indexes (all `BTreeMap`/`BTreeSet`, since `alloc` has no hash map) make every query an index
//! lookup plus a filter or sort:
//! - `ix_show`: unique (movie, show ID) → show row, iterated in show order for export;
//! - `ix_movie_area`: (movie, area, show order) → show row, for availability and the search
//!   for a later show when one is removed;
//! - `ix_cust`: unique (customer, show order) → booking row, for schedule, the weekly limit,
//!   the same-show rule and the canonical booking order;
//! - `ix_show_bookings`: (show row, customer) → booking row, for moving a removed show's
//!   bookings in customer order.
//!
//! Every mutation goes through the `insert_*`/`update_*`/`delete_*` functions of [`Db`], which
//! are the only code that touches rows and indexes together, so the indexes cannot drift.
//! Dates are plain day numbers from a hand-written civil-calendar conversion.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use dmtbs_guest::{
    AddShow, Availability, Book, Booked, BookingEntry, BookingError, Cancel, CanonicalState, Date,
    DroppedBooking, Exchange, Exchanged, MovedBooking, Operation, Outcome, RemoveShow, Replica,
    Request, Schedule, ScheduledBooking, ShowEntry, ShowRemaining, ShowRemoved, StateError,
    StateFault, StateSection, Success,
};

// ---------------------------------------------------------------------------------------------
// Dates: days since 1970-01-01 in the proleptic Gregorian calendar.

type Day = i32;

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Day number of a valid civil date (the "days from civil" algorithm: years start in March so
/// the leap day is the last day of the shifted year).
fn day_number(year: i32, month: u32, day: u32) -> Day {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = month as i32;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i32 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn date_day(d: &Date) -> Day {
    day_number(i32::from(d.year), u32::from(d.month), u32::from(d.day))
}

/// The Monday of the ISO week holding `d` (1970-01-01 was a Thursday, weekday 3 from Monday).
fn week_monday(d: Day) -> Day {
    d - (d + 3).rem_euclid(7)
}

// ---------------------------------------------------------------------------------------------
// Identifiers. Codes are chosen so that numeric order is the rules' order.

type Area = u8; // ATW 0 < OUT 1 < VER 2 (alphabetical, as show order requires)
type Slot = u8; // M 0 < A 1 < E 2
type Movie = u8; // Avatar 0 < Avengers 1 < Titanic 2

const MOVIES: [&str; 3] = ["Avatar", "Avengers", "Titanic"];

fn parse_area(b: &[u8]) -> Option<Area> {
    match b {
        b"ATW" => Some(0),
        b"OUT" => Some(1),
        b"VER" => Some(2),
        _ => None,
    }
}

fn parse_movie(s: &str) -> Option<Movie> {
    MOVIES.iter().position(|m| *m == s).map(|i| i as Movie)
}

/// A customer or admin ID as its 8 bytes; byte order is customer order.
type UserId = [u8; 8];

#[derive(Clone, Copy)]
struct User {
    id: UserId,
    area: Area,
    admin: bool,
}

fn parse_user(s: &str) -> Option<User> {
    let b = s.as_bytes();
    if b.len() != 8 || !b[4..].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let area = parse_area(&b[..3])?;
    let admin = match b[3] {
        b'A' => true,
        b'C' => false,
        _ => return None,
    };
    Some(User {
        id: b.try_into().ok()?,
        area,
        admin,
    })
}

fn user_text(id: &UserId) -> String {
    id.iter().map(|&b| char::from(b)).collect()
}

/// A show ID without its movie: (date, slot, area).
fn parse_show_id(s: &str) -> Option<(Day, Slot, Area)> {
    let b = s.as_bytes();
    if b.len() != 10 || !b[4..].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let area = parse_area(&b[..3])?;
    let slot = match b[3] {
        b'M' => 0,
        b'A' => 1,
        b'E' => 2,
        _ => return None,
    };
    let two = |i: usize| u32::from(b[i] - b'0') * 10 + u32::from(b[i + 1] - b'0');
    let (day, month, year) = (two(4), two(6), 2000 + two(8) as i32);
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    Some((day_number(year, month, day), slot, area))
}

/// A show (movie, show ID) in parsed form. The derived order is exactly show order: date,
/// slot, area, movie; and the key is one-to-one with the (movie, show ID) pair.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
struct ShowKey {
    day: Day,
    slot: Slot,
    area: Area,
    movie: Movie,
}

impl ShowKey {
    fn parse(movie: Movie, show_id: &str) -> Option<ShowKey> {
        let (day, slot, area) = parse_show_id(show_id)?;
        Some(ShowKey {
            day,
            slot,
            area,
            movie,
        })
    }
    /// The smallest and largest keys of a day (or of a day and slot), for index range scans.
    fn first_of(day: Day, slot: Slot) -> ShowKey {
        ShowKey {
            day,
            slot,
            area: 0,
            movie: 0,
        }
    }
    fn last_of(day: Day, slot: Slot) -> ShowKey {
        ShowKey {
            day,
            slot,
            area: Area::MAX,
            movie: Movie::MAX,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Tables and indexes.

type ShowRow = usize;
type BookingRow = usize;

struct Show {
    key: ShowKey,
    /// The show ID exactly as it was validated (it is canonical: the key determines it).
    show_id: String,
    capacity: u32,
    /// Sum of the tickets of this show's booking rows, kept by the booking row functions.
    held: u32,
}

impl Show {
    fn remaining(&self) -> u32 {
        self.capacity - self.held
    }
}

struct Booking {
    customer: UserId,
    show: ShowRow,
    tickets: u32,
}

/// A table: rows by surrogate id, `None` for a deleted row, whose id is reused first.
struct Table<T> {
    rows: Vec<Option<T>>,
    free: Vec<usize>,
}

impl<T> Default for Table<T> {
    fn default() -> Self {
        Table {
            rows: Vec::new(),
            free: Vec::new(),
        }
    }
}

impl<T> Table<T> {
    fn insert(&mut self, row: T) -> usize {
        match self.free.pop() {
            Some(id) => {
                self.rows[id] = Some(row);
                id
            }
            None => {
                self.rows.push(Some(row));
                self.rows.len() - 1
            }
        }
    }
    fn remove(&mut self, id: usize) -> Option<T> {
        let row = self.rows.get_mut(id)?.take();
        if row.is_some() {
            self.free.push(id);
        }
        row
    }
    // Row ids come only from the indexes, which hold live rows only; a dead id is a bug.
    fn get(&self, id: usize) -> &T {
        self.rows[id].as_ref().expect("index points at a live row")
    }
    fn get_mut(&mut self, id: usize) -> &mut T {
        self.rows[id].as_mut().expect("index points at a live row")
    }
}

#[derive(Default)]
struct Db {
    shows: Table<Show>,
    bookings: Table<Booking>,
    ix_show: BTreeMap<ShowKey, ShowRow>,
    ix_movie_area: BTreeMap<(Movie, Area, ShowKey), ShowRow>,
    ix_cust: BTreeMap<(UserId, ShowKey), BookingRow>,
    ix_show_bookings: BTreeMap<(ShowRow, UserId), BookingRow>,
}

impl Db {
    fn insert_show(&mut self, key: ShowKey, show_id: String, capacity: u32) -> ShowRow {
        let row = self.shows.insert(Show {
            key,
            show_id,
            capacity,
            held: 0,
        });
        self.ix_show.insert(key, row);
        self.ix_movie_area.insert((key.movie, key.area, key), row);
        row
    }

    /// Deletes a show row; its bookings must have been deleted already.
    fn delete_show(&mut self, row: ShowRow) {
        if let Some(show) = self.shows.remove(row) {
            self.ix_show.remove(&show.key);
            self.ix_movie_area
                .remove(&(show.key.movie, show.key.area, show.key));
        }
    }

    fn insert_booking(&mut self, customer: UserId, show: ShowRow, tickets: u32) -> BookingRow {
        let key = self.shows.get(show).key;
        self.shows.get_mut(show).held += tickets;
        let row = self.bookings.insert(Booking {
            customer,
            show,
            tickets,
        });
        self.ix_cust.insert((customer, key), row);
        self.ix_show_bookings.insert((show, customer), row);
        row
    }

    fn delete_booking(&mut self, row: BookingRow) {
        if let Some(b) = self.bookings.remove(row) {
            let show = self.shows.get_mut(b.show);
            show.held -= b.tickets;
            let key = show.key;
            self.ix_cust.remove(&(b.customer, key));
            self.ix_show_bookings.remove(&(b.show, b.customer));
        }
    }

    /// Sets a booking's ticket count; at 0 the row is deleted (a booking holds at least one).
    fn update_booking(&mut self, row: BookingRow, tickets: u32) {
        if tickets == 0 {
            self.delete_booking(row);
            return;
        }
        let b = self.bookings.get_mut(row);
        let old = core::mem::replace(&mut b.tickets, tickets);
        let show = self.shows.get_mut(b.show);
        show.held = show.held - old + tickets;
    }

    /// Adds tickets to the customer's booking on a show, creating it if absent; returns the
    /// tickets held afterwards.
    fn add_tickets(&mut self, customer: UserId, show: ShowRow, tickets: u32) -> u32 {
        let key = self.shows.get(show).key;
        match self.ix_cust.get(&(customer, key)).copied() {
            Some(row) => {
                let held = self.bookings.get(row).tickets + tickets;
                self.update_booking(row, held);
                held
            }
            None => {
                self.insert_booking(customer, show, tickets);
                tickets
            }
        }
    }

    fn booking_of(&self, customer: &UserId, key: ShowKey) -> Option<BookingRow> {
        self.ix_cust.get(&(*customer, key)).copied()
    }

    /// Book's checks 3–7 on `key` (rules §5). `ignore` is a booking row that does not count:
    /// the old booking of an exchange that the exchange empties.
    fn check_book(
        &self,
        today: Day,
        customer: &User,
        key: ShowKey,
        tickets: u32,
        ignore: Option<BookingRow>,
    ) -> Result<ShowRow, BookingError> {
        let row = *self.ix_show.get(&key).ok_or(BookingError::ShowNotFound)?;
        if key.day < today {
            return Err(BookingError::PastShow);
        }
        let cid = customer.id;
        let counts = |r: &BookingRow| Some(*r) != ignore;

        // Same movie, same date and slot, another area: all such bookings share (day, slot).
        let same_slot = (cid, ShowKey::first_of(key.day, key.slot))
            ..=(cid, ShowKey::last_of(key.day, key.slot));
        if self
            .ix_cust
            .range(same_slot)
            .any(|((_, k), r)| k.movie == key.movie && k.area != key.area && counts(r))
        {
            return Err(BookingError::SameShowOtherArea);
        }

        if key.area != customer.area && self.booking_of(&cid, key).is_none() {
            let monday = week_monday(key.day);
            let week = (cid, ShowKey::first_of(monday, 0))..=(cid, ShowKey::last_of(monday + 6, 2));
            let away = self
                .ix_cust
                .range(week)
                .filter(|((_, k), r)| k.area != customer.area && counts(r))
                .count();
            if away >= 3 {
                return Err(BookingError::WeeklyLimit);
            }
        }

        let remaining = self.shows.get(row).remaining();
        if tickets > remaining {
            return Err(BookingError::ShowFull(remaining));
        }
        Ok(row)
    }
}

// ---------------------------------------------------------------------------------------------
// The V step and authorisation.

fn v_user(s: &str) -> Result<User, BookingError> {
    parse_user(s).ok_or(BookingError::InvalidUserId)
}

fn v_movie(s: &str) -> Result<Movie, BookingError> {
    parse_movie(s).ok_or(BookingError::UnknownMovie)
}

fn v_show(movie: Movie, s: &str) -> Result<ShowKey, BookingError> {
    ShowKey::parse(movie, s).ok_or(BookingError::InvalidShowId)
}

fn v_count(n: u32, err: BookingError) -> Result<u32, BookingError> {
    if (1..=10_000).contains(&n) {
        Ok(n)
    } else {
        Err(err)
    }
}

fn auth_admin(actor: &User, area: Area) -> Result<(), BookingError> {
    if actor.admin && actor.area == area {
        Ok(())
    } else {
        Err(BookingError::NotAuthorized)
    }
}

fn auth_customer(actor: &User, customer: &User) -> Result<(), BookingError> {
    if customer.admin || (!actor.admin && actor.id != customer.id) {
        Err(BookingError::NotAuthorized)
    } else {
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Operations.

/// Replica D: the tables and indexes above.
#[derive(Default)]
pub struct TableReplica {
    db: Db,
}

impl TableReplica {
    fn add_show(&mut self, today: Day, op: AddShow) -> Outcome {
        let actor = v_user(&op.actor)?;
        let movie = v_movie(&op.movie)?;
        let key = v_show(movie, &op.show_id)?;
        let capacity = v_count(op.capacity, BookingError::InvalidCapacity)?;
        auth_admin(&actor, key.area)?;
        if key.day < today || key.day > today + 7 {
            return Err(BookingError::OutsideWindow);
        }
        let db = &mut self.db;
        match db.ix_show.get(&key) {
            Some(&row) => {
                let show = db.shows.get_mut(row);
                if capacity < show.held {
                    return Err(BookingError::CapacityBelowBooked);
                }
                let old = core::mem::replace(&mut show.capacity, capacity);
                Ok(Success::ShowUpdated(old))
            }
            None => {
                db.insert_show(key, op.show_id, capacity);
                Ok(Success::ShowAdded)
            }
        }
    }

    fn remove_show(&mut self, today: Day, op: RemoveShow) -> Outcome {
        let actor = v_user(&op.actor)?;
        let movie = v_movie(&op.movie)?;
        let key = v_show(movie, &op.show_id)?;
        auth_admin(&actor, key.area)?;
        let db = &mut self.db;
        let row = *db.ix_show.get(&key).ok_or(BookingError::ShowNotFound)?;
        if key.day < today {
            return Err(BookingError::PastShow);
        }

        // Delete the show and its bookings, remembering the bookings in customer order.
        let rows: Vec<BookingRow> = db
            .ix_show_bookings
            .range((row, [0; 8])..=(row, [u8::MAX; 8]))
            .map(|(_, &b)| b)
            .collect();
        let evicted: Vec<(UserId, u32)> = rows
            .into_iter()
            .map(|b| {
                let booking = db.bookings.get(b);
                let entry = (booking.customer, booking.tickets);
                db.delete_booking(b);
                entry
            })
            .collect();
        db.delete_show(row);

        let mut moved = Vec::new();
        let mut dropped = Vec::new();
        let later = (
            core::ops::Bound::Excluded((key.movie, key.area, key)),
            core::ops::Bound::Included((key.movie, key.area, ShowKey::last_of(Day::MAX, 2))),
        );
        for (customer, tickets) in evicted {
            // Remaining is read afresh for each booking: earlier moves count.
            let target = db
                .ix_movie_area
                .range(later)
                .map(|(_, &r)| r)
                .find(|&r| db.shows.get(r).remaining() >= tickets);
            match target {
                Some(to) => {
                    db.add_tickets(customer, to, tickets);
                    moved.push(MovedBooking {
                        customer: user_text(&customer),
                        to_show_id: db.shows.get(to).show_id.clone(),
                        tickets,
                    });
                }
                None => dropped.push(DroppedBooking {
                    customer: user_text(&customer),
                    tickets,
                }),
            }
        }
        Ok(Success::ShowRemoved(ShowRemoved { moved, dropped }))
    }

    fn availability(&self, today: Day, op: Availability) -> Outcome {
        v_user(&op.actor)?;
        let movie = v_movie(&op.movie)?;
        let db = &self.db;
        // One range per area over (movie, area, show order), merged by a sort on show order.
        let mut found: Vec<(ShowKey, ShowRow)> = (0..3)
            .flat_map(|area| {
                db.ix_movie_area
                    .range(
                        (movie, area, ShowKey::first_of(today, 0))
                            ..=(movie, area, ShowKey::last_of(Day::MAX, 2)),
                    )
                    .map(|(&(_, _, k), &r)| (k, r))
            })
            .collect();
        found.sort_unstable_by_key(|&(k, _)| k);
        Ok(Success::Availability(
            found
                .into_iter()
                .map(|(_, r)| {
                    let show = db.shows.get(r);
                    ShowRemaining {
                        show_id: show.show_id.clone(),
                        remaining: show.remaining(),
                    }
                })
                .collect(),
        ))
    }

    fn book(&mut self, today: Day, op: Book) -> Outcome {
        let actor = v_user(&op.actor)?;
        let customer = v_user(&op.customer)?;
        let movie = v_movie(&op.movie)?;
        let key = v_show(movie, &op.show_id)?;
        let tickets = v_count(op.tickets, BookingError::InvalidTickets)?;
        auth_customer(&actor, &customer)?;
        let db = &mut self.db;
        let row = db.check_book(today, &customer, key, tickets, None)?;
        let held = db.add_tickets(customer.id, row, tickets);
        Ok(Success::Booked(Booked {
            held,
            remaining: db.shows.get(row).remaining(),
        }))
    }

    fn schedule(&self, op: Schedule) -> Outcome {
        let actor = v_user(&op.actor)?;
        let customer = v_user(&op.customer)?;
        auth_customer(&actor, &customer)?;
        let db = &self.db;
        let cid = customer.id;
        let all = (cid, ShowKey::first_of(Day::MIN, 0))..=(cid, ShowKey::last_of(Day::MAX, 2));
        Ok(Success::Schedule(
            db.ix_cust
                .range(all)
                .map(|((_, k), &b)| {
                    let booking = db.bookings.get(b);
                    ScheduledBooking {
                        movie: MOVIES[usize::from(k.movie)].into(),
                        show_id: db.shows.get(booking.show).show_id.clone(),
                        tickets: booking.tickets,
                    }
                })
                .collect(),
        ))
    }

    fn cancel(&mut self, today: Day, op: Cancel) -> Outcome {
        let actor = v_user(&op.actor)?;
        let customer = v_user(&op.customer)?;
        let movie = v_movie(&op.movie)?;
        let key = v_show(movie, &op.show_id)?;
        let tickets = v_count(op.tickets, BookingError::InvalidTickets)?;
        auth_customer(&actor, &customer)?;
        let db = &mut self.db;
        let row = db
            .booking_of(&customer.id, key)
            .ok_or(BookingError::NotBooked)?;
        if key.day < today {
            return Err(BookingError::PastShow);
        }
        let held = db.bookings.get(row).tickets;
        if tickets > held {
            return Err(BookingError::TooManyTickets(held));
        }
        db.update_booking(row, held - tickets);
        Ok(Success::Cancelled(held - tickets))
    }

    fn exchange(&mut self, today: Day, op: Exchange) -> Outcome {
        let actor = v_user(&op.actor)?;
        let customer = v_user(&op.customer)?;
        let old_movie = v_movie(&op.old_movie)?;
        let old_key = v_show(old_movie, &op.old_show_id)?;
        let new_movie = v_movie(&op.new_movie)?;
        let new_key = v_show(new_movie, &op.new_show_id)?;
        let tickets = v_count(op.tickets, BookingError::InvalidTickets)?;
        auth_customer(&actor, &customer)?;
        if old_key == new_key {
            return Err(BookingError::SameShow);
        }
        let db = &mut self.db;
        let old_row = db
            .booking_of(&customer.id, old_key)
            .ok_or(BookingError::NotBooked)?;
        if old_key.day < today {
            return Err(BookingError::PastShow);
        }
        let held = db.bookings.get(old_row).tickets;
        if tickets > held {
            return Err(BookingError::TooManyTickets(held));
        }
        let old_held = held - tickets;
        // An old booking emptied by the exchange no longer exists for the new show's checks.
        let ignore = (old_held == 0).then_some(old_row);
        let new_row = db.check_book(today, &customer, new_key, tickets, ignore)?;
        db.update_booking(old_row, old_held);
        let new_held = db.add_tickets(customer.id, new_row, tickets);
        Ok(Success::Exchanged(Exchanged { old_held, new_held }))
    }
}

// ---------------------------------------------------------------------------------------------
// Canonical state.

fn fault(section: StateSection, index: usize, fault: StateFault) -> StateError {
    StateError {
        section,
        index: index as u32,
        fault,
    }
}

/// Checks that `key` comes strictly after `prev` in its list's order.
fn check_order<K: Ord>(prev: Option<&K>, key: &K) -> Result<(), StateFault> {
    match prev.map(|p| p.cmp(key)) {
        Some(core::cmp::Ordering::Equal) => Err(StateFault::Duplicate),
        Some(core::cmp::Ordering::Greater) => Err(StateFault::OutOfOrder),
        _ => Ok(()),
    }
}

/// Builds a fresh database from a canonical state, validating it entry by entry; the caller's
/// state is untouched until the whole value has been accepted.
fn build(state: CanonicalState) -> Result<Db, StateError> {
    let mut db = Db::default();
    let mut prev: Option<ShowKey> = None;
    for (i, s) in state.shows.into_iter().enumerate() {
        let err = |f| fault(StateSection::Shows, i, f);
        let movie = parse_movie(&s.movie).ok_or(err(StateFault::UnknownMovie))?;
        let key = ShowKey::parse(movie, &s.show_id).ok_or(err(StateFault::MalformedId))?;
        if !(1..=10_000).contains(&s.capacity) {
            return Err(err(StateFault::CapacityOutOfRange));
        }
        check_order(prev.as_ref(), &key).map_err(err)?;
        prev = Some(key);
        // Shows are inserted in list order into an empty table, so row id == list index.
        db.insert_show(key, s.show_id, s.capacity);
    }

    // Tickets are summed in u64 before any capacity check, so huge counts cannot overflow.
    let mut load: BTreeMap<ShowRow, u64> = BTreeMap::new();
    let mut rows: Vec<(UserId, ShowRow, u32)> = Vec::with_capacity(state.bookings.len());
    let mut prev: Option<(UserId, ShowKey)> = None;
    for (i, b) in state.bookings.into_iter().enumerate() {
        let err = |f| fault(StateSection::Bookings, i, f);
        let customer = parse_user(&b.customer)
            .filter(|u| !u.admin)
            .ok_or(err(StateFault::MalformedId))?;
        let movie = parse_movie(&b.movie).ok_or(err(StateFault::UnknownMovie))?;
        let key = ShowKey::parse(movie, &b.show_id).ok_or(err(StateFault::MalformedId))?;
        if b.tickets == 0 {
            return Err(err(StateFault::ZeroTickets));
        }
        let order_key = (customer.id, key);
        check_order(prev.as_ref(), &order_key).map_err(err)?;
        prev = Some(order_key);
        let show = *db.ix_show.get(&key).ok_or(err(StateFault::UnknownShow))?;
        *load.entry(show).or_insert(0) += u64::from(b.tickets);
        rows.push((customer.id, show, b.tickets));
    }
    if let Some((&show, _)) = load
        .iter()
        .find(|&(&show, &t)| t > u64::from(db.shows.get(show).capacity))
    {
        return Err(fault(StateSection::Shows, show, StateFault::OverCapacity));
    }
    for (customer, show, tickets) in rows {
        db.insert_booking(customer, show, tickets);
    }
    Ok(db)
}

impl Replica for TableReplica {
    fn apply(&mut self, req: Request) -> Outcome {
        let today = date_day(&req.context.today);
        match req.operation {
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
        let db = &self.db;
        let shows = db
            .ix_show
            .iter()
            .map(|(k, &r)| {
                let show = db.shows.get(r);
                ShowEntry {
                    movie: MOVIES[usize::from(k.movie)].into(),
                    show_id: show.show_id.clone(),
                    capacity: show.capacity,
                }
            })
            .collect();
        // ix_cust is ordered by (customer, show order): exactly the canonical booking order.
        let bookings = db
            .ix_cust
            .iter()
            .map(|((c, k), &b)| BookingEntry {
                customer: user_text(c),
                movie: MOVIES[usize::from(k.movie)].into(),
                show_id: db.shows.get(db.bookings.get(b).show).show_id.clone(),
                tickets: db.bookings.get(b).tickets,
            })
            .collect();
        CanonicalState { shows, bookings }
    }

    fn import_state(&mut self, state: CanonicalState) -> Result<(), StateError> {
        self.db = build(state)?;
        Ok(())
    }
}

dmtbs_guest::export_replica!(TableReplica);

#[cfg(test)]
mod tests;
