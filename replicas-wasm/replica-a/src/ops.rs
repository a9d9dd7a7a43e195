//! The seven operations, each in three phases:
//! 1. *read the request*: the V step, field by field in signature order, then authorisation;
//! 2. *guards*: the checks about the request against the unchanged state (existence, past,
//!    ticket counts held), in the rules' order;
//! 3. *change, then verify*: inside [`atomically`], change the store tentatively and check the
//!    rules that constrain the produced state ([`crate::rules`]); a violation rolls back.
use crate::calendar::Date;
use crate::journal::atomically;
use crate::lexicon::{Movie, SEAT_COUNTS, ShowKey, Uid};
use crate::rules::{admit, in_window, is_past, overbooked};
use crate::store::Store;
use alloc::vec::Vec;
use dmtbs_guest::{
    AddShow, Availability, Book, BookingError as E, Cancel, DroppedBooking, Exchange, Exchanged,
    MovedBooking, Operation, Outcome, RemoveShow, Request, Schedule, ScheduledBooking,
    ShowRemaining, ShowRemoved, Success,
};

pub fn apply(store: &mut Store, req: Request) -> Outcome {
    let today = {
        let d = req.context.today;
        Date {
            year: d.year,
            month: d.month,
            day: d.day,
        }
    };
    match req.operation {
        Operation::AddShow(op) => add_show(store, today, op),
        Operation::RemoveShow(op) => remove_show(store, today, op),
        Operation::Availability(op) => availability(store, today, op),
        Operation::Book(op) => book(store, today, op),
        Operation::Schedule(op) => schedule(store, op),
        Operation::Cancel(op) => cancel(store, today, op),
        Operation::Exchange(op) => exchange(store, today, op),
    }
}

// --- phase 1: reading a request -------------------------------------------------------------

fn user(s: &str) -> Result<Uid, E> {
    Uid::parse(s).ok_or(E::InvalidUserId)
}
fn film(s: &str) -> Result<Movie, E> {
    Movie::parse(s).ok_or(E::UnknownMovie)
}
/// A show ID for an already-read movie (the movie always precedes it in a signature).
fn show(movie: Movie, id: &str) -> Result<ShowKey, E> {
    ShowKey::parse(movie, id).ok_or(E::InvalidShowId)
}

fn tickets(n: u32) -> Result<u32, E> {
    Some(n)
        .filter(|n| SEAT_COUNTS.contains(n))
        .ok_or(E::InvalidTickets)
}

/// Admin operations: an admin of the show's own area.
fn admin_of(actor: Uid, show: &ShowKey) -> Result<(), E> {
    (actor.is_admin() && actor.area() == show.area)
        .then_some(())
        .ok_or(E::NotAuthorized)
}

/// Customer operations: the customer is a customer, acting itself or through any admin.
fn acting_for(actor: Uid, customer: Uid) -> Result<(), E> {
    let allowed = !customer.is_admin() && (actor.is_admin() || actor == customer);
    allowed.then_some(()).ok_or(E::NotAuthorized)
}

// --- the operations -------------------------------------------------------------------------

fn add_show(store: &mut Store, today: Date, op: AddShow) -> Outcome {
    let actor = user(&op.actor)?;
    let movie = film(&op.movie)?;
    let key = show(movie, &op.show_id)?;
    let capacity = Some(op.capacity)
        .filter(|n| SEAT_COUNTS.contains(n))
        .ok_or(E::InvalidCapacity)?;
    admin_of(actor, &key)?;
    // Also for an existing show (docs §8.4).
    if !in_window(today, key.date) {
        return Err(E::OutsideWindow);
    }
    let out = atomically(store, |tx| {
        if tx.store().screen(&key).is_none() {
            tx.open(key, capacity);
            return Ok(Success::ShowAdded);
        }
        let old = tx.set_capacity(key, capacity);
        if overbooked(tx.store(), &key) {
            return Err(E::CapacityBelowBooked.into());
        }
        Ok(Success::ShowUpdated(old))
    })?;
    Ok(out)
}

fn remove_show(store: &mut Store, today: Date, op: RemoveShow) -> Outcome {
    let actor = user(&op.actor)?;
    let movie = film(&op.movie)?;
    let key = show(movie, &op.show_id)?;
    admin_of(actor, &key)?;
    if store.screen(&key).is_none() {
        return Err(E::ShowNotFound);
    }
    if is_past(today, &key) {
        return Err(E::PastShow);
    }
    let out = atomically(store, |tx| {
        let mut moved = Vec::new();
        let mut dropped = Vec::new();
        // Holders come out in customer order, which is the processing order.
        for (who, tickets) in tx.close(key) {
            // Try each later screening of this movie in this theatre: put the tickets there
            // and keep them if the screen is not oversold; later moves see earlier ones.
            let mut target = tx.store().next_after(&key);
            let landed = loop {
                let Some(to) = target else { break None };
                let mark = tx.mark();
                tx.add_held(who, to, tickets);
                if !overbooked(tx.store(), &to) {
                    break Some(to);
                }
                tx.rollback_to(mark);
                target = tx.store().next_after(&to);
            };
            match landed {
                Some(to) => moved.push(MovedBooking {
                    customer: who.text(),
                    to_show_id: to.id_text(),
                    tickets,
                }),
                None => dropped.push(DroppedBooking {
                    customer: who.text(),
                    tickets,
                }),
            }
        }
        Ok(Success::ShowRemoved(ShowRemoved { moved, dropped }))
    })?;
    Ok(out)
}

fn availability(store: &Store, today: Date, op: Availability) -> Outcome {
    user(&op.actor)?;
    let movie = film(&op.movie)?;
    let mut open: Vec<(ShowKey, u32)> = store
        .screenings_from(movie, today)
        .map(|(k, s)| (k, s.remaining()))
        .collect();
    // The three theatres' timelines interleave in show order.
    open.sort_unstable_by_key(|&(k, _)| k);
    let shows = open
        .into_iter()
        .map(|(k, remaining)| ShowRemaining {
            show_id: k.id_text(),
            remaining,
        })
        .collect();
    Ok(Success::Availability(shows))
}

/// Book and cancel share a signature (actor, customer, movie, show-id, tickets): read it,
/// then authorise.
fn ticket_request(
    actor: &str,
    customer: &str,
    movie: &str,
    show_id: &str,
    count: u32,
) -> Result<(Uid, ShowKey, u32), E> {
    let actor = user(actor)?;
    let customer = user(customer)?;
    let key = show(film(movie)?, show_id)?;
    let count = tickets(count)?;
    acting_for(actor, customer)?;
    Ok((customer, key, count))
}

fn book(store: &mut Store, today: Date, op: Book) -> Outcome {
    let (customer, key, tickets) =
        ticket_request(&op.actor, &op.customer, &op.movie, &op.show_id, op.tickets)?;
    let booked = atomically(store, |tx| admit(tx, today, customer, key, tickets))?;
    Ok(Success::Booked(booked))
}

fn schedule(store: &Store, op: Schedule) -> Outcome {
    let actor = user(&op.actor)?;
    let customer = user(&op.customer)?;
    acting_for(actor, customer)?;
    let list = store
        .shows_of(customer)
        .map(|k| ScheduledBooking {
            movie: k.movie.name().into(),
            show_id: k.id_text(),
            tickets: store.held(customer, &k),
        })
        .collect();
    Ok(Success::Schedule(list))
}

/// Cancel's and exchange's guards on the booking given up: held, not past, enough tickets.
/// Returns the tickets held.
fn releasable(store: &Store, today: Date, who: Uid, key: &ShowKey, tickets: u32) -> Result<u32, E> {
    let held = store.held(who, key);
    if held == 0 {
        return Err(E::NotBooked);
    }
    if is_past(today, key) {
        return Err(E::PastShow);
    }
    if tickets > held {
        return Err(E::TooManyTickets(held));
    }
    Ok(held)
}

fn cancel(store: &mut Store, today: Date, op: Cancel) -> Outcome {
    let (customer, key, tickets) =
        ticket_request(&op.actor, &op.customer, &op.movie, &op.show_id, op.tickets)?;
    releasable(store, today, customer, &key, tickets)?;
    let left = atomically(store, |tx| Ok(tx.take_held(customer, key, tickets)))?;
    Ok(Success::Cancelled(left))
}

fn exchange(store: &mut Store, today: Date, op: Exchange) -> Outcome {
    let actor = user(&op.actor)?;
    let customer = user(&op.customer)?;
    let old_movie = film(&op.old_movie)?;
    let old = show(old_movie, &op.old_show_id)?;
    let new_movie = film(&op.new_movie)?;
    let new = show(new_movie, &op.new_show_id)?;
    let tickets = tickets(op.tickets)?;
    acting_for(actor, customer)?;
    if old == new {
        return Err(E::SameShow);
    }
    releasable(store, today, customer, &old, tickets)?;
    // Release first, then admit on the new show: the "as if" of check 7 is the real state.
    let out = atomically(store, |tx| {
        let old_held = tx.take_held(customer, old, tickets);
        let booked = admit(tx, today, customer, new, tickets)?;
        Ok(Exchanged {
            old_held,
            new_held: booked.held,
        })
    })?;
    Ok(Success::Exchanged(out))
}
