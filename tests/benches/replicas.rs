//! Replica benchmarks (divan): per-request apply latency per implementation, batched throughput
//! through a replica thread, export and import of a 100,000-booking state, and replace-and-restore.
//! Run with `just bench`; figures are recorded in docs/benchmarks.md.

use std::sync::OnceLock;

use divan::{Bencher, black_box, counter::ItemsCount};
use dmtbs_host::contract::{CanonicalState, Request};
use dmtbs_host::{Instance, ReplicaHandle, ReplicaModule, Runtime, StateDigest};
use dmtbs_testkit::components::{self, IMPLEMENTATIONS};
use dmtbs_testkit::{state, workload::Workload};

fn main() {
    fuel_report();
    divan::main();
}

/// Fuel (deterministic, ≈ instructions) per request on a 100,000-booking state: the figure the
/// per-request fuel budget in `Limits` is set against.
fn fuel_report() {
    let (_, measured) = traffic();
    println!(
        "fuel per request on a {BIG}-booking state ({} requests):",
        measured.len()
    );
    for name in IMPLEMENTATIONS {
        let mut instance = Instance::new(module(name)).expect("instance");
        instance
            .import_state(big_state())
            .expect("import")
            .expect("valid");
        let import_fuel = instance.last_fuel();
        let mut fuel: Vec<u64> = measured
            .iter()
            .map(|r| {
                let _outcome = instance.apply(r).expect("apply");
                instance.last_fuel()
            })
            .collect();
        fuel.sort_unstable();
        let pct = |p: usize| fuel[(fuel.len() - 1) * p / 100];
        println!(
            "  {name}: median {}, p99 {}, max {}; import {import_fuel}",
            pct(50),
            pct(99),
            fuel[fuel.len() - 1]
        );
    }
}

const BIG: usize = 100_000;

fn modules() -> &'static (Runtime, Vec<ReplicaModule>) {
    static M: OnceLock<(Runtime, Vec<ReplicaModule>)> = OnceLock::new();
    M.get_or_init(|| {
        let runtime = components::runtime();
        let modules = IMPLEMENTATIONS
            .iter()
            .map(|n| components::load(&runtime, n))
            .collect();
        (runtime, modules)
    })
}

fn module(name: &str) -> &'static ReplicaModule {
    let i = IMPLEMENTATIONS
        .iter()
        .position(|n| *n == name)
        .expect("known implementation");
    &modules().1[i]
}

fn big_state() -> &'static CanonicalState {
    static S: OnceLock<CanonicalState> = OnceLock::new();
    S.get_or_init(|| state::large(BIG))
}

/// 2,000 warm-up requests, then the 10,000 that are measured (seed 1).
fn traffic() -> &'static (Vec<Request>, Vec<Request>) {
    static T: OnceLock<(Vec<Request>, Vec<Request>)> = OnceLock::new();
    T.get_or_init(|| {
        let mut w = Workload::new(1);
        let warm = w.by_ref().take(2_000).collect();
        let measured = w.take(10_000).collect();
        (warm, measured)
    })
}

/// One `apply` on the caller's thread (no thread hop): the cost of the wasm call itself.
#[divan::bench(args = IMPLEMENTATIONS)]
fn apply_one(bencher: Bencher, name: &str) {
    let mut instance = Instance::new(module(name)).expect("instance");
    let (warm, measured) = traffic();
    for r in warm {
        let _outcome = instance.apply(r).expect("apply");
    }
    let mut i = 0;
    bencher.bench_local(|| {
        let r = &measured[i % measured.len()];
        i += 1;
        black_box(instance.apply(r).expect("apply"))
    });
}

/// The same on a 100,000-booking state: apply must not scan the whole state.
#[divan::bench(args = IMPLEMENTATIONS)]
fn apply_one_on_100k_state(bencher: Bencher, name: &str) {
    let mut instance = Instance::new(module(name)).expect("instance");
    instance
        .import_state(big_state())
        .expect("import")
        .expect("valid state");
    let (_, measured) = traffic();
    let mut i = 0;
    bencher.bench_local(|| {
        let r = &measured[i % measured.len()];
        i += 1;
        black_box(instance.apply(r).expect("apply"))
    });
}

/// Batches of 256 requests through a replica's own thread, as a replica manager sends them.
#[divan::bench(args = IMPLEMENTATIONS)]
fn batched_256_through_thread(bencher: Bencher, name: &str) {
    let handle = ReplicaHandle::spawn(module(name), &CanonicalState::empty()).expect("spawn");
    let (warm, measured) = traffic();
    handle.apply_batch(warm.clone());
    let mut i = 0;
    bencher.counter(ItemsCount::new(256usize)).bench_local(|| {
        let start = (i * 256) % (measured.len() - 256);
        i += 1;
        let out = handle.apply_batch(measured[start..start + 256].to_vec());
        assert!(out.failure.is_none());
        out
    });
}

#[divan::bench(args = IMPLEMENTATIONS, sample_count = 20)]
fn export_100k(bencher: Bencher, name: &str) {
    let mut instance = Instance::new(module(name)).expect("instance");
    instance
        .import_state(big_state())
        .expect("import")
        .expect("valid");
    bencher.bench_local(|| black_box(instance.export_state().expect("export")));
}

/// A fresh instance plus import of the 100,000-booking state.
#[divan::bench(args = IMPLEMENTATIONS, sample_count = 20)]
fn new_instance_and_import_100k(bencher: Bencher, name: &str) {
    let module = module(name);
    bencher.bench_local(|| {
        let mut instance = Instance::new(module).expect("instance");
        instance
            .import_state(big_state())
            .expect("import")
            .expect("valid");
        instance
    });
}

/// What a replica manager does to recover: export from a correct replica, replace the faulty
/// replica's instance with a fresh one (another implementation) holding that state, and check
/// digests match.
#[divan::bench(args = IMPLEMENTATIONS, sample_count = 10)]
fn replace_and_restore_100k(bencher: Bencher, name: &str) {
    let source = ReplicaHandle::spawn(module("replica-b"), big_state()).expect("source");
    let target = ReplicaHandle::spawn(module(name), &CanonicalState::empty()).expect("target");
    bencher.bench_local(|| {
        let state = source.export_state().expect("export");
        let digest = StateDigest::of(&state);
        target.replace(module(name), state).expect("replace");
        assert_eq!(target.digest().expect("digest"), digest);
    });
}

#[divan::bench(sample_count = 20)]
fn digest_100k(bencher: Bencher) {
    let state = big_state();
    bencher.bench_local(|| StateDigest::of(black_box(state)));
}
