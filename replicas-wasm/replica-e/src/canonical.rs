//! The canonical state (docs/booking-rules.md §7): export sorts the live state into the rules'
//! orders; import validates a whole value into a fresh ledger and only then replaces the store.

use std::collections::HashMap;

use crate::exports::dmtbs::booking::types::{
    BookingEntry, CanonicalState, ShowEntry, StateError, StateFault, StateSection,
};
use crate::ledger::{Entry, Store};
use crate::lexicon::{Movie, Screening, Show, UserId};

pub fn export(store: &Store) -> CanonicalState {
    CanonicalState {
        shows: store
            .shows()
            .into_iter()
            .map(|(s, capacity)| ShowEntry {
                movie: s.movie.name().to_string(),
                show_id: s.id_text(),
                capacity,
            })
            .collect(),
        bookings: store
            .bookings()
            .into_iter()
            .map(|(c, s, tickets)| BookingEntry {
                customer: c.text(),
                movie: s.movie.name().to_string(),
                show_id: s.id_text(),
                tickets,
            })
            .collect(),
    }
}

fn fault(section: StateSection, index: usize, fault: StateFault) -> StateError {
    StateError {
        section,
        // A list longer than u32::MAX entries cannot cross the component boundary.
        index: u32::try_from(index).expect("list index fits u32"),
        fault,
    }
}

/// Recognises a (movie, show ID) pair of the state, fields in record order.
fn show_of(movie: &str, id: &str) -> Result<Show, StateFault> {
    let movie = Movie::parse(movie).ok_or(StateFault::UnknownMovie)?;
    let screening = Screening::parse(id).ok_or(StateFault::MalformedId)?;
    Ok(Show::new(movie, screening))
}

/// `Ok` when `key` is strictly after `prev`; the fault otherwise.
fn after<K: Ord>(prev: Option<K>, key: &K) -> Result<(), StateFault> {
    match prev {
        Some(p) if p == *key => Err(StateFault::Duplicate),
        Some(p) if p > *key => Err(StateFault::OutOfOrder),
        _ => Ok(()),
    }
}

/// The ledger a valid state becomes: its shows provisioned, then its bookings as movements.
/// Checks the shows first, then the bookings, then capacities; sums in `u64`.
pub fn validate(state: &CanonicalState) -> Result<Vec<Entry>, StateError> {
    use StateSection::{Bookings, Shows};
    let mut entries = Vec::with_capacity(state.shows.len() + state.bookings.len());
    // Show → (index in `shows`, capacity, tickets booked so far).
    let mut table: HashMap<Show, (usize, u32, u64)> = HashMap::with_capacity(state.shows.len());
    let mut prev = None;
    for (i, e) in state.shows.iter().enumerate() {
        let show = show_of(&e.movie, &e.show_id).map_err(|f| fault(Shows, i, f))?;
        if !(1..=10_000).contains(&e.capacity) {
            return Err(fault(Shows, i, StateFault::CapacityOutOfRange));
        }
        after(prev, &show.rank()).map_err(|f| fault(Shows, i, f))?;
        prev = Some(show.rank());
        table.insert(show, (i, e.capacity, 0));
        entries.push(Entry::Provision {
            show,
            capacity: e.capacity,
        });
    }
    let mut prev = None;
    for (i, e) in state.bookings.iter().enumerate() {
        let customer = UserId::parse(&e.customer)
            .filter(|c| !c.is_admin())
            .ok_or(fault(Bookings, i, StateFault::MalformedId))?;
        let show = show_of(&e.movie, &e.show_id).map_err(|f| fault(Bookings, i, f))?;
        if e.tickets == 0 {
            return Err(fault(Bookings, i, StateFault::ZeroTickets));
        }
        let key = (customer, show.rank());
        after(prev, &key).map_err(|f| fault(Bookings, i, f))?;
        prev = Some(key);
        let slot = table
            .get_mut(&show)
            .ok_or(fault(Bookings, i, StateFault::UnknownShow))?;
        slot.2 += u64::from(e.tickets);
        entries.push(Entry::Seats {
            customer,
            show,
            delta: i64::from(e.tickets),
        });
    }
    let mut over: Vec<usize> = table
        .values()
        .filter(|(_, capacity, sold)| *sold > u64::from(*capacity))
        .map(|(i, _, _)| *i)
        .collect();
    over.sort_unstable();
    match over.first() {
        Some(&i) => Err(fault(Shows, i, StateFault::OverCapacity)),
        None => Ok(entries),
    }
}
