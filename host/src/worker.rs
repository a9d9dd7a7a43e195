//! A replica instance on a thread of its own. Calls into wasm never run on the caller's
//! thread, so a slow or hung replica cannot stall the replica manager; requests travel in
//! batches because a thread hop (~14 µs) costs far more than a call (~0.3 µs). Work that makes
//! several calls in a row (the RM's applier) is posted to the thread whole ([`ReplicaHandle::post`])
//! and calls the instance there, through the same [`Replica`] operations, without a hop per call.

use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::contract::{CanonicalState, Outcome, Request, StateError};
use crate::digest::StateDigest;
use crate::instance::{Instance, ReplicaFailure};
use crate::module::ReplicaModule;

/// The result of a batch: the outcomes of the requests applied, in order, and the failure that
/// stopped the batch, if any. When `failure` is set, the request at index `outcomes.len()`
/// failed and the ones after it were not attempted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchOutcome {
    pub outcomes: Vec<Outcome>,
    pub failure: Option<ReplicaFailure>,
}

/// Why replacing an instance failed. The previous instance is kept in that case.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplaceError {
    #[error("the new instance failed: {0}")]
    Failed(ReplicaFailure),
    #[error("the new instance refused the state: {0:?}")]
    Refused(StateError),
}

enum Command {
    Apply(Vec<Request>, mpsc::Sender<BatchOutcome>),
    Export(mpsc::Sender<Result<(CanonicalState, StateDigest), ReplicaFailure>>),
    Digest(mpsc::Sender<Result<StateDigest, ReplicaFailure>>),
    Import(
        CanonicalState,
        mpsc::Sender<Result<Result<(), StateError>, ReplicaFailure>>,
    ),
    Replace(
        ReplicaModule,
        CanonicalState,
        mpsc::Sender<Result<(), ReplaceError>>,
    ),
    Status(mpsc::Sender<Status>),
    Run(Task),
}

/// Work run on a replica's thread, given the replica there.
pub type Task = Box<dyn FnOnce(&mut dyn Replica) + Send>;

/// What can be asked of a replica: through its handle from any thread, or directly by a
/// [`Task`] running on its thread.
pub trait Replica {
    /// Apply requests in order, stopping at the first failure.
    fn apply_batch(&mut self, requests: Vec<Request>) -> BatchOutcome;
    /// The whole canonical state and its digest, computed by the host; the replica's own
    /// `state-digest` was checked against it (a disagreement is `WrongDigest`).
    fn export_with_digest(&mut self) -> Result<(CanonicalState, StateDigest), ReplicaFailure>;
    /// The whole canonical state (its digest checked against the replica's own report).
    fn export_state(&mut self) -> Result<CanonicalState, ReplicaFailure> {
        self.export_with_digest().map(|(state, _)| state)
    }
    /// The replica's own digest of its current state (rules §7.1): no export, constant cost.
    fn digest(&mut self) -> Result<StateDigest, ReplicaFailure>;
    /// Replace the instance by a fresh one of `module` (the same or another) with `state`
    /// installed. On error the current instance stays in place, dead or alive.
    fn replace(
        &mut self,
        module: &ReplicaModule,
        state: CanonicalState,
    ) -> Result<(), ReplaceError>;
    /// CPU time the replica's thread has used so far (`None` where the platform cannot tell).
    fn cpu_time(&self) -> Option<Duration>;
}

/// The replica as a [`Task`] sees it on its own thread.
struct Resident {
    instance: Instance,
    clock: Option<CpuClock>,
}

impl Replica for Resident {
    fn apply_batch(&mut self, requests: Vec<Request>) -> BatchOutcome {
        let mut outcomes = Vec::with_capacity(requests.len());
        let mut failure = None;
        for request in &requests {
            match self.instance.apply(request) {
                Ok(outcome) => outcomes.push(outcome),
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        BatchOutcome { outcomes, failure }
    }

    fn export_with_digest(&mut self) -> Result<(CanonicalState, StateDigest), ReplicaFailure> {
        self.instance.export_state()
    }

    fn digest(&mut self) -> Result<StateDigest, ReplicaFailure> {
        self.instance.state_digest()
    }

    fn replace(
        &mut self,
        module: &ReplicaModule,
        state: CanonicalState,
    ) -> Result<(), ReplaceError> {
        let fresh = fresh_instance(module, &state)?;
        tracing::info!(
            from = self.instance.module().name(),
            to = module.name(),
            "replica replaced"
        );
        self.instance = fresh;
        Ok(())
    }

    fn cpu_time(&self) -> Option<Duration> {
        self.clock.as_ref().and_then(CpuClock::now)
    }
}

/// A replica whose thread is gone: every call fails with [`ReplicaFailure::Gone`].
struct Gone;

impl Replica for Gone {
    fn apply_batch(&mut self, _: Vec<Request>) -> BatchOutcome {
        BatchOutcome {
            outcomes: Vec::new(),
            failure: Some(ReplicaFailure::Gone),
        }
    }

    fn export_with_digest(&mut self) -> Result<(CanonicalState, StateDigest), ReplicaFailure> {
        Err(ReplicaFailure::Gone)
    }

    fn digest(&mut self) -> Result<StateDigest, ReplicaFailure> {
        Err(ReplicaFailure::Gone)
    }

    fn replace(&mut self, _: &ReplicaModule, _: CanonicalState) -> Result<(), ReplaceError> {
        Err(ReplaceError::Failed(ReplicaFailure::Gone))
    }

    fn cpu_time(&self) -> Option<Duration> {
        None
    }
}

/// What a handle reports about its current instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub module: String,
    pub hash: String,
    pub failure: Option<ReplicaFailure>,
}

/// Owns one replica thread. Calls block until the replica answers; the handle is `Sync`, so
/// several threads may share it (their calls are served in arrival order).
pub struct ReplicaHandle {
    tx: Option<mpsc::Sender<Command>>,
    thread: Option<JoinHandle<()>>,
    /// The replica thread's CPU clock, where the platform has one (Linux).
    cpu_clock: Option<CpuClock>,
}

impl ReplicaHandle {
    /// Start a thread running a fresh instance of `module` with `state` installed.
    pub fn spawn(module: &ReplicaModule, state: &CanonicalState) -> Result<Self, ReplaceError> {
        let instance = fresh_instance(module, state)?;
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name(format!("replica-{}", module.name()))
            .spawn(move || {
                serve(
                    Resident {
                        instance,
                        clock: CpuClock::current(),
                    },
                    rx,
                )
            })
            .expect("spawning a thread only fails when the OS is out of resources");
        let cpu_clock = CpuClock::of(&thread);
        Ok(ReplicaHandle {
            tx: Some(tx),
            thread: Some(thread),
            cpu_clock,
        })
    }

    /// CPU time the replica's thread has used so far (`None` where the platform cannot tell).
    /// Unlike wall time, it does not advance while the thread is descheduled — the machine
    /// overloaded, or the process stopped — so "this call has used a second of CPU" is the
    /// replica's own doing, never the machine's.
    pub fn cpu_time(&self) -> Option<Duration> {
        self.cpu_clock.as_ref().and_then(CpuClock::now)
    }

    fn ask<R>(&self, command: impl FnOnce(mpsc::Sender<R>) -> Command) -> Option<R> {
        let (reply, answer) = mpsc::channel();
        self.tx.as_ref()?.send(command(reply)).ok()?;
        answer.recv().ok()
    }

    /// Runs `task` on the replica's thread after the calls already asked for; returns at once.
    /// If the thread is gone, the task runs here, and every call it makes fails with
    /// [`ReplicaFailure::Gone`], as a call through the handle would.
    pub fn post(&self, task: Task) {
        let Some(tx) = self.tx.as_ref() else {
            return task(&mut Gone);
        };
        if let Err(mpsc::SendError(Command::Run(task))) = tx.send(Command::Run(task)) {
            task(&mut Gone);
        }
    }

    /// Apply requests in order, stopping at the first failure.
    pub fn apply_batch(&self, requests: Vec<Request>) -> BatchOutcome {
        self.ask(|r| Command::Apply(requests, r))
            .unwrap_or(BatchOutcome {
                outcomes: Vec::new(),
                failure: Some(ReplicaFailure::Gone),
            })
    }

    /// Apply one request.
    pub fn apply(&self, request: Request) -> Result<Outcome, ReplicaFailure> {
        let mut batch = self.apply_batch(vec![request]);
        match batch.failure {
            Some(failure) => Err(failure),
            None => Ok(batch.outcomes.remove(0)),
        }
    }

    /// The whole canonical state (its digest checked against the replica's own report).
    pub fn export_state(&self) -> Result<CanonicalState, ReplicaFailure> {
        self.export_with_digest().map(|(state, _)| state)
    }

    /// The whole canonical state and its digest, computed by the host; the replica's own
    /// `state-digest` was checked against it (a disagreement is `WrongDigest`).
    pub fn export_with_digest(&self) -> Result<(CanonicalState, StateDigest), ReplicaFailure> {
        self.ask(Command::Export)
            .unwrap_or(Err(ReplicaFailure::Gone))
    }

    /// The replica's own digest of its current state (rules §7.1): no export, constant cost.
    pub fn digest(&self) -> Result<StateDigest, ReplicaFailure> {
        self.ask(Command::Digest)
            .unwrap_or(Err(ReplicaFailure::Gone))
    }

    pub fn import_state(
        &self,
        state: CanonicalState,
    ) -> Result<Result<(), StateError>, ReplicaFailure> {
        self.ask(|r| Command::Import(state, r))
            .unwrap_or(Err(ReplicaFailure::Gone))
    }

    /// Replace the instance by a fresh one of `module` (the same or another) with `state`
    /// installed. On error the current instance stays in place, dead or alive.
    pub fn replace(
        &self,
        module: &ReplicaModule,
        state: CanonicalState,
    ) -> Result<(), ReplaceError> {
        self.ask(|r| Command::Replace(module.clone(), state, r))
            .unwrap_or(Err(ReplaceError::Failed(ReplicaFailure::Gone)))
    }

    pub fn status(&self) -> Status {
        self.ask(Command::Status).unwrap_or(Status {
            module: String::new(),
            hash: String::new(),
            failure: Some(ReplicaFailure::Gone),
        })
    }
}

impl Replica for ReplicaHandle {
    fn apply_batch(&mut self, requests: Vec<Request>) -> BatchOutcome {
        ReplicaHandle::apply_batch(self, requests)
    }

    fn export_with_digest(&mut self) -> Result<(CanonicalState, StateDigest), ReplicaFailure> {
        ReplicaHandle::export_with_digest(self)
    }

    fn digest(&mut self) -> Result<StateDigest, ReplicaFailure> {
        ReplicaHandle::digest(self)
    }

    fn replace(
        &mut self,
        module: &ReplicaModule,
        state: CanonicalState,
    ) -> Result<(), ReplaceError> {
        ReplicaHandle::replace(self, module, state)
    }

    fn cpu_time(&self) -> Option<Duration> {
        ReplicaHandle::cpu_time(self)
    }
}

impl Drop for ReplicaHandle {
    fn drop(&mut self) {
        // Closing the channel ends the thread after the call in progress, if any.
        drop(self.tx.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A thread's CPU-time clock (`pthread_getcpuclockid`).
struct CpuClock(#[cfg(target_os = "linux")] libc::clockid_t);

impl CpuClock {
    #[cfg(target_os = "linux")]
    fn of(thread: &JoinHandle<()>) -> Option<Self> {
        use std::os::unix::thread::JoinHandleExt;
        let mut id: libc::clockid_t = 0;
        // SAFETY: the pthread_t is a live thread's (the handle joins it only when dropped) and
        // `id` is a valid place for the result.
        let rc = unsafe { libc::pthread_getcpuclockid(thread.as_pthread_t(), &mut id) };
        (rc == 0).then_some(CpuClock(id))
    }

    #[cfg(not(target_os = "linux"))]
    fn of(_thread: &JoinHandle<()>) -> Option<Self> {
        None
    }

    /// The calling thread's clock.
    #[cfg(target_os = "linux")]
    fn current() -> Option<Self> {
        let mut id: libc::clockid_t = 0;
        // SAFETY: `pthread_self` is the live calling thread and `id` a valid place for the result.
        let rc = unsafe { libc::pthread_getcpuclockid(libc::pthread_self(), &mut id) };
        (rc == 0).then_some(CpuClock(id))
    }

    #[cfg(not(target_os = "linux"))]
    fn current() -> Option<Self> {
        None
    }

    #[cfg(target_os = "linux")]
    fn now(&self) -> Option<Duration> {
        let mut t = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: the clock is the CPU clock of a thread that lives as long as its handle, and
        // `t` is a valid place for the result.
        let rc = unsafe { libc::clock_gettime(self.0, &mut t) };
        (rc == 0).then(|| Duration::new(t.tv_sec as u64, t.tv_nsec as u32))
    }

    #[cfg(not(target_os = "linux"))]
    fn now(&self) -> Option<Duration> {
        None
    }
}

fn fresh_instance(
    module: &ReplicaModule,
    state: &CanonicalState,
) -> Result<Instance, ReplaceError> {
    let mut instance = Instance::new(module).map_err(ReplaceError::Failed)?;
    if state.entries() > 0 {
        instance
            .import_state(state)
            .map_err(ReplaceError::Failed)?
            .map_err(ReplaceError::Refused)?;
    }
    Ok(instance)
}

fn serve(mut replica: Resident, rx: mpsc::Receiver<Command>) {
    // A send error below means the caller stopped waiting; there is nobody to tell.
    for command in rx {
        match command {
            Command::Apply(requests, reply) => {
                let _ = reply.send(replica.apply_batch(requests));
            }
            Command::Export(reply) => {
                let _ = reply.send(replica.export_with_digest());
            }
            Command::Digest(reply) => {
                let _ = reply.send(replica.digest());
            }
            Command::Import(state, reply) => {
                let _ = reply.send(replica.instance.import_state(&state));
            }
            Command::Replace(module, state, reply) => {
                let _ = reply.send(replica.replace(&module, state));
            }
            Command::Status(reply) => {
                let instance = &replica.instance;
                let _ = reply.send(Status {
                    module: instance.module().name().to_owned(),
                    hash: instance.module().hash().to_owned(),
                    failure: instance.failure().cloned(),
                });
            }
            Command::Run(task) => task(&mut replica),
        }
    }
}
