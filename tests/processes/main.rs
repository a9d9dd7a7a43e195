//! The processes suite: `dmtbs up` as a supervisor of real node processes — started from the
//! built `dmtbs` binary (`cargo build -p dmtbs-cli`; `DMTBS_BIN` overrides), driven through
//! HTTP, its children killed and signalled by pid.

mod auth;
mod booking;
mod burst;
mod chaos;
mod durability;
mod guide;
mod harness;
mod metrics;
mod ports;
mod recovery;
mod restart;
mod secrets;
mod shutdown;
mod standby;
