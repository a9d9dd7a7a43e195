//! `dmtbs bench --local --durability`: the same load on durable and in-memory logs, interleaved.

use serde_json::{Value, json};

use super::report::print_summary;
use super::{Args, run_one};

/// Durable vs in-memory logs, interleaved `--rounds` times; Ok(true) when no request ended in
/// an error. On a shared machine one round's ratio moves with whatever else uses the disk: the
/// median over the rounds is the figure to quote.
pub(super) async fn durability(args: &Args) -> anyhow::Result<bool> {
    let mut runs = Vec::new();
    for round in 0..args.rounds {
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
    let median = json!({
        "ops_per_s": median(&ratios, "ops_per_s"),
        "p50": median(&ratios, "p50"),
        "p99": median(&ratios, "p99"),
    });
    if args.json {
        println!(
            "{}",
            json!({ "status": super::status(errors), "runs": runs,
                    "durable_vs_in_memory": ratios, "median": median })
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
        println!(
            "median of {} rounds: throughput ×{} · p50 ×{} · p99 ×{}",
            ratios.len(),
            median["ops_per_s"],
            median["p50"],
            median["p99"]
        );
    }
    Ok(errors == 0)
}

/// The median of one ratio over the rounds (the mean of the middle two for an even count).
fn median(ratios: &[Value], key: &str) -> Value {
    let mut values: Vec<f64> = ratios.iter().filter_map(|r| r[key].as_f64()).collect();
    if values.is_empty() {
        return Value::Null;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    let m = if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    };
    json!((m * 100.0).round() / 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_ratio_is_the_middle_round_or_the_mean_of_the_middle_two() {
        let rounds =
            |xs: &[f64]| -> Vec<Value> { xs.iter().map(|x| json!({ "ops_per_s": x })).collect() };
        assert_eq!(median(&rounds(&[0.9, 0.7, 0.8]), "ops_per_s"), json!(0.8));
        assert_eq!(
            median(&rounds(&[0.9, 0.7, 0.8, 1.0]), "ops_per_s"),
            json!(0.85)
        );
        assert_eq!(
            median(&[json!({ "ops_per_s": null })], "ops_per_s"),
            Value::Null
        );
    }
}
