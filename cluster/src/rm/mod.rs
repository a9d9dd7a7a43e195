//! The replica manager node: delivery (hold-back, gap repair) feeding a sandboxed replica,
//! results to the front end named in each request — and the replica's lifecycle: failure
//! detection, quarantine, replacement with a correct state, checkpoints. docs/recovery.md tells
//! the protocol; this file is its event loop.
//!
//! Layout:
//! - `applier`: the thread that runs jobs on the replica in order.
//! - `executed`: the table of executed requests (at most once across epochs and retries).
//! - `durable`: the log and snapshots on disk; results only for requests on disk; restart.
//! - `epochs`: sequencer epochs — promises, epoch starts, rolling back what no majority saw.
//! - `jobs`: feeding the replica's worker, and what comes back from it.
//! - `checkpoints`: digests exchanged, the stable checkpoint, own exported states.
//! - `recovery`: replacing the replica with a correct state.
//! - `canary`: an operator's swap tried in shadow first (compared, not voted).
//! - `suspicion`: probing silent peers and agreeing they are dead.
//! - `strikes`: the front ends' verdicts counted in sequence order.
//! - `modules`: the configured module list and the persisted, cluster-wide quarantine.
//! - `transfer`: states between RMs over TCP.
//! - `admin`: the operator's commands and the RM's status.
//! - `metrics`: the RM's Prometheus series, served at its `metrics` address.

mod admin;
mod applier;
mod canary;
mod checkpoints;
mod durable;
mod epochs;
mod executed;
mod jobs;
mod metrics;
mod modules;
mod recovery;
mod strikes;
mod suspicion;
pub mod transfer;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dmtbs_contract::CanonicalState;
use dmtbs_delivery::{Delivery, DeliveryConfig};
use dmtbs_host::{ReplicaHandle, ReplicaModule};
use dmtbs_proto::{
    CheckpointDigest, Codec, FeId, Message, NodeId, Outgoing, ReplicaResult, RmId, Verdict,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::config::{ClusterConfig, Timeouts};
use crate::wire::Wire;
use applier::Applier;
use checkpoints::{Checkpoints, RmState, Stable};
use durable::Durable;
use epochs::Epochs;
use metrics::{RmMetrics, SwapKind};
pub use modules::{Modules, Quarantine};
use strikes::{Strikes, Trigger};

/// A replica for RM `rm`: the module it ran last if it still loads, else the first usable
/// module of its list (quarantined ones skipped), with the empty state. The RM installs the cluster's current state when it joins.
pub fn start_replica(config: &ClusterConfig, rm: RmId) -> anyhow::Result<Arc<ReplicaHandle>> {
    let module = Modules::new(config, rm)?.preferred()?;
    Ok(Arc::new(ReplicaHandle::spawn(
        &module,
        &CanonicalState::empty(),
    )?))
}

/// Results remembered for `ResultsWanted`: enough for every request in flight many times over.
const RECENT_RESULTS: usize = 16_384;
/// Suspicion votes older than this are forgotten.
const SUSPICION_FRESH: Duration = Duration::from_secs(5);
/// A suspect is probed at most this often.
const PROBE_EVERY: Duration = Duration::from_secs(1);
/// A joining RM waits this long after the first answer for more (it takes the newest).
const JOIN_GATHER: Duration = Duration::from_millis(300);
/// With no answer at all for this long, a joining RM is alone: a new cluster, empty state.
const JOIN_ALONE: Duration = Duration::from_millis(1_500);
/// No restart for slowness this soon after a replacement.
const SLOW_COOLDOWN: Duration = Duration::from_secs(30);
/// Behind the stable checkpoint this long, an RM catches up by state transfer.
const BEHIND_FOR: Duration = Duration::from_secs(1);
/// How often a joining RM asks again, and a failed fetch is retried.
const RETRY: Duration = Duration::from_millis(200);

/// Where the RM is in its replica's lifecycle.
enum Phase {
    /// Just started: asking peers for their latest stable checkpoint.
    Joining {
        since: Instant,
        first_answer: Option<Instant>,
        last_ask: Instant,
        answers: BTreeMap<RmId, CheckpointDigest>,
    },
    /// Waiting for a correct state (fetched from peers) to install with `module`.
    Fetching {
        module: ReplicaModule,
        target: Stable,
        cancel: CancellationToken,
        joining: bool,
    },
    /// The log no longer reaches back to the stable checkpoint (requests dropped from it while
    /// checkpoints stalled): an incomplete replay is never run; the RM waits for a stable
    /// checkpoint at `from` or later and fetches its state instead.
    AwaitingCheckpoint { module: ReplicaModule, from: u64 },
    /// Applying requests (possibly replaying a backlog first).
    Serving,
    /// No usable module: the replica stays silent until an operator swaps one in.
    Failed,
}

/// How to choose the module that replaces the replica.
enum Choice {
    /// Quarantine the current module and take the first usable one of the list.
    Next,
    /// A fresh instance of the current module (a slow replica, not a wrong one).
    Same,
    /// The operator's choice.
    Named(String),
}

struct Node {
    me: RmId,
    config: Arc<ClusterConfig>,
    transfer_codec: Arc<Codec>,
    modules: Modules,
    applier: Applier,
    delivery: Delivery,
    checkpoints: Checkpoints,
    strikes: Strikes,
    phase: Phase,
    /// Bumped at every replacement: jobs of older generations are ignored.
    generation: u64,
    /// The module running now: name and hash (kept here: asking a hung replica would block).
    module: (String, String),
    /// Highest request handed to the applier in this generation.
    fed_through: u64,
    /// Highest request the replica has applied in this generation.
    applied_through: u64,
    /// Results are sent once per request: up to here they were (or are stale).
    results_sent_through: u64,
    /// A restarted RM answers only from here on (caught up).
    caught_up_at: u64,
    recent: BTreeMap<u64, (FeId, ReplicaResult)>,
    swaps: u32,
    last_swap_reason: Option<String>,
    /// Outstanding probes: suspect → (nonce, first sent, last sent).
    probes: HashMap<RmId, (u64, Instant, Instant)>,
    last_probe: HashMap<RmId, Instant>,
    next_nonce: u64,
    /// Suspect → voter → (dead, when).
    suspicions: HashMap<RmId, BTreeMap<RmId, (bool, Instant)>>,
    agreed_dead: BTreeMap<RmId, Instant>,
    fetched: mpsc::UnboundedSender<(u64, anyhow::Result<RmState>)>,
    /// Since when delivery has been behind the stable checkpoint.
    behind_since: Option<Instant>,
    /// Silences about requests up to here do not count: they waited behind this RM's own work.
    quiet_through: u64,
    /// When the replica was last replaced (no restart for slowness soon after one).
    last_replaced: Option<Instant>,
    /// Whether the replica's thread is what is slow (a silence counts only then).
    saturation: strikes::Saturation,
    /// Its Prometheus series.
    metrics: RmMetrics,
    out: Vec<Outgoing>,
    /// The RM's connection, for the operator's chaos commands (its drop filter).
    wire: Arc<Wire>,
    /// The durable log and snapshots (the store's writer thread).
    store: durable::StoreQueue,
    /// What the store has made durable.
    durable: Durable,
    /// Results computed but not sent yet: their requests are not on disk yet, or beyond an
    /// epoch promise. Ascending by sequence number.
    held_results: Vec<(FeId, ReplicaResult)>,
    /// Sequencer epochs: the promise and the epoch starts taken.
    epochs: Epochs,
    /// Its store held nothing at start and nothing has been delivered or installed since.
    fresh: bool,
    /// The canary swap in flight, and how the last one ended.
    canary: Option<canary::Canary>,
    last_canary: Option<String>,
}

/// Runs RM `rm` hosting `replica` until `shutdown`.
pub async fn run(
    config: Arc<ClusterConfig>,
    rm: RmId,
    replica: Arc<ReplicaHandle>,
    wire: Arc<Wire>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let (ready, _) = tokio::sync::watch::channel(false);
    run_reporting(config, rm, replica, wire, shutdown, ready).await
}

/// [`run`], setting `ready` once the RM has joined the cluster and serves (a local cluster
/// waits for it before taking requests).
pub async fn run_reporting(
    config: Arc<ClusterConfig>,
    rm: RmId,
    replica: Arc<ReplicaHandle>,
    wire: Arc<Wire>,
    shutdown: CancellationToken,
    ready: tokio::sync::watch::Sender<bool>,
) -> anyhow::Result<()> {
    let status = replica.status();
    let section = config
        .rm(rm)
        .ok_or_else(|| anyhow::anyhow!("rm {rm} is not in the cluster configuration"))?;
    let listener = tokio::net::TcpListener::bind(section.addr)
        .await
        .map_err(|e| {
            anyhow::anyhow!(crate::holder::bind_error(
                &format!("rm {rm}: state transfer port"),
                crate::holder::Proto::Tcp,
                section.addr,
                &e
            ))
        })?;
    let metrics = RmMetrics::new(rm);
    if let Some(addr) = section.metrics {
        let who = format!("rm {rm}");
        crate::metrics::serve(&who, addr, metrics.registry.clone(), shutdown.clone()).await?;
    }
    crate::metrics::WireRejects::register(&metrics.registry, &wire);
    let data_dir = config.rm_data_dir(rm);
    let (store, mut recovered) = if config.recovery.durable {
        dmtbs_store::open(&data_dir)
    } else {
        tracing::warn!(
            rm,
            "durable = false: the log is kept in memory; a restart loses it"
        );
        dmtbs_store::open_in_memory()
    }
    .map_err(|e| anyhow::anyhow!("rm {rm}: store in {}: {e}", data_dir.display()))?;
    for problem in &recovered.problems {
        tracing::error!(
            rm,
            problem,
            "store: a damaged part was refused; the peers supply it"
        );
    }
    let restored = durable::restored(rm, &mut recovered);
    let (committed_tx, mut committed) = mpsc::unbounded_channel();
    let store = durable::StoreQueue::new(store.start(committed_tx));
    let (done_tx, mut done) = mpsc::unbounded_channel();
    let (fetched, mut fetched_rx) = mpsc::unbounded_channel();
    let empty = RmState::empty().digest();
    let now = Instant::now();
    let mut node = Node {
        me: rm,
        transfer_codec: Arc::new(Codec::new(&config.cluster.key, NodeId::Rm(rm))),
        modules: Modules::new(&config, rm)?,
        applier: Applier::start(replica, done_tx, metrics.apply.clone()),
        delivery: Delivery::new(DeliveryConfig::new(rm, config.rm_ids()), 1),
        checkpoints: Checkpoints::new(
            rm,
            Stable {
                seq: 0,
                digest: empty,
                holders: config.rm_ids().into_iter().collect(),
            },
            config.recovery.checkpoint_every,
        ),
        strikes: Strikes::new(rm, config.recovery.strikes, config.recovery.slow_strikes),
        phase: Phase::Joining {
            since: now,
            first_answer: None,
            last_ask: now - RETRY,
            answers: BTreeMap::new(),
        },
        generation: 0,
        module: (status.module, status.hash),
        fed_through: 0,
        applied_through: 0,
        results_sent_through: 0,
        caught_up_at: 0,
        recent: BTreeMap::new(),
        swaps: 0,
        last_swap_reason: None,
        probes: HashMap::new(),
        last_probe: HashMap::new(),
        next_nonce: 1,
        suspicions: HashMap::new(),
        agreed_dead: BTreeMap::new(),
        fetched,
        behind_since: None,
        quiet_through: 0,
        last_replaced: None,
        saturation: strikes::Saturation::default(),
        metrics,
        out: Vec::new(),
        config: config.clone(),
        wire: wire.clone(),
        store,
        durable: Durable::default(),
        held_results: Vec::new(),
        epochs: Epochs::new(recovered.meta.clone()),
        fresh: recovered.fresh,
        canary: None,
        last_canary: None,
    };
    node.durable.promised = recovered.meta.promised;
    if let Some(restored) = restored {
        node.restore(restored);
    }
    tokio::spawn(transfer::serve(
        listener,
        node.transfer_codec.clone(),
        node.checkpoints.own_states(),
        config.clone(),
        shutdown.clone(),
        node.metrics.transfer_counters(),
    ));
    let mut tick = tokio::time::interval(Timeouts::ms(config.timeouts.rm_tick_ms));
    tracing::info!(rm, module = node.module.0, addr = %wire.transport.local_addr(), "replica manager up");
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            received = wire.recv() => {
                let (from, msg) = received?;
                node.on_message(from, msg);
            }
            Some(done) = done.recv() => node.on_done(done),
            Some((generation, state)) = fetched_rx.recv() => node.on_fetched(generation, state),
            Some(c) = committed.recv() => node.on_committed(c),
            _ = tick.tick() => {
                node.on_tick(Instant::now());
                node.sync_metrics();
            }
        }
        if !*ready.borrow() && matches!(node.phase, Phase::Serving) {
            ready.send_replace(true);
        }
        for o in std::mem::take(&mut node.out) {
            wire.send(o).await;
        }
    }
    if let Phase::Fetching { cancel, .. } = &node.phase {
        cancel.cancel();
    }
    tracing::info!(
        rm,
        delivered = node.delivery.delivered_through(),
        applied = node.applied_through,
        "replica manager stopped"
    );
    Ok(())
}

impl Node {
    /// The sequencer of the current epoch: where `Ack`s and `Nack`s go.
    fn sequencer(&self) -> NodeId {
        NodeId::sequencer_of(self.epochs.current().0)
    }

    fn on_message(&mut self, from: NodeId, msg: Message) {
        let peer = match from {
            NodeId::Rm(r) if r != self.me => Some(r),
            _ => None,
        };
        match msg {
            Message::Deliver(mut items) if from.is_sequencer() || peer.is_some() => {
                let before = items.len();
                // A sequencer numbers only in its own epochs (odd: the sequencer's, even: the
                // standby's); a peer forwards anyone's.
                items.retain(|item| {
                    (peer.is_some() || NodeId::sequencer_of(item.epoch) == from)
                        && self.epochs.admits(item)
                });
                self.metrics.refused_epoch(before - items.len());
                self.metrics.deliver(&self.delivery, &items);
                let delivered = self.delivery.on_deliver(items);
                self.delivered(delivered);
            }
            // Epoch messages only from the epoch's own sequencer: a promise can never count for
            // both the sequencer and the standby.
            Message::EpochWanted { epoch } if from == NodeId::sequencer_of(epoch) => {
                self.on_epoch_wanted(epoch);
            }
            Message::EpochStart {
                epoch,
                start,
                chain,
            } if from == NodeId::sequencer_of(epoch) => {
                self.on_epoch_start(epoch, start, chain);
            }
            // Heartbeats carry no epoch: only the current epoch's sequencer's say where the
            // history ends (a deposed one's would make this RM ask for numbers never given).
            Message::Heartbeat { latest } if from == self.sequencer() => {
                self.delivery.on_heartbeat(latest);
            }
            Message::Nack { rm, missing } if peer == Some(rm) => {
                let answers = self.delivery.on_peer_nack(rm, &missing);
                self.out.extend(answers);
            }
            Message::ResultsWanted(seqs) => {
                if let NodeId::FrontEnd(fe) = from {
                    let again: Vec<ReplicaResult> = seqs
                        .iter()
                        .filter_map(|seq| self.recent.get(seq))
                        .filter(|(owner, _)| *owner == fe)
                        .map(|(_, r)| r.clone())
                        .collect();
                    if !again.is_empty() {
                        self.metrics.results_resent(again.len());
                        self.out.push(Outgoing::To(from, Message::Results(again)));
                    }
                }
            }
            Message::Verdicts(verdicts) if matches!(from, NodeId::FrontEnd(_)) => {
                for verdict in verdicts {
                    self.on_verdict(verdict);
                }
            }
            Message::Checkpoint(c) if peer == Some(c.rm) => {
                let change = self.checkpoints.report(c.rm, c.seq, c.digest);
                self.on_change(change);
            }
            Message::CheckpointWanted if peer.is_some() => {
                // A joining RM answers too (with the empty state at 0): in a new cluster every
                // RM joins at once, and the one asking takes the newest answer anyway.
                let stable = self.checkpoints.stable();
                self.out.push(Outgoing::To(
                    from,
                    Message::StableCheckpoint(CheckpointDigest {
                        rm: self.me,
                        seq: stable.seq,
                        digest: stable.digest,
                    }),
                ));
                if let (Some(p), Phase::Joining { answers, .. }) = (peer, &self.phase) {
                    // The peer has just started, so it missed our question if we asked before
                    // it was up: ask it now rather than at the next retry. An RM that started
                    // first would otherwise join hundreds of requests late, from a checkpoint.
                    if !answers.contains_key(&p) {
                        self.out.push(Outgoing::To(from, Message::CheckpointWanted));
                    }
                }
            }
            Message::StableCheckpoint(c) if peer == Some(c.rm) => {
                if let Phase::Joining {
                    answers,
                    first_answer,
                    ..
                } = &mut self.phase
                {
                    answers.insert(c.rm, c);
                    first_answer.get_or_insert_with(Instant::now);
                } else {
                    // An RM restored from its disk asks too: a peer's stable checkpoint is that
                    // peer's report, and two equal ones tell it how far the cluster is.
                    let change = self.checkpoints.report(c.rm, c.seq, c.digest);
                    self.on_change(change);
                }
            }
            Message::Quarantined(entry) if peer.is_some() => {
                let running = entry.hash == self.module.1;
                // The module being installed (a fallback chosen a moment before a peer
                // quarantined it): choose again, keeping the running one if it is still good.
                let installing = match &self.phase {
                    Phase::Fetching { module, .. } | Phase::AwaitingCheckpoint { module, .. } => {
                        module.hash() == entry.hash
                    }
                    _ => false,
                };
                if self.modules.quarantine.add(entry) && (running || installing) {
                    self.recover(
                        SwapKind::Quarantined,
                        "its module was quarantined by a peer".into(),
                        if running { Choice::Next } else { Choice::Same },
                    );
                }
            }
            Message::Probe { nonce } if peer.is_some() => {
                let hang = Timeouts::ms(self.config.recovery.hang_ms);
                let stuck = matches!(self.phase, Phase::Failed)
                    || self.applier.busy_for().is_some_and(|t| t > hang);
                self.out.push(Outgoing::To(
                    from,
                    Message::ProbeReply {
                        nonce,
                        applied_through: self.applied_through,
                        stuck,
                    },
                ));
            }
            Message::ProbeReply { nonce, stuck, .. } => {
                if let Some(p) = peer
                    && self.probes.get(&p).is_some_and(|(n, _, _)| *n == nonce)
                {
                    self.probes.remove(&p);
                    if !stuck {
                        self.agreed_dead.remove(&p);
                    }
                    self.suspect(p, stuck);
                }
            }
            Message::Suspicion { suspect, dead } => {
                if let Some(voter) = peer {
                    self.count_suspicion(suspect, voter, dead);
                }
            }
            Message::Admin(command) => {
                if let NodeId::FrontEnd(_) = from {
                    self.on_admin(from, command);
                }
            }
            other => tracing::debug!(?from, ?other, "message not for a replica manager; ignored"),
        }
    }

    fn on_tick(&mut self, now: Instant) {
        self.canary_tick(now);
        match &mut self.phase {
            Phase::Joining {
                since,
                first_answer,
                last_ask,
                answers,
            } => {
                let peers = self.config.rms.len() - 1;
                let decided = answers.len() >= peers
                    || first_answer.is_some_and(|t| now.duration_since(t) >= JOIN_GATHER)
                    || (answers.is_empty() && now.duration_since(*since) >= JOIN_ALONE);
                if decided {
                    let newest = answers.values().map(|c| c.seq).max().unwrap_or(0);
                    let digest = answers
                        .values()
                        .find(|c| c.seq == newest)
                        .map(|c| c.digest)
                        .unwrap_or(self.checkpoints.stable().digest);
                    let holders = answers
                        .values()
                        .filter(|c| c.seq == newest && c.digest == digest)
                        .map(|c| c.rm)
                        .collect();
                    let target = Stable {
                        seq: newest,
                        digest,
                        holders,
                    };
                    tracing::info!(rm = self.me, checkpoint = newest, "joining the cluster");
                    match self.modules.load(&self.module.0) {
                        Ok(module) => self.obtain(module, target, true),
                        Err(e) => self.fail(format!("{e:#}")),
                    }
                } else if now.duration_since(*last_ask) >= RETRY {
                    *last_ask = now;
                    self.out.push(Outgoing::ToAllRms(Message::CheckpointWanted));
                }
                return; // no acks or NACKs before the starting point is known
            }
            Phase::Serving => {
                // Behind the stable checkpoint for a while (cut off, say): the peers have
                // dropped those requests from their logs, so catch up by state transfer.
                if self.delivery.delivered_through() < self.checkpoints.stable().seq {
                    let since = *self.behind_since.get_or_insert(now);
                    if now.duration_since(since) > BEHIND_FOR {
                        self.catch_up();
                    }
                } else {
                    self.behind_since = None;
                }
            }
            Phase::AwaitingCheckpoint { from, .. } => {
                let target = self.checkpoints.stable().clone();
                if target.seq >= *from
                    && let Phase::AwaitingCheckpoint { module, .. } =
                        std::mem::replace(&mut self.phase, Phase::Failed)
                {
                    self.obtain(module, target, false);
                }
            }
            Phase::Fetching { .. } | Phase::Failed => {}
        }
        if let Some(nack) = self.delivery.nack(now) {
            // The delivery layer names "the sequencer": the one of the current epoch.
            self.out.push(match nack {
                Outgoing::To(NodeId::Sequencer, msg) => Outgoing::To(self.sequencer(), msg),
                other => other,
            });
        }
        // What is on disk, not merely delivered: a new sequencer starts numbering once a
        // majority has its history durably. The epoch and the promise go with it: the
        // sequencer counts an Ack only from an RM in its epoch that promised no later one — a
        // majority acking means a majority is in the new epoch, so a later sequencer always
        // learns of it and never numbers in the same epoch again — and a promise above its
        // epoch that stays unstarted makes it recover above it (sim/ seeds 34791 and 5961).
        self.out.push(Outgoing::To(
            self.sequencer(),
            Message::Ack {
                rm: self.me,
                through: self.durable.through,
                epoch: self.epochs.current().0,
                promised: self.epochs.meta.promised,
            },
        ));
        // Probes unanswered in time: the suspect is dead (or cannot be reached).
        let timeout = Timeouts::ms(self.config.recovery.probe_timeout_ms);
        let expired: Vec<RmId> = self
            .probes
            .iter()
            .filter(|(_, (_, first, _))| now.duration_since(*first) > timeout)
            .map(|(&r, _)| r)
            .collect();
        // A probe or its answer may be lost: ask again, three times within the timeout.
        for (&suspect, (nonce, _, last)) in self.probes.iter_mut() {
            if now.duration_since(*last) > timeout / 3 {
                *last = now;
                self.out.push(Outgoing::To(
                    NodeId::Rm(suspect),
                    Message::Probe { nonce: *nonce },
                ));
            }
        }
        for suspect in expired {
            self.probes.remove(&suspect);
            self.suspect(suspect, true);
        }
    }

    /// A front end's judgement of one request: strikes, and probes of the RMs it found silent.
    fn on_verdict(&mut self, verdict: Verdict) {
        self.metrics.verdict(&verdict, self.me);
        if matches!(self.phase, Phase::Serving) {
            // A silence counts against the replica only if the request had reached it
            // and was not waiting behind this RM's own work (an import, a checkpoint,
            // a replay) — otherwise restarts would feed on themselves under load.
            let counts = verdict.seq <= self.delivery.delivered_through()
                && verdict.seq > self.quiet_through
                && self.applied_through >= self.caught_up_at
                && self
                    .last_replaced
                    .is_none_or(|t| t.elapsed() > SLOW_COOLDOWN)
                // ... and only if the replica itself is the bottleneck (its thread busy
                // at least half the time), not a machine too loaded to run it.
                && self
                    .saturation
                    .saturated(Instant::now(), self.applier.cpu_time());
            match self.strikes.on_verdict(&verdict, counts) {
                Some(Trigger::Wrong) => self.recover(
                    SwapKind::Wrong,
                    format!(
                        "{} consecutive wrong results (last at request {})",
                        self.strikes.wrong, verdict.seq
                    ),
                    Choice::Next,
                ),
                Some(Trigger::Slow) => self.recover(
                    SwapKind::Silent,
                    format!(
                        "silent past the deadline {} times in a row",
                        self.strikes.silent
                    ),
                    Choice::Same,
                ),
                None => {}
            }
        }
        let me = self.me;
        for &suspect in verdict.silent.iter().filter(|&&s| s != me) {
            self.probe(suspect);
        }
    }
}
