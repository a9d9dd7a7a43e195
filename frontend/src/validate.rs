//! Input validation and canonicalisation: what people type becomes a well-formed [`Operation`]
//! or an [`Invalid`] naming the rule's error code — before anything is sequenced.
//!
//! People may type any letter case and stray spaces (`  atwc0001 `, `AVATAR`); the front end
//! trims, upper-cases identifiers and spells movies the system's way (rules §1, "front ends may
//! accept any letter case from people and canonicalise it"). Then it runs the rules' V step
//! (`docs/booking-rules.md` §1): every field in the order of the operation's signature, stopping
//! at the first malformed one. Replicas validate again and never canonicalise; the front end
//! checks first so that a malformed request never consumes a sequence number.

use chrono::NaiveDate;
use dmtbs_contract::{
    AddShow, Availability, Book, BookingError, Cancel, Exchange, Operation, RemoveShow, Schedule,
};
use serde::Serialize;

/// The three areas (rules §1), as they open user and show IDs.
pub const AREAS: [&str; 3] = ["ATW", "OUT", "VER"];
/// The three movies, spelled the way the system spells them (rules §1).
pub const MOVIES: [&str; 3] = ["Avatar", "Avengers", "Titanic"];
/// Smallest and largest capacity and ticket count (rules §1).
pub const COUNT_RANGE: std::ops::RangeInclusive<i64> = 1..=10_000;

/// A field that is not well-formed: the rule's error code plus what a person needs to fix it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field} {value:?}: {reason}")]
pub struct Invalid {
    /// One of `invalid-user-id`, `invalid-show-id`, `unknown-movie`, `invalid-capacity`,
    /// `invalid-tickets` — exactly what a replica would answer.
    pub error: BookingError,
    /// The field's name as the HTTP API spells it (`actor`, `customer`, `showId`, …).
    pub field: &'static str,
    /// The value as it was received (before canonicalisation).
    pub value: String,
    /// Why it is malformed, in words.
    pub reason: String,
}

/// An operation as received from a person: identifiers in any case, counts as any integer.
/// [`canonicalise`] turns it into an [`Operation`]. Serialises (camelCase, without the actor)
/// as the parameters of the audit log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged, rename_all_fields = "camelCase")]
pub enum RawOperation {
    AddShow {
        movie: String,
        show_id: String,
        capacity: i64,
    },
    RemoveShow {
        movie: String,
        show_id: String,
    },
    Availability {
        movie: String,
    },
    Book {
        customer: String,
        movie: String,
        show_id: String,
        tickets: i64,
    },
    Schedule {
        customer: String,
    },
    Cancel {
        customer: String,
        movie: String,
        show_id: String,
        tickets: i64,
    },
    Exchange {
        customer: String,
        old_movie: String,
        old_show_id: String,
        new_movie: String,
        new_show_id: String,
        tickets: i64,
    },
}

impl RawOperation {
    /// The operation's name in the rules (`add-show`, `book`, …).
    pub fn name(&self) -> &'static str {
        match self {
            RawOperation::AddShow { .. } => "add-show",
            RawOperation::RemoveShow { .. } => "remove-show",
            RawOperation::Availability { .. } => "availability",
            RawOperation::Book { .. } => "book",
            RawOperation::Schedule { .. } => "schedule",
            RawOperation::Cancel { .. } => "cancel",
            RawOperation::Exchange { .. } => "exchange",
        }
    }

    /// Whether this is an admin operation (`add-show`, `remove-show`, rules §4).
    pub fn is_admin_operation(&self) -> bool {
        matches!(
            self,
            RawOperation::AddShow { .. } | RawOperation::RemoveShow { .. }
        )
    }

    /// Splits a contract operation into its actor and its other fields (for the audit log and
    /// for re-validating a typed operation).
    pub fn from_operation(op: &Operation) -> (String, RawOperation) {
        let n = i64::from;
        match op {
            Operation::AddShow(o) => (
                o.actor.clone(),
                RawOperation::AddShow {
                    movie: o.movie.clone(),
                    show_id: o.show_id.clone(),
                    capacity: n(o.capacity),
                },
            ),
            Operation::RemoveShow(o) => (
                o.actor.clone(),
                RawOperation::RemoveShow {
                    movie: o.movie.clone(),
                    show_id: o.show_id.clone(),
                },
            ),
            Operation::Availability(o) => (
                o.actor.clone(),
                RawOperation::Availability {
                    movie: o.movie.clone(),
                },
            ),
            Operation::Book(o) => (
                o.actor.clone(),
                RawOperation::Book {
                    customer: o.customer.clone(),
                    movie: o.movie.clone(),
                    show_id: o.show_id.clone(),
                    tickets: n(o.tickets),
                },
            ),
            Operation::Schedule(o) => (
                o.actor.clone(),
                RawOperation::Schedule {
                    customer: o.customer.clone(),
                },
            ),
            Operation::Cancel(o) => (
                o.actor.clone(),
                RawOperation::Cancel {
                    customer: o.customer.clone(),
                    movie: o.movie.clone(),
                    show_id: o.show_id.clone(),
                    tickets: n(o.tickets),
                },
            ),
            Operation::Exchange(o) => (
                o.actor.clone(),
                RawOperation::Exchange {
                    customer: o.customer.clone(),
                    old_movie: o.old_movie.clone(),
                    old_show_id: o.old_show_id.clone(),
                    new_movie: o.new_movie.clone(),
                    new_show_id: o.new_show_id.clone(),
                    tickets: n(o.tickets),
                },
            ),
        }
    }
}

/// Canonicalises and validates `actor` plus `raw`, checking fields in the order of the
/// operation's signature (actor first) and stopping at the first malformed one.
pub fn canonicalise(actor: &str, raw: &RawOperation) -> Result<Operation, Invalid> {
    let actor = user_id("actor", actor)?;
    Ok(match raw {
        RawOperation::AddShow {
            movie,
            show_id: s,
            capacity,
        } => Operation::AddShow(AddShow {
            actor,
            movie: self::movie("movie", movie)?,
            show_id: show_id("showId", s)?,
            capacity: count("capacity", *capacity, BookingError::InvalidCapacity)?,
        }),
        RawOperation::RemoveShow { movie, show_id: s } => Operation::RemoveShow(RemoveShow {
            actor,
            movie: self::movie("movie", movie)?,
            show_id: show_id("showId", s)?,
        }),
        RawOperation::Availability { movie } => Operation::Availability(Availability {
            actor,
            movie: self::movie("movie", movie)?,
        }),
        RawOperation::Book {
            customer,
            movie,
            show_id: s,
            tickets,
        } => Operation::Book(Book {
            actor,
            customer: user_id("customer", customer)?,
            movie: self::movie("movie", movie)?,
            show_id: show_id("showId", s)?,
            tickets: count("tickets", *tickets, BookingError::InvalidTickets)?,
        }),
        RawOperation::Schedule { customer } => Operation::Schedule(Schedule {
            actor,
            customer: user_id("customer", customer)?,
        }),
        RawOperation::Cancel {
            customer,
            movie,
            show_id: s,
            tickets,
        } => Operation::Cancel(Cancel {
            actor,
            customer: user_id("customer", customer)?,
            movie: self::movie("movie", movie)?,
            show_id: show_id("showId", s)?,
            tickets: count("tickets", *tickets, BookingError::InvalidTickets)?,
        }),
        RawOperation::Exchange {
            customer,
            old_movie,
            old_show_id,
            new_movie,
            new_show_id,
            tickets,
        } => Operation::Exchange(Exchange {
            actor,
            customer: user_id("customer", customer)?,
            old_movie: movie("oldMovie", old_movie)?,
            old_show_id: show_id("oldShowId", old_show_id)?,
            new_movie: movie("newMovie", new_movie)?,
            new_show_id: show_id("newShowId", new_show_id)?,
            tickets: count("tickets", *tickets, BookingError::InvalidTickets)?,
        }),
    })
}

/// Canonicalises and validates an already typed operation (e.g. one built by a CLI).
pub fn canonicalise_operation(op: &Operation) -> Result<Operation, Invalid> {
    let (actor, raw) = RawOperation::from_operation(op);
    canonicalise(&actor, &raw)
}

fn invalid(error: BookingError, field: &'static str, value: &str, reason: String) -> Invalid {
    Invalid {
        error,
        field,
        value: value.to_owned(),
        reason,
    }
}

/// Checks the area prefix shared by user and show IDs.
fn area_reason(id: &str) -> Option<String> {
    let area = &id[..3];
    (!AREAS.contains(&area)).then(|| format!("unknown area {area:?} (expected ATW, OUT or VER)"))
}

/// A user ID, canonical: trimmed and upper-cased, then area + role `A`/`C` + 4 digits.
pub fn user_id(field: &'static str, value: &str) -> Result<String, Invalid> {
    let id = value.trim().to_ascii_uppercase();
    let fail = |reason: String| invalid(BookingError::InvalidUserId, field, value, reason);
    let b = id.as_bytes();
    if b.len() != 8 || !id.is_ascii() {
        return Err(fail(
            "a user ID is 8 characters: area, role A or C, 4 digits (e.g. ATWC0001)".into(),
        ));
    }
    if let Some(reason) = area_reason(&id) {
        return Err(fail(reason));
    }
    if !matches!(b[3], b'A' | b'C') {
        return Err(fail(format!(
            "unknown role {:?} (expected A for admin or C for customer)",
            b[3] as char
        )));
    }
    if !b[4..].iter().all(u8::is_ascii_digit) {
        return Err(fail("the last 4 characters must be digits".into()));
    }
    Ok(id)
}

/// A movie name, canonical: trimmed, matched case-insensitively, spelled the system's way.
pub fn movie(field: &'static str, value: &str) -> Result<String, Invalid> {
    let name = value.trim();
    MOVIES
        .iter()
        .find(|m| m.eq_ignore_ascii_case(name))
        .map(|m| (*m).to_owned())
        .ok_or_else(|| {
            invalid(
                BookingError::UnknownMovie,
                field,
                value,
                "the movies are Avatar, Avengers and Titanic".into(),
            )
        })
}

/// A show ID, canonical: trimmed and upper-cased, then area + slot `M`/`A`/`E` + `ddmmyy`, a date
/// that exists on the calendar (year 20yy).
pub fn show_id(field: &'static str, value: &str) -> Result<String, Invalid> {
    let id = value.trim().to_ascii_uppercase();
    let fail = |reason: String| invalid(BookingError::InvalidShowId, field, value, reason);
    let b = id.as_bytes();
    if b.len() != 10 || !id.is_ascii() {
        return Err(fail(
            "a show ID is 10 characters: area, slot M/A/E, date ddmmyy (e.g. ATWM251126)".into(),
        ));
    }
    if let Some(reason) = area_reason(&id) {
        return Err(fail(reason));
    }
    if !matches!(b[3], b'M' | b'A' | b'E') {
        return Err(fail(format!(
            "unknown slot {:?} (expected M morning, A afternoon or E evening)",
            b[3] as char
        )));
    }
    if !b[4..].iter().all(u8::is_ascii_digit) {
        return Err(fail("the date ddmmyy must be 6 digits".into()));
    }
    // Six ASCII digits were just checked, so each pair parses.
    let pair = |i: usize| u32::from((b[i] - b'0') * 10 + (b[i + 1] - b'0'));
    let (day, month, year) = (pair(4), pair(6), 2000 + pair(8) as i32);
    if NaiveDate::from_ymd_opt(year, month, day).is_none() {
        return Err(fail(format!(
            "{day:02}/{month:02}/{year} is not a date on the calendar"
        )));
    }
    Ok(id)
}

/// A capacity or ticket count: 1..=10000.
fn count(field: &'static str, value: i64, error: BookingError) -> Result<u32, Invalid> {
    if COUNT_RANGE.contains(&value) {
        // In 1..=10000, so it fits.
        Ok(value as u32)
    } else {
        Err(invalid(
            error,
            field,
            &value.to_string(),
            "must be a whole number from 1 to 10000".into(),
        ))
    }
}

/// Whether a canonical user ID is an admin's (role `A`).
pub fn is_admin(canonical_user_id: &str) -> bool {
    canonical_user_id.as_bytes().get(3) == Some(&b'A')
}
