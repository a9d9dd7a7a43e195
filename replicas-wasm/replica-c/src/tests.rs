//! Unit tests written from `shared/spec/booking-rules.md` and `docs/booking-rules.md` only.
//! Today is 2026-11-24 (a Tuesday) unless a test says otherwise; ISO week 48 is 23–29 Nov.
extern crate std;

use crate::ReplicaC;
use crate::model::{Date, Movie, ShowKey};
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use dmtbs_guest::*;

/// The contract's generated types have `Debug` but not `PartialEq`: compare their renderings.
macro_rules! same {
    ($a:expr, $b:expr $(,)?) => {
        assert_eq!(std::format!("{:?}", $a), std::format!("{:?}", $b))
    };
    ($a:expr, $b:expr, $($msg:tt)+) => {
        assert_eq!(std::format!("{:?}", $a), std::format!("{:?}", $b), $($msg)+)
    };
}

const TODAY: (u16, u8, u8) = (2026, 11, 24);

fn s(x: &str) -> String {
    x.into()
}

/// The digest of an exported state, from scratch (rules §7.1).
fn recomputed(st: &CanonicalState) -> StateDigest {
    StateDigest::of(st)
}

/// The kept digest equals the digest of the export.
#[track_caller]
fn check_digest(r: &ReplicaC) {
    assert_eq!(
        r.state_digest(),
        recomputed(&r.export_state()),
        "incremental digest differs from the export's"
    );
}

struct T {
    r: ReplicaC,
    today: (u16, u8, u8),
    seq: u64,
}

impl T {
    fn new() -> T {
        T {
            r: ReplicaC::default(),
            today: TODAY,
            seq: 0,
        }
    }
    /// Applies one request and checks the kept digest against the export after it.
    #[track_caller]
    fn run(&mut self, operation: Operation) -> Outcome {
        self.seq += 1;
        let (year, month, day) = self.today;
        let out = self.r.apply(Request {
            context: Context {
                seq: self.seq,
                today: dmtbs_guest::Date { year, month, day },
            },
            operation,
        });
        check_digest(&self.r);
        out
    }
    /// Imports, checking the digest after (also after a refusal: it must not have moved).
    #[track_caller]
    fn import(&mut self, st: CanonicalState) -> Result<(), StateError> {
        let before = self.r.state_digest();
        let res = self.r.import_state(st);
        check_digest(&self.r);
        if res.is_err() {
            assert_eq!(
                self.r.state_digest(),
                before,
                "refused import moved the digest"
            );
        }
        res
    }
    fn add(&mut self, actor: &str, movie: &str, id: &str, capacity: u32) -> Outcome {
        self.run(Operation::AddShow(AddShow {
            actor: s(actor),
            movie: s(movie),
            show_id: s(id),
            capacity,
        }))
    }
    /// Adds a show as the admin of its area; must succeed.
    fn show(&mut self, movie: &str, id: &str, capacity: u32) {
        let admin = std::format!("{}A0001", &id[..3]);
        same!(
            self.add(&admin, movie, id, capacity),
            Outcome::Ok(Success::ShowAdded)
        );
    }
    fn remove(&mut self, actor: &str, movie: &str, id: &str) -> Outcome {
        self.run(Operation::RemoveShow(RemoveShow {
            actor: s(actor),
            movie: s(movie),
            show_id: s(id),
        }))
    }
    fn avail(&mut self, actor: &str, movie: &str) -> Outcome {
        self.run(Operation::Availability(Availability {
            actor: s(actor),
            movie: s(movie),
        }))
    }
    fn book_as(&mut self, actor: &str, cust: &str, movie: &str, id: &str, n: u32) -> Outcome {
        self.run(Operation::Book(Book {
            actor: s(actor),
            customer: s(cust),
            movie: s(movie),
            show_id: s(id),
            tickets: n,
        }))
    }
    fn book(&mut self, cust: &str, movie: &str, id: &str, n: u32) -> Outcome {
        self.book_as(cust, cust, movie, id, n)
    }
    fn sched(&mut self, actor: &str, cust: &str) -> Outcome {
        self.run(Operation::Schedule(Schedule {
            actor: s(actor),
            customer: s(cust),
        }))
    }
    fn cancel_as(&mut self, actor: &str, cust: &str, movie: &str, id: &str, n: u32) -> Outcome {
        self.run(Operation::Cancel(Cancel {
            actor: s(actor),
            customer: s(cust),
            movie: s(movie),
            show_id: s(id),
            tickets: n,
        }))
    }
    fn cancel(&mut self, cust: &str, movie: &str, id: &str, n: u32) -> Outcome {
        self.cancel_as(cust, cust, movie, id, n)
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
        n: u32,
    ) -> Outcome {
        self.run(Operation::Exchange(Exchange {
            actor: s(actor),
            customer: s(cust),
            old_movie: s(om),
            old_show_id: s(oid),
            new_movie: s(nm),
            new_show_id: s(nid),
            tickets: n,
        }))
    }
    fn exchange(
        &mut self,
        cust: &str,
        om: &str,
        oid: &str,
        nm: &str,
        nid: &str,
        n: u32,
    ) -> Outcome {
        self.exchange_as(cust, cust, om, oid, nm, nid, n)
    }
    fn state(&self) -> CanonicalState {
        self.r.export_state()
    }
}

fn booked(held: u32, remaining: u32) -> Outcome {
    Outcome::Ok(Success::Booked(Booked { held, remaining }))
}

fn err(e: BookingError) -> Outcome {
    Err(e)
}

use BookingError as E;

// ---- the model -------------------------------------------------------------------------------

#[test]
fn dates_weeks_and_ids() {
    let d = Date::new(2026, 11, 24);
    same!(d.monday(), Date::new(2026, 11, 23));
    same!(Date::new(2026, 11, 29).monday(), Date::new(2026, 11, 23));
    same!(Date::new(2026, 11, 30).monday(), Date::new(2026, 11, 30));
    same!(Date::new(2027, 1, 1).monday(), Date::new(2026, 12, 28));
    same!(Date::new(2000, 1, 1).monday(), Date::new(1999, 12, 27));
    same!(d.plus_days(7), Date::new(2026, 12, 1));
    same!(Date::new(2028, 2, 28).plus_days(1), Date::new(2028, 2, 29));
    same!(
        Date::from_serial(Date::new(2099, 12, 31).serial()),
        Date::new(2099, 12, 31)
    );
    assert!(ShowKey::parse(Movie::Avatar, "ATWM290200").is_some()); // 2000 is leap
    assert!(ShowKey::parse(Movie::Avatar, "ATWM290224").is_some());
    assert!(ShowKey::parse(Movie::Avatar, "ATWM290226").is_none());
    assert!(ShowKey::parse(Movie::Avatar, "ATWM310426").is_none());
    assert!(ShowKey::parse(Movie::Avatar, "ATWM001226").is_none());
    assert!(ShowKey::parse(Movie::Avatar, "ATWM011326").is_none());
    let k = ShowKey::parse(Movie::Titanic, "VERE050107").unwrap();
    same!(k.show_id(), "VERE050107");
    let u = crate::model::UserId::parse("OUTC0042").unwrap();
    same!(u.render(), "OUTC0042");
}

#[test]
fn show_order_is_date_slot_area_movie() {
    let k = |m, id| ShowKey::parse(m, id).unwrap();
    let mut v = [
        k(Movie::Avatar, "ATWM261126"),
        k(Movie::Titanic, "VERE251126"),
        k(Movie::Avatar, "VERE251126"),
        k(Movie::Avengers, "OUTE251126"),
        k(Movie::Titanic, "ATWA251126"),
        k(Movie::Avatar, "ATWM251126"),
    ];
    v.sort();
    let ids: Vec<(String, Movie)> = v.iter().map(|k| (k.show_id(), k.movie)).collect();
    same!(
        ids,
        vec![
            (s("ATWM251126"), Movie::Avatar),
            (s("ATWA251126"), Movie::Titanic),
            (s("OUTE251126"), Movie::Avengers),
            (s("VERE251126"), Movie::Avatar),
            (s("VERE251126"), Movie::Titanic),
            (s("ATWM261126"), Movie::Avatar),
        ]
    );
}

// ---- V step ------------------------------------------------------------------------------------

#[test]
fn validation_errors_in_signature_order() {
    let mut t = T::new();
    for bad in [
        "atwa1000",
        "ATWA100",
        "ATWX1000",
        "XYZA1000",
        "ATWA10a0",
        "ATWA1000 ",
        "ATWÄ100",
    ] {
        same!(
            t.add(bad, "Avatar", "ATWM251126", 5),
            err(E::InvalidUserId),
            "{bad}"
        );
    }
    same!(t.add("ATWA1000", "avatar", "bad", 0), err(E::UnknownMovie));
    for bad in [
        "ATWM2511260",
        "ATWX251126",
        "atwM251126",
        "ATWM311126",
        "ATWM25112a",
        "XXXM251126",
    ] {
        same!(
            t.add("ATWA1000", "Avatar", bad, 0),
            err(E::InvalidShowId),
            "{bad}"
        );
    }
    same!(
        t.add("ATWA1000", "Avatar", "ATWM251126", 0),
        err(E::InvalidCapacity)
    );
    same!(
        t.add("ATWA1000", "Avatar", "ATWM251126", 10_001),
        err(E::InvalidCapacity)
    );
    same!(
        t.add("ATWA1000", "Avatar", "ATWM251126", 10_000),
        Outcome::Ok(Success::ShowAdded)
    );
    // V precedes authorisation.
    same!(
        t.add("VERA1000", "Avatar", "ATWM251126", 0),
        err(E::InvalidCapacity)
    );
    same!(
        t.remove("VERA1000", "Avatars", "ATWM251126"),
        err(E::UnknownMovie)
    );
    same!(
        t.remove("VERA1000", "Avatar", "ATWM251326"),
        err(E::InvalidShowId)
    );
    same!(t.avail("ATWC001", "Avatar"), err(E::InvalidUserId));
    same!(t.avail("ATWC0001", "Matrix"), err(E::UnknownMovie));
    // book: actor, customer, movie, show-id, tickets.
    same!(
        t.book_as("ATWC0001", "bad", "Matrix", "bad", 0),
        err(E::InvalidUserId)
    );
    same!(
        t.book_as("ATWC0001", "VERC0002", "Matrix", "bad", 0),
        err(E::UnknownMovie)
    );
    same!(
        t.book_as("ATWC0001", "VERC0002", "Avatar", "bad", 0),
        err(E::InvalidShowId)
    );
    same!(
        t.book("ATWC0001", "Avatar", "ATWM251126", 0),
        err(E::InvalidTickets)
    );
    same!(
        t.book("ATWC0001", "Avatar", "ATWM251126", 10_001),
        err(E::InvalidTickets)
    );
    same!(t.sched("ATWC0001", "VERC00012"), err(E::InvalidUserId));
    same!(
        t.cancel("ATWC0001", "Avatar", "ATWM251126", 0),
        err(E::InvalidTickets)
    );
    same!(
        t.cancel("ATWC0001", "Avatar", "ATWZ251126", 0),
        err(E::InvalidShowId)
    );
    // exchange: old movie, old id, new movie, new id, tickets.
    same!(
        t.exchange("ATWC0001", "X", "bad", "Y", "bad", 0),
        err(E::UnknownMovie)
    );
    same!(
        t.exchange("ATWC0001", "Avatar", "bad", "Y", "bad", 0),
        err(E::InvalidShowId)
    );
    same!(
        t.exchange("ATWC0001", "Avatar", "ATWM251126", "Y", "bad", 0),
        err(E::UnknownMovie)
    );
    same!(
        t.exchange("ATWC0001", "Avatar", "ATWM251126", "Titanic", "bad", 0),
        err(E::InvalidShowId)
    );
    same!(
        t.exchange(
            "ATWC0001",
            "Avatar",
            "ATWM251126",
            "Titanic",
            "ATWM251126",
            0
        ),
        err(E::InvalidTickets)
    );
}

// ---- add-show ----------------------------------------------------------------------------------

#[test]
fn add_show_examples_and_rules() {
    let mut t = T::new();
    same!(
        t.add("ATWA1000", "Avatar", "ATWM251126", 10),
        Outcome::Ok(Success::ShowAdded)
    );
    same!(
        t.add("ATWA1000", "Avatar", "ATWM251126", 4),
        Outcome::Ok(Success::ShowUpdated(10))
    );
    same!(
        t.add("ATWA1000", "Avatar", "ATWM251126", 4),
        Outcome::Ok(Success::ShowUpdated(4))
    );
    same!(
        t.add("VERA1000", "Avatar", "ATWE251126", 5),
        err(E::NotAuthorized)
    );
    same!(
        t.add("ATWC1000", "Avatar", "ATWE251126", 5),
        err(E::NotAuthorized)
    );
    same!(
        t.add("ATWA1000", "Titanic", "ATWA031226", 5),
        err(E::OutsideWindow)
    );
    // Authorisation precedes the window.
    same!(
        t.add("VERA1000", "Titanic", "ATWA031226", 5),
        err(E::NotAuthorized)
    );
    // Window edges: today and today + 7, not yesterday nor today + 8.
    same!(
        t.add("OUTA1000", "Titanic", "OUTE241126", 5),
        Outcome::Ok(Success::ShowAdded)
    );
    same!(
        t.add("OUTA1000", "Titanic", "OUTE011226", 5),
        Outcome::Ok(Success::ShowAdded)
    );
    same!(
        t.add("OUTA1000", "Titanic", "OUTE021226", 5),
        err(E::OutsideWindow)
    );
    same!(
        t.add("OUTA1000", "Titanic", "OUTE231126", 5),
        err(E::OutsideWindow)
    );
    // Same show ID, another movie: another show.
    same!(
        t.add("ATWA1000", "Titanic", "ATWM251126", 3),
        Outcome::Ok(Success::ShowAdded)
    );
    // Capacity below booked.
    same!(t.book("ATWC0001", "Avatar", "ATWM251126", 3), booked(3, 1));
    same!(
        t.add("ATWA1000", "Avatar", "ATWM251126", 2),
        err(E::CapacityBelowBooked)
    );
    same!(
        t.add("ATWA1000", "Avatar", "ATWM251126", 3),
        Outcome::Ok(Success::ShowUpdated(4))
    );
    same!(
        t.avail("ATWC0001", "Avatar"),
        Outcome::Ok(Success::Availability(vec![ShowRemaining {
            show_id: s("ATWM251126"),
            remaining: 0
        }]))
    );
    // An existing show that left the window cannot be changed (even to the same capacity).
    t.today = (2026, 11, 26);
    same!(
        t.add("ATWA1000", "Avatar", "ATWM251126", 3),
        err(E::OutsideWindow)
    );
    // Outside the window beats capacity-below-booked.
    same!(
        t.add("ATWA1000", "Avatar", "ATWM251126", 1),
        err(E::OutsideWindow)
    );
}

// ---- remove-show -------------------------------------------------------------------------------

#[test]
fn remove_show_errors_in_order() {
    let mut t = T::new();
    t.show("Avatar", "ATWM251126", 5);
    same!(
        t.remove("VERA1000", "Avatar", "ATWM251126"),
        err(E::NotAuthorized)
    );
    same!(
        t.remove("ATWC1000", "Avatar", "ATWM251126"),
        err(E::NotAuthorized)
    );
    same!(
        t.remove("VERA1000", "Avatar", "ATWM261126"),
        err(E::NotAuthorized)
    );
    same!(
        t.remove("ATWA1000", "Avatar", "ATWM261126"),
        err(E::ShowNotFound)
    );
    same!(
        t.remove("ATWA1000", "Titanic", "ATWM251126"),
        err(E::ShowNotFound)
    );
    t.today = (2026, 11, 26);
    same!(
        t.remove("ATWA1000", "Avatar", "ATWM251126"),
        err(E::PastShow)
    );
    t.today = (2026, 11, 25);
    same!(
        t.remove("ATWA1000", "Avatar", "ATWM251126"),
        Outcome::Ok(Success::ShowRemoved(ShowRemoved {
            moved: vec![],
            dropped: vec![]
        }))
    );
    assert!(t.state().shows.is_empty());
}

#[test]
fn remove_show_moves_in_customer_order_at_that_moment() {
    let mut t = T::new();
    t.show("Avatar", "ATWA251126", 10); // removed
    t.show("Avatar", "ATWM251126", 10); // earlier slot: never a target
    t.show("Avatar", "OUTE251126", 10); // other area: never
    t.show("Titanic", "ATWE251126", 10); // other movie: never
    t.show("Avatar", "ATWE251126", 4); // first candidate
    t.show("Avatar", "ATWM271126", 3); // second candidate
    same!(t.book("VERC0002", "Avatar", "ATWA251126", 3), booked(3, 7));
    same!(t.book("ATWC0009", "Avatar", "ATWA251126", 2), booked(2, 5));
    same!(t.book("ATWC0001", "Avatar", "ATWA251126", 4), booked(4, 1));
    // OUTC0005 already holds the second candidate: the moved tickets join that booking.
    same!(t.book("OUTC0005", "Avatar", "ATWM271126", 1), booked(1, 2));
    same!(t.book("OUTC0005", "Avatar", "ATWA251126", 1), booked(1, 0));
    // Order: ATWC0001(4) → ATWE251126 (4 left → 0); ATWC0009(2) → ATWM271126 (2 left → 0);
    // OUTC0005(1) → nowhere; VERC0002(3) → nowhere.
    same!(
        t.remove("ATWA1000", "Avatar", "ATWA251126"),
        Outcome::Ok(Success::ShowRemoved(ShowRemoved {
            moved: vec![
                MovedBooking {
                    customer: s("ATWC0001"),
                    to_show_id: s("ATWE251126"),
                    tickets: 4
                },
                MovedBooking {
                    customer: s("ATWC0009"),
                    to_show_id: s("ATWM271126"),
                    tickets: 2
                },
            ],
            dropped: vec![
                DroppedBooking {
                    customer: s("OUTC0005"),
                    tickets: 1
                },
                DroppedBooking {
                    customer: s("VERC0002"),
                    tickets: 3
                },
            ],
        }))
    );
    let st = t.state();
    same!(st.shows.len(), 5);
    same!(
        st.bookings,
        vec![
            BookingEntry {
                customer: s("ATWC0001"),
                movie: s("Avatar"),
                show_id: s("ATWE251126"),
                tickets: 4
            },
            BookingEntry {
                customer: s("ATWC0009"),
                movie: s("Avatar"),
                show_id: s("ATWM271126"),
                tickets: 2
            },
            BookingEntry {
                customer: s("OUTC0005"),
                movie: s("Avatar"),
                show_id: s("ATWM271126"),
                tickets: 1
            },
        ]
    );
}

#[test]
fn remove_show_moves_ignore_customer_rules_and_window() {
    let mut t = T::new();
    t.show("Avatar", "OUTM241126", 5);
    t.show("Avatar", "OUTE011226", 5); // today + 7
    // ATWC0001 has 3 other-area shows in week 49 (30 Nov – 6 Dec) and holds the same screening
    // in another area: the move happens anyway.
    t.show("Titanic", "VERM301126", 5);
    t.show("Titanic", "VERA301126", 5);
    t.show("Avengers", "VERA301126", 5);
    t.show("Avatar", "VERE011226", 5);
    for (m, id) in [
        ("Titanic", "VERM301126"),
        ("Titanic", "VERA301126"),
        ("Avengers", "VERA301126"),
    ] {
        same!(t.book("ATWC0001", m, id, 1), booked(1, 4));
    }
    same!(t.book("ATWC0001", "Avatar", "OUTM241126", 2), booked(2, 3));
    same!(
        t.book("ATWC0001", "Avatar", "VERE011226", 1),
        err(E::WeeklyLimit)
    );
    // Moving days: the target may lie beyond the window of a later today.
    t.today = (2026, 11, 24);
    same!(
        t.remove("OUTA0001", "Avatar", "OUTM241126"),
        Outcome::Ok(Success::ShowRemoved(ShowRemoved {
            moved: vec![MovedBooking {
                customer: s("ATWC0001"),
                to_show_id: s("OUTE011226"),
                tickets: 2
            }],
            dropped: vec![],
        }))
    );
}

// ---- availability ------------------------------------------------------------------------------

#[test]
fn availability_lists_non_past_shows_of_the_movie_in_show_order() {
    let mut t = T::new();
    same!(
        t.avail("VERC0001", "Avatar"),
        Outcome::Ok(Success::Availability(vec![]))
    );
    t.show("Avatar", "VERE251126", 3);
    t.show("Avatar", "ATWE251126", 3);
    t.show("Avatar", "OUTE251126", 3);
    t.show("Avatar", "ATWM241126", 2);
    t.show("Titanic", "ATWM241126", 2);
    t.show("Avatar", "ATWM251126", 1);
    same!(t.book("ATWC0001", "Avatar", "ATWM251126", 1), booked(1, 0));
    t.today = (2026, 11, 25);
    let expect: Vec<ShowRemaining> = [
        ("ATWM251126", 0),
        ("ATWE251126", 3),
        ("OUTE251126", 3),
        ("VERE251126", 3),
    ]
    .iter()
    .map(|&(id, r)| ShowRemaining {
        show_id: s(id),
        remaining: r,
    })
    .collect();
    // Any valid user, admin or customer, of any area.
    same!(
        t.avail("VERA0001", "Avatar"),
        Outcome::Ok(Success::Availability(expect.clone()))
    );
    same!(
        t.avail("OUTC0003", "Avatar"),
        Outcome::Ok(Success::Availability(expect))
    );
}

// ---- book --------------------------------------------------------------------------------------

#[test]
fn book_examples() {
    let mut t = T::new();
    t.show("Avatar", "ATWM251126", 4);
    same!(t.book("ATWC0001", "Avatar", "ATWM251126", 2), booked(2, 2));
    same!(
        t.book("ATWC0001", "Avatar", "ATWM251126", 3),
        err(E::ShowFull(2))
    );
    same!(t.book("ATWC0001", "Avatar", "ATWM251126", 2), booked(4, 0));
    same!(
        t.book("ATWC0002", "Avatar", "ATWM251126", 1),
        err(E::ShowFull(0))
    );
    t.show("Avatar", "OUTM251126", 4);
    same!(
        t.book("ATWC0001", "Avatar", "OUTM251126", 1),
        err(E::SameShowOtherArea)
    );
}

#[test]
fn book_authorisation() {
    let mut t = T::new();
    t.show("Avatar", "ATWM251126", 10);
    same!(
        t.book_as("ATWC0001", "ATWC0002", "Avatar", "ATWM251126", 1),
        err(E::NotAuthorized)
    );
    same!(
        t.book_as("ATWA0001", "ATWA0002", "Avatar", "ATWM251126", 1),
        err(E::NotAuthorized)
    );
    same!(
        t.book_as("ATWA0001", "ATWA0001", "Avatar", "ATWM251126", 1),
        err(E::NotAuthorized)
    );
    same!(
        t.book_as("ATWC0001", "ATWA0001", "Avatar", "ATWM251126", 1),
        err(E::NotAuthorized)
    );
    // Authorisation precedes show-not-found.
    same!(
        t.book_as("ATWC0001", "ATWC0002", "Avatar", "ATWM261126", 1),
        err(E::NotAuthorized)
    );
    // An admin of any area acts for any customer of any area.
    same!(
        t.book_as("VERA0001", "OUTC0002", "Avatar", "ATWM251126", 1),
        booked(1, 9)
    );
}

#[test]
fn book_precedence_not_found_past_same_show_weekly_full() {
    let mut t = T::new();
    same!(
        t.book("ATWC0001", "Avatar", "ATWM251126", 1),
        err(E::ShowNotFound)
    );
    t.show("Avatar", "ATWM241126", 1);
    t.show("Avatar", "VERM241126", 1);
    same!(t.book("ATWC0001", "Avatar", "ATWM241126", 1), booked(1, 0));
    t.today = (2026, 11, 25);
    // Past beats same-show and full.
    same!(
        t.book("ATWC0002", "Avatar", "ATWM241126", 5),
        err(E::PastShow)
    );
    // A past booking still blocks the same screening elsewhere... but that show is past too.
    same!(
        t.book("ATWC0001", "Avatar", "VERM241126", 1),
        err(E::PastShow)
    );
    // Same-show beats weekly limit and full.
    t.show("Titanic", "ATWE251126", 1);
    t.show("Titanic", "OUTE251126", 1);
    same!(t.book("VERC0001", "Titanic", "ATWE251126", 1), booked(1, 0));
    same!(
        t.book("VERC0001", "Titanic", "OUTE251126", 5),
        err(E::SameShowOtherArea)
    );
    // Same date and slot but another movie: fine.
    t.show("Avatar", "OUTE251126", 5);
    same!(t.book("VERC0001", "Avatar", "OUTE251126", 1), booked(1, 4));
    // Same movie, same date, other slot: fine.
    t.show("Titanic", "OUTA251126", 5);
    same!(t.book("VERC0001", "Titanic", "OUTA251126", 1), booked(1, 4));
    // Home area is the customer's, and VERC0001 has 3 away shows this week now.
    t.show("Avengers", "ATWM261126", 1);
    same!(
        t.book_as("ATWA0001", "VERC0001", "Avengers", "ATWM261126", 5),
        err(E::WeeklyLimit)
    );
    // Weekly limit beats show-full, show-full only after.
    same!(
        t.book("ATWC0005", "Avengers", "ATWM261126", 5),
        err(E::ShowFull(1))
    );
}

#[test]
fn weekly_limit_example_and_edges() {
    let mut t = T::new();
    for id in [
        "VERM241126",
        "VERA261126",
        "OUTE291126",
        "OUTM271126",
        "OUTM301126",
        "ATWE271126",
    ] {
        t.show("Avatar", id, 10);
    }
    for id in ["VERM241126", "VERA261126", "OUTE291126"] {
        same!(t.book("ATWC0001", "Avatar", id, 1), booked(1, 9));
    }
    same!(
        t.book("ATWC0001", "Avatar", "OUTM271126", 1),
        err(E::WeeklyLimit)
    );
    same!(t.book("ATWC0001", "Avatar", "OUTM301126", 1), booked(1, 9));
    // Home-area shows never count nor are limited.
    same!(t.book("ATWC0001", "Avatar", "ATWE271126", 1), booked(1, 9));
    // More tickets on a show already held: not a new movie.
    same!(t.book("ATWC0001", "Avatar", "VERA261126", 2), booked(3, 7));
    // Past bookings of the week still count.
    t.today = (2026, 11, 27);
    same!(
        t.book("ATWC0001", "Avatar", "OUTM271126", 1),
        err(E::WeeklyLimit)
    );
    // Cancelling one away booking frees a place.
    same!(
        t.cancel("ATWC0001", "Avatar", "OUTE291126", 1),
        Outcome::Ok(Success::Cancelled(0))
    );
    same!(t.book("ATWC0001", "Avatar", "OUTM271126", 1), booked(1, 9));
}

#[test]
fn weekly_limit_counts_two_movies_on_one_show_id_twice() {
    let mut t = T::new();
    t.show("Avatar", "VERM251126", 5);
    t.show("Titanic", "VERM251126", 5);
    t.show("Avengers", "VERA251126", 5);
    t.show("Avatar", "OUTE261126", 5);
    same!(t.book("ATWC0001", "Avatar", "VERM251126", 1), booked(1, 4));
    same!(t.book("ATWC0001", "Titanic", "VERM251126", 1), booked(1, 4));
    same!(
        t.book("ATWC0001", "Avengers", "VERA251126", 1),
        booked(1, 4)
    );
    same!(
        t.book("ATWC0001", "Avatar", "OUTE261126", 1),
        err(E::WeeklyLimit)
    );
}

#[test]
fn weekly_limit_across_a_year_end() {
    let mut t = T::new();
    t.today = (2026, 12, 28); // Monday; its week runs to Sunday 3 Jan 2027.
    for id in [
        "VERM281226",
        "VERM311226",
        "OUTM010127",
        "OUTM020127",
        "OUTM040127",
    ] {
        t.show("Avatar", id, 5);
    }
    for id in ["VERM281226", "VERM311226", "OUTM010127"] {
        same!(t.book("ATWC0001", "Avatar", id, 1), booked(1, 4));
    }
    same!(
        t.book("ATWC0001", "Avatar", "OUTM020127", 1),
        err(E::WeeklyLimit)
    );
    same!(t.book("ATWC0001", "Avatar", "OUTM040127", 1), booked(1, 4));
}

// ---- schedule ----------------------------------------------------------------------------------

#[test]
fn schedule_all_bookings_in_show_order_past_included() {
    let mut t = T::new();
    t.show("Titanic", "OUTE251126", 5);
    t.show("Avatar", "OUTE251126", 5);
    t.show("Avatar", "ATWM241126", 5);
    t.show("Avengers", "ATWE251126", 5);
    same!(
        t.sched("OUTC0001", "OUTC0001"),
        Outcome::Ok(Success::Schedule(vec![]))
    );
    for (m, id) in [
        ("Titanic", "OUTE251126"),
        ("Avatar", "OUTE251126"),
        ("Avatar", "ATWM241126"),
        ("Avengers", "ATWE251126"),
    ] {
        same!(t.book("OUTC0001", m, id, 2), booked(2, 3));
    }
    same!(t.book("OUTC0002", "Avatar", "ATWM241126", 1), booked(1, 2));
    t.today = (2026, 11, 25);
    let expect: Vec<ScheduledBooking> = [
        ("Avatar", "ATWM241126"),
        ("Avengers", "ATWE251126"),
        ("Avatar", "OUTE251126"),
        ("Titanic", "OUTE251126"),
    ]
    .iter()
    .map(|&(m, id)| ScheduledBooking {
        movie: s(m),
        show_id: s(id),
        tickets: 2,
    })
    .collect();
    same!(
        t.sched("OUTC0001", "OUTC0001"),
        Outcome::Ok(Success::Schedule(expect.clone()))
    );
    same!(
        t.sched("VERA0009", "OUTC0001"),
        Outcome::Ok(Success::Schedule(expect))
    );
    same!(t.sched("OUTC0002", "OUTC0001"), err(E::NotAuthorized));
    same!(t.sched("OUTA0001", "OUTA0001"), err(E::NotAuthorized));
    same!(t.sched("OUTC0001", "OUTA0001"), err(E::NotAuthorized));
}

// ---- cancel ------------------------------------------------------------------------------------

#[test]
fn cancel_rules_in_order() {
    let mut t = T::new();
    t.show("Avatar", "ATWM241126", 5);
    t.show("Avatar", "ATWM251126", 5);
    same!(t.book("ATWC0001", "Avatar", "ATWM241126", 2), booked(2, 3));
    same!(t.book("ATWC0001", "Avatar", "ATWM251126", 2), booked(2, 3));
    same!(
        t.cancel_as("ATWC0002", "ATWC0001", "Avatar", "ATWM251126", 1),
        err(E::NotAuthorized)
    );
    same!(
        t.cancel_as("ATWA0002", "ATWA0001", "Avatar", "ATWM251126", 1),
        err(E::NotAuthorized)
    );
    // Not booked: no show, or a show the customer does not hold; precedes past.
    same!(
        t.cancel("ATWC0001", "Avatar", "ATWM261126", 1),
        err(E::NotBooked)
    );
    same!(
        t.cancel("ATWC0002", "Avatar", "ATWM251126", 1),
        err(E::NotBooked)
    );
    same!(
        t.cancel("ATWC0001", "Titanic", "ATWM251126", 1),
        err(E::NotBooked)
    );
    same!(
        t.cancel("ATWC0001", "Avatar", "ATWM251126", 5),
        err(E::TooManyTickets(2))
    );
    same!(
        t.cancel("ATWC0001", "Avatar", "ATWM251126", 1),
        Outcome::Ok(Success::Cancelled(1))
    );
    same!(
        t.cancel_as("OUTA0001", "ATWC0001", "Avatar", "ATWM251126", 1),
        Outcome::Ok(Success::Cancelled(0))
    );
    same!(
        t.cancel("ATWC0001", "Avatar", "ATWM251126", 1),
        err(E::NotBooked)
    );
    same!(
        t.avail("ATWC0001", "Avatar"),
        Outcome::Ok(Success::Availability(vec![
            ShowRemaining {
                show_id: s("ATWM241126"),
                remaining: 3
            },
            ShowRemaining {
                show_id: s("ATWM251126"),
                remaining: 5
            },
        ]))
    );
    t.today = (2026, 11, 25);
    // Past beats too-many-tickets.
    same!(
        t.cancel("ATWC0001", "Avatar", "ATWM241126", 9),
        err(E::PastShow)
    );
    same!(t.state().bookings.len(), 1);
}

// ---- exchange ----------------------------------------------------------------------------------

fn exchanged(old_held: u32, new_held: u32) -> Outcome {
    Outcome::Ok(Success::Exchanged(Exchanged { old_held, new_held }))
}

#[test]
fn exchange_rules_in_order() {
    let mut t = T::new();
    t.show("Avatar", "ATWM241126", 5);
    t.show("Avatar", "ATWM251126", 5);
    t.show("Titanic", "ATWM251126", 2);
    same!(t.book("ATWC0001", "Avatar", "ATWM241126", 3), booked(3, 2));
    same!(t.book("ATWC0001", "Avatar", "ATWM251126", 3), booked(3, 2));
    let ex = |t: &mut T, om, oid, nm, nid, n| t.exchange("ATWC0001", om, oid, nm, nid, n);
    same!(
        t.exchange_as(
            "ATWC0002",
            "ATWC0001",
            "Avatar",
            "ATWM251126",
            "Titanic",
            "ATWM251126",
            1
        ),
        err(E::NotAuthorized)
    );
    // Authorisation before same-show; same-show before not-booked.
    same!(
        t.exchange_as(
            "ATWC0002",
            "ATWC0001",
            "Avatar",
            "ATWM261126",
            "Avatar",
            "ATWM261126",
            1
        ),
        err(E::NotAuthorized)
    );
    same!(
        ex(&mut t, "Avatar", "ATWM261126", "Avatar", "ATWM261126", 1),
        err(E::SameShow)
    );
    same!(
        ex(&mut t, "Titanic", "ATWM251126", "Avatar", "ATWM241126", 1),
        err(E::NotBooked)
    );
    // The new show is checked only after the old booking.
    same!(
        ex(&mut t, "Avatar", "ATWM251126", "Avatar", "ATWM261126", 9),
        err(E::TooManyTickets(3))
    );
    same!(
        ex(&mut t, "Avatar", "ATWM251126", "Avatar", "ATWM261126", 1),
        err(E::ShowNotFound)
    );
    same!(
        ex(&mut t, "Avatar", "ATWM251126", "Titanic", "ATWM251126", 3),
        err(E::ShowFull(2))
    );
    // Same show ID, another movie: allowed.
    same!(
        ex(&mut t, "Avatar", "ATWM251126", "Titanic", "ATWM251126", 2),
        exchanged(1, 2)
    );
    // Nothing changed by the refused ones; both sides by the accepted one.
    same!(
        t.state().bookings,
        vec![
            BookingEntry {
                customer: s("ATWC0001"),
                movie: s("Avatar"),
                show_id: s("ATWM241126"),
                tickets: 3
            },
            BookingEntry {
                customer: s("ATWC0001"),
                movie: s("Avatar"),
                show_id: s("ATWM251126"),
                tickets: 1
            },
            BookingEntry {
                customer: s("ATWC0001"),
                movie: s("Titanic"),
                show_id: s("ATWM251126"),
                tickets: 2
            },
        ]
    );
    t.today = (2026, 11, 25);
    same!(
        ex(&mut t, "Avatar", "ATWM241126", "Avatar", "ATWM251126", 9),
        err(E::PastShow)
    );
    // Old is fine, new is past.
    t.today = (2026, 11, 24);
    same!(
        ex(&mut t, "Avatar", "ATWM251126", "Avatar", "ATWM241126", 1),
        exchanged(0, 4)
    );
    t.today = (2026, 11, 25);
    same!(
        ex(&mut t, "Titanic", "ATWM251126", "Avatar", "ATWM241126", 1),
        err(E::PastShow)
    );
    // Admin on behalf of the customer.
    t.show("Avatar", "ATWE251126", 5);
    same!(
        t.exchange_as(
            "VERA0001",
            "ATWC0001",
            "Titanic",
            "ATWM251126",
            "Avatar",
            "ATWE251126",
            2
        ),
        exchanged(0, 2)
    );
}

#[test]
fn exchange_as_if_released_same_show_rule() {
    let mut t = T::new();
    t.show("Avatar", "ATWM251126", 5);
    t.show("Avatar", "OUTM251126", 5);
    same!(t.book("ATWC0001", "Avatar", "ATWM251126", 2), booked(2, 3));
    // Moving part of the screening to another theatre: the old booking still exists.
    same!(
        t.exchange(
            "ATWC0001",
            "Avatar",
            "ATWM251126",
            "Avatar",
            "OUTM251126",
            1
        ),
        err(E::SameShowOtherArea)
    );
    // Moving all of it: the old booking is gone for the check.
    same!(
        t.exchange(
            "ATWC0001",
            "Avatar",
            "ATWM251126",
            "Avatar",
            "OUTM251126",
            2
        ),
        exchanged(0, 2)
    );
}

#[test]
fn exchange_as_if_released_weekly_limit() {
    let mut t = T::new();
    for id in ["VERM241126", "VERA261126", "OUTE291126", "OUTM271126"] {
        t.show("Avatar", id, 10);
    }
    for id in ["VERM241126", "VERA261126", "OUTE291126"] {
        same!(t.book("ATWC0001", "Avatar", id, 2), booked(2, 8));
    }
    // A partial move keeps the old booking: 3 away shows, refused.
    same!(
        t.exchange(
            "ATWC0001",
            "Avatar",
            "VERA261126",
            "Avatar",
            "OUTM271126",
            1
        ),
        err(E::WeeklyLimit)
    );
    // A full move empties it: 2 away shows, allowed.
    same!(
        t.exchange(
            "ATWC0001",
            "Avatar",
            "VERA261126",
            "Avatar",
            "OUTM271126",
            2
        ),
        exchanged(0, 2)
    );
}

#[test]
fn exchange_full_new_show_reports_its_remaining() {
    let mut t = T::new();
    t.show("Avatar", "ATWM251126", 5);
    t.show("Avatar", "ATWE251126", 1);
    same!(t.book("ATWC0001", "Avatar", "ATWM251126", 3), booked(3, 2));
    same!(
        t.exchange(
            "ATWC0001",
            "Avatar",
            "ATWM251126",
            "Avatar",
            "ATWE251126",
            2
        ),
        err(E::ShowFull(1))
    );
    same!(t.book("ATWC0001", "Avatar", "ATWE251126", 1), booked(1, 0));
    same!(
        t.exchange(
            "ATWC0001",
            "Avatar",
            "ATWE251126",
            "Avatar",
            "ATWM251126",
            1
        ),
        exchanged(0, 4)
    );
}

// ---- canonical state ---------------------------------------------------------------------------

fn show_e(m: &str, id: &str, c: u32) -> ShowEntry {
    ShowEntry {
        movie: s(m),
        show_id: s(id),
        capacity: c,
    }
}

fn booking_e(c: &str, m: &str, id: &str, t: u32) -> BookingEntry {
    BookingEntry {
        customer: s(c),
        movie: s(m),
        show_id: s(id),
        tickets: t,
    }
}

fn good_state() -> CanonicalState {
    CanonicalState {
        shows: vec![
            show_e("Avatar", "ATWM010120", 3),
            show_e("Titanic", "OUTM010120", 5),
            show_e("Avatar", "VERE311299", 2),
        ],
        bookings: vec![
            booking_e("ATWC0001", "Titanic", "OUTM010120", 2),
            booking_e("ATWC0001", "Avatar", "VERE311299", 1),
            booking_e("OUTC0001", "Avatar", "ATWM010120", 3),
            booking_e("OUTC0001", "Titanic", "OUTM010120", 3),
        ],
    }
}

#[test]
fn export_is_canonical_and_round_trips() {
    let mut t = T::new();
    t.show("Titanic", "VERM251126", 5);
    t.show("Avatar", "VERM251126", 5);
    t.show("Avatar", "ATWE241126", 5);
    same!(t.book("VERC0002", "Avatar", "ATWE241126", 1), booked(1, 4));
    same!(t.book("ATWC0003", "Titanic", "VERM251126", 2), booked(2, 3));
    same!(t.book("ATWC0003", "Avatar", "ATWE241126", 1), booked(1, 3));
    let st = t.state();
    same!(
        st,
        CanonicalState {
            shows: vec![
                show_e("Avatar", "ATWE241126", 5),
                show_e("Avatar", "VERM251126", 5),
                show_e("Titanic", "VERM251126", 5),
            ],
            bookings: vec![
                booking_e("ATWC0003", "Avatar", "ATWE241126", 1),
                booking_e("ATWC0003", "Titanic", "VERM251126", 2),
                booking_e("VERC0002", "Avatar", "ATWE241126", 1),
            ],
        }
    );
    let mut other = T::new();
    same!(other.import(st.clone()), Result::<(), StateError>::Ok(()));
    same!(other.state(), st);
    // The imported state is live: remaining counts the imported bookings.
    same!(
        other.book("OUTC0001", "Avatar", "ATWE241126", 4),
        err(E::ShowFull(3))
    );
}

#[test]
fn import_accepts_past_and_far_shows_and_replaces_everything() {
    let mut t = T::new();
    t.show("Avatar", "ATWM251126", 5);
    same!(t.import(good_state()), Result::<(), StateError>::Ok(()));
    same!(t.state(), good_state());
    same!(
        t.import(CanonicalState {
            shows: vec![],
            bookings: vec![]
        }),
        Result::<(), StateError>::Ok(())
    );
    same!(
        t.state(),
        CanonicalState {
            shows: vec![],
            bookings: vec![]
        }
    );
}

#[test]
fn import_refuses_each_fault_and_changes_nothing() {
    use StateFault as F;
    use StateSection::{Bookings, Shows};
    type Case = (fn(&mut CanonicalState), StateSection, u32, StateFault);
    let cases: Vec<Case> = vec![
        (
            |s| s.shows[1].show_id = "OUTX010120".into(),
            Shows,
            1,
            F::MalformedId,
        ),
        (
            |s| s.shows[1].show_id = "OUTM300220".into(),
            Shows,
            1,
            F::MalformedId,
        ),
        (
            |s| s.shows[0].movie = "avatar".into(),
            Shows,
            0,
            F::UnknownMovie,
        ),
        (|s| s.shows[2].capacity = 0, Shows, 2, F::CapacityOutOfRange),
        (
            |s| s.shows[2].capacity = 10_001,
            Shows,
            2,
            F::CapacityOutOfRange,
        ),
        (|s| s.shows.swap(0, 1), Shows, 1, F::OutOfOrder),
        (|s| s.shows[1] = s.shows[0].clone(), Shows, 1, F::Duplicate),
        (
            |s| s.bookings[2].customer = "OUTA0001".into(),
            Bookings,
            2,
            F::MalformedId,
        ),
        (
            |s| s.bookings[2].customer = "OUTC001".into(),
            Bookings,
            2,
            F::MalformedId,
        ),
        (
            |s| s.bookings[3].movie = "Matrix".into(),
            Bookings,
            3,
            F::UnknownMovie,
        ),
        (|s| s.bookings[0].tickets = 0, Bookings, 0, F::ZeroTickets),
        (|s| s.bookings.swap(0, 1), Bookings, 1, F::OutOfOrder),
        (|s| s.bookings.swap(1, 2), Bookings, 2, F::OutOfOrder),
        (
            |s| s.bookings[1] = s.bookings[0].clone(),
            Bookings,
            1,
            F::Duplicate,
        ),
        (
            |s| s.bookings[3].show_id = "OUTA010120".into(),
            Bookings,
            3,
            F::UnknownShow,
        ),
        (|s| s.bookings[2].tickets = 4, Shows, 0, F::OverCapacity),
        (
            |s| s.bookings[1].tickets = u32::MAX,
            Shows,
            2,
            F::OverCapacity,
        ),
        (
            |s| {
                s.bookings[0].tickets = u32::MAX;
                s.bookings[3].tickets = 2;
            },
            Shows,
            1,
            F::OverCapacity,
        ),
    ];
    for (i, (spoil, section, index, fault)) in cases.into_iter().enumerate() {
        let mut t = T::new();
        t.show("Avatar", "ATWM251126", 5);
        same!(t.book("ATWC0001", "Avatar", "ATWM251126", 2), booked(2, 3));
        let before = t.state();
        let mut bad = good_state();
        spoil(&mut bad);
        same!(
            t.import(bad),
            Result::<(), StateError>::Err(StateError {
                section,
                index,
                fault
            }),
            "case {i}"
        );
        same!(t.state(), before, "case {i}");
    }
}

// ---- the decider itself ------------------------------------------------------------------------

#[test]
fn decide_is_pure_and_exchange_is_a_release_then_a_reservation() {
    use crate::command::Command;
    use crate::decide::decide;
    use crate::event::Event;
    use crate::model::UserId;
    let mut t = T::new();
    t.show("Avatar", "ATWM251126", 5);
    t.show("Avatar", "ATWE251126", 5);
    same!(t.book("ATWC0001", "Avatar", "ATWM251126", 3), booked(3, 2));
    let customer = UserId::parse("ATWC0001").unwrap();
    let from = ShowKey::parse(Movie::Avatar, "ATWM251126").unwrap();
    let to = ShowKey::parse(Movie::Avatar, "ATWE251126").unwrap();
    let before = t.r.state.clone();
    let command = Command::Exchange {
        actor: customer,
        customer,
        from,
        to,
        tickets: 3,
    };
    let events = decide(&t.r.state, Date::new(2026, 11, 24), &command).unwrap();
    assert_eq!(
        events,
        vec![
            Event::TicketsReleased {
                customer,
                show: from,
                tickets: 3,
                held_after: 0
            },
            Event::TicketsReserved {
                customer,
                show: to,
                tickets: 3,
                held_after: 3,
                remaining_after: 2
            },
        ]
    );
    assert_eq!(t.r.state, before, "deciding changes nothing");
    for e in &events {
        t.r.state.evolve(e);
        check_digest(&t.r);
    }
    assert_eq!(t.r.state.held(customer, from), 0);
    assert_eq!(t.r.state.held(customer, to), 3);
    assert_eq!(t.r.state.show(to).unwrap().sold, 3);
    assert_eq!(t.r.state.show(from).unwrap().sold, 0);
}

// ---- the state digest under a random workload ----------------------------------------------------

mod random;
