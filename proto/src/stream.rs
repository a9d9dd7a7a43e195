//! Chunked authenticated encryption for bulk data over a byte stream: an RM's state (tens of
//! megabytes) sent to a peer over TCP. Sans-IO: the caller reads and writes the frames.
//!
//! ```text
//! frame: flags (1 B: bit 0 = last) | length (u32, big-endian) | ChaCha20-Poly1305(chunk) | tag (16 B)
//! ```
//!
//! Each stream has a key of its own, derived from the cluster key ([`crate::Codec::stream_sealer`]),
//! so frame counters can start at zero: frame `i` is sealed under the nonce `0⁴ | i` (12 bytes),
//! with the frame's 5-byte header as associated data. A receiver therefore refuses a frame that
//! was altered, dropped, reordered, repeated or taken from another stream, and since the last
//! frame says so (authenticated), a stream cut short after any frame is an error, not a shorter
//! state.

use chacha20poly1305::aead::AeadInPlace;
use chacha20poly1305::{ChaCha20Poly1305, Nonce, Tag};

/// Largest plaintext per frame: small enough that neither side holds much unverified data,
/// large enough that the 21 bytes of framing per frame are lost in the noise (0.03 %).
pub const CHUNK: usize = 64 * 1024;
/// Length of a frame's header: flags and length.
pub const FRAME_HEADER: usize = 5;
/// Length of a frame's tag.
pub const FRAME_TAG: usize = 16;
/// Flag bit of the last frame of a stream.
const LAST: u8 = 1;

/// Why a frame was refused. Any of them ends the stream: the data cannot be trusted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StreamError {
    /// The header announces a frame no sealer makes (too long, too short, unknown flags).
    #[error("malformed frame header: {0}")]
    BadHeader(String),
    /// The tag does not verify: forged, altered, out of place, or under another key.
    #[error("frame {0} failed authentication")]
    Forged(u64),
    /// A frame after the one marked last.
    #[error("a frame after the last one")]
    AfterLast,
}

/// Seals a stream's frames, in order.
pub struct Sealer {
    aead: ChaCha20Poly1305,
    /// Number of the next frame: its nonce.
    counter: u64,
}

/// Opens a stream's frames, in order, and tells when the last one came.
pub struct Opener {
    aead: ChaCha20Poly1305,
    /// Number of the next frame expected.
    counter: u64,
    /// Whether the frame marked last was opened.
    finished: bool,
}

fn nonce(counter: u64) -> Nonce {
    let mut nonce = [0u8; 12];
    nonce[4..].copy_from_slice(&counter.to_be_bytes());
    Nonce::from(nonce)
}

impl Sealer {
    pub(crate) fn new(aead: ChaCha20Poly1305) -> Self {
        Sealer { aead, counter: 0 }
    }

    /// `chunk` (at most [`CHUNK`] bytes) as the next frame; `last` marks the end of the stream.
    /// Panics on a longer chunk (a caller bug) — see [`Sealer::seal_all`].
    pub fn seal(&mut self, chunk: &[u8], last: bool) -> Vec<u8> {
        assert!(chunk.len() <= CHUNK, "chunk of {} bytes", chunk.len());
        let len = (chunk.len() + FRAME_TAG) as u32;
        let mut frame = Vec::with_capacity(FRAME_HEADER + chunk.len() + FRAME_TAG);
        frame.push(if last { LAST } else { 0 });
        frame.extend_from_slice(&len.to_be_bytes());
        frame.extend_from_slice(chunk);
        let (header, body) = frame.split_at_mut(FRAME_HEADER);
        let tag = self
            .aead
            .encrypt_in_place_detached(&nonce(self.counter), header, body)
            // The only failure is a plaintext over 256 GiB; a chunk is 64 KiB at most.
            .expect("a chunk is far below ChaCha20-Poly1305's limit");
        frame.extend_from_slice(&tag);
        self.counter += 1;
        frame
    }

    /// All of `data` as frames of at most [`CHUNK`] bytes, the last one marked (empty data:
    /// one empty last frame).
    pub fn seal_all<'a>(&'a mut self, data: &'a [u8]) -> impl Iterator<Item = Vec<u8>> + 'a {
        let chunks = data.len().div_ceil(CHUNK).max(1);
        (0..chunks).map(move |i| {
            let end = ((i + 1) * CHUNK).min(data.len());
            self.seal(&data[i * CHUNK..end], i + 1 == chunks)
        })
    }
}

impl Opener {
    pub(crate) fn new(aead: ChaCha20Poly1305) -> Self {
        Opener {
            aead,
            counter: 0,
            finished: false,
        }
    }

    /// How many bytes follow this frame header (sealed chunk and tag). Refuses what no sealer
    /// makes before the caller reads (or allocates) anything more.
    pub fn body_len(&self, header: &[u8; FRAME_HEADER]) -> Result<usize, StreamError> {
        if self.finished {
            return Err(StreamError::AfterLast);
        }
        if header[0] & !LAST != 0 {
            return Err(StreamError::BadHeader(format!("flags {:#04x}", header[0])));
        }
        let len = u32::from_be_bytes([header[1], header[2], header[3], header[4]]) as usize;
        if !(FRAME_TAG..=CHUNK + FRAME_TAG).contains(&len) {
            return Err(StreamError::BadHeader(format!("length {len}")));
        }
        Ok(len)
    }

    /// The chunk of the next frame, given its header and the [`Opener::body_len`] bytes after
    /// it, authenticated and decrypted in place.
    pub fn open(
        &mut self,
        header: &[u8; FRAME_HEADER],
        mut body: Vec<u8>,
    ) -> Result<Vec<u8>, StreamError> {
        if self.body_len(header)? != body.len() {
            return Err(StreamError::BadHeader(format!(
                "{} bytes where the header announced another length",
                body.len()
            )));
        }
        let tag = Tag::clone_from_slice(&body[body.len() - FRAME_TAG..]);
        body.truncate(body.len() - FRAME_TAG);
        self.aead
            .decrypt_in_place_detached(&nonce(self.counter), header, &mut body, &tag)
            .map_err(|_| StreamError::Forged(self.counter))?;
        self.counter += 1;
        self.finished = header[0] & LAST != 0;
        Ok(body)
    }

    /// Whether the frame marked last was opened: only then is the data complete.
    pub fn finished(&self) -> bool {
        self.finished
    }
}
