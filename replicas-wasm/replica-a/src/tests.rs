//! Unit tests written from `shared/spec/booking-rules.md` and `docs/booking-rules.md` alone,
//! before any black-box suite was run. This file: the helpers and the operations' checks;
//! `tests/changes.rs`: exchange and remove-show; `tests/state.rs`: dates, canonical
//! export/import and a large-state round trip; `tests/digest.rs`: the state digest against its
//! test vectors and over a seeded random run. Every request and import made through [`Desk`]
//! checks the kept digest against one recomputed from the export.
use crate::ReplicaA;
use dmtbs_guest::{
    AddShow, Availability, Book, Booked, BookingError as E, Cancel, CanonicalState, Context, Date,
    Exchange, Operation, Outcome, RemoveShow, Replica, Request, Schedule, StateDigest, StateError,
    Success as S,
};

mod changes;
mod digest;
mod state;

/// The digest of `state` computed from scratch (rules §7.1): every entry's hash, summed.
pub(crate) fn digest_of(state: &CanonicalState) -> StateDigest {
    StateDigest::of(state)
}

/// The kept digest equals the one recomputed from the export.
#[track_caller]
pub(crate) fn assert_digest(r: &ReplicaA) {
    assert_eq!(
        r.state_digest(),
        digest_of(&r.export_state()),
        "kept digest != digest of the export"
    );
}

/// Asserts that an outcome matches a pattern, showing it when it does not.
macro_rules! outcome {
    ($o:expr, $p:pat $(if $g:expr)?) => {{
        let o = $o;
        assert!(matches!(&o, $p $(if $g)?), "got {:?}", o);
    }};
}
pub(crate) use outcome;

/// A replica with a settable `today`, and one helper per operation.
pub(crate) struct Desk {
    pub r: ReplicaA,
    today: Date,
    seq: u64,
}

type Rows3 = Vec<(String, String, u32)>;

impl Desk {
    pub fn on(year: u16, month: u8, day: u8) -> Desk {
        Desk {
            r: ReplicaA::default(),
            today: Date { year, month, day },
            seq: 0,
        }
    }
    pub fn today(&mut self, year: u16, month: u8, day: u8) {
        self.today = Date { year, month, day };
    }
    fn run(&mut self, operation: Operation) -> Outcome {
        self.seq += 1;
        let context = Context {
            seq: self.seq,
            today: self.today,
        };
        let before = self.r.state_digest();
        let out = self.r.apply(Request { context, operation });
        assert_digest(&self.r);
        // A refusal changes nothing, so neither may it move the digest.
        if out.is_err() {
            assert_eq!(
                self.r.state_digest(),
                before,
                "refused request moved the digest"
            );
        }
        out
    }
    /// `import-state`, checking the digest after it (unchanged when refused).
    pub fn import(&mut self, state: CanonicalState) -> Result<(), StateError> {
        let before = self.r.state_digest();
        let out = self.r.import_state(state);
        assert_digest(&self.r);
        if out.is_err() {
            assert_eq!(
                self.r.state_digest(),
                before,
                "refused import moved the digest"
            );
        }
        out
    }
    pub fn add(&mut self, actor: &str, movie: &str, id: &str, capacity: u32) -> Outcome {
        self.run(Operation::AddShow(AddShow {
            actor: actor.into(),
            movie: movie.into(),
            show_id: id.into(),
            capacity,
        }))
    }
    pub fn remove(&mut self, actor: &str, movie: &str, id: &str) -> Outcome {
        self.run(Operation::RemoveShow(RemoveShow {
            actor: actor.into(),
            movie: movie.into(),
            show_id: id.into(),
        }))
    }
    pub fn avail(&mut self, actor: &str, movie: &str) -> Outcome {
        self.run(Operation::Availability(Availability {
            actor: actor.into(),
            movie: movie.into(),
        }))
    }
    pub fn book(&mut self, actor: &str, who: &str, movie: &str, id: &str, n: u32) -> Outcome {
        self.run(Operation::Book(Book {
            actor: actor.into(),
            customer: who.into(),
            movie: movie.into(),
            show_id: id.into(),
            tickets: n,
        }))
    }
    pub fn sched(&mut self, actor: &str, who: &str) -> Outcome {
        self.run(Operation::Schedule(Schedule {
            actor: actor.into(),
            customer: who.into(),
        }))
    }
    pub fn cancel(&mut self, actor: &str, who: &str, movie: &str, id: &str, n: u32) -> Outcome {
        self.run(Operation::Cancel(Cancel {
            actor: actor.into(),
            customer: who.into(),
            movie: movie.into(),
            show_id: id.into(),
            tickets: n,
        }))
    }
    #[allow(clippy::too_many_arguments)]
    pub fn exch(
        &mut self,
        actor: &str,
        who: &str,
        old: (&str, &str),
        new: (&str, &str),
        n: u32,
    ) -> Outcome {
        self.run(Operation::Exchange(Exchange {
            actor: actor.into(),
            customer: who.into(),
            old_movie: old.0.into(),
            old_show_id: old.1.into(),
            new_movie: new.0.into(),
            new_show_id: new.1.into(),
            tickets: n,
        }))
    }
    /// A customer books for itself; panics unless it succeeds.
    pub fn own(&mut self, who: &str, movie: &str, id: &str, n: u32) {
        outcome!(self.book(who, who, movie, id, n), Ok(S::Booked(_)));
    }
    /// The show's own area admin adds it; panics unless it is added.
    pub fn show(&mut self, movie: &str, id: &str, capacity: u32) {
        let admin = format!("{}A0001", &id[..3]);
        outcome!(self.add(&admin, movie, id, capacity), Ok(S::ShowAdded));
    }
    /// The customer's schedule as (movie, show ID, tickets).
    pub fn schedule_of(&mut self, who: &str) -> Rows3 {
        match self.sched(who, who) {
            Ok(S::Schedule(l)) => l
                .into_iter()
                .map(|b| (b.movie, b.show_id, b.tickets))
                .collect(),
            o => panic!("schedule: {o:?}"),
        }
    }
    /// Availability of a movie as (show ID, remaining).
    pub fn open_shows(&mut self, movie: &str) -> Vec<(String, u32)> {
        match self.avail("ATWC0999", movie) {
            Ok(S::Availability(l)) => l.into_iter().map(|s| (s.show_id, s.remaining)).collect(),
            o => panic!("availability: {o:?}"),
        }
    }
    /// The exported state, as comparable tuples.
    pub fn dump(&self) -> (Rows3, Vec<(String, String, String, u32)>) {
        let s = self.r.export_state();
        let shows = s
            .shows
            .into_iter()
            .map(|e| (e.movie, e.show_id, e.capacity))
            .collect();
        let bookings = s
            .bookings
            .into_iter()
            .map(|b| (b.customer, b.movie, b.show_id, b.tickets))
            .collect();
        (shows, bookings)
    }
}

pub(crate) fn rows(v: &[(&str, &str, u32)]) -> Rows3 {
    v.iter()
        .map(|&(a, b, n)| (a.to_string(), b.to_string(), n))
        .collect()
}

/// Today is Tuesday 2026-11-24; week 48 runs 23–29 November; the window ends 1 December.
pub(crate) fn tuesday() -> Desk {
    Desk::on(2026, 11, 24)
}

#[test]
fn examples_of_the_rules() {
    let mut d = tuesday();
    outcome!(
        d.add("ATWA1000", "Avatar", "ATWM251126", 10),
        Ok(S::ShowAdded)
    );
    outcome!(
        d.add("ATWA1000", "Avatar", "ATWM251126", 4),
        Ok(S::ShowUpdated(10))
    );
    outcome!(
        d.add("VERA1000", "Avatar", "ATWE251126", 5),
        Err(E::NotAuthorized)
    );
    outcome!(
        d.add("ATWA1000", "Titanic", "ATWA031226", 5),
        Err(E::OutsideWindow)
    );
    let c = "ATWC0001";
    outcome!(
        d.book(c, c, "Avatar", "ATWM251126", 2),
        Ok(S::Booked(Booked {
            held: 2,
            remaining: 2
        }))
    );
    outcome!(d.book(c, c, "Avatar", "ATWM251126", 3), Err(E::ShowFull(2)));
    d.show("Avatar", "OUTM251126", 5);
    outcome!(
        d.book(c, c, "Avatar", "OUTM251126", 1),
        Err(E::SameShowOtherArea)
    );
    for id in [
        "VERM241126",
        "VERA261126",
        "OUTE291126",
        "OUTM271126",
        "OUTM301126",
    ] {
        d.show("Avatar", id, 5);
    }
    for id in ["VERM241126", "VERA261126", "OUTE291126"] {
        d.own(c, "Avatar", id, 1);
    }
    outcome!(d.book(c, c, "Avatar", "OUTM271126", 1), Err(E::WeeklyLimit));
    outcome!(d.book(c, c, "Avatar", "OUTM301126", 1), Ok(S::Booked(_)));
    outcome!(
        d.cancel(c, c, "Avatar", "ATWM251126", 5),
        Err(E::TooManyTickets(2))
    );
}

#[test]
fn malformed_values() {
    let mut d = tuesday();
    let bad_users = [
        "atwa0001",
        "ATWA001",
        "ATWA00001",
        "ATWX0001",
        "MTLA0001",
        "ATWA00O1",
        " ATWA000",
        "",
        "ATWAé01",
    ];
    for u in bad_users {
        outcome!(d.avail(u, "Avatar"), Err(E::InvalidUserId));
    }
    outcome!(d.avail("ATWA0000", "Avatar"), Ok(S::Availability(_)));
    for m in ["avatar", "AVATAR", "Avatar ", "Avengers2", "", "Titanik"] {
        outcome!(d.avail("ATWC0001", m), Err(E::UnknownMovie));
    }
    let bad_ids = [
        "ATWM251126 ",
        "ATWM25112",
        "atwM251126",
        "ATWm251126",
        "ATWN251126",
        "XYZM251126",
        "ATWM001126",
        "ATWM320126",
        "ATWM310426",
        "ATWM290226",
        "ATWM290200X",
        "ATWM251326",
        "ATWM250026",
        "ATWM2511a6",
        "ATWM-51126",
    ];
    for id in bad_ids {
        outcome!(d.add("ATWA0001", "Avatar", id, 5), Err(E::InvalidShowId));
    }
    // Leap days: 2000, 2024, 2028 are leap years; the date's existence is checked even outside
    // the window.
    for id in ["ATWM290200", "ATWM290224", "ATWM290228", "ATWM310199"] {
        outcome!(d.add("ATWA0001", "Avatar", id, 5), Err(E::OutsideWindow));
    }
    for cap in [0, 10_001, u32::MAX] {
        outcome!(
            d.add("ATWA0001", "Avatar", "ATWM251126", cap),
            Err(E::InvalidCapacity)
        );
    }
    outcome!(
        d.add("ATWA0001", "Avatar", "ATWM251126", 10_000),
        Ok(S::ShowAdded)
    );
    for n in [0, 10_001] {
        outcome!(
            d.book("ATWC0001", "ATWC0001", "Avatar", "ATWM251126", n),
            Err(E::InvalidTickets)
        );
    }
    outcome!(
        d.book("ATWC0001", "ATWC0001", "Avatar", "ATWM251126", 10_000),
        Ok(S::Booked(Booked {
            held: 10_000,
            remaining: 0
        }))
    );
}

#[test]
fn validation_follows_signature_order() {
    let mut d = tuesday();
    // add-show: actor, movie, show-id, capacity; then authorisation, then the window.
    outcome!(d.add("x", "y", "z", 0), Err(E::InvalidUserId));
    outcome!(d.add("ATWC0001", "y", "z", 0), Err(E::UnknownMovie));
    outcome!(d.add("ATWC0001", "Avatar", "z", 0), Err(E::InvalidShowId));
    outcome!(
        d.add("ATWC0001", "Avatar", "ATWM011226", 0),
        Err(E::InvalidCapacity)
    );
    outcome!(
        d.add("ATWC0001", "Avatar", "ATWM311226", 5),
        Err(E::NotAuthorized)
    );
    outcome!(
        d.add("VERA0001", "Avatar", "ATWM311226", 5),
        Err(E::NotAuthorized)
    );
    // remove-show: actor, movie, show-id; authorisation before existence.
    outcome!(d.remove("x", "y", "z"), Err(E::InvalidUserId));
    outcome!(d.remove("ATWA0001", "y", "z"), Err(E::UnknownMovie));
    outcome!(d.remove("ATWA0001", "Titanic", "z"), Err(E::InvalidShowId));
    outcome!(
        d.remove("ATWC0001", "Titanic", "ATWM251126"),
        Err(E::NotAuthorized)
    );
    outcome!(
        d.remove("OUTA0001", "Titanic", "ATWM251126"),
        Err(E::NotAuthorized)
    );
    outcome!(
        d.remove("ATWA0001", "Titanic", "ATWM251126"),
        Err(E::ShowNotFound)
    );
    // book: actor, customer, movie, show-id, tickets; authorisation before the show.
    outcome!(d.book("x", "y", "z", "w", 0), Err(E::InvalidUserId));
    outcome!(d.book("ATWC0001", "y", "z", "w", 0), Err(E::InvalidUserId));
    outcome!(
        d.book("ATWC0001", "ATWC0002", "z", "w", 0),
        Err(E::UnknownMovie)
    );
    outcome!(
        d.book("ATWC0001", "ATWC0002", "Avatar", "w", 0),
        Err(E::InvalidShowId)
    );
    outcome!(
        d.book("ATWC0001", "ATWC0002", "Avatar", "VERE010199", 0),
        Err(E::InvalidTickets)
    );
    outcome!(
        d.book("ATWC0001", "ATWC0002", "Avatar", "VERE010199", 1),
        Err(E::NotAuthorized)
    );
    outcome!(
        d.book("ATWA0001", "ATWA0002", "Avatar", "VERE010199", 1),
        Err(E::NotAuthorized)
    );
    outcome!(
        d.book("ATWA0001", "ATWC0002", "Avatar", "VERE010199", 1),
        Err(E::ShowNotFound)
    );
    // schedule: actor, customer, then authorisation.
    outcome!(d.sched("x", "y"), Err(E::InvalidUserId));
    outcome!(d.sched("ATWC0001", "y"), Err(E::InvalidUserId));
    outcome!(d.sched("ATWC0001", "ATWC0002"), Err(E::NotAuthorized));
    outcome!(d.sched("ATWA0001", "ATWA0001"), Err(E::NotAuthorized));
    outcome!(d.sched("VERA0001", "ATWC0002"), Ok(S::Schedule(_)));
    // cancel: same fields as book.
    outcome!(d.cancel("x", "y", "z", "w", 0), Err(E::InvalidUserId));
    outcome!(
        d.cancel("OUTC0001", "y", "z", "w", 0),
        Err(E::InvalidUserId)
    );
    outcome!(
        d.cancel("OUTC0001", "OUTC0001", "z", "w", 0),
        Err(E::UnknownMovie)
    );
    outcome!(
        d.cancel("OUTC0001", "OUTC0001", "Titanic", "w", 0),
        Err(E::InvalidShowId)
    );
    outcome!(
        d.cancel("OUTC0001", "OUTC0001", "Titanic", "OUTA251126", 0),
        Err(E::InvalidTickets)
    );
    outcome!(
        d.cancel("OUTC0001", "OUTC0002", "Titanic", "OUTA251126", 1),
        Err(E::NotAuthorized)
    );
    outcome!(
        d.cancel("OUTC0001", "OUTC0001", "Titanic", "OUTA251126", 1),
        Err(E::NotBooked)
    );
}

#[test]
fn exchange_validation_order() {
    let mut d = tuesday();
    let a = "VERA0001";
    let c = "OUTC0001";
    let ok = ("Avatar", "OUTM251126");
    outcome!(
        d.exch("x", "y", ("z", "w"), ("z", "w"), 0),
        Err(E::InvalidUserId)
    );
    outcome!(
        d.exch(a, "y", ("z", "w"), ("z", "w"), 0),
        Err(E::InvalidUserId)
    );
    outcome!(
        d.exch(a, c, ("z", "w"), ("z", "w"), 0),
        Err(E::UnknownMovie)
    );
    // old-show-id is checked before new-movie.
    outcome!(
        d.exch(a, c, ("Avatar", "w"), ("z", "w"), 0),
        Err(E::InvalidShowId)
    );
    outcome!(d.exch(a, c, ok, ("z", "w"), 0), Err(E::UnknownMovie));
    outcome!(d.exch(a, c, ok, ("Titanic", "w"), 0), Err(E::InvalidShowId));
    outcome!(
        d.exch(a, c, ok, ("Titanic", "OUTM251126"), 0),
        Err(E::InvalidTickets)
    );
    outcome!(
        d.exch("OUTC0002", c, ok, ("Titanic", "OUTM251126"), 1),
        Err(E::NotAuthorized)
    );
    outcome!(d.exch(a, "OUTA0002", ok, ok, 1), Err(E::NotAuthorized));
    // Same show before not-booked; same show ID with another movie is another show.
    outcome!(d.exch(a, c, ok, ok, 1), Err(E::SameShow));
    outcome!(
        d.exch(a, c, ok, ("Titanic", "OUTM251126"), 1),
        Err(E::NotBooked)
    );
}

#[test]
fn add_show_window_and_updates() {
    let mut d = tuesday();
    let a = "ATWA0001";
    outcome!(d.add(a, "Avatar", "ATWM241126", 5), Ok(S::ShowAdded));
    outcome!(d.add(a, "Avatar", "ATWM011226", 5), Ok(S::ShowAdded));
    outcome!(d.add(a, "Avatar", "ATWM021226", 5), Err(E::OutsideWindow));
    outcome!(d.add(a, "Avatar", "ATWE231126", 5), Err(E::OutsideWindow));
    // Across a month end, a year end and February of leap and common years.
    let edges: [((u16, u8, u8), &str, &str); 5] = [
        ((2026, 11, 28), "ATWM051226", "ATWM061226"),
        ((2026, 12, 28), "ATWM040127", "ATWM050127"),
        ((2028, 2, 25), "ATWM030328", "ATWM040328"),
        ((2027, 2, 25), "ATWM040327", "ATWM050327"),
        ((2099, 12, 25), "ATWE311299", "ATWM010100"),
    ];
    for ((y, m, day), last_in, first_out) in edges {
        d.today(y, m, day);
        outcome!(d.add(a, "Titanic", last_in, 5), Ok(S::ShowAdded));
        outcome!(d.add(a, "Titanic", first_out, 5), Err(E::OutsideWindow));
    }
    // Updates: same value, below booked, and an existing show that left the window.
    d.today(2026, 11, 24);
    d.own("ATWC0001", "Avatar", "ATWM011226", 3);
    outcome!(d.add(a, "Avatar", "ATWM011226", 5), Ok(S::ShowUpdated(5)));
    outcome!(
        d.add(a, "Avatar", "ATWM011226", 2),
        Err(E::CapacityBelowBooked)
    );
    outcome!(d.add(a, "Avatar", "ATWM011226", 3), Ok(S::ShowUpdated(5)));
    assert_eq!(
        d.open_shows("Avatar"),
        vec![("ATWM241126".to_string(), 5), ("ATWM011226".to_string(), 0)]
    );
    outcome!(d.add(a, "Titanic", "ATWM011226", 7), Ok(S::ShowAdded));
    d.today(2026, 11, 25);
    outcome!(d.add(a, "Avatar", "ATWM241126", 9), Err(E::OutsideWindow));
    outcome!(
        d.add("ATWA0001", "Avatar", "ATWM241126", 0),
        Err(E::InvalidCapacity)
    );
}

#[test]
fn availability_lists_every_open_show_in_show_order() {
    let mut d = tuesday();
    assert!(d.open_shows("Avatar").is_empty());
    for id in [
        "VERM251126",
        "OUTM251126",
        "ATWM251126",
        "ATWE241126",
        "OUTA241126",
    ] {
        d.show("Avatar", id, 4);
    }
    d.show("Titanic", "ATWM241126", 4);
    d.show("Avengers", "ATWM241126", 4);
    d.own("VERC0001", "Avatar", "OUTM251126", 4);
    d.own("VERC0001", "Avatar", "ATWE241126", 1);
    let want: Vec<(String, u32)> = [
        ("OUTA241126", 4),
        ("ATWE241126", 3),
        ("ATWM251126", 4),
        ("OUTM251126", 0),
        ("VERM251126", 4),
    ]
    .iter()
    .map(|&(s, n)| (s.into(), n))
    .collect();
    assert_eq!(d.open_shows("Avatar"), want);
    // Past shows drop out; a show dated today stays, whatever its slot.
    d.today(2026, 11, 25);
    assert_eq!(d.open_shows("Avatar"), want[2..].to_vec());
    assert_eq!(d.open_shows("Titanic"), vec![]);
    outcome!(d.avail("OUTA0003", "Avengers"), Ok(S::Availability(v)) if v.is_empty());
}

#[test]
fn book_checks_in_order() {
    let mut d = Desk::on(2026, 11, 23);
    let c = "ATWC0001";
    d.show("Avatar", "VERM231126", 5);
    d.today(2026, 11, 24);
    outcome!(
        d.book(c, c, "Avatar", "VERM241126", 1),
        Err(E::ShowNotFound)
    );
    outcome!(
        d.book(c, c, "Titanic", "VERM231126", 1),
        Err(E::ShowNotFound)
    );
    outcome!(d.book(c, c, "Avatar", "VERM231126", 1), Err(E::PastShow));
    // Same show elsewhere beats the weekly limit, which beats a full show.
    for id in [
        "VERA241126",
        "OUTA241126",
        "VERE251126",
        "OUTE251126",
        "VERM261126",
    ] {
        d.show("Avatar", id, 1);
    }
    d.own(c, "Avatar", "VERA241126", 1); // full now
    d.own(c, "Avatar", "VERE251126", 1);
    d.own(c, "Avatar", "VERM261126", 1);
    d.own("OUTC0009", "Avatar", "OUTA241126", 1); // full
    outcome!(
        d.book(c, c, "Avatar", "OUTA241126", 1),
        Err(E::SameShowOtherArea)
    );
    d.own("OUTC0009", "Avatar", "OUTE251126", 1); // full
    outcome!(
        d.book(c, c, "Avatar", "OUTE251126", 1),
        Err(E::SameShowOtherArea)
    );
    d.show("Avatar", "OUTM271126", 1);
    d.own("OUTC0009", "Avatar", "OUTM271126", 1);
    outcome!(d.book(c, c, "Avatar", "OUTM271126", 1), Err(E::WeeklyLimit));
    // More tickets on an away show already held: not a new movie, only the seats count.
    outcome!(d.book(c, c, "Avatar", "VERA241126", 1), Err(E::ShowFull(0)));
    // Another movie on the same date and slot elsewhere is not the same show.
    d.show("Titanic", "ATWA241126", 3);
    d.own(c, "Titanic", "ATWA241126", 1);
    // An admin books for a customer of another area; the home area is the customer's.
    d.show("Titanic", "OUTM301126", 3);
    outcome!(
        d.book("VERA0001", c, "Titanic", "OUTM301126", 2),
        Ok(S::Booked(Booked {
            held: 2,
            remaining: 1
        }))
    );
    outcome!(
        d.book("OUTA0001", c, "Titanic", "OUTM301126", 1),
        Ok(S::Booked(Booked {
            held: 3,
            remaining: 0
        }))
    );
    // A show dated today can be booked.
    d.today(2026, 11, 27);
    outcome!(d.book(c, c, "Avatar", "OUTM271126", 1), Err(E::WeeklyLimit));
    d.show("Avengers", "ATWE271126", 2);
    outcome!(d.book(c, c, "Avengers", "ATWE271126", 2), Ok(S::Booked(_)));
}

#[test]
fn weekly_limit_counting() {
    let mut d = tuesday();
    let c = "VERC0042";
    // Home-area bookings never count.
    for id in ["VERM241126", "VERA241126", "VERE241126", "VERA251126"] {
        d.show("Avatar", id, 9);
        d.own(c, "Avatar", id, 1);
    }
    // Two movies on one away show ID are two movies.
    d.show("Avatar", "ATWM251126", 9);
    d.show("Titanic", "ATWM251126", 9);
    d.show("Avengers", "OUTE261126", 9);
    d.show("Avengers", "OUTE291126", 9);
    d.show("Avengers", "OUTM301126", 9);
    d.own(c, "Avatar", "ATWM251126", 1);
    d.own(c, "Titanic", "ATWM251126", 1);
    d.own(c, "Avengers", "OUTE261126", 1);
    outcome!(
        d.book(c, c, "Avengers", "OUTE291126", 1),
        Err(E::WeeklyLimit)
    );
    // Extra tickets on a held away show are fine at the limit.
    d.own(c, "Titanic", "ATWM251126", 2);
    // Next week's Monday starts a new count.
    d.own(c, "Avengers", "OUTM301126", 1);
    // Past bookings of the week still count.
    d.today(2026, 11, 29);
    outcome!(
        d.book(c, c, "Avengers", "OUTE291126", 1),
        Err(E::WeeklyLimit)
    );
    // Cancelling one away movie frees a place.
    d.today(2026, 11, 26);
    outcome!(
        d.cancel(c, c, "Avengers", "OUTE261126", 1),
        Ok(S::Cancelled(0))
    );
    outcome!(d.book(c, c, "Avengers", "OUTE291126", 1), Ok(S::Booked(_)));
}

/// Books three away movies in the week of `first_day`, then checks that `same_week` is refused
/// and `next_week` accepted. Dates given as show-ID suffixes `ddmmyy`.
fn week_edge(today: (u16, u8, u8), three: [&str; 3], same_week: &str, next_week: &str) {
    let mut d = Desk::on(today.0, today.1, today.2);
    let c = "ATWC0007";
    for (i, day) in three.iter().enumerate() {
        let id = format!("{}M{day}", ["VER", "OUT", "VER"][i]);
        d.show("Avengers", &id, 5);
        d.own(c, "Avengers", &id, 1);
    }
    let same = format!("OUTE{same_week}");
    let next = format!("VERE{next_week}");
    d.show("Avengers", &same, 5);
    d.show("Avengers", &next, 5);
    outcome!(d.book(c, c, "Avengers", &same, 1), Err(E::WeeklyLimit));
    outcome!(d.book(c, c, "Avengers", &next, 1), Ok(S::Booked(_)));
}

#[test]
fn weekly_limit_across_months_years_and_leap_days() {
    // ISO week 53 of 2026: Monday 28 Dec 2026 to Sunday 3 Jan 2027.
    week_edge(
        (2026, 12, 28),
        ["281226", "311226", "010127"],
        "030127",
        "040127",
    );
    // Week of 29 Feb 2028: Monday 28 Feb to Sunday 5 Mar.
    week_edge(
        (2028, 2, 28),
        ["280228", "290228", "010328"],
        "050328",
        "060328",
    );
    // A common year: Monday 22 Feb to Sunday 28 Feb 2027; 1 Mar 2027 is a Monday.
    week_edge(
        (2027, 2, 22),
        ["220227", "240227", "260227"],
        "280227",
        "010327",
    );
    // A week across the end of November: Monday 30 Nov 2026 to Sunday 6 Dec.
    week_edge(
        (2026, 11, 30),
        ["301126", "011226", "021226"],
        "061226",
        "071226",
    );
}

#[test]
fn schedule_is_in_show_order_with_past_bookings() {
    let mut d = tuesday();
    let c = "OUTC0100";
    d.show("Titanic", "VERE251126", 5);
    d.show("Avatar", "OUTE241126", 5);
    d.show("Avengers", "OUTE241126", 5);
    d.show("Avatar", "ATWM261126", 5);
    d.show("Avatar", "OUTA261126", 5);
    d.own(c, "Titanic", "VERE251126", 1);
    d.own(c, "Avengers", "OUTE241126", 2);
    d.own(c, "Avatar", "ATWM261126", 3);
    d.own(c, "Avatar", "OUTE241126", 4);
    d.own("OUTC0101", "Avatar", "OUTA261126", 4);
    let want = rows(&[
        ("Avatar", "OUTE241126", 4),
        ("Avengers", "OUTE241126", 2),
        ("Titanic", "VERE251126", 1),
        ("Avatar", "ATWM261126", 3),
    ]);
    assert_eq!(d.schedule_of(c), want);
    d.today(2026, 12, 20);
    assert_eq!(d.schedule_of(c), want);
    assert!(d.schedule_of("OUTC0102").is_empty());
}

#[test]
fn cancel_checks_in_order() {
    let mut d = tuesday();
    let c = "ATWC0001";
    d.show("Avatar", "ATWM241126", 5);
    d.show("Avatar", "ATWM261126", 5);
    d.own(c, "Avatar", "ATWM241126", 3);
    d.own(c, "Avatar", "ATWM261126", 3);
    outcome!(d.cancel(c, c, "Avatar", "ATWM271126", 1), Err(E::NotBooked));
    outcome!(
        d.cancel(c, c, "Titanic", "ATWM241126", 1),
        Err(E::NotBooked)
    );
    outcome!(
        d.cancel(c, "ATWC0002", "Avatar", "ATWM241126", 1),
        Err(E::NotAuthorized)
    );
    outcome!(
        d.cancel("ATWA0002", "ATWC0002", "Avatar", "ATWM241126", 1),
        Err(E::NotBooked)
    );
    // Dated today: not past.
    outcome!(
        d.cancel(c, c, "Avatar", "ATWM241126", 1),
        Ok(S::Cancelled(2))
    );
    d.today(2026, 11, 25);
    // Past is checked after not-booked and before the ticket count.
    outcome!(d.cancel(c, c, "Avatar", "ATWM241126", 9), Err(E::PastShow));
    outcome!(d.cancel(c, c, "Avatar", "ATWM231126", 9), Err(E::NotBooked));
    outcome!(
        d.cancel(c, c, "Avatar", "ATWM261126", 4),
        Err(E::TooManyTickets(3))
    );
    outcome!(
        d.cancel("VERA0009", c, "Avatar", "ATWM261126", 3),
        Ok(S::Cancelled(0))
    );
    outcome!(d.cancel(c, c, "Avatar", "ATWM261126", 1), Err(E::NotBooked));
    assert_eq!(d.schedule_of(c), rows(&[("Avatar", "ATWM241126", 2)]));
    assert_eq!(d.open_shows("Avatar"), vec![("ATWM261126".into(), 5)]);
}
