//! The canonical state (rules §7): export in canonical order, and a fully validating import.
use alloc::string::String;
use alloc::vec::Vec;
use core::cmp::Ordering;

use dmtbs_guest::{BookingEntry, CanonicalState, ShowEntry, StateError, StateFault, StateSection};

use crate::ids::{Movie, Role, ShowId, ShowKey, UserId};
use crate::{MAX_SEATS, ReplicaA, ShowRecord};

pub fn export(replica: &ReplicaA) -> CanonicalState {
    // The map is movie-first; show order puts the movie last, so merge by sorting the keys.
    let mut shows: Vec<(ShowKey, u32)> = replica
        .shows
        .iter()
        .flat_map(|(&movie, ids)| {
            ids.iter()
                .map(move |(&id, rec)| (ShowKey { id, movie }, rec.capacity))
        })
        .collect();
    shows.sort_unstable_by_key(|&(key, _)| key);
    let shows = shows
        .into_iter()
        .map(|(key, capacity)| ShowEntry {
            movie: key.movie.as_str().into(),
            show_id: key.id.to_wire(),
            capacity,
        })
        .collect();
    // The customer index is already in (customer, show order).
    let mut bookings = Vec::new();
    for (customer, mine) in &replica.customers {
        let customer: String = customer.to_wire();
        for (key, &tickets) in mine {
            bookings.push(BookingEntry {
                customer: customer.clone(),
                movie: key.movie.as_str().into(),
                show_id: key.id.to_wire(),
                tickets,
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

/// `Duplicate` / `OutOfOrder` unless `key` is strictly after `prev`.
fn check_order<K: Ord>(prev: Option<K>, key: K) -> Result<(), StateFault> {
    match prev.map(|p| key.cmp(&p)) {
        Some(Ordering::Equal) => Err(StateFault::Duplicate),
        Some(Ordering::Less) => Err(StateFault::OutOfOrder),
        _ => Ok(()),
    }
}

fn parse_show(movie: &str, show_id: &str) -> Result<ShowKey, StateFault> {
    let movie = Movie::parse(movie).ok_or(StateFault::UnknownMovie)?;
    let id = ShowId::parse(show_id).ok_or(StateFault::MalformedId)?;
    Ok(ShowKey { id, movie })
}

/// Builds a fresh state from `state`, or reports the first fault found; the caller swaps it in
/// only on success, so a refusal changes nothing.
pub fn import(state: &CanonicalState) -> Result<ReplicaA, StateError> {
    use StateSection::{Bookings, Shows};

    // Shows arrive sorted, so a strictly increasing Vec doubles as the lookup table and gives
    // each show's index for `over-capacity`.
    let mut shows: Vec<(ShowKey, u32)> = Vec::with_capacity(state.shows.len());
    for (i, entry) in state.shows.iter().enumerate() {
        let key = parse_show(&entry.movie, &entry.show_id).map_err(|f| fault(Shows, i, f))?;
        if !(1..=MAX_SEATS).contains(&entry.capacity) {
            return Err(fault(Shows, i, StateFault::CapacityOutOfRange));
        }
        check_order(shows.last().map(|&(k, _)| k), key).map_err(|f| fault(Shows, i, f))?;
        shows.push((key, entry.capacity));
    }

    let mut held: Vec<u64> = alloc::vec![0; shows.len()];
    let mut bookings: Vec<(UserId, ShowKey, u32)> = Vec::with_capacity(state.bookings.len());
    for (i, entry) in state.bookings.iter().enumerate() {
        let customer = UserId::parse(&entry.customer)
            .filter(|c| c.role == Role::Customer)
            .ok_or(fault(Bookings, i, StateFault::MalformedId))?;
        let key = parse_show(&entry.movie, &entry.show_id).map_err(|f| fault(Bookings, i, f))?;
        if entry.tickets == 0 {
            return Err(fault(Bookings, i, StateFault::ZeroTickets));
        }
        check_order(bookings.last().map(|&(c, k, _)| (c, k)), (customer, key))
            .map_err(|f| fault(Bookings, i, f))?;
        let index = shows
            .binary_search_by_key(&key, |&(k, _)| k)
            .map_err(|_| fault(Bookings, i, StateFault::UnknownShow))?;
        held[index] += u64::from(entry.tickets);
        bookings.push((customer, key, entry.tickets));
    }
    if let Some(index) = (0..shows.len()).find(|&i| held[i] > u64::from(shows[i].1)) {
        return Err(fault(Shows, index, StateFault::OverCapacity));
    }

    let mut replica = ReplicaA::default();
    for (i, &(key, capacity)) in shows.iter().enumerate() {
        let mut rec = ShowRecord::new(capacity);
        rec.held = held[i] as u32;
        replica
            .shows
            .entry(key.movie)
            .or_default()
            .insert(key.id, rec);
    }
    for (customer, key, tickets) in bookings {
        if let Some(rec) = replica
            .shows
            .get_mut(&key.movie)
            .and_then(|m| m.get_mut(&key.id))
        {
            rec.bookings.insert(customer, tickets);
        }
        replica
            .customers
            .entry(customer)
            .or_default()
            .insert(key, tickets);
    }
    Ok(replica)
}
