//! The recovery benchmark: how long a cluster holding a 100,000-booking state takes to heal, and
//! what clients see meanwhile. Two scenarios, one after the other, each on a fresh cluster:
//!
//! 1. **Three-strike swap** (in-process [`LocalCluster`]): RM 1 runs `faulty-logic` (fallback
//!    `replica-a`). After the load, three consecutive requests it answers wrongly (a fourth
//!    other-area booking in one week, which the rules refuse with `weekly-limit`) make it
//!    quarantine the module and install the stable checkpoint in a fresh `replica-a`, then replay
//!    the tail. Measured: from the client's answer to the third wrong request until RM 1 reports
//!    module `replica-a`, health `serving`, and `appliedThrough` caught up.
//! 2. **RM kill** (`dmtbs up`, one process per node): SIGKILL of RM 2's process; the supervisor
//!    restarts it, it restores its snapshot and log from its disk, and fills the tail by NACK.
//!    Measured: from the kill until RM 2 (a new pid) reports `serving`, caught up.
//! 3. **Sequencer failover and whole-cluster restart** (`dmtbs up`): SIGKILL of the sequencer
//!    under the background load — measured from the kill until a request is answered again;
//!    then SIGKILL of every process (a power cut) and `dmtbs up` again on the same data —
//!    measured from the start until the cluster is up and until a request is answered, and
//!    every show's remaining seats compared with before the cut.
//!
//! "Caught up" is RM N's `appliedThrough` ≥ the lowest of the other RMs' in the same status
//! answer: with clients still sending, the others differ among themselves by a few requests, so
//! exact equality would measure luck. Status is polled every [`POLL_EVERY`].
//!
//! Every scenario: [`Args::bookings`] single-ticket bookings through HTTP by
//! [`Args::clients`] concurrent clients (each a distinct customer–show pair in the customer's own
//! area, so the weekly limit never applies), then a background load of [`Args::background`]
//! paced clients booking (each at most one request per [`BACKGROUND_PACE`]), whose per-request latency is reported for a quiet stretch before
//! the fault and for the recovery window.
//!
//! ```text
//! cargo bench -p dmtbs-tests --bench recovery [-- --bookings 100000 --clients 32
//!     --background 4 --checkpoint-every 10000 --only swap|kill|restart]
//! ```
//!
//! The kill scenario runs the `dmtbs` binary next to this bench's executable (`cargo build
//! --release -p dmtbs-cli` for `cargo bench`) or `DMTBS_BIN`. Figures: docs/benchmarks.md.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, bail, ensure};
use dmtbs_client::{Client, Error};
use dmtbs_cluster::config::TransportMode;
use dmtbs_cluster::local::{LocalCluster, test_config, test_config_text};
use dmtbs_contract::{Date, Operation};
use dmtbs_testkit::build::{self, add_days, add_show, book};
use dmtbs_testkit::components::{self, FAULTY_LOGIC};
use dmtbs_testkit::workload::{AREAS, MOVIES};
use serde_json::Value;

/// The day every cluster of this benchmark lives on (a Tuesday: 25–27/11 share its ISO week).
const TODAY: &str = "2026-11-24";
/// Capacity of every show: room for the load (~460 bookings per show at 100,000) and the
/// background clients.
const CAPACITY: u32 = 2_000;
/// Customers 0..LOAD_CUSTOMERS of each area make the load; the others are kept apart for the
/// wrong results and the background clients, whose bookings must not meet the load's.
const LOAD_CUSTOMERS: u64 = 9_000;
/// First customer number of the background clients.
const BACKGROUND_CUSTOMERS: u64 = 9_100;
/// How often the operator status is polled during a recovery.
const POLL_EVERY: Duration = Duration::from_millis(10);
/// The background load alone, before the fault: the baseline latencies.
const BASELINE: Duration = Duration::from_secs(3);
/// Longest a recovery may take before the run is declared failed.
const RECOVERY_LIMIT: Duration = Duration::from_secs(120);
/// Longest the bulk load may take.
const LOAD_LIMIT: Duration = Duration::from_secs(900);
/// Hard bound on one background client's requests (it also stops at a time limit).
const BACKGROUND_MAX_REQUESTS: u64 = 200_000;
/// Each background client sends at most one request per this interval (4 clients: ≤ 400/s), a
/// steady trickle rather than a saturating load, so the recovery competes with realistic traffic.
const BACKGROUND_PACE: Duration = Duration::from_millis(10);
/// Hard time bound on the background load.
const BACKGROUND_LIMIT: Duration = Duration::from_secs(300);
/// One request may take this long.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Command-line options (after `--` of `cargo bench`).
struct Args {
    /// Bookings of the bulk load: the state size.
    bookings: u64,
    /// Concurrent clients of the bulk load.
    clients: u64,
    /// Paced clients of the background load.
    background: u64,
    /// The clusters' `checkpoint_every`.
    checkpoint_every: u64,
    /// The clusters' `slow_strikes` (default: the configuration's own default).
    slow_strikes: Option<u32>,
    /// Only one scenario (`swap` or `kill`).
    only: Option<String>,
}

fn args() -> anyhow::Result<Args> {
    let mut args = Args {
        bookings: 100_000,
        clients: 32,
        background: 4,
        checkpoint_every: 10_000,
        slow_strikes: None,
        only: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--bookings" => args.bookings = value()?.parse()?,
            "--clients" => args.clients = value()?.parse()?,
            "--background" => args.background = value()?.parse()?,
            "--checkpoint-every" => args.checkpoint_every = value()?.parse()?,
            "--slow-strikes" => args.slow_strikes = Some(value()?.parse()?),
            "--only" => args.only = Some(value()?),
            // `cargo bench` passes --bench; a filter may follow.
            _ => {}
        }
    }
    ensure!(
        args.clients >= 1 && args.background >= 1,
        "at least one client"
    );
    Ok(args)
}

mod kill;
mod restart;
mod support;
mod swap;
mod up;

use kill::kill_scenario;
use restart::restart_scenario;
use support::*;
use swap::swap_scenario;
use up::*;

#[tokio::main(flavor = "multi_thread")]
async fn main() -> anyhow::Result<()> {
    let args = args()?;
    println!(
        "recovery benchmark: {} bookings, {} load clients, {} background clients, checkpoint \
         every {}, slow strikes {}",
        args.bookings,
        args.clients,
        args.background,
        args.checkpoint_every,
        args.slow_strikes
            .map_or("default".into(), |n| n.to_string())
    );
    let run = |name: &str| args.only.as_deref().is_none_or(|only| only == name);
    if run("swap") {
        swap_scenario(&args).await.context("three-strike swap")?;
    }
    if run("kill") {
        kill_scenario(&args).await.context("RM kill")?;
    }
    if run("restart") {
        restart_scenario(&args).await.context("restart")?;
    }
    Ok(())
}
