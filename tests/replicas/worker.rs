//! The replica thread: work posted to it whole (the RM's applier) runs there, in order with the
//! calls made through the handle, and sees the same instance.

use std::sync::mpsc;

use dmtbs_host::contract::{CanonicalState, Request};
use dmtbs_host::{Replica, ReplicaHandle};
use dmtbs_testkit::workload::Workload;

use crate::fleet::modules;

#[test]
fn posted_work_runs_on_the_replica_thread_in_order_with_calls() {
    let seed = 20261207;
    println!("seed {seed}");
    let module = &modules().1[0];
    let requests: Vec<Request> = Workload::new(seed).take(40).collect();
    let (first, second) = requests.split_at(20);

    // The reference: everything through the handle.
    let reference = ReplicaHandle::spawn(module, &CanonicalState::empty()).expect("starts");
    let expected = reference.apply_batch(requests.clone());
    assert!(expected.failure.is_none(), "{expected:?}");

    // The same requests, the second half applied by a task posted between two calls.
    let handle = ReplicaHandle::spawn(module, &CanonicalState::empty()).expect("starts");
    let before = handle.apply_batch(first.to_vec());
    let (tx, rx) = mpsc::channel();
    let batch = second.to_vec();
    handle.post(Box::new(move |replica: &mut dyn Replica| {
        let outcome = replica.apply_batch(batch);
        let thread = std::thread::current().name().map(str::to_owned);
        tx.send((outcome, thread, replica.cpu_time()))
            .expect("the test waits");
    }));
    // Asked after the post, answered after the task ran: the state has all 40 requests.
    let (state, digest) = handle.export_with_digest().expect("export");
    let (after, thread, cpu) = rx.recv().expect("the task ran");

    assert_eq!(
        thread.as_deref(),
        Some(format!("replica-{}", module.name()).as_str())
    );
    assert!(
        cpu.is_some_and(|t| !t.is_zero()),
        "the thread's CPU clock: {cpu:?}"
    );
    let outcomes: Vec<_> = before.outcomes.into_iter().chain(after.outcomes).collect();
    assert_eq!(outcomes, expected.outcomes);
    let (want_state, want_digest) = reference.export_with_digest().expect("export");
    assert_eq!(digest, want_digest);
    assert_eq!(state, want_state);
}
