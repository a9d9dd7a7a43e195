//! The data: nine timelines, one per (movie, theatre), each an ordered map from (date, slot) to
//! that screening's seats; plus a customer index of the shows each customer holds.
//!
//! Why this shape: remove-show's search ("same movie, same area, strictly after") is a range
//! scan of one timeline; availability reads the three timelines of one movie; the customer
//! index, ordered (customer, show key), answers schedule, the same-show rule and the weekly
//! count as range scans and is already the canonical bookings order. Tickets live only in the
//! screens; the index holds no counts, so there is one place for each number.
//!
//! The store knows no rules: its mutators are primitive, keep the index, the per-screen sold
//! count and the state digest consistent, and return what they replaced so the journal can undo
//! them.
//!
//! The digest (rules §7.1) lives here because these four mutators are the only writes to the
//! state: every operation, every journal rollback and every import goes through them, so no
//! caller can change an entry without its hash following.
use crate::calendar::{DAWN, DUSK, Date};
use crate::lexicon::{Area, Movie, ShowKey, Slot, Uid};
use alloc::collections::{BTreeMap, BTreeSet};
use core::ops::Bound;
use dmtbs_guest::StateDigest;

/// One screening: its capacity, the tickets sold on it (kept equal to the sum of `seats`) and
/// each holder's tickets, by customer order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Screen {
    pub capacity: u32,
    pub sold: u32,
    pub seats: BTreeMap<Uid, u32>,
}

impl Screen {
    pub fn new(capacity: u32) -> Screen {
        Screen {
            capacity,
            ..Screen::default()
        }
    }
    /// Seats left; 0 while a tentative change has the screen over capacity.
    pub fn remaining(&self) -> u32 {
        self.capacity.saturating_sub(self.sold)
    }
}

/// The screenings of one movie in one theatre, in time order.
type Timeline = BTreeMap<(Date, Slot), Screen>;

#[derive(Default, Debug, PartialEq)]
pub struct Store {
    /// Indexed `[movie][area]`.
    reels: [[Timeline; 3]; 3],
    /// (customer, show) for every booking; ordered by customer, then show order.
    ledger: BTreeSet<(Uid, ShowKey)>,
    /// The digest of the canonical state this store exports.
    digest: StateDigest,
}

/// Which way an entry's hash goes.
#[derive(Clone, Copy)]
enum Entry {
    In,
    Out,
}

/// Folds the show entry `k` with `capacity` into `d`, spelled as `snapshot::export` spells it.
fn hash_show(d: &mut StateDigest, way: Entry, k: &ShowKey, capacity: u32) {
    let id = k.id_bytes();
    let id = core::str::from_utf8(&id).unwrap_or_default();
    match way {
        Entry::In => d.add_show(k.movie.name(), id, capacity),
        Entry::Out => d.remove_show(k.movie.name(), id, capacity),
    }
}

/// Folds `who`'s booking of `tickets` (>= 1) on `k` into `d`, spelled as the export spells it.
fn hash_booking(d: &mut StateDigest, way: Entry, who: &Uid, k: &ShowKey, tickets: u32) {
    let id = k.id_bytes();
    let id = core::str::from_utf8(&id).unwrap_or_default();
    match way {
        Entry::In => d.add_booking(who.as_str(), k.movie.name(), id, tickets),
        Entry::Out => d.remove_booking(who.as_str(), k.movie.name(), id, tickets),
    }
}

fn when(k: &ShowKey) -> (Date, Slot) {
    (k.date, k.slot)
}

impl Store {
    fn timeline(&self, movie: Movie, area: Area) -> &Timeline {
        &self.reels[movie.index()][area.index()]
    }
    fn timeline_mut(&mut self, movie: Movie, area: Area) -> &mut Timeline {
        &mut self.reels[movie.index()][area.index()]
    }

    /// The digest of the current state (rules §7.1), kept by the mutators: O(1).
    pub fn digest(&self) -> StateDigest {
        self.digest
    }

    pub fn screen(&self, k: &ShowKey) -> Option<&Screen> {
        self.timeline(k.movie, k.area).get(&when(k))
    }

    /// Tickets `who` holds on `k` (0: no booking, or no such show).
    pub fn held(&self, who: Uid, k: &ShowKey) -> u32 {
        self.screen(k)
            .and_then(|s| s.seats.get(&who).copied())
            .unwrap_or(0)
    }

    /// Sets `who`'s tickets on the existing show `k` to `n` (0 removes the booking); returns
    /// the previous count. A missing show is left alone (callers check existence first).
    pub fn set_held(&mut self, who: Uid, k: &ShowKey, n: u32) -> u32 {
        let Some(screen) = self.timeline_mut(k.movie, k.area).get_mut(&when(k)) else {
            return 0;
        };
        let was = if n == 0 {
            screen.seats.remove(&who)
        } else {
            screen.seats.insert(who, n)
        }
        .unwrap_or(0);
        screen.sold = screen.sold - was + n;
        // The entry with `was` tickets leaves, the one with `n` joins (none at 0).
        if was != n {
            if was > 0 {
                hash_booking(&mut self.digest, Entry::Out, &who, k, was);
            }
            if n > 0 {
                hash_booking(&mut self.digest, Entry::In, &who, k, n);
            }
        }
        match (was, n) {
            (0, 0) => {}
            (0, _) => {
                self.ledger.insert((who, *k));
            }
            (_, 0) => {
                self.ledger.remove(&(who, *k));
            }
            _ => {}
        }
        was
    }

    /// Sets the capacity of the existing show `k`; returns the previous one.
    pub fn set_capacity(&mut self, k: &ShowKey, capacity: u32) -> u32 {
        let Some(s) = self.timeline_mut(k.movie, k.area).get_mut(&when(k)) else {
            return 0;
        };
        let was = core::mem::replace(&mut s.capacity, capacity);
        if was != capacity {
            hash_show(&mut self.digest, Entry::Out, k, was);
            hash_show(&mut self.digest, Entry::In, k, capacity);
        }
        was
    }

    /// Puts a screen (with its holders) at `k`, indexing its holders.
    /// `k` must be free (callers check): replacing a screen would leave its hashes behind.
    pub fn open(&mut self, k: &ShowKey, screen: Screen) {
        hash_show(&mut self.digest, Entry::In, k, screen.capacity);
        for (who, &tickets) in &screen.seats {
            self.ledger.insert((*who, *k));
            hash_booking(&mut self.digest, Entry::In, who, k, tickets);
        }
        self.timeline_mut(k.movie, k.area).insert(when(k), screen);
    }

    /// Takes the screen at `k` out, with its holders, and unindexes them.
    pub fn close(&mut self, k: &ShowKey) -> Option<Screen> {
        let screen = self.timeline_mut(k.movie, k.area).remove(&when(k))?;
        hash_show(&mut self.digest, Entry::Out, k, screen.capacity);
        for (who, &tickets) in &screen.seats {
            self.ledger.remove(&(*who, *k));
            hash_booking(&mut self.digest, Entry::Out, who, k, tickets);
        }
        Some(screen)
    }

    /// The first show of the same movie in the same theatre strictly after `k`.
    pub fn next_after(&self, k: &ShowKey) -> Option<ShowKey> {
        let range = (Bound::Excluded(when(k)), Bound::Unbounded);
        let (&(date, slot), _) = self.timeline(k.movie, k.area).range(range).next()?;
        Some(ShowKey { date, slot, ..*k })
    }

    /// The shows `who` holds with keys in `from..=to`, in show order.
    pub fn holdings(
        &self,
        who: Uid,
        from: ShowKey,
        to: ShowKey,
    ) -> impl Iterator<Item = ShowKey> + '_ {
        self.ledger.range((who, from)..=(who, to)).map(|&(_, k)| k)
    }

    /// Every screening of `movie` dated `from` or later, timeline by timeline (not sorted).
    pub fn screenings_from(
        &self,
        movie: Movie,
        from: Date,
    ) -> impl Iterator<Item = (ShowKey, &Screen)> + '_ {
        Area::ALL.into_iter().flat_map(move |area| {
            self.timeline(movie, area).range((from, Slot::FIRST)..).map(
                move |(&(date, slot), s)| {
                    let k = ShowKey {
                        date,
                        slot,
                        area,
                        movie,
                    };
                    (k, s)
                },
            )
        })
    }

    /// Every screening, timeline by timeline (not sorted).
    pub fn screenings(&self) -> impl Iterator<Item = (ShowKey, &Screen)> + '_ {
        Movie::ALL
            .into_iter()
            .flat_map(move |m| self.screenings_from(m, DAWN))
    }

    /// Every show `who` holds, in show order.
    pub fn shows_of(&self, who: Uid) -> impl Iterator<Item = ShowKey> + '_ {
        self.holdings(who, ShowKey::first_on(DAWN), ShowKey::last_on(DUSK))
    }

    /// Every booking as (customer, show), in canonical order (customer, then show order).
    pub fn bookings(&self) -> impl Iterator<Item = (Uid, ShowKey)> + '_ {
        self.ledger.iter().copied()
    }
}
