//! Stage 1: parsing. A WIT operation becomes a typed [`Command`], or the V step's error. The
//! fields are parsed in the order of the operation's signature and the first malformed one
//! decides. Nothing here looks at the state or at `today`.
use crate::model::{Movie, ShowKey, UserId};
use dmtbs_guest::{BookingError, Operation};

/// A capacity or ticket count, known to be in 1..=10000.
pub type Count = u32;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    AddShow {
        actor: UserId,
        show: ShowKey,
        capacity: Count,
    },
    RemoveShow {
        actor: UserId,
        show: ShowKey,
    },
    Availability {
        actor: UserId,
        movie: Movie,
    },
    Book {
        actor: UserId,
        customer: UserId,
        show: ShowKey,
        tickets: Count,
    },
    Schedule {
        actor: UserId,
        customer: UserId,
    },
    Cancel {
        actor: UserId,
        customer: UserId,
        show: ShowKey,
        tickets: Count,
    },
    Exchange {
        actor: UserId,
        customer: UserId,
        from: ShowKey,
        to: ShowKey,
        tickets: Count,
    },
}

fn user(text: &str) -> Result<UserId, BookingError> {
    UserId::parse(text).ok_or(BookingError::InvalidUserId)
}

fn movie(text: &str) -> Result<Movie, BookingError> {
    Movie::parse(text).ok_or(BookingError::UnknownMovie)
}

/// A movie field then its show-ID field, in that order.
fn show(movie_text: &str, show_id: &str) -> Result<ShowKey, BookingError> {
    let m = movie(movie_text)?;
    ShowKey::parse(m, show_id).ok_or(BookingError::InvalidShowId)
}

fn count(n: u32, error: BookingError) -> Result<Count, BookingError> {
    if (1..=10_000).contains(&n) {
        Ok(n)
    } else {
        Err(error)
    }
}

impl Command {
    pub fn parse(op: &Operation) -> Result<Command, BookingError> {
        Ok(match op {
            Operation::AddShow(o) => Command::AddShow {
                actor: user(&o.actor)?,
                show: show(&o.movie, &o.show_id)?,
                capacity: count(o.capacity, BookingError::InvalidCapacity)?,
            },
            Operation::RemoveShow(o) => Command::RemoveShow {
                actor: user(&o.actor)?,
                show: show(&o.movie, &o.show_id)?,
            },
            Operation::Availability(o) => Command::Availability {
                actor: user(&o.actor)?,
                movie: movie(&o.movie)?,
            },
            Operation::Book(o) => Command::Book {
                actor: user(&o.actor)?,
                customer: user(&o.customer)?,
                show: show(&o.movie, &o.show_id)?,
                tickets: count(o.tickets, BookingError::InvalidTickets)?,
            },
            Operation::Schedule(o) => Command::Schedule {
                actor: user(&o.actor)?,
                customer: user(&o.customer)?,
            },
            Operation::Cancel(o) => Command::Cancel {
                actor: user(&o.actor)?,
                customer: user(&o.customer)?,
                show: show(&o.movie, &o.show_id)?,
                tickets: count(o.tickets, BookingError::InvalidTickets)?,
            },
            Operation::Exchange(o) => Command::Exchange {
                actor: user(&o.actor)?,
                customer: user(&o.customer)?,
                from: show(&o.old_movie, &o.old_show_id)?,
                to: show(&o.new_movie, &o.new_show_id)?,
                tickets: count(o.tickets, BookingError::InvalidTickets)?,
            },
        })
    }
}
