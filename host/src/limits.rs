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
    /// The base of a state operation's (`export-state`, `import-state`) fuel budget.
    pub fuel_per_state_op: u64,
    /// Extra fuel a state operation gets per entry (show or booking) of the state.
    pub fuel_per_state_entry: u64,
    /// Largest linear memory an instance may have with an empty state; growing past its cap
    /// is a memory breach.
    pub memory_bytes: usize,
    /// Extra memory the cap allows per entry of the state.
    pub memory_per_state_entry: usize,
    /// Wall-clock backstop for one call; an instance still running then is interrupted.
    pub call_deadline: Duration,
    /// Extra wall-clock time a state operation gets per entry of the state.
    pub deadline_per_state_entry: Duration,
}

/// **Budgets grow with the state** (issue 14: a correct module was quarantined because its
/// export of a 300,000-booking state ran out of a fixed fuel budget). A state operation's fuel
/// and deadline, and every call's memory cap, are the base plus a per-entry allowance times a
/// bound on the state's entries: the size of the last imported or exported state plus the
/// requests applied since (a request adds at most one entry: a show, or a booking — an
/// exchange or a moved booking replaces one). So the limits stop runaway code, not big states.
impl Limits {
    /// Fuel for a state operation on a state of at most `entries` entries.
    pub fn state_fuel(&self, entries: u64) -> u64 {
        self.fuel_per_state_op
            .saturating_add(self.fuel_per_state_entry.saturating_mul(entries))
    }

    /// The deadline of a state operation on a state of at most `entries` entries.
    pub fn state_deadline(&self, entries: u64) -> Duration {
        self.call_deadline.saturating_add(
            self.deadline_per_state_entry
                .saturating_mul(u32::try_from(entries).unwrap_or(u32::MAX)),
        )
    }

    /// The memory cap of an instance whose state has at most `entries` entries.
    pub fn memory_cap(&self, entries: u64) -> usize {
        self.memory_bytes.saturating_add(
            self.memory_per_state_entry
                .saturating_mul(usize::try_from(entries).unwrap_or(usize::MAX)),
        )
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            fuel_per_request: 200_000_000,
            fuel_per_state_op: 2_000_000_000,
            fuel_per_state_entry: 100_000,
            memory_bytes: 512 << 20,
            // Replicas hold ~100–300 bytes per booking, and an export or import holds the state
            // twice (its own structures and the canonical lists) at once.
            memory_per_state_entry: 2_048,
            call_deadline: Duration::from_secs(5),
            // A million entries: 25 s more (an export of one takes ~1–2 s here).
            deadline_per_state_entry: Duration::from_micros(25),
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
