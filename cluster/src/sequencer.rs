//! The sequencer node: the sans-IO [`Sequencer`] bound to a transport and a clock.

use std::sync::Arc;
use std::time::{Duration, Instant};

use dmtbs_metrics::SharedRegistry;
use dmtbs_metrics::prometheus_client::metrics::counter::Counter;
use dmtbs_metrics::prometheus_client::metrics::family::Family;
use dmtbs_metrics::prometheus_client::metrics::gauge::Gauge;
use dmtbs_proto::RmId;
use dmtbs_sequencer::{Sequencer, SequencerConfig};
use tokio_util::sync::CancellationToken;

use crate::config::{ClusterConfig, Timeouts};
use crate::metrics::{WireRejects, gauge, mirror};
use crate::wire::Wire;

/// How often the sequencer's clock advances (heartbeats, buffer release).
const TICK: Duration = Duration::from_millis(10);

/// Runs the sequencer on `wire` (made for `NodeId::Sequencer`) until `shutdown`.
pub async fn run(
    config: Arc<ClusterConfig>,
    wire: Arc<Wire>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let mut sequencer_config = SequencerConfig::new(config.rm_ids());
    sequencer_config.heartbeat_interval = Timeouts::ms(config.timeouts.heartbeat_ms);
    let mut sequencer = Sequencer::new(sequencer_config);
    let registry = dmtbs_metrics::registry("dmtbs_sequencer");
    let metrics = Metrics::register(&registry, &wire);
    if let Some(addr) = config.sequencer.metrics {
        crate::metrics::serve("sequencer", addr, registry, shutdown.clone()).await?;
    }
    let mut tick = tokio::time::interval(TICK);
    tracing::info!(addr = %wire.transport.local_addr(), "sequencer up");
    loop {
        let out = tokio::select! {
            _ = shutdown.cancelled() => break,
            received = wire.recv() => match received? {
                // An operator's chaos command through a front end: the wire's business.
                (from @ dmtbs_proto::NodeId::FrontEnd(_), dmtbs_proto::Message::Admin(command)) => {
                    vec![wire.answer_admin(from, &command)]
                }
                (from, msg) => sequencer.on_message(from, msg, wire.today(), Instant::now()),
            },
            _ = tick.tick() => sequencer.on_tick(Instant::now()),
        };
        // Before anything goes out: whoever saw an effect of this step (an answer that needed
        // this sequence number) finds it counted. Copying the stats is a few atomic stores.
        metrics.update(&sequencer);
        for o in out {
            wire.send(o).await;
        }
    }
    tracing::info!(latest = sequencer.latest(), "sequencer stopped");
    Ok(())
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
    latest: Gauge,
    buffered: Gauge,
    acked_through: Family<Vec<(String, String)>, Gauge>,
    /// The configured RMs, with their `rm` label.
    rms: Vec<(RmId, Vec<(String, String)>)>,
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
            latest: Gauge::default(),
            buffered: Gauge::default(),
            acked_through: Family::default(),
            rms: wire
                .config
                .rm_ids()
                .into_iter()
                .map(|rm| (rm, vec![("rm".to_owned(), rm.to_string())]))
                .collect(),
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
            "latest_seq",
            "The highest sequence number given (0 before the first request)",
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

    fn update(&self, sequencer: &Sequencer) {
        let stats = sequencer.stats();
        mirror(&self.sequenced, stats.sequenced);
        mirror(&self.duplicates, stats.duplicates);
        mirror(&self.stale, stats.stale);
        mirror(&self.nacks, stats.nacks);
        mirror(&self.retransmitted, stats.retransmitted);
        mirror(&self.nack_misses, stats.nack_misses);
        mirror(&self.heartbeats, stats.heartbeats);
        mirror(&self.evicted_unacked, stats.evicted_unacked);
        mirror(&self.refused, stats.bad_submits + stats.ignored);
        self.latest.set(gauge(sequencer.latest()));
        self.buffered.set(gauge(sequencer.buffered() as u64));
        for (rm, labels) in &self.rms {
            let acked = sequencer.acked_through(*rm).unwrap_or(0);
            self.acked_through.get_or_create(labels).set(gauge(acked));
        }
    }
}
