//! The data: one ordered relation of holdings keyed show-first, `(show, customer) -> tickets`,
//! beside a table of show records `show -> (capacity, sold)`. `evolve` is the only code that
//! changes it, one event at a time.
use crate::event::Event;
use crate::model::{Date, ShowKey, UserId};
use alloc::collections::BTreeMap;

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
}

impl State {
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

    fn add_tickets(&mut self, customer: UserId, show: ShowKey, tickets: u32) {
        *self.holdings.entry((show, customer)).or_insert(0) += tickets;
        if let Some(r) = self.shows.get_mut(&show) {
            r.sold += tickets;
        }
    }

    /// Applies one event. Events come from `decide`, which guarantees they are legal here.
    pub fn evolve(&mut self, event: &Event) {
        match *event {
            Event::ShowScheduled { show, capacity } => {
                self.shows.insert(show, ShowRecord { capacity, sold: 0 });
            }
            Event::CapacityRevised { show, new, .. } => {
                if let Some(r) = self.shows.get_mut(&show) {
                    r.capacity = new;
                }
            }
            Event::ShowWithdrawn { show } => {
                self.shows.remove(&show);
                let displaced: alloc::vec::Vec<UserId> =
                    self.holders(show).map(|(c, _)| c).collect();
                for c in displaced {
                    self.holdings.remove(&(show, c));
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
                if let Some(h) = self.holdings.get_mut(&(show, customer)) {
                    *h -= tickets;
                    if *h == 0 {
                        self.holdings.remove(&(show, customer));
                    }
                }
                if let Some(r) = self.shows.get_mut(&show) {
                    r.sold -= tickets;
                }
            }
            Event::AvailabilityObserved(_) | Event::ScheduleObserved(_) => {}
        }
    }
}
