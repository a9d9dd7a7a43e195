//! No cluster on a published or guessable secret, and no secret where others can read it: a
//! cluster file with the placeholder keys is refused by `dmtbs up` before anything starts; the
//! banner says where the admin key is, never what it is; the run directory is owner-only.

use std::io::{BufRead as _, BufReader, Read as _};
use std::os::unix::fs::PermissionsExt as _;
use std::process::{Command, Stdio};

use dmtbs_cluster::config::TransportMode;

use crate::harness::{Up, dmtbs_bin};

#[test]
fn a_cluster_file_with_the_placeholder_keys_is_refused_before_anything_starts() {
    let dir = Up::config_file(
        dmtbs_testkit::components::IMPLEMENTATIONS,
        TransportMode::Unicast,
    );
    let path = dir.path().join("cluster.toml");
    let text = std::fs::read_to_string(&path).expect("cluster file");
    let replace_line = |text: &str, prefix: &str, with: &str| -> String {
        text.lines()
            .map(|l| if l.starts_with(prefix) { with } else { l })
            .collect::<Vec<_>>()
            .join("\n")
    };
    for (prefix, placeholder, says) in [
        (
            "key = ",
            format!("key = \"{}\"", "0".repeat(64)),
            "[cluster] key is not a random key",
        ),
        (
            "admin_key = ",
            "admin_key = \"change-me\"".to_owned(),
            "[cluster] admin_key is the published placeholder",
        ),
        (
            "admin_key = ",
            "admin_key = \"tiny\"".to_owned(),
            "[cluster] admin_key is shorter than 32 characters",
        ),
    ] {
        std::fs::write(&path, replace_line(&text, prefix, &placeholder)).expect("write");
        let output = Command::new(dmtbs_bin())
            .arg("up")
            .arg("--config")
            .arg(&path)
            .arg("--run-dir")
            .arg(dir.path().join("run"))
            .env("NO_COLOR", "1")
            .output()
            .expect("dmtbs up runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{placeholder}: {stderr}");
        assert!(stderr.contains(says), "{placeholder}: {stderr}");
        assert!(
            !dir.path().join("run").join("sequencer.pid").exists(),
            "{placeholder}: a node started"
        );
    }
}

#[test]
fn the_banner_names_where_the_admin_key_is_and_the_run_directory_is_owner_only() {
    let dir = Up::config_file(
        dmtbs_testkit::components::IMPLEMENTATIONS,
        TransportMode::Unicast,
    );
    let path = dir.path().join("cluster.toml");
    // Readable by others (the harness writes it owner-only): the nodes must say so.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let config = dmtbs_cluster::ClusterConfig::load(&path).expect("cluster file");
    let key = config.cluster.admin_key.clone();
    let url = format!("http://{}", config.frontends[0].http);
    let run_dir = dir.path().join("run");
    let mut up = Command::new(dmtbs_bin())
        .arg("up")
        .arg("--config")
        .arg(&path)
        .arg("--run-dir")
        .arg(&run_dir)
        .env_remove("NO_COLOR")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("dmtbs up starts");
    let stop = |up: &mut std::process::Child| {
        crate::harness::signal(up.id(), libc::SIGTERM);
        let _ = up.wait();
    };
    // The banner, up to its last line (bounded: `up` gives up on a slow start by itself).
    let mut banner = String::new();
    for line in BufReader::new(up.stdout.take().expect("piped")).lines() {
        let line = line.expect("stdout");
        banner.push_str(&line);
        banner.push('\n');
        if line.contains("Ctrl-C stops the cluster") {
            break;
        }
    }
    let mut stderr = String::new();
    let status_of_up = up.try_wait().expect("try_wait");
    if status_of_up.is_some() {
        up.stderr
            .take()
            .expect("piped")
            .read_to_string(&mut stderr)
            .expect("stderr");
    }
    assert!(
        banner.contains("admin key: admin_key in "),
        "{banner}\n{stderr}"
    );
    assert!(
        !banner.contains(&key),
        "the banner shows the admin key:\n{banner}"
    );
    let mode = |path: &std::path::Path| {
        std::fs::metadata(path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(&run_dir), 0o700, "the run directory");
    // The CLI takes the key from $DMTBS_ADMIN_KEY, never from a flag (`ps` shows arguments).
    let status = Command::new(dmtbs_bin())
        .args(["status", "--url", &url])
        .env("DMTBS_ADMIN_KEY", &key)
        .output()
        .expect("dmtbs status runs");
    let refused = Command::new(dmtbs_bin())
        .args(["status", "--url", &url, "--admin-key", &key])
        .env_remove("DMTBS_ADMIN_KEY")
        .output()
        .expect("dmtbs status runs");
    stop(&mut up);
    let mut log = String::new();
    up.stderr
        .take()
        .expect("piped")
        .read_to_string(&mut log)
        .expect("stderr");
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    assert_eq!(refused.status.code(), Some(2), "a key as a flag is refused");
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("unexpected argument '--admin-key'"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    // The cluster file is readable by others: said so.
    assert_eq!(mode(&path) & 0o044, 0o044);
    assert!(
        log.contains("holds the cluster's keys but is readable by others"),
        "no warning about the cluster file's mode:\n{log}"
    );
    // Its log goes to a pipe here, not a terminal: no colour escape codes in it.
    assert!(
        !log.contains('\u{1b}'),
        "escape codes in a log that is not a terminal:\n{log}"
    );
}
