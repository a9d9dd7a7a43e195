//! A replica manager's durable state, in one [redb] file per replica manager (`<dir>/rm.redb`):
//!
//! - the **log** of sequenced requests it delivered, keyed by sequence number;
//! - up to two **snapshots**: the canonical state after some sequence number, plus an opaque blob
//!   of the replica manager's bookkeeping;
//! - its epoch bookkeeping ([`Meta`]).
//!
//! [`open`] verifies everything it loads (every value carries a checksum, and redb checks its own
//! page checksums on every open) and returns what is intact in [`Recovered`], with a line in
//! [`Recovered::problems`] for everything it refused. [`Store::start`] then hands the database to
//! a writer thread that applies queued operations with **group commit**: everything queued while
//! one commit is being fsynced goes into the next one, and each commit is reported as a
//! [`Committed`]. A replica manager answers a request only once a `Committed` covers it.
//!
//! Layout, formats and measurements: `docs/storage.md`.

mod format;
mod open;
mod writer;

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use dmtbs_contract::CanonicalState;
use dmtbs_proto::Sequenced;
use serde::{Deserialize, Serialize};

pub use open::{DB_FILE, open, open_in_memory};
pub use writer::{Committed, Writer};

/// An opened store, not yet writing: [`Store::start`] turns it into a [`Writer`].
pub struct Store {
    db: redb::Database,
    path: PathBuf,
    /// The newest snapshot's sequence number (0 without one).
    snapshot_seq: u64,
    /// The end of the contiguous log after the newest snapshot (see [`Committed::durable_through`]).
    durable_through: u64,
    /// The meta as stored.
    meta: Meta,
}

impl Store {
    /// The database file (`<dir>/rm.redb`).
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// The end of the contiguous durable log after the newest snapshot, as opened.
    pub fn durable_through(&self) -> u64 {
        self.durable_through
    }
}

/// What [`open`] found on disk.
#[derive(Debug)]
pub struct Recovered {
    /// The store held nothing intact at all: no meta, no snapshot, no log entry (a new replica
    /// manager, a disk that was lost, or a file that was moved aside as unreadable).
    pub fresh: bool,
    /// The newest intact snapshot, if any.
    pub snapshot: Option<Snapshot>,
    /// The contiguous log entries after the snapshot (or from seq 1 without one), in order,
    /// stopping before the first missing or corrupt entry.
    pub log: Vec<Sequenced>,
    /// The persisted epoch bookkeeping (default when none was stored or it was corrupt).
    pub meta: Meta,
    /// Human-readable lines about everything refused: corrupt entries or snapshots, a commit redb
    /// rolled back, a database file that could not be opened and was moved aside to
    /// `rm.redb.corrupt-<unix-seconds>`. The replica manager logs each at ERROR.
    pub problems: Vec<String>,
}

impl Recovered {
    /// Every request up to this sequence number is covered by the snapshot or the log: the end
    /// of the recovered log, or the snapshot's seq when the log after it is empty (0 for none).
    pub fn durable_through(&self) -> u64 {
        match (self.log.last(), &self.snapshot) {
            (Some(last), _) => last.seq,
            (None, Some(snapshot)) => snapshot.seq,
            (None, None) => 0,
        }
    }
}

/// A replica's canonical state after applying every request up to and including `seq`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The last request the state includes.
    pub seq: u64,
    /// The state's digest as the replica manager computed it (stored, not recomputed here).
    pub digest: [u8; 32],
    /// The state itself, shared with the replica manager's copy: a snapshot is queued without
    /// copying the state on the caller's thread.
    #[serde(with = "shared")]
    pub state: Arc<CanonicalState>,
    /// The replica manager's own bookkeeping at `seq`, opaque to the store.
    pub extra: Vec<u8>,
}

/// A replica manager's epoch bookkeeping (docs/protocol.md, "Sequencer failover").
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    /// The highest epoch promised to a sequencer.
    pub promised: u64,
    /// Every epoch start this replica manager has taken: (epoch, start), ascending.
    pub epochs: Vec<(u64, u64)>,
}

/// Why [`open`] could not give a usable store. A damaged database file is not an error (it is
/// moved aside and reported in [`Recovered::problems`]); these are.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file system operation failed (permissions, disk full, I/O error, …).
    #[error("{what} {}: {source}", path.display())]
    Io {
        /// What the store was doing.
        what: &'static str,
        /// The file or folder concerned.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// Another process has the database open (redb locks the file).
    #[error("{} is in use by another process", path.display())]
    Locked {
        /// The database file.
        path: PathBuf,
    },
    /// redb refused an operation for a reason that moving the file aside would not cure (for
    /// example a file written in another redb format version, which needs an upgrade, not a
    /// fresh start).
    #[error("{what} {}: {message}", path.display())]
    Database {
        /// What the store was doing.
        what: &'static str,
        /// The database file.
        path: PathBuf,
        /// redb's error.
        message: String,
    },
}

/// `Arc<CanonicalState>` stored as the state itself (serde's own `Arc` support needs its `rc`
/// feature, which would rebuild every crate for one field).
mod shared {
    use std::sync::Arc;

    use dmtbs_contract::CanonicalState;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(state: &Arc<CanonicalState>, s: S) -> Result<S::Ok, S::Error> {
        state.as_ref().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Arc<CanonicalState>, D::Error> {
        CanonicalState::deserialize(d).map(Arc::new)
    }
}
