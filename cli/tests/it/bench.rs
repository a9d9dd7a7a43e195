//! `dmtbs bench --local`: small bounded runs of the real code path (a cluster started in the
//! command, the setup, the clients) reporting every request and no errors.

use std::process::Command;

use serde_json::Value;

/// Runs `dmtbs bench --local --json` with `args`; returns the exit code and the result.
fn bench(args: &[&str]) -> (Option<i32>, Value) {
    let output = Command::new(env!("CARGO_BIN_EXE_dmtbs"))
        .args(["bench", "--local", "--json", "--max-seconds", "120"])
        .args(args)
        .output()
        .expect("dmtbs runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let result = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "not one JSON result ({e}):\n{stdout}\nstderr:\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.code(), result)
}

fn check(result: &Value, requests: u64) {
    assert_eq!(result["status"], "ok", "{result:#}");
    assert_eq!(result["completed"], requests, "{result:#}");
    assert_eq!(result["error_count"], 0, "{result:#}");
    assert_eq!(result["stopped_by_time_limit"], false, "{result:#}");
    assert!(
        result["ok"].as_u64() > Some(0),
        "some requests succeed: {result:#}"
    );
    assert_eq!(result["setup"]["requests"], 216, "{result:#}");
    let latency = &result["latency_ms"];
    assert!(
        latency["p50"].as_f64() <= latency["p99"].as_f64(),
        "{latency}"
    );
    assert!(
        latency["p99"].as_f64() <= latency["max"].as_f64(),
        "{latency}"
    );
}

#[test]
fn four_replicas_answer_every_request_without_errors() {
    let (code, result) = bench(&["--replicas", "4", "--clients", "4", "--requests", "300"]);
    check(&result, 300);
    assert_eq!(result["target"]["quorum"], 2);
    assert_eq!(result["seed"], 1);
    assert_eq!(code, Some(0));
}

#[test]
fn one_replica_under_loss_answers_every_request_without_errors() {
    let (code, result) = bench(&[
        "--replicas",
        "1",
        "--loss",
        "5",
        "--clients",
        "3",
        "--requests",
        "100",
        "--seed",
        "7",
    ]);
    check(&result, 100);
    assert_eq!(result["target"]["quorum"], 1);
    assert!(
        result["faults"]["dropped"].as_u64() > Some(0),
        "the fault layer dropped datagrams: {result:#}"
    );
    assert_eq!(code, Some(0));
}

#[test]
fn a_lying_module_injected_mid_run_costs_no_client_an_error_and_is_replaced() {
    let (code, result) = bench(&[
        "--replicas",
        "4",
        "--clients",
        "4",
        "--requests",
        "1500",
        "--inject",
        "rm2:faulty-random",
        "--inject-at",
        "100",
    ]);
    check(&result, 1500);
    let injected = &result["injected"];
    assert_eq!(injected["rm"], 2, "{result:#}");
    assert_eq!(injected["module"], "faulty-random");
    assert!(injected["at_request"].as_u64() >= Some(100), "{injected}");
    // Replaced after three wrong results: a known-good module again, the operator's swap
    // and the recovery's both counted.
    assert_ne!(injected["after"]["module"], "faulty-random", "{injected}");
    assert!(injected["after"]["swaps"].as_u64() >= Some(2), "{injected}");
    assert_eq!(code, Some(0));
}

#[test]
fn an_injection_that_is_not_rm_colon_module_is_refused_before_anything_runs() {
    let output = Command::new(env!("CARGO_BIN_EXE_dmtbs"))
        .args(["bench", "--local", "--inject", "faulty-random"])
        .output()
        .expect("run dmtbs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("RM:MODULE"), "{stderr}");
}

#[test]
fn a_url_without_an_admin_key_is_refused_before_anything_runs() {
    let output = Command::new(env!("CARGO_BIN_EXE_dmtbs"))
        .args(["bench", "--url", "http://127.0.0.1:9"])
        .env_remove("DMTBS_ADMIN_KEY")
        .output()
        .expect("dmtbs runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    // Refused before it even looks for a front end there (none listens on port 9).
    assert!(
        stderr.contains("needs the cluster's admin key") && stderr.contains("$DMTBS_ADMIN_KEY"),
        "{stderr}"
    );
}

#[test]
fn the_matrix_runs_four_configurations_and_compares_them() {
    let (code, result) = bench(&["--matrix", "--clients", "2", "--requests", "40"]);
    let runs = result["runs"].as_array().expect("runs");
    let shapes: Vec<(Value, Value)> = runs
        .iter()
        .map(|r| {
            (
                r["target"]["replicas"].clone(),
                r["target"]["loss_pct"].clone(),
            )
        })
        .collect();
    assert_eq!(
        shapes,
        [(4, 0.0), (1, 0.0), (4, 5.0), (1, 5.0)]
            .map(|(n, loss)| (Value::from(n), Value::from(loss)))
    );
    for run in runs {
        assert_eq!(run["completed"], 40, "{run:#}");
        assert_eq!(run["error_count"], 0, "{run:#}");
    }
    for key in ["four_vs_one", "four_vs_one_under_loss"] {
        assert!(
            result["ratios"][key]["ops_per_s"].as_f64() > Some(0.0),
            "{key}: {result:#}"
        );
    }
    assert_eq!(code, Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_cluster_is_benchmarked_through_its_url() {
    use dmtbs_cluster::config::TransportMode;
    use dmtbs_cluster::local::{LocalCluster, local_config};
    use dmtbs_testkit::components::{self, IMPLEMENTATIONS};

    let config = local_config(
        &components::dir(),
        &IMPLEMENTATIONS,
        2,
        TransportMode::Unicast,
        "2026-11-24",
    )
    .expect("configuration");
    let cluster = LocalCluster::start(config).await.expect("cluster starts");
    let (url, key) = (cluster.url(0), cluster.config.cluster.admin_key.clone());
    let output = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_dmtbs"))
            .args(["bench", "--url", &url, "--today", "2026-11-24", "--json"])
            .args(["--clients", "2", "--requests", "60", "--max-seconds", "120"])
            .env("DMTBS_ADMIN_KEY", key)
            .output()
            .expect("dmtbs runs")
    })
    .await
    .expect("bench finished");
    let result: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&output.stderr));
    });
    check(&result, 60);
    assert_eq!(output.status.code(), Some(0));
    cluster.stop().await.expect("clean shutdown");
}
