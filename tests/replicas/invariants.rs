//! Invariants and metamorphic relations (issue 13), checked on every implementation — A–D and E
//! — along a seeded workload, at regular points, on each one's own exported state (not on an
//! agreement between them, which a shared misreading would pass):
//! - no show holds more tickets than its capacity, and every booking is on an existing show;
//! - availability agrees with the state: every non-past show of the movie, in show order, each
//!   with `capacity − tickets held` remaining;
//! - a customer's schedule is exactly their bookings in the state, in show order;
//! - booking then cancelling the same tickets restores the state's digest, and a refused
//!   booking changes nothing;
//! - export then import is the identity.
//!
//! Reproduce with the `DMTBS_SEED` it prints (default: a fresh seed each run).

use dmtbs_host::contract::{CanonicalState, Date, Operation, Outcome, Request, ShowEntry, Success};
use dmtbs_host::{ReplicaHandle, StateDigest};
use dmtbs_testkit::build;
use dmtbs_testkit::components;
use dmtbs_testkit::rng::seed_from_env;
use dmtbs_testkit::workload::{Workload, users};

use crate::fleet::modules;

/// Requests of the workload, and how often the relations are checked along it.
const REQUESTS: u64 = 6_000;
const EVERY: u64 = 1_000;
const MOVIES: [&str; 3] = ["Avatar", "Avengers", "Titanic"];

/// One implementation and the sequence numbers it was given.
struct Subject {
    name: String,
    handle: ReplicaHandle,
    seq: u64,
}

impl Subject {
    fn apply(&mut self, today: Date, operation: Operation) -> Outcome {
        self.seq += 1;
        let request = build::req(self.seq, today, operation);
        self.handle
            .apply(request.clone())
            .unwrap_or_else(|e| panic!("{} failed on {request:?}: {e}", self.name))
    }

    fn state(&self) -> CanonicalState {
        self.handle
            .export_state()
            .unwrap_or_else(|e| panic!("{} export: {e}", self.name))
    }
}

/// The show ID's date (ddmmyy, 20yy).
fn show_date(show_id: &str) -> Date {
    let n = |i: usize| show_id[i..i + 2].parse::<u8>().expect("a valid show ID");
    build::date(2000 + u16::from(n(8)), n(6), n(4))
}

fn is_past(show: &ShowEntry, today: Date) -> bool {
    build::days(show_date(&show.show_id)) < build::days(today)
}

fn held(state: &CanonicalState, show: &ShowEntry) -> u32 {
    state
        .bookings
        .iter()
        .filter(|b| b.movie == show.movie && b.show_id == show.show_id)
        .map(|b| b.tickets)
        .sum()
}

/// Every relation, on one implementation's current state; returns whether a book-then-cancel
/// pair was found (the caller asserts there were some).
fn check(subject: &mut Subject, today: Date, seed: u64) -> bool {
    let name = subject.name.clone();
    let at = format!("{name}, seed {seed}, after request {}", subject.seq);
    let state = subject.state();

    // Capacity, and bookings on existing shows.
    for show in &state.shows {
        let held = held(&state, show);
        assert!(
            held <= show.capacity,
            "{at}: {held} tickets held on {show:?}"
        );
    }
    for b in &state.bookings {
        assert!(
            state
                .shows
                .iter()
                .any(|s| s.movie == b.movie && s.show_id == b.show_id),
            "{at}: booking on a show that does not exist: {b:?}"
        );
    }

    // Availability agrees with the state (an admin may ask; reads change nothing).
    for movie in MOVIES {
        let expected: Vec<(String, u32)> = state
            .shows
            .iter()
            .filter(|s| s.movie == movie && !is_past(s, today))
            .map(|s| (s.show_id.clone(), s.capacity - held(&state, s)))
            .collect();
        match subject.apply(today, build::availability("ATWA0001", movie)) {
            Ok(Success::Availability(list)) => {
                let got: Vec<(String, u32)> =
                    list.into_iter().map(|s| (s.show_id, s.remaining)).collect();
                assert_eq!(got, expected, "{at}: availability of {movie}");
            }
            other => panic!("{at}: availability of {movie}: {other:?}"),
        }
    }

    // Schedules agree with the state.
    for customer in users().into_iter().filter(|u| u.as_bytes()[3] == b'C') {
        let expected: Vec<(String, String, u32)> = state
            .bookings
            .iter()
            .filter(|b| b.customer == customer)
            .map(|b| (b.movie.clone(), b.show_id.clone(), b.tickets))
            .collect();
        match subject.apply(today, build::schedule(&customer, &customer)) {
            Ok(Success::Schedule(list)) => {
                let got: Vec<(String, String, u32)> = list
                    .into_iter()
                    .map(|b| (b.movie, b.show_id, b.tickets))
                    .collect();
                assert_eq!(got, expected, "{at}: schedule of {customer}");
            }
            other => panic!("{at}: schedule of {customer}: {other:?}"),
        }
    }
    let digest = StateDigest::of(&state);
    assert_eq!(
        StateDigest::of(&subject.state()),
        digest,
        "{at}: reads changed the state"
    );

    // Book then cancel restores the state; a refused booking changes nothing. The first
    // (show, customer) pair without a booking whose booking succeeds is used.
    let mut restored = false;
    'pairs: for show in state.shows.iter().filter(|s| !is_past(s, today)) {
        for customer in users().into_iter().filter(|u| u.as_bytes()[3] == b'C') {
            if state.bookings.iter().any(|b| {
                b.customer == customer && b.movie == show.movie && b.show_id == show.show_id
            }) {
                continue;
            }
            let book = build::book(&customer, &customer, &show.movie, &show.show_id, 1);
            match subject.apply(today, book) {
                Ok(Success::Booked(_)) => {
                    let cancel = build::cancel(&customer, &customer, &show.movie, &show.show_id, 1);
                    let outcome = subject.apply(today, cancel);
                    assert!(outcome.is_ok(), "{at}: cancel after book: {outcome:?}");
                    assert_eq!(
                        StateDigest::of(&subject.state()),
                        digest,
                        "{at}: book then cancel of 1 ticket ({customer}, {show:?}) did not restore the state"
                    );
                    restored = true;
                    break 'pairs;
                }
                Ok(other) => panic!("{at}: a booking answered {other:?}"),
                Err(_) => assert_eq!(
                    StateDigest::of(&subject.state()),
                    digest,
                    "{at}: a refused booking ({customer}, {show:?}) changed the state"
                ),
            }
        }
    }

    // Export then import is the identity.
    let again = subject.state();
    subject
        .handle
        .import_state(again.clone())
        .unwrap_or_else(|e| panic!("{at}: import: {e}"))
        .unwrap_or_else(|e| panic!("{at}: its own state refused: {e:?}"));
    assert_eq!(
        subject.state(),
        again,
        "{at}: import(export) is not the identity"
    );
    restored
}

/// Runs the workload through `module`, checking every relation at each point; the number of
/// book-then-cancel pairs that restored the state.
fn run(module: &dmtbs_host::ReplicaModule, seed: u64) -> usize {
    let mut subject = Subject {
        name: module.name().to_owned(),
        handle: ReplicaHandle::spawn(module, &CanonicalState::empty())
            .expect("a fresh replica starts"),
        seq: 0,
    };
    let mut workload = Workload::new(seed);
    let mut pairs = 0;
    for n in 1..=REQUESTS {
        let Request { context, operation } = workload.next().expect("endless");
        // Whatever the workload's request answers, the relations are checked on the state.
        let _ = subject.apply(context.today, operation);
        if n % EVERY == 0 {
            pairs += usize::from(check(&mut subject, context.today, seed));
        }
    }
    pairs
}

#[test]
fn the_relations_catch_a_module_that_corrupts_its_state() {
    let (runtime, _) = modules();
    let faulty = components::load(runtime, components::FAULTY_CORRUPT);
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(&faulty, 1)));
    assert!(caught.is_err(), "faulty-corrupt passed every relation");
}

#[test]
fn invariants_and_metamorphic_relations_hold_on_every_implementation() {
    let fresh = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64);
    let seed = seed_from_env(fresh);
    println!(
        "invariants: seed {seed}, {REQUESTS} requests (reproduce: DMTBS_SEED={seed} cargo test -p dmtbs-tests --test replicas invariants)"
    );
    let (runtime, references) = modules();
    let mut all = references.clone();
    all.push(components::load(runtime, "replica-e"));
    for module in &all {
        let pairs = run(module, seed);
        println!(
            "{}: {pairs} book-then-cancel pairs restored the state",
            module.name()
        );
        assert!(
            pairs >= 3,
            "{}: too few book-then-cancel pairs to mean anything (seed {seed})",
            module.name()
        );
    }
}
