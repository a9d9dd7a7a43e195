//! The `dmtbs` command as a user runs it.

mod bench;
mod booking;
mod chaos;
mod module;
mod support;
mod token;
