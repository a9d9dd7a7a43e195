//! One sandboxed replica instance, and what its failures mean.

use std::time::Duration;

use wasmtime::{Store, Trap};

use crate::contract::{CanonicalState, Outcome, ReplicaWorld, Request, StateError};
use crate::digest::StateDigest;
use crate::limits::MemoryCap;
use crate::module::ReplicaModule;
use crate::runtime::Runtime;
use crate::wasi::Wasi;

/// How a replica instance died. After any of these the instance is poisoned for good (wasm
/// semantics): it must be replaced by a new instance, never reset.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplicaFailure {
    /// The guest trapped: a panic (`unreachable`), an out-of-bounds access, a division by zero…
    #[error("replica trapped: {0}")]
    Trap(String),
    /// The call burned its whole fuel budget: an endless or far too long computation. Fuel is
    /// deterministic, so every correct replica would have finished within the same budget.
    #[error("replica ran out of fuel (budget {budget})")]
    OutOfFuel { budget: u64 },
    /// The wall-clock backstop fired: the call was still running after the deadline.
    #[error("replica interrupted after {deadline:?} (hung)")]
    Interrupted { deadline: Duration },
    /// The guest tried to grow its memory past the cap.
    #[error("replica exceeded its memory cap of {cap} bytes")]
    MemoryLimit { cap: usize },
    /// The instance failed earlier and has not been replaced since.
    #[error("replica instance is dead since an earlier failure ({0}); it must be replaced")]
    Dead(Box<ReplicaFailure>),
    /// The replica thread is gone (the host is shutting down, or the thread panicked).
    #[error("replica thread is gone")]
    Gone,
    /// The digest the replica reports (`state-digest`) is not the digest of the state it
    /// exports or was given (rules §7.1): its state or its bookkeeping is corrupt.
    #[error(
        "replica's state-digest {reported} is not the digest {actual} of its own state \
         (rules §7.1)"
    )]
    WrongDigest {
        reported: Box<crate::StateDigest>,
        actual: Box<crate::StateDigest>,
    },
}

impl ReplicaFailure {
    /// A stable, machine-readable name for logs and metrics (`error.type`).
    pub fn kind(&self) -> &'static str {
        match self {
            ReplicaFailure::Trap(_) => "trap",
            ReplicaFailure::OutOfFuel { .. } => "out-of-fuel",
            ReplicaFailure::Interrupted { .. } => "interrupted",
            ReplicaFailure::MemoryLimit { .. } => "memory-limit",
            ReplicaFailure::Dead(_) => "dead",
            ReplicaFailure::Gone => "gone",
            ReplicaFailure::WrongDigest { .. } => "wrong-digest",
        }
    }
}

/// Store data: only the memory limiter — a replica has no host state to reach.
pub(crate) struct StoreData {
    cap: MemoryCap,
    /// The closed, deterministic WASI (only reachable by modules that import it).
    wasi: Wasi,
}

impl wasmtime_wasi::WasiView for StoreData {
    fn ctx(&mut self) -> wasmtime_wasi::WasiCtxView<'_> {
        self.wasi.view()
    }
}

/// A live instance of a [`ReplicaModule`]: its own `Store`, so its own memory and fuel.
/// Not thread-safe by design; [`crate::ReplicaHandle`] gives it a thread.
pub struct Instance {
    store: Store<StoreData>,
    world: ReplicaWorld,
    module: ReplicaModule,
    /// Set by the first failure; every later call answers `Dead`.
    dead: Option<ReplicaFailure>,
    /// Fuel the last successful call consumed (for benchmarks and diagnostics).
    last_fuel: u64,
    /// A bound on the state's entries, which the budgets scale with (see [`crate::Limits`]).
    entries: u64,
}

impl Instance {
    /// A fresh instance with the empty state.
    pub fn new(module: &ReplicaModule) -> Result<Self, ReplicaFailure> {
        let limits = module.runtime.limits();
        let mut store = Store::new(
            module.runtime.engine(),
            StoreData {
                cap: MemoryCap {
                    cap: limits.memory_bytes,
                    breached: false,
                },
                wasi: Wasi::new(module.name()),
            },
        );
        store.limiter(|data| &mut data.cap);
        store.epoch_deadline_trap();
        // Instantiation runs the guest's start code: give it the same limits as a request.
        store
            .set_fuel(limits.fuel_per_request)
            .expect("fuel is enabled in Runtime::new");
        store.set_epoch_deadline(Runtime::ticks(limits.call_deadline));
        let world = module
            .pre
            .instantiate(&mut store)
            .map_err(|e| classify(&store, e, limits.fuel_per_request, limits.call_deadline))?;
        Ok(Instance {
            store,
            world,
            module: module.clone(),
            dead: None,
            last_fuel: 0,
            entries: 0,
        })
    }

    /// The module this instance runs.
    pub fn module(&self) -> &ReplicaModule {
        &self.module
    }

    /// Fuel consumed by the last successful call.
    pub fn last_fuel(&self) -> u64 {
        self.last_fuel
    }

    /// Why the instance is dead, if it is.
    pub fn failure(&self) -> Option<&ReplicaFailure> {
        self.dead.as_ref()
    }

    /// Apply one request under the per-request fuel budget.
    pub fn apply(&mut self, req: &Request) -> Result<Outcome, ReplicaFailure> {
        let limits = self.module.runtime.limits();
        let (fuel, deadline) = (limits.fuel_per_request, limits.call_deadline);
        let outcome = self.call(fuel, deadline, self.entries, |world, store| {
            world.dmtbs_booking_replica().call_apply(store, req)
        })?;
        // A request adds at most one entry (a show or a booking).
        self.entries = self.entries.saturating_add(1);
        Ok(outcome)
    }

    /// The replica's own digest of its state (rules §7.1): constant work for the replica, so
    /// it runs under a request's budget.
    pub fn state_digest(&mut self) -> Result<StateDigest, ReplicaFailure> {
        let limits = self.module.runtime.limits();
        let (fuel, deadline) = (limits.fuel_per_request, limits.call_deadline);
        let lanes = self.call(fuel, deadline, self.entries, |world, store| {
            world.dmtbs_booking_replica().call_state_digest(store)
        })?;
        Ok(StateDigest::from_lanes(lanes))
    }

    /// Export the whole canonical state, under a budget that grows with the state, with its
    /// digest computed here. The replica's own `state-digest` must equal it: a replica whose
    /// report and export disagree is failed (`WrongDigest`), since peers compare reports.
    pub fn export_state(&mut self) -> Result<(CanonicalState, StateDigest), ReplicaFailure> {
        let limits = self.module.runtime.limits();
        let (fuel, deadline) = (
            limits.state_fuel(self.entries),
            limits.state_deadline(self.entries),
        );
        let state = self.call(fuel, deadline, self.entries, |world, store| {
            world.dmtbs_booking_replica().call_export_state(store)
        })?;
        self.entries = state.entries() as u64;
        let actual = StateDigest::of(&state);
        self.check_digest(actual)?;
        Ok((state, actual))
    }

    /// The replica's report must be `actual`; otherwise the instance is dead.
    fn check_digest(&mut self, actual: StateDigest) -> Result<(), ReplicaFailure> {
        let reported = self.state_digest()?;
        if reported == actual {
            return Ok(());
        }
        Err(self.poison(ReplicaFailure::WrongDigest {
            reported: Box::new(reported),
            actual: Box::new(actual),
        }))
    }

    /// The instance failed: logged, and dead from now on (every later call fails with `Dead`).
    fn poison(&mut self, failure: ReplicaFailure) -> ReplicaFailure {
        tracing::warn!(
            module = self.module.name(),
            error.type = failure.kind(),
            %failure,
            "replica failed"
        );
        self.dead = Some(failure.clone());
        failure
    }

    /// Import a canonical state, under a budget that grows with the larger of the current and
    /// the imported state. `Ok(Err(_))` is the replica refusing a malformed state (its own
    /// state unchanged); `Err(_)` is the replica failing.
    pub fn import_state(
        &mut self,
        state: &CanonicalState,
    ) -> Result<Result<(), StateError>, ReplicaFailure> {
        let limits = self.module.runtime.limits();
        let entries = self.entries.max(state.entries() as u64);
        let (fuel, deadline) = (limits.state_fuel(entries), limits.state_deadline(entries));
        let result = self.call(fuel, deadline, entries, |world, store| {
            world
                .dmtbs_booking_replica()
                .call_import_state(store, state)
        })?;
        if result.is_ok() {
            self.entries = state.entries() as u64;
            // What it reports from now on must cover exactly what it was given.
            self.check_digest(StateDigest::of(state))?;
        }
        Ok(result)
    }

    /// Run one guest call with a fresh fuel budget and deadline, turning any failure into a
    /// [`ReplicaFailure`] and poisoning the instance.
    fn call<R>(
        &mut self,
        fuel: u64,
        deadline: Duration,
        entries: u64,
        f: impl FnOnce(&ReplicaWorld, &mut Store<StoreData>) -> wasmtime::Result<R>,
    ) -> Result<R, ReplicaFailure> {
        if let Some(failure) = &self.dead {
            return Err(ReplicaFailure::Dead(Box::new(failure.clone())));
        }
        self.store.data_mut().cap.cap = self.module.runtime.limits().memory_cap(entries);
        self.store
            .set_fuel(fuel)
            .expect("fuel is enabled in Runtime::new");
        self.store.set_epoch_deadline(Runtime::ticks(deadline));
        match f(&self.world, &mut self.store) {
            Ok(value) => {
                // `get_fuel` only fails when fuel is disabled, which Runtime::new rules out.
                self.last_fuel = fuel - self.store.get_fuel().unwrap_or(0);
                Ok(value)
            }
            Err(e) => {
                let failure = classify(&self.store, e, fuel, deadline);
                Err(self.poison(failure))
            }
        }
    }
}

/// Decide what a guest error means. A memory breach shows up as whatever trap the guest's
/// out-of-memory path raises, so the limiter's flag is checked first.
fn classify(
    store: &Store<StoreData>,
    error: wasmtime::Error,
    fuel: u64,
    deadline: Duration,
) -> ReplicaFailure {
    if store.data().cap.breached {
        return ReplicaFailure::MemoryLimit {
            cap: store.data().cap.cap,
        };
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => ReplicaFailure::OutOfFuel { budget: fuel },
        Some(Trap::Interrupt) => ReplicaFailure::Interrupted { deadline },
        Some(trap) => ReplicaFailure::Trap(trap.to_string()),
        None => ReplicaFailure::Trap(format!("{error:#}")),
    }
}
