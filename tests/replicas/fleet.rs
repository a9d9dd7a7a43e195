//! A fleet: the four implementations side by side, each on its own replica thread.

use std::sync::OnceLock;

use dmtbs_host::contract::{CanonicalState, Outcome, Request};
use dmtbs_host::{ReplicaHandle, ReplicaModule, Runtime};
use dmtbs_testkit::components::{self, IMPLEMENTATIONS};

/// The runtime and the four loaded modules, shared by every test of the binary (compiling a
/// module takes tens of milliseconds; instantiating it, microseconds).
pub fn modules() -> &'static (Runtime, Vec<ReplicaModule>) {
    static MODULES: OnceLock<(Runtime, Vec<ReplicaModule>)> = OnceLock::new();
    MODULES.get_or_init(|| {
        let runtime = components::runtime();
        let modules = IMPLEMENTATIONS
            .iter()
            .map(|name| components::load(&runtime, name))
            .collect();
        (runtime, modules)
    })
}

pub struct Fleet {
    pub replicas: Vec<(String, ReplicaHandle)>,
}

impl Fleet {
    /// The four implementations with empty states.
    pub fn new() -> Self {
        Self::of(&modules().1)
    }

    /// The four implementations with the component `faulty` in place of the first one.
    pub fn with_faulty_first(faulty: &str) -> Self {
        let (runtime, correct) = modules();
        let mut list = vec![components::load(runtime, faulty)];
        list.extend(correct[1..].iter().cloned());
        Self::of(&list)
    }

    /// One replica per module, empty states.
    pub fn of(modules: &[ReplicaModule]) -> Self {
        Fleet {
            replicas: modules
                .iter()
                .map(|m| {
                    let handle = ReplicaHandle::spawn(m, &CanonicalState::empty())
                        .expect("a fresh replica starts");
                    (m.name().to_owned(), handle)
                })
                .collect(),
        }
    }

    /// Apply a batch on every replica; one vector of outcomes per replica. A replica failure
    /// fails the test: correct implementations never trap.
    pub fn apply_batch(&self, batch: &[Request]) -> Vec<Vec<Outcome>> {
        self.replicas
            .iter()
            .map(|(name, handle)| {
                let result = handle.apply_batch(batch.to_vec());
                if let Some(failure) = result.failure {
                    let at = &batch[result.outcomes.len()];
                    panic!("{name} failed on {at:?}: {failure}");
                }
                result.outcomes
            })
            .collect()
    }

    pub fn apply(&self, request: &Request) -> Vec<Outcome> {
        self.apply_batch(std::slice::from_ref(request))
            .into_iter()
            .map(|mut v| v.remove(0))
            .collect()
    }

    pub fn states(&self) -> Vec<CanonicalState> {
        self.replicas
            .iter()
            .map(|(name, h)| {
                h.export_state()
                    .unwrap_or_else(|e| panic!("{name} export: {e}"))
            })
            .collect()
    }

    /// Asserts that every replica exports the same state, and returns it.
    pub fn agreed_state(&self) -> CanonicalState {
        let states = self.states();
        for (i, state) in states.iter().enumerate().skip(1) {
            assert!(
                *state == states[0],
                "{} exports a different state than {}:\n{:#?}\nvs\n{:#?}",
                self.replicas[i].0,
                self.replicas[0].0,
                state,
                states[0]
            );
        }
        states.into_iter().next().expect("four replicas")
    }
}
