//! What the sequencer's and the replica managers' metrics share: serving them at the configured
//! address, the wire's reject counters, and counters that mirror a state machine's own.
//! docs/metrics.md lists every series.

use std::net::SocketAddr;
use std::sync::Arc;

use dmtbs_metrics::SharedRegistry;
use dmtbs_metrics::prometheus_client::collector::Collector;
use dmtbs_metrics::prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use dmtbs_metrics::prometheus_client::metrics::MetricType;
use dmtbs_metrics::prometheus_client::metrics::counter::{ConstCounter, Counter};
use tokio_util::sync::CancellationToken;

use crate::wire::Wire;

/// Binds `addr` and serves `registry` there until `shutdown`. Binding is done before returning,
/// so a taken port is a startup error naming `who`, not a log line later.
pub(crate) async fn serve(
    who: &str,
    addr: SocketAddr,
    registry: SharedRegistry,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        anyhow::anyhow!(crate::holder::bind_error(
            &format!("{who}: metrics address"),
            crate::holder::Proto::Tcp,
            addr,
            &e
        ))
    })?;
    let who = who.to_owned();
    tokio::spawn(async move {
        if let Err(e) = dmtbs_metrics::serve(listener, registry, shutdown).await {
            tracing::error!(who, error = %e, "metrics listener stopped");
        }
    });
    Ok(())
}

/// Raises `counter` to `total`, a count kept by a sans-IO state machine (counts only grow;
/// each counter has one writer, the node's loop).
pub(crate) fn mirror(counter: &Counter, total: u64) {
    let shown = counter.get();
    if total > shown {
        counter.inc_by(total - shown);
    }
}

/// A count as a gauge value (gauges are `i64`; sequence numbers never come near its limit).
pub(crate) fn gauge(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// `datagrams_rejected_total{reason}`: the wire's reject counters, read at each scrape.
pub(crate) struct WireRejects(Arc<Wire>);

// `Collector` asks for `Debug`; `Wire` has none.
impl std::fmt::Debug for WireRejects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WireRejects({:?})", self.0.node())
    }
}

impl WireRejects {
    pub(crate) fn register(registry: &SharedRegistry, wire: &Arc<Wire>) {
        registry
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .register_collector(Box::new(WireRejects(wire.clone())));
    }
}

impl Collector for WireRejects {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let mut family = encoder.encode_descriptor(
            "datagrams_rejected",
            "Datagrams refused by the wire, per reason (forged, malformed, oversized, replayed, \
             or authentic but from another node's address)",
            None,
            MetricType::Counter,
        )?;
        for (reason, count) in self.0.rejects().by_reason() {
            let labels = [("reason", reason)];
            ConstCounter::new(count).encode(family.encode_family(&labels)?)?;
        }
        Ok(())
    }
}
