//! Opening a store: permissions, redb's own checks, verifying every value, and what happens to
//! whatever is damaged.

use std::any::Any;
use std::fs::{self, DirBuilder, File, OpenOptions, Permissions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use dmtbs_proto::Sequenced;
use redb::{
    Database, DatabaseError, Durability, ReadableDatabase, ReadableTable, TableDefinition,
    TableError,
};

use crate::format::{LOG, META, META_KEY, SNAPSHOTS, decode_entry, decode_meta, decode_snapshot};
use crate::{Meta, Recovered, Snapshot, Store, StoreError};

/// The database file's name inside a replica manager's data folder.
pub const DB_FILE: &str = "rm.redb";
const DIR_MODE: u32 = 0o700;
const FILE_MODE: u32 = 0o600;
/// redb's page cache (its default is 1 GiB; four replica managers may share a machine).
const CACHE_BYTES: usize = 32 << 20;

/// Opens (creating if absent) the store in `dir`, one replica manager's data folder: `dir` gets
/// mode 0700 and `dir/rm.redb` mode 0600, set explicitly (so also when they exist more open).
///
/// Everything loaded is verified; what is damaged is dropped and reported in
/// [`Recovered::problems`], and what is intact is returned:
/// - a file redb cannot open, or reports corrupt while it is read, is renamed to
///   `rm.redb.corrupt-<unix-seconds>` and a fresh store is started in its place;
/// - a corrupt snapshot is deleted and the older one used;
/// - a corrupt or missing log entry ends the log: it and every entry after it are deleted, so
///   later appends stay contiguous;
/// - a corrupt meta is reported and the default returned.
///
/// Errors are what moving the file aside would not cure: the folder or file cannot be created
/// or accessed, another process has the database open, an I/O error, or a file in another redb
/// format version.
pub fn open(dir: &Path) -> Result<(Store, Recovered), StoreError> {
    prepare_dir(dir)?;
    let path = dir.join(DB_FILE);
    let mut problems = Vec::new();
    if prepare_file(&path)? {
        problems.push(format!(
            "{} existed but was empty (0 bytes): nothing to recover, starting fresh",
            path.display()
        ));
    }
    match attempt(&path) {
        Ok((store, mut recovered)) => {
            problems.append(&mut recovered.problems);
            recovered.problems = problems;
            Ok((store, recovered))
        }
        Err(Failure::Fatal(error)) => Err(error),
        Err(Failure::Unusable(reason)) => {
            let aside = move_aside(dir, &path)?;
            problems.push(format!(
                "{}: {reason}; moved it aside to {} and started a fresh store",
                path.display(),
                aside.display()
            ));
            prepare_file(&path)?;
            match attempt(&path) {
                Ok((store, mut recovered)) => {
                    problems.append(&mut recovered.problems);
                    recovered.problems = problems;
                    Ok((store, recovered))
                }
                Err(Failure::Fatal(error)) => Err(error),
                Err(Failure::Unusable(reason)) => Err(StoreError::Database {
                    what: "creating a fresh database",
                    path,
                    message: reason,
                }),
            }
        }
    }
}

/// A store kept in memory only (redb's in-memory backend): the same log, snapshots and group
/// commits, nothing on disk and no fsync. For `[recovery] durable = false` — a benchmark
/// baseline, with nothing surviving a restart.
pub fn open_in_memory() -> Result<(Store, Recovered), StoreError> {
    let db = Database::builder()
        .create_with_backend(redb::backends::InMemoryBackend::new())
        .map_err(|e| StoreError::Database {
            what: "creating an in-memory database",
            path: PathBuf::from(":memory:"),
            message: e.to_string(),
        })?;
    let recovered = Recovered {
        fresh: true,
        snapshot: None,
        log: Vec::new(),
        meta: Meta::default(),
        problems: Vec::new(),
    };
    let store = Store {
        db,
        path: PathBuf::from(":memory:"),
        snapshot_seq: 0,
        durable_through: 0,
        meta: Meta::default(),
    };
    Ok((store, recovered))
}

/// Why one attempt to open the database failed.
enum Failure {
    /// The file is damaged: move it aside and start afresh.
    Unusable(String),
    /// Moving the file aside would not help.
    Fatal(StoreError),
}

fn io_error(what: &'static str, path: &Path) -> impl FnOnce(io::Error) -> StoreError {
    let path = path.to_owned();
    move |source| StoreError::Io { what, path, source }
}

fn prepare_dir(dir: &Path) -> Result<(), StoreError> {
    if !dir.exists() {
        DirBuilder::new()
            .recursive(true)
            .mode(DIR_MODE)
            .create(dir)
            .map_err(io_error("creating the data folder", dir))?;
    }
    let metadata = fs::metadata(dir).map_err(io_error("reading the data folder", dir))?;
    if !metadata.is_dir() {
        return Err(StoreError::Io {
            what: "opening the data folder",
            path: dir.to_owned(),
            source: io::Error::new(io::ErrorKind::NotADirectory, "not a directory"),
        });
    }
    // Also when the umask took bits away at creation, or the folder existed more open.
    if metadata.permissions().mode() & 0o777 != DIR_MODE {
        fs::set_permissions(dir, Permissions::from_mode(DIR_MODE))
            .map_err(io_error("setting the mode of the data folder", dir))?;
    }
    Ok(())
}

/// Creates the file empty with mode 0600 if absent (redb then initialises it), or sets its mode.
/// True when it existed and was empty.
fn prepare_file(path: &Path) -> Result<bool, StoreError> {
    match fs::metadata(path) {
        Ok(metadata) => {
            if metadata.permissions().mode() & 0o777 != FILE_MODE {
                fs::set_permissions(path, Permissions::from_mode(FILE_MODE))
                    .map_err(io_error("setting the mode of", path))?;
            }
            Ok(metadata.len() == 0)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(FILE_MODE)
                .open(path)
                .map_err(io_error("creating", path))?;
            fs::set_permissions(path, Permissions::from_mode(FILE_MODE))
                .map_err(io_error("setting the mode of", path))?;
            Ok(false)
        }
        Err(e) => Err(io_error("reading", path)(e)),
    }
}

/// Renames the damaged file to `rm.redb.corrupt-<unix-seconds>[-n]`, kept for forensics.
fn move_aside(dir: &Path, path: &Path) -> Result<PathBuf, StoreError> {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let base = format!("{DB_FILE}.corrupt-{seconds}");
    let mut aside = dir.join(&base);
    let mut n = 1;
    while aside.exists() {
        n += 1;
        aside = dir.join(format!("{base}-{n}"));
    }
    fs::rename(path, &aside).map_err(io_error("moving aside", path))?;
    // Make the rename itself durable before a new file takes the name.
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error("syncing the data folder", dir))?;
    Ok(aside)
}

fn panic_message(panic: &(dyn Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".into())
}

/// Sorts a redb error: damage moves the file aside, anything else is returned.
fn classify(what: &'static str, path: &Path, error: redb::Error) -> Failure {
    match error {
        redb::Error::Corrupted(message) => Failure::Unusable(format!("{what}: corrupt: {message}")),
        redb::Error::Io(e)
            if matches!(
                e.kind(),
                io::ErrorKind::UnexpectedEof | io::ErrorKind::InvalidData
            ) =>
        {
            Failure::Unusable(format!("{what}: {e}"))
        }
        redb::Error::Io(source) => Failure::Fatal(StoreError::Io {
            what,
            path: path.to_owned(),
            source,
        }),
        redb::Error::DatabaseAlreadyOpen | redb::Error::LockProtocolMismatch => {
            Failure::Fatal(StoreError::Locked {
                path: path.to_owned(),
            })
        }
        // The data may be perfectly good: it needs an upgrade, not a fresh start (on every
        // replica manager at once, after a careless upgrade: moving aside would lose it all).
        e @ redb::Error::UpgradeRequired(_) => Failure::Fatal(StoreError::Database {
            what,
            path: path.to_owned(),
            message: e.to_string(),
        }),
        e => Failure::Unusable(format!("{what}: {e}")),
    }
}

/// One attempt: open with redb's full integrity check, then load and verify every value.
fn attempt(path: &Path) -> Result<(Store, Recovered), Failure> {
    // redb calls the repair callback with progress 0.3 exactly when the newest commit failed its
    // checksums and it fell back to the one before (`Database::do_repair` in redb 5): the only
    // sign it gives that a commit it had made durable is gone.
    let fell_back = Arc::new(AtomicBool::new(false));
    let mut builder = Database::builder();
    builder
        .set_check_integrity_on_open(true)
        .set_cache_size(CACHE_BYTES)
        .set_repair_callback({
            let fell_back = fell_back.clone();
            move |session| {
                if (session.progress() - 0.3).abs() < 1e-9 {
                    fell_back.store(true, Ordering::Relaxed);
                }
            }
        });
    let db = match catch_unwind(AssertUnwindSafe(|| builder.create(path))) {
        Ok(Ok(db)) => db,
        Ok(Err(e)) => return Err(classify("redb could not open it", path, database_error(e))),
        Err(panic) => {
            return Err(Failure::Unusable(format!(
                "redb panicked opening it: {}",
                panic_message(&*panic)
            )));
        }
    };
    let mut problems = Vec::new();
    if fell_back.load(Ordering::Relaxed) {
        problems.push(format!(
            "{}: the last commit failed redb's checksums (a torn write or a damaged file); redb \
             fell back to the commit before it, so whatever the last commit wrote is lost",
            path.display()
        ));
    }
    let loaded = match catch_unwind(AssertUnwindSafe(|| load(&db))) {
        Ok(Ok(loaded)) => loaded,
        Ok(Err(e)) => {
            close(db);
            return Err(classify("reading it", path, e));
        }
        Err(panic) => {
            close(db);
            return Err(Failure::Unusable(format!(
                "redb panicked reading it: {}",
                panic_message(&*panic)
            )));
        }
    };
    problems.extend(loaded.problems.iter().cloned());
    let damaged = !loaded.drop_snapshots.is_empty() || loaded.drop_log_from.is_some();
    if damaged
        && let Err(e) = catch_unwind(AssertUnwindSafe(|| drop_damaged(&db, &loaded)))
            .unwrap_or_else(|panic| Err(redb::Error::Corrupted(panic_message(&*panic))))
    {
        close(db);
        return Err(classify("deleting its damaged entries", path, e));
    }
    let snapshot_seq = loaded.snapshot.as_ref().map_or(0, |s| s.seq);
    let recovered = Recovered {
        fresh: loaded.meta.is_none() && loaded.snapshot.is_none() && loaded.log.is_empty(),
        snapshot: loaded.snapshot,
        log: loaded.log,
        meta: loaded.meta.unwrap_or_default(),
        problems,
    };
    let store = Store {
        db,
        path: path.to_owned(),
        snapshot_seq,
        durable_through: recovered.durable_through(),
        meta: recovered.meta.clone(),
    };
    Ok((store, recovered))
}

/// Drops a database that is being given up on; a panic there is no reason to stop.
fn close(db: Database) {
    let _ = catch_unwind(AssertUnwindSafe(move || drop(db)));
}

fn database_error(e: DatabaseError) -> redb::Error {
    e.into()
}

/// What one read of the database found.
struct Loaded {
    meta: Option<Meta>,
    snapshot: Option<Snapshot>,
    log: Vec<Sequenced>,
    /// Corrupt snapshots to delete.
    drop_snapshots: Vec<u64>,
    /// Delete every log entry from this seq on (a corrupt or missing entry).
    drop_log_from: Option<u64>,
    problems: Vec<String>,
}

/// A table, or `None` when it was never created (nothing written to it yet).
fn table<K: redb::Key + 'static, V: redb::Value + 'static>(
    txn: &redb::ReadTransaction,
    definition: TableDefinition<K, V>,
) -> Result<Option<redb::ReadOnlyTable<K, V>>, redb::Error> {
    match txn.open_table(definition) {
        Ok(table) => Ok(Some(table)),
        Err(TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn load(db: &Database) -> Result<Loaded, redb::Error> {
    let txn = db.begin_read()?;
    let mut problems = Vec::new();

    let meta = match table(&txn, META)? {
        None => None,
        Some(table) => match table.get(META_KEY)? {
            None => None,
            Some(value) => match decode_meta(value.value()) {
                Ok(meta) => Some(meta),
                Err(why) => {
                    problems.push(format!(
                        "meta (promised epoch, epoch starts): {why}; using the default"
                    ));
                    None
                }
            },
        },
    };

    // Newest first; the first intact one is used, every corrupt one newer than it deleted.
    let mut snapshot = None;
    let mut drop_snapshots = Vec::new();
    if let Some(table) = table(&txn, SNAPSHOTS)? {
        for item in table.iter()?.rev() {
            let (key, value) = item?;
            let seq = key.value();
            match decode_snapshot(seq, value.value()) {
                Ok(intact) => {
                    snapshot = Some(intact);
                    break;
                }
                Err(why) => {
                    problems.push(format!("snapshot at seq {seq}: {why}; deleted it"));
                    drop_snapshots.push(seq);
                }
            }
        }
    }

    let start = snapshot.as_ref().map_or(0, |s: &Snapshot| s.seq) + 1;
    let mut log = Vec::new();
    let mut drop_log_from = None;
    if let Some(table) = table(&txn, LOG)? {
        for (expected, item) in (start..).zip(table.range(start..)?) {
            let (key, value) = item?;
            let seq = key.value();
            if seq != expected {
                drop_log_from = Some(expected);
                let after = table.range(seq..)?.count();
                problems.push(format!(
                    "log: entry {expected} is missing; deleted the {after} entries after the \
                     gap ({seq} on)"
                ));
                break;
            }
            match decode_entry(seq, value.value()) {
                Ok(entry) => log.push(entry),
                Err(why) => {
                    drop_log_from = Some(seq);
                    let after = table.range(seq..)?.count() - 1;
                    problems.push(format!(
                        "log entry {seq}: {why}; deleted it and the {after} entries after it"
                    ));
                    break;
                }
            }
        }
    }

    Ok(Loaded {
        meta,
        snapshot,
        log,
        drop_snapshots,
        drop_log_from,
        problems,
    })
}

fn drop_damaged(db: &Database, loaded: &Loaded) -> Result<(), redb::Error> {
    let mut txn = db.begin_write()?;
    txn.set_durability(Durability::Immediate)?;
    {
        let mut snapshots = txn.open_table(SNAPSHOTS)?;
        for seq in &loaded.drop_snapshots {
            snapshots.remove(seq)?;
        }
        if let Some(from) = loaded.drop_log_from {
            txn.open_table(LOG)?.retain_in(from.., |_, _| false)?;
        }
    }
    txn.commit()?;
    Ok(())
}
