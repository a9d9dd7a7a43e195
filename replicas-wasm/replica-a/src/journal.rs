//! Apply-then-verify: an operation changes the store *tentatively* through a [`Txn`], which
//! records the inverse of every primitive change; the rules that constrain the resulting state
//! are then checked on that state, and the first violation rolls everything back.
//!
//! Why: the admission rules are statements about the state a request would produce (a screen
//! not oversold, one theatre per screening, at most three away movies a week). Checking them on
//! the produced state makes exchange's "as if the tickets had already been taken off" a plain
//! consequence of doing the release first, and remove-show's "remaining at that moment" a
//! consequence of doing the moves one by one.
use crate::lexicon::{ShowKey, Uid};
use crate::store::{Screen, Store};
use alloc::vec::Vec;
use dmtbs_guest::BookingError;

/// The inverse of one primitive change.
enum Undo {
    Held { who: Uid, show: ShowKey, was: u32 },
    Capacity { show: ShowKey, was: u32 },
    Opened { show: ShowKey },
    Closed { show: ShowKey, screen: Screen },
}

/// Why an operation stopped. Numbers inside errors describe the state as it is *after* the
/// rollback, so a breach that carries one names the show to read it from.
pub enum Breach {
    Refused(BookingError),
    /// A screen holds more tickets than its capacity: `show-full(remaining)`.
    Overbooked(ShowKey),
}

impl From<BookingError> for Breach {
    fn from(e: BookingError) -> Breach {
        Breach::Refused(e)
    }
}

/// A tentative change set over the store. Reads see the changes made so far.
pub struct Txn<'s> {
    store: &'s mut Store,
    log: Vec<Undo>,
}

/// A position in the journal to roll back to.
#[derive(Clone, Copy)]
pub struct Mark(usize);

impl<'s> Txn<'s> {
    pub fn store(&self) -> &Store {
        self.store
    }

    /// Adds `tickets` to `who`'s booking on the existing show `show`; returns (before, after).
    pub fn add_held(&mut self, who: Uid, show: ShowKey, tickets: u32) -> (u32, u32) {
        let was = self.store.held(who, &show);
        let now = was.saturating_add(tickets);
        self.store.set_held(who, &show, now);
        self.log.push(Undo::Held { who, show, was });
        (was, now)
    }

    /// Takes `tickets` (at most those held) off `who`'s booking; returns the count left.
    pub fn take_held(&mut self, who: Uid, show: ShowKey, tickets: u32) -> u32 {
        let was = self.store.held(who, &show);
        let now = was.saturating_sub(tickets);
        self.store.set_held(who, &show, now);
        self.log.push(Undo::Held { who, show, was });
        now
    }

    /// Sets an existing show's capacity; returns the previous one.
    pub fn set_capacity(&mut self, show: ShowKey, capacity: u32) -> u32 {
        let was = self.store.set_capacity(&show, capacity);
        self.log.push(Undo::Capacity { show, was });
        was
    }

    pub fn open(&mut self, show: ShowKey, capacity: u32) {
        self.store.open(&show, Screen::new(capacity));
        self.log.push(Undo::Opened { show });
    }

    /// Deletes a show; returns its bookings (customer, tickets) in customer order.
    pub fn close(&mut self, show: ShowKey) -> Vec<(Uid, u32)> {
        let Some(screen) = self.store.close(&show) else {
            return Vec::new();
        };
        let holders = screen.seats.iter().map(|(&c, &t)| (c, t)).collect();
        self.log.push(Undo::Closed { show, screen });
        holders
    }

    pub fn mark(&self) -> Mark {
        Mark(self.log.len())
    }

    /// Undoes every change made after `mark`, newest first.
    pub fn rollback_to(&mut self, mark: Mark) {
        while self.log.len() > mark.0 {
            let Some(undo) = self.log.pop() else { break };
            match undo {
                Undo::Held { who, show, was } => {
                    self.store.set_held(who, &show, was);
                }
                Undo::Capacity { show, was } => {
                    self.store.set_capacity(&show, was);
                }
                Undo::Opened { show } => {
                    self.store.close(&show);
                }
                Undo::Closed { show, screen } => self.store.open(&show, screen),
            }
        }
    }
}

/// Runs `body` as one atomic change: kept whole if it returns `Ok`, rolled back entirely
/// otherwise, and then the breach is turned into the error it reports.
pub fn atomically<T>(
    store: &mut Store,
    body: impl FnOnce(&mut Txn<'_>) -> Result<T, Breach>,
) -> Result<T, BookingError> {
    let mut tx = Txn {
        store,
        log: Vec::new(),
    };
    let outcome = body(&mut tx);
    match outcome {
        Ok(v) => Ok(v),
        Err(breach) => {
            tx.rollback_to(Mark(0));
            Err(match breach {
                Breach::Refused(e) => e,
                Breach::Overbooked(show) => {
                    BookingError::ShowFull(tx.store.screen(&show).map_or(0, Screen::remaining))
                }
            })
        }
    }
}
