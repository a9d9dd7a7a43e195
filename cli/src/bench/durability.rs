//! `dmtbs bench --local --durability`: the same load on durable and in-memory logs, interleaved.

use serde_json::{Value, json};

use super::report::print_summary;
use super::{Args, run_one};

/// Durable vs in-memory logs, interleaved twice; Ok(true) when no request ended in an error.
pub(super) async fn durability(args: &Args) -> anyhow::Result<bool> {
    let mut runs = Vec::new();
    for round in 0..2 {
        for in_memory in [false, true] {
            let args = Args {
                replicas: 4,
                quorum: None,
                in_memory,
                ..args.clone()
            };
            let result = run_one(&args).await?;
            if !args.json {
                println!(
                    "round {}, {}:",
                    round + 1,
                    if in_memory { "in memory" } else { "durable" }
                );
                print_summary(&result);
                println!();
            }
            runs.push(result);
        }
    }
    let errors: u64 = runs.iter().filter_map(|r| r["error_count"].as_u64()).sum();
    let ratio = |a: &Value, b: &Value| match (a.as_f64(), b.as_f64()) {
        (Some(a), Some(b)) if b > 0.0 => json!((a / b * 100.0).round() / 100.0),
        _ => Value::Null,
    };
    let ratios: Vec<Value> = runs
        .chunks(2)
        .map(|pair| {
            json!({
                "ops_per_s": ratio(&pair[0]["ops_per_s"], &pair[1]["ops_per_s"]),
                "p50": ratio(&pair[0]["latency_ms"]["p50"], &pair[1]["latency_ms"]["p50"]),
                "p99": ratio(&pair[0]["latency_ms"]["p99"], &pair[1]["latency_ms"]["p99"]),
            })
        })
        .collect();
    if args.json {
        println!(
            "{}",
            json!({ "runs": runs, "durable_vs_in_memory": ratios })
        );
    } else {
        println!("| log | ops/s | p50 ms | p99 ms | fsyncs per request and RM | errors |");
        println!("|---|---|---|---|---|---|");
        for r in &runs {
            println!(
                "| {} | {} | {} | {} | {} | {} |",
                if r["target"]["durable"] == true {
                    "durable"
                } else {
                    "in memory"
                },
                r["ops_per_s"],
                r["latency_ms"]["p50"],
                r["latency_ms"]["p99"],
                r["fsyncs_per_request"],
                r["error_count"]
            );
        }
        for (i, r) in ratios.iter().enumerate() {
            println!(
                "round {}: durable ÷ in memory: throughput ×{} · p50 ×{} · p99 ×{}",
                i + 1,
                r["ops_per_s"],
                r["p50"],
                r["p99"]
            );
        }
    }
    Ok(errors == 0)
}
