//! The DMTBS wire protocol: what travels between front ends, the sequencer and the replica
//! managers, and how it is framed and authenticated.
//!
//! Layout:
//! - [`message`]: every message (the one vocabulary of the wire).

pub mod message;

pub use message::*;

/// Something a sans-IO protocol state machine (sequencer, delivery, voter) wants sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outgoing {
    /// To one node.
    To(NodeId, Message),
    /// To every replica manager (multicast, or unicast fan-out, as configured).
    ToAllRms(Message),
}
