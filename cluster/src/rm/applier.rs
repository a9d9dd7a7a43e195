//! The RM's worker: jobs run in order on the replica's own thread (apply a batch, take a
//! checkpoint, replace the instance), so the RM's protocol loop never waits on wasm — it keeps
//! answering NACKs, probes and state requests while a replica computes, hangs or is being
//! replaced.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dmtbs_contract::{CanonicalState, Context, Outcome, Request};
use dmtbs_host::{ReplaceError, Replica, ReplicaFailure, ReplicaHandle, ReplicaModule};
use dmtbs_proto::{Digest, Replay, Sequenced};
use tokio::sync::mpsc::UnboundedSender;

use super::canary::Shadow;
use super::checkpoints::{RmState, checkpoint_digest};
use super::executed::{Decision, Executed};
use super::metrics::ApplyMetrics;

/// Work for the replica. `generation` ties results to the instance they came from: a recovery
/// starts a new generation and everything older is ignored.
pub enum Job {
    Apply {
        generation: u64,
        requests: Vec<Sequenced>,
    },
    /// A checkpoint after `seq`: with `export`, the whole state (a full checkpoint); without,
    /// only the digest the replica keeps (a digest check, constant cost).
    Checkpoint {
        generation: u64,
        seq: u64,
        export: bool,
    },
    Replace {
        generation: u64,
        module: ReplicaModule,
        state: Arc<RmState>,
    },
    /// Run `module` in shadow from the current state (a canary swap, `canary.rs`).
    CanaryStart {
        generation: u64,
        module: ReplicaModule,
        requests: u64,
    },
    /// The canary's time is up: judge it on what it has seen.
    CanaryEnd { generation: u64 },
}

pub enum Done {
    Applied {
        generation: u64,
        requests: Vec<Sequenced>,
        /// One per request applied, in order; fewer than `requests` if one failed. A request
        /// executed before is not applied again: its outcome is the first one, with `Replay`.
        outcomes: Vec<(Outcome, Option<Replay>)>,
        failure: Option<ReplicaFailure>,
    },
    /// The digest after `seq`, with the state when it was a full checkpoint.
    Checkpoint {
        generation: u64,
        seq: u64,
        result: Result<(Digest, Option<Arc<RmState>>), ReplicaFailure>,
    },
    Replaced {
        generation: u64,
        module: String,
        hash: String,
        result: Result<(), ReplaceError>,
    },
    /// A canary ended: `Ok(compared)` when it agreed on every request it saw (and the state),
    /// a refusal at its first divergence or failure, or when it saw nothing.
    Canary {
        generation: u64,
        module: String,
        hash: String,
        verdict: Result<u64, super::canary::Refusal>,
    },
}

/// Hands jobs to the replica's thread, where they run in order, calling the instance directly:
/// the path from the RM's protocol loop to wasm and back is one thread hop each way. Reports
/// when a call has been running for long.
pub struct Applier {
    replica: Arc<ReplicaHandle>,
    worker: Arc<Mutex<Worker>>,
    /// When the `Apply` job in progress started (none: idle, or a state job).
    busy_since: Arc<Mutex<Option<Started>>>,
    /// Requests the canary in shadow has matched so far (0 without one).
    canary_compared: Arc<AtomicU64>,
}

/// When a job started: the wall time, and the replica thread's CPU time then.
type Started = (Instant, Option<Duration>);

/// What the jobs keep between them. Only the replica's thread uses it (the lock is never
/// contended): jobs run there one at a time.
struct Worker {
    /// Decided here, in the order requests are applied, so that every RM decides alike;
    /// replaced with the state at every `Replace`.
    executed: Executed,
    /// A canary's shadow instance, fed here after the replica so that it sees the same
    /// requests at the same points.
    shadow: Option<Shadow>,
    done_tx: UnboundedSender<Done>,
    metrics: ApplyMetrics,
    busy: Arc<Mutex<Option<Started>>>,
    compared: Arc<AtomicU64>,
}

impl Applier {
    pub fn start(
        replica: Arc<ReplicaHandle>,
        done_tx: UnboundedSender<Done>,
        metrics: ApplyMetrics,
    ) -> Self {
        let busy_since = Arc::new(Mutex::new(None));
        let canary_compared = Arc::new(AtomicU64::new(0));
        let worker = Worker {
            executed: Executed::default(),
            shadow: None,
            done_tx,
            metrics,
            busy: busy_since.clone(),
            compared: canary_compared.clone(),
        };
        Applier {
            replica,
            worker: Arc::new(Mutex::new(worker)),
            busy_since,
            canary_compared,
        }
    }

    /// Requests the canary in shadow has matched so far.
    pub fn canary_compared(&self) -> u64 {
        self.canary_compared.load(Ordering::Relaxed)
    }

    pub fn submit(&self, job: Job) {
        let worker = self.worker.clone();
        self.replica.post(Box::new(move |replica| {
            worker.lock().expect("not poisoned").run(replica, job);
        }));
    }

    /// The replica thread's CPU time so far (None where the platform has no thread clock).
    pub fn cpu_time(&self) -> Option<Duration> {
        self.replica.cpu_time()
    }

    /// How long the current `Apply` job has been running, in CPU time of the replica's thread
    /// (wall time where the platform has no thread CPU clock). A process stopped, or a machine
    /// so loaded that nothing ran for seconds, is not a hung replica: only CPU the replica
    /// really burned in one batch counts (issue 15: a stall of the whole machine quarantined a
    /// correct module as "hung").
    pub fn busy_for(&self) -> Option<Duration> {
        let (since, cpu_then) = (*self.busy_since.lock().expect("not poisoned"))?;
        match (cpu_then, self.replica.cpu_time()) {
            (Some(then), Some(now)) => Some(now.saturating_sub(then)),
            _ => Some(since.elapsed()),
        }
    }
}

impl Worker {
    /// Runs `job` on the replica's thread and reports what came of it (nothing once the RM
    /// has stopped: its receiver is gone).
    fn run(&mut self, replica: &mut dyn Replica, job: Job) {
        let job = match job {
            Job::CanaryStart {
                generation,
                module,
                requests,
            } => {
                self.compared.store(0, Ordering::Relaxed);
                match Shadow::start(replica, generation, module, requests) {
                    Ok(s) => self.shadow = Some(s),
                    Err(done) => {
                        let _ = self.done_tx.send(done);
                    }
                }
                return;
            }
            Job::CanaryEnd { generation } => {
                if let Some(s) = self.shadow.take_if(|s| s.generation == generation) {
                    self.compared.store(0, Ordering::Relaxed);
                    let _ = self.done_tx.send(s.finish(replica));
                }
                return;
            }
            // A replacement ends a canary: its state is no longer the replica's.
            Job::Replace { .. } => {
                self.shadow = None;
                self.compared.store(0, Ordering::Relaxed);
                job
            }
            job => job,
        };
        // Only requests count towards "hung": a checkpoint's export or a replacement's import
        // takes time in proportion to the state, and the host's deadline for it grows with the
        // state too (dmtbs_host::Limits), so a stuck one fails there instead of being judged
        // by `hang_ms`.
        if matches!(job, Job::Apply { .. }) {
            *self.busy.lock().expect("not poisoned") = Some((Instant::now(), replica.cpu_time()));
        }
        let result = execute(replica, &mut self.executed, job, &self.metrics);
        *self.busy.lock().expect("not poisoned") = None;
        let verdict = self.shadow.as_mut().and_then(|s| {
            let v = s.follow(replica, &result);
            self.compared.store(s.compared, Ordering::Relaxed);
            v
        });
        let _ = self.done_tx.send(result);
        if let Some(verdict) = verdict {
            self.shadow = None;
            self.compared.store(0, Ordering::Relaxed);
            let _ = self.done_tx.send(verdict);
        }
    }
}

fn execute(
    replica: &mut dyn Replica,
    executed: &mut Executed,
    job: Job,
    metrics: &ApplyMetrics,
) -> Done {
    match job {
        Job::Apply {
            generation,
            requests,
        } => {
            let started = Instant::now();
            let mut outcomes = Vec::with_capacity(requests.len());
            let mut failure = None;
            let mut attempted = 0;
            // Requests that execute go to the replica in batches; one that ran before (rare:
            // after a failover or a client's retry) is answered from the table. A batch is
            // cut before a request that may repeat one inside it, so that one is recorded
            // before the repeat is decided.
            let mut run: Vec<&Sequenced> = Vec::new();
            let mut in_run = RunIds::default();
            for item in &requests {
                if !in_run.insert(item) {
                    in_run = RunIds::default();
                    in_run.insert(item);
                    failure = apply_run(replica, executed, &mut run, &mut outcomes, &mut attempted);
                    if failure.is_some() {
                        break;
                    }
                }
                match executed.decide(item) {
                    Decision::Execute => run.push(item),
                    Decision::Replay(outcome, replay) => {
                        failure =
                            apply_run(replica, executed, &mut run, &mut outcomes, &mut attempted);
                        if failure.is_some() {
                            break;
                        }
                        outcomes.push((outcome, Some(replay)));
                    }
                }
            }
            if failure.is_none() {
                failure = apply_run(replica, executed, &mut run, &mut outcomes, &mut attempted);
            }
            metrics.batch(
                outcomes.len(),
                attempted.max(outcomes.len()),
                started.elapsed(),
            );
            Done::Applied {
                generation,
                requests,
                outcomes,
                failure,
            }
        }
        Job::Checkpoint {
            generation,
            seq,
            export: false,
        } => Done::Checkpoint {
            generation,
            seq,
            result: replica
                .digest()
                .map(|digest| (checkpoint_digest(digest.0, executed), None)),
        },
        Job::Checkpoint {
            generation,
            seq,
            export: true,
        } => Done::Checkpoint {
            generation,
            seq,
            // The host computes the digest of the export and checks the replica's own report
            // against it (`WrongDigest` otherwise).
            result: replica.export_with_digest().map(|(state, digest)| {
                let saved = RmState {
                    replica: Arc::new(state),
                    executed: executed.clone(),
                };
                (checkpoint_digest(digest.0, executed), Some(Arc::new(saved)))
            }),
        },
        Job::CanaryStart { .. } | Job::CanaryEnd { .. } => {
            unreachable!("canary jobs are handled by Worker::run")
        }
        Job::Replace {
            generation,
            module,
            state,
        } => {
            let result = replica.replace(&module, CanonicalState::clone(&state.replica));
            if result.is_ok() {
                *executed = state.executed.clone();
            }
            Done::Replaced {
                generation,
                module: module.name().to_owned(),
                hash: module.hash().to_owned(),
                result,
            }
        }
    }
}

/// The requests of a batch being gathered, by both identities: a repeat must not join it.
#[derive(Default)]
struct RunIds<'a> {
    requests: std::collections::HashSet<(dmtbs_proto::FeId, u64)>,
    keys: std::collections::HashSet<(&'a str, &'a str)>,
}

impl<'a> RunIds<'a> {
    /// Adds `item`; false if it may repeat one already in.
    fn insert(&mut self, item: &'a Sequenced) -> bool {
        if !super::executed::mutates(&item.operation) {
            return true;
        }
        let fresh = self.requests.insert((item.fe, item.request_id));
        match super::executed::client_key(item) {
            Some(key) => self.keys.insert(key) && fresh,
            None => fresh,
        }
    }
}

/// Applies `run` (emptying it) and records what executed; the failure, if one occurred.
fn apply_run(
    replica: &mut dyn Replica,
    executed: &mut Executed,
    run: &mut Vec<&Sequenced>,
    outcomes: &mut Vec<(Outcome, Option<Replay>)>,
    attempted: &mut usize,
) -> Option<ReplicaFailure> {
    if run.is_empty() {
        return None;
    }
    let batch = replica.apply_batch(run.iter().map(|s| request(s)).collect());
    *attempted += batch.outcomes.len() + usize::from(batch.failure.is_some());
    for (item, outcome) in run.iter().zip(batch.outcomes) {
        executed.record(item, &outcome);
        outcomes.push((outcome, None));
    }
    run.clear();
    batch.failure
}

pub(super) fn request(s: &Sequenced) -> Request {
    Request {
        context: Context {
            seq: s.seq,
            today: s.today,
        },
        operation: s.operation.clone(),
    }
}
