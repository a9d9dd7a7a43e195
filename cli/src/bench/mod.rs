//! `dmtbs bench`: a load generator for the HTTP API — end-to-end throughput and latency through
//! the front end, the sequencer, the replica managers and the replicas.
//!
//! The target is a running cluster (`--url`, with its admin key) or one started in this process
//! (`--local`, real UDP over loopback) of one replica (quorum 1, the baseline) or four (quorum 2),
//! optionally with a seeded fault layer dropping `--loss` percent of the datagrams on every link.
//! `--inject RM:MODULE` swaps a (faulty) module into one replica manager during the timed phase,
//! once `--inject-at` requests have completed: the errors line then shows whether any client
//! noticed (it should not: the other replicas outvote it until it is replaced).
//!
//! A run has two phases. **Setup** (not timed) adds a catalogue of shows — every area, movie and
//! slot for the eight days of the booking window — so bookings meet real shows from the start.
//! **Load** (timed): `--clients` concurrent clients, each replaying its own seeded
//! [`Workload`] (client `c` uses seed `seed + c`; malformed requests and refusals included, as
//! real traffic has them), `--requests` in total, stopping early at `--max-seconds`. Every
//! request's latency is measured from sending to the whole answer.
//!
//! Answers are sorted into: successes; refusals by the booking rules (sequenced and agreed:
//! correct answers, e.g. `show-full`); refusals by the front end before sequencing (the workload's
//! malformed requests); and **errors** — no agreement, unavailable, timeouts, connection
//! failures, answers not understood. Exit status 0 when there were no errors, 1 otherwise.

use std::collections::BTreeMap;
use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use dmtbs_client::{Client, Error};
use dmtbs_cluster::config::TransportMode;
use dmtbs_cluster::local::{LocalCluster, local_config};
use dmtbs_host::contract::Date;
use dmtbs_net::{FaultPlan, FaultTransport, LinkFaults, Transport};
use dmtbs_proto::NodeId;
use dmtbs_testkit::build::{self, add_days};
use dmtbs_testkit::components::{self, IMPLEMENTATIONS};
use dmtbs_testkit::workload::{AREAS, MOVIES, Workload};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};

mod bookings;
mod durability;
mod report;

use bookings::Bookings;
use durability::durability;
use report::{fault_json, over_time, print_matrix, print_summary};

/// The date a `--local` cluster lives on: the workload's first day (the rules' examples' day).
const LOCAL_TODAY: Date = Date {
    year: 2026,
    month: 11,
    day: 24,
};

/// Capacity of each setup show: large enough that most bookings succeed for a while, small
/// enough that some shows fill up during a long run.
const SETUP_CAPACITY: u32 = 60;

/// How long one request may take before it counts as a `timeout` error. Longer than a front
/// end's own patience (7 s by default), so a stuck request comes back as `unavailable` first.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// Front end of a running cluster, e.g. http://127.0.0.1:8080 (needs its admin key, to
    /// issue tokens for the users the workload acts as: $DMTBS_ADMIN_KEY or --admin-key-file).
    #[arg(long, conflicts_with = "local")]
    url: Option<String>,
    /// A file whose first line is the cluster's admin key (with --url; or $DMTBS_ADMIN_KEY).
    #[arg(long, value_name = "FILE", requires = "url")]
    admin_key_file: Option<std::path::PathBuf>,
    /// Start a cluster in this process instead (sequencer, RMs, a front end; UDP on loopback).
    #[arg(long, required_unless_present = "url")]
    local: bool,
    /// With --local: how many replica managers (implementations A, B, C, D in that order).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u8).range(1..=4))]
    replicas: u8,
    /// With --local: identical results needed to answer (default: 1 for one replica, else 2).
    #[arg(long)]
    quorum: Option<usize>,
    /// With --local: percentage of datagrams dropped on every link (a seeded fault layer).
    #[arg(long, default_value_t = 0.0)]
    loss: f64,
    /// With --local: the RMs keep their log in memory, no fsync (the baseline durability is
    /// measured against; a restart would lose everything).
    #[arg(long, requires = "local")]
    in_memory: bool,
    /// With --local: durable vs in-memory logs, 4 replicas, interleaved `--rounds` times on
    /// fresh clusters; reports each run, the throughput and latency ratios (and their median)
    /// and fsyncs per request.
    #[arg(long, requires = "local", conflicts_with_all = ["matrix", "inject", "in_memory"])]
    durability: bool,
    /// With --durability: rounds (a durable and an in-memory run each).
    #[arg(long, default_value_t = 2, requires = "durability", value_parser = clap::value_parser!(u32).range(1..=50))]
    rounds: u32,
    /// With --local: requests between checkpoints (the cluster's `[recovery] checkpoint_every`).
    #[arg(long, requires = "local", value_parser = clap::value_parser!(u64).range(1..=32_768))]
    checkpoint_every: Option<u64>,
    /// With --local: requests between digest checks (the cluster's `[recovery] digest_every`).
    #[arg(long, requires = "local", value_parser = clap::value_parser!(u64).range(1..))]
    digest_every: Option<u64>,
    /// What the clients send: `realistic` (the seeded mix of every operation, on 60-seat shows)
    /// or `bookings` (one-ticket bookings only, on 10,000-seat shows: the state grows by about
    /// a booking per request).
    #[arg(long, default_value = "realistic", value_parser = ["realistic", "bookings"])]
    workload: String,
    /// With --local: multicast or unicast fan-out.
    #[arg(long, default_value = "multicast", value_parser = ["multicast", "unicast"])]
    transport: String,
    /// With --local: folder of the built replica components.
    #[arg(long)]
    components: Option<PathBuf>,
    /// Workload seed (client c replays seed + c); printed with the result.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Concurrent clients.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=1024))]
    clients: u64,
    /// Requests in the timed phase, over all clients.
    #[arg(long, default_value_t = 10_000)]
    requests: u64,
    /// Stop sending new requests after this many seconds of the timed phase.
    #[arg(long, default_value_t = 60)]
    max_seconds: u64,
    /// The cluster's date, YYYY-MM-DD, which the workload's show dates follow (default: with
    /// --local its fixed 2026-11-24; with --url the cluster's own day when it is the one `dmtbs
    /// up` runs from this folder, else this machine's date).
    #[arg(long)]
    today: Option<String>,
    /// Print one JSON object with the result instead of the text summary.
    #[arg(long)]
    json: bool,
    /// With --local: run four configurations back to back, each on a fresh cluster — 4 replicas,
    /// 1 replica, 4 replicas under loss, 1 replica under loss (--loss, default 5) — and report
    /// each and the ratios between them. --replicas and --quorum are ignored.
    #[arg(long, requires = "local")]
    matrix: bool,
    /// Fault injection: swap MODULE (e.g. faulty-random, faulty-loop) into replica manager RM
    /// during the timed phase, through the operator API.
    #[arg(long, value_name = "RM:MODULE", value_parser = parse_injection, conflicts_with = "matrix")]
    inject: Option<Injection>,
    /// With --inject: after how many completed requests (default: a tenth of --requests).
    #[arg(long, requires = "inject")]
    inject_at: Option<u64>,
}

/// `--inject RM:MODULE`.
#[derive(Clone, Debug)]
pub struct Injection {
    rm: u8,
    module: String,
}

fn parse_injection(text: &str) -> Result<Injection, String> {
    let (rm, module) = text
        .split_once(':')
        .ok_or_else(|| format!("{text:?} is not RM:MODULE, e.g. 2:faulty-random"))?;
    let rm = rm
        .trim()
        .trim_start_matches(['r', 'R'])
        .trim_start_matches(['m', 'M'])
        .parse::<u8>()
        .ok()
        .filter(|rm| (1..=4).contains(rm))
        .ok_or_else(|| format!("{rm:?} is not a replica manager (1 to 4)"))?;
    let module = module.trim();
    if module.is_empty() {
        return Err("the module name is empty".into());
    }
    Ok(Injection {
        rm,
        module: module.to_owned(),
    })
}

/// The default loss of the lossy runs of `--matrix`.
const MATRIX_LOSS: f64 = 5.0;

/// What one request ended as.
enum Kind {
    /// A success value.
    Ok,
    /// Refused by the booking rules (sequenced, agreed): a correct answer.
    RefusedByRules(String),
    /// Refused by the front end before sequencing (malformed input in the workload).
    RefusedByFrontEnd(String),
    /// No usable answer.
    Error(String),
}

fn classify(result: &Result<dmtbs_client::Answer<dmtbs_client::Success>, Error>) -> Kind {
    match result {
        Ok(_) => Kind::Ok,
        Err(Error::Api(e)) if e.refused_by_rules() => Kind::RefusedByRules(e.code.clone()),
        // 4xx without a sequence number: the front end refused the input itself.
        Err(Error::Api(e)) if e.seq.is_none() && (400..500).contains(&e.status) => {
            Kind::RefusedByFrontEnd(e.code.clone())
        }
        Err(e) => Kind::Error(e.kind().to_owned()),
    }
}

/// What the clients saw, merged.
#[derive(Default)]
struct Tally {
    /// Every request's latency, in completion order per client.
    latencies: Vec<Duration>,
    /// When each request completed (from the start of the timed phase) and its latency.
    timeline: Vec<(Duration, Duration)>,
    ok: u64,
    refused_by_rules: BTreeMap<String, u64>,
    refused_by_front_end: BTreeMap<String, u64>,
    errors: BTreeMap<String, u64>,
}

impl Tally {
    fn record(&mut self, at: Duration, latency: Duration, kind: Kind) {
        self.latencies.push(latency);
        self.timeline.push((at, latency));
        match kind {
            Kind::Ok => self.ok += 1,
            Kind::RefusedByRules(code) => *self.refused_by_rules.entry(code).or_default() += 1,
            Kind::RefusedByFrontEnd(code) => {
                *self.refused_by_front_end.entry(code).or_default() += 1
            }
            Kind::Error(kind) => *self.errors.entry(kind).or_default() += 1,
        }
    }

    fn merge(&mut self, other: Tally) {
        self.latencies.extend(other.latencies);
        self.timeline.extend(other.timeline);
        self.ok += other.ok;
        for (mine, theirs) in [
            (&mut self.refused_by_rules, other.refused_by_rules),
            (&mut self.refused_by_front_end, other.refused_by_front_end),
            (&mut self.errors, other.errors),
        ] {
            for (code, n) in theirs {
                *mine.entry(code).or_default() += n;
            }
        }
    }

    fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }
}

/// Latency percentiles (nearest rank) of a non-empty sorted list.
fn percentile(sorted: &[Duration], q: f64) -> Duration {
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

/// Where the load goes, and what to stop afterwards.
struct Target {
    client: Client,
    today: Date,
    /// The local cluster, when this run started one.
    cluster: Option<LocalCluster>,
    /// The fault layer's plan, when --loss was given.
    faults: Option<FaultPlan>,
    /// Describes the target in the result.
    description: Value,
    /// The cluster's admin key (for --inject).
    admin_key: String,
}

fn parse_date(text: &str) -> anyhow::Result<Date> {
    let date = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .with_context(|| format!("--today {text:?} is not a YYYY-MM-DD date"))?;
    use chrono::Datelike as _;
    Ok(build::date(
        date.year().try_into().context("year out of range")?,
        date.month() as u8,
        date.day() as u8,
    ))
}

async fn target(args: &Args) -> anyhow::Result<Target> {
    if args.url.is_some() && (args.loss > 0.0 || args.quorum.is_some()) {
        bail!("--loss and --quorum shape a --local cluster; a running cluster has its own");
    }
    if let Some(url) = &args.url {
        let mut remote = crate::booking::Remote {
            url: url.clone(),
            admin_key_file: args.admin_key_file.clone(),
            admin_key: None,
            json: false,
        };
        remote.resolve_admin_key()?;
        let Some(admin_key) = remote.admin_key.clone() else {
            bail!(
                "--url {url}: the benchmark adds shows and books as admins, so it needs the \
                 cluster's admin key; {}",
                crate::booking::ADMIN_KEY_HINT
            );
        };
        // The workload's show dates must follow the cluster's day (in its time zone, or its
        // fixed `today`), not this machine's: known for the cluster `dmtbs up` runs from here.
        let today = match (&args.today, remote.local_cluster()) {
            (Some(text), _) => parse_date(text)?,
            (None, Some(config)) => dmtbs_cluster::wire::today(&config),
            (None, None) => {
                let today = chrono::Local::now().date_naive().to_string();
                eprintln!(
                    "note: {url} is not the cluster `dmtbs up` runs from this folder, so its date \
                     is unknown here; taking this machine's ({today}); pass --today if the \
                     cluster's day differs (its time zone, or a fixed `today`)"
                );
                parse_date(&today)?
            }
        };
        let issuer = Client::builder(url.clone())
            .admin_key(admin_key.clone())
            .timeout(REQUEST_TIMEOUT)
            .build()?;
        issuer
            .health()
            .await
            .with_context(|| format!("no DMTBS front end at {url}"))?;
        let tokens = crate::token::issue_workload_tokens(&issuer).await?;
        let client = Client::builder(url.clone())
            .admin_key(admin_key.clone())
            .tokens(tokens)
            .timeout(REQUEST_TIMEOUT)
            .build()?;
        return Ok(Target {
            client,
            today,
            cluster: None,
            faults: None,
            description: json!({ "url": url }),
            admin_key,
        });
    }
    if !(0.0..=100.0).contains(&args.loss) {
        bail!("--loss {} is not a percentage within 0..=100", args.loss);
    }
    let replicas = usize::from(args.replicas);
    let quorum = args.quorum.unwrap_or(if replicas == 1 { 1 } else { 2 });
    let today = match &args.today {
        Some(text) => parse_date(text)?,
        None => LOCAL_TODAY,
    };
    let transport = match args.transport.as_str() {
        "unicast" => TransportMode::Unicast,
        _ => TransportMode::Multicast,
    };
    let dir = args.components.clone().unwrap_or_else(components::dir);
    let mut config = local_config(
        &dir,
        &IMPLEMENTATIONS[..replicas],
        quorum,
        transport,
        &format!("{}-{:02}-{:02}", today.year, today.month, today.day),
    )?;
    config.recovery.durable = !args.in_memory;
    if let Some(every) = args.checkpoint_every {
        config.recovery.checkpoint_every = every;
    }
    if let Some(every) = args.digest_every {
        config.recovery.digest_every = every;
    }
    let checkpoint_every = config.recovery.checkpoint_every;
    let digest_every = config.recovery.digest_every;
    let faults = (args.loss > 0.0).then(|| FaultPlan::new(args.seed));
    let cluster = match &faults {
        None => LocalCluster::start(config).await,
        Some(plan) => {
            plan.set_all_links(LinkFaults::loss(args.loss))?;
            let plan = plan.clone();
            let wrap = move |_, udp| -> Arc<dyn Transport> {
                Arc::new(FaultTransport::new(udp, plan.clone()))
            };
            LocalCluster::start_wrapped(config, &wrap).await
        }
    }
    .context("starting the local cluster (are the replicas built? just build-replicas)")?;
    let admin_key = cluster.config.cluster.admin_key.clone();
    // The workload acts as many users: their tokens are made here with the cluster's key.
    let client = Client::builder(cluster.url(0))
        .admin_key(admin_key.clone())
        .tokens(cluster.config.mint_tokens())
        .timeout(REQUEST_TIMEOUT)
        .build()?;
    let description = json!({
        "local": true,
        "replicas": replicas,
        "modules": &IMPLEMENTATIONS[..replicas],
        "quorum": quorum,
        "loss_pct": args.loss,
        "transport": args.transport,
        "durable": !args.in_memory,
        "checkpoint_every": checkpoint_every,
        "digest_every": digest_every,
    });
    Ok(Target {
        client,
        today,
        cluster: Some(cluster),
        faults,
        description,
        admin_key,
    })
}

/// Adds every area's shows for the booking window (today and seven days ahead), every movie and
/// slot, by the area's admin. Returns how many requests that took and how long.
async fn setup(client: &Client, today: Date, workload: &str) -> anyhow::Result<(u64, Duration)> {
    let capacity = match workload {
        "bookings" => bookings::CAPACITY,
        _ => SETUP_CAPACITY,
    };
    add_every_show(client, today, capacity).await
}

/// Adds every area's shows for the booking window (today and seven days ahead), every movie and
/// slot, with `capacity` seats, by the area's admin (`dmtbs bench`'s setup, `dmtbs up
/// --sample-shows`). Returns how many requests that took and how long.
pub async fn add_every_show(
    client: &Client,
    today: Date,
    capacity: u32,
) -> anyhow::Result<(u64, Duration)> {
    let started = Instant::now();
    let mut sent = 0;
    for day in 0..=7 {
        for area in AREAS {
            for movie in MOVIES {
                for slot in ['M', 'A', 'E'] {
                    let show = build::show_id(area, slot, add_days(today, day));
                    let op = build::add_show(&format!("{area}A0001"), movie, &show, capacity);
                    sent += 1;
                    client.execute(&op).await.with_context(|| {
                        format!(
                            "setup: adding show {show} failed — is --today the cluster's date, \
                             and the admin key its key?"
                        )
                    })?;
                }
            }
        }
    }
    Ok((sent, started.elapsed()))
}

/// The timed phase: `clients` tasks sharing `requests`, each stopping at `deadline`.
async fn load(
    args: &Args,
    client: &Client,
    admin_key: &str,
    today: Date,
    progress: &ProgressBar,
) -> (Tally, bool, Option<Value>) {
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.max_seconds);
    let completed = Arc::new(AtomicU64::new(0));
    let injector = args.inject.clone().map(|injection| {
        let at = args.inject_at.unwrap_or(args.requests / 10);
        let (completed, url, key) = (
            completed.clone(),
            client.base_url().trim_end_matches('/').to_owned(),
            admin_key.to_owned(),
        );
        tokio::spawn(inject(
            injection, at, completed, url, key, started, deadline,
        ))
    });
    let mut tasks = Vec::new();
    let growing = args.workload == "bookings";
    for c in 0..args.clients {
        // An even share; the first `requests % clients` clients take one more.
        let share = args.requests / args.clients + u64::from(c < args.requests % args.clients);
        let (client, progress, completed) = (client.clone(), progress.clone(), completed.clone());
        let seed = args.seed.wrapping_add(c);
        tasks.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            let mut workload = Workload::starting(seed, today);
            let mut bookings = growing.then(|| Bookings::new(seed, today));
            let mut stopped = false;
            for _ in 0..share {
                if Instant::now() >= deadline {
                    stopped = true;
                    break;
                }
                let operation = match bookings.as_mut() {
                    Some(b) => b.next_operation(),
                    // The workload is endless.
                    None => workload.next().expect("an endless workload").operation,
                };
                let sent = Instant::now();
                let result = client.execute(&operation).await;
                tally.record(started.elapsed(), sent.elapsed(), classify(&result));
                completed.fetch_add(1, Ordering::Relaxed);
                progress.inc(1);
            }
            (tally, stopped)
        }));
    }
    let mut tally = Tally::default();
    let mut stopped = false;
    for task in tasks {
        match task.await {
            Ok((t, s)) => {
                tally.merge(t);
                stopped |= s;
            }
            Err(e) => {
                // A client task cannot panic short of a bug; count it rather than lose the run.
                tracing::error!("client task failed: {e}");
                *tally.errors.entry("client-panic".into()).or_default() += 1;
            }
        }
    }
    let injected = match injector {
        Some(task) => Some(
            task.await
                .unwrap_or_else(|e| json!({ "error": e.to_string() })),
        ),
        None => None,
    };
    (tally, stopped, injected)
}

/// Waits until `at` requests have completed, then asks the front end to swap `injection.module`
/// into its RM. What happened, as the result's `injected`.
async fn inject(
    injection: Injection,
    at: u64,
    completed: Arc<AtomicU64>,
    url: String,
    admin_key: String,
    started: Instant,
    deadline: Instant,
) -> Value {
    // Bounded by the run's own deadline: a run that ends early never injects.
    while completed.load(Ordering::Relaxed) < at {
        if Instant::now() >= deadline {
            return json!({ "rm": injection.rm, "module": injection.module, "error": "the run ended before --inject-at" });
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let at_request = completed.load(Ordering::Relaxed);
    let at_s = started.elapsed().as_secs_f64();
    let answer = reqwest::Client::new()
        .post(format!("{url}/v1/admin/replicas/{}/swap", injection.rm))
        .bearer_auth(&admin_key)
        .json(&json!({ "module": injection.module }))
        .timeout(Duration::from_secs(10))
        .send()
        .await;
    let outcome = match answer {
        Ok(r) if r.status().is_success() => Ok(()),
        Ok(r) => {
            let status = r.status();
            let body: Value = r.json().await.unwrap_or(Value::Null);
            let message = body["error"]["message"].as_str().unwrap_or("").to_owned();
            Err(format!("{status}: {message}"))
        }
        Err(e) => Err(e.to_string()),
    };
    let mut report = json!({
        "rm": injection.rm,
        "module": injection.module,
        "at_request": at_request,
        "at_s": (at_s * 1e3).round() / 1e3,
    });
    if let Err(e) = outcome {
        report["error"] = json!(e);
    }
    report
}

/// RM `rm`'s module, swaps and last swap reason from the operator API (null if unavailable).
async fn replica_status(target: &Target, rm: u64) -> Value {
    let answer = reqwest::Client::new()
        .get(format!(
            "{}/v1/admin/replicas",
            target.client.base_url().trim_end_matches('/')
        ))
        .bearer_auth(&target.admin_key)
        .timeout(Duration::from_secs(5))
        .send()
        .await;
    let Ok(body) = async { answer?.error_for_status()?.json::<Value>().await }.await else {
        return Value::Null;
    };
    body["replicas"]
        .as_array()
        .and_then(|all| all.iter().find(|r| r["rm"] == rm))
        .map(|r| json!({ "module": r["module"], "swaps": r["swaps"], "lastSwapReason": r["lastSwapReason"] }))
        .unwrap_or(Value::Null)
}

/// Every RM's `dmtbs_rm_store_commits_total`, summed (None if a scrape fails).
async fn store_commits(cluster: &LocalCluster) -> Option<u64> {
    let mut total = 0;
    for rm in cluster.config.rm_ids() {
        let url = cluster.metrics_url(NodeId::Rm(rm))?;
        let text = reqwest::get(&url).await.ok()?.text().await.ok()?;
        total += text
            .lines()
            .find(|l| l.starts_with("dmtbs_rm_store_commits_total"))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|n| n.parse::<f64>().ok())? as u64;
    }
    Some(total)
}

/// `--json`'s `status`, as every command's: `ok`, or `error` when requests ended in errors
/// (the exit status says the same).
fn status(errors: u64) -> &'static str {
    if errors == 0 { "ok" } else { "error" }
}

/// Runs the benchmark (or the four of `--matrix`); Ok(true) when no request ended in an error.
pub async fn run(args: Args) -> anyhow::Result<bool> {
    if args.durability {
        return durability(&args).await;
    }
    if !args.matrix {
        let mut result = run_one(&args).await?;
        if args.json {
            let errors = result["error_count"].as_u64().unwrap_or(1);
            result["status"] = status(errors).into();
            println!("{result}");
        } else {
            print_summary(&result);
        }
        return Ok(result["error_count"] == 0);
    }
    let loss = if args.loss > 0.0 {
        args.loss
    } else {
        MATRIX_LOSS
    };
    let mut runs = Vec::new();
    for (replicas, loss) in [(4, 0.0), (1, 0.0), (4, loss), (1, loss)] {
        let args = Args {
            replicas,
            quorum: None,
            loss,
            ..args.clone()
        };
        let result = run_one(&args).await?;
        if !args.json {
            print_summary(&result);
            println!();
        }
        runs.push(result);
    }
    let ratio = |a: &Value, b: &Value| -> Value {
        match (a.as_f64(), b.as_f64()) {
            (Some(a), Some(b)) if b > 0.0 => json!((a / b * 100.0).round() / 100.0),
            _ => Value::Null,
        }
    };
    // Each ratio: first run ÷ second run, for throughput and the latency percentiles.
    let compare = |a: &Value, b: &Value| {
        json!({
            "ops_per_s": ratio(&a["ops_per_s"], &b["ops_per_s"]),
            "p50": ratio(&a["latency_ms"]["p50"], &b["latency_ms"]["p50"]),
            "p99": ratio(&a["latency_ms"]["p99"], &b["latency_ms"]["p99"]),
        })
    };
    let ratios = json!({
        "four_vs_one": compare(&runs[0], &runs[1]),
        "four_vs_one_under_loss": compare(&runs[2], &runs[3]),
        "four_loss_vs_no_loss": compare(&runs[2], &runs[0]),
        "one_loss_vs_no_loss": compare(&runs[3], &runs[1]),
    });
    let errors: u64 = runs.iter().filter_map(|r| r["error_count"].as_u64()).sum();
    if args.json {
        println!(
            "{}",
            json!({ "status": status(errors), "runs": runs, "ratios": ratios, "loss_pct": loss })
        );
    } else {
        print_matrix(&runs, &ratios, loss);
    }
    Ok(errors == 0)
}

/// One run: the target, the setup, the timed load; the result as JSON.
async fn run_one(args: &Args) -> anyhow::Result<Value> {
    let target = target(args).await?;
    let (setup_requests, setup_time) = setup(&target.client, target.today, &args.workload).await?;
    let progress = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(args.requests);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} {per_sec} (eta {eta})",
            )
            // A constant template: it parses.
            .expect("progress template"),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    let started = Instant::now();
    let (tally, stopped_by_time, injected) = load(
        args,
        &target.client,
        &target.admin_key,
        target.today,
        &progress,
    )
    .await;
    let elapsed = started.elapsed();
    progress.finish_and_clear();
    let fault_stats = target.faults.as_ref().map(FaultPlan::stats);
    let mut injected = injected;
    if let Some(report) = injected.as_mut().filter(|r| r["error"].is_null()) {
        // What became of the injected replica by the end of the run (its status, as the
        // operator API reports it): normally back on a known-good module.
        report["after"] = replica_status(&target, report["rm"].as_u64().unwrap_or(0)).await;
    }
    let mut fsyncs = None;
    if let Some(cluster) = target.cluster {
        fsyncs = store_commits(&cluster).await;
        cluster.stop().await.context("stopping the local cluster")?;
    }

    let mut sorted = tally.latencies.clone();
    sorted.sort_unstable();
    let completed = sorted.len() as u64;
    let errors = tally.error_count();
    let latency = if sorted.is_empty() {
        json!(null)
    } else {
        let mean = sorted.iter().sum::<Duration>() / sorted.len() as u32;
        json!({
            "p50": ms(percentile(&sorted, 0.50)),
            "p90": ms(percentile(&sorted, 0.90)),
            "p99": ms(percentile(&sorted, 0.99)),
            "max": ms(*sorted.last().expect("not empty")),
            "mean": ms(mean),
        })
    };
    let ops_per_s = completed as f64 / elapsed.as_secs_f64().max(1e-9);
    let result = json!({
        "seed": args.seed,
        "target": target.description,
        "clients": args.clients,
        "requests": args.requests,
        "completed": completed,
        "stopped_by_time_limit": stopped_by_time,
        "elapsed_s": (elapsed.as_secs_f64() * 1e3).round() / 1e3,
        "ops_per_s": ops_per_s.round() as u64,
        "latency_ms": latency,
        "over_time": over_time(&tally.timeline, elapsed),
        "workload": args.workload,
        "ok": tally.ok,
        "refused_by_rules": tally.refused_by_rules,
        "refused_by_front_end": tally.refused_by_front_end,
        "errors": tally.errors,
        "error_count": errors,
        "setup": { "requests": setup_requests, "seconds": (setup_time.as_secs_f64() * 1e3).round() / 1e3 },
        "faults": fault_stats.map(fault_json),
        "injected": injected,
        // Commits of the RMs' durable logs (one fsync each), per request and RM, setup included.
        "fsyncs_per_request": fsyncs.map(|n: u64| {
            let rms = target.description["replicas"].as_u64().unwrap_or(1).max(1);
            let requests = (completed + setup_requests).max(1);
            (n as f64 / rms as f64 / requests as f64 * 1e3).round() / 1e3
        }),
    });
    // An injection that did not happen makes the run meaningless as a fault run: an error.
    if let Some(e) = result["injected"]["error"].as_str() {
        bail!(
            "--inject {}:{} failed: {e}",
            result["injected"]["rm"],
            result["injected"]["module"].as_str().unwrap_or("")
        );
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let sorted: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&sorted, 0.50), Duration::from_millis(50));
        assert_eq!(percentile(&sorted, 0.99), Duration::from_millis(99));
        assert_eq!(percentile(&sorted, 1.0), Duration::from_millis(100));
        assert_eq!(percentile(&sorted[..1], 0.5), Duration::from_millis(1));
    }
}
