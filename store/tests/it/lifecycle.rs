// What a replica manager writes is what it gets back after a restart: the log, snapshots with
// truncation, rollback and the meta.

use dmtbs_store::Meta;

use crate::common::{
    assert_clean, entries, entry, entry_in, meta, reopen, snapshot, snapshot_with, start,
};

#[test]
fn a_new_store_is_fresh_and_empty() {
    let dir = tempfile::tempdir().unwrap();
    let recovered = reopen(&dir.path().join("rm-1"));
    assert!(recovered.fresh);
    assert_eq!(recovered.snapshot, None);
    assert!(recovered.log.is_empty());
    assert_eq!(recovered.meta, Meta::default());
    assert_eq!(recovered.durable_through(), 0);
    assert_clean(&recovered);
    // Opening it again finds the same: an empty store is still fresh.
    let again = reopen(&dir.path().join("rm-1"));
    assert!(again.fresh);
    assert_clean(&again);
}

#[test]
fn appended_entries_come_back_after_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let (mut rm, _) = start(dir.path());
    for first in (1..=50).step_by(7) {
        rm.append(entries(first..=(first + 6).min(50)));
    }
    assert_eq!(rm.sync().durable_through, 50);
    drop(rm);

    let recovered = reopen(dir.path());
    assert_clean(&recovered);
    assert!(!recovered.fresh);
    assert_eq!(recovered.snapshot, None);
    assert_eq!(recovered.log, entries(1..=50));
    assert_eq!(recovered.durable_through(), 50);

    // The reopened store carries on where it stopped.
    let (mut rm, recovered) = start(dir.path());
    assert_eq!(recovered.log.len(), 50);
    rm.append(entries(51..=60));
    assert_eq!(rm.sync().durable_through, 60);
    drop(rm);
    assert_eq!(reopen(dir.path()).log, entries(1..=60));
}

#[test]
fn dropping_the_writer_commits_what_was_queued() {
    let dir = tempfile::tempdir().unwrap();
    let (rm, _) = start(dir.path());
    for seq in 1..=200 {
        rm.writer.append(vec![entry(seq)]);
    }
    rm.writer.set_meta(meta(3));
    drop(rm);
    let recovered = reopen(dir.path());
    assert_clean(&recovered);
    assert_eq!(recovered.log, entries(1..=200));
    assert_eq!(recovered.meta, meta(3));
}

#[test]
fn reappending_a_seq_overwrites_it() {
    let dir = tempfile::tempdir().unwrap();
    let (mut rm, _) = start(dir.path());
    rm.append(entries(1..=10));
    rm.append(vec![entry_in(2, 9), entry_in(2, 10), entry_in(2, 11)]);
    assert_eq!(rm.sync().durable_through, 11);
    drop(rm);
    let mut expected = entries(1..=8);
    expected.extend([entry_in(2, 9), entry_in(2, 10), entry_in(2, 11)]);
    assert_eq!(reopen(dir.path()).log, expected);
}

#[test]
fn meta_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let (mut rm, _) = start(dir.path());
    rm.set_meta(meta(2));
    rm.set_meta(meta(4));
    let commit = rm.sync();
    assert_eq!(commit.meta, meta(4));
    assert_eq!(commit.durable_through, 0);
    drop(rm);

    let recovered = reopen(dir.path());
    assert_clean(&recovered);
    assert!(!recovered.fresh, "a store holding a promise is not fresh");
    assert_eq!(recovered.meta, meta(4));
    assert!(recovered.log.is_empty());
}

#[test]
fn a_snapshot_and_truncation_leave_the_snapshot_and_the_log_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let (mut rm, _) = start(dir.path());
    rm.append(entries(1..=100));
    rm.snapshot(snapshot_with(60, 40));
    rm.truncate_below(61);
    assert_eq!(rm.sync().durable_through, 100);
    rm.append(entries(101..=120));
    // Truncating beyond the snapshot drops nothing it does not cover.
    rm.truncate_below(1_000);
    assert_eq!(rm.sync().durable_through, 120);
    drop(rm);

    let recovered = reopen(dir.path());
    assert_clean(&recovered);
    assert_eq!(recovered.snapshot, Some(snapshot_with(60, 40)));
    assert_eq!(recovered.log, entries(61..=120));
    assert_eq!(recovered.durable_through(), 120);
}

#[test]
fn without_a_snapshot_truncation_drops_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (mut rm, _) = start(dir.path());
    rm.append(entries(1..=30));
    rm.truncate_below(20);
    assert_eq!(rm.sync().durable_through, 30);
    drop(rm);
    assert_eq!(reopen(dir.path()).log, entries(1..=30));
}

#[test]
fn a_snapshot_beyond_the_log_is_durable_through_its_seq() {
    // A replica manager that got a peer's state: the snapshot is ahead of its own log.
    let dir = tempfile::tempdir().unwrap();
    let (mut rm, _) = start(dir.path());
    rm.append(entries(1..=10));
    rm.snapshot(snapshot(500));
    assert_eq!(rm.sync().durable_through, 500);
    rm.append(entries(501..=505));
    assert_eq!(rm.sync().durable_through, 505);
    drop(rm);
    let recovered = reopen(dir.path());
    assert_clean(&recovered);
    assert_eq!(recovered.snapshot, Some(snapshot(500)));
    assert_eq!(recovered.log, entries(501..=505));
}

#[test]
fn discard_after_rolls_the_log_and_snapshots_back() {
    let dir = tempfile::tempdir().unwrap();
    let (mut rm, _) = start(dir.path());
    rm.append(entries(1..=50));
    rm.snapshot(snapshot(40));
    assert_eq!(rm.sync().durable_through, 50);
    rm.discard_after(30);
    assert_eq!(rm.sync().durable_through, 30);
    // A new epoch takes over from 31.
    rm.append((31..=35).map(|seq| entry_in(2, seq)).collect());
    assert_eq!(rm.sync().durable_through, 35);
    drop(rm);

    let recovered = reopen(dir.path());
    assert_clean(&recovered);
    assert_eq!(
        recovered.snapshot, None,
        "the snapshot at 40 was rolled back"
    );
    let mut expected = entries(1..=30);
    expected.extend((31..=35).map(|seq| entry_in(2, seq)));
    assert_eq!(recovered.log, expected);
}

#[test]
fn only_the_newest_two_snapshots_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (mut rm, _) = start(dir.path());
    rm.append(entries(1..=30));
    for seq in [10, 20, 30] {
        rm.snapshot(snapshot(seq));
    }
    assert_eq!(rm.sync().durable_through, 30);
    // Rolling back below the newest falls back to the one before it…
    rm.discard_after(25);
    assert_eq!(rm.sync().durable_through, 25);
    drop(rm);
    let recovered = reopen(dir.path());
    assert_clean(&recovered);
    assert_eq!(recovered.snapshot, Some(snapshot(20)));
    assert_eq!(recovered.log, entries(21..=25));

    // …and below that there is none: the one at 10 was not kept.
    let (mut rm, _) = start(dir.path());
    rm.discard_after(15);
    assert_eq!(rm.sync().durable_through, 15);
    drop(rm);
    let recovered = reopen(dir.path());
    assert_clean(&recovered);
    assert_eq!(recovered.snapshot, None);
    assert_eq!(recovered.log, entries(1..=15));
}

#[test]
fn a_second_open_of_the_same_store_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (rm, _) = start(dir.path());
    let error = dmtbs_store::open(dir.path()).err().expect("a second open");
    assert!(
        matches!(error, dmtbs_store::StoreError::Locked { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("in use"), "{error}");
    drop(rm);
    assert!(dmtbs_store::open(dir.path()).is_ok());
}
