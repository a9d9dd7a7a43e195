//! What every scenario shares: the shows, the bulk load, the paced background load and its
//! latency windows, status polling and the timeline of a recovery.

use super::*;

pub(crate) fn today() -> Date {
    build::date(2026, 11, 24)
}

/// Every show of the booking window: (area, movie, show ID), grouped by area.
pub(crate) fn shows() -> Vec<Vec<(&'static str, &'static str, String)>> {
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

pub(crate) fn client(url: String, config: &dmtbs_cluster::ClusterConfig) -> anyhow::Result<Client> {
    Ok(Client::builder(url)
        .admin_key(config.cluster.admin_key.clone())
        .tokens(config.mint_tokens())
        .timeout(REQUEST_TIMEOUT)
        .build()?)
}

/// Adds every show (by its area's admin), then gives the three customers of the wrong results
/// their three other-area bookings of the week.
pub(crate) async fn setup(client: &Client) -> anyhow::Result<()> {
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
pub(crate) const WRONG_CUSTOMERS: [&str; 3] = ["ATWC9001", "ATWC9002", "ATWC9003"];

/// A fourth other-area booking in the same week: `weekly-limit` by the rules; `faulty-logic`
/// (its limit off by one) accepts it — a wrong result the other three outvote.
pub(crate) fn wrong_request(customer: &str) -> Operation {
    book(customer, customer, "Titanic", "OUTM271126", 1)
}

/// Booking `k` of the bulk load: area `k % 3`; within the area, customer `j % 9000` and show
/// `(customer + j / 9000) % 72` with `j = k / 3` — distinct pairs up to 648,000 bookings.
pub(crate) fn load_booking(shows: &[Vec<(&str, &str, String)>], k: u64) -> Operation {
    let area = &shows[(k % 3) as usize];
    let j = k / 3;
    let customer = j % LOAD_CUSTOMERS;
    let (area_name, movie, show) =
        &area[((customer + j / LOAD_CUSTOMERS) % area.len() as u64) as usize];
    let id = format!("{area_name}C{customer:04}");
    book(&id, &id, movie, show, 1)
}

/// The bulk load: `n` bookings by `clients` concurrent clients. Returns the elapsed time.
pub(crate) async fn load(client: &Client, n: u64, clients: u64) -> anyhow::Result<Duration> {
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
pub(crate) struct Sample {
    start: Instant,
    latency: Duration,
    ok: bool,
}

/// Paced clients booking in their own area while the fault happens.
pub(crate) struct Background {
    stop: Arc<AtomicBool>,
    /// Held for writing while the wrong results are sent: they must be consecutive in sequence
    /// order, since any correct result of RM 1 in between resets its count.
    pub(crate) gate: Arc<tokio::sync::RwLock<()>>,
    tasks: Vec<tokio::task::JoinHandle<Vec<Sample>>>,
}

impl Background {
    pub(crate) fn start(client: &Client, clients: u64) -> Self {
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

    pub(crate) async fn finish(self) -> anyhow::Result<Vec<Sample>> {
        self.stop.store(true, Ordering::Relaxed);
        let mut all = Vec::new();
        for task in self.tasks {
            all.extend(task.await?);
        }
        Ok(all)
    }
}

/// Latency figures of the samples started within `from..to`.
pub(crate) fn window(samples: &[Sample], from: Instant, to: Instant) -> String {
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

pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The operator's status of every RM (`GET /v1/admin/replicas`).
pub(crate) struct Status {
    http: reqwest::Client,
    url: String,
    key: String,
}

impl Status {
    pub(crate) fn new(base: &str, key: &str) -> anyhow::Result<Self> {
        Ok(Status {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()?,
            url: format!("{base}/v1/admin/replicas"),
            key: key.to_owned(),
        })
    }

    pub(crate) async fn get(&self) -> anyhow::Result<Value> {
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
    pub(crate) async fn quiet(&self) -> anyhow::Result<Value> {
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

pub(crate) fn rm(status: &Value, id: u64) -> Option<&Value> {
    status["replicas"]
        .as_array()?
        .iter()
        .find(|r| r["rm"] == id)
}

/// RM `id` has applied at least as far as the slowest of the others.
pub(crate) fn caught_up(status: &Value, id: u64) -> bool {
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
pub(crate) fn no_restart_storm(status: &Value) -> anyhow::Result<()> {
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
pub(crate) struct Timeline {
    /// (poll sent, description), in the order the answers came.
    seen: Vec<(Duration, String)>,
}

impl Timeline {
    pub(crate) fn print(&self) {
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
pub(crate) async fn watch(
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
pub(crate) fn describe(status: &Value, id: u64) -> String {
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
