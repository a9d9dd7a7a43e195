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
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

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

/// Where audit lines go. Writes are serialised by a lock.
///
/// **When a write fails** (a full disk, a file gone read-only) nothing is lost silently: the
/// failure is logged at ERROR and counted ([`AuditLog::failures`],
/// `dmtbs_fe_audit_write_failures_total`), and the log is *failing* ([`AuditLog::is_failing`])
/// until a write succeeds again. While it is failing the front end refuses every request that
/// would change something — bookings, cancellations, exchanges, shows, operator actions — with
/// 503 `audit-unavailable` rather than execute them unaudited; reads go on. The request whose
/// line failed had already been executed and answered: its line is the one lost, and the ERROR
/// line names it. The first refused request's own line is the next write: once the log is
/// writable again it succeeds and lifts the refusal.
pub struct AuditLog {
    /// The destination; boxed so a file, stdout or a test buffer all fit.
    out: Mutex<Box<dyn Write + Send>>,
    /// The last write failed.
    failing: AtomicBool,
    /// Writes failed since the start.
    failures: AtomicU64,
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
            failing: AtomicBool::new(false),
            failures: AtomicU64::new(0),
        }
    }

    /// A log appended to the file at `path` (created if absent), readable by its owner only: it
    /// names customers and what they booked. An existing file is made owner-only too.
    pub fn to_file(path: impl AsRef<Path>) -> io::Result<Self> {
        use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)?;
        if file.metadata()?.permissions().mode() & 0o077 != 0 {
            file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        }
        Ok(Self::to_writer(file))
    }

    /// Whether the last write failed: requests that change something are refused until a write
    /// succeeds again (see the type's docs).
    pub fn is_failing(&self) -> bool {
        self.failing.load(Ordering::Relaxed)
    }

    /// Writes that failed since the start.
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    /// A log that discards everything.
    pub fn discard() -> Self {
        Self::to_writer(io::sink())
    }

    /// Appends one line (and flushes, so a crash loses nothing already answered); whether it was
    /// written.
    pub fn write(&self, record: &AuditRecord) -> bool {
        // Serialising a struct of strings, numbers and JSON values cannot fail.
        let mut line = serde_json::to_vec(record).expect("audit record serialises");
        line.push(b'\n');
        // A poisoned lock only means another writer panicked mid-line; keep logging.
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        match out.write_all(&line).and_then(|()| out.flush()) {
            Ok(()) => {
                if self.failing.swap(false, Ordering::Relaxed) {
                    tracing::warn!("the audit log is writable again: requests are taken again");
                }
                true
            }
            Err(error) => {
                self.failures.fetch_add(1, Ordering::Relaxed);
                self.failing.store(true, Ordering::Relaxed);
                tracing::error!(
                    %error,
                    operation = %record.operation,
                    actor = ?record.actor,
                    seq = ?record.seq,
                    status = record.status,
                    "audit log write failed: this request's line is lost, and requests that \
                     change something are refused (503) until a write succeeds"
                );
                false
            }
        }
    }
}
