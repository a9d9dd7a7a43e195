//! Dates, the canonical state (export order, import faults, no change on refusal) and a large
//! round trip.
use super::{Desk, outcome, rows, tuesday};
use crate::calendar::Date as D;
use crate::snapshot;
use crate::store::Store;
use dmtbs_guest::{
    BookingEntry, BookingError as E, CanonicalState, Replica, ShowEntry, StateFault as F,
    StateSection as Sec, Success as S,
};

fn date(y: u16, m: u8, d: u8) -> D {
    D::new(y, m, d).expect("valid test date")
}

#[test]
fn calendar_steps_weekdays_and_mondays() {
    assert_eq!(date(2028, 2, 28).next(), date(2028, 2, 29));
    assert_eq!(date(2027, 2, 28).next(), date(2027, 3, 1));
    assert_eq!(date(2026, 12, 31).next(), date(2027, 1, 1));
    assert_eq!(date(2028, 3, 1).prev(), date(2028, 2, 29));
    assert_eq!(date(2100, 3, 1).prev(), date(2100, 2, 28));
    assert_eq!(date(2000, 3, 1).prev(), date(2000, 2, 29));
    assert_eq!(date(2027, 1, 1).prev(), date(2026, 12, 31));
    assert_eq!(date(2026, 12, 28).plus_days(7), date(2027, 1, 4));
    assert!(D::new(2026, 2, 29).is_none() && D::new(2026, 4, 31).is_none());
    assert!(D::new(2026, 0, 1).is_none() && D::new(2026, 13, 1).is_none());
    // 0 = Monday; the known dates checked against a reference calendar.
    let known = [
        ((2026, 11, 24), 1),
        ((2000, 1, 1), 5),
        ((2024, 2, 29), 3),
        ((2028, 2, 29), 1),
        ((2100, 3, 1), 0),
        ((2027, 1, 1), 4),
        ((2021, 1, 3), 6),
        ((2099, 12, 31), 3),
    ];
    for ((y, m, d), w) in known {
        assert_eq!(date(y, m, d).weekday(), w, "{y}-{m}-{d}");
    }
    assert_eq!(date(2027, 1, 3).monday(), date(2026, 12, 28));
    assert_eq!(date(2005, 1, 2).monday(), date(2004, 12, 27));
    assert_eq!(date(2028, 3, 5).monday(), date(2028, 2, 28));
    assert_eq!(date(2026, 11, 30).monday(), date(2026, 11, 30));
    // Every day of 2000–2099 steps by one weekday and has a Monday at most 6 days back.
    let mut d = date(2000, 1, 1);
    while d.year < 2100 {
        let n = d.next();
        assert_eq!((d.weekday() + 1) % 7, n.weekday());
        assert_eq!(n.prev(), d);
        let m = d.monday();
        assert_eq!(m.weekday(), 0);
        assert!(m <= d && d <= m.plus_days(6));
        d = n;
    }
}

fn state(shows: &[(&str, &str, u32)], bookings: &[(&str, &str, &str, u32)]) -> CanonicalState {
    CanonicalState {
        shows: shows
            .iter()
            .map(|&(m, id, capacity)| ShowEntry {
                movie: m.into(),
                show_id: id.into(),
                capacity,
            })
            .collect(),
        bookings: bookings
            .iter()
            .map(|&(c, m, id, tickets)| BookingEntry {
                customer: c.into(),
                movie: m.into(),
                show_id: id.into(),
                tickets,
            })
            .collect(),
    }
}

#[test]
fn export_is_canonical() {
    let mut d = tuesday();
    let shows = [
        ("Titanic", "VERE011226"),
        ("Avatar", "OUTM241126"),
        ("Titanic", "ATWM241126"),
        ("Avatar", "ATWM241126"),
        ("Avengers", "ATWE241126"),
        ("Avatar", "VERA241126"),
        ("Avatar", "ATWE301126"),
    ];
    for (m, id) in shows {
        d.show(m, id, 9);
    }
    d.own("VERC0002", "Titanic", "VERE011226", 1);
    d.own("VERC0002", "Avatar", "ATWM241126", 2);
    d.own("ATWC0009", "Avatar", "ATWE301126", 3);
    d.own("ATWC0009", "Avengers", "ATWE241126", 4);
    d.own("OUTC0001", "Titanic", "ATWM241126", 5);
    d.own("ATWC0010", "Avatar", "OUTM241126", 6);
    let (got_shows, got_bookings) = d.dump();
    assert_eq!(
        got_shows,
        rows(&[
            ("Avatar", "ATWM241126", 9),
            ("Titanic", "ATWM241126", 9),
            ("Avatar", "OUTM241126", 9),
            ("Avatar", "VERA241126", 9),
            ("Avengers", "ATWE241126", 9),
            ("Avatar", "ATWE301126", 9),
            ("Titanic", "VERE011226", 9),
        ])
    );
    let want: Vec<(String, String, String, u32)> = [
        ("ATWC0009", "Avengers", "ATWE241126", 4),
        ("ATWC0009", "Avatar", "ATWE301126", 3),
        ("ATWC0010", "Avatar", "OUTM241126", 6),
        ("OUTC0001", "Titanic", "ATWM241126", 5),
        ("VERC0002", "Avatar", "ATWM241126", 2),
        ("VERC0002", "Titanic", "VERE011226", 1),
    ]
    .iter()
    .map(|&(c, m, id, n)| (c.into(), m.into(), id.into(), n))
    .collect();
    assert_eq!(got_bookings, want);
    // Export, import into a fresh replica: the same state and the same store.
    let mut other = Desk::on(2026, 11, 24);
    other
        .import(d.r.export_state())
        .expect("own export imports");
    assert_eq!(other.dump(), d.dump());
    assert_eq!(other.r.store, d.r.store);
}

fn base() -> CanonicalState {
    state(
        &[
            ("Avatar", "ATWM241126", 5),
            ("Titanic", "ATWM241126", 5),
            ("Avatar", "OUTE251126", 3),
        ],
        &[
            ("ATWC0001", "Avatar", "ATWM241126", 2),
            ("ATWC0001", "Avatar", "OUTE251126", 3),
            ("OUTC0002", "Titanic", "ATWM241126", 5),
        ],
    )
}

/// Imports `bad` into a replica holding `base()`; expects exactly `want` and no change.
fn refused(bad: CanonicalState, want: (Sec, u32, F)) {
    let mut d = tuesday();
    d.import(base()).expect("base state imports");
    d.own("VERC0003", "Avatar", "ATWM241126", 1);
    let before = d.dump();
    let err = d.import(bad.clone()).expect_err("must be refused");
    assert!(
        err.section == want.0 && err.index == want.1 && err.fault == want.2,
        "{bad:?}: got {err:?}, want {want:?}"
    );
    assert_eq!(d.dump(), before);
}

#[test]
fn import_faults_leave_the_state_unchanged() {
    type Edit = fn(&mut CanonicalState);
    let cases: [(Edit, (Sec, u32, F)); 20] = [
        (
            |s| s.shows[1].show_id = "ATWX241126".into(),
            (Sec::Shows, 1, F::MalformedId),
        ),
        (
            |s| s.shows[1].show_id = "ATWM290226".into(),
            (Sec::Shows, 1, F::MalformedId),
        ),
        (
            |s| s.shows[0].movie = "avatar".into(),
            (Sec::Shows, 0, F::UnknownMovie),
        ),
        (
            |s| s.shows[2].capacity = 0,
            (Sec::Shows, 2, F::CapacityOutOfRange),
        ),
        (
            |s| s.shows[2].capacity = 10_001,
            (Sec::Shows, 2, F::CapacityOutOfRange),
        ),
        (
            |s| s.shows[1] = s.shows[0].clone(),
            (Sec::Shows, 1, F::Duplicate),
        ),
        (|s| s.shows.swap(0, 1), (Sec::Shows, 1, F::OutOfOrder)),
        (|s| s.shows.swap(1, 2), (Sec::Shows, 2, F::OutOfOrder)),
        (
            |s| s.bookings[0].customer = "ATWA0001".into(),
            (Sec::Bookings, 0, F::MalformedId),
        ),
        (
            |s| s.bookings[2].customer = "OUTC002".into(),
            (Sec::Bookings, 2, F::MalformedId),
        ),
        (
            |s| s.bookings[1].movie = "Avatar2".into(),
            (Sec::Bookings, 1, F::UnknownMovie),
        ),
        (
            |s| s.bookings[1].show_id = "OUTE251126x".into(),
            (Sec::Bookings, 1, F::MalformedId),
        ),
        (
            |s| s.bookings[1].tickets = 0,
            (Sec::Bookings, 1, F::ZeroTickets),
        ),
        (
            |s| s.bookings[1] = s.bookings[0].clone(),
            (Sec::Bookings, 1, F::Duplicate),
        ),
        (|s| s.bookings.swap(0, 1), (Sec::Bookings, 1, F::OutOfOrder)),
        (|s| s.bookings.swap(1, 2), (Sec::Bookings, 2, F::OutOfOrder)),
        (
            |s| s.bookings[1].show_id = "OUTM251126".into(),
            (Sec::Bookings, 1, F::UnknownShow),
        ),
        (
            |s| s.bookings[2].tickets = 6,
            (Sec::Shows, 1, F::OverCapacity),
        ),
        (
            |s| s.bookings[1].tickets = u32::MAX,
            (Sec::Shows, 2, F::OverCapacity),
        ),
        (
            // Two counts whose u32 sum wraps to 2: still over capacity.
            |s| {
                s.bookings[0].tickets = u32::MAX;
                s.bookings.insert(
                    1,
                    BookingEntry {
                        customer: "ATWC0002".into(),
                        movie: "Avatar".into(),
                        show_id: "ATWM241126".into(),
                        tickets: 3,
                    },
                );
                s.bookings.swap(1, 2);
            },
            (Sec::Shows, 0, F::OverCapacity),
        ),
    ];
    for (edit, want) in cases {
        let mut bad = base();
        edit(&mut bad);
        refused(bad, want);
    }
}

#[test]
fn import_accepts_any_dates_and_replaces_everything() {
    let mut d = tuesday();
    d.show("Titanic", "VERM251126", 4);
    d.own("VERC0001", "Titanic", "VERM251126", 4);
    let far = state(
        &[
            ("Avatar", "ATWM010100", 1),
            ("Avengers", "VERE311299", 10_000),
        ],
        &[
            ("ATWC0000", "Avengers", "VERE311299", 10_000),
            ("VERC9999", "Avatar", "ATWM010100", 1),
        ],
    );
    d.import(far.clone()).expect("past and far shows are legal");
    assert_eq!(d.r.export_state().bookings.len(), 2);
    assert!(d.schedule_of("VERC0001").is_empty());
    outcome!(d.avail("ATWA0001", "Avengers"), Ok(S::Availability(v)) if v.len() == 1 && v[0].remaining == 0);
    // The imported store keeps working: the far show is not past.
    outcome!(
        d.cancel("ATWC0000", "ATWC0000", "Avengers", "VERE311299", 1),
        Ok(S::Cancelled(9_999))
    );
    d.import(state(&[], &[])).expect("empty state");
    assert_eq!(d.dump(), (vec![], vec![]));
}

/// Moves ignore the weekly limit: with three other away movies held (an imported state can
/// hold them), the removed show's tickets still go to a later show in the same week.
#[test]
fn remove_show_moves_ignore_the_weekly_limit() {
    let mut d = tuesday();
    let c = "ATWC0005";
    d.import(state(
        &[
            ("Titanic", "OUTM241126", 5),
            ("Titanic", "VERA251126", 5),
            ("Titanic", "VERE251126", 5),
            ("Titanic", "OUTM261126", 5),
            ("Titanic", "VERE261126", 5),
        ],
        &[
            (c, "Titanic", "OUTM241126", 2),
            (c, "Titanic", "VERA251126", 1),
            (c, "Titanic", "VERE251126", 1),
            (c, "Titanic", "VERE261126", 1),
        ],
    ))
    .expect("imports");
    outcome!(
        d.book(c, c, "Titanic", "OUTM261126", 1),
        Err(E::WeeklyLimit)
    );
    outcome!(d.remove("OUTA0001", "Titanic", "OUTM241126"), Ok(S::ShowRemoved(r))
        if r.moved.len() == 1 && r.moved[0].to_show_id == "OUTM261126" && r.moved[0].tickets == 2
            && r.dropped.is_empty());
    assert_eq!(d.schedule_of(c).len(), 4);
}

/// 6 000 customers × 40 bookings over 1 620 shows: export reproduces the imported value, and a
/// re-import gives the same store.
#[test]
fn large_state_round_trip() {
    let mut keys: Vec<(D, u8, u8, u8)> = Vec::new();
    let mut day = date(2026, 11, 1);
    for _ in 0..60 {
        for slot in 0..3 {
            for area in 0..3 {
                for movie in 0..3 {
                    keys.push((day, slot, area, movie));
                }
            }
        }
        day = day.next();
    }
    let id = |&(d, slot, area, _): &(D, u8, u8, u8)| {
        let a = ["ATW", "OUT", "VER"][area as usize];
        let s = ["M", "A", "E"][slot as usize];
        format!("{a}{s}{:02}{:02}{:02}", d.day, d.month, d.year % 100)
    };
    let movie = |k: &(D, u8, u8, u8)| ["Avatar", "Avengers", "Titanic"][k.3 as usize];
    let shows: Vec<ShowEntry> = keys
        .iter()
        .map(|k| ShowEntry {
            movie: movie(k).into(),
            show_id: id(k),
            capacity: 10_000,
        })
        .collect();
    let mut bookings = Vec::new();
    for area in ["ATW", "OUT", "VER"] {
        for n in 0..2_000u32 {
            let customer = format!("{area}C{n:04}");
            let mut picks: Vec<usize> = (0..40u32)
                .map(|j| ((n * 7 + j * 37 + j * j) % keys.len() as u32) as usize)
                .collect();
            picks.sort_unstable();
            picks.dedup();
            for p in picks {
                bookings.push(BookingEntry {
                    customer: customer.clone(),
                    movie: movie(&keys[p]).into(),
                    show_id: id(&keys[p]),
                    tickets: 1 + (n + p as u32) % 3,
                });
            }
        }
    }
    assert!(bookings.len() > 200_000);
    let value = CanonicalState { shows, bookings };
    let mut d = Desk::on(2026, 11, 24);
    d.import(value.clone()).expect("large state imports");
    let out = d.r.export_state();
    assert_eq!(format!("{out:?}"), format!("{value:?}"));
    let again: Store = snapshot::import(&out).expect("re-import");
    assert_eq!(again, d.r.store);
}
