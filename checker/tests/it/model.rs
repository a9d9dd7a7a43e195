//! The model on the rules' examples (rules §8) and on the settled points of
//! `docs/booking-rules.md`.

use dmtbs_checker::Model;
use dmtbs_contract::{
    Booked, BookingError as E, Date, DroppedBooking, Exchanged, MovedBooking, Operation, Outcome,
    ScheduledBooking, ShowRemaining, ShowRemoved, Success as S,
};

use crate::{TODAY, add_show, availability, book, cancel, exchange, remove_show, schedule};

fn run(model: &mut Model, op: Operation) -> Outcome {
    model.apply(TODAY, &op).0
}

/// Applies a setup step that must succeed.
fn ok(model: &mut Model, op: Operation) {
    let outcome = run(model, op.clone());
    assert!(outcome.is_ok(), "{op:?}: {outcome:?}");
}

fn booked(held: u32, remaining: u32) -> Outcome {
    Ok(S::Booked(Booked { held, remaining }))
}

#[test]
fn the_rules_examples() {
    let mut m = Model::new();
    assert_eq!(
        run(&mut m, add_show("ATWA1000", "Avatar", "ATWM251126", 10)),
        Ok(S::ShowAdded)
    );
    assert_eq!(
        run(&mut m, add_show("ATWA1000", "Avatar", "ATWM251126", 4)),
        Ok(S::ShowUpdated(10))
    );
    assert_eq!(
        run(&mut m, add_show("VERA1000", "Avatar", "ATWE251126", 5)),
        Err(E::NotAuthorized)
    );
    assert_eq!(
        run(&mut m, add_show("ATWA1000", "Titanic", "ATWA031226", 5)),
        Err(E::OutsideWindow)
    );
    assert_eq!(
        run(&mut m, book("ATWC0001", "Avatar", "ATWM251126", 2)),
        booked(2, 2)
    );
    assert_eq!(
        run(&mut m, book("ATWC0001", "Avatar", "ATWM251126", 3)),
        Err(E::ShowFull(2))
    );
    assert_eq!(
        run(&mut m, add_show("OUTA1000", "Avatar", "OUTM251126", 5)),
        Ok(S::ShowAdded)
    );
    assert_eq!(
        run(&mut m, book("ATWC0001", "Avatar", "OUTM251126", 1)),
        Err(E::SameShowOtherArea)
    );
    assert_eq!(
        run(&mut m, cancel("ATWC0001", "Avatar", "ATWM251126", 5)),
        Err(E::TooManyTickets(2))
    );
}

#[test]
fn the_weekly_limit_counts_other_area_movies_of_the_week() {
    let mut m = Model::new();
    for (admin, show) in [
        ("VERA1000", "VERM241126"),
        ("VERA1000", "VERA261126"),
        ("OUTA1000", "OUTE291126"),
        ("OUTA1000", "OUTM271126"),
        ("OUTA1000", "OUTM301126"),
    ] {
        assert_eq!(
            run(&mut m, add_show(admin, "Avatar", show, 5)),
            Ok(S::ShowAdded)
        );
    }
    for show in ["VERM241126", "VERA261126", "OUTE291126"] {
        assert_eq!(
            run(&mut m, book("ATWC0001", "Avatar", show, 1)),
            booked(1, 4)
        );
    }
    assert_eq!(
        run(&mut m, book("ATWC0001", "Avatar", "OUTM271126", 1)),
        Err(E::WeeklyLimit)
    );
    assert_eq!(
        run(&mut m, book("ATWC0001", "Avatar", "OUTM301126", 1)),
        booked(1, 4),
        "next week (Monday)"
    );
    // More tickets for a show already booked are no new movie.
    assert_eq!(
        run(&mut m, book("ATWC0001", "Avatar", "OUTE291126", 1)),
        booked(2, 3)
    );
    // Exchange: the emptied old booking no longer counts.
    assert_eq!(
        run(
            &mut m,
            exchange(
                "ATWC0001",
                ("Avatar", "VERM241126"),
                ("Avatar", "OUTM271126"),
                1
            )
        ),
        Ok(S::Exchanged(Exchanged {
            old_held: 0,
            new_held: 1
        }))
    );
}

#[test]
fn checks_run_in_order_and_the_first_failing_one_decides() {
    let mut m = Model::new();
    assert_eq!(
        run(&mut m, book("ATWC001", "avatar", "x", 0)),
        Err(E::InvalidUserId)
    );
    assert_eq!(
        run(&mut m, book("ATWC0001", "avatar", "x", 0)),
        Err(E::UnknownMovie)
    );
    assert_eq!(
        run(&mut m, book("ATWC0001", "Avatar", "ATWM310226", 0)),
        Err(E::InvalidShowId)
    );
    assert_eq!(
        run(&mut m, book("ATWC0001", "Avatar", "ATWM250226", 0)),
        Err(E::InvalidTickets)
    );
    assert_eq!(
        run(&mut m, book("ATWA0001", "Avatar", "ATWM250226", 1)),
        Err(E::NotAuthorized),
        "an admin as the customer"
    );
    assert_eq!(
        run(&mut m, book("ATWC0001", "Avatar", "ATWM250226", 1)),
        Err(E::ShowNotFound)
    );
    assert_eq!(
        run(&mut m, add_show("ATWA0001", "Avatar", "ATWM230226", 1)),
        Err(E::OutsideWindow)
    );
    assert_eq!(
        run(&mut m, cancel("ATWC0001", "Avatar", "ATWM250226", 1)),
        Err(E::NotBooked)
    );
    assert_eq!(
        run(
            &mut m,
            exchange(
                "ATWC0001",
                ("Avatar", "ATWM251126"),
                ("Avatar", "ATWM251126"),
                1
            )
        ),
        Err(E::SameShow)
    );
    // An admin acts for a customer of another area; a customer only for itself.
    assert_eq!(
        run(&mut m, add_show("ATWA0001", "Avatar", "ATWM251126", 3)),
        Ok(S::ShowAdded)
    );
    let on_behalf = Operation::Book(dmtbs_contract::Book {
        actor: "VERA0001".into(),
        customer: "ATWC0002".into(),
        movie: "Avatar".into(),
        show_id: "ATWM251126".into(),
        tickets: 1,
    });
    assert_eq!(run(&mut m, on_behalf), booked(1, 2));
    let for_another = Operation::Schedule(dmtbs_contract::Schedule {
        actor: "ATWC0001".into(),
        customer: "ATWC0002".into(),
    });
    assert_eq!(run(&mut m, for_another), Err(E::NotAuthorized));
    // A show already held cannot shrink below its bookings.
    assert_eq!(
        run(&mut m, add_show("ATWA0001", "Avatar", "ATWM251126", 0)),
        Err(E::InvalidCapacity)
    );
    ok(&mut m, book("ATWC0003", "Avatar", "ATWM251126", 2));
    assert_eq!(
        run(&mut m, add_show("ATWA0001", "Avatar", "ATWM251126", 2)),
        Err(E::CapacityBelowBooked)
    );
}

#[test]
fn past_shows_are_refused_but_still_listed_in_schedules() {
    let mut m = Model::new();
    ok(&mut m, add_show("ATWA0001", "Titanic", "ATWE241126", 5));
    ok(&mut m, book("ATWC0001", "Titanic", "ATWE241126", 2));
    let tomorrow = Date {
        year: 2026,
        month: 11,
        day: 25,
    };
    let (outcome, _) = m.apply(tomorrow, &book("ATWC0001", "Titanic", "ATWE241126", 1));
    assert_eq!(outcome, Err(E::PastShow));
    let (outcome, _) = m.apply(tomorrow, &cancel("ATWC0001", "Titanic", "ATWE241126", 1));
    assert_eq!(outcome, Err(E::PastShow));
    let (outcome, _) = m.apply(tomorrow, &availability("ATWC0001", "Titanic"));
    assert_eq!(outcome, Ok(S::Availability(vec![])));
    let (outcome, _) = m.apply(tomorrow, &schedule("ATWC0001"));
    assert_eq!(
        outcome,
        Ok(S::Schedule(vec![ScheduledBooking {
            movie: "Titanic".into(),
            show_id: "ATWE241126".into(),
            tickets: 2
        }]))
    );
}

#[test]
fn remove_show_moves_bookings_to_the_next_show_with_room_in_customer_order() {
    let mut m = Model::new();
    ok(&mut m, add_show("ATWA0001", "Avatar", "ATWM251126", 10));
    ok(&mut m, add_show("ATWA0001", "Avatar", "ATWE251126", 3));
    ok(&mut m, add_show("ATWA0001", "Avatar", "ATWM261126", 2));
    ok(&mut m, add_show("ATWA0001", "Titanic", "ATWA251126", 9)); // another movie: never a target
    ok(&mut m, add_show("VERA0001", "Avatar", "VERE251126", 9)); // another area: never a target
    ok(&mut m, book("VERC0001", "Avatar", "ATWM251126", 2));
    ok(&mut m, book("ATWC0002", "Avatar", "ATWM251126", 2));
    ok(&mut m, book("OUTC0003", "Avatar", "ATWM251126", 4));
    ok(&mut m, book("ATWC0002", "Avatar", "ATWE251126", 1));
    assert_eq!(
        run(&mut m, remove_show("ATWA0001", "Avatar", "ATWM251126")),
        Ok(S::ShowRemoved(ShowRemoved {
            moved: vec![
                MovedBooking {
                    customer: "ATWC0002".into(),
                    to_show_id: "ATWE251126".into(),
                    tickets: 2
                },
                MovedBooking {
                    customer: "VERC0001".into(),
                    to_show_id: "ATWM261126".into(),
                    tickets: 2
                },
            ],
            dropped: vec![DroppedBooking {
                customer: "OUTC0003".into(),
                tickets: 4
            }],
        }))
    );
    assert_eq!(
        run(&mut m, availability("OUTC0003", "Avatar")),
        Ok(S::Availability(vec![
            ShowRemaining {
                show_id: "ATWE251126".into(),
                remaining: 0
            },
            ShowRemaining {
                show_id: "VERE251126".into(),
                remaining: 9
            },
            ShowRemaining {
                show_id: "ATWM261126".into(),
                remaining: 0
            },
        ]))
    );
    assert_eq!(
        run(&mut m, schedule("ATWC0002")),
        Ok(S::Schedule(vec![ScheduledBooking {
            movie: "Avatar".into(),
            show_id: "ATWE251126".into(),
            tickets: 3
        }]))
    );
    assert_eq!(
        run(&mut m, remove_show("ATWA0001", "Avatar", "ATWM251126")),
        Err(E::ShowNotFound)
    );
}

#[test]
fn undo_restores_the_state_and_its_fingerprint_exactly() {
    let mut m = Model::new();
    ok(&mut m, add_show("ATWA0001", "Avatar", "ATWM251126", 5));
    ok(&mut m, add_show("ATWA0001", "Avatar", "ATWE251126", 5));
    ok(&mut m, book("ATWC0001", "Avatar", "ATWM251126", 2));
    ok(&mut m, book("ATWC0002", "Avatar", "ATWM251126", 3));
    let before = m.clone();
    for op in [
        remove_show("ATWA0001", "Avatar", "ATWM251126"),
        exchange(
            "ATWC0001",
            ("Avatar", "ATWM251126"),
            ("Avatar", "ATWE251126"),
            2,
        ),
        cancel("ATWC0002", "Avatar", "ATWM251126", 3),
        add_show("ATWA0001", "Avatar", "ATWM251126", 9),
    ] {
        let (_, undo) = m.apply(TODAY, &op);
        assert_ne!(m, before, "{op:?} changed something");
        m.undo(undo);
        assert_eq!(m, before, "{op:?} undone");
        assert_eq!(m.fingerprint(), before.fingerprint());
    }
    // Equal states reached in different orders have equal fingerprints.
    let (mut a, mut b) = (before.clone(), before.clone());
    ok(&mut a, book("ATWC0003", "Avatar", "ATWE251126", 1));
    ok(&mut a, book("ATWC0004", "Avatar", "ATWE251126", 1));
    ok(&mut b, book("ATWC0004", "Avatar", "ATWE251126", 1));
    ok(&mut b, book("ATWC0003", "Avatar", "ATWE251126", 1));
    assert_eq!(a, b);
    assert_eq!(a.fingerprint(), b.fingerprint());
    assert_ne!(a.fingerprint(), before.fingerprint());
}
