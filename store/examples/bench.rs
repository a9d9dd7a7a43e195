//! How fast the store makes requests durable, on this machine's disk (figures in
//! docs/storage.md):
//!
//! ```text
//! cargo run -p dmtbs-store --example bench -- [DIR] [REQUESTS]
//! ```
//!
//! DIR (default: a temporary folder under `target/`) must be on the disk to measure, not a tmpfs.
//! Four runs, each on a fresh store:
//! - `raw fsync`: the disk's floor, a 100-byte write + `fdatasync` of a plain file per request;
//! - `1 per commit`: append one request, wait for its `Committed`, repeat (no grouping possible);
//! - `group commit`: one `append` call per request, as fast as they come (the writer groups
//!   whatever queued during the previous fsync);
//! - `batches of 100`: one `append` call of 100 requests at a time, each awaited.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use dmtbs_contract::{Book, Date, Operation};
use dmtbs_proto::Sequenced;
use dmtbs_store::Committed;
use tokio::sync::mpsc::unbounded_channel;

fn request(seq: u64) -> Sequenced {
    Sequenced {
        epoch: 1,
        seq,
        today: Date {
            year: 2026,
            month: 5,
            day: 10,
        },
        fe: 1,
        request_id: seq,
        key: Some(format!("client-key-{seq}")),
        operation: Operation::Book(Book {
            actor: "ATWC1234".into(),
            customer: "ATWC1234".into(),
            movie: "Avatar".into(),
            show_id: "ATWM120526".into(),
            tickets: 2,
        }),
    }
}

struct Run {
    name: &'static str,
    requests: u64,
    fsyncs: u64,
    elapsed: Duration,
    commit_times: Vec<Duration>,
}

impl Run {
    fn print(&self) {
        let mut times = self.commit_times.clone();
        times.sort();
        let percentile = |p: f64| {
            times
                .get(((times.len() as f64 - 1.0) * p).round() as usize)
                .map_or(String::from("-"), |t| {
                    format!("{:.2} ms", t.as_secs_f64() * 1e3)
                })
        };
        println!(
            "| {:<15} | {:>8} | {:>10.0} | {:>6} | {:>10.3} | {:>9} | {:>9} |",
            self.name,
            self.requests,
            self.requests as f64 / self.elapsed.as_secs_f64(),
            self.fsyncs,
            self.fsyncs as f64 / self.requests as f64,
            percentile(0.5),
            percentile(0.99),
        );
    }
}

fn raw_fsync(dir: &Path, requests: u64) -> Run {
    let path = dir.join("raw");
    let mut file = std::fs::File::create(&path).unwrap();
    let mut times = Vec::new();
    let started = Instant::now();
    for _ in 0..requests {
        let t = Instant::now();
        file.write_all(&[7; 100]).unwrap();
        file.sync_data().unwrap();
        times.push(t.elapsed());
    }
    let elapsed = started.elapsed();
    std::fs::remove_file(path).unwrap();
    Run {
        name: "raw fsync",
        requests,
        fsyncs: requests,
        elapsed,
        commit_times: times,
    }
}

fn store_run(dir: &Path, name: &'static str, requests: u64, per_call: u64, wait_each: bool) -> Run {
    let data = dir.join(name.replace(' ', "-"));
    let (store, recovered) = dmtbs_store::open(&data).unwrap();
    assert!(recovered.fresh);
    let (tx, mut committed) = unbounded_channel::<Committed>();
    let writer = store.start(tx);
    let mut times = Vec::new();
    let started = Instant::now();
    let mut seq = 0;
    while seq < requests {
        let items: Vec<_> = (seq + 1..=(seq + per_call).min(requests))
            .map(request)
            .collect();
        seq += items.len() as u64;
        writer.append(items);
        if wait_each {
            loop {
                let commit = committed.blocking_recv().unwrap();
                times.push(commit.commit_time);
                if commit.durable_through == seq {
                    break;
                }
            }
        }
    }
    if !wait_each {
        loop {
            let commit = committed.blocking_recv().unwrap();
            times.push(commit.commit_time);
            if commit.durable_through == requests {
                break;
            }
        }
    }
    let elapsed = started.elapsed();
    let fsyncs = writer.fsyncs();
    drop(writer);
    std::fs::remove_dir_all(&data).unwrap();
    Run {
        name,
        requests,
        fsyncs,
        elapsed,
        commit_times: times,
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let base = args.next().map(PathBuf::from);
    let requests: u64 = args.next().map_or(2_000, |n| n.parse().expect("REQUESTS"));
    let scratch = match &base {
        Some(dir) => tempfile::tempdir_in(dir),
        None => {
            let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target");
            std::fs::create_dir_all(&target).unwrap();
            tempfile::tempdir_in(target)
        }
    }
    .unwrap();
    let dir = scratch.path();
    println!(
        "store bench in {} ({requests} requests per run)",
        dir.display()
    );
    println!(
        "| run             | requests | requests/s | fsyncs | fsyncs/req | commit p50 | commit p99 |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    raw_fsync(dir, requests).print();
    store_run(dir, "1 per commit", requests, 1, true).print();
    store_run(dir, "group commit", requests * 10, 1, false).print();
    store_run(dir, "batches of 100", requests * 10, 100, true).print();
}
