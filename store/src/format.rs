//! The tables and the byte format of their values (docs/storage.md, "Tables and values").
//!
//! Every value is `version (1 byte) · checksum · postcard bytes`, the checksum computed over the
//! postcard bytes: CRC-32 (4 bytes, little endian) for log entries and the meta, SHA-256
//! (32 bytes) for snapshots. Decoding checks the version, the checksum, that postcard consumes the
//! bytes exactly, and that the value belongs under its key.

use dmtbs_proto::Sequenced;
use redb::TableDefinition;
use sha2::{Digest as _, Sha256};

use crate::{Meta, Snapshot};

/// Log entries by sequence number.
pub(crate) const LOG: TableDefinition<u64, &[u8]> = TableDefinition::new("log");
/// Snapshots by the sequence number they are the state after (at most two).
pub(crate) const SNAPSHOTS: TableDefinition<u64, &[u8]> = TableDefinition::new("snapshots");
/// Single values by name: [`META_KEY`].
pub(crate) const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
/// The key of the [`Meta`] record in [`META`].
pub(crate) const META_KEY: &str = "meta";

/// The value format version this code writes and reads.
const VERSION: u8 = 1;
const CRC_LEN: usize = 4;
const SHA_LEN: usize = 32;

fn postcard<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, String> {
    postcard::to_allocvec(value).map_err(|e| format!("postcard could not encode it: {e}"))
}

fn crc_framed(payload: Vec<u8>) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(1 + CRC_LEN + payload.len());
    bytes.push(VERSION);
    bytes.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    bytes.extend_from_slice(&payload);
    bytes
}

/// The postcard bytes inside a CRC-framed value, checked.
fn crc_payload(bytes: &[u8]) -> Result<&[u8], String> {
    let payload = versioned(bytes, CRC_LEN)?;
    let stored = u32::from_le_bytes(bytes[1..1 + CRC_LEN].try_into().expect("length checked"));
    let computed = crc32fast::hash(payload);
    if stored != computed {
        return Err(format!(
            "checksum mismatch (stored CRC-32 {stored:08x}, computed {computed:08x})"
        ));
    }
    Ok(payload)
}

/// The bytes after the version and a checksum of `checksum_len` bytes.
fn versioned(bytes: &[u8], checksum_len: usize) -> Result<&[u8], String> {
    match bytes.first() {
        None => Err("empty value".into()),
        Some(&VERSION) if bytes.len() > checksum_len => Ok(&bytes[1 + checksum_len..]),
        Some(&VERSION) => Err(format!("truncated value ({} bytes)", bytes.len())),
        Some(other) => Err(format!("unknown value format version {other}")),
    }
}

fn decode_exact<'a, T: serde::Deserialize<'a>>(payload: &'a [u8]) -> Result<T, String> {
    match postcard::take_from_bytes(payload) {
        Ok((value, [])) => Ok(value),
        Ok((_, rest)) => Err(format!("{} stray bytes after the value", rest.len())),
        Err(e) => Err(format!("undecodable ({e})")),
    }
}

pub(crate) fn encode_entry(entry: &Sequenced) -> Result<Vec<u8>, String> {
    Ok(crc_framed(postcard(entry)?))
}

/// The log entry stored under `seq`, or why it is refused.
pub(crate) fn decode_entry(seq: u64, bytes: &[u8]) -> Result<Sequenced, String> {
    let entry: Sequenced = decode_exact(crc_payload(bytes)?)?;
    if entry.seq != seq {
        return Err(format!("holds the request numbered {}", entry.seq));
    }
    Ok(entry)
}

pub(crate) fn encode_meta(meta: &Meta) -> Result<Vec<u8>, String> {
    Ok(crc_framed(postcard(meta)?))
}

pub(crate) fn decode_meta(bytes: &[u8]) -> Result<Meta, String> {
    decode_exact(crc_payload(bytes)?)
}

pub(crate) fn encode_snapshot(snapshot: &Snapshot) -> Result<Vec<u8>, String> {
    let payload = postcard(snapshot)?;
    let mut bytes = Vec::with_capacity(1 + SHA_LEN + payload.len());
    bytes.push(VERSION);
    bytes.extend_from_slice(&Sha256::digest(&payload));
    bytes.extend_from_slice(&payload);
    Ok(bytes)
}

/// The snapshot stored under `seq`, or why it is refused.
pub(crate) fn decode_snapshot(seq: u64, bytes: &[u8]) -> Result<Snapshot, String> {
    let payload = versioned(bytes, SHA_LEN)?;
    if bytes[1..1 + SHA_LEN] != Sha256::digest(payload)[..] {
        return Err("SHA-256 mismatch".into());
    }
    let snapshot: Snapshot = decode_exact(payload)?;
    if snapshot.seq != seq {
        return Err(format!("holds the state after {}", snapshot.seq));
    }
    Ok(snapshot)
}
