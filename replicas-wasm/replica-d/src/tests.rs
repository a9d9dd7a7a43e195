//! Native tests: the examples of §8 of the shared spec, a case table reaching every operation
//! and every error code (with the precedence between them), and import refusals.
use super::*;
use dmtbs_guest::{Context, Operation as Op};

/// The examples' today: Tuesday 2026-11-24 (week 48 runs 23–29 Nov).
const TODAY: (u16, u8, u8) = (2026, 11, 24);

fn req(today: (u16, u8, u8), operation: Op) -> Request {
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

fn s(x: &str) -> String {
    x.into()
}

fn add(actor: &str, movie: &str, show: &str, capacity: u32) -> Op {
    Op::AddShow(AddShow {
        actor: s(actor),
        movie: s(movie),
        show_id: s(show),
        capacity,
    })
}
fn rm(actor: &str, movie: &str, show: &str) -> Op {
    Op::RemoveShow(RemoveShow {
        actor: s(actor),
        movie: s(movie),
        show_id: s(show),
    })
}
fn avail(actor: &str, movie: &str) -> Op {
    Op::Availability(Availability {
        actor: s(actor),
        movie: s(movie),
    })
}
fn book(actor: &str, customer: &str, movie: &str, show: &str, tickets: u32) -> Op {
    Op::Book(Book {
        actor: s(actor),
        customer: s(customer),
        movie: s(movie),
        show_id: s(show),
        tickets,
    })
}
fn sched(actor: &str, customer: &str) -> Op {
    Op::Schedule(Schedule {
        actor: s(actor),
        customer: s(customer),
    })
}
fn cancel(actor: &str, customer: &str, movie: &str, show: &str, tickets: u32) -> Op {
    Op::Cancel(Cancel {
        actor: s(actor),
        customer: s(customer),
        movie: s(movie),
        show_id: s(show),
        tickets,
    })
}
#[allow(clippy::too_many_arguments)]
fn exch(a: &str, c: &str, om: &str, os: &str, nm: &str, ns: &str, tickets: u32) -> Op {
    Op::Exchange(Exchange {
        actor: s(a),
        customer: s(c),
        old_movie: s(om),
        old_show_id: s(os),
        new_movie: s(nm),
        new_show_id: s(ns),
        tickets,
    })
}

// Expected outcomes.
use BookingError as E;
fn booked(held: u32, remaining: u32) -> Outcome {
    Ok(Success::Booked(Booked { held, remaining }))
}
fn avail_list(list: &[(&str, u32)]) -> Outcome {
    Ok(Success::Availability(
        list.iter()
            .map(|&(id, remaining)| ShowRemaining {
                show_id: s(id),
                remaining,
            })
            .collect(),
    ))
}
fn sched_list(list: &[(&str, &str, u32)]) -> Outcome {
    Ok(Success::Schedule(
        list.iter()
            .map(|&(m, id, tickets)| ScheduledBooking {
                movie: s(m),
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
fn exchanged(old_held: u32, new_held: u32) -> Outcome {
    Ok(Success::Exchanged(Exchanged { old_held, new_held }))
}

/// The generated types have `Debug` but not `PartialEq`: compare their debug text.
fn text<T: core::fmt::Debug>(x: &T) -> String {
    format!("{x:?}")
}

/// Runs `(today, op, expected)` steps in order on one replica, naming the failing step.
fn script(r: &mut TableReplica, steps: Vec<((u16, u8, u8), Op, Outcome)>) {
    for (i, (today, op, want)) in steps.into_iter().enumerate() {
        let shown = text(&op);
        let got = r.apply(req(today, op));
        assert_eq!(text(&got), text(&want), "step {i}: {shown}");
    }
}

fn run(steps: Vec<(Op, Outcome)>) -> TableReplica {
    let mut r = TableReplica::default();
    script(
        &mut r,
        steps.into_iter().map(|(o, w)| (TODAY, o, w)).collect(),
    );
    r
}

#[test]
fn dates() {
    assert_eq!(day_number(1970, 1, 1), 0);
    assert_eq!(day_number(2000, 3, 1) - day_number(2000, 2, 28), 2);
    assert_eq!(day_number(2100, 3, 1) - day_number(2100, 2, 28), 1);
    assert_eq!(day_number(2027, 1, 1) - day_number(2026, 12, 31), 1);
    // 2026-11-23 is a Monday; 2026-11-29 a Sunday; 2026-11-30 the next Monday.
    let mon = day_number(2026, 11, 23);
    assert_eq!(week_monday(mon), mon);
    assert_eq!(week_monday(day_number(2026, 11, 29)), mon);
    assert_eq!(week_monday(day_number(2026, 11, 30)), mon + 7);
    // A week spanning two years: Mon 2026-12-28 .. Sun 2027-01-03.
    assert_eq!(
        week_monday(day_number(2027, 1, 3)),
        day_number(2026, 12, 28)
    );
    assert!(parse_show_id("ATWM290200").is_some()); // 2000 is leap
    assert!(parse_show_id("ATWM290296").is_some());
    assert!(parse_show_id("ATWM290227").is_none());
    assert!(parse_show_id("ATWM310426").is_none());
    assert!(parse_show_id("ATWM001126").is_none());
    assert!(parse_show_id("ATWM011326").is_none());
    assert!(parse_show_id("ATWM010026").is_none());
    assert!(parse_show_id("ATWX011126").is_none());
    assert!(parse_show_id("atwM011126").is_none());
    assert!(parse_show_id("ATWM01112").is_none());
    assert!(parse_show_id("ATWM0111266").is_none());
    assert!(parse_show_id("ATWM01 126").is_none());
    assert!(parse_user("ATWC0000").is_some());
    assert!(parse_user("ATWX0000").is_none());
    assert!(parse_user("ATWC000").is_none());
    assert!(parse_user("ATWC00000").is_none());
    assert!(parse_user("ATWC000a").is_none());
    assert!(parse_user("MTLC0000").is_none());
    assert!(parse_user("ATWc0000").is_none());
}

#[test]
fn spec_examples() {
    run(vec![
        (
            add("ATWA1000", "Avatar", "ATWM251126", 10),
            Ok(Success::ShowAdded),
        ),
        (
            add("ATWA1000", "Avatar", "ATWM251126", 4),
            Ok(Success::ShowUpdated(10)),
        ),
        (
            add("VERA1000", "Avatar", "ATWE251126", 5),
            Err(E::NotAuthorized),
        ),
        (
            add("ATWA1000", "Titanic", "ATWA031226", 5),
            Err(E::OutsideWindow),
        ),
        (
            book("ATWC0001", "ATWC0001", "Avatar", "ATWM251126", 2),
            booked(2, 2),
        ),
        (
            book("ATWC0001", "ATWC0001", "Avatar", "ATWM251126", 3),
            Err(E::ShowFull(2)),
        ),
        (
            add("OUTA1000", "Avatar", "OUTM251126", 10),
            Ok(Success::ShowAdded),
        ),
        (
            book("ATWC0001", "ATWC0001", "Avatar", "OUTM251126", 1),
            Err(E::SameShowOtherArea),
        ),
        (
            add("VERA1000", "Titanic", "VERM241126", 10),
            Ok(Success::ShowAdded),
        ),
        (
            add("VERA1000", "Titanic", "VERA261126", 10),
            Ok(Success::ShowAdded),
        ),
        (
            add("OUTA1000", "Titanic", "OUTE291126", 10),
            Ok(Success::ShowAdded),
        ),
        (
            add("OUTA1000", "Titanic", "OUTM271126", 10),
            Ok(Success::ShowAdded),
        ),
        (
            add("OUTA1000", "Titanic", "OUTM301126", 10),
            Ok(Success::ShowAdded),
        ),
        (
            book("ATWC0001", "ATWC0001", "Titanic", "VERM241126", 1),
            booked(1, 9),
        ),
        (
            book("ATWC0001", "ATWC0001", "Titanic", "VERA261126", 1),
            booked(1, 9),
        ),
        (
            book("ATWC0001", "ATWC0001", "Titanic", "OUTE291126", 1),
            booked(1, 9),
        ),
        (
            book("ATWC0001", "ATWC0001", "Titanic", "OUTM271126", 1),
            Err(E::WeeklyLimit),
        ),
        (
            book("ATWC0001", "ATWC0001", "Titanic", "OUTM301126", 1),
            booked(1, 9),
        ),
        (
            cancel("ATWC0001", "ATWC0001", "Avatar", "ATWM251126", 5),
            Err(E::TooManyTickets(2)),
        ),
    ]);
}

#[test]
fn validation_order() {
    // Each step has two faults; the earlier field in the signature decides.
    run(vec![
        (add("atwa1000", "Nope", "x", 0), Err(E::InvalidUserId)),
        (add("ATWA1000", "avatar", "x", 0), Err(E::UnknownMovie)),
        (
            add("ATWA1000", "Avatar", "ATWM310226", 0),
            Err(E::InvalidShowId),
        ),
        (
            add("ATWA1000", "Avatar", "ATWM251126", 0),
            Err(E::InvalidCapacity),
        ),
        (
            add("ATWA1000", "Avatar", "ATWM251126", 10_001),
            Err(E::InvalidCapacity),
        ),
        (
            add("ATWC1000", "Avatar", "ATWM251126", 10_001),
            Err(E::InvalidCapacity),
        ),
        (rm("ATWA10000", "Avatar", "x"), Err(E::InvalidUserId)),
        (rm("ATWA1000", "Avatars", "x"), Err(E::UnknownMovie)),
        (
            rm("ATWA1000", "Avatar", "ATWN251126"),
            Err(E::InvalidShowId),
        ),
        (avail("VERX0001", "Nope"), Err(E::InvalidUserId)),
        (avail("VERC0001", "Nope"), Err(E::UnknownMovie)),
        (
            book("ATWC0001", "ATWZ0001", "Nope", "x", 0),
            Err(E::InvalidUserId),
        ),
        (
            book("ATWC0001", "ATWC0001", "Nope", "x", 0),
            Err(E::UnknownMovie),
        ),
        (
            book("ATWC0001", "ATWC0001", "Avatar", "x", 0),
            Err(E::InvalidShowId),
        ),
        (
            book("ATWC0001", "ATWC0001", "Avatar", "ATWM251126", 0),
            Err(E::InvalidTickets),
        ),
        (
            book("ATWC0001", "ATWC0002", "Avatar", "ATWM251126", 10_001),
            Err(E::InvalidTickets),
        ),
        (sched("ATWC001", "x"), Err(E::InvalidUserId)),
        (sched("ATWC0001", "x"), Err(E::InvalidUserId)),
        (
            cancel("ATWC0001", "ATWC0001", "Avatar", "ATWM251126", 0),
            Err(E::InvalidTickets),
        ),
        (
            cancel("ATWC0001", "ATWC0001", "X", "ATWM251126", 0),
            Err(E::UnknownMovie),
        ),
        (
            exch("ATWC0001", "ATWC0001", "Avatar", "bad", "Nope", "bad", 0),
            Err(E::InvalidShowId),
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
            Err(E::UnknownMovie),
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
            Err(E::InvalidShowId),
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
            Err(E::InvalidTickets),
        ),
        (
            exch(
                "ATWC0001",
                "ATWA0001",
                "Avatar",
                "ATWM251126",
                "Avatar",
                "ATWM251126",
                1,
            ),
            Err(E::NotAuthorized),
        ),
    ]);
}

#[test]
fn add_show_cases() {
    let mut r = TableReplica::default();
    let later = (2026, 11, 26);
    script(
        &mut r,
        vec![
            // Authorisation precedes the window check.
            (
                TODAY,
                add("ATWC1000", "Avatar", "ATWM231126", 5),
                Err(E::NotAuthorized),
            ),
            (
                TODAY,
                add("OUTA1000", "Avatar", "ATWM231126", 5),
                Err(E::NotAuthorized),
            ),
            (
                TODAY,
                add("ATWA1000", "Avatar", "ATWM231126", 5),
                Err(E::OutsideWindow),
            ),
            (
                TODAY,
                add("ATWA1000", "Avatar", "ATWM021226", 5),
                Err(E::OutsideWindow),
            ),
            // Window edges: today and today + 7 (across a month boundary).
            (
                TODAY,
                add("ATWA1000", "Avatar", "ATWE241126", 5),
                Ok(Success::ShowAdded),
            ),
            (
                TODAY,
                add("ATWA1000", "Avatar", "ATWM011226", 5),
                Ok(Success::ShowAdded),
            ),
            (
                TODAY,
                add("ATWA1000", "Titanic", "ATWM011226", 3),
                Ok(Success::ShowAdded),
            ),
            (
                TODAY,
                book("ATWA1000", "VERC0009", "Avatar", "ATWM011226", 3),
                booked(3, 2),
            ),
            (
                TODAY,
                add("ATWA1000", "Avatar", "ATWM011226", 2),
                Err(E::CapacityBelowBooked),
            ),
            (
                TODAY,
                add("ATWA1000", "Avatar", "ATWM011226", 3),
                Ok(Success::ShowUpdated(5)),
            ),
            (
                TODAY,
                add("ATWA1000", "Avatar", "ATWM011226", 3),
                Ok(Success::ShowUpdated(3)),
            ),
            // Two days later the show dated today is past: no longer updatable.
            (
                later,
                add("ATWA1000", "Avatar", "ATWE241126", 9),
                Err(E::OutsideWindow),
            ),
            // A year-crossing window.
            (
                (2026, 12, 28),
                add("ATWA1000", "Avatar", "ATWM040127", 1),
                Ok(Success::ShowAdded),
            ),
            (
                (2026, 12, 28),
                add("ATWA1000", "Avatar", "ATWM050127", 1),
                Err(E::OutsideWindow),
            ),
            // Leap day 2028.
            (
                (2028, 2, 25),
                add("ATWA1000", "Avatar", "ATWA290228", 1),
                Ok(Success::ShowAdded),
            ),
        ],
    );
}

#[test]
fn availability_cases() {
    run(vec![
        (avail("OUTC0001", "Avatar"), avail_list(&[])),
        (
            add("VERA1000", "Avatar", "VERM251126", 5),
            Ok(Success::ShowAdded),
        ),
        (
            add("OUTA1000", "Avatar", "OUTM251126", 5),
            Ok(Success::ShowAdded),
        ),
        (
            add("ATWA1000", "Avatar", "ATWA251126", 5),
            Ok(Success::ShowAdded),
        ),
        (
            add("ATWA1000", "Avatar", "ATWM251126", 2),
            Ok(Success::ShowAdded),
        ),
        (
            add("ATWA1000", "Avatar", "ATWE241126", 7),
            Ok(Success::ShowAdded),
        ),
        (
            add("ATWA1000", "Titanic", "ATWM241126", 7),
            Ok(Success::ShowAdded),
        ),
        (
            book("ATWC0001", "ATWC0001", "Avatar", "ATWM251126", 2),
            booked(2, 0),
        ),
        (
            avail("VERC0002", "Avatar"),
            avail_list(&[
                ("ATWE241126", 7),
                ("ATWM251126", 0),
                ("OUTM251126", 5),
                ("VERM251126", 5),
                ("ATWA251126", 5),
            ]),
        ),
        (
            avail("VERA0002", "Titanic"),
            avail_list(&[("ATWM241126", 7)]),
        ),
        (avail("VERA0002", "Avengers"), avail_list(&[])),
    ]);
    // Past shows are left out; a show dated today is not past.
    let mut r = TableReplica::default();
    script(
        &mut r,
        vec![
            (
                TODAY,
                add("ATWA1000", "Avatar", "ATWE241126", 7),
                Ok(Success::ShowAdded),
            ),
            (
                TODAY,
                add("ATWA1000", "Avatar", "ATWM251126", 7),
                Ok(Success::ShowAdded),
            ),
            (
                (2026, 11, 25),
                avail("ATWC0001", "Avatar"),
                avail_list(&[("ATWM251126", 7)]),
            ),
        ],
    );
}

#[test]
fn book_cases() {
    let mut r = TableReplica::default();
    let next_day = (2026, 11, 25);
    script(
        &mut r,
        vec![
            (
                TODAY,
                add("ATWA1000", "Avatar", "ATWE241126", 10),
                Ok(Success::ShowAdded),
            ),
            (
                TODAY,
                add("ATWA1000", "Avatar", "ATWM261126", 10),
                Ok(Success::ShowAdded),
            ),
            (
                TODAY,
                add("OUTA1000", "Avatar", "OUTM261126", 10),
                Ok(Success::ShowAdded),
            ),
            (
                TODAY,
                add("OUTA1000", "Titanic", "OUTM261126", 10),
                Ok(Success::ShowAdded),
            ),
            (
                TODAY,
                add("OUTA1000", "Avengers", "OUTM261126", 10),
                Ok(Success::ShowAdded),
            ),
            (
                TODAY,
                add("OUTA1000", "Avatar", "OUTA261126", 10),
                Ok(Success::ShowAdded),
            ),
            (
                TODAY,
                add("VERA1000", "Avatar", "VERE271126", 1),
                Ok(Success::ShowAdded),
            ),
            // Authorisation: a customer only for itself; an admin customer never.
            (
                TODAY,
                book("ATWC0001", "ATWC0002", "Avatar", "ATWE241126", 1),
                Err(E::NotAuthorized),
            ),
            (
                TODAY,
                book("ATWA1000", "ATWA1000", "Avatar", "ATWE241126", 1),
                Err(E::NotAuthorized),
            ),
            (
                TODAY,
                book("ATWC0001", "ATWA1000", "Avatar", "NOPE", 1),
                Err(E::InvalidShowId),
            ),
            // Not-authorized precedes show-not-found.
            (
                TODAY,
                book("ATWC0001", "ATWC0002", "Titanic", "ATWE241126", 1),
                Err(E::NotAuthorized),
            ),
            (
                TODAY,
                book("ATWC0001", "ATWC0001", "Titanic", "ATWE241126", 1),
                Err(E::ShowNotFound),
            ),
            // An admin of another area may act for any customer.
            (
                TODAY,
                book("VERA1000", "ATWC0001", "Avatar", "ATWE241126", 1),
                booked(1, 9),
            ),
            (
                TODAY,
                book("ATWC0001", "ATWC0001", "Avatar", "ATWE241126", 2),
                booked(3, 7),
            ),
            // The next day the show is past (the show is not found first though).
            (
                next_day,
                book("ATWC0001", "ATWC0001", "Avatar", "ATWE241126", 1),
                Err(E::PastShow),
            ),
            (
                next_day,
                book("ATWC0001", "ATWC0001", "Avatar", "ATWE231126", 1),
                Err(E::ShowNotFound),
            ),
            // Same-show rule: only the same movie at the same date and slot elsewhere.
            (
                TODAY,
                book("ATWC0001", "ATWC0001", "Avatar", "ATWM261126", 1),
                booked(1, 9),
            ),
            (
                TODAY,
                book("ATWC0001", "ATWC0001", "Avatar", "OUTM261126", 1),
                Err(E::SameShowOtherArea),
            ),
            (
                TODAY,
                book("ATWC0001", "ATWC0001", "Titanic", "OUTM261126", 1),
                booked(1, 9),
            ),
            (
                TODAY,
                book("ATWC0001", "ATWC0001", "Avatar", "OUTA261126", 1),
                booked(1, 9),
            ),
            // Two movies on one show ID count twice: this is the third away booking.
            (
                TODAY,
                book("ATWC0001", "ATWC0001", "Avengers", "OUTM261126", 1),
                booked(1, 9),
            ),
            (
                TODAY,
                book("ATWC0001", "ATWC0001", "Avatar", "VERE271126", 1),
                Err(E::WeeklyLimit),
            ),
            // More tickets on an already held away show are not a new movie.
            (
                TODAY,
                book("ATWC0001", "ATWC0001", "Titanic", "OUTM261126", 2),
                booked(3, 7),
            ),
            // Home-area shows are never limited.
            (
                TODAY,
                book("ATWC0001", "ATWC0001", "Avatar", "ATWM261126", 1),
                booked(2, 8),
            ),
            // Another customer: the limit is per customer; then show-full with remaining 0.
            (
                TODAY,
                book("ATWC0002", "ATWC0002", "Avatar", "VERE271126", 1),
                booked(1, 0),
            ),
            (
                TODAY,
                book("ATWC0003", "ATWC0003", "Avatar", "VERE271126", 1),
                Err(E::ShowFull(0)),
            ),
            // Weekly limit precedes show-full; same-show precedes weekly-limit.
            (
                TODAY,
                book("ATWC0001", "ATWC0001", "Avatar", "VERE271126", 5),
                Err(E::WeeklyLimit),
            ),
            (
                TODAY,
                book("ATWC0001", "ATWC0001", "Avatar", "OUTM261126", 50),
                Err(E::SameShowOtherArea),
            ),
            // A VER customer booking at OUT is away too; at VER it is home.
            (
                TODAY,
                book("VERC0001", "VERC0001", "Avatar", "OUTM261126", 10),
                booked(10, 0),
            ),
        ],
    );
}

#[test]
fn weekly_limit_counts_past_bookings() {
    let mut r = TableReplica::default();
    let monday = (2026, 11, 23);
    script(
        &mut r,
        vec![
            (
                monday,
                add("OUTA1000", "Avatar", "OUTM231126", 5),
                Ok(Success::ShowAdded),
            ),
            (
                monday,
                add("OUTA1000", "Avatar", "OUTM241126", 5),
                Ok(Success::ShowAdded),
            ),
            (
                monday,
                add("VERA1000", "Avatar", "VERM251126", 5),
                Ok(Success::ShowAdded),
            ),
            (
                monday,
                add("VERA1000", "Avatar", "VERM291126", 5),
                Ok(Success::ShowAdded),
            ),
            (
                monday,
                book("ATWC0001", "ATWC0001", "Avatar", "OUTM231126", 1),
                booked(1, 4),
            ),
            (
                monday,
                book("ATWC0001", "ATWC0001", "Avatar", "OUTM241126", 1),
                booked(1, 4),
            ),
            (
                monday,
                book("ATWC0001", "ATWC0001", "Avatar", "VERM251126", 1),
                booked(1, 4),
            ),
            // Thursday: two of the three are past, still held, still counted.
            (
                (2026, 11, 26),
                book("ATWC0001", "ATWC0001", "Avatar", "VERM291126", 1),
                Err(E::WeeklyLimit),
            ),
        ],
    );
}

#[test]
fn schedule_cases() {
    run(vec![
        (sched("ATWC0001", "ATWC0001"), sched_list(&[])),
        (sched("ATWC0001", "ATWC0002"), Err(E::NotAuthorized)),
        (sched("ATWA0001", "ATWA0001"), Err(E::NotAuthorized)),
        (
            add("VERA1000", "Titanic", "VERM251126", 5),
            Ok(Success::ShowAdded),
        ),
        (
            add("ATWA1000", "Titanic", "ATWM251126", 5),
            Ok(Success::ShowAdded),
        ),
        (
            add("ATWA1000", "Avatar", "ATWM251126", 5),
            Ok(Success::ShowAdded),
        ),
        (
            add("ATWA1000", "Avatar", "ATWE241126", 5),
            Ok(Success::ShowAdded),
        ),
        (
            book("ATWC0001", "ATWC0001", "Titanic", "VERM251126", 1),
            booked(1, 4),
        ),
        (
            book("ATWC0001", "ATWC0001", "Titanic", "ATWM251126", 4),
            Err(E::SameShowOtherArea),
        ),
        (
            book("ATWC0001", "ATWC0001", "Avatar", "ATWM251126", 2),
            booked(2, 3),
        ),
        (
            book("ATWC0001", "ATWC0001", "Avatar", "ATWE241126", 3),
            booked(3, 2),
        ),
        (
            sched("OUTA0001", "ATWC0001"),
            sched_list(&[
                ("Avatar", "ATWE241126", 3),
                ("Avatar", "ATWM251126", 2),
                ("Titanic", "VERM251126", 1),
            ]),
        ),
    ]);
    // Past bookings stay in the schedule.
    let mut r = TableReplica::default();
    script(
        &mut r,
        vec![
            (
                TODAY,
                add("ATWA1000", "Avatar", "ATWE241126", 5),
                Ok(Success::ShowAdded),
            ),
            (
                TODAY,
                book("ATWC0001", "ATWC0001", "Avatar", "ATWE241126", 3),
                booked(3, 2),
            ),
            (
                (2027, 1, 1),
                sched("ATWC0001", "ATWC0001"),
                sched_list(&[("Avatar", "ATWE241126", 3)]),
            ),
        ],
    );
}

#[test]
fn cancel_cases() {
    let mut r = TableReplica::default();
    script(
        &mut r,
        vec![
            (
                TODAY,
                add("ATWA1000", "Avatar", "ATWE241126", 5),
                Ok(Success::ShowAdded),
            ),
            (
                TODAY,
                book("ATWC0001", "ATWC0001", "Avatar", "ATWE241126", 3),
                booked(3, 2),
            ),
            (
                TODAY,
                cancel("ATWC0002", "ATWC0001", "Avatar", "ATWE241126", 1),
                Err(E::NotAuthorized),
            ),
            // No such show at all, or no booking on it: not-booked.
            (
                TODAY,
                cancel("ATWC0001", "ATWC0001", "Titanic", "ATWE241126", 1),
                Err(E::NotBooked),
            ),
            (
                TODAY,
                cancel("ATWC0002", "ATWC0002", "Avatar", "ATWE241126", 1),
                Err(E::NotBooked),
            ),
            // Not-booked precedes past-show; past-show precedes too-many-tickets.
            (
                (2026, 11, 25),
                cancel("ATWC0002", "ATWC0002", "Avatar", "ATWE241126", 9),
                Err(E::NotBooked),
            ),
            (
                (2026, 11, 25),
                cancel("ATWC0001", "ATWC0001", "Avatar", "ATWE241126", 9),
                Err(E::PastShow),
            ),
            (
                TODAY,
                cancel("ATWC0001", "ATWC0001", "Avatar", "ATWE241126", 4),
                Err(E::TooManyTickets(3)),
            ),
            (
                TODAY,
                cancel("VERA0001", "ATWC0001", "Avatar", "ATWE241126", 1),
                Ok(Success::Cancelled(2)),
            ),
            (
                TODAY,
                avail("ATWC0001", "Avatar"),
                avail_list(&[("ATWE241126", 3)]),
            ),
            (
                TODAY,
                cancel("ATWC0001", "ATWC0001", "Avatar", "ATWE241126", 2),
                Ok(Success::Cancelled(0)),
            ),
            (TODAY, sched("ATWC0001", "ATWC0001"), sched_list(&[])),
            (
                TODAY,
                cancel("ATWC0001", "ATWC0001", "Avatar", "ATWE241126", 1),
                Err(E::NotBooked),
            ),
            (
                TODAY,
                avail("ATWC0001", "Avatar"),
                avail_list(&[("ATWE241126", 5)]),
            ),
        ],
    );
}

#[test]
fn exchange_cases() {
    let mut r = TableReplica::default();
    let c = "ATWC0001";
    script(
        &mut r,
        vec![
            (
                TODAY,
                add("ATWA1000", "Avatar", "ATWM251126", 10),
                Ok(Success::ShowAdded),
            ),
            (
                TODAY,
                add("ATWA1000", "Titanic", "ATWM251126", 10),
                Ok(Success::ShowAdded),
            ),
            (
                TODAY,
                add("ATWA1000", "Avatar", "ATWE241126", 10),
                Ok(Success::ShowAdded),
            ),
            (
                TODAY,
                add("OUTA1000", "Avatar", "OUTM251126", 2),
                Ok(Success::ShowAdded),
            ),
            (
                TODAY,
                add("OUTA1000", "Avatar", "OUTA251126", 9),
                Ok(Success::ShowAdded),
            ),
            (
                TODAY,
                add("OUTA1000", "Avatar", "OUTE251126", 9),
                Ok(Success::ShowAdded),
            ),
            (
                TODAY,
                add("VERA1000", "Avatar", "VERM261126", 9),
                Ok(Success::ShowAdded),
            ),
            (TODAY, book(c, c, "Avatar", "ATWM251126", 3), booked(3, 7)),
            (TODAY, book(c, c, "Avatar", "ATWE241126", 2), booked(2, 8)),
            // same-show precedes not-booked and show-not-found.
            (
                TODAY,
                exch(c, c, "Titanic", "OUTM011226", "Titanic", "OUTM011226", 1),
                Err(E::SameShow),
            ),
            (
                TODAY,
                exch(
                    c,
                    "ATWC0002",
                    "Avatar",
                    "ATWM251126",
                    "Avatar",
                    "ATWM251126",
                    1,
                ),
                Err(E::NotAuthorized),
            ),
            (
                TODAY,
                exch(c, c, "Titanic", "ATWM251126", "Avatar", "ATWM251126", 1),
                Err(E::NotBooked),
            ),
            (
                (2026, 11, 25),
                exch(c, c, "Avatar", "ATWE241126", "Avatar", "NOTM251126", 1),
                Err(E::InvalidShowId),
            ),
            (
                (2026, 11, 25),
                exch(c, c, "Avatar", "ATWE241126", "Avatar", "ATWM011126", 9),
                Err(E::PastShow),
            ),
            (
                TODAY,
                exch(c, c, "Avatar", "ATWM251126", "Avatar", "ATWE251126", 4),
                Err(E::TooManyTickets(3)),
            ),
            (
                TODAY,
                exch(c, c, "Avatar", "ATWM251126", "Avatar", "ATWE251126", 3),
                Err(E::ShowNotFound),
            ),
            (
                (2026, 11, 25),
                exch(c, c, "Avatar", "ATWM251126", "Avatar", "ATWE241126", 3),
                Err(E::PastShow),
            ),
            // Partial move to the same slot elsewhere: the old booking still counts.
            (
                TODAY,
                exch(c, c, "Avatar", "ATWM251126", "Avatar", "OUTM251126", 1),
                Err(E::SameShowOtherArea),
            ),
            // Whole move: the emptied old booking no longer counts; show-full is next.
            (
                TODAY,
                exch(c, c, "Avatar", "ATWM251126", "Avatar", "OUTM251126", 3),
                Err(E::ShowFull(2)),
            ),
            // Same show ID, another movie: a different show.
            (
                TODAY,
                exch(c, c, "Avatar", "ATWM251126", "Titanic", "ATWM251126", 1),
                exchanged(2, 1),
            ),
            (
                TODAY,
                exch(c, c, "Avatar", "ATWM251126", "Avatar", "OUTM251126", 2),
                exchanged(0, 2),
            ),
            (
                TODAY,
                sched(c, c),
                sched_list(&[
                    ("Avatar", "ATWE241126", 2),
                    ("Titanic", "ATWM251126", 1),
                    ("Avatar", "OUTM251126", 2),
                ]),
            ),
            (
                TODAY,
                avail(c, "Avatar"),
                avail_list(&[
                    ("ATWE241126", 8),
                    ("ATWM251126", 10),
                    ("OUTM251126", 0),
                    ("OUTA251126", 9),
                    ("OUTE251126", 9),
                    ("VERM261126", 9),
                ]),
            ),
            // One away booking so far (OUTM): two more are allowed...
            (TODAY, book(c, c, "Avatar", "OUTA251126", 1), booked(1, 8)),
            (TODAY, book(c, c, "Avatar", "OUTE251126", 1), booked(1, 8)),
            (
                TODAY,
                book(c, c, "Avatar", "VERM261126", 1),
                Err(E::WeeklyLimit),
            ),
            // ...and a fourth only when the exchange empties an away booking.
            (
                TODAY,
                exch(c, c, "Avatar", "OUTM251126", "Avatar", "VERM261126", 1),
                Err(E::WeeklyLimit),
            ),
            (
                TODAY,
                exch(c, c, "Avatar", "OUTM251126", "Avatar", "VERM261126", 2),
                exchanged(0, 2),
            ),
            // Exchanging more tickets into a show already held adds to the booking.
            (
                TODAY,
                exch(c, c, "Avatar", "ATWE241126", "Avatar", "VERM261126", 1),
                exchanged(1, 3),
            ),
        ],
    );
}

#[test]
fn remove_show_cases() {
    let mut r = TableReplica::default();
    script(
        &mut r,
        vec![
            (
                TODAY,
                add("ATWA1000", "Avatar", "ATWA251126", 10),
                Ok(Success::ShowAdded),
            ),
            (
                TODAY,
                add("ATWA1000", "Avatar", "ATWM251126", 3),
                Ok(Success::ShowAdded),
            ),
            (
                TODAY,
                add("ATWA1000", "Avatar", "ATWE251126", 3),
                Ok(Success::ShowAdded),
            ),
            (
                TODAY,
                add("ATWA1000", "Titanic", "ATWE251126", 50),
                Ok(Success::ShowAdded),
            ),
            (
                TODAY,
                add("OUTA1000", "Avatar", "OUTE251126", 50),
                Ok(Success::ShowAdded),
            ),
            (
                TODAY,
                add("ATWA1000", "Avatar", "ATWM261126", 4),
                Ok(Success::ShowAdded),
            ),
            (
                TODAY,
                add("ATWA1000", "Avatar", "ATWE241126", 50),
                Ok(Success::ShowAdded),
            ),
            // Bookings on ATWA251126, made out of customer order.
            (
                TODAY,
                book("VERC0001", "VERC0001", "Avatar", "ATWA251126", 2),
                booked(2, 8),
            ),
            (
                TODAY,
                book("ATWC0002", "ATWC0002", "Avatar", "ATWA251126", 4),
                booked(4, 4),
            ),
            (
                TODAY,
                book("ATWC0001", "ATWC0001", "Avatar", "ATWA251126", 2),
                booked(2, 2),
            ),
            (
                TODAY,
                book("OUTC0001", "OUTC0001", "Avatar", "ATWA251126", 1),
                booked(1, 1),
            ),
            (
                TODAY,
                book("OUTC0001", "OUTC0001", "Avatar", "ATWM261126", 1),
                booked(1, 3),
            ),
            (
                TODAY,
                rm("ATWC1000", "Avatar", "ATWA251126"),
                Err(E::NotAuthorized),
            ),
            (
                TODAY,
                rm("OUTA1000", "Avatar", "ATWA251126"),
                Err(E::NotAuthorized),
            ),
            (
                TODAY,
                rm("ATWA1000", "Avengers", "ATWA251126"),
                Err(E::ShowNotFound),
            ),
            (
                (2026, 11, 25),
                rm("ATWA1000", "Avatar", "ATWE241126"),
                Err(E::PastShow),
            ),
            // In customer order: ATWC0001 (2) fills ATWE251126 to 1 left; ATWC0002 (4) fits
            // neither ATWE251126 (1) nor ATWM261126 (3): dropped; OUTC0001 (1) takes the last
            // seat of ATWE251126; VERC0001 (2) goes on to ATWM261126. ATWM251126 comes
            // earlier, Titanic and OUT are other shows: never targets.
            (
                TODAY,
                rm("ATWA1000", "Avatar", "ATWA251126"),
                removed(
                    &[
                        ("ATWC0001", "ATWE251126", 2),
                        ("OUTC0001", "ATWE251126", 1),
                        ("VERC0001", "ATWM261126", 2),
                    ],
                    &[("ATWC0002", 4)],
                ),
            ),
            (
                TODAY,
                rm("ATWA1000", "Avatar", "ATWA251126"),
                Err(E::ShowNotFound),
            ),
            (
                TODAY,
                sched("OUTC0001", "OUTC0001"),
                sched_list(&[("Avatar", "ATWE251126", 1), ("Avatar", "ATWM261126", 1)]),
            ),
            (TODAY, sched("ATWC0002", "ATWC0002"), sched_list(&[])),
            (
                TODAY,
                avail("ATWC0002", "Avatar"),
                avail_list(&[
                    ("ATWE241126", 50),
                    ("ATWM251126", 3),
                    ("ATWE251126", 0),
                    ("OUTE251126", 50),
                    ("ATWM261126", 1),
                ]),
            ),
            // A move merges into the customer's booking on the target show.
            (
                TODAY,
                rm("ATWA1000", "Avatar", "ATWE251126"),
                removed(&[("OUTC0001", "ATWM261126", 1)], &[("ATWC0001", 2)]),
            ),
            (
                TODAY,
                sched("OUTC0001", "OUTC0001"),
                sched_list(&[("Avatar", "ATWM261126", 2)]),
            ),
            (
                TODAY,
                rm("ATWA1000", "Avatar", "ATWE241126"),
                removed(&[], &[]),
            ),
        ],
    );
    // Later targets may be outside the window; moves merge and skip the weekly limit.
    let mut r = TableReplica::default();
    let c = "ATWC0001";
    script(
        &mut r,
        vec![
            (
                TODAY,
                add("OUTA1000", "Avatar", "OUTM241126", 5),
                Ok(Success::ShowAdded),
            ),
            (
                TODAY,
                add("OUTA1000", "Avatar", "OUTM251126", 5),
                Ok(Success::ShowAdded),
            ),
            (
                TODAY,
                add("OUTA1000", "Avatar", "OUTM261126", 5),
                Ok(Success::ShowAdded),
            ),
            (
                TODAY,
                add("OUTA1000", "Avatar", "OUTM271126", 5),
                Ok(Success::ShowAdded),
            ),
            (
                TODAY,
                add("OUTA1000", "Titanic", "OUTM281126", 5),
                Ok(Success::ShowAdded),
            ),
            (TODAY, book(c, c, "Avatar", "OUTM241126", 1), booked(1, 4)),
            (TODAY, book(c, c, "Avatar", "OUTM251126", 1), booked(1, 4)),
            (TODAY, book(c, c, "Avatar", "OUTM261126", 1), booked(1, 4)),
            (
                TODAY,
                book(c, c, "Titanic", "OUTM281126", 1),
                Err(E::WeeklyLimit),
            ),
            (
                TODAY,
                rm("OUTA1000", "Avatar", "OUTM241126"),
                removed(&[(c, "OUTM251126", 1)], &[]),
            ),
            (
                (2026, 11, 30),
                add("OUTA1000", "Avatar", "OUTA031226", 5),
                Ok(Success::ShowAdded),
            ),
            // Today is back to the 24th: OUTA031226 lies beyond the window, still a target.
            (TODAY, book(c, c, "Avatar", "OUTM271126", 1), booked(1, 4)),
            (
                TODAY,
                rm("OUTA1000", "Avatar", "OUTM271126"),
                removed(&[(c, "OUTA031226", 1)], &[]),
            ),
            (
                TODAY,
                sched(c, c),
                sched_list(&[
                    ("Avatar", "OUTM251126", 2),
                    ("Avatar", "OUTM261126", 1),
                    ("Avatar", "OUTA031226", 1),
                ]),
            ),
            // Moves skip the weekly limit and the same-show rule: c holds 3 away bookings
            // that week, ATWC0005 holds Avatar at VER on the target's date and slot.
            (TODAY, book(c, c, "Titanic", "OUTM281126", 1), booked(1, 4)),
            (
                TODAY,
                add("OUTA1000", "Avatar", "OUTE261126", 5),
                Ok(Success::ShowAdded),
            ),
            (
                TODAY,
                add("VERA1000", "Avatar", "VERE261126", 5),
                Ok(Success::ShowAdded),
            ),
            (
                TODAY,
                book(c, c, "Avatar", "OUTE261126", 1),
                Err(E::WeeklyLimit),
            ),
            (
                TODAY,
                book("ATWC0005", "ATWC0005", "Avatar", "VERE261126", 1),
                booked(1, 4),
            ),
            (
                TODAY,
                book("ATWC0005", "ATWC0005", "Avatar", "OUTM261126", 1),
                booked(1, 3),
            ),
            (
                TODAY,
                rm("OUTA1000", "Avatar", "OUTM261126"),
                removed(&[(c, "OUTE261126", 1), ("ATWC0005", "OUTE261126", 1)], &[]),
            ),
        ],
    );
}

// ---------------------------------------------------------------------------------------------
// Canonical state.

fn show_e(movie: &str, id: &str, capacity: u32) -> ShowEntry {
    ShowEntry {
        movie: s(movie),
        show_id: s(id),
        capacity,
    }
}
fn book_e(customer: &str, movie: &str, id: &str, tickets: u32) -> BookingEntry {
    BookingEntry {
        customer: s(customer),
        movie: s(movie),
        show_id: s(id),
        tickets,
    }
}

fn good_state() -> CanonicalState {
    CanonicalState {
        shows: vec![
            show_e("Avatar", "OUTM011225", 5),
            show_e("Avatar", "ATWM251126", 5),
            show_e("Titanic", "ATWM251126", 5),
            show_e("Avatar", "VERM251126", 5),
            show_e("Avatar", "ATWE251126", 5),
        ],
        bookings: vec![
            book_e("ATWC0001", "Avatar", "ATWM251126", 2),
            book_e("ATWC0001", "Titanic", "ATWM251126", 3),
            book_e("ATWC0001", "Avatar", "ATWE251126", 3),
            book_e("OUTC0001", "Avatar", "OUTM011225", 1),
            book_e("OUTC0001", "Avatar", "ATWM251126", 3),
        ],
    }
}

#[test]
fn export_order_and_round_trip() {
    let mut r = TableReplica::default();
    script(
        &mut r,
        vec![
            (
                TODAY,
                add("VERA1000", "Avatar", "VERM251126", 5),
                Ok(Success::ShowAdded),
            ),
            (
                TODAY,
                add("ATWA1000", "Avatar", "ATWE251126", 5),
                Ok(Success::ShowAdded),
            ),
            (
                TODAY,
                add("ATWA1000", "Titanic", "ATWM251126", 5),
                Ok(Success::ShowAdded),
            ),
            (
                TODAY,
                add("ATWA1000", "Avatar", "ATWM251126", 5),
                Ok(Success::ShowAdded),
            ),
            (
                TODAY,
                book("OUTC0001", "OUTC0001", "Avatar", "ATWM251126", 3),
                booked(3, 2),
            ),
            (
                TODAY,
                book("ATWC0001", "ATWC0001", "Avatar", "ATWE251126", 3),
                booked(3, 2),
            ),
            (
                TODAY,
                book("ATWC0001", "ATWC0001", "Titanic", "ATWM251126", 3),
                booked(3, 2),
            ),
            (
                TODAY,
                book("ATWC0001", "ATWC0001", "Avatar", "ATWM251126", 2),
                booked(2, 0),
            ),
        ],
    );
    // The 2025 show exists only via import (past shows are legal state).
    let mut want = good_state();
    want.shows.remove(0);
    want.bookings.remove(3);
    assert_eq!(text(&r.export_state()), text(&want));

    let mut other = TableReplica::default();
    other.import_state(good_state()).expect("accepted");
    assert_eq!(text(&other.export_state()), text(&good_state()));
    // The imported state works: OUTM011225 is past relative to TODAY.
    script(
        &mut other,
        vec![
            (
                TODAY,
                cancel("OUTC0001", "OUTC0001", "Avatar", "OUTM011225", 1),
                Err(E::PastShow),
            ),
            (
                TODAY,
                book("ATWC0002", "ATWC0002", "Avatar", "ATWM251126", 1),
                Err(E::ShowFull(0)),
            ),
        ],
    );
    // Importing an empty state empties the replica.
    other
        .import_state(CanonicalState {
            shows: vec![],
            bookings: vec![],
        })
        .expect("accepted");
    assert_eq!(
        text(&other.export_state()),
        text(&CanonicalState {
            shows: vec![],
            bookings: vec![]
        })
    );
}

#[test]
fn import_refusals() {
    use StateFault as F;
    use StateSection::{Bookings as B, Shows as S};
    type Edit = fn(&mut CanonicalState);
    let cases: Vec<(Edit, StateSection, u32, StateFault)> = vec![
        (|st| st.shows[2].movie = s("titanic"), S, 2, F::UnknownMovie),
        (
            |st| st.shows[3].show_id = s("VERM311126"),
            S,
            3,
            F::MalformedId,
        ),
        (
            |st| st.shows[1].show_id = s("atwm251126"),
            S,
            1,
            F::MalformedId,
        ),
        (|st| st.shows[4].capacity = 0, S, 4, F::CapacityOutOfRange),
        (
            |st| st.shows[4].capacity = 10_001,
            S,
            4,
            F::CapacityOutOfRange,
        ),
        (|st| st.shows.swap(2, 3), S, 3, F::OutOfOrder),
        (|st| st.shows.swap(0, 1), S, 1, F::OutOfOrder),
        (
            |st| st.shows[2] = show_e("Avatar", "ATWM251126", 5),
            S,
            2,
            F::Duplicate,
        ),
        (
            |st| st.bookings[0].customer = s("ATWA0001"),
            B,
            0,
            F::MalformedId,
        ),
        (
            |st| st.bookings[0].customer = s("ATWC001"),
            B,
            0,
            F::MalformedId,
        ),
        (|st| st.bookings[1].movie = s("Nope"), B, 1, F::UnknownMovie),
        (
            |st| st.bookings[1].show_id = s("ATWM25112"),
            B,
            1,
            F::MalformedId,
        ),
        (|st| st.bookings[2].tickets = 0, B, 2, F::ZeroTickets),
        (|st| st.bookings.swap(0, 1), B, 1, F::OutOfOrder),
        (|st| st.bookings.swap(3, 4), B, 4, F::OutOfOrder),
        (|st| st.bookings.swap(2, 3), B, 3, F::OutOfOrder),
        (
            |st| st.bookings[1] = book_e("ATWC0001", "Avatar", "ATWM251126", 1),
            B,
            1,
            F::Duplicate,
        ),
        (
            |st| st.bookings[3].show_id = s("OUTM021225"),
            B,
            3,
            F::UnknownShow,
        ),
        (
            |st| st.bookings[4].movie = s("Avengers"),
            B,
            4,
            F::UnknownShow,
        ),
        (|st| st.bookings[4].tickets = 4, S, 1, F::OverCapacity),
        (
            |st| st.bookings[2].tickets = u32::MAX,
            S,
            4,
            F::OverCapacity,
        ),
    ];
    for (i, (edit, section, index, fault)) in cases.into_iter().enumerate() {
        let mut r = TableReplica::default();
        script(
            &mut r,
            vec![
                (
                    TODAY,
                    add("ATWA1000", "Avengers", "ATWM241126", 7),
                    Ok(Success::ShowAdded),
                ),
                (
                    TODAY,
                    book("ATWC0009", "ATWC0009", "Avengers", "ATWM241126", 2),
                    booked(2, 5),
                ),
            ],
        );
        let before = text(&r.export_state());
        let mut st = good_state();
        edit(&mut st);
        let got = r.import_state(st);
        let want: Result<(), StateError> = Err(StateError {
            section,
            index,
            fault,
        });
        assert_eq!(text(&got), text(&want), "case {i}");
        assert_eq!(text(&r.export_state()), before, "case {i}: state changed");
    }
}

/// 100k bookings on 300 shows by 30k customers: import, export and requests stay cheap.
#[test]
fn large_state() {
    let mut shows = Vec::new();
    for day in 1..=25u32 {
        for area in ["ATW", "OUT", "VER"] {
            for slot in ["M", "A", "E"] {
                for movie in ["Avatar", "Avengers", "Titanic"] {
                    shows.push((movie, format!("{area}{slot}{day:02}1226")));
                }
            }
        }
    }
    let mut st = CanonicalState {
        shows: Vec::new(),
        bookings: Vec::new(),
    };
    let mut keyed: Vec<(ShowKey, ShowEntry)> = shows
        .iter()
        .map(|(m, id)| {
            let key = ShowKey::parse(parse_movie(m).unwrap(), id).unwrap();
            (key, show_e(m, id, 10_000))
        })
        .collect();
    keyed.sort_by_key(|(k, _)| *k);
    let n = keyed.len();
    st.shows = keyed.iter().map(|(_, e)| e.clone()).collect();
    for c in 0..30_000u32 {
        let mut mine: Vec<usize> = (0..4).map(|j| (c as usize * 7 + j * 131) % n).collect();
        mine.sort_unstable();
        mine.dedup();
        for i in mine.into_iter().take(if c % 3 == 0 { 4 } else { 3 }) {
            let e = &keyed[i].1;
            let area = ["ATW", "OUT", "VER"][c as usize / 10_000];
            let customer = format!("{area}C{:04}", c % 10_000);
            st.bookings.push(book_e(&customer, &e.movie, &e.show_id, 1));
        }
    }
    st.bookings.truncate(100_000);
    let total = st.bookings.len();
    let mut r = TableReplica::default();
    r.import_state(st.clone()).expect("accepted");
    assert_eq!(text(&r.export_state()), text(&st));
    assert!(total > 90_000);
    let today = (2026, 12, 2);
    for c in 0..2_000u32 {
        let cu = format!("ATWC{c:04}");
        assert!(matches!(
            r.apply(req(today, sched(&cu, &cu))),
            Ok(Success::Schedule(_))
        ));
        let out = r.apply(req(today, book(&cu, &cu, "Titanic", "VERE241226", 1)));
        assert!(matches!(
            out,
            Ok(Success::Booked(_)) | Err(E::WeeklyLimit | E::SameShowOtherArea)
        ));
    }
    let out = r.apply(req(today, rm("ATWA0001", "Avatar", "ATWM011226")));
    assert!(matches!(out, Err(E::PastShow)));
    let out = r.apply(req(today, rm("ATWA0001", "Avatar", "ATWM021226")));
    assert!(matches!(out, Ok(Success::ShowRemoved(_))));
}
