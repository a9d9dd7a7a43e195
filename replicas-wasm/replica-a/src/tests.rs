//! Native unit tests: the §8 examples, a table reaching every operation and error code (with
//! the precedence between errors), remove-show's moves, exchange's "as if", import refusals.
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;

use dmtbs_guest::Date as WitDate;
use dmtbs_guest::*;

use crate::ReplicaA;
use crate::ids::{Date, ShowId, UserId};

/// A replica plus the sequencer's clock; every call returns the outcome rendered compactly.
struct World {
    r: ReplicaA,
    today: (u16, u8, u8),
    seq: u64,
    /// When set, the exported state just before the latest request (to check refusals).
    before_last: Option<String>,
}

fn s(x: &str) -> String {
    x.to_string()
}

fn render(o: &Outcome) -> String {
    match o {
        Ok(Success::ShowAdded) => s("show-added"),
        Ok(Success::ShowUpdated(n)) => format!("show-updated({n})"),
        Ok(Success::ShowRemoved(r)) => {
            let moved: Vec<String> = r
                .moved
                .iter()
                .map(|m| format!("{}>{}:{}", m.customer, m.to_show_id, m.tickets))
                .collect();
            let dropped: Vec<String> = r
                .dropped
                .iter()
                .map(|d| format!("{}:{}", d.customer, d.tickets))
                .collect();
            format!("moved[{}] dropped[{}]", moved.join(","), dropped.join(","))
        }
        Ok(Success::Availability(l)) => {
            let v: Vec<String> = l
                .iter()
                .map(|x| format!("{}:{}", x.show_id, x.remaining))
                .collect();
            format!("avail[{}]", v.join(","))
        }
        Ok(Success::Booked(b)) => format!("booked({},{})", b.held, b.remaining),
        Ok(Success::Schedule(l)) => {
            let v: Vec<String> = l
                .iter()
                .map(|x| format!("{} {}:{}", x.movie, x.show_id, x.tickets))
                .collect();
            format!("schedule[{}]", v.join(","))
        }
        Ok(Success::Cancelled(n)) => format!("cancelled({n})"),
        Ok(Success::Exchanged(e)) => format!("exchanged({},{})", e.old_held, e.new_held),
        Err(e) => match e {
            BookingError::InvalidUserId => s("invalid-user-id"),
            BookingError::InvalidShowId => s("invalid-show-id"),
            BookingError::UnknownMovie => s("unknown-movie"),
            BookingError::InvalidCapacity => s("invalid-capacity"),
            BookingError::InvalidTickets => s("invalid-tickets"),
            BookingError::NotAuthorized => s("not-authorized"),
            BookingError::OutsideWindow => s("outside-window"),
            BookingError::ShowNotFound => s("show-not-found"),
            BookingError::PastShow => s("past-show"),
            BookingError::CapacityBelowBooked => s("capacity-below-booked"),
            BookingError::SameShowOtherArea => s("same-show-other-area"),
            BookingError::WeeklyLimit => s("weekly-limit"),
            BookingError::ShowFull(n) => format!("show-full({n})"),
            BookingError::NotBooked => s("not-booked"),
            BookingError::TooManyTickets(n) => format!("too-many-tickets({n})"),
            BookingError::SameShow => s("same-show"),
        },
    }
}

impl World {
    /// Today is 2026-11-24, a Tuesday, as in §8.
    fn new() -> World {
        World {
            r: ReplicaA::default(),
            today: (2026, 11, 24),
            seq: 0,
            before_last: None,
        }
    }

    fn at(&mut self, year: u16, month: u8, day: u8) -> &mut World {
        self.today = (year, month, day);
        self
    }

    fn run(&mut self, operation: Operation) -> String {
        self.seq += 1;
        if self.before_last.is_some() {
            self.before_last = Some(self.state());
        }
        let (year, month, day) = self.today;
        let req = Request {
            context: Context {
                seq: self.seq,
                today: WitDate { year, month, day },
            },
            operation,
        };
        render(&self.r.apply(req))
    }

    fn add(&mut self, actor: &str, movie: &str, id: &str, capacity: u32) -> String {
        self.run(Operation::AddShow(AddShow {
            actor: s(actor),
            movie: s(movie),
            show_id: s(id),
            capacity,
        }))
    }

    fn remove(&mut self, actor: &str, movie: &str, id: &str) -> String {
        self.run(Operation::RemoveShow(RemoveShow {
            actor: s(actor),
            movie: s(movie),
            show_id: s(id),
        }))
    }

    fn avail(&mut self, actor: &str, movie: &str) -> String {
        self.run(Operation::Availability(Availability {
            actor: s(actor),
            movie: s(movie),
        }))
    }

    fn book(&mut self, actor: &str, customer: &str, movie: &str, id: &str, n: u32) -> String {
        self.run(Operation::Book(Book {
            actor: s(actor),
            customer: s(customer),
            movie: s(movie),
            show_id: s(id),
            tickets: n,
        }))
    }

    /// A customer booking for itself.
    fn own(&mut self, customer: &str, movie: &str, id: &str, n: u32) -> String {
        self.book(customer, customer, movie, id, n)
    }

    fn sched(&mut self, actor: &str, customer: &str) -> String {
        self.run(Operation::Schedule(Schedule {
            actor: s(actor),
            customer: s(customer),
        }))
    }

    fn cancel(&mut self, actor: &str, customer: &str, movie: &str, id: &str, n: u32) -> String {
        self.run(Operation::Cancel(Cancel {
            actor: s(actor),
            customer: s(customer),
            movie: s(movie),
            show_id: s(id),
            tickets: n,
        }))
    }

    fn exchange(
        &mut self,
        actor: &str,
        customer: &str,
        old: (&str, &str),
        new: (&str, &str),
        n: u32,
    ) -> String {
        self.run(Operation::Exchange(Exchange {
            actor: s(actor),
            customer: s(customer),
            old_movie: s(old.0),
            old_show_id: s(old.1),
            new_movie: s(new.0),
            new_show_id: s(new.1),
            tickets: n,
        }))
    }

    fn state(&self) -> String {
        format!("{:?}", self.r.export_state())
    }
}

#[test]
fn section_8_examples() {
    let mut w = World::new();
    assert_eq!(w.add("ATWA1000", "Avatar", "ATWM251126", 10), "show-added");
    assert_eq!(
        w.add("ATWA1000", "Avatar", "ATWM251126", 4),
        "show-updated(10)"
    );
    assert_eq!(
        w.add("VERA1000", "Avatar", "ATWE251126", 5),
        "not-authorized"
    );
    assert_eq!(
        w.add("ATWA1000", "Titanic", "ATWA031226", 5),
        "outside-window"
    );
    assert_eq!(w.own("ATWC0001", "Avatar", "ATWM251126", 2), "booked(2,2)");
    assert_eq!(w.own("ATWC0001", "Avatar", "ATWM251126", 3), "show-full(2)");
    assert_eq!(w.add("OUTA1000", "Avatar", "OUTM251126", 10), "show-added");
    assert_eq!(
        w.own("ATWC0001", "Avatar", "OUTM251126", 1),
        "same-show-other-area"
    );
    for id in ["VERM241126", "VERA261126", "OUTE291126", "OUTM271126"] {
        let admin = if id.starts_with("VER") {
            "VERA1000"
        } else {
            "OUTA1000"
        };
        assert_eq!(w.add(admin, "Titanic", id, 10), "show-added");
    }
    assert_eq!(w.add("OUTA1000", "Titanic", "OUTM301126", 10), "show-added");
    for id in ["VERM241126", "VERA261126", "OUTE291126"] {
        assert_eq!(w.own("ATWC0001", "Titanic", id, 1), "booked(1,9)");
    }
    assert_eq!(
        w.own("ATWC0001", "Titanic", "OUTM271126", 1),
        "weekly-limit"
    );
    assert_eq!(w.own("ATWC0001", "Titanic", "OUTM301126", 1), "booked(1,9)");
    assert_eq!(
        w.cancel("ATWC0001", "ATWC0001", "Avatar", "ATWM251126", 5),
        "too-many-tickets(2)"
    );
}

/// Past show P (Avatar ATWM211126, ATWC0001 holds 2), S1 (Avatar ATWM251126, cap 4, ATWC0001
/// holds 2), S2 (Avatar OUTM251126, cap 5), S3 (Titanic VERE261126, cap 3).
fn fixture() -> World {
    let mut w = World::new();
    w.at(2026, 11, 20);
    assert_eq!(w.add("ATWA1000", "Avatar", "ATWM211126", 10), "show-added");
    assert_eq!(w.own("ATWC0001", "Avatar", "ATWM211126", 2), "booked(2,8)");
    w.at(2026, 11, 24);
    assert_eq!(w.add("ATWA1000", "Avatar", "ATWM251126", 4), "show-added");
    assert_eq!(w.own("ATWC0001", "Avatar", "ATWM251126", 2), "booked(2,2)");
    assert_eq!(w.add("OUTA1000", "Avatar", "OUTM251126", 5), "show-added");
    assert_eq!(w.add("VERA1000", "Titanic", "VERE261126", 3), "show-added");
    w.before_last = Some(String::new());
    w
}

type Row = (&'static str, fn(&mut World) -> String, &'static str);

#[test]
fn error_table() {
    const C1: &str = "ATWC0001";
    const S1: (&str, &str) = ("Avatar", "ATWM251126");
    const S2: (&str, &str) = ("Avatar", "OUTM251126");
    const S3: (&str, &str) = ("Titanic", "VERE261126");
    const P: (&str, &str) = ("Avatar", "ATWM211126");
    #[rustfmt::skip]
    let rows: &[Row] = &[
        // --- V: user IDs
        ("lower case", |w| w.add("atwa1000", "Avatar", "ATWM261126", 5), "invalid-user-id"),
        ("7 bytes", |w| w.add("ATWA100", "Avatar", "ATWM261126", 5), "invalid-user-id"),
        ("9 bytes", |w| w.add("ATWA10000", "Avatar", "ATWM261126", 5), "invalid-user-id"),
        ("bad role", |w| w.add("ATWB1000", "Avatar", "ATWM261126", 5), "invalid-user-id"),
        ("bad area", |w| w.add("MTLA1000", "Avatar", "ATWM261126", 5), "invalid-user-id"),
        ("letter digit", |w| w.add("ATWA1a00", "Avatar", "ATWM261126", 5), "invalid-user-id"),
        ("non-ascii", |w| w.add("ÅTWA100", "Avatar", "ATWM261126", 5), "invalid-user-id"),
        ("space", |w| w.add(" ATWA100", "Avatar", "ATWM261126", 5), "invalid-user-id"),
        ("0000 ok", |w| w.add("ATWA0000", "Avatar", "ATWM261126", 5), "show-added"),
        // --- V: movies, show IDs, counts, and their order
        ("movie case", |w| w.add("ATWA1000", "avatar", "ATWM261126", 5), "unknown-movie"),
        ("movie space", |w| w.add("ATWA1000", "Avatar ", "ATWM261126", 5), "unknown-movie"),
        ("user before movie", |w| w.add("ATWX1000", "Nope", "bad", 0), "invalid-user-id"),
        ("movie before id", |w| w.add("ATWA1000", "Nope", "bad", 0), "unknown-movie"),
        ("31 Feb", |w| w.add("ATWA1000", "Avatar", "ATWM310226", 5), "invalid-show-id"),
        ("29 Feb 2026", |w| w.add("ATWA1000", "Avatar", "ATWM290226", 5), "invalid-show-id"),
        ("29 Feb 2028 ok", |w| w.add("ATWA1000", "Avatar", "ATWM290228", 5), "outside-window"),
        ("29 Feb 2000 ok", |w| w.add("ATWA1000", "Avatar", "ATWM290200", 5), "outside-window"),
        ("31 Nov", |w| w.add("ATWA1000", "Avatar", "ATWM311126", 5), "invalid-show-id"),
        ("day 00", |w| w.add("ATWA1000", "Avatar", "ATWM001126", 5), "invalid-show-id"),
        ("month 13", |w| w.add("ATWA1000", "Avatar", "ATWM011326", 5), "invalid-show-id"),
        ("month 00", |w| w.add("ATWA1000", "Avatar", "ATWM010026", 5), "invalid-show-id"),
        ("bad slot", |w| w.add("ATWA1000", "Avatar", "ATWN261126", 5), "invalid-show-id"),
        ("bad id area", |w| w.add("ATWA1000", "Avatar", "XYZM261126", 5), "invalid-show-id"),
        ("id lower", |w| w.add("ATWA1000", "Avatar", "atwm261126", 5), "invalid-show-id"),
        ("id 11 bytes", |w| w.add("ATWA1000", "Avatar", "ATWM2611260", 5), "invalid-show-id"),
        ("id sign", |w| w.add("ATWA1000", "Avatar", "ATWM+61126", 5), "invalid-show-id"),
        ("id before capacity", |w| w.add("ATWA1000", "Avatar", "ATWM", 0), "invalid-show-id"),
        ("capacity 0", |w| w.add("ATWA1000", "Avatar", "ATWM261126", 0), "invalid-capacity"),
        ("capacity 10001", |w| w.add("ATWA1000", "Avatar", "ATWM261126", 10_001), "invalid-capacity"),
        ("capacity 10000", |w| w.add("ATWA1000", "Avatar", "ATWM261126", 10_000), "show-added"),
        ("V before auth", |w| w.add("ATWC0001", "Avatar", "ATWM261126", 0), "invalid-capacity"),
        // --- add-show
        ("customer adds", |w| w.add(C1, "Avatar", "ATWM261126", 5), "not-authorized"),
        ("other area", |w| w.add("VERA1000", "Avatar", "ATWM261126", 5), "not-authorized"),
        ("auth before window", |w| w.add("VERA1000", "Avatar", "ATWM011226", 5), "not-authorized"),
        ("yesterday", |w| w.add("ATWA1000", "Avatar", "ATWM231126", 5), "outside-window"),
        ("today", |w| w.add("ATWA1000", "Avatar", "ATWM241126", 5), "show-added"),
        ("today+7", |w| w.add("ATWA1000", "Avatar", "ATWE011226", 5), "show-added"),
        ("today+8", |w| w.add("ATWA1000", "Avatar", "ATWM021226", 5), "outside-window"),
        ("existing past show", |w| w.add("ATWA1000", P.0, P.1, 50), "outside-window"),
        ("existing, window before capacity", |w| w.add("ATWA1000", P.0, P.1, 1), "outside-window"),
        ("below booked", |w| w.add("ATWA1000", S1.0, S1.1, 1), "capacity-below-booked"),
        ("equal booked", |w| w.add("ATWA1000", S1.0, S1.1, 2), "show-updated(4)"),
        ("unchanged", |w| w.add("ATWA1000", S1.0, S1.1, 4), "show-updated(4)"),
        ("other movie same id", |w| w.add("ATWA1000", "Titanic", S1.1, 4), "show-added"),
        // --- remove-show
        ("rm bad actor", |w| w.remove("ATWA10", S1.0, S1.1), "invalid-user-id"),
        ("rm bad movie", |w| w.remove("ATWA1000", "X", S1.1), "unknown-movie"),
        ("rm bad id", |w| w.remove("ATWA1000", S1.0, "ATWM"), "invalid-show-id"),
        ("rm other area", |w| w.remove("OUTA1000", S1.0, S1.1), "not-authorized"),
        ("rm customer", |w| w.remove(C1, S1.0, S1.1), "not-authorized"),
        ("rm auth before found", |w| w.remove("VERA1000", "Avatar", "ATWM011226"), "not-authorized"),
        ("rm missing", |w| w.remove("ATWA1000", "Avatar", "ATWM011226"), "show-not-found"),
        ("rm other movie", |w| w.remove("ATWA1000", "Titanic", S1.1), "show-not-found"),
        ("rm past", |w| w.remove("ATWA1000", P.0, P.1), "past-show"),
        ("rm dropped", |w| w.remove("ATWA1000", S1.0, S1.1), "moved[] dropped[ATWC0001:2]"),
        ("rm empty", |w| w.remove("OUTA1000", S2.0, S2.1), "moved[] dropped[]"),
        // --- availability
        ("av bad actor", |w| w.avail("ATWZ0001", "Avatar"), "invalid-user-id"),
        ("av bad movie", |w| w.avail(C1, "Avengerz"), "unknown-movie"),
        ("av customer", |w| w.avail("VERC9999", "Avatar"), "avail[ATWM251126:2,OUTM251126:5]"),
        ("av empty", |w| w.avail("VERA0001", "Avengers"), "avail[]"),
        // --- book: V order, authorisation
        ("bk actor first", |w| w.book("X", "Y", "Z", "W", 0), "invalid-user-id"),
        ("bk customer", |w| w.book("ATWA1000", "ATWC001", "Z", "W", 0), "invalid-user-id"),
        ("bk movie", |w| w.book("ATWA1000", C1, "Z", "W", 0), "unknown-movie"),
        ("bk id", |w| w.book("ATWA1000", C1, "Avatar", "W", 0), "invalid-show-id"),
        ("bk tickets 0", |w| w.book("ATWA1000", C1, "Avatar", S1.1, 0), "invalid-tickets"),
        ("bk tickets 10001", |w| w.book("ATWA1000", C1, "Avatar", S1.1, 10_001), "invalid-tickets"),
        ("bk for other customer", |w| w.book("ATWC0002", C1, S1.0, S1.1, 1), "not-authorized"),
        ("bk admin customer", |w| w.book("ATWA1000", "ATWA2000", S1.0, S1.1, 1), "not-authorized"),
        ("bk admin self", |w| w.book("ATWA2000", "ATWA2000", S1.0, S1.1, 1), "not-authorized"),
        ("bk auth before found", |w| w.book("ATWC0002", C1, "Avatar", "ATWM011226", 1), "not-authorized"),
        ("bk any admin", |w| w.book("VERA1000", C1, S1.0, S1.1, 1), "booked(3,1)"),
        // --- book: state checks and their order
        ("bk missing", |w| w.own(C1, "Avatar", "ATWM011226", 1), "show-not-found"),
        ("bk past", |w| w.own(C1, P.0, P.1, 1), "past-show"),
        ("bk past before full", |w| w.own("ATWC0002", P.0, P.1, 99), "past-show"),
        ("bk same show", |w| w.own(C1, S2.0, S2.1, 1), "same-show-other-area"),
        ("bk same before full", |w| w.own(C1, S2.0, S2.1, 6), "same-show-other-area"),
        (
            "bk same slot other movie",
            |w| {
                w.add("OUTA1000", "Titanic", "OUTM251126", 5);
                w.own(C1, "Titanic", "OUTM251126", 1)
            },
            "booked(1,4)",
        ),
        ("bk full", |w| w.own("ATWC0002", S1.0, S1.1, 3), "show-full(2)"),
        ("bk to zero", |w| w.own(C1, S1.0, S1.1, 2), "booked(4,0)"),
        (
            "bk full zero",
            |w| {
                w.own(C1, S1.0, S1.1, 2);
                w.own("VERC0002", S1.0, S1.1, 1)
            },
            "show-full(0)",
        ),
        ("bk other area ok", |w| w.own("ATWC0002", S3.0, S3.1, 3), "booked(3,0)"),
        // --- schedule
        ("sc bad actor", |w| w.sched("ATW", C1), "invalid-user-id"),
        ("sc bad customer", |w| w.sched(C1, "ATWC00011"), "invalid-user-id"),
        ("sc other", |w| w.sched("ATWC0002", C1), "not-authorized"),
        ("sc admin customer", |w| w.sched("ATWA1000", "ATWA1000"), "not-authorized"),
        ("sc self", |w| w.sched(C1, C1), "schedule[Avatar ATWM211126:2,Avatar ATWM251126:2]"),
        ("sc admin", |w| w.sched("OUTA0001", C1), "schedule[Avatar ATWM211126:2,Avatar ATWM251126:2]"),
        ("sc empty", |w| w.sched("VERC0001", "VERC0001"), "schedule[]"),
        // --- cancel
        ("cn bad tickets", |w| w.cancel(C1, C1, S1.0, S1.1, 0), "invalid-tickets"),
        ("cn other", |w| w.cancel("ATWC0002", C1, S1.0, S1.1, 1), "not-authorized"),
        ("cn admin customer", |w| w.cancel("ATWA1000", "ATWA0001", S1.0, S1.1, 1), "not-authorized"),
        ("cn not booked", |w| w.cancel("ATWC0002", "ATWC0002", S1.0, S1.1, 1), "not-booked"),
        ("cn no show", |w| w.cancel(C1, C1, "Avatar", "ATWM011226", 1), "not-booked"),
        ("cn not booked before past", |w| w.cancel("ATWC0002", "ATWC0002", P.0, P.1, 1), "not-booked"),
        ("cn past", |w| w.cancel(C1, C1, P.0, P.1, 9), "past-show"),
        ("cn too many", |w| w.cancel(C1, C1, S1.0, S1.1, 3), "too-many-tickets(2)"),
        ("cn some", |w| w.cancel("ATWA1000", C1, S1.0, S1.1, 1), "cancelled(1)"),
        (
            "cn all",
            |w| {
                w.cancel(C1, C1, S1.0, S1.1, 2);
                w.cancel(C1, C1, S1.0, S1.1, 1)
            },
            "not-booked",
        ),
        (
            "cn all frees seats",
            |w| {
                w.cancel(C1, C1, S1.0, S1.1, 2);
                w.avail(C1, "Avatar")
            },
            "avail[ATWM251126:4,OUTM251126:5]",
        ),
        // --- exchange: V order
        ("ex old movie", |w| w.exchange(C1, C1, ("X", "bad"), ("Y", "bad"), 0), "unknown-movie"),
        ("ex old id", |w| w.exchange(C1, C1, ("Avatar", "bad"), ("Y", "bad"), 0), "invalid-show-id"),
        ("ex new movie", |w| w.exchange(C1, C1, S1, ("Y", "bad"), 0), "unknown-movie"),
        ("ex new id", |w| w.exchange(C1, C1, S1, ("Avatar", "bad"), 0), "invalid-show-id"),
        ("ex tickets", |w| w.exchange(C1, C1, S1, S2, 0), "invalid-tickets"),
        ("ex other", |w| w.exchange("ATWC0002", C1, S1, S1, 1), "not-authorized"),
        // --- exchange: state checks and their order
        ("ex same", |w| w.exchange(C1, C1, S1, S1, 1), "same-show"),
        ("ex same before booked", |w| w.exchange("ATWC0002", "ATWC0002", S1, S1, 9), "same-show"),
        ("ex not booked", |w| w.exchange("ATWC0002", "ATWC0002", S1, S3, 1), "not-booked"),
        (
            "ex not booked, no shows",
            |w| {
                w.exchange(
                    C1,
                    C1,
                    ("Titanic", "ATWM011226"),
                    ("Titanic", "ATWM021226"),
                    1,
                )
            },
            "not-booked",
        ),
        ("ex old past", |w| w.exchange(C1, C1, P, S3, 1), "past-show"),
        ("ex too many", |w| w.exchange(C1, C1, S1, ("Titanic", "ATWM011226"), 3), "too-many-tickets(2)"),
        ("ex new missing", |w| w.exchange(C1, C1, S1, ("Titanic", "ATWM011226"), 1), "show-not-found"),
        ("ex new past exists", |w| w.exchange(C1, C1, S1, P, 1), "past-show"),
        ("ex partial keeps same-show", |w| w.exchange(C1, C1, S1, S2, 1), "same-show-other-area"),
        ("ex whole frees same-show", |w| w.exchange(C1, C1, S1, S2, 2), "exchanged(0,2)"),
        ("ex whole to other area", |w| w.exchange(C1, C1, S1, S3, 2), "exchanged(0,2)"),
        (
            "ex new show-full",
            |w| {
                w.own("VERC0001", S3.0, S3.1, 2);
                w.exchange(C1, C1, S1, S3, 2)
            },
            "show-full(1)",
        ),
        (
            "ex same id other movie",
            |w| {
                w.add("ATWA1000", "Titanic", S1.1, 1);
                w.exchange(C1, C1, S1, ("Titanic", S1.1), 1)
            },
            "exchanged(1,1)",
        ),
        (
            "ex result state",
            |w| {
                w.exchange("ATWA1000", C1, S1, S3, 1);
                w.sched(C1, C1)
            },
            "schedule[Avatar ATWM211126:2,Avatar ATWM251126:1,Titanic VERE261126:1]",
        ),
    ];
    for (label, step, want) in rows {
        let mut w = fixture();
        let got = step(&mut w);
        assert_eq!(got, *want, "{label}");
        // A refused request changes nothing.
        let successes = [
            "show-added",
            "show-updated(",
            "moved[",
            "avail[",
            "booked(",
            "schedule[",
            "cancelled(",
            "exchanged(",
        ];
        if !successes.iter().any(|p| want.starts_with(p)) {
            assert_eq!(
                Some(w.state()),
                w.before_last,
                "{label}: refusal changed state"
            );
        }
    }
}

#[test]
fn weekly_limit_details() {
    let mut w = World::new();
    // Shows for the week of 23–29 Nov 2026 (today is the 24th) in every area.
    w.at(2026, 11, 22);
    assert_eq!(w.add("OUTA1000", "Avatar", "OUTM231126", 10), "show-added");
    w.at(2026, 11, 24);
    for (admin, id) in [
        ("OUTA1000", "OUTE241126"),
        ("VERA1000", "VERM251126"),
        ("VERA1000", "VERA271126"),
        ("ATWA1000", "ATWM261126"),
        ("ATWA1000", "ATWE261126"),
        ("OUTA1000", "OUTM011226"),
    ] {
        assert_eq!(w.add(admin, "Avatar", id, 10), "show-added");
        assert_eq!(w.add(admin, "Titanic", id, 10), "show-added");
    }
    let c = "ATWC0007";
    // A past booking of the same week counts (booked while it was not yet past).
    w.at(2026, 11, 23);
    assert_eq!(w.own(c, "Avatar", "OUTM231126", 1), "booked(1,9)");
    w.at(2026, 11, 24);
    // Two movies on one show ID count twice.
    assert_eq!(w.own(c, "Avatar", "VERM251126", 1), "booked(1,9)");
    assert_eq!(w.own(c, "Titanic", "VERM251126", 1), "booked(1,9)");
    // Home-area shows never count and are never limited.
    assert_eq!(w.own(c, "Avatar", "ATWM261126", 1), "booked(1,9)");
    assert_eq!(w.own(c, "Titanic", "ATWE261126", 1), "booked(1,9)");
    assert_eq!(w.own(c, "Avatar", "VERA271126", 1), "weekly-limit");
    // An admin acting for the customer meets the customer's home area and limit.
    assert_eq!(
        w.book("OUTA1000", c, "Avatar", "OUTE241126", 1),
        "weekly-limit"
    );
    // More tickets on a show already held: not a new movie.
    assert_eq!(w.own(c, "Titanic", "VERM251126", 2), "booked(3,7)");
    // Weekly before show-full.
    assert_eq!(w.own(c, "Avatar", "VERA271126", 11), "weekly-limit");
    // Next week is a new count.
    assert_eq!(w.own(c, "Avatar", "OUTM011226", 1), "booked(1,9)");
    // For a VER customer the same VER shows are home.
    assert_eq!(w.own("VERC0001", "Avatar", "VERA271126", 1), "booked(1,9)");

    // Exchange: taking a whole other-area booking off frees its place in the count ...
    assert_eq!(
        w.exchange(c, c, ("Avatar", "VERM251126"), ("Avatar", "VERA271126"), 1),
        "exchanged(0,1)"
    );
    // ... a partial one does not.
    assert_eq!(
        w.exchange(
            c,
            c,
            ("Titanic", "VERM251126"),
            ("Titanic", "OUTE241126"),
            1
        ),
        "weekly-limit"
    );
    // Moving within the held shows' week to a home show is always fine.
    assert_eq!(
        w.exchange(
            c,
            c,
            ("Titanic", "VERM251126"),
            ("Titanic", "ATWM261126"),
            3
        ),
        "exchanged(0,3)"
    );
}

#[test]
fn remove_show_moves() {
    let mut w = World::new();
    let a = "ATWA1000";
    // Candidates: same movie and area, strictly after, first with room at that moment.
    assert_eq!(w.add(a, "Avatar", "ATWA251126", 6), "show-added");
    assert_eq!(w.add(a, "Avatar", "ATWM251126", 9), "show-added"); // earlier: never a target
    assert_eq!(w.add(a, "Titanic", "ATWE251126", 9), "show-added"); // other movie
    assert_eq!(w.add("OUTA1000", "Avatar", "OUTE251126", 9), "show-added"); // other area
    assert_eq!(w.add(a, "Avatar", "ATWE251126", 3), "show-added"); // same date, later slot
    assert_eq!(w.add(a, "Avatar", "ATWM261126", 2), "show-added");
    for (c, n) in [
        ("VERC0001", 2),
        ("ATWC0002", 1),
        ("OUTC0003", 2),
        ("ATWC0001", 1),
    ] {
        assert!(w.own(c, "Avatar", "ATWA251126", n).starts_with("booked"));
    }
    assert_eq!(w.own("ATWC0002", "Avatar", "ATWE251126", 1), "booked(1,2)");
    // ATWC0001:1 → ATWE (2 left), ATWC0002:1 → ATWE (1 left, joins its booking there),
    // OUTC0003:2 → ATWM261126 (full), VERC0001:2 → nowhere.
    assert_eq!(
        w.remove(a, "Avatar", "ATWA251126"),
        "moved[ATWC0001>ATWE251126:1,ATWC0002>ATWE251126:1,OUTC0003>ATWM261126:2] dropped[VERC0001:2]"
    );
    assert_eq!(
        w.sched("ATWC0002", "ATWC0002"),
        "schedule[Avatar ATWE251126:2]"
    );
    assert_eq!(w.sched("VERC0001", "VERC0001"), "schedule[]");
    assert_eq!(
        w.avail("ATWC0001", "Avatar"),
        "avail[ATWM251126:9,ATWE251126:0,OUTE251126:9,ATWM261126:0]"
    );
    // Targets may be outside the window, and moves skip the customer rules: OUTC0003's
    // ATW bookings are other-area, and it already holds one.
    let mut w = World::new();
    assert_eq!(w.add(a, "Avatar", "ATWM251126", 5), "show-added");
    assert_eq!(w.add(a, "Avatar", "ATWA251126", 5), "show-added");
    for (id, admin) in [("VERM281126", "VERA1000"), ("OUTM281126", "OUTA1000")] {
        assert_eq!(w.add(admin, "Avatar", id, 5), "show-added");
    }
    assert_eq!(w.add(a, "Avatar", "ATWM281126", 5), "show-added");
    assert_eq!(w.own("VERC0001", "Avatar", "ATWM251126", 3), "booked(3,2)");
    assert_eq!(w.own("VERC0001", "Avatar", "ATWA251126", 3), "booked(3,2)");
    assert_eq!(w.own("VERC0001", "Avatar", "OUTM281126", 1), "booked(1,4)");
    // Both customer rules would refuse this booking; the move below ignores them.
    assert_eq!(
        w.own("VERC0001", "Avatar", "ATWM281126", 1),
        "same-show-other-area"
    );
    assert_eq!(w.own("VERC0002", "Avatar", "VERM281126", 1), "booked(1,4)");
    assert_eq!(
        w.remove(a, "Avatar", "ATWM251126"),
        "moved[VERC0001>ATWM281126:3] dropped[]"
    );
    // Removing on the 10th: the 25th is outside that day's window, yet a target.
    w.at(2026, 11, 10);
    assert_eq!(w.add(a, "Avatar", "ATWM171126", 9), "show-added");
    assert_eq!(w.own("VERC0001", "Avatar", "ATWM171126", 2), "booked(2,7)");
    assert_eq!(
        w.remove(a, "Avatar", "ATWM171126"),
        "moved[VERC0001>ATWA251126:2] dropped[]"
    );
    w.at(2026, 11, 24);
    assert_eq!(
        w.sched("VERC0001", "VERC0001"),
        "schedule[Avatar ATWA251126:5,Avatar ATWM281126:3,Avatar OUTM281126:1]"
    );
}

#[test]
fn availability_and_state_order() {
    let mut w = World::new();
    // Added out of order; listed by date, slot, area (ATW < OUT < VER), movie.
    let adds = [
        ("VERA1000", "Titanic", "VERM251126"),
        ("VERA1000", "Avatar", "VERM251126"),
        ("OUTA1000", "Avatar", "OUTM251126"),
        ("ATWA1000", "Avatar", "ATWE241126"),
        ("ATWA1000", "Avatar", "ATWA241126"),
        ("ATWA1000", "Avatar", "ATWM241126"),
        ("ATWA1000", "Avengers", "ATWM251126"),
        ("ATWA1000", "Avatar", "ATWM251126"),
        ("ATWA1000", "Avatar", "ATWM011226"),
    ];
    for (a, m, id) in adds {
        assert_eq!(w.add(a, m, id, 5), "show-added");
    }
    assert_eq!(
        w.avail("OUTC0001", "Avatar"),
        "avail[ATWM241126:5,ATWA241126:5,ATWE241126:5,ATWM251126:5,OUTM251126:5,VERM251126:5,ATWM011226:5]"
    );
    // A show dated today is not past, whatever its slot; yesterday's is.
    w.at(2026, 11, 25);
    assert_eq!(
        w.avail("OUTC0001", "Avatar"),
        "avail[ATWM251126:5,OUTM251126:5,VERM251126:5,ATWM011226:5]"
    );
    let state = w.r.export_state();
    let order: Vec<String> = state
        .shows
        .iter()
        .map(|e| format!("{} {}", e.movie, e.show_id))
        .collect();
    assert_eq!(
        order.join(","),
        "Avatar ATWM241126,Avatar ATWA241126,Avatar ATWE241126,Avatar ATWM251126,\
         Avengers ATWM251126,Avatar OUTM251126,Avatar VERM251126,Titanic VERM251126,\
         Avatar ATWM011226"
    );
    for c in ["VERC0002", "OUTC0010", "ATWC0100", "ATWC0020"] {
        assert!(w.own(c, "Titanic", "VERM251126", 1).starts_with("booked"));
        assert!(w.own(c, "Avatar", "ATWM011226", 1).starts_with("booked"));
        assert!(w.own(c, "Avengers", "ATWM251126", 1).starts_with("booked"));
    }
    let bookings: Vec<String> =
        w.r.export_state()
            .bookings
            .iter()
            .map(|b| format!("{} {} {} {}", b.customer, b.movie, b.show_id, b.tickets))
            .collect();
    assert_eq!(bookings.len(), 12);
    assert_eq!(bookings[0], "ATWC0020 Avengers ATWM251126 1");
    assert_eq!(bookings[1], "ATWC0020 Titanic VERM251126 1");
    assert_eq!(bookings[2], "ATWC0020 Avatar ATWM011226 1");
    assert_eq!(bookings[3], "ATWC0100 Avengers ATWM251126 1");
    assert_eq!(bookings[6], "OUTC0010 Avengers ATWM251126 1");
    assert_eq!(bookings[9], "VERC0002 Avengers ATWM251126 1");
}

#[test]
fn dates() {
    let d = |year, month, day| Date { year, month, day };
    assert_eq!(d(1970, 1, 1).days(), 0);
    assert_eq!(d(2000, 3, 1).days() - d(2000, 2, 28).days(), 2);
    assert_eq!(d(2100, 3, 1).days() - d(2100, 2, 28).days(), 1);
    let mut prev = d(1999, 12, 31).days();
    for z in prev + 1..d(2101, 1, 1).days() {
        let date = Date::from_days(z);
        assert_eq!(date.days(), z);
        assert!(date > Date::from_days(prev));
        prev = z;
    }
    assert_eq!(Date::from_days(d(2026, 11, 24).monday()), d(2026, 11, 23));
    assert_eq!(Date::from_days(d(2026, 11, 29).monday()), d(2026, 11, 23));
    assert_eq!(Date::from_days(d(2026, 11, 30).monday()), d(2026, 11, 30));
    assert_eq!(Date::from_days(d(2027, 1, 1).monday()), d(2026, 12, 28));
    assert_eq!(Date::from_days(d(2024, 3, 3).monday()), d(2024, 2, 26));
    // Parsed IDs format back to the same bytes.
    for id in ["ATWM290200", "OUTA311299", "VERE010126"] {
        assert_eq!(ShowId::parse(id).map(ShowId::to_wire).as_deref(), Some(id));
    }
    for id in ["ATWA0000", "OUTC9999", "VERC0042"] {
        assert_eq!(UserId::parse(id).map(UserId::to_wire).as_deref(), Some(id));
    }
}

#[test]
fn week_across_year_end() {
    let mut w = World::new();
    w.at(2026, 12, 28);
    for id in [
        "OUTM281226",
        "OUTM311226",
        "OUTM010127",
        "OUTM030127",
        "OUTM040127",
    ] {
        assert_eq!(w.add("OUTA1000", "Avatar", id, 5), "show-added");
    }
    for id in ["OUTM281226", "OUTM311226", "OUTM010127"] {
        assert_eq!(w.own("VERC0001", "Avatar", id, 1), "booked(1,4)");
    }
    assert_eq!(w.own("VERC0001", "Avatar", "OUTM030127", 1), "weekly-limit");
    assert_eq!(w.own("VERC0001", "Avatar", "OUTM040127", 1), "booked(1,4)");
}

fn sample_state() -> CanonicalState {
    let show = |movie: &str, id: &str, capacity| ShowEntry {
        movie: s(movie),
        show_id: s(id),
        capacity,
    };
    let booking = |c: &str, movie: &str, id: &str, tickets| BookingEntry {
        customer: s(c),
        movie: s(movie),
        show_id: s(id),
        tickets,
    };
    CanonicalState {
        shows: vec![
            show("Titanic", "ATWM010120", 5), // far past: legal state
            show("Avatar", "ATWM251126", 4),
            show("Titanic", "ATWM251126", 4),
            show("Avatar", "OUTM251126", 4),
            show("Avatar", "VERM251126", 4),
            show("Titanic", "VERA251126", 4),
            show("Avatar", "ATWM311299", 10_000), // far future: legal state
        ],
        bookings: vec![
            booking("ATWC0001", "Titanic", "ATWM010120", 5),
            booking("ATWC0001", "Avatar", "ATWM251126", 2),
            booking("ATWC0001", "Avatar", "VERM251126", 1),
            booking("ATWC0002", "Avatar", "ATWM251126", 2),
            booking("OUTC0001", "Titanic", "VERA251126", 4),
            booking("VERC0001", "Avatar", "ATWM311299", 10_000),
        ],
    }
}

fn fault_of(e: &StateError) -> (&'static str, u32, &'static str) {
    let section = match e.section {
        StateSection::Shows => "shows",
        StateSection::Bookings => "bookings",
    };
    let fault = match e.fault {
        StateFault::MalformedId => "malformed-id",
        StateFault::UnknownMovie => "unknown-movie",
        StateFault::CapacityOutOfRange => "capacity-out-of-range",
        StateFault::ZeroTickets => "zero-tickets",
        StateFault::OutOfOrder => "out-of-order",
        StateFault::Duplicate => "duplicate",
        StateFault::UnknownShow => "unknown-show",
        StateFault::OverCapacity => "over-capacity",
    };
    (section, e.index, fault)
}

#[test]
fn import_round_trip() {
    let mut w = World::new();
    assert!(w.r.import_state(sample_state()).is_ok());
    let exported = format!("{:?}", w.r.export_state());
    assert_eq!(exported, format!("{:?}", sample_state()));
    // The imported state is live: its indexes answer the rules.
    assert_eq!(w.own("ATWC0002", "Avatar", "ATWM251126", 1), "show-full(0)");
    assert_eq!(
        w.own("ATWC0001", "Avatar", "OUTM251126", 1),
        "same-show-other-area"
    );
    assert_eq!(w.own("OUTC0001", "Avatar", "VERM251126", 1), "booked(1,2)");
    assert_eq!(
        w.cancel("ATWC0001", "ATWC0001", "Titanic", "ATWM010120", 1),
        "past-show"
    );
    // A live state exports and re-imports to itself.
    let mut w2 = World::new();
    assert!(w2.r.import_state(w.r.export_state()).is_ok());
    assert_eq!(w2.state(), w.state());
    // Importing an empty state empties the replica.
    assert!(
        w2.r.import_state(CanonicalState {
            shows: vec![],
            bookings: vec![]
        })
        .is_ok()
    );
    assert_eq!(w2.avail("ATWA1000", "Avatar"), "avail[]");
}

#[test]
fn import_refusals() {
    type Edit = fn(&mut CanonicalState);
    let cases: &[(Edit, (&str, u32, &str))] = &[
        (
            |st| st.shows[1].movie = s("avatar"),
            ("shows", 1, "unknown-movie"),
        ),
        (
            |st| st.shows[2].show_id = s("ATWM290226"),
            ("shows", 2, "malformed-id"),
        ),
        (
            |st| st.shows[2].show_id = s("ATWX251126"),
            ("shows", 2, "malformed-id"),
        ),
        (
            |st| st.shows[3].capacity = 0,
            ("shows", 3, "capacity-out-of-range"),
        ),
        (
            |st| st.shows[6].capacity = 10_001,
            ("shows", 6, "capacity-out-of-range"),
        ),
        (
            |st| st.shows[2] = st.shows[1].clone(),
            ("shows", 2, "duplicate"),
        ),
        (|st| st.shows.swap(1, 2), ("shows", 2, "out-of-order")),
        (|st| st.shows.swap(3, 4), ("shows", 4, "out-of-order")), // VER before OUT
        (
            |st| st.bookings[0].customer = s("ATWA0001"),
            ("bookings", 0, "malformed-id"),
        ),
        (
            |st| st.bookings[1].customer = s("atwc0001"),
            ("bookings", 1, "malformed-id"),
        ),
        (
            |st| st.bookings[2].movie = s("Titan"),
            ("bookings", 2, "unknown-movie"),
        ),
        (
            |st| st.bookings[2].show_id = s("VERM25112"),
            ("bookings", 2, "malformed-id"),
        ),
        (
            |st| st.bookings[3].tickets = 0,
            ("bookings", 3, "zero-tickets"),
        ),
        (
            |st| st.bookings[2] = st.bookings[1].clone(),
            ("bookings", 2, "duplicate"),
        ),
        (|st| st.bookings.swap(1, 2), ("bookings", 2, "out-of-order")), // same customer, show order
        (|st| st.bookings.swap(3, 4), ("bookings", 4, "out-of-order")), // customer order
        (
            |st| st.bookings[2].show_id = s("VERE251126"),
            ("bookings", 2, "unknown-show"),
        ),
        (
            |st| st.bookings[2].movie = s("Titanic"),
            ("bookings", 2, "unknown-show"),
        ),
        (
            |st| st.bookings[3].tickets = 3,
            ("shows", 1, "over-capacity"),
        ),
        (
            |st| st.bookings[4].tickets = u32::MAX,
            ("shows", 5, "over-capacity"),
        ),
    ];
    for (i, (edit, want)) in cases.iter().enumerate() {
        let mut w = fixture();
        let before = w.state();
        let mut st = sample_state();
        edit(&mut st);
        let got = w.r.import_state(st).expect_err("refused");
        assert_eq!(fault_of(&got), *want, "case {i}");
        assert_eq!(w.state(), before, "case {i}: refusal changed state");
        // The old state still answers requests.
        assert_eq!(w.own("ATWC0001", "Avatar", "ATWM251126", 3), "show-full(2)");
    }
}

#[test]
fn large_state_round_trip() {
    // 100,000 bookings on 300 shows by 30,000 customers.
    let areas = ["ATW", "OUT", "VER"];
    let movies = ["Avatar", "Avengers", "Titanic"];
    let mut shows = Vec::new();
    for day in 1..=12u32 {
        for slot in ["M", "A", "E"] {
            for area in areas {
                for movie in movies {
                    if shows.len() < 300 {
                        shows.push(ShowEntry {
                            movie: s(movie),
                            show_id: format!("{area}{slot}{day:02}1226"),
                            capacity: 10_000,
                        });
                    }
                }
            }
        }
    }
    let mut keyed: Vec<(crate::ids::ShowKey, ShowEntry)> = shows
        .into_iter()
        .map(|e| {
            let key = crate::ids::ShowKey {
                id: ShowId::parse(&e.show_id).unwrap(),
                movie: crate::ids::Movie::parse(&e.movie).unwrap(),
            };
            (key, e)
        })
        .collect();
    keyed.sort_by_key(|(k, _)| *k);
    let shows: Vec<ShowEntry> = keyed.into_iter().map(|(_, e)| e).collect();
    let mut bookings = Vec::new();
    for c in 0..30_000u32 {
        let customer = format!("{}C{:04}", areas[(c / 10_000) as usize], c % 10_000);
        let n = if c < 10_000 { 4 } else { 3 };
        let mut picks: Vec<usize> = (0..n).map(|j| ((c * 7 + j * 61) % 300) as usize).collect();
        picks.sort();
        picks.dedup();
        for p in picks {
            bookings.push(BookingEntry {
                customer: customer.clone(),
                movie: shows[p].movie.clone(),
                show_id: shows[p].show_id.clone(),
                tickets: 1,
            });
        }
    }
    assert!(bookings.len() >= 90_000);
    let state = CanonicalState { shows, bookings };
    let mut w = World::new();
    w.at(2026, 12, 1);
    w.r.import_state(state.clone()).expect("valid state");
    let back = w.r.export_state();
    assert_eq!(back.shows.len(), state.shows.len());
    assert_eq!(back.bookings.len(), state.bookings.len());
    assert!(format!("{back:?}") == format!("{state:?}"));
    assert!(
        w.avail("ATWC0001", "Avatar")
            .starts_with("avail[ATWM011226:")
    );
}
