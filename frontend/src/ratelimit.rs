//! A budget of failed authentications per client address, so neither the admin key nor a token can
//! be guessed at network speed.
//!
//! Each address has a token bucket of [`Limits::auth_failures_per_minute`] tokens, refilled at
//! that many a minute; every 401 answer to a request of the address that presented a credential
//! (an `Authorization` header: a guess) takes one. While its bucket is empty, the address's
//! requests that try to authenticate — those carrying `Authorization`, those under `/v1/admin/`,
//! those whose `X-DMTBS-User` is an admin's — get 429 `too-many-attempts` with `Retry-After`,
//! without being looked at further. Every booking request carries a token, so while an address is
//! out of budget all its booking requests wait; requests that present nothing (health, metrics,
//! the status page) are never held back. The table keeps at most [`MAX_ADDRESSES`] addresses:
//! when full, those whose bucket has refilled are forgotten, and if none has, the table starts
//! afresh (a flood from that many addresses is a problem for a firewall, not for this table).
//!
//! [`Limits::auth_failures_per_minute`]: crate::server::Limits::auth_failures_per_minute

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::header::{AUTHORIZATION, RETRY_AFTER};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::http::{ApiError, USER_HEADER};

/// Addresses remembered at most.
pub const MAX_ADDRESSES: usize = 10_000;

/// One address's bucket.
struct Bucket {
    tokens: f64,
    /// When `tokens` was last brought up to date.
    at: Instant,
}

/// The buckets of every address that failed recently.
pub(crate) struct AuthFailures {
    /// Bucket size and refill per minute; 0: no limit.
    per_minute: u32,
    table: Mutex<HashMap<IpAddr, Bucket>>,
}

impl AuthFailures {
    pub(crate) fn new(per_minute: u32) -> Self {
        AuthFailures {
            per_minute,
            table: Mutex::new(HashMap::new()),
        }
    }

    fn capacity(&self) -> f64 {
        f64::from(self.per_minute)
    }

    /// `bucket` refilled up to `now`.
    fn refill(&self, bucket: &mut Bucket, now: Instant) {
        let minutes = now.duration_since(bucket.at).as_secs_f64() / 60.0;
        bucket.tokens = (bucket.tokens + minutes * self.capacity()).min(self.capacity());
        bucket.at = now;
    }

    /// How long `ip` must wait before its next attempt, if its budget is spent.
    fn blocked(&self, ip: IpAddr) -> Option<Duration> {
        if self.per_minute == 0 {
            return None;
        }
        let now = Instant::now();
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        let bucket = table.get_mut(&ip)?;
        self.refill(bucket, now);
        (bucket.tokens < 1.0)
            .then(|| Duration::from_secs_f64((1.0 - bucket.tokens) * 60.0 / self.capacity()))
    }

    /// Takes a token from `ip`'s bucket.
    fn failed(&self, ip: IpAddr) {
        if self.per_minute == 0 {
            return;
        }
        let now = Instant::now();
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        if table.len() >= MAX_ADDRESSES && !table.contains_key(&ip) {
            table.retain(|_, b| {
                let minutes = now.duration_since(b.at).as_secs_f64() / 60.0;
                b.tokens + minutes * f64::from(self.per_minute) < f64::from(self.per_minute)
            });
            if table.len() >= MAX_ADDRESSES {
                table.clear();
            }
        }
        let bucket = table.entry(ip).or_insert(Bucket {
            tokens: self.capacity(),
            at: now,
        });
        self.refill(bucket, now);
        bucket.tokens = (bucket.tokens - 1.0).max(0.0);
    }
}

/// Whether `request` tries to authenticate (and so may be refused 401).
fn attempts_authentication(request: &Request) -> bool {
    let admin_actor = request
        .headers()
        .get(USER_HEADER)
        .and_then(|v| v.as_bytes().get(3))
        .is_some_and(|role| role.eq_ignore_ascii_case(&b'A'));
    request.headers().contains_key(AUTHORIZATION)
        || request.uri().path().starts_with("/v1/admin/")
        || admin_actor
}

/// The middleware: 429 for an address out of budget, and a token taken for every 401. Requests
/// without a known peer address (served other than by [`crate::server::serve_with`]) pass.
pub(crate) async fn limit_auth_failures(
    State(failures): State<Arc<AuthFailures>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(ip) = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
    else {
        return next.run(request).await;
    };
    if attempts_authentication(&request)
        && let Some(wait) = failures.blocked(ip)
    {
        let seconds = wait.as_secs().max(1);
        let mut response = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too-many-attempts",
            format!("too many failed authentications from this address; retry in {seconds} s"),
        )
        .into_response();
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(seconds));
        return response;
    }
    // Only a credential that was presented and refused is a guess; a request that presents
    // none (a caller without a token) learns nothing by being refused.
    let presented = request.headers().contains_key(AUTHORIZATION);
    let response = next.run(request).await;
    if presented && response.status() == StatusCode::UNAUTHORIZED {
        failures.failed(ip);
    }
    response
}
