//! The clients: a booking load through both front ends, what each client was told (a ledger
//! and a history for the linearizability checker), and the checks after the storm — every
//! acknowledged booking held exactly once, the four RMs in the same state.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dmtbs_checker::{Completion, History, Op};
use dmtbs_client::{
    AddShow, Book, Client, Error, Operation, RetryPolicy, Schedule, Success, outcome_of,
};
use dmtbs_contract::Date;
use dmtbs_proto::NodeId;
use serde_json::Value;

/// The shows booked: Atwater, in the week of the cluster's fixed `today` (2026-11-24).
const SHOWS: [&str; 6] = [
    "ATWM241126",
    "ATWA241126",
    "ATWE241126",
    "ATWM251126",
    "ATWA251126",
    "ATWE251126",
];
/// The cluster's `today`, as the checker's model needs it.
const TODAY: Date = Date {
    year: 2026,
    month: 11,
    day: 24,
};
/// Clients booking at the same time, each one booking after another.
const CLIENTS: usize = 4;
/// How long one try of a request may take before the client tries again (the same key,
/// through the other front end).
pub const TRY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a client keeps trying one booking before it counts as a failure.
const GIVE_UP: Duration = Duration::from_secs(30);
/// The history's client numbers for the admin's and the final reads' operations (the booking
/// clients are 0..CLIENTS).
const ADMIN_CLIENT: u32 = 100;
const READER_CLIENT: u32 = 200;

/// What the clients were told, shared by their tasks.
pub struct Shared {
    /// Time zero of the history.
    started: Instant,
    /// Every operation, as its client saw it: for the checker.
    history: Mutex<History>,
    /// Per (customer, show): acknowledged (`true`) or sent without an answer (`false`).
    ledger: Mutex<BTreeMap<(String, String), bool>>,
    /// Bookings acknowledged so far.
    acked: AtomicUsize,
    /// When each acknowledgement came (since `started`), in order: the pauses a client saw.
    ack_times: Mutex<Vec<Duration>>,
    /// Tries answered with a 5xx (no agreement, no answer in time) — tried again.
    server_errors: AtomicUsize,
    /// Bookings answered as a replay of an earlier try (`X-DMTBS-Replayed`).
    replayed: AtomicUsize,
    /// What no client may ever see: a wrong answer, a refusal, no answer for 30 s.
    failures: Mutex<Vec<String>>,
}

impl Shared {
    pub fn new() -> Arc<Shared> {
        Arc::new(Shared {
            started: Instant::now(),
            history: Mutex::default(),
            ledger: Mutex::default(),
            acked: AtomicUsize::new(0),
            ack_times: Mutex::default(),
            server_errors: AtomicUsize::new(0),
            replayed: AtomicUsize::new(0),
            failures: Mutex::default(),
        })
    }

    fn now(&self) -> Duration {
        self.started.elapsed()
    }

    fn record(&self, op: Op) {
        self.history.lock().expect("history").push(op);
    }

    fn fail(&self, what: String) {
        eprintln!("FAILURE: {what}");
        self.failures.lock().expect("failures").push(what);
    }

    /// The longest stretch between `from` and `to` in which no booking was acknowledged.
    fn longest_gap(&self, from: Duration, to: Duration) -> Duration {
        let times = self.ack_times.lock().expect("ack times");
        let mut last = from;
        let mut longest = Duration::ZERO;
        for &t in times.iter().filter(|t| (from..=to).contains(*t)) {
            longest = longest.max(t.saturating_sub(last));
            last = t;
        }
        longest.max(to.saturating_sub(last))
    }

    pub fn acked(&self) -> usize {
        self.acked.load(Ordering::Relaxed)
    }

    pub fn server_errors(&self) -> usize {
        self.server_errors.load(Ordering::Relaxed)
    }

    pub fn replayed(&self) -> usize {
        self.replayed.load(Ordering::Relaxed)
    }

    pub fn failures(&self) -> Vec<String> {
        self.failures.lock().expect("failures").clone()
    }

    pub fn history(&self) -> History {
        self.history.lock().expect("history").clone()
    }
}

/// A client of each front end: no retries of its own (the load retries, alternating front
/// ends), and [`TRY_TIMEOUT`] per try.
pub fn clients(urls: &[String], admin_key: &str, tokens: dmtbs_client::TokenSource) -> Vec<Client> {
    urls.iter()
        .map(|url| {
            Client::builder(url)
                .admin_key(admin_key)
                .tokens(tokens.clone())
                .timeout(TRY_TIMEOUT)
                .retry(RetryPolicy::NONE)
                .build()
                .expect("front end client")
        })
        .collect()
}

/// Sends `op` with idempotency key `key` until it is answered — try `n` through front end
/// `(first + n) % len`, 50 ms apart — or [`GIVE_UP`] passes; 5xx answers are counted. Returns
/// the last try's result.
async fn until_answered(
    fes: &[Client],
    first: usize,
    key: &str,
    op: &Operation,
    shared: &Shared,
) -> Result<dmtbs_client::Answer<Success>, Error> {
    let give_up = Instant::now() + GIVE_UP;
    let mut attempt = 0;
    loop {
        let fe = &fes[(first + attempt) % fes.len()];
        attempt += 1;
        let result = fe.with_idempotency_key(key).execute(op).await;
        match &result {
            Ok(_) => return result,
            Err(Error::Api(e)) if e.status >= 500 => {
                shared.server_errors.fetch_add(1, Ordering::Relaxed);
            }
            Err(Error::Transport(_)) => {}
            Err(_) => return result,
        }
        if Instant::now() > give_up {
            return result;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Adds every show (capacity 10,000: no booking here is ever refused), tried until answered —
/// the first request also waits for the first epoch, which needs all four RMs.
pub async fn add_shows(fes: &[Client], shared: &Shared, tag: &str) {
    for show in SHOWS {
        let op = Operation::AddShow(AddShow {
            actor: "ATWA0001".into(),
            movie: "Avatar".into(),
            show_id: show.into(),
            capacity: 10_000,
        });
        let invoke = shared.now();
        let result = until_answered(fes, 0, &format!("{tag}-show-{show}"), &op, shared).await;
        let answer = result.unwrap_or_else(|e| panic!("add show {show}: {e}"));
        assert_eq!(answer.value, Success::ShowAdded, "add show {show}");
        shared.record(Op {
            client: ADMIN_CLIENT,
            today: TODAY,
            operation: op,
            invoke,
            completion: Completion::Returned {
                at: shared.now(),
                outcome: Ok(answer.value),
            },
        });
    }
}

/// [`CLIENTS`] clients booking until stopped.
pub struct Load {
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    /// Client `c` books one ticket of each (customer, show) pair in turn — customers
    /// `ATWC<1 + 1000c + i/6>` — each with its own idempotency key, tried until answered, its
    /// first try through front end `c % 2`, each retry through the other. Every answer must be
    /// the right one: the customer now holds exactly that one ticket.
    pub fn start(fes: &[Client], shared: &Arc<Shared>, tag: &str) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let tasks = (0..CLIENTS)
            .map(|c| {
                let (fes, shared, stop, tag) =
                    (fes.to_vec(), shared.clone(), stop.clone(), tag.to_owned());
                tokio::spawn(async move {
                    let mut i = 0;
                    while !stop.load(Ordering::Relaxed) {
                        let customer = format!("ATWC{:04}", 1 + c * 1_000 + i / SHOWS.len());
                        let show = SHOWS[i % SHOWS.len()];
                        let key = format!("{tag}-{c}-{i}");
                        i += 1;
                        let op = Operation::Book(Book {
                            actor: customer.clone(),
                            customer: customer.clone(),
                            movie: "Avatar".into(),
                            show_id: show.into(),
                            tickets: 1,
                        });
                        let pair = (customer.clone(), show.to_owned());
                        shared
                            .ledger
                            .lock()
                            .expect("ledger")
                            .insert(pair.clone(), false);
                        let invoke = shared.now();
                        let result = until_answered(&fes, c, &key, &op, &shared).await;
                        let completion = match outcome_of(&result) {
                            Some((_, outcome)) => Completion::Returned {
                                at: shared.now(),
                                outcome,
                            },
                            None => Completion::Unknown,
                        };
                        match &result {
                            Ok(answer) => {
                                if answer.replayed.is_some() {
                                    shared.replayed.fetch_add(1, Ordering::Relaxed);
                                }
                                if !matches!(&answer.value, Success::Booked(b) if b.held == 1) {
                                    shared.fail(format!(
                                        "{customer} {show}: a wrong answer {:?}",
                                        answer.value
                                    ));
                                }
                                shared.ledger.lock().expect("ledger").insert(pair, true);
                                shared
                                    .ack_times
                                    .lock()
                                    .expect("ack times")
                                    .push(shared.now());
                                shared.acked.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(e) => shared.fail(format!("{customer} {show}: {e}")),
                        }
                        shared.record(Op {
                            client: c as u32,
                            today: TODAY,
                            operation: op,
                            invoke,
                            completion,
                        });
                    }
                })
            })
            .collect();
        Load { stop, tasks }
    }

    /// Stops the clients after their current booking (each is tried until answered).
    pub async fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        for task in self.tasks {
            task.await.expect("client task");
        }
    }
}

/// Waits (bounded) until `more` bookings beyond those acknowledged now are acknowledged —
/// the service answers — and returns how long that took. `what` names the moment for the
/// failure message.
pub async fn answered(
    shared: &Shared,
    more: usize,
    what: &str,
    logs: impl Fn() -> String,
) -> Duration {
    let start = Instant::now();
    let target = shared.acked() + more;
    let timeout = Duration::from_secs(20);
    while shared.acked() < target {
        assert!(
            start.elapsed() < timeout,
            "{what}: fewer than {more} bookings answered in {timeout:?} ({} acknowledged in all; \
             failures {:?})\n{}",
            shared.acked(),
            shared.failures(),
            logs()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    start.elapsed()
}

/// Reads every customer's schedule (through front end `fe`) and checks the ledger: every
/// acknowledged booking held exactly once, nothing held twice. The reads go into the history.
/// Returns (acknowledged, unknown).
pub async fn check_ledger(fes: &[Client], shared: &Shared, tag: &str) -> (usize, usize) {
    let ledger = shared.ledger.lock().expect("ledger").clone();
    let mut customers: BTreeMap<&str, Vec<(&str, bool)>> = BTreeMap::new();
    for ((customer, show), acked) in &ledger {
        customers.entry(customer).or_default().push((show, *acked));
    }
    let mut wrong = Vec::new();
    for (n, (customer, booked)) in customers.iter().enumerate() {
        let op = Operation::Schedule(Schedule {
            actor: customer.to_string(),
            customer: customer.to_string(),
        });
        let invoke = shared.now();
        let answer = until_answered(fes, n, &format!("{tag}-read-{customer}"), &op, shared)
            .await
            .unwrap_or_else(|e| panic!("{customer}'s schedule: {e}"));
        shared.record(Op {
            client: READER_CLIENT,
            today: TODAY,
            operation: op,
            invoke,
            completion: Completion::Returned {
                at: shared.now(),
                outcome: Ok(answer.value.clone()),
            },
        });
        let Success::Schedule(bookings) = answer.value else {
            panic!("{customer}'s schedule: {:?}", answer.value)
        };
        let held: BTreeMap<&str, u32> = bookings
            .iter()
            .map(|b| (b.show_id.as_str(), b.tickets))
            .collect();
        for (show, acked) in booked {
            match (held.get(show).copied().unwrap_or(0), acked) {
                (1, _) | (0, false) => {}
                (0, true) => wrong.push(format!("{customer} {show}: acknowledged, lost")),
                (n, _) => wrong.push(format!("{customer} {show}: {n} tickets, executed twice")),
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} booking(s) wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    let acked = ledger.values().filter(|a| **a).count();
    (acked, ledger.len() - acked)
}

/// The operator's view, `GET /v1/admin/replicas` through front end `url`.
pub async fn status(http: &reqwest::Client, url: &str, admin_key: &str) -> Value {
    let response = http
        .get(format!("{url}/v1/admin/replicas"))
        .bearer_auth(admin_key)
        .timeout(TRY_TIMEOUT)
        .send()
        .await
        .expect("status request");
    assert_eq!(response.status(), 200, "GET /v1/admin/replicas");
    response.json().await.expect("status JSON")
}

/// A field of each RM 1..=4 in a status (`None` for an RM that did not answer).
fn per_rm(status: &Value, field: &str) -> Vec<Option<Value>> {
    (1..=4)
        .map(|id| {
            status["replicas"]
                .as_array()
                .and_then(|rs| rs.iter().find(|r| r["rm"] == id))
                .map(|r| r[field].clone())
        })
        .collect()
}

/// Waits (bounded) until every RM reports the same epoch, numbered by `owner`'s sequencer and
/// above `above`; returns it.
pub async fn all_in_epoch_of(
    http: &reqwest::Client,
    url: &str,
    admin_key: &str,
    owner: NodeId,
    above: u64,
) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let epochs: Vec<Option<u64>> = per_rm(&status(http, url, admin_key).await, "epoch")
            .into_iter()
            .map(|e| e.and_then(|e| e.as_u64()))
            .collect();
        if let Some(Some(first)) = epochs.first()
            && *first > above
            && NodeId::sequencer_of(*first) == owner
            && epochs.iter().all(|e| *e == Some(*first))
        {
            return *first;
        }
        assert!(
            Instant::now() < deadline,
            "the RMs are not all in an epoch of {owner} above {above}: {epochs:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits (bounded) until RM `rm` serves again and has applied everything the others had
/// applied when the wait began — it caught up after a fault; returns how long that took.
pub async fn caught_up(http: &reqwest::Client, url: &str, admin_key: &str, rm: &str) -> Duration {
    let started = Instant::now();
    let id: usize = rm[2..].parse().expect("rm<N>");
    let applied = |status: &Value| -> Vec<Option<u64>> {
        per_rm(status, "appliedThrough")
            .into_iter()
            .map(|a| a.and_then(|a| a.as_u64()))
            .collect()
    };
    let target = applied(&status(http, url, admin_key).await)
        .into_iter()
        .enumerate()
        .filter(|(i, _)| i + 1 != id)
        .filter_map(|(_, a)| a)
        .max()
        .unwrap_or(0);
    let timeout = Duration::from_secs(20);
    loop {
        let status = status(http, url, admin_key).await;
        let serving = per_rm(&status, "health")[id - 1]
            .as_ref()
            .is_some_and(|h| h == "serving");
        if serving && applied(&status)[id - 1].is_some_and(|a| a >= target) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < timeout,
            "{rm} did not catch up with request {target} within {timeout:?}:\n{status:#}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The RMs' epochs now.
pub async fn epochs(http: &reqwest::Client, url: &str, admin_key: &str) -> Vec<Option<u64>> {
    per_rm(&status(http, url, admin_key).await, "epoch")
        .into_iter()
        .map(|e| e.and_then(|e| e.as_u64()))
        .collect()
}

/// Waits (bounded) until all four RMs serve and report the same own checkpoint — the same
/// state digest — at or after every request applied when the wait began, sending reads
/// (sequenced like any request) to reach that checkpoint. Returns the checkpoint's sequence
/// number and digest.
pub async fn converged(
    http: &reqwest::Client,
    fes: &[Client],
    url: &str,
    admin_key: &str,
) -> (u64, String) {
    let timeout = Duration::from_secs(30);
    let deadline = Instant::now() + timeout;
    let applied = per_rm(&status(http, url, admin_key).await, "appliedThrough")
        .into_iter()
        .filter_map(|a| a.and_then(|a| a.as_u64()))
        .max()
        .unwrap_or(0);
    let read = Operation::Availability(dmtbs_client::Availability {
        actor: "ATWC0001".into(),
        movie: "Avatar".into(),
    });
    loop {
        let status = status(http, url, admin_key).await;
        let serving = per_rm(&status, "health");
        let own = per_rm(&status, "ownCheckpoint");
        if let Some(Some(first)) = own.first()
            && first["seq"].as_u64().is_some_and(|seq| seq >= applied)
            && own.iter().all(|o| o.as_ref() == Some(first))
            && serving
                .iter()
                .all(|h| h.as_ref().is_some_and(|h| h == "serving"))
        {
            let seq = first["seq"].as_u64().expect("a sequence number");
            return (seq, first["digest"].as_str().expect("a digest").to_owned());
        }
        assert!(
            Instant::now() < deadline,
            "the RMs did not converge within {timeout:?} (applied through {applied}):\n{status:#}"
        );
        // Not recorded in the history: only its effect on the checkpoint matters here.
        let _ = fes[0].execute(&read).await;
    }
}

/// What the clients saw while a fault lasted.
pub struct Phase {
    /// Bookings acknowledged meanwhile.
    pub answers: usize,
    /// The longest stretch without any acknowledgement: the pause a client noticed.
    pub longest_gap: Duration,
    pub lasted: Duration,
}

/// Keeps a fault for at least `hold` and until `answers` more bookings were acknowledged
/// (bounded by [`answered`]); says what the clients saw meanwhile.
pub async fn during(
    shared: &Shared,
    hold: Duration,
    answers: usize,
    what: &str,
    logs: impl Fn() -> String,
) -> Phase {
    let (from, before) = (shared.now(), shared.acked());
    answered(shared, answers, what, logs).await;
    let rest = hold.saturating_sub(shared.now() - from);
    tokio::time::sleep(rest).await;
    let to = shared.now();
    Phase {
        answers: shared.acked() - before,
        longest_gap: shared.longest_gap(from, to),
        lasted: to - from,
    }
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} answers in {:.2?}, longest pause {:.0?}",
            self.answers, self.lasted, self.longest_gap
        )
    }
}

/// A counter from a node's Prometheus endpoint, summed over the label sets that hold every one
/// of `labels` (e.g. `to="peer"`).
pub async fn counter(
    http: &reqwest::Client,
    metrics: std::net::SocketAddr,
    series: &str,
    labels: &[&str],
) -> f64 {
    let text = http
        .get(format!("http://{metrics}/metrics"))
        .timeout(TRY_TIMEOUT)
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .unwrap_or_else(|e| panic!("scrape {metrics}: {e}"))
        .text()
        .await
        .expect("metrics text");
    text.lines()
        .filter(|l| {
            l.strip_prefix(series)
                .is_some_and(|rest| rest.starts_with(' ') || rest.starts_with('{'))
                && labels.iter().all(|label| l.contains(label))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}
