//! Serving the API so that hostile clients cannot starve it: the limits of [`Limits`] applied by
//! hyper (header-read timeout, buffer size), tower and tower-http (in-flight limit with load
//! shedding, request-body and whole-request timeouts), axum (body size) and a bounded table of
//! connections (the connection cap). Measured in `docs/security.md`.
//!
//! - **Connections.** At most [`Limits::max_connections`] are open; each holds a permit of a
//!   semaphore. When all are taken, the next accepted connection evicts those that have been
//!   idle the longest (a sixteenth of the cap at once, so accepting keeps pace with a flood) —
//!   open without a request being handled: an idle keep-alive, or a client that connected and
//!   sent nothing, part of its headers or part of its body — so sockets that merely sit there
//!   cannot lock out a client that sends its request. A request is being handled from when its
//!   body has fully arrived until its answer is written; when every connection has one,
//!   accepting waits (the kernel's accept queue, deepened to 4096, holds newcomers) until
//!   one ends. While evicted connections are still closing, no more are evicted (their slots
//!   are on their way). The soft descriptor limit is raised, if need be, so that the cap fits.
//!   Once a flood has drained, freed memory is handed back to the system.
//! - **Headers and idleness.** hyper closes a connection whose request head has not fully arrived
//!   [`Limits::header_read_timeout_ms`] after it started waiting for one — which is also how long a
//!   connection may sit idle, fresh or between keep-alive requests (hyper arms the same timer).
//! - **Bodies.** A body larger than [`Limits::max_body_bytes`] is 413; a body whose next piece does
//!   not come within [`Limits::body_read_timeout_ms`] is 408; a request not answered within
//!   [`Limits::request_timeout_ms`] in all (a body trickled byte by byte) is 408.
//! - **In flight.** At most [`Limits::max_in_flight`] requests are handled at once; one more is
//!   refused at once with 503 `overloaded` and `Retry-After: 1` (load shedding) rather than
//!   queued. Bodies are read before this limit, so clients that stall mid-body hold no slot.
//! - **Failed authentication.** An address whose requests were refused 401
//!   [`Limits::auth_failures_per_minute`] times in a minute gets 429 `too-many-attempts` on its
//!   authenticated requests until its budget refills ([`crate::ratelimit`]).

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::error_handling::HandleErrorLayer;
use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::header::RETRY_AFTER;
use axum::http::{HeaderValue, Request, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

use crate::http::{ApiError, json_errors};
use crate::ratelimit::AuthFailures;

/// hyper's read buffer cap per connection: a request head must fit in it. Small, because the
/// API's heads are a few hundred bytes and every open connection may hold one buffer.
const MAX_BUF: usize = 16 * 1024;
/// Header fields a request may carry (hyper's default is 100).
const MAX_HEADERS: usize = 64;
/// At the cap, a 1/`EVICT_BATCH` part of the cap is evicted at once (see [`Connections::admit`]).
const EVICT_BATCH: usize = 16;
/// The listening socket's accept queue (the kernel caps it at `net.core.somaxconn`): deep enough
/// that a burst of connections waits there while the connection table makes room, rather than
/// having its SYNs dropped (a dropped SYN costs a client a second).
const BACKLOG: i32 = 4096;

/// The front end's protective limits: each `[frontend.limits]` field of the cluster file, with
/// these defaults (`docs/security.md`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Open connections at most; at the cap the longest-idle connection is closed for a new one.
    pub max_connections: usize,
    /// Requests handled at once at most; beyond, 503 `overloaded`.
    pub max_in_flight: usize,
    /// How long a request head may take to arrive, counted from when the connection starts
    /// waiting for it — so also how long a connection may stay idle.
    pub header_read_timeout_ms: u64,
    /// How long the body may pause between two pieces before the request is refused (408).
    pub body_read_timeout_ms: u64,
    /// How long a whole request may take (body and cluster included) before it is refused (408).
    /// Must exceed the cluster's patience (`submit_give_up_ms + vote_ceiling_ms`).
    pub request_timeout_ms: u64,
    /// The largest request body, in bytes (413 beyond).
    pub max_body_bytes: usize,
    /// 401 answers one client address may get in a minute before its authenticated requests get
    /// 429 (a token bucket of this size, refilled at this rate); 0 disables the limit.
    pub auth_failures_per_minute: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 1024,
            max_in_flight: 256,
            header_read_timeout_ms: 10_000,
            body_read_timeout_ms: 10_000,
            request_timeout_ms: 30_000,
            max_body_bytes: 16 * 1024,
            auth_failures_per_minute: 10,
        }
    }
}

impl Limits {
    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// Why these limits cannot serve (a zero would refuse or time out everything), if so.
    pub fn check(&self) -> Result<(), String> {
        let zero = [
            ("max_connections", self.max_connections as u64),
            ("max_in_flight", self.max_in_flight as u64),
            ("header_read_timeout_ms", self.header_read_timeout_ms),
            ("body_read_timeout_ms", self.body_read_timeout_ms),
            ("request_timeout_ms", self.request_timeout_ms),
            ("max_body_bytes", self.max_body_bytes as u64),
        ]
        .into_iter()
        .filter(|(_, v)| *v == 0)
        .map(|(name, _)| name)
        .collect::<Vec<_>>();
        match zero.as_slice() {
            [] => Ok(()),
            names => Err(format!(
                "[frontend.limits] {} must be above 0",
                names.join(", ")
            )),
        }
    }
}

/// The 413 answer for a body over the limit.
pub(crate) fn body_too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body-too-large",
        "the request body is larger than this front end accepts".into(),
    )
}

/// The 408 answer for a body the client stopped sending.
pub(crate) fn body_timed_out() -> ApiError {
    ApiError::new(
        StatusCode::REQUEST_TIMEOUT,
        "request-timeout",
        "the request body did not arrive in time".into(),
    )
}

/// Whether a body error is tower-http's body timeout (somewhere in its chain of sources).
pub(crate) fn is_body_timeout(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(e);
    while let Some(e) = next {
        if e.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        next = e.source();
    }
    false
}

/// `app` with the per-request limits of `limits`: body size and timeouts, the in-flight limit,
/// the 401 budget per address, every refusal in the API's JSON error shape. [`serve_with`]
/// applies it; tests drive it directly.
pub fn harden(app: Router, limits: &Limits) -> Router {
    let in_flight = Arc::new(Semaphore::new(limits.max_in_flight));
    let failures = Arc::new(AuthFailures::new(limits.auth_failures_per_minute));
    // Layers wrap outward: the last is the first to see a request.
    app.layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(
            tower::ServiceBuilder::new()
                .layer(HandleErrorLayer::new(overloaded))
                .load_shed()
                .layer(tower::limit::GlobalConcurrencyLimitLayer::with_semaphore(
                    in_flight,
                )),
        )
        .layer(axum::middleware::from_fn_with_state(
            limits.max_body_bytes,
            read_body,
        ))
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            Limits::ms(limits.body_read_timeout_ms),
        ))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Limits::ms(limits.request_timeout_ms),
        ))
        .layer(axum::middleware::from_fn_with_state(
            failures,
            crate::ratelimit::limit_auth_failures,
        ))
        .layer(axum::middleware::map_response(json_errors))
}

/// Reads the whole body (at most `max` bytes, within the body timeout) before the request goes
/// on, then marks the connection busy until the answer is written ([`Activity`]).
async fn read_body(State(max): State<usize>, request: Request<Body>, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = match Limited::new(body, max).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<LengthLimitError>() => return body_too_large().into_response(),
        Err(e) if is_body_timeout(&*e) => return body_timed_out().into_response(),
        Err(e) => {
            tracing::debug!(error = %e, "request body unreadable");
            return ApiError::new(
                StatusCode::BAD_REQUEST,
                "bad-request",
                "the request body could not be read".into(),
            )
            .into_response();
        }
    };
    let busy = parts.extensions.get::<Activity>().map(Activity::busy);
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    match busy {
        // The guard lives in the body, dropped when hyper has written or abandoned it.
        Some(busy) => response.map(|body| {
            Body::new(body.map_frame(move |frame| {
                let _ = &busy;
                frame
            }))
        }),
        None => response,
    }
}

/// The answer when the in-flight limit is reached (the only error the load shedder raises).
async fn overloaded(_: tower::BoxError) -> Response {
    let mut r = ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "overloaded",
        "the front end is handling as many requests as it may; retry shortly".into(),
    )
    .into_response();
    r.headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from_static("1"));
    r
}

/// One open connection, as the table knows it.
struct Entry {
    /// Requests in progress (the response not yet fully handed to hyper).
    busy: usize,
    /// When the connection was opened or its last response was done: the eviction order.
    idle_since: Instant,
    /// Cancelled to close the connection at once.
    evict: CancellationToken,
}

/// The open connections: a permit each, and what eviction needs to know.
struct Connections {
    /// One permit per connection allowed.
    slots: Arc<Semaphore>,
    /// The cap (the semaphore's initial permits).
    cap: usize,
    table: Mutex<HashMap<u64, Entry>>,
    next: AtomicU64,
    /// The most connections open at once since memory was last handed back.
    high_water: AtomicU64,
}

impl Connections {
    fn table(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Entry>> {
        // A panic while holding the lock leaves the table consistent (single-field updates).
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A slot for a new connection: a free one, or one of the longest-idle connections' (closed
    /// for it); when every connection is busy, waits until one ends.
    ///
    /// When it must evict, it closes the [`EVICT_BATCH`]th part of the cap at once (the longest
    /// idle first), so that in a flood the next connections find a free slot without scanning
    /// the table or waiting for a closing connection each: accepting keeps pace with the flood
    /// and a well-behaved client's connection does not queue behind it. While connections it
    /// evicted are still closing (their tasks not yet run, on a busy machine), it waits for their
    /// slots rather than evicting more: otherwise each connection accepted meanwhile would evict
    /// another batch, and a flood would empty the table far below the cap.
    async fn admit(&self) -> OwnedSemaphorePermit {
        if let Ok(permit) = self.slots.clone().try_acquire_owned() {
            return permit;
        }
        let mut closing = false;
        let mut idle: Vec<(Instant, CancellationToken)> = Vec::new();
        for e in self.table().values() {
            if e.evict.is_cancelled() {
                closing = true;
            } else if e.busy == 0 {
                idle.push((e.idle_since, e.evict.clone()));
            }
        }
        if closing {
            idle.clear();
        }
        let batch = (self.cap / EVICT_BATCH).max(1);
        if idle.len() > batch {
            idle.select_nth_unstable_by_key(batch, |(since, _)| *since);
            idle.truncate(batch);
        }
        for (_, evict) in idle {
            evict.cancel();
        }
        // The semaphore is never closed.
        self.slots
            .clone()
            .acquire_owned()
            .await
            .expect("the connection semaphore is never closed")
    }

    fn open(&self) -> (u64, CancellationToken) {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let evict = CancellationToken::new();
        let mut table = self.table();
        table.insert(
            id,
            Entry {
                busy: 0,
                idle_since: Instant::now(),
                evict: evict.clone(),
            },
        );
        self.high_water
            .fetch_max(table.len() as u64, Ordering::Relaxed);
        (id, evict)
    }

    fn close(&self, id: u64) {
        let open = {
            let mut table = self.table();
            table.remove(&id);
            table.len()
        };
        // After a flood (at least half the cap open) has drained (a sixteenth left), hand the
        // memory its connections used back to the system: glibc keeps freed heap otherwise, and
        // the process would stay at its flood size.
        let flood = (self.cap / 2).max(1) as u64;
        if open <= self.cap / 16
            && self.high_water.load(Ordering::Relaxed) >= flood
            && self.high_water.swap(open as u64, Ordering::Relaxed) >= flood
        {
            trim_heap();
        }
    }

    fn is_busy(&self, id: u64) -> bool {
        self.table().get(&id).is_some_and(|e| e.busy > 0)
    }
}

/// A request extension naming its connection, so the request can mark it busy.
#[derive(Clone)]
struct Activity {
    connections: Arc<Connections>,
    id: u64,
}

impl Activity {
    fn busy(&self) -> Busy {
        Busy::start(&self.connections, self.id)
    }
}

/// Marks a connection busy from when its request's body has arrived until hyper is done with the
/// response body, so it is never evicted mid-answer.
struct Busy {
    connections: Arc<Connections>,
    id: u64,
}

impl Busy {
    fn start(connections: &Arc<Connections>, id: u64) -> Self {
        if let Some(e) = connections.table().get_mut(&id) {
            e.busy += 1;
        }
        Busy {
            connections: connections.clone(),
            id,
        }
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        if let Some(e) = self.connections.table().get_mut(&self.id) {
            e.busy -= 1;
            e.idle_since = Instant::now();
        }
    }
}

/// Returns freed heap memory to the system (glibc only; elsewhere nothing to do). Runs on a
/// blocking thread: it walks the heap.
fn trim_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    tokio::task::spawn_blocking(|| {
        // SAFETY: malloc_trim only releases free memory; it may be called at any time.
        unsafe { libc::malloc_trim(0) };
    });
}

/// Descriptors the process needs besides its connections (listeners, the cluster's sockets,
/// files, the runtime).
const OTHER_FDS: usize = 256;

/// Raises the process's soft descriptor limit (up to its hard limit) so that `cap` connections
/// fit: below it, `accept` fails (EMFILE) before the cap is reached, nothing is evicted, and
/// idle sockets would lock clients out until their timeout. Warns if the hard limit is too low.
fn descriptors_for(cap: usize) {
    #[cfg(not(unix))]
    let _ = cap;
    #[cfg(unix)]
    {
        let want = (cap + OTHER_FDS) as libc::rlim_t;
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes into the struct it is given.
        if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0
            || limit.rlim_cur >= want
        {
            return;
        }
        let raised = libc::rlimit {
            rlim_cur: want.min(limit.rlim_max),
            rlim_max: limit.rlim_max,
        };
        // SAFETY: setrlimit reads the struct it is given; a soft limit up to the hard one is
        // always allowed.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } != 0 || raised.rlim_cur < want {
            tracing::warn!(
                soft = limit.rlim_cur,
                hard = limit.rlim_max,
                max_connections = cap,
                "the descriptor limit is below max_connections + {OTHER_FDS}: raise it (ulimit -n) \
                 or lower max_connections, or accepting fails before the cap evicts idle sockets"
            );
        }
    }
}

/// Serves `app` on `listener` with the default [`Limits`] until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, app, &Limits::default(), shutdown).await
}

/// Serves `app` on `listener` within `limits` until `shutdown` completes; then stops accepting,
/// closes idle connections and lets the requests in progress finish.
pub async fn serve_with(
    listener: TcpListener,
    app: Router,
    limits: &Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    limits
        .check()
        .map_err(|why| std::io::Error::new(std::io::ErrorKind::InvalidInput, why))?;
    let app = harden(app, limits);
    descriptors_for(limits.max_connections);
    // Listening again on a listening socket only changes its backlog (Linux); where that fails,
    // the caller's backlog stays, which is merely shallower.
    if let Err(error) = socket2::SockRef::from(&listener).listen(BACKLOG) {
        tracing::debug!(%error, "could not deepen the accept queue");
    }
    let cap = limits.max_connections;
    let connections = Arc::new(Connections {
        slots: Arc::new(Semaphore::new(cap)),
        cap,
        table: Mutex::new(HashMap::new()),
        next: AtomicU64::new(0),
        high_water: AtomicU64::new(0),
    });
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(Limits::ms(limits.header_read_timeout_ms))
        .max_buf_size(MAX_BUF)
        .max_headers(MAX_HEADERS);
    let stop = CancellationToken::new();
    tokio::spawn({
        let stop = stop.clone();
        async move {
            shutdown.await;
            stop.cancel();
        }
    });
    let tasks = TaskTracker::new();
    loop {
        let (stream, peer) = tokio::select! {
            () = stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of descriptors or a connection reset before it was accepted: say so
                    // and go on, a little later so an error that persists does not spin.
                    tracing::warn!(%error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        // Admitted after it is accepted, so an idle connection is evicted only for a real one.
        let permit = tokio::select! {
            () = stop.cancelled() => break,
            permit = connections.admit() => permit,
        };
        // Small answers go out at once rather than waiting for Nagle's algorithm.
        let _ = stream.set_nodelay(true);
        tasks.spawn(connection(
            stream,
            peer,
            app.clone(),
            http.clone(),
            connections.clone(),
            permit,
            stop.clone(),
        ));
    }
    tasks.close();
    tasks.wait().await;
    Ok(())
}

/// Serves one connection until it ends, is evicted, or the server stops.
async fn connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    app: Router,
    http: hyper::server::conn::http1::Builder,
    connections: Arc<Connections>,
    _permit: OwnedSemaphorePermit,
    stop: CancellationToken,
) {
    let (id, evict) = connections.open();
    // Out of the table when this task ends, however it ends (an evicted connection left in it
    // would count as still closing, and stop [`Connections::admit`] evicting).
    let _open = Open {
        connections: connections.clone(),
        id,
    };
    let activity = Activity {
        connections: connections.clone(),
        id,
    };
    let service = tower::service_fn(move |mut request: Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        request.extensions_mut().insert(activity.clone());
        app.clone().oneshot(request)
    });
    let conn = http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(error) = result {
                tracing::debug!(%peer, %error, "connection ended");
            }
        }
        () = evict.cancelled() => tracing::debug!(%peer, "idle connection evicted for a new one"),
        () = stop.cancelled() => {
            // Requests in progress are finished; an idle connection is simply closed.
            if connections.is_busy(id) {
                conn.as_mut().graceful_shutdown();
                let _ = conn.await;
            }
        }
    }
}

/// A connection's place in the table, given up when dropped.
struct Open {
    connections: Arc<Connections>,
    id: u64,
}

impl Drop for Open {
    fn drop(&mut self) {
        self.connections.close(self.id);
    }
}
