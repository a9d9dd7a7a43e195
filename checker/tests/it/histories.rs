//! Hand-made histories: the ones that are not linearizable are rejected, with an explanation
//! naming the operation that cannot be placed; concurrent ones that are linearizable are
//! accepted, whichever order the service chose; unknown outcomes may or may not have happened.

use dmtbs_checker::{Limits, Verdict, check, check_with};
use dmtbs_contract::{
    Booked, BookingError as E, Outcome, ScheduledBooking, ShowRemaining, Success as S,
};

use crate::{Hist, add_show, availability, book, schedule};

const SHOW: &str = "ATWM251126";

fn booked(held: u32, remaining: u32) -> Outcome {
    Ok(S::Booked(Booked { held, remaining }))
}

fn left(remaining: u32) -> Outcome {
    Ok(S::Availability(vec![ShowRemaining {
        show_id: SHOW.into(),
        remaining,
    }]))
}

/// A show of `capacity` seats, added by client 0 in [0, 1] ms.
fn with_show(capacity: u32) -> Hist {
    Hist::default().op(
        0,
        0,
        1,
        add_show("ATWA0001", "Avatar", SHOW, capacity),
        Ok(S::ShowAdded),
    )
}

/// Asserts the history is rejected and the explanation's first stuck operation is `index`.
fn rejected(h: Hist, index: usize) -> String {
    let report = check(&h.0);
    let Verdict::NotLinearizable(explanation) = &report.verdict else {
        panic!("accepted a history that is not linearizable: {report}");
    };
    let text = report.to_string();
    assert_eq!(
        explanation.stuck.first().map(|s| s.0),
        Some(index),
        "{text}"
    );
    text
}

fn accepted(h: Hist) {
    let report = check(&h.0);
    assert!(
        report.is_linearizable(),
        "rejected a linearizable history: {report}"
    );
}

#[test]
fn a_stale_availability_read_after_an_acknowledged_booking_is_rejected() {
    let h = with_show(10)
        .op(1, 2, 3, book("ATWC0001", "Avatar", SHOW, 2), booked(2, 8))
        .op(2, 4, 5, availability("ATWC0002", "Avatar"), left(10));
    let text = rejected(h, 2);
    assert!(
        text.contains("the model expected: availability [ATWM251126 8 left]"),
        "{text}"
    );
    assert!(
        text.contains("the client saw:     availability [ATWM251126 10 left]"),
        "{text}"
    );
}

#[test]
fn an_acknowledged_booking_missing_from_a_later_schedule_is_rejected() {
    let h = with_show(10)
        .op(1, 2, 3, book("ATWC0001", "Avatar", SHOW, 2), booked(2, 8))
        .op(1, 4, 5, schedule("ATWC0001"), Ok(S::Schedule(vec![])));
    rejected(h, 2);
}

#[test]
fn a_booking_executed_twice_is_rejected() {
    // One acknowledged booking of 3, but the seats show it taken twice.
    let h = with_show(10)
        .op(1, 2, 3, book("ATWC0001", "Avatar", SHOW, 3), booked(3, 7))
        .op(2, 4, 5, availability("ATWC0002", "Avatar"), left(4));
    let text = rejected(h, 2);
    assert!(
        text.contains("the model expected: availability [ATWM251126 7 left]"),
        "{text}"
    );
    // Or seen by its own customer.
    let h = with_show(10)
        .op(1, 2, 3, book("ATWC0001", "Avatar", SHOW, 3), booked(3, 7))
        .op(
            1,
            4,
            5,
            schedule("ATWC0001"),
            Ok(S::Schedule(vec![ScheduledBooking {
                movie: "Avatar".into(),
                show_id: SHOW.into(),
                tickets: 6,
            }])),
        );
    rejected(h, 2);
}

#[test]
fn two_concurrent_bookings_of_the_last_seats_cannot_both_succeed() {
    let h = with_show(4)
        .op(1, 2, 6, book("ATWC0001", "Avatar", SHOW, 3), booked(3, 1))
        .op(2, 3, 5, book("ATWC0002", "Avatar", SHOW, 3), booked(3, 1));
    let text = rejected(h, 2);
    assert!(
        text.contains("the model expected: show-full (1 left)"),
        "{text}"
    );
    // One of them refused, either one: fine.
    accepted(
        with_show(4)
            .op(1, 2, 6, book("ATWC0001", "Avatar", SHOW, 3), booked(3, 1))
            .op(
                2,
                3,
                5,
                book("ATWC0002", "Avatar", SHOW, 3),
                Err(E::ShowFull(1)),
            ),
    );
}

#[test]
fn a_result_other_than_the_models_is_rejected() {
    let h = with_show(10).op(1, 2, 3, book("ATWC0001", "Avatar", SHOW, 2), booked(2, 9));
    let text = rejected(h, 1);
    assert!(
        text.contains("the model expected: booked held 2 remaining 8"),
        "{text}"
    );
    let h = with_show(10).op(
        1,
        2,
        3,
        book("VERC0001", "Avatar", SHOW, 2),
        Err(E::WeeklyLimit),
    );
    rejected(h, 1);
}

#[test]
fn overlapping_operations_are_accepted_in_either_order() {
    for (first, second) in [(booked(2, 8), booked(3, 5)), (booked(2, 5), booked(3, 7))] {
        accepted(
            with_show(10)
                .op(1, 2, 10, book("ATWC0001", "Avatar", SHOW, 2), first)
                .op(2, 3, 9, book("ATWC0002", "Avatar", SHOW, 3), second),
        );
    }
    // A read overlapping a booking sees it or not.
    for seen in [10, 8] {
        accepted(
            with_show(10)
                .op(1, 2, 10, book("ATWC0001", "Avatar", SHOW, 2), booked(2, 8))
                .op(2, 3, 9, availability("ATWC0002", "Avatar"), left(seen)),
        );
    }
    // But not once the booking was answered before the read was sent.
    rejected(
        with_show(10)
            .op(1, 2, 3, book("ATWC0001", "Avatar", SHOW, 2), booked(2, 8))
            .op(2, 4, 9, availability("ATWC0002", "Avatar"), left(10)),
        2,
    );
}

#[test]
fn an_unknown_outcome_may_have_taken_effect_or_not() {
    for seen in [10, 8] {
        accepted(
            with_show(10)
                .unknown(1, 2, book("ATWC0001", "Avatar", SHOW, 2))
                .op(2, 50, 60, availability("ATWC0002", "Avatar"), left(seen)),
        );
    }
    // It may take effect long after its call, between two reads of another client…
    accepted(
        with_show(10)
            .unknown(1, 2, book("ATWC0001", "Avatar", SHOW, 2))
            .op(2, 50, 60, availability("ATWC0002", "Avatar"), left(10))
            .op(2, 70, 80, availability("ATWC0002", "Avatar"), left(8)),
    );
    // …but not be undone, nor take effect twice, nor before it was sent.
    rejected(
        with_show(10)
            .unknown(1, 2, book("ATWC0001", "Avatar", SHOW, 2))
            .op(2, 50, 60, availability("ATWC0002", "Avatar"), left(8))
            .op(2, 70, 80, availability("ATWC0002", "Avatar"), left(10)),
        3,
    );
    rejected(
        with_show(10)
            .unknown(1, 2, book("ATWC0001", "Avatar", SHOW, 2))
            .op(2, 50, 60, availability("ATWC0002", "Avatar"), left(6)),
        2,
    );
    rejected(
        with_show(10)
            .op(2, 2, 3, availability("ATWC0002", "Avatar"), left(8))
            .unknown(1, 4, book("ATWC0001", "Avatar", SHOW, 2)),
        1,
    );
}

#[test]
fn a_search_over_budget_is_undecided_not_hung() {
    // One customer books 14 shows at once (each answer fits any order: 2^14 sets of them to
    // try), then a schedule shows none of them: no order fits, and finding that out takes
    // hundreds of thousands of steps.
    let shows: Vec<String> = (24..=28)
        .flat_map(|day| ["M", "A", "E"].map(|slot| format!("ATW{slot}{day}1126")))
        .take(14)
        .collect();
    let mut h = Hist::default();
    for show in &shows {
        h = h.op(
            0,
            0,
            1,
            add_show("ATWA0001", "Avatar", show, 10),
            Ok(S::ShowAdded),
        );
    }
    for show in &shows {
        h = h.op(1, 2, 100, book("ATWC0001", "Avatar", show, 1), booked(1, 9));
    }
    h = h.op(1, 200, 210, schedule("ATWC0001"), Ok(S::Schedule(vec![])));
    let report = check_with(
        &h.0,
        Limits {
            max_steps: 1_000,
            ..Limits::default()
        },
    );
    assert!(
        matches!(report.verdict, Verdict::Undecided { .. }),
        "{report}"
    );
    assert_eq!(report.steps, 1_000);
    // With the default budget the same history is decided.
    let report = check(&h.0);
    assert!(
        matches!(report.verdict, Verdict::NotLinearizable(_)),
        "{report}"
    );
    assert!(report.steps > 10_000, "{report}");
}
