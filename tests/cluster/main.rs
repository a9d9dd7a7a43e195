//! The cluster suite: whole local clusters (sequencer, four replica managers running the four
//! implementations, a front end) on real UDP over loopback, driven through the HTTP API.

mod auth;
mod canary;
mod chaos;
mod client;
mod confidential;
mod end_to_end;
mod exactly_once;
mod flood;
mod hardening;
mod load;
mod metrics;
mod oracle;
mod quorum;
mod recovery;
mod status;
mod tap;
mod wire;
