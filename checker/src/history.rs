//! What the clients observed: per operation, who sent it, when, and what came back — or that
//! nothing came back.

use std::fmt;
use std::time::Duration;

use dmtbs_contract::{BookingError, Date, Operation, Outcome, Success};

/// How one operation ended for its client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Completion {
    /// The client was answered at `at` with `outcome`.
    Returned { at: Duration, outcome: Outcome },
    /// No answer (a timeout, a 5xx, a broken connection, a crashed client): the operation may
    /// or may not have taken effect, at any moment after it was invoked.
    Unknown,
}

/// One operation as its client saw it. Times are offsets from one clock's origin, shared by
/// every client of the history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Op {
    /// Which client sent it (for explanations; the checker orders by time alone).
    pub client: u32,
    /// The `today` the sequencer is expected to stamp on it (the rules' only clock).
    pub today: Date,
    pub operation: Operation,
    /// When the client sent it.
    pub invoke: Duration,
    pub completion: Completion,
}

impl Op {
    /// When the client was answered, if it was.
    pub fn returned_at(&self) -> Option<Duration> {
        match self.completion {
            Completion::Returned { at, .. } => Some(at),
            Completion::Unknown => None,
        }
    }

    /// What the client was answered, if it was.
    pub fn outcome(&self) -> Option<&Outcome> {
        match &self.completion {
            Completion::Returned { outcome, .. } => Some(outcome),
            Completion::Unknown => None,
        }
    }
}

/// A whole history: the operations of every client, in any order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct History {
    pub ops: Vec<Op>,
}

impl History {
    pub fn new() -> History {
        History::default()
    }

    /// Adds an operation; its index in [`History::ops`], which explanations use (`#index`).
    pub fn push(&mut self, op: Op) -> usize {
        self.ops.push(op);
        self.ops.len() - 1
    }

    pub fn len(&self) -> usize {
        self.ops.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

/// An operation in one line: `book ATWC0001→ATWC0001 Avatar ATWM251126 ×2`.
pub struct ShowOperation<'a>(pub &'a Operation);

impl fmt::Display for ShowOperation<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The actor is shown only when it is not the customer itself.
        let who = |f: &mut fmt::Formatter<'_>, actor: &str, customer: &str| {
            if actor == customer {
                write!(f, "{customer}")
            } else {
                write!(f, "{customer} (by {actor})")
            }
        };
        match self.0 {
            Operation::AddShow(o) => write!(
                f,
                "add-show {} {} {} capacity {}",
                o.actor, o.movie, o.show_id, o.capacity
            ),
            Operation::RemoveShow(o) => {
                write!(f, "remove-show {} {} {}", o.actor, o.movie, o.show_id)
            }
            Operation::Availability(o) => write!(f, "availability {} {}", o.actor, o.movie),
            Operation::Book(o) => {
                write!(f, "book ")?;
                who(f, &o.actor, &o.customer)?;
                write!(f, " {} {} ×{}", o.movie, o.show_id, o.tickets)
            }
            Operation::Schedule(o) => {
                write!(f, "schedule ")?;
                who(f, &o.actor, &o.customer)
            }
            Operation::Cancel(o) => {
                write!(f, "cancel ")?;
                who(f, &o.actor, &o.customer)?;
                write!(f, " {} {} ×{}", o.movie, o.show_id, o.tickets)
            }
            Operation::Exchange(o) => {
                write!(f, "exchange ")?;
                who(f, &o.actor, &o.customer)?;
                write!(
                    f,
                    " {} {} → {} {} ×{}",
                    o.old_movie, o.old_show_id, o.new_movie, o.new_show_id, o.tickets
                )
            }
        }
    }
}

/// An outcome in one line: `booked held 2 remaining 8`, `show-full (2 left)`.
pub struct ShowOutcome<'a>(pub &'a Outcome);

impl fmt::Display for ShowOutcome<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Ok(Success::ShowAdded) => write!(f, "show-added"),
            Ok(Success::ShowUpdated(old)) => write!(f, "show-updated (was {old})"),
            Ok(Success::ShowRemoved(r)) => {
                write!(f, "show-removed moved [")?;
                for (i, m) in r.moved.iter().enumerate() {
                    let sep = if i == 0 { "" } else { ", " };
                    write!(f, "{sep}{} → {} ×{}", m.customer, m.to_show_id, m.tickets)?;
                }
                write!(f, "] dropped [")?;
                for (i, d) in r.dropped.iter().enumerate() {
                    let sep = if i == 0 { "" } else { ", " };
                    write!(f, "{sep}{} ×{}", d.customer, d.tickets)?;
                }
                write!(f, "]")
            }
            Ok(Success::Availability(shows)) => {
                write!(f, "availability [")?;
                for (i, s) in shows.iter().enumerate() {
                    let sep = if i == 0 { "" } else { ", " };
                    write!(f, "{sep}{} {} left", s.show_id, s.remaining)?;
                }
                write!(f, "]")
            }
            Ok(Success::Booked(b)) => {
                write!(f, "booked held {} remaining {}", b.held, b.remaining)
            }
            Ok(Success::Schedule(bookings)) => {
                write!(f, "schedule [")?;
                for (i, b) in bookings.iter().enumerate() {
                    let sep = if i == 0 { "" } else { ", " };
                    write!(f, "{sep}{} {} ×{}", b.movie, b.show_id, b.tickets)?;
                }
                write!(f, "]")
            }
            Ok(Success::Cancelled(held)) => write!(f, "cancelled held {held}"),
            Ok(Success::Exchanged(e)) => {
                write!(
                    f,
                    "exchanged old held {} new held {}",
                    e.old_held, e.new_held
                )
            }
            Err(BookingError::ShowFull(left)) => write!(f, "show-full ({left} left)"),
            Err(BookingError::TooManyTickets(held)) => {
                write!(f, "too-many-tickets ({held} held)")
            }
            Err(e) => write!(f, "{}", error_code(e)),
        }
    }
}

/// The rules' code of an error without detail.
fn error_code(e: &BookingError) -> &'static str {
    match e {
        BookingError::InvalidUserId => "invalid-user-id",
        BookingError::InvalidShowId => "invalid-show-id",
        BookingError::UnknownMovie => "unknown-movie",
        BookingError::InvalidCapacity => "invalid-capacity",
        BookingError::InvalidTickets => "invalid-tickets",
        BookingError::NotAuthorized => "not-authorized",
        BookingError::OutsideWindow => "outside-window",
        BookingError::ShowNotFound => "show-not-found",
        BookingError::PastShow => "past-show",
        BookingError::CapacityBelowBooked => "capacity-below-booked",
        BookingError::SameShowOtherArea => "same-show-other-area",
        BookingError::WeeklyLimit => "weekly-limit",
        BookingError::ShowFull(_) => "show-full",
        BookingError::NotBooked => "not-booked",
        BookingError::TooManyTickets(_) => "too-many-tickets",
        BookingError::SameShow => "same-show",
    }
}

/// One operation of a history in one line: `#12 client 3 [1.203s → 1.210s] book … ⇒ booked …`.
pub struct ShowOp<'a>(pub usize, pub &'a Op);

impl fmt::Display for ShowOp<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let op = self.1;
        write!(
            f,
            "#{} client {} [{:.6}s → ",
            self.0,
            op.client,
            op.invoke.as_secs_f64()
        )?;
        match &op.completion {
            Completion::Returned { at, outcome } => write!(
                f,
                "{:.6}s] {} ⇒ {}",
                at.as_secs_f64(),
                ShowOperation(&op.operation),
                ShowOutcome(outcome)
            ),
            Completion::Unknown => write!(f, "?] {} ⇒ no answer", ShowOperation(&op.operation)),
        }
    }
}
