//! The DMTBS wire protocol: what travels between front ends, the sequencer and the replica
//! managers, and how it is framed and authenticated.
//!
//! Every datagram carries exactly one [`Message`], framed by a [`Codec`]:
//!
//! ```text
//! MAGIC "DMTB" (4 B) | version = 1 (1 B) | postcard { sender: NodeId, nonce: u64, body: Message } | HMAC-SHA256 (32 B)
//! ```
//!
//! The tag covers everything before it, under the 32-byte [`ClusterKey`] all nodes share, and is
//! verified before the body is deserialised. Nonces start at the sender's UNIX time in
//! microseconds and grow by one per datagram, so they increase across restarts too; receivers
//! keep a 64-wide sliding window per sender and refuse repeats and stragglers. A refused
//! datagram is a [`Reject`] and is counted ([`RejectCounts`]), never handed to the protocol.
//! Datagrams are at most [`MAX_DATAGRAM`] bytes; long lists are split with
//! [`Codec::encode_batched`].
//!
//! Layout:
//! - [`message`]: every message (the one vocabulary of the wire).
//! - [`codec`]: the framing: encode, authenticate, decode, replay protection, reject counts,
//!   packing lists into datagrams.
//! - [`key`]: the cluster key, parsed from 64 hex characters and never printed.

pub mod codec;
pub mod key;
pub mod message;

pub use codec::{
    Codec, FORMAT_VERSION, MAGIC, MAX_DATAGRAM, PackError, REPLAY_WINDOW, Reject, RejectCounts,
};
pub use key::{ClusterKey, KeyError};
pub use message::*;

/// Something a sans-IO protocol state machine (sequencer, delivery, voter) wants sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outgoing {
    /// To one node.
    To(NodeId, Message),
    /// To every replica manager (multicast, or unicast fan-out, as configured).
    ToAllRms(Message),
}
