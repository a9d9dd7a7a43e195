//! Canonicalisation and the V step: letter case, every malformed kind, field order.

use dmtbs_contract::{Book, BookingError, Exchange, Operation};
use dmtbs_frontend::validate::{RawOperation, canonicalise, canonicalise_operation};

fn book(customer: &str, movie: &str, show_id: &str, tickets: i64) -> RawOperation {
    RawOperation::Book {
        customer: customer.into(),
        movie: movie.into(),
        show_id: show_id.into(),
        tickets,
    }
}

fn code(actor: &str, raw: &RawOperation) -> (BookingError, &'static str) {
    let e = canonicalise(actor, raw).expect_err("should be refused");
    (e.error, e.field)
}

#[test]
fn any_letter_case_and_spaces_are_canonicalised() {
    let op = canonicalise(
        " atwc0001",
        &book("atwC0001 ", "  aVaTaR", " atwm251126 ", 2),
    )
    .unwrap();
    assert_eq!(
        op,
        Operation::Book(Book {
            actor: "ATWC0001".into(),
            customer: "ATWC0001".into(),
            movie: "Avatar".into(),
            show_id: "ATWM251126".into(),
            tickets: 2,
        })
    );
    for (typed, canonical) in [
        ("AVENGERS", "Avengers"),
        ("titanic", "Titanic"),
        ("Avatar", "Avatar"),
    ] {
        let raw = RawOperation::Availability {
            movie: typed.into(),
        };
        let Operation::Availability(a) = canonicalise("verA0001", &raw).unwrap() else {
            panic!("availability expected");
        };
        assert_eq!(
            (a.actor.as_str(), a.movie.as_str()),
            ("VERA0001", canonical)
        );
    }
}

#[test]
fn every_malformed_kind_gets_its_code() {
    use BookingError::*;
    let ok = "ATWC0001";
    let cases: Vec<(&str, RawOperation, BookingError, &str)> = vec![
        (
            "ATWX0001",
            book(ok, "Avatar", "ATWM251126", 1),
            InvalidUserId,
            "actor",
        ),
        (
            "ATWC001",
            book(ok, "Avatar", "ATWM251126", 1),
            InvalidUserId,
            "actor",
        ),
        (
            "XYZC0001",
            book(ok, "Avatar", "ATWM251126", 1),
            InvalidUserId,
            "actor",
        ),
        (
            "ATWC00a1",
            book(ok, "Avatar", "ATWM251126", 1),
            InvalidUserId,
            "actor",
        ),
        (
            "ATWC00０1",
            book(ok, "Avatar", "ATWM251126", 1),
            InvalidUserId,
            "actor",
        ),
        (
            "",
            book(ok, "Avatar", "ATWM251126", 1),
            InvalidUserId,
            "actor",
        ),
        (
            ok,
            book("ATW C0001", "Avatar", "ATWM251126", 1),
            InvalidUserId,
            "customer",
        ),
        (
            ok,
            book(ok, "Matrix", "ATWM251126", 1),
            UnknownMovie,
            "movie",
        ),
        (
            ok,
            book(ok, "Ava tar", "ATWM251126", 1),
            UnknownMovie,
            "movie",
        ),
        (ok, book(ok, "", "ATWM251126", 1), UnknownMovie, "movie"),
        (
            ok,
            book(ok, "Avatar", "ATWX251126", 1),
            InvalidShowId,
            "showId",
        ),
        (
            ok,
            book(ok, "Avatar", "MTLM251126", 1),
            InvalidShowId,
            "showId",
        ),
        (
            ok,
            book(ok, "Avatar", "ATWM2511260", 1),
            InvalidShowId,
            "showId",
        ),
        (
            ok,
            book(ok, "Avatar", "ATWM25112", 1),
            InvalidShowId,
            "showId",
        ),
        (
            ok,
            book(ok, "Avatar", "ATWM25-126", 1),
            InvalidShowId,
            "showId",
        ),
        // Dates that do not exist on the calendar.
        (
            ok,
            book(ok, "Avatar", "ATWM310426", 1),
            InvalidShowId,
            "showId",
        ),
        (
            ok,
            book(ok, "Avatar", "ATWM290226", 1),
            InvalidShowId,
            "showId",
        ),
        (
            ok,
            book(ok, "Avatar", "ATWM001226", 1),
            InvalidShowId,
            "showId",
        ),
        (
            ok,
            book(ok, "Avatar", "ATWM011326", 1),
            InvalidShowId,
            "showId",
        ),
        (
            ok,
            book(ok, "Avatar", "ATWM251126", 0),
            InvalidTickets,
            "tickets",
        ),
        (
            ok,
            book(ok, "Avatar", "ATWM251126", -3),
            InvalidTickets,
            "tickets",
        ),
        (
            ok,
            book(ok, "Avatar", "ATWM251126", 10_001),
            InvalidTickets,
            "tickets",
        ),
        (
            ok,
            book(ok, "Avatar", "ATWM251126", i64::from(u32::MAX) + 1),
            InvalidTickets,
            "tickets",
        ),
        (
            "ATWA0001",
            RawOperation::AddShow {
                movie: "Avatar".into(),
                show_id: "ATWM251126".into(),
                capacity: 0,
            },
            InvalidCapacity,
            "capacity",
        ),
        (
            "ATWA0001",
            RawOperation::AddShow {
                movie: "Avatar".into(),
                show_id: "ATWM251126".into(),
                capacity: 10_001,
            },
            InvalidCapacity,
            "capacity",
        ),
    ];
    for (actor, raw, want, field) in cases {
        let e = canonicalise(actor, &raw).expect_err(&format!("{actor} {raw:?} should be refused"));
        assert_eq!((e.error, e.field), (want, field), "{actor} {raw:?}");
        assert!(!e.reason.is_empty() && !e.to_string().is_empty());
    }
}

#[test]
fn leap_days_exist_only_in_leap_years() {
    let ok = "ATWC0001";
    assert!(canonicalise(ok, &book(ok, "Avatar", "ATWM290228", 1)).is_ok());
    assert!(
        canonicalise(ok, &book(ok, "Avatar", "ATWM290200", 1)).is_ok(),
        "2000 is leap"
    );
    assert!(canonicalise(ok, &book(ok, "Avatar", "ATWM290227", 1)).is_err());
    assert!(canonicalise(ok, &book(ok, "Avatar", "ATWM311226", 1)).is_ok());
    assert!(canonicalise(ok, &book(ok, "Avatar", "ATWE010100", 10_000)).is_ok());
}

#[test]
fn fields_are_checked_in_signature_order() {
    use BookingError::*;
    // Everything malformed: the actor decides.
    assert_eq!(
        code("bad", &book("bad", "Matrix", "bad", 0)),
        (InvalidUserId, "actor")
    );
    // Then the customer, then movie, then show ID, then tickets.
    assert_eq!(
        code("ATWC0001", &book("bad", "Matrix", "bad", 0)),
        (InvalidUserId, "customer")
    );
    assert_eq!(
        code("ATWC0001", &book("ATWC0001", "Matrix", "bad", 0)),
        (UnknownMovie, "movie")
    );
    assert_eq!(
        code("ATWC0001", &book("ATWC0001", "Avatar", "bad", 0)),
        (InvalidShowId, "showId")
    );
    // add-show: movie before show ID before capacity.
    let add = |movie: &str, show: &str, capacity| RawOperation::AddShow {
        movie: movie.into(),
        show_id: show.into(),
        capacity,
    };
    assert_eq!(
        code("ATWA0001", &add("Matrix", "bad", 0)),
        (UnknownMovie, "movie")
    );
    assert_eq!(
        code("ATWA0001", &add("Avatar", "bad", 0)),
        (InvalidShowId, "showId")
    );
    // exchange: old movie, old show, new movie, new show, tickets.
    let ex = |om: &str, os: &str, nm: &str, ns: &str, t| RawOperation::Exchange {
        customer: "ATWC0001".into(),
        old_movie: om.into(),
        old_show_id: os.into(),
        new_movie: nm.into(),
        new_show_id: ns.into(),
        tickets: t,
    };
    let a = "ATWC0001";
    assert_eq!(
        code(a, &ex("X", "bad", "X", "bad", 0)),
        (UnknownMovie, "oldMovie")
    );
    assert_eq!(
        code(a, &ex("Avatar", "bad", "X", "bad", 0)),
        (InvalidShowId, "oldShowId")
    );
    assert_eq!(
        code(a, &ex("Avatar", "ATWM251126", "X", "bad", 0)),
        (UnknownMovie, "newMovie")
    );
    assert_eq!(
        code(a, &ex("Avatar", "ATWM251126", "titanic", "bad", 0)),
        (InvalidShowId, "newShowId")
    );
    assert_eq!(
        code(a, &ex("Avatar", "ATWM251126", "titanic", "verE261126", 0)),
        (InvalidTickets, "tickets")
    );
    assert!(canonicalise(a, &ex("Avatar", "ATWM251126", "titanic", "verE261126", 1)).is_ok());
}

#[test]
fn typed_operations_are_canonicalised_too() {
    let op = Operation::Exchange(Exchange {
        actor: "outa0042".into(),
        customer: "atwc0001".into(),
        old_movie: "AVATAR".into(),
        old_show_id: "atwm251126".into(),
        new_movie: "avengers".into(),
        new_show_id: "oute271126".into(),
        tickets: 3,
    });
    let Operation::Exchange(e) = canonicalise_operation(&op).unwrap() else {
        panic!("exchange expected");
    };
    assert_eq!(
        [
            e.actor,
            e.customer,
            e.old_movie,
            e.old_show_id,
            e.new_movie,
            e.new_show_id
        ],
        [
            "OUTA0042",
            "ATWC0001",
            "Avatar",
            "ATWM251126",
            "Avengers",
            "OUTE271126"
        ]
    );
}
