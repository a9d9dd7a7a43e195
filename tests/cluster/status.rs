//! The front end's status JSON and metrics on a live cluster with a lying replica: its wrong
//! results show as disagreements, its automatic replacement as a swap event naming both modules,
//! and the metrics count the same disagreements and one vote per answered request.

use std::time::Duration;

use dmtbs_cluster::local::LocalCluster;
use dmtbs_testkit::components::{self, IMPLEMENTATIONS};
use dmtbs_tests::liar;
use serde_json::Value;

use crate::client::{TODAY, client};

/// The RM running the faulty module, and the known-good module it falls back to.
const LIAR: u64 = 2;
const KNOWN_GOOD: &str = IMPLEMENTATIONS[LIAR as usize - 1];

async fn get(url: &str) -> reqwest::Response {
    let response = reqwest::get(url).await.expect("the front end answers");
    assert_eq!(response.status(), 200, "GET {url}");
    response
}

async fn status(cluster: &LocalCluster, since: u64) -> Value {
    get(&format!("{}/v1/status?since={since}", cluster.url(0)))
        .await
        .json()
        .await
        .expect("status JSON")
}

/// A counter of the front end's metrics (0 when the series does not exist).
async fn counter(cluster: &LocalCluster, metric: &str, labels: &[(&str, &str)]) -> f64 {
    let text = get(&format!("{}/metrics", cluster.url(0)))
        .await
        .text()
        .await
        .expect("metrics text");
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned())))
        .expect("Prometheus text format");
    scrape
        .samples
        .iter()
        .find(|s| s.metric == metric && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map_or(0.0, |s| match s.value {
            prometheus_parse::Value::Counter(v) => v,
            ref other => panic!("{metric} is not a counter: {other:?}"),
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lying_replica_shows_as_disagreements_then_a_swap_in_the_status_and_metrics() {
    let cluster = liar::start(LIAR as usize, TODAY).await;
    let client = client(&cluster);

    // The status knows every RM's module once they serve (the front end asks every RM about
    // once a second; they join first).
    let mut before = Value::Null;
    for _ in 0..150 {
        before = status(&cluster, 0).await;
        let replicas = before["replicas"].as_array().cloned().unwrap_or_default();
        if replicas.len() == 4 && replicas.iter().all(|r| r["health"] == "serving") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        before["replicas"].as_array().map(Vec::len),
        Some(4),
        "{before:#}"
    );
    let liar = before["replicas"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rm"] == LIAR)
        .unwrap();
    assert_eq!(liar["module"], components::FAULTY_LOGIC, "{before:#}");
    assert_eq!(liar["health"], "serving", "{before:#}");

    // Three customers hold three other-area bookings each this week; a fourth is refused by the
    // weekly limit, which faulty-logic gets wrong: three wrong results in a row.
    let answered = liar::provoke_three_wrong_results(&client).await;

    // The status shows the disagreements, then the swap to the known-good module.
    let mut last = Value::Null;
    let mut swapped = None;
    for _ in 0..300 {
        last = status(&cluster, 0).await;
        let events = last["events"].as_array().cloned().unwrap_or_default();
        let disagreements = events
            .iter()
            .filter(|e| e["kind"] == "disagreement" && e["rm"] == LIAR)
            .count();
        let swap = events
            .iter()
            .find(|e| e["kind"] == "swap" && e["rm"] == LIAR)
            .cloned();
        if disagreements >= 3
            && let Some(swap) = swap
        {
            swapped = Some(swap);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let swap = swapped.unwrap_or_else(|| {
        panic!("no swap of RM {LIAR} after 3 disagreements within 30 s; last status {last:#}")
    });
    assert_eq!(swap["from"], components::FAULTY_LOGIC, "{swap}");
    assert_eq!(swap["to"], KNOWN_GOOD, "{swap}");
    assert!(
        swap["reason"]
            .as_str()
            .is_some_and(|r| r.contains("3 consecutive wrong results")),
        "{swap}"
    );
    let events = last["events"].as_array().unwrap();
    // Ids only grow; the disagreements come before the swap they caused.
    let ids: Vec<u64> = events.iter().map(|e| e["id"].as_u64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    let first_disagreement = events
        .iter()
        .find(|e| e["kind"] == "disagreement")
        .map(|e| e["id"].as_u64().unwrap());
    assert!(first_disagreement < swap["id"].as_u64(), "{last:#}");
    // Only the liar was ever out of step.
    for e in events {
        if e["kind"] == "disagreement" || e["kind"] == "swap" {
            assert_eq!(e["rm"], LIAR, "{e}");
        }
    }
    let since = status(&cluster, swap["id"].as_u64().unwrap()).await;
    assert!(
        since["events"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["id"].as_u64() > swap["id"].as_u64()),
        "{since:#}"
    );
    let liar = last["replicas"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["rm"] == LIAR)
        .unwrap();
    assert!(liar["disagreements"].as_u64() >= Some(3), "{liar}");
    assert_eq!(last["requests"]["total"], answered, "{last:#}");
    for r in last["replicas"].as_array().unwrap() {
        assert!(r["latency"]["count"].as_u64() > Some(0), "{r}");
    }

    // The metrics count the same.
    let rm = LIAR.to_string();
    let disagreements = counter(&cluster, "dmtbs_fe_disagreements_total", &[("rm", &rm)]).await;
    assert!(disagreements >= 3.0, "{disagreements}");
    for other in ["1", "3", "4"] {
        assert_eq!(
            counter(&cluster, "dmtbs_fe_disagreements_total", &[("rm", other)]).await,
            0.0,
            "rm {other}"
        );
    }
    assert_eq!(
        counter(&cluster, "dmtbs_fe_votes_total", &[]).await,
        answered as f64,
        "one vote per answered request"
    );
    let ok = counter(
        &cluster,
        "dmtbs_fe_requests_total",
        &[("operation", "book"), ("outcome", "ok")],
    )
    .await;
    let refused = counter(
        &cluster,
        "dmtbs_fe_requests_total",
        &[
            ("operation", "book"),
            ("outcome", "refused"),
            ("code", "weekly-limit"),
        ],
    )
    .await;
    assert_eq!((ok, refused), (9.0, 3.0));
    cluster.stop().await.expect("clean stop");
}
