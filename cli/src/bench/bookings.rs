//! `--workload bookings`: a state that grows. Every request books one ticket for a random
//! customer of the show's own area (so no weekly limit applies), by that area's admin (who may
//! act for any customer), on a random show of the booking window. Shows get
//! [`CAPACITY`] seats, so the state gains about one booking per request — what a long run needs
//! to show whether a checkpoint's cost grows with the state (issue 14).

use dmtbs_host::contract::{Date, Operation};
use dmtbs_testkit::build::{self, add_days};
use dmtbs_testkit::rng::Rng;
use dmtbs_testkit::workload::{AREAS, MOVIES};

/// Seats per show in a bookings run: 216 shows hold 2,160,000 tickets.
pub(super) const CAPACITY: u32 = 10_000;
/// Customers per area (IDs 0001–9999: the whole ID space).
const CUSTOMERS: u64 = 9_999;

pub(super) struct Bookings {
    rng: Rng,
    /// (area, movie, show ID) of every show the setup added.
    shows: Vec<(&'static str, &'static str, String)>,
}

impl Bookings {
    pub(super) fn new(seed: u64, today: Date) -> Self {
        let mut shows = Vec::new();
        for day in 0..=7 {
            for area in AREAS {
                for movie in MOVIES {
                    for slot in ['M', 'A', 'E'] {
                        shows.push((
                            area,
                            movie,
                            build::show_id(area, slot, add_days(today, day)),
                        ));
                    }
                }
            }
        }
        Bookings {
            rng: Rng::new(seed),
            shows,
        }
    }

    pub(super) fn next_operation(&mut self) -> Operation {
        let (area, movie, show) = &self.shows[self.rng.below(self.shows.len() as u64) as usize];
        let customer = format!("{area}C{:04}", 1 + self.rng.below(CUSTOMERS));
        build::book(&format!("{area}A0001"), &customer, movie, show, 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn books_one_ticket_in_the_customers_own_area_on_a_window_show() {
        let today = build::date(2026, 11, 24);
        let mut a = Bookings::new(7, today);
        let mut b = Bookings::new(7, today);
        for _ in 0..1_000 {
            let op = a.next_operation();
            assert_eq!(op, b.next_operation(), "seeded: the same stream");
            let Operation::Book(book) = op else {
                panic!("not a booking: {op:?}")
            };
            assert_eq!(book.tickets, 1);
            assert_eq!(book.customer[..3], book.show_id[..3], "own area: {book:?}");
            assert_eq!(book.actor, format!("{}A0001", &book.show_id[..3]));
        }
    }
}
