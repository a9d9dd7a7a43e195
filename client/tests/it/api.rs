//! Every typed method and `execute` through the real router: routes, actor header, admin key,
//! typed answers, the error shape, and what a failure looks like.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dmtbs_client::{
    AddShow, Answer, Availability, Book, Booked, BookingError, Cancel, Client, Error, Exchange,
    Exchanged, Operation, Outcome, RemoveShow, RetryPolicy, Schedule, ScheduledBooking, ShowChange,
    ShowRemaining, ShowRemoved, Success, outcome_of,
};
use dmtbs_frontend::{AdminKey, AuditLog, Auth, Cluster, ClusterError, TokenKey, VotedOutcome};

pub const KEY: &str = "the-admin-key";
/// The token key of the tests' front ends (a test value).
const TOKEN_KEY: [u8; 32] = [9; 32];

/// The tests' front ends' authentication.
pub fn auth() -> Arc<Auth> {
    Arc::new(Auth::new(
        AdminKey::new(KEY),
        TokenKey::from_bytes(&TOKEN_KEY),
    ))
}

/// `user`'s token under the tests' key.
pub fn token(user: &str) -> String {
    TokenKey::from_bytes(&TOKEN_KEY)
        .issue(&user.to_ascii_uppercase(), Duration::from_secs(3600))
        .expect("a token")
        .token
}

/// Every actor's token, as a tool holding the token key makes them.
pub fn tokens() -> dmtbs_client::TokenSource {
    Arc::new(|actor: &str| Some(token(actor)))
}

/// Retries as by default, but quick: tests need not wait seconds.
pub const QUICK_RETRY: RetryPolicy = RetryPolicy {
    tries: 3,
    first_delay: Duration::from_millis(10),
};

/// A cluster that answers what it is told to and remembers what reached it.
#[derive(Default)]
pub struct Scripted {
    answer: Mutex<Option<Result<VotedOutcome, ClusterError>>>,
    /// Answers given before `answer`, one per call, first first.
    queue: Mutex<VecDeque<Result<VotedOutcome, ClusterError>>>,
    calls: Mutex<Vec<(Operation, Option<String>)>>,
}

impl Scripted {
    pub fn answer(&self, answer: Result<VotedOutcome, ClusterError>) {
        *self.answer.lock().unwrap() = Some(answer);
    }

    /// The next calls get these answers, in order; then the one `answer` set.
    pub fn then(&self, answers: impl IntoIterator<Item = Result<VotedOutcome, ClusterError>>) {
        self.queue.lock().unwrap().extend(answers);
    }

    pub fn outcome(&self, outcome: Outcome) {
        self.answer(Ok(VotedOutcome {
            seq: 42,
            outcome,
            agreed: vec![1, 3],
            replay_of: None,
        }));
    }

    pub fn last(&self) -> Option<Operation> {
        self.calls.lock().unwrap().last().map(|(op, _)| op.clone())
    }

    pub fn calls(&self) -> usize {
        self.calls.lock().unwrap().len()
    }

    /// The idempotency key of every call, first first.
    pub fn keys(&self) -> Vec<Option<String>> {
        let calls = self.calls.lock().unwrap();
        calls.iter().map(|(_, key)| key.clone()).collect()
    }
}

/// No replica managers behind it: operator routes answer 503.
impl dmtbs_frontend::Operator for Scripted {}

impl Cluster for Scripted {
    async fn execute(
        &self,
        operation: Operation,
        key: Option<String>,
    ) -> Result<VotedOutcome, ClusterError> {
        self.calls.lock().unwrap().push((operation, key));
        if let Some(next) = self.queue.lock().unwrap().pop_front() {
            return next;
        }
        self.answer
            .lock()
            .unwrap()
            .clone()
            .expect("the test scripted an answer")
    }
}

/// A front end over a scripted cluster on a loopback port, and a client of it with the key and
/// every actor's token (retrying quickly).
pub async fn front_end() -> (Arc<Scripted>, Client) {
    let cluster = Arc::new(Scripted::default());
    let app = dmtbs_frontend::router(cluster.clone(), auth(), AuditLog::discard());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("loopback port");
    let url = format!("http://{}", listener.local_addr().expect("bound"));
    tokio::spawn(dmtbs_frontend::serve(listener, app, std::future::pending()));
    let client = Client::builder(url)
        .admin_key(KEY)
        .tokens(tokens())
        .retry(QUICK_RETRY)
        .build()
        .expect("client");
    client.health().await.expect("the front end is up");
    (cluster, client)
}

pub fn s(text: &str) -> String {
    text.into()
}

#[tokio::test]
async fn every_operation_reaches_its_route_and_comes_back_typed() {
    let (cluster, client) = front_end().await;

    let add = AddShow {
        actor: s("ATWA0001"),
        movie: s("Avatar"),
        show_id: s("ATWE251126"),
        capacity: 50,
    };
    cluster.outcome(Ok(Success::ShowAdded));
    let answer = client.add_show(&add).await.expect("added");
    assert_eq!(
        answer,
        Answer {
            value: ShowChange::Added,
            seq: 42,
            agreed: vec![1, 3],
            status: 201,
            replayed: None,
        }
    );
    assert_eq!(cluster.last(), Some(Operation::AddShow(add.clone())));
    cluster.outcome(Ok(Success::ShowUpdated(50)));
    let answer = client.add_show(&add).await.expect("updated");
    assert_eq!(answer.value, ShowChange::Updated { old_capacity: 50 });
    assert_eq!(answer.status, 200);

    let remove = RemoveShow {
        actor: s("ATWA0001"),
        movie: s("Avatar"),
        show_id: s("ATWE251126"),
    };
    let removed = ShowRemoved {
        moved: vec![],
        dropped: vec![],
    };
    cluster.outcome(Ok(Success::ShowRemoved(removed.clone())));
    assert_eq!(
        client.remove_show(&remove).await.expect("removed").value,
        removed
    );
    assert_eq!(cluster.last(), Some(Operation::RemoveShow(remove)));

    let availability = Availability {
        actor: s("VERC0003"),
        movie: s("Avatar"),
    };
    let shows = vec![ShowRemaining {
        show_id: s("ATWE251126"),
        remaining: 7,
    }];
    cluster.outcome(Ok(Success::Availability(shows.clone())));
    let answer = client.availability(&availability).await.expect("shows");
    assert_eq!(answer.value, shows);
    assert_eq!(cluster.last(), Some(Operation::Availability(availability)));

    let book = Book {
        actor: s("ATWC0001"),
        customer: s("ATWC0001"),
        movie: s("Avatar"),
        show_id: s("ATWE251126"),
        tickets: 2,
    };
    let booked = Booked {
        held: 2,
        remaining: 48,
    };
    cluster.outcome(Ok(Success::Booked(booked)));
    assert_eq!(client.book(&book).await.expect("booked").value, booked);
    assert_eq!(cluster.last(), Some(Operation::Book(book)));

    let schedule = Schedule {
        actor: s("VERA1000"),
        customer: s("ATWC0001"),
    };
    let bookings = vec![ScheduledBooking {
        movie: s("Avatar"),
        show_id: s("ATWE251126"),
        tickets: 2,
    }];
    cluster.outcome(Ok(Success::Schedule(bookings.clone())));
    let answer = client.schedule(&schedule).await.expect("schedule");
    assert_eq!(answer.value, bookings);
    assert_eq!(cluster.last(), Some(Operation::Schedule(schedule)));

    let cancel = Cancel {
        actor: s("ATWC0001"),
        customer: s("ATWC0001"),
        movie: s("Avatar"),
        show_id: s("ATWE251126"),
        tickets: 1,
    };
    cluster.outcome(Ok(Success::Cancelled(1)));
    assert_eq!(client.cancel(&cancel).await.expect("cancelled").value, 1);
    assert_eq!(cluster.last(), Some(Operation::Cancel(cancel)));

    let exchange = Exchange {
        actor: s("ATWC0001"),
        customer: s("ATWC0001"),
        old_movie: s("Avatar"),
        old_show_id: s("ATWE251126"),
        new_movie: s("Titanic"),
        new_show_id: s("ATWM261126"),
        tickets: 1,
    };
    let exchanged = Exchanged {
        old_held: 0,
        new_held: 1,
    };
    cluster.outcome(Ok(Success::Exchanged(exchanged)));
    assert_eq!(
        client.exchange(&exchange).await.expect("exchanged").value,
        exchanged
    );
    assert_eq!(cluster.last(), Some(Operation::Exchange(exchange.clone())));

    // `execute` sends any operation and keeps the contract's success type.
    let answer = client
        .execute(&Operation::Exchange(exchange))
        .await
        .expect("exchanged");
    assert_eq!(answer.value, Success::Exchanged(exchanged));
    assert_eq!(
        outcome_of(&Ok(answer)),
        Some((42, Ok(Success::Exchanged(exchanged))))
    );
}

#[tokio::test]
async fn refusals_come_back_as_typed_api_errors() {
    let (cluster, client) = front_end().await;
    let book = |tickets| Book {
        actor: s("ATWC0001"),
        customer: s("ATWC0001"),
        movie: s("Avatar"),
        show_id: s("ATWE251126"),
        tickets,
    };

    // Refused by the rules: sequenced, with the rule's code and detail.
    cluster.outcome(Err(BookingError::ShowFull(3)));
    let result = client.book(&book(5)).await;
    let Err(Error::Api(e)) = &result else {
        panic!("{result:?}")
    };
    assert_eq!((e.status, e.code.as_str()), (409, "show-full"));
    assert_eq!(e.booking_error(), Some(BookingError::ShowFull(3)));
    assert_eq!((e.seq, e.agreed.as_slice()), (Some(42), &[1, 3][..]));
    assert!(e.refused_by_rules());
    let result = client.execute(&Operation::Book(book(5))).await;
    assert_eq!(
        outcome_of(&result),
        Some((42, Err(BookingError::ShowFull(3))))
    );

    // Refused by the front end before sequencing: no sequence number, never reaches the cluster.
    let calls = cluster.calls();
    let result = client.book(&book(0)).await;
    let e = result.as_ref().err().and_then(Error::api).expect("refused");
    assert_eq!(
        (e.status, e.code.as_str(), e.seq),
        (422, "invalid-tickets", None)
    );
    assert!(!e.refused_by_rules());
    assert_eq!(
        outcome_of(&client.execute(&Operation::Book(book(0))).await),
        None
    );
    assert_eq!(cluster.calls(), calls);

    // Every request needs its actor's token: none, a forged one, or the admin key are refused;
    // another user's token acts for that user only.
    let add = AddShow {
        actor: s("atwa0001"),
        movie: s("Avatar"),
        show_id: s("ATWE251126"),
        capacity: 5,
    };
    for tokenless in [
        client.with_token(None),
        client.with_token(Some("v4.local.forged")),
        client.with_token(Some(KEY)),
    ] {
        let result = tokenless.add_show(&add).await;
        let e = result.as_ref().err().and_then(Error::api).expect("refused");
        assert_eq!((e.status, e.code.as_str()), (401, "unauthenticated"));
        assert_eq!(result.unwrap_err().kind(), "unauthenticated");
    }
    let someone_else = client.with_token(Some(&token("ATWC0002")));
    let e = someone_else.book(&book(1)).await.unwrap_err();
    let e = e.api().expect("refused");
    assert_eq!((e.status, e.code.as_str()), (403, "wrong-user"));
    assert_eq!(
        cluster.calls(),
        calls,
        "nothing unauthenticated was sequenced"
    );
    cluster.outcome(Ok(Success::Booked(Booked {
        held: 1,
        remaining: 4,
    })));
    let own = client.with_token(Some(&token(&book(1).actor)));
    own.book(&book(1)).await.expect("its own token");
    assert_eq!(cluster.calls(), calls + 1);
    // Neither a token nor the key shows in Debug output.
    let shown = format!("{own:?} {client:?}");
    assert!(
        !shown.contains(KEY) && !shown.contains("v4.local."),
        "{shown}"
    );

    // The cluster could not answer: 503, with the sequence number when it was executed.
    cluster.answer(Err(ClusterError::NoAgreement { seq: 77 }));
    let result = client.book(&book(1)).await;
    let e = result.as_ref().err().and_then(Error::api).expect("failed");
    assert_eq!(
        (e.status, e.code.as_str(), e.seq),
        (503, "no-agreement", Some(77))
    );
    assert!(!e.refused_by_rules());
    cluster.answer(Err(ClusterError::Unavailable("test".into())));
    let result = client.book(&book(1)).await;
    assert_eq!(result.unwrap_err().kind(), "unavailable");

    // A success of another operation is not the API's answer to this one.
    cluster.outcome(Ok(Success::Cancelled(0)));
    let result = client.book(&book(1)).await;
    assert!(
        matches!(result, Err(Error::Unexpected { status: 200, .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn no_front_end_and_bad_urls_are_errors_not_panics() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let client = Client::new(format!("http://127.0.0.1:{port}")).expect("client");
    let err = client.health().await.unwrap_err();
    assert_eq!(err.kind(), "connect", "{err}");
    for url in [
        "not a url",
        "ftp://127.0.0.1/",
        "mailto:someone@example.org",
    ] {
        let err = Client::new(url).unwrap_err();
        assert_eq!(err.kind(), "invalid-url", "{url}: {err}");
    }
    // A base URL with a path prefix keeps it: every route is then unknown here.
    let (_, client) = front_end().await;
    let prefixed = Client::new(format!("{}nothing/", client.base_url())).expect("client");
    let result = prefixed
        .schedule(&Schedule {
            actor: s("ATWC0001"),
            customer: s("ATWC0001"),
        })
        .await;
    assert_eq!(result.unwrap_err().kind(), "no-such-route");
}
