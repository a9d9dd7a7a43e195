//! The effect step of every operation: what a request does once every check of its table has
//! held. Effects do not re-check anything; they only apply the change and build the result.

use alloc::vec::Vec;

use dmtbs_guest::{
    Booked, DroppedBooking, Exchanged, MovedBooking, ScheduledBooking, ShowRemaining, ShowRemoved,
    Success,
};

use crate::cinema::Cinema;
use crate::ids::Day;
use crate::rules::{
    AddShowReq, AvailabilityReq, BookReq, CancelReq, ExchangeReq, RemoveShowReq, ScheduleReq,
};

/// Creates the show, or sets its capacity.
pub fn add_show(cinema: &mut Cinema, _today: Day, r: AddShowReq) -> Success {
    match cinema.set_capacity(r.show, r.capacity) {
        Some(old) => Success::ShowUpdated(old),
        None => Success::ShowAdded,
    }
}

/// Deletes the show, then moves each holder's tickets (ascending customer ID) to the first
/// later show of the same movie and area that has room at that moment, or drops them.
pub fn remove_show(cinema: &mut Cinema, _today: Day, r: RemoveShowReq) -> Success {
    let mut moved = Vec::new();
    let mut dropped = Vec::new();
    for (customer, tickets) in cinema.close_show(r.show) {
        match cinema.next_fit(r.show, tickets) {
            Some(to) => {
                cinema.credit(customer, to, tickets);
                moved.push(MovedBooking {
                    customer: customer.text(),
                    to_show_id: to.show_id(),
                    tickets,
                });
            }
            None => dropped.push(DroppedBooking {
                customer: customer.text(),
                tickets,
            }),
        }
    }
    Success::ShowRemoved(ShowRemoved { moved, dropped })
}

/// Every non-past show of the movie, in show order, full ones included.
pub fn availability(cinema: &mut Cinema, today: Day, r: AvailabilityReq) -> Success {
    Success::Availability(
        cinema
            .shows()
            .filter(|(k, _)| k.movie == r.movie && !k.date.is_past(today))
            .map(|(k, s)| ShowRemaining {
                show_id: k.show_id(),
                remaining: s.remaining(),
            })
            .collect(),
    )
}

pub fn book(cinema: &mut Cinema, _today: Day, r: BookReq) -> Success {
    let (held, remaining) = cinema.credit(r.customer, r.show, r.tickets);
    Success::Booked(Booked { held, remaining })
}

/// All of the customer's bookings, past ones included, in show order.
pub fn schedule(cinema: &mut Cinema, _today: Day, r: ScheduleReq) -> Success {
    Success::Schedule(
        cinema
            .holdings(r.customer, None)
            .map(|l| ScheduledBooking {
                movie: l.show.movie.name().into(),
                show_id: l.show.show_id(),
                tickets: l.tickets,
            })
            .collect(),
    )
}

pub fn cancel(cinema: &mut Cinema, _today: Day, r: CancelReq) -> Success {
    Success::Cancelled(cinema.debit(r.customer, r.show, r.tickets))
}

/// Both halves at once: nothing can fail between them, the checks have all held.
pub fn exchange(cinema: &mut Cinema, _today: Day, r: ExchangeReq) -> Success {
    let old_held = cinema.debit(r.customer, r.old, r.tickets);
    let (new_held, _) = cinema.credit(r.customer, r.new, r.tickets);
    Success::Exchanged(Exchanged { old_held, new_held })
}
