//! What `dmtbs bench` prints: one run's summary, the matrix's table and ratios.

use std::time::Duration;

use dmtbs_net::FaultStats;
use serde_json::{Value, json};

pub(super) fn print_matrix(runs: &[Value], ratios: &Value, loss: f64) {
    println!("| replicas | loss | ops/s | p50 ms | p90 ms | p99 ms | max ms | errors |");
    println!("|---|---|---|---|---|---|---|---|");
    for r in runs {
        let l = &r["latency_ms"];
        println!(
            "| {} | {} % | {} | {} | {} | {} | {} | {} |",
            r["target"]["replicas"],
            r["target"]["loss_pct"],
            r["ops_per_s"],
            l["p50"],
            l["p90"],
            l["p99"],
            l["max"],
            r["error_count"]
        );
    }
    println!();
    for (name, key) in [
        ("4 replicas ÷ 1 replica", "four_vs_one"),
        (
            &format!("4 ÷ 1 under {loss} % loss"),
            "four_vs_one_under_loss",
        ),
        (
            &format!("4 replicas: {loss} % loss ÷ none"),
            "four_loss_vs_no_loss",
        ),
        (
            &format!("1 replica: {loss} % loss ÷ none"),
            "one_loss_vs_no_loss",
        ),
    ] {
        let r = &ratios[key];
        println!(
            "{name}: throughput ×{} · p50 ×{} · p99 ×{}",
            r["ops_per_s"], r["p50"], r["p99"]
        );
    }
}

pub(super) fn fault_json(stats: FaultStats) -> Value {
    json!({ "arrived": stats.arrived, "dropped": stats.dropped })
}

/// The run cut into (at most) ten equal windows of time: requests completed, ops/s, p50 and p99
/// of each — whether throughput and the tail hold as the run (and the state) grows.
pub(super) fn over_time(timeline: &[(Duration, Duration)], elapsed: Duration) -> Value {
    const WINDOWS: u32 = 10;
    let width = (elapsed / WINDOWS).max(Duration::from_millis(1));
    let mut windows: Vec<Vec<Duration>> = vec![Vec::new(); WINDOWS as usize];
    for &(at, latency) in timeline {
        let i = ((at.as_secs_f64() / width.as_secs_f64()) as usize).min(WINDOWS as usize - 1);
        windows[i].push(latency);
    }
    let ms = |d: Duration| (d.as_secs_f64() * 1e6).round() / 1e3;
    let rows: Vec<Value> = windows
        .into_iter()
        .enumerate()
        .filter(|(_, w)| !w.is_empty())
        .map(|(i, mut w)| {
            w.sort_unstable();
            let at = |q: f64| w[((q * w.len() as f64).ceil() as usize).clamp(1, w.len()) - 1];
            json!({
                "from_s": (width.as_secs_f64() * i as f64 * 10.0).round() / 10.0,
                "completed": w.len(),
                "ops_per_s": (w.len() as f64 / width.as_secs_f64()).round() as u64,
                "p50": ms(at(0.50)),
                "p99": ms(at(0.99)),
            })
        })
        .collect();
    json!({ "window_s": (width.as_secs_f64() * 10.0).round() / 10.0, "windows": rows })
}

pub(super) fn print_summary(r: &Value) {
    let t = &r["target"];
    let what = match t["url"].as_str() {
        Some(url) => format!("cluster at {url}"),
        None => format!(
            "local cluster: {} replica(s), quorum {}, {} % loss, {}",
            t["replicas"],
            t["quorum"],
            t["loss_pct"],
            t["transport"].as_str().unwrap_or("")
        ),
    };
    println!("dmtbs bench — {what}");
    println!(
        "seed {} · {} clients · setup {} requests in {} s (not timed)",
        r["seed"], r["clients"], r["setup"]["requests"], r["setup"]["seconds"]
    );
    println!(
        "{} of {} requests in {} s{}: {} ops/s",
        r["completed"],
        r["requests"],
        r["elapsed_s"],
        if r["stopped_by_time_limit"] == true {
            " (stopped at --max-seconds)"
        } else {
            ""
        },
        r["ops_per_s"]
    );
    let l = &r["latency_ms"];
    if !l.is_null() {
        println!(
            "latency ms: p50 {} · p90 {} · p99 {} · max {} · mean {}",
            l["p50"], l["p90"], l["p99"], l["max"], l["mean"]
        );
    }
    let list = |v: &Value| -> String {
        let items: Vec<String> = v
            .as_object()
            .map(|m| m.iter().map(|(k, n)| format!("{k} {n}")).collect())
            .unwrap_or_default();
        if items.is_empty() {
            "none".into()
        } else {
            items.join(", ")
        }
    };
    if let Some(windows) = r["over_time"]["windows"].as_array().filter(|w| w.len() > 1) {
        println!("over time ({} s windows):", r["over_time"]["window_s"]);
        for w in windows {
            println!(
                "  from {:>6} s: {:>6} ops/s · p50 {} · p99 {} ms",
                w["from_s"], w["ops_per_s"], w["p50"], w["p99"]
            );
        }
    }
    println!("answered: {} ok", r["ok"]);
    println!("  refused by the rules: {}", list(&r["refused_by_rules"]));
    println!(
        "  refused by the front end: {}",
        list(&r["refused_by_front_end"])
    );
    println!("errors: {}", list(&r["errors"]));
    if let Some(f) = r["faults"].as_object() {
        println!(
            "fault layer: {} of {} datagrams dropped",
            f["dropped"], f["arrived"]
        );
    }
    if let Some(i) = r["injected"].as_object() {
        println!(
            "injected: {} into RM {} after {} requests ({} s into the run)",
            i["module"].as_str().unwrap_or(""),
            i["rm"],
            i["at_request"],
            i["at_s"]
        );
        let after = &i["after"];
        if !after.is_null() {
            println!(
                "  RM {} at the end: {} ({} swaps; last: {})",
                i["rm"],
                after["module"].as_str().unwrap_or("?"),
                after["swaps"],
                after["lastSwapReason"].as_str().unwrap_or("none")
            );
        }
    }
}
