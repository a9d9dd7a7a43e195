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
fn a_url_without_an_admin_key_is_refused_before_anything_runs() {
    let output = Command::new(env!("CARGO_BIN_EXE_dmtbs"))
        .args(["bench", "--url", "http://127.0.0.1:9"])
        .env_remove("DMTBS_ADMIN_KEY")
        .output()
        .expect("dmtbs runs");
    assert_eq!(output.status.code(), Some(2), "clap's usage error");
}
