//! Acceptance suites for DMTBS. Each suite is one test binary (a folder here): `replicas/` runs
//! the replica components through the host runtime. Shared helpers are in `dmtbs-testkit`.
