//! The `dmtbs` command as a user runs it.

mod bench;
mod booking;
mod chaos;
mod support;
mod token;
