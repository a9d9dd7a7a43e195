//! The audit log (the course's "server log"): one JSON line per answered request.
//!
//! Each line is an [`AuditRecord`]: when, who, which operation with which parameters, what the
//! answer was (the rule's code, the success kind, or the front end's own refusal such as
//! `bad-request`), the HTTP status, the sequence number and which replicas agreed. Requests refused
//! before sequencing have no sequence number. The log goes to any [`Write`]: a file in production,
//! a buffer in tests.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::Path;
use std::sync::Mutex;

use chrono::{SecondsFormat, Utc};
use dmtbs_proto::RmId;
use serde::{Deserialize, Serialize};

/// One line of the audit log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// When the answer was given, RFC 3339 in UTC with milliseconds.
    pub time: String,
    /// The actor as canonicalised, or as received when it was malformed; absent when missing.
    pub actor: Option<String>,
    /// The operation's name in the rules (`book`, `add-show`, …).
    pub operation: String,
    /// The operation's other fields (camelCase), canonical when they were valid, as received
    /// otherwise; `null` when the request body could not be read.
    pub parameters: serde_json::Value,
    /// The answer: a success kind (`booked`), a rule's error code (`weekly-limit`), or a front end
    /// refusal (`bad-request`, `unauthenticated`, `no-agreement`, `unavailable`).
    pub outcome: String,
    /// The HTTP status answered.
    pub status: u16,
    /// The request's sequence number, when it was sequenced.
    pub seq: Option<u64>,
    /// The replica managers whose results agreed with the answer (empty when not sequenced or no
    /// agreement).
    pub agreed: Vec<RmId>,
    /// When the replicas recognised the request as executed before (an idempotency key used
    /// again, a resubmission after a sequencer failover): the first execution's sequence number.
    /// Nothing was executed for this line. Absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replayed: Option<u64>,
}

impl AuditRecord {
    /// The current time in the log's format.
    pub fn now() -> String {
        Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
    }
}

/// Where audit lines go. Writes are serialised by a lock; a write error is reported through
/// `tracing` and never fails the request that was already answered.
pub struct AuditLog {
    /// The destination; boxed so a file, stdout or a test buffer all fit.
    out: Mutex<Box<dyn Write + Send>>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog").finish_non_exhaustive()
    }
}

impl AuditLog {
    /// A log written to `out`.
    pub fn to_writer(out: impl Write + Send + 'static) -> Self {
        AuditLog {
            out: Mutex::new(Box::new(out)),
        }
    }

    /// A log appended to the file at `path` (created if absent).
    pub fn to_file(path: impl AsRef<Path>) -> io::Result<Self> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Self::to_writer(file))
    }

    /// A log that discards everything.
    pub fn discard() -> Self {
        Self::to_writer(io::sink())
    }

    /// Appends one line (and flushes, so a crash loses nothing already answered).
    pub fn write(&self, record: &AuditRecord) {
        // Serialising a struct of strings, numbers and JSON values cannot fail.
        let mut line = serde_json::to_vec(record).expect("audit record serialises");
        line.push(b'\n');
        // A poisoned lock only means another writer panicked mid-line; keep logging.
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        if let Err(error) = out.write_all(&line).and_then(|()| out.flush()) {
            tracing::warn!(%error, "audit log write failed");
        }
    }
}
