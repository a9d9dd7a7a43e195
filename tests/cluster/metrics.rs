//! What the sequencer's and the replica managers' `GET /metrics` show an operator: requests
//! counted once everywhere, a lying replica's swap with its reason and the module now running,
//! retransmissions on a lossy network, and a taken metrics port refusing to start.

use std::sync::Arc;
use std::time::Duration;

use dmtbs_cluster::config::TransportMode;
use dmtbs_cluster::local::{LocalCluster, test_config};
use dmtbs_contract::Operation;
use dmtbs_net::{FaultPlan, FaultTransport, LinkFaults};
use dmtbs_proto::NodeId;
use dmtbs_testkit::build::{add_show, availability, book};
use dmtbs_testkit::components::{self, IMPLEMENTATIONS};
use prometheus_parse::{Sample, Scrape, Value};
use serde_json::Value as Json;

use crate::client::{TODAY, client, start_with};

/// One scrape of a node's metrics, parsed as Prometheus text.
struct Metrics {
    node: NodeId,
    text: String,
    scrape: Scrape,
}

impl Metrics {
    async fn of(cluster: &LocalCluster, node: NodeId) -> Self {
        let url = cluster
            .metrics_url(node)
            .unwrap_or_else(|| panic!("{node:?} serves no metrics"));
        let response = reqwest::get(&url)
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        assert_eq!(response.status(), 200, "GET {url}");
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            content_type.starts_with("text/plain") && content_type.contains("0.0.4"),
            "{url}: {content_type}"
        );
        let text = response.text().await.expect("metrics body");
        let scrape = Scrape::parse(text.lines().map(|l| Ok(l.to_owned())))
            .unwrap_or_else(|e| panic!("{url} is not Prometheus text ({e}):\n{text}"));
        Metrics { node, text, scrape }
    }

    /// The samples of `name` whose labels include `labels`.
    fn samples<'a>(
        &'a self,
        name: &'a str,
        labels: &'a [(&'a str, &'a str)],
    ) -> impl Iterator<Item = &'a Sample> {
        self.scrape.samples.iter().filter(move |s| {
            s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v))
        })
    }

    /// The value of the one counter or gauge `name` with `labels`.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let found: Vec<_> = self.samples(name, labels).collect();
        let [sample] = found[..] else {
            panic!(
                "{:?}: {} samples of {name}{labels:?} in:\n{}",
                self.node,
                found.len(),
                self.text
            );
        };
        match sample.value {
            Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => v,
            ref other => panic!("{name} is not a counter or gauge: {other:?}"),
        }
    }

    /// How many observations the histogram `name` holds (its `+Inf` bucket).
    fn observations(&self, name: &str) -> f64 {
        let found: Vec<_> = self.samples(name, &[]).collect();
        let [sample] = found[..] else {
            panic!("{:?}: no histogram {name} in:\n{}", self.node, self.text);
        };
        let Value::Histogram(buckets) = &sample.value else {
            panic!("{name} is not a histogram: {:?}", sample.value);
        };
        buckets
            .iter()
            .find(|b| b.less_than.is_infinite())
            .map(|b| b.count)
            .unwrap_or_else(|| panic!("{name} has no +Inf bucket"))
    }

    /// The sum over every label set of the counter `name`.
    fn total(&self, name: &str) -> f64 {
        self.samples(name, &[])
            .map(|s| match s.value {
                Value::Counter(v) => v,
                ref other => panic!("{name} is not a counter: {other:?}"),
            })
            .sum()
    }
}

const RMS: [NodeId; 4] = [NodeId::Rm(1), NodeId::Rm(2), NodeId::Rm(3), NodeId::Rm(4)];

/// Scrapes `node` until `done` holds (at most 15 s), returning that scrape.
async fn wait_for(
    cluster: &LocalCluster,
    node: NodeId,
    what: &str,
    done: impl Fn(&Metrics) -> bool,
) -> Metrics {
    for _ in 0..300 {
        let m = Metrics::of(cluster, node).await;
        if done(&m) {
            return m;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let m = Metrics::of(cluster, node).await;
    panic!(
        "{node:?}: {what} did not happen within 15 s; last scrape:\n{}",
        m.text
    );
}

/// `n` requests every replica answers alike and the rules accept: a show, then bookings of one
/// ticket each and availability queries.
fn requests(n: usize) -> Vec<Operation> {
    let mut ops = vec![add_show("ATWA0001", "Avatar", "ATWM251126", 500)];
    for i in 1..n {
        ops.push(if i % 2 == 0 {
            availability("ATWC0001", "Avatar")
        } else {
            let customer = format!("ATWC{:04}", i);
            book(&customer, &customer, "Avatar", "ATWM251126", 1)
        });
    }
    ops
}

async fn send_all(cluster: &LocalCluster, ops: &[Operation]) {
    let client = client(cluster);
    for op in ops {
        if let Err(e) = client.execute(op).await {
            panic!("{op:?}: {e}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_is_counted_once_by_the_sequencer_and_every_rm() {
    const N: usize = 12;
    let mut config = test_config(
        &components::dir(),
        IMPLEMENTATIONS,
        TransportMode::Multicast,
        TODAY,
    )
    .expect("test configuration");
    config.recovery.checkpoint_every = 5;
    let cluster = LocalCluster::start(config).await.expect("cluster starts");
    send_all(&cluster, &requests(N)).await;
    let n = N as f64;

    let sequencer = wait_for(&cluster, NodeId::Sequencer, "every RM acknowledging", |m| {
        (1..=4).all(|rm| m.value("dmtbs_sequencer_acked_through", &[("rm", &rm.to_string())]) == n)
    })
    .await;
    assert_eq!(
        sequencer.value("dmtbs_sequencer_requests_sequenced_total", &[]),
        n
    );
    assert_eq!(sequencer.value("dmtbs_sequencer_latest_seq", &[]), n);
    assert_eq!(
        sequencer.value("dmtbs_sequencer_duplicate_submissions_total", &[]),
        0.0
    );
    assert!(sequencer.value("dmtbs_sequencer_heartbeats_total", &[]) >= 1.0);
    assert_eq!(
        sequencer.total("dmtbs_sequencer_datagrams_rejected_total"),
        0.0
    );
    assert_eq!(
        sequencer
            .samples("dmtbs_sequencer_datagrams_rejected_total", &[])
            .count(),
        8,
        "every reason is listed:\n{}",
        sequencer.text
    );

    for (i, node) in RMS.into_iter().enumerate() {
        let m = wait_for(&cluster, node, "a stable checkpoint at 10", |m| {
            m.value("dmtbs_rm_applied_through", &[]) == n
                && m.value("dmtbs_rm_stable_checkpoint_seq", &[]) == 10.0
        })
        .await;
        let rm = (i + 1).to_string();
        // Every series names its RM, so scrapes of several RMs can be told apart.
        let unlabelled: Vec<_> = m
            .scrape
            .samples
            .iter()
            .filter(|s| s.labels.get("rm") != Some(rm.as_str()))
            .map(|s| &s.metric)
            .collect();
        assert!(unlabelled.is_empty(), "{node:?}: {unlabelled:?}");
        assert_eq!(
            m.value("dmtbs_rm_requests_delivered_total", &[]),
            n,
            "{node:?}"
        );
        assert_eq!(m.value("dmtbs_rm_delivered_through", &[]), n, "{node:?}");
        assert_eq!(
            m.value("dmtbs_rm_requests_applied_total", &[]),
            n,
            "{node:?}"
        );
        assert_eq!(m.observations("dmtbs_rm_apply_seconds"), n, "{node:?}");
        assert_eq!(m.value("dmtbs_rm_results_sent_total", &[]), n, "{node:?}");
        assert_eq!(m.value("dmtbs_rm_checkpoints_total", &[]), 2.0, "{node:?}");
        assert_eq!(m.total("dmtbs_rm_swaps_total"), 0.0, "{node:?}");
        assert_eq!(m.observations("dmtbs_rm_swap_seconds"), 0.0, "{node:?}");
        assert_eq!(
            m.value("dmtbs_rm_verdicts_total", &[("kind", "wrong")]),
            0.0
        );
        assert_eq!(m.value("dmtbs_rm_consecutive_wrong", &[]), 0.0, "{node:?}");
        assert_eq!(m.value("dmtbs_rm_health", &[("health", "serving")]), 1.0);
        assert_eq!(m.value("dmtbs_rm_health", &[("health", "recovering")]), 0.0);
        let module = IMPLEMENTATIONS[i];
        assert_eq!(
            m.value("dmtbs_rm_module", &[("module", module)]),
            1.0,
            "{node:?}"
        );
        assert_eq!(m.samples("dmtbs_rm_module", &[]).count(), 1, "{node:?}");
        assert_eq!(
            m.total("dmtbs_rm_datagrams_rejected_total"),
            0.0,
            "{node:?}"
        );
    }
    cluster.stop().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lying_replicas_swap_shows_its_reason_and_the_known_good_module() {
    let mut config = test_config(
        &components::dir(),
        [
            "replica-a",
            components::FAULTY_RANDOM,
            "replica-c",
            "replica-d",
        ],
        TransportMode::Multicast,
        TODAY,
    )
    .expect("test configuration");
    config.rms[1].modules.push("replica-b".into());
    let cluster = LocalCluster::start(config).await.expect("cluster starts");
    let before = Metrics::of(&cluster, NodeId::Rm(2)).await;
    assert_eq!(
        before.value("dmtbs_rm_module", &[("module", components::FAULTY_RANDOM)]),
        1.0
    );
    // Every result of faulty-random is wrong: three in a row make RM 2 swap.
    send_all(&cluster, &requests(6)).await;
    let m = wait_for(
        &cluster,
        NodeId::Rm(2),
        "the swap to replica-b, serving",
        |m| {
            m.samples("dmtbs_rm_module", &[("module", "replica-b")])
                .count()
                == 1
                && m.value("dmtbs_rm_health", &[("health", "serving")]) == 1.0
                && m.observations("dmtbs_rm_swap_seconds") == 1.0
        },
    )
    .await;
    assert_eq!(m.value("dmtbs_rm_swaps_total", &[("reason", "wrong")]), 1.0);
    assert_eq!(m.total("dmtbs_rm_swaps_total"), 1.0, "{}", m.text);
    assert!(m.value("dmtbs_rm_verdicts_total", &[("kind", "wrong")]) >= 3.0);
    assert_eq!(m.value("dmtbs_rm_consecutive_wrong", &[]), 0.0);
    // Only the module now running is shown, with the hash the operator's status gives.
    assert_eq!(m.samples("dmtbs_rm_module", &[]).count(), 1, "{}", m.text);
    let status: Json = reqwest::Client::new()
        .get(format!("{}/v1/admin/replicas", cluster.url(0)))
        .bearer_auth(&cluster.config.cluster.admin_key)
        .send()
        .await
        .expect("status request")
        .json()
        .await
        .expect("status JSON");
    let rm2 = status["replicas"]
        .as_array()
        .and_then(|l| l.iter().find(|r| r["rm"] == 2))
        .unwrap_or_else(|| panic!("rm 2 in {status}"));
    let hash = rm2["hash"].as_str().expect("a hash");
    assert_eq!(
        m.value(
            "dmtbs_rm_module",
            &[("module", "replica-b"), ("hash", hash)]
        ),
        1.0
    );
    // The other RMs replaced nothing.
    for node in [NodeId::Rm(1), NodeId::Rm(3), NodeId::Rm(4)] {
        let other = Metrics::of(&cluster, node).await;
        assert_eq!(other.total("dmtbs_rm_swaps_total"), 0.0, "{node:?}");
    }
    cluster.stop().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lossy_network_shows_nacks_and_retransmissions() {
    const N: usize = 60;
    let seed = dmtbs_testkit::rng::seed_from_env(0x3E7);
    println!("seed {seed} (DMTBS_SEED to repeat)");
    let plan = FaultPlan::new(seed);
    plan.set_all_links(LinkFaults {
        loss_pct: 10.0,
        duplicate_pct: 5.0,
        max_delay_ms: 5,
    })
    .expect("valid faults");
    let faults = plan.clone();
    let wrap = move |_, udp| -> Arc<dyn dmtbs_net::Transport> {
        Arc::new(FaultTransport::new(udp, faults.clone()))
    };
    let cluster = start_with(TransportMode::Multicast, &wrap).await;
    send_all(&cluster, &requests(N)).await;
    let n = N as f64;

    let mut nacks_sent = 0.0;
    let mut repairs = 0.0;
    let mut replayed = 0.0;
    for node in RMS {
        let m = wait_for(&cluster, node, "every request applied", |m| {
            m.value("dmtbs_rm_applied_through", &[]) == n
        })
        .await;
        // Each request ran in the replica once, whatever the network did.
        assert_eq!(
            m.value("dmtbs_rm_requests_applied_total", &[]),
            n,
            "{node:?} seed {seed}"
        );
        assert_eq!(
            m.observations("dmtbs_rm_apply_seconds"),
            n,
            "{node:?} seed {seed}"
        );
        assert_eq!(
            m.value("dmtbs_rm_requests_delivered_total", &[]),
            n,
            "{node:?} seed {seed}"
        );
        nacks_sent += m.total("dmtbs_rm_nacks_sent_total");
        repairs += m.value("dmtbs_rm_repairs_received_total", &[]);
        replayed += m.value(
            "dmtbs_rm_datagrams_rejected_total",
            &[("reason", "replayed")],
        );
    }
    let sequencer = Metrics::of(&cluster, NodeId::Sequencer).await;
    println!(
        "seed {seed}: RMs sent {nacks_sent} NACKs, received {repairs} repairs, refused \
         {replayed} replayed copies; faults {:?}",
        plan.stats()
    );
    assert!(nacks_sent > 0.0, "seed {seed}");
    assert!(repairs > 0.0, "seed {seed}");
    assert!(
        replayed > 0.0,
        "duplicated datagrams are refused as replays (seed {seed})"
    );
    assert!(
        sequencer.value("dmtbs_sequencer_nacks_total", &[]) > 0.0,
        "seed {seed}"
    );
    assert!(
        sequencer.value("dmtbs_sequencer_retransmitted_requests_total", &[]) > 0.0,
        "seed {seed}"
    );
    assert_eq!(
        sequencer.value("dmtbs_sequencer_requests_sequenced_total", &[]),
        n
    );
    cluster.stop().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_metrics_port_already_taken_stops_the_cluster_from_starting() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let mut config = test_config(
        &components::dir(),
        IMPLEMENTATIONS,
        TransportMode::Multicast,
        TODAY,
    )
    .expect("test configuration");
    let addr = taken.local_addr().unwrap();
    config.sequencer.metrics = Some(addr);
    let err = match LocalCluster::start(config).await {
        Ok(_) => panic!("the cluster started with its metrics port taken"),
        Err(e) => format!("{e:#}"),
    };
    // The address, and who holds it: this very test process.
    assert!(
        err.contains(&format!(
            "sequencer: metrics address: cannot bind TCP {addr}: Address already in use"
        )) && err.contains(&format!("(held by pid {} (", std::process::id())),
        "{err}"
    );
}

/// The Grafana dashboard in `docs/grafana/` asks only for series the nodes really serve: every
/// series named in a panel's query is in the scrape of a live cluster's front end, sequencer or
/// replica manager (histograms by their base name) — a renamed metric fails here, not on an
/// operator's screen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_series_the_grafana_dashboard_queries_is_served() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/grafana/dmtbs-cluster.json"
    );
    let dashboard: Json = serde_json::from_str(
        &std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}")),
    )
    .expect("the dashboard is JSON");
    let mut wanted = std::collections::BTreeSet::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().expect("targets") {
            let expr = target["expr"].as_str().expect("a query");
            for token in expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
                if token.starts_with("dmtbs_") || token.starts_with("process_") {
                    wanted.insert(token.trim_end_matches("_bucket").to_owned());
                }
            }
        }
    }
    assert!(wanted.len() >= 15, "the dashboard queries {wanted:?}");
    let config = test_config(
        &components::dir(),
        IMPLEMENTATIONS,
        TransportMode::Multicast,
        TODAY,
    )
    .expect("test configuration");
    let cluster = LocalCluster::start(config).await.expect("cluster starts");
    send_all(&cluster, &requests(4)).await;
    let mut served = String::new();
    for node in [NodeId::FrontEnd(1), NodeId::Sequencer, NodeId::Rm(1)] {
        served += &Metrics::of(&cluster, node).await.text;
    }
    let missing: Vec<&String> = wanted
        .iter()
        .filter(|n| !served.contains(n.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "queried by the dashboard, served by no node: {missing:?}"
    );
    cluster.stop().await.expect("clean stop");
}
