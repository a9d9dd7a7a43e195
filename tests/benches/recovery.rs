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
//!    restarts it, it joins, fetches the stable checkpoint over TCP, and fills the tail by NACK.
//!    Measured: from the kill until RM 2 (a new pid) reports `serving`, caught up.
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
//!     --background 4 --checkpoint-every 10000 --only swap|kill]
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
    if args.only.as_deref() != Some("kill") {
        swap_scenario(&args).await.context("three-strike swap")?;
    }
    if args.only.as_deref() != Some("swap") {
        kill_scenario(&args).await.context("RM kill")?;
    }
    Ok(())
}

fn today() -> Date {
    build::date(2026, 11, 24)
}

/// Every show of the booking window: (area, movie, show ID), grouped by area.
fn shows() -> Vec<Vec<(&'static str, &'static str, String)>> {
    AREAS
        .iter()
        .map(|&area| {
            let mut list = Vec::new();
            for day in 0..=7 {
                for movie in MOVIES {
                    for slot in ['M', 'A', 'E'] {
                        list.push((
                            area,
                            movie,
                            build::show_id(area, slot, add_days(today(), day)),
                        ));
                    }
                }
            }
            list
        })
        .collect()
}

fn client(url: String, admin_key: &str) -> anyhow::Result<Client> {
    Ok(Client::builder(url)
        .admin_key(admin_key.to_owned())
        .timeout(REQUEST_TIMEOUT)
        .build()?)
}

/// Adds every show (by its area's admin), then gives the three customers of the wrong results
/// their three other-area bookings of the week.
async fn setup(client: &Client) -> anyhow::Result<()> {
    for (area, movie, show) in shows().into_iter().flatten() {
        client
            .execute(&add_show(&format!("{area}A0001"), movie, &show, CAPACITY))
            .await
            .with_context(|| format!("adding {movie} {show}"))?;
    }
    for c in WRONG_CUSTOMERS {
        for (movie, show) in [
            ("Avatar", "VERM251126"),
            ("Avatar", "OUTA261126"),
            ("Titanic", "VERE251126"),
        ] {
            client
                .execute(&book(c, c, movie, show, 1))
                .await
                .with_context(|| format!("{c} booking {show}"))?;
        }
    }
    Ok(())
}

/// Atwater customers who hold three other-area bookings in the week of [`TODAY`].
const WRONG_CUSTOMERS: [&str; 3] = ["ATWC9001", "ATWC9002", "ATWC9003"];

/// A fourth other-area booking in the same week: `weekly-limit` by the rules; `faulty-logic`
/// (its limit off by one) accepts it — a wrong result the other three outvote.
fn wrong_request(customer: &str) -> Operation {
    book(customer, customer, "Titanic", "OUTM271126", 1)
}

/// Booking `k` of the bulk load: area `k % 3`; within the area, customer `j % 9000` and show
/// `(customer + j / 9000) % 72` with `j = k / 3` — distinct pairs up to 648,000 bookings.
fn load_booking(shows: &[Vec<(&str, &str, String)>], k: u64) -> Operation {
    let area = &shows[(k % 3) as usize];
    let j = k / 3;
    let customer = j % LOAD_CUSTOMERS;
    let (area_name, movie, show) =
        &area[((customer + j / LOAD_CUSTOMERS) % area.len() as u64) as usize];
    let id = format!("{area_name}C{customer:04}");
    book(&id, &id, movie, show, 1)
}

/// The bulk load: `n` bookings by `clients` concurrent clients. Returns the elapsed time.
async fn load(client: &Client, n: u64, clients: u64) -> anyhow::Result<Duration> {
    ensure!(
        n <= 3 * LOAD_CUSTOMERS * 72,
        "at most {} distinct bookings",
        3 * LOAD_CUSTOMERS * 72
    );
    let shows = Arc::new(shows());
    let next = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + LOAD_LIMIT;
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (client, shows, next, failed) =
            (client.clone(), shows.clone(), next.clone(), failed.clone());
        tasks.push(tokio::spawn(async move {
            loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                if k >= n || Instant::now() > deadline {
                    return;
                }
                if let Err(e) = client.execute(&load_booking(&shows, k)).await
                    && failed.fetch_add(1, Ordering::Relaxed) < 5
                {
                    eprintln!("load booking {k}: {e}");
                }
            }
        }));
    }
    for task in tasks {
        task.await?;
    }
    let elapsed = started.elapsed();
    let failed = failed.load(Ordering::Relaxed);
    ensure!(
        next.load(Ordering::Relaxed) >= n,
        "the load did not finish within {LOAD_LIMIT:?}"
    );
    ensure!(failed == 0, "{failed} load bookings failed");
    println!(
        "  load: {n} bookings in {:.1} s = {:.0} bookings/s ({clients} clients)",
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64()
    );
    Ok(elapsed)
}

/// One background request: when it started, how long it took, whether it succeeded.
struct Sample {
    start: Instant,
    latency: Duration,
    ok: bool,
}

/// Paced clients booking in their own area while the fault happens.
struct Background {
    stop: Arc<AtomicBool>,
    /// Held for writing while the wrong results are sent: they must be consecutive in sequence
    /// order, since any correct result of RM 1 in between resets its count.
    gate: Arc<tokio::sync::RwLock<()>>,
    tasks: Vec<tokio::task::JoinHandle<Vec<Sample>>>,
}

impl Background {
    fn start(client: &Client, clients: u64) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let gate = Arc::new(tokio::sync::RwLock::new(()));
        let shows = Arc::new(shows());
        let deadline = Instant::now() + BACKGROUND_LIMIT;
        let tasks = (0..clients)
            .map(|i| {
                let (client, stop, gate, shows) =
                    (client.clone(), stop.clone(), gate.clone(), shows.clone());
                tokio::spawn(async move {
                    let mut samples = Vec::new();
                    let mut pace = tokio::time::interval(BACKGROUND_PACE);
                    pace.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                    for n in 0..BACKGROUND_MAX_REQUESTS {
                        pace.tick().await;
                        if stop.load(Ordering::Relaxed) || Instant::now() > deadline {
                            break;
                        }
                        let area = &shows[((n + i) % 3) as usize];
                        let (area_name, movie, show) = &area[(n / 3 % area.len() as u64) as usize];
                        let customer = BACKGROUND_CUSTOMERS + (n * clients + i) % 800;
                        let id = format!("{area_name}C{customer:04}");
                        let op = book(&id, &id, movie, show, 1);
                        let _open = gate.read().await;
                        let start = Instant::now();
                        let result = client.execute(&op).await;
                        samples.push(Sample {
                            start,
                            latency: start.elapsed(),
                            ok: result.is_ok(),
                        });
                    }
                    samples
                })
            })
            .collect();
        Background { stop, gate, tasks }
    }

    async fn finish(self) -> anyhow::Result<Vec<Sample>> {
        self.stop.store(true, Ordering::Relaxed);
        let mut all = Vec::new();
        for task in self.tasks {
            all.extend(task.await?);
        }
        Ok(all)
    }
}

/// Latency figures of the samples started within `from..to`.
fn window(samples: &[Sample], from: Instant, to: Instant) -> String {
    let mut latencies: Vec<Duration> = samples
        .iter()
        .filter(|s| s.start >= from && s.start < to)
        .map(|s| s.latency)
        .collect();
    let failed = samples
        .iter()
        .filter(|s| s.start >= from && s.start < to && !s.ok)
        .count();
    if latencies.is_empty() {
        return "no requests".into();
    }
    latencies.sort_unstable();
    let at = |q: f64| {
        let rank = (q * latencies.len() as f64).ceil() as usize;
        ms(latencies[rank.clamp(1, latencies.len()) - 1])
    };
    let span = to.duration_since(from).as_secs_f64();
    format!(
        "{} requests ({:.0}/s), p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms, {failed} failed",
        latencies.len(),
        latencies.len() as f64 / span,
        at(0.50),
        at(0.99),
        ms(*latencies.last().expect("not empty")),
    )
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The operator's status of every RM (`GET /v1/admin/replicas`).
struct Status {
    http: reqwest::Client,
    url: String,
    key: String,
}

impl Status {
    fn new(base: &str, key: &str) -> anyhow::Result<Self> {
        Ok(Status {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()?,
            url: format!("{base}/v1/admin/replicas"),
            key: key.to_owned(),
        })
    }

    async fn get(&self) -> anyhow::Result<Value> {
        let response = self
            .http
            .get(&self.url)
            .bearer_auth(&self.key)
            .send()
            .await?;
        ensure!(
            response.status() == 200,
            "status: HTTP {}",
            response.status()
        );
        Ok(response.json().await?)
    }

    /// Waits (bounded) until every RM is serving and all have applied the same request, and
    /// returns that status.
    async fn quiet(&self) -> anyhow::Result<Value> {
        let deadline = Instant::now() + RECOVERY_LIMIT;
        loop {
            let s = self.get().await?;
            no_restart_storm(&s)?;
            let list = s["replicas"].as_array().cloned().unwrap_or_default();
            let applied: Vec<_> = list.iter().map(|r| r["appliedThrough"].as_u64()).collect();
            if list.len() == 4
                && list.iter().all(|r| r["health"] == "serving")
                && applied.windows(2).all(|w| w[0] == w[1])
            {
                return Ok(s);
            }
            ensure!(Instant::now() < deadline, "the cluster did not settle: {s}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn rm(status: &Value, id: u64) -> Option<&Value> {
    status["replicas"]
        .as_array()?
        .iter()
        .find(|r| r["rm"] == id)
}

/// RM `id` has applied at least as far as the slowest of the others.
fn caught_up(status: &Value, id: u64) -> bool {
    let Some(me) = rm(status, id).and_then(|r| r["appliedThrough"].as_u64()) else {
        return false;
    };
    let others = status["replicas"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["rm"] != id)
        .filter_map(|r| r["appliedThrough"].as_u64())
        .min();
    others.is_some_and(|o| me >= o)
}

/// Fails when some RM restarted its replica for being slow: under load, a replacement (or a
/// checkpoint export) of a large state makes an RM miss `slow_strikes` deadlines in a row, and the
/// restart that follows does the same again — a loop that never ends while clients send (see
/// docs/benchmarks.md, "Recovery"). `--slow-strikes` raises the threshold.
fn no_restart_storm(status: &Value) -> anyhow::Result<()> {
    for r in status["replicas"].as_array().into_iter().flatten() {
        if r["lastSwapReason"]
            .as_str()
            .is_some_and(|why| why.contains("silent past the deadline"))
        {
            bail!(
                "rm {} restarted its replica for being slow ({} swaps so far): a restart storm \
                 under load; rerun with --slow-strikes 1000000 to measure past it\n{r}",
                r["rm"],
                r["swaps"]
            );
        }
    }
    Ok(())
}

/// A recovery as the status polls saw it: when each new state of RM `id` was first seen (by
/// the time its poll was sent).
#[derive(Default)]
struct Timeline {
    /// (poll sent, description), in the order the answers came.
    seen: Vec<(Duration, String)>,
}

impl Timeline {
    fn print(&self) {
        let mut seen = self.seen.clone();
        seen.sort();
        let mut last = "";
        for (at, what) in &seen {
            if what != last {
                println!("    +{:>8.1} ms  {what}", ms(*at));
                last = what;
            }
        }
    }
}

/// When RM `id` was first seen `done`: polls are sent every [`POLL_EVERY`] without waiting for
/// the previous answer (a status request waits up to 1 s for an RM that does not answer, which
/// would blur the moment a killed RM comes back). Returns the time from `t0` to the first answer
/// saying `done`, the time its poll was sent (the moment lies in between), that status, and
/// the timeline.
async fn watch(
    status: &Arc<Status>,
    id: u64,
    t0: Instant,
    done: impl Fn(&Value) -> bool,
) -> anyhow::Result<(Duration, Duration, Value, Timeline)> {
    /// Polls in flight at most (1 s of waiting at one poll per 10 ms, and some room).
    const IN_FLIGHT: usize = 200;
    let mut timeline = Timeline::default();
    let mut polls = tokio::task::JoinSet::new();
    let mut tick = tokio::time::interval(POLL_EVERY);
    loop {
        tokio::select! {
            _ = tick.tick(), if polls.len() < IN_FLIGHT => {
                let status = status.clone();
                polls.spawn(async move {
                    let sent = t0.elapsed();
                    (sent, status.get().await)
                });
            }
            Some(answer) = polls.join_next() => {
                let (sent, s) = answer?;
                let s = s?;
                let at = t0.elapsed();
                timeline.seen.push((sent, describe(&s, id)));
                if done(&s) {
                    polls.abort_all();
                    return Ok((at, sent, s, timeline));
                }
                no_restart_storm(&s)?;
                ensure!(
                    at < RECOVERY_LIMIT,
                    "rm {id} not recovered within {RECOVERY_LIMIT:?}: {s}"
                );
            }
        }
    }
}

/// Describes RM `id` in `status` for the timeline.
fn describe(status: &Value, id: u64) -> String {
    match rm(status, id) {
        None => "silent (no status answer)".into(),
        Some(r) => format!(
            "pid {} module {} health {}{}",
            r["pid"],
            r["module"].as_str().unwrap_or("?"),
            r["health"].as_str().unwrap_or("?"),
            if caught_up(status, id) {
                ", caught up"
            } else {
                ""
            }
        ),
    }
}

async fn swap_scenario(args: &Args) -> anyhow::Result<()> {
    println!("\n## three-strike swap (in-process cluster)");
    let mut config = test_config(
        &components::dir(),
        [FAULTY_LOGIC, "replica-b", "replica-c", "replica-d"],
        TransportMode::Multicast,
        TODAY,
    )?;
    config.rms[0].modules.push("replica-a".into());
    config.recovery.checkpoint_every = args.checkpoint_every;
    if let Some(n) = args.slow_strikes {
        config.recovery.slow_strikes = n;
    }
    let cluster = LocalCluster::start(config).await?;
    let key = cluster.config.cluster.admin_key.clone();
    let client = client(cluster.url(0), &key)?;
    let status = Arc::new(Status::new(&cluster.url(0), &key)?);
    setup(&client).await?;
    load(&client, args.bookings, args.clients).await?;
    let settled = status.quiet().await?;
    let r1 = rm(&settled, 1).context("rm 1")?;
    println!(
        "  settled: applied through {}, stable checkpoint {}",
        r1["appliedThrough"], r1["stableCheckpoint"]["seq"]
    );

    let background = Background::start(&client, args.background);
    let baseline_from = Instant::now();
    tokio::time::sleep(BASELINE).await;
    let baseline_to = Instant::now();
    let gate = background.gate.clone();
    let paused = gate.write().await;
    for c in WRONG_CUSTOMERS {
        match client.execute(&wrong_request(c)).await {
            Err(Error::Api(e)) if e.code == "weekly-limit" => {}
            other => bail!("{c}'s fourth other-area booking: expected weekly-limit, got {other:?}"),
        }
    }
    let t0 = Instant::now();
    drop(paused);

    let (took, sent, s, timeline) = watch(&status, 1, t0, |s| {
        rm(s, 1).is_some_and(|r| r["module"] == "replica-a" && r["health"] == "serving")
            && caught_up(s, 1)
    })
    .await?;
    let t1 = Instant::now();
    let samples = background.finish().await?;
    let r1 = rm(&s, 1).context("rm 1")?;
    ensure!(
        r1["swaps"] == 1
            && r1["lastSwapReason"]
                .as_str()
                .is_some_and(|r| r.contains("3 consecutive wrong results")),
        "unexpected swap: {r1}"
    );
    println!("  swap reason: {}", r1["lastSwapReason"]);
    println!(
        "  RESULT swap: third wrong answer → rm 1 serving replica-a, caught up: {:.1} ms \
         (poll sent at {:.1} ms)",
        ms(took),
        ms(sent)
    );
    timeline.print();
    println!(
        "  background before: {}",
        window(&samples, baseline_from, baseline_to)
    );
    println!("  background during: {}", window(&samples, t0, t1));
    status.quiet().await.context("after the swap")?;
    cluster.stop().await?;
    Ok(())
}

/// The `dmtbs` binary: `DMTBS_BIN`, or the one next to this executable's folder.
fn dmtbs_bin() -> anyhow::Result<PathBuf> {
    let bin = match std::env::var_os("DMTBS_BIN") {
        Some(path) => PathBuf::from(path),
        None => std::env::current_exe()?
            .parent()
            .and_then(Path::parent)
            .context("this executable lives in target/<profile>/deps")?
            .join("dmtbs"),
    };
    ensure!(
        bin.exists(),
        "no dmtbs binary at {}: build it (cargo build --release -p dmtbs-cli) or set DMTBS_BIN",
        bin.display()
    );
    Ok(bin)
}

/// `dmtbs up`, stopped (SIGTERM, then SIGKILL) when dropped.
struct Up {
    child: Child,
}

impl Drop for Up {
    fn drop(&mut self) {
        signal(self.child.id(), libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn signal(pid: u32, sig: libc::c_int) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: kill(2) has no memory-safety preconditions.
    unsafe { libc::kill(pid, sig) == 0 }
}

/// Starts `dmtbs up` on `dir/cluster.toml` (log: `dir/up.log`, RUST_LOG=info) and waits for its
/// banner.
fn start_up(dir: &Path) -> anyhow::Result<Up> {
    let log = std::fs::File::create(dir.join("up.log"))?;
    let mut child = Command::new(dmtbs_bin()?)
        .arg("up")
        .arg("--config")
        .arg(dir.join("cluster.toml"))
        .arg("--run-dir")
        .arg(dir.join("run"))
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log)
        .spawn()
        .context("starting dmtbs up")?;
    let stdout = child.stdout.take().context("stdout is piped")?;
    let up = Up { child };
    let (tx, rx) = mpsc::channel();
    // Reads the banner, then keeps draining so `up` never blocks on a full pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) if line.contains("cluster is up") => return Ok(up),
            Ok(_) => {}
            Err(e) => bail!(
                "dmtbs up did not report the cluster up ({e}); its log:\n{}",
                std::fs::read_to_string(dir.join("up.log")).unwrap_or_default()
            ),
        }
    }
}

/// Seconds since midnight UTC of a log line's RFC 3339 timestamp (`…T19:58:10.123456Z`).
fn log_time(line: &str) -> Option<f64> {
    let stamp = line.split_whitespace().next()?;
    let time = stamp.split_once('T')?.1.trim_end_matches('Z');
    let mut parts = time.split(':');
    let h: f64 = parts.next()?.parse().ok()?;
    let m: f64 = parts.next()?.parse().ok()?;
    let s: f64 = parts.next()?.parse().ok()?;
    Some(h * 3600.0 + m * 60.0 + s)
}

fn seconds_of_day(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64() % 86_400.0)
        .unwrap_or_default()
}

async fn kill_scenario(args: &Args) -> anyhow::Result<()> {
    println!("\n## RM kill (dmtbs up, one process per node)");
    let dir = tempfile::tempdir()?;
    let text = test_config_text(
        &std::fs::canonicalize(components::dir())?,
        components::IMPLEMENTATIONS,
        TransportMode::Multicast,
        TODAY,
    )?;
    let text = text.replacen(
        "[recovery]\n",
        &format!(
            "[recovery]\ncheckpoint_every = {}\n{}",
            args.checkpoint_every,
            args.slow_strikes
                .map_or(String::new(), |n| format!("slow_strikes = {n}\n"))
        ),
        1,
    );
    std::fs::write(dir.path().join("cluster.toml"), &text)?;
    let config = dmtbs_cluster::ClusterConfig::load(&dir.path().join("cluster.toml"))?;
    ensure!(config.recovery.checkpoint_every == args.checkpoint_every);
    let up = start_up(dir.path())?;
    let url = format!("http://{}", config.frontends[0].http);
    let key = config.cluster.admin_key.clone();
    let client = client(url.clone(), &key)?;
    let status = Arc::new(Status::new(&url, &key)?);
    setup(&client).await?;
    load(&client, args.bookings, args.clients).await?;
    let settled = status.quiet().await?;
    let r2 = rm(&settled, 2).context("rm 2")?;
    println!(
        "  settled: applied through {}, stable checkpoint {}",
        r2["appliedThrough"], r2["stableCheckpoint"]["seq"]
    );
    let old = r2["pid"].as_u64().context("rm 2's pid")? as u32;

    let background = Background::start(&client, args.background);
    let baseline_from = Instant::now();
    tokio::time::sleep(BASELINE).await;
    let baseline_to = Instant::now();
    let killed_at = SystemTime::now();
    let t0 = Instant::now();
    ensure!(
        signal(old, libc::SIGKILL),
        "rm 2 (pid {old}) is gone already"
    );

    let (took, sent, _, timeline) = watch(&status, 2, t0, |s| {
        rm(s, 2)
            .is_some_and(|r| r["pid"].as_u64() != Some(u64::from(old)) && r["health"] == "serving")
            && caught_up(s, 2)
    })
    .await?;
    let t1 = Instant::now();
    let samples = background.finish().await?;
    println!(
        "  RESULT kill: SIGKILL of rm 2 → new rm 2 serving, caught up: {:.1} ms \
         (poll sent at {:.1} ms)",
        ms(took),
        ms(sent)
    );
    timeline.print();
    println!(
        "  background before: {}",
        window(&samples, baseline_from, baseline_to)
    );
    println!("  background during: {}", window(&samples, t0, t1));
    status.quiet().await.context("after the restart")?;
    drop(up);

    // What the nodes logged about the recovery, relative to the kill.
    let log = std::fs::read_to_string(dir.path().join("up.log"))?;
    let kill = seconds_of_day(killed_at);
    println!("  log after the kill (RUST_LOG=info):");
    for line in log.lines() {
        let Some(t) = log_time(line) else { continue };
        let offset = (t - kill + 43_200.0).rem_euclid(86_400.0) - 43_200.0;
        let interesting = [
            "node process",
            "replica manager up",
            "joining",
            "state sent",
            "state transfer",
            "replica serving again",
            "replacing",
        ]
        .iter()
        .any(|w| line.contains(w));
        if interesting && offset >= -0.001 && offset <= ms(took) / 1e3 + 1.0 {
            let text = line.split_once(' ').map_or(line, |(_, rest)| rest.trim());
            println!("    +{:>8.1} ms  {text}", offset * 1e3);
        }
    }
    Ok(())
}
