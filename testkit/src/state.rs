//! Large, valid canonical states for benchmarks and state-transfer tests.

use dmtbs_host::contract::{BookingEntry, CanonicalState, ShowEntry};

use crate::build::{add_days, date, show_id};
use crate::rng::Rng;

/// A valid state with about `bookings` bookings: every show of 20 days from 2026-11-20 (540
/// shows, capacity 10,000), customers of all three areas, 1–4 tickets each. Deterministic.
pub fn large(bookings: usize) -> CanonicalState {
    let mut shows = Vec::new();
    for day in 0..20 {
        let d = add_days(date(2026, 11, 20), day);
        for slot in ['M', 'A', 'E'] {
            for area in ["ATW", "OUT", "VER"] {
                for movie in ["Avatar", "Avengers", "Titanic"] {
                    shows.push(ShowEntry {
                        movie: movie.into(),
                        show_id: show_id(area, slot, d),
                        capacity: 10_000,
                    });
                }
            }
        }
    }
    // Customers in byte order of their IDs (ATW < OUT < VER), 3–4 bookings each on distinct
    // shows taken in show order.
    let per_customer = 3.4;
    let customers = ((bookings as f64 / per_customer).ceil() as usize).min(30_000);
    let mut rng = Rng::new(42);
    let mut list = Vec::with_capacity(bookings);
    let per_area = customers.div_ceil(3).max(1);
    'outer: for c in 0..customers {
        let area = ["ATW", "OUT", "VER"][c / per_area];
        let customer = format!("{area}C{:04}", c % per_area);
        let mut picks: Vec<usize> = Vec::new();
        let k = if rng.percent(40) { 4 } else { 3 };
        while picks.len() < k {
            let s = rng.below(shows.len() as u64) as usize;
            if !picks.contains(&s) {
                picks.push(s);
            }
        }
        picks.sort_unstable();
        for s in picks {
            if list.len() == bookings {
                break 'outer;
            }
            list.push(BookingEntry {
                customer: customer.clone(),
                movie: shows[s].movie.clone(),
                show_id: shows[s].show_id.clone(),
                tickets: 1 + rng.below(4) as u32,
            });
        }
    }
    CanonicalState {
        shows,
        bookings: list,
    }
}
