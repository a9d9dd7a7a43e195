//! The DMTBS wire protocol: what travels between front ends, the sequencer and the replica
//! managers, and how it is framed and authenticated.
//!
//! Every datagram carries exactly one [`Message`], framed by a [`Codec`]:
//!
//! ```text
//! MAGIC "DMTB" (4 B) | version = 5 (1 B) | sender (3 B) | nonce (8 B) | ChaCha20(postcard(Message)) | Poly1305 tag (16 B)
//! ```
//!
//! The body is encrypted and, with the header, authenticated (ChaCha20-Poly1305) under a key
//! derived from the 32-byte [`ClusterKey`] all nodes share; the tag is verified before the body
//! is deserialised. Nonces follow the sender's clock in microseconds (`max(previous + 1, now)`),
//! so they increase across restarts too; receivers refuse, per sender, repeats and datagrams
//! older than a window in time, and every datagram sent before the receiver itself started
//! ([`replay`]). A refused datagram is a [`Reject`] and is counted ([`RejectCounts`]), never
//! handed to the protocol. Datagrams are at most [`MAX_DATAGRAM`] bytes; long lists are split
//! with [`Codec::encode_batched`]. Bulk data over TCP (state transfers) is sealed in frames by
//! [`stream`], under keys derived from the same cluster key.
//!
//! Layout:
//! - [`message`]: every message (the one vocabulary of the wire).
//! - [`codec`]: the framing: encode, encrypt and authenticate, decode, reject counts, packing
//!   lists into datagrams.
//! - [`replay`]: replay protection — the per-sender window and the restart floor.
//! - [`stream`]: chunked authenticated encryption for byte streams.
//! - [`key`]: the cluster key, parsed from 64 hex characters and never printed.

pub mod codec;
pub mod key;
pub mod message;
pub mod replay;
pub mod stream;

pub use codec::{Codec, FORMAT_VERSION, MAGIC, MAX_DATAGRAM, PackError, Reject, RejectCounts};
pub use key::{ClusterKey, KeyError};
pub use message::*;
pub use replay::{CLOCK_SKEW, REPLAY_WINDOW};
pub use stream::{Opener, Sealer, StreamError};

/// Something a sans-IO protocol state machine (sequencer, delivery, voter) wants sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outgoing {
    /// To one node.
    To(NodeId, Message),
    /// To every replica manager (multicast, or unicast fan-out, as configured).
    ToAllRms(Message),
}
