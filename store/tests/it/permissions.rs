// The data folder is private to its owner: 0700, and the database file 0600.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use dmtbs_store::DB_FILE;

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn a_new_store_is_private() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("run").join("rm-1");
    let (store, _) = dmtbs_store::open(&data).unwrap();
    assert_eq!(mode(&data), 0o700, "data folder");
    assert_eq!(mode(&data.join(DB_FILE)), 0o600, "database file");
    drop(store);
}

#[test]
fn an_existing_store_that_is_too_open_is_made_private() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("rm-2");
    drop(dmtbs_store::open(&data).unwrap());
    fs::set_permissions(&data, fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(data.join(DB_FILE), fs::Permissions::from_mode(0o644)).unwrap();

    let (_, recovered) = dmtbs_store::open(&data).unwrap();
    assert!(recovered.problems.is_empty(), "{:?}", recovered.problems);
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join(DB_FILE)), 0o600);
}
