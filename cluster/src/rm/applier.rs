//! The RM's worker: the one thread that talks to the replica, taking jobs in order (apply a
//! batch, take a checkpoint, replace the instance), so the RM's protocol loop never waits on
//! wasm — it keeps answering NACKs, probes and state requests while a replica computes, hangs
//! or is being replaced.

use std::sync::{Arc, Mutex, mpsc};
use std::time::Instant;

use dmtbs_contract::{CanonicalState, Context, Outcome, Request};
use dmtbs_host::{ReplaceError, ReplicaFailure, ReplicaHandle, ReplicaModule, StateDigest};
use dmtbs_proto::{Digest, Sequenced};
use tokio::sync::mpsc::UnboundedSender;

use super::metrics::ApplyMetrics;

/// Work for the replica. `generation` ties results to the instance they came from: a recovery
/// starts a new generation and everything older is ignored.
pub enum Job {
    Apply {
        generation: u64,
        requests: Vec<Sequenced>,
    },
    Checkpoint {
        generation: u64,
        seq: u64,
    },
    Replace {
        generation: u64,
        module: ReplicaModule,
        state: Arc<CanonicalState>,
    },
}

pub enum Done {
    Applied {
        generation: u64,
        requests: Vec<Sequenced>,
        /// One per request applied, in order; fewer than `requests` if one failed.
        outcomes: Vec<Outcome>,
        failure: Option<ReplicaFailure>,
    },
    Checkpoint {
        generation: u64,
        seq: u64,
        result: Result<(Digest, Arc<CanonicalState>), ReplicaFailure>,
    },
    Replaced {
        generation: u64,
        module: String,
        hash: String,
        result: Result<(), ReplaceError>,
    },
}

/// Hands jobs to the replica thread; reports when a call has been running for long.
pub struct Applier {
    jobs: mpsc::Sender<Job>,
    /// When the job in progress started (none: idle).
    busy_since: Arc<Mutex<Option<Instant>>>,
}

impl Applier {
    pub fn start(
        replica: Arc<ReplicaHandle>,
        done: UnboundedSender<Done>,
        metrics: ApplyMetrics,
    ) -> Self {
        let (jobs, rx) = mpsc::channel::<Job>();
        let busy_since = Arc::new(Mutex::new(None));
        let busy = busy_since.clone();
        std::thread::Builder::new()
            .name("rm-applier".into())
            .spawn(move || {
                for job in rx {
                    *busy.lock().expect("not poisoned") = Some(Instant::now());
                    let result = run(&replica, job, &metrics);
                    *busy.lock().expect("not poisoned") = None;
                    if done.send(result).is_err() {
                        break; // the RM stopped
                    }
                }
            })
            .expect("spawning a thread only fails when the OS is out of resources");
        Applier { jobs, busy_since }
    }

    pub fn submit(&self, job: Job) {
        // The thread only ends when the RM's receiver is gone, i.e. the RM is stopping.
        let _ = self.jobs.send(job);
    }

    /// How long the current job has been running.
    pub fn busy_for(&self) -> Option<std::time::Duration> {
        self.busy_since
            .lock()
            .expect("not poisoned")
            .map(|t| t.elapsed())
    }
}

fn run(replica: &ReplicaHandle, job: Job, metrics: &ApplyMetrics) -> Done {
    match job {
        Job::Apply {
            generation,
            requests,
        } => {
            let started = Instant::now();
            let batch = replica.apply_batch(
                requests
                    .iter()
                    .map(|s| Request {
                        context: Context {
                            seq: s.seq,
                            today: s.today,
                        },
                        operation: s.operation.clone(),
                    })
                    .collect(),
            );
            let applied = batch.outcomes.len();
            let attempted = applied + usize::from(batch.failure.is_some());
            metrics.batch(applied, attempted, started.elapsed());
            Done::Applied {
                generation,
                requests,
                outcomes: batch.outcomes,
                failure: batch.failure,
            }
        }
        Job::Checkpoint { generation, seq } => Done::Checkpoint {
            generation,
            seq,
            result: replica.export_state().map(|state| {
                let digest = StateDigest::of(&state).0;
                (digest, Arc::new(state))
            }),
        },
        Job::Replace {
            generation,
            module,
            state,
        } => Done::Replaced {
            generation,
            module: module.name().to_owned(),
            hash: module.hash().to_owned(),
            result: replica.replace(&module, (*state).clone()),
        },
    }
}
