// The store's own checksums: a value that redb stores intact but that is not what the store
// wrote (altered through redb itself, so redb's page checksums are all valid) is refused, the
// intact rest is kept, and the damage is deleted so later appends stay contiguous.

use std::path::Path;

use dmtbs_store::{DB_FILE, Meta};
use redb::{ReadableDatabase, TableDefinition};

use crate::common::{assert_clean, entries, meta, reopen, snapshot, start};

const LOG: TableDefinition<u64, &[u8]> = TableDefinition::new("log");
const SNAPSHOTS: TableDefinition<u64, &[u8]> = TableDefinition::new("snapshots");
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");

/// Rewrites one stored value through redb, changing it with `edit`.
fn tamper<K: redb::Key + 'static>(
    dir: &Path,
    table: TableDefinition<K, &[u8]>,
    key: K::SelfType<'_>,
    edit: impl FnOnce(&mut [u8]),
) {
    let db = redb::Database::open(dir.join(DB_FILE)).unwrap();
    let mut value = {
        let read = db.begin_read().unwrap();
        let table = read.open_table(table).unwrap();
        redb::ReadableTable::get(&table, &key)
            .unwrap()
            .expect("the key is stored")
            .value()
            .to_vec()
    };
    edit(&mut value);
    let write = db.begin_write().unwrap();
    write
        .open_table(table)
        .unwrap()
        .insert(key, value.as_slice())
        .unwrap();
    write.commit().unwrap();
}

fn remove(dir: &Path, seq: u64) {
    let db = redb::Database::open(dir.join(DB_FILE)).unwrap();
    let write = db.begin_write().unwrap();
    write.open_table(LOG).unwrap().remove(seq).unwrap();
    write.commit().unwrap();
}

/// A store holding the log 1..=60, snapshots at 20 and 40, and a meta.
fn written(dir: &Path) {
    let (mut rm, _) = start(dir);
    rm.append(entries(1..=60));
    rm.snapshot(snapshot(20));
    rm.snapshot(snapshot(40));
    rm.set_meta(meta(3));
    assert_eq!(rm.sync().durable_through, 60);
}

fn flip_last_byte(value: &mut [u8]) {
    *value.last_mut().unwrap() ^= 0x20;
}

#[test]
fn a_corrupt_log_entry_ends_the_log_and_is_deleted_with_what_follows() {
    let dir = tempfile::tempdir().unwrap();
    written(dir.path());
    tamper(dir.path(), LOG, 50, flip_last_byte);

    let (mut rm, recovered) = start(dir.path());
    assert_eq!(recovered.snapshot, Some(snapshot(40)));
    assert_eq!(recovered.log, entries(41..=49));
    assert_eq!(recovered.problems.len(), 1, "{:?}", recovered.problems);
    let problem = &recovered.problems[0];
    assert!(problem.contains("log entry 50"), "{problem}");
    assert!(problem.contains("checksum mismatch"), "{problem}");
    assert!(problem.contains("10 entries after it"), "{problem}");
    // The replica manager fetches 50.. again from its peers and appends them.
    rm.append(entries(50..=55));
    assert_eq!(rm.sync().durable_through, 55);
    drop(rm);

    let recovered = reopen(dir.path());
    assert_clean(&recovered);
    assert_eq!(recovered.log, entries(41..=55));
}

#[test]
fn an_entry_under_the_wrong_seq_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    written(dir.path());
    // A value that is intact in itself, but the one for seq 45, stored under 44.
    let db = redb::Database::open(dir.path().join(DB_FILE)).unwrap();
    let value = {
        let read = db.begin_read().unwrap();
        let table = read.open_table(LOG).unwrap();
        redb::ReadableTable::get(&table, 45u64)
            .unwrap()
            .unwrap()
            .value()
            .to_vec()
    };
    let write = db.begin_write().unwrap();
    write
        .open_table(LOG)
        .unwrap()
        .insert(44, value.as_slice())
        .unwrap();
    write.commit().unwrap();
    drop(db);

    let recovered = reopen(dir.path());
    assert_eq!(recovered.log, entries(41..=43));
    assert!(
        recovered.problems[0].contains("log entry 44: holds the request numbered 45"),
        "{:?}",
        recovered.problems
    );
}

#[test]
fn a_missing_log_entry_ends_the_log() {
    let dir = tempfile::tempdir().unwrap();
    written(dir.path());
    remove(dir.path(), 45);

    let recovered = reopen(dir.path());
    assert_eq!(recovered.log, entries(41..=44));
    assert_eq!(recovered.durable_through(), 44);
    assert!(
        recovered.problems[0].contains("entry 45 is missing"),
        "{:?}",
        recovered.problems
    );
    // The entries after the gap were deleted: the next open finds a clean, shorter log.
    let recovered = reopen(dir.path());
    assert_clean(&recovered);
    assert_eq!(recovered.log, entries(41..=44));
}

#[test]
fn a_corrupt_newest_snapshot_falls_back_to_the_older_one() {
    let dir = tempfile::tempdir().unwrap();
    written(dir.path());
    // Any byte: here one in the middle of the state.
    tamper(dir.path(), SNAPSHOTS, 40, |value| {
        let middle = value.len() / 2;
        value[middle] ^= 1;
    });

    let recovered = reopen(dir.path());
    assert_eq!(recovered.snapshot, Some(snapshot(20)));
    assert_eq!(recovered.log, entries(21..=60));
    assert_eq!(recovered.problems.len(), 1, "{:?}", recovered.problems);
    assert!(
        recovered.problems[0].contains("snapshot at seq 40: SHA-256 mismatch"),
        "{:?}",
        recovered.problems
    );
    // The bad one is gone.
    let recovered = reopen(dir.path());
    assert_clean(&recovered);
    assert_eq!(recovered.snapshot, Some(snapshot(20)));
}

#[test]
fn corrupt_snapshots_and_no_log_behind_them_recover_nothing_but_say_so() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (mut rm, _) = start(dir.path());
        rm.append(entries(1..=40));
        rm.snapshot(snapshot(20));
        rm.snapshot(snapshot(40));
        rm.truncate_below(41);
        rm.append(entries(41..=45));
        assert_eq!(rm.sync().durable_through, 45);
    }
    for seq in [20, 40] {
        tamper(dir.path(), SNAPSHOTS, seq, |value| value[0] = 9);
    }
    let recovered = reopen(dir.path());
    assert_eq!(recovered.snapshot, None);
    assert!(recovered.log.is_empty());
    assert!(recovered.fresh, "nothing intact was recovered");
    let problems = recovered.problems.join("\n");
    assert!(problems.contains("snapshot at seq 40: unknown value format version 9"));
    assert!(problems.contains("snapshot at seq 20"));
    assert!(problems.contains("entry 1 is missing"), "{problems}");
}

#[test]
fn a_corrupt_meta_is_reported_and_the_default_returned() {
    let dir = tempfile::tempdir().unwrap();
    written(dir.path());
    tamper(dir.path(), META, "meta", flip_last_byte);

    let recovered = reopen(dir.path());
    assert_eq!(recovered.meta, Meta::default());
    assert_eq!(recovered.log, entries(41..=60));
    assert!(
        recovered.problems[0].starts_with("meta"),
        "{:?}",
        recovered.problems
    );
}
