//! Idempotency keys and retries: every state-changing call sends a key, a fresh one per call or
//! the caller's; no answer or a 503 is tried again with the same key, a bounded number of times;
//! replayed answers say so.

use std::sync::Arc;
use std::time::Duration;

use dmtbs_client::{
    AddShow, Availability, Book, Booked, BookingError, Cancel, Client, Error, Exchange, Exchanged,
    Operation, RemoveShow, RetryPolicy, Schedule, ShowChange, ShowRemoved, Success, mutates,
    new_idempotency_key,
};
use dmtbs_frontend::{AuditLog, ClusterError, Replay, VotedOutcome};

use crate::api::{QUICK_RETRY, Scripted, front_end, s};

fn book() -> Book {
    Book {
        actor: s("ATWC0001"),
        customer: s("ATWC0001"),
        movie: s("Avatar"),
        show_id: s("ATWE251126"),
        tickets: 2,
    }
}

fn booked() -> Success {
    Success::Booked(Booked {
        held: 2,
        remaining: 8,
    })
}

fn voted(
    seq: u64,
    outcome: Result<Success, BookingError>,
    replay: Option<(u64, bool)>,
) -> Result<VotedOutcome, ClusterError> {
    Ok(VotedOutcome {
        seq,
        outcome,
        agreed: vec![2, 4],
        replay_of: replay.map(|(seq, same_operation)| Replay {
            seq,
            same_operation,
        }),
    })
}

fn unavailable() -> Result<VotedOutcome, ClusterError> {
    Err(ClusterError::Unavailable(
        "the sequencer did not accept the request".into(),
    ))
}

/// A UUID version 4 in its text form.
fn is_uuid_v4(key: &str) -> bool {
    let b = key.as_bytes();
    key.len() == 36
        && [8, 13, 18, 23].iter().all(|&i| b[i] == b'-')
        && key
            .bytes()
            .enumerate()
            .all(|(i, c)| [8, 13, 18, 23].contains(&i) || matches!(c, b'0'..=b'9' | b'a'..=b'f'))
        && b[14] == b'4'
        && matches!(b[19], b'8' | b'9' | b'a' | b'b')
}

#[test]
fn fresh_keys_are_random_uuids() {
    let keys: Vec<String> = (0..100).map(|_| new_idempotency_key()).collect();
    for key in &keys {
        assert!(is_uuid_v4(key), "{key}");
    }
    let mut unique = keys.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), keys.len());
}

#[tokio::test]
async fn state_changing_calls_send_a_fresh_key_and_reads_none() {
    let (cluster, client) = front_end().await;
    let add = AddShow {
        actor: s("ATWA0001"),
        movie: s("Avatar"),
        show_id: s("ATWE251126"),
        capacity: 5,
    };
    let remove = RemoveShow {
        actor: s("ATWA0001"),
        movie: s("Avatar"),
        show_id: s("ATWE251126"),
    };
    let cancel = Cancel {
        actor: s("ATWC0001"),
        customer: s("ATWC0001"),
        movie: s("Avatar"),
        show_id: s("ATWE251126"),
        tickets: 1,
    };
    let exchange = Exchange {
        actor: s("ATWC0001"),
        customer: s("ATWC0001"),
        old_movie: s("Avatar"),
        old_show_id: s("ATWE251126"),
        new_movie: s("Avatar"),
        new_show_id: s("ATWM261126"),
        tickets: 1,
    };
    cluster.answer(voted(1, Ok(Success::ShowAdded), None));
    assert_eq!(
        client.add_show(&add).await.unwrap().value,
        ShowChange::Added
    );
    let removed = ShowRemoved {
        moved: vec![],
        dropped: vec![],
    };
    cluster.answer(voted(2, Ok(Success::ShowRemoved(removed)), None));
    client.remove_show(&remove).await.unwrap();
    cluster.answer(voted(3, Ok(booked()), None));
    client.book(&book()).await.unwrap();
    client.book(&book()).await.unwrap();
    cluster.answer(voted(4, Ok(Success::Cancelled(1)), None));
    client.cancel(&cancel).await.unwrap();
    let exchanged = Exchanged {
        old_held: 0,
        new_held: 1,
    };
    cluster.answer(voted(5, Ok(Success::Exchanged(exchanged)), None));
    let answer = client.exchange(&exchange).await.unwrap();
    assert_eq!(answer.replayed, None);
    let keys: Vec<String> = cluster
        .keys()
        .into_iter()
        .map(|k| k.expect("a key"))
        .collect();
    assert_eq!(keys.len(), 6);
    assert!(keys.iter().all(|k| is_uuid_v4(k)), "{keys:?}");
    let mut unique = keys.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        unique.len(),
        6,
        "one key per call, the same operation twice too"
    );

    // Reads carry none.
    cluster.answer(voted(6, Ok(Success::Schedule(vec![])), None));
    client
        .schedule(&Schedule {
            actor: s("ATWC0001"),
            customer: s("ATWC0001"),
        })
        .await
        .unwrap();
    cluster.answer(voted(7, Ok(Success::Availability(vec![])), None));
    let availability = Availability {
        actor: s("ATWC0001"),
        movie: s("Avatar"),
    };
    client.availability(&availability).await.unwrap();
    assert_eq!(cluster.keys()[6..], [None, None]);
    assert!(!mutates(&Operation::Availability(availability)));
    assert!(mutates(&Operation::Book(book())));

    // The caller's key, on every request of that client.
    let keyed = client.with_idempotency_key("order-17");
    assert_eq!(keyed.idempotency_key(), Some("order-17"));
    cluster.answer(voted(8, Ok(booked()), None));
    keyed.book(&book()).await.unwrap();
    keyed.execute(&Operation::Book(book())).await.unwrap();
    cluster.answer(voted(9, Ok(Success::Availability(vec![])), None));
    keyed
        .availability(&Availability {
            actor: s("ATWC0001"),
            movie: s("Avatar"),
        })
        .await
        .unwrap();
    let order = Some(s("order-17"));
    assert_eq!(cluster.keys()[8..], [order.clone(), order.clone(), order]);
    assert_eq!(client.idempotency_key(), None, "the original is unchanged");
}

#[tokio::test]
async fn a_503_is_tried_again_with_the_same_key_and_the_replay_is_reported() {
    let (cluster, client) = front_end().await;
    // The first try meets a sequencer failover; the second finds the request executed.
    cluster.then([unavailable()]);
    cluster.answer(voted(12, Ok(booked()), Some((9, true))));
    let answer = client
        .book(&book())
        .await
        .expect("booked on the second try");
    assert_eq!(
        (answer.value, answer.seq, answer.replayed),
        (
            Booked {
                held: 2,
                remaining: 8
            },
            12,
            Some(9)
        )
    );
    let keys = cluster.keys();
    assert_eq!(keys.len(), 2);
    assert!(keys[0].is_some());
    assert_eq!(keys[0], keys[1], "the same key on the retry");

    // No agreement (503 too): tried again with the same key.
    cluster.then([Err(ClusterError::NoAgreement { seq: 13 })]);
    client
        .book(&book())
        .await
        .expect("booked on the second try");
    let keys = cluster.keys();
    assert_eq!(keys.len(), 4);
    assert_eq!(keys[2], keys[3]);
    assert_ne!(keys[1], keys[2], "a new call, a new key");

    // A refusal by the rules, replayed: the same refusal, and where it was first given.
    cluster.answer(voted(14, Err(BookingError::ShowFull(0)), Some((11, true))));
    let e = client.book(&book()).await.unwrap_err();
    let e = e.api().expect("refused");
    assert_eq!(
        (e.code.as_str(), e.seq, e.replayed),
        ("show-full", Some(14), Some(11))
    );
    assert!(e.refused_by_rules());
    assert_eq!(cluster.calls(), 5, "refusals are not retried");
}

#[tokio::test]
async fn retries_are_bounded_and_can_be_turned_off() {
    let (cluster, client) = front_end().await;
    cluster.answer(unavailable());
    let e = client.book(&book()).await.unwrap_err();
    assert_eq!(e.kind(), "unavailable");
    let keys = cluster.keys();
    assert_eq!(keys.len(), QUICK_RETRY.tries as usize);
    assert!(
        keys.iter().all(|k| k.is_some() && *k == keys[0]),
        "{keys:?}"
    );

    // A client that never retries.
    let once = Client::builder(client.base_url())
        .tokens(crate::api::tokens())
        .retry(RetryPolicy::NONE)
        .build()
        .unwrap();
    once.book(&book()).await.unwrap_err();
    assert_eq!(cluster.calls(), QUICK_RETRY.tries as usize + 1);
    assert_eq!(RetryPolicy::default(), RetryPolicy::DEFAULT);
    assert_eq!(RetryPolicy::DEFAULT.tries, 3);
    assert_eq!(
        (1..=2)
            .map(|n| RetryPolicy::DEFAULT.delay_after(n))
            .sum::<Duration>(),
        Duration::from_millis(1500)
    );
}

#[tokio::test]
async fn a_key_reused_for_another_request_is_refused_not_retried() {
    let (cluster, client) = front_end().await;
    cluster.answer(voted(20, Ok(booked()), Some((3, false))));
    let e = client
        .with_idempotency_key("used-before")
        .book(&book())
        .await
        .unwrap_err();
    let e = e.api().expect("refused");
    assert_eq!(
        (e.status, e.code.as_str(), e.seq, e.replayed),
        (422, "idempotency-key-reused", Some(20), Some(3))
    );
    assert!(!e.refused_by_rules(), "not the booking rules");
    assert_eq!(cluster.calls(), 1);
}

#[tokio::test]
async fn a_front_end_that_is_not_up_yet_is_tried_again() {
    // A port that was free a moment ago; the front end starts there after the first try failed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let cluster = Arc::new(Scripted::default());
    cluster.answer(voted(1, Ok(booked()), None));
    let client = Client::builder(format!("http://127.0.0.1:{port}"))
        .tokens(crate::api::tokens())
        .retry(RetryPolicy {
            tries: 3,
            first_delay: Duration::from_millis(300),
        })
        .build()
        .unwrap();
    let app = dmtbs_frontend::router(cluster.clone(), crate::api::auth(), AuditLog::discard());
    let server = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("the port is still free");
        dmtbs_frontend::serve(listener, app, std::future::pending()).await
    });
    let answer = client.book(&book()).await.expect("booked on a later try");
    assert_eq!(answer.seq, 1);
    assert_eq!(
        cluster.calls(),
        1,
        "the first try never reached a front end"
    );
    assert!(cluster.keys()[0].is_some());
    server.abort();

    // Nobody ever listens: a connection error after the tries.
    let e = Client::builder(format!("http://127.0.0.1:{port}"))
        .retry(QUICK_RETRY)
        .build()
        .unwrap()
        .book(&book())
        .await;
    assert!(matches!(e, Err(Error::Transport(_))), "{e:?}");
}
