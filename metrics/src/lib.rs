//! Prometheus metrics plumbing every node shares.
//!
//! Each node (front end, sequencer, replica manager) keeps its own typed metrics in a
//! [`Registry`] (families of counters, gauges and histograms from [`prometheus_client`]) and
//! exposes them in the Prometheus text format (0.0.4): the front end on its HTTP port, the
//! sequencer and the replica managers on a small listener of their own ([`serve`]) at the address
//! their configuration section gives as `metrics`. What each node counts is documented where it
//! counts it; `docs/metrics.md` lists every series.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::http::header::CONTENT_TYPE as CONTENT_TYPE_HEADER;
use axum::response::IntoResponse;
use axum::routing::get;
use tokio_util::sync::CancellationToken;

pub use prometheus_client;
pub use prometheus_client::registry::Registry;

/// The `Content-Type` of what [`encode`] produces (Prometheus text format 0.0.4).
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// A registry shared between the node that updates its metrics and the listener that reads them.
/// Metrics are registered once at start; updates go through the metric handles (atomics), so the
/// lock is only held while registering or encoding.
pub type SharedRegistry = Arc<Mutex<Registry>>;

/// A new, empty registry whose series all start with `prefix` (`dmtbs_fe`, `dmtbs_sequencer`,
/// `dmtbs_rm`).
pub fn registry(prefix: &str) -> SharedRegistry {
    let mut registry = Registry::with_prefix(prefix);
    register_node_info(&mut registry);
    Arc::new(Mutex::new(registry))
}

/// Registers what every node reports about itself, so a restart shows in Prometheus (the start
/// time jumps) and so does an upgrade: `start_time_seconds` (when this node's metrics were
/// made, UNIX seconds), `build_info{version}` (always 1) and its process's CPU, memory and
/// descriptors (`process_*`, read at each scrape).
pub fn register_node_info(registry: &mut Registry) {
    use prometheus_client::metrics::family::Family;
    use prometheus_client::metrics::gauge::Gauge;
    let started = Gauge::<i64>::default();
    started.set(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
    );
    registry.register(
        "start_time_seconds",
        "When this node started (UNIX time, seconds): a restart shows as a jump",
        started,
    );
    let info = Family::<Vec<(String, String)>, Gauge>::default();
    info.get_or_create(&vec![(
        "version".to_owned(),
        env!("CARGO_PKG_VERSION").to_owned(),
    )])
    .set(1);
    registry.register("build_info", "The build this node runs (always 1)", info);
    registry.register_collector(Box::new(ProcessCollector));
}

/// The registry's metrics in the Prometheus text format.
pub fn encode(registry: &SharedRegistry) -> String {
    let mut text = String::new();
    let registry = registry
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    // Writing to a String cannot fail.
    prometheus_client::encoding::prometheus_text::encode(&mut text, &registry)
        .expect("encoding metrics into a String");
    text
}

/// What the node's process costs, read from `/proc` at each scrape (nothing where there is no
/// `/proc`): `process_cpu_seconds_total`, `process_resident_memory_bytes`, `process_open_fds` and
/// `process_max_fds` (the soft limit), under the node's prefix and labels like every series it
/// serves (nodes sharing one process, as in `LocalCluster`, report the same values).
#[derive(Debug)]
struct ProcessCollector;

impl prometheus_client::collector::Collector for ProcessCollector {
    fn encode(
        &self,
        mut encoder: prometheus_client::encoding::DescriptorEncoder,
    ) -> Result<(), std::fmt::Error> {
        use prometheus_client::encoding::EncodeMetric;
        use prometheus_client::metrics::counter::ConstCounter;
        use prometheus_client::metrics::gauge::ConstGauge;
        let stat = std::fs::read_to_string("/proc/self/stat").ok();
        // After the command name (in parentheses, which may hold spaces): state is field 3,
        // utime and stime 14 and 15, in clock ticks of 1/100 s (USER_HZ on Linux).
        let cpu = stat.as_deref().and_then(|s| {
            let fields: Vec<&str> = s[s.rfind(')')? + 1..].split_whitespace().collect();
            let ticks: u64 =
                fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
            Some(ticks as f64 / 100.0)
        });
        if let Some(cpu) = cpu {
            let counter = ConstCounter::new(cpu);
            let metric = encoder.encode_descriptor(
                "process_cpu_seconds",
                "Total user and system CPU time of the process, in seconds",
                None,
                counter.metric_type(),
            )?;
            counter.encode(metric)?;
        }
        let rss = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
                let kib: i64 = line.split_whitespace().nth(1)?.parse().ok()?;
                Some(kib * 1024)
            });
        let open = std::fs::read_dir("/proc/self/fd")
            .ok()
            .map(|d| d.count() as i64);
        let max = std::fs::read_to_string("/proc/self/limits")
            .ok()
            .and_then(|s| {
                let line = s.lines().find(|l| l.starts_with("Max open files"))?;
                line.split_whitespace().nth(3)?.parse::<i64>().ok()
            });
        for (name, help, value) in [
            (
                "process_resident_memory_bytes",
                "Resident memory of the process (VmRSS), in bytes",
                rss,
            ),
            (
                "process_open_fds",
                "Open file descriptors of the process",
                open,
            ),
            (
                "process_max_fds",
                "The process's soft limit of open file descriptors",
                max,
            ),
        ] {
            if let Some(v) = value {
                let gauge = ConstGauge::new(v);
                let metric = encoder.encode_descriptor(name, help, None, gauge.metric_type())?;
                gauge.encode(metric)?;
            }
        }
        Ok(())
    }
}

/// Latency buckets in seconds, 100 µs to ~13 s by factors of 2: requests through the cluster
/// take around a millisecond on loopback, a replica swap a few hundred.
pub fn latency_buckets() -> impl Iterator<Item = f64> {
    prometheus_client::metrics::histogram::exponential_buckets(0.0001, 2.0, 18)
}

/// A router answering `GET /metrics` with `registry`'s metrics (mounted by the front end beside
/// its API; served alone by [`serve`]).
pub fn router(registry: SharedRegistry) -> Router {
    Router::new().route(
        "/metrics",
        get(move || {
            let registry = registry.clone();
            async move { ([(CONTENT_TYPE_HEADER, CONTENT_TYPE)], encode(&registry)).into_response() }
        }),
    )
}

/// Serves `GET /metrics` on `listener` until `shutdown`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    registry: SharedRegistry,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "metrics at http://{addr}/metrics");
    }
    axum::serve(listener, router(registry))
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
}
