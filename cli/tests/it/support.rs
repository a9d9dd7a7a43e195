//! What the CLI suites share: a local cluster to run against and a runner for the built
//! `dmtbs` command.

use std::path::Path;
use std::process::{Command, Output};

use dmtbs_cluster::config::TransportMode;
use dmtbs_cluster::local::{LocalCluster, test_config};
use dmtbs_testkit::components::{self, IMPLEMENTATIONS};
use serde_json::Value;

/// The cluster's date: shows from 24 Nov to 1 Dec 2026 are in the window.
const TODAY: &str = "2026-11-24";

/// A local cluster of the four implementations, and a folder for client logs.
pub async fn start(transport: TransportMode) -> (LocalCluster, tempfile::TempDir) {
    let config =
        test_config(&components::dir(), IMPLEMENTATIONS, transport, TODAY).expect("configuration");
    let cluster = LocalCluster::start(config).await.expect("cluster starts");
    (cluster, tempfile::tempdir().expect("temporary folder"))
}

/// What one run of `dmtbs` printed and how it exited.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The one JSON object on stdout.
    pub fn json(&self) -> Value {
        serde_json::from_str(self.stdout.trim())
            .unwrap_or_else(|e| panic!("not one JSON object ({e}):\n{}", self.show()))
    }

    pub fn expect_code(self, code: i32) -> Self {
        assert_eq!(self.code, Some(code), "{}", self.show());
        self
    }

    /// Both outputs, for failure messages.
    pub fn show(&self) -> String {
        format!("stdout:\n{}\nstderr:\n{}", self.stdout, self.stderr)
    }
}

/// How the tests run `dmtbs`: against one front end, with or without the admin key, logging to
/// one folder, the caller's token in a credential store of their own (`$DMTBS_TOKEN_DIR`): the
/// runner puts the token of the user named by `--as` there (owner-only) before each run, as an
/// admin issuing it would have.
pub struct Dmtbs {
    pub url: String,
    key: String,
    log_dir: std::path::PathBuf,
    /// The credential store.
    pub tokens: tempfile::TempDir,
    /// An empty credential store, for callers without a token.
    no_tokens: tempfile::TempDir,
    mint: dmtbs_cluster::config::TokenMinter,
}

impl Dmtbs {
    pub fn new(cluster: &LocalCluster, log_dir: &Path) -> Dmtbs {
        Dmtbs {
            url: cluster.url(0),
            key: cluster.config.cluster.admin_key.clone(),
            log_dir: log_dir.to_owned(),
            tokens: tempfile::tempdir().expect("a credential store"),
            no_tokens: tempfile::tempdir().expect("an empty credential store"),
            mint: cluster.config.mint_tokens(),
        }
    }

    /// Runs `dmtbs args…` with the admin key in DMTBS_ADMIN_KEY.
    pub async fn admin(&self, args: &[&str]) -> Run {
        self.run(args, true).await
    }

    /// Runs `dmtbs args…` without any admin key.
    pub async fn user(&self, args: &[&str]) -> Run {
        self.run(args, false).await
    }

    /// Runs `dmtbs args…` with neither a token nor the admin key.
    pub async fn anonymous(&self, args: &[&str]) -> Run {
        let mut command = self.command(args, false);
        command.env("DMTBS_TOKEN_DIR", self.no_tokens.path());
        output(command).await
    }

    /// `user`'s token file in the credential store (made if missing).
    pub fn token_file(&self, user: &str) -> std::path::PathBuf {
        use std::os::unix::fs::PermissionsExt as _;
        let path = self.tokens.path().join(user.to_ascii_uppercase());
        if !path.exists()
            && let Some(token) = (self.mint)(user)
        {
            std::fs::write(&path, format!("{token}\n")).expect("a token file");
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
                .expect("owner-only");
        }
        path
    }

    pub async fn run(&self, args: &[&str], with_key: bool) -> Run {
        if let Some(user) = args
            .iter()
            .position(|a| *a == "--as")
            .and_then(|i| args.get(i + 1))
        {
            self.token_file(user);
        }
        let mut command = self.command(args, with_key);
        command.env("DMTBS_TOKEN_DIR", self.tokens.path());
        output(command).await
    }

    fn command(&self, args: &[&str], with_key: bool) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_dmtbs"));
        command
            .args(args)
            .env("DMTBS_URL", &self.url)
            .env("DMTBS_LOG_DIR", &self.log_dir)
            .env_remove("DMTBS_ADMIN_KEY")
            .env_remove("DMTBS_TOKEN")
            .env_remove("DMTBS_USER");
        if with_key {
            command.env("DMTBS_ADMIN_KEY", &self.key);
        }
        command
    }
}

/// Runs `command` and collects what it printed.
pub async fn output(mut command: Command) -> Run {
    let output: Output = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("joined")
        .expect("dmtbs runs");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}
