//! The canonical state (rules §7): export by walking the grid and the seat indexes, import by
//! loading a fresh store while validating, so a refused state leaves the old store untouched.
use alloc::vec::Vec;

use dmtbs_guest::{BookingEntry, CanonicalState, ShowEntry, StateError, StateFault, StateSection};

use crate::grid::Store;
use crate::lexicon::{Cell, MOVIE_NAMES, User, customer_name, parse_movie, show_id_text};

pub fn export(store: &Store) -> CanonicalState {
    let shows = store
        .all_shows()
        .map(|s| ShowEntry {
            movie: MOVIE_NAMES[usize::from(s.cell.movie())].into(),
            show_id: show_id_text(s.cell),
            capacity: s.capacity,
        })
        .collect();
    let mut bookings = Vec::new();
    for (seat, cells) in store.seats() {
        let customer = customer_name(seat);
        for &c in cells {
            let cell = Cell(c);
            bookings.push(BookingEntry {
                customer: customer.clone(),
                movie: MOVIE_NAMES[usize::from(cell.movie())].into(),
                show_id: show_id_text(cell),
                tickets: store.held(seat, cell),
            });
        }
    }
    CanonicalState { shows, bookings }
}

fn fault(section: StateSection, index: usize, fault: StateFault) -> StateError {
    StateError {
        section,
        index: index as u32,
        fault,
    }
}

/// Where an entry's key stands against the previous key of its list.
fn order_fault<K: Ord>(prev: Option<K>, key: &K) -> Option<StateFault> {
    match prev {
        Some(p) if p == *key => Some(StateFault::Duplicate),
        Some(p) if p > *key => Some(StateFault::OutOfOrder),
        _ => None,
    }
}

pub fn import(state: &CanonicalState) -> Result<Store, StateError> {
    use StateFault::*;
    let mut store = Store::default();
    let sec = StateSection::Shows;
    let mut capacities = Vec::with_capacity(state.shows.len());
    let mut prev = None;
    for (i, e) in state.shows.iter().enumerate() {
        let movie = parse_movie(&e.movie).ok_or(fault(sec, i, UnknownMovie))?;
        let cell = Cell::parse(movie, &e.show_id).ok_or(fault(sec, i, MalformedId))?;
        if !(1..=10_000).contains(&e.capacity) {
            return Err(fault(sec, i, CapacityOutOfRange));
        }
        if let Some(f) = order_fault(prev, &cell.0) {
            return Err(fault(sec, i, f));
        }
        prev = Some(cell.0);
        store.load_show(cell, e.capacity);
        capacities.push(e.capacity);
    }

    let sec = StateSection::Bookings;
    let mut sums = alloc::vec![0u64; state.shows.len()];
    let mut prev = None;
    for (i, e) in state.bookings.iter().enumerate() {
        let customer =
            User::parse(&e.customer)
                .filter(|u| !u.admin)
                .ok_or(fault(sec, i, MalformedId))?;
        let movie = parse_movie(&e.movie).ok_or(fault(sec, i, UnknownMovie))?;
        let cell = Cell::parse(movie, &e.show_id).ok_or(fault(sec, i, MalformedId))?;
        if e.tickets == 0 {
            return Err(fault(sec, i, ZeroTickets));
        }
        let key = (customer.seat(), cell.0);
        if let Some(f) = order_fault(prev, &key) {
            return Err(fault(sec, i, f));
        }
        prev = Some(key);
        let slot = store.slot_of(cell).ok_or(fault(sec, i, UnknownShow))?;
        // Import fills a fresh slab in list order, so the slot is the show's index in the list.
        sums[slot as usize] += u64::from(e.tickets);
        store.load_booking(slot, customer.seat(), e.tickets);
    }

    if let Some(i) = (0..sums.len()).find(|&i| sums[i] > u64::from(capacities[i])) {
        return Err(fault(StateSection::Shows, i, OverCapacity));
    }
    Ok(store)
}
