//! Unit tests of implementation D, written from `shared/spec/booking-rules.md` and
//! `docs/booking-rules.md` (every rule and every error of every operation), plus the canonical
//! state and its import. Results are rendered to short strings (`o(…)`) so that expectations
//! read like the spec: `"booked 2 2"`, `"show-full 2"`.

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use dmtbs_guest::{
    AddShow, Availability, Book, BookingEntry, BookingError, Cancel, CanonicalState, Context, Date,
    Exchange, Operation, Outcome, RemoveShow, Replica, Request, Schedule, ShowEntry, StateDigest,
    StateError, StateFault, StateSection, Success,
};

use crate::ReplicaD;
use crate::ids::{Day, ShowId, UserId};
use crate::rules;

// ---- harness -------------------------------------------------------------------------------

fn o(outcome: &Outcome) -> String {
    match outcome {
        Ok(s) => match s {
            Success::ShowAdded => "show-added".into(),
            Success::ShowUpdated(n) => format!("show-updated {n}"),
            Success::ShowRemoved(r) => {
                let moved: Vec<String> = r
                    .moved
                    .iter()
                    .map(|m| format!("{}>{}x{}", m.customer, m.to_show_id, m.tickets))
                    .collect();
                let dropped: Vec<String> = r
                    .dropped
                    .iter()
                    .map(|d| format!("{}x{}", d.customer, d.tickets))
                    .collect();
                format!(
                    "show-removed moved[{}] dropped[{}]",
                    moved.join(" "),
                    dropped.join(" ")
                )
            }
            Success::Availability(l) => {
                let v: Vec<String> = l
                    .iter()
                    .map(|s| format!("{}:{}", s.show_id, s.remaining))
                    .collect();
                format!("availability[{}]", v.join(" "))
            }
            Success::Booked(b) => format!("booked {} {}", b.held, b.remaining),
            Success::Schedule(l) => {
                let v: Vec<String> = l
                    .iter()
                    .map(|s| format!("{}/{}x{}", s.movie, s.show_id, s.tickets))
                    .collect();
                format!("schedule[{}]", v.join(" "))
            }
            Success::Cancelled(n) => format!("cancelled {n}"),
            Success::Exchanged(e) => format!("exchanged {} {}", e.old_held, e.new_held),
        },
        Err(e) => match e {
            BookingError::InvalidUserId => "invalid-user-id".into(),
            BookingError::InvalidShowId => "invalid-show-id".into(),
            BookingError::UnknownMovie => "unknown-movie".into(),
            BookingError::InvalidCapacity => "invalid-capacity".into(),
            BookingError::InvalidTickets => "invalid-tickets".into(),
            BookingError::NotAuthorized => "not-authorized".into(),
            BookingError::OutsideWindow => "outside-window".into(),
            BookingError::ShowNotFound => "show-not-found".into(),
            BookingError::PastShow => "past-show".into(),
            BookingError::CapacityBelowBooked => "capacity-below-booked".into(),
            BookingError::SameShowOtherArea => "same-show-other-area".into(),
            BookingError::WeeklyLimit => "weekly-limit".into(),
            BookingError::ShowFull(n) => format!("show-full {n}"),
            BookingError::NotBooked => "not-booked".into(),
            BookingError::TooManyTickets(n) => format!("too-many-tickets {n}"),
            BookingError::SameShow => "same-show".into(),
        },
    }
}

fn fault(r: &Result<(), StateError>) -> String {
    match r {
        Ok(()) => "ok".into(),
        Err(e) => {
            let section = match e.section {
                StateSection::Shows => "shows",
                StateSection::Bookings => "bookings",
            };
            let f = match e.fault {
                StateFault::MalformedId => "malformed-id",
                StateFault::UnknownMovie => "unknown-movie",
                StateFault::CapacityOutOfRange => "capacity-out-of-range",
                StateFault::ZeroTickets => "zero-tickets",
                StateFault::OutOfOrder => "out-of-order",
                StateFault::Duplicate => "duplicate",
                StateFault::UnknownShow => "unknown-show",
                StateFault::OverCapacity => "over-capacity",
            };
            format!("{section}[{}] {f}", e.index)
        }
    }
}

/// The digest of rules §7.1 computed from scratch from a canonical state.
fn recomputed_digest(s: &CanonicalState) -> StateDigest {
    StateDigest::of(s)
}

/// The incrementally kept digest equals the one recomputed from the export.
fn assert_digest(r: &ReplicaD) {
    assert_eq!(
        r.state_digest(),
        recomputed_digest(&r.export_state()),
        "kept digest differs from the export's"
    );
}

/// A replica with a settable `today` (default 2026-11-24, the spec's examples' Tuesday).
struct Bench {
    r: ReplicaD,
    today: (u16, u8, u8),
    seq: u64,
}

impl Bench {
    fn new() -> Bench {
        Bench {
            r: ReplicaD::default(),
            today: (2026, 11, 24),
            seq: 0,
        }
    }

    fn at(&mut self, y: u16, m: u8, d: u8) -> &mut Bench {
        self.today = (y, m, d);
        self
    }

    fn go(&mut self, operation: Operation) -> String {
        o(&self.go_raw(operation))
    }

    fn go_raw(&mut self, operation: Operation) -> Outcome {
        self.seq += 1;
        let (year, month, day) = self.today;
        let out = self.r.apply(Request {
            context: Context {
                seq: self.seq,
                today: Date { year, month, day },
            },
            operation,
        });
        self.check_invariants();
        out
    }

    /// The seat index always equals the sum of the ledgers; no empty line exists.
    fn check_invariants(&self) {
        assert_digest(&self.r);
        let s = self.r.export_state();
        for show in &s.shows {
            let sum: u32 = s
                .bookings
                .iter()
                .filter(|b| b.movie == show.movie && b.show_id == show.show_id)
                .map(|b| b.tickets)
                .sum();
            assert!(sum <= show.capacity, "over capacity: {}", show.show_id);
        }
        assert!(s.bookings.iter().all(|b| b.tickets > 0));
        // A re-import of the export is accepted and changes nothing.
        let again = crate::cinema::Cinema::import(&s).expect("own export imports");
        assert_eq!(&again, self.r.cinema());
    }

    /// `import_state`, checking the digest after it (unchanged when refused).
    fn import(&mut self, s: CanonicalState) -> Result<(), StateError> {
        let before = self.r.state_digest();
        let wanted = recomputed_digest(&s);
        let r = self.r.import_state(s);
        assert_eq!(
            self.r.state_digest(),
            if r.is_ok() { wanted } else { before },
            "digest after import"
        );
        self.check_invariants();
        r
    }

    fn add(&mut self, actor: &str, movie: &str, show: &str, capacity: u32) -> String {
        self.go(Operation::AddShow(AddShow {
            actor: actor.into(),
            movie: movie.into(),
            show_id: show.into(),
            capacity,
        }))
    }

    fn remove(&mut self, actor: &str, movie: &str, show: &str) -> String {
        self.go(Operation::RemoveShow(RemoveShow {
            actor: actor.into(),
            movie: movie.into(),
            show_id: show.into(),
        }))
    }

    fn avail(&mut self, actor: &str, movie: &str) -> String {
        self.go(Operation::Availability(Availability {
            actor: actor.into(),
            movie: movie.into(),
        }))
    }

    fn book(&mut self, actor: &str, customer: &str, movie: &str, show: &str, t: u32) -> String {
        self.go(Operation::Book(Book {
            actor: actor.into(),
            customer: customer.into(),
            movie: movie.into(),
            show_id: show.into(),
            tickets: t,
        }))
    }

    /// A customer booking for itself.
    fn b(&mut self, customer: &str, movie: &str, show: &str, t: u32) -> String {
        self.book(customer, customer, movie, show, t)
    }

    fn sched(&mut self, actor: &str, customer: &str) -> String {
        self.go(Operation::Schedule(Schedule {
            actor: actor.into(),
            customer: customer.into(),
        }))
    }

    fn cancel(&mut self, actor: &str, customer: &str, movie: &str, show: &str, t: u32) -> String {
        self.go(Operation::Cancel(Cancel {
            actor: actor.into(),
            customer: customer.into(),
            movie: movie.into(),
            show_id: show.into(),
            tickets: t,
        }))
    }

    #[allow(clippy::too_many_arguments)]
    fn exch(
        &mut self,
        actor: &str,
        customer: &str,
        old_movie: &str,
        old_show: &str,
        new_movie: &str,
        new_show: &str,
        t: u32,
    ) -> String {
        self.go(Operation::Exchange(Exchange {
            actor: actor.into(),
            customer: customer.into(),
            old_movie: old_movie.into(),
            old_show_id: old_show.into(),
            new_movie: new_movie.into(),
            new_show_id: new_show.into(),
            tickets: t,
        }))
    }

    /// A customer exchanging for itself.
    fn x(&mut self, c: &str, om: &str, os: &str, nm: &str, ns: &str, t: u32) -> String {
        self.exch(c, c, om, os, nm, ns, t)
    }

    /// Adds shows with capacity as admin of their area.
    fn shows(&mut self, movie: &str, ids: &[&str], capacity: u32) {
        for id in ids {
            let admin = format!("{}A0001", &id[0..3]);
            let r = self.add(&admin, movie, id, capacity);
            assert_eq!(r, "show-added", "{movie} {id}");
        }
    }

    fn export(&self) -> CanonicalState {
        self.r.export_state()
    }
}

const ATW_ADMIN: &str = "ATWA1000";
const VER_ADMIN: &str = "VERA1000";
const OUT_ADMIN: &str = "OUTA1000";
const C1: &str = "ATWC0001";
const C2: &str = "ATWC0002";
const V1: &str = "VERC0001";
const O1: &str = "OUTC0001";

// ---- identifiers and dates -----------------------------------------------------------------

#[test]
fn user_ids() {
    for ok in ["ATWA2345", "OUTC0042", "VERC0000", "VERA9999"] {
        assert!(UserId::parse(ok).is_some(), "{ok}");
    }
    for bad in [
        "",
        "ATWC001",
        "ATWC00001",
        "atwc0001",
        "ATWc0001",
        "ATWX0001",
        "MTLC0001",
        "ATWC00a1",
        "ATWC 001",
        " ATWC001",
        "ATWC000١",
        "ATWÇ001",
    ] {
        assert!(UserId::parse(bad).is_none(), "{bad}");
    }
    let u = UserId::parse("OUTA0007").unwrap();
    assert!(u.is_admin());
    assert_eq!(u.text(), "OUTA0007");
    assert!(UserId::parse("ATWC9999") < UserId::parse("OUTC0000"));
    assert!(UserId::parse("OUTC9999") < UserId::parse("VERC0000"));
}

#[test]
fn show_ids_and_calendar() {
    for ok in [
        "ATWM160523",
        "OUTA311226",
        "VERE010100",
        "ATWM290228", // 2028 is leap
        "ATWM290200", // 2000 is leap
        "ATWM290296",
        "ATWE311299",
        "ATWM300426",
    ] {
        assert!(ShowId::parse(ok).is_some(), "{ok}");
    }
    for bad in [
        "ATWM290227", // 2027 is not leap
        "ATWM310426", // 31 April
        "ATWM001126",
        "ATWM011326",
        "ATWM010026",
        "ATWM321226",
        "ATWX011226",
        "atwM011226",
        "ATWm011226",
        "MTLM011226",
        "ATWM01122",
        "ATWM0112266",
        "ATWM01-226",
        "ATWM 11226",
        "",
    ] {
        assert!(ShowId::parse(bad).is_none(), "{bad}");
    }
    // Day numbers and weeks.
    assert_eq!(Day::new(1970, 1, 1).number(), 0);
    assert_eq!(Day::new(2000, 3, 1).number(), 11_017);
    let mon = Day::new(2026, 11, 23).number();
    assert_eq!(Day::new(2026, 11, 23).monday(), mon);
    assert_eq!(Day::new(2026, 11, 29).monday(), mon); // Sunday
    assert_eq!(Day::new(2026, 11, 30).monday(), mon + 7); // next Monday
    // A week spanning two years: Mon 2026-12-28 .. Sun 2027-01-03.
    assert_eq!(
        Day::new(2027, 1, 3).monday(),
        Day::new(2026, 12, 28).number()
    );
    // Window across a year end.
    let t = Day::new(2026, 12, 28);
    assert!(Day::new(2027, 1, 4).in_window(t));
    assert!(!Day::new(2027, 1, 5).in_window(t));
    assert!(t.in_window(t));
    assert!(!Day::new(2026, 12, 27).in_window(t));
    assert!(Day::new(2026, 12, 27).is_past(t));
    assert!(!t.is_past(t));
}

#[test]
fn show_ids_round_trip_through_keys() {
    let id = "VERA050326";
    let key = rules::show("Titanic", id).unwrap();
    assert_eq!(key.show_id(), id);
    // Show order: date, slot, area, movie.
    let k = |m: &str, s: &str| rules::show(m, s).unwrap();
    assert!(k("Titanic", "VERE250126") < k("Avatar", "ATWM260126"));
    assert!(k("Titanic", "VERM250126") < k("Avatar", "ATWA250126"));
    assert!(k("Titanic", "ATWA250126") < k("Avatar", "OUTA250126"));
    assert!(k("Titanic", "OUTA250126") < k("Avatar", "VERA250126"));
    assert!(k("Avatar", "OUTA250126") < k("Avengers", "OUTA250126"));
    assert!(k("Avengers", "OUTA250126") < k("Titanic", "OUTA250126"));
    assert!(k("Avatar", "ATWM311226") < k("Avatar", "ATWM010127"));
}

// ---- the tables are the spec's numbered lists ------------------------------------------------

#[test]
fn check_order_is_the_specs() {
    assert_eq!(
        rules::names(rules::ADD_SHOW),
        [
            "admin of the show's area",
            "show date in the window",
            "capacity covers the tickets held"
        ]
    );
    assert_eq!(
        rules::names(rules::REMOVE_SHOW),
        ["admin of the show's area", "show exists", "show not past"]
    );
    assert!(rules::names(rules::AVAILABILITY).is_empty());
    assert_eq!(
        rules::names(rules::BOOK),
        [
            "may act for the customer",
            "show exists",
            "show not past",
            "no same show in another area",
            "within the weekly limit",
            "enough seats left"
        ]
    );
    assert_eq!(rules::names(rules::SCHEDULE), ["may act for the customer"]);
    assert_eq!(
        rules::names(rules::CANCEL),
        [
            "may act for the customer",
            "booking exists",
            "show not past",
            "no more tickets than held"
        ]
    );
    assert_eq!(
        rules::names(rules::EXCHANGE),
        [
            "may act for the customer",
            "old and new shows differ",
            "old booking exists",
            "old show not past",
            "no more tickets than held on the old show",
            "new show exists",
            "new show not past",
            "no same show in another area",
            "within the weekly limit",
            "enough seats left on the new show"
        ]
    );
}

// ---- the V step ----------------------------------------------------------------------------

#[test]
fn validation_of_every_field_kind() {
    let mut t = Bench::new();
    assert_eq!(
        t.add("ATWA100", "Avatar", "ATWM251126", 10),
        "invalid-user-id"
    );
    assert_eq!(
        t.add(ATW_ADMIN, "avatar", "ATWM251126", 10),
        "unknown-movie"
    );
    assert_eq!(
        t.add(ATW_ADMIN, "Avatar ", "ATWM251126", 10),
        "unknown-movie"
    );
    assert_eq!(
        t.add(ATW_ADMIN, "Avatar", "ATWM311126", 10),
        "invalid-show-id"
    );
    assert_eq!(
        t.add(ATW_ADMIN, "Avatar", "ATWM251126", 0),
        "invalid-capacity"
    );
    assert_eq!(
        t.add(ATW_ADMIN, "Avatar", "ATWM251126", 10_001),
        "invalid-capacity"
    );
    assert_eq!(
        t.add(ATW_ADMIN, "Avatar", "ATWM251126", 10_000),
        "show-added"
    );
    assert_eq!(t.add(ATW_ADMIN, "Titanic", "ATWM251126", 1), "show-added");
    assert_eq!(t.b(C1, "Avatar", "ATWM251126", 0), "invalid-tickets");
    assert_eq!(t.b(C1, "Avatar", "ATWM251126", 10_001), "invalid-tickets");
    assert_eq!(t.b(C1, "Avatar", "ATWM251126", 10_000), "booked 10000 0");
    assert_eq!(
        t.cancel(C1, C1, "Avatar", "ATWM251126", 0),
        "invalid-tickets"
    );
    assert_eq!(
        t.cancel(C1, C1, "Avatar", "ATWM251126", 10_001),
        "invalid-tickets"
    );
    assert_eq!(t.avail("ATWX0001", "Avatar"), "invalid-user-id");
    assert_eq!(t.avail(C1, "Matrix"), "unknown-movie");
    assert_eq!(t.sched(C1, "ATWC001"), "invalid-user-id");
    assert_eq!(
        t.remove(ATW_ADMIN, "Avatar", "ATWM2511266"),
        "invalid-show-id"
    );
    assert_eq!(
        t.remove(ATW_ADMIN, "Titanik", "ATWM251126"),
        "unknown-movie"
    );
}

#[test]
fn validation_runs_in_signature_order_and_before_everything() {
    let mut t = Bench::new();
    // add-show: actor, movie, show-id, capacity.
    assert_eq!(t.add("bad", "bad", "bad", 0), "invalid-user-id");
    assert_eq!(t.add(ATW_ADMIN, "bad", "bad", 0), "unknown-movie");
    assert_eq!(t.add(ATW_ADMIN, "Avatar", "bad", 0), "invalid-show-id");
    // V precedes authorisation and the window.
    assert_eq!(t.add(C1, "Avatar", "VERM011299", 0), "invalid-capacity");
    // remove-show: actor, movie, show-id.
    assert_eq!(t.remove("bad", "bad", "bad"), "invalid-user-id");
    assert_eq!(t.remove(C1, "bad", "bad"), "unknown-movie");
    assert_eq!(t.remove(C1, "Avatar", "bad"), "invalid-show-id");
    // availability: actor, movie.
    assert_eq!(t.avail("bad", "bad"), "invalid-user-id");
    // book: actor, customer, movie, show-id, tickets.
    assert_eq!(t.book("bad", "bad", "bad", "bad", 0), "invalid-user-id");
    assert_eq!(t.book(C1, "bad", "bad", "bad", 0), "invalid-user-id");
    assert_eq!(t.book(C1, C2, "bad", "bad", 0), "unknown-movie");
    assert_eq!(t.book(C1, C2, "Avatar", "bad", 0), "invalid-show-id");
    assert_eq!(t.book(C1, C2, "Avatar", "ATWM251126", 0), "invalid-tickets");
    // schedule: actor, customer.
    assert_eq!(t.sched("bad", "bad"), "invalid-user-id");
    assert_eq!(t.sched(C1, "ATWC00001"), "invalid-user-id");
    // cancel: actor, customer, movie, show-id, tickets.
    assert_eq!(t.cancel("bad", "bad", "bad", "bad", 0), "invalid-user-id");
    assert_eq!(t.cancel(C1, "bad", "bad", "bad", 0), "invalid-user-id");
    assert_eq!(t.cancel(C1, C2, "bad", "bad", 0), "unknown-movie");
    assert_eq!(t.cancel(C1, C2, "Avatar", "bad", 0), "invalid-show-id");
    assert_eq!(
        t.cancel(C1, C2, "Avatar", "ATWM251126", 0),
        "invalid-tickets"
    );
    // exchange: actor, customer, old-movie, old-show-id, new-movie, new-show-id, tickets.
    let s = "ATWM251126";
    assert_eq!(
        t.exch("bad", "bad", "bad", "bad", "bad", "bad", 0),
        "invalid-user-id"
    );
    assert_eq!(
        t.exch(C1, "bad", "bad", "bad", "bad", "bad", 0),
        "invalid-user-id"
    );
    assert_eq!(
        t.exch(C1, C2, "bad", "bad", "bad", "bad", 0),
        "unknown-movie"
    );
    assert_eq!(
        t.exch(C1, C2, "Avatar", "bad", "bad", "bad", 0),
        "invalid-show-id"
    );
    assert_eq!(
        t.exch(C1, C2, "Avatar", s, "bad", "bad", 0),
        "unknown-movie"
    );
    assert_eq!(
        t.exch(C1, C2, "Avatar", s, "Avatar", "bad", 0),
        "invalid-show-id"
    );
    assert_eq!(
        t.exch(C1, C2, "Avatar", s, "Avatar", s, 0),
        "invalid-tickets"
    );
    // Only then authorisation (a customer acting for another).
    assert_eq!(
        t.exch(C1, C2, "Avatar", s, "Avatar", s, 1),
        "not-authorized"
    );
    // Nothing changed.
    assert!(t.export().shows.is_empty());
}

// ---- add-show ------------------------------------------------------------------------------

#[test]
fn add_show_rules() {
    let mut t = Bench::new();
    // Authorisation: admin of the show's own area only.
    assert_eq!(t.add(C1, "Avatar", "ATWM251126", 10), "not-authorized");
    assert_eq!(
        t.add(VER_ADMIN, "Avatar", "ATWE251126", 5),
        "not-authorized"
    );
    assert_eq!(
        t.add(OUT_ADMIN, "Avatar", "ATWE251126", 5),
        "not-authorized"
    );
    // Authorisation precedes the window.
    assert_eq!(
        t.add(VER_ADMIN, "Avatar", "ATWE011226", 5),
        "not-authorized"
    );
    // Window: today .. today + 7.
    assert_eq!(t.add(ATW_ADMIN, "Avatar", "ATWM241126", 10), "show-added");
    assert_eq!(t.add(ATW_ADMIN, "Avatar", "ATWE011226", 10), "show-added");
    assert_eq!(
        t.add(ATW_ADMIN, "Avatar", "ATWM021226", 10),
        "outside-window"
    );
    assert_eq!(
        t.add(ATW_ADMIN, "Titanic", "ATWA031226", 5),
        "outside-window"
    );
    assert_eq!(
        t.add(ATW_ADMIN, "Avatar", "ATWE231126", 10),
        "outside-window"
    );
    assert_eq!(t.add(VER_ADMIN, "Avatar", "VERM011226", 3), "show-added");
    assert_eq!(t.add(OUT_ADMIN, "Avatar", "OUTM011226", 3), "show-added");
    // Update.
    assert_eq!(t.add(ATW_ADMIN, "Avatar", "ATWM251126", 10), "show-added");
    assert_eq!(
        t.add(ATW_ADMIN, "Avatar", "ATWM251126", 4),
        "show-updated 10"
    );
    assert_eq!(
        t.add(ATW_ADMIN, "Avatar", "ATWM251126", 4),
        "show-updated 4"
    );
    // Same show ID, other movie: another show.
    assert_eq!(t.add(ATW_ADMIN, "Avengers", "ATWM251126", 7), "show-added");
    assert_eq!(t.b(C1, "Avatar", "ATWM251126", 3), "booked 3 1");
    assert_eq!(
        t.add(ATW_ADMIN, "Avatar", "ATWM251126", 2),
        "capacity-below-booked"
    );
    assert_eq!(
        t.add(ATW_ADMIN, "Avatar", "ATWM251126", 3),
        "show-updated 4"
    );
    assert!(t.avail(C1, "Avatar").contains("ATWM251126:0"));
    assert_eq!(
        t.add(ATW_ADMIN, "Avatar", "ATWM251126", 8),
        "show-updated 3"
    );
    assert!(t.avail(C1, "Avatar").contains("ATWM251126:5"));
    // An existing show whose date has left the window can no longer be changed, not even to
    // a capacity below the booked tickets (the window comes first).
    t.at(2026, 11, 26);
    assert_eq!(
        t.add(ATW_ADMIN, "Avatar", "ATWM251126", 8),
        "outside-window"
    );
    assert_eq!(
        t.add(ATW_ADMIN, "Avatar", "ATWM251126", 1),
        "outside-window"
    );
    // Window across a year end.
    t.at(2026, 12, 28);
    assert_eq!(t.add(ATW_ADMIN, "Titanic", "ATWE040127", 1), "show-added");
    assert_eq!(
        t.add(ATW_ADMIN, "Titanic", "ATWM050127", 1),
        "outside-window"
    );
}

// ---- remove-show ---------------------------------------------------------------------------

#[test]
fn remove_show_checks() {
    let mut t = Bench::new();
    t.shows("Avatar", &["ATWM251126", "ATWA241126"], 10);
    assert_eq!(t.remove(C1, "Avatar", "ATWM251126"), "not-authorized");
    assert_eq!(
        t.remove(VER_ADMIN, "Avatar", "ATWM251126"),
        "not-authorized"
    );
    // Authorisation precedes existence.
    assert_eq!(
        t.remove(VER_ADMIN, "Avatar", "ATWM261126"),
        "not-authorized"
    );
    assert_eq!(
        t.remove(ATW_ADMIN, "Avatar", "ATWM261126"),
        "show-not-found"
    );
    assert_eq!(
        t.remove(ATW_ADMIN, "Titanic", "ATWM251126"),
        "show-not-found"
    );
    // Past: by date only; today is not past whatever the slot.
    t.at(2026, 11, 25);
    assert_eq!(t.remove(ATW_ADMIN, "Avatar", "ATWA241126"), "past-show");
    // Existence precedes past.
    assert_eq!(
        t.remove(ATW_ADMIN, "Avatar", "ATWE231126"),
        "show-not-found"
    );
    assert_eq!(
        t.remove(ATW_ADMIN, "Avatar", "ATWM251126"),
        "show-removed moved[] dropped[]"
    );
    assert_eq!(
        t.remove(ATW_ADMIN, "Avatar", "ATWM251126"),
        "show-not-found"
    );
    assert_eq!(t.export().shows.len(), 1);
}

#[test]
fn remove_show_moves_bookings_in_customer_order() {
    let mut t = Bench::new();
    // The removed show and candidates, all Avatar in ATW unless said otherwise.
    t.shows("Avatar", &["ATWA251126"], 20);
    t.shows("Avatar", &["ATWM251126"], 10); // earlier slot: never a target
    t.shows("Avatar", &["ATWE251126"], 3); // same day, later slot: first candidate
    t.shows("Avatar", &["ATWM261126"], 4);
    t.shows("Avatar", &["ATWA271126"], 50);
    t.shows("Titanic", &["ATWE251126"], 50); // other movie
    t.shows("Avatar", &["OUTE251126"], 50); // other area
    t.shows("Avatar", &["VERM261126"], 50); // other area
    assert_eq!(t.b("VERC0009", "Avatar", "ATWA251126", 2), "booked 2 18");
    assert_eq!(t.b("ATWC0003", "Avatar", "ATWA251126", 3), "booked 3 15");
    assert_eq!(t.b("OUTC0005", "Avatar", "ATWA251126", 4), "booked 4 11");
    assert_eq!(t.b("ATWC0001", "Avatar", "ATWA251126", 2), "booked 2 9");
    assert_eq!(t.b("ATWC0002", "Avatar", "ATWA251126", 9), "booked 9 0");
    // ATWC0002 already holds 1 on ATWA271126.
    assert_eq!(t.b("ATWC0002", "Avatar", "ATWA271126", 1), "booked 1 49");
    // Processing: ATWC0001 (2) → ATWE251126 (3 left → 1); ATWC0002 (9) → ATWA271126
    // (ATWE 1, ATWM26 4: no); ATWC0003 (3) → ATWM261126 (4 → 1); OUTC0005 (4) → ATWA271126;
    // VERC0009 (2) → ATWA271126 (ATWE 1, ATWM26 1).
    assert_eq!(
        t.remove(ATW_ADMIN, "Avatar", "ATWA251126"),
        "show-removed moved[ATWC0001>ATWE251126x2 ATWC0002>ATWA271126x9 \
         ATWC0003>ATWM261126x3 OUTC0005>ATWA271126x4 VERC0009>ATWA271126x2] dropped[]"
    );
    // Moved tickets were added to an existing booking.
    assert_eq!(t.sched(C2, C2), "schedule[Avatar/ATWA271126x10]");
    assert_eq!(
        t.avail(C1, "Avatar"),
        "availability[ATWM251126:10 ATWE251126:1 OUTE251126:50 ATWM261126:1 \
         VERM261126:50 ATWA271126:34]"
    );
    assert!(
        t.export()
            .bookings
            .iter()
            .all(|b| b.show_id != "ATWA251126")
    );
}

#[test]
fn remove_show_drops_what_fits_nowhere_and_ignores_booking_rules() {
    let mut t = Bench::new();
    t.shows("Titanic", &["VERM251126", "VERE261126"], 5);
    t.shows("Titanic", &["OUTM271126", "OUTA271126", "ATWE261126"], 5);
    // ATWC0001 (home ATW) holds 3 other-area shows this week and Titanic at ATWE261126 (same
    // date and slot as VERE261126, another area): it could not book VERE261126 itself, yet
    // the removal of VERM251126 moves it there.
    assert_eq!(t.b(C1, "Titanic", "VERM251126", 1), "booked 1 4");
    assert_eq!(t.b(C1, "Titanic", "OUTM271126", 1), "booked 1 4");
    assert_eq!(t.b(C1, "Titanic", "OUTA271126", 1), "booked 1 4");
    assert_eq!(t.b(C1, "Titanic", "ATWE261126", 1), "booked 1 4");
    // Booking VERE261126 directly is refused twice over:
    assert_eq!(t.b(C1, "Titanic", "VERE261126", 1), "same-show-other-area");
    assert_eq!(t.b(V1, "Titanic", "VERM251126", 4), "booked 4 0");
    assert_eq!(t.b("VERC0002", "Titanic", "VERE261126", 4), "booked 4 1");
    // Removing VERM251126: ATWC0001 (1) → VERE261126 regardless of its limits; VERC0001 (4)
    // fits nowhere (VERE261126 has 0 left by then) → dropped.
    assert_eq!(
        t.remove(VER_ADMIN, "Titanic", "VERM251126"),
        "show-removed moved[ATWC0001>VERE261126x1] dropped[VERC0001x4]"
    );
    assert_eq!(t.sched(V1, V1), "schedule[]");
    assert_eq!(
        t.sched(ATW_ADMIN, C1),
        "schedule[Titanic/ATWE261126x1 Titanic/VERE261126x1 Titanic/OUTM271126x1 \
         Titanic/OUTA271126x1]"
    );
}

#[test]
fn remove_show_candidates_may_lie_outside_the_window() {
    let mut t = Bench::new();
    t.at(2026, 11, 30);
    t.shows("Avengers", &["OUTE051226"], 5); // today+5 from the 30th; today+11 from the 24th
    t.at(2026, 11, 24);
    t.shows("Avengers", &["OUTM251126"], 5);
    assert_eq!(t.b(O1, "Avengers", "OUTM251126", 5), "booked 5 0");
    assert_eq!(
        t.remove(OUT_ADMIN, "Avengers", "OUTM251126"),
        "show-removed moved[OUTC0001>OUTE051226x5] dropped[]"
    );
}

// ---- availability --------------------------------------------------------------------------

#[test]
fn availability_lists_non_past_shows_of_the_movie_in_show_order() {
    let mut t = Bench::new();
    assert_eq!(t.avail(C1, "Avatar"), "availability[]");
    t.at(2026, 11, 22);
    t.shows("Avatar", &["ATWE231126"], 5); // will be past
    t.at(2026, 11, 24);
    t.shows(
        "Avatar",
        &["VERE241126", "ATWM251126", "OUTM251126", "VERM241126"],
        2,
    );
    t.shows("Titanic", &["ATWM241126"], 9);
    assert_eq!(t.b(C1, "Avatar", "ATWM251126", 2), "booked 2 0");
    let expect = "availability[VERM241126:2 VERE241126:2 ATWM251126:0 OUTM251126:2]";
    // Open to every valid user: customers and admins of any area.
    assert_eq!(t.avail(C1, "Avatar"), expect);
    assert_eq!(t.avail(VER_ADMIN, "Avatar"), expect);
    assert_eq!(t.avail("OUTC9999", "Avatar"), expect);
    assert_eq!(t.avail(C1, "Titanic"), "availability[ATWM241126:9]");
    assert_eq!(t.avail(C1, "Avengers"), "availability[]");
    // A show dated today is not past, whatever its slot; yesterday's is.
    t.at(2026, 11, 25);
    assert_eq!(
        t.avail(C1, "Avatar"),
        "availability[ATWM251126:0 OUTM251126:2]"
    );
}

// ---- book ----------------------------------------------------------------------------------

#[test]
fn book_authorisation() {
    let mut t = Bench::new();
    t.shows("Avatar", &["ATWM251126"], 10);
    // A customer acts only for itself.
    assert_eq!(t.book(C1, C2, "Avatar", "ATWM251126", 1), "not-authorized");
    assert_eq!(t.book(V1, C1, "Avatar", "ATWM251126", 1), "not-authorized");
    // A customer field with role A is refused, whoever acts.
    assert_eq!(
        t.book(ATW_ADMIN, ATW_ADMIN, "Avatar", "ATWM251126", 1),
        "not-authorized"
    );
    assert_eq!(
        t.book(ATW_ADMIN, "ATWA0002", "Avatar", "ATWM251126", 1),
        "not-authorized"
    );
    assert_eq!(
        t.book(C1, "ATWA0001", "Avatar", "ATWM251126", 1),
        "not-authorized"
    );
    // Authorisation precedes existence.
    assert_eq!(t.book(C1, C2, "Avatar", "ATWM261126", 1), "not-authorized");
    // An admin acts for any customer of any area.
    assert_eq!(
        t.book(VER_ADMIN, C1, "Avatar", "ATWM251126", 1),
        "booked 1 9"
    );
    assert_eq!(
        t.book(OUT_ADMIN, V1, "Avatar", "ATWM251126", 2),
        "booked 2 7"
    );
    assert_eq!(
        t.book(ATW_ADMIN, C1, "Avatar", "ATWM251126", 1),
        "booked 2 6"
    );
}

#[test]
fn book_existence_past_and_seats() {
    let mut t = Bench::new();
    t.at(2026, 11, 20);
    t.shows("Avatar", &["ATWE231126"], 5);
    t.at(2026, 11, 24);
    t.shows("Avatar", &["ATWM241126", "ATWM251126"], 4);
    assert_eq!(t.b(C1, "Avatar", "ATWM261126", 1), "show-not-found");
    assert_eq!(t.b(C1, "Titanic", "ATWM251126", 1), "show-not-found");
    // Not found precedes past.
    assert_eq!(t.b(C1, "Avatar", "ATWM221126", 1), "show-not-found");
    assert_eq!(t.b(C1, "Avatar", "ATWE231126", 1), "past-show");
    assert_eq!(t.b(C1, "Avatar", "ATWM241126", 1), "booked 1 3");
    // Seats: the spec's example.
    assert_eq!(t.b(C1, "Avatar", "ATWM251126", 2), "booked 2 2");
    assert_eq!(t.b(C1, "Avatar", "ATWM251126", 3), "show-full 2");
    assert_eq!(t.b(C2, "Avatar", "ATWM251126", 2), "booked 2 0");
    assert_eq!(t.b(C2, "Avatar", "ATWM251126", 1), "show-full 0");
    assert_eq!(t.b(C1, "Avatar", "ATWM241126", 3), "booked 4 0");
}

#[test]
fn book_same_show_other_area() {
    let mut t = Bench::new();
    t.shows(
        "Avatar",
        &["ATWM251126", "OUTM251126", "VERA251126", "VERM261126"],
        10,
    );
    t.shows("Titanic", &["OUTM251126"], 10);
    assert_eq!(t.b(C1, "Avatar", "ATWM251126", 2), "booked 2 8");
    // The spec's example.
    assert_eq!(t.b(C1, "Avatar", "OUTM251126", 1), "same-show-other-area");
    // Same area is the same show: more tickets are fine.
    assert_eq!(t.b(C1, "Avatar", "ATWM251126", 1), "booked 3 7");
    // Another movie at that time, another slot, another day: fine.
    assert_eq!(t.b(C1, "Titanic", "OUTM251126", 1), "booked 1 9");
    assert_eq!(t.b(C1, "Avatar", "VERA251126", 1), "booked 1 9");
    assert_eq!(t.b(C1, "Avatar", "VERM261126", 1), "booked 1 9");
    // Another customer is not concerned.
    assert_eq!(t.b(C2, "Avatar", "OUTM251126", 1), "booked 1 9");
    // Precedes the weekly limit and the seats: C1 now holds 3 away shows this week.
    t.add(OUT_ADMIN, "Avatar", "OUTM251126", 1);
    assert_eq!(t.b(C1, "Avatar", "OUTM251126", 5), "same-show-other-area");
}

#[test]
fn book_weekly_limit() {
    let mut t = Bench::new();
    // The spec's example: week 48 runs 23–29 Nov.
    t.at(2026, 11, 23);
    t.shows(
        "Avatar",
        &["VERM241126", "VERA261126", "OUTE291126", "OUTM271126"],
        10,
    );
    t.shows("Avatar", &["OUTA271126"], 10);
    t.shows("Titanic", &["VERM241126", "VERE281126"], 10);
    t.shows("Avatar", &["ATWM251126", "ATWA291126"], 10);
    t.at(2026, 11, 24);
    t.shows("Avatar", &["OUTM301126"], 10);
    t.at(2026, 11, 23);
    assert_eq!(t.b(C1, "Avatar", "VERM241126", 1), "booked 1 9");
    assert_eq!(t.b(C1, "Avatar", "VERA261126", 1), "booked 1 9");
    assert_eq!(t.b(C1, "Avatar", "OUTE291126", 1), "booked 1 9");
    // Past bookings of the same week still count: move today past the first one.
    t.at(2026, 11, 25);
    assert_eq!(t.b(C1, "Avatar", "OUTM271126", 1), "weekly-limit");
    assert_eq!(t.b(C1, "Avatar", "OUTA271126", 1), "weekly-limit");
    // Next week (Monday) is allowed.
    assert_eq!(t.b(C1, "Avatar", "OUTM301126", 1), "booked 1 9");
    // Home-area shows are never limited.
    assert_eq!(t.b(C1, "Avatar", "ATWM251126", 1), "booked 1 9");
    assert_eq!(t.b(C1, "Avatar", "ATWA291126", 1), "booked 1 9");
    // More tickets for a show already held is not a new movie.
    assert_eq!(t.b(C1, "Avatar", "OUTE291126", 2), "booked 3 7");
    // The weekly limit precedes the seats.
    t.add(OUT_ADMIN, "Avatar", "OUTM271126", 10);
    assert_eq!(t.b(C1, "Avatar", "OUTM271126", 20), "weekly-limit");
    // After a cancellation there is room again.
    assert_eq!(t.cancel(C1, C1, "Avatar", "VERA261126", 1), "cancelled 0");
    assert_eq!(t.b(C1, "Avatar", "OUTM271126", 20), "show-full 10");
    assert_eq!(t.b(C1, "Avatar", "OUTM271126", 1), "booked 1 9");
    // The home area is the customer's, never the acting admin's: for OUTC0001, OUT shows are
    // home, VER ones are away.
    assert_eq!(
        t.book(VER_ADMIN, O1, "Avatar", "OUTA271126", 1),
        "booked 1 9"
    );
    assert_eq!(
        t.book(VER_ADMIN, O1, "Avatar", "OUTM271126", 1),
        "booked 1 8"
    );
    assert_eq!(
        t.book(VER_ADMIN, O1, "Avatar", "OUTE291126", 1),
        "booked 1 6"
    );
    assert_eq!(
        t.book(ATW_ADMIN, O1, "Avatar", "ATWM251126", 1),
        "booked 1 8"
    );
    assert_eq!(
        t.book(ATW_ADMIN, O1, "Avatar", "ATWA291126", 1),
        "booked 1 8"
    );
    assert_eq!(
        t.book(VER_ADMIN, O1, "Avatar", "VERA261126", 1),
        "booked 1 9"
    );
    assert_eq!(
        t.book(VER_ADMIN, O1, "Titanic", "VERM241126", 1),
        "past-show"
    );
    assert_eq!(
        t.book(VER_ADMIN, O1, "Titanic", "VERE281126", 1),
        "weekly-limit"
    );
}

#[test]
fn book_weekly_limit_counts_every_booking_once() {
    let mut t = Bench::new();
    t.at(2026, 11, 23);
    // Two movies on the same show ID count twice.
    t.shows("Avatar", &["VERM241126", "VERA251126"], 10);
    t.shows("Titanic", &["VERM241126"], 10);
    t.shows("Avengers", &["VERM241126"], 10);
    assert_eq!(t.b(C1, "Avatar", "VERM241126", 1), "booked 1 9");
    assert_eq!(t.b(C1, "Titanic", "VERM241126", 1), "booked 1 9");
    assert_eq!(t.b(C1, "Avengers", "VERM241126", 1), "booked 1 9");
    assert_eq!(t.b(C1, "Avatar", "VERA251126", 1), "weekly-limit");
    // A week spanning two years: Mon 2026-12-28 .. Sun 2027-01-03.
    let mut t = Bench::new();
    t.at(2026, 12, 27);
    t.shows("Titanic", &["OUTM281226", "VERM311226", "OUTE010127"], 10);
    t.at(2026, 12, 28);
    t.shows("Titanic", &["VERM030127", "VERM040127"], 10);
    for s in ["OUTM281226", "VERM311226", "OUTE010127"] {
        assert_eq!(t.b(C2, "Titanic", s, 1), "booked 1 9");
    }
    assert_eq!(t.b(C2, "Titanic", "VERM030127", 1), "weekly-limit");
    assert_eq!(t.b(C2, "Titanic", "VERM040127", 1), "booked 1 9");
}

// ---- schedule ------------------------------------------------------------------------------

#[test]
fn schedule_rules() {
    let mut t = Bench::new();
    assert_eq!(t.sched(C1, C1), "schedule[]");
    assert_eq!(t.sched(C1, C2), "not-authorized");
    assert_eq!(t.sched(ATW_ADMIN, ATW_ADMIN), "not-authorized");
    assert_eq!(t.sched(C1, "VERA0001"), "not-authorized");
    assert_eq!(t.sched(OUT_ADMIN, C1), "schedule[]");
    t.at(2026, 11, 23);
    t.shows("Titanic", &["ATWE231126"], 5);
    t.shows("Avatar", &["VERE241126", "OUTE241126"], 5);
    t.shows("Avengers", &["ATWE231126"], 5);
    assert_eq!(t.b(C1, "Titanic", "ATWE231126", 1), "booked 1 4");
    assert_eq!(t.b(C1, "Avengers", "ATWE231126", 2), "booked 2 3");
    assert_eq!(t.b(C1, "Avatar", "VERE241126", 3), "booked 3 2");
    assert_eq!(t.b(C2, "Avatar", "OUTE241126", 1), "booked 1 4");
    t.at(2026, 11, 24);
    // Past bookings included; show order (movie last).
    assert_eq!(
        t.sched(C1, C1),
        "schedule[Avengers/ATWE231126x2 Titanic/ATWE231126x1 Avatar/VERE241126x3]"
    );
    assert_eq!(t.sched(VER_ADMIN, C2), "schedule[Avatar/OUTE241126x1]");
}

// ---- cancel --------------------------------------------------------------------------------

#[test]
fn cancel_rules() {
    let mut t = Bench::new();
    t.at(2026, 11, 23);
    t.shows("Avatar", &["ATWM231126", "ATWM251126"], 5);
    assert_eq!(t.b(C1, "Avatar", "ATWM231126", 2), "booked 2 3");
    assert_eq!(t.b(C1, "Avatar", "ATWM251126", 2), "booked 2 3");
    assert_eq!(t.b(C2, "Avatar", "ATWM251126", 1), "booked 1 2");
    t.at(2026, 11, 24);
    // Authorisation.
    assert_eq!(
        t.cancel(C2, C1, "Avatar", "ATWM251126", 1),
        "not-authorized"
    );
    assert_eq!(
        t.cancel(ATW_ADMIN, "ATWA0002", "Avatar", "ATWM251126", 1),
        "not-authorized"
    );
    // Not booked: no booking, show missing, another movie on the same ID.
    assert_eq!(t.cancel(V1, V1, "Avatar", "ATWM251126", 1), "not-booked");
    assert_eq!(t.cancel(C1, C1, "Avatar", "ATWM261126", 1), "not-booked");
    assert_eq!(t.cancel(C1, C1, "Titanic", "ATWM251126", 1), "not-booked");
    // Not booked precedes past: a past show the customer does not hold.
    assert_eq!(t.cancel(C2, C2, "Avatar", "ATWM231126", 1), "not-booked");
    assert_eq!(t.cancel(C1, C1, "Avatar", "ATWM231126", 1), "past-show");
    // Past precedes too-many-tickets.
    assert_eq!(t.cancel(C1, C1, "Avatar", "ATWM231126", 9), "past-show");
    // The spec's example.
    assert_eq!(
        t.cancel(C1, C1, "Avatar", "ATWM251126", 5),
        "too-many-tickets 2"
    );
    assert_eq!(
        t.cancel(C1, C1, "Avatar", "ATWM251126", 3),
        "too-many-tickets 2"
    );
    assert_eq!(t.cancel(C1, C1, "Avatar", "ATWM251126", 1), "cancelled 1");
    assert_eq!(t.avail(C1, "Avatar"), "availability[ATWM251126:3]");
    // An admin for a customer; at 0 the booking is gone.
    assert_eq!(
        t.cancel(VER_ADMIN, C1, "Avatar", "ATWM251126", 1),
        "cancelled 0"
    );
    assert_eq!(t.cancel(C1, C1, "Avatar", "ATWM251126", 1), "not-booked");
    assert_eq!(t.sched(C1, C1), "schedule[Avatar/ATWM231126x2]");
    assert_eq!(t.avail(C1, "Avatar"), "availability[ATWM251126:4]");
    assert_eq!(t.export().bookings.len(), 2);
}

// ---- exchange ------------------------------------------------------------------------------

fn exchange_bench() -> Bench {
    let mut t = Bench::new();
    t.at(2026, 11, 23);
    t.shows("Avatar", &["ATWM231126", "ATWM251126", "ATWA251126"], 5);
    t.shows("Titanic", &["ATWM251126"], 5);
    t.shows(
        "Avatar",
        &["OUTM251126", "VERE261126", "VERE271126", "VERM281126"],
        5,
    );
    assert_eq!(t.b(C1, "Avatar", "ATWM231126", 2), "booked 2 3");
    assert_eq!(t.b(C1, "Avatar", "ATWM251126", 3), "booked 3 2");
    t.at(2026, 11, 24);
    t
}

#[test]
fn exchange_checks_before_the_new_show() {
    let mut t = exchange_bench();
    let (a, s, s2) = ("Avatar", "ATWM251126", "ATWA251126");
    assert_eq!(t.exch(C2, C1, a, s, a, s2, 1), "not-authorized");
    assert_eq!(
        t.exch(ATW_ADMIN, OUT_ADMIN, a, s, a, s2, 1),
        "not-authorized"
    );
    // Same show (same movie and ID) precedes not-booked.
    assert_eq!(t.x(C2, a, s, a, s, 1), "same-show");
    assert_eq!(t.x(C1, a, s, a, s, 1), "same-show");
    // Not booked (also when the old show does not exist), before the new show is looked at.
    assert_eq!(t.x(C2, a, s, a, "ATWM011226", 1), "not-booked");
    assert_eq!(t.x(C1, a, "ATWM261126", a, s2, 1), "not-booked");
    // Old show past, before too-many-tickets.
    assert_eq!(t.x(C1, a, "ATWM231126", a, s2, 9), "past-show");
    assert_eq!(t.x(C1, a, s, a, s2, 4), "too-many-tickets 3");
    // Too-many-tickets precedes the new show's checks.
    assert_eq!(t.x(C1, a, s, a, "ATWM011226", 4), "too-many-tickets 3");
    // Nothing changed.
    assert_eq!(
        t.sched(C1, C1),
        "schedule[Avatar/ATWM231126x2 Avatar/ATWM251126x3]"
    );
}

#[test]
fn exchange_new_show_checks_and_success() {
    let mut t = exchange_bench();
    let (a, s) = ("Avatar", "ATWM251126");
    assert_eq!(t.x(C1, a, s, a, "ATWM011226", 1), "show-not-found");
    assert_eq!(t.x(C1, a, s, a, "ATWM231126", 1), "past-show");
    assert_eq!(t.b(C2, a, "ATWA251126", 4), "booked 4 1");
    assert_eq!(t.x(C1, a, s, a, "ATWA251126", 2), "show-full 1");
    // Success: partial, then to the same show ID with another movie (a different show).
    assert_eq!(t.x(C1, a, s, a, "ATWA251126", 1), "exchanged 2 1");
    assert_eq!(t.x(C1, a, s, "Titanic", s, 2), "exchanged 0 2");
    assert_eq!(
        t.sched(C1, C1),
        "schedule[Avatar/ATWM231126x2 Titanic/ATWM251126x2 Avatar/ATWA251126x1]"
    );
    assert_eq!(
        t.avail(C2, a),
        "availability[ATWM251126:5 OUTM251126:5 ATWA251126:0 VERE261126:5 VERE271126:5 \
         VERM281126:5]"
    );
    // Into a show already held: tickets add up.
    assert_eq!(
        t.exch(VER_ADMIN, C1, "Titanic", s, a, "ATWA251126", 1),
        "show-full 0"
    );
    assert_eq!(t.cancel(C2, C2, a, "ATWA251126", 1), "cancelled 3");
    assert_eq!(
        t.exch(VER_ADMIN, C1, "Titanic", s, a, "ATWA251126", 1),
        "exchanged 1 2"
    );
}

#[test]
fn exchange_same_show_rule_is_judged_as_if() {
    let mut t = exchange_bench();
    let a = "Avatar";
    // Old ATWM251126 (3 held) → OUTM251126: same movie, date and slot, other area.
    // Taking only part of the old booking leaves it there: refused.
    assert_eq!(
        t.x(C1, a, "ATWM251126", a, "OUTM251126", 2),
        "same-show-other-area"
    );
    // Taking all of it: the old booking no longer exists for the check.
    assert_eq!(
        t.x(C1, a, "ATWM251126", a, "OUTM251126", 3),
        "exchanged 0 3"
    );
    assert_eq!(
        t.sched(C1, C1),
        "schedule[Avatar/ATWM231126x2 Avatar/OUTM251126x3]"
    );
}

#[test]
fn exchange_weekly_limit_is_judged_as_if() {
    let mut t = exchange_bench();
    let a = "Avatar";
    // C1 (home ATW) takes three away shows this week: OUTM251126, VERE261126, VERE271126.
    assert_eq!(t.b(C1, a, "VERE261126", 2), "booked 2 3");
    assert_eq!(t.b(C1, a, "VERE271126", 1), "booked 1 4");
    assert_eq!(
        t.x(C1, a, "ATWM251126", a, "OUTM251126", 3),
        "exchanged 0 3"
    );
    assert_eq!(t.b(C1, a, "VERM281126", 1), "weekly-limit");
    // From a home show to a fourth away show: refused.
    assert_eq!(t.x(C1, a, "ATWM231126", a, "VERM281126", 1), "past-show");
    assert_eq!(t.b(C1, "Titanic", "ATWM251126", 2), "booked 2 3");
    assert_eq!(
        t.x(C1, "Titanic", "ATWM251126", a, "VERM281126", 1),
        "weekly-limit"
    );
    // From an away show, partially: the old booking still counts.
    assert_eq!(t.x(C1, a, "VERE261126", a, "VERM281126", 1), "weekly-limit");
    // Emptying it: it no longer counts.
    assert_eq!(
        t.x(C1, a, "VERE261126", a, "VERM281126", 2),
        "exchanged 0 2"
    );
    // Still three away shows this week (VERE271126, OUTM251126, VERM281126).
    assert_eq!(
        t.x(C1, "Titanic", "ATWM251126", a, "VERE261126", 2),
        "weekly-limit"
    );
}

#[test]
fn exchange_is_atomic_on_refusal() {
    let mut t = exchange_bench();
    let before = t.export();
    assert_eq!(
        t.x(C1, "Avatar", "ATWM251126", "Avatar", "ATWA251126", 9),
        "too-many-tickets 3"
    );
    t.shows("Avatar", &["ATWE251126"], 1);
    let before_full = t.export();
    assert_eq!(
        t.x(C1, "Avatar", "ATWM251126", "Avatar", "ATWE251126", 3),
        "show-full 1"
    );
    assert_eq!(format!("{:?}", t.export()), format!("{before_full:?}"));
    assert_eq!(before.bookings.len(), t.export().bookings.len());
}

// ---- the spec's §8 examples, in one run --------------------------------------------------------

#[test]
fn spec_examples() {
    let mut t = Bench::new();
    assert_eq!(t.add(ATW_ADMIN, "Avatar", "ATWM251126", 10), "show-added");
    assert_eq!(
        t.add(ATW_ADMIN, "Avatar", "ATWM251126", 4),
        "show-updated 10"
    );
    assert_eq!(
        t.add(VER_ADMIN, "Avatar", "ATWE251126", 5),
        "not-authorized"
    );
    assert_eq!(
        t.add(ATW_ADMIN, "Titanic", "ATWA031226", 5),
        "outside-window"
    );
    assert_eq!(t.b(C1, "Avatar", "ATWM251126", 2), "booked 2 2");
    assert_eq!(t.b(C1, "Avatar", "ATWM251126", 3), "show-full 2");
    assert_eq!(t.add(OUT_ADMIN, "Avatar", "OUTM251126", 5), "show-added");
    assert_eq!(t.b(C1, "Avatar", "OUTM251126", 1), "same-show-other-area");
    assert_eq!(
        t.cancel(C1, C1, "Avatar", "ATWM251126", 5),
        "too-many-tickets 2"
    );
}

// ---- canonical state -----------------------------------------------------------------------

fn se(movie: &str, id: &str, capacity: u32) -> ShowEntry {
    ShowEntry {
        movie: movie.into(),
        show_id: id.into(),
        capacity,
    }
}

fn be(customer: &str, movie: &str, id: &str, tickets: u32) -> BookingEntry {
    BookingEntry {
        customer: customer.into(),
        movie: movie.into(),
        show_id: id.into(),
        tickets,
    }
}

fn good_state() -> CanonicalState {
    CanonicalState {
        shows: vec![
            se("Titanic", "VERE231126", 3), // past for today 2026-11-24: legal state
            se("Avatar", "ATWM251126", 10),
            se("Titanic", "ATWM251126", 10),
            se("Avatar", "OUTM251126", 4),
            se("Avatar", "ATWE251126", 10),
            se("Avatar", "VERM311226", 10), // beyond any window: legal state
        ],
        bookings: vec![
            be("ATWC0001", "Titanic", "VERE231126", 3),
            be("ATWC0001", "Avatar", "ATWM251126", 2),
            be("ATWC0001", "Titanic", "ATWM251126", 1),
            be("ATWC0002", "Avatar", "OUTM251126", 4),
            be("VERC0001", "Avatar", "ATWM251126", 5),
        ],
    }
}

fn dump(s: &CanonicalState) -> String {
    format!("{s:?}")
}

#[test]
fn export_is_canonical() {
    let mut t = Bench::new();
    t.shows("Titanic", &["VERM251126"], 2);
    t.shows("Avatar", &["OUTM251126", "ATWE241126", "ATWM251126"], 3);
    t.shows("Avengers", &["OUTM251126"], 3);
    assert_eq!(t.b("VERC0001", "Avatar", "ATWM251126", 1), "booked 1 2");
    assert_eq!(t.b("ATWC0002", "Titanic", "VERM251126", 1), "booked 1 1");
    assert_eq!(t.b("ATWC0002", "Avatar", "ATWE241126", 2), "booked 2 1");
    assert_eq!(t.b("ATWC0001", "Avengers", "OUTM251126", 3), "booked 3 0");
    let s = t.export();
    let shows: Vec<String> = s
        .shows
        .iter()
        .map(|e| format!("{}/{}/{}", e.movie, e.show_id, e.capacity))
        .collect();
    assert_eq!(
        shows,
        [
            "Avatar/ATWE241126/3",
            "Avatar/ATWM251126/3",
            "Avatar/OUTM251126/3",
            "Avengers/OUTM251126/3",
            "Titanic/VERM251126/2",
        ]
    );
    let bookings: Vec<String> = s
        .bookings
        .iter()
        .map(|b| format!("{}/{}/{}/{}", b.customer, b.movie, b.show_id, b.tickets))
        .collect();
    assert_eq!(
        bookings,
        [
            "ATWC0001/Avengers/OUTM251126/3",
            "ATWC0002/Avatar/ATWE241126/2",
            "ATWC0002/Titanic/VERM251126/1",
            "VERC0001/Avatar/ATWM251126/1",
        ]
    );
}

#[test]
fn import_round_trip_and_behaviour_after() {
    let mut t = Bench::new();
    let s = good_state();
    assert_eq!(fault(&t.import(s.clone())), "ok");
    assert_eq!(dump(&t.export()), dump(&s));
    // Sold counts were derived from the bookings.
    assert_eq!(
        t.avail(C1, "Avatar"),
        "availability[ATWM251126:3 OUTM251126:0 ATWE251126:10 VERM311226:10]"
    );
    assert_eq!(t.b("ATWC0002", "Avatar", "OUTM251126", 1), "show-full 0");
    assert_eq!(t.cancel(C1, C1, "Titanic", "VERE231126", 1), "past-show");
    // Import replaces the whole state.
    let empty = CanonicalState {
        shows: vec![],
        bookings: vec![],
    };
    assert_eq!(fault(&t.import(empty)), "ok");
    assert_eq!(t.sched(C1, C1), "schedule[]");
}

#[test]
fn import_refusals_change_nothing() {
    type Mutate = fn(&mut CanonicalState);
    let cases: &[(&str, Mutate)] = &[
        ("shows[1] malformed-id", |s| {
            s.shows[1].show_id = "ATWM311126".into()
        }),
        ("shows[1] malformed-id", |s| {
            s.shows[1].show_id = "atwM251126".into()
        }),
        ("shows[2] unknown-movie", |s| {
            s.shows[2].movie = "titanic".into()
        }),
        ("shows[3] capacity-out-of-range", |s| {
            s.shows[3].capacity = 0
        }),
        ("shows[4] capacity-out-of-range", |s| {
            s.shows[4].capacity = 10_001
        }),
        ("shows[2] duplicate", |s| {
            s.shows[2] = se("Avatar", "ATWM251126", 10)
        }),
        ("shows[2] out-of-order", |s| s.shows.swap(1, 2)),
        ("shows[1] out-of-order", |s| s.shows.swap(0, 1)),
        ("bookings[0] malformed-id", |s| {
            s.bookings[0].customer = "ATWA0001".into()
        }),
        ("bookings[0] malformed-id", |s| {
            s.bookings[0].customer = "ATWC001".into()
        }),
        ("bookings[1] unknown-movie", |s| {
            s.bookings[1].movie = "Avatars".into()
        }),
        ("bookings[1] malformed-id", |s| {
            s.bookings[1].show_id = "ATWM25112".into()
        }),
        ("bookings[2] zero-tickets", |s| s.bookings[2].tickets = 0),
        ("bookings[2] duplicate", |s| {
            s.bookings[2] = be("ATWC0001", "Avatar", "ATWM251126", 1)
        }),
        ("bookings[2] out-of-order", |s| s.bookings.swap(1, 2)),
        ("bookings[4] out-of-order", |s| s.bookings.swap(3, 4)),
        ("bookings[3] unknown-show", |s| {
            s.bookings[3].movie = "Avengers".into()
        }),
        ("shows[1] over-capacity", |s| s.bookings[4].tickets = 9),
        ("shows[3] over-capacity", |s| s.bookings[3].tickets = 5),
        // Overflow never wraps round: 2^32 - 1 + 5 tickets on a 10-seat show.
        ("shows[1] over-capacity", |s| {
            s.bookings[1].tickets = u32::MAX
        }),
    ];
    for (expect, mutate) in cases {
        let mut t = Bench::new();
        t.shows("Avengers", &["ATWE241126"], 7);
        assert_eq!(t.b(C2, "Avengers", "ATWE241126", 2), "booked 2 5");
        let before = dump(&t.export());
        let mut s = good_state();
        mutate(&mut s);
        assert_eq!(fault(&t.import(s)), *expect);
        assert_eq!(dump(&t.export()), before, "{expect}: state changed");
        assert_eq!(t.b(C2, "Avengers", "ATWE241126", 5), "booked 7 0");
    }
}

#[test]
fn import_accepts_exact_capacity_and_large_bookings() {
    let mut t = Bench::new();
    let s = CanonicalState {
        shows: vec![se("Avatar", "ATWM251126", 10_000)],
        bookings: vec![
            be("ATWC0001", "Avatar", "ATWM251126", 9_999),
            be("OUTC0001", "Avatar", "ATWM251126", 1),
        ],
    };
    assert_eq!(fault(&t.import(s)), "ok");
    assert_eq!(t.b("ATWC0002", "Avatar", "ATWM251126", 1), "show-full 0");
    assert_eq!(
        t.cancel(C1, C1, "Avatar", "ATWM251126", 9_999),
        "cancelled 0"
    );
}

/// A seeded run of mixed requests keeps the seat index equal to the ledgers (checked after
/// every request by the bench) and export → import → export stable.
#[test]
fn seeded_workload_keeps_invariants() {
    let mut t = Bench::new();
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n
    };
    let areas = ["ATW", "OUT", "VER"];
    let slots = ["M", "A", "E"];
    let movies = ["Avatar", "Avengers", "Titanic"];
    for step in 0..3000u32 {
        let day = 20 + next(12) as u8; // 20 Nov .. 1 Dec
        let (m, d) = if day > 30 { (12, day - 30) } else { (11, day) };
        let show = format!(
            "{}{}{:02}{:02}26",
            areas[next(3) as usize],
            slots[next(3) as usize],
            d,
            m
        );
        let movie = movies[next(3) as usize];
        let cust = format!("{}C000{}", areas[next(3) as usize], next(4));
        let t_ = 1 + next(4) as u32;
        if step % 100 == 0 {
            let tday = 18 + next(8) as u8;
            t.at(2026, 11, tday);
        }
        match next(8) {
            0 => {
                let admin = format!("{}A0001", &show[0..3]);
                t.add(&admin, movie, &show, 1 + next(8) as u32);
            }
            1 => {
                let admin = format!("{}A0001", &show[0..3]);
                t.remove(&admin, movie, &show);
            }
            2 | 3 => {
                t.b(&cust, movie, &show, t_);
            }
            4 => {
                t.cancel(&cust, &cust, movie, &show, t_);
            }
            5 | 6 => {
                let other = format!(
                    "{}{}{}",
                    areas[next(3) as usize],
                    slots[next(3) as usize],
                    &show[4..]
                );
                t.x(&cust, movie, &show, movies[next(3) as usize], &other, t_);
            }
            _ => {
                t.sched(&cust, &cust);
            }
        }
    }
    assert!(!t.export().bookings.is_empty());
}

// ---- the state digest (rules §7.1) -----------------------------------------------------------

const VECTOR_SHOW: (u64, u64, u64, u64) = (
    0x0743_bf35_f9ce_ebab,
    0x7120_36ee_a480_38f3,
    0x71e8_a6a6_6663_aa21,
    0xec78_6874_cfd9_6c9a,
);
const VECTOR_BOTH: (u64, u64, u64, u64) = (
    0xce22_9bb4_cb2e_31fb,
    0xb153_6852_fe84_30de,
    0x6b81_6e1a_8836_48b9,
    0xd1c9_effe_dcbd_978b,
);

/// The rules' test vectors, reached through requests and through import.
#[test]
fn digest_matches_the_rules_test_vectors() {
    let mut t = Bench::new();
    assert_eq!(t.r.state_digest().lanes(), (0, 0, 0, 0));
    assert_eq!(t.add(ATW_ADMIN, "Avatar", "ATWM251126", 7), "show-added");
    assert_eq!(
        t.add(ATW_ADMIN, "Avatar", "ATWM251126", 5),
        "show-updated 7"
    );
    assert_eq!(t.r.state_digest().lanes(), VECTOR_SHOW);
    assert_eq!(t.b(C1, "Avatar", "ATWM251126", 1), "booked 1 4");
    assert_eq!(t.b(C1, "Avatar", "ATWM251126", 1), "booked 2 3");
    assert_eq!(t.r.state_digest().lanes(), VECTOR_BOTH);
    assert_eq!(t.cancel(C1, C1, "Avatar", "ATWM251126", 2), "cancelled 0");
    assert_eq!(t.r.state_digest().lanes(), VECTOR_SHOW);
    assert_eq!(
        t.remove(ATW_ADMIN, "Avatar", "ATWM251126"),
        "show-removed moved[] dropped[]"
    );
    assert_eq!(t.r.state_digest().lanes(), (0, 0, 0, 0));

    let mut u = Bench::new();
    let s = CanonicalState {
        shows: vec![se("Avatar", "ATWM251126", 5)],
        bookings: vec![be(C1, "Avatar", "ATWM251126", 2)],
    };
    assert_eq!(fault(&u.import(s)), "ok");
    assert_eq!(u.r.state_digest().lanes(), VECTOR_BOTH);
}

/// Remove-show's moves (one merging into a booking the customer already holds on the target)
/// and drops, each reflected in the digest.
#[test]
fn digest_follows_remove_show_moves_merges_and_drops() {
    let mut t = Bench::new();
    t.shows("Avatar", &["ATWM251126", "ATWA251126", "ATWE261126"], 3);
    assert_eq!(t.b(C1, "Avatar", "ATWM251126", 2), "booked 2 1");
    assert_eq!(t.b(C2, "Avatar", "ATWM251126", 1), "booked 1 0");
    assert_eq!(t.b(V1, "Avatar", "ATWA251126", 2), "booked 2 1");
    assert_eq!(t.b(C2, "Avatar", "ATWE261126", 3), "booked 3 0");
    // C1's 2 fit nowhere (ATWA has 1 left, ATWE none); C2's 1 goes to ATWA.
    assert_eq!(
        t.remove(ATW_ADMIN, "Avatar", "ATWM251126"),
        "show-removed moved[ATWC0002>ATWA251126x1] dropped[ATWC0001x2]"
    );
    // A move merging into V1's booking on ATWE (after freeing it up).
    assert_eq!(t.cancel(C2, C2, "Avatar", "ATWE261126", 3), "cancelled 0");
    assert_eq!(t.b(V1, "Avatar", "ATWE261126", 1), "booked 1 2");
    assert_eq!(
        t.add(ATW_ADMIN, "Avatar", "ATWE261126", 4),
        "show-updated 3"
    );
    assert_eq!(
        t.remove(ATW_ADMIN, "Avatar", "ATWA251126"),
        "show-removed moved[ATWC0002>ATWE261126x1 VERC0001>ATWE261126x2] dropped[]"
    );
    assert_eq!(t.sched(V1, V1), "schedule[Avatar/ATWE261126x3]");
    assert_eq!(t.sched(C2, C2), "schedule[Avatar/ATWE261126x1]");
    assert_digest(&t.r);
}

/// splitmix64: a full-period generator from any seed.
struct Rng(dmtbs_guest::rng::SplitMix64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0.next_u64()
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        (!items.is_empty()).then(|| &items[self.below(items.len())])
    }
}

/// What the seeded run reached, so that a change of generator cannot silently stop covering
/// the digest's update paths.
#[derive(Default, Debug)]
struct Reached {
    added: u32,
    updated: u32,
    removed: u32,
    moved: u32,
    merged: u32,
    dropped: u32,
    booked: u32,
    cancelled_to_zero: u32,
    cancelled_partly: u32,
    exchanged: u32,
    exchanged_emptying: u32,
    imported: u32,
    refused: u32,
}

/// A seeded run of every kind of request, the digest checked against the export after each
/// one (by the bench). `REPLICA_D_DIGEST_SEED` (decimal or 0x-hex) replays another seed.
#[test]
fn seeded_digest_stays_equal_to_the_exports() {
    let seed = std::env::var("REPLICA_D_DIGEST_SEED")
        .ok()
        .and_then(|v| match v.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16).ok(),
            None => v.parse().ok(),
        })
        .unwrap_or(0x00D1_6E57_5EED_0001);
    std::println!("seeded_digest_stays_equal_to_the_exports: seed {seed:#018x}");
    let mut rng = Rng(dmtbs_guest::rng::SplitMix64::new(seed));
    let mut t = Bench::new();
    let mut reached = Reached::default();
    let areas = ["ATW", "OUT", "VER"];
    let slots = ["M", "A", "E"];
    let movies = ["Avatar", "Avengers", "Titanic"];
    // A small world (4 days, 3 areas, 3 slots, 3 movies, 6 customers), so that shows fill up,
    // remove-show finds later shows to move to, and customers hold several bookings.
    let show_id = |rng: &mut Rng| {
        format!(
            "{}{}{}1126",
            areas[rng.below(3)],
            slots[rng.below(3)],
            24 + rng.below(4)
        )
    };
    let customer = |rng: &mut Rng| format!("{}C000{}", areas[rng.below(3)], rng.below(2));
    let mut snapshot = t.export();
    for step in 0..4000u32 {
        if step % 250 == 0 {
            // Mostly 24 Nov; sometimes later, so that some shows become past.
            let day = [24, 24, 24, 25, 26][rng.below(5)];
            t.at(2026, 11, day);
        }
        let state = t.export();
        let kind = rng.below(100);
        match kind {
            // add-show: a new show or a capacity change (sometimes exactly the seats sold).
            0..=13 => {
                let (movie, id) = match rng.pick(&state.shows).filter(|_| rng.below(2) == 0) {
                    Some(e) => (e.movie.clone(), e.show_id.clone()),
                    None => (movies[rng.below(3)].into(), show_id(&mut rng)),
                };
                let sold: u32 = state
                    .bookings
                    .iter()
                    .filter(|b| b.movie == movie && b.show_id == id)
                    .map(|b| b.tickets)
                    .sum();
                let capacity = if rng.below(3) == 0 {
                    sold.max(1)
                } else {
                    1 + rng.below(8) as u32
                };
                let admin = format!("{}A0001", &id[0..3]);
                match t.add(&admin, &movie, &id, capacity).as_str() {
                    "show-added" => reached.added += 1,
                    r if r.starts_with("show-updated") => reached.updated += 1,
                    _ => {}
                }
            }
            // remove-show, mostly of an existing show.
            14..=19 => {
                // Mostly a booked show, or one in the first half in show order: bookings to
                // move, and later shows to move them to.
                let early = &state.shows[..state.shows.len().div_ceil(2)];
                // Best of all, a booking whose customer also holds a later show of the same
                // movie and area: its move may merge into that booking.
                let pos = |m: &str, id: &str| {
                    state
                        .shows
                        .iter()
                        .position(|e| e.movie == m && e.show_id == id)
                };
                let mergeable: Vec<&BookingEntry> = state
                    .bookings
                    .iter()
                    .filter(|b| {
                        state.bookings.iter().any(|l| {
                            l.customer == b.customer
                                && l.movie == b.movie
                                && l.show_id[..3] == b.show_id[..3]
                                && pos(&l.movie, &l.show_id) > pos(&b.movie, &b.show_id)
                        })
                    })
                    .collect();
                let booked = match rng.below(4) {
                    0 => rng.pick(&mergeable).copied(),
                    1 => rng.pick(&state.bookings),
                    _ => None,
                };
                let (movie, id) = match booked {
                    Some(b) => (b.movie.clone(), b.show_id.clone()),
                    None => match rng.pick(early).filter(|_| rng.below(5) > 0) {
                        Some(e) => (e.movie.clone(), e.show_id.clone()),
                        None => (movies[rng.below(3)].into(), show_id(&mut rng)),
                    },
                };
                let admin = format!("{}A0001", &id[0..3]);
                let out = t.go_raw(Operation::RemoveShow(RemoveShow {
                    actor: admin,
                    movie: movie.clone(),
                    show_id: id,
                }));
                if let Ok(Success::ShowRemoved(r)) = out {
                    reached.removed += 1;
                    reached.dropped += r.dropped.len() as u32;
                    for m in &r.moved {
                        reached.moved += 1;
                        let merged = state.bookings.iter().any(|b| {
                            b.customer == m.customer
                                && b.movie == movie
                                && b.show_id == m.to_show_id
                        });
                        reached.merged += u32::from(merged);
                    }
                }
            }
            // book, for oneself or by an admin.
            20..=44 => {
                let (mut movie, mut id) = match rng.pick(&state.shows) {
                    Some(e) => (e.movie.clone(), e.show_id.clone()),
                    None => (movies[rng.below(3)].into(), show_id(&mut rng)),
                };
                let mut c = customer(&mut rng);
                // Sometimes the next show (same movie and area) after one the customer holds:
                // where a later remove-show's move merges into an existing booking.
                if let Some(b) = rng.pick(&state.bookings).filter(|_| rng.below(3) == 0) {
                    let next = state
                        .shows
                        .iter()
                        .skip_while(|e| (&e.movie, &e.show_id) != (&b.movie, &b.show_id))
                        .skip(1)
                        .find(|e| e.movie == b.movie && e.show_id[..3] == b.show_id[..3]);
                    if let Some(e) = next {
                        (movie, id, c) = (e.movie.clone(), e.show_id.clone(), b.customer.clone());
                    }
                }
                let actor = if rng.below(4) == 0 {
                    VER_ADMIN.into()
                } else {
                    c.clone()
                };
                let n = 1 + rng.below(3) as u32;
                if t.book(&actor, &c, &movie, &id, n).starts_with("booked") {
                    reached.booked += 1;
                }
            }
            // cancel an existing booking, often all of it.
            45..=59 => {
                let Some(b) = rng.pick(&state.bookings).cloned() else {
                    continue;
                };
                let n = if rng.below(2) == 0 {
                    b.tickets
                } else {
                    1 + rng.below(b.tickets as usize) as u32
                };
                match t
                    .cancel(&b.customer, &b.customer, &b.movie, &b.show_id, n)
                    .as_str()
                {
                    "cancelled 0" => reached.cancelled_to_zero += 1,
                    r if r.starts_with("cancelled") => reached.cancelled_partly += 1,
                    _ => {}
                }
            }
            // exchange from an existing booking, to a show or to another movie on the same ID.
            60..=79 => {
                let Some(b) = rng.pick(&state.bookings).cloned() else {
                    continue;
                };
                let (movie, id) = match rng.pick(&state.shows).filter(|_| rng.below(4) > 0) {
                    Some(e) => (e.movie.clone(), e.show_id.clone()),
                    None => (movies[rng.below(3)].into(), b.show_id.clone()),
                };
                let n = if rng.below(2) == 0 {
                    b.tickets
                } else {
                    1 + rng.below(b.tickets as usize) as u32
                };
                let out = t.x(&b.customer, &b.movie, &b.show_id, &movie, &id, n);
                if out.starts_with("exchanged") {
                    reached.exchanged += 1;
                    if out.starts_with("exchanged 0 ") {
                        reached.exchanged_emptying += 1;
                    }
                }
            }
            // Reads and malformed requests: no change.
            80..=87 => {
                let c = customer(&mut rng);
                match rng.below(3) {
                    0 => t.sched(&c, &c),
                    1 => t.avail(&c, movies[rng.below(3)]),
                    _ => t.b(&c, "avatar", &show_id(&mut rng), 1),
                };
            }
            // Import of an earlier export (the state really changes), or a refused one.
            88..=91 => {
                if rng.below(2) == 0 {
                    assert_eq!(fault(&t.import(snapshot.clone())), "ok");
                    reached.imported += 1;
                } else {
                    let mut bad = state.clone();
                    if bad.bookings.is_empty() || rng.below(2) == 0 {
                        bad.shows.push(se("Avatar", "ATWM290226", 0));
                    } else {
                        let i = rng.below(bad.bookings.len());
                        bad.bookings[i].tickets = 10_001;
                    }
                    assert_ne!(fault(&t.import(bad)), "ok");
                    reached.refused += 1;
                }
            }
            // Keep an export to import later.
            _ => snapshot = state,
        }
    }
    std::println!("reached: {reached:?}");
    let r = &reached;
    for (what, n) in [
        ("show added", r.added),
        ("capacity changed", r.updated),
        ("show removed", r.removed),
        ("booking moved", r.moved),
        ("move merged", r.merged),
        ("booking dropped", r.dropped),
        ("booked", r.booked),
        ("cancelled to zero", r.cancelled_to_zero),
        ("cancelled partly", r.cancelled_partly),
        ("exchanged", r.exchanged),
        ("exchange emptying the old booking", r.exchanged_emptying),
        ("imported", r.imported),
        ("import refused", r.refused),
    ] {
        assert!(n > 0, "seed {seed:#x}: never reached: {what}");
    }
}
