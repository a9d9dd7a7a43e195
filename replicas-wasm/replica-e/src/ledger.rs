//! The state: an append-only ledger of seat movements, and the indexes folded from it.
//!
//! The ledger is the state; everything else is derived. Three kinds of [`Entry`] exist: a show
//! is provisioned (created, or its capacity set), seats move onto or off a customer's booking,
//! or a show is withdrawn (after every seat on it has moved off). [`Store::fold`] is the only
//! code that changes the derived indexes, and it does so by applying one entry; a fresh fold
//! of the whole ledger gives the same indexes (a unit test holds the two equal).
//!
//! Requests never write the store directly. The rules stage movements in a [`Pending`] tail;
//! a [`View`] is the store as it would be with that tail appended, which is how exchange's "as
//! if the tickets had already been taken off" and remove-show's "remaining at that moment" are
//! both read. [`Store::commit`] appends the tail once every rule has held.
//!
//! The state digest (§7.1) is one more derived index: [`Store::fold`] moves it with every
//! entry of the canonical state it changes, so it only ever reflects committed movements.
//!
//! The indexes are hash maps: nothing here is ordered. Every ordered answer is sorted, at the
//! moment it is given, by the rules' own keys ([`Show::rank`], customer byte order).

use std::collections::{HashMap, HashSet};

use crate::digest::{Digest, booking_hash, show_hash};
use crate::lexicon::{Show, UserId};

/// One movement of the ledger.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entry {
    /// The show exists from here on with this capacity (created, or its capacity set).
    Provision { show: Show, capacity: u32 },
    /// `delta` seats move onto (positive) or off (negative) the customer's booking on the show.
    Seats {
        customer: UserId,
        show: Show,
        delta: i64,
    },
    /// The show no longer exists. Every seat on it has moved off in earlier entries.
    Withdraw { show: Show },
}

/// What the ledger says about one show.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Screen {
    capacity: u32,
    /// Sum of `holders`, kept so that `remaining` is one subtraction.
    sold: u32,
    /// Tickets held per customer; a booking at 0 is removed.
    holders: HashMap<UserId, u32>,
}

/// The ledger and its derived indexes.
#[derive(Clone, Debug, Default)]
pub struct Store {
    /// The state itself, in the order the movements were committed. Rewritten as a snapshot of
    /// the live state when it grows far beyond it ([`Store::commit`]).
    ledger: Vec<Entry>,
    /// Derived: every existing show.
    screens: HashMap<Show, Screen>,
    /// Derived: the shows each customer holds a booking on (the tickets are in `screens`).
    portfolios: HashMap<UserId, HashSet<Show>>,
    /// Derived: the number of bookings, to size the compaction threshold.
    bookings: usize,
    /// Derived: the digest of the canonical state (§7.1).
    digest: Digest,
}

/// A ledger this many entries longer than its live state is rewritten as a snapshot.
const COMPACTION_SLACK: usize = 4096;

impl Store {
    /// A store whose ledger is `entries`.
    pub fn from_entries(entries: Vec<Entry>) -> Store {
        let mut store = Store::default();
        for e in &entries {
            store.fold(e);
        }
        store.ledger = entries;
        store
    }

    /// Applies one movement to the derived indexes. The rules guarantee what is asserted: seats
    /// move only on existing shows, never below zero, and a show is withdrawn empty.
    fn fold(&mut self, e: &Entry) {
        match *e {
            Entry::Provision { show, capacity } => {
                // A capacity set on an existing show replaces its entry.
                if let Some(old) = self.screens.get(&show) {
                    self.digest.sub(show_hash(&show, old.capacity));
                }
                self.screens.entry(show).or_default().capacity = capacity;
                self.digest.add(show_hash(&show, capacity));
            }
            Entry::Withdraw { show } => {
                let screen = self.screens.remove(&show);
                debug_assert!(screen.as_ref().is_some_and(|s| s.holders.is_empty()));
                if let Some(screen) = screen {
                    self.digest.sub(show_hash(&show, screen.capacity));
                }
            }
            Entry::Seats {
                customer,
                show,
                delta,
            } => {
                let screen = self.screens.get_mut(&show).expect("seats move on a show");
                let before = screen.holders.get(&customer).copied().unwrap_or(0);
                let after = u32::try_from(i64::from(before) + delta).expect("held stays >= 0");
                screen.sold = u32::try_from(i64::from(screen.sold) + delta).expect("sold >= 0");
                let portfolio = self.portfolios.entry(customer).or_default();
                if after == 0 {
                    screen.holders.remove(&customer);
                    portfolio.remove(&show);
                    if portfolio.is_empty() {
                        self.portfolios.remove(&customer);
                    }
                } else {
                    screen.holders.insert(customer, after);
                    portfolio.insert(show);
                }
                self.bookings = self.bookings + usize::from(after > 0) - usize::from(before > 0);
                // The booking's entry changes from `before` tickets to `after` (0: no entry).
                if before > 0 {
                    self.digest.sub(booking_hash(&customer, &show, before));
                }
                if after > 0 {
                    self.digest.add(booking_hash(&customer, &show, after));
                }
            }
        }
    }

    /// Appends the pending movements to the ledger.
    pub fn commit(&mut self, pending: Pending) {
        for e in &pending.entries {
            self.fold(e);
        }
        self.ledger.extend(pending.entries);
        if self.ledger.len() > 2 * (self.screens.len() + self.bookings) + COMPACTION_SLACK {
            self.ledger = self.snapshot();
        }
    }

    /// The live state as a minimal ledger: each show provisioned, in show order, then each
    /// booking as one movement, by customer then show order (the canonical order, §7).
    pub fn snapshot(&self) -> Vec<Entry> {
        let mut out: Vec<Entry> = self
            .shows()
            .into_iter()
            .map(|(show, capacity)| Entry::Provision { show, capacity })
            .collect();
        out.extend(
            self.bookings()
                .into_iter()
                .map(|(customer, show, held)| Entry::Seats {
                    customer,
                    show,
                    delta: i64::from(held),
                }),
        );
        out
    }

    /// The digest of the committed state, as kept: no walk.
    pub fn digest(&self) -> Digest {
        self.digest
    }

    /// Every show with its capacity, in show order.
    pub fn shows(&self) -> Vec<(Show, u32)> {
        let mut out: Vec<(Show, u32)> =
            self.screens.iter().map(|(s, x)| (*s, x.capacity)).collect();
        out.sort_by_key(|(s, _)| s.rank());
        out
    }

    /// Every booking, by customer then show order.
    pub fn bookings(&self) -> Vec<(UserId, Show, u32)> {
        let mut out: Vec<(UserId, Show, u32)> = self
            .screens
            .iter()
            .flat_map(|(s, x)| x.holders.iter().map(move |(c, t)| (*c, *s, *t)))
            .collect();
        out.sort_by_key(|(c, s, _)| (*c, s.rank()));
        out
    }

    /// The customer's bookings, in show order.
    pub fn schedule(&self, customer: UserId) -> Vec<(Show, u32)> {
        let mut out: Vec<(Show, u32)> = self
            .portfolios
            .get(&customer)
            .into_iter()
            .flatten()
            .map(|s| (*s, self.held(customer, *s)))
            .collect();
        out.sort_by_key(|(s, _)| s.rank());
        out
    }

    /// The bookings on one show, in customer order.
    pub fn holders(&self, show: Show) -> Vec<(UserId, u32)> {
        let mut out: Vec<(UserId, u32)> = self
            .screens
            .get(&show)
            .into_iter()
            .flat_map(|x| x.holders.iter().map(|(c, t)| (*c, *t)))
            .collect();
        out.sort_by_key(|(c, _)| *c);
        out
    }

    pub fn capacity(&self, show: Show) -> Option<u32> {
        self.screens.get(&show).map(|x| x.capacity)
    }

    pub fn sold(&self, show: Show) -> u32 {
        self.screens.get(&show).map_or(0, |x| x.sold)
    }

    pub fn held(&self, customer: UserId, show: Show) -> u32 {
        let screen = self.screens.get(&show);
        screen
            .and_then(|x| x.holders.get(&customer).copied())
            .unwrap_or(0)
    }

    /// The length of the ledger (for tests of compaction).
    #[cfg(test)]
    pub fn ledger_len(&self) -> usize {
        self.ledger.len()
    }

    /// The derived indexes folded afresh from the ledger equal the maintained ones.
    #[cfg(test)]
    pub fn indexes_match_ledger(&self) -> bool {
        let fresh = Store::from_entries(self.ledger.clone());
        fresh.screens == self.screens
            && fresh.portfolios == self.portfolios
            && fresh.bookings == self.bookings
            && fresh.digest == self.digest
    }
}

/// Movements staged by the rules of one request, not yet in the ledger, with running totals so
/// that a [`View`] answers in constant time however long the tail grows (remove-show stages two
/// movements per holder).
#[derive(Debug, Default)]
pub struct Pending {
    entries: Vec<Entry>,
    /// Net seats staged per show.
    sold: HashMap<Show, i64>,
    /// Net seats staged per booking.
    held: HashMap<(UserId, Show), i64>,
    /// Shows staged as provisioned (`Some(capacity)`) or withdrawn (`None`).
    exists: HashMap<Show, Option<u32>>,
}

impl Pending {
    pub fn push(&mut self, e: Entry) {
        match e {
            Entry::Provision { show, capacity } => {
                self.exists.insert(show, Some(capacity));
            }
            Entry::Withdraw { show } => {
                self.exists.insert(show, None);
            }
            Entry::Seats {
                customer,
                show,
                delta,
            } => {
                *self.sold.entry(show).or_default() += delta;
                *self.held.entry((customer, show)).or_default() += delta;
            }
        }
        self.entries.push(e);
    }

    /// The staged movements, in order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }
}

/// The store as it would be with a pending tail appended.
#[derive(Clone, Copy)]
pub struct View<'a> {
    pub store: &'a Store,
    pub pending: &'a Pending,
}

impl View<'_> {
    pub fn capacity(&self, show: Show) -> Option<u32> {
        match self.pending.exists.get(&show) {
            Some(staged) => *staged,
            None => self.store.capacity(show),
        }
    }

    pub fn sold(&self, show: Show) -> u32 {
        let staged = self.pending.sold.get(&show).copied().unwrap_or(0);
        u32::try_from(i64::from(self.store.sold(show)) + staged).expect("sold >= 0")
    }

    /// Seats left; 0 for a show that does not exist.
    pub fn remaining(&self, show: Show) -> u32 {
        self.capacity(show)
            .map_or(0, |c| c.saturating_sub(self.sold(show)))
    }

    pub fn held(&self, customer: UserId, show: Show) -> u32 {
        let staged = self
            .pending
            .held
            .get(&(customer, show))
            .copied()
            .unwrap_or(0);
        u32::try_from(i64::from(self.store.held(customer, show)) + staged).expect("held >= 0")
    }

    /// The shows the customer holds at least one ticket on, in no particular order: only for
    /// questions whose answer does not depend on order (exists, count).
    pub fn holdings(&self, customer: UserId) -> Vec<Show> {
        let committed = self.store.portfolios.get(&customer).into_iter().flatten();
        let staged = self
            .pending
            .held
            .keys()
            .filter(|(c, s)| *c == customer && self.store.held(*c, *s) == 0)
            .map(|(_, s)| s);
        let mut shows: Vec<Show> = committed.chain(staged).copied().collect();
        shows.retain(|s| self.held(customer, *s) > 0);
        shows
    }
}
