//! The one wasmtime `Engine` of a process, configured for deterministic, metered execution, and
//! the thread that advances its epoch.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::limits::Limits;

/// How often the epoch advances. Deadlines are whole ticks, so this is their resolution.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Shared by every module and instance of a process. Cheap to clone.
#[derive(Clone)]
pub struct Runtime {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub engine: wasmtime::Engine,
    pub limits: Limits,
    /// Where compiled artifacts are kept; `None` compiles every time.
    pub cache_dir: Option<PathBuf>,
    stop_ticker: Arc<AtomicBool>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.stop_ticker.store(true, Ordering::Relaxed);
    }
}

impl Runtime {
    /// A runtime with the given limits, caching compiled artifacts under `cache_dir`.
    pub fn new(limits: Limits, cache_dir: Option<PathBuf>) -> anyhow::Result<Self> {
        let mut config = wasmtime::Config::new();
        config
            .wasm_component_model(true)
            // Deterministic execution: the same requests give the same results and fuel on
            // every machine.
            .consume_fuel(true)
            .cranelift_nan_canonicalization(true)
            .relaxed_simd_deterministic(true)
            .epoch_interruption(true)
            // Replicas are synchronous; the concurrency machinery costs ~0.45 µs per call.
            .concurrency_support(false);
        let engine = wasmtime::Engine::new(&config).map_err(anyhow::Error::from)?;

        let stop_ticker = Arc::new(AtomicBool::new(false));
        let ticker_engine = engine.weak();
        let stop = stop_ticker.clone();
        std::thread::Builder::new()
            .name("dmtbs-epoch".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    match ticker_engine.upgrade() {
                        Some(engine) => engine.increment_epoch(),
                        None => break,
                    }
                }
            })?;

        Ok(Runtime {
            inner: Arc::new(Inner {
                engine,
                limits,
                cache_dir,
                stop_ticker,
            }),
        })
    }

    pub fn limits(&self) -> &Limits {
        &self.inner.limits
    }

    pub fn engine(&self) -> &wasmtime::Engine {
        &self.inner.engine
    }

    /// Epoch ticks that make up `deadline` (at least one).
    pub(crate) fn ticks(deadline: Duration) -> u64 {
        (deadline.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64
    }
}
