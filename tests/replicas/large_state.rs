//! A correct module is never failed for the size of its state (issue 14): with a million
//! bookings installed, every implementation exports its state, imports it again and serves
//! requests, under the default limits — the state operations' budgets (fuel, deadline, memory)
//! grow with the state instead of being fixed.

use std::time::Instant;

use dmtbs_host::contract::{BookingEntry, CanonicalState, ShowEntry, Success};
use dmtbs_host::{ReplicaHandle, StateDigest};
use dmtbs_testkit::build::{book, date, req};

use super::fleet::modules;

const MOVIES: [&str; 3] = ["Avatar", "Avengers", "Titanic"];
const AREAS: [&str; 3] = ["ATW", "OUT", "VER"];
const SLOTS: [char; 3] = ['M', 'A', 'E'];
/// Shows per customer: 29,997 customers × 34 = 1,019,898 bookings.
const PER_CUSTOMER: usize = 34;

/// Shows on 12 days from 2026-12-01, in show order (date, slot, area, movie), each with the
/// largest capacity the rules allow.
fn shows() -> Vec<ShowEntry> {
    let mut shows = Vec::new();
    for day in 1..=12 {
        for slot in SLOTS {
            for area in AREAS {
                for movie in MOVIES {
                    shows.push(ShowEntry {
                        movie: movie.into(),
                        show_id: format!("{area}{slot}{day:02}1226"),
                        capacity: 10_000,
                    });
                }
            }
        }
    }
    shows
}

/// Every customer ID of every area (in ID order) holds one ticket on `PER_CUSTOMER` shows,
/// spread so that no show exceeds its capacity; bookings by customer, then show order.
fn large_state() -> CanonicalState {
    let shows = shows();
    let mut bookings = Vec::new();
    let mut n = 0usize;
    for area in AREAS {
        for number in 1..=9_999 {
            let customer = format!("{area}C{number:04}");
            let mut picked: Vec<usize> = (0..PER_CUSTOMER)
                .map(|k| (n + k * 9) % shows.len())
                .collect();
            picked.sort_unstable();
            picked.dedup();
            for i in picked {
                bookings.push(BookingEntry {
                    customer: customer.clone(),
                    movie: shows[i].movie.clone(),
                    show_id: shows[i].show_id.clone(),
                    tickets: 1,
                });
            }
            n += 1;
        }
    }
    CanonicalState { shows, bookings }
}

#[test]
fn a_million_bookings_are_exported_imported_and_served_by_every_implementation() {
    let started = Instant::now();
    let state = large_state();
    let expected = StateDigest::of(&state);
    println!(
        "state: {} shows, {} bookings, built in {:?}",
        state.shows.len(),
        state.bookings.len(),
        started.elapsed()
    );
    assert!(state.bookings.len() >= 1_000_000);
    for module in &modules().1 {
        let name = module.name().to_owned();
        let t = Instant::now();
        let replica = ReplicaHandle::spawn(module, &state)
            .unwrap_or_else(|e| panic!("{name}: a million bookings installed: {e}"));
        let installed = t.elapsed();
        let t = Instant::now();
        let exported = replica
            .export_state()
            .unwrap_or_else(|e| panic!("{name}: export of a million bookings: {e}"));
        let export_time = t.elapsed();
        assert_eq!(
            StateDigest::of(&exported),
            expected,
            "{name}: export differs"
        );
        // A booking is still served on top of it: one more ticket on the first show.
        let outcome = replica
            .apply(req(
                1,
                date(2026, 11, 30),
                book("ATWC0001", "ATWC0001", "Avatar", "ATWM011226", 1),
            ))
            .unwrap_or_else(|e| panic!("{name}: a booking on the large state: {e}"));
        assert!(
            matches!(outcome, Ok(Success::Booked(_))),
            "{name}: {outcome:?}"
        );
        // And the state goes back in (a replacement replica's path).
        let t = Instant::now();
        replica
            .import_state(exported)
            .unwrap_or_else(|e| panic!("{name}: import again: {e}"))
            .unwrap_or_else(|e| panic!("{name}: refused its own export: {e:?}"));
        println!(
            "{name}: installed in {installed:?}, exported in {export_time:?}, imported again in {:?}",
            t.elapsed()
        );
    }
}
