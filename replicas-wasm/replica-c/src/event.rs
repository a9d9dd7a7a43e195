//! The domain events: everything a request can cause. Mutating events carry the facts the
//! result reports (held/remaining after the change), computed by `decide` from the state it saw;
//! the two observation events carry a query's answer and change nothing.
use crate::model::{ShowKey, UserId};
use alloc::vec::Vec;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// add-show on a new show.
    ShowScheduled { show: ShowKey, capacity: u32 },
    /// add-show on an existing show.
    CapacityRevised { show: ShowKey, old: u32, new: u32 },
    /// remove-show: the show and every holding on it are gone.
    ShowWithdrawn { show: ShowKey },
    /// A holding of a withdrawn show placed on a later show (after `ShowWithdrawn`).
    BookingRehomed {
        customer: UserId,
        from: ShowKey,
        to: ShowKey,
        tickets: u32,
    },
    /// A holding of a withdrawn show that fitted nowhere.
    BookingForfeited {
        customer: UserId,
        from: ShowKey,
        tickets: u32,
    },
    /// Tickets added to a customer's booking (book, or the new side of exchange).
    TicketsReserved {
        customer: UserId,
        show: ShowKey,
        tickets: u32,
        held_after: u32,
        remaining_after: u32,
    },
    /// Tickets taken off a customer's booking (cancel, or the old side of exchange).
    TicketsReleased {
        customer: UserId,
        show: ShowKey,
        tickets: u32,
        held_after: u32,
    },
    /// availability: (show, remaining) in show order.
    AvailabilityObserved(Vec<(ShowKey, u32)>),
    /// schedule: (show, tickets) in show order.
    ScheduleObserved(Vec<(ShowKey, u32)>),
}
