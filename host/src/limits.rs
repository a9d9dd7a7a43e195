//! The sandbox's resource limits, in one place.

use std::time::Duration;

/// Limits applied to every replica instance. Fuel makes runaway computation fail the same way on
/// every run (it is deterministic); the epoch deadline is only a wall-clock backstop.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Fuel (≈ wasm instructions) one `apply` may burn. Real requests use a tiny fraction of
    /// this even on a 100,000-booking state (see docs/benchmarks.md); an endless loop burns it in
    /// well under a second.
    pub fuel_per_request: u64,
    /// Fuel for an `export-state`, and the base of an `import-state`'s budget.
    pub fuel_per_state_op: u64,
    /// Extra fuel an `import-state` gets per entry (show or booking) of the imported state.
    pub fuel_per_state_entry: u64,
    /// Largest linear memory an instance may have; growing past it is a memory breach.
    pub memory_bytes: usize,
    /// Wall-clock backstop for one call; an instance still running then is interrupted.
    pub call_deadline: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            fuel_per_request: 200_000_000,
            fuel_per_state_op: 2_000_000_000,
            fuel_per_state_entry: 100_000,
            memory_bytes: 512 << 20,
            call_deadline: Duration::from_secs(5),
        }
    }
}

/// Store data: the memory cap, and whether it was hit (so that the trap the guest then raises
/// is reported as a memory breach rather than a generic trap).
pub(crate) struct MemoryCap {
    pub cap: usize,
    pub breached: bool,
}

impl wasmtime::ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.cap {
            self.breached = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // Replicas use no tables beyond their fixed ones; a runaway table is a breach too.
        if desired > 100_000 {
            self.breached = true;
            return Ok(false);
        }
        Ok(true)
    }
}
