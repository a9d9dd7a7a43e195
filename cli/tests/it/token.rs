//! `dmtbs token issue|revoke` and where booking commands find the caller's token: the
//! credential store, `--token-file`, `$DMTBS_TOKEN`; files others may read are refused.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use dmtbs_cluster::config::TransportMode;

use crate::support::{Dmtbs, output, start};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .expect("exists")
        .permissions()
        .mode()
        & 0o777
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_issued_stored_owner_only_used_and_revoked() {
    let (cluster, logs) = start(TransportMode::Unicast).await;
    let dmtbs = Dmtbs::new(&cluster, logs.path());
    // An empty credential store of its own: nothing is issued yet.
    let store = tempfile::tempdir().unwrap();
    let store_dir = store.path().join("tokens");
    let run = |args: &[&str], key: bool| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_dmtbs"));
        command
            .args(args)
            .env("DMTBS_URL", &dmtbs.url)
            .env("DMTBS_LOG_DIR", logs.path())
            .env("DMTBS_TOKEN_DIR", &store_dir)
            .env_remove("DMTBS_TOKEN")
            .env_remove("DMTBS_ADMIN_KEY");
        if key {
            command.env("DMTBS_ADMIN_KEY", &cluster.config.cluster.admin_key);
        }
        output(command)
    };
    let schedule = ["schedule", "--as", "ATWC0009"];
    let before = run(&schedule, false).await.expect_code(2);
    assert!(
        before.stderr.contains("unauthenticated"),
        "{}",
        before.show()
    );

    // The operator's key issues into the credential store, owner-only, and never prints it.
    let issued = run(&["token", "issue", "--user", "atwc0009"], true)
        .await
        .expect_code(0);
    let file = store_dir.join("ATWC0009");
    assert_eq!(mode(&file), 0o600, "{}", issued.show());
    assert_eq!(mode(&store_dir), 0o700);
    let token = std::fs::read_to_string(&file).unwrap().trim().to_owned();
    assert!(token.starts_with("v4.local."), "a PASETO v4.local token");
    assert!(
        !issued.stdout.contains(&token) && !issued.stderr.contains(&token),
        "{}",
        issued.show()
    );
    assert!(issued.stdout.contains(&file.display().to_string()));
    run(&schedule, false).await.expect_code(0);
    // Without the key, and as a customer, nothing is issued.
    let refused = run(&["token", "issue", "--user", "ATWC0010"], false)
        .await
        .expect_code(2);
    assert!(refused.stderr.contains("admin key"), "{}", refused.show());
    let refused = run(
        &["token", "issue", "--user", "ATWC0010", "--as", "ATWC0009"],
        false,
    )
    .await
    .expect_code(2);
    assert!(
        refused.stderr.contains("not-authorized"),
        "{}",
        refused.show()
    );
    // `--print` hands the token over on stdout, on request only.
    let printed = run(&["token", "issue", "--user", "VERC0001", "--print"], true)
        .await
        .expect_code(0);
    let handed = printed.stdout.trim().to_owned();
    assert!(handed.starts_with("v4.local."), "{}", printed.show());
    // …and `$DMTBS_TOKEN` carries it.
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_dmtbs"));
    command
        .args(["schedule", "--as", "VERC0001"])
        .env("DMTBS_URL", &dmtbs.url)
        .env("DMTBS_LOG_DIR", logs.path())
        .env("DMTBS_TOKEN_DIR", &store_dir)
        .env("DMTBS_TOKEN", &handed);
    output(command).await.expect_code(0);

    // A token file others may read is refused, whether found in the store or named.
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let unsafe_store = run(&schedule, false).await.expect_code(2);
    assert!(
        unsafe_store
            .stderr
            .contains("readable or writable by others")
            && unsafe_store.stderr.contains("chmod 600"),
        "{}",
        unsafe_store.show()
    );
    let named = run(
        &[
            "schedule",
            "--as",
            "ATWC0009",
            "--token-file",
            file.to_str().unwrap(),
        ],
        false,
    )
    .await
    .expect_code(2);
    assert!(named.stderr.contains("--token-file"), "{}", named.show());
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();

    // Revoked by the admin of its area (whose token the runner's store holds): refused.
    let admin_file = dmtbs.token_file("ATWA0001");
    let revoked = run(
        &[
            "token",
            "revoke",
            "--user",
            "ATWC0009",
            "--as",
            "ATWA0001",
            "--token-file",
            admin_file.to_str().unwrap(),
        ],
        false,
    )
    .await
    .expect_code(0);
    assert!(
        revoked.stdout.contains("revoked every token of ATWC0009"),
        "{}",
        revoked.show()
    );
    let after = run(&schedule, false).await.expect_code(2);
    assert!(after.stderr.contains("revoked"), "{}", after.show());
    // VER's customer is not ATW's admin's to revoke.
    let other_area = run(
        &[
            "token",
            "revoke",
            "--user",
            "VERC0001",
            "--as",
            "ATWA0001",
            "--token-file",
            admin_file.to_str().unwrap(),
        ],
        false,
    )
    .await
    .expect_code(2);
    assert!(
        other_area.stderr.contains("not-authorized"),
        "{}",
        other_area.show()
    );
}
