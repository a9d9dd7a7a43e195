//! Helpers to start and check clusters, and a `dmtbs-client` for their front end.

use std::time::Duration;

use dmtbs_client::{Answer, Client, Error, outcome_of};
use dmtbs_cluster::config::TransportMode;
use dmtbs_cluster::local::{LocalCluster, local_config, test_config};
use dmtbs_contract::{Operation, Outcome, Success};
use dmtbs_frontend::http::success_json;
use dmtbs_host::StateDigest;
use dmtbs_testkit::components::{self, IMPLEMENTATIONS};
use serde_json::{Value, json};

/// The day every test cluster lives on: the day of the rules' examples.
pub const TODAY: &str = "2026-11-24";

pub async fn start(transport: TransportMode) -> LocalCluster {
    start_with(transport, &|_, udp| std::sync::Arc::new(udp)).await
}

/// A cluster of `modules.len()` RMs answering at `quorum` identical results.
pub async fn start_sized(modules: &[&str], quorum: usize) -> LocalCluster {
    let config = local_config(
        &components::dir(),
        modules,
        quorum,
        TransportMode::Multicast,
        TODAY,
    )
    .expect("test configuration");
    LocalCluster::start(config).await.expect("cluster starts")
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

/// A client of the cluster's first front end, holding the admin key and every user's token
/// (made with the cluster's token key).
pub fn client(cluster: &LocalCluster) -> Client {
    Client::builder(cluster.url(0))
        .admin_key(cluster.config.cluster.admin_key.clone())
        .tokens(cluster.config.mint_tokens())
        .timeout(Duration::from_secs(20))
        .build()
        .expect("http client")
}

/// Does a client result say what a reference replica's `outcome` says? Only answers the cluster
/// computed (successes and refusals by the rules, both sequenced) can.
pub fn matches(result: &Result<Answer<Success>, Error>, outcome: &Outcome) -> bool {
    outcome_of(result).is_some_and(|(_, answered)| answered == *outcome)
}

/// One answer as the wire suite reads it (HTTP status, `seq`, the JSON body), built from the typed client's
/// result. Kept for `wire.rs` and `exactly_once.rs`; new tests use [`client`] directly.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub seq: Option<u64>,
    pub body: Value,
}

/// The wire suite's client: the typed client answering [`Reply`]s.
pub struct Api(Client);

impl Api {
    pub fn new(cluster: &LocalCluster) -> Self {
        Api(client(cluster))
    }

    pub async fn call(&self, op: &Operation) -> Reply {
        match self.0.execute(op).await {
            Ok(answer) => Reply {
                status: answer.status,
                seq: Some(answer.seq),
                body: success_json(&answer.value),
            },
            Err(Error::Api(e)) => Reply {
                status: e.status,
                seq: e.seq,
                body: json!({ "error": { "code": e.code, "message": e.message, "details": e.details } }),
            },
            Err(e) => panic!("the front end answers: {e}"),
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
            // The host's digest of each export (which also checks the replica's own report).
            .map(|(_, r)| r.export_with_digest().expect("replica exports its state").1)
            .collect();
        if last.iter().all(|d| *d == last[0]) {
            return last[0];
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("replica states did not converge: {last:?}");
}
