//! Input validation and canonicalisation: what people type becomes a well-formed [`Operation`]
//! or an [`Invalid`] naming the rule's error code — before anything is sequenced.
//!
//! People may type any letter case (`atwc0001`, `AVATAR`); the front end upper-cases identifiers
//! and spells movies the system's way — the only canonicalisation the rules allow (rules §1,
//! "front ends may accept any letter case from people and canonicalise it"). Nothing is trimmed:
//! a space, tab, no-break space or any other byte around a value makes it malformed, exactly as a
//! replica would judge it. Then the front end runs the rules' V step (`docs/booking-rules.md`
//! §1): every field in the order of the operation's signature, stopping at the first malformed
//! one. Replicas validate again and never canonicalise; the front end checks first so that a
//! malformed request never consumes a sequence number.
//!
//! **Counts.** A capacity or ticket count is well-formed only as a plain integer (JSON's integer
//! syntax, `-?(0|[1-9][0-9]*)`) from 1 to 10000, in a JSON body and in a query alike; anything
//! else that is a number or a query value — `1.5`, `2.0`, `1e0`, `+1`, `1 `, `2^70`, `abc` — is
//! the rule's `invalid-capacity`/`invalid-tickets` ([`RawCount`]).
//!
//! **Echoes.** A refused value is quoted back (in [`Invalid`], the error message and the audit log)
//! cut to [`MAX_ECHO`] bytes ([`clip`]), so a huge field is never repeated in full.

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
/// How much of a received value is quoted back in an error or the audit log, in bytes: longer
/// than any well-formed value, short enough that an attacker's megabyte is not repeated.
pub const MAX_ECHO: usize = 64;

/// `value` as it may be quoted back: itself when at most [`MAX_ECHO`] bytes, otherwise its first
/// bytes (cut at a character boundary) and its length.
pub fn clip(value: &str) -> String {
    if value.len() <= MAX_ECHO {
        return value.to_owned();
    }
    let mut end = MAX_ECHO;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &value[..end], value.len())
}

/// A capacity or ticket count as received: a plain integer, or anything else a person sent where
/// a count belongs (a JSON number that is not a plain integer, a query value) — which
/// [`canonicalise`] refuses with the rule's code. Serialises as the number, or as the text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum RawCount {
    /// A plain integer (not necessarily in range).
    Integer(i64),
    /// Not a plain integer that fits in 64 bits: the value as received (clipped, [`clip`]).
    Other(String),
}

impl From<i64> for RawCount {
    fn from(n: i64) -> Self {
        RawCount::Integer(n)
    }
}

impl RawCount {
    /// A JSON number: an integer when JSON wrote one that fits (`2`, `-1`), otherwise its text
    /// (`2.0`, `1e0`, `1.5`, `1180591620717411303424`).
    pub fn from_json(n: &serde_json::Number) -> Self {
        match n.as_i64() {
            Some(i) => RawCount::Integer(i),
            None => RawCount::Other(clip(&n.to_string())),
        }
    }

    /// A query value: an integer only when it is written the way JSON writes one (no sign
    /// other than a leading `-`, no leading zero, no space, no fraction or exponent).
    pub fn from_text(text: &str) -> Self {
        let digits = text.strip_prefix('-').unwrap_or(text);
        let plain = !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit())
            && (digits == "0" || !digits.starts_with('0'));
        match text.parse::<i64>() {
            Ok(i) if plain => RawCount::Integer(i),
            _ => RawCount::Other(clip(text)),
        }
    }
}

impl<'de> serde::Deserialize<'de> for RawCount {
    /// Any JSON number; anything else (a string, `null`, …) is a type error.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde_json::Number::deserialize(d).map(|n| RawCount::from_json(&n))
    }
}

/// A field that is not well-formed: the rule's error code plus what a person needs to fix it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field} {value:?}: {reason}")]
pub struct Invalid {
    /// One of `invalid-user-id`, `invalid-show-id`, `unknown-movie`, `invalid-capacity`,
    /// `invalid-tickets` — exactly what a replica would answer.
    pub error: BookingError,
    /// The field's name as the HTTP API spells it (`actor`, `customer`, `showId`, …).
    pub field: &'static str,
    /// The value as it was received (before canonicalisation), clipped to [`MAX_ECHO`] bytes.
    pub value: String,
    /// Why it is malformed, in words.
    pub reason: String,
}

/// An operation as received from a person: identifiers in any case, counts as received.
/// [`canonicalise`] turns it into an [`Operation`]. Serialises (camelCase, without the actor)
/// as the parameters of the audit log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged, rename_all_fields = "camelCase")]
pub enum RawOperation {
    AddShow {
        movie: String,
        show_id: String,
        capacity: RawCount,
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
        tickets: RawCount,
    },
    Schedule {
        customer: String,
    },
    Cancel {
        customer: String,
        movie: String,
        show_id: String,
        tickets: RawCount,
    },
    Exchange {
        customer: String,
        old_movie: String,
        old_show_id: String,
        new_movie: String,
        new_show_id: String,
        tickets: RawCount,
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

    /// This operation as it may be quoted back in the audit log: every text field clipped
    /// ([`clip`]).
    pub fn clipped(&self) -> RawOperation {
        let mut r = self.clone();
        let fields: Vec<&mut String> = match &mut r {
            RawOperation::AddShow { movie, show_id, .. }
            | RawOperation::RemoveShow { movie, show_id } => vec![movie, show_id],
            RawOperation::Availability { movie } => vec![movie],
            RawOperation::Book {
                customer,
                movie,
                show_id,
                ..
            }
            | RawOperation::Cancel {
                customer,
                movie,
                show_id,
                ..
            } => vec![customer, movie, show_id],
            RawOperation::Schedule { customer } => vec![customer],
            RawOperation::Exchange {
                customer,
                old_movie,
                old_show_id,
                new_movie,
                new_show_id,
                ..
            } => vec![customer, old_movie, old_show_id, new_movie, new_show_id],
        };
        for f in fields {
            if f.len() > MAX_ECHO {
                *f = clip(f);
            }
        }
        r
    }

    /// Splits a contract operation into its actor and its other fields (for the audit log and
    /// for re-validating a typed operation).
    pub fn from_operation(op: &Operation) -> (String, RawOperation) {
        let n = |c: u32| RawCount::Integer(i64::from(c));
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
            capacity: count("capacity", capacity, BookingError::InvalidCapacity)?,
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
            tickets: count("tickets", tickets, BookingError::InvalidTickets)?,
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
            tickets: count("tickets", tickets, BookingError::InvalidTickets)?,
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
            tickets: count("tickets", tickets, BookingError::InvalidTickets)?,
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
        value: clip(value),
        reason,
    }
}

/// Checks the area prefix shared by user and show IDs.
fn area_reason(id: &str) -> Option<String> {
    let area = &id[..3];
    (!AREAS.contains(&area)).then(|| format!("unknown area {area:?} (expected ATW, OUT or VER)"))
}

/// A user ID, canonical: upper-cased, then area + role `A`/`C` + 4 digits (nothing trimmed).
pub fn user_id(field: &'static str, value: &str) -> Result<String, Invalid> {
    let fail = |reason: String| invalid(BookingError::InvalidUserId, field, value, reason);
    // Length first, so a huge value is never copied.
    if value.len() != 8 || !value.is_ascii() {
        return Err(fail(
            "a user ID is 8 characters: area, role A or C, 4 digits (e.g. ATWC0001), nothing \
             around them"
                .into(),
        ));
    }
    let id = value.to_ascii_uppercase();
    let b = id.as_bytes();
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

/// A movie name, canonical: matched ignoring ASCII letter case (nothing trimmed), spelled the
/// system's way.
pub fn movie(field: &'static str, value: &str) -> Result<String, Invalid> {
    MOVIES
        .iter()
        .find(|m| m.eq_ignore_ascii_case(value))
        .map(|m| (*m).to_owned())
        .ok_or_else(|| {
            invalid(
                BookingError::UnknownMovie,
                field,
                value,
                "the movies are Avatar, Avengers and Titanic, nothing around them".into(),
            )
        })
}

/// A show ID, canonical: upper-cased (nothing trimmed), then area + slot `M`/`A`/`E` + `ddmmyy`,
/// a date that exists on the calendar (year 20yy).
pub fn show_id(field: &'static str, value: &str) -> Result<String, Invalid> {
    let fail = |reason: String| invalid(BookingError::InvalidShowId, field, value, reason);
    if value.len() != 10 || !value.is_ascii() {
        return Err(fail(
            "a show ID is 10 characters: area, slot M/A/E, date ddmmyy (e.g. ATWM251126), \
             nothing around them"
                .into(),
        ));
    }
    let id = value.to_ascii_uppercase();
    let b = id.as_bytes();
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

/// A capacity or ticket count: a plain integer in 1..=10000.
fn count(field: &'static str, value: &RawCount, error: BookingError) -> Result<u32, Invalid> {
    match value {
        // In 1..=10000, so it fits.
        RawCount::Integer(n) if COUNT_RANGE.contains(n) => Ok(*n as u32),
        RawCount::Integer(n) => Err(invalid(
            error,
            field,
            &n.to_string(),
            "must be a whole number from 1 to 10000".into(),
        )),
        RawCount::Other(text) => Err(invalid(
            error,
            field,
            text,
            "must be a whole number from 1 to 10000, written as a plain integer (no sign, \
             fraction, exponent or space)"
                .into(),
        )),
    }
}

/// Whether a canonical user ID is an admin's (role `A`).
pub fn is_admin(canonical_user_id: &str) -> bool {
    canonical_user_id.as_bytes().get(3) == Some(&b'A')
}

/// The actor an operation names, as it names it.
pub fn actor(op: &Operation) -> &str {
    op.actor()
}
