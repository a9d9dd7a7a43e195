//! Simulation campaigns: `dmtbs-sim --seeds N [--start S] [--planted BUG]`, or one seed with its
//! report: `dmtbs-sim --seed S [--verbose]`. Ends with `N seeds passed, M failed`; exits 1 when
//! any failed.

use std::process::ExitCode;
use std::time::Instant;

use dmtbs_sim::{Options, PlantedBug, run};

fn main() -> ExitCode {
    let mut seeds: u64 = 100;
    let mut start: u64 = 1;
    let mut verbose = false;
    let mut options = Options::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| {
            args.next()
                .unwrap_or_else(|| usage(&format!("{name} needs a value")))
        };
        match arg.as_str() {
            "--seeds" => seeds = number(&value("--seeds")),
            "--start" => start = number(&value("--start")),
            "--seed" => {
                start = number(&value("--seed"));
                seeds = 1;
            }
            "--planted" => {
                options.planted = Some(
                    value("--planted")
                        .parse::<PlantedBug>()
                        .unwrap_or_else(|e| usage(&e)),
                )
            }
            "--verbose" => verbose = true,
            "--rm-as-in-cluster" => options.rm_as_in_cluster = true,
            "--tail" => options.tail = number(&value("--tail")) as usize,
            "--help" | "-h" => usage(""),
            other => usage(&format!("unknown argument {other:?}")),
        }
    }
    println!(
        "seeds {start}..{} {}",
        start + seeds - 1,
        options
            .planted
            .map(|p| format!("(planted bug: {p:?})"))
            .unwrap_or_default()
    );
    let began = Instant::now();
    let (mut passed, mut failed, mut events) = (0u64, 0u64, 0u64);
    for seed in start..start + seeds {
        let report = run(seed, &options);
        events += report.events;
        if report.passed() {
            passed += 1;
            if verbose {
                print!("{report}");
            }
        } else {
            failed += 1;
            print!("{report}");
        }
    }
    let took = began.elapsed();
    println!(
        "{:.1} s, {:.0} seeds/s, {events} events",
        took.as_secs_f64(),
        seeds as f64 / took.as_secs_f64()
    );
    println!("{passed} seeds passed, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn number(text: &str) -> u64 {
    text.parse()
        .unwrap_or_else(|_| usage(&format!("{text:?} is not a number")))
}

fn usage(problem: &str) -> ! {
    if !problem.is_empty() {
        eprintln!("dmtbs-sim: {problem}");
    }
    eprintln!(
        "usage: dmtbs-sim [--seeds N] [--start S] [--planted voter-first-result|rm-skips-holdback]\n       \
         dmtbs-sim --seed S [--verbose] [--tail EVENTS] [--planted …] [--rm-as-in-cluster]"
    );
    std::process::exit(2)
}
