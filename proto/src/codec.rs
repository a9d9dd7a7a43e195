//! The datagram framing: every [`Message`] travels as one authenticated, replay-protected UDP
//! datagram.
//!
//! ```text
//! +-------+---------+----------------------------------------------+------------------+
//! | MAGIC | version | postcard( Envelope { sender, nonce, body } ) | HMAC-SHA256 tag  |
//! | 4 B   | 1 B     | variable                                     | 32 B             |
//! +-------+---------+----------------------------------------------+------------------+
//!  \___________________ covered by the tag ___________________________/
//! ```
//!
//! A receiver checks, in this order, stopping at the first failure: the size (at most
//! [`MAX_DATAGRAM`], before any other work), the magic, the version, the tag (constant time,
//! before a single byte of the body is deserialised), the body (postcard, no trailing bytes), the
//! sender against the datagram's source (when the caller can tell, [`Codec::decode_from`]), and
//! finally the nonce against the sender's replay window. Each failure is a [`Reject`] and is
//! counted in [`RejectCounts`].
//!
//! The source check comes before the replay window on purpose: a copy of an authentic datagram
//! sent from another address must not record its nonce, or it would make the genuine datagram
//! (and, with a nonce far ahead, every later one of that sender) look like a replay.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::{ClusterKey, Message, NodeId};

/// First bytes of every DMTBS datagram, so stray traffic on the port is dropped cheaply.
pub const MAGIC: [u8; 4] = *b"DMTB";
/// The framing version this build speaks; a change to the envelope or to any message bumps it,
/// so mixed-version clusters fail loudly (counted rejects) instead of misreading each other.
pub const FORMAT_VERSION: u8 = 3;
/// Largest datagram sent or accepted: below the 65,507-byte UDP payload limit with room to
/// spare. Larger input is refused before any work is done on it.
pub const MAX_DATAGRAM: usize = 65_000;
/// Length of the HMAC-SHA256 tag that ends every datagram.
pub const TAG_LEN: usize = 32;
/// Length of the header before the envelope: magic and version (both covered by the tag).
pub const HEADER_LEN: usize = MAGIC.len() + 1;
/// Shortest possible datagram: header, at least one byte of envelope, tag.
pub const MIN_DATAGRAM: usize = HEADER_LEN + 1 + TAG_LEN;
/// How far behind a sender's highest nonce a datagram may arrive and still be accepted (once):
/// the network reorders datagrams, and 64 is the IPsec/DTLS default.
pub const REPLAY_WINDOW: u64 = 64;

type HmacSha256 = Hmac<Sha256>;

/// The authenticated content of a datagram, as sent (borrowing the message).
#[derive(Serialize)]
struct EnvelopeRef<'a> {
    sender: NodeId,
    nonce: u64,
    body: &'a Message,
}

/// The authenticated content of a datagram, as received. Same field order as [`EnvelopeRef`]:
/// postcard is not self-describing, so the two must serialise identically.
#[derive(Deserialize)]
struct Envelope {
    sender: NodeId,
    nonce: u64,
    body: Message,
}

/// Why a datagram was refused. One variant per reason, so services can count and log them
/// separately; none of them ever lets the datagram's content reach the protocol.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Reject {
    /// Shorter than any datagram this codec produces.
    #[error("datagram of {0} bytes is shorter than the {MIN_DATAGRAM}-byte minimum")]
    TooShort(usize),
    /// Longer than [`MAX_DATAGRAM`]; refused before any other check.
    #[error("datagram of {0} bytes exceeds the {MAX_DATAGRAM}-byte limit")]
    TooLarge(usize),
    /// Does not start with [`MAGIC`]: not DMTBS traffic at all.
    #[error("not a DMTBS datagram (bad magic)")]
    BadMagic,
    /// A framing version this build does not speak.
    #[error("unsupported wire format version {0} (this node speaks {FORMAT_VERSION})")]
    UnsupportedVersion(u8),
    /// The tag does not match: forged, corrupted, or sent under another cluster key.
    #[error("bad MAC: forged, corrupted, or sent under another cluster key")]
    BadMac,
    /// Authentic but undecodable: a sender with the key built a body this build cannot read.
    #[error("malformed body: {0}")]
    Malformed(String),
    /// Authentic, but this sender's nonce was already accepted or is older than the window.
    #[error("replayed datagram: nonce {nonce} from {sender:?} already seen or too old")]
    Replayed {
        /// The (authenticated) sender.
        sender: NodeId,
        /// The nonce that was refused.
        nonce: u64,
    },
    /// Authentic and well-formed, but it did not come from the address of the node it names
    /// (judged by the caller of [`Codec::decode_from`]). Its nonce is not recorded.
    #[error("authentic datagram naming {sender:?} came from another address")]
    Misaddressed {
        /// The (authenticated) sender the datagram names.
        sender: NodeId,
    },
}

impl Reject {
    /// Index into the reject counters.
    fn slot(&self) -> usize {
        match self {
            Reject::TooShort(_) => 0,
            Reject::TooLarge(_) => 1,
            Reject::BadMagic => 2,
            Reject::UnsupportedVersion(_) => 3,
            Reject::BadMac => 4,
            Reject::Malformed(_) => 5,
            Reject::Replayed { .. } => 6,
            Reject::Misaddressed { .. } => 7,
        }
    }

    /// A stable, snake_case name for the reason (a metrics label, a log field); the same names
    /// as [`RejectCounts::by_reason`] and the fields of [`RejectCounts`].
    pub fn reason(&self) -> &'static str {
        REASONS[self.slot()]
    }
}

/// The reasons in [`Reject::slot`] order, as metric labels.
const REASONS: [&str; SLOTS] = [
    "too_short",
    "too_large",
    "bad_magic",
    "unsupported_version",
    "bad_mac",
    "malformed",
    "replayed",
    "misaddressed",
];

/// How many reject reasons there are.
const SLOTS: usize = 8;

/// How many datagrams a [`Codec`] refused, per reason: a snapshot, so services can report
/// "rejected and counted" (a status page serialises it; a metrics endpoint walks
/// [`RejectCounts::by_reason`]) and tests can assert on it. Counts only grow.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RejectCounts {
    /// [`Reject::TooShort`].
    pub too_short: u64,
    /// [`Reject::TooLarge`].
    pub too_large: u64,
    /// [`Reject::BadMagic`].
    pub bad_magic: u64,
    /// [`Reject::UnsupportedVersion`].
    pub unsupported_version: u64,
    /// [`Reject::BadMac`].
    pub bad_mac: u64,
    /// [`Reject::Malformed`].
    pub malformed: u64,
    /// [`Reject::Replayed`].
    pub replayed: u64,
    /// [`Reject::Misaddressed`].
    pub misaddressed: u64,
}

impl RejectCounts {
    /// All rejects, whatever the reason.
    pub fn total(&self) -> u64 {
        self.as_array().iter().sum()
    }

    /// The count for the reason of `reject` (its payload is ignored).
    pub fn of(&self, reject: &Reject) -> u64 {
        self.as_array()[reject.slot()]
    }

    /// Every reason with its count, under stable snake_case names (the field names), in a fixed
    /// order: what a metrics endpoint exports as `…_rejected_total{reason="bad_mac"}`.
    pub fn by_reason(&self) -> [(&'static str, u64); SLOTS] {
        let counts = self.as_array();
        std::array::from_fn(|i| (REASONS[i], counts[i]))
    }

    fn as_array(&self) -> [u64; SLOTS] {
        [
            self.too_short,
            self.too_large,
            self.bad_magic,
            self.unsupported_version,
            self.bad_mac,
            self.malformed,
            self.replayed,
            self.misaddressed,
        ]
    }
}

/// Live reject counters, one per [`Reject`] variant, in [`Reject::slot`] order.
#[derive(Default)]
struct Counters([AtomicU64; SLOTS]);

impl Counters {
    fn count(&self, reject: &Reject) {
        self.0[reject.slot()].fetch_add(1, Ordering::Relaxed);
    }

    fn snapshot(&self) -> RejectCounts {
        let [
            too_short,
            too_large,
            bad_magic,
            unsupported_version,
            bad_mac,
            malformed,
            replayed,
            misaddressed,
        ] = self.0.each_ref().map(|c| c.load(Ordering::Relaxed));
        RejectCounts {
            too_short,
            too_large,
            bad_magic,
            unsupported_version,
            bad_mac,
            malformed,
            replayed,
            misaddressed,
        }
    }
}

/// One sender's anti-replay state (RFC 4303 §3.4.3): the highest nonce accepted and a bitmap of
/// which of the [`REPLAY_WINDOW`] nonces at or below it were accepted (bit `i`: `highest - i`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ReplayWindow {
    highest: u64,
    seen: u64,
}

impl ReplayWindow {
    /// The window after the first datagram from a sender.
    fn starting_at(nonce: u64) -> Self {
        ReplayWindow {
            highest: nonce,
            seen: 1,
        }
    }

    /// Records `nonce` and returns true if it is fresh; returns false, changing nothing, if it
    /// was already accepted or is too old to tell.
    fn accept(&mut self, nonce: u64) -> bool {
        if nonce > self.highest {
            let ahead = nonce - self.highest;
            self.seen = if ahead >= REPLAY_WINDOW {
                0
            } else {
                self.seen << ahead
            };
            self.seen |= 1;
            self.highest = nonce;
            return true;
        }
        let age = self.highest - nonce;
        if age >= REPLAY_WINDOW {
            return false;
        }
        let bit = 1u64 << age;
        if self.seen & bit != 0 {
            return false;
        }
        self.seen |= bit;
        true
    }
}

/// Why a list could not be packed into datagrams.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PackError {
    /// This item alone, wrapped in a message, makes a datagram over [`MAX_DATAGRAM`].
    #[error("item {index} needs a {len}-byte datagram, over the {MAX_DATAGRAM}-byte limit")]
    ItemTooLarge {
        /// Position of the item in the list given.
        index: usize,
        /// Size of the datagram it would need on its own.
        len: usize,
    },
    /// The wrapping closure did not put the chunk into the message as its list (a caller bug);
    /// the datagram came out larger than planned.
    #[error("wrapped chunk encoded to {0} bytes, over the {MAX_DATAGRAM}-byte limit")]
    WrapMismatch(usize),
    /// An item cannot be serialised at all (a caller bug: message payloads always can).
    #[error("item cannot be serialised: {0}")]
    Unserializable(String),
}

/// Turns messages into authenticated datagrams and back, for one node. Shared by all of a node's
/// tasks (`&self` everywhere; `Send + Sync`), because the nonce counter and the replay windows
/// must be one per node.
pub struct Codec {
    /// HMAC state already keyed with the cluster key; cloned per datagram so the key schedule is
    /// computed once, and so the key itself is not kept around in a second place.
    mac: HmacSha256,
    /// This node: the sender written into every datagram encoded here.
    me: NodeId,
    /// The next nonce to send. Starts at the UNIX time in microseconds so that nonces keep
    /// increasing across restarts (as long as fewer than a million datagrams a second are sent
    /// on average, and the clock does not step back between runs).
    next_nonce: AtomicU64,
    /// Anti-replay state per authenticated sender; only MAC-verified datagrams create entries, so
    /// its size is bounded by the cluster's membership.
    windows: Mutex<HashMap<NodeId, ReplayWindow>>,
    /// Reject counters, one per reason.
    rejects: Counters,
}

impl Codec {
    /// A codec for node `me` in the cluster keyed by `key`, with nonces starting at the current
    /// UNIX time in microseconds.
    pub fn new(key: &ClusterKey, me: NodeId) -> Self {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            // A clock before 1970 is broken; nonces then merely restart low.
            .unwrap_or_default()
            .as_micros();
        Self::with_nonce_start(key, me, u64::try_from(now).unwrap_or(u64::MAX / 2))
    }

    /// A codec whose first nonce is `first_nonce`: for deterministic simulations and tests,
    /// where the wall clock must not leak into the bytes sent.
    pub fn with_nonce_start(key: &ClusterKey, me: NodeId, first_nonce: u64) -> Self {
        Codec {
            mac: HmacSha256::new_from_slice(key.bytes()).expect("HMAC accepts keys of any length"),
            me,
            next_nonce: AtomicU64::new(first_nonce),
            windows: Mutex::new(HashMap::new()),
            rejects: Counters::default(),
        }
    }

    /// The node this codec sends as.
    pub fn node(&self) -> NodeId {
        self.me
    }

    /// `message` as one datagram from this node, with the next nonce. A message with huge lists
    /// may exceed [`MAX_DATAGRAM`] (and would be refused by receivers): lists that can grow
    /// under load go through [`Codec::encode_batched`].
    pub fn encode(&self, message: &Message) -> Vec<u8> {
        let nonce = self.next_nonce.fetch_add(1, Ordering::Relaxed);
        let mut datagram = Vec::with_capacity(128);
        datagram.extend_from_slice(&MAGIC);
        datagram.push(FORMAT_VERSION);
        let envelope = EnvelopeRef {
            sender: self.me,
            nonce,
            body: message,
        };
        let mut datagram = postcard::to_extend(&envelope, datagram)
            // Every message type is plain data with known-length lists: postcard cannot fail.
            .expect("a Message always serialises");
        let tag = self.keyed(&datagram).finalize().into_bytes();
        datagram.extend_from_slice(&tag);
        datagram
    }

    /// The sender and message of an authentic, fresh datagram, or why it was refused (and
    /// counted). Never panics, whatever the input. Does not check where the datagram came from:
    /// nodes on a network use [`Codec::decode_from`].
    pub fn decode(&self, datagram: &[u8]) -> Result<(NodeId, Message), Reject> {
        self.decode_from(datagram, |_| true)
    }

    /// [`Codec::decode`] for a datagram whose source the caller knows: `is_from(sender)` says
    /// whether the source is the address of the node the datagram names. If not, the datagram
    /// is refused as [`Reject::Misaddressed`] *before* its nonce reaches the replay window, so a
    /// copy sent from elsewhere cannot get the genuine datagram refused as a replay.
    pub fn decode_from(
        &self,
        datagram: &[u8],
        is_from: impl FnOnce(NodeId) -> bool,
    ) -> Result<(NodeId, Message), Reject> {
        let result = self.open(datagram, is_from);
        if let Err(reject) = &result {
            self.rejects.count(reject);
        }
        result
    }

    /// How many datagrams were refused so far, per reason.
    pub fn rejects(&self) -> RejectCounts {
        self.rejects.snapshot()
    }

    /// Packs `items` into as few datagrams as fit in [`MAX_DATAGRAM`], in order, each one the
    /// message `wrap` makes of a chunk (e.g. `|chunk| Message::Deliver(chunk)`). `wrap` must put
    /// the chunk into the message as its list, unchanged. No items, no datagrams.
    pub fn encode_batched<T: Serialize>(
        &self,
        items: Vec<T>,
        mut wrap: impl FnMut(Vec<T>) -> Message,
    ) -> Result<Vec<Vec<u8>>, PackError> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        // postcard lays a list out as a varint length then the items, each encoded on its own,
        // so a chunk's datagram size is the empty message's size, minus the one byte of its
        // zero length, plus the chunk's length varint and item sizes. Measured at the widest
        // nonce, so the plan is an upper bound whatever nonce the datagram gets.
        let empty = EnvelopeRef {
            sender: self.me,
            nonce: u64::MAX,
            body: &wrap(Vec::new()),
        };
        let overhead = HEADER_LEN + serialized_size(&empty)? + TAG_LEN - 1;
        let fits =
            |count: usize, bytes: usize| overhead + varint_len(count) + bytes <= MAX_DATAGRAM;

        // Plan every chunk before encoding any, so an oversized item sends nothing.
        let mut chunk_lens = Vec::new();
        let (mut count, mut bytes) = (0usize, 0usize);
        for (index, item) in items.iter().enumerate() {
            let size = serialized_size(item)?;
            if !fits(1, size) {
                return Err(PackError::ItemTooLarge {
                    index,
                    len: overhead + 1 + size,
                });
            }
            if count > 0 && !fits(count + 1, bytes + size) {
                chunk_lens.push(count);
                (count, bytes) = (0, 0);
            }
            count += 1;
            bytes += size;
        }
        chunk_lens.push(count);

        let mut items = items.into_iter();
        let mut datagrams = Vec::with_capacity(chunk_lens.len());
        for len in chunk_lens {
            let datagram = self.encode(&wrap(items.by_ref().take(len).collect()));
            if datagram.len() > MAX_DATAGRAM {
                return Err(PackError::WrapMismatch(datagram.len()));
            }
            datagrams.push(datagram);
        }
        Ok(datagrams)
    }

    /// A MAC already fed with `bytes`.
    fn keyed(&self, bytes: &[u8]) -> HmacSha256 {
        let mut mac = self.mac.clone();
        mac.update(bytes);
        mac
    }

    /// [`Codec::decode_from`] without the counting.
    fn open(
        &self,
        datagram: &[u8],
        is_from: impl FnOnce(NodeId) -> bool,
    ) -> Result<(NodeId, Message), Reject> {
        if datagram.len() > MAX_DATAGRAM {
            return Err(Reject::TooLarge(datagram.len()));
        }
        if datagram.len() < MIN_DATAGRAM {
            return Err(Reject::TooShort(datagram.len()));
        }
        if datagram[..MAGIC.len()] != MAGIC {
            return Err(Reject::BadMagic);
        }
        let version = datagram[MAGIC.len()];
        if version != FORMAT_VERSION {
            return Err(Reject::UnsupportedVersion(version));
        }
        let (signed, tag) = datagram.split_at(datagram.len() - TAG_LEN);
        self.keyed(signed)
            .verify_slice(tag)
            .map_err(|_| Reject::BadMac)?;

        let (envelope, rest): (Envelope, _) = postcard::take_from_bytes(&signed[HEADER_LEN..])
            .map_err(|e| Reject::Malformed(e.to_string()))?;
        if !rest.is_empty() {
            return Err(Reject::Malformed(format!(
                "{} trailing bytes after the message",
                rest.len()
            )));
        }

        let Envelope {
            sender,
            nonce,
            body,
        } = envelope;
        if !is_from(sender) {
            return Err(Reject::Misaddressed { sender });
        }
        // The map is left consistent at every point, so a panic elsewhere while it was held
        // cannot have corrupted it.
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        match windows.entry(sender) {
            Entry::Vacant(slot) => {
                slot.insert(ReplayWindow::starting_at(nonce));
            }
            Entry::Occupied(mut slot) => {
                if !slot.get_mut().accept(nonce) {
                    return Err(Reject::Replayed { sender, nonce });
                }
            }
        }
        Ok((sender, body))
    }
}

impl fmt::Debug for Codec {
    /// Never shows the key (nor the keyed MAC state derived from it).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Codec")
            .field("me", &self.me)
            .field("next_nonce", &self.next_nonce.load(Ordering::Relaxed))
            .field("rejects", &self.rejects())
            .finish_non_exhaustive()
    }
}

fn serialized_size<T: Serialize + ?Sized>(value: &T) -> Result<usize, PackError> {
    postcard::serialize_with_flavor(value, postcard::ser_flavors::Size::default())
        .map_err(|e| PackError::Unserializable(e.to_string()))
}

/// Bytes postcard's varint encoding takes for `n` (7 bits per byte).
fn varint_len(n: usize) -> usize {
    let bits = usize::BITS - n.leading_zeros();
    (bits as usize).div_ceil(7).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_accepts_fresh_and_reordered_nonces_once() {
        let mut w = ReplayWindow::starting_at(100);
        assert!(!w.accept(100), "repeat of the first");
        assert!(w.accept(103));
        assert!(w.accept(101), "late but within the window");
        assert!(!w.accept(101), "repeat of a late one");
        assert!(w.accept(102));
        assert!(!w.accept(103));
        assert!(w.accept(103 + 63 + 10));
        let highest = 103 + 63 + 10;
        assert!(w.accept(highest - 63), "oldest slot of the window");
        assert!(!w.accept(highest - 64), "just outside the window");
        assert!(!w.accept(0));
    }

    #[test]
    fn window_jump_beyond_its_width_forgets_everything_below() {
        let mut w = ReplayWindow::starting_at(5);
        assert!(w.accept(5 + 1000));
        assert_eq!(w.seen, 1);
        assert!(w.accept(5 + 1000 - 1));
        assert!(!w.accept(5));
    }

    #[test]
    fn window_at_the_top_of_the_nonce_space_does_not_overflow() {
        let mut w = ReplayWindow::starting_at(u64::MAX - 1);
        assert!(w.accept(u64::MAX));
        assert!(!w.accept(u64::MAX));
        assert!(!w.accept(u64::MAX - 1));
        assert!(w.accept(u64::MAX - 2));
    }

    #[test]
    fn varint_lengths_match_postcard() {
        for n in [
            0usize,
            1,
            127,
            128,
            16_383,
            16_384,
            2_097_151,
            2_097_152,
            usize::MAX,
        ] {
            let encoded = postcard::to_stdvec(&(n as u64)).unwrap();
            assert_eq!(varint_len(n), encoded.len(), "n = {n}");
        }
    }
}
