//! The cluster suite: whole local clusters (sequencer, four replica managers running the four
//! implementations, a front end) on real UDP over loopback, driven through the HTTP API.

mod client;
mod end_to_end;
mod exactly_once;
mod load;
mod quorum;
mod recovery;
mod tap;
mod wire;
