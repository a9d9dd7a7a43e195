//! The canonical state (rules §7): export, and import with validation. Import builds a complete
//! new [`State`] off to the side and only then replaces the old one, so a refusal changes nothing.
use crate::model::{Movie, Role, ShowKey, UserId};
use crate::state::{ShowRecord, State};
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use dmtbs_guest::{BookingEntry, CanonicalState, ShowEntry, StateError, StateFault, StateSection};

pub fn export(state: &State) -> CanonicalState {
    let shows = state
        .shows
        .iter()
        .map(|(k, r)| ShowEntry {
            movie: k.movie.name().into(),
            show_id: k.show_id(),
            capacity: r.capacity,
        })
        .collect();
    // The relation is keyed show-first; the canonical order is customer-first.
    let mut by_customer: Vec<(UserId, ShowKey, u32)> = state
        .holdings
        .iter()
        .map(|(&(k, c), &t)| (c, k, t))
        .collect();
    by_customer.sort_unstable();
    let bookings = by_customer
        .into_iter()
        .map(|(c, k, t)| BookingEntry {
            customer: c.render(),
            movie: k.movie.name().into(),
            show_id: k.show_id(),
            tickets: t,
        })
        .collect();
    CanonicalState { shows, bookings }
}

fn fault(section: StateSection, index: usize, fault: StateFault) -> StateError {
    StateError {
        section,
        index: index as u32,
        fault,
    }
}

fn show_key(movie: &str, show_id: &str) -> Result<ShowKey, StateFault> {
    let m = Movie::parse(movie).ok_or(StateFault::UnknownMovie)?;
    ShowKey::parse(m, show_id).ok_or(StateFault::MalformedId)
}

/// Strictly increasing keys: equal is a duplicate, smaller is out of order.
fn follows<K: Ord>(previous: Option<&K>, key: &K) -> Result<(), StateFault> {
    match previous {
        Some(p) if p == key => Err(StateFault::Duplicate),
        Some(p) if p > key => Err(StateFault::OutOfOrder),
        _ => Ok(()),
    }
}

pub fn import(input: &CanonicalState) -> Result<State, StateError> {
    let mut shows: BTreeMap<ShowKey, ShowRecord> = BTreeMap::new();
    let mut order: Vec<ShowKey> = Vec::with_capacity(input.shows.len());
    for (i, e) in input.shows.iter().enumerate() {
        let at = |f| fault(StateSection::Shows, i, f);
        let key = show_key(&e.movie, &e.show_id).map_err(at)?;
        if !(1..=10_000).contains(&e.capacity) {
            return Err(at(StateFault::CapacityOutOfRange));
        }
        follows(order.last(), &key).map_err(at)?;
        order.push(key);
        shows.insert(
            key,
            ShowRecord {
                capacity: e.capacity,
                sold: 0,
            },
        );
    }

    let mut holdings = BTreeMap::new();
    let mut sold: BTreeMap<ShowKey, u64> = BTreeMap::new();
    let mut previous: Option<(UserId, ShowKey)> = None;
    for (i, e) in input.bookings.iter().enumerate() {
        let at = |f| fault(StateSection::Bookings, i, f);
        let customer = UserId::parse(&e.customer)
            .filter(|u| u.role == Role::Customer)
            .ok_or(at(StateFault::MalformedId))?;
        let key = show_key(&e.movie, &e.show_id).map_err(at)?;
        if e.tickets == 0 {
            return Err(at(StateFault::ZeroTickets));
        }
        follows(previous.as_ref(), &(customer, key)).map_err(at)?;
        previous = Some((customer, key));
        if !shows.contains_key(&key) {
            return Err(at(StateFault::UnknownShow));
        }
        *sold.entry(key).or_insert(0) += u64::from(e.tickets);
        holdings.insert((key, customer), e.tickets);
    }

    for (i, key) in order.iter().enumerate() {
        let total = sold.get(key).copied().unwrap_or(0);
        let record = shows.get_mut(key).expect("every listed show was inserted");
        if total > u64::from(record.capacity) {
            return Err(fault(StateSection::Shows, i, StateFault::OverCapacity));
        }
        record.sold = total as u32;
    }
    Ok(State::from_parts(shows, holdings))
}
