//! The datagram framing: every [`Message`] travels as one encrypted, authenticated,
//! replay-protected UDP datagram.
//!
//! ```text
//! +-------+---------+---------+-------------+------------------------------+-----------+
//! | MAGIC | version | sender  | nonce       | ChaCha20( postcard(Message) ) | Poly1305  |
//! | 4 B   | 1 B (4) | 3 B     | 8 B, BE     | variable                     | tag, 16 B |
//! +-------+---------+---------+-------------+------------------------------+-----------+
//!  \__________ header: in clear, authenticated _____/ \____ encrypted and authenticated ____/
//! ```
//!
//! The body is sealed with ChaCha20-Poly1305 (RFC 8439) under a key derived from the cluster key
//! with HKDF-SHA256, the 16-byte header as associated data, and the 96-bit AEAD nonce
//! `sender (3 B) | 0 | nonce (8 B)`. The sender is `kind | id` (kind 0 sequencer, 1 front end,
//! 2 replica manager, 3 standby; id big-endian, 0 for the sequencers). Each node's nonces
//! strictly increase and never repeat (see [`Codec::encode`]), so the AEAD nonce is unique per
//! key, sender and message. Deriving the key rather than using the cluster key directly keeps
//! the uses of the one shared secret apart: datagrams, and each state transfer
//! ([`Codec::stream_sealer`]), have keys of their own, so a nonce of one can never meet a nonce
//! of another under the same key, and a later format can derive fresh keys by changing a label.
//!
//! A receiver checks, in this order, stopping at the first failure: the size (at most
//! [`MAX_DATAGRAM`], before any other work), the magic, the version, the tag (constant time,
//! inside the AEAD, before a single byte of the body is deserialised), the body (postcard, no
//! trailing bytes; a known sender), the sender against the datagram's source (when the caller
//! can tell, [`Codec::decode_from`]), and finally the nonce against the replay rules
//! ([`crate::replay`]: a per-sender window in time, and the receiver's own start time, so a
//! datagram captured before a receiver restarted is refused after it). Each failure is a
//! [`Reject`] and is counted in [`RejectCounts`].
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

use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce, Tag};
use hkdf::Hkdf;
use rand::RngCore;
use serde::Serialize;
use sha2::Sha256;

use crate::replay::{CLOCK_SKEW, ReplayWindow};
use crate::stream::{Opener, Sealer};
use crate::{ClusterKey, Message, NodeId};

/// First bytes of every DMTBS datagram, so stray traffic on the port is dropped cheaply.
pub const MAGIC: [u8; 4] = *b"DMTB";
/// The framing version this build speaks; a change to the envelope or to any message bumps it,
/// so mixed-version clusters fail loudly (counted rejects) instead of misreading each other.
/// 4: encrypted bodies (ChaCha20-Poly1305), fixed-width sender and nonce in the header.
/// 6: epoch chains in `EpochState` and `EpochStart`, the epoch and promise in `Ack`; canary
/// swaps in `AdminCommand::Swap` and `RmStatus`. 7: the answering node's `NodeInfo` in
/// `AdminReply`. 8: checkpoint digests are the state digest of rules §7.1. 9: checkpoint
/// digests also cover the executed-requests table; `Verdicts` carries many verdicts.
pub const FORMAT_VERSION: u8 = 9;
/// Largest datagram sent or accepted: below the 65,507-byte UDP payload limit with room to
/// spare. Larger input is refused before any work is done on it.
pub const MAX_DATAGRAM: usize = 65_000;
/// Length of the Poly1305 tag that ends every datagram.
pub const TAG_LEN: usize = 16;
/// Length of the sender field: kind, then id (big-endian u16).
pub const SENDER_LEN: usize = 3;
/// Length of the header before the encrypted body: magic, version, sender and nonce (all in
/// clear, all covered by the tag as associated data).
pub const HEADER_LEN: usize = MAGIC.len() + 1 + SENDER_LEN + 8;
/// Shortest possible datagram: header, at least one byte of body, tag.
pub const MIN_DATAGRAM: usize = HEADER_LEN + 1 + TAG_LEN;
/// Length of the random salt a stream's sender picks ([`Codec::stream_sealer`]).
pub const STREAM_SALT_LEN: usize = 32;

/// HKDF `info` of the datagram key. Versioned: a format that changes how keys are used changes
/// the label, and gets keys unrelated to these.
const DATAGRAM_KEY_LABEL: &[u8] = b"dmtbs v4 datagram key";
/// HKDF `info` prefix of a stream's key; the stream's salt and context follow.
const STREAM_KEY_LABEL: &[u8] = b"dmtbs v4 stream key";

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
    /// The AEAD tag does not verify: forged, corrupted, or sent under another cluster key.
    /// (Named after the MAC of the framing before encryption, so the metric label `bad_mac`
    /// stays the same.)
    #[error("bad MAC: forged, corrupted, or sent under another cluster key")]
    BadMac,
    /// Authentic but undecodable: a sender with the key built a body (or a sender field) this
    /// build cannot read.
    #[error("malformed body: {0}")]
    Malformed(String),
    /// Authentic, but this sender's nonce was already accepted, is older than its window, or
    /// is older than this receiver's start ([`crate::replay`]).
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

/// A node's clock, in microseconds since the UNIX epoch: where nonces come from.
#[derive(Debug, Clone, Copy)]
enum Clock {
    /// The system clock: what nodes use.
    Wall,
    /// A clock that stands still at this instant: for deterministic simulations and tests,
    /// where the wall clock must not leak into the bytes sent.
    Frozen(u64),
}

impl Clock {
    fn now(self) -> u64 {
        match self {
            Clock::Wall => wall_micros(),
            Clock::Frozen(at) => at,
        }
    }
}

fn wall_micros() -> u64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        // A clock before 1970 is broken; nonces then merely restart low.
        .unwrap_or_default()
        .as_micros();
    u64::try_from(now).unwrap_or(u64::MAX / 2)
}

/// Turns messages into encrypted, authenticated datagrams and back, for one node. Shared by all
/// of a node's tasks (`&self` everywhere; `Send + Sync`), because the nonce counter and the
/// replay windows must be one per node.
pub struct Codec {
    /// ChaCha20-Poly1305 keyed with the datagram key derived from the cluster key (the key
    /// schedule is computed once; the cluster key itself is not kept here).
    aead: ChaCha20Poly1305,
    /// HKDF-SHA256 after its extract step on the cluster key: derives each stream's key.
    kdf: Hkdf<Sha256>,
    /// This node: the sender written into every datagram encoded here.
    me: NodeId,
    /// Where nonces come from: `nonce = max(previous + 1, now)`.
    clock: Clock,
    /// The lowest nonce the next datagram may have (the previous one plus one). Nonces follow
    /// the clock in microseconds, so they keep increasing across restarts too (as long as the
    /// clock does not step back between runs by more than the time the node was down, and the
    /// node sends fewer than a million datagrams a second on average).
    next_nonce: AtomicU64,
    /// Nonces below this are refused whoever sent them: this codec's start time less the
    /// clock skew allowed ([`CLOCK_SKEW`]) — what it accepted before a restart, it forgot.
    not_before: u64,
    /// Anti-replay state per authenticated sender; only verified datagrams that passed the
    /// caller's source check create entries, so its size is bounded by the cluster's membership
    /// (and each window by its own cap, 32 KiB).
    windows: Mutex<HashMap<NodeId, ReplayWindow>>,
    /// Reject counters, one per reason.
    rejects: Counters,
}

impl Codec {
    /// A codec for node `me` in the cluster keyed by `key`, with nonces following the system
    /// clock in microseconds, refusing datagrams sent before it started (less [`CLOCK_SKEW`]).
    pub fn new(key: &ClusterKey, me: NodeId) -> Self {
        let now = wall_micros();
        Self::with_clock(key, me, Clock::Wall, now)
    }

    /// A codec that started at `first_nonce` (microseconds) and whose clock stands still there:
    /// its nonces are `first_nonce`, `first_nonce + 1`, …, and it refuses datagrams with nonces
    /// older than `first_nonce - CLOCK_SKEW`. For deterministic simulations and tests, where the
    /// wall clock must not leak into the bytes sent; a receiver made with a later `first_nonce`
    /// is a receiver that restarted later.
    pub fn with_nonce_start(key: &ClusterKey, me: NodeId, first_nonce: u64) -> Self {
        Self::with_clock(key, me, Clock::Frozen(first_nonce), first_nonce)
    }

    fn with_clock(key: &ClusterKey, me: NodeId, clock: Clock, start: u64) -> Self {
        // The cluster key is 32 uniformly random bytes: a fine pseudorandom key as it is, so no
        // extract salt is needed.
        let kdf = Hkdf::<Sha256>::new(None, key.bytes());
        let mut datagram_key = Key::default();
        kdf.expand(DATAGRAM_KEY_LABEL, &mut datagram_key)
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        Codec {
            aead: ChaCha20Poly1305::new(&datagram_key),
            kdf,
            me,
            clock,
            next_nonce: AtomicU64::new(start),
            not_before: start.saturating_sub(CLOCK_SKEW),
            windows: Mutex::new(HashMap::new()),
            rejects: Counters::default(),
        }
    }

    /// The node this codec sends as.
    pub fn node(&self) -> NodeId {
        self.me
    }

    /// The nonce of the next datagram: `max(previous + 1, now in µs)`. Unique per codec even
    /// when many threads encode at once.
    fn next_nonce(&self) -> u64 {
        let now = self.clock.now();
        let previous = self
            .next_nonce
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |next| {
                next.max(now).checked_add(1)
            })
            // Reusing a nonce would reuse the AEAD's keystream: never. 2^64 µs is 584,000 years.
            .expect("the nonce space is exhausted");
        previous.max(now)
    }

    /// `message` as one datagram from this node, with the next nonce, its body encrypted. A
    /// message with huge lists may exceed [`MAX_DATAGRAM`] (and would be refused by
    /// receivers): lists that can grow under load go through [`Codec::encode_batched`].
    pub fn encode(&self, message: &Message) -> Vec<u8> {
        let nonce = self.next_nonce();
        let mut datagram = Vec::with_capacity(128);
        datagram.extend_from_slice(&MAGIC);
        datagram.push(FORMAT_VERSION);
        datagram.extend_from_slice(&sender_bytes(self.me));
        datagram.extend_from_slice(&nonce.to_be_bytes());
        let mut datagram = postcard::to_extend(message, datagram)
            // Every message type is plain data with known-length lists: postcard cannot fail.
            .expect("a Message always serialises");
        let (header, body) = datagram.split_at_mut(HEADER_LEN);
        let tag = self
            .aead
            .encrypt_in_place_detached(&aead_nonce(header), header, body)
            // The only failure is a body over 256 GiB.
            .expect("a datagram is far below ChaCha20-Poly1305's limit");
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

    /// Seals a stream of frames ([`crate::stream`]) under a key of its own, derived from the
    /// cluster key, a fresh random `salt` the sender picks (and sends in clear before the
    /// frames), and `context` — what both ends know the stream answers, e.g. the authentic
    /// request datagram — so a stream cannot be passed off as the answer to another request.
    pub fn stream_sealer(&self, salt: &[u8; STREAM_SALT_LEN], context: &[u8]) -> Sealer {
        Sealer::new(self.stream_aead(salt, context))
    }

    /// [`Codec::stream_sealer`] with a fresh salt from the thread's CSPRNG, returned to be sent
    /// ahead of the frames.
    pub fn new_stream(&self, context: &[u8]) -> ([u8; STREAM_SALT_LEN], Sealer) {
        let mut salt = [0u8; STREAM_SALT_LEN];
        rand::rng().fill_bytes(&mut salt);
        (salt, self.stream_sealer(&salt, context))
    }

    /// Opens the frames of a stream sealed by [`Codec::stream_sealer`] with the same salt and
    /// context, by any node holding the cluster key.
    pub fn stream_opener(&self, salt: &[u8; STREAM_SALT_LEN], context: &[u8]) -> Opener {
        Opener::new(self.stream_aead(salt, context))
    }

    fn stream_aead(&self, salt: &[u8; STREAM_SALT_LEN], context: &[u8]) -> ChaCha20Poly1305 {
        let mut key = Key::default();
        self.kdf
            .expand_multi_info(&[STREAM_KEY_LABEL, salt, context], &mut key)
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        ChaCha20Poly1305::new(&key)
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
        // zero length, plus the chunk's length varint and item sizes. The header is fixed-width
        // and the cipher adds only the tag, so the plan is exact.
        let overhead = HEADER_LEN + serialized_size(&wrap(Vec::new()))? + TAG_LEN - 1;
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
        let (header, sealed) = datagram.split_at(HEADER_LEN);
        let (ciphertext, tag) = sealed.split_at(sealed.len() - TAG_LEN);
        let mut body = ciphertext.to_vec();
        // The AEAD compares tags in constant time and decrypts nothing unless the tag verifies.
        self.aead
            .decrypt_in_place_detached(&aead_nonce(header), header, &mut body, Tag::from_slice(tag))
            .map_err(|_| Reject::BadMac)?;

        let mut sender = [0; SENDER_LEN];
        sender.copy_from_slice(&header[MAGIC.len() + 1..MAGIC.len() + 1 + SENDER_LEN]);
        let sender = parse_sender(sender)
            .ok_or_else(|| Reject::Malformed(format!("unknown sender {sender:02x?}")))?;
        let mut nonce = [0; 8];
        nonce.copy_from_slice(&header[HEADER_LEN - 8..]);
        let nonce = u64::from_be_bytes(nonce);
        let (body, rest): (Message, _) =
            postcard::take_from_bytes(&body).map_err(|e| Reject::Malformed(e.to_string()))?;
        if !rest.is_empty() {
            return Err(Reject::Malformed(format!(
                "{} trailing bytes after the message",
                rest.len()
            )));
        }

        if !is_from(sender) {
            return Err(Reject::Misaddressed { sender });
        }
        // The map is left consistent at every point, so a panic elsewhere while it was held
        // cannot have corrupted it.
        let mut windows = self.windows.lock().unwrap_or_else(PoisonError::into_inner);
        let fresh = match windows.entry(sender) {
            Entry::Occupied(mut slot) => slot.get_mut().accept(nonce),
            Entry::Vacant(slot) => {
                let mut window = ReplayWindow::new(self.not_before);
                let fresh = window.accept(nonce);
                if fresh {
                    slot.insert(window);
                }
                fresh
            }
        };
        if !fresh {
            return Err(Reject::Replayed { sender, nonce });
        }
        Ok((sender, body))
    }
}

impl fmt::Debug for Codec {
    /// Never shows the keys (nor the cipher and KDF states derived from them).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Codec")
            .field("me", &self.me)
            .field("next_nonce", &self.next_nonce.load(Ordering::Relaxed))
            .field("not_before", &self.not_before)
            .field("rejects", &self.rejects())
            .finish_non_exhaustive()
    }
}

/// The sender field of the header: kind (0 sequencer, 1 front end, 2 replica manager,
/// 3 standby), then the id, big-endian (0 for the sequencers).
fn sender_bytes(node: NodeId) -> [u8; SENDER_LEN] {
    let (kind, id): (u8, u16) = match node {
        NodeId::Sequencer => (0, 0),
        NodeId::FrontEnd(id) => (1, id),
        NodeId::Rm(id) => (2, id.into()),
        NodeId::Standby => (3, 0),
    };
    let [high, low] = id.to_be_bytes();
    [kind, high, low]
}

/// The node a sender field names; `None` for a field [`sender_bytes`] never writes.
fn parse_sender(field: [u8; SENDER_LEN]) -> Option<NodeId> {
    let id = u16::from_be_bytes([field[1], field[2]]);
    match (field[0], id) {
        (0, 0) => Some(NodeId::Sequencer),
        (1, id) => Some(NodeId::FrontEnd(id)),
        (2, id) => u8::try_from(id).ok().map(NodeId::Rm),
        (3, 0) => Some(NodeId::Standby),
        _ => None,
    }
}

/// The 96-bit AEAD nonce of a datagram: `sender (3 B) | 0 | nonce (8 B)`, from its header.
/// Unique per sender and message as long as the sender never repeats a nonce.
fn aead_nonce(header: &[u8]) -> Nonce {
    let mut nonce = [0u8; 12];
    nonce[..SENDER_LEN].copy_from_slice(&header[MAGIC.len() + 1..MAGIC.len() + 1 + SENDER_LEN]);
    nonce[4..].copy_from_slice(&header[HEADER_LEN - 8..HEADER_LEN]);
    Nonce::from(nonce)
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
    fn sender_fields_round_trip_and_unknown_ones_are_refused() {
        for node in [
            NodeId::Sequencer,
            NodeId::Standby,
            NodeId::FrontEnd(0),
            NodeId::FrontEnd(u16::MAX),
            NodeId::Rm(1),
            NodeId::Rm(u8::MAX),
        ] {
            assert_eq!(parse_sender(sender_bytes(node)), Some(node));
        }
        for field in [
            [0, 0, 1],
            [2, 1, 0],
            [3, 0, 9],
            [4, 0, 0],
            [0xff, 0xff, 0xff],
        ] {
            assert_eq!(parse_sender(field), None, "{field:?}");
        }
    }

    #[test]
    fn nonces_never_repeat_even_when_the_clock_stands_still_or_jumps() {
        let codec = Codec::with_nonce_start(&ClusterKey::from_bytes([7; 32]), NodeId::Rm(1), 10);
        assert_eq!(codec.next_nonce(), 10);
        assert_eq!(codec.next_nonce(), 11);
        let codec = Codec {
            clock: Clock::Frozen(1_000),
            ..codec
        };
        assert_eq!(codec.next_nonce(), 1_000, "the clock is ahead: it wins");
        assert_eq!(codec.next_nonce(), 1_001);
        let codec = Codec {
            clock: Clock::Frozen(5),
            ..codec
        };
        assert_eq!(
            codec.next_nonce(),
            1_002,
            "the clock stepped back: the count goes on"
        );
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
