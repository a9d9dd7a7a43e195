//! The RM's worker: the one thread that talks to the replica, taking jobs in order (apply a
//! batch, take a checkpoint, replace the instance), so the RM's protocol loop never waits on
//! wasm — it keeps answering NACKs, probes and state requests while a replica computes, hangs
//! or is being replaced.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use dmtbs_contract::{Context, Outcome, Request};
use dmtbs_host::{ReplaceError, ReplicaFailure, ReplicaHandle, ReplicaModule};
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

/// Hands jobs to the replica thread; reports when a call has been running for long.
pub struct Applier {
    jobs: mpsc::Sender<Job>,
    replica: Arc<ReplicaHandle>,
    /// When the `Apply` job in progress started (none: idle, or a state job).
    busy_since: Arc<Mutex<Option<Started>>>,
    /// Requests the canary in shadow has matched so far (0 without one).
    canary_compared: Arc<AtomicU64>,
}

/// When a job started: the wall time, and the replica thread's CPU time then.
type Started = (Instant, Option<Duration>);

impl Applier {
    pub fn start(
        replica: Arc<ReplicaHandle>,
        done_tx: UnboundedSender<Done>,
        metrics: ApplyMetrics,
    ) -> Self {
        let (jobs, rx) = mpsc::channel::<Job>();
        let busy_since = Arc::new(Mutex::new(None));
        let busy = busy_since.clone();
        let handle = replica.clone();
        let canary_compared = Arc::new(AtomicU64::new(0));
        let compared = canary_compared.clone();
        std::thread::Builder::new()
            .name("rm-applier".into())
            .spawn(move || {
                // Decided here, in the order requests are applied, so that every RM decides
                // alike; replaced with the state at every `Replace`.
                let mut executed = Executed::default();
                // A canary's shadow instance, fed here after the replica so that it sees the
                // same requests at the same points.
                let mut shadow: Option<Shadow> = None;
                for job in rx {
                    let job = match job {
                        Job::CanaryStart {
                            generation,
                            module,
                            requests,
                        } => {
                            compared.store(0, Ordering::Relaxed);
                            match Shadow::start(&replica, generation, module, requests) {
                                Ok(s) => shadow = Some(s),
                                Err(done) => {
                                    if done_tx.send(done).is_err() {
                                        break;
                                    }
                                }
                            }
                            continue;
                        }
                        Job::CanaryEnd { generation } => {
                            if let Some(s) = shadow.take_if(|s| s.generation == generation) {
                                compared.store(0, Ordering::Relaxed);
                                if done_tx.send(s.finish(&replica)).is_err() {
                                    break;
                                }
                            }
                            continue;
                        }
                        // A replacement ends a canary: its state is no longer the replica's.
                        Job::Replace { .. } => {
                            shadow = None;
                            compared.store(0, Ordering::Relaxed);
                            job
                        }
                        job => job,
                    };
                    // Only requests count towards "hung": a checkpoint's export or a
                    // replacement's import takes time in proportion to the state, and the
                    // host's deadline for it grows with the state too (dmtbs_host::Limits),
                    // so a stuck one fails there instead of being judged by `hang_ms`.
                    if matches!(job, Job::Apply { .. }) {
                        *busy.lock().expect("not poisoned") =
                            Some((Instant::now(), replica.cpu_time()));
                    }
                    let result = run(&replica, &mut executed, job, &metrics);
                    *busy.lock().expect("not poisoned") = None;
                    let verdict = shadow.as_mut().and_then(|s| {
                        let v = s.follow(&replica, &result);
                        compared.store(s.compared, Ordering::Relaxed);
                        v
                    });
                    if done_tx.send(result).is_err() {
                        break; // the RM stopped
                    }
                    if let Some(verdict) = verdict {
                        shadow = None;
                        compared.store(0, Ordering::Relaxed);
                        if done_tx.send(verdict).is_err() {
                            break;
                        }
                    }
                }
            })
            .expect("spawning a thread only fails when the OS is out of resources");
        Applier {
            jobs,
            replica: handle,
            busy_since,
            canary_compared,
        }
    }

    /// Requests the canary in shadow has matched so far.
    pub fn canary_compared(&self) -> u64 {
        self.canary_compared.load(Ordering::Relaxed)
    }

    pub fn submit(&self, job: Job) {
        // The thread only ends when the RM's receiver is gone, i.e. the RM is stopping.
        let _ = self.jobs.send(job);
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

fn run(replica: &ReplicaHandle, executed: &mut Executed, job: Job, metrics: &ApplyMetrics) -> Done {
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
                    replica: state,
                    executed: executed.clone(),
                };
                (checkpoint_digest(digest.0, executed), Some(Arc::new(saved)))
            }),
        },
        Job::CanaryStart { .. } | Job::CanaryEnd { .. } => {
            unreachable!("canary jobs are handled by the applier loop")
        }
        Job::Replace {
            generation,
            module,
            state,
        } => {
            let result = replica.replace(&module, state.replica.clone());
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
    replica: &ReplicaHandle,
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
