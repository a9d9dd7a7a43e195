//! The client against the real front end router (HTTP on loopback) over a scripted cluster:
//! each operation reaches its route with its fields intact; answers, refusals and failures come
//! back typed. Whole clusters are exercised by `tests/cluster` (dmtbs-tests).

mod api;
mod keys;
