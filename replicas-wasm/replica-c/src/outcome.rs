//! Stage 4: the result, read off the events alone (the state is not consulted).
use crate::event::Event;
use dmtbs_guest::{
    Booked, DroppedBooking, Exchanged, MovedBooking, ScheduledBooking, ShowRemaining, ShowRemoved,
    Success,
};

pub fn derive(events: &[Event]) -> Success {
    match events {
        [Event::ShowScheduled { .. }] => Success::ShowAdded,
        [Event::CapacityRevised { old, .. }] => Success::ShowUpdated(*old),
        [Event::ShowWithdrawn { .. }, displaced @ ..] => {
            let mut removed = ShowRemoved {
                moved: alloc::vec::Vec::new(),
                dropped: alloc::vec::Vec::new(),
            };
            for e in displaced {
                match *e {
                    Event::BookingRehomed {
                        customer,
                        to,
                        tickets,
                        ..
                    } => removed.moved.push(MovedBooking {
                        customer: customer.render(),
                        to_show_id: to.show_id(),
                        tickets,
                    }),
                    Event::BookingForfeited {
                        customer, tickets, ..
                    } => removed.dropped.push(DroppedBooking {
                        customer: customer.render(),
                        tickets,
                    }),
                    _ => unreachable!("only displaced holdings follow a withdrawal"),
                }
            }
            Success::ShowRemoved(removed)
        }
        [Event::AvailabilityObserved(shows)] => Success::Availability(
            shows
                .iter()
                .map(|&(k, remaining)| ShowRemaining {
                    show_id: k.show_id(),
                    remaining,
                })
                .collect(),
        ),
        [Event::ScheduleObserved(bookings)] => Success::Schedule(
            bookings
                .iter()
                .map(|&(k, tickets)| ScheduledBooking {
                    movie: k.movie.name().into(),
                    show_id: k.show_id(),
                    tickets,
                })
                .collect(),
        ),
        [
            Event::TicketsReserved {
                held_after,
                remaining_after,
                ..
            },
        ] => Success::Booked(Booked {
            held: *held_after,
            remaining: *remaining_after,
        }),
        [Event::TicketsReleased { held_after, .. }] => Success::Cancelled(*held_after),
        [
            Event::TicketsReleased {
                held_after: old_held,
                ..
            },
            Event::TicketsReserved {
                held_after: new_held,
                ..
            },
        ] => Success::Exchanged(Exchanged {
            old_held: *old_held,
            new_held: *new_held,
        }),
        _ => unreachable!("decide produces only the shapes above"),
    }
}
