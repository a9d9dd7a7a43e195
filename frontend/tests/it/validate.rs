//! Canonicalisation and the V step: letter case, every malformed kind, field order.

use dmtbs_contract::{Book, BookingError, Exchange, Operation};
use dmtbs_frontend::validate::{RawOperation, canonicalise, canonicalise_operation};

fn book(customer: &str, movie: &str, show_id: &str, tickets: i64) -> RawOperation {
    RawOperation::Book {
        customer: customer.into(),
        movie: movie.into(),
        show_id: show_id.into(),
        tickets: tickets.into(),
    }
}

fn code(actor: &str, raw: &RawOperation) -> (BookingError, &'static str) {
    let e = canonicalise(actor, raw).expect_err("should be refused");
    (e.error, e.field)
}

#[test]
fn any_letter_case_is_canonicalised() {
    let op = canonicalise("atwc0001", &book("atwC0001", "aVaTaR", "atwm251126", 2)).unwrap();
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
                capacity: 0.into(),
            },
            InvalidCapacity,
            "capacity",
        ),
        (
            "ATWA0001",
            RawOperation::AddShow {
                movie: "Avatar".into(),
                show_id: "ATWM251126".into(),
                capacity: 10_001.into(),
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
    let add = |movie: &str, show: &str, capacity: i64| RawOperation::AddShow {
        movie: movie.into(),
        show_id: show.into(),
        capacity: capacity.into(),
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
    let ex = |om: &str, os: &str, nm: &str, ns: &str, t: i64| RawOperation::Exchange {
        customer: "ATWC0001".into(),
        old_movie: om.into(),
        old_show_id: os.into(),
        new_movie: nm.into(),
        new_show_id: ns.into(),
        tickets: t.into(),
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

#[test]
fn nothing_around_a_value_is_trimmed() {
    use BookingError::*;
    let ok = "ATWC0001";
    // Space, tab, no-break space, em space, newline: around any value, it is malformed.
    for pad in [" ", "\t", "\u{a0}", "\u{2003}", "\n"] {
        for (actor, raw, want, field) in [
            (
                format!("{ok}{pad}"),
                book(ok, "Avatar", "ATWM251126", 1),
                InvalidUserId,
                "actor",
            ),
            (
                ok.to_owned(),
                book(&format!("{pad}{ok}"), "Avatar", "ATWM251126", 1),
                InvalidUserId,
                "customer",
            ),
            (
                ok.to_owned(),
                book(ok, &format!("{pad}Avatar{pad}"), "ATWM251126", 1),
                UnknownMovie,
                "movie",
            ),
            (
                ok.to_owned(),
                book(ok, "Avatar", &format!("ATWM251126{pad}"), 1),
                InvalidShowId,
                "showId",
            ),
        ] {
            let e = canonicalise(&actor, &raw).expect_err(&format!("{pad:?} is not trimmed"));
            assert_eq!((e.error, e.field), (want, field), "{pad:?}");
        }
    }
}

#[test]
fn counts_are_plain_integers_in_range() {
    use dmtbs_frontend::RawCount;
    let ok = "ATWC0001";
    let with = |tickets: RawCount| RawOperation::Book {
        customer: ok.into(),
        movie: "Avatar".into(),
        show_id: "ATWM251126".into(),
        tickets,
    };
    for text in ["1", "10000"] {
        assert!(
            canonicalise(ok, &with(RawCount::from_text(text))).is_ok(),
            "{text}"
        );
    }
    for text in [
        "+1", "1 ", " 1", "01", "1.0", "1e0", "0x1", "", "-0", "0", "10001", "abc",
    ] {
        let e = canonicalise(ok, &with(RawCount::from_text(text)))
            .expect_err(&format!("query value {text:?} is not a count"));
        assert_eq!(
            (e.error, e.field),
            (BookingError::InvalidTickets, "tickets"),
            "{text:?}"
        );
    }
    for json in [
        "1.5",
        "2.0",
        "1e0",
        "1180591620717411303424",
        "-1",
        "1099511627776",
    ] {
        let n: serde_json::Number = serde_json::from_str(json).unwrap();
        let e = canonicalise(ok, &with(RawCount::from_json(&n)))
            .expect_err(&format!("JSON {json} is not a count"));
        assert_eq!(e.error, BookingError::InvalidTickets, "{json}");
    }
}

#[test]
fn refused_values_are_quoted_clipped() {
    let ok = "ATWC0001";
    let huge = "x".repeat(1_900_000);
    let e = canonicalise(ok, &book(ok, &huge, "ATWM251126", 1)).unwrap_err();
    assert!(e.value.len() < 100, "quoted {} bytes", e.value.len());
    assert!(e.value.contains("1900000 bytes"), "{}", e.value);
    assert!(e.to_string().len() < 300);
    // A multi-byte character at the cut is not split.
    let wide = "é".repeat(100);
    assert!(dmtbs_frontend::validate::clip(&wide).starts_with("éé"));
}
