//! Native unit tests: the examples of §8 of the shared spec, every operation and error code
//! with the precedence between errors, remove-show's moves, and import refusals.
//! Outcomes are compared through `Debug`, the only comparison the generated types offer.

use super::*;
use BookingError as E;
use alloc::string::String;
use alloc::{format, vec};
use dmtbs_guest::Context;

// ---- request builders ----

fn s(x: &str) -> String {
    String::from(x)
}

fn add(actor: &str, movie: &str, show_id: &str, capacity: u32) -> Operation {
    Operation::AddShow(AddShow {
        actor: s(actor),
        movie: s(movie),
        show_id: s(show_id),
        capacity,
    })
}

fn rm(actor: &str, movie: &str, show_id: &str) -> Operation {
    Operation::RemoveShow(RemoveShow {
        actor: s(actor),
        movie: s(movie),
        show_id: s(show_id),
    })
}

fn avail(actor: &str, movie: &str) -> Operation {
    Operation::Availability(Availability {
        actor: s(actor),
        movie: s(movie),
    })
}

fn book(actor: &str, customer: &str, movie: &str, show_id: &str, tickets: u32) -> Operation {
    Operation::Book(Book {
        actor: s(actor),
        customer: s(customer),
        movie: s(movie),
        show_id: s(show_id),
        tickets,
    })
}

fn sched(actor: &str, customer: &str) -> Operation {
    Operation::Schedule(Schedule {
        actor: s(actor),
        customer: s(customer),
    })
}

fn cancel(actor: &str, customer: &str, movie: &str, show_id: &str, tickets: u32) -> Operation {
    Operation::Cancel(Cancel {
        actor: s(actor),
        customer: s(customer),
        movie: s(movie),
        show_id: s(show_id),
        tickets,
    })
}

#[allow(clippy::too_many_arguments)]
fn exch(
    actor: &str,
    customer: &str,
    old_movie: &str,
    old_show: &str,
    new_movie: &str,
    new_show: &str,
    tickets: u32,
) -> Operation {
    Operation::Exchange(Exchange {
        actor: s(actor),
        customer: s(customer),
        old_movie: s(old_movie),
        old_show_id: s(old_show),
        new_movie: s(new_movie),
        new_show_id: s(new_show),
        tickets,
    })
}

// ---- expected values ----

fn booked(held: u32, remaining: u32) -> Outcome {
    Ok(Success::Booked(Booked { held, remaining }))
}

fn exchanged(old_held: u32, new_held: u32) -> Outcome {
    Ok(Success::Exchanged(Exchanged { old_held, new_held }))
}

fn availability(list: &[(&str, u32)]) -> Outcome {
    Ok(Success::Availability(
        list.iter()
            .map(|&(id, remaining)| ShowRemaining {
                show_id: s(id),
                remaining,
            })
            .collect(),
    ))
}

fn schedule(list: &[(&str, &str, u32)]) -> Outcome {
    Ok(Success::Schedule(
        list.iter()
            .map(|&(movie, id, tickets)| ScheduledBooking {
                movie: s(movie),
                show_id: s(id),
                tickets,
            })
            .collect(),
    ))
}

fn removed(moved: &[(&str, &str, u32)], dropped: &[(&str, u32)]) -> Outcome {
    Ok(Success::ShowRemoved(ShowRemoved {
        moved: moved
            .iter()
            .map(|&(c, to, tickets)| MovedBooking {
                customer: s(c),
                to_show_id: s(to),
                tickets,
            })
            .collect(),
        dropped: dropped
            .iter()
            .map(|&(c, tickets)| DroppedBooking {
                customer: s(c),
                tickets,
            })
            .collect(),
    }))
}

/// A replica with a settable `today` (starts at the spec's 2026-11-24, a Tuesday).
struct Fx {
    r: SortedReplica,
    today: Date,
    seq: u64,
}

impl Fx {
    fn new() -> Self {
        Fx {
            r: SortedReplica::default(),
            today: Date {
                year: 2026,
                month: 11,
                day: 24,
            },
            seq: 0,
        }
    }

    fn on(&mut self, year: u16, month: u8, day: u8) -> &mut Self {
        self.today = Date { year, month, day };
        self
    }

    fn run(&mut self, op: Operation) -> Outcome {
        self.seq += 1;
        let context = Context {
            seq: self.seq,
            today: self.today,
        };
        self.r.apply(Request {
            context,
            operation: op,
        })
    }

    #[track_caller]
    fn ok(&mut self, op: Operation, want: Outcome) -> &mut Self {
        let got = self.run(op);
        assert_eq!(format!("{got:?}"), format!("{want:?}"));
        self
    }

    #[track_caller]
    fn err(&mut self, op: Operation, want: BookingError) -> &mut Self {
        self.ok(op, Err(want))
    }

    fn state(&self) -> String {
        format!("{:?}", self.r.export_state())
    }
}

/// Shows used by most tests (today 2026-11-24).
fn fixture() -> Fx {
    let mut f = Fx::new();
    f.ok(
        add("ATWA1000", "Avatar", "ATWM251126", 10),
        Ok(Success::ShowAdded),
    )
    .ok(
        add("OUTA1000", "Avatar", "OUTM251126", 10),
        Ok(Success::ShowAdded),
    )
    .ok(
        add("VERA1000", "Titanic", "VERE261126", 3),
        Ok(Success::ShowAdded),
    );
    f
}

// ---- §8 of the shared spec ----

#[test]
fn spec_examples() {
    let mut f = Fx::new();
    f.ok(
        add("ATWA1000", "Avatar", "ATWM251126", 10),
        Ok(Success::ShowAdded),
    )
    .ok(
        add("ATWA1000", "Avatar", "ATWM251126", 4),
        Ok(Success::ShowUpdated(10)),
    )
    .err(add("VERA1000", "Avatar", "ATWE251126", 5), E::NotAuthorized)
    .err(
        add("ATWA1000", "Titanic", "ATWA031226", 5),
        E::OutsideWindow,
    )
    .ok(
        book("ATWC0001", "ATWC0001", "Avatar", "ATWM251126", 2),
        booked(2, 2),
    )
    .err(
        book("ATWC0001", "ATWC0001", "Avatar", "ATWM251126", 3),
        E::ShowFull(2),
    )
    .ok(
        add("OUTA1000", "Avatar", "OUTM251126", 5),
        Ok(Success::ShowAdded),
    )
    .err(
        book("ATWC0001", "ATWC0001", "Avatar", "OUTM251126", 1),
        E::SameShowOtherArea,
    );
    for id in ["VERM241126", "VERA261126"] {
        f.ok(add("VERA1000", "Avatar", id, 5), Ok(Success::ShowAdded));
    }
    for id in ["OUTE291126", "OUTM271126", "OUTM301126"] {
        f.ok(add("OUTA1000", "Avatar", id, 5), Ok(Success::ShowAdded));
    }
    for id in ["VERM241126", "VERA261126", "OUTE291126"] {
        f.ok(book("ATWC0001", "ATWC0001", "Avatar", id, 1), booked(1, 4));
    }
    f.err(
        book("ATWC0001", "ATWC0001", "Avatar", "OUTM271126", 1),
        E::WeeklyLimit,
    )
    .ok(
        book("ATWC0001", "ATWC0001", "Avatar", "OUTM301126", 1),
        booked(1, 4),
    )
    .err(
        cancel("ATWC0001", "ATWC0001", "Avatar", "ATWM251126", 5),
        E::TooManyTickets(2),
    );
}

// ---- the V step ----

#[test]
fn validation_table() {
    let cases: &[(Operation, BookingError)] = &[
        (add("atwa1000", "Avatar", "ATWM251126", 5), E::InvalidUserId),
        (add("ATWA100", "Avatar", "ATWM251126", 5), E::InvalidUserId),
        (
            add("ATWA10000", "Avatar", "ATWM251126", 5),
            E::InvalidUserId,
        ),
        (add("ATWX1000", "Avatar", "ATWM251126", 5), E::InvalidUserId),
        (add("MTLA1000", "Avatar", "ATWM251126", 5), E::InvalidUserId),
        (add("ATWA10a0", "Avatar", "ATWM251126", 5), E::InvalidUserId),
        (add("ATWA 100", "Avatar", "ATWM251126", 5), E::InvalidUserId),
        (add("ATWA1000", "avatar", "ATWM251126", 5), E::UnknownMovie),
        (add("ATWA1000", "Avatar ", "ATWM251126", 5), E::UnknownMovie),
        (add("ATWA1000", "Avatar", "atwm251126", 5), E::InvalidShowId),
        (add("ATWA1000", "Avatar", "ATWX251126", 5), E::InvalidShowId),
        (add("ATWA1000", "Avatar", "MTLM251126", 5), E::InvalidShowId),
        (
            add("ATWA1000", "Avatar", "ATWM2511260", 5),
            E::InvalidShowId,
        ),
        (add("ATWA1000", "Avatar", "ATWM25112", 5), E::InvalidShowId),
        (add("ATWA1000", "Avatar", "ATWM311126", 5), E::InvalidShowId),
        (add("ATWA1000", "Avatar", "ATWM001126", 5), E::InvalidShowId),
        (add("ATWA1000", "Avatar", "ATWM251326", 5), E::InvalidShowId),
        (add("ATWA1000", "Avatar", "ATWM250026", 5), E::InvalidShowId),
        (add("ATWA1000", "Avatar", "ATWM290226", 5), E::InvalidShowId),
        (add("ATWA1000", "Avatar", "ATWM2511+6", 5), E::InvalidShowId),
        (
            add("ATWA1000", "Avatar", "ATWM251126", 0),
            E::InvalidCapacity,
        ),
        (
            add("ATWA1000", "Avatar", "ATWM251126", 10_001),
            E::InvalidCapacity,
        ),
        // Field order decides between several malformed fields.
        (add("bad", "bad", "bad", 0), E::InvalidUserId),
        (add("ATWA1000", "bad", "bad", 0), E::UnknownMovie),
        (add("ATWA1000", "Avatar", "bad", 0), E::InvalidShowId),
        // V precedes authorisation.
        (
            add("ATWC1000", "Avatar", "VERM251126", 0),
            E::InvalidCapacity,
        ),
        (rm("ATWA1000", "Titanic", "ATWM251126 "), E::InvalidShowId),
        (rm("ATWA100", "Nope", "x"), E::InvalidUserId),
        (avail("VERC999", "Titanic"), E::InvalidUserId),
        (avail("VERC9999", "titanic"), E::UnknownMovie),
        (book("ATWC0001", "ATWC001", "x", "x", 0), E::InvalidUserId),
        (book("ATWC0001", "ATWC0001", "x", "x", 0), E::UnknownMovie),
        (
            book("ATWC0001", "ATWC0001", "Avatar", "x", 0),
            E::InvalidShowId,
        ),
        (
            book("ATWC0001", "ATWC0001", "Avatar", "ATWM251126", 0),
            E::InvalidTickets,
        ),
        (
            book("ATWC0001", "ATWC0001", "Avatar", "ATWM251126", 10_001),
            E::InvalidTickets,
        ),
        (
            book("ATWC0002", "ATWC0001", "Avatar", "ATWM251126", 0),
            E::InvalidTickets,
        ),
        (sched("ATWC0001", "atwc0001"), E::InvalidUserId),
        (
            cancel("ATWC0001", "ATWC0001", "Avatar", "ATWM251126", 0),
            E::InvalidTickets,
        ),
        (
            cancel("ATWC0001", "ATWC0001", "Avatar", "ATWM320126", 1),
            E::InvalidShowId,
        ),
        (
            exch("ATWC0001", "ATWC0001", "Avatar", "bad", "bad", "bad", 0),
            E::InvalidShowId,
        ),
        (
            exch(
                "ATWC0001",
                "ATWC0001",
                "Avatar",
                "ATWM251126",
                "bad",
                "bad",
                0,
            ),
            E::UnknownMovie,
        ),
        (
            exch(
                "ATWC0001",
                "ATWC0001",
                "Avatar",
                "ATWM251126",
                "Avatar",
                "bad",
                0,
            ),
            E::InvalidShowId,
        ),
        (
            exch(
                "ATWC0001",
                "ATWC0001",
                "Avatar",
                "ATWM251126",
                "Avatar",
                "ATWM251126",
                0,
            ),
            E::InvalidTickets,
        ),
    ];
    for (op, want) in cases {
        let mut f = fixture();
        let before = f.state();
        f.err(op.clone(), *want);
        assert_eq!(f.state(), before);
    }
}

#[test]
fn leap_years_and_calendar() {
    use codec::*;
    assert!(parse_show_id("ATWM290200").is_some()); // 2000 is leap
    assert!(parse_show_id("ATWM290228").is_some());
    assert!(parse_show_id("ATWM290296").is_some());
    assert!(parse_show_id("ATWM290227").is_none());
    assert!(parse_show_id("ATWM310426").is_none());
    assert_eq!(days_from_civil(2000, 1, 1), 0);
    assert_eq!(days_from_civil(1999, 12, 31), -1);
    for days in [-800_000, -1, 0, 59, 60, 366, 9_000, 36_524, 900_000] {
        let (y, m, d) = civil_from_days(days);
        assert_eq!(days_from_civil(y, m, d), days);
    }
    // 2026-11-24 is a Tuesday; its week starts on Monday 23.
    let t = days_from_civil(2026, 11, 24);
    assert_eq!(monday_of(t), days_from_civil(2026, 11, 23));
    assert_eq!(monday_of(days_from_civil(2026, 11, 29)), t - 1);
    assert_eq!(monday_of(days_from_civil(2026, 11, 30)), t + 6);
    assert_eq!(
        monday_of(days_from_civil(2027, 1, 3)),
        days_from_civil(2026, 12, 28)
    );
    for id in ["ATWM010100", "VERE311299", "OUTA290228", "ATWM251126"] {
        assert_eq!(format_show_id(parse_show_id(id).unwrap()), id);
    }
    assert_eq!(
        format_customer(parse_user("VERC0042").unwrap().code()),
        "VERC0042"
    );
}

// ---- authorisation ----

#[test]
fn authorisation() {
    let mut f = fixture();
    f.err(add("ATWC1000", "Avatar", "ATWM251126", 5), E::NotAuthorized)
        .err(add("OUTA1000", "Avatar", "ATWM251126", 5), E::NotAuthorized)
        // not-authorized precedes outside-window and show-not-found.
        .err(add("OUTA1000", "Avatar", "ATWM011226", 5), E::NotAuthorized)
        .err(add("OUTA1000", "Avatar", "ATWM011227", 5), E::NotAuthorized)
        .err(rm("ATWC1000", "Avatar", "ATWM251126"), E::NotAuthorized)
        .err(rm("OUTA1000", "Titanic", "ATWM251126"), E::NotAuthorized)
        .err(
            book("ATWC0002", "ATWC0001", "Avatar", "ATWM251126", 1),
            E::NotAuthorized,
        )
        .err(
            book("ATWC0002", "ATWC0001", "Nope", "x", 0),
            E::UnknownMovie,
        )
        .err(
            book("ATWC0002", "ATWC0001", "Titanic", "ATWM011227", 1),
            E::NotAuthorized,
        )
        .err(
            book("ATWA1000", "ATWA1000", "Avatar", "ATWM251126", 1),
            E::NotAuthorized,
        )
        .err(
            book("VERA1000", "ATWA0001", "Avatar", "ATWM251126", 1),
            E::NotAuthorized,
        )
        .err(sched("VERC0001", "ATWC0001"), E::NotAuthorized)
        .err(sched("VERA0001", "VERA0001"), E::NotAuthorized)
        .err(
            cancel("VERC0001", "ATWC0001", "Avatar", "ATWM251126", 1),
            E::NotAuthorized,
        )
        .err(
            exch(
                "VERC0001",
                "ATWC0001",
                "Avatar",
                "ATWM251126",
                "Avatar",
                "ATWM251126",
                1,
            ),
            E::NotAuthorized,
        )
        // An admin of any area acts for any customer; availability is open to all.
        .ok(
            book("VERA1000", "ATWC0001", "Avatar", "ATWM251126", 1),
            booked(1, 9),
        )
        .ok(
            sched("OUTA0001", "ATWC0001"),
            schedule(&[("Avatar", "ATWM251126", 1)]),
        )
        .ok(
            sched("ATWC0001", "ATWC0001"),
            schedule(&[("Avatar", "ATWM251126", 1)]),
        )
        .ok(sched("OUTC0009", "OUTC0009"), schedule(&[]))
        .ok(
            avail("OUTC0009", "Titanic"),
            availability(&[("VERE261126", 3)]),
        )
        .ok(
            cancel("OUTA1000", "ATWC0001", "Avatar", "ATWM251126", 1),
            Ok(Success::Cancelled(0)),
        );
}

// ---- add-show ----

#[test]
fn add_show_window_and_updates() {
    let mut f = Fx::new();
    f.ok(
        add("ATWA1000", "Avatar", "ATWM241126", 5),
        Ok(Success::ShowAdded),
    )
    .ok(
        add("ATWA1000", "Avatar", "ATWE011226", 5),
        Ok(Success::ShowAdded),
    )
    .err(add("ATWA1000", "Avatar", "ATWM021226", 5), E::OutsideWindow)
    .err(add("ATWA1000", "Avatar", "ATWE231126", 5), E::OutsideWindow)
    // Same show ID, another movie: another show.
    .ok(
        add("ATWA1000", "Titanic", "ATWM241126", 7),
        Ok(Success::ShowAdded),
    )
    .ok(
        book("ATWC0001", "ATWC0001", "Avatar", "ATWM241126", 4),
        booked(4, 1),
    )
    .err(
        add("ATWA1000", "Avatar", "ATWM241126", 3),
        E::CapacityBelowBooked,
    )
    .ok(
        add("ATWA1000", "Avatar", "ATWM241126", 4),
        Ok(Success::ShowUpdated(5)),
    )
    .ok(
        add("ATWA1000", "Avatar", "ATWM241126", 4),
        Ok(Success::ShowUpdated(4)),
    )
    .ok(
        avail("ATWC0001", "Avatar"),
        availability(&[("ATWM241126", 0), ("ATWE011226", 5)]),
    );
    // An existing show that left the window (either way) can no longer be changed; the window
    // check precedes capacity-below-booked.
    f.on(2026, 11, 25)
        .err(add("ATWA1000", "Avatar", "ATWM241126", 3), E::OutsideWindow);
    f.on(2026, 11, 23)
        .err(add("ATWA1000", "Avatar", "ATWE011226", 9), E::OutsideWindow);
    // The window crosses months and years.
    f.on(2026, 12, 28)
        .ok(
            add("ATWA1000", "Avatar", "ATWM040127", 5),
            Ok(Success::ShowAdded),
        )
        .err(add("ATWA1000", "Avatar", "ATWM050127", 5), E::OutsideWindow);
    f.on(2028, 2, 22)
        .ok(
            add("ATWA1000", "Avatar", "ATWM290228", 5),
            Ok(Success::ShowAdded),
        )
        .err(add("ATWA1000", "Avatar", "ATWM010328", 5), E::OutsideWindow);
}

// ---- book ----

#[test]
fn book_checks_and_precedence() {
    let mut f = fixture();
    // A past show: added earlier, booked, then time moves on.
    f.on(2026, 11, 20)
        .ok(
            add("ATWA1000", "Avatar", "ATWE211126", 5),
            Ok(Success::ShowAdded),
        )
        .ok(
            book("ATWC0001", "ATWC0001", "Avatar", "ATWE211126", 2),
            booked(2, 3),
        );
    f.on(2026, 11, 24)
        .ok(
            add("ATWA1000", "Titanic", "ATWE241126", 2),
            Ok(Success::ShowAdded),
        )
        .err(
            book("ATWC0001", "ATWC0001", "Avatar", "ATWA251126", 1),
            E::ShowNotFound,
        )
        .err(
            book("ATWC0001", "ATWC0001", "Titanic", "ATWM251126", 1),
            E::ShowNotFound,
        )
        .err(
            book("ATWC0001", "ATWC0001", "Avatar", "ATWE211126", 1),
            E::PastShow,
        )
        // Today's show is not past, whatever its slot.
        .ok(
            book("ATWC0001", "ATWC0001", "Titanic", "ATWE241126", 2),
            booked(2, 0),
        )
        .err(
            book("ATWC0002", "ATWC0002", "Titanic", "ATWE241126", 1),
            E::ShowFull(0),
        )
        .ok(
            book("ATWC0001", "ATWC0001", "Avatar", "ATWM251126", 3),
            booked(3, 7),
        )
        .ok(
            book("ATWC0001", "ATWC0001", "Avatar", "ATWM251126", 7),
            booked(10, 0),
        )
        .err(
            book("OUTC0001", "OUTC0001", "Avatar", "OUTM251126", 11),
            E::ShowFull(10),
        )
        // Same movie, same slot, other area.
        .err(
            book("ATWC0001", "ATWC0001", "Avatar", "OUTM251126", 1),
            E::SameShowOtherArea,
        )
        .err(
            book("VERA0001", "ATWC0001", "Avatar", "OUTM251126", 11),
            E::SameShowOtherArea,
        )
        .ok(
            book("ATWC0002", "ATWC0002", "Avatar", "OUTM251126", 1),
            booked(1, 9),
        );
    // Another movie or another slot is no conflict.
    f.ok(
        add("OUTA1000", "Titanic", "OUTM251126", 5),
        Ok(Success::ShowAdded),
    )
    .ok(
        add("OUTA1000", "Avatar", "OUTA251126", 5),
        Ok(Success::ShowAdded),
    )
    .ok(
        book("ATWC0001", "ATWC0001", "Titanic", "OUTM251126", 1),
        booked(1, 4),
    )
    .ok(
        book("ATWC0001", "ATWC0001", "Avatar", "OUTA251126", 1),
        booked(1, 4),
    );
}

#[test]
fn weekly_limit() {
    let mut f = Fx::new();
    f.on(2026, 11, 23);
    for id in [
        "VERM231126",
        "VERA241126",
        "VERE261126",
        "VERM271126",
        "VERM301126",
    ] {
        f.ok(add("VERA1000", "Avatar", id, 5), Ok(Success::ShowAdded))
            .ok(add("VERA1000", "Titanic", id, 5), Ok(Success::ShowAdded));
    }
    f.ok(
        add("ATWA1000", "Avatar", "ATWM241126", 5),
        Ok(Success::ShowAdded),
    )
    .ok(
        book("ATWC0001", "ATWC0001", "Avatar", "VERM231126", 1),
        booked(1, 4),
    )
    .ok(
        book("ATWC0001", "ATWC0001", "Avatar", "ATWM241126", 1),
        booked(1, 4),
    );
    // The Monday booking is past now, and still counts; home-area bookings do not.
    f.on(2026, 11, 24)
        .ok(
            book("OUTA0001", "ATWC0001", "Avatar", "VERA241126", 1),
            booked(1, 4),
        )
        .ok(
            book("ATWC0001", "ATWC0001", "Avatar", "VERE261126", 1),
            booked(1, 4),
        )
        .err(
            book("ATWC0001", "ATWC0001", "Titanic", "VERM271126", 1),
            E::WeeklyLimit,
        )
        // Weekly limit precedes show-full; same-show-other-area precedes both.
        .err(
            book("ATWC0001", "ATWC0001", "Titanic", "VERM271126", 99),
            E::WeeklyLimit,
        )
        // More tickets for a show already held are not a new movie.
        .ok(
            book("ATWC0001", "ATWC0001", "Avatar", "VERE261126", 2),
            booked(3, 2),
        )
        // Next week is a new count.
        .ok(
            book("ATWC0001", "ATWC0001", "Titanic", "VERM301126", 1),
            booked(1, 4),
        )
        // The home area is the customer's, not the acting admin's; a VER customer is free.
        .err(
            book("VERA1000", "ATWC0001", "Titanic", "VERM271126", 1),
            E::WeeklyLimit,
        )
        .ok(
            book("ATWC0009", "ATWC0009", "Titanic", "VERM271126", 1),
            booked(1, 4),
        )
        .ok(
            book("VERC0001", "VERC0001", "Avatar", "VERM271126", 1),
            booked(1, 4),
        );
    // Two movies on the same show ID count twice.
    f.ok(
        book("OUTC0001", "OUTC0001", "Avatar", "VERA241126", 1),
        booked(1, 3),
    )
    .ok(
        book("OUTC0001", "OUTC0001", "Titanic", "VERA241126", 1),
        booked(1, 4),
    )
    .ok(
        book("OUTC0001", "OUTC0001", "Titanic", "VERE261126", 1),
        booked(1, 4),
    )
    .err(
        book("OUTC0001", "OUTC0001", "Avatar", "VERM271126", 1),
        E::WeeklyLimit,
    );
    // Same-show-other-area is checked before the weekly limit.
    f.ok(
        add("ATWA1000", "Titanic", "ATWM271126", 5),
        Ok(Success::ShowAdded),
    )
    .ok(
        book("ATWC0001", "ATWC0001", "Titanic", "ATWM271126", 1),
        booked(1, 4),
    )
    .err(
        book("ATWC0001", "ATWC0001", "Titanic", "VERM271126", 99),
        E::SameShowOtherArea,
    );
}

#[test]
fn weekly_limit_across_new_year() {
    let mut f = Fx::new();
    f.on(2026, 12, 28);
    for id in [
        "OUTM281226",
        "OUTM311226",
        "OUTM010127",
        "OUTE030127",
        "OUTM040127",
    ] {
        f.ok(add("OUTA1000", "Avatars", id, 5), Err(E::UnknownMovie))
            .ok(add("OUTA1000", "Avengers", id, 5), Ok(Success::ShowAdded));
    }
    for id in ["OUTM281226", "OUTM311226", "OUTM010127"] {
        f.ok(
            book("ATWC0001", "ATWC0001", "Avengers", id, 1),
            booked(1, 4),
        );
    }
    f.err(
        book("ATWC0001", "ATWC0001", "Avengers", "OUTE030127", 1),
        E::WeeklyLimit,
    )
    .ok(
        book("ATWC0001", "ATWC0001", "Avengers", "OUTM040127", 1),
        booked(1, 4),
    )
    .ok(
        sched("ATWC0001", "ATWC0001"),
        schedule(&[
            ("Avengers", "OUTM281226", 1),
            ("Avengers", "OUTM311226", 1),
            ("Avengers", "OUTM010127", 1),
            ("Avengers", "OUTM040127", 1),
        ]),
    );
}

// ---- availability and schedule ----

#[test]
fn availability_and_schedule_order() {
    let mut f = Fx::new();
    f.on(2026, 11, 20)
        .ok(
            add("VERA1000", "Avatar", "VERM211126", 5),
            Ok(Success::ShowAdded),
        )
        .ok(
            book("VERC0001", "VERC0001", "Avatar", "VERM211126", 1),
            booked(1, 4),
        );
    f.on(2026, 11, 24);
    for (admin, id) in [
        ("VERA1000", "VERM251126"),
        ("OUTA1000", "OUTM251126"),
        ("ATWA1000", "ATWE241126"),
        ("ATWA1000", "ATWM251126"),
        ("ATWA1000", "ATWA251126"),
    ] {
        f.ok(add(admin, "Titanic", id, 4), Ok(Success::ShowAdded))
            .ok(add(admin, "Avatar", id, 4), Ok(Success::ShowAdded));
    }
    f.ok(
        add("ATWA1000", "Avengers", "ATWM251126", 4),
        Ok(Success::ShowAdded),
    )
    .ok(
        book("VERC0001", "VERC0001", "Titanic", "ATWA251126", 4),
        booked(4, 0),
    )
    .ok(
        book("VERC0001", "VERC0001", "Avengers", "ATWM251126", 2),
        booked(2, 2),
    )
    .ok(
        book("VERC0001", "VERC0001", "Titanic", "ATWM251126", 1),
        booked(1, 3),
    )
    .ok(
        book("ATWC0001", "ATWC0001", "Avatar", "ATWE241126", 1),
        booked(1, 3),
    )
    .ok(
        avail("ATWC0001", "Titanic"),
        availability(&[
            ("ATWE241126", 4),
            ("ATWM251126", 3),
            ("OUTM251126", 4),
            ("VERM251126", 4),
            ("ATWA251126", 0),
        ]),
    )
    .ok(
        avail("VERA0001", "Avatar"),
        availability(&[
            ("ATWE241126", 3),
            ("ATWM251126", 4),
            ("OUTM251126", 4),
            ("VERM251126", 4),
            ("ATWA251126", 4),
        ]),
    )
    .ok(
        sched("VERC0001", "VERC0001"),
        schedule(&[
            ("Avatar", "VERM211126", 1),
            ("Avengers", "ATWM251126", 2),
            ("Titanic", "ATWM251126", 1),
            ("Titanic", "ATWA251126", 4),
        ]),
    );
    // Nothing shows once every date is past.
    f.on(2026, 12, 24)
        .ok(avail("VERA0001", "Avatar"), availability(&[]));
}

// ---- cancel ----

#[test]
fn cancel_checks() {
    let mut f = fixture();
    f.on(2026, 11, 20)
        .ok(
            add("ATWA1000", "Avatar", "ATWE211126", 5),
            Ok(Success::ShowAdded),
        )
        .ok(
            book("ATWC0001", "ATWC0001", "Avatar", "ATWE211126", 2),
            booked(2, 3),
        );
    f.on(2026, 11, 24)
        .ok(
            book("ATWC0001", "ATWC0001", "Avatar", "ATWM251126", 4),
            booked(4, 6),
        )
        .err(
            cancel("ATWC0001", "ATWC0001", "Avatar", "ATWM011226", 1),
            E::NotBooked,
        )
        .err(
            cancel("ATWC0001", "ATWC0001", "Titanic", "ATWM251126", 1),
            E::NotBooked,
        )
        .err(
            cancel("ATWC0002", "ATWC0002", "Avatar", "ATWM251126", 1),
            E::NotBooked,
        )
        // not-booked precedes past-show; past-show precedes too-many-tickets.
        .err(
            cancel("ATWC0002", "ATWC0002", "Avatar", "ATWE211126", 1),
            E::NotBooked,
        )
        .err(
            cancel("ATWC0001", "ATWC0001", "Avatar", "ATWE211126", 9),
            E::PastShow,
        )
        .err(
            cancel("ATWC0001", "ATWC0001", "Avatar", "ATWM251126", 5),
            E::TooManyTickets(4),
        )
        .ok(
            cancel("ATWC0001", "ATWC0001", "Avatar", "ATWM251126", 1),
            Ok(Success::Cancelled(3)),
        )
        .ok(
            avail("ATWC0001", "Avatar"),
            availability(&[("ATWM251126", 7), ("OUTM251126", 10)]),
        )
        .ok(
            cancel("ATWC0001", "ATWC0001", "Avatar", "ATWM251126", 3),
            Ok(Success::Cancelled(0)),
        )
        .err(
            cancel("ATWC0001", "ATWC0001", "Avatar", "ATWM251126", 1),
            E::NotBooked,
        )
        .ok(
            sched("ATWC0001", "ATWC0001"),
            schedule(&[("Avatar", "ATWE211126", 2)]),
        )
        .ok(
            avail("ATWC0001", "Avatar"),
            availability(&[("ATWM251126", 10), ("OUTM251126", 10)]),
        );
}

// ---- exchange ----

#[test]
fn exchange_checks_and_precedence() {
    let mut f = fixture();
    f.on(2026, 11, 20)
        .ok(
            add("ATWA1000", "Avatar", "ATWE211126", 5),
            Ok(Success::ShowAdded),
        )
        .ok(
            book("ATWC0001", "ATWC0001", "Avatar", "ATWE211126", 2),
            booked(2, 3),
        );
    f.on(2026, 11, 24)
        .ok(
            add("ATWA1000", "Titanic", "ATWM251126", 2),
            Ok(Success::ShowAdded),
        )
        .ok(
            book("ATWC0001", "ATWC0001", "Avatar", "ATWM251126", 3),
            booked(3, 7),
        );
    let before = f.state();
    let x = |om, os, nm, ns, t| exch("ATWC0001", "ATWC0001", om, os, nm, ns, t);
    f.err(
        x("Avatar", "ATWM251126", "Avatar", "ATWM251126", 1),
        E::SameShow,
    )
    // same-show precedes not-booked.
    .err(
        x("Titanic", "ATWM011226", "Titanic", "ATWM011226", 1),
        E::SameShow,
    )
    .err(
        x("Titanic", "ATWM011226", "Avatar", "ATWM251126", 1),
        E::NotBooked,
    )
    .err(
        x("Avatar", "ATWE211126", "Avatar", "ATWM251126", 9),
        E::PastShow,
    )
    .err(
        x("Avatar", "ATWM251126", "Avatar", "ATWE211126", 9),
        E::TooManyTickets(3),
    )
    .err(
        x("Avatar", "ATWM251126", "Titanic", "ATWM011226", 1),
        E::ShowNotFound,
    )
    .err(
        x("Avatar", "ATWM251126", "Avatar", "ATWE211126", 1),
        E::PastShow,
    )
    .err(
        x("Avatar", "ATWM251126", "Titanic", "ATWM251126", 3),
        E::ShowFull(2),
    );
    assert_eq!(f.state(), before, "refused exchanges change nothing");
    // Same show ID with another movie is another show; the new booking grows if present.
    f.ok(
        x("Avatar", "ATWM251126", "Titanic", "ATWM251126", 1),
        exchanged(2, 1),
    )
    .ok(
        x("Avatar", "ATWM251126", "Titanic", "ATWM251126", 1),
        exchanged(1, 2),
    )
    .ok(
        avail("ATWC0001", "Titanic"),
        availability(&[("ATWM251126", 0), ("VERE261126", 3)]),
    )
    .ok(
        avail("ATWC0001", "Avatar"),
        availability(&[("ATWM251126", 9), ("OUTM251126", 10)]),
    )
    .ok(
        sched("ATWC0001", "ATWC0001"),
        schedule(&[
            ("Avatar", "ATWE211126", 2),
            ("Avatar", "ATWM251126", 1),
            ("Titanic", "ATWM251126", 2),
        ]),
    );
}

#[test]
fn exchange_as_if_old_tickets_were_gone() {
    let mut f = fixture();
    f.ok(
        book("ATWC0001", "ATWC0001", "Avatar", "ATWM251126", 2),
        booked(2, 8),
    );
    // A booking left with tickets still conflicts with the same show elsewhere...
    f.err(
        exch(
            "ATWC0001",
            "ATWC0001",
            "Avatar",
            "ATWM251126",
            "Avatar",
            "OUTM251126",
            1,
        ),
        E::SameShowOtherArea,
    )
    // ...an emptied one does not.
    .ok(
        exch(
            "ATWA1000",
            "ATWC0001",
            "Avatar",
            "ATWM251126",
            "Avatar",
            "OUTM251126",
            2,
        ),
        exchanged(0, 2),
    )
    .ok(
        sched("ATWC0001", "ATWC0001"),
        schedule(&[("Avatar", "OUTM251126", 2)]),
    );

    // Weekly limit: three other-area shows held; exchanging all of one frees its place.
    let mut f = Fx::new();
    for id in ["VERM241126", "VERM251126", "VERM261126", "VERM271126"] {
        f.ok(add("VERA1000", "Titanic", id, 9), Ok(Success::ShowAdded));
    }
    for id in ["VERM241126", "VERM251126", "VERM261126"] {
        f.ok(book("OUTC0001", "OUTC0001", "Titanic", id, 2), booked(2, 7));
    }
    f.err(
        exch(
            "OUTC0001",
            "OUTC0001",
            "Titanic",
            "VERM241126",
            "Titanic",
            "VERM271126",
            1,
        ),
        E::WeeklyLimit,
    )
    .ok(
        exch(
            "OUTC0001",
            "OUTC0001",
            "Titanic",
            "VERM241126",
            "Titanic",
            "VERM271126",
            2,
        ),
        exchanged(0, 2),
    )
    .ok(
        // Moving tickets between shows already held needs no weekly check.
        exch(
            "OUTC0001",
            "OUTC0001",
            "Titanic",
            "VERM251126",
            "Titanic",
            "VERM271126",
            1,
        ),
        exchanged(1, 3),
    )
    .ok(
        avail("OUTC0001", "Titanic"),
        availability(&[
            ("VERM241126", 9),
            ("VERM251126", 8),
            ("VERM261126", 7),
            ("VERM271126", 6),
        ]),
    );
}

// ---- remove-show ----

#[test]
fn remove_show_moves_in_customer_order() {
    let mut f = Fx::new();
    for (id, cap) in [
        ("ATWM241126", 100),
        ("ATWM251126", 10),
        ("ATWA251126", 3),
        ("ATWE261126", 5),
    ] {
        f.ok(add("ATWA1000", "Avatar", id, cap), Ok(Success::ShowAdded));
    }
    f.ok(
        add("ATWA1000", "Titanic", "ATWM261126", 100),
        Ok(Success::ShowAdded),
    )
    .ok(
        add("OUTA1000", "Avatar", "OUTM261126", 100),
        Ok(Success::ShowAdded),
    )
    .ok(
        add("OUTA1000", "Avatar", "OUTA251126", 100),
        Ok(Success::ShowAdded),
    )
    .ok(
        book("ATWC0001", "ATWC0001", "Avatar", "OUTA251126", 1),
        booked(1, 99),
    )
    .ok(
        book("ATWC0002", "ATWC0002", "Avatar", "ATWE261126", 1),
        booked(1, 4),
    );
    for (c, t) in [
        ("VERC0001", 4),
        ("ATWC0002", 3),
        ("OUTC0005", 1),
        ("ATWC0001", 2),
    ] {
        f.ok(
            book("ATWA1000", c, "Avatar", "ATWM251126", t),
            Ok(f_booked(t)),
        );
    }
    f.err(rm("ATWA1000", "Avatar", "ATWM011226"), E::ShowNotFound)
        .err(rm("ATWA1000", "Titanic", "ATWM251126"), E::ShowNotFound)
        .ok(
            rm("ATWA1000", "Avatar", "ATWM251126"),
            removed(
                &[
                    // Moves ignore the same-show rule (ATWC0001 holds Avatar OUTA251126).
                    ("ATWC0001", "ATWA251126", 2),
                    // ATWA251126 has 1 left: the next fitting show takes it.
                    ("ATWC0002", "ATWE261126", 3),
                    // Earlier moves of the operation count.
                    ("OUTC0005", "ATWA251126", 1),
                ],
                &[("VERC0001", 4)],
            ),
        )
        .err(rm("ATWA1000", "Avatar", "ATWM251126"), E::ShowNotFound)
        .ok(
            sched("ATWC0001", "ATWC0001"),
            schedule(&[("Avatar", "ATWA251126", 2), ("Avatar", "OUTA251126", 1)]),
        )
        .ok(
            sched("ATWC0002", "ATWC0002"),
            schedule(&[("Avatar", "ATWE261126", 4)]),
        )
        .ok(sched("VERC0001", "VERC0001"), schedule(&[]))
        .ok(
            avail("ATWC0001", "Avatar"),
            availability(&[
                ("ATWM241126", 100),
                ("ATWA251126", 0),
                ("OUTA251126", 99),
                ("OUTM261126", 100),
                ("ATWE261126", 1),
            ]),
        )
        .ok(rm("ATWA1000", "Titanic", "ATWM261126"), removed(&[], &[]));
    let state = f.r.export_state();
    assert_eq!(state.shows.len(), 5);
    assert_eq!(state.bookings.len(), 4);
}

fn f_booked(t: u32) -> Success {
    // The removed show holds 10 seats, booked 4, 3, 1, 2 in this order.
    let remaining = match t {
        4 => 6,
        3 => 3,
        1 => 2,
        _ => 0,
    };
    Success::Booked(Booked { held: t, remaining })
}

#[test]
fn remove_show_past_and_targets_outside_window() {
    let mut f = Fx::new();
    f.on(2026, 11, 20)
        .ok(
            add("VERA1000", "Titanic", "VERE211126", 5),
            Ok(Success::ShowAdded),
        )
        .ok(
            add("VERA1000", "Titanic", "VERE271126", 5),
            Ok(Success::ShowAdded),
        );
    f.on(2026, 11, 26).ok(
        add("VERA1000", "Titanic", "VERM031226", 5),
        Ok(Success::ShowAdded),
    );
    f.on(2026, 11, 24)
        .ok(
            book("VERC0003", "VERC0003", "Titanic", "VERE271126", 5),
            booked(5, 0),
        )
        .err(rm("VERA1000", "Titanic", "VERE211126"), E::PastShow)
        .err(rm("ATWA1000", "Titanic", "VERE211126"), E::NotAuthorized)
        .ok(
            rm("VERA1000", "Titanic", "VERE271126"),
            removed(&[("VERC0003", "VERM031226", 5)], &[]),
        );
}

// ---- canonical state ----

fn sample() -> Fx {
    let mut f = fixture();
    f.ok(
        add("ATWA1000", "Titanic", "ATWM251126", 10),
        Ok(Success::ShowAdded),
    )
    .ok(
        book("VERC0002", "VERC0002", "Avatar", "ATWM251126", 3),
        booked(3, 7),
    )
    .ok(
        book("ATWC0009", "ATWC0009", "Titanic", "VERE261126", 3),
        booked(3, 0),
    )
    .ok(
        book("ATWC0009", "ATWC0009", "Titanic", "ATWM251126", 1),
        booked(1, 9),
    )
    .ok(
        book("ATWC0009", "ATWC0009", "Avatar", "ATWM251126", 1),
        booked(1, 6),
    );
    f
}

#[test]
fn export_is_canonical_and_import_round_trips() {
    let f = sample();
    let st = f.r.export_state();
    let shows: Vec<(String, String, u32)> = st
        .shows
        .iter()
        .map(|e| (e.movie.clone(), e.show_id.clone(), e.capacity))
        .collect();
    assert_eq!(
        shows,
        vec![
            (s("Avatar"), s("ATWM251126"), 10),
            (s("Titanic"), s("ATWM251126"), 10),
            (s("Avatar"), s("OUTM251126"), 10),
            (s("Titanic"), s("VERE261126"), 3),
        ]
    );
    let bookings: Vec<(String, String, String, u32)> = st
        .bookings
        .iter()
        .map(|b| {
            (
                b.customer.clone(),
                b.movie.clone(),
                b.show_id.clone(),
                b.tickets,
            )
        })
        .collect();
    assert_eq!(
        bookings,
        vec![
            (s("ATWC0009"), s("Avatar"), s("ATWM251126"), 1),
            (s("ATWC0009"), s("Titanic"), s("ATWM251126"), 1),
            (s("ATWC0009"), s("Titanic"), s("VERE261126"), 3),
            (s("VERC0002"), s("Avatar"), s("ATWM251126"), 3),
        ]
    );

    let mut g = Fx::new();
    g.r.import_state(st.clone()).unwrap();
    assert_eq!(g.state(), f.state());
    // Totals were rebuilt: the imported replica answers like the original.
    g.ok(
        avail("ATWC0001", "Avatar"),
        availability(&[("ATWM251126", 6), ("OUTM251126", 10)]),
    )
    .err(
        book("OUTC0001", "OUTC0001", "Titanic", "VERE261126", 1),
        E::ShowFull(0),
    )
    .err(
        add("ATWA1000", "Avatar", "ATWM251126", 3),
        E::CapacityBelowBooked,
    );
    // An empty state empties the replica; past and far-future shows are legal state.
    g.r.import_state(CanonicalState {
        shows: vec![],
        bookings: vec![],
    })
    .unwrap();
    assert_eq!(
        g.state(),
        format!(
            "{:?}",
            CanonicalState {
                shows: vec![],
                bookings: vec![]
            }
        )
    );
    let far = CanonicalState {
        shows: vec![
            ShowEntry {
                movie: s("Avatar"),
                show_id: s("OUTE290200"),
                capacity: 1,
            },
            ShowEntry {
                movie: s("Avatar"),
                show_id: s("VERE311299"),
                capacity: 10_000,
            },
        ],
        bookings: vec![BookingEntry {
            customer: s("VERC9999"),
            movie: s("Avatar"),
            show_id: s("VERE311299"),
            tickets: 10_000,
        }],
    };
    g.r.import_state(far.clone()).unwrap();
    assert_eq!(g.state(), format!("{far:?}"));
}

#[test]
fn import_refusals_change_nothing() {
    let f = sample();
    let good = f.r.export_state();
    type Edit = fn(&mut CanonicalState);
    let cases: &[(Edit, StateSection, u32, StateFault)] = &[
        (
            |st| st.shows[1].movie = s("titanic"),
            StateSection::Shows,
            1,
            StateFault::UnknownMovie,
        ),
        (
            |st| st.shows[2].show_id = s("OUTM311126"),
            StateSection::Shows,
            2,
            StateFault::MalformedId,
        ),
        (
            |st| st.shows[0].capacity = 0,
            StateSection::Shows,
            0,
            StateFault::CapacityOutOfRange,
        ),
        (
            |st| st.shows[3].capacity = 10_001,
            StateSection::Shows,
            3,
            StateFault::CapacityOutOfRange,
        ),
        (
            |st| st.shows[1] = st.shows[0].clone(),
            StateSection::Shows,
            1,
            StateFault::Duplicate,
        ),
        (
            |st| st.shows.swap(2, 3),
            StateSection::Shows,
            3,
            StateFault::OutOfOrder,
        ),
        (
            |st| st.bookings[0].customer = s("ATWA0009"),
            StateSection::Bookings,
            0,
            StateFault::MalformedId,
        ),
        (
            |st| st.bookings[3].customer = s("VERC002"),
            StateSection::Bookings,
            3,
            StateFault::MalformedId,
        ),
        (
            |st| st.bookings[1].movie = s("Alien"),
            StateSection::Bookings,
            1,
            StateFault::UnknownMovie,
        ),
        (
            |st| st.bookings[1].show_id = s("ATWM251126x"),
            StateSection::Bookings,
            1,
            StateFault::MalformedId,
        ),
        (
            |st| st.bookings[2].tickets = 0,
            StateSection::Bookings,
            2,
            StateFault::ZeroTickets,
        ),
        (
            |st| st.bookings[1] = st.bookings[0].clone(),
            StateSection::Bookings,
            1,
            StateFault::Duplicate,
        ),
        (
            |st| st.bookings.swap(0, 3),
            StateSection::Bookings,
            1,
            StateFault::OutOfOrder,
        ),
        (
            |st| st.bookings[2].show_id = s("VERM261126"),
            StateSection::Bookings,
            2,
            StateFault::UnknownShow,
        ),
        (
            |st| st.bookings[2].tickets = 4,
            StateSection::Shows,
            3,
            StateFault::OverCapacity,
        ),
        (
            |st| st.shows[0].capacity = 3,
            StateSection::Shows,
            0,
            StateFault::OverCapacity,
        ),
        (
            |st| st.bookings[3].tickets = u32::MAX,
            StateSection::Shows,
            0,
            StateFault::OverCapacity,
        ),
    ];
    for (edit, section, index, fault) in cases {
        let mut g = sample();
        let before = g.state();
        let mut bad = good.clone();
        edit(&mut bad);
        let got = g.r.import_state(bad).unwrap_err();
        let want = StateError {
            section: *section,
            index: *index,
            fault: *fault,
        };
        assert_eq!(format!("{got:?}"), format!("{want:?}"));
        assert_eq!(g.state(), before);
    }
}

/// 100,000 bookings on 300 shows by 30,000 customers: import, work, export.
#[test]
fn large_state() {
    let mut shows = Vec::new();
    for day in 0..25u32 {
        for slot in ["M", "A", "E"] {
            for area in ["ATW", "OUT", "VER"] {
                let (d, m) = if day < 7 {
                    (24 + day, 11)
                } else {
                    (day - 6, 12)
                };
                let id = format!("{area}{slot}{d:02}{m:02}26");
                for movie in ["Avatar", "Titanic"] {
                    shows.push((movie, id.clone()));
                }
            }
        }
    }
    // Canonical order via the replica's own key; the test needs a sorted input.
    let key =
        |m: &str, id: &str| codec::parse_show_id(id).unwrap() | codec::parse_movie(m).unwrap();
    shows.sort_by_key(|(m, id)| key(m, id));
    shows.truncate(300);
    let mut bookings = Vec::new();
    for c in 0..30_000u32 {
        let customer = codec::format_customer(c);
        let mut picks: Vec<usize> = (0..4).map(|j| ((c * 7 + j * 131) % 300) as usize).collect();
        picks.sort();
        picks.dedup();
        for p in picks.into_iter().take(if c % 3 == 0 { 4 } else { 3 }) {
            bookings.push(BookingEntry {
                customer: customer.clone(),
                movie: s(shows[p].0),
                show_id: shows[p].1.clone(),
                tickets: 1,
            });
        }
    }
    assert!(bookings.len() >= 100_000);
    let st = CanonicalState {
        shows: shows
            .iter()
            .map(|(m, id)| ShowEntry {
                movie: s(m),
                show_id: id.clone(),
                capacity: 10_000,
            })
            .collect(),
        bookings,
    };
    let mut f = Fx::new();
    f.r.import_state(st.clone()).unwrap();
    assert_eq!(format!("{:?}", f.r.export_state()), format!("{st:?}"));
    let first = &st.shows[0];
    let admin = format!("{}A0001", &first.show_id[..3]);
    match f.run(rm(&admin, &first.movie, &first.show_id)) {
        Ok(Success::ShowRemoved(r)) => assert!(!r.moved.is_empty() && r.dropped.is_empty()),
        other => panic!("{other:?}"),
    }
    let on_target = st
        .bookings
        .iter()
        .filter(|b| b.movie == "Avatar" && b.show_id == "ATWM301126")
        .count() as u32;
    f.ok(
        book("ATWC0001", "ATWC0001", "Avatar", "ATWM301126", 1),
        booked(1, 10_000 - on_target - 1),
    );
    let after = f.r.export_state();
    assert_eq!(after.shows.len(), 299);
    assert_eq!(
        after.bookings.len(),
        st.bookings.len() + 1 - moved_onto_held(&st)
    );
}

/// How many moved bookings of the large test merged into a booking the customer already held
/// on the target (computed independently of the replica, from the canonical lists).
fn moved_onto_held(st: &CanonicalState) -> usize {
    let first = &st.shows[0];
    let target = st
        .shows
        .iter()
        .skip(1)
        .find(|e| e.movie == first.movie && e.show_id[..3] == first.show_id[..3])
        .unwrap();
    let on = |id: &str| -> Vec<&str> {
        st.bookings
            .iter()
            .filter(|b| b.movie == first.movie && b.show_id == id)
            .map(|b| b.customer.as_str())
            .collect()
    };
    let targets = on(&target.show_id);
    on(&first.show_id)
        .iter()
        .filter(|c| targets.contains(c))
        .count()
}
