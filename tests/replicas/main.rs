//! The replica suite: the four implementations and the faulty variants, run as real components
//! through the host runtime. Needs `just build-replicas` first (the README's test command does it).

mod conformance;
mod differential;
mod faults;
mod fleet;
mod invariants;
mod large_state;
mod purity;
mod std_modules;
mod worker;
