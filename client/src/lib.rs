//! A typed client for the DMTBS front end's HTTP/JSON API.
//!
//! One method per booking operation, each taking the contract's record for it
//! ([`dmtbs_contract`], the WIT contract as Rust types) and returning a typed [`Answer`] — the
//! success value, the request's sequence number (`X-DMTBS-Seq`) and the replica managers that
//! agreed on it (`X-DMTBS-Agreed`) — or a typed [`Error`]: a refusal by the front end or by the
//! booking rules ([`ApiError`]: HTTP status, error code, message, details), no answer at all, or
//! an answer that is not the API's. [`Client::execute`] sends any contract [`Operation`], so
//! generated workloads (`dmtbs-testkit`'s `Workload`) can be replayed through HTTP.
//!
//! A few operator methods (admin key): [`Client::replicas`], [`Client::swap`] and the chaos
//! commands [`Client::chaos_drop`], [`Client::chaos_links`], [`Client::chaos_heal`]; and token
//! management (the admin key, or an area admin's token): [`Client::issue_token`],
//! [`Client::revoke_token`].
//!
//! ```no_run
//! # async fn example() -> Result<(), dmtbs_client::Error> {
//! use dmtbs_client::{Book, Client};
//!
//! let token = std::env::var("DMTBS_TOKEN").unwrap_or_default(); // ATWC0001's token
//! let client = Client::builder("http://127.0.0.1:8080").token(token).build()?;
//! let answer = client
//!     .book(&Book {
//!         actor: "ATWC0001".into(),
//!         customer: "ATWC0001".into(),
//!         movie: "Avatar".into(),
//!         show_id: "ATWE251126".into(),
//!         tickets: 2,
//!     })
//!     .await?;
//! println!("booked; {} seats left (request {}, agreed by RMs {:?})",
//!          answer.value.remaining, answer.seq, answer.agreed);
//! # Ok(()) }
//! ```
//!
//! Every booking request proves who its actor is (the operation's `actor` field) with that
//! user's token, `Authorization: Bearer <token>` — one token for a client acting as one user
//! ([`ClientBuilder::token`]), or a token per actor ([`ClientBuilder::tokens`], for tools acting
//! as many users) — and names the actor in `X-DMTBS-User` too (the front end checks that they
//! agree). The admin key goes only to the operator API and to token management; tokens and the
//! key never appear in `Debug` output.
//!
//! **Exactly once.** Every state-changing call (add-show, remove-show, book, cancel, exchange)
//! sends an `Idempotency-Key`: a fresh random one per call, or the caller's
//! ([`Client::with_idempotency_key`]). When there is no answer or the answer is 503, the client
//! tries the same request with the same key again ([`RetryPolicy`]: 3 tries over about 2 s by
//! default, [`ClientBuilder::retry`]); the replicas never execute a key twice, so the operation
//! is executed once however many tries it took. An answer the replicas replayed from an earlier
//! execution says so: [`Answer::replayed`] (and [`ApiError::replayed`] for a refusal). Details in
//! [`retry`].
//!
//! Layout:
//! - this file: [`Client`], its builder, [`Answer`], the booking routes;
//! - `admin` (private): the operator's methods and token management, and their answers' types;
//! - [`error`]: [`Error`] and [`ApiError`];
//! - [`retry`]: [`RetryPolicy`] and [`new_idempotency_key`];
//! - `json` (private): the API's JSON shapes decoded into contract types, checked in its tests
//!   against the front end's own encoders.

mod admin;
pub mod error;
mod json;
pub mod retry;

use std::fmt;
use std::time::Duration;

pub use admin::{CanaryStatus, ChaosLink, ChaosLinks, IssuedToken, ReplicaStatus, Replicas};
pub use dmtbs_contract::{
    AddShow, Availability, Book, Booked, BookingError, Cancel, Exchange, Exchanged, Operation,
    Outcome, RemoveShow, Schedule, ScheduledBooking, ShowRemaining, ShowRemoved, Success,
};
pub use error::{ApiError, Error};
pub use retry::{RetryPolicy, new_idempotency_key};
use serde_json::json;

/// How long an idle keep-alive connection stays in the pool: under the front end's 10 s idle
/// close (`[frontend.limits] header_read_timeout_ms`).
const POOL_IDLE: std::time::Duration = std::time::Duration::from_secs(5);

/// The header naming the caller.
const USER_HEADER: &str = "x-dmtbs-user";
/// Response header: the request's sequence number.
const SEQ_HEADER: &str = "x-dmtbs-seq";
/// Response header: the replica managers that agreed, comma-separated.
const AGREED_HEADER: &str = "x-dmtbs-agreed";
/// Response header: the request was executed before, at this sequence number.
const REPLAYED_HEADER: &str = "x-dmtbs-replayed";
/// Request header: the idempotency key.
const KEY_HEADER: &str = "idempotency-key";

/// A replica manager's id, as in `X-DMTBS-Agreed`.
pub type RmId = u8;

/// A successful answer: what the replicas agreed on, and where it sits in the total order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer<T> {
    /// The success value.
    pub value: T,
    /// The request's place in the total order (`X-DMTBS-Seq`).
    pub seq: u64,
    /// The replica managers whose identical results made the answer (`X-DMTBS-Agreed`), as
    /// sent: ascending.
    pub agreed: Vec<RmId>,
    /// The HTTP status: 201 for a show added, 200 otherwise.
    pub status: u16,
    /// Set when the request had been executed before (`X-DMTBS-Replayed`) — an earlier try of
    /// this call that got no answer, or another call with the same idempotency key: the value is
    /// that first execution's, and this is its sequence number. Nothing was executed again.
    pub replayed: Option<u64>,
}

impl<T> Answer<T> {
    /// The same answer carrying `f(value)`.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Answer<U> {
        Answer {
            value: f(self.value),
            seq: self.seq,
            agreed: self.agreed,
            status: self.status,
            replayed: self.replayed,
        }
    }
}

/// Whether the operation changes the booking state (add-show, remove-show, book, cancel,
/// exchange): those carry an idempotency key by default.
pub fn mutates(operation: &Operation) -> bool {
    !matches!(
        operation,
        Operation::Availability(_) | Operation::Schedule(_)
    )
}

/// What `add-show` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShowChange {
    /// A new show (HTTP 201).
    Added,
    /// The show existed; its capacity was set.
    Updated {
        /// The capacity before the change.
        old_capacity: u32,
    },
}

/// The replicas' outcome carried by a client result, if the cluster executed the request and
/// answered: a success, or a refusal by the booking rules (a sequenced [`ApiError`] whose code is
/// a rule's). `None` for refusals by the front end before sequencing and for failures. Returns
/// the sequence number with the outcome.
pub fn outcome_of(result: &Result<Answer<Success>, Error>) -> Option<(u64, Outcome)> {
    match result {
        Ok(answer) => Some((answer.seq, Ok(answer.value.clone()))),
        Err(Error::Api(e)) if e.refused_by_rules() => Some((e.seq?, Err(e.booking_error()?))),
        Err(_) => None,
    }
}

/// Gives the token of an actor (a user ID as the operation names it), or none.
pub type TokenSource = std::sync::Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// The tokens a client presents on booking requests.
#[derive(Clone, Default)]
enum Tokens {
    /// None: booking requests are refused (401).
    #[default]
    None,
    /// One user's token, for every booking request.
    One(String),
    /// A token per actor.
    PerActor(TokenSource),
}

/// Builds a [`Client`].
#[derive(Clone)]
pub struct ClientBuilder {
    /// The front end's base URL.
    base: String,
    /// See [`ClientBuilder::admin_key`].
    admin_key: Option<String>,
    /// See [`ClientBuilder::token`].
    tokens: Tokens,
    /// See [`ClientBuilder::timeout`].
    timeout: Duration,
    /// See [`ClientBuilder::retry`].
    retry: RetryPolicy,
}

impl ClientBuilder {
    /// The cluster operator's key, for the operator API and for token management (issuing and
    /// revoking any user's tokens). Booking requests never carry it.
    pub fn admin_key(mut self, key: impl Into<String>) -> Self {
        self.admin_key = Some(key.into());
        self
    }

    /// The caller's token (issued by an admin of its area), presented on every booking request
    /// — and on token management when no admin key is given (an area admin's token).
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.tokens = Tokens::One(token.into());
        self
    }

    /// A token per actor: `source(actor)` gives the token a request made as `actor` presents
    /// (none: the request goes without one, and is refused). For tools acting as many users —
    /// a load generator, a test — that hold the cluster's token key or issued tokens ahead.
    pub fn tokens(mut self, source: TokenSource) -> Self {
        self.tokens = Tokens::PerActor(source);
        self
    }

    /// How long one request may take, from sending to the whole answer; default
    /// [`Client::DEFAULT_TIMEOUT`]. Past it the result is [`Error::Transport`] (a timeout).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How booking requests are retried when there is no answer or the answer is 503; default
    /// [`RetryPolicy::DEFAULT`] (3 tries over about 2 s), [`RetryPolicy::NONE`] never retries.
    /// The timeout applies to each try. Operator requests are never retried.
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The client. Fails if the base URL is not an `http`/`https` URL.
    pub fn build(self) -> Result<Client, Error> {
        let invalid = |reason: &str| Error::Url {
            url: self.base.clone(),
            reason: reason.into(),
        };
        let base = reqwest::Url::parse(&self.base).map_err(|e| invalid(&e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(invalid("not an http:// or https:// URL"));
        }
        let http = reqwest::Client::builder()
            .timeout(self.timeout)
            // A front end closes a keep-alive connection idle for 10 s (its header read timeout);
            // reusing one at that moment fails the request before it was sent. Pooled
            // connections are dropped well before.
            .pool_idle_timeout(POOL_IDLE)
            .build()
            .map_err(Error::Transport)?;
        Ok(Client {
            http,
            base,
            admin_key: self.admin_key,
            tokens: self.tokens,
            retry: self.retry,
            idempotency_key: None,
        })
    }
}

/// A client of one front end. Cheap to clone; clones share one connection pool, so concurrent
/// tasks should clone one client rather than build many.
#[derive(Clone)]
pub struct Client {
    /// The connection pool and timeout.
    http: reqwest::Client,
    /// The front end's base URL; routes are appended to its path.
    base: reqwest::Url,
    /// Presented to the operator API and for token management only.
    admin_key: Option<String>,
    /// Presented on booking requests.
    tokens: Tokens,
    /// How booking requests are retried.
    retry: RetryPolicy,
    /// Sent with every booking request instead of a fresh key per call (see
    /// [`Client::with_idempotency_key`]).
    idempotency_key: Option<String>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base.as_str())
            .field("admin_key", &self.admin_key.as_ref().map(|_| "<redacted>"))
            .field(
                "tokens",
                &match self.tokens {
                    Tokens::None => "none",
                    Tokens::One(_) => "<redacted>",
                    Tokens::PerActor(_) => "<per actor>",
                },
            )
            .field("retry", &self.retry)
            .field("idempotency_key", &self.idempotency_key)
            .finish()
    }
}

impl Client {
    /// Default for [`ClientBuilder::timeout`]: longer than a front end's own patience
    /// (resending to the sequencer, then the voting ceiling: 7 s by default), so the front end's
    /// `unavailable` answer arrives before the client gives up.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

    /// A builder for a client of the front end at `base_url` (e.g. `http://127.0.0.1:8080`).
    pub fn builder(base_url: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            base: base_url.into(),
            admin_key: None,
            tokens: Tokens::None,
            timeout: Self::DEFAULT_TIMEOUT,
            retry: RetryPolicy::DEFAULT,
        }
    }

    /// A client without credentials and with the default timeout.
    pub fn new(base_url: impl Into<String>) -> Result<Client, Error> {
        Self::builder(base_url).build()
    }

    /// The same client (same connection pool) presenting another admin key, or none.
    pub fn with_admin_key(&self, key: Option<&str>) -> Client {
        Client {
            admin_key: key.map(str::to_owned),
            ..self.clone()
        }
    }

    /// The same client (same connection pool) presenting another user's token, or none.
    pub fn with_token(&self, token: Option<&str>) -> Client {
        Client {
            tokens: token.map_or(Tokens::None, |t| Tokens::One(t.to_owned())),
            ..self.clone()
        }
    }

    /// The token a request made as `actor` presents.
    fn token_for(&self, actor: &str) -> Option<String> {
        match &self.tokens {
            Tokens::None => None,
            Tokens::One(token) => Some(token.clone()),
            Tokens::PerActor(source) => source(actor),
        }
    }

    /// The same client (same connection pool) sending `key` as the `Idempotency-Key` of every
    /// booking request — reads included — instead of a fresh random key per state-changing call.
    /// For one logical operation whose key the caller keeps (to try it again later, perhaps from
    /// another process or through another front end: the replicas answer as the first time); a
    /// key used again for a *different* request is refused (422 `idempotency-key-reused`). The
    /// front end takes 1 to 128 characters of printable ASCII without spaces.
    pub fn with_idempotency_key(&self, key: impl Into<String>) -> Client {
        Client {
            idempotency_key: Some(key.into()),
            ..self.clone()
        }
    }

    /// The key [`Client::with_idempotency_key`] gave, if any.
    pub fn idempotency_key(&self) -> Option<&str> {
        self.idempotency_key.as_deref()
    }

    /// How this client retries.
    pub fn retry_policy(&self) -> RetryPolicy {
        self.retry
    }

    /// The front end's base URL.
    pub fn base_url(&self) -> &str {
        self.base.as_str()
    }

    /// `GET /healthz`: Ok when the front end is up (it says nothing about the replicas).
    pub async fn health(&self) -> Result<(), Error> {
        let response = self
            .http
            .get(self.url(&["healthz"]))
            .send()
            .await
            .map_err(Error::Transport)?;
        let status = response.status().as_u16();
        if status == 200 {
            Ok(())
        } else {
            Err(Error::Unexpected {
                status,
                reason: "the health check did not answer 200".into(),
            })
        }
    }

    /// Sends any operation to its route and returns the success value as the contract's
    /// [`Success`]. The typed methods below narrow it to the operation's own success type.
    ///
    /// A state-changing operation carries a fresh idempotency key (or this client's, see
    /// [`Client::with_idempotency_key`]); without an answer or on a 503 the same request is tried
    /// again with the same key, as the [`RetryPolicy`] says. The result is the last try's.
    pub async fn execute(&self, operation: &Operation) -> Result<Answer<Success>, Error> {
        let key = match &self.idempotency_key {
            Some(key) => Some(key.clone()),
            None if mutates(operation) => Some(new_idempotency_key()),
            None => None,
        };
        let (actor, request) = match operation {
            Operation::AddShow(o) => (
                &o.actor,
                self.http.post(self.url(&["v1", "shows"])).json(&json!({
                    "movie": o.movie, "showId": o.show_id, "capacity": o.capacity
                })),
            ),
            Operation::RemoveShow(o) => (
                &o.actor,
                self.http
                    .delete(self.url(&["v1", "shows", &o.movie, &o.show_id])),
            ),
            Operation::Availability(o) => (
                &o.actor,
                self.http
                    .get(self.url(&["v1", "movies", &o.movie, "availability"])),
            ),
            Operation::Book(o) => (
                &o.actor,
                self.http
                    .post(self.url(&["v1", "customers", &o.customer, "bookings"]))
                    .json(&json!({ "movie": o.movie, "showId": o.show_id, "tickets": o.tickets })),
            ),
            Operation::Schedule(o) => (
                &o.actor,
                self.http
                    .get(self.url(&["v1", "customers", &o.customer, "bookings"])),
            ),
            Operation::Cancel(o) => (
                &o.actor,
                self.http
                    .delete(self.url(&[
                        "v1",
                        "customers",
                        &o.customer,
                        "bookings",
                        &o.movie,
                        &o.show_id,
                    ]))
                    .query(&[("tickets", o.tickets)]),
            ),
            Operation::Exchange(o) => (
                &o.actor,
                self.http
                    .post(self.url(&["v1", "customers", &o.customer, "exchanges"]))
                    .json(&json!({
                        "oldMovie": o.old_movie, "oldShowId": o.old_show_id,
                        "newMovie": o.new_movie, "newShowId": o.new_show_id, "tickets": o.tickets
                    })),
            ),
        };
        let request = match &key {
            Some(key) => request.header(KEY_HEADER, key),
            None => request,
        };
        self.send_retrying(actor, request).await
    }

    /// Admin: add a show, or set the capacity of an existing one.
    pub async fn add_show(&self, op: &AddShow) -> Result<Answer<ShowChange>, Error> {
        let answer = self.execute(&Operation::AddShow(op.clone())).await?;
        narrow(answer, "add-show", |s| match s {
            Success::ShowAdded => Ok(ShowChange::Added),
            Success::ShowUpdated(old_capacity) => Ok(ShowChange::Updated { old_capacity }),
            other => Err(other),
        })
    }

    /// Admin: remove a show; its bookings are moved to a later show or dropped.
    pub async fn remove_show(&self, op: &RemoveShow) -> Result<Answer<ShowRemoved>, Error> {
        let answer = self.execute(&Operation::RemoveShow(op.clone())).await?;
        narrow(answer, "remove-show", |s| match s {
            Success::ShowRemoved(removed) => Ok(removed),
            other => Err(other),
        })
    }

    /// The seats left on every non-past show of a movie, in show order.
    pub async fn availability(
        &self,
        op: &Availability,
    ) -> Result<Answer<Vec<ShowRemaining>>, Error> {
        let answer = self.execute(&Operation::Availability(op.clone())).await?;
        narrow(answer, "availability", |s| match s {
            Success::Availability(shows) => Ok(shows),
            other => Err(other),
        })
    }

    /// Book tickets for a customer.
    pub async fn book(&self, op: &Book) -> Result<Answer<Booked>, Error> {
        let answer = self.execute(&Operation::Book(op.clone())).await?;
        narrow(answer, "book", |s| match s {
            Success::Booked(booked) => Ok(booked),
            other => Err(other),
        })
    }

    /// All of a customer's bookings, in show order.
    pub async fn schedule(&self, op: &Schedule) -> Result<Answer<Vec<ScheduledBooking>>, Error> {
        let answer = self.execute(&Operation::Schedule(op.clone())).await?;
        narrow(answer, "schedule", |s| match s {
            Success::Schedule(bookings) => Ok(bookings),
            other => Err(other),
        })
    }

    /// Cancel some of a customer's tickets on a show; the value is the tickets still held
    /// (0: the booking is gone).
    pub async fn cancel(&self, op: &Cancel) -> Result<Answer<u32>, Error> {
        let answer = self.execute(&Operation::Cancel(op.clone())).await?;
        narrow(answer, "cancel", |s| match s {
            Success::Cancelled(held) => Ok(held),
            other => Err(other),
        })
    }

    /// Move tickets from one show to another in one step.
    pub async fn exchange(&self, op: &Exchange) -> Result<Answer<Exchanged>, Error> {
        let answer = self.execute(&Operation::Exchange(op.clone())).await?;
        narrow(answer, "exchange", |s| match s {
            Success::Exchanged(exchanged) => Ok(exchanged),
            other => Err(other),
        })
    }

    /// The base URL with `segments` appended, each percent-encoded (a movie name or ID with a
    /// `/` or space in it stays one segment).
    fn url(&self, segments: &[&str]) -> reqwest::Url {
        let mut url = self.base.clone();
        // `build` refused URLs that cannot be a base, the only case where this fails.
        url.path_segments_mut()
            .expect("an http(s) base URL")
            .pop_if_empty()
            .extend(segments);
        url
    }

    /// Sends one operation request as `actor` — again, unchanged, while there is no answer or
    /// the answer is 503, as the retry policy allows — and reads the answer.
    async fn send_retrying(
        &self,
        actor: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<Answer<Success>, Error> {
        let mut attempt = 1;
        loop {
            let Some(this_try) = request.try_clone() else {
                // A streamed body cannot be sent twice (the client sends none).
                return self.send(actor, request).await;
            };
            let result = self.send(actor, this_try).await;
            let again = match &result {
                Err(Error::Transport(_)) => true,
                Err(Error::Api(e)) => e.status == 503,
                _ => false,
            };
            if !again || attempt >= self.retry.tries {
                return result;
            }
            tokio::time::sleep(self.retry.delay_after(attempt)).await;
            attempt += 1;
        }
    }

    /// Sends one operation request as `actor` and reads the answer.
    async fn send(
        &self,
        actor: &str,
        request: reqwest::RequestBuilder,
    ) -> Result<Answer<Success>, Error> {
        let mut request = request.header(USER_HEADER, actor);
        if let Some(token) = self.token_for(actor) {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.map_err(Error::Transport)?;
        let status = response.status().as_u16();
        let unexpected = |reason: String| Error::Unexpected { status, reason };
        let header = |name: &str| -> Result<Option<String>, Error> {
            response
                .headers()
                .get(name)
                .map(|v| {
                    v.to_str()
                        .map(str::to_owned)
                        .map_err(|_| unexpected(format!("header {name} is not text")))
                })
                .transpose()
        };
        let seq = header(SEQ_HEADER)?
            .map(|s| {
                s.parse::<u64>()
                    .map_err(|_| unexpected(format!("{SEQ_HEADER}: {s:?} is not a number")))
            })
            .transpose()?;
        let agreed = match header(AGREED_HEADER)? {
            None => Vec::new(),
            Some(list) => json::agreed(&list)
                .ok_or_else(|| unexpected(format!("{AGREED_HEADER}: {list:?} is not a list")))?,
        };
        let replayed = header(REPLAYED_HEADER)?
            .map(|s| {
                s.parse::<u64>()
                    .map_err(|_| unexpected(format!("{REPLAYED_HEADER}: {s:?} is not a number")))
            })
            .transpose()?;
        let body = response.bytes().await.map_err(Error::Transport)?;
        if (200..300).contains(&status) {
            let value = json::success(&body)
                .map_err(|e| unexpected(format!("not a success value: {e}")))?;
            let seq = seq.ok_or_else(|| unexpected(format!("no {SEQ_HEADER} header")))?;
            Ok(Answer {
                value,
                seq,
                agreed,
                status,
                replayed,
            })
        } else {
            let e = json::error(&body).map_err(|e| unexpected(format!("not an error: {e}")))?;
            // A `no-agreement` answer names its sequence number in the details only.
            let seq = seq.or_else(|| e.details.get("seq").and_then(|s| s.as_u64()));
            Err(Error::Api(Box::new(ApiError {
                status,
                code: e.code,
                message: e.message,
                details: e.details,
                seq,
                agreed,
                replayed,
            })))
        }
    }
}

/// Narrows an answer to an operation's own success type; any other success is not the API's.
fn narrow<T>(
    answer: Answer<Success>,
    operation: &str,
    pick: impl FnOnce(Success) -> Result<T, Success>,
) -> Result<Answer<T>, Error> {
    let Answer {
        value,
        seq,
        agreed,
        status,
        replayed,
    } = answer;
    match pick(value) {
        Ok(value) => Ok(Answer {
            value,
            seq,
            agreed,
            status,
            replayed,
        }),
        Err(other) => Err(Error::Unexpected {
            status,
            reason: format!("{operation} answered with {other:?}"),
        }),
    }
}
