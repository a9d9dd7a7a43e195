//! Stage 2: the decider. `decide(state, today, command)` reads the state and returns the events
//! the command causes, or the error of the first invariant the events would break.
//!
//! Each kind of event has one function that *admits* it (`admit_*`): it checks, in the rules'
//! precedence, the invariants that event must preserve, and builds the event. Operations are
//! sequences of admitted events. Composite operations (exchange, remove-show) decide later events
//! against a [`Draft`]: the state seen through the events already decided for this request, which
//! is how "as if the tickets had already been taken off" (exchange) and "remaining at that moment"
//! (remove-show) are expressed — by the events themselves rather than by flags.
use crate::command::{Command, Count};
use crate::event::Event;
use crate::model::{Area, Date, ShowKey, UserId};
use crate::state::State;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use dmtbs_guest::BookingError;

/// At most this many distinct other-area shows per ISO week (a booking beyond needs fewer).
const AWAY_SHOWS_PER_WEEK: usize = 3;
/// The booking window is today and the next 7 days.
const WINDOW_DAYS: i64 = 7;

/// The state as it will be after the events recorded so far in this decision.
pub struct Draft<'s> {
    state: &'s State,
    withdrawn: Option<ShowKey>,
    sold_delta: BTreeMap<ShowKey, i64>,
    held_delta: BTreeMap<(ShowKey, UserId), i64>,
    events: Vec<Event>,
}

impl<'s> Draft<'s> {
    pub fn new(state: &'s State) -> Self {
        Draft {
            state,
            withdrawn: None,
            sold_delta: BTreeMap::new(),
            held_delta: BTreeMap::new(),
            events: Vec::new(),
        }
    }

    fn shift(&mut self, customer: UserId, show: ShowKey, by: i64) {
        *self.sold_delta.entry(show).or_insert(0) += by;
        *self.held_delta.entry((show, customer)).or_insert(0) += by;
    }

    /// Records a decided event; later reads see its effect.
    pub fn record(&mut self, event: Event) {
        match event {
            Event::ShowWithdrawn { show } => self.withdrawn = Some(show),
            Event::BookingRehomed {
                customer,
                to,
                tickets,
                ..
            } => self.shift(customer, to, i64::from(tickets)),
            Event::TicketsReserved {
                customer,
                show,
                tickets,
                ..
            } => self.shift(customer, show, i64::from(tickets)),
            Event::TicketsReleased {
                customer,
                show,
                tickets,
                ..
            } => self.shift(customer, show, -i64::from(tickets)),
            _ => {}
        }
        self.events.push(event);
    }

    pub fn into_events(self) -> Vec<Event> {
        self.events
    }

    /// Seats left on an existing show; `None` when the show does not exist.
    pub fn remaining(&self, show: ShowKey) -> Option<u32> {
        if self.withdrawn == Some(show) {
            return None;
        }
        let r = self.state.show(show)?;
        let sold = i64::from(r.sold) + self.sold_delta.get(&show).copied().unwrap_or(0);
        Some((i64::from(r.capacity) - sold) as u32)
    }

    pub fn held(&self, customer: UserId, show: ShowKey) -> u32 {
        if self.withdrawn == Some(show) {
            return 0;
        }
        let delta = self.held_delta.get(&(show, customer)).copied().unwrap_or(0);
        (i64::from(self.state.held(customer, show)) + delta) as u32
    }
}

/// The result of the decider: the events, in the order they happen.
pub type Decision = Result<Vec<Event>, BookingError>;

pub fn decide(state: &State, today: Date, command: &Command) -> Decision {
    let mut draft = Draft::new(state);
    match *command {
        Command::AddShow {
            actor,
            show,
            capacity,
        } => {
            let event = admit_show_offer(state, today, actor, show, capacity)?;
            draft.record(event);
        }
        Command::RemoveShow { actor, show } => {
            draft.record(admit_withdrawal(state, today, actor, show)?);
            for (customer, tickets) in state.holders(show) {
                let event = rehome(&draft, customer, show, tickets);
                draft.record(event);
            }
        }
        Command::Availability { actor: _, movie } => {
            let shows = state
                .shows_after_or_on(today)
                .filter(|(k, _)| k.movie == movie)
                .map(|(k, r)| (*k, r.remaining()))
                .collect();
            draft.record(Event::AvailabilityObserved(shows));
        }
        Command::Schedule { actor, customer } => {
            acts_for(actor, customer)?;
            let bookings = state
                .holdings
                .iter()
                .filter(|((_, c), _)| *c == customer)
                .map(|(&(k, _), &t)| (k, t))
                .collect();
            draft.record(Event::ScheduleObserved(bookings));
        }
        Command::Book {
            actor,
            customer,
            show,
            tickets,
        } => {
            acts_for(actor, customer)?;
            let event = admit_reservation(&draft, today, customer, show, tickets)?;
            draft.record(event);
        }
        Command::Cancel {
            actor,
            customer,
            show,
            tickets,
        } => {
            acts_for(actor, customer)?;
            let event = admit_release(&draft, today, customer, show, tickets)?;
            draft.record(event);
        }
        Command::Exchange {
            actor,
            customer,
            from,
            to,
            tickets,
        } => {
            acts_for(actor, customer)?;
            if from == to {
                return Err(BookingError::SameShow);
            }
            // The release is decided first and recorded, so that the reservation is decided
            // against the state with the tickets already off the old booking. Nothing is
            // applied unless both are admitted: atomicity.
            let release = admit_release(&draft, today, customer, from, tickets)?;
            draft.record(release);
            let reservation = admit_reservation(&draft, today, customer, to, tickets)?;
            draft.record(reservation);
        }
    }
    Ok(draft.into_events())
}

// ---- Authority -------------------------------------------------------------------------------

/// Admin operations: an admin of the show's own area.
fn admin_of(actor: UserId, show: ShowKey) -> Result<(), BookingError> {
    if actor.is_admin() && actor.area == show.area {
        Ok(())
    } else {
        Err(BookingError::NotAuthorized)
    }
}

/// Customer operations: the customer is a customer, and a customer actor acts only for itself.
fn acts_for(actor: UserId, customer: UserId) -> Result<(), BookingError> {
    if customer.is_admin() || (!actor.is_admin() && actor != customer) {
        Err(BookingError::NotAuthorized)
    } else {
        Ok(())
    }
}

// ---- Time ------------------------------------------------------------------------------------

fn in_window(today: Date, show: ShowKey) -> Result<(), BookingError> {
    let (t, d) = (today.serial(), show.date.serial());
    if t <= d && d <= t + WINDOW_DAYS {
        Ok(())
    } else {
        Err(BookingError::OutsideWindow)
    }
}

fn not_past(today: Date, show: ShowKey) -> Result<(), BookingError> {
    if show.date < today {
        Err(BookingError::PastShow)
    } else {
        Ok(())
    }
}

// ---- ShowScheduled / CapacityRevised -----------------------------------------------------------

/// add-show's event. Invariant kept: capacity never below the tickets held on the show.
fn admit_show_offer(
    state: &State,
    today: Date,
    actor: UserId,
    show: ShowKey,
    capacity: Count,
) -> Result<Event, BookingError> {
    admin_of(actor, show)?;
    in_window(today, show)?;
    match state.show(show) {
        None => Ok(Event::ShowScheduled { show, capacity }),
        Some(r) if capacity < r.sold => Err(BookingError::CapacityBelowBooked),
        Some(r) => Ok(Event::CapacityRevised {
            show,
            old: r.capacity,
            new: capacity,
        }),
    }
}

// ---- ShowWithdrawn / BookingRehomed / BookingForfeited -----------------------------------------

fn admit_withdrawal(
    state: &State,
    today: Date,
    actor: UserId,
    show: ShowKey,
) -> Result<Event, BookingError> {
    admin_of(actor, show)?;
    if state.show(show).is_none() {
        return Err(BookingError::ShowNotFound);
    }
    not_past(today, show)?;
    Ok(Event::ShowWithdrawn { show })
}

/// Where a displaced holding goes: the first later show of the same movie in the same area with
/// room for all of it at this moment of the removal; else it is forfeited. No customer rule
/// applies (the system, not the customer, moves it).
fn rehome(draft: &Draft<'_>, customer: UserId, from: ShowKey, tickets: u32) -> Event {
    let target = draft
        .state
        .shows_after(from)
        .map(|(k, _)| *k)
        .filter(|k| k.area == from.area && k.movie == from.movie)
        .find(|&k| draft.remaining(k).is_some_and(|r| r >= tickets));
    match target {
        Some(to) => Event::BookingRehomed {
            customer,
            from,
            to,
            tickets,
        },
        None => Event::BookingForfeited {
            customer,
            from,
            tickets,
        },
    }
}

// ---- TicketsReserved -------------------------------------------------------------------------

/// The invariants a reservation must keep, in precedence order: the show is on sale (exists, not
/// past); one theatre per screening; the weekly quota of other-area shows; never oversold.
fn admit_reservation(
    draft: &Draft<'_>,
    today: Date,
    customer: UserId,
    show: ShowKey,
    tickets: Count,
) -> Result<Event, BookingError> {
    let remaining = draft.remaining(show).ok_or(BookingError::ShowNotFound)?;
    not_past(today, show)?;
    one_theatre_per_screening(draft, customer, show)?;
    weekly_away_quota(draft, customer, show)?;
    if tickets > remaining {
        return Err(BookingError::ShowFull(remaining));
    }
    Ok(Event::TicketsReserved {
        customer,
        show,
        tickets,
        held_after: draft.held(customer, show) + tickets,
        remaining_after: remaining - tickets,
    })
}

/// A customer holds a given screening (movie, date, slot) in at most one theatre.
fn one_theatre_per_screening(
    draft: &Draft<'_>,
    customer: UserId,
    show: ShowKey,
) -> Result<(), BookingError> {
    let elsewhere = Area::ALL
        .into_iter()
        .filter(|&a| a != show.area)
        .any(|a| draft.held(customer, show.in_area(a)) > 0);
    if elsewhere {
        Err(BookingError::SameShowOtherArea)
    } else {
        Ok(())
    }
}

/// A new other-area show is refused when the customer already holds 3 other-area shows (each
/// booking once, past ones included) in the ISO week of the requested show. More tickets on a
/// show already held are not a new show.
fn weekly_away_quota(
    draft: &Draft<'_>,
    customer: UserId,
    show: ShowKey,
) -> Result<(), BookingError> {
    let home = customer.area;
    if show.area == home || draft.held(customer, show) > 0 {
        return Ok(());
    }
    let monday = show.date.monday();
    let held_away = draft
        .state
        .shows_between(monday, monday.plus_days(6))
        .filter(|(k, _)| k.area != home && draft.held(customer, **k) > 0)
        .count();
    if held_away >= AWAY_SHOWS_PER_WEEK {
        Err(BookingError::WeeklyLimit)
    } else {
        Ok(())
    }
}

// ---- TicketsReleased -------------------------------------------------------------------------

/// The invariants a release must keep, in precedence order: there is a booking; it is not past;
/// a booking never goes below zero.
fn admit_release(
    draft: &Draft<'_>,
    today: Date,
    customer: UserId,
    show: ShowKey,
    tickets: Count,
) -> Result<Event, BookingError> {
    let held = draft.held(customer, show);
    if held == 0 {
        return Err(BookingError::NotBooked);
    }
    not_past(today, show)?;
    if tickets > held {
        return Err(BookingError::TooManyTickets(held));
    }
    Ok(Event::TicketsReleased {
        customer,
        show,
        tickets,
        held_after: held - tickets,
    })
}
