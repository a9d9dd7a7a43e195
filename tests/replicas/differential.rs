//! Differential: seeded random workloads through all four implementations; every result must be
//! identical at every step — and equal to the independent model of the rules (`dmtbs-checker`,
//! written from the spec alone) — and so must the exported states. Reproduce a failure with the
//! `DMTBS_SEED` it prints; `DMTBS_DIFF_REQUESTS` sets the length (default 10,000).

use std::collections::BTreeMap;

use dmtbs_checker::Model;
use dmtbs_host::contract::{Outcome, Request};
use dmtbs_testkit::rng::{Rng, seed_from_env};
use dmtbs_testkit::workload::Workload;

use crate::fleet::Fleet;

fn requests_per_run() -> usize {
    std::env::var("DMTBS_DIFF_REQUESTS")
        .ok()
        .map(|n| n.parse().expect("DMTBS_DIFF_REQUESTS must be a number"))
        .unwrap_or(10_000)
}

/// Requests handed to each replica thread at once.
const BATCH: usize = 64;

/// Runs `n` requests of the workload through the fleet in batches, asserting agreement at every
/// step; `between` runs after each batch (cross-restore uses it). Returns the outcome kinds seen.
fn run(
    fleet: &Fleet,
    seed: u64,
    n: usize,
    test: &str,
    mut between: impl FnMut(&Fleet, u64),
) -> BTreeMap<String, usize> {
    println!(
        "{test}: seed {seed}, {n} requests (reproduce: DMTBS_SEED={seed} cargo test -p dmtbs-tests --test replicas {test})"
    );
    let mut seen = BTreeMap::new();
    // The oracle: a sequential model of the rules written from the spec alone, by an author who
    // read none of the replicas (`checker/src/model.rs`). Four replicas agreeing on a wrong answer
    // is exactly what voting cannot catch; the model can.
    let mut oracle = Model::new();
    let mut workload = Workload::new(seed);
    let mut done = 0;
    while done < n {
        let batch: Vec<Request> = workload.by_ref().take(BATCH.min(n - done)).collect();
        let results = fleet.apply_batch(&batch);
        for (i, request) in batch.iter().enumerate() {
            let first = &results[0][i];
            if results.iter().any(|r| r[i] != *first) {
                let detail: Vec<String> = fleet
                    .replicas
                    .iter()
                    .zip(&results)
                    .map(|((name, _), r)| format!("  {name}: {:?}", r[i]))
                    .collect();
                panic!(
                    "replicas disagree (seed {seed}, seq {}):\n  request: {:?}\n{}\nreproduce: DMTBS_SEED={seed} cargo test -p dmtbs-tests --test replicas {test}",
                    request.context.seq,
                    request,
                    detail.join("\n")
                );
            }
            let (expected, _) = oracle.apply(request.context.today, &request.operation);
            assert_eq!(
                *first, expected,
                "the replicas agree, but not with the independent model of the rules (seed {seed}, seq {}):\n  request: {:?}\nreproduce: DMTBS_SEED={seed} cargo test -p dmtbs-tests --test replicas {test}",
                request.context.seq, request
            );
            *seen.entry(kind(first)).or_default() += 1;
        }
        done += batch.len();
        between(fleet, batch.last().map_or(0, |r| r.context.seq));
    }
    let state = fleet.agreed_state();
    println!(
        "{test}: agreed on {n} requests; final state {} shows, {} bookings",
        state.shows.len(),
        state.bookings.len()
    );
    seen
}

/// The variant of an outcome without its payload, e.g. `Ok(Booked` or `Err(WeeklyLimit`.
fn kind(outcome: &Outcome) -> String {
    let debug = format!("{outcome:?}")
        .replace("Success::", "")
        .replace("BookingError::", "");
    let open = debug.find('(').expect("Ok(..) or Err(..)");
    let end = debug[open + 1..]
        .find(['(', ')', ' ', '{', '['])
        .map_or(debug.len(), |i| open + 1 + i);
    debug[..end].to_string()
}

#[test]
fn four_implementations_agree_on_random_workloads() {
    let seed = seed_from_env(0x00D1_FFE2);
    let fleet = Fleet::new();
    let seen = run(
        &fleet,
        seed,
        requests_per_run(),
        "four_implementations_agree",
        |_, _| {},
    );
    println!("outcomes: {seen:?}");
    // The workload must be realistic enough to reach every result the rules can give;
    // otherwise agreement proves little.
    let expected = [
        "Ok(ShowAdded",
        "Ok(ShowUpdated",
        "Ok(ShowRemoved",
        "Ok(Availability",
        "Ok(Booked",
        "Ok(Schedule",
        "Ok(Cancelled",
        "Ok(Exchanged",
        "Err(InvalidUserId",
        "Err(InvalidShowId",
        "Err(UnknownMovie",
        "Err(InvalidCapacity",
        "Err(InvalidTickets",
        "Err(NotAuthorized",
        "Err(OutsideWindow",
        "Err(ShowNotFound",
        "Err(PastShow",
        "Err(CapacityBelowBooked",
        "Err(SameShowOtherArea",
        "Err(WeeklyLimit",
        "Err(ShowFull",
        "Err(NotBooked",
        "Err(TooManyTickets",
        "Err(SameShow",
    ];
    let missing: Vec<&str> = expected
        .iter()
        .copied()
        .filter(|k| !seen.contains_key(*k))
        .collect();
    assert!(
        missing.is_empty(),
        "the workload never produced {missing:?} (seed {seed})"
    );
}

/// A fresh seed every run (the clock's, printed with the command that replays it; `DMTBS_SEED`
/// fixes it): each CI run tries a workload no earlier run has, beside the fixed seeds above.
#[test]
fn four_implementations_and_the_model_agree_on_a_fresh_seed_each_run() {
    let fresh = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64);
    let seed = seed_from_env(fresh);
    run(
        &Fleet::new(),
        seed,
        requests_per_run(),
        "four_implementations_and_the_model_agree_on_a_fresh_seed",
        |_, _| {},
    );
}

#[test]
fn state_moves_between_implementations_mid_run() {
    let seed = seed_from_env(0xC0FF_EE01);
    let n = requests_per_run();
    let fleet = Fleet::new();
    let mut rng = Rng::new(seed ^ 0x5EED);
    let mut restores = 0;
    // Besides the random points, one at each quarter of the run: whatever the seed, the state
    // moves at least three times (4 % of ~157 batches alone fell below that for ~5 % of seeds).
    let mut quarters = vec![3 * n as u64 / 4, n as u64 / 2, n as u64 / 4];
    run(
        &fleet,
        seed,
        n,
        "state_moves_between_implementations",
        |fleet, seq| {
            // At random points, every replica takes over the state of its neighbour (another
            // implementation) through a fresh instance, and the run goes on.
            let quarter = quarters.last().is_some_and(|&q| seq >= q);
            if quarter {
                quarters.pop();
            }
            if !(rng.percent(4) || quarter) {
                return;
            }
            restores += 1;
            let states = fleet.states();
            let (_, modules) = crate::fleet::modules();
            for (i, (name, handle)) in fleet.replicas.iter().enumerate() {
                let from = (i + 1) % fleet.replicas.len();
                handle
                    .replace(&modules[i], states[from].clone())
                    .unwrap_or_else(|e| {
                        panic!(
                            "{name} could not take the state of {} at seq {seq}: {e}",
                            fleet.replicas[from].0
                        )
                    });
            }
        },
    );
    println!("cross-restores: {restores}");
    assert!(
        restores >= 3,
        "too few cross-restores to mean anything (seed {seed})"
    );
}

/// The differential check itself can fail: with the planted weekly-limit bug in one replica, the
/// same kind of run must report a disagreement.
#[test]
#[should_panic(expected = "replicas disagree")]
fn a_planted_bug_is_reported_as_a_disagreement() {
    run(
        &Fleet::with_faulty_first(dmtbs_testkit::components::FAULTY_LOGIC),
        7,
        requests_per_run(),
        "a_planted_bug_is_reported",
        |_, _| {},
    );
}

/// A bug every replica shares is what voting cannot catch — they agree, wrongly. The independent
/// model can: four copies of the planted weekly-limit bug agree with each other at every step,
/// and the run must stop at the model's disagreement.
#[test]
#[should_panic(expected = "not with the independent model of the rules")]
fn a_bug_shared_by_every_replica_is_caught_by_the_independent_model() {
    let (runtime, _) = crate::fleet::modules();
    let faulty = dmtbs_testkit::components::load(runtime, dmtbs_testkit::components::FAULTY_LOGIC);
    run(
        &Fleet::of(&[faulty.clone(), faulty.clone(), faulty.clone(), faulty]),
        7,
        requests_per_run(),
        "a_bug_shared_by_every_replica",
        |_, _| {},
    );
}

/// A 100,000-booking state moves through every implementation unchanged: imported into each,
/// exported identically, and the digests agree.
#[test]
fn a_large_state_round_trips_through_every_implementation() {
    let state = dmtbs_testkit::state::large(100_000);
    assert_eq!(state.bookings.len(), 100_000);
    let fleet = Fleet::new();
    for (name, handle) in &fleet.replicas {
        assert_eq!(handle.import_state(state.clone()), Ok(Ok(())), "{name}");
    }
    assert_eq!(fleet.agreed_state(), state);
}
