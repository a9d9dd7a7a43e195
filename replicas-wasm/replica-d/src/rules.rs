//! The rules as data: for every operation, the fields its V step validates (in signature
//! order) and the ordered table of named checks that follow (docs/booking-rules.md §5).
//!
//! A check is a [`Rule`]: a name, a predicate over a read-only [`Ctx`] (the state, `today` and
//! the decoded request) that must *hold*, and the error it yields when it does not. The tables
//! below list the checks exactly in the spec's order; [`first_broken`] walks a table and stops
//! at the first check that fails. Nothing here changes the state: the changes are in
//! `effects.rs`, run only once every check of the table has held.

use alloc::vec;
use alloc::vec::Vec;

use dmtbs_guest::{
    AddShow, Availability, Book, BookingError, Cancel, Exchange, RemoveShow, Schedule,
};

use crate::cinema::{Cinema, MAX_COUNT};
use crate::ids::{Day, Movie, ShowId, ShowKey, UserId};

// ---- the V step ----------------------------------------------------------------------------

/// One field of a request as received, tagged with the kind that decides how it is validated.
#[derive(Clone, Copy, Debug)]
pub enum Field<'a> {
    User(&'a str),
    Movie(&'a str),
    /// A show ID (its movie is validated as its own field).
    ShowId(&'a str),
    Capacity(u32),
    Tickets(u32),
}

impl Field<'_> {
    /// The error this field yields when malformed (docs §1), or `None` when well-formed.
    pub fn fault(self) -> Option<BookingError> {
        match self {
            Field::User(s) => UserId::parse(s)
                .is_none()
                .then_some(BookingError::InvalidUserId),
            Field::Movie(s) => Movie::parse(s)
                .is_none()
                .then_some(BookingError::UnknownMovie),
            Field::ShowId(s) => ShowId::parse(s)
                .is_none()
                .then_some(BookingError::InvalidShowId),
            Field::Capacity(n) => {
                (!(1..=MAX_COUNT).contains(&n)).then_some(BookingError::InvalidCapacity)
            }
            Field::Tickets(n) => {
                (!(1..=MAX_COUNT).contains(&n)).then_some(BookingError::InvalidTickets)
            }
        }
    }
}

/// The V step: the first malformed field, in the order given, decides the error.
pub fn validate(fields: &[Field<'_>]) -> Result<(), BookingError> {
    match fields.iter().find_map(|f| f.fault()) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

// ---- checks --------------------------------------------------------------------------------

/// What every check may look at; nothing in it can be changed.
pub struct Ctx<'s, R> {
    pub cinema: &'s Cinema,
    pub today: Day,
    pub req: R,
}

/// One named check: `holds` must be true, else the request is refused with `otherwise`.
pub struct Rule<R> {
    pub name: &'static str,
    pub holds: fn(&Ctx<'_, R>) -> bool,
    pub otherwise: fn(&Ctx<'_, R>) -> BookingError,
}

/// Runs a table in order; the first check that does not hold decides the error.
pub fn first_broken<R>(rules: &[Rule<R>], ctx: &Ctx<'_, R>) -> Result<(), BookingError> {
    match rules.iter().find(|r| !(r.holds)(ctx)) {
        Some(rule) => Err((rule.otherwise)(ctx)),
        None => Ok(()),
    }
}

/// The names of a table's checks, in order (for tests and documentation).
pub fn names<R>(rules: &[Rule<R>]) -> Vec<&'static str> {
    rules.iter().map(|r| r.name).collect()
}

// ---- decoded requests ----------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
pub struct AddShowReq {
    pub actor: UserId,
    pub show: ShowKey,
    pub capacity: u32,
}

#[derive(Clone, Copy, Debug)]
pub struct RemoveShowReq {
    pub actor: UserId,
    pub show: ShowKey,
}

#[derive(Clone, Copy, Debug)]
pub struct AvailabilityReq {
    pub actor: UserId,
    pub movie: Movie,
}

#[derive(Clone, Copy, Debug)]
pub struct BookReq {
    pub actor: UserId,
    pub customer: UserId,
    pub show: ShowKey,
    pub tickets: u32,
}

#[derive(Clone, Copy, Debug)]
pub struct ScheduleReq {
    pub actor: UserId,
    pub customer: UserId,
}

#[derive(Clone, Copy, Debug)]
pub struct CancelReq {
    pub actor: UserId,
    pub customer: UserId,
    pub show: ShowKey,
    pub tickets: u32,
}

#[derive(Clone, Copy, Debug)]
pub struct ExchangeReq {
    pub actor: UserId,
    pub customer: UserId,
    pub old: ShowKey,
    pub new: ShowKey,
    pub tickets: u32,
}

/// Admin requests about one show: they share the authorisation check.
pub trait ForShow {
    fn actor(&self) -> UserId;
    fn show(&self) -> ShowKey;
}

impl ForShow for AddShowReq {
    fn actor(&self) -> UserId {
        self.actor
    }
    fn show(&self) -> ShowKey {
        self.show
    }
}

impl ForShow for RemoveShowReq {
    fn actor(&self) -> UserId {
        self.actor
    }
    fn show(&self) -> ShowKey {
        self.show
    }
}

/// Requests made for a customer: they share the authorisation check.
pub trait ForCustomer {
    fn actor(&self) -> UserId;
    fn customer(&self) -> UserId;
}

/// Requests that put tickets on a show: they share book's checks 3–7.
pub trait Aims {
    fn aim(&self) -> Aim;
}

/// Tickets about to go on `show` for `customer`, judged against the customer's bookings as
/// they would be after `minus` = (show, n) tickets were taken off (exchange's "as if").
#[derive(Clone, Copy, Debug)]
pub struct Aim {
    pub customer: UserId,
    pub show: ShowKey,
    pub tickets: u32,
    pub minus: Option<(ShowKey, u32)>,
}

macro_rules! for_customer {
    ($($t:ty),*) => {$(
        impl ForCustomer for $t {
            fn actor(&self) -> UserId {
                self.actor
            }
            fn customer(&self) -> UserId {
                self.customer
            }
        }
    )*};
}
for_customer!(BookReq, ScheduleReq, CancelReq, ExchangeReq);

impl Aims for BookReq {
    fn aim(&self) -> Aim {
        Aim {
            customer: self.customer,
            show: self.show,
            tickets: self.tickets,
            minus: None,
        }
    }
}

impl Aims for ExchangeReq {
    fn aim(&self) -> Aim {
        Aim {
            customer: self.customer,
            show: self.new,
            tickets: self.tickets,
            minus: Some((self.old, self.tickets)),
        }
    }
}

// ---- predicates ----------------------------------------------------------------------------

/// Admin operations: an admin of the show's own area.
fn admin_of_area<R: ForShow>(c: &Ctx<'_, R>) -> bool {
    let (actor, show) = (c.req.actor(), c.req.show());
    actor.is_admin() && actor.area() == show.area
}

/// Customer operations: never for an admin's ID; a customer actor only for itself.
fn may_act_for_customer<R: ForCustomer>(c: &Ctx<'_, R>) -> bool {
    let (actor, customer) = (c.req.actor(), c.req.customer());
    !customer.is_admin() && (actor.is_admin() || actor == customer)
}

fn target_exists<R: Aims>(c: &Ctx<'_, R>) -> bool {
    c.cinema.seats(c.req.aim().show).is_some()
}

fn target_not_past<R: Aims>(c: &Ctx<'_, R>) -> bool {
    !c.req.aim().show.date.is_past(c.today)
}

/// No booking of the same movie at the same date and slot in another area.
fn no_same_show_elsewhere<R: Aims>(c: &Ctx<'_, R>) -> bool {
    let aim = c.req.aim();
    !c.cinema.holdings(aim.customer, aim.minus).any(|l| {
        l.show.movie == aim.show.movie && l.show.same_time(aim.show) && l.show.area != aim.show.area
    })
}

/// At most 3 shows outside the home area in the target's week, unless this one is held already
/// or is in the home area.
fn within_weekly_limit<R: Aims>(c: &Ctx<'_, R>) -> bool {
    let aim = c.req.aim();
    let home = aim.customer.area();
    if aim.show.area == home {
        return true;
    }
    let mut held = c.cinema.holdings(aim.customer, aim.minus);
    if held.any(|l| l.show == aim.show) {
        return true;
    }
    let week = aim.show.date.monday();
    let away = c
        .cinema
        .holdings(aim.customer, aim.minus)
        .filter(|l| l.show.area != home && l.show.date.monday() == week)
        .count();
    away < 3
}

fn target_remaining<R: Aims>(c: &Ctx<'_, R>) -> u32 {
    c.cinema
        .seats(c.req.aim().show)
        .map_or(0, |s| s.remaining())
}

fn target_has_seats<R: Aims>(c: &Ctx<'_, R>) -> bool {
    c.req.aim().tickets <= target_remaining(c)
}

fn show_full<R: Aims>(c: &Ctx<'_, R>) -> BookingError {
    BookingError::ShowFull(target_remaining(c))
}

// ---- the tables ----------------------------------------------------------------------------

pub const ADD_SHOW: &[Rule<AddShowReq>] = &[
    Rule {
        name: "admin of the show's area",
        holds: admin_of_area,
        otherwise: |_| BookingError::NotAuthorized,
    },
    Rule {
        name: "show date in the window",
        holds: |c| c.req.show.date.in_window(c.today),
        otherwise: |_| BookingError::OutsideWindow,
    },
    Rule {
        name: "capacity covers the tickets held",
        holds: |c| {
            c.cinema
                .seats(c.req.show)
                .is_none_or(|s| c.req.capacity >= s.sold)
        },
        otherwise: |_| BookingError::CapacityBelowBooked,
    },
];

pub const REMOVE_SHOW: &[Rule<RemoveShowReq>] = &[
    Rule {
        name: "admin of the show's area",
        holds: admin_of_area,
        otherwise: |_| BookingError::NotAuthorized,
    },
    Rule {
        name: "show exists",
        holds: |c| c.cinema.seats(c.req.show).is_some(),
        otherwise: |_| BookingError::ShowNotFound,
    },
    Rule {
        name: "show not past",
        holds: |c| !c.req.show.date.is_past(c.today),
        otherwise: |_| BookingError::PastShow,
    },
];

/// Availability is open to every well-formed user: V is its only check.
pub const AVAILABILITY: &[Rule<AvailabilityReq>] = &[];

pub const BOOK: &[Rule<BookReq>] = &[
    Rule {
        name: "may act for the customer",
        holds: may_act_for_customer,
        otherwise: |_| BookingError::NotAuthorized,
    },
    Rule {
        name: "show exists",
        holds: target_exists,
        otherwise: |_| BookingError::ShowNotFound,
    },
    Rule {
        name: "show not past",
        holds: target_not_past,
        otherwise: |_| BookingError::PastShow,
    },
    Rule {
        name: "no same show in another area",
        holds: no_same_show_elsewhere,
        otherwise: |_| BookingError::SameShowOtherArea,
    },
    Rule {
        name: "within the weekly limit",
        holds: within_weekly_limit,
        otherwise: |_| BookingError::WeeklyLimit,
    },
    Rule {
        name: "enough seats left",
        holds: target_has_seats,
        otherwise: show_full,
    },
];

pub const SCHEDULE: &[Rule<ScheduleReq>] = &[Rule {
    name: "may act for the customer",
    holds: may_act_for_customer,
    otherwise: |_| BookingError::NotAuthorized,
}];

pub const CANCEL: &[Rule<CancelReq>] = &[
    Rule {
        name: "may act for the customer",
        holds: may_act_for_customer,
        otherwise: |_| BookingError::NotAuthorized,
    },
    Rule {
        name: "booking exists",
        holds: |c| c.cinema.held(c.req.customer, c.req.show) > 0,
        otherwise: |_| BookingError::NotBooked,
    },
    Rule {
        name: "show not past",
        holds: |c| !c.req.show.date.is_past(c.today),
        otherwise: |_| BookingError::PastShow,
    },
    Rule {
        name: "no more tickets than held",
        holds: |c| c.req.tickets <= c.cinema.held(c.req.customer, c.req.show),
        otherwise: |c| BookingError::TooManyTickets(c.cinema.held(c.req.customer, c.req.show)),
    },
];

pub const EXCHANGE: &[Rule<ExchangeReq>] = &[
    Rule {
        name: "may act for the customer",
        holds: may_act_for_customer,
        otherwise: |_| BookingError::NotAuthorized,
    },
    Rule {
        name: "old and new shows differ",
        holds: |c| c.req.old != c.req.new,
        otherwise: |_| BookingError::SameShow,
    },
    Rule {
        name: "old booking exists",
        holds: |c| c.cinema.held(c.req.customer, c.req.old) > 0,
        otherwise: |_| BookingError::NotBooked,
    },
    Rule {
        name: "old show not past",
        holds: |c| !c.req.old.date.is_past(c.today),
        otherwise: |_| BookingError::PastShow,
    },
    Rule {
        name: "no more tickets than held on the old show",
        holds: |c| c.req.tickets <= c.cinema.held(c.req.customer, c.req.old),
        otherwise: |c| BookingError::TooManyTickets(c.cinema.held(c.req.customer, c.req.old)),
    },
    // Book's checks 3–7 on the new show, seen "as if" the tickets had left the old booking
    // (`ExchangeReq::aim`).
    Rule {
        name: "new show exists",
        holds: target_exists,
        otherwise: |_| BookingError::ShowNotFound,
    },
    Rule {
        name: "new show not past",
        holds: target_not_past,
        otherwise: |_| BookingError::PastShow,
    },
    Rule {
        name: "no same show in another area",
        holds: no_same_show_elsewhere,
        otherwise: |_| BookingError::SameShowOtherArea,
    },
    Rule {
        name: "within the weekly limit",
        holds: within_weekly_limit,
        otherwise: |_| BookingError::WeeklyLimit,
    },
    Rule {
        name: "enough seats left on the new show",
        holds: target_has_seats,
        otherwise: show_full,
    },
];

// ---- V fields and decoding, per operation ----------------------------------------------------

/// The operation's fields in signature order, for the V step.
pub trait Fields {
    fn fields(&self) -> Vec<Field<'_>>;
}

impl Fields for AddShow {
    fn fields(&self) -> Vec<Field<'_>> {
        vec![
            Field::User(&self.actor),
            Field::Movie(&self.movie),
            Field::ShowId(&self.show_id),
            Field::Capacity(self.capacity),
        ]
    }
}

impl Fields for RemoveShow {
    fn fields(&self) -> Vec<Field<'_>> {
        vec![
            Field::User(&self.actor),
            Field::Movie(&self.movie),
            Field::ShowId(&self.show_id),
        ]
    }
}

impl Fields for Availability {
    fn fields(&self) -> Vec<Field<'_>> {
        vec![Field::User(&self.actor), Field::Movie(&self.movie)]
    }
}

impl Fields for Book {
    fn fields(&self) -> Vec<Field<'_>> {
        vec![
            Field::User(&self.actor),
            Field::User(&self.customer),
            Field::Movie(&self.movie),
            Field::ShowId(&self.show_id),
            Field::Tickets(self.tickets),
        ]
    }
}

impl Fields for Schedule {
    fn fields(&self) -> Vec<Field<'_>> {
        vec![Field::User(&self.actor), Field::User(&self.customer)]
    }
}

impl Fields for Cancel {
    fn fields(&self) -> Vec<Field<'_>> {
        vec![
            Field::User(&self.actor),
            Field::User(&self.customer),
            Field::Movie(&self.movie),
            Field::ShowId(&self.show_id),
            Field::Tickets(self.tickets),
        ]
    }
}

impl Fields for Exchange {
    fn fields(&self) -> Vec<Field<'_>> {
        vec![
            Field::User(&self.actor),
            Field::User(&self.customer),
            Field::Movie(&self.old_movie),
            Field::ShowId(&self.old_show_id),
            Field::Movie(&self.new_movie),
            Field::ShowId(&self.new_show_id),
            Field::Tickets(self.tickets),
        ]
    }
}

/// Typed values of fields that passed V. Each returns `None` only for a malformed field,
/// which V has already refused.
pub fn user(s: &str) -> Option<UserId> {
    UserId::parse(s)
}

pub fn show(movie: &str, id: &str) -> Option<ShowKey> {
    Some(ShowKey::new(Movie::parse(movie)?, ShowId::parse(id)?))
}

pub fn movie(s: &str) -> Option<Movie> {
    Movie::parse(s)
}
