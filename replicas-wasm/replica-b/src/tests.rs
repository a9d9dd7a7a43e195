//! Unit tests, written from `shared/spec/booking-rules.md` and `docs/booking-rules.md` only.
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use std::format;

use dmtbs_guest::*;

use crate::ReplicaB;
use crate::lexicon::{Cell, day_number, monday_of, show_id_text};

use BookingError as E;

/// The generated contract types have `Debug` but not `PartialEq`: compare their debug forms,
/// which are structural.
macro_rules! same {
    ($a:expr, $b:expr $(,)?) => {
        same!($a, $b, "")
    };
    ($a:expr, $b:expr, $($msg:tt)+) => {{
        let (a, b) = (format!("{:?}", $a), format!("{:?}", $b));
        assert!(a == b, "left:  {a}\nright: {b}\n{}", format!($($msg)+));
    }};
}

/// 2026-11-24, a Tuesday (the spec's §8 "today").
const TODAY: (u16, u8, u8) = (2026, 11, 24);

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

fn s(x: &str) -> String {
    x.into()
}

/// The digest of rules §7.1 recomputed from scratch over an exported state.
fn digest_of(state: &CanonicalState) -> StateDigest {
    StateDigest::of(state)
}

/// The incrementally kept digest equals the one recomputed from `export_state`; returns the
/// export.
fn check_digest(r: &ReplicaB) -> CanonicalState {
    let kept = r.state_digest();
    let exported = r.export_state();
    assert_eq!(
        kept,
        digest_of(&exported),
        "kept digest differs from the export's"
    );
    exported
}

struct T {
    r: ReplicaB,
    today: (u16, u8, u8),
    /// The export taken by the last digest check (saves the random test a second export).
    exported: CanonicalState,
}

impl T {
    fn new() -> T {
        T {
            r: ReplicaB::default(),
            today: TODAY,
            exported: CanonicalState {
                shows: Vec::new(),
                bookings: Vec::new(),
            },
        }
    }
    fn on(mut self, today: (u16, u8, u8)) -> T {
        self.today = today;
        self
    }
    /// Apply one request; the kept digest must then match the exported state's.
    fn op(&mut self, op: Operation) -> Outcome {
        let out = self.r.apply(req(self.today, op));
        self.exported = check_digest(&self.r);
        out
    }
    /// Import a state; the kept digest must then match the exported state's (refused or not).
    fn import(&mut self, state: CanonicalState) -> Result<(), StateError> {
        let out = self.r.import_state(state);
        self.exported = check_digest(&self.r);
        out
    }
    fn add(&mut self, actor: &str, movie: &str, id: &str, capacity: u32) -> Outcome {
        self.op(Operation::AddShow(AddShow {
            actor: s(actor),
            movie: s(movie),
            show_id: s(id),
            capacity,
        }))
    }
    /// Add a show as its area's admin, expecting success.
    fn show(&mut self, movie: &str, id: &str, capacity: u32) {
        let admin = format!("{}A9999", &id[..3]);
        let r = self.add(&admin, movie, id, capacity);
        assert!(r.is_ok(), "{movie} {id}: {r:?}");
    }
    fn remove(&mut self, actor: &str, movie: &str, id: &str) -> Outcome {
        self.op(Operation::RemoveShow(RemoveShow {
            actor: s(actor),
            movie: s(movie),
            show_id: s(id),
        }))
    }
    fn avail(&mut self, actor: &str, movie: &str) -> Outcome {
        self.op(Operation::Availability(Availability {
            actor: s(actor),
            movie: s(movie),
        }))
    }
    fn book_as(&mut self, actor: &str, cust: &str, movie: &str, id: &str, t: u32) -> Outcome {
        self.op(Operation::Book(Book {
            actor: s(actor),
            customer: s(cust),
            movie: s(movie),
            show_id: s(id),
            tickets: t,
        }))
    }
    fn book(&mut self, cust: &str, movie: &str, id: &str, t: u32) -> Outcome {
        self.book_as(cust, cust, movie, id, t)
    }
    /// Book, expecting success.
    fn hold(&mut self, cust: &str, movie: &str, id: &str, t: u32) {
        let r = self.book(cust, movie, id, t);
        assert!(r.is_ok(), "{cust} {movie} {id}: {r:?}");
    }
    fn sched_as(&mut self, actor: &str, cust: &str) -> Outcome {
        self.op(Operation::Schedule(Schedule {
            actor: s(actor),
            customer: s(cust),
        }))
    }
    fn cancel_as(&mut self, actor: &str, cust: &str, movie: &str, id: &str, t: u32) -> Outcome {
        self.op(Operation::Cancel(Cancel {
            actor: s(actor),
            customer: s(cust),
            movie: s(movie),
            show_id: s(id),
            tickets: t,
        }))
    }
    fn cancel(&mut self, cust: &str, movie: &str, id: &str, t: u32) -> Outcome {
        self.cancel_as(cust, cust, movie, id, t)
    }
    #[allow(clippy::too_many_arguments)]
    fn exchange_as(
        &mut self,
        actor: &str,
        cust: &str,
        om: &str,
        oid: &str,
        nm: &str,
        nid: &str,
        t: u32,
    ) -> Outcome {
        self.op(Operation::Exchange(Exchange {
            actor: s(actor),
            customer: s(cust),
            old_movie: s(om),
            old_show_id: s(oid),
            new_movie: s(nm),
            new_show_id: s(nid),
            tickets: t,
        }))
    }
    fn exchange(
        &mut self,
        cust: &str,
        om: &str,
        oid: &str,
        nm: &str,
        nid: &str,
        t: u32,
    ) -> Outcome {
        self.exchange_as(cust, cust, om, oid, nm, nid, t)
    }
    fn state(&self) -> CanonicalState {
        self.r.export_state()
    }
}

fn ok(s: Success) -> Outcome {
    Ok(s)
}

fn no(e: BookingError) -> Outcome {
    Err(e)
}

fn booked(held: u32, remaining: u32) -> Outcome {
    ok(Success::Booked(Booked { held, remaining }))
}

fn exchanged(old_held: u32, new_held: u32) -> Outcome {
    ok(Success::Exchanged(Exchanged { old_held, new_held }))
}

fn sched(items: &[(&str, &str, u32)]) -> Outcome {
    ok(Success::Schedule(
        items
            .iter()
            .map(|&(m, id, t)| ScheduledBooking {
                movie: s(m),
                show_id: s(id),
                tickets: t,
            })
            .collect(),
    ))
}

fn avail(items: &[(&str, u32)]) -> Outcome {
    ok(Success::Availability(
        items
            .iter()
            .map(|&(id, r)| ShowRemaining {
                show_id: s(id),
                remaining: r,
            })
            .collect(),
    ))
}

// ---------------------------------------------------------------------------------------------
// Calendar

#[test]
fn calendar_basics() {
    same!(day_number(2000, 1, 1), 0);
    same!(day_number(2000, 3, 1), 60); // 2000 is leap
    same!(day_number(2001, 1, 1), 366);
    same!(day_number(2100, 1, 1), 36_525);
    same!(day_number(2101, 1, 1), 36_525 + 365); // 2100 is not leap
    same!(day_number(1999, 12, 31), -1);
    same!(day_number(1600, 1, 1), -146_097);
    // 2026-11-24 is a Tuesday: its Monday is 2026-11-23.
    let d = day_number(2026, 11, 24);
    same!(monday_of(d), day_number(2026, 11, 23));
    same!(
        monday_of(day_number(2026, 11, 29)),
        day_number(2026, 11, 23)
    );
    same!(
        monday_of(day_number(2026, 11, 30)),
        day_number(2026, 11, 30)
    );
    // 2000-01-01 was a Saturday; 2027-01-01 is a Friday (week starts Mon 2026-12-28).
    same!(monday_of(0), -5);
    same!(monday_of(day_number(2027, 1, 1)), day_number(2026, 12, 28));
    // Round trip of show IDs through cells.
    for id in [
        "ATWM010100",
        "VERE311299",
        "OUTA290224",
        "ATWE281223",
        "VERM010326",
    ] {
        let c = Cell::parse(2, id).unwrap();
        same!(show_id_text(c), id);
    }
}

#[test]
fn show_id_validation() {
    let mut t = T::new();
    for bad in [
        "ATWM29022",
        "ATWM2902270",
        "atwM251126",
        "ATWX251126",
        "XYZM251126",
        "ATWM290227",
        "ATWM310426",
        "ATWM001126",
        "ATWM251326",
        "ATWM250026",
        "ATWM2511 6",
        "ATWM2511２",
        "ATWÉ51126",
    ] {
        same!(
            t.add("ATWA1000", "Avatar", bad, 5),
            no(E::InvalidShowId),
            "{bad}"
        );
    }
    // 29 Feb 2028 exists (leap) — but it is outside the window: validation passed.
    same!(
        t.add("ATWA1000", "Avatar", "ATWM290228", 5),
        no(E::OutsideWindow)
    );
}

#[test]
fn user_id_validation() {
    let mut t = T::new();
    for bad in [
        "ATWA100",
        "ATWA10000",
        "atwA1000",
        "ATWa1000",
        "ATWB1000",
        "ABCA1000",
        "ATWA10a0",
        "ATWA 100",
        "",
    ] {
        same!(
            t.add(bad, "Avatar", "ATWM251126", 5),
            no(E::InvalidUserId),
            "{bad}"
        );
        same!(t.avail(bad, "Avatar"), no(E::InvalidUserId));
    }
    // 0000 is fine.
    same!(
        t.add("ATWA0000", "Avatar", "ATWM251126", 5),
        ok(Success::ShowAdded)
    );
}

// ---------------------------------------------------------------------------------------------
// The examples of the spec's §8

#[test]
fn spec_examples() {
    let mut t = T::new();
    same!(
        t.add("ATWA1000", "Avatar", "ATWM251126", 10),
        ok(Success::ShowAdded)
    );
    same!(
        t.add("ATWA1000", "Avatar", "ATWM251126", 4),
        ok(Success::ShowUpdated(10))
    );
    same!(
        t.add("VERA1000", "Avatar", "ATWE251126", 5),
        no(E::NotAuthorized)
    );
    same!(
        t.add("ATWA1000", "Titanic", "ATWA031226", 5),
        no(E::OutsideWindow)
    );
    same!(t.book("ATWC0001", "Avatar", "ATWM251126", 2), booked(2, 2));
    same!(
        t.book("ATWC0001", "Avatar", "ATWM251126", 3),
        no(E::ShowFull(2))
    );
    t.show("Avatar", "OUTM251126", 10);
    same!(
        t.book("ATWC0001", "Avatar", "OUTM251126", 1),
        no(E::SameShowOtherArea)
    );
    same!(
        t.cancel("ATWC0001", "Avatar", "ATWM251126", 5),
        no(E::TooManyTickets(2))
    );
}

#[test]
fn spec_example_weekly_limit() {
    // Bookings on 24 Nov must be made with today <= 24 Nov.
    let mut t = T::new();
    for id in [
        "VERM241126",
        "VERA261126",
        "OUTE291126",
        "OUTM271126",
        "OUTM301126",
    ] {
        t.show("Titanic", id, 10);
    }
    for id in ["VERM241126", "VERA261126", "OUTE291126"] {
        assert!(t.book("ATWC0001", "Titanic", id, 1).is_ok());
    }
    same!(
        t.book("ATWC0001", "Titanic", "OUTM271126", 1),
        no(E::WeeklyLimit)
    );
    same!(t.book("ATWC0001", "Titanic", "OUTM301126", 1), booked(1, 9));
    // More tickets on a show already held is not a new movie.
    same!(t.book("ATWC0001", "Titanic", "VERA261126", 2), booked(3, 7));
    // The home area is never limited.
    t.show("Titanic", "ATWA271126", 10);
    same!(t.book("ATWC0001", "Titanic", "ATWA271126", 1), booked(1, 9));
    // Past bookings of the week still count.
    let mut t = t.on((2026, 11, 28));
    same!(
        t.book("ATWC0001", "Titanic", "OUTM271126", 1),
        no(E::PastShow)
    );
    let mut t = t.on((2026, 11, 26));
    same!(
        t.book("ATWC0001", "Titanic", "OUTM271126", 1),
        no(E::WeeklyLimit)
    );
}

// ---------------------------------------------------------------------------------------------
// add-show

#[test]
fn add_show_errors_in_order() {
    let mut t = T::new();
    same!(t.add("ATWX1000", "Nope", "bad", 0), no(E::InvalidUserId));
    same!(t.add("ATWA1000", "Nope", "bad", 0), no(E::UnknownMovie));
    same!(
        t.add("ATWA1000", "avatar", "ATWM251126", 1),
        no(E::UnknownMovie)
    );
    same!(t.add("ATWA1000", "Avatar", "bad", 0), no(E::InvalidShowId));
    same!(
        t.add("ATWA1000", "Avatar", "ATWM251126", 0),
        no(E::InvalidCapacity)
    );
    same!(
        t.add("ATWA1000", "Avatar", "ATWM251126", 10_001),
        no(E::InvalidCapacity)
    );
    same!(
        t.add("ATWC1000", "Avatar", "ATWM251126", 5),
        no(E::NotAuthorized)
    );
    same!(
        t.add("OUTA1000", "Avatar", "ATWM251126", 5),
        no(E::NotAuthorized)
    );
    // not-authorized precedes outside-window
    same!(
        t.add("OUTA1000", "Avatar", "ATWM011226", 5),
        no(E::NotAuthorized)
    );
    same!(
        t.add("ATWA1000", "Avatar", "ATWM231126", 5),
        no(E::OutsideWindow)
    );
    same!(
        t.add("ATWA1000", "Avatar", "ATWM021226", 5),
        no(E::OutsideWindow)
    );
    // window edges: today and today + 7 (across a month end)
    same!(
        t.add("ATWA1000", "Avatar", "ATWM241126", 5),
        ok(Success::ShowAdded)
    );
    same!(
        t.add("ATWA1000", "Avatar", "ATWE011226", 10_000),
        ok(Success::ShowAdded)
    );
    same!(
        t.add("ATWA1000", "Avatar", "ATWE011226", 1),
        ok(Success::ShowUpdated(10_000))
    );
    same!(
        t.add("ATWA1000", "Avatar", "ATWE011226", 1),
        ok(Success::ShowUpdated(1))
    );
    // capacity-below-booked
    same!(t.book("VERC0001", "Avatar", "ATWM241126", 4), booked(4, 1));
    same!(
        t.add("ATWA1000", "Avatar", "ATWM241126", 3),
        no(E::CapacityBelowBooked)
    );
    same!(
        t.add("ATWA1000", "Avatar", "ATWM241126", 4),
        ok(Success::ShowUpdated(5))
    );
    same!(
        t.avail("VERC0001", "Avatar"),
        avail(&[("ATWM241126", 0), ("ATWE011226", 1)])
    );
    // an existing show out of the window can no longer be changed
    let mut t = t.on((2026, 11, 25));
    same!(
        t.add("ATWA1000", "Avatar", "ATWM241126", 9),
        no(E::OutsideWindow)
    );
}

#[test]
fn window_across_year_end() {
    let mut t = T::new().on((2026, 12, 28));
    same!(
        t.add("VERA0001", "Titanic", "VERA040127", 3),
        ok(Success::ShowAdded)
    );
    same!(
        t.add("VERA0001", "Titanic", "VERA050127", 3),
        no(E::OutsideWindow)
    );
    same!(
        t.add("VERA0001", "Titanic", "VERA271226", 3),
        no(E::OutsideWindow)
    );
    // leap day window
    let mut t = T::new().on((2028, 2, 25));
    same!(
        t.add("VERA0001", "Titanic", "VERA030328", 3),
        ok(Success::ShowAdded)
    );
    same!(
        t.add("VERA0001", "Titanic", "VERA040328", 3),
        no(E::OutsideWindow)
    );
}

// ---------------------------------------------------------------------------------------------
// remove-show

#[test]
fn remove_show_errors_in_order() {
    let mut t = T::new();
    t.show("Avatar", "ATWM251126", 5);
    same!(t.remove("nobody", "X", "Y"), no(E::InvalidUserId));
    same!(t.remove("ATWA1000", "X", "Y"), no(E::UnknownMovie));
    same!(t.remove("ATWA1000", "Avatar", "Y"), no(E::InvalidShowId));
    same!(
        t.remove("VERA1000", "Avatar", "ATWM251126"),
        no(E::NotAuthorized)
    );
    same!(
        t.remove("ATWC1000", "Avatar", "ATWM251126"),
        no(E::NotAuthorized)
    );
    same!(
        t.remove("ATWA1000", "Titanic", "ATWM251126"),
        no(E::ShowNotFound)
    );
    same!(
        t.remove("ATWA1000", "Avatar", "ATWA251126"),
        no(E::ShowNotFound)
    );
    let mut t = t.on((2026, 11, 26));
    same!(
        t.remove("ATWA1000", "Avatar", "ATWM251126"),
        no(E::PastShow)
    );
    let mut t = t.on((2026, 11, 25));
    same!(
        t.remove("ATWA1000", "Avatar", "ATWM251126"),
        ok(Success::ShowRemoved(ShowRemoved {
            moved: vec![],
            dropped: vec![]
        }))
    );
    same!(
        t.remove("ATWA1000", "Avatar", "ATWM251126"),
        no(E::ShowNotFound)
    );
    assert!(t.state().shows.is_empty());
}

#[test]
fn remove_show_moves_first_fit_in_customer_order() {
    let mut t = T::new();
    t.show("Avatar", "ATWA251126", 10); // removed
    t.show("Avatar", "ATWM251126", 50); // earlier slot: never a target
    t.show("Avatar", "OUTE251126", 50); // other area: never
    t.show("Titanic", "ATWE251126", 50); // other movie: never
    t.show("Avatar", "ATWE251126", 3); // first candidate
    t.show("Avatar", "ATWM261126", 4); // second
    t.show("Avatar", "ATWA271126", 2); // third
    t.hold("VERC0003", "Avatar", "ATWA251126", 3);
    t.hold("ATWC0002", "Avatar", "ATWA251126", 2);
    t.hold("OUTC0001", "Avatar", "ATWA251126", 4);
    t.hold("ATWC0009", "Avatar", "ATWA251126", 1);
    // OUTC0001 already holds the second candidate
    t.hold("OUTC0001", "Avatar", "ATWM261126", 1);
    let r = t.remove("ATWA1000", "Avatar", "ATWA251126");
    // order: ATWC0002 (2) → ATWE (3 left → 1), ATWC0009 (1) → ATWE (1 → 0),
    // OUTC0001 (4) → ATWM261126 has 3 left: no; ATWA271126 has 2: no → dropped,
    // VERC0003 (3) → ATWM261126 (3 → 0).
    same!(
        r,
        ok(Success::ShowRemoved(ShowRemoved {
            moved: vec![
                MovedBooking {
                    customer: s("ATWC0002"),
                    to_show_id: s("ATWE251126"),
                    tickets: 2
                },
                MovedBooking {
                    customer: s("ATWC0009"),
                    to_show_id: s("ATWE251126"),
                    tickets: 1
                },
                MovedBooking {
                    customer: s("VERC0003"),
                    to_show_id: s("ATWM261126"),
                    tickets: 3
                },
            ],
            dropped: vec![DroppedBooking {
                customer: s("OUTC0001"),
                tickets: 4
            }],
        }))
    );
    same!(
        t.sched_as("ATWA1000", "OUTC0001"),
        sched(&[("Avatar", "ATWM261126", 1)])
    );
    same!(
        t.sched_as("ATWA1000", "VERC0003"),
        sched(&[("Avatar", "ATWM261126", 3)])
    );
    same!(
        t.avail("ATWC0002", "Avatar"),
        avail(&[
            ("ATWM251126", 50),
            ("ATWE251126", 0),
            ("OUTE251126", 50),
            ("ATWM261126", 0),
            ("ATWA271126", 2)
        ])
    );
}

#[test]
fn remove_show_adds_to_existing_and_ignores_limits() {
    let mut t = T::new();
    t.show("Avatar", "OUTE291126", 10); // removed (Sunday)
    t.show("Avatar", "OUTA301126", 10); // target (next Monday)
    t.show("Avatar", "VERA301126", 10);
    t.show("Titanic", "VERM011226", 10);
    t.show("Titanic", "VERA011226", 10);
    t.hold("ATWC0001", "Avatar", "OUTE291126", 2);
    t.hold("ATWC0001", "Avatar", "VERA301126", 1);
    t.hold("ATWC0001", "Titanic", "VERM011226", 1);
    t.hold("ATWC0001", "Titanic", "VERA011226", 1);
    t.hold("OUTC0005", "Avatar", "OUTE291126", 3);
    t.hold("OUTC0005", "Avatar", "OUTA301126", 1);
    // ATWC0001 could not book the target itself (same show in VER; 3 away that week)
    same!(
        t.book("ATWC0001", "Avatar", "OUTA301126", 1),
        no(E::SameShowOtherArea)
    );
    let r = t.remove("OUTA0001", "Avatar", "OUTE291126");
    same!(
        r,
        ok(Success::ShowRemoved(ShowRemoved {
            moved: vec![
                MovedBooking {
                    customer: s("ATWC0001"),
                    to_show_id: s("OUTA301126"),
                    tickets: 2
                },
                MovedBooking {
                    customer: s("OUTC0005"),
                    to_show_id: s("OUTA301126"),
                    tickets: 3
                },
            ],
            dropped: vec![]
        }))
    );
    same!(
        t.sched_as("ATWC0001", "ATWC0001"),
        sched(&[
            ("Avatar", "OUTA301126", 2),
            ("Avatar", "VERA301126", 1),
            ("Titanic", "VERM011226", 1),
            ("Titanic", "VERA011226", 1)
        ])
    );
    same!(
        t.sched_as("OUTC0005", "OUTC0005"),
        sched(&[("Avatar", "OUTA301126", 4)])
    );
    same!(
        t.avail("OUTC0005", "Avatar"),
        avail(&[("OUTA301126", 4), ("VERA301126", 9)])
    );
}

#[test]
fn remove_show_reaches_past_the_window() {
    let mut t = T::new();
    t.show("Titanic", "VERE241126", 2);
    t.hold("VERC0001", "Titanic", "VERE241126", 2);
    let mut later = T::new().on((2026, 12, 20));
    later.show("Titanic", "VERM241226", 5);
    let mut st = later.state();
    let mut base = t.state();
    base.shows.append(&mut st.shows);
    same!(t.import(base), Ok::<(), StateError>(()));
    let r = t.remove("VERA0001", "Titanic", "VERE241126");
    same!(
        r,
        ok(Success::ShowRemoved(ShowRemoved {
            moved: vec![MovedBooking {
                customer: s("VERC0001"),
                to_show_id: s("VERM241226"),
                tickets: 2
            }],
            dropped: vec![]
        }))
    );
}

// ---------------------------------------------------------------------------------------------
// availability

#[test]
fn availability_lists_non_past_shows_in_show_order() {
    let mut t = T::new().on((2026, 11, 20));
    t.show("Avengers", "VERM221126", 7); // will be past
    let mut t = t.on(TODAY);
    t.show("Avengers", "VERM241126", 7);
    t.show("Avengers", "OUTM241126", 7);
    t.show("Avengers", "ATWE241126", 7);
    t.show("Avengers", "ATWM241126", 7);
    t.show("Avengers", "ATWA241126", 7);
    t.show("Avatar", "ATWM241126", 7);
    t.show("Titanic", "ATWM241126", 7);
    t.show("Avengers", "ATWM011226", 7);
    t.hold("OUTC0001", "Avengers", "OUTM241126", 7);
    same!(t.avail("x", "Avengers"), no(E::InvalidUserId));
    same!(t.avail("OUTC0001", "Aven"), no(E::UnknownMovie));
    same!(
        t.avail("OUTC0001", "Avengers"),
        avail(&[
            ("ATWM241126", 7),
            ("OUTM241126", 0),
            ("VERM241126", 7),
            ("ATWA241126", 7),
            ("ATWE241126", 7),
            ("ATWM011226", 7)
        ])
    );
    same!(t.avail("VERA0001", "Titanic"), avail(&[("ATWM241126", 7)]));
    let mut t = t.on((2030, 1, 1));
    same!(t.avail("VERA0001", "Titanic"), avail(&[]));
    let mut t = t.on((1999, 1, 1));
    same!(
        t.avail("VERA0001", "Avengers").map(|s| match s {
            Success::Availability(v) => v.len(),
            _ => 0,
        }),
        Ok::<usize, E>(7)
    );
}

// ---------------------------------------------------------------------------------------------
// book

#[test]
fn book_errors_in_order() {
    let mut t = T::new();
    t.show("Avatar", "ATWM251126", 5);
    same!(
        t.book_as("bad", "bad", "bad", "bad", 0),
        no(E::InvalidUserId)
    );
    same!(
        t.book_as("ATWC0001", "bad", "bad", "bad", 0),
        no(E::InvalidUserId)
    );
    same!(
        t.book_as("ATWC0001", "ATWC0001", "bad", "bad", 0),
        no(E::UnknownMovie)
    );
    same!(t.book("ATWC0001", "Avatar", "bad", 0), no(E::InvalidShowId));
    same!(
        t.book("ATWC0001", "Avatar", "ATWM251126", 0),
        no(E::InvalidTickets)
    );
    same!(
        t.book("ATWC0001", "Avatar", "ATWM251126", 10_001),
        no(E::InvalidTickets)
    );
    same!(
        t.book_as("ATWC0002", "ATWC0001", "Avatar", "ATWM251126", 1),
        no(E::NotAuthorized)
    );
    same!(
        t.book_as("ATWA0002", "ATWA0003", "Avatar", "ATWM251126", 1),
        no(E::NotAuthorized)
    );
    same!(
        t.book("ATWA0002", "Avatar", "ATWM251126", 1),
        no(E::NotAuthorized)
    );
    same!(
        t.book("ATWC0001", "Avatar", "ATWA251126", 1),
        no(E::ShowNotFound)
    );
    same!(
        t.book("ATWC0001", "Titanic", "ATWM251126", 1),
        no(E::ShowNotFound)
    );
    // any admin, of any area, for any customer
    same!(
        t.book_as("VERA0002", "OUTC0001", "Avatar", "ATWM251126", 2),
        booked(2, 3)
    );
    same!(
        t.book("ATWC0001", "Avatar", "ATWM251126", 4),
        no(E::ShowFull(3))
    );
    same!(t.book("ATWC0001", "Avatar", "ATWM251126", 3), booked(3, 0));
    same!(
        t.book("ATWC0001", "Avatar", "ATWM251126", 1),
        no(E::ShowFull(0))
    );
    let mut t = t.on((2026, 11, 26));
    same!(
        t.book("ATWC0001", "Avatar", "ATWM251126", 1),
        no(E::PastShow)
    );
}

#[test]
fn same_show_other_area_rule() {
    let mut t = T::new();
    for id in ["ATWE251126", "OUTE251126", "VERE251126", "OUTA251126"] {
        t.show("Avatar", id, 10);
    }
    t.show("Titanic", "VERE251126", 10);
    assert!(t.book("ATWC0001", "Avatar", "ATWE251126", 1).is_ok());
    same!(
        t.book("ATWC0001", "Avatar", "OUTE251126", 1),
        no(E::SameShowOtherArea)
    );
    same!(
        t.book("ATWC0001", "Avatar", "VERE251126", 1),
        no(E::SameShowOtherArea)
    );
    // another slot, another movie, the same area again: fine
    assert!(t.book("ATWC0001", "Avatar", "OUTA251126", 1).is_ok());
    assert!(t.book("ATWC0001", "Titanic", "VERE251126", 1).is_ok());
    assert!(t.book("ATWC0001", "Avatar", "ATWE251126", 1).is_ok());
    // same-show-other-area comes before show-full and weekly-limit
    t.show("Avatar", "OUTM261126", 1);
    t.show("Avatar", "VERM261126", 1);
    assert!(t.book("ATWC0001", "Avatar", "OUTM261126", 1).is_ok());
    same!(
        t.book("ATWC0001", "Avatar", "VERM261126", 5),
        no(E::SameShowOtherArea)
    );
}

#[test]
fn weekly_limit_details() {
    let mut t = T::new();
    // two movies on the same show ID count twice
    t.show("Avatar", "OUTM251126", 10);
    t.show("Titanic", "OUTM251126", 10);
    t.show("Avengers", "OUTM251126", 10);
    t.show("Avengers", "VERE291126", 10);
    t.show("Avatar", "ATWM251126", 10);
    assert!(t.book("VERC0001", "Avatar", "OUTM251126", 1).is_ok());
    assert!(t.book("VERC0001", "Titanic", "OUTM251126", 1).is_ok());
    assert!(t.book("VERC0001", "Avatar", "ATWM251126", 1).is_err()); // same-show
    t.show("Titanic", "ATWA251126", 10);
    assert!(t.book("VERC0001", "Titanic", "ATWA251126", 1).is_ok());
    same!(
        t.book("VERC0001", "Avengers", "OUTM251126", 1),
        no(E::WeeklyLimit)
    );
    // home area still fine
    assert!(t.book("VERC0001", "Avengers", "VERE291126", 1).is_ok());
    // weekly-limit precedes show-full
    same!(
        t.book("VERC0001", "Avengers", "OUTM251126", 99),
        no(E::WeeklyLimit)
    );
    // the customer's home area counts, not the acting admin's
    same!(
        t.book_as("OUTA0001", "VERC0001", "Avengers", "OUTM251126", 1),
        no(E::WeeklyLimit)
    );
    // cancelling one frees a place
    same!(
        t.cancel("VERC0001", "Titanic", "ATWA251126", 1),
        ok(Success::Cancelled(0))
    );
    same!(
        t.book("VERC0001", "Avengers", "OUTM251126", 1),
        booked(1, 9)
    );
}

#[test]
fn weekly_limit_week_spans_year_end() {
    // Week of Mon 2026-12-28 .. Sun 2027-01-03
    let mut t = T::new().on((2026, 12, 28));
    for id in [
        "OUTM281226",
        "OUTM311226",
        "OUTM010127",
        "OUTM030127",
        "OUTM040127",
    ] {
        t.show("Avatar", id, 5);
    }
    for id in ["OUTM281226", "OUTM311226", "OUTM010127"] {
        assert!(t.book("ATWC0001", "Avatar", id, 1).is_ok());
    }
    same!(
        t.book("ATWC0001", "Avatar", "OUTM030127", 1),
        no(E::WeeklyLimit)
    );
    assert!(t.book("ATWC0001", "Avatar", "OUTM040127", 1).is_ok());
}

// ---------------------------------------------------------------------------------------------
// schedule

#[test]
fn schedule_errors_and_order() {
    let mut t = T::new();
    same!(t.sched_as("x", "ATWC0001"), no(E::InvalidUserId));
    same!(t.sched_as("ATWC0001", "x"), no(E::InvalidUserId));
    same!(t.sched_as("ATWC0001", "ATWC0002"), no(E::NotAuthorized));
    same!(t.sched_as("ATWA0001", "ATWA0001"), no(E::NotAuthorized));
    same!(t.sched_as("ATWC0001", "ATWC0001"), sched(&[]));
    t.show("Titanic", "VERM261126", 5);
    t.show("Avatar", "VERM261126", 5);
    t.show("Avatar", "OUTE241126", 5);
    t.show("Avengers", "ATWA261126", 5);
    for (m, id) in [
        ("Titanic", "VERM261126"),
        ("Avengers", "ATWA261126"),
        ("Avatar", "VERM261126"),
        ("Avatar", "OUTE241126"),
    ] {
        assert!(t.book("ATWC0001", m, id, 2).is_ok());
    }
    let mut t = t.on((2026, 11, 25));
    let want = sched(&[
        ("Avatar", "OUTE241126", 2),
        ("Avatar", "VERM261126", 2),
        ("Titanic", "VERM261126", 2),
        ("Avengers", "ATWA261126", 2),
    ]);
    same!(t.sched_as("ATWC0001", "ATWC0001"), want);
    same!(t.sched_as("VERA0001", "ATWC0001"), want);
}

// ---------------------------------------------------------------------------------------------
// cancel

#[test]
fn cancel_errors_in_order() {
    let mut t = T::new();
    t.show("Avatar", "ATWM251126", 5);
    same!(t.cancel_as("x", "x", "x", "x", 0), no(E::InvalidUserId));
    same!(
        t.cancel_as("ATWC0001", "x", "x", "x", 0),
        no(E::InvalidUserId)
    );
    same!(t.cancel("ATWC0001", "x", "x", 0), no(E::UnknownMovie));
    same!(t.cancel("ATWC0001", "Avatar", "x", 0), no(E::InvalidShowId));
    same!(
        t.cancel("ATWC0001", "Avatar", "ATWM251126", 0),
        no(E::InvalidTickets)
    );
    same!(
        t.cancel_as("ATWC0002", "ATWC0001", "Avatar", "ATWM251126", 1),
        no(E::NotAuthorized)
    );
    same!(
        t.cancel("ATWC0001", "Avatar", "ATWM251126", 1),
        no(E::NotBooked)
    );
    same!(
        t.cancel("ATWC0001", "Avatar", "VERM251126", 1),
        no(E::NotBooked)
    );
    t.hold("ATWC0001", "Avatar", "ATWM251126", 3);
    same!(
        t.cancel("ATWC0001", "Avatar", "ATWM251126", 4),
        no(E::TooManyTickets(3))
    );
    same!(
        t.cancel_as("OUTA0001", "ATWC0001", "Avatar", "ATWM251126", 1),
        ok(Success::Cancelled(2))
    );
    let mut t = t.on((2026, 11, 26));
    same!(
        t.cancel("ATWC0001", "Avatar", "ATWM251126", 1),
        no(E::PastShow)
    );
    let mut t = t.on(TODAY);
    same!(
        t.cancel("ATWC0001", "Avatar", "ATWM251126", 2),
        ok(Success::Cancelled(0))
    );
    same!(
        t.cancel("ATWC0001", "Avatar", "ATWM251126", 1),
        no(E::NotBooked)
    );
    assert!(t.state().bookings.is_empty());
    same!(t.avail("ATWC0001", "Avatar"), avail(&[("ATWM251126", 5)]));
}

// ---------------------------------------------------------------------------------------------
// exchange

#[test]
fn exchange_errors_in_order() {
    let mut t = T::new();
    t.show("Avatar", "ATWM251126", 5);
    t.show("Titanic", "ATWM251126", 2);
    let x = |t: &mut T, a: &str, c: &str, om: &str, oid: &str, nm: &str, nid: &str, n| {
        t.exchange_as(a, c, om, oid, nm, nid, n)
    };
    let (a, c) = ("ATWC0001", "ATWC0001");
    same!(
        x(&mut t, "x", c, "x", "x", "x", "x", 0),
        no(E::InvalidUserId)
    );
    same!(
        x(&mut t, a, "x", "x", "x", "x", "x", 0),
        no(E::InvalidUserId)
    );
    same!(x(&mut t, a, c, "x", "x", "x", "x", 0), no(E::UnknownMovie));
    same!(
        x(&mut t, a, c, "Avatar", "x", "x", "x", 0),
        no(E::InvalidShowId)
    );
    same!(
        x(&mut t, a, c, "Avatar", "ATWM251126", "x", "x", 0),
        no(E::UnknownMovie)
    );
    same!(
        x(&mut t, a, c, "Avatar", "ATWM251126", "Titanic", "x", 0),
        no(E::InvalidShowId)
    );
    same!(
        t.exchange(c, "Avatar", "ATWM251126", "Titanic", "ATWM251126", 0),
        no(E::InvalidTickets)
    );
    same!(
        x(
            &mut t,
            "ATWC0002",
            c,
            "Avatar",
            "ATWM251126",
            "Titanic",
            "ATWM251126",
            1
        ),
        no(E::NotAuthorized)
    );
    same!(
        t.exchange(c, "Avatar", "ATWM251126", "Avatar", "ATWM251126", 1),
        no(E::SameShow)
    );
    // same-show precedes not-booked even for a show that does not exist
    same!(
        t.exchange(c, "Avengers", "OUTM251126", "Avengers", "OUTM251126", 1),
        no(E::SameShow)
    );
    same!(
        t.exchange(c, "Avatar", "ATWM251126", "Titanic", "ATWM251126", 1),
        no(E::NotBooked)
    );
    t.hold(c, "Avatar", "ATWM251126", 3);
    same!(
        t.exchange(c, "Avatar", "ATWM251126", "Titanic", "ATWM251126", 4),
        no(E::TooManyTickets(3))
    );
    same!(
        t.exchange(c, "Avatar", "ATWM251126", "Titanic", "ATWE251126", 1),
        no(E::ShowNotFound)
    );
    same!(
        t.exchange(c, "Avatar", "ATWM251126", "Titanic", "ATWM251126", 3),
        no(E::ShowFull(2))
    );
    same!(
        t.exchange(c, "Avatar", "ATWM251126", "Titanic", "ATWM251126", 2),
        exchanged(1, 2)
    );
    same!(
        x(
            &mut t,
            "VERA0001",
            c,
            "Avatar",
            "ATWM251126",
            "Titanic",
            "ATWM251126",
            1
        ),
        no(E::ShowFull(0))
    );
    same!(
        t.exchange(c, "Titanic", "ATWM251126", "Avatar", "ATWM251126", 2),
        exchanged(0, 3)
    );
    same!(t.sched_as(a, c), sched(&[("Avatar", "ATWM251126", 3)]));
    // past: the old show
    t.show("Avatar", "ATWM261126", 5);
    let mut t = t.on((2026, 11, 26));
    same!(
        t.exchange(c, "Avatar", "ATWM251126", "Avatar", "ATWM261126", 1),
        no(E::PastShow)
    );
    // past: the new show
    let mut t = t.on(TODAY);
    t.show("Avatar", "ATWM241126", 5);
    t.show("Titanic", "ATWE241126", 5);
    let mut t = t.on((2026, 11, 24));
    t.hold(c, "Avatar", "ATWM241126", 1);
    let mut t = t.on((2026, 11, 25));
    same!(
        t.exchange(c, "Avatar", "ATWM251126", "Titanic", "ATWE241126", 1),
        no(E::PastShow)
    );
}

#[test]
fn exchange_as_if_the_old_tickets_were_gone() {
    let mut t = T::new();
    // Same-show rule: moving the whole booking to the same slot in another area is fine,
    // moving part of it is not.
    t.show("Avatar", "ATWE251126", 10);
    t.show("Avatar", "OUTE251126", 10);
    t.hold("ATWC0001", "Avatar", "ATWE251126", 3);
    same!(
        t.exchange(
            "ATWC0001",
            "Avatar",
            "ATWE251126",
            "Avatar",
            "OUTE251126",
            2
        ),
        no(E::SameShowOtherArea)
    );
    same!(
        t.exchange(
            "ATWC0001",
            "Avatar",
            "ATWE251126",
            "Avatar",
            "OUTE251126",
            3
        ),
        exchanged(0, 3)
    );
    // Weekly limit: an emptied away booking no longer counts, a partly kept one does.
    for id in ["VERM251126", "VERA251126", "VERM261126"] {
        t.show("Titanic", id, 10);
    }
    t.show("Avengers", "VERM271126", 10);
    t.hold("ATWC0001", "Titanic", "VERM251126", 2);
    t.hold("ATWC0001", "Titanic", "VERA251126", 1);
    // away now: OUTE251126 (Avatar), VERM251126, VERA251126 = 3
    same!(
        t.exchange(
            "ATWC0001",
            "Titanic",
            "VERM251126",
            "Avengers",
            "VERM271126",
            1
        ),
        no(E::WeeklyLimit)
    );
    same!(
        t.exchange(
            "ATWC0001",
            "Titanic",
            "VERM251126",
            "Avengers",
            "VERM271126",
            2
        ),
        exchanged(0, 2)
    );
    // remaining of the new show: the old show's seats do not help the new one
    t.show("Avengers", "ATWM271126", 1);
    same!(
        t.exchange(
            "ATWC0001",
            "Avengers",
            "VERM271126",
            "Avengers",
            "ATWM271126",
            2
        ),
        no(E::ShowFull(1))
    );
    // exchange within the same show ID between movies
    t.show("Titanic", "VERM271126", 10);
    same!(
        t.exchange(
            "ATWC0001",
            "Avengers",
            "VERM271126",
            "Titanic",
            "VERM271126",
            2
        ),
        exchanged(0, 2)
    );
    same!(t.state().bookings.len(), 3, "{:?}", t.state().bookings);
}

// ---------------------------------------------------------------------------------------------
// canonical state

fn show_e(m: &str, id: &str, c: u32) -> ShowEntry {
    ShowEntry {
        movie: s(m),
        show_id: s(id),
        capacity: c,
    }
}

fn book_e(cust: &str, m: &str, id: &str, t: u32) -> BookingEntry {
    BookingEntry {
        customer: s(cust),
        movie: s(m),
        show_id: s(id),
        tickets: t,
    }
}

fn sample_state() -> CanonicalState {
    CanonicalState {
        shows: vec![
            show_e("Titanic", "VERE241126", 3),
            show_e("Avatar", "ATWM251126", 10),
            show_e("Avengers", "ATWM251126", 10),
            show_e("Avatar", "OUTM251126", 10),
            show_e("Avatar", "VERM251126", 10),
            show_e("Avatar", "ATWA251126", 10),
        ],
        bookings: vec![
            book_e("ATWC0001", "Avatar", "ATWM251126", 2),
            book_e("ATWC0001", "Avengers", "ATWM251126", 1),
            book_e("ATWC0001", "Avatar", "ATWA251126", 1),
            book_e("OUTC0000", "Titanic", "VERE241126", 3),
            book_e("OUTC0000", "Avatar", "VERM251126", 1),
            book_e("VERC0002", "Avatar", "ATWM251126", 8),
        ],
    }
}

#[test]
fn export_is_canonical_whatever_the_request_order() {
    let mut t = T::new();
    t.show("Avatar", "ATWA251126", 10);
    t.show("Avatar", "VERM251126", 10);
    t.show("Avengers", "ATWM251126", 10);
    t.show("Avatar", "ATWM251126", 10);
    t.show("Avatar", "OUTM251126", 10);
    t.show("Titanic", "VERE241126", 3);
    t.hold("VERC0002", "Avatar", "ATWM251126", 8);
    t.hold("OUTC0000", "Avatar", "VERM251126", 1);
    t.hold("ATWC0001", "Avatar", "ATWA251126", 1);
    t.hold("OUTC0000", "Titanic", "VERE241126", 3);
    t.hold("ATWC0001", "Avengers", "ATWM251126", 1);
    t.hold("ATWC0001", "Avatar", "ATWM251126", 2);
    same!(t.state(), sample_state());
    // and an import/export round trip is the identity
    let mut u = T::new();
    same!(u.import(sample_state()), Ok::<(), StateError>(()));
    same!(u.state(), sample_state());
    // the imported state behaves like the built one
    same!(
        u.book("VERC0002", "Avatar", "ATWM251126", 1),
        no(E::ShowFull(0))
    );
    same!(
        t.book("VERC0002", "Avatar", "ATWM251126", 1),
        no(E::ShowFull(0))
    );
    same!(
        u.sched_as("OUTC0000", "OUTC0000"),
        t.sched_as("OUTC0000", "OUTC0000")
    );
}

#[test]
fn import_accepts_past_and_far_states_and_replaces_everything() {
    let mut t = T::new();
    t.show("Avatar", "ATWM251126", 10);
    let far = CanonicalState {
        shows: vec![
            show_e("Avatar", "ATWM010100", 1),
            show_e("Titanic", "VERE311299", 10_000),
        ],
        bookings: vec![
            book_e("ATWC0000", "Titanic", "VERE311299", 10_000),
            book_e("VERC9999", "Avatar", "ATWM010100", 1),
        ],
    };
    same!(t.import(far.clone()), Ok::<(), StateError>(()));
    same!(t.state(), far);
    same!(t.avail("ATWC0000", "Titanic"), avail(&[("VERE311299", 0)]));
    same!(
        t.import(CanonicalState {
            shows: vec![],
            bookings: vec![]
        }),
        Ok::<(), StateError>(())
    );
    same!(
        t.state(),
        CanonicalState {
            shows: vec![],
            bookings: vec![]
        }
    );
}

fn refused(mut state: CanonicalState, edit: impl FnOnce(&mut CanonicalState)) -> StateError {
    edit(&mut state);
    let mut t = T::new();
    t.show("Titanic", "OUTA261126", 4);
    t.hold("OUTC0001", "Titanic", "OUTA261126", 2);
    let before = t.state();
    let digest = t.r.state_digest();
    let err = t.import(state).expect_err("import should be refused");
    same!(t.state(), before, "state changed by a refused import");
    assert_eq!(
        t.r.state_digest(),
        digest,
        "digest changed by a refused import"
    );
    err
}

fn err(section: StateSection, index: u32, fault: StateFault) -> StateError {
    StateError {
        section,
        index,
        fault,
    }
}

#[test]
fn import_refusals() {
    use StateFault::*;
    use StateSection::{Bookings as B, Shows as S};
    let st = sample_state();
    let e = refused(st.clone(), |s| s.shows[1].movie = "avatar".into());
    same!(e, err(S, 1, UnknownMovie));
    let e = refused(st.clone(), |s| s.shows[2].show_id = "ATWM290226".into());
    same!(e, err(S, 2, MalformedId));
    let e = refused(st.clone(), |s| s.shows[0].capacity = 0);
    same!(e, err(S, 0, CapacityOutOfRange));
    let e = refused(st.clone(), |s| s.shows[0].capacity = 10_001);
    same!(e, err(S, 0, CapacityOutOfRange));
    let e = refused(st.clone(), |s| s.shows.swap(3, 4));
    same!(e, err(S, 4, OutOfOrder));
    let e = refused(st.clone(), |s| {
        let dup = s.shows[5].clone();
        s.shows.push(dup)
    });
    same!(e, err(S, 6, Duplicate));
    let e = refused(st.clone(), |s| s.bookings[2].customer = "ATWA0001".into());
    same!(e, err(B, 2, MalformedId));
    let e = refused(st.clone(), |s| s.bookings[2].customer = "ATWC001".into());
    same!(e, err(B, 2, MalformedId));
    let e = refused(st.clone(), |s| s.bookings[1].movie = "Avengerz".into());
    same!(e, err(B, 1, UnknownMovie));
    let e = refused(st.clone(), |s| s.bookings[1].show_id = "ATWQ251126".into());
    same!(e, err(B, 1, MalformedId));
    let e = refused(st.clone(), |s| s.bookings[4].tickets = 0);
    same!(e, err(B, 4, ZeroTickets));
    let e = refused(st.clone(), |s| s.bookings.swap(0, 1));
    same!(e, err(B, 1, OutOfOrder));
    let e = refused(st.clone(), |s| s.bookings.swap(4, 5));
    same!(e, err(B, 5, OutOfOrder));
    let e = refused(st.clone(), |s| {
        let dup = s.bookings[3].clone();
        s.bookings.insert(3, dup)
    });
    same!(e, err(B, 4, Duplicate));
    let e = refused(st.clone(), |s| s.bookings[5].show_id = "ATWE251126".into());
    same!(e, err(B, 5, UnknownShow));
    let e = refused(st.clone(), |s| s.bookings[5].tickets = 9);
    same!(e, err(S, 1, OverCapacity));
    let e = refused(st.clone(), |s| s.bookings[3].tickets = u32::MAX);
    same!(e, err(S, 0, OverCapacity));
    // counts adding up past 2^32 are over capacity, not wrapped
    let e = refused(st.clone(), |s| {
        s.bookings[0].tickets = u32::MAX;
        s.bookings[5].tickets = 2;
    });
    same!(e, err(S, 1, OverCapacity));
}

#[test]
fn large_state_round_trip() {
    // 30 days × 9 shows of capacity 10000; 300 000 bookings spread over 30 000 customers.
    let mut shows = Vec::new();
    for day in 1..=30u32 {
        for area in ["ATW", "OUT", "VER"] {
            for slot in ["M", "A", "E"] {
                shows.push((day, slot, area));
            }
        }
    }
    let slot_rank = |s: &str| ["M", "A", "E"].iter().position(|x| *x == s).unwrap();
    shows.sort_by_key(|&(d, s, a)| (d, slot_rank(s), a));
    let ids: Vec<String> = shows
        .iter()
        .map(|(d, s, a)| format!("{a}{s}{d:02}0627"))
        .collect();
    let mut bookings = Vec::new();
    for c in 0..30_000u32 {
        let area = ["ATW", "OUT", "VER"][(c / 10_000) as usize];
        let cust = format!("{area}C{:04}", c % 10_000);
        let mut at: Vec<usize> = (0..10u32)
            .map(|k| ((c * 7 + k * 27) % 270) as usize)
            .collect();
        at.sort();
        for i in at {
            bookings.push(book_e(&cust, "Titanic", &ids[i], 1));
        }
    }
    let state = CanonicalState {
        shows: ids.iter().map(|id| show_e("Titanic", id, 10_000)).collect(),
        bookings,
    };
    let mut t = T::new();
    same!(t.import(state.clone()), Ok::<(), StateError>(()));
    same!(t.state(), state);
}

// ---------------------------------------------------------------------------------------------
// The state digest (rules §7.1), kept incrementally: `T::op` and `T::import` compare it with the
// digest recomputed from the export after every request of every test above; these add more.

#[test]
fn digest_matches_the_rules_test_vectors() {
    let mut t = T::new();
    assert_eq!(t.r.state_digest().lanes(), (0, 0, 0, 0));
    t.show("Avatar", "ATWM251126", 5);
    assert_eq!(
        t.r.state_digest().lanes(),
        (
            0x0743bf35f9ceebab,
            0x712036eea48038f3,
            0x71e8a6a66663aa21,
            0xec786874cfd96c9a
        )
    );
    t.hold("ATWC0001", "Avatar", "ATWM251126", 2);
    assert_eq!(
        t.r.state_digest().lanes(),
        (
            0xce229bb4cb2e31fb,
            0xb1536852fe8430de,
            0x6b816e1a883648b9,
            0xd1c9effedcbd978b
        )
    );
    // Back to the empty state: the digest is zero again.
    same!(
        t.cancel("ATWC0001", "Avatar", "ATWM251126", 2),
        ok(Success::Cancelled(0))
    );
    let r = t.remove("ATWA0001", "Avatar", "ATWM251126");
    assert!(r.is_ok(), "{r:?}");
    assert_eq!(t.r.state_digest().lanes(), (0, 0, 0, 0));
}

/// splitmix64: tiny and deterministic, so a printed seed replays a failure exactly.
struct Rng(dmtbs_guest::rng::SplitMix64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0.next_u64()
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, one_in: u64) -> bool {
        self.below(one_in) == 0
    }
    fn pick<'a, X>(&mut self, xs: &'a [X]) -> &'a X {
        &xs[self.below(xs.len() as u64) as usize]
    }
    fn word(&mut self, xs: &[&'static str]) -> &'static str {
        xs[self.below(xs.len() as u64) as usize]
    }
}

const AREAS: [&str; 3] = ["ATW", "OUT", "VER"];
const MOVIES: [&str; 3] = ["Avatar", "Avengers", "Titanic"];
const CUSTOMERS: [&str; 6] = [
    "ATWC0001", "ATWC0002", "OUTC0001", "OUTC0007", "VERC0003", "VERC0004",
];

/// What the random sequence exercised, so the test can insist every kind of change happened.
#[derive(Default, Debug)]
struct Tally {
    added: u32,
    resized: u32,
    removed: u32,
    moved: u32,
    merged: u32,
    dropped: u32,
    booked: u32,
    cancelled: u32,
    cancelled_to_zero: u32,
    exchanged: u32,
    exchange_emptied_old: u32,
    imported: u32,
    import_refused: u32,
    refused: u32,
}

/// A show of the random universe: 4 dates × 3 slots × 3 areas × 3 movies.
fn random_show(rng: &mut Rng) -> (String, String) {
    let area = rng.pick(&AREAS);
    let slot = rng.pick(&["M", "A", "E"]);
    let date = rng.pick(&["24", "25", "26", "27"]);
    // Avengers rarely: denser shows of the other two give remove-show somewhere to move to.
    let movie = *rng.pick(&[
        "Avatar", "Avatar", "Avatar", "Titanic", "Titanic", "Avengers",
    ]);
    (s(movie), format!("{area}{slot}{date}1126"))
}

/// Mostly an existing show (so requests succeed), sometimes any show of the universe.
fn some_show(rng: &mut Rng, st: &CanonicalState) -> (String, String) {
    if st.shows.is_empty() || rng.chance(4) {
        random_show(rng)
    } else {
        let e = rng.pick(&st.shows);
        (e.movie.clone(), e.show_id.clone())
    }
}

/// The actor for a customer operation: mostly the customer, sometimes an admin or a stranger.
fn actor_for(rng: &mut Rng, customer: &str) -> String {
    match rng.below(10) {
        0 => format!("{}A0042", rng.pick(&AREAS)),
        1 => s(rng.word(&CUSTOMERS)),
        _ => s(customer),
    }
}

/// Tickets: mostly 1..=4, rarely malformed.
fn some_tickets(rng: &mut Rng) -> u32 {
    if rng.chance(50) {
        *rng.pick(&[0, 10_001])
    } else {
        1 + rng.below(4) as u32
    }
}

#[test]
fn digest_follows_a_random_request_sequence() {
    let seed = std::env::var("REPLICA_B_DIGEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x00d1_6e57_b0b5_u64);
    std::println!("digest random sequence: seed {seed} (set REPLICA_B_DIGEST_SEED to replay)");
    let mut rng = Rng(dmtbs_guest::rng::SplitMix64::new(seed));
    let mut t = T::new();
    let mut tally = Tally::default();
    let mut snapshots: Vec<(CanonicalState, StateDigest)> = Vec::new();

    for step in 0..3000 {
        let st = t.exported.clone();
        let digest = t.r.state_digest();
        // Mostly today; sometimes a day earlier or later, so past-show paths and windows move.
        t.today = match rng.below(40) {
            0 => (2026, 11, 23),
            1 => (2026, 11, 25),
            2 => (2026, 11, 26),
            _ => TODAY,
        };
        let ctx = format!("seed {seed}, step {step}");
        match rng.below(100) {
            // add-show: new shows and capacity changes (small capacities, so moves can fail)
            0..=26 => {
                let (m, id) = match rng.chance(2) {
                    true => random_show(&mut rng),
                    false => some_show(&mut rng, &st),
                };
                let admin = match rng.chance(15) {
                    true => s("OUTA0001"),
                    false => format!("{}A0001", &id[..3]),
                };
                let cap = if rng.chance(50) {
                    0
                } else {
                    1 + rng.below(20) as u32
                };
                match t.add(&admin, &m, &id, cap) {
                    Ok(Success::ShowAdded) => tally.added += 1,
                    Ok(Success::ShowUpdated(old)) if old != cap => tally.resized += 1,
                    _ => {}
                }
            }
            // remove-show, noting moves, merges into a booking already held, and drops
            27..=32 => {
                // Prefer a show with bookings, so that moves, merges and drops happen.
                let (m, id) = match st.bookings.is_empty() || rng.chance(3) {
                    true => some_show(&mut rng, &st),
                    false => {
                        let b = rng.pick(&st.bookings);
                        (b.movie.clone(), b.show_id.clone())
                    }
                };
                let admin = format!("{}A0001", &id[..3]);
                if let Ok(Success::ShowRemoved(r)) = t.remove(&admin, &m, &id) {
                    tally.removed += 1;
                    tally.dropped += r.dropped.len() as u32;
                    for mv in &r.moved {
                        tally.moved += 1;
                        let merged = st.bookings.iter().any(|b| {
                            b.customer == mv.customer && b.movie == m && b.show_id == mv.to_show_id
                        });
                        tally.merged += u32::from(merged);
                    }
                }
            }
            // book
            33..=58 => {
                let c = *rng.pick(&CUSTOMERS);
                let (m, id) = some_show(&mut rng, &st);
                let a = actor_for(&mut rng, c);
                let n = some_tickets(&mut rng);
                if t.book_as(&a, c, &m, &id, n).is_ok() {
                    tally.booked += 1;
                }
            }
            // cancel: mostly an existing booking, often all of it
            59..=71 => {
                let (c, m, id, n) = match st.bookings.is_empty() || rng.chance(5) {
                    true => {
                        let (m, id) = random_show(&mut rng);
                        (s(rng.word(&CUSTOMERS)), m, id, some_tickets(&mut rng))
                    }
                    false => {
                        let b = rng.pick(&st.bookings).clone();
                        let n = match rng.chance(2) {
                            true => b.tickets,
                            false => 1 + rng.below(u64::from(b.tickets) + 1) as u32,
                        };
                        (b.customer, b.movie, b.show_id, n)
                    }
                };
                let a = actor_for(&mut rng, &c);
                if let Ok(Success::Cancelled(left)) = t.cancel_as(&a, &c, &m, &id, n) {
                    tally.cancelled += 1;
                    tally.cancelled_to_zero += u32::from(left == 0);
                }
            }
            // exchange: mostly from an existing booking, all or part of it
            72..=86 => {
                let (c, om, oid, n) = match st.bookings.is_empty() || rng.chance(5) {
                    true => {
                        let (m, id) = random_show(&mut rng);
                        (s(rng.word(&CUSTOMERS)), m, id, some_tickets(&mut rng))
                    }
                    false => {
                        let b = rng.pick(&st.bookings).clone();
                        let n = match rng.chance(2) {
                            true => b.tickets,
                            false => 1 + rng.below(u64::from(b.tickets)) as u32,
                        };
                        (b.customer, b.movie, b.show_id, n)
                    }
                };
                let (nm, nid) = some_show(&mut rng, &st);
                let a = actor_for(&mut rng, &c);
                if let Ok(Success::Exchanged(x)) = t.exchange_as(&a, &c, &om, &oid, &nm, &nid, n) {
                    tally.exchanged += 1;
                    tally.exchange_emptied_old += u32::from(x.old_held == 0);
                }
            }
            // queries: no change
            87..=91 => {
                let c = *rng.pick(&CUSTOMERS);
                let _ = t.avail(c, rng.word(&MOVIES));
                let _ = t.sched_as(&actor_for(&mut rng, c), c);
            }
            // malformed requests: no change
            92..=94 => {
                let _ = t.book("ATWC01", "Avatar", "ATWM241126", 1);
                let _ = t.add("ATWA0001", "avatar", "ATWM241126", 1);
                let _ = t.remove("ATWA0001", "Titanic", "ATWX241126");
                tally.refused += 3;
            }
            // keep a snapshot for a later import
            95 => {
                snapshots.push((st.clone(), digest));
                if snapshots.len() > 8 {
                    snapshots.remove(0);
                }
            }
            // import: an older snapshot, the current state itself, or the empty state
            96 => {
                let (state, expected) = match rng.below(8) {
                    0 => (st.clone(), digest),
                    1 => (
                        CanonicalState {
                            shows: vec![],
                            bookings: vec![],
                        },
                        StateDigest::default(),
                    ),
                    _ if !snapshots.is_empty() => rng.pick(&snapshots).clone(),
                    _ => (st.clone(), digest),
                };
                same!(t.import(state.clone()), Ok::<(), StateError>(()), "{ctx}");
                same!(t.state(), state, "{ctx}");
                assert_eq!(t.r.state_digest(), expected, "{ctx}");
                tally.imported += 1;
            }
            // a refused import (one fault): nothing changes, the digest included
            _ => {
                let mut bad = st.clone();
                match (bad.bookings.is_empty(), rng.below(4)) {
                    (false, 0) => bad.bookings[0].tickets = 0,
                    (false, 1) => bad.bookings[0].customer = s("ATWA0001"),
                    (_, 2) => bad.shows.push(show_e("Avatar", "ATWM290226", 1)),
                    _ => bad.shows.push(show_e("Avatar", "ATWM010126", 0)),
                }
                assert!(t.import(bad).is_err(), "{ctx}");
                same!(t.state(), st, "{ctx}");
                assert_eq!(t.r.state_digest(), digest, "{ctx}");
                tally.import_refused += 1;
            }
        }
    }
    std::println!(
        "{tally:?} shows {} bookings {}",
        t.exported.shows.len(),
        t.exported.bookings.len()
    );
    let Tally {
        added,
        resized,
        removed,
        moved,
        merged,
        dropped,
        booked,
        cancelled,
        cancelled_to_zero,
        exchanged,
        exchange_emptied_old,
        imported,
        import_refused,
        refused,
    } = tally;
    for (what, n) in [
        ("added", added),
        ("resized", resized),
        ("removed", removed),
        ("moved", moved),
        ("merged", merged),
        ("dropped", dropped),
        ("booked", booked),
        ("cancelled", cancelled),
        ("cancelled_to_zero", cancelled_to_zero),
        ("exchanged", exchanged),
        ("exchange_emptied_old", exchange_emptied_old),
        ("imported", imported),
        ("import_refused", import_refused),
        ("refused", refused),
    ] {
        assert!(n > 0, "seed {seed}: no {what} in the sequence");
    }
}
