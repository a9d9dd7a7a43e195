// Shared fixtures: realistic log entries and snapshots, and a store opened in a folder.

use std::path::Path;

use dmtbs_contract::{
    AddShow, Book, BookingEntry, Cancel, CanonicalState, Date, Operation, ShowEntry,
};
use dmtbs_proto::Sequenced;
use dmtbs_store::{Committed, Meta, Recovered, Snapshot, Writer};
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

fn s(text: &str) -> String {
    text.to_owned()
}

/// The request numbered `seq` in epoch `epoch`; every field depends on both, so a stale or
/// misplaced entry never passes for the right one.
pub fn entry_in(epoch: u64, seq: u64) -> Sequenced {
    let customer = format!("ATWC{:04}", seq % 10_000);
    let operation = match seq % 3 {
        0 => Operation::AddShow(AddShow {
            actor: s("ATWA0001"),
            movie: s("Avatar"),
            show_id: s("ATWM120526"),
            capacity: (seq % 500) as u32,
        }),
        1 => Operation::Book(Book {
            actor: customer.clone(),
            customer,
            movie: s("Titanic"),
            show_id: s("VERE130526"),
            tickets: (seq % 7) as u32 + 1,
        }),
        _ => Operation::Cancel(Cancel {
            actor: s("OUTA0003"),
            customer,
            movie: s("Avengers"),
            show_id: s("OUTA140526"),
            tickets: 1,
        }),
    };
    Sequenced {
        epoch,
        seq,
        today: Date {
            year: 2026,
            month: 5,
            day: (seq % 28) as u8 + 1,
        },
        fe: (seq % 3) as u16 + 1,
        request_id: seq * 1_000 + epoch,
        key: seq.is_multiple_of(2).then(|| format!("key-{epoch}-{seq}")),
        operation,
    }
}

pub fn entry(seq: u64) -> Sequenced {
    entry_in(1, seq)
}

pub fn entries(seqs: impl IntoIterator<Item = u64>) -> Vec<Sequenced> {
    seqs.into_iter().map(entry).collect()
}

/// A snapshot at `seq` with `shows` shows and twice as many bookings.
pub fn snapshot_with(seq: u64, shows: usize) -> Snapshot {
    let state = CanonicalState {
        shows: (0..shows)
            .map(|i| ShowEntry {
                movie: s("Avatar"),
                show_id: format!("ATWM{:02}0526", i % 100),
                capacity: (seq as u32).wrapping_add(i as u32),
            })
            .collect(),
        bookings: (0..2 * shows)
            .map(|i| BookingEntry {
                customer: format!("VERC{i:04}"),
                movie: s("Avatar"),
                show_id: format!("ATWM{:02}0526", i % 100),
                tickets: (i % 9) as u32 + 1,
            })
            .collect(),
    };
    Snapshot {
        seq,
        digest: [seq as u8; 32],
        state: std::sync::Arc::new(state),
        extra: format!("rm bookkeeping at {seq}").into_bytes(),
    }
}

pub fn snapshot(seq: u64) -> Snapshot {
    snapshot_with(seq, 3)
}

pub fn meta(promised: u64) -> Meta {
    Meta {
        promised,
        epochs: (1..=promised).map(|e| (e, e * 100 + 1)).collect(),
    }
}

/// A started store and its commit reports. Its methods queue one operation each and count them,
/// so [`Running::sync`] knows exactly which commit contains the last one.
pub struct Running {
    pub writer: Writer,
    pub committed: UnboundedReceiver<Committed>,
    queued: usize,
    done: usize,
}

impl Running {
    pub fn append(&mut self, items: Vec<Sequenced>) {
        assert!(!items.is_empty());
        self.queued += 1;
        self.writer.append(items);
    }

    pub fn snapshot(&mut self, snapshot: Snapshot) {
        self.queued += 1;
        self.writer.snapshot(snapshot);
    }

    pub fn truncate_below(&mut self, seq: u64) {
        self.queued += 1;
        self.writer.truncate_below(seq);
    }

    pub fn discard_after(&mut self, seq: u64) {
        self.queued += 1;
        self.writer.discard_after(seq);
    }

    pub fn set_meta(&mut self, meta: Meta) {
        self.queued += 1;
        self.writer.set_meta(meta);
    }

    /// The next commit report (blocking: no sleeping, commits are reported as they happen).
    pub fn next_commit(&mut self) -> Committed {
        let commit = self
            .committed
            .blocking_recv()
            .expect("the writer stopped before committing");
        self.done += commit.operations;
        commit
    }

    /// Blocks until everything queued so far is committed; returns the commit of the last of it.
    pub fn sync(&mut self) -> Committed {
        loop {
            let commit = self.next_commit();
            assert!(
                self.done <= self.queued,
                "more operations committed than queued"
            );
            if self.done == self.queued {
                return commit;
            }
        }
    }
}

/// Opens the store in `dir` and starts its writer.
pub fn start(dir: &Path) -> (Running, Recovered) {
    let (store, recovered) = dmtbs_store::open(dir).expect("open");
    let (tx, committed) = unbounded_channel();
    let writer = store.start(tx);
    let running = Running {
        writer,
        committed,
        queued: 0,
        done: 0,
    };
    (running, recovered)
}

/// Opens the store in `dir` and closes it again: what a restarted replica manager recovers.
pub fn reopen(dir: &Path) -> Recovered {
    let (store, recovered) = dmtbs_store::open(dir).expect("reopen");
    drop(store);
    recovered
}

/// Asserts a recovery found nothing wrong.
#[track_caller]
pub fn assert_clean(recovered: &Recovered) {
    assert!(
        recovered.problems.is_empty(),
        "problems: {:#?}",
        recovered.problems
    );
}
