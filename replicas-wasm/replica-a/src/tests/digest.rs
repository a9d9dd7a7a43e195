//! The state digest (rules §7.1): the rules' test vectors reached through the replica, and a
//! seeded random run of every operation kind and of imports, where [`Desk`] checks after every
//! request that the kept digest equals the one recomputed from the export.
use super::{Desk, assert_digest, digest_of, outcome, tuesday};
use crate::calendar::Date as D;
use dmtbs_guest::{
    BookingEntry, BookingError as E, CanonicalState, Replica, ShowEntry, StateDigest, Success as S,
};

const SHOW_ONLY: (u64, u64, u64, u64) = (
    0x0743bf35f9ceebab,
    0x712036eea48038f3,
    0x71e8a6a66663aa21,
    0xec786874cfd96c9a,
);
const SHOW_AND_BOOKING: (u64, u64, u64, u64) = (
    0xce229bb4cb2e31fb,
    0xb1536852fe8430de,
    0x6b816e1a883648b9,
    0xd1c9effedcbd978b,
);

fn lanes(d: &Desk) -> (u64, u64, u64, u64) {
    d.r.state_digest().lanes()
}

#[test]
fn test_vectors_by_operations_and_by_import() {
    let mut d = tuesday();
    assert_eq!(lanes(&d), (0, 0, 0, 0));
    d.show("Avatar", "ATWM251126", 5);
    assert_eq!(lanes(&d), SHOW_ONLY);
    // A capacity change is the old entry out, the new one in; back to 5 is the same digest.
    outcome!(
        d.add("ATWA0001", "Avatar", "ATWM251126", 7),
        Ok(S::ShowUpdated(5))
    );
    assert_ne!(lanes(&d), SHOW_ONLY);
    outcome!(
        d.add("ATWA0001", "Avatar", "ATWM251126", 5),
        Ok(S::ShowUpdated(7))
    );
    assert_eq!(lanes(&d), SHOW_ONLY);
    d.own("ATWC0001", "Avatar", "ATWM251126", 1);
    d.own("ATWC0001", "Avatar", "ATWM251126", 1);
    assert_eq!(lanes(&d), SHOW_AND_BOOKING);
    // Refusals leave it alone.
    outcome!(
        d.book("ATWC0001", "ATWC0001", "Avatar", "ATWM251126", 4),
        Err(E::ShowFull(3))
    );
    outcome!(
        d.add("ATWA0001", "Avatar", "ATWM251126", 1),
        Err(E::CapacityBelowBooked)
    );
    assert_eq!(lanes(&d), SHOW_AND_BOOKING);
    outcome!(
        d.cancel("ATWC0001", "ATWC0001", "Avatar", "ATWM251126", 2),
        Ok(S::Cancelled(0))
    );
    assert_eq!(lanes(&d), SHOW_ONLY);
    outcome!(
        d.remove("ATWA0001", "Avatar", "ATWM251126"),
        Ok(S::ShowRemoved(_))
    );
    assert_eq!(lanes(&d), (0, 0, 0, 0));

    // The same state by import; a refused import changes nothing.
    let both = CanonicalState {
        shows: vec![ShowEntry {
            movie: "Avatar".into(),
            show_id: "ATWM251126".into(),
            capacity: 5,
        }],
        bookings: vec![BookingEntry {
            customer: "ATWC0001".into(),
            movie: "Avatar".into(),
            show_id: "ATWM251126".into(),
            tickets: 2,
        }],
    };
    d.import(both.clone()).expect("imports");
    assert_eq!(lanes(&d), SHOW_AND_BOOKING);
    let mut bad = both.clone();
    bad.bookings[0].tickets = 6;
    d.import(bad).expect_err("over capacity");
    assert_eq!(lanes(&d), SHOW_AND_BOOKING);
    d.import(CanonicalState {
        shows: both.shows,
        bookings: vec![],
    })
    .expect("imports");
    assert_eq!(lanes(&d), SHOW_ONLY);
}

/// A moved booking that merges into the customer's booking on the target changes that entry;
/// a dropped one leaves no entry; exchange changes two.
#[test]
fn remove_show_merge_drop_and_exchange() {
    let mut d = tuesday();
    d.show("Titanic", "OUTM251126", 4);
    d.show("Titanic", "OUTA251126", 3);
    d.own("OUTC0001", "Titanic", "OUTM251126", 2);
    d.own("OUTC0002", "Titanic", "OUTM251126", 2);
    d.own("OUTC0001", "Titanic", "OUTA251126", 1);
    outcome!(d.remove("OUTA0001", "Titanic", "OUTM251126"), Ok(S::ShowRemoved(r))
        if r.moved.len() == 1 && r.dropped.len() == 1);
    let mut want = StateDigest::default();
    want.add_show("Titanic", "OUTA251126", 3);
    want.add_booking("OUTC0001", "Titanic", "OUTA251126", 3);
    assert_eq!(d.r.state_digest(), want);
    d.show("Avatar", "OUTA251126", 5);
    outcome!(
        d.exch(
            "OUTC0001",
            "OUTC0001",
            ("Titanic", "OUTA251126"),
            ("Avatar", "OUTA251126"),
            1
        ),
        Ok(S::Exchanged(_))
    );
    want.remove_booking("OUTC0001", "Titanic", "OUTA251126", 3);
    want.add_booking("OUTC0001", "Titanic", "OUTA251126", 2);
    want.add_show("Avatar", "OUTA251126", 5);
    want.add_booking("OUTC0001", "Avatar", "OUTA251126", 1);
    assert_eq!(d.r.state_digest(), want);
}

/// splitmix64: small, seedable, good enough to pick requests.
struct Rng(dmtbs_guest::rng::SplitMix64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0.next_u64()
    }
    /// Uniform-ish in `0..n` (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len() as u64) as usize]
    }
}

/// The date of a well-formed show ID (`AAAS` + `ddmmyy`).
fn date_of(id: &str) -> Option<D> {
    let n = |r: core::ops::Range<usize>| id.get(r)?.parse::<u8>().ok();
    D::new(2000 + u16::from(n(8..10)?), n(6..8)?, n(4..6)?)
}

const AREAS: [&str; 3] = ["ATW", "OUT", "VER"];
const MOVIES: [&str; 3] = ["Avatar", "Avengers", "Titanic"];
const SLOTS: [&str; 3] = ["M", "A", "E"];

/// What the run must have exercised at least once, so a passing run means something.
#[derive(Default, Debug)]
struct Seen {
    added: u32,
    capacity_changed: u32,
    booked: u32,
    cancelled_to_zero: u32,
    cancelled_partly: u32,
    exchanged: u32,
    exchanged_emptying: u32,
    moved: u32,
    moved_merging: u32,
    dropped: u32,
    imported: u32,
    import_refused: u32,
}

struct Run {
    rng: Rng,
    d: Desk,
    base: D,
    today: D,
    seen: Seen,
}

impl Run {
    /// A show ID around today (past, in the window and beyond it); rarely malformed.
    fn show_id(&mut self, area: &str) -> String {
        if self.rng.chance(1) {
            return format!("{area}X251126");
        }
        // Mostly in the window so that shows crowd each timeline; sometimes past or beyond.
        let offset = match self.rng.below(10) {
            0 => self.rng.below(11) as u32, // today-1 ..= today+9
            _ => 1 + self.rng.below(6) as u32,
        };
        let date = self.today.prev().plus_days(offset);
        let slot = self.rng.pick(&SLOTS);
        format!(
            "{area}{slot}{:02}{:02}{:02}",
            date.day,
            date.month,
            date.year % 100
        )
    }
    fn movie(&mut self) -> String {
        if self.rng.chance(1) {
            return "avatar".into();
        }
        // Skewed, so that one movie's timelines are crowded enough for moves and merges.
        match self.rng.below(10) {
            0..=5 => MOVIES[0],
            6..=8 => MOVIES[2],
            _ => MOVIES[1],
        }
        .into()
    }
    fn customer(&mut self) -> String {
        format!("{}C000{}", self.rng.pick(&AREAS), self.rng.below(3))
    }
    /// The acting user for a customer operation: mostly allowed, sometimes not.
    fn actor_for(&mut self, customer: &str) -> String {
        match self.rng.below(20) {
            0 => self.customer(),
            1..=9 => customer.into(),
            _ => format!("{}A0001", self.rng.pick(&AREAS)),
        }
    }
    fn admin_of(&mut self, show_id: &str) -> String {
        if self.rng.chance(3) || show_id.len() < 3 {
            return format!("{}A0002", self.rng.pick(&AREAS));
        }
        format!("{}A0002", &show_id[..3])
    }
    fn tickets(&mut self) -> u32 {
        if self.rng.chance(2) {
            return 0;
        }
        1 + self.rng.below(3) as u32
    }
    /// An existing show (movie, show ID) most of the time, else a made-up one.
    fn some_show(&mut self, state: &CanonicalState) -> (String, String) {
        if !state.shows.is_empty() && self.rng.chance(80) {
            let s = self.rng.pick(&state.shows);
            return (s.movie.clone(), s.show_id.clone());
        }
        let area = *self.rng.pick(&AREAS);
        (self.movie(), self.show_id(area))
    }

    fn step(&mut self) {
        let state = self.d.r.export_state();
        match self.rng.below(100) {
            0..=19 => self.add_show(&state),
            20..=46 => self.book(&state),
            47..=58 => self.cancel(&state),
            59..=72 => self.exchange(&state),
            73..=78 => self.remove_show(&state),
            79..=81 => {
                let actor = self.customer();
                let movie = self.movie();
                self.d.avail(&actor, &movie).ok();
            }
            82..=84 => {
                let who = self.customer();
                let actor = self.actor_for(&who);
                self.d.sched(&actor, &who).ok();
            }
            85..=87 => self.import_own(state),
            88..=89 => self.import_refused(state),
            90..=92 => self.import_edited(state),
            _ => self.move_today(),
        }
    }

    fn add_show(&mut self, state: &CanonicalState) {
        // New shows more often than the 20% of `some_show`, or removals outpace them.
        let (movie, id) = if self.rng.chance(60) {
            let area = *self.rng.pick(&AREAS);
            (self.movie(), self.show_id(area))
        } else {
            self.some_show(state)
        };
        let actor = self.admin_of(&id);
        let capacity = match self.rng.below(50) {
            0 => 0,
            1 => 10_001,
            _ => 1 + self.rng.below(12) as u32,
        };
        match self.d.add(&actor, &movie, &id, capacity) {
            Ok(S::ShowAdded) => self.seen.added += 1,
            Ok(S::ShowUpdated(old)) if old != capacity => self.seen.capacity_changed += 1,
            _ => {}
        }
    }

    fn book(&mut self, state: &CanonicalState) {
        let (movie, id) = self.some_show(state);
        // Mostly a customer at home, so that bookings crowd a few timelines (moves, merges).
        let who = match id.get(..3) {
            Some(area) if AREAS.contains(&area) && self.rng.chance(70) => {
                format!("{area}C000{}", self.rng.below(3))
            }
            _ => self.customer(),
        };
        let actor = self.actor_for(&who);
        let n = self.tickets();
        if let Ok(S::Booked(_)) = self.d.book(&actor, &who, &movie, &id, n) {
            self.seen.booked += 1;
        }
    }

    /// A booking to give tickets up from: mostly a held one, with its count.
    fn some_booking(&mut self, state: &CanonicalState) -> (String, String, String, u32) {
        if !state.bookings.is_empty() && self.rng.chance(85) {
            let b = self.rng.pick(&state.bookings);
            return (
                b.customer.clone(),
                b.movie.clone(),
                b.show_id.clone(),
                b.tickets,
            );
        }
        let who = self.customer();
        let (movie, id) = self.some_show(state);
        (who, movie, id, 1)
    }

    /// All of `held`, part of it, or too many.
    fn give_up(&mut self, held: u32) -> u32 {
        match self.rng.below(10) {
            0..=3 => held,
            4..=8 => 1 + self.rng.below(u64::from(held)) as u32,
            _ => held + 1,
        }
    }

    fn cancel(&mut self, state: &CanonicalState) {
        let (who, movie, id, held) = self.some_booking(state);
        let actor = self.actor_for(&who);
        let n = self.give_up(held);
        match self.d.cancel(&actor, &who, &movie, &id, n) {
            Ok(S::Cancelled(0)) => self.seen.cancelled_to_zero += 1,
            Ok(S::Cancelled(_)) => self.seen.cancelled_partly += 1,
            _ => {}
        }
    }

    fn exchange(&mut self, state: &CanonicalState) {
        let (who, old_movie, old_id, held) = self.some_booking(state);
        let actor = self.actor_for(&who);
        let (new_movie, new_id) = self.some_show(state);
        let n = self.give_up(held);
        let old = (old_movie.as_str(), old_id.as_str());
        let new = (new_movie.as_str(), new_id.as_str());
        if let Ok(S::Exchanged(x)) = self.d.exch(&actor, &who, old, new, n) {
            self.seen.exchanged += 1;
            if x.old_held == 0 {
                self.seen.exchanged_emptying += 1;
            }
        }
    }

    fn remove_show(&mut self, state: &CanonicalState) {
        // Mostly a booked show or the first non-past show of a booked timeline (it has the
        // most later shows to move to), so that there is something to move, merge or drop.
        let (movie, id) = match self.rng.below(4) {
            0 | 1 if !state.bookings.is_empty() => {
                let b = self.rng.pick(&state.bookings);
                let today = self.today;
                state
                    .shows
                    .iter()
                    .find(|s| {
                        s.movie == b.movie
                            && s.show_id[..3] == b.show_id[..3]
                            && date_of(&s.show_id) >= Some(today)
                    })
                    .map_or((b.movie.clone(), b.show_id.clone()), |s| {
                        (s.movie.clone(), s.show_id.clone())
                    })
            }
            2 if !state.bookings.is_empty() => {
                let b = self.rng.pick(&state.bookings);
                (b.movie.clone(), b.show_id.clone())
            }
            _ => self.some_show(state),
        };
        let actor = self.admin_of(&id);
        if let Ok(S::ShowRemoved(r)) = self.d.remove(&actor, &movie, &id) {
            self.seen.dropped += r.dropped.len() as u32;
            for m in &r.moved {
                self.seen.moved += 1;
                let merged = state.bookings.iter().any(|b| {
                    b.customer == m.customer && b.movie == movie && b.show_id == m.to_show_id
                });
                self.seen.moved_merging += u32::from(merged);
            }
        }
    }

    /// Its own export, back in: accepted, the same digest (also in a fresh replica).
    fn import_own(&mut self, state: CanonicalState) {
        let before = self.d.r.state_digest();
        let mut fresh = tuesday();
        fresh.import(state.clone()).expect("own export imports");
        assert_eq!(fresh.r.state_digest(), before);
        self.d.import(state).expect("own export imports");
        assert_eq!(self.d.r.state_digest(), before);
        self.seen.imported += 1;
    }

    /// Its own export with one certain fault: refused, nothing changes.
    fn import_refused(&mut self, mut state: CanonicalState) {
        let before = self.d.r.state_digest();
        if !state.bookings.is_empty() && self.rng.chance(50) {
            let i = self.rng.below(state.bookings.len() as u64) as usize;
            state.bookings[i].tickets = 0;
        } else if !state.shows.is_empty() && self.rng.chance(50) {
            let i = self.rng.below(state.shows.len() as u64) as usize;
            state.shows[i].capacity = 0;
        } else {
            state.shows.push(ShowEntry {
                movie: "Avatar2".into(),
                show_id: "ATWM010199".into(),
                capacity: 1,
            });
        }
        self.d.import(state).expect_err("faulty state refused");
        assert_eq!(self.d.r.state_digest(), before);
        self.seen.import_refused += 1;
    }

    /// Its own export with a plausible edit, accepted or not: a booking gone, a capacity or a
    /// ticket count changed (possibly over capacity).
    fn import_edited(&mut self, mut state: CanonicalState) {
        match self.rng.below(3) {
            0 if !state.bookings.is_empty() => {
                let i = self.rng.below(state.bookings.len() as u64) as usize;
                state.bookings.remove(i);
            }
            1 if !state.bookings.is_empty() => {
                let i = self.rng.below(state.bookings.len() as u64) as usize;
                state.bookings[i].tickets = 1 + self.rng.below(6) as u32;
            }
            _ if !state.shows.is_empty() => {
                let i = self.rng.below(state.shows.len() as u64) as usize;
                state.shows[i].capacity = 1 + self.rng.below(8) as u32;
            }
            _ => {}
        }
        let want = digest_of(&state);
        match self.d.import(state) {
            Ok(()) => {
                assert_eq!(self.d.r.state_digest(), want);
                self.seen.imported += 1;
            }
            Err(_) => self.seen.import_refused += 1,
        }
    }

    /// Mostly forward, sometimes back (rules §2: a test may set it).
    fn move_today(&mut self) {
        let mut t = self.today;
        if self.rng.chance(75) {
            t = t.next();
        } else {
            t = t.prev();
        }
        // Stay near the base so that shows keep meeting each other.
        if t < self.base.prev().prev() || self.base.plus_days(10) < t {
            t = self.base;
        }
        self.today = t;
        self.d.today(t.year, t.month, t.day);
    }
}

fn seed() -> u64 {
    if let Some(s) = std::env::var("REPLICA_A_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        return s;
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    now as u64
}

/// Thousands of requests of every kind; `Desk` checks kept == recomputed after each one.
#[test]
fn random_run_keeps_the_digest() {
    let seed = seed();
    println!("random_run_keeps_the_digest: seed {seed} (replay with REPLICA_A_SEED={seed})");
    let base = D::new(2026, 11, 24).expect("valid date");
    let mut run = Run {
        rng: Rng(dmtbs_guest::rng::SplitMix64::new(seed)),
        d: tuesday(),
        base,
        today: base,
        seen: Seen::default(),
    };
    for _ in 0..3_000 {
        run.step();
    }
    assert_digest(&run.d.r);
    let s = &run.seen;
    println!("{s:?}");
    let counts = [
        s.added,
        s.capacity_changed,
        s.booked,
        s.cancelled_to_zero,
        s.cancelled_partly,
        s.exchanged,
        s.exchanged_emptying,
        s.moved,
        s.moved_merging,
        s.dropped,
        s.imported,
        s.import_refused,
    ];
    assert!(
        counts.iter().all(|&n| n > 0),
        "seed {seed}: a kind never happened: {s:?}"
    );
}
