//! The booking rules as a sequential model, written from `shared/spec/booking-rules.md` and the
//! project's `docs/booking-rules.md` alone — none of the four replica implementations was read —
//! so that it can judge them.
//!
//! The state is two ordered maps of small `Copy` keys and a 128-bit fingerprint kept up to date
//! on every change (XOR of a hash per show and per booking), so hashing a state is free and the
//! checker never needs to clone it: [`Model::apply`] changes it in place and returns an [`Undo`]
//! that puts it back.

use std::collections::BTreeMap;

use dmtbs_contract::{
    Booked, BookingError, Date, DroppedBooking, Exchanged, MovedBooking, Operation, Outcome,
    ScheduledBooking, ShowRemaining, ShowRemoved, Success,
};

use crate::ids::{Day, Movie, Role, ShowId, ShowKey, User};

/// Largest capacity and ticket count (rules §5: 1..=10000).
const MAX_COUNT: u32 = 10_000;
/// The window: a show may be added up to this many days after `today` (rules §2).
const WINDOW_DAYS: i32 = 7;
/// Other-area movies a customer may hold in one week (rules §5, book 6).
const WEEKLY_LIMIT: usize = 3;

/// A show's own record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Show {
    capacity: u32,
    /// Sum of the tickets held on it: derived from the bookings, kept for `remaining`.
    held: u32,
}

/// The booking state (rules §3): shows and bookings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Model {
    /// Every show, in show order.
    shows: BTreeMap<ShowKey, Show>,
    /// Every booking (tickets >= 1), by customer then show order: a customer's bookings are one
    /// range.
    bookings: BTreeMap<(User, ShowKey), u32>,
    /// XOR of [`show_hash`] and [`booking_hash`] over the state: equal states have equal
    /// fingerprints whatever the order of the changes that made them.
    fingerprint: u128,
}

impl std::hash::Hash for Model {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.fingerprint.hash(state);
    }
}

/// What [`Model::apply`] changed, to put back with [`Model::undo`]: the old value of every
/// show and booking it wrote, in the order written.
#[derive(Debug, Default)]
pub struct Undo(Vec<Change>);

#[derive(Debug)]
enum Change {
    Show(ShowKey, Option<Show>),
    Booking(User, ShowKey, Option<u32>),
}

/// The parsed fields of an operation that passed the checks made before any state is read.
enum Checked {
    AddShow(ShowKey, u32),
    RemoveShow(ShowKey),
    Availability(Movie),
    Book(User, ShowKey, u32),
    Schedule(User),
    Cancel(User, ShowKey, u32),
    Exchange(User, ShowKey, ShowKey, u32),
}

/// The entities an operation can read or write, given the checks it passed without reading
/// state (see `partition`).
pub(crate) enum Footprint {
    /// Refused before reading any state: the result is the same in every state.
    Nothing,
    /// Add-show: the show's record and the tickets held on it.
    Show(ShowKey),
    /// Remove-show: the show, the later shows of its movie and area, and whoever held it.
    RemoveShow(ShowKey),
    /// Availability of this movie on days from this one on.
    Movie(crate::ids::Movie, Day),
    /// Schedule: the customer's bookings.
    Customer(User),
    /// Book, cancel: the customer's bookings and the show.
    CustomerShow(User, ShowKey),
    /// Exchange: the customer's bookings and both shows.
    CustomerShows(User, ShowKey, ShowKey),
}

impl Model {
    /// The state of a service that has applied nothing.
    pub fn new() -> Model {
        Model::default()
    }

    /// A hash of the whole state, equal for equal states, kept up to date by every change.
    pub fn fingerprint(&self) -> u128 {
        self.fingerprint
    }

    /// Applies `operation` as a replica would with `today` from the sequencer: returns its
    /// outcome and what to give [`Model::undo`] to put the state back.
    pub fn apply(&mut self, today: Date, operation: &Operation) -> (Outcome, Undo) {
        let today = Day::from_date(today);
        let mut undo = Undo::default();
        let outcome = match check_statically(today, operation) {
            Err(e) => Err(e),
            Ok(checked) => self.execute(today, checked, &mut undo),
        };
        (outcome, undo)
    }

    /// Puts back what one [`Model::apply`] changed.
    pub fn undo(&mut self, undo: Undo) {
        for change in undo.0.into_iter().rev() {
            match change {
                Change::Show(key, old) => {
                    self.put_show(key, old);
                }
                Change::Booking(customer, key, old) => {
                    self.put_booking(customer, key, old);
                }
            }
        }
    }

    fn execute(&mut self, today: Day, checked: Checked, undo: &mut Undo) -> Outcome {
        match checked {
            Checked::AddShow(key, capacity) => self.add_show(key, capacity, undo),
            Checked::RemoveShow(key) => self.remove_show(today, key, undo),
            Checked::Availability(movie) => Ok(Success::Availability(
                self.shows
                    .iter()
                    .filter(|(k, _)| k.movie == movie && k.id.day >= today)
                    .map(|(k, s)| ShowRemaining {
                        show_id: k.id.to_string(),
                        remaining: s.capacity - s.held,
                    })
                    .collect(),
            )),
            Checked::Book(customer, key, tickets) => {
                self.check_book(today, customer, key, tickets)?;
                let held = self.add_tickets(customer, key, tickets, undo);
                Ok(Success::Booked(Booked {
                    held,
                    remaining: self.remaining(key),
                }))
            }
            Checked::Schedule(customer) => Ok(Success::Schedule(
                self.customer_bookings(customer)
                    .map(|(k, tickets)| ScheduledBooking {
                        movie: k.movie.as_str().to_owned(),
                        show_id: k.id.to_string(),
                        tickets,
                    })
                    .collect(),
            )),
            Checked::Cancel(customer, key, tickets) => {
                let held = self.booked(customer, key).ok_or(BookingError::NotBooked)?;
                if key.id.day < today {
                    return Err(BookingError::PastShow);
                }
                if tickets > held {
                    return Err(BookingError::TooManyTickets(held));
                }
                Ok(Success::Cancelled(
                    self.remove_tickets(customer, key, tickets, undo),
                ))
            }
            Checked::Exchange(customer, old, new, tickets) => {
                let held = self.booked(customer, old).ok_or(BookingError::NotBooked)?;
                if old.id.day < today {
                    return Err(BookingError::PastShow);
                }
                if tickets > held {
                    return Err(BookingError::TooManyTickets(held));
                }
                // Book's checks run as if the tickets were already off the old booking: take
                // them off, and put them back if the new show refuses.
                let mut taken = Undo::default();
                let old_held = self.remove_tickets(customer, old, tickets, &mut taken);
                if let Err(e) = self.check_book(today, customer, new, tickets) {
                    self.undo(taken);
                    return Err(e);
                }
                undo.0.extend(taken.0);
                let new_held = self.add_tickets(customer, new, tickets, undo);
                Ok(Success::Exchanged(Exchanged { old_held, new_held }))
            }
        }
    }

    fn add_show(&mut self, key: ShowKey, capacity: u32, undo: &mut Undo) -> Outcome {
        match self.shows.get(&key).copied() {
            Some(show) if capacity < show.held => Err(BookingError::CapacityBelowBooked),
            Some(show) => {
                self.set_show(key, Some(Show { capacity, ..show }), undo);
                Ok(Success::ShowUpdated(show.capacity))
            }
            None => {
                self.set_show(key, Some(Show { capacity, held: 0 }), undo);
                Ok(Success::ShowAdded)
            }
        }
    }

    fn remove_show(&mut self, today: Day, key: ShowKey, undo: &mut Undo) -> Outcome {
        if !self.shows.contains_key(&key) {
            return Err(BookingError::ShowNotFound);
        }
        if key.id.day < today {
            return Err(BookingError::PastShow);
        }
        // Its bookings in ascending customer ID (the map is ordered by customer first).
        let holders: Vec<(User, u32)> = self
            .bookings
            .iter()
            .filter(|((_, k), _)| *k == key)
            .map(|((c, _), t)| (*c, *t))
            .collect();
        for &(customer, _) in &holders {
            self.set_booking(customer, key, None, undo);
        }
        self.set_show(key, None, undo);
        let (mut moved, mut dropped) = (Vec::new(), Vec::new());
        for (customer, tickets) in holders {
            // Same movie, same area, strictly after in show order, with room at this moment.
            let target = self
                .shows
                .range(key..)
                .map(|(k, s)| (*k, *s))
                .find(|(k, s)| {
                    k.movie == key.movie
                        && k.id.area == key.id.area
                        && k.id > key.id
                        && s.capacity - s.held >= tickets
                });
            match target {
                Some((to, _)) => {
                    self.add_tickets(customer, to, tickets, undo);
                    moved.push(MovedBooking {
                        customer: customer.to_string(),
                        to_show_id: to.id.to_string(),
                        tickets,
                    });
                }
                None => dropped.push(DroppedBooking {
                    customer: customer.to_string(),
                    tickets,
                }),
            }
        }
        Ok(Success::ShowRemoved(ShowRemoved { moved, dropped }))
    }

    /// Book's checks 3–7 (rules §5) for `tickets` of `key` by `customer`, in order.
    fn check_book(
        &self,
        today: Day,
        customer: User,
        key: ShowKey,
        tickets: u32,
    ) -> Result<(), BookingError> {
        if !self.shows.contains_key(&key) {
            return Err(BookingError::ShowNotFound);
        }
        if key.id.day < today {
            return Err(BookingError::PastShow);
        }
        let same_show_elsewhere = self.customer_bookings(customer).any(|(k, _)| {
            k.movie == key.movie
                && k.id.day == key.id.day
                && k.id.slot == key.id.slot
                && k.id.area != key.id.area
        });
        if same_show_elsewhere {
            return Err(BookingError::SameShowOtherArea);
        }
        let home = customer.area;
        if key.id.area != home && self.booked(customer, key).is_none() {
            let week = key.id.day.monday();
            let this_week_elsewhere = self
                .customer_bookings(customer)
                .filter(|(k, _)| k.id.area != home && k.id.day.monday() == week)
                .count();
            if this_week_elsewhere >= WEEKLY_LIMIT {
                return Err(BookingError::WeeklyLimit);
            }
        }
        let remaining = self.remaining(key);
        if tickets > remaining {
            return Err(BookingError::ShowFull(remaining));
        }
        Ok(())
    }

    fn remaining(&self, key: ShowKey) -> u32 {
        self.shows.get(&key).map_or(0, |s| s.capacity - s.held)
    }

    fn booked(&self, customer: User, key: ShowKey) -> Option<u32> {
        self.bookings.get(&(customer, key)).copied()
    }

    /// The customer's bookings, in show order.
    fn customer_bookings(&self, customer: User) -> impl Iterator<Item = (ShowKey, u32)> + '_ {
        self.bookings
            .range((customer, ShowKey::MIN)..=(customer, ShowKey::MAX))
            .map(|((_, k), t)| (*k, *t))
    }

    /// Adds tickets to a booking (created if absent) and to its show's count; the new held.
    fn add_tickets(&mut self, customer: User, key: ShowKey, tickets: u32, undo: &mut Undo) -> u32 {
        let held = self.booked(customer, key).unwrap_or(0) + tickets;
        self.set_booking(customer, key, Some(held), undo);
        held
    }

    /// Takes tickets off a booking (gone at 0) and its show's count; the held left.
    fn remove_tickets(
        &mut self,
        customer: User,
        key: ShowKey,
        tickets: u32,
        undo: &mut Undo,
    ) -> u32 {
        let held = self.booked(customer, key).unwrap_or(0) - tickets;
        self.set_booking(customer, key, (held > 0).then_some(held), undo);
        held
    }

    fn set_show(&mut self, key: ShowKey, show: Option<Show>, undo: &mut Undo) {
        let old = self.put_show(key, show);
        undo.0.push(Change::Show(key, old));
    }

    /// Sets a booking and keeps its show's held count (if the show exists) in step.
    fn set_booking(&mut self, customer: User, key: ShowKey, tickets: Option<u32>, undo: &mut Undo) {
        let old = self.put_booking(customer, key, tickets);
        undo.0.push(Change::Booking(customer, key, old));
    }

    fn put_show(&mut self, key: ShowKey, show: Option<Show>) -> Option<Show> {
        let old = match show {
            Some(s) => self.shows.insert(key, s),
            None => self.shows.remove(&key),
        };
        if let Some(o) = old {
            self.fingerprint ^= show_hash(key, o.capacity);
        }
        if let Some(s) = show {
            self.fingerprint ^= show_hash(key, s.capacity);
        }
        old
    }

    fn put_booking(&mut self, customer: User, key: ShowKey, tickets: Option<u32>) -> Option<u32> {
        let old = match tickets {
            Some(t) => self.bookings.insert((customer, key), t),
            None => self.bookings.remove(&(customer, key)),
        };
        let delta = i64::from(tickets.unwrap_or(0)) - i64::from(old.unwrap_or(0));
        if let Some(show) = self.shows.get_mut(&key) {
            // Bookings exist only on shows that exist, so the sum stays within the capacity.
            show.held = u32::try_from(i64::from(show.held) + delta).unwrap_or(0);
        }
        if let Some(o) = old {
            self.fingerprint ^= booking_hash(customer, key, o);
        }
        if let Some(t) = tickets {
            self.fingerprint ^= booking_hash(customer, key, t);
        }
        old
    }
}

impl ShowKey {
    const MIN: ShowKey = ShowKey {
        id: ShowId {
            day: Day(i32::MIN),
            slot: crate::ids::Slot::Morning,
            area: crate::ids::Area::Atw,
        },
        movie: Movie::Avatar,
    };
    const MAX: ShowKey = ShowKey {
        id: ShowId {
            day: Day(i32::MAX),
            slot: crate::ids::Slot::Evening,
            area: crate::ids::Area::Ver,
        },
        movie: Movie::Titanic,
    };
}

/// The checks made before any state is read — validation in signature order, authorisation,
/// and the few that depend on the request alone (add-show's window, exchange's same-show) — and
/// the parsed fields of an operation that passed them.
fn check_statically(today: Day, operation: &Operation) -> Result<Checked, BookingError> {
    use BookingError as E;
    let user = |s: &str| User::parse(s).ok_or(E::InvalidUserId);
    let movie = |s: &str| Movie::parse(s).ok_or(E::UnknownMovie);
    let show_id = |s: &str| ShowId::parse(s).ok_or(E::InvalidShowId);
    let tickets = |n: u32| {
        (1..=MAX_COUNT)
            .contains(&n)
            .then_some(n)
            .ok_or(E::InvalidTickets)
    };
    // Customer operations: the customer is no admin, and a customer acts only for itself.
    let authorised = |actor: User, customer: User| {
        let refused =
            customer.role == Role::Admin || (actor.role == Role::Customer && actor != customer);
        if refused {
            Err(E::NotAuthorized)
        } else {
            Ok(())
        }
    };
    // Admin operations: an admin of the show's area.
    let admin_of = |actor: User, id: ShowId| {
        if actor.role == Role::Admin && actor.area == id.area {
            Ok(())
        } else {
            Err(E::NotAuthorized)
        }
    };
    Ok(match operation {
        Operation::AddShow(o) => {
            let actor = user(&o.actor)?;
            let movie = movie(&o.movie)?;
            let id = show_id(&o.show_id)?;
            if !(1..=MAX_COUNT).contains(&o.capacity) {
                return Err(E::InvalidCapacity);
            }
            admin_of(actor, id)?;
            if id.day < today || id.day.0 > today.0 + WINDOW_DAYS {
                return Err(E::OutsideWindow);
            }
            Checked::AddShow(ShowKey { id, movie }, o.capacity)
        }
        Operation::RemoveShow(o) => {
            let actor = user(&o.actor)?;
            let movie = movie(&o.movie)?;
            let id = show_id(&o.show_id)?;
            admin_of(actor, id)?;
            Checked::RemoveShow(ShowKey { id, movie })
        }
        Operation::Availability(o) => {
            user(&o.actor)?;
            Checked::Availability(movie(&o.movie)?)
        }
        Operation::Book(o) => {
            let actor = user(&o.actor)?;
            let customer = user(&o.customer)?;
            let movie = movie(&o.movie)?;
            let id = show_id(&o.show_id)?;
            let n = tickets(o.tickets)?;
            authorised(actor, customer)?;
            Checked::Book(customer, ShowKey { id, movie }, n)
        }
        Operation::Schedule(o) => {
            let actor = user(&o.actor)?;
            let customer = user(&o.customer)?;
            authorised(actor, customer)?;
            Checked::Schedule(customer)
        }
        Operation::Cancel(o) => {
            let actor = user(&o.actor)?;
            let customer = user(&o.customer)?;
            let movie = movie(&o.movie)?;
            let id = show_id(&o.show_id)?;
            let n = tickets(o.tickets)?;
            authorised(actor, customer)?;
            Checked::Cancel(customer, ShowKey { id, movie }, n)
        }
        Operation::Exchange(o) => {
            let actor = user(&o.actor)?;
            let customer = user(&o.customer)?;
            let old = ShowKey {
                movie: movie(&o.old_movie)?,
                id: show_id(&o.old_show_id)?,
            };
            let new = ShowKey {
                movie: movie(&o.new_movie)?,
                id: show_id(&o.new_show_id)?,
            };
            let n = tickets(o.tickets)?;
            authorised(actor, customer)?;
            if old == new {
                return Err(E::SameShow);
            }
            Checked::Exchange(customer, old, new, n)
        }
    })
}

/// What `operation` may touch, from the request alone (the partitioning's input).
pub(crate) fn footprint(today: Date, operation: &Operation) -> Footprint {
    let today = Day::from_date(today);
    match check_statically(today, operation) {
        Err(_) => Footprint::Nothing,
        Ok(Checked::AddShow(key, _)) => Footprint::Show(key),
        Ok(Checked::RemoveShow(key)) => Footprint::RemoveShow(key),
        Ok(Checked::Availability(movie)) => Footprint::Movie(movie, today),
        Ok(Checked::Schedule(customer)) => Footprint::Customer(customer),
        Ok(Checked::Book(c, key, _) | Checked::Cancel(c, key, _)) => {
            Footprint::CustomerShow(c, key)
        }
        Ok(Checked::Exchange(c, old, new, _)) => Footprint::CustomerShows(c, old, new),
    }
}

fn show_hash(key: ShowKey, capacity: u32) -> u128 {
    hash128(0, show_bits(key), u64::from(capacity))
}

fn booking_hash(customer: User, key: ShowKey, tickets: u32) -> u128 {
    let who = (customer.area as u64) << 16 | u64::from(customer.number);
    hash128(1, show_bits(key), who << 32 | u64::from(tickets))
}

/// A show key packed into 64 bits (day, slot, area, movie): distinct keys, distinct bits.
fn show_bits(key: ShowKey) -> u64 {
    (u64::from(key.id.day.0 as u32) << 16)
        | (key.id.slot as u64) << 8
        | (key.id.area as u64) << 4
        | key.movie as u64
}

/// 128 well-mixed bits of (tag, a, b): two independently seeded SplitMix64 finalisers.
pub(crate) fn hash128(tag: u64, a: u64, b: u64) -> u128 {
    let lane = |seed: u64| {
        let x = mix64(seed ^ tag);
        let x = mix64(x ^ a);
        mix64(x ^ b)
    };
    u128::from(lane(0x9E37_79B9_7F4A_7C15)) << 64 | u128::from(lane(0xD1B5_4A32_D192_ED03))
}

fn mix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
