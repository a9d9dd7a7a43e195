//! A small HTTP client for the front end's API, and helpers to start and check clusters.

use std::time::Duration;

use dmtbs_cluster::config::TransportMode;
use dmtbs_cluster::local::{LocalCluster, test_config};
use dmtbs_contract::{Operation, Outcome};
use dmtbs_frontend::http::{error_code, success_json};
use dmtbs_host::StateDigest;
use dmtbs_testkit::components::{self, IMPLEMENTATIONS};
use serde_json::{Value, json};

/// The day every test cluster lives on: the day of the rules' examples.
pub const TODAY: &str = "2026-11-24";

pub async fn start(transport: TransportMode) -> LocalCluster {
    start_with(transport, &|_, udp| std::sync::Arc::new(udp)).await
}

pub async fn start_with(
    transport: TransportMode,
    wrap: &dmtbs_cluster::local::Wrap,
) -> LocalCluster {
    let config = test_config(&components::dir(), IMPLEMENTATIONS, transport, TODAY)
        .expect("test configuration");
    LocalCluster::start_wrapped(config, wrap)
        .await
        .expect("cluster starts")
}

/// One HTTP answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub seq: Option<u64>,
    pub agreed: Option<String>,
    pub body: Value,
}

impl Reply {
    /// The error code, if the answer is an error.
    pub fn code(&self) -> Option<&str> {
        self.body["error"]["code"].as_str()
    }

    /// Does this answer say what `outcome` says?
    pub fn matches(&self, outcome: &Outcome) -> bool {
        match outcome {
            Ok(success) => self.body == success_json(success),
            Err(e) => self.code() == Some(error_code(e)),
        }
    }
}

#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
    admin_key: String,
}

impl Api {
    pub fn new(cluster: &LocalCluster) -> Self {
        Api {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(20))
                .build()
                .expect("http client"),
            base: cluster.url(0),
            admin_key: cluster.config.cluster.admin_key.clone(),
        }
    }

    /// The same client presenting a wrong admin key.
    pub fn without_key(api: &Api) -> Api {
        Api {
            admin_key: "not-the-key".into(),
            ..api.clone()
        }
    }

    fn url(&self, segments: &[&str]) -> reqwest::Url {
        let mut url = reqwest::Url::parse(&self.base).expect("base URL");
        url.path_segments_mut().expect("http URL").extend(segments);
        url
    }

    /// Send one operation the way a client would: the actor in `X-DMTBS-User`, the admin key
    /// when the actor looks like an admin.
    pub async fn call(&self, op: &Operation) -> Reply {
        let (actor, request) = match op {
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
        let mut request = request.header("X-DMTBS-User", actor.as_str());
        if actor.len() > 3 && actor.as_bytes()[3].eq_ignore_ascii_case(&b'A') {
            request = request.bearer_auth(&self.admin_key);
        }
        let response = request.send().await.expect("the front end answers");
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let seq = header("x-dmtbs-seq").and_then(|s| s.parse().ok());
        let agreed = header("x-dmtbs-agreed");
        let body = response.json().await.unwrap_or(Value::Null);
        Reply {
            status,
            seq,
            agreed,
            body,
        }
    }
}

/// Waits (bounded) until every replica of the cluster exports the same state, and returns its
/// digest. A replica may still be applying the last requests when the client has its answer.
pub async fn converged(cluster: &LocalCluster) -> StateDigest {
    let mut last = Vec::new();
    for _ in 0..100 {
        last = cluster
            .replicas
            .iter()
            .map(|(_, r)| r.digest().expect("replica exports its state"))
            .collect();
        if last.iter().all(|d| *d == last[0]) {
            return last[0];
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("replica states did not converge: {last:?}");
}
