//! The replica manager's Prometheus series (prefix `dmtbs_rm_`, constant label `rm`; listed in
//! docs/metrics.md). Events are counted where they happen; what the RM's parts already count
//! (delivery's counters) and its gauges are mirrored on every tick and after each replica job.

use std::borrow::Cow;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dmtbs_delivery::Delivery;
use dmtbs_metrics::prometheus_client::metrics::counter::Counter;
use dmtbs_metrics::prometheus_client::metrics::family::Family;
use dmtbs_metrics::prometheus_client::metrics::gauge::Gauge;
use dmtbs_metrics::prometheus_client::metrics::histogram::Histogram;
use dmtbs_metrics::{Registry, SharedRegistry};
use dmtbs_proto::{Health, RmId, Sequenced, Verdict};

use crate::metrics::{gauge, mirror};

type Labels = Vec<(String, String)>;

fn label(key: &str, value: &str) -> Labels {
    vec![(key.to_owned(), value.to_owned())]
}

/// Why the replica was replaced: the `reason` label of `swaps_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SwapKind {
    /// `strikes` consecutive wrong results.
    Wrong,
    /// Silent past the front end's deadline `slow_strikes` times in a row (restarted).
    Silent,
    /// The replica failed: a trap, a broken limit, a failed state export.
    Crash,
    /// Its state at a checkpoint differs from the one two replicas agree on.
    Corrupt,
    /// A majority of RMs found it dead or hung, and it was inside one call for too long.
    Hung,
    /// An operator's swap.
    Operator,
    /// The module chosen to take over could not start or refused the state.
    TakeoverFailed,
    /// A peer quarantined the module it runs.
    Quarantined,
}

impl SwapKind {
    const ALL: [SwapKind; 8] = [
        SwapKind::Wrong,
        SwapKind::Silent,
        SwapKind::Crash,
        SwapKind::Corrupt,
        SwapKind::Hung,
        SwapKind::Operator,
        SwapKind::TakeoverFailed,
        SwapKind::Quarantined,
    ];

    pub fn label(self) -> &'static str {
        match self {
            SwapKind::Wrong => "wrong",
            SwapKind::Silent => "silent",
            SwapKind::Crash => "crash",
            SwapKind::Corrupt => "corrupt",
            SwapKind::Hung => "hung",
            SwapKind::Operator => "operator",
            SwapKind::TakeoverFailed => "takeover_failed",
            SwapKind::Quarantined => "quarantined",
        }
    }
}

/// The `health` label values, as the status page names them.
const HEALTHS: [(Health, &str); 4] = [
    (Health::Serving, "serving"),
    (Health::Recovering, "recovering"),
    (Health::CatchingUp, "catching-up"),
    (Health::Failed, "failed"),
];

/// What the applier thread records: each request applied and its time in the replica.
#[derive(Clone)]
pub struct ApplyMetrics {
    applied: Counter,
    seconds: Histogram,
}

impl ApplyMetrics {
    /// `applied` requests ran in `elapsed`, `attempted` of them counting the one that failed.
    /// The replica runs a batch in one call, so each request is given an equal share.
    pub fn batch(&self, applied: usize, attempted: usize, elapsed: Duration) {
        if attempted == 0 {
            return;
        }
        let each = elapsed.as_secs_f64() / attempted as f64;
        for _ in 0..applied {
            self.seconds.observe(each);
        }
        self.applied.inc_by(applied as u64);
    }
}

/// What the RM's gauges show, read from its state by the event loop.
pub struct Snapshot<'a> {
    pub health: Health,
    pub applied_through: u64,
    pub delivery: &'a Delivery,
    pub consecutive_wrong: u32,
    pub consecutive_silent: u32,
    pub stable_checkpoint: u64,
    pub module: &'a (String, String),
}

pub struct RmMetrics {
    pub registry: SharedRegistry,
    pub apply: ApplyMetrics,
    delivered: Counter,
    nacks: Family<Labels, Counter>,
    repairs: Counter,
    repairs_served: Counter,
    results_sent: Counter,
    results_resent: Counter,
    verdicts: Family<Labels, Counter>,
    consecutive_wrong: Gauge,
    consecutive_silent: Gauge,
    swaps: Family<Labels, Counter>,
    swap_seconds: Histogram,
    checkpoints: Counter,
    digest_checks: Counter,
    stable_checkpoint: Gauge,
    transfers_served: Counter,
    transfers_refused: Counter,
    transfers_fetched: Counter,
    health: Family<Labels, Gauge>,
    applied_through: Gauge,
    delivered_through: Gauge,
    module: Family<Labels, Gauge>,
    /// The module the `module` series shows (name, hash).
    module_shown: Option<(String, String)>,
    /// When the replacement in progress was decided (the first decision, if a take-over failed
    /// and another module was tried).
    swap_started: Option<Instant>,
    /// Whether the replacement's new instance is installed (a `Replaced` for this generation).
    swap_installed: bool,
    /// The durable log, snapshots and epochs.
    durable: DurableMetrics,
}

/// The store's and the epochs' series.
struct DurableMetrics {
    durable_through: Gauge,
    commits: Counter,
    commit_operations: Counter,
    commit_seconds: Histogram,
    snapshots: Counter,
    snapshot_seq: Gauge,
    epoch: Gauge,
    rolled_back: Counter,
    refused_epoch: Counter,
}

impl RmMetrics {
    pub fn new(rm: RmId) -> Self {
        let labels = [(Cow::Borrowed("rm"), Cow::Owned(rm.to_string()))];
        let mut registry = Registry::with_prefix_and_labels("dmtbs_rm", labels.into_iter());
        dmtbs_metrics::register_node_info(&mut registry);
        let registry = Arc::new(Mutex::new(registry));
        let m = RmMetrics {
            registry: registry.clone(),
            apply: ApplyMetrics {
                applied: Counter::default(),
                seconds: Histogram::new(dmtbs_metrics::latency_buckets()),
            },
            delivered: Counter::default(),
            nacks: Family::default(),
            repairs: Counter::default(),
            repairs_served: Counter::default(),
            results_sent: Counter::default(),
            results_resent: Counter::default(),
            verdicts: Family::default(),
            consecutive_wrong: Gauge::default(),
            consecutive_silent: Gauge::default(),
            swaps: Family::default(),
            swap_seconds: Histogram::new(dmtbs_metrics::latency_buckets()),
            checkpoints: Counter::default(),
            digest_checks: Counter::default(),
            stable_checkpoint: Gauge::default(),
            transfers_served: Counter::default(),
            transfers_refused: Counter::default(),
            transfers_fetched: Counter::default(),
            health: Family::default(),
            applied_through: Gauge::default(),
            delivered_through: Gauge::default(),
            module: Family::default(),
            module_shown: None,
            swap_started: None,
            swap_installed: false,
            durable: DurableMetrics {
                durable_through: Gauge::default(),
                commits: Counter::default(),
                commit_operations: Counter::default(),
                commit_seconds: Histogram::new(dmtbs_metrics::latency_buckets()),
                snapshots: Counter::default(),
                snapshot_seq: Gauge::default(),
                epoch: Gauge::default(),
                rolled_back: Counter::default(),
                refused_epoch: Counter::default(),
            },
        };
        // Every label value a user may look for is there from the start, at 0.
        for to in ["sequencer", "peer"] {
            let _ = m.nacks.get_or_create(&label("to", to));
        }
        for kind in ["agreed", "wrong", "silent"] {
            let _ = m.verdicts.get_or_create(&label("kind", kind));
        }
        for kind in SwapKind::ALL {
            let _ = m.swaps.get_or_create(&label("reason", kind.label()));
        }
        let mut r = registry.lock().unwrap_or_else(|p| p.into_inner());
        r.register(
            "requests_delivered",
            "Requests delivered in sequence order (each once), ready for the replica",
            m.delivered.clone(),
        );
        r.register(
            "requests_applied",
            "Requests the replica executed (a replay after a replacement counts again)",
            m.apply.applied.clone(),
        );
        r.register(
            "apply_seconds",
            "Time one request spent in the wasm replica (a batch's time shared equally)",
            m.apply.seconds.clone(),
        );
        r.register(
            "nacks_sent",
            "NACKs (retransmission requests for detected gaps) sent, to the sequencer or a peer",
            m.nacks.clone(),
        );
        r.register(
            "repairs_received",
            "Requests received that filled a gap already detected (mostly retransmissions)",
            m.repairs.clone(),
        );
        r.register(
            "repairs_served",
            "Requests sent to peer RMs in answer to their NACKs",
            m.repairs_served.clone(),
        );
        r.register(
            "results_sent",
            "Results sent to front ends (once per request)",
            m.results_sent.clone(),
        );
        r.register(
            "results_resent",
            "Results sent again to front ends that asked for them",
            m.results_resent.clone(),
        );
        r.register(
            "verdicts",
            "The front ends' verdicts about this RM's results: agreed, wrong or silent",
            m.verdicts.clone(),
        );
        r.register(
            "consecutive_wrong",
            "Consecutive wrong results of the current replica (swapped at `strikes`)",
            m.consecutive_wrong.clone(),
        );
        r.register(
            "consecutive_silent",
            "Consecutive silences of the current replica (restarted at `slow_strikes`)",
            m.consecutive_silent.clone(),
        );
        r.register("swaps", "Replica replacements, per reason", m.swaps.clone());
        r.register(
            "swap_seconds",
            "Time from deciding to replace the replica to the new one serving, caught up",
            m.swap_seconds.clone(),
        );
        r.register(
            "checkpoints",
            "Checkpoints taken (state exported, digest sent to the peers)",
            m.checkpoints.clone(),
        );
        r.register(
            "digest_checks",
            "Digest checks (the replica's own state digest sent to the peers, no export)",
            m.digest_checks.clone(),
        );
        r.register(
            "stable_checkpoint_seq",
            "The latest checkpoint two replicas agree on",
            m.stable_checkpoint.clone(),
        );
        r.register(
            "state_transfers_served",
            "Checkpoint states sent to peer RMs",
            m.transfers_served.clone(),
        );
        r.register(
            "state_transfers_refused",
            "State requests refused: not authentic or fresh, not from a configured RM at its address, or not a state request",
            m.transfers_refused.clone(),
        );
        r.register(
            "state_transfers_fetched",
            "Checkpoint states fetched from peer RMs and installed",
            m.transfers_fetched.clone(),
        );
        r.register(
            "health",
            "1 for the replica's current health (as the status shows it), 0 for the others",
            m.health.clone(),
        );
        r.register(
            "applied_through",
            "The highest request the current replica has applied",
            m.applied_through.clone(),
        );
        r.register(
            "delivered_through",
            "Every request up to this one has been delivered",
            m.delivered_through.clone(),
        );
        r.register(
            "module",
            "The module the replica runs (labels module and hash), always 1",
            m.module.clone(),
        );
        let d = &m.durable;
        r.register(
            "durable_through",
            "Every delivered request up to this one is on disk (results wait for it)",
            d.durable_through.clone(),
        );
        r.register(
            "store_commits",
            "Commits (each one fsync) of the durable log",
            d.commits.clone(),
        );
        r.register(
            "store_commit_operations",
            "Store operations made durable (group commit: many per commit under load)",
            d.commit_operations.clone(),
        );
        r.register(
            "store_commit_seconds",
            "Time of one commit of the durable log, fsync included",
            d.commit_seconds.clone(),
        );
        r.register(
            "snapshots",
            "Snapshots written (stable checkpoints this replica agreed with, installed states)",
            d.snapshots.clone(),
        );
        r.register(
            "snapshot_seq",
            "The newest snapshot on disk: the state after this request",
            d.snapshot_seq.clone(),
        );
        r.register(
            "epoch",
            "The sequencer epoch this RM is in",
            d.epoch.clone(),
        );
        r.register(
            "rolled_back_requests",
            "Requests of an old epoch discarded at a new epoch's start (seen by no majority)",
            d.rolled_back.clone(),
        );
        r.register(
            "refused_epoch_requests",
            "Sequenced requests refused: of an epoch not started yet, or beyond a newer one's start",
            d.refused_epoch.clone(),
        );
        drop(r);
        m
    }

    /// The state server's counters (served, refused), shared with its tasks.
    pub fn transfer_counters(&self) -> super::transfer::TransferCounters {
        super::transfer::TransferCounters {
            served: self.transfers_served.clone(),
            refused: self.transfers_refused.clone(),
        }
    }

    /// The store made a group of operations durable.
    pub fn committed(&self, c: &dmtbs_store::Committed) {
        let d = &self.durable;
        d.durable_through.set(gauge(c.durable_through));
        d.commits.inc();
        d.commit_operations.inc_by(c.operations as u64);
        d.commit_seconds.observe(c.commit_time.as_secs_f64());
    }

    pub fn snapshot_written(&self, seq: u64) {
        self.durable.snapshots.inc();
        self.durable.snapshot_seq.set(gauge(seq));
    }

    pub fn epoch(&self, epoch: u64) {
        self.durable.epoch.set(gauge(epoch));
    }

    pub fn rolled_back(&self, n: u64) {
        self.durable.rolled_back.inc_by(n);
    }

    pub fn refused_epoch(&self, n: usize) {
        if n > 0 {
            self.durable.refused_epoch.inc_by(n as u64);
        }
    }

    /// A `Deliver` is about to be taken in: counts its requests that fill a known gap.
    pub fn deliver(&self, delivery: &Delivery, items: &[Sequenced]) {
        if delivery.latest_known() <= delivery.delivered_through() {
            return; // nothing missing: the common case costs two comparisons
        }
        let missing = delivery.missing();
        let repairs = items
            .iter()
            .filter(|i| missing.iter().any(|r| r.first <= i.seq && i.seq <= r.last))
            .count();
        self.repairs.inc_by(repairs as u64);
    }

    pub fn verdict(&self, verdict: &Verdict, me: RmId) {
        let kind = if verdict.agreed.contains(&me) {
            "agreed"
        } else if verdict.wrong.contains(&me) {
            "wrong"
        } else if verdict.silent.contains(&me) {
            "silent"
        } else {
            return;
        };
        self.verdicts.get_or_create(&label("kind", kind)).inc();
    }

    pub fn results_sent(&self, n: usize) {
        self.results_sent.inc_by(n as u64);
    }

    pub fn results_resent(&self, n: usize) {
        self.results_resent.inc_by(n as u64);
    }

    pub fn checkpoint_taken(&self) {
        self.checkpoints.inc();
    }

    pub fn digest_checked(&self) {
        self.digest_checks.inc();
    }

    pub fn state_fetched(&self) {
        self.transfers_fetched.inc();
    }

    /// A replacement was decided.
    pub fn swap_decided(&mut self, kind: SwapKind) {
        self.swaps
            .get_or_create(&label("reason", kind.label()))
            .inc();
        self.swap_started.get_or_insert_with(Instant::now);
        self.swap_installed = false;
    }

    /// A new instance is being installed (a replacement's, or a catch-up's).
    pub fn installing(&mut self) {
        self.swap_installed = false;
    }

    /// The new instance of this generation is installed.
    pub fn installed(&mut self) {
        self.swap_installed = true;
    }

    /// No module can run: the replacement in progress will not finish by itself.
    pub fn swap_abandoned(&mut self) {
        self.swap_started = None;
    }

    /// Mirrors the RM's state into the gauges, and ends the replacement in progress once the
    /// new instance serves, caught up.
    pub fn sync(&mut self, now: &Snapshot) {
        for (health, name) in HEALTHS {
            let value = i64::from(health == now.health);
            self.health.get_or_create(&label("health", name)).set(value);
        }
        if self.module_shown.as_ref() != Some(now.module) {
            self.module.clear();
            let (name, hash) = now.module;
            let labels = vec![
                ("module".to_owned(), name.clone()),
                ("hash".to_owned(), hash.clone()),
            ];
            self.module.get_or_create(&labels).set(1);
            self.module_shown = Some(now.module.clone());
        }
        self.applied_through.set(gauge(now.applied_through));
        self.delivered_through
            .set(gauge(now.delivery.delivered_through()));
        self.consecutive_wrong.set(i64::from(now.consecutive_wrong));
        self.consecutive_silent
            .set(i64::from(now.consecutive_silent));
        self.stable_checkpoint.set(gauge(now.stable_checkpoint));
        let stats = now.delivery.stats();
        mirror(&self.delivered, stats.delivered);
        mirror(
            &self.nacks.get_or_create(&label("to", "sequencer")),
            stats.nacks_to_sequencer,
        );
        mirror(
            &self.nacks.get_or_create(&label("to", "peer")),
            stats.nacks_to_peers,
        );
        mirror(&self.repairs_served, stats.served);
        if self.swap_installed
            && now.health == Health::Serving
            && let Some(started) = self.swap_started.take()
        {
            self.swap_seconds.observe(started.elapsed().as_secs_f64());
        }
    }
}
