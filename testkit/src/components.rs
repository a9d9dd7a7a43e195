//! The replica components built by `just build-replicas` (`replicas-wasm/build.sh`), found by
//! name in `replicas-wasm/target/components/`.

use std::path::PathBuf;

use dmtbs_host::{ReplicaModule, Runtime};

/// The four independent implementations, in the order RMs 1–4 host them.
pub const IMPLEMENTATIONS: [&str; 4] = ["replica-a", "replica-b", "replica-c", "replica-d"];

/// Faulty variants (see docs/replicas.md for what each does).
pub const FAULTY_LOGIC: &str = "faulty-logic";
pub const FAULTY_RANDOM: &str = "faulty-random";
pub const FAULTY_PANIC: &str = "faulty-panic";
pub const FAULTY_LOOP: &str = "faulty-loop";
pub const FAULTY_MEMORY: &str = "faulty-memory";
pub const FAULTY_CORRUPT: &str = "faulty-corrupt";
/// A std component (it imports WASI) that reports what it sees of clocks, environment and
/// randomness: for the host's determinism tests, not a booking implementation.
pub const STD_PROBE: &str = "std-probe";

/// The folder holding the built components.
pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../replicas-wasm/target/components")
}

/// The path of a built component. Panics with the command to run when it is missing: a test
/// that silently skipped here would be a test that cannot fail.
pub fn path(name: &str) -> PathBuf {
    let path = dir().join(format!("{name}.wasm"));
    assert!(
        path.exists(),
        "replica component {} is missing: run `just build-replicas` first",
        path.display()
    );
    path
}

/// Load a built component.
pub fn load(runtime: &Runtime, name: &str) -> ReplicaModule {
    ReplicaModule::from_file(runtime, &path(name)).unwrap_or_else(|e| panic!("loading {name}: {e}"))
}

/// A runtime with default limits caching compiled artifacts next to the components, so repeated
/// test runs skip compilation.
pub fn runtime() -> Runtime {
    runtime_with(dmtbs_host::Limits::default())
}

pub fn runtime_with(limits: dmtbs_host::Limits) -> Runtime {
    Runtime::new(limits, Some(dir().join("../compiled"))).expect("wasmtime engine")
}
