//! Conformance: the examples of the rules (§8) and a table of cases reaching every operation,
//! every error code and the precedence between errors, checked on all four implementations.
//! Expected values come from `docs/booking-rules.md`, worked out by hand.

use dmtbs_host::contract::{Booked, Exchanged};
use dmtbs_host::contract::{
    BookingEntry, BookingError as E, CanonicalState, Date, DroppedBooking, MovedBooking, Operation,
    Outcome, ScheduledBooking, ShowEntry, ShowRemaining, ShowRemoved, StateError, StateFault,
    StateSection, Success,
};
use dmtbs_testkit::build::{
    add_show, availability, book, cancel, date, exchange, remove_show, req, schedule,
};

use crate::fleet::Fleet;

/// A scenario: steps applied in order to a fresh fleet, each with the result every
/// implementation must give. All mismatches are collected and reported together.
struct Script {
    fleet: Fleet,
    seq: u64,
    today: Date,
    mismatches: Vec<String>,
}

impl Script {
    /// Tuesday 24 November 2026, the day of the rules' examples (week 48: 23–29 Nov).
    fn new() -> Self {
        Script {
            fleet: Fleet::new(),
            seq: 0,
            today: date(2026, 11, 24),
            mismatches: Vec::new(),
        }
    }

    fn today(&mut self, d: Date) -> &mut Self {
        self.today = d;
        self
    }

    #[track_caller]
    fn expect(&mut self, op: Operation, expected: Outcome) -> &mut Self {
        self.seq += 1;
        let line = std::panic::Location::caller().line();
        let request = req(self.seq, self.today, op);
        for ((name, _), got) in self.fleet.replicas.iter().zip(self.fleet.apply(&request)) {
            if got != expected {
                self.mismatches.push(format!(
                    "line {line}: {name}\n  request:  {:?}\n  expected: {expected:?}\n  got:      {got:?}",
                    request.operation
                ));
            }
        }
        self
    }

    /// Report every mismatch; also require the four exported states to be identical.
    fn done(&mut self) -> CanonicalState {
        assert!(
            self.mismatches.is_empty(),
            "{} mismatch(es):\n{}",
            self.mismatches.len(),
            self.mismatches.join("\n")
        );
        self.fleet.agreed_state()
    }
}

fn ok(s: Success) -> Outcome {
    Ok(s)
}
fn err(e: E) -> Outcome {
    Err(e)
}
fn booked(held: u32, remaining: u32) -> Outcome {
    Ok(Success::Booked(Booked { held, remaining }))
}
fn exchanged(old_held: u32, new_held: u32) -> Outcome {
    Ok(Success::Exchanged(Exchanged { old_held, new_held }))
}
fn avail(shows: &[(&str, u32)]) -> Outcome {
    Ok(Success::Availability(
        shows
            .iter()
            .map(|(id, r)| ShowRemaining {
                show_id: id.to_string(),
                remaining: *r,
            })
            .collect(),
    ))
}
fn sched(bookings: &[(&str, &str, u32)]) -> Outcome {
    Ok(Success::Schedule(
        bookings
            .iter()
            .map(|(m, id, t)| ScheduledBooking {
                movie: m.to_string(),
                show_id: id.to_string(),
                tickets: *t,
            })
            .collect(),
    ))
}
const ADDED: Outcome = Ok(Success::ShowAdded);

#[test]
fn examples_of_the_rules() {
    let mut s = Script::new();
    s.expect(add_show("ATWA1000", "Avatar", "ATWM251126", 10), ADDED)
        .expect(
            add_show("ATWA1000", "Avatar", "ATWM251126", 4),
            ok(Success::ShowUpdated(10)),
        )
        .expect(
            add_show("VERA1000", "Avatar", "ATWE251126", 5),
            err(E::NotAuthorized),
        )
        .expect(
            add_show("ATWA1000", "Titanic", "ATWA031226", 5),
            err(E::OutsideWindow),
        )
        .expect(
            book("ATWC0001", "ATWC0001", "Avatar", "ATWM251126", 2),
            booked(2, 2),
        )
        .expect(
            book("ATWC0001", "ATWC0001", "Avatar", "ATWM251126", 3),
            err(E::ShowFull(2)),
        )
        .expect(add_show("OUTA1000", "Avatar", "OUTM251126", 10), ADDED)
        .expect(
            book("ATWC0001", "ATWC0001", "Avatar", "OUTM251126", 1),
            err(E::SameShowOtherArea),
        )
        .expect(add_show("VERA1000", "Titanic", "VERM241126", 10), ADDED)
        .expect(add_show("VERA1000", "Titanic", "VERA261126", 10), ADDED)
        .expect(add_show("OUTA1000", "Titanic", "OUTE291126", 10), ADDED)
        .expect(add_show("OUTA1000", "Titanic", "OUTM271126", 10), ADDED)
        .expect(add_show("OUTA1000", "Titanic", "OUTM301126", 10), ADDED)
        .expect(
            book("ATWC0001", "ATWC0001", "Titanic", "VERM241126", 1),
            booked(1, 9),
        )
        .expect(
            book("ATWC0001", "ATWC0001", "Titanic", "VERA261126", 1),
            booked(1, 9),
        )
        .expect(
            book("ATWC0001", "ATWC0001", "Titanic", "OUTE291126", 1),
            booked(1, 9),
        )
        .expect(
            book("ATWC0001", "ATWC0001", "Titanic", "OUTM271126", 1),
            err(E::WeeklyLimit),
        )
        .expect(
            book("ATWC0001", "ATWC0001", "Titanic", "OUTM301126", 1),
            booked(1, 9),
        )
        .expect(
            cancel("ATWC0001", "ATWC0001", "Avatar", "ATWM251126", 5),
            err(E::TooManyTickets(2)),
        );
    let state = s.done();
    // The canonical state: shows in show order (date, slot, area, movie), bookings by customer.
    let shows: Vec<&str> = state.shows.iter().map(|s| s.show_id.as_str()).collect();
    assert_eq!(
        shows,
        [
            "VERM241126",
            "ATWM251126",
            "OUTM251126",
            "VERA261126",
            "OUTM271126",
            "OUTE291126",
            "OUTM301126"
        ]
    );
    let bookings: Vec<&str> = state.bookings.iter().map(|b| b.show_id.as_str()).collect();
    assert_eq!(
        bookings,
        [
            "VERM241126",
            "ATWM251126",
            "VERA261126",
            "OUTE291126",
            "OUTM301126"
        ]
    );
}

#[test]
fn validation_checks_fields_in_signature_order() {
    let mut s = Script::new();
    // add-show(actor, movie, show-id, capacity)
    s.expect(
        add_show("atwa1000", "Nope", "bad", 0),
        err(E::InvalidUserId),
    )
    .expect(
        add_show("ATWA1000", "avatar", "bad", 0),
        err(E::UnknownMovie),
    )
    .expect(
        add_show("ATWA1000", "Avatar", "ATWM310226", 0),
        err(E::InvalidShowId),
    )
    .expect(
        add_show("ATWA1000", "Avatar", "ATWM251126", 0),
        err(E::InvalidCapacity),
    )
    .expect(
        add_show("ATWA1000", "Avatar", "ATWM251126", 10_001),
        err(E::InvalidCapacity),
    )
    .expect(add_show("ATWA1000", "Avatar", "ATWM251126", 10_000), ADDED);
    // Malformed user IDs.
    for bad in [
        "ATWB1000",
        "ATWA100",
        "ATWA10000",
        "ATWA10a0",
        "XYZA1000",
        "ATWa1000",
        "",
        "ÀTWA100",
    ] {
        s.expect(availability(bad, "Avatar"), err(E::InvalidUserId));
    }
    // Malformed show IDs (a valid admin, movie and capacity otherwise).
    for bad in [
        "ATWX251126",  // slot
        "ATWM251126 ", // length
        "ATWM2511260", // length
        "atwm251126",  // case
        "ATWM290227",  // 2027 is not a leap year
        "ATWM000126",  // day 0
        "ATWM251326",  // month 13
        "ATWM31112a",  // not digits
        "VRNM251126",  // area
    ] {
        s.expect(
            add_show("ATWA1000", "Avatar", bad, 5),
            err(E::InvalidShowId),
        );
    }
    // 29 Feb 2028 exists: well-formed, merely outside the window.
    s.expect(
        add_show("ATWA1000", "Avatar", "ATWM290228", 5),
        err(E::OutsideWindow),
    );
    // book(actor, customer, movie, show-id, tickets)
    s.expect(
        book("ATWC0001", "ATWC00001", "Nope", "x", 0),
        err(E::InvalidUserId),
    )
    .expect(
        book("ATWC0001", "ATWC0001", "Nope", "x", 0),
        err(E::UnknownMovie),
    )
    .expect(
        book("ATWC0001", "ATWC0001", "Avatar", "x", 0),
        err(E::InvalidShowId),
    )
    .expect(
        book("ATWC0001", "ATWC0001", "Avatar", "ATWM251126", 0),
        err(E::InvalidTickets),
    )
    .expect(
        book("ATWC0001", "ATWC0001", "Avatar", "ATWM251126", 10_001),
        err(E::InvalidTickets),
    )
    // Validation precedes authorisation.
    .expect(
        book("ATWC0002", "ATWC0001", "Avatar", "ATWM251126", 0),
        err(E::InvalidTickets),
    );
    // cancel(actor, customer, movie, show-id, tickets)
    s.expect(
        cancel("ATWC0001", "ATWC0001", "Avatar", "ATWM251126", 0),
        err(E::InvalidTickets),
    )
    .expect(
        cancel("ATWC0001", "ATWC0001", "Avatar", "ATWQ251126", 1),
        err(E::InvalidShowId),
    );
    // exchange(actor, customer, old-movie, old-show-id, new-movie, new-show-id, tickets)
    s.expect(
        exchange(
            "ATWC0001",
            "ATWC0001",
            ("Avatar", "ATWM251126"),
            ("x", "y"),
            0,
        ),
        err(E::UnknownMovie),
    )
    .expect(
        exchange("ATWC0001", "ATWC0001", ("Avatar", "bad"), ("x", "y"), 0),
        err(E::InvalidShowId),
    )
    .expect(
        exchange(
            "ATWC0001",
            "ATWC0001",
            ("Avatar", "ATWM251126"),
            ("Avatar", "y"),
            0,
        ),
        err(E::InvalidShowId),
    )
    .expect(
        exchange(
            "ATWC0001",
            "ATWC0001",
            ("Avatar", "ATWM251126"),
            ("Avatar", "ATWM251126"),
            0,
        ),
        err(E::InvalidTickets),
    );
    s.expect(schedule("ATWC0001", "OUTX0001"), err(E::InvalidUserId))
        .expect(
            remove_show("ATWA1000", "Avatar", "ATWM251126x"),
            err(E::InvalidShowId),
        );
    // Nothing above changed the state but the one show added.
    let state = s.done();
    assert_eq!(state.shows.len(), 1);
    assert!(state.bookings.is_empty());
}

#[test]
fn add_show_authorisation_window_and_updates() {
    let mut s = Script::new();
    s.expect(
        add_show("ATWC1000", "Avatar", "ATWM251126", 5),
        err(E::NotAuthorized),
    )
    .expect(
        add_show("VERA1000", "Avatar", "ATWM251126", 5),
        err(E::NotAuthorized),
    )
    // Authorisation precedes the window.
    .expect(
        add_show("VERA1000", "Avatar", "ATWM031226", 5),
        err(E::NotAuthorized),
    )
    .expect(
        add_show("ATWA1000", "Avatar", "ATWM231126", 5),
        err(E::OutsideWindow),
    )
    .expect(
        add_show("ATWA1000", "Avatar", "ATWM021226", 5),
        err(E::OutsideWindow),
    )
    // The window's edges: today (any slot) and today + 7 days.
    .expect(add_show("ATWA1000", "Avatar", "ATWE241126", 5), ADDED)
    .expect(add_show("ATWA1000", "Avatar", "ATWM011226", 5), ADDED)
    // The same show ID with another movie is another show.
    .expect(add_show("ATWA1000", "Titanic", "ATWE241126", 3), ADDED)
    .expect(
        book("ATWC0001", "ATWC0001", "Avatar", "ATWE241126", 3),
        booked(3, 2),
    )
    .expect(
        add_show("ATWA1000", "Avatar", "ATWE241126", 2),
        err(E::CapacityBelowBooked),
    )
    .expect(
        add_show("ATWA1000", "Avatar", "ATWE241126", 3),
        ok(Success::ShowUpdated(5)),
    )
    .expect(
        add_show("ATWA1000", "Avatar", "ATWE241126", 3),
        ok(Success::ShowUpdated(3)),
    )
    .expect(
        add_show("ATWA1000", "Avatar", "ATWE241126", 0),
        err(E::InvalidCapacity),
    )
    // Validation precedes the capacity check.
    .expect(
        add_show("ATWA1000", "Avatar", "ATWE241126", 10_001),
        err(E::InvalidCapacity),
    );
    // Once the show's date has left the window it can no longer be changed.
    s.today(date(2026, 11, 25))
        .expect(
            add_show("ATWA1000", "Avatar", "ATWE241126", 9),
            err(E::OutsideWindow),
        )
        .expect(
            availability("ATWA1000", "Avatar"),
            avail(&[("ATWM011226", 5)]),
        );
    s.done();
}

#[test]
fn remove_show_moves_bookings_to_the_next_show_that_fits() {
    let mut s = Script::new();
    s.expect(add_show("ATWA1000", "Avatar", "ATWM251126", 10), ADDED)
        .expect(add_show("ATWA1000", "Avatar", "ATWA251126", 3), ADDED)
        .expect(add_show("ATWA1000", "Avatar", "ATWE251126", 2), ADDED)
        .expect(add_show("ATWA1000", "Avatar", "ATWM261126", 10), ADDED)
        // Not candidates: another movie at the same time, the same movie in another area, and
        // an earlier show.
        .expect(add_show("ATWA1000", "Titanic", "ATWA251126", 10), ADDED)
        .expect(add_show("OUTA1000", "Avatar", "OUTA251126", 10), ADDED)
        .expect(add_show("ATWA1000", "Avatar", "ATWE241126", 10), ADDED)
        .expect(add_show("OUTA1000", "Titanic", "OUTM261126", 10), ADDED)
        .expect(add_show("OUTA1000", "Titanic", "OUTA261126", 10), ADDED)
        .expect(
            book("ATWC0003", "ATWC0003", "Avatar", "ATWM251126", 2),
            booked(2, 8),
        )
        .expect(
            book("ATWA1000", "VERC0002", "Avatar", "ATWM251126", 1),
            booked(1, 7),
        )
        .expect(
            book("ATWC0001", "ATWC0001", "Avatar", "ATWM251126", 1),
            booked(1, 6),
        )
        .expect(
            book("ATWC0001", "ATWC0001", "Avatar", "ATWA251126", 1),
            booked(1, 2),
        )
        .expect(
            book("ATWC0009", "ATWC0009", "Avatar", "ATWA251126", 1),
            booked(1, 1),
        )
        // VERC0002 reaches the weekly limit in week 48 outside VER (ATW + 2 × OUT).
        .expect(
            book("VERC0002", "VERC0002", "Titanic", "OUTM261126", 1),
            booked(1, 9),
        )
        .expect(
            book("VERC0002", "VERC0002", "Titanic", "OUTA261126", 1),
            booked(1, 9),
        )
        .expect(
            remove_show("ATWC0001", "Avatar", "ATWM251126"),
            err(E::NotAuthorized),
        )
        .expect(
            remove_show("OUTA1000", "Avatar", "ATWM251126"),
            err(E::NotAuthorized),
        )
        .expect(
            remove_show("ATWA1000", "Avengers", "ATWM251126"),
            err(E::ShowNotFound),
        )
        .expect(
            remove_show("ATWA1000", "Avatar", "ATWM251126"),
            ok(Success::ShowRemoved(ShowRemoved {
                // Ascending customer ID; each to the first later show with room at that moment.
                // VERC0002's move ignores the weekly limit.
                moved: vec![
                    moved("ATWC0001", "ATWA251126", 1),
                    moved("ATWC0003", "ATWE251126", 2),
                    moved("VERC0002", "ATWM261126", 1),
                ],
                dropped: vec![],
            })),
        )
        .expect(
            remove_show("ATWA1000", "Avatar", "ATWM251126"),
            err(E::ShowNotFound),
        )
        .expect(
            schedule("ATWC0001", "ATWC0001"),
            sched(&[("Avatar", "ATWA251126", 2)]),
        )
        .expect(
            availability("VERC0002", "Avatar"),
            avail(&[
                ("ATWE241126", 10),
                ("ATWA251126", 0),
                ("OUTA251126", 10),
                ("ATWE251126", 0),
                ("ATWM261126", 9),
            ]),
        );
    // A booking with nowhere to go is dropped.
    s.expect(add_show("ATWA1000", "Titanic", "ATWE011226", 3), ADDED)
        .expect(add_show("ATWA1000", "Titanic", "ATWM011226", 5), ADDED)
        .expect(
            book("ATWC0005", "ATWC0005", "Titanic", "ATWM011226", 4),
            booked(4, 1),
        )
        .expect(
            book("ATWC0006", "ATWC0006", "Titanic", "ATWM011226", 1),
            booked(1, 0),
        )
        .expect(
            remove_show("ATWA1000", "Titanic", "ATWM011226"),
            ok(Success::ShowRemoved(ShowRemoved {
                moved: vec![moved("ATWC0006", "ATWE011226", 1)],
                dropped: vec![DroppedBooking {
                    customer: "ATWC0005".into(),
                    tickets: 4,
                }],
            })),
        )
        .expect(schedule("ATWA1000", "ATWC0005"), sched(&[]));
    // A past show cannot be removed; a show dated today can.
    s.today(date(2026, 11, 25))
        .expect(
            remove_show("ATWA1000", "Avatar", "ATWE241126"),
            err(E::PastShow),
        )
        .expect(
            remove_show("ATWA1000", "Avatar", "ATWE251126"),
            ok(Success::ShowRemoved(ShowRemoved {
                // ATWC0003's 2 tickets: ATWM261126 has 9 left.
                moved: vec![moved("ATWC0003", "ATWM261126", 2)],
                dropped: vec![],
            })),
        );
    s.done();
}

fn moved(customer: &str, to: &str, tickets: u32) -> MovedBooking {
    MovedBooking {
        customer: customer.into(),
        to_show_id: to.into(),
        tickets,
    }
}

#[test]
fn availability_lists_every_area_in_show_order_without_past_shows() {
    let mut s = Script::new();
    s.today(date(2026, 11, 20))
        .expect(add_show("ATWA1000", "Avatar", "ATWM231126", 5), ADDED)
        .today(date(2026, 11, 24))
        .expect(add_show("VERA1000", "Avatar", "VERE251126", 5), ADDED)
        .expect(add_show("ATWA1000", "Avatar", "ATWE251126", 3), ADDED)
        .expect(add_show("OUTA1000", "Avatar", "OUTE251126", 2), ADDED)
        .expect(add_show("ATWA1000", "Avatar", "ATWM261126", 1), ADDED)
        .expect(add_show("VERA1000", "Avatar", "VERM251126", 4), ADDED)
        .expect(add_show("ATWA1000", "Titanic", "ATWE251126", 9), ADDED)
        .expect(add_show("ATWA1000", "Avengers", "ATWM241126", 9), ADDED)
        .expect(
            book("OUTA1000", "ATWC0001", "Avatar", "ATWM261126", 1),
            booked(1, 0),
        )
        .expect(availability("atwc0001", "Avatar"), err(E::InvalidUserId))
        .expect(availability("ATWC0001", "Avatars"), err(E::UnknownMovie))
        .expect(
            availability("ATWC0001", "Avatar"),
            avail(&[
                ("VERM251126", 4),
                ("ATWE251126", 3),
                ("OUTE251126", 2),
                ("VERE251126", 5),
                ("ATWM261126", 0),
            ]),
        )
        // Dated today: not past.
        .expect(
            availability("VERA1000", "Avengers"),
            avail(&[("ATWM241126", 9)]),
        )
        .today(date(2026, 11, 25))
        .expect(availability("VERA1000", "Avengers"), avail(&[]))
        .expect(
            availability("OUTC0007", "Titanic"),
            avail(&[("ATWE251126", 9)]),
        );
    s.done();
}

#[test]
fn book_authorisation_existence_and_past() {
    let mut s = Script::new();
    s.today(date(2026, 11, 20))
        .expect(add_show("ATWA1000", "Avatar", "ATWM231126", 5), ADDED)
        .expect(
            book("ATWC0001", "ATWC0001", "Avatar", "ATWM231126", 1),
            booked(1, 4),
        )
        .today(date(2026, 11, 24))
        .expect(add_show("ATWA1000", "Avatar", "ATWM251126", 5), ADDED)
        .expect(
            book("ATWC0002", "ATWC0001", "Avatar", "ATWM251126", 1),
            err(E::NotAuthorized),
        )
        .expect(
            book("ATWA1000", "ATWA1000", "Avatar", "ATWM251126", 1),
            err(E::NotAuthorized),
        )
        .expect(
            book("ATWA1000", "VERA2000", "Avatar", "ATWM251126", 1),
            err(E::NotAuthorized),
        )
        // Authorisation precedes existence.
        .expect(
            book("ATWC0002", "ATWC0001", "Avatar", "ATWM261126", 1),
            err(E::NotAuthorized),
        )
        .expect(
            book("ATWC0001", "ATWC0001", "Avatar", "ATWM261126", 1),
            err(E::ShowNotFound),
        )
        .expect(
            book("ATWC0001", "ATWC0001", "Titanic", "ATWM251126", 1),
            err(E::ShowNotFound),
        )
        .expect(
            book("ATWC0001", "ATWC0001", "Avatar", "ATWM231126", 1),
            err(E::PastShow),
        )
        // An admin of any area acts for a customer of any area.
        .expect(
            book("VERA1000", "ATWC0001", "Avatar", "ATWM251126", 2),
            booked(2, 3),
        )
        .expect(
            book("ATWC0001", "ATWC0001", "Avatar", "ATWM251126", 3),
            booked(5, 0),
        )
        .expect(
            book("ATWC0002", "ATWC0002", "Avatar", "ATWM251126", 1),
            err(E::ShowFull(0)),
        )
        .expect(
            schedule("ATWC0001", "ATWC0001"),
            sched(&[("Avatar", "ATWM231126", 1), ("Avatar", "ATWM251126", 5)]),
        );
    s.done();
}

#[test]
fn same_show_in_another_area_is_refused_before_weekly_limit_and_full() {
    let mut s = Script::new();
    for area in ["ATW", "OUT", "VER"] {
        let admin = format!("{area}A1000");
        s.expect(
            add_show(&admin, "Avatar", &format!("{area}M251126"), 2),
            ADDED,
        )
        .expect(
            add_show(&admin, "Titanic", &format!("{area}M251126"), 2),
            ADDED,
        );
    }
    s.expect(
        book("ATWC0001", "ATWC0001", "Avatar", "OUTM251126", 1),
        booked(1, 1),
    )
    // In the home area too: the held booking is in another area than the requested show.
    .expect(
        book("ATWC0001", "ATWC0001", "Avatar", "ATWM251126", 1),
        err(E::SameShowOtherArea),
    )
    .expect(
        book("ATWC0002", "ATWC0002", "Avatar", "VERM251126", 2),
        booked(2, 0),
    )
    // VERM251126 is full too, but the same-show rule is checked first.
    .expect(
        book("ATWC0001", "ATWC0001", "Avatar", "VERM251126", 1),
        err(E::SameShowOtherArea),
    )
    // Another movie at the same time elsewhere is fine; more tickets on the same show too.
    .expect(
        book("ATWC0001", "ATWC0001", "Titanic", "VERM251126", 1),
        booked(1, 1),
    )
    .expect(
        book("ATWC0001", "ATWC0001", "Avatar", "OUTM251126", 1),
        booked(2, 0),
    );
    s.done();
}

#[test]
fn weekly_limit_counts_other_area_bookings_of_the_iso_week() {
    let mut s = Script::new();
    // Monday 23 Nov (booked while it was in the future), then the rest of week 48 and Monday 30.
    s.today(date(2026, 11, 22))
        .expect(add_show("VERA1000", "Avatar", "VERM231126", 9), ADDED)
        .expect(
            book("ATWC0001", "ATWC0001", "Avatar", "VERM231126", 1),
            booked(1, 8),
        )
        .today(date(2026, 11, 24));
    for (admin, show) in [
        ("VERA1000", "VERE251126"),
        ("OUTA1000", "OUTA261126"),
        ("OUTA1000", "OUTE271126"),
        ("VERA1000", "VERM291126"),
        ("VERA1000", "VERM301126"),
        ("ATWA1000", "ATWM261126"),
        ("ATWA1000", "ATWA261126"),
        ("ATWA1000", "ATWE261126"),
        ("ATWA1000", "ATWM271126"),
    ] {
        s.expect(add_show(admin, "Avatar", show, 9), ADDED)
            .expect(add_show(admin, "Titanic", show, 9), ADDED);
    }
    // Home-area bookings never count.
    s.expect(
        book("ATWC0001", "ATWC0001", "Avatar", "ATWM261126", 1),
        booked(1, 8),
    )
    .expect(
        book("ATWC0001", "ATWC0001", "Avatar", "ATWA261126", 1),
        booked(1, 8),
    )
    .expect(
        book("ATWC0001", "ATWC0001", "Avatar", "ATWE261126", 1),
        booked(1, 8),
    )
    .expect(
        book("ATWC0001", "ATWC0001", "Avatar", "ATWM271126", 1),
        booked(1, 8),
    )
    // The past Monday booking counts: this makes 2 …
    .expect(
        book("ATWC0001", "ATWC0001", "Avatar", "VERE251126", 1),
        booked(1, 8),
    )
    // … and two movies on one show ID count twice: 3.
    .expect(
        book("ATWC0001", "ATWC0001", "Titanic", "VERE251126", 1),
        booked(1, 8),
    )
    .expect(
        book("ATWC0001", "ATWC0001", "Titanic", "OUTA261126", 1),
        err(E::WeeklyLimit),
    )
    .expect(
        book("VERA1000", "ATWC0001", "Titanic", "OUTE271126", 1),
        err(E::WeeklyLimit),
    )
    // More tickets on a show already held is not a new movie.
    .expect(
        book("ATWC0001", "ATWC0001", "Titanic", "VERE251126", 2),
        booked(3, 6),
    )
    // Monday 30 Nov is week 49.
    .expect(
        book("ATWC0001", "ATWC0001", "Avatar", "VERM301126", 1),
        booked(1, 8),
    )
    // The limit is about the customer's home area, not the acting admin's: for a VER
    // customer the VER shows are home.
    .expect(
        book("ATWA1000", "VERC0001", "Avatar", "VERE251126", 1),
        booked(1, 7),
    )
    .expect(
        book("ATWA1000", "VERC0001", "Avatar", "ATWM261126", 1),
        booked(1, 7),
    )
    .expect(
        book("ATWA1000", "VERC0001", "Avatar", "ATWA261126", 1),
        booked(1, 7),
    )
    .expect(
        book("ATWA1000", "VERC0001", "Titanic", "OUTE271126", 1),
        booked(1, 8),
    )
    .expect(
        book("VERA1000", "VERC0001", "Avatar", "ATWE261126", 1),
        err(E::WeeklyLimit),
    )
    // Cancelling one frees a place.
    .expect(
        cancel("VERC0001", "VERC0001", "Titanic", "OUTE271126", 1),
        ok(Success::Cancelled(0)),
    )
    .expect(
        book("VERC0001", "VERC0001", "Avatar", "ATWE261126", 1),
        booked(1, 7),
    );
    s.done();
}

#[test]
fn schedule_and_cancel() {
    let mut s = Script::new();
    s.today(date(2026, 11, 20))
        .expect(add_show("OUTA1000", "Titanic", "OUTE231126", 5), ADDED)
        .expect(
            book("OUTC0001", "OUTC0001", "Titanic", "OUTE231126", 2),
            booked(2, 3),
        )
        .today(date(2026, 11, 24))
        .expect(add_show("OUTA1000", "Avengers", "OUTM251126", 5), ADDED)
        .expect(add_show("OUTA1000", "Avatar", "OUTM251126", 5), ADDED)
        .expect(add_show("ATWA1000", "Avatar", "ATWA251126", 5), ADDED)
        .expect(schedule("OUTC0002", "OUTC0002"), sched(&[]))
        .expect(schedule("OUTC0002", "OUTC0001"), err(E::NotAuthorized))
        .expect(schedule("OUTA1000", "OUTA1000"), err(E::NotAuthorized))
        .expect(
            book("OUTC0001", "OUTC0001", "Avengers", "OUTM251126", 3),
            booked(3, 2),
        )
        .expect(
            book("OUTC0001", "OUTC0001", "Avatar", "ATWA251126", 1),
            booked(1, 4),
        )
        .expect(
            book("OUTC0001", "OUTC0001", "Avatar", "OUTM251126", 1),
            booked(1, 4),
        )
        .expect(
            schedule("VERA1000", "OUTC0001"),
            sched(&[
                ("Titanic", "OUTE231126", 2),
                ("Avatar", "OUTM251126", 1),
                ("Avengers", "OUTM251126", 3),
                ("Avatar", "ATWA251126", 1),
            ]),
        )
        .expect(
            cancel("OUTC0002", "OUTC0001", "Avengers", "OUTM251126", 1),
            err(E::NotAuthorized),
        )
        .expect(
            cancel("OUTC0001", "OUTC0001", "Titanic", "OUTM251126", 1),
            err(E::NotBooked),
        )
        .expect(
            cancel("OUTC0001", "OUTC0001", "Titanic", "OUTM281126", 1),
            err(E::NotBooked),
        )
        .expect(
            cancel("OUTC0001", "OUTC0001", "Titanic", "OUTE231126", 1),
            err(E::PastShow),
        )
        // Not booked is checked before past.
        .expect(
            cancel("OUTC0002", "OUTC0002", "Titanic", "OUTE231126", 9),
            err(E::NotBooked),
        )
        .expect(
            cancel("OUTC0001", "OUTC0001", "Avengers", "OUTM251126", 4),
            err(E::TooManyTickets(3)),
        )
        .expect(
            cancel("ATWA1000", "OUTC0001", "Avengers", "OUTM251126", 2),
            ok(Success::Cancelled(1)),
        )
        .expect(
            cancel("OUTC0001", "OUTC0001", "Avengers", "OUTM251126", 1),
            ok(Success::Cancelled(0)),
        )
        .expect(
            cancel("OUTC0001", "OUTC0001", "Avengers", "OUTM251126", 1),
            err(E::NotBooked),
        )
        .expect(
            availability("OUTC0001", "Avengers"),
            avail(&[("OUTM251126", 5)]),
        )
        .expect(
            schedule("OUTC0001", "OUTC0001"),
            sched(&[
                ("Titanic", "OUTE231126", 2),
                ("Avatar", "OUTM251126", 1),
                ("Avatar", "ATWA251126", 1),
            ]),
        );
    s.done();
}

#[test]
fn exchange_checks_in_order_as_if_the_old_tickets_were_gone() {
    let mut s = Script::new();
    s.today(date(2026, 11, 20))
        .expect(add_show("ATWA1000", "Avatar", "ATWM231126", 5), ADDED)
        .expect(
            book("ATWC0001", "ATWC0001", "Avatar", "ATWM231126", 1),
            booked(1, 4),
        )
        .today(date(2026, 11, 22))
        .expect(add_show("ATWA1000", "Avatar", "ATWA231126", 5), ADDED)
        .today(date(2026, 11, 24));
    for (admin, show) in [
        ("ATWA1000", "ATWM251126"),
        ("OUTA1000", "OUTM251126"),
        ("VERA1000", "VERM251126"),
        ("VERA1000", "VERA261126"),
        ("OUTA1000", "OUTA261126"),
        ("OUTA1000", "OUTE271126"),
        ("ATWA1000", "ATWE261126"),
    ] {
        s.expect(add_show(admin, "Avatar", show, 4), ADDED)
            .expect(add_show(admin, "Titanic", show, 4), ADDED);
    }
    s.expect(
        book("ATWC0001", "ATWC0001", "Avatar", "OUTM251126", 2),
        booked(2, 2),
    )
    .expect(
        exchange(
            "ATWC0002",
            "ATWC0001",
            ("Avatar", "OUTM251126"),
            ("Avatar", "ATWM251126"),
            1,
        ),
        err(E::NotAuthorized),
    )
    // Same show is checked before the booking exists.
    .expect(
        exchange(
            "ATWC0001",
            "ATWC0001",
            ("Titanic", "ATWM251126"),
            ("Titanic", "ATWM251126"),
            1,
        ),
        err(E::SameShow),
    )
    .expect(
        exchange(
            "ATWC0001",
            "ATWC0001",
            ("Titanic", "ATWM251126"),
            ("Avatar", "ATWM251126"),
            1,
        ),
        err(E::NotBooked),
    )
    .expect(
        exchange(
            "ATWC0001",
            "ATWC0001",
            ("Avatar", "ATWM231126"),
            ("Avatar", "ATWM251126"),
            1,
        ),
        err(E::PastShow),
    )
    .expect(
        exchange(
            "ATWC0001",
            "ATWC0001",
            ("Avatar", "OUTM251126"),
            ("Avatar", "ATWM251126"),
            3,
        ),
        err(E::TooManyTickets(2)),
    )
    .expect(
        exchange(
            "ATWC0001",
            "ATWC0001",
            ("Avatar", "OUTM251126"),
            ("Avatar", "ATWE251126"),
            1,
        ),
        err(E::ShowNotFound),
    )
    .expect(
        exchange(
            "ATWC0001",
            "ATWC0001",
            ("Avatar", "OUTM251126"),
            ("Avatar", "ATWA231126"),
            1,
        ),
        err(E::PastShow),
    )
    // Keeping one ticket on OUTM251126 leaves the same show held in another area …
    .expect(
        exchange(
            "ATWC0001",
            "ATWC0001",
            ("Avatar", "OUTM251126"),
            ("Avatar", "VERM251126"),
            1,
        ),
        err(E::SameShowOtherArea),
    )
    // … moving both does not.
    .expect(
        exchange(
            "ATWC0001",
            "ATWC0001",
            ("Avatar", "OUTM251126"),
            ("Avatar", "VERM251126"),
            2,
        ),
        exchanged(0, 2),
    )
    // Same show ID, another movie: a different show.
    .expect(
        exchange(
            "ATWC0001",
            "ATWC0001",
            ("Avatar", "VERM251126"),
            ("Titanic", "VERM251126"),
            1,
        ),
        exchanged(1, 1),
    )
    .expect(
        book("ATWC0001", "ATWC0001", "Avatar", "VERA261126", 1),
        booked(1, 3),
    )
    // Three other-area movies in week 48 now (VERM251126 × 2 movies, VERA261126) …
    .expect(
        book("ATWC0001", "ATWC0001", "Titanic", "OUTA261126", 1),
        err(E::WeeklyLimit),
    )
    // … an exchange that empties one of them may go to a fourth …
    .expect(
        exchange(
            "ATWC0001",
            "ATWC0001",
            ("Avatar", "VERA261126"),
            ("Avatar", "OUTA261126"),
            1,
        ),
        exchanged(0, 1),
    )
    // … one that leaves it held may not.
    .expect(
        book("ATWC0001", "ATWC0001", "Titanic", "VERM251126", 2),
        booked(3, 1),
    )
    .expect(
        exchange(
            "ATWC0001",
            "ATWC0001",
            ("Titanic", "VERM251126"),
            ("Avatar", "OUTE271126"),
            1,
        ),
        err(E::WeeklyLimit),
    )
    // Into a show already held: not a new movie for the limit; tickets add up.
    .expect(
        exchange(
            "ATWC0001",
            "ATWC0001",
            ("Titanic", "VERM251126"),
            ("Avatar", "OUTA261126"),
            2,
        ),
        exchanged(1, 3),
    )
    .expect(
        book("ATWC0009", "ATWC0009", "Titanic", "ATWE261126", 4),
        booked(4, 0),
    )
    .expect(
        exchange(
            "ATWA1000",
            "ATWC0001",
            ("Avatar", "OUTA261126"),
            ("Titanic", "ATWE261126"),
            1,
        ),
        err(E::ShowFull(0)),
    )
    .expect(
        exchange(
            "VERA1000",
            "ATWC0001",
            ("Avatar", "OUTA261126"),
            ("Avatar", "ATWE261126"),
            3,
        ),
        exchanged(0, 3),
    )
    .expect(
        schedule("ATWC0001", "ATWC0001"),
        sched(&[
            ("Avatar", "ATWM231126", 1),
            ("Avatar", "VERM251126", 1),
            ("Titanic", "VERM251126", 1),
            ("Avatar", "ATWE261126", 3),
        ]),
    );
    s.done();
}

fn show(movie: &str, id: &str, capacity: u32) -> ShowEntry {
    ShowEntry {
        movie: movie.into(),
        show_id: id.into(),
        capacity,
    }
}

fn booking(customer: &str, movie: &str, id: &str, tickets: u32) -> BookingEntry {
    BookingEntry {
        customer: customer.into(),
        movie: movie.into(),
        show_id: id.into(),
        tickets,
    }
}

/// A well-formed state with past shows, several movies on one show ID and several customers.
fn sample_state() -> CanonicalState {
    CanonicalState {
        shows: vec![
            show("Titanic", "VERE011125", 3),
            show("Avatar", "ATWM251126", 4),
            show("Titanic", "ATWM251126", 4),
            show("Avatar", "OUTM251126", 9),
            show("Avatar", "ATWA251126", 2),
            show("Avengers", "OUTE301126", 5),
        ],
        bookings: vec![
            booking("ATWC0001", "Avatar", "ATWM251126", 4),
            booking("ATWC0001", "Avatar", "ATWA251126", 1),
            booking("OUTC0002", "Titanic", "VERE011125", 3),
            booking("OUTC0002", "Avatar", "OUTM251126", 1),
            booking("VERC0001", "Titanic", "ATWM251126", 2),
        ],
    }
}

#[test]
fn imported_state_is_exported_unchanged_and_used() {
    let s = Script::new();
    for (name, h) in &s.fleet.replicas {
        assert_eq!(h.import_state(sample_state()), Ok(Ok(())), "{name}");
    }
    assert_eq!(s.fleet.agreed_state(), sample_state());
    let mut s = s;
    s.expect(
        book("ATWC0002", "ATWC0002", "Avatar", "ATWM251126", 1),
        err(E::ShowFull(0)),
    )
    .expect(
        book("ATWC0002", "ATWC0002", "Titanic", "ATWM251126", 2),
        booked(2, 0),
    )
    .expect(
        schedule("OUTC0002", "OUTC0002"),
        sched(&[("Titanic", "VERE011125", 3), ("Avatar", "OUTM251126", 1)]),
    );
    s.done();
}

#[test]
fn malformed_states_are_refused_and_change_nothing() {
    use StateFault as F;
    use StateSection::{Bookings, Shows};
    let cases: Vec<(&str, CanonicalState, StateError)> = vec![
        // Each case has exactly one fault, so every implementation must find the same one.
        case(
            "bad show ID",
            |s| s.shows[5].show_id = "OUTE311126".into(),
            Shows,
            5,
            F::MalformedId,
        ),
        case(
            "bad movie",
            |s| s.shows[5].movie = "avengers".into(),
            Shows,
            5,
            F::UnknownMovie,
        ),
        case(
            "capacity 0",
            |s| s.shows[5].capacity = 0,
            Shows,
            5,
            F::CapacityOutOfRange,
        ),
        case(
            "capacity 10001",
            |s| s.shows[3].capacity = 10_001,
            Shows,
            3,
            F::CapacityOutOfRange,
        ),
        case(
            "shows out of order",
            |s| s.shows.swap(3, 4),
            Shows,
            4,
            F::OutOfOrder,
        ),
        case(
            "duplicate show",
            |s| s.shows.insert(2, show("Avatar", "ATWM251126", 4)),
            Shows,
            2,
            F::Duplicate,
        ),
        case(
            "bad customer",
            |s| s.bookings[0].customer = "ATWC001".into(),
            Bookings,
            0,
            F::MalformedId,
        ),
        case(
            "admin customer",
            |s| s.bookings[2].customer = "OUTA0002".into(),
            Bookings,
            2,
            F::MalformedId,
        ),
        case(
            "zero tickets",
            |s| s.bookings[3].tickets = 0,
            Bookings,
            3,
            F::ZeroTickets,
        ),
        case(
            "bookings out of order",
            |s| s.bookings.swap(0, 1),
            Bookings,
            1,
            F::OutOfOrder,
        ),
        case(
            "bookings by customer",
            |s| s.bookings.swap(1, 2),
            Bookings,
            2,
            F::OutOfOrder,
        ),
        case(
            "duplicate booking",
            |s| {
                s.bookings
                    .insert(4, booking("OUTC0002", "Avatar", "OUTM251126", 1))
            },
            Bookings,
            4,
            F::Duplicate,
        ),
        case(
            "unknown show",
            |s| s.bookings[4].movie = "Avengers".into(),
            Bookings,
            4,
            F::UnknownShow,
        ),
        case(
            "over capacity",
            |s| s.bookings[1].tickets = 2 + 1,
            Shows,
            4,
            F::OverCapacity,
        ),
        // Tickets summed in 32 bits would wrap to 0 here and let the state in.
        case(
            "over capacity by overflow",
            |s| {
                s.bookings[0].tickets = u32::MAX;
                s.bookings
                    .insert(3, booking("OUTC0002", "Avatar", "ATWM251126", 1));
            },
            Shows,
            1,
            F::OverCapacity,
        ),
    ];
    let s = Script::new();
    let before = sample_state();
    let mut failures = Vec::new();
    for (name, h) in &s.fleet.replicas {
        assert_eq!(h.import_state(before.clone()), Ok(Ok(())));
        for (what, state, expected) in &cases {
            let got = h.import_state(state.clone());
            if got != Ok(Err(*expected)) {
                failures.push(format!(
                    "{name}, {what}: expected {expected:?}, got {got:?}"
                ));
            }
            let after = h.export_state().expect("export");
            if after != before {
                failures.push(format!(
                    "{name}, {what}: the refused import changed the state"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn case(
    what: &'static str,
    change: impl FnOnce(&mut CanonicalState),
    section: StateSection,
    index: u32,
    fault: StateFault,
) -> (&'static str, CanonicalState, StateError) {
    let mut state = sample_state();
    change(&mut state);
    (
        what,
        state,
        StateError {
            section,
            index,
            fault,
        },
    )
}
