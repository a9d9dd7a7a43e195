//! `dmtbs module check`: a module is judged offline, before it goes live — a correct one passes,
//! a wrong one fails naming its first divergence, one that imports too much cannot be loaded —
//! and the command documents itself (completions, man pages).

use std::path::Path;
use std::process::Command;

use dmtbs_testkit::components;

/// Runs `dmtbs module check FILE` on a short workload: (exit code, stdout, stderr).
fn check(file: &Path) -> (Option<i32>, String, String) {
    check_with(file, &[])
}

fn check_with(file: &Path, extra: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_dmtbs"))
        .args(["module", "check", "--requests", "3000"])
        .args(extra)
        .arg(file)
        .output()
        .expect("dmtbs runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_correct_module_passes() {
    let (code, stdout, stderr) = check(&components::path("replica-c"));
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains("imports: none")
            && stdout.contains("passes the conformance pack: ")
            && stdout.contains(
                "agrees with replica-a, replica-b, replica-c, replica-d on 3000 requests"
            )
            && stdout.contains("3 state digests and a state transfer in and out"),
        "{stdout}"
    );
}

#[test]
fn a_module_with_a_logic_bug_fails_at_its_first_wrong_result() {
    let (code, stdout, stderr) = check(&components::path(components::FAULTY_LOGIC));
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    // The weekly limit (3 other-area movies) is where its bug lies: the pack's case of the
    // rules' own example, and the differential, both find it.
    assert!(
        stdout.contains("FAILS the conformance pack")
            && stdout.contains("scenario examples_of_the_rules")
            && stdout.contains("expected: Err(BookingError::WeeklyLimit)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("DIVERGES")
            && stdout.contains("expected Err(BookingError::WeeklyLimit) (the references agree)"),
        "{stdout}"
    );
}

#[test]
fn a_module_whose_state_drifts_fails_at_the_first_digest_comparison() {
    let (code, stdout, stderr) = check(&components::path(components::FAULTY_CORRUPT));
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    // Its digest is compared with the references' after every batch (256 requests), long
    // before the first checkpoint's export (1,000).
    assert!(
        stdout.contains("state after request 256: digest")
            && stdout.contains("every result agreed"),
        "{stdout}"
    );
}

#[test]
fn a_module_that_loops_fails_naming_the_request_and_the_fuel() {
    let (code, stdout, stderr) = check(&components::path(components::FAULTY_LOOP));
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(
        stdout.contains("failed in the module: replica ran out of fuel"),
        "{stdout}"
    );
}

/// A pack of one's own: a case whose expected answer is wrong for a correct module fails it
/// (exit 1, naming the scenario and the line), and a malformed pack cannot be used (exit 2,
/// naming the line).
#[test]
fn a_pack_of_ones_own_is_run_instead_and_a_malformed_one_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pack = dir.path().join("mine.jsonl");
    let scenario = r#"{"scenario":{"name":"mine","about":"a wrong expectation"}}"#;
    let step = r#"{"apply":{"today":{"year":2026,"month":11,"day":24},"operation":{"AddShow":{"actor":"ATWA1000","movie":"Avatar","show_id":"ATWM251126","capacity":10}},"expect":{"Err":"NotAuthorized"}}}"#;
    std::fs::write(&pack, format!("{scenario}\n{step}\n")).expect("write");
    let pack_arg = pack.to_str().expect("utf-8 path");
    let (code, stdout, stderr) = check_with(&components::path("replica-c"), &["--pack", pack_arg]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(
        stdout.contains("FAILS the pack") && stdout.contains("scenario mine (pack line 2)"),
        "{stdout}"
    );
    std::fs::write(&pack, format!("{scenario}\n{{\"apply\":{{}}}}\n")).expect("write");
    let (code, stdout, stderr) = check_with(&components::path("replica-c"), &["--pack", pack_arg]);
    assert_eq!(code, Some(2), "{stdout}{stderr}");
    assert!(stderr.contains("conformance pack, line 2"), "{stderr}");
}

#[test]
fn a_module_importing_a_socket_cannot_be_checked_and_says_why() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("networked.wat");
    std::fs::write(
        &file,
        r#"(component (import "wasi:sockets/tcp@0.2.0" (instance)))"#,
    )
    .expect("write");
    let (code, stdout, stderr) = check(&file);
    assert_eq!(code, Some(2), "{stdout}{stderr}");
    assert!(
        stderr.contains("networked is refused") && stderr.contains("wasi:sockets/tcp@0.2.0"),
        "{stderr}"
    );
}

/// Runs `dmtbs ARGS`: (exit code, stdout).
fn dmtbs(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_dmtbs"))
        .args(args)
        .output()
        .expect("dmtbs runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn completions_and_man_pages_cover_every_command() {
    let (code, bash) = dmtbs(&["completions", "bash"]);
    assert_eq!(code, Some(0));
    assert!(bash.contains("_dmtbs()") && bash.contains("module") && bash.contains("token"));
    let (code, page) = dmtbs(&["man"]);
    assert_eq!(code, Some(0));
    assert!(
        page.contains(".TH dmtbs 1") && page.contains("completions"),
        "{page}"
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let (code, _) = dmtbs(&["man", "--out-dir", &dir.path().display().to_string()]);
    assert_eq!(code, Some(0));
    for page in [
        "dmtbs.1",
        "dmtbs-up.1",
        "dmtbs-module-check.1",
        "dmtbs-token-issue.1",
    ] {
        assert!(dir.path().join(page).is_file(), "{page} missing");
    }
}

/// `dmtbs module add`: a module that passes the check is copied into the components folder
/// under the name swaps use; the same module again changes nothing; a failing one is not
/// copied (exit 1); another module under a taken name needs --replace; a name a swap could not
/// use is refused (exit 2).
#[test]
fn a_module_is_added_only_after_it_passes_the_check_and_never_over_another_silently() {
    let dir = tempfile::tempdir().expect("temp dir");
    let folder = dir.path().join("components");
    let folder_arg = folder.to_str().expect("utf-8 path");
    let add = |file: &Path, extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_dmtbs"))
            .args(["module", "add", "--components", folder_arg])
            .args(extra)
            .arg(file)
            .output()
            .expect("dmtbs runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let correct = components::path("replica-c");
    let added = folder.join("replica-e.wasm");
    let (code, stdout, stderr) = add(&correct, &["--name", "replica-e"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains("passes the conformance pack") && stdout.contains("added replica-e"),
        "{stdout}"
    );
    assert_eq!(
        std::fs::read(&added).expect("copied"),
        std::fs::read(&correct).expect("source")
    );
    let (code, stdout, _) = add(&correct, &["--name", "replica-e"]);
    assert_eq!(code, Some(0));
    assert!(stdout.contains("already in"), "{stdout}");
    // A module that fails the check is not added, under a new name or over the old one.
    let wrong = components::path(components::FAULTY_LOGIC);
    let (code, stdout, stderr) = add(&wrong, &["--name", "replica-f"]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(stdout.contains("not added"), "{stdout}");
    assert!(!folder.join("replica-f.wasm").exists());
    // Another module under a taken name: refused without --replace, replaced with it.
    let other = components::path("replica-d");
    let (code, _, stderr) = add(&other, &["--name", "replica-e"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("already holds a different module named replica-e"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(&added).unwrap(),
        std::fs::read(&correct).unwrap()
    );
    let (code, stdout, stderr) = add(&other, &["--name", "replica-e", "--replace"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert_eq!(
        std::fs::read(&added).unwrap(),
        std::fs::read(&other).unwrap()
    );
    // A name no swap could use.
    let (code, _, stderr) = add(&correct, &["--name", "../escape"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("cannot be swapped in"), "{stderr}");
    let names: Vec<String> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["replica-e.wasm"], "nothing else written");
}

/// The guide's starting point (`replicas-wasm/template`, docs/writing-a-replica.md): a std
/// component that loads — WASI imports served closed — and implements nothing yet, so the check
/// fails it at the pack's first case and names the answer the rules want there.
#[test]
fn the_template_loads_and_the_check_says_where_to_start() {
    let (code, stdout, stderr) = check(&components::path("replica-template"));
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(
        stdout.contains("implements dmtbs:booking/replica")
            && stdout.contains("wasi:cli/environment")
            && stdout.contains("served closed and deterministic"),
        "{stdout}"
    );
    assert!(
        stdout.contains("FAILS the conformance pack")
            && stdout.contains("(pack line 2)")
            && stdout.contains("expected: Ok(Success::ShowAdded)")
            && stdout.contains("got:      Err(BookingError::NotAuthorized)"),
        "{stdout}"
    );
}
