//! How fast the store makes requests durable, on this machine's disk (figures in
//! docs/storage.md):
//!
//! ```text
//! cargo run -p dmtbs-store --example bench -- [DIR] [REQUESTS]
//! ```
//!
//! DIR (default: a temporary folder under `target/`) must be on the disk to measure, not a tmpfs.
//! Each run on a fresh store, one `append` call per request unless said otherwise:
//! - `raw fdatasync`: the disk's floor, a 100-byte overwrite + `fdatasync` of a plain file per
//!   request;
//! - `1 per commit`: append one request, wait for its `Committed`, repeat (no grouping possible);
//! - `N in flight`: N closed-loop clients, each waiting for its request to be durable before
//!   sending the next (group commit takes what queued during the previous fsync);
//! - `all at once`: every request queued as fast as the loop goes, then the last one awaited;
//! - `batches of 100`: `append` calls of 100 requests, each awaited.

use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};
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
    name: String,
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
            "| {:<16} | {:>8} | {:>10.0} | {:>6} | {:>10.4} | {:>9} | {:>9} |",
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
    file.write_all(&[0; 4096]).unwrap();
    file.sync_all().unwrap();
    let mut times = Vec::new();
    let started = Instant::now();
    for _ in 0..requests {
        let t = Instant::now();
        file.write_all_at(&[7; 100], 0).unwrap();
        file.sync_data().unwrap();
        times.push(t.elapsed());
    }
    let elapsed = started.elapsed();
    std::fs::remove_file(path).unwrap();
    Run {
        name: "raw fdatasync".into(),
        requests,
        fsyncs: requests,
        elapsed,
        commit_times: times,
    }
}

/// `clients` closed-loop clients: each appends one request and waits until it is durable before
/// sending its next, as a replica manager with that many requests in flight would.
fn clients_run(dir: &Path, requests: u64, clients: u64) -> Run {
    let data = dir.join(format!("clients-{clients}"));
    let (store, _) = dmtbs_store::open(&data).unwrap();
    let (tx, mut committed) = unbounded_channel::<Committed>();
    let writer = store.start(tx);
    let next = Mutex::new(0u64);
    let durable = (Mutex::new(0u64), Condvar::new());
    let mut times = Vec::new();
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..clients {
            scope.spawn(|| {
                loop {
                    let seq = {
                        let mut next = next.lock().unwrap();
                        if *next == requests {
                            return;
                        }
                        *next += 1;
                        writer.append(vec![request(*next)]);
                        *next
                    };
                    let mut through = durable.0.lock().unwrap();
                    while *through < seq {
                        through = durable.1.wait(through).unwrap();
                    }
                }
            });
        }
        loop {
            let commit = committed.blocking_recv().unwrap();
            times.push(commit.commit_time);
            *durable.0.lock().unwrap() = commit.durable_through;
            durable.1.notify_all();
            if commit.durable_through == requests {
                break;
            }
        }
    });
    let elapsed = started.elapsed();
    let fsyncs = writer.fsyncs();
    drop(writer);
    std::fs::remove_dir_all(&data).unwrap();
    Run {
        name: format!("{clients} in flight"),
        requests,
        fsyncs,
        elapsed,
        commit_times: times,
    }
}

fn store_run(dir: &Path, name: &str, requests: u64, per_call: u64, wait_each: bool) -> Run {
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
        name: name.into(),
        requests,
        fsyncs,
        elapsed,
        commit_times: times,
    }
}

/// What a restart costs: redb's integrity check of the whole file, then every entry decoded and
/// checked.
fn reopen_run(dir: &Path, requests: u64) {
    let data = dir.join("reopen");
    let (store, _) = dmtbs_store::open(&data).unwrap();
    let (tx, mut committed) = unbounded_channel::<Committed>();
    let writer = store.start(tx);
    for first in (1..=requests).step_by(100) {
        writer.append((first..=(first + 99).min(requests)).map(request).collect());
    }
    while committed.blocking_recv().unwrap().durable_through < requests {}
    drop(writer);
    let size = std::fs::metadata(data.join(dmtbs_store::DB_FILE))
        .unwrap()
        .len();
    let started = Instant::now();
    let (_, recovered) = dmtbs_store::open(&data).unwrap();
    let took = started.elapsed();
    assert_eq!(recovered.log.len() as u64, requests);
    println!(
        "reopening {requests} entries ({:.1} MiB file): {:.1} ms",
        size as f64 / (1 << 20) as f64,
        took.as_secs_f64() * 1e3
    );
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
    for clients in [4, 16, 64] {
        clients_run(dir, requests * 5, clients).print();
    }
    store_run(dir, "all at once", requests * 10, 1, false).print();
    store_run(dir, "batches of 100", requests * 10, 100, true).print();
    reopen_run(dir, requests * 10);
    reopen_run(dir, requests * 50);
}
