//! Shared by the test suites, the benchmarks and the demo — never by the services themselves.
//!
//! Layout:
//! - [`components`]: where the built replica components are, and loading them.
//! - [`build`]: terse builders for requests and operations.
//! - [`conformance`]: the rules' cases as data, run against any replica module.
//! - [`rng`]: a tiny seeded PRNG whose sequence never changes across versions.
//! - [`state`]: large valid canonical states.
//! - [`workload`]: realistic random traffic (areas, movies, window edges, malformed IDs, admins
//!   acting for customers, full shows, exchanges).

pub mod build;
pub mod components;
pub mod conformance;
pub mod rng;
pub mod state;
pub mod workload;
