//! What Prometheus would scrape from a `dmtbs up` cluster: every node process serves `/metrics`
//! in the Prometheus text format, and the counts follow what the cluster did.

use std::time::{Duration, Instant};

use dmtbs_cluster::config::TransportMode;
use reqwest::Method;
use serde_json::json;

use crate::harness::Up;

/// GETs `url` and parses it as Prometheus text (0.0.4), checking the content type on the way.
async fn scrape(up: &Up, url: &str) -> prometheus_parse::Scrape {
    let response = up
        .http
        .get(url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}\n{}", up.log()));
    assert_eq!(response.status(), 200, "{url}");
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{url}: content type {content_type:?}"
    );
    let text = response.text().await.expect("metrics body");
    promtool_check(url, &text);
    prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned())))
        .unwrap_or_else(|e| panic!("{url} is not Prometheus text: {e}\n{text}"))
}

/// `promtool check metrics` (Prometheus' own linter: names, units, help, types) on a scrape,
/// where promtool is installed (`.ci/run` installs Debian's `prometheus` package, so CI always
/// runs it; elsewhere its absence is said, not hidden).
fn promtool_check(url: &str, text: &str) {
    use std::io::Write as _;
    let child = std::process::Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            assert!(
                std::env::var_os("CI").is_none(),
                "promtool is missing on CI (.ci/run installs the prometheus package)"
            );
            println!("promtool is not installed: {url} not linted (apt-get install prometheus)");
            return;
        }
        Err(e) => panic!("promtool: {e}"),
    };
    child
        .stdin
        .take()
        .expect("piped")
        .write_all(text.as_bytes())
        .expect("promtool reads the scrape");
    let out = child.wait_with_output().expect("promtool runs");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && said.trim().is_empty(),
        "promtool check metrics on {url}: {said}"
    );
}

/// The value of the sample `name` whose labels include every one of `labels`.
fn value(scrape: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    scrape
        .samples
        .iter()
        .filter(|s| s.metric == name)
        .find(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
        .map(|s| match s.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            ref other => panic!("{name} is not a number: {other:?}"),
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_node_process_serves_prometheus_metrics_that_count_what_happened() {
    let up = Up::start(TransportMode::Multicast);
    let (status, _, _) = up
        .call(
            Method::POST,
            "/v1/shows",
            "ATWA0001",
            Some(json!({"movie": "Avatar", "showId": "ATWE251126", "capacity": 50})),
        )
        .await;
    assert_eq!(status, 201);
    let (status, _, _) = up
        .call(
            Method::POST,
            "/v1/customers/ATWC0001/bookings",
            "ATWC0001",
            Some(json!({"movie": "Avatar", "showId": "ATWE251126", "tickets": 2})),
        )
        .await;
    assert_eq!(status, 200);

    // The front end counted both answers and voted twice.
    let fe = scrape(&up, &up.url("/metrics")).await;
    let requests = |operation| {
        fe.samples
            .iter()
            .filter(|s| s.metric == "dmtbs_fe_requests_total")
            .filter(|s| s.labels.get("operation") == Some(operation))
            .map(|s| match s.value {
                prometheus_parse::Value::Counter(v) => v,
                ref other => panic!("requests is not a counter: {other:?}"),
            })
            .sum::<f64>()
    };
    assert_eq!(requests("add-show"), 1.0);
    assert_eq!(requests("book"), 1.0);
    assert_eq!(value(&fe, "dmtbs_fe_votes_total", &[]), Some(2.0));

    let sequencer = up
        .config
        .sequencer
        .metrics
        .expect("the test configuration gives the sequencer a metrics address");
    let sequencer = scrape(&up, &format!("http://{sequencer}/metrics")).await;
    assert_eq!(
        value(&sequencer, "dmtbs_sequencer_requests_sequenced_total", &[]),
        Some(2.0)
    );
    assert_eq!(
        value(&sequencer, "dmtbs_sequencer_latest_seq", &[]),
        Some(2.0)
    );
    // Each node is a process of its own, and says what it costs: CPU, memory, descriptors.
    for (node, scrape) in [("dmtbs_fe", &fe), ("dmtbs_sequencer", &sequencer)] {
        let rss = value(
            scrape,
            &format!("{node}_process_resident_memory_bytes"),
            &[],
        );
        assert!(
            rss.is_some_and(|v| v > 1e6),
            "{node}: resident memory {rss:?}"
        );
        let fds = value(scrape, &format!("{node}_process_open_fds"), &[]);
        assert!(
            fds.is_some_and(|v| v >= 3.0),
            "{node}: open descriptors {fds:?}"
        );
        assert!(
            value(scrape, &format!("{node}_process_cpu_seconds_total"), &[]).is_some(),
            "{node}: CPU time"
        );
    }

    // Every RM applies both requests: two answered the client, the others follow within moments.
    for rm in &up.config.rms {
        let url = format!(
            "http://{}/metrics",
            rm.metrics
                .expect("the test configuration gives every RM a metrics address")
        );
        let id = rm.id.to_string();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let scrape = scrape(&up, &url).await;
            let applied = value(&scrape, "dmtbs_rm_applied_through", &[("rm", &id)]);
            if applied == Some(2.0) {
                assert_eq!(
                    value(&scrape, "dmtbs_rm_requests_applied_total", &[("rm", &id)]),
                    Some(2.0),
                    "RM {id}"
                );
                assert_eq!(
                    value(
                        &scrape,
                        "dmtbs_rm_module",
                        &[("rm", &id), ("module", &rm.modules[0])]
                    ),
                    Some(1.0),
                    "RM {id} runs its first module"
                );
                break;
            }
            assert!(
                Instant::now() < deadline,
                "RM {id} applied through {applied:?}, not 2, after 10 s\n{}",
                up.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
