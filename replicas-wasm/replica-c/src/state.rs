//! The data: one ordered relation of holdings keyed show-first, `(show, customer) -> tickets`,
//! beside a table of show records `show -> (capacity, sold)`, and the state digest (rules §7.1).
//! `evolve` is the only code that changes it, one event at a time, so the digest is kept there:
//! every entry change goes through [`put_show`]/[`drop_show`]/[`State::set_held`].
use crate::event::Event;
use crate::model::{Date, ShowKey, UserId};
use alloc::collections::BTreeMap;
use dmtbs_guest::StateDigest;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShowRecord {
    pub capacity: u32,
    /// Tickets held on the show by all customers (kept equal to the holdings' sum).
    pub sold: u32,
}

impl ShowRecord {
    pub fn remaining(&self) -> u32 {
        self.capacity - self.sold
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct State {
    pub shows: BTreeMap<ShowKey, ShowRecord>,
    /// Every booking; a key present means at least one ticket.
    pub holdings: BTreeMap<(ShowKey, UserId), u32>,
    /// The digest of the canonical state of `shows` and `holdings`. Private so that only
    /// `evolve` and `from_parts` can write it.
    digest: StateDigest,
}

// The digest hashes the entries as `canonical::export` renders them (movie name, rendered show
// ID, rendered customer), so that it equals the digest of the export.
fn put_show(d: &mut StateDigest, show: ShowKey, capacity: u32) {
    d.add_show(show.movie.name(), &show.show_id(), capacity);
}

fn drop_show(d: &mut StateDigest, show: ShowKey, capacity: u32) {
    d.remove_show(show.movie.name(), &show.show_id(), capacity);
}

fn put_booking(d: &mut StateDigest, customer: UserId, show: ShowKey, tickets: u32) {
    d.add_booking(
        &customer.render(),
        show.movie.name(),
        &show.show_id(),
        tickets,
    );
}

fn drop_booking(d: &mut StateDigest, customer: UserId, show: ShowKey, tickets: u32) {
    d.remove_booking(
        &customer.render(),
        show.movie.name(),
        &show.show_id(),
        tickets,
    );
}

impl State {
    /// A state built whole (import): the digest is computed once from its entries.
    pub fn from_parts(
        shows: BTreeMap<ShowKey, ShowRecord>,
        holdings: BTreeMap<(ShowKey, UserId), u32>,
    ) -> State {
        let mut digest = StateDigest::default();
        for (&k, r) in &shows {
            put_show(&mut digest, k, r.capacity);
        }
        for (&(k, c), &t) in &holdings {
            put_booking(&mut digest, c, k, t);
        }
        State {
            shows,
            holdings,
            digest,
        }
    }

    /// The digest of the current canonical state, kept up to date by `evolve`.
    pub fn digest(&self) -> StateDigest {
        self.digest
    }

    pub fn show(&self, show: ShowKey) -> Option<&ShowRecord> {
        self.shows.get(&show)
    }

    pub fn held(&self, customer: UserId, show: ShowKey) -> u32 {
        self.holdings.get(&(show, customer)).copied().unwrap_or(0)
    }

    /// The holdings on one show, in ascending customer order.
    pub fn holders(&self, show: ShowKey) -> impl Iterator<Item = (UserId, u32)> + '_ {
        self.holdings
            .range((show, UserId::LOWEST)..=(show, UserId::HIGHEST))
            .map(|(&(_, c), &t)| (c, t))
    }

    /// The shows dated `first..=last`, in show order.
    pub fn shows_between(
        &self,
        first: Date,
        last: Date,
    ) -> impl Iterator<Item = (&ShowKey, &ShowRecord)> + '_ {
        self.shows
            .range(ShowKey::first_on(first)..=ShowKey::last_on(last))
    }

    /// Shows dated `today` or later (not past), in show order.
    pub fn shows_after_or_on(
        &self,
        today: Date,
    ) -> impl Iterator<Item = (&ShowKey, &ShowRecord)> + '_ {
        self.shows.range(ShowKey::first_on(today)..)
    }

    /// Shows strictly after `show` in show order.
    pub fn shows_after(&self, show: ShowKey) -> impl Iterator<Item = (&ShowKey, &ShowRecord)> + '_ {
        use core::ops::Bound::{Excluded, Unbounded};
        self.shows.range((Excluded(show), Unbounded))
    }

    /// Sets a booking's tickets from `old` to `new` (0: absent), in the relation and the digest:
    /// the old entry's hash out, the new one's in.
    fn set_held(&mut self, customer: UserId, show: ShowKey, old: u32, new: u32) {
        if old > 0 {
            drop_booking(&mut self.digest, customer, show, old);
        }
        if new > 0 {
            put_booking(&mut self.digest, customer, show, new);
            self.holdings.insert((show, customer), new);
        } else {
            self.holdings.remove(&(show, customer));
        }
    }

    fn add_tickets(&mut self, customer: UserId, show: ShowKey, tickets: u32) {
        let held = self.held(customer, show);
        self.set_held(customer, show, held, held + tickets);
        if let Some(r) = self.shows.get_mut(&show) {
            r.sold += tickets;
        }
    }

    /// Applies one event. Events come from `decide`, which guarantees they are legal here.
    pub fn evolve(&mut self, event: &Event) {
        match *event {
            Event::ShowScheduled { show, capacity } => {
                self.shows.insert(show, ShowRecord { capacity, sold: 0 });
                put_show(&mut self.digest, show, capacity);
            }
            Event::CapacityRevised { show, new, .. } => {
                if let Some(r) = self.shows.get_mut(&show) {
                    // The capacity the state held (not the event's `old`): the entry that leaves.
                    drop_show(&mut self.digest, show, r.capacity);
                    put_show(&mut self.digest, show, new);
                    r.capacity = new;
                }
            }
            Event::ShowWithdrawn { show } => {
                if let Some(r) = self.shows.remove(&show) {
                    drop_show(&mut self.digest, show, r.capacity);
                }
                let displaced: alloc::vec::Vec<(UserId, u32)> = self.holders(show).collect();
                for (c, t) in displaced {
                    self.set_held(c, show, t, 0);
                }
            }
            Event::BookingRehomed {
                customer,
                to,
                tickets,
                ..
            } => self.add_tickets(customer, to, tickets),
            Event::BookingForfeited { .. } => {}
            Event::TicketsReserved {
                customer,
                show,
                tickets,
                ..
            } => self.add_tickets(customer, show, tickets),
            Event::TicketsReleased {
                customer,
                show,
                tickets,
                ..
            } => {
                let held = self.held(customer, show);
                if held > 0 {
                    self.set_held(customer, show, held, held - tickets);
                }
                if let Some(r) = self.shows.get_mut(&show) {
                    r.sold -= tickets;
                }
            }
            Event::AvailabilityObserved(_) | Event::ScheduleObserved(_) => {}
        }
    }
}
