//! A deterministic simulation of a whole DMTBS cluster (issue 10): one thread, simulated time,
//! one seeded generator, a seeded network (loss, duplication, delay and reordering, partitions)
//! and seeded faults (replica crash, hang, lying or corrupt replica, RM process crash and
//! restart with its fsynced log, sequencer crash, restart and failover to a standby, front-end
//! crash) — and checkers on every run (`checks.rs`: linearizability, nothing acknowledged lost
//! or executed twice, equal correct states, the model's answers, liveness once faults are
//! over). Same seed, same run: [`Report::trace_hash`].
//!
//! What runs is the project's own sans-IO code, composed here rather than re-implemented:
//! - the sequencer and its standby: [`dmtbs_sequencer::Failover`] (recovery, numbering,
//!   retransmission, heartbeats, taking over, stepping down);
//! - each RM's delivery: [`dmtbs_delivery::Delivery`] (hold-back queue, NACK gap repair, log,
//!   rollback at a new epoch), and its executed-requests table, `cluster/src/rm/executed.rs`
//!   compiled in place;
//! - the front end's voter [`dmtbs_frontend::Voter`] and its tracking of waiting requests
//!   across epochs, `cluster/src/frontend/requests.rs` compiled in place;
//! - the oracle: [`dmtbs_checker::Model`] (also the correct replica) and [`dmtbs_checker::check`].
//!
//! What the RM's and the front end's event loops do around those (tokio, threads, disk) is
//! transcribed, as small as faithful, in `rm.rs` and `fe.rs`, each saying which real code it
//! stands for; it is not the real loop. Layout: `world` (events, network, nodes, clients),
//! `plan` (the seeded setting), `rm`, `fe`, `replica`, `client`, `checks`.

// The crate compiles two files of `cluster/` in place; their unit tests need `cluster`'s own
// helpers, so this library has no unit tests (`[lib] test = false`): compiled for tests anyway
// (`cargo clippy --all-targets`), it is empty. Its tests are in tests/.
#![cfg(not(test))]

use std::fmt;
use std::time::Duration;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

mod checks;
mod client;
mod fe;
mod plan;
mod replica;
mod rm;
mod world;

/// The real RM's executed-requests table, compiled in place (`cluster/src/rm` is private to
/// its crate, and `cluster` depends on wasmtime).
#[allow(dead_code)]
#[path = "../../cluster/src/rm/executed.rs"]
mod executed;

pub use world::QUIESCE;

/// A deliberately broken variant of the protocol, to prove the checkers can fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlantedBug {
    /// The front end answers at the first result (quorum 1) instead of two identical ones.
    VoterFirstResult,
    /// Every RM applies requests as they arrive, skipping the hold-back queue (and the wait for
    /// its disk).
    RmSkipsHoldBack,
}

impl std::str::FromStr for PlantedBug {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "voter-first-result" => Ok(PlantedBug::VoterFirstResult),
            "rm-skips-holdback" => Ok(PlantedBug::RmSkipsHoldBack),
            other => Err(format!(
                "{other:?}: the planted bugs are voter-first-result and rm-skips-holdback"
            )),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Options {
    pub planted: Option<PlantedBug>,
    /// Events kept for a failing run's trace.
    pub tail: usize,
    /// Run the simulated RM as `cluster/src/rm` behaved before the fixes for the bugs this
    /// simulator found there (bugs 1, 2 and 4, docs/testing.md; `cluster/src/rm/epochs.rs` has
    /// them now): kept to show the checkers catch their absence.
    pub rm_as_in_cluster: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            planted: None,
            tail: 40,
            rm_as_in_cluster: false,
        }
    }
}

/// One run: what happened, and what the checkers found.
#[derive(Clone, Debug)]
pub struct Report {
    pub seed: u64,
    /// The setting drawn from the seed.
    pub plan: String,
    pub operations: usize,
    pub answered: usize,
    pub events: u64,
    pub simulated: Duration,
    /// A hash of every event processed, in order, with its time: equal for equal runs.
    pub trace_hash: u64,
    /// Empty when every checker passed.
    pub failures: Vec<String>,
    /// Times a sequencer recovered above a promise whose epoch never started (bug 7's fix).
    pub outbid: u64,
    /// Epochs decided with a start below some answering RM's log, which the highest epoch
    /// among the answers superseded (bug 5's rule).
    pub superseded_logs: u64,
    /// Times an RM discarded delivered requests below a new epoch's start, its lineage parting
    /// from the new epoch's there (bug 5's rule, on the RM's side).
    pub lineage_rollbacks: u64,
    /// The last events before the end, for a failing run.
    pub tail: Vec<String>,
    pub planted: Option<PlantedBug>,
    pub rm_as_in_cluster: bool,
}

impl Report {
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.passed() { "passed" } else { "FAILED" };
        writeln!(
            f,
            "seed {} {verdict}: {} operations ({} answered), {} events, {:?} simulated, trace {:016x}",
            self.seed, self.operations, self.answered, self.events, self.simulated, self.trace_hash
        )?;
        if self.outbid + self.superseded_logs + self.lineage_rollbacks > 0 {
            writeln!(
                f,
                "  recovered above an unstarted promise: {}; epochs started below a superseded \
                 log: {}; lineage rollbacks: {}",
                self.outbid, self.superseded_logs, self.lineage_rollbacks
            )?;
        }
        writeln!(f, "  {}", self.plan.replace('\n', "\n  "))?;
        for failure in &self.failures {
            writeln!(f, "  ✗ {failure}")?;
        }
        if !self.passed() {
            writeln!(f, "  the last {} events:", self.tail.len())?;
            for line in &self.tail {
                writeln!(f, "    {line}")?;
            }
            let planted = match self.planted {
                Some(PlantedBug::VoterFirstResult) => " --planted voter-first-result",
                Some(PlantedBug::RmSkipsHoldBack) => " --planted rm-skips-holdback",
                None => "",
            };
            let planted = if self.rm_as_in_cluster {
                format!("{planted} --rm-as-in-cluster")
            } else {
                planted.to_string()
            };
            writeln!(
                f,
                "  replay: cargo run --release -p dmtbs-sim -- --seed {}{planted} --verbose",
                self.seed
            )?;
        }
        Ok(())
    }
}

/// Runs one seed: the load, then [`QUIESCE`] for the cluster to settle, then the checkers.
pub fn run(seed: u64, options: &Options) -> Report {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let plan = plan::Plan::draw(&mut rng, options);
    let text = plan.to_string();
    let end = plan.load_end + QUIESCE;
    let mut world = world::World::new(rng, plan, options.tail);
    world.run_until(end);
    let failures = checks::run_checks(&world);
    Report {
        seed,
        plan: text,
        operations: world.history.len(),
        answered: world.history.iter().filter(|o| o.answer.is_some()).count(),
        events: world.events,
        simulated: world.now,
        trace_hash: world.trace_hash,
        failures,
        outbid: world.outbid,
        superseded_logs: world.superseded_logs,
        lineage_rollbacks: world.rms.values().map(|r| r.lineage_rollbacks).sum(),
        tail: world
            .tail
            .iter()
            .map(|(at, e)| format!("{:>10.3} ms  {e}", at.as_secs_f64() * 1e3))
            .collect(),
        planted: options.planted,
        rm_as_in_cluster: options.rm_as_in_cluster,
    }
}
