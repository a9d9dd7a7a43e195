//! Tokens end to end with real processes: `dmtbs up` leaves the demo users' tokens owner-only in
//! its run directory; `dmtbs token issue` and `revoke` through the front end; a revoked token
//! stays refused after the front end's process is killed and restarted.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use dmtbs_cluster::config::TransportMode;
use dmtbs_proto::NodeId;

use crate::harness::{Up, dmtbs_bin, signal};

/// Runs `dmtbs args…` against the cluster's front end with `env`; exit code, stdout, stderr.
fn dmtbs(up: &Up, args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String, String) {
    let output = Command::new(dmtbs_bin())
        .args(args)
        .env("DMTBS_URL", up.url(""))
        .env("DMTBS_LOG_DIR", up.run_dir.join("client-logs"))
        .env("DMTBS_TOKEN_DIR", up.run_dir.join("no-store"))
        .env_remove("DMTBS_TOKEN")
        .env_remove("DMTBS_ADMIN_KEY")
        .envs(env.iter().copied())
        .output()
        .expect("dmtbs runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .expect("exists")
        .permissions()
        .mode()
        & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_token_stays_refused_after_the_front_end_restarts() {
    let up = Up::start(TransportMode::Multicast);
    // The demo users' tokens: owner-only, in an owner-only folder; the banner says where.
    let tokens = up.run_dir.join("tokens");
    assert_eq!(mode(&tokens), 0o700);
    let admin_token = tokens.join("ATWA0001");
    assert_eq!(mode(&admin_token), 0o600);
    let admin_text = std::fs::read_to_string(&admin_token).expect("a token");
    assert!(
        !up.log().contains(admin_text.trim()),
        "no token in up's output"
    );

    // The operator issues ATWC0007's token into a file of its own (owner-only).
    let file = up.run_dir.join("atwc0007.token");
    let file_arg = file.to_str().unwrap();
    let (code, out, err) = dmtbs(
        &up,
        &["token", "issue", "--user", "atwc0007", "--out", file_arg],
        &[("DMTBS_ADMIN_KEY", up.admin_key())],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains("ATWC0007") && out.contains("owner-only"),
        "{out}"
    );
    assert_eq!(mode(&file), 0o600);
    let token = std::fs::read_to_string(&file).unwrap().trim().to_owned();
    assert!(
        !out.contains(&token) && !err.contains(&token),
        "never printed"
    );
    let schedule = ["schedule", "--as", "ATWC0007", "--token-file", file_arg];
    let (code, out, err) = dmtbs(&up, &schedule, &[]);
    assert_eq!(code, Some(0), "{out}{err}");

    // ATW's admin revokes every token of ATWC0007 with its own token (from the run directory).
    let (code, out, err) = dmtbs(
        &up,
        &[
            "token",
            "revoke",
            "--user",
            "ATWC0007",
            "--as",
            "ATWA0001",
            "--token-file",
            admin_token.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("revoked every token of ATWC0007"), "{out}");
    let (code, _, err) = dmtbs(&up, &schedule, &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("unauthenticated") && err.contains("revoked"),
        "{err}"
    );

    // The front end's process dies and is restarted: the revocation is still there.
    let fe = NodeId::FrontEnd(1);
    let old = up.node_pid(fe).expect("the front end runs");
    assert!(signal(old, libc::SIGKILL));
    up.wait_new_pid(fe, old, Duration::from_secs(30)).await;
    let (code, _, err) = dmtbs(&up, &schedule, &[]);
    assert_eq!(code, Some(2), "refused after the restart: {err}");
    assert!(err.contains("revoked"), "{err}");
    // Other users' tokens still work, and a new token for ATWC0007 does.
    let (code, out, err) = dmtbs(
        &up,
        &["token", "issue", "--user", "ATWC0007", "--out", file_arg],
        &[("DMTBS_ADMIN_KEY", up.admin_key())],
    );
    assert_eq!(code, Some(0), "{out}{err}");
    let (code, out, err) = dmtbs(&up, &schedule, &[]);
    assert_eq!(code, Some(0), "{out}{err}");

    // A token file others may read is refused before anything is sent.
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (code, _, err) = dmtbs(&up, &schedule, &[]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("readable") && err.contains("chmod 600"),
        "{err}"
    );
}
