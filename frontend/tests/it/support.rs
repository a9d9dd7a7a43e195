//! What the front end's suites share: an in-test cluster with fixed answers, an audit buffer, the
//! router over them, tokens made under the suites' token key, and a one-request sender that
//! presents the token of the user `X-DMTBS-User` names (as `dmtbs-client` does) unless the
//! request carries an `Authorization` header of its own.

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use dmtbs_contract::{Operation, Outcome};
use dmtbs_frontend::{
    AdminKey, AuditLog, Auth, Cluster, ClusterError, TokenKey, VotedOutcome, router,
};
use serde_json::Value;
use tower::ServiceExt;

pub const KEY: &str = "s3cret-admin-key";
/// The suites' token key (a test value; clusters refuse keys this regular).
pub const TOKEN_KEY: [u8; 32] = [7; 32];

/// The suites' authentication: the admin key [`KEY`], tokens under [`TOKEN_KEY`].
pub fn auth() -> Arc<Auth> {
    Arc::new(Auth::new(
        AdminKey::new(KEY),
        TokenKey::from_bytes(&TOKEN_KEY),
    ))
}

/// A token for `user` (canonicalised), valid an hour.
pub fn token(user: &str) -> String {
    TokenKey::from_bytes(&TOKEN_KEY)
        .issue(
            &user.to_ascii_uppercase(),
            std::time::Duration::from_secs(3600),
        )
        .expect("a token")
        .token
}

/// `Bearer <user's token>`.
pub fn bearer(user: &str) -> String {
    format!("Bearer {}", token(user))
}

/// A cluster that answers a fixed result and remembers what reached it.
pub struct FixedCluster {
    answer: Mutex<Result<VotedOutcome, ClusterError>>,
    pub calls: Mutex<Vec<Operation>>,
    /// The idempotency key of each call.
    pub keys: Mutex<Vec<Option<String>>>,
}

impl FixedCluster {
    pub fn new(outcome: Outcome) -> Arc<Self> {
        Arc::new(FixedCluster {
            answer: Mutex::new(Ok(VotedOutcome {
                seq: 42,
                outcome,
                agreed: vec![1, 3],
                replay_of: None,
            })),
            calls: Mutex::new(Vec::new()),
            keys: Mutex::new(Vec::new()),
        })
    }

    pub fn answer(&self, answer: Result<VotedOutcome, ClusterError>) {
        *self.answer.lock().unwrap() = answer;
    }

    pub fn set(&self, outcome: Outcome) {
        self.answer(Ok(VotedOutcome {
            seq: 42,
            outcome,
            agreed: vec![1, 3],
            replay_of: None,
        }));
    }

    pub fn calls(&self) -> usize {
        self.calls.lock().unwrap().len()
    }

    pub fn last(&self) -> Operation {
        self.calls.lock().unwrap().last().cloned().expect("a call")
    }

    /// The idempotency key of the last call.
    pub fn last_key(&self) -> Option<String> {
        self.keys.lock().unwrap().last().cloned().expect("a call")
    }
}

/// No replica managers behind it: operator routes answer 503.
impl dmtbs_frontend::Operator for FixedCluster {}

impl Cluster for FixedCluster {
    async fn execute(
        &self,
        operation: Operation,
        key: Option<String>,
    ) -> Result<VotedOutcome, ClusterError> {
        self.calls.lock().unwrap().push(operation);
        self.keys.lock().unwrap().push(key);
        self.answer.lock().unwrap().clone()
    }
}

/// An audit destination tests can read back.
#[derive(Clone, Default)]
pub struct Buffer(pub Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Buffer {
    pub fn lines(&self) -> Vec<Value> {
        let text = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|l| serde_json::from_str(l).expect("each audit line is JSON"))
            .collect()
    }
}

pub fn app(outcome: Outcome) -> (Router, Arc<FixedCluster>, Buffer) {
    let cluster = FixedCluster::new(outcome);
    let buffer = Buffer::default();
    let app = router(cluster.clone(), auth(), AuditLog::to_writer(buffer.clone()));
    (app, cluster, buffer)
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

/// Sends one request: `headers` as (name, value) pairs, `body` as raw text (JSON content type).
/// When `X-DMTBS-User` names a well-formed user and no `Authorization` header is given, that
/// user's token is presented (as a client holding it would); [`send_raw`] never adds one.
pub async fn send(
    app: &Router,
    method: Method,
    uri: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Answer {
    let named = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("x-dmtbs-user"))
        .map(|(_, v)| *v)
        .filter(|v| dmtbs_frontend::validate::user_id("actor", v).is_ok());
    let has_auth = headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("authorization"));
    let bearer = named.filter(|_| !has_auth).map(bearer);
    let mut all: Vec<(&str, &str)> = headers.to_vec();
    if let Some(bearer) = &bearer {
        all.push(("authorization", bearer));
    }
    send_raw(app, method, uri, &all, body).await
}

/// [`send`] with exactly the headers given.
pub async fn send_raw(
    app: &Router,
    method: Method,
    uri: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Answer {
    let mut req = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let req = match body {
        Some(text) => req
            .header("content-type", "application/json")
            .body(Body::from(text.to_owned())),
        None => req.body(Body::empty()),
    }
    .unwrap();
    let response = app.clone().oneshot(req).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    // The API answers JSON; the page and the metrics (text/html, text/plain) come back as text.
    let text = headers
        .get("content-type")
        .is_some_and(|v| v.as_bytes().starts_with(b"text/"));
    let body = if bytes.is_empty() {
        Value::Null
    } else if text {
        Value::String(String::from_utf8(bytes.to_vec()).expect("text answers are UTF-8"))
    } else {
        serde_json::from_slice(&bytes).expect("every API answer is JSON")
    };
    Answer {
        status,
        headers,
        body,
    }
}
