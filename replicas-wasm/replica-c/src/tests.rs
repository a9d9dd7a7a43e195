//! Native tests: every example of the shared spec's §8, a table reaching every operation and
//! error code (with the precedence between errors), import refusals, and ledger compaction.
extern crate std;

use super::*;
use dmtbs_guest::{Context, Date};
use std::string::ToString;

/// Results compared through `Debug`: the generated types do not derive `PartialEq`.
fn show_outcome(o: &Outcome) -> String {
    format!("{o:?}")
}

fn req(today: (u16, u8, u8), operation: Operation) -> Request {
    Request {
        context: Context {
            seq: 1,
            today: Date {
                year: today.0,
                month: today.1,
                day: today.2,
            },
        },
        operation,
    }
}

fn add(actor: &str, movie: &str, id: &str, capacity: u32) -> Operation {
    Operation::AddShow(AddShow {
        actor: actor.to_string(),
        movie: movie.to_string(),
        show_id: id.to_string(),
        capacity,
    })
}

fn rm(actor: &str, movie: &str, id: &str) -> Operation {
    Operation::RemoveShow(RemoveShow {
        actor: actor.to_string(),
        movie: movie.to_string(),
        show_id: id.to_string(),
    })
}

fn avail(actor: &str, movie: &str) -> Operation {
    Operation::Availability(Availability {
        actor: actor.to_string(),
        movie: movie.to_string(),
    })
}

fn book(actor: &str, customer: &str, movie: &str, id: &str, tickets: u32) -> Operation {
    Operation::Book(Book {
        actor: actor.to_string(),
        customer: customer.to_string(),
        movie: movie.to_string(),
        show_id: id.to_string(),
        tickets,
    })
}

fn sched(actor: &str, customer: &str) -> Operation {
    Operation::Schedule(Schedule {
        actor: actor.to_string(),
        customer: customer.to_string(),
    })
}

fn cancel(actor: &str, customer: &str, movie: &str, id: &str, tickets: u32) -> Operation {
    Operation::Cancel(Cancel {
        actor: actor.to_string(),
        customer: customer.to_string(),
        movie: movie.to_string(),
        show_id: id.to_string(),
        tickets,
    })
}

#[allow(clippy::too_many_arguments)]
fn exch(
    actor: &str,
    customer: &str,
    old_movie: &str,
    old_id: &str,
    new_movie: &str,
    new_id: &str,
    tickets: u32,
) -> Operation {
    Operation::Exchange(Exchange {
        actor: actor.to_string(),
        customer: customer.to_string(),
        old_movie: old_movie.to_string(),
        old_show_id: old_id.to_string(),
        new_movie: new_movie.to_string(),
        new_show_id: new_id.to_string(),
        tickets,
    })
}

/// Today in the shared spec's examples: Tuesday 2026-11-24.
const TODAY: (u16, u8, u8) = (2026, 11, 24);

fn run(r: &mut Ledger, op: Operation) -> String {
    show_outcome(&r.apply(req(TODAY, op)))
}

fn expect(r: &mut Ledger, op: Operation, want: Outcome) {
    let desc = format!("{:?}", op);
    assert_eq!(run(r, op), show_outcome(&want), "for {desc}");
}

fn ok_added() -> Outcome {
    Ok(Success::ShowAdded)
}

fn booked(held: u32, remaining: u32) -> Outcome {
    Ok(Success::Booked(Booked { held, remaining }))
}

fn err(e: BookingError) -> Outcome {
    Err(e)
}

use BookingError as E;

// ---- calendar and identifiers ---------------------------------------------------------------

#[test]
fn calendar_round_trips_and_weeks() {
    for days in -800_000..800_000i64 {
        let (y, m, d) = civil_from_days(days);
        assert_eq!(days_from_civil(y, m, d), days);
    }
    assert_eq!(days_from_civil(1970, 1, 1), 0);
    assert_eq!(
        days_from_civil(2000, 3, 1) - days_from_civil(2000, 2, 28),
        2
    );
    // ISO week of Thursday 2026-12-31 runs Monday 2026-12-28 to Sunday 2027-01-03.
    let mon = days_from_civil(2026, 12, 28);
    assert_eq!(monday_of(days_from_civil(2026, 12, 31)), mon);
    assert_eq!(monday_of(days_from_civil(2027, 1, 3)), mon);
    assert_eq!(monday_of(days_from_civil(2027, 1, 4)), mon + 7);
    assert_eq!(monday_of(mon), mon);
}

#[test]
fn show_ids_parse_and_format() {
    for good in [
        "ATWM290224",
        "OUTA290200",
        "VERE311299",
        "ATWM010100",
        "VERA300426",
    ] {
        let id = ShowId::parse(good).expect(good);
        assert_eq!(Show::new(id, 2).id_string(), good);
    }
    for bad in [
        "ATWM290223",
        "ATWM290100x",
        "ATWM310426",
        "ATWM000126",
        "ATWM011326",
        "ATWM010026",
        "atwM251126",
        "ATWX251126",
        "ABCM251126",
        "ATWM25112",
        "ATWM2511260",
        "ATWM2511 6",
        "ATWM25112é",
    ] {
        assert!(ShowId::parse(bad).is_none(), "{bad}");
    }
    for good in ["ATWA0000", "VERC9999", "OUTC0042"] {
        assert!(User::parse(good).is_some(), "{good}");
    }
    for bad in [
        "ATWX0001",
        "atwc0001",
        "ATWC001",
        "ATWC00001",
        "ABCC0001",
        "ATWC00a1",
        "",
    ] {
        assert!(User::parse(bad).is_none(), "{bad}");
    }
    assert_eq!(
        customer_string(User::parse("OUTC0042").unwrap().cust_key()),
        "OUTC0042"
    );
    // Customer-key order is byte order; show-key order is show order.
    let k = |s| User::parse(s).unwrap().cust_key();
    assert!(k("ATWC9999") < k("OUTC0000") && k("OUTC9999") < k("VERC0000"));
    let s = |m: &str, id: &str| show(m, id).ok().unwrap();
    assert!(s("Titanic", "VERE241126") < s("Avatar", "ATWM251126"));
    assert!(s("Titanic", "VERM251126") < s("Avatar", "ATWA251126"));
    assert!(s("Titanic", "ATWA251126") < s("Avatar", "OUTA251126"));
    assert!(s("Avatar", "OUTA251126") < s("Avengers", "OUTA251126"));
}

// ---- the shared spec's §8 examples ----------------------------------------------------------

#[test]
fn spec_examples() {
    let r = &mut Ledger::default();
    expect(r, add("ATWA1000", "Avatar", "ATWM251126", 10), ok_added());
    expect(
        r,
        add("ATWA1000", "Avatar", "ATWM251126", 4),
        Ok(Success::ShowUpdated(10)),
    );
    expect(
        r,
        add("VERA1000", "Avatar", "ATWE251126", 5),
        err(E::NotAuthorized),
    );
    expect(
        r,
        add("ATWA1000", "Titanic", "ATWA031226", 5),
        err(E::OutsideWindow),
    );
    expect(
        r,
        book("ATWC0001", "ATWC0001", "Avatar", "ATWM251126", 2),
        booked(2, 2),
    );
    expect(
        r,
        book("ATWC0001", "ATWC0001", "Avatar", "ATWM251126", 3),
        err(E::ShowFull(2)),
    );
    expect(r, add("OUTA1000", "Avatar", "OUTM251126", 10), ok_added());
    expect(
        r,
        book("ATWC0001", "ATWC0001", "Avatar", "OUTM251126", 1),
        err(E::SameShowOtherArea),
    );
    for (admin, id) in [
        ("VERA1000", "VERM241126"),
        ("VERA1000", "VERA261126"),
        ("OUTA1000", "OUTE291126"),
        ("OUTA1000", "OUTM271126"),
        ("OUTA1000", "OUTM301126"),
    ] {
        expect(r, add(admin, "Titanic", id, 10), ok_added());
    }
    for id in ["VERM241126", "VERA261126", "OUTE291126"] {
        expect(
            r,
            book("ATWC0001", "ATWC0001", "Titanic", id, 1),
            booked(1, 9),
        );
    }
    expect(
        r,
        book("ATWC0001", "ATWC0001", "Titanic", "OUTM271126", 1),
        err(E::WeeklyLimit),
    );
    expect(
        r,
        book("ATWC0001", "ATWC0001", "Titanic", "OUTM301126", 1),
        booked(1, 9),
    );
    expect(
        r,
        cancel("ATWC0001", "ATWC0001", "Avatar", "ATWM251126", 5),
        err(E::TooManyTickets(2)),
    );
}

// ---- a table of every operation and error code ----------------------------------------------

/// A small world: today 2026-11-24; Avatar at ATW 25 (M, cap 4) and 26 (M, cap 10), at OUT 25 M,
/// at VER 23 (past); Titanic at VER on 24, 26 and OUT 29 (cap 10).
fn world() -> Ledger {
    let mut r = Ledger::default();
    for (admin, movie, id, cap) in [
        ("ATWA0001", "Avatar", "ATWM251126", 4),
        ("ATWA0001", "Avatar", "ATWM261126", 10),
        ("OUTA0001", "Avatar", "OUTM251126", 10),
        ("VERA0001", "Titanic", "VERM241126", 10),
        ("VERA0001", "Titanic", "VERA261126", 10),
        ("OUTA0001", "Titanic", "OUTE291126", 10),
        ("OUTA0001", "Titanic", "OUTM271126", 10),
    ] {
        expect(&mut r, add(admin, movie, id, cap), ok_added());
    }
    // A show that is past today: created when it was in the window.
    let past = r.apply(req(
        (2026, 11, 20),
        add("VERA0001", "Avatar", "VERM231126", 5),
    ));
    assert_eq!(show_outcome(&past), show_outcome(&ok_added()));
    let past_booking = r.apply(req(
        (2026, 11, 20),
        book("VERC0009", "VERC0009", "Avatar", "VERM231126", 2),
    ));
    assert_eq!(show_outcome(&past_booking), show_outcome(&booked(2, 3)));
    r
}

#[test]
fn validation_order_and_codes() {
    let r = &mut world();
    let cases: Vec<(Operation, Outcome)> = vec![
        // add-show: actor, movie, show-id, capacity, then authorisation.
        (add("ATWX0001", "Nope", "bad", 0), err(E::InvalidUserId)),
        (add("ATWA0001", "avatar", "bad", 0), err(E::UnknownMovie)),
        (
            add("ATWA0001", "Avatar", "ATWM311126", 0),
            err(E::InvalidShowId),
        ),
        (
            add("ATWA0001", "Avatar", "ATWM251126", 0),
            err(E::InvalidCapacity),
        ),
        (
            add("OUTA0001", "Avatar", "ATWM251126", 10_001),
            err(E::InvalidCapacity),
        ),
        (
            add("OUTA0001", "Avatar", "ATWM011226", 10_000),
            err(E::NotAuthorized),
        ),
        (
            add("ATWC0001", "Avatar", "ATWM011226", 5),
            err(E::NotAuthorized),
        ),
        // remove-show / availability / schedule.
        (rm("ATWA001", "Avatar", "ATWM251126"), err(E::InvalidUserId)),
        (rm("ATWA0001", "Avatars", "x"), err(E::UnknownMovie)),
        (
            rm("ATWA0001", "Avatar", "ATWN251126"),
            err(E::InvalidShowId),
        ),
        (avail("OUTC00001", "Nope"), err(E::InvalidUserId)),
        (avail("OUTC0001", "Nope"), err(E::UnknownMovie)),
        (sched("ATWC0001", "ATWc0001"), err(E::InvalidUserId)),
        // book: actor, customer, movie, show-id, tickets, then authorisation.
        (book("x", "y", "z", "w", 0), err(E::InvalidUserId)),
        (book("ATWC0001", "y", "z", "w", 0), err(E::InvalidUserId)),
        (
            book("ATWC0001", "ATWC0002", "z", "w", 0),
            err(E::UnknownMovie),
        ),
        (
            book("ATWC0001", "ATWC0002", "Titanic", "w", 0),
            err(E::InvalidShowId),
        ),
        (
            book("ATWC0001", "ATWC0002", "Titanic", "ATWM251126", 0),
            err(E::InvalidTickets),
        ),
        (
            book("ATWC0001", "ATWC0002", "Titanic", "ATWM251126", 10_001),
            err(E::InvalidTickets),
        ),
        // cancel and exchange: the same fields, then exchange's old before new before tickets.
        (
            cancel("ATWC0001", "ATWC0001", "Avatar", "ATWM251126", 0),
            err(E::InvalidTickets),
        ),
        (
            exch("ATWC0001", "ATWC0001", "Avatar", "bad", "Nope", "bad", 0),
            err(E::InvalidShowId),
        ),
        (
            exch(
                "ATWC0001",
                "ATWC0001",
                "Avatar",
                "ATWM251126",
                "Nope",
                "bad",
                0,
            ),
            err(E::UnknownMovie),
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
            err(E::InvalidShowId),
        ),
        (
            exch(
                "ATWC0001",
                "ATWC0001",
                "Avatar",
                "ATWM251126",
                "Avatar",
                "ATWM261126",
                0,
            ),
            err(E::InvalidTickets),
        ),
    ];
    for (op, want) in cases {
        expect(r, op, want);
    }
}

#[test]
fn authorisation() {
    let r = &mut world();
    let cases: Vec<(Operation, Outcome)> = vec![
        // Customer role A is refused whoever acts, and before show checks.
        (
            book("ATWA0001", "OUTA0002", "Avatar", "NOPE", 1),
            err(E::InvalidShowId),
        ),
        (
            book("ATWA0001", "OUTA0002", "Avatar", "ATWM011226", 1),
            err(E::NotAuthorized),
        ),
        (
            book("ATWC0001", "ATWC0002", "Avatar", "ATWM011226", 1),
            err(E::NotAuthorized),
        ),
        (sched("ATWA0001", "ATWA0001"), err(E::NotAuthorized)),
        (sched("OUTC0001", "VERC0009"), err(E::NotAuthorized)),
        (
            cancel("ATWC0002", "ATWC0001", "Avatar", "ATWM011226", 1),
            err(E::NotAuthorized),
        ),
        (
            exch(
                "ATWC0002",
                "ATWC0001",
                "Avatar",
                "ATWM011226",
                "Avatar",
                "ATWM011226",
                1,
            ),
            err(E::NotAuthorized),
        ),
        (
            rm("ATWC0001", "Avatar", "ATWM011226"),
            err(E::NotAuthorized),
        ),
        (
            rm("OUTA0001", "Avatar", "ATWM011226"),
            err(E::NotAuthorized),
        ),
        // An admin of any area acts for any customer; home area is the customer's.
        (
            book("VERA0001", "ATWC0001", "Avatar", "ATWM251126", 1),
            booked(1, 3),
        ),
        // Availability is open to every well-formed user.
        (
            avail("VERC0001", "Titanic"),
            Ok(Success::Availability(vec![
                ShowRemaining {
                    show_id: "VERM241126".to_string(),
                    remaining: 10,
                },
                ShowRemaining {
                    show_id: "VERA261126".to_string(),
                    remaining: 10,
                },
                ShowRemaining {
                    show_id: "OUTM271126".to_string(),
                    remaining: 10,
                },
                ShowRemaining {
                    show_id: "OUTE291126".to_string(),
                    remaining: 10,
                },
            ])),
        ),
    ];
    for (op, want) in cases {
        expect(r, op, want);
    }
}

#[test]
fn add_show_window_and_capacity() {
    let r = &mut world();
    let cases: Vec<(Operation, Outcome)> = vec![
        (
            add("ATWA0001", "Titanic", "ATWE231126", 5),
            err(E::OutsideWindow),
        ),
        (add("ATWA0001", "Titanic", "ATWM241126", 5), ok_added()),
        (add("ATWA0001", "Titanic", "ATWE011226", 5), ok_added()),
        (
            add("ATWA0001", "Titanic", "ATWM021226", 5),
            err(E::OutsideWindow),
        ),
        // Auth before window.
        (
            add("OUTA0001", "Titanic", "ATWM021226", 5),
            err(E::NotAuthorized),
        ),
        // Another movie on the same show ID is another show.
        (add("ATWA0001", "Avengers", "ATWM251126", 1), ok_added()),
        (
            book("ATWC0001", "ATWC0001", "Avatar", "ATWM251126", 3),
            booked(3, 1),
        ),
        (
            add("ATWA0001", "Avatar", "ATWM251126", 2),
            err(E::CapacityBelowBooked),
        ),
        (
            add("ATWA0001", "Avatar", "ATWM251126", 3),
            Ok(Success::ShowUpdated(4)),
        ),
        (
            add("ATWA0001", "Avatar", "ATWM251126", 3),
            Ok(Success::ShowUpdated(3)),
        ),
        (
            book("ATWC0002", "ATWC0002", "Avatar", "ATWM251126", 1),
            err(E::ShowFull(0)),
        ),
    ];
    for (op, want) in cases {
        expect(r, op, want);
    }
    // An existing show that has left the window: outside-window before capacity-below-booked.
    let late = r.apply(req(
        (2026, 11, 26),
        add("ATWA0001", "Avatar", "ATWM251126", 1),
    ));
    assert_eq!(show_outcome(&late), show_outcome(&err(E::OutsideWindow)));
    // The window crosses a year end.
    let mut y = Ledger::default();
    let ok = y.apply(req(
        (2026, 12, 28),
        add("VERA0001", "Avatar", "VERE040127", 1),
    ));
    assert_eq!(show_outcome(&ok), show_outcome(&ok_added()));
    let no = y.apply(req(
        (2026, 12, 28),
        add("VERA0001", "Avatar", "VERM050127", 1),
    ));
    assert_eq!(show_outcome(&no), show_outcome(&err(E::OutsideWindow)));
}

#[test]
fn book_checks_in_order() {
    let r = &mut world();
    let c = "ATWC0001";
    let cases: Vec<(Operation, Outcome)> = vec![
        (book(c, c, "Titanic", "ATWM251126", 1), err(E::ShowNotFound)),
        (book(c, c, "Avatar", "VERM231126", 1), err(E::PastShow)),
        (book(c, c, "Avatar", "ATWM251126", 4), booked(4, 0)),
        (book(c, c, "Avatar", "ATWM251126", 1), err(E::ShowFull(0))),
        // Past-show precedes same-show-other-area: book another movie later.
        (
            book(c, c, "Avatar", "OUTM251126", 1),
            err(E::SameShowOtherArea),
        ),
        (book(c, c, "Titanic", "VERM241126", 1), booked(1, 9)),
        (book(c, c, "Titanic", "VERA261126", 1), booked(1, 9)),
        (
            book(c, c, "Titanic", "OUTE291126", 11),
            err(E::ShowFull(10)),
        ),
        (book(c, c, "Titanic", "OUTE291126", 1), booked(1, 9)),
        // More tickets for a show already booked is not a new movie.
        (book(c, c, "Titanic", "OUTE291126", 2), booked(3, 7)),
        // Weekly limit precedes show-full.
        (book(c, c, "Titanic", "OUTM271126", 11), err(E::WeeklyLimit)),
        // An admin acting counts against the customer's home area, not the admin's.
        (
            book("OUTA0001", c, "Titanic", "OUTM271126", 1),
            err(E::WeeklyLimit),
        ),
        // A home-area customer is not limited.
        (
            book("OUTC0001", "OUTC0001", "Titanic", "OUTM271126", 1),
            booked(1, 9),
        ),
    ];
    for (op, want) in cases {
        expect(r, op, want);
    }
    // Same-show-other-area precedes the weekly limit.
    expect(r, add("OUTA0001", "Titanic", "OUTM241126", 5), ok_added());
    expect(
        r,
        book(c, c, "Titanic", "OUTM241126", 1),
        err(E::SameShowOtherArea),
    );
    // Past bookings of the same week count: VERC0009's past VER booking is home, so use ATW.
    let mut p = Ledger::default();
    let d20 = (2026, 11, 20);
    for (admin, id) in [
        ("ATWA0001", "ATWM231126"),
        ("ATWA0001", "ATWA231126"),
        ("OUTA0001", "OUTE231126"),
        ("OUTA0001", "OUTE261126"),
    ] {
        assert!(p.apply(req(d20, add(admin, "Avengers", id, 9))).is_ok());
    }
    for id in ["ATWM231126", "ATWA231126", "OUTE231126"] {
        assert!(
            p.apply(req(d20, book("VERC0001", "VERC0001", "Avengers", id, 1)))
                .is_ok()
        );
    }
    let limited = p.apply(req(
        TODAY,
        book("VERC0001", "VERC0001", "Avengers", "OUTE261126", 1),
    ));
    assert_eq!(show_outcome(&limited), show_outcome(&err(E::WeeklyLimit)));
}

#[test]
fn weekly_limit_counts_each_movie_on_a_show_id() {
    let r = &mut Ledger::default();
    for movie in ["Avatar", "Avengers", "Titanic"] {
        expect(r, add("OUTA0001", movie, "OUTM251126", 5), ok_added());
    }
    expect(r, add("OUTA0001", "Avatar", "OUTE251126", 5), ok_added());
    for movie in ["Avatar", "Avengers", "Titanic"] {
        expect(
            r,
            book("ATWC0003", "ATWC0003", movie, "OUTM251126", 1),
            booked(1, 4),
        );
    }
    expect(
        r,
        book("ATWC0003", "ATWC0003", "Avatar", "OUTE251126", 1),
        err(E::WeeklyLimit),
    );
}

#[test]
fn cancel_and_schedule() {
    let r = &mut world();
    let c = "ATWC0001";
    let cases: Vec<(Operation, Outcome)> = vec![
        (cancel(c, c, "Avatar", "ATWM251126", 1), err(E::NotBooked)),
        (cancel(c, c, "Titanic", "ATWM251126", 1), err(E::NotBooked)),
        // not-booked precedes past-show.
        (cancel(c, c, "Avatar", "VERM231126", 1), err(E::NotBooked)),
        (
            cancel("VERC0009", "VERC0009", "Avatar", "VERM231126", 9),
            err(E::PastShow),
        ),
        (book(c, c, "Titanic", "OUTE291126", 3), booked(3, 7)),
        (book(c, c, "Avatar", "ATWM251126", 2), booked(2, 2)),
        (book(c, c, "Titanic", "VERM241126", 1), booked(1, 9)),
        (
            cancel(c, c, "Titanic", "OUTE291126", 4),
            err(E::TooManyTickets(3)),
        ),
        (
            cancel(c, c, "Titanic", "OUTE291126", 1),
            Ok(Success::Cancelled(2)),
        ),
        (
            cancel(c, c, "Avatar", "ATWM251126", 2),
            Ok(Success::Cancelled(0)),
        ),
        (cancel(c, c, "Avatar", "ATWM251126", 1), err(E::NotBooked)),
        (
            sched("ATWA0001", c),
            Ok(Success::Schedule(vec![
                ScheduledBooking {
                    movie: "Titanic".to_string(),
                    show_id: "VERM241126".to_string(),
                    tickets: 1,
                },
                ScheduledBooking {
                    movie: "Titanic".to_string(),
                    show_id: "OUTE291126".to_string(),
                    tickets: 2,
                },
            ])),
        ),
        (sched("OUTC0005", "OUTC0005"), Ok(Success::Schedule(vec![]))),
        // Past bookings are in the schedule.
        (
            sched("VERC0009", "VERC0009"),
            Ok(Success::Schedule(vec![ScheduledBooking {
                movie: "Avatar".to_string(),
                show_id: "VERM231126".to_string(),
                tickets: 2,
            }])),
        ),
    ];
    for (op, want) in cases {
        expect(r, op, want);
    }
}

#[test]
fn availability_lists_future_shows_in_show_order() {
    let r = &mut world();
    expect(
        r,
        book("OUTC0001", "OUTC0001", "Avatar", "OUTM251126", 10),
        booked(10, 0),
    );
    let want = Ok(Success::Availability(vec![
        ShowRemaining {
            show_id: "ATWM251126".to_string(),
            remaining: 4,
        },
        ShowRemaining {
            show_id: "OUTM251126".to_string(),
            remaining: 0,
        },
        ShowRemaining {
            show_id: "ATWM261126".to_string(),
            remaining: 10,
        },
    ]));
    expect(r, avail("ATWC0001", "Avatar"), want);
    expect(
        r,
        avail("ATWC0001", "Avengers"),
        Ok(Success::Availability(vec![])),
    );
    // A show dated today is not past; yesterday's is.
    let d23 = r.apply(req((2026, 11, 23), avail("ATWC0001", "Avatar")));
    assert!(show_outcome(&d23).contains("VERM231126"));
}

#[test]
fn exchange_rules() {
    let r = &mut world();
    let c = "ATWC0001";
    let cases: Vec<(Operation, Outcome)> = vec![
        // same-show precedes not-booked; another movie on the same show ID is another show.
        (
            exch(c, c, "Avatar", "ATWM251126", "Avatar", "ATWM251126", 1),
            err(E::SameShow),
        ),
        (
            exch(c, c, "Avatar", "ATWM251126", "Avengers", "ATWM251126", 1),
            err(E::NotBooked),
        ),
        (
            exch(
                "VERC0009",
                "VERC0009",
                "Avatar",
                "VERM231126",
                "Avatar",
                "ATWM251126",
                1,
            ),
            err(E::PastShow),
        ),
        (book(c, c, "Avatar", "ATWM251126", 2), booked(2, 2)),
        (
            exch(c, c, "Avatar", "ATWM251126", "Avatar", "ATWM261126", 3),
            err(E::TooManyTickets(2)),
        ),
        (
            exch(c, c, "Avatar", "ATWM251126", "Titanic", "ATWM261126", 1),
            err(E::ShowNotFound),
        ),
        (
            exch(c, c, "Avatar", "ATWM251126", "Avatar", "VERM231126", 1),
            err(E::PastShow),
        ),
        // Partial move keeps the old booking: same-show-other-area applies ...
        (
            exch(c, c, "Avatar", "ATWM251126", "Avatar", "OUTM251126", 1),
            err(E::SameShowOtherArea),
        ),
        // ... a full move empties it, so the new show is fine.
        (
            exch(c, c, "Avatar", "ATWM251126", "Avatar", "OUTM251126", 2),
            Ok(Success::Exchanged(Exchanged {
                old_held: 0,
                new_held: 2,
            })),
        ),
        (book(c, c, "Titanic", "VERM241126", 1), booked(1, 9)),
        (book(c, c, "Titanic", "VERA261126", 1), booked(1, 9)),
        // Three other-area shows this week: a fourth is refused, but an emptied one frees a slot.
        (
            exch(c, c, "Avatar", "OUTM251126", "Titanic", "OUTE291126", 1),
            err(E::WeeklyLimit),
        ),
        (
            exch(c, c, "Titanic", "VERA261126", "Titanic", "OUTE291126", 1),
            Ok(Success::Exchanged(Exchanged {
                old_held: 0,
                new_held: 1,
            })),
        ),
        (
            exch(c, c, "Avatar", "OUTM251126", "Avatar", "ATWM251126", 2),
            Ok(Success::Exchanged(Exchanged {
                old_held: 0,
                new_held: 2,
            })),
        ),
        (
            exch(c, c, "Avatar", "ATWM251126", "Avatar", "ATWM261126", 1),
            Ok(Success::Exchanged(Exchanged {
                old_held: 1,
                new_held: 1,
            })),
        ),
        (
            exch(c, c, "Avatar", "ATWM251126", "Avatar", "ATWM261126", 1),
            Ok(Success::Exchanged(Exchanged {
                old_held: 0,
                new_held: 2,
            })),
        ),
    ];
    for (op, want) in cases {
        expect(r, op, want);
    }
    // show-full on the new show reports its own remaining.
    expect(
        r,
        book("ATWC0002", "ATWC0002", "Avatar", "ATWM261126", 7),
        booked(7, 1),
    );
    expect(
        r,
        exch(c, c, "Avatar", "ATWM261126", "Avatar", "ATWM251126", 2),
        Ok(Success::Exchanged(Exchanged {
            old_held: 0,
            new_held: 2,
        })),
    );
    expect(r, book(c, c, "Avatar", "ATWM261126", 1), booked(1, 2));
    expect(
        r,
        exch(c, c, "Avatar", "ATWM251126", "Avatar", "ATWM261126", 2),
        Ok(Success::Exchanged(Exchanged {
            old_held: 0,
            new_held: 3,
        })),
    );
    expect(r, book(c, c, "Avatar", "ATWM251126", 3), booked(3, 1));
    expect(
        r,
        exch(c, c, "Avatar", "ATWM251126", "Avatar", "ATWM261126", 2),
        err(E::ShowFull(0)),
    );
}

#[test]
fn remove_show_moves_and_drops() {
    let r = &mut Ledger::default();
    for (movie, id, cap) in [
        ("Avatar", "ATWA251126", 7),
        ("Avatar", "ATWM251126", 10),  // earlier slot: not a candidate
        ("Avatar", "ATWE251126", 3),   // same day, later slot
        ("Titanic", "ATWE251126", 50), // other movie: not a candidate
        ("Avatar", "ATWM271126", 4),
        ("Avatar", "ATWM281126", 1),
    ] {
        expect(r, add("ATWA0001", movie, id, cap), ok_added());
    }
    expect(r, add("OUTA0001", "Avatar", "OUTM261126", 50), ok_added()); // other area
    for (cust, t) in [
        ("VERC0001", 1),
        ("ATWC0003", 2),
        ("OUTC0002", 2),
        ("ATWC0002", 2),
    ] {
        let op = book(cust, cust, "Avatar", "ATWA251126", t);
        assert!(r.apply(req(TODAY, op)).is_ok());
    }
    // ATWC0002 already holds 1 on ATWE251126: the move adds to that booking.
    expect(
        r,
        book("ATWC0002", "ATWC0002", "Avatar", "ATWE251126", 1),
        booked(1, 2),
    );
    expect(
        r,
        rm("ATWA0001", "Avatar", "ATWM301126"),
        err(E::ShowNotFound),
    );
    expect(
        r,
        rm("OUTA0001", "Avatar", "ATWM301126"),
        err(E::NotAuthorized),
    );
    let want = Ok(Success::ShowRemoved(ShowRemoved {
        moved: vec![
            MovedBooking {
                customer: "ATWC0002".to_string(),
                to_show_id: "ATWE251126".to_string(),
                tickets: 2,
            },
            MovedBooking {
                customer: "ATWC0003".to_string(),
                to_show_id: "ATWM271126".to_string(),
                tickets: 2,
            },
            MovedBooking {
                customer: "OUTC0002".to_string(),
                to_show_id: "ATWM271126".to_string(),
                tickets: 2,
            },
            MovedBooking {
                customer: "VERC0001".to_string(),
                to_show_id: "ATWM281126".to_string(),
                tickets: 1,
            },
        ],
        dropped: vec![],
    }));
    expect(r, rm("ATWA0001", "Avatar", "ATWA251126"), want);
    expect(
        r,
        sched("ATWC0002", "ATWC0002"),
        Ok(Success::Schedule(vec![ScheduledBooking {
            movie: "Avatar".to_string(),
            show_id: "ATWE251126".to_string(),
            tickets: 3,
        }])),
    );
    expect(
        r,
        rm("ATWA0001", "Avatar", "ATWA251126"),
        err(E::ShowNotFound),
    );
    // Everything later is full now: the next removal drops, and the show may be added again.
    expect(
        r,
        rm("ATWA0001", "Avatar", "ATWE251126"),
        Ok(Success::ShowRemoved(ShowRemoved {
            moved: vec![],
            dropped: vec![DroppedBooking {
                customer: "ATWC0002".to_string(),
                tickets: 3,
            }],
        })),
    );
    expect(r, add("ATWA0001", "Avatar", "ATWE251126", 2), ok_added());
    expect(
        r,
        sched("ATWC0002", "ATWC0002"),
        Ok(Success::Schedule(vec![])),
    );
    // A past show cannot be removed.
    let past = r.apply(req((2026, 11, 26), rm("ATWA0001", "Avatar", "ATWE251126")));
    assert_eq!(show_outcome(&past), show_outcome(&err(E::PastShow)));
    let state = r.export_state();
    assert_eq!(state.bookings.len(), 3);
    assert!(state.shows.iter().all(|s| s.show_id != "ATWA251126"));
}

// ---- canonical state ------------------------------------------------------------------------

fn entry(movie: &str, id: &str, capacity: u32) -> ShowEntry {
    ShowEntry {
        movie: movie.to_string(),
        show_id: id.to_string(),
        capacity,
    }
}

fn bentry(customer: &str, movie: &str, id: &str, tickets: u32) -> BookingEntry {
    BookingEntry {
        customer: customer.to_string(),
        movie: movie.to_string(),
        show_id: id.to_string(),
        tickets,
    }
}

fn good_state() -> CanonicalState {
    CanonicalState {
        shows: vec![
            entry("Titanic", "VERE241126", 5),
            entry("Avatar", "ATWM251126", 4),
            entry("Avengers", "ATWM251126", 4),
            entry("Avatar", "OUTM251126", 4),
        ],
        bookings: vec![
            bentry("ATWC0001", "Titanic", "VERE241126", 2),
            bentry("ATWC0001", "Avatar", "ATWM251126", 1),
            bentry("OUTC0001", "Avatar", "ATWM251126", 3),
            bentry("VERC0001", "Titanic", "VERE241126", 3),
        ],
    }
}

fn state_string(s: &CanonicalState) -> String {
    format!("{s:?}")
}

#[test]
fn export_is_canonical_and_import_round_trips() {
    let r = &mut world();
    expect(
        r,
        book("OUTC0001", "OUTC0001", "Avatar", "ATWM251126", 1),
        booked(1, 3),
    );
    expect(
        r,
        book("ATWC0001", "ATWC0001", "Titanic", "VERA261126", 1),
        booked(1, 9),
    );
    let s = r.export_state();
    let ids: Vec<_> = s
        .shows
        .iter()
        .map(|e| (e.show_id.as_str(), e.movie.as_str()))
        .collect();
    assert_eq!(
        ids,
        [
            ("VERM231126", "Avatar"),
            ("VERM241126", "Titanic"),
            ("ATWM251126", "Avatar"),
            ("OUTM251126", "Avatar"),
            ("ATWM261126", "Avatar"),
            ("VERA261126", "Titanic"),
            ("OUTM271126", "Titanic"),
            ("OUTE291126", "Titanic"),
        ]
    );
    let custs: Vec<_> = s.bookings.iter().map(|b| b.customer.as_str()).collect();
    assert_eq!(custs, ["ATWC0001", "OUTC0001", "VERC0009"]);
    let mut fresh = Ledger::default();
    fresh.import_state(s.clone()).unwrap();
    assert_eq!(state_string(&fresh.export_state()), state_string(&s));

    let mut g = Ledger::default();
    g.import_state(good_state()).unwrap();
    assert_eq!(state_string(&g.export_state()), state_string(&good_state()));
    expect(
        &mut g,
        book("ATWC0002", "ATWC0002", "Avatar", "ATWM251126", 1),
        err(E::ShowFull(0)),
    );
    // Import ignores today: past and far-future shows are legal.
    let far = CanonicalState {
        shows: vec![
            entry("Avatar", "ATWM010100", 1),
            entry("Titanic", "VERE311299", 1),
        ],
        bookings: vec![],
    };
    g.import_state(far.clone()).unwrap();
    assert_eq!(state_string(&g.export_state()), state_string(&far));
}

#[test]
fn import_refusals_change_nothing() {
    use StateFault as F;
    use StateSection::{Bookings, Shows};
    type Edit = fn(&mut CanonicalState);
    let cases: Vec<(Edit, StateSection, u32, StateFault)> = vec![
        (
            |s| s.shows[1].movie = "avatar".to_string(),
            Shows,
            1,
            F::UnknownMovie,
        ),
        (
            |s| s.shows[2].show_id = "ATWM311126".to_string(),
            Shows,
            2,
            F::MalformedId,
        ),
        (|s| s.shows[0].capacity = 0, Shows, 0, F::CapacityOutOfRange),
        (
            |s| s.shows[0].capacity = 10_001,
            Shows,
            0,
            F::CapacityOutOfRange,
        ),
        (
            |s| s.shows[2] = entry("Avatar", "ATWM251126", 4),
            Shows,
            2,
            F::Duplicate,
        ),
        (|s| s.shows.swap(1, 2), Shows, 2, F::OutOfOrder),
        (|s| s.shows.swap(0, 3), Shows, 1, F::OutOfOrder),
        (
            |s| s.bookings[0].customer = "ATWA0001".to_string(),
            Bookings,
            0,
            F::MalformedId,
        ),
        (
            |s| s.bookings[0].customer = "ATWC001".to_string(),
            Bookings,
            0,
            F::MalformedId,
        ),
        (
            |s| s.bookings[1].movie = "Nope".to_string(),
            Bookings,
            1,
            F::UnknownMovie,
        ),
        (
            |s| s.bookings[1].show_id = "ATWX251126".to_string(),
            Bookings,
            1,
            F::MalformedId,
        ),
        (|s| s.bookings[3].tickets = 0, Bookings, 3, F::ZeroTickets),
        (
            |s| s.bookings[1] = bentry("ATWC0001", "Titanic", "VERE241126", 1),
            Bookings,
            1,
            F::Duplicate,
        ),
        (|s| s.bookings.swap(0, 1), Bookings, 1, F::OutOfOrder),
        (|s| s.bookings.swap(2, 3), Bookings, 3, F::OutOfOrder),
        (
            |s| s.bookings[3] = bentry("VERC0001", "Titanic", "VERE251126", 1),
            Bookings,
            3,
            F::UnknownShow,
        ),
        (|s| s.bookings[2].tickets = 4, Shows, 1, F::OverCapacity),
        (
            |s| s.bookings[3].tickets = u32::MAX,
            Shows,
            0,
            F::OverCapacity,
        ),
    ];
    let mut r = world();
    let before = state_string(&r.export_state());
    for (edit, section, index, fault) in cases {
        let mut s = good_state();
        edit(&mut s);
        let got = r.import_state(s).expect_err("refused");
        assert_eq!(
            format!("{:?}", got),
            format!(
                "{:?}",
                StateError {
                    section,
                    index,
                    fault
                }
            )
        );
        assert_eq!(state_string(&r.export_state()), before);
    }
}

// ---- ledger bookkeeping ---------------------------------------------------------------------

#[test]
fn ledger_stays_bounded_and_compaction_is_invisible() {
    let r = &mut world();
    let c = "OUTC0001";
    for i in 0..20_000u32 {
        let t = i % 3 + 1;
        expect(r, book(c, c, "Avatar", "ATWM261126", t), booked(t, 10 - t));
        expect(
            r,
            cancel(c, c, "Avatar", "ATWM261126", t),
            Ok(Success::Cancelled(0)),
        );
        assert!(r.entries.len() <= COMPACT_FACTOR * 20 + COMPACT_SLACK + 1);
    }
    let before = state_string(&r.export_state());
    let folded = r.fold_all();
    r.rebase(folded);
    assert_eq!(state_string(&r.export_state()), before);
    assert_eq!(r.live_bookings, 1);
}

#[test]
fn large_state_import_export_and_apply() {
    // 360 shows (40 days x 3 slots x 3 areas, Avatar), 100,000 bookings by 30,000 customers.
    let mut shows = Vec::new();
    let mut keys = Vec::new();
    let base = days_from_civil(2026, 11, 1);
    for day in 0..40 {
        for slot in 0..3u8 {
            for area in 0..3u8 {
                let s = Show::new(
                    ShowId {
                        day: base + day,
                        slot,
                        area,
                    },
                    0,
                );
                keys.push(s);
                shows.push(entry("Avatar", &s.id_string(), 10_000));
            }
        }
    }
    let mut bookings = Vec::new();
    for cust in 0..30_000u32 {
        let ck = (cust % 3) * 10_000 + cust / 3;
        let n = if cust < 10_000 { 4 } else { 3 };
        let mut mine: Vec<Show> = (0..n)
            .map(|j| keys[((cust * 7 + j * 97) % 360) as usize])
            .collect();
        mine.sort();
        mine.dedup();
        for s in mine {
            bookings.push((ck, s));
        }
    }
    bookings.sort();
    let state = CanonicalState {
        shows,
        bookings: bookings
            .iter()
            .map(|&(c, s)| bentry(&customer_string(c), "Avatar", &s.id_string(), 2))
            .collect(),
    };
    assert!(state.bookings.len() >= 90_000);
    let mut r = Ledger::default();
    r.import_state(state.clone()).unwrap();
    assert_eq!(state_string(&r.export_state()), state_string(&state));
    for i in 0..2_000u32 {
        let c = customer_string(i % 3 * 10_000 + i);
        let out = r.apply(req((2026, 11, 20), book(&c, &c, "Avatar", "ATWE251126", 1)));
        assert!(
            out.is_ok()
                || show_outcome(&out).contains("Limit")
                || show_outcome(&out).contains("SameShow")
        );
        assert!(r.apply(req((2026, 11, 20), avail(&c, "Avatar"))).is_ok());
    }
}
