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

/// What the reference store holds: snapshots at 200 and 400 (the log truncated below 201) and
/// the log to `LAST`, written in many commits, and a meta.
fn reference(dir: &Path) {
    let (mut rm, _) = start(dir);
    for first in (1..=LAST).step_by(25) {
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
    assert!(recovered.problems.is_empty(), "{case}: a second open still finds problems: {:?}", recovered.problems);
    let from = recovered.durable_through() + 1;
    rm.append(entries(from..=LAST + 10));
    assert_eq!(rm.sync().durable_through, LAST + 10, "{case}");
    drop(rm);
    let recovered = reopen(dir);
    assert!(recovered.problems.is_empty(), "{case}: {:?}", recovered.problems);
    assert_eq!(recovered.durable_through(), LAST + 10, "{case}");
}

#[test]
fn a_truncated_file_is_refused_or_recovered_never_misread() {
    let (mut rng, repro) = seeded("a_truncated_file_is_refused_or_recovered_never_misread");
    let root = tempfile::tempdir().unwrap();
    let original = root.path().join("reference");
    reference(&original);
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
fn flipped_bytes_are_refused_or_recovered_never_misread() {
    let (mut rng, repro) = seeded("flipped_bytes_are_refused_or_recovered_never_misread");
    let root = tempfile::tempdir().unwrap();
    let original = root.path().join("reference");
    reference(&original);
    let bytes = fs::read(original.join(DB_FILE)).unwrap();
    let len = bytes.len();
    let (mut noticed, mut unnoticed) = (0, 0);
    for round in 0..24 {
        // One to eight flips somewhere in the middle half of the file.
        let flips: Vec<(usize, u8)> = (0..rng.random_range(1..=8))
            .map(|_| (rng.random_range(len / 4..3 * len / 4), rng.random_range(1..=255)))
            .collect();
        let case = format!("{repro}: round {round}, {len} bytes, (offset, xor) {flips:?}");
        let dir = root.path().join(format!("flip-{round}"));
        let file = copy(&original, &dir);
        let mut damaged = bytes.clone();
        for (offset, xor) in &flips {
            damaged[*offset] ^= xor;
        }
        fs::write(&file, &damaged).unwrap();
        let recovered = reopen(&dir);
        println!("{case}: {} problem(s)", recovered.problems.len());
        for problem in &recovered.problems {
            println!("  problem: {problem}");
        }
        if recovered.problems.is_empty() {
            unnoticed += 1;
        } else {
            noticed += 1;
        }
        check(&recovered, &case);
        carries_on(&dir, &case);
    }
    println!("{noticed} rounds reported damage; {unnoticed} hit bytes nothing reads");
}

#[test]
fn a_file_of_random_bytes_is_moved_aside_and_a_fresh_store_started() {
    let (mut rng, repro) = seeded("a_file_of_random_bytes_is_moved_aside_and_a_fresh_store_started");
    let dir = tempfile::tempdir().unwrap();
    let mut garbage = vec![0; 64 * 1024];
    rng.fill_bytes(&mut garbage);
    fs::write(dir.path().join(DB_FILE), &garbage).unwrap();

    let recovered = reopen(dir.path());
    assert!(recovered.fresh, "{repro}");
    assert!(recovered.log.is_empty() && recovered.snapshot.is_none());
    assert_eq!(recovered.problems.len(), 1, "{repro}: {:?}", recovered.problems);
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
