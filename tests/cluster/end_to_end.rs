//! Every booking operation end to end through HTTP, with its error cases — over multicast, and
//! the same over unicast fan-out.

use dmtbs_client::{Error, Schedule};
use dmtbs_cluster::config::TransportMode;
use dmtbs_contract::BookingError::*;
use dmtbs_contract::{
    Booked, DroppedBooking, Exchanged, ScheduledBooking, ShowRemaining, ShowRemoved, Success,
};
use dmtbs_testkit::build::{add_show, availability, book, cancel, exchange, remove_show, schedule};

use crate::client::{client, converged, start};

fn remaining(show_id: &str, remaining: u32) -> ShowRemaining {
    ShowRemaining {
        show_id: show_id.into(),
        remaining,
    }
}

fn dropped(customer: &str, tickets: u32) -> DroppedBooking {
    DroppedBooking {
        customer: customer.into(),
        tickets,
    }
}

async fn every_operation(transport: TransportMode) {
    let cluster = start(transport).await;
    let client = client(&cluster);
    let mut last_seq = 0;
    // (operation, HTTP status, the success value or the rules' refusal)
    let steps = [
        (
            add_show("ATWA1000", "Avatar", "ATWM251126", 4),
            201,
            Ok(Success::ShowAdded),
        ),
        (
            add_show("ATWA1000", "Avatar", "ATWM251126", 5),
            200,
            Ok(Success::ShowUpdated(4)),
        ),
        (
            add_show("OUTA1000", "Avatar", "OUTM251126", 9),
            201,
            Ok(Success::ShowAdded),
        ),
        (
            add_show("ATWA1000", "Titanic", "ATWE261126", 3),
            201,
            Ok(Success::ShowAdded),
        ),
        (
            add_show("VERA1000", "Avatar", "ATWA251126", 5),
            403,
            Err(NotAuthorized),
        ),
        (
            add_show("ATWA1000", "Avatar", "ATWA031226", 5),
            422,
            Err(OutsideWindow),
        ),
        // Any letter case is canonicalised by the front end.
        (
            book("atwc0001", "atwc0001", "avatar", "atwm251126", 2),
            200,
            Ok(Success::Booked(Booked {
                held: 2,
                remaining: 3,
            })),
        ),
        (
            book("ATWC0001", "ATWC0001", "Avatar", "ATWM251126", 9),
            409,
            Err(ShowFull(3)),
        ),
        (
            book("ATWC0001", "ATWC0001", "Avatar", "OUTM251126", 1),
            409,
            Err(SameShowOtherArea),
        ),
        (
            book("ATWC0002", "ATWC0001", "Avatar", "ATWM251126", 1),
            403,
            Err(NotAuthorized),
        ),
        (
            book("ATWC0001", "ATWC0001", "Avengers", "ATWM251126", 1),
            404,
            Err(ShowNotFound),
        ),
        (
            availability("VERC0003", "Avatar"),
            200,
            Ok(Success::Availability(vec![
                remaining("ATWM251126", 3),
                remaining("OUTM251126", 9),
            ])),
        ),
        (
            schedule("VERA1000", "ATWC0001"),
            200,
            Ok(Success::Schedule(vec![ScheduledBooking {
                movie: "Avatar".into(),
                show_id: "ATWM251126".into(),
                tickets: 2,
            }])),
        ),
        (
            exchange(
                "ATWC0001",
                "ATWC0001",
                ("Avatar", "ATWM251126"),
                ("Titanic", "ATWE261126"),
                1,
            ),
            200,
            Ok(Success::Exchanged(Exchanged {
                old_held: 1,
                new_held: 1,
            })),
        ),
        (
            exchange(
                "ATWC0001",
                "ATWC0001",
                ("Titanic", "ATWE261126"),
                ("Titanic", "ATWE261126"),
                1,
            ),
            422,
            Err(SameShow),
        ),
        (
            cancel("ATWC0001", "ATWC0001", "Avatar", "ATWM251126", 5),
            409,
            Err(TooManyTickets(1)),
        ),
        (
            cancel("ATWC0001", "ATWC0001", "Avatar", "ATWM251126", 1),
            200,
            Ok(Success::Cancelled(0)),
        ),
        (
            cancel("ATWC0001", "ATWC0001", "Avatar", "ATWM251126", 1),
            404,
            Err(NotBooked),
        ),
        (
            book("ATWA1000", "OUTC0001", "Titanic", "ATWE261126", 2),
            200,
            Ok(Success::Booked(Booked {
                held: 2,
                remaining: 0,
            })),
        ),
        (
            remove_show("ATWA1000", "Titanic", "ATWE261126"),
            200,
            Ok(Success::ShowRemoved(ShowRemoved {
                moved: vec![],
                dropped: vec![dropped("ATWC0001", 1), dropped("OUTC0001", 2)],
            })),
        ),
        (
            remove_show("ATWA1000", "Titanic", "ATWE261126"),
            404,
            Err(ShowNotFound),
        ),
    ];
    for (i, (op, status, expected)) in steps.iter().enumerate() {
        let result = client.execute(op).await;
        // An admin on another area's show: the rules' `not-authorized`, given by the front end
        // before sequencing (the token's user may not do this), so no sequence number.
        if let Err(dmtbs_frontend::auth::NotSequenced::OutOfScope(_)) =
            dmtbs_frontend::auth::admit(op)
        {
            let e = result.as_ref().err().and_then(Error::api).expect("refused");
            assert_eq!(
                e.booking_error().as_ref(),
                expected.as_ref().err(),
                "step {i}"
            );
            assert_eq!((e.status, e.seq), (*status, None), "step {i}: {e:?}");
            continue;
        }
        // Every answer from the cluster comes with its sequence number (in order, no gaps) and
        // the two or more replicas that agreed — refusals by the rules included.
        let (answered_status, seq, agreed) = match (&result, expected) {
            (Ok(answer), Ok(success)) => {
                assert_eq!(answer.value, *success, "step {i}: {op:?}");
                (answer.status, Some(answer.seq), answer.agreed.clone())
            }
            (Err(Error::Api(e)), Err(refusal)) => {
                assert_eq!(e.booking_error().as_ref(), Some(refusal), "step {i}: {e:?}");
                assert!(e.refused_by_rules(), "step {i}: {e:?}");
                (e.status, e.seq, e.agreed.clone())
            }
            _ => panic!("step {i}: {op:?} → {result:?}, expected {expected:?}"),
        };
        assert_eq!(answered_status, *status, "step {i}: {op:?} → {result:?}");
        let seq = seq.unwrap_or_else(|| panic!("step {i}: no sequence number: {result:?}"));
        assert_eq!(seq, last_seq + 1, "step {i}");
        last_seq = seq;
        assert!(agreed.len() >= 2, "step {i}: agreed by {agreed:?}");
    }
    // The typed methods answer the same as `execute`.
    let bookings = client
        .schedule(&Schedule {
            actor: "OUTC0001".into(),
            customer: "OUTC0001".into(),
        })
        .await
        .expect("schedule");
    assert_eq!(bookings.value, vec![]);
    assert_eq!(bookings.seq, last_seq + 1);
    last_seq += 1;
    // Malformed input is refused by the front end and never consumes a sequence number.
    for op in [
        book("ATWC0001", "ATWC0001", "Avatar", "ATWM311126", 1),
        book("ATWC0001", "ATWCX001", "Avatar", "ATWM251126", 1),
        book("ATWC0001", "ATWC0001", "Matrix", "ATWM251126", 1),
        book("ATWC0001", "ATWC0001", "Avatar", "ATWM251126", 0),
        add_show("ATWA1000", "Avatar", "ATWM251126", 10_001),
    ] {
        let result = client.execute(&op).await;
        let e = result.as_ref().err().and_then(Error::api);
        let e = e.unwrap_or_else(|| panic!("{op:?} → {result:?}"));
        assert_eq!((e.status, e.seq), (422, None), "{op:?} → {e:?}");
    }
    // An admin without its token, with a forged one, or with the cluster's admin key instead, is
    // refused before sequencing.
    let key = cluster.config.cluster.admin_key.clone();
    for keyless in [
        client.with_token(None),
        client.with_token(Some("v4.local.not-a-token")),
        client.with_token(Some(&key)),
    ] {
        let result = keyless
            .execute(&add_show("ATWA1000", "Avatar", "ATWE251126", 5))
            .await;
        let e = result.as_ref().err().and_then(Error::api);
        assert_eq!(
            e.map(|e| (e.status, e.seq)),
            Some((401, None)),
            "{result:?}"
        );
    }
    let answer = client
        .execute(&availability("ATWC0001", "Titanic"))
        .await
        .expect("availability");
    assert_eq!(
        answer.seq,
        last_seq + 1,
        "refused requests consumed sequence numbers"
    );
    converged(&cluster).await;
    cluster.stop().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_end_to_end_over_multicast() {
    every_operation(TransportMode::Multicast).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_end_to_end_over_unicast_fanout() {
    every_operation(TransportMode::Unicast).await;
}
