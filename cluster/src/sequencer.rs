//! The sequencer node: the sans-IO [`Failover`] (a [`Sequencer`], and whether it is the active
//! one of two) bound to a transport and a clock. The same code runs the sequencer and the
//! standby a cluster file may name; the wire's node says which.
//!
//! An active sequencer starts by recovering its epoch from the replica managers (see
//! `dmtbs_sequencer`): it logs a warning each second while RMs have not answered, and once the
//! epoch numbers, how it started. When a majority of the RMs lost their disks it refuses to
//! start: [`run`] returns the [`StartRefused`] error, which `dmtbs sequencer` prints before
//! exiting with [`EXIT_START_REFUSED`] — the code `dmtbs up` does not restart.

use std::sync::Arc;
use std::time::{Duration, Instant};

use dmtbs_metrics::SharedRegistry;
use dmtbs_metrics::prometheus_client::metrics::counter::Counter;
use dmtbs_metrics::prometheus_client::metrics::family::Family;
use dmtbs_metrics::prometheus_client::metrics::gauge::Gauge;
use dmtbs_proto::{NodeId, RmId};
pub use dmtbs_sequencer::StartRefused;
use dmtbs_sequencer::{Failover, Phase, Sequencer, SequencerConfig, SequencerStats};
use tokio_util::sync::CancellationToken;

use crate::config::{ClusterConfig, Timeouts};
use crate::metrics::{WireRejects, gauge, mirror};
use crate::wire::Wire;

/// How often the sequencer's clock advances (heartbeats, buffer release).
const TICK: Duration = Duration::from_millis(10);
/// While the epoch is not numbering yet, how often the RMs it waits for are named in a warning.
const WAITING_WARNING: Duration = Duration::from_secs(1);

/// The exit code of a sequencer process that refused to start because a majority of the RMs
/// lost their disks ([`StartRefused`]): restarting it cannot help, so `dmtbs up` stops the
/// cluster instead of restarting it. Other errors exit with 2.
pub const EXIT_START_REFUSED: u8 = 3;

/// Whether `error` is a sequencer's refusal to start ([`StartRefused`]), anywhere in its chain.
pub fn is_start_refusal(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| cause.is::<StartRefused>())
}

/// Runs the sequencer or the standby on `wire` (made for `NodeId::Sequencer` or
/// `NodeId::Standby`) until `shutdown`: once active, recovers its epoch from the RMs, then
/// numbers. A refusal to start is returned as a [`StartRefused`] error (see
/// [`is_start_refusal`]).
pub async fn run(
    config: Arc<ClusterConfig>,
    wire: Arc<Wire>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let me = wire.node();
    let section = config
        .sequencer_section(me)
        .ok_or_else(|| anyhow::anyhow!("{me} is not a sequencer of this cluster"))?;
    let mut sequencer_config = SequencerConfig::new(config.rm_ids());
    sequencer_config.me = me;
    sequencer_config.heartbeat_interval = Timeouts::ms(config.timeouts.heartbeat_ms);
    let peer = config.sequencers().into_iter().find(|&s| s != me);
    let mut failover = Failover::new(
        sequencer_config,
        peer,
        Timeouts::ms(config.timeouts.sequencer_failover_ms),
        Instant::now(),
    );
    let registry = dmtbs_metrics::registry("dmtbs_sequencer");
    let mut metrics = Metrics::register(&registry, &wire);
    if let Some(addr) = section.metrics {
        crate::metrics::serve(&me.to_string(), addr, registry, shutdown.clone()).await?;
    }
    let mut tick = tokio::time::interval(TICK);
    match peer {
        None => tracing::info!(
            addr = %wire.transport.local_addr(),
            "sequencer up; learning from the replica managers where the history ends"
        ),
        Some(peer) => tracing::info!(
            addr = %wire.transport.local_addr(),
            %peer,
            "{me} up; passive while {peer} is active, taking over once it is silent for {} ms",
            config.timeouts.sequencer_failover_ms
        ),
    }
    let mut began = Instant::now();
    // The epoch whose start was announced, and the take-over it belongs to.
    let mut announced: Option<u64> = None;
    let mut active_since: Option<u64> = None;
    let mut next_warning = began + WAITING_WARNING;
    let mut progress = None;
    wire.set_progress(dmtbs_proto::Progress {
        phase: "passive".into(),
        ..Default::default()
    });
    loop {
        let out = tokio::select! {
            _ = shutdown.cancelled() => break,
            received = wire.recv() => match received? {
                // An operator's chaos command through a front end: the wire's business.
                (from @ NodeId::FrontEnd(_), dmtbs_proto::Message::Admin(command)) => {
                    vec![wire.answer_admin(from, &command)]
                }
                (from, msg) => failover.on_message(from, msg, wire.today(), Instant::now()),
            },
            _ = tick.tick() => failover.on_tick(Instant::now()),
        };
        // Before anything goes out: whoever saw an effect of this step (an answer that needed
        // this sequence number) finds it counted. Copying the stats is a few atomic stores.
        metrics.update(&failover);
        // What the status page's sequencer row shows (set only when it changed).
        let now_progress = failover
            .sequencer()
            .map(|s| (s.epoch(), s.latest(), s.phase()));
        if now_progress != progress {
            progress = now_progress;
            wire.set_progress(match progress {
                Some((epoch, latest, phase)) => dmtbs_proto::Progress {
                    epoch,
                    latest,
                    phase: phase.to_string(),
                },
                None => dmtbs_proto::Progress {
                    phase: "passive".into(),
                    ..Default::default()
                },
            });
        }
        for o in out {
            wire.send(o).await;
        }
        let Some(sequencer) = failover.sequencer() else {
            active_since = None;
            continue;
        };
        if let Some(refusal) = sequencer.refusal() {
            return Err(anyhow::Error::new(refusal.clone()));
        }
        let now = Instant::now();
        let took_over = failover.stats().took_over;
        if active_since != Some(took_over) {
            active_since = Some(took_over);
            announced = None;
            began = now;
            next_warning = now + WAITING_WARNING;
        }
        if announced.is_some() {
            continue;
        }
        if sequencer.phase() == Phase::Numbering {
            announced = Some(sequencer.epoch());
            announce_epoch(me, sequencer, now.duration_since(began));
        } else if now >= next_warning {
            next_warning = now + WAITING_WARNING;
            warn_waiting(sequencer, now.duration_since(began));
        }
    }
    match failover.sequencer() {
        Some(sequencer) => tracing::info!(
            epoch = sequencer.epoch(),
            latest = sequencer.latest(),
            "{me} stopped"
        ),
        None => tracing::info!("{me} stopped (passive)"),
    }
    Ok(())
}

/// The epoch numbers: how it started, and how long learning the history took.
fn announce_epoch(me: NodeId, sequencer: &Sequencer, took: Duration) {
    let learned: Vec<String> = sequencer
        .epoch_states()
        .map(|s| {
            if s.fresh {
                format!("{} (empty store)", s.rm)
            } else {
                format!("{} (through {})", s.rm, s.durable_through)
            }
        })
        .collect();
    tracing::info!(
        "{me} epoch {} numbers from {} (history learned from RMs {}, took {} ms)",
        sequencer.epoch(),
        sequencer.start() + 1,
        learned.join(", "),
        took.as_millis()
    );
}

/// Still not numbering: names the RMs the sequencer waits for.
fn warn_waiting(sequencer: &Sequencer, waited: Duration) {
    let rms = |list: Vec<RmId>| {
        list.iter()
            .map(RmId::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let majority = sequencer.config().rms.len() / 2 + 1;
    match sequencer.phase() {
        Phase::Recovering => tracing::warn!(
            epoch = sequencer.epoch(),
            waited_ms = waited.as_millis() as u64,
            "sequencer not numbering yet: no answer for epoch {} from RMs {} ({} of {} must \
             answer, more if some report an empty store); asking again",
            sequencer.epoch(),
            rms(sequencer.waiting_for()),
            majority,
            sequencer.config().rms.len()
        ),
        Phase::Starting => tracing::warn!(
            epoch = sequencer.epoch(),
            waited_ms = waited.as_millis() as u64,
            "sequencer not numbering yet: epoch {} starts after {}, and RMs {} have not \
             acknowledged everything through it ({} of {} must)",
            sequencer.epoch(),
            sequencer.start(),
            rms(sequencer.waiting_for()),
            majority,
            sequencer.config().rms.len()
        ),
        Phase::Numbering => {}
    }
}

/// The sequencer's series (docs/metrics.md), mirrored from [`Sequencer::stats`] and its gauges
/// after every step of the node (a message handled, a tick).
struct Metrics {
    sequenced: Counter,
    duplicates: Counter,
    stale: Counter,
    nacks: Counter,
    retransmitted: Counter,
    nack_misses: Counter,
    heartbeats: Counter,
    evicted_unacked: Counter,
    /// Refused `Submit`s plus other messages the sequencer ignored.
    refused: Counter,
    submits_while_recovering: Counter,
    took_over: Counter,
    stepped_down: Counter,
    active: Gauge,
    epoch: Gauge,
    epoch_start: Gauge,
    recovering: Gauge,
    latest: Gauge,
    buffered: Gauge,
    acked_through: Family<Vec<(String, String)>, Gauge>,
    /// The configured RMs, with their `rm` label.
    rms: Vec<(RmId, Vec<(String, String)>)>,
    /// The stats of the sequencers this process ran before the current one (each take-over
    /// starts a new [`Sequencer`] counting from zero), and the take-over they end at.
    earlier: SequencerStats,
    current: (u64, SequencerStats),
}

impl Metrics {
    fn register(registry: &SharedRegistry, wire: &Arc<Wire>) -> Self {
        let metrics = Metrics {
            sequenced: Counter::default(),
            duplicates: Counter::default(),
            stale: Counter::default(),
            nacks: Counter::default(),
            retransmitted: Counter::default(),
            nack_misses: Counter::default(),
            heartbeats: Counter::default(),
            evicted_unacked: Counter::default(),
            refused: Counter::default(),
            submits_while_recovering: Counter::default(),
            took_over: Counter::default(),
            stepped_down: Counter::default(),
            active: Gauge::default(),
            epoch: Gauge::default(),
            epoch_start: Gauge::default(),
            recovering: Gauge::default(),
            latest: Gauge::default(),
            buffered: Gauge::default(),
            acked_through: Family::default(),
            rms: wire
                .config
                .rm_ids()
                .into_iter()
                .map(|rm| (rm, vec![("rm".to_owned(), rm.to_string())]))
                .collect(),
            earlier: SequencerStats::default(),
            current: (0, SequencerStats::default()),
        };
        let m = &metrics;
        let mut r = registry.lock().unwrap_or_else(|p| p.into_inner());
        r.register(
            "requests_sequenced",
            "Requests given a sequence number",
            m.sequenced.clone(),
        );
        r.register(
            "duplicate_submissions",
            "Retransmitted submissions answered with their original number from the dedup window",
            m.duplicates.clone(),
        );
        r.register(
            "stale_submissions",
            "Retransmissions older than the dedup window: refused, never sequenced again",
            m.stale.clone(),
        );
        r.register(
            "nacks",
            "NACKs (retransmission requests) from replica managers answered",
            m.nacks.clone(),
        );
        r.register(
            "retransmitted_requests",
            "Requests re-sent to a replica manager in answer to its NACKs",
            m.retransmitted.clone(),
        );
        r.register(
            "nack_misses",
            "Requests asked for in NACKs but no longer buffered (the RM repairs from its peers)",
            m.nack_misses.clone(),
        );
        r.register("heartbeats", "Heartbeats sent", m.heartbeats.clone());
        r.register(
            "evicted_unacked",
            "Requests pushed out of the full retransmission buffer before every live RM had them",
            m.evicted_unacked.clone(),
        );
        r.register(
            "refused_messages",
            "Authentic messages refused: submits not from the front end they name, acks/NACKs \
             not from the RM they name, messages a sequencer never receives",
            m.refused.clone(),
        );
        r.register(
            "submits_while_recovering",
            "Submits that arrived before the epoch numbered (recovering or starting): neither \
             sequenced nor answered, the front ends resend them",
            m.submits_while_recovering.clone(),
        );
        r.register(
            "took_over",
            "Times this sequencer became the active one (at its start when it has no standby, \
             or when the other fell silent)",
            m.took_over.clone(),
        );
        r.register(
            "stepped_down",
            "Times this sequencer stopped numbering on hearing the other active in a higher epoch",
            m.stepped_down.clone(),
        );
        r.register(
            "active",
            "1 while this sequencer is the active one (recovering, starting or numbering), 0 \
             while passive (a standby, or a sequencer whose standby took over)",
            m.active.clone(),
        );
        r.register(
            "epoch",
            "The epoch this sequencer numbers in (while recovering: the one it asks the RMs to \
             promise; while passive: the highest the other was heard active in)",
            m.epoch.clone(),
        );
        r.register(
            "epoch_start",
            "Where the epoch starts: it numbers from this plus one (0 while recovering)",
            m.epoch_start.clone(),
        );
        r.register(
            "recovering",
            "1 while the sequencer does not number yet (learning the history from the RMs, or \
             waiting for a majority to hold it all), 0 once it numbers",
            m.recovering.clone(),
        );
        r.register(
            "latest_seq",
            "The highest sequence number in the history: the last one given, or the epoch's \
             start before its first request (0 while recovering)",
            m.latest.clone(),
        );
        r.register(
            "buffered_requests",
            "Sequenced requests held for retransmission",
            m.buffered.clone(),
        );
        r.register(
            "acked_through",
            "The highest sequence number each replica manager acknowledged having",
            m.acked_through.clone(),
        );
        drop(r);
        WireRejects::register(registry, wire);
        metrics
    }

    fn update(&mut self, failover: &Failover) {
        let took_over = failover.stats().took_over;
        if let Some(sequencer) = failover.sequencer() {
            if self.current.0 != took_over {
                self.earlier += self.current.1;
                self.current = (took_over, SequencerStats::default());
            }
            self.current.1 = sequencer.stats();
        }
        let mut stats = self.earlier;
        stats += self.current.1;
        mirror(&self.sequenced, stats.sequenced);
        mirror(&self.duplicates, stats.duplicates);
        mirror(&self.stale, stats.stale);
        mirror(&self.nacks, stats.nacks);
        mirror(&self.retransmitted, stats.retransmitted);
        mirror(&self.nack_misses, stats.nack_misses);
        mirror(&self.heartbeats, stats.heartbeats);
        mirror(&self.evicted_unacked, stats.evicted_unacked);
        mirror(
            &self.refused,
            stats.bad_submits + stats.ignored + failover.stats().ignored_while_passive,
        );
        mirror(
            &self.submits_while_recovering,
            stats.submits_while_recovering,
        );
        mirror(&self.took_over, took_over);
        mirror(&self.stepped_down, failover.stats().stepped_down);
        let Some(sequencer) = failover.sequencer() else {
            self.active.set(0);
            self.epoch.set(gauge(failover.peer_epoch()));
            self.recovering.set(0);
            self.buffered.set(0);
            return;
        };
        self.active.set(1);
        self.epoch.set(gauge(sequencer.epoch()));
        self.epoch_start.set(gauge(sequencer.start()));
        self.recovering
            .set(i64::from(sequencer.phase() != Phase::Numbering));
        self.latest.set(gauge(sequencer.latest()));
        self.buffered.set(gauge(sequencer.buffered() as u64));
        for (rm, labels) in &self.rms {
            let acked = sequencer.acked_through(*rm).unwrap_or(0);
            self.acked_through.get_or_create(labels).set(gauge(acked));
        }
    }
}
