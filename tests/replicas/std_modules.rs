//! Std modules run, deterministically (issue 12): a component built with std for
//! `wasm32-wasip2` imports WASI, and the host serves it closed and deterministic — frozen
//! clocks, no environment or arguments, one fixed-seed random source — so four instances give
//! byte-identical results and state digests, as four RMs must.

use dmtbs_host::contract::{CanonicalState, Success};
use dmtbs_host::{ReplicaHandle, StateDigest};
use dmtbs_testkit::build::{availability, date, req};
use dmtbs_testkit::components::{self, STD_PROBE};

use crate::fleet::modules;

#[test]
fn a_std_module_gives_identical_results_and_digests_on_four_instances() {
    let (runtime, _) = modules();
    let module = components::load(runtime, STD_PROBE);
    // The probe really is a std module: it imports WASI (a pure module would prove nothing).
    let imports = module.imports();
    println!("{STD_PROBE} imports {imports:?}");
    assert!(
        imports.iter().any(|i| i.starts_with("wasi:random/"))
            && imports
                .iter()
                .any(|i| i.starts_with("wasi:cli/environment")),
        "{imports:?}"
    );
    let replicas: Vec<ReplicaHandle> = (0..4)
        .map(|_| ReplicaHandle::spawn(&module, &CanonicalState::empty()).expect("instantiates"))
        .collect();
    for seq in 1..=50 {
        let request = req(seq, date(2026, 12, 1), availability("ATWC0001", "Avatar"));
        let results: Vec<_> = replicas
            .iter()
            .map(|r| r.apply(request.clone()).expect("applies"))
            .collect();
        // held: the wall clock's seconds (frozen at the epoch); remaining: environment and
        // argument entries plus the monotonic time a call took (none, and frozen).
        let Ok(Success::Booked(seen)) = &results[0] else {
            panic!("request {seq}: {:?}", results[0]);
        };
        assert_eq!((seen.held, seen.remaining), (0, 0), "request {seq}");
        assert!(
            results.iter().all(|r| *r == results[0]),
            "request {seq}: {results:?}"
        );
    }
    // The exported state lists keys in HashMap iteration order with std-hasher hashes: equal on
    // every instance only if the random keys are.
    let states: Vec<CanonicalState> = replicas
        .iter()
        .map(|r| r.export_state().expect("exports"))
        .collect();
    assert_eq!(states[0].bookings.len(), 50);
    let digests: Vec<StateDigest> = states.iter().map(StateDigest::of).collect();
    assert!(digests.iter().all(|d| *d == digests[0]), "{digests:?}");
    assert!(states.iter().all(|s| *s == states[0]));
    // A fresh instance created after the others drew their random bytes starts from the same
    // seed: the fifth RM, or a replacement, agrees too.
    let late = ReplicaHandle::spawn(&module, &CanonicalState::empty()).expect("instantiates");
    for seq in 1..=50 {
        let outcome = late
            .apply(req(
                seq,
                date(2026, 12, 1),
                availability("ATWC0001", "Avatar"),
            ))
            .expect("applies");
        assert!(matches!(outcome, Ok(Success::Booked(_))), "{outcome:?}");
    }
    assert_eq!(
        StateDigest::of(&late.export_state().expect("exports")),
        digests[0]
    );
}
