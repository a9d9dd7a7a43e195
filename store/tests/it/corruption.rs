// Damaged files, as a crash, a bad disk or a careless operator leave them: the tail cut off,
// bytes flipped, or no database at all. Opening never panics, never returns anything that was not
// written, says so whenever it dropped something, and leaves a store that works.
//
// The seed is printed; rerun a failure with
// `DMTBS_FUZZ_SEED=<seed> cargo test -p dmtbs-store --test it corruption -- --nocapture`.

use std::fs;
use std::path::{Path, PathBuf};

use dmtbs_store::{DB_FILE, Meta, Recovered};
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};

use crate::common::{entries, entry, meta, reopen, snapshot_with, start};

fn seeded(test: &str) -> (StdRng, String) {
    let seed = std::env::var("DMTBS_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::rng().random::<u64>());
    let repro = format!(
        "{test}: seed {seed} (rerun: DMTBS_FUZZ_SEED={seed} cargo test -p dmtbs-store --test it {test})"
    );
    println!("{repro}");
    (StdRng::seed_from_u64(seed), repro)
}

const LAST: u64 = 600;

/// The reference store: snapshots at 200 and 400 (the log truncated below 201), the log to
/// `LAST` written in many commits (the last one large), and a meta. Written in `dir`, and copied
/// to `crashed` while the writer was still running after its last commit: what a crash (a kill,
/// a power cut after the fsync) leaves, where the last commit is a one-phase commit and redb may
/// fall back to the one before it.
fn reference(dir: &Path, crashed: &Path) {
    let (mut rm, _) = start(dir);
    for first in (1..=LAST - 100).step_by(25) {
        rm.append(entries(first..=first + 24));
        if first == 201 {
            rm.snapshot(snapshot_with(200, 300));
            rm.set_meta(meta(1));
        }
        if first == 401 {
            rm.snapshot(snapshot_with(400, 300));
            rm.truncate_below(201);
            rm.set_meta(meta(2));
        }
        rm.sync();
    }
    rm.append(entries(LAST - 99..=LAST));
    assert_eq!(rm.sync().durable_through, LAST);
    copy(dir, crashed);
    drop(rm);
}

/// A copy of the reference store's folder, to damage.
fn copy(reference: &Path, into: &Path) -> PathBuf {
    fs::create_dir_all(into).unwrap();
    fs::copy(reference.join(DB_FILE), into.join(DB_FILE)).unwrap();
    into.join(DB_FILE)
}

/// Everything a user of the store could notice about a recovery from a damaged copy.
#[track_caller]
fn check(recovered: &Recovered, case: &str) {
    if let Some(snapshot) = &recovered.snapshot {
        assert!(
            *snapshot == snapshot_with(200, 300) || *snapshot == snapshot_with(400, 300),
            "{case}: a snapshot that was never written (seq {})",
            snapshot.seq
        );
    }
    let start = recovered.snapshot.as_ref().map_or(1, |s| s.seq + 1);
    for (i, got) in recovered.log.iter().enumerate() {
        let seq = start + i as u64;
        assert!(seq <= LAST, "{case}: an entry beyond the log, {seq}");
        assert_eq!(*got, entry(seq), "{case}: log entry {seq} differs");
    }
    assert!(
        recovered.meta == Meta::default() || recovered.meta == meta(1) || recovered.meta == meta(2),
        "{case}: a meta that was never written: {:?}",
        recovered.meta
    );
    let lost = recovered.durable_through() < LAST
        || recovered.snapshot.as_ref().map(|s| s.seq) != Some(400)
        || recovered.meta != meta(2);
    if lost {
        assert!(
            !recovered.problems.is_empty(),
            "{case}: data was lost (durable through {}, snapshot {:?}, meta {:?}) and nothing was reported",
            recovered.durable_through(),
            recovered.snapshot.as_ref().map(|s| s.seq),
            recovered.meta
        );
    }
    if recovered.fresh {
        assert!(recovered.snapshot.is_none() && recovered.log.is_empty());
    }
}

/// The store that came out of a damaged file works: it takes the rest of the log, and the next
/// open finds all of it and no problem.
#[track_caller]
fn carries_on(dir: &Path, case: &str) {
    let (mut rm, recovered) = start(dir);
    assert!(
        recovered.problems.is_empty(),
        "{case}: a second open still finds problems: {:?}",
        recovered.problems
    );
    let from = recovered.durable_through() + 1;
    rm.append(entries(from..=LAST + 10));
    assert_eq!(rm.sync().durable_through, LAST + 10, "{case}");
    drop(rm);
    let recovered = reopen(dir);
    assert!(
        recovered.problems.is_empty(),
        "{case}: {:?}",
        recovered.problems
    );
    assert_eq!(recovered.durable_through(), LAST + 10, "{case}");
}

#[test]
fn a_truncated_file_is_refused_or_recovered_never_misread() {
    let (mut rng, repro) = seeded("a_truncated_file_is_refused_or_recovered_never_misread");
    let root = tempfile::tempdir().unwrap();
    let original = root.path().join("reference");
    reference(&original, &root.path().join("crashed"));
    let len = fs::metadata(original.join(DB_FILE)).unwrap().len();
    let mut cuts = vec![1, 512, 4096, len / 2, len - 4096, len - 1];
    cuts.extend((0..6).map(|_| rng.random_range(1..len)));
    for (i, cut) in cuts.into_iter().enumerate() {
        let case = format!("{repro}: file of {len} bytes cut by {cut}");
        println!("{case}");
        let dir = root.path().join(format!("cut-{i}"));
        let file = copy(&original, &dir);
        fs::OpenOptions::new()
            .write(true)
            .open(&file)
            .unwrap()
            .set_len(len - cut)
            .unwrap();
        let recovered = reopen(&dir);
        for problem in &recovered.problems {
            println!("  problem: {problem}");
        }
        check(&recovered, &case);
        carries_on(&dir, &case);
    }
}

#[test]
fn a_crash_after_the_fsync_loses_nothing() {
    let root = tempfile::tempdir().unwrap();
    let crashed = root.path().join("crashed");
    reference(&root.path().join("reference"), &crashed);
    let recovered = reopen(&crashed);
    assert!(recovered.problems.is_empty(), "{:?}", recovered.problems);
    assert_eq!(recovered.snapshot, Some(snapshot_with(400, 300)));
    assert_eq!(recovered.log, entries(401..=LAST));
    assert_eq!(recovered.meta, meta(2));
}

#[test]
fn a_damaged_last_commit_is_rolled_back_and_reported() {
    // After a crash the last commit is a one-phase commit: if its pages fail their checksums
    // (torn by the crash, or damaged since), redb falls back to the commit before it. That loses
    // entries the store had reported durable, so it must say so.
    let root = tempfile::tempdir().unwrap();
    let (before, after) = (root.path().join("before"), root.path().join("after"));
    let (mut rm, _) = start(&root.path().join("live"));
    rm.append(entries(1..=300));
    rm.set_meta(meta(1));
    assert_eq!(rm.sync().durable_through, 300);
    copy(&root.path().join("live"), &before);
    rm.append(entries(301..=400));
    assert_eq!(rm.sync().durable_through, 400);
    copy(&root.path().join("live"), &after);
    drop(rm);

    // The pages the last commit wrote are the ones that differ (beyond the header page).
    let old = fs::read(before.join(DB_FILE)).unwrap();
    let new = fs::read(after.join(DB_FILE)).unwrap();
    let page = 4096;
    let written: Vec<usize> = (1..new.len() / page)
        .filter(|i| {
            new[i * page..(i + 1) * page] != *old.get(i * page..(i + 1) * page).unwrap_or(&[])
        })
        .collect();
    let mut fell_back = 0;
    for (n, index) in written.iter().enumerate() {
        let dir = root.path().join(format!("damaged-{n}"));
        let file = copy(&after, &dir);
        let mut damaged = new.clone();
        damaged[index * page + page / 2] ^= 0x55;
        fs::write(&file, &damaged).unwrap();
        let recovered = reopen(&dir);
        let case = format!("page {index} of the last commit damaged");
        for problem in &recovered.problems {
            println!("{case}: {problem}");
        }
        // What is returned is what was written; whatever is lost is reported.
        for (i, got) in recovered.log.iter().enumerate() {
            assert_eq!(*got, entry(i as u64 + 1), "{case}");
        }
        if recovered.durable_through() < 400 || recovered.meta != meta(1) {
            assert!(
                !recovered.problems.is_empty(),
                "{case}: data lost, nothing reported"
            );
        }
        if recovered.problems.iter().any(|p| p.contains("fell back")) {
            assert_eq!(recovered.log, entries(1..=300), "{case}: the commit before");
            fell_back += 1;
        }
    }
    // Some of those pages are ones the last commit's tree uses (others it wrote and freed).
    assert!(
        fell_back > 0,
        "no damage made redb fall back ({} pages)",
        written.len()
    );
}

#[test]
fn flipped_bytes_are_refused_or_recovered_never_misread() {
    let (mut rng, repro) = seeded("flipped_bytes_are_refused_or_recovered_never_misread");
    let root = tempfile::tempdir().unwrap();
    let (closed, crashed) = (root.path().join("closed"), root.path().join("crashed"));
    reference(&closed, &crashed);
    let mut noticed = 0;
    for round in 0..32 {
        // Half the rounds damage a cleanly closed file, half one a crash left.
        let (kind, original) = if round % 2 == 0 {
            ("closed", &closed)
        } else {
            ("crashed", &crashed)
        };
        let bytes = fs::read(original.join(DB_FILE)).unwrap();
        let len = bytes.len();
        // One to eight flips somewhere in the middle half of the file.
        let flips: Vec<(usize, u8)> = (0..rng.random_range(1..=8))
            .map(|_| {
                (
                    rng.random_range(len / 4..3 * len / 4),
                    rng.random_range(1..=255),
                )
            })
            .collect();
        let case =
            format!("{repro}: round {round}, {kind} file of {len} bytes, (offset, xor) {flips:?}");
        let dir = root.path().join(format!("flip-{round}"));
        let file = copy(original, &dir);
        let mut damaged = bytes;
        for (offset, xor) in &flips {
            damaged[*offset] ^= xor;
        }
        fs::write(&file, &damaged).unwrap();
        let recovered = reopen(&dir);
        println!("{case}: {} problem(s)", recovered.problems.len());
        for problem in &recovered.problems {
            println!("  problem: {problem}");
        }
        noticed += usize::from(!recovered.problems.is_empty());
        check(&recovered, &case);
        carries_on(&dir, &case);
    }
    println!("{noticed} of 32 rounds reported damage; the rest hit bytes nothing reads");
}

#[test]
fn a_file_of_random_bytes_is_moved_aside_and_a_fresh_store_started() {
    let (mut rng, repro) =
        seeded("a_file_of_random_bytes_is_moved_aside_and_a_fresh_store_started");
    let dir = tempfile::tempdir().unwrap();
    let mut garbage = vec![0; 64 * 1024];
    rng.fill_bytes(&mut garbage);
    fs::write(dir.path().join(DB_FILE), &garbage).unwrap();

    let recovered = reopen(dir.path());
    assert!(recovered.fresh, "{repro}");
    assert!(recovered.log.is_empty() && recovered.snapshot.is_none());
    assert_eq!(
        recovered.problems.len(),
        1,
        "{repro}: {:?}",
        recovered.problems
    );
    let problem = &recovered.problems[0];
    assert!(problem.contains("moved it aside to"), "{problem}");
    let aside: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|name| name.starts_with("rm.redb.corrupt-"))
        .collect();
    assert_eq!(aside.len(), 1, "{aside:?}");
    assert!(problem.contains(&aside[0]), "{problem}");
    // Kept as it was, for forensics.
    assert_eq!(fs::read(dir.path().join(&aside[0])).unwrap(), garbage);
    carries_on(dir.path(), &repro);
}

#[test]
fn an_emptied_file_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (mut rm, _) = start(dir.path());
        rm.append(entries(1..=5));
        rm.sync();
    }
    fs::write(dir.path().join(DB_FILE), b"").unwrap();
    let recovered = reopen(dir.path());
    assert!(recovered.fresh);
    assert!(
        recovered.problems[0].contains("was empty"),
        "{:?}",
        recovered.problems
    );
}
