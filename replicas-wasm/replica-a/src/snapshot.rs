//! The canonical state (rules §7, docs §7): export from the store, and import as "validate the
//! whole value into a fresh store, then swap", so a refused state leaves the old store intact.
use crate::lexicon::{Movie, SEAT_COUNTS, ShowKey, Uid};
use crate::store::{Screen, Store};
use alloc::vec;
use alloc::vec::Vec;
use core::cmp::Ordering;
use dmtbs_guest::{
    BookingEntry, CanonicalState, ShowEntry, StateError, StateFault as F, StateSection,
};

pub fn export(store: &Store) -> CanonicalState {
    let mut shows: Vec<(ShowKey, u32)> = store.screenings().map(|(k, s)| (k, s.capacity)).collect();
    // The nine timelines interleave in show order.
    shows.sort_unstable_by_key(|&(k, _)| k);
    let shows = shows
        .into_iter()
        .map(|(k, capacity)| ShowEntry {
            movie: k.movie.name().into(),
            show_id: k.id_text(),
            capacity,
        })
        .collect();
    // The customer index is already in canonical bookings order.
    let bookings = store
        .bookings()
        .map(|(who, k)| BookingEntry {
            customer: who.text(),
            movie: k.movie.name().into(),
            show_id: k.id_text(),
            tickets: store.held(who, &k),
        })
        .collect();
    CanonicalState { shows, bookings }
}

/// Where a fault was found: which list, which entry.
struct At(StateSection, usize);

impl At {
    fn fault(&self, fault: F) -> StateError {
        StateError {
            section: self.0,
            index: u32::try_from(self.1).unwrap_or(u32::MAX),
            fault,
        }
    }
}

/// `key` must come strictly after `prev` in the list's order.
fn follows<K: Ord>(prev: Option<&K>, key: &K) -> Result<(), F> {
    match prev.map(|p| key.cmp(p)) {
        Some(Ordering::Equal) => Err(F::Duplicate),
        Some(Ordering::Less) => Err(F::OutOfOrder),
        _ => Ok(()),
    }
}

fn show_entry(e: &ShowEntry) -> Result<(ShowKey, u32), F> {
    let movie = Movie::parse(&e.movie).ok_or(F::UnknownMovie)?;
    let key = ShowKey::parse(movie, &e.show_id).ok_or(F::MalformedId)?;
    if !SEAT_COUNTS.contains(&e.capacity) {
        return Err(F::CapacityOutOfRange);
    }
    Ok((key, e.capacity))
}

fn booking_entry(e: &BookingEntry) -> Result<(Uid, ShowKey), F> {
    let who = Uid::parse(&e.customer)
        .filter(|u| !u.is_admin())
        .ok_or(F::MalformedId)?;
    let movie = Movie::parse(&e.movie).ok_or(F::UnknownMovie)?;
    let key = ShowKey::parse(movie, &e.show_id).ok_or(F::MalformedId)?;
    if e.tickets == 0 {
        return Err(F::ZeroTickets);
    }
    Ok((who, key))
}

/// Builds a store from `state`, or names the first fault found. Shows are checked first, then
/// bookings, then capacities; `today` plays no part (past and far shows are legal state).
pub fn import(state: &CanonicalState) -> Result<Store, StateError> {
    let mut shows: Vec<(ShowKey, u32)> = Vec::with_capacity(state.shows.len());
    for (i, e) in state.shows.iter().enumerate() {
        let at = At(StateSection::Shows, i);
        let (key, capacity) = show_entry(e).map_err(|f| at.fault(f))?;
        follows(shows.last().map(|(k, _)| k), &key).map_err(|f| at.fault(f))?;
        shows.push((key, capacity));
    }

    // Per show (by its index in `shows`): tickets in u64, so no sum can wrap.
    let mut sold = vec![0u64; shows.len()];
    let mut placed: Vec<(usize, Uid, u32)> = Vec::with_capacity(state.bookings.len());
    let mut prev: Option<(Uid, ShowKey)> = None;
    for (i, e) in state.bookings.iter().enumerate() {
        let at = At(StateSection::Bookings, i);
        let key = booking_entry(e).map_err(|f| at.fault(f))?;
        follows(prev.as_ref(), &key).map_err(|f| at.fault(f))?;
        prev = Some(key);
        let slot = shows
            .binary_search_by_key(&key.1, |&(k, _)| k)
            .map_err(|_| at.fault(F::UnknownShow))?;
        sold[slot] += u64::from(e.tickets);
        placed.push((slot, key.0, e.tickets));
    }

    for (i, (&(_, capacity), &total)) in shows.iter().zip(&sold).enumerate() {
        if total > u64::from(capacity) {
            return Err(At(StateSection::Shows, i).fault(F::OverCapacity));
        }
    }

    // Valid: fill the screens (each now within its capacity, so `sold` fits in u32).
    let mut screens: Vec<Screen> = shows.iter().map(|&(_, c)| Screen::new(c)).collect();
    for (slot, who, tickets) in placed {
        let screen = &mut screens[slot];
        screen.seats.insert(who, tickets);
        screen.sold += tickets;
    }
    let mut store = Store::default();
    for ((key, _), screen) in shows.iter().zip(screens) {
        store.open(key, screen);
    }
    Ok(store)
}
