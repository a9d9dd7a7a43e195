//! The writer thread: queued operations applied in order, with group commit.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use dmtbs_proto::Sequenced;
use redb::{Durability, ReadableTable, ReadableTableMetadata};
use tokio::sync::mpsc::UnboundedSender;

use crate::format::{LOG, META, META_KEY, SNAPSHOTS, encode_entry, encode_meta, encode_snapshot};
use crate::{Meta, Snapshot, Store};

/// How many snapshots the store keeps (the newest ones).
const SNAPSHOTS_KEPT: u64 = 2;

/// One queued operation.
enum Op {
    Append(Vec<Sequenced>),
    Snapshot(Box<Snapshot>),
    TruncateBelow(u64),
    DiscardAfter(u64),
    SetMeta(Meta),
}

/// One group commit, made durable (fsynced) before it is reported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Committed {
    /// The highest seq such that all log entries (snapshot.seq, seq] are durable — the end of
    /// the contiguous durable log, or the newest snapshot's seq when the log after it is empty.
    pub durable_through: u64,
    /// The meta now durable.
    pub meta: Meta,
    /// Wall time of the commit: applying the operations and the fsync.
    pub commit_time: Duration,
    /// Operations (calls on the [`Writer`]) in this commit: more than one is group commit.
    pub operations: usize,
}

/// A handle to the store's writer thread (`dmtbs-store`). Every operation is queued and applied
/// in order; the thread takes everything queued, applies it in one redb write transaction,
/// commits it with immediate durability (fsync), then sends one [`Committed`].
///
/// **Failures stop it.** If a commit fails (disk full, an I/O error, …) the thread logs the error
/// at ERROR, records it ([`Writer::failure`]) and stops: no further `Committed` is ever sent, and
/// operations queued afterwards are ignored. The channel of `Committed` closes (the receiver gets
/// `None`) once the thread has stopped, if it held the only sender. A replica manager that answers
/// only what a `Committed` covers therefore stops answering, which is correct: it never claims
/// durable what may not be.
///
/// Dropping the writer lets the thread finish everything queued (in a last commit) and waits
/// for it to stop.
pub struct Writer {
    queue: Option<mpsc::Sender<Op>>,
    thread: Option<JoinHandle<()>>,
    fsyncs: Arc<AtomicU64>,
    failure: Arc<Mutex<Option<String>>>,
}

impl Store {
    /// Starts the writer thread (named `dmtbs-store`), which reports each commit on `committed`.
    pub fn start(self, committed: UnboundedSender<Committed>) -> Writer {
        let (queue, ops) = mpsc::channel();
        let fsyncs = Arc::new(AtomicU64::new(0));
        let failure = Arc::new(Mutex::new(None));
        let thread = std::thread::Builder::new()
            .name("dmtbs-store".into())
            .spawn({
                let fsyncs = fsyncs.clone();
                let failure = failure.clone();
                move || run(self, ops, committed, fsyncs, failure)
            })
            .expect("spawning the store's writer thread");
        Writer {
            queue: Some(queue),
            thread: Some(thread),
            fsyncs,
            failure,
        }
    }
}

impl Writer {
    fn send(&self, op: Op) {
        if let Some(queue) = &self.queue {
            // Fails only once the thread has stopped after a failure, which it logged.
            let _ = queue.send(op);
        }
    }

    /// Log entries: contiguous and ascending; re-appending an existing seq overwrites it.
    pub fn append(&self, items: Vec<Sequenced>) {
        if !items.is_empty() {
            self.send(Op::Append(items));
        }
    }

    /// Stores a snapshot; the store keeps the newest two.
    pub fn snapshot(&self, snapshot: Snapshot) {
        self.send(Op::Snapshot(Box::new(snapshot)));
    }

    /// Drops log entries below `seq`, but only ones a snapshot covers: never an entry above the
    /// newest snapshot's seq + 1 (nothing at all without a snapshot).
    pub fn truncate_below(&self, seq: u64) {
        self.send(Op::TruncateBelow(seq));
    }

    /// Rollback: drops log entries and snapshots above `seq`.
    pub fn discard_after(&self, seq: u64) {
        self.send(Op::DiscardAfter(seq));
    }

    /// Replaces the stored meta.
    pub fn set_meta(&self, meta: Meta) {
        self.send(Op::SetMeta(meta));
    }

    /// Commits (each one fsync) made so far.
    pub fn fsyncs(&self) -> u64 {
        self.fsyncs.load(Ordering::Relaxed)
    }

    /// The error that stopped the thread, if one did.
    pub fn failure(&self) -> Option<String> {
        self.failure
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Closing the queue ends the thread once it has committed everything queued.
        self.queue.take();
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("the store's writer thread panicked");
        }
    }
}

fn run(
    mut store: Store,
    ops: mpsc::Receiver<Op>,
    committed: UnboundedSender<Committed>,
    fsyncs: Arc<AtomicU64>,
    failure: Arc<Mutex<Option<String>>>,
) {
    while let Ok(first) = ops.recv() {
        let mut batch = vec![first];
        batch.extend(ops.try_iter());
        let started = Instant::now();
        let result = catch_unwind(AssertUnwindSafe(|| store.commit(&batch)))
            .unwrap_or_else(|_| Err("panicked while committing".into()));
        if let Err(error) = result {
            tracing::error!(
                path = %store.path.display(),
                %error,
                "store: a commit failed; the store stops here and nothing more is acknowledged"
            );
            *failure.lock().unwrap_or_else(|e| e.into_inner()) = Some(error);
            return;
        }
        fsyncs.fetch_add(1, Ordering::Relaxed);
        // A receiver that has gone away is not the store's concern: keep the data durable.
        let _ = committed.send(Committed {
            durable_through: store.durable_through,
            meta: store.meta.clone(),
            commit_time: started.elapsed(),
            operations: batch.len(),
        });
    }
}

fn text(error: impl std::fmt::Display) -> String {
    error.to_string()
}

impl Store {
    /// Applies `batch` in one write transaction and commits it durably; updates the in-memory
    /// view only once the commit succeeded.
    fn commit(&mut self, batch: &[Op]) -> Result<(), String> {
        let mut txn = self.db.begin_write().map_err(text)?;
        txn.set_durability(Durability::Immediate).map_err(text)?;
        let mut snapshot_seq = self.snapshot_seq;
        let mut durable_through = self.durable_through;
        let mut meta = None;
        {
            let mut log = txn.open_table(LOG).map_err(text)?;
            let mut snapshots = txn.open_table(SNAPSHOTS).map_err(text)?;
            let mut rescan = false;
            for op in batch {
                match op {
                    Op::Append(items) => {
                        for item in items {
                            let value = encode_entry(item)?;
                            log.insert(item.seq, value.as_slice()).map_err(text)?;
                        }
                    }
                    Op::Snapshot(snapshot) => {
                        let value = encode_snapshot(snapshot)?;
                        snapshots
                            .insert(snapshot.seq, value.as_slice())
                            .map_err(text)?;
                        while snapshots.len().map_err(text)? > SNAPSHOTS_KEPT {
                            snapshots.pop_first().map_err(text)?;
                        }
                        snapshot_seq = newest(&snapshots)?;
                    }
                    Op::TruncateBelow(seq) => {
                        let below = (*seq).min(snapshot_seq + 1);
                        log.retain_in(..below, |_, _| false).map_err(text)?;
                    }
                    Op::DiscardAfter(seq) => {
                        let after = (std::ops::Bound::Excluded(*seq), std::ops::Bound::Unbounded);
                        log.retain_in(after, |_, _| false).map_err(text)?;
                        snapshots.retain_in(after, |_, _| false).map_err(text)?;
                        snapshot_seq = newest(&snapshots)?;
                        rescan = true;
                    }
                    Op::SetMeta(new) => {
                        let value = encode_meta(new)?;
                        txn.open_table(META)
                            .map_err(text)?
                            .insert(META_KEY, value.as_slice())
                            .map_err(text)?;
                        meta = Some(new.clone());
                    }
                }
            }
            // The contiguous log after the newest snapshot. Without a rollback it only grows, so
            // only the new end is walked; after one it is walked again from the snapshot.
            if rescan {
                durable_through = snapshot_seq;
            }
            durable_through = durable_through.max(snapshot_seq);
            for item in log.range(durable_through + 1..).map_err(text)? {
                let (key, _) = item.map_err(text)?;
                if key.value() != durable_through + 1 {
                    break;
                }
                durable_through += 1;
            }
        }
        txn.commit().map_err(text)?;
        self.snapshot_seq = snapshot_seq;
        self.durable_through = durable_through;
        if let Some(meta) = meta {
            self.meta = meta;
        }
        Ok(())
    }
}

fn newest(snapshots: &redb::Table<u64, &[u8]>) -> Result<u64, String> {
    Ok(snapshots
        .last()
        .map_err(text)?
        .map_or(0, |(key, _)| key.value()))
}
