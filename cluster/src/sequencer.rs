//! The sequencer node: the sans-IO [`Sequencer`] bound to a transport and a clock.

use std::sync::Arc;
use std::time::{Duration, Instant};

use dmtbs_sequencer::{Sequencer, SequencerConfig};
use tokio_util::sync::CancellationToken;

use crate::config::{ClusterConfig, Timeouts};
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
    let mut tick = tokio::time::interval(TICK);
    tracing::info!(addr = %wire.transport.local_addr(), "sequencer up");
    loop {
        let out = tokio::select! {
            _ = shutdown.cancelled() => break,
            received = wire.recv() => {
                let (from, msg) = received?;
                sequencer.on_message(from, msg, wire.today(), Instant::now())
            }
            _ = tick.tick() => sequencer.on_tick(Instant::now()),
        };
        for o in out {
            wire.send(o).await;
        }
    }
    tracing::info!(latest = sequencer.latest(), "sequencer stopped");
    Ok(())
}
