//! Exchange (its checks and its "as if"), atomicity of refused changes, and remove-show's moves.
use super::{Desk, outcome, rows, tuesday};
use dmtbs_guest::{BookingError as E, Exchanged, Success as S};

#[test]
fn exchange_checks_in_order() {
    let mut d = Desk::on(2026, 11, 23);
    let c = "ATWC0001";
    d.show("Avatar", "ATWM241126", 5);
    d.show("Avatar", "ATWM231126", 5);
    d.today(2026, 11, 24);
    d.show("Titanic", "ATWM251126", 2);
    d.own(c, "Avatar", "ATWM241126", 3);
    let old = ("Avatar", "ATWM241126");
    outcome!(
        d.exch(c, c, ("Avatar", "ATWE241126"), old, 1),
        Err(E::NotBooked)
    );
    outcome!(
        d.exch(c, c, old, ("Titanic", "ATWM251126"), 4),
        Err(E::TooManyTickets(3))
    );
    outcome!(
        d.exch(c, c, old, ("Titanic", "ATWM261126"), 1),
        Err(E::ShowNotFound)
    );
    outcome!(
        d.exch(c, c, old, ("Avatar", "ATWM231126"), 1),
        Err(E::PastShow)
    );
    outcome!(
        d.exch(c, c, old, ("Titanic", "ATWM251126"), 3),
        Err(E::ShowFull(2))
    );
    // The show-full check reports the new show's remaining seats.
    d.own("ATWC0002", "Titanic", "ATWM251126", 1);
    outcome!(
        d.exch(c, c, old, ("Titanic", "ATWM251126"), 2),
        Err(E::ShowFull(1))
    );
    let before = d.dump();
    outcome!(
        d.exch(c, c, old, ("Titanic", "ATWM251126"), 1),
        Ok(S::Exchanged(Exchanged {
            old_held: 2,
            new_held: 1
        }))
    );
    assert_ne!(d.dump(), before);
    // Same show ID, other movie, dated today: allowed; then the old show is past.
    d.show("Avengers", "ATWM241126", 5);
    outcome!(
        d.exch(c, c, old, ("Avengers", "ATWM241126"), 2),
        Ok(S::Exchanged(Exchanged {
            old_held: 0,
            new_held: 2
        }))
    );
    d.own(c, "Avatar", "ATWM241126", 1);
    d.today(2026, 11, 25);
    outcome!(
        d.exch(c, c, old, ("Titanic", "ATWM251126"), 1),
        Err(E::PastShow)
    );
    outcome!(
        d.exch(c, c, ("Titanic", "ATWM251126"), old, 1),
        Err(E::PastShow)
    );
}

#[test]
fn exchange_as_if_for_same_show_rule() {
    let mut d = tuesday();
    let c = "ATWC0001";
    d.show("Avatar", "ATWM251126", 5);
    d.show("Avatar", "OUTM251126", 5);
    d.own(c, "Avatar", "ATWM251126", 2);
    let (old, new) = (("Avatar", "ATWM251126"), ("Avatar", "OUTM251126"));
    // One ticket left behind: the customer would hold the show in two theatres.
    outcome!(d.exch(c, c, old, new, 1), Err(E::SameShowOtherArea));
    assert_eq!(d.schedule_of(c), rows(&[("Avatar", "ATWM251126", 2)]));
    // All of them: the old booking is gone "as if" first.
    outcome!(
        d.exch(c, c, old, new, 2),
        Ok(S::Exchanged(Exchanged {
            old_held: 0,
            new_held: 2
        }))
    );
    assert_eq!(d.schedule_of(c), rows(&[("Avatar", "OUTM251126", 2)]));
}

#[test]
fn exchange_as_if_for_weekly_limit() {
    let mut d = Desk::on(2026, 11, 22);
    let c = "ATWC0001";
    for id in [
        "VERM241126",
        "VERA261126",
        "OUTE291126",
        "OUTM271126",
        "OUTE221126",
    ] {
        d.show("Avatar", id, 5);
    }
    d.own(c, "Avatar", "OUTE221126", 1); // previous week (22 Nov is a Sunday)
    d.today(2026, 11, 24);
    for id in ["VERM241126", "VERA261126", "OUTE291126"] {
        d.own(c, "Avatar", id, 2);
    }
    d.show("Avatar", "ATWE251126", 5);
    d.own(c, "Avatar", "ATWE251126", 1);
    let new = ("Avatar", "OUTM271126");
    // From home: a new away movie with three held.
    outcome!(
        d.exch(c, c, ("Avatar", "ATWE251126"), new, 1),
        Err(E::WeeklyLimit)
    );
    // Part of an away booking: it still counts.
    outcome!(
        d.exch(c, c, ("Avatar", "OUTE291126"), new, 1),
        Err(E::WeeklyLimit)
    );
    // All of it: it no longer counts.
    outcome!(
        d.exch(c, c, ("Avatar", "OUTE291126"), new, 2),
        Ok(S::Exchanged(Exchanged {
            old_held: 0,
            new_held: 2
        }))
    );
    // Into an away show already held: not a new movie.
    outcome!(
        d.exch(c, c, ("Avatar", "ATWE251126"), ("Avatar", "VERA261126"), 1),
        Ok(S::Exchanged(Exchanged {
            old_held: 0,
            new_held: 3
        }))
    );
}

#[test]
fn failed_operations_change_nothing() {
    let mut d = tuesday();
    let c = "VERC0001";
    d.show("Avatar", "VERM251126", 3);
    d.show("Avatar", "ATWM251126", 3);
    d.show("Titanic", "VERM261126", 1);
    d.own(c, "Avatar", "VERM251126", 3);
    d.own("VERC0002", "Titanic", "VERM261126", 1);
    let before = d.dump();
    let old = ("Avatar", "VERM251126");
    outcome!(
        d.exch(c, c, old, ("Titanic", "VERM261126"), 2),
        Err(E::ShowFull(0))
    );
    outcome!(
        d.exch(c, c, old, ("Avatar", "ATWM251126"), 2),
        Err(E::SameShowOtherArea)
    );
    outcome!(d.book(c, c, "Avatar", "VERM251126", 1), Err(E::ShowFull(0)));
    outcome!(
        d.add("VERA0001", "Avatar", "VERM251126", 2),
        Err(E::CapacityBelowBooked)
    );
    assert_eq!(d.dump(), before);
    assert_eq!(d.open_shows("Avatar")[1], ("VERM251126".into(), 0));
}

/// The removal scenario of docs §5: first fit in show order, customers in ascending ID,
/// earlier moves counted, existing bookings topped up, targets beyond the window.
#[test]
fn remove_show_moves_in_customer_order() {
    let mut d = Desk::on(2026, 11, 28);
    d.show("Avatar", "ATWM051226", 8); // beyond the window once today is 24 Nov
    d.today(2026, 11, 24);
    d.show("Avatar", "ATWA251126", 30); // the removed show
    d.show("Avatar", "ATWM251126", 50); // earlier slot: never a target
    d.show("Titanic", "ATWE251126", 50); // other movie
    d.show("Avatar", "OUTE251126", 50); // other area
    d.show("Avatar", "ATWE251126", 3);
    d.show("Avatar", "ATWM261126", 10);
    d.own("ATWC0002", "Avatar", "ATWE251126", 1);
    for (who, n) in [
        ("VERC0001", 4),
        ("ATWC0002", 2),
        ("ATWC0001", 3),
        ("OUTC0009", 5),
        ("ATWC0003", 8),
    ] {
        d.own(who, "Avatar", "ATWA251126", n);
    }
    // Moves ignore the same-show rule: OUTC0009 holds the 26 Nov morning in Outremont.
    d.show("Avatar", "OUTM261126", 5);
    d.own("OUTC0009", "Avatar", "OUTM261126", 1);
    outcome!(d.remove("ATWA0001", "Avatar", "ATWA251126"), Ok(S::ShowRemoved(r)) if {
        let moved: Vec<_> = r.moved.iter().map(|m| (m.customer.as_str(), m.to_show_id.as_str(), m.tickets)).collect();
        let dropped: Vec<_> = r.dropped.iter().map(|x| (x.customer.as_str(), x.tickets)).collect();
        moved == [
            ("ATWC0001", "ATWM261126", 3),
            ("ATWC0002", "ATWE251126", 2),
            ("ATWC0003", "ATWM051226", 8),
            ("OUTC0009", "ATWM261126", 5),
        ] && dropped == [("VERC0001", 4)]
    });
    assert_eq!(
        d.schedule_of("ATWC0002"),
        rows(&[("Avatar", "ATWE251126", 3)])
    );
    assert_eq!(
        d.schedule_of("OUTC0009"),
        rows(&[("Avatar", "ATWM261126", 5), ("Avatar", "OUTM261126", 1)])
    );
    assert!(d.schedule_of("VERC0001").is_empty());
    let (shows, bookings) = d.dump();
    assert!(!shows.iter().any(|s| s.1 == "ATWA251126"));
    assert!(!bookings.iter().any(|b| b.2 == "ATWA251126"));
    outcome!(
        d.remove("ATWA0001", "Avatar", "ATWA251126"),
        Err(E::ShowNotFound)
    );
    // An empty show is removed with nothing to move.
    outcome!(d.remove("ATWA0001", "Titanic", "ATWE251126"), Ok(S::ShowRemoved(r)) if r.moved.is_empty() && r.dropped.is_empty());
    // A show dated today can be removed; a past one cannot.
    d.today(2026, 11, 25);
    outcome!(
        d.remove("ATWA0001", "Avatar", "ATWM251126"),
        Ok(S::ShowRemoved(_))
    );
    d.today(2026, 11, 26);
    outcome!(
        d.remove("OUTA0001", "Avatar", "OUTE251126"),
        Err(E::PastShow)
    );
}
