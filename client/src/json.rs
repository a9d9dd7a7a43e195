//! The API's JSON shapes, decoded into the contract's types.
//!
//! The front end encodes them (`dmtbs_frontend::http::success_json`, `error_code`); the tests
//! below decode everything it can encode, so the two cannot drift apart silently.

use dmtbs_contract::{
    Booked, BookingError, DroppedBooking, Exchanged, MovedBooking, ScheduledBooking, ShowRemaining,
    ShowRemoved, Success,
};
use serde::Deserialize;
use serde_json::Value;

use crate::RmId;

/// A success body: `{"outcome": "<kind>", ...fields in camelCase}`.
#[derive(Deserialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
enum SuccessBody {
    ShowAdded,
    #[serde(rename_all = "camelCase")]
    ShowUpdated {
        old_capacity: u32,
    },
    ShowRemoved {
        moved: Vec<MovedJson>,
        dropped: Vec<DroppedJson>,
    },
    Availability {
        shows: Vec<ShowRemainingJson>,
    },
    Booked {
        held: u32,
        remaining: u32,
    },
    Schedule {
        bookings: Vec<ScheduledJson>,
    },
    Cancelled {
        held: u32,
    },
    #[serde(rename_all = "camelCase")]
    Exchanged {
        old_held: u32,
        new_held: u32,
    },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MovedJson {
    customer: String,
    to_show_id: String,
    tickets: u32,
}

#[derive(Deserialize)]
struct DroppedJson {
    customer: String,
    tickets: u32,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ShowRemainingJson {
    show_id: String,
    remaining: u32,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ScheduledJson {
    movie: String,
    show_id: String,
    tickets: u32,
}

/// Decodes a success body.
pub(crate) fn success(body: &[u8]) -> Result<Success, serde_json::Error> {
    Ok(match serde_json::from_slice::<SuccessBody>(body)? {
        SuccessBody::ShowAdded => Success::ShowAdded,
        SuccessBody::ShowUpdated { old_capacity } => Success::ShowUpdated(old_capacity),
        SuccessBody::ShowRemoved { moved, dropped } => Success::ShowRemoved(ShowRemoved {
            moved: moved
                .into_iter()
                .map(|m| MovedBooking {
                    customer: m.customer,
                    to_show_id: m.to_show_id,
                    tickets: m.tickets,
                })
                .collect(),
            dropped: dropped
                .into_iter()
                .map(|d| DroppedBooking {
                    customer: d.customer,
                    tickets: d.tickets,
                })
                .collect(),
        }),
        SuccessBody::Availability { shows } => Success::Availability(
            shows
                .into_iter()
                .map(|s| ShowRemaining {
                    show_id: s.show_id,
                    remaining: s.remaining,
                })
                .collect(),
        ),
        SuccessBody::Booked { held, remaining } => Success::Booked(Booked { held, remaining }),
        SuccessBody::Schedule { bookings } => Success::Schedule(
            bookings
                .into_iter()
                .map(|b| ScheduledBooking {
                    movie: b.movie,
                    show_id: b.show_id,
                    tickets: b.tickets,
                })
                .collect(),
        ),
        SuccessBody::Cancelled { held } => Success::Cancelled(held),
        SuccessBody::Exchanged { old_held, new_held } => {
            Success::Exchanged(Exchanged { old_held, new_held })
        }
    })
}

/// The inside of an error body.
#[derive(Deserialize)]
pub(crate) struct ErrorJson {
    pub code: String,
    pub message: String,
    #[serde(default)]
    pub details: Value,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorJson,
}

/// Decodes an error body.
pub(crate) fn error(body: &[u8]) -> Result<ErrorJson, serde_json::Error> {
    Ok(serde_json::from_slice::<ErrorBody>(body)?.error)
}

/// Parses `X-DMTBS-Agreed` (`1,3`); `None` if it is not a comma-separated list of ids.
pub(crate) fn agreed(list: &str) -> Option<Vec<RmId>> {
    if list.is_empty() {
        return Some(Vec::new());
    }
    list.split(',').map(|id| id.trim().parse().ok()).collect()
}

/// The booking rule's refusal named by `code`, with its detail from `details`.
pub(crate) fn booking_error(code: &str, details: &Value) -> Option<BookingError> {
    use BookingError::*;
    let detail = |name: &str| details.get(name)?.as_u64()?.try_into().ok();
    Some(match code {
        "invalid-user-id" => InvalidUserId,
        "invalid-show-id" => InvalidShowId,
        "unknown-movie" => UnknownMovie,
        "invalid-capacity" => InvalidCapacity,
        "invalid-tickets" => InvalidTickets,
        "not-authorized" => NotAuthorized,
        "outside-window" => OutsideWindow,
        "show-not-found" => ShowNotFound,
        "past-show" => PastShow,
        "capacity-below-booked" => CapacityBelowBooked,
        "same-show-other-area" => SameShowOtherArea,
        "weekly-limit" => WeeklyLimit,
        "show-full" => ShowFull(detail("remaining")?),
        "not-booked" => NotBooked,
        "too-many-tickets" => TooManyTickets(detail("held")?),
        "same-show" => SameShow,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use dmtbs_frontend::http::{error_code, success_json};
    use serde_json::json;

    /// Every refusal of the rules, one value each. The match makes a new variant a compile
    /// error here, so it cannot be forgotten in [`booking_error`].
    fn every_booking_error() -> Vec<BookingError> {
        use BookingError::*;
        let all = vec![
            InvalidUserId,
            InvalidShowId,
            UnknownMovie,
            InvalidCapacity,
            InvalidTickets,
            NotAuthorized,
            OutsideWindow,
            ShowNotFound,
            PastShow,
            CapacityBelowBooked,
            SameShowOtherArea,
            WeeklyLimit,
            ShowFull(3),
            NotBooked,
            TooManyTickets(2),
            SameShow,
        ];
        for e in &all {
            match e {
                InvalidUserId | InvalidShowId | UnknownMovie | InvalidCapacity | InvalidTickets
                | NotAuthorized | OutsideWindow | ShowNotFound | PastShow | CapacityBelowBooked
                | SameShowOtherArea | WeeklyLimit | ShowFull(_) | NotBooked | TooManyTickets(_)
                | SameShow => {}
            }
        }
        all
    }

    #[test]
    fn every_rule_code_the_front_end_sends_decodes_to_its_refusal() {
        for e in every_booking_error() {
            let details = match e {
                BookingError::ShowFull(n) => json!({ "remaining": n }),
                BookingError::TooManyTickets(n) => json!({ "held": n }),
                _ => json!({}),
            };
            assert_eq!(booking_error(error_code(&e), &details), Some(e));
        }
        assert_eq!(booking_error("no-agreement", &json!({})), None);
        assert_eq!(booking_error("bad-request", &json!({})), None);
        assert_eq!(
            booking_error("show-full", &json!({})),
            None,
            "detail missing"
        );
    }

    #[test]
    fn every_success_shape_the_front_end_sends_decodes_to_its_value() {
        let values = [
            Success::ShowAdded,
            Success::ShowUpdated(4),
            Success::ShowRemoved(ShowRemoved {
                moved: vec![MovedBooking {
                    customer: "ATWC0001".into(),
                    to_show_id: "ATWE261126".into(),
                    tickets: 2,
                }],
                dropped: vec![DroppedBooking {
                    customer: "OUTC0001".into(),
                    tickets: 1,
                }],
            }),
            Success::Availability(vec![ShowRemaining {
                show_id: "ATWM251126".into(),
                remaining: 3,
            }]),
            Success::Availability(vec![]),
            Success::Booked(Booked {
                held: 2,
                remaining: 0,
            }),
            Success::Schedule(vec![ScheduledBooking {
                movie: "Avatar".into(),
                show_id: "ATWM251126".into(),
                tickets: 2,
            }]),
            Success::Cancelled(0),
            Success::Exchanged(Exchanged {
                old_held: 1,
                new_held: 3,
            }),
        ];
        for value in values {
            let body = serde_json::to_vec(&success_json(&value)).expect("JSON");
            assert_eq!(success(&body).expect("decodes"), value);
        }
        assert!(success(br#"{"outcome": "teleported"}"#).is_err());
        assert!(success(br#"{"error": {"code": "x", "message": "y"}}"#).is_err());
    }

    #[test]
    fn agreed_lists_parse_and_garbage_does_not() {
        assert_eq!(agreed("1,3"), Some(vec![1, 3]));
        assert_eq!(agreed("2"), Some(vec![2]));
        assert_eq!(agreed(""), Some(vec![]));
        assert_eq!(agreed("1,x"), None);
        assert_eq!(agreed("300"), None);
    }
}
