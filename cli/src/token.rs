//! The caller's credential, and `dmtbs token issue|revoke`.
//!
//! **Where a booking command finds the caller's token** ([`find_token`]), first found wins:
//! 1. `$DMTBS_TOKEN`;
//! 2. `--token-file FILE` (its first line);
//! 3. against the front end of the cluster `dmtbs up` runs from this folder:
//!    `.dmtbs/run/tokens/<USER>` (the demo users' tokens `dmtbs up` made for this run — before
//!    the store, since every run of `dmtbs up` makes fresh keys and a stored token of an earlier
//!    run no longer verifies);
//! 4. the credential store: `$DMTBS_TOKEN_DIR/<USER>`, else `$XDG_CONFIG_HOME/dmtbs/tokens/<USER>`,
//!    else `~/.config/dmtbs/tokens/<USER>` — where `dmtbs token issue` puts tokens.
//!
//! Never as a flag: `ps` shows every process's arguments. A token file anyone but its owner may
//! read (mode `& 077` not zero) is **refused**, as ssh refuses such a private key: a token is
//! someone's identity, and a file others could read may already be theirs. Files are written
//! owner-only (0600, in a 0700 folder).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use dmtbs_client::Client;
use dmtbs_cluster::ClusterConfig;

use crate::booking::{EXIT_ERROR, Remote};

/// The run directory `dmtbs up` uses by default (relative to the current folder).
pub const LOCAL_RUN_DIR: &str = ".dmtbs/run";

/// The run directory of the cluster `dmtbs up` runs from this folder: `$DMTBS_RUN_DIR` (as
/// `up --run-dir` reads it too), else [`LOCAL_RUN_DIR`]. The commands find that cluster's
/// admin key and demo tokens there.
pub fn local_run_dir() -> PathBuf {
    std::env::var_os("DMTBS_RUN_DIR")
        .filter(|d| !d.is_empty())
        .map_or_else(|| PathBuf::from(LOCAL_RUN_DIR), PathBuf::from)
}
/// The folder of a run directory holding the demo users' tokens.
pub const RUN_TOKENS: &str = "tokens";

/// The credential store's folder.
pub fn store_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DMTBS_TOKEN_DIR").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(config.join("dmtbs").join("tokens"))
}

/// The first line of a token file, refusing one that others may read.
pub fn read_token_file(path: &Path) -> anyhow::Result<String> {
    use std::os::unix::fs::PermissionsExt as _;
    let meta = std::fs::metadata(path).with_context(|| format!("token file {}", path.display()))?;
    let mode = meta.permissions().mode() & 0o777;
    anyhow::ensure!(
        mode & 0o077 == 0,
        "token file {} is readable or writable by others (mode {mode:o}): refused, since \
         anyone who can read it can act as its user. Run `chmod 600 {}` — and if others may \
         have read it, have the token revoked (dmtbs token revoke) and a new one issued",
        path.display(),
        path.display()
    );
    let text =
        std::fs::read_to_string(path).with_context(|| format!("token file {}", path.display()))?;
    let token = text.lines().next().unwrap_or("").trim();
    anyhow::ensure!(
        !token.is_empty(),
        "token file {}: the file is empty (its first line is the token)",
        path.display()
    );
    Ok(token.to_owned())
}

/// Writes a token to `path`, owner-only (its folder too, when made here).
pub fn write_token_file(path: &Path, token: &str) -> anyhow::Result<()> {
    dmtbs_frontend::auth::write_private(path, format!("{token}\n").as_bytes())
        .with_context(|| format!("writing token file {}", path.display()))
}

/// Whether `url` is a front end of the cluster `dmtbs up` runs from this folder.
pub fn is_local_cluster(url: &str) -> bool {
    let local = local_run_dir().join(dmtbs_cluster::rundir::CONFIG_FILE);
    let url = url.trim_end_matches('/');
    dmtbs_cluster::ClusterConfig::load(&local).is_ok_and(|config| {
        config
            .frontends
            .iter()
            .any(|fe| url == format!("http://{}", fe.http))
    })
}

/// The caller's token, looked for as the module docs say; `Ok(None)` when there is none. A file
/// that is found but unsafe or unreadable is an error.
pub fn find_token(
    user: &str,
    token_file: Option<&Path>,
    url: &str,
) -> anyhow::Result<Option<String>> {
    if let Some(token) = std::env::var("DMTBS_TOKEN")
        .ok()
        .filter(|t| !t.trim().is_empty())
    {
        return Ok(Some(token.trim().to_owned()));
    }
    if let Some(path) = token_file {
        return read_token_file(path)
            .with_context(|| "--token-file")
            .map(Some);
    }
    let user = user.to_ascii_uppercase();
    let run = local_run_dir().join(RUN_TOKENS).join(&user);
    if run.exists() && is_local_cluster(url) {
        return read_token_file(&run).map(Some);
    }
    if let Some(dir) = store_dir() {
        let path = dir.join(&user);
        if path.exists() {
            return read_token_file(&path).map(Some);
        }
    }
    Ok(None)
}

/// The users `dmtbs up` makes tokens for: an admin and three customers of every area.
pub const DEMO_USERS: [&str; 12] = [
    "ATWA0001", "ATWC0001", "ATWC0002", "ATWC0003", "OUTA0001", "OUTC0001", "OUTC0002", "OUTC0003",
    "VERA0001", "VERC0001", "VERC0002", "VERC0003",
];

/// Makes a token for each of the [`DEMO_USERS`] with the cluster's token key and stores it in
/// `<run_dir>/tokens/<USER>` (owner-only, in an owner-only folder); `dmtbs` run from this folder
/// finds them there. Returns the folder.
pub fn issue_demo_tokens(c: &ClusterConfig, run_dir: &Path) -> anyhow::Result<PathBuf> {
    let dir = run_dir.join(RUN_TOKENS);
    let key = c.token_key();
    for user in DEMO_USERS {
        let issued = key
            .issue(user, dmtbs_frontend::auth::DEFAULT_TTL)
            .map_err(|e| anyhow::anyhow!("making {user}'s demo token: {e}"))?;
        write_token_file(&dir.join(user), &issued.token)?;
    }
    Ok(dir)
}

/// Issues, through the front end and with the admin key, a token for every user the workload
/// acts as (`dmtbs_testkit::workload::USERS`); a malformed actor gets none (refused 401, as a
/// caller without a token is).
pub async fn issue_workload_tokens(issuer: &Client) -> anyhow::Result<dmtbs_client::TokenSource> {
    let mut tokens = std::collections::HashMap::new();
    for user in dmtbs_testkit::workload::users() {
        let issued = issuer
            .issue_token(&user, Some(Duration::from_secs(24 * 3600)))
            .await
            .with_context(|| format!("issuing a token for {user}"))?;
        tokens.insert(user, issued.token);
    }
    Ok(std::sync::Arc::new(move |actor: &str| {
        tokens.get(&actor.to_ascii_uppercase()).cloned()
    }))
}

/// Where the errors that need a token say it is looked for.
pub const TOKEN_HINT: &str = "give the caller's token in $DMTBS_TOKEN, in a file named by \
                              --token-file, or in the credential store (dmtbs token issue puts \
                              it there)";

/// `dmtbs token …`.
#[derive(clap::Subcommand, Clone, Debug)]
pub enum Command {
    /// Issue a token for a user (an admin of the user's area, or the cluster operator with the
    /// admin key) and store it owner-only: in the credential store (~/.config/dmtbs/tokens/USER),
    /// or --out FILE; --print writes it to stdout instead.
    Issue {
        /// The user the token is for (e.g. ATWC1002).
        #[arg(long)]
        user: String,
        /// Issue as this area admin, with its own token (found as for booking commands);
        /// without it, the cluster's admin key.
        #[arg(long = "as", value_name = "ADMIN")]
        admin: Option<String>,
        /// The token's life in days (at most 90); default 30.
        #[arg(long, value_name = "DAYS")]
        ttl_days: Option<u64>,
        /// Write the token to this file (owner-only) instead of the credential store.
        #[arg(long, value_name = "FILE", conflicts_with = "print")]
        out: Option<PathBuf>,
        /// Print the token on stdout (to hand it over) instead of storing it.
        #[arg(long)]
        print: bool,
        #[command(flatten)]
        auth: Auth,
    },
    /// Revoke a user's tokens: one (--token-id), or every token of the user issued until now.
    /// Every front end of the cluster refuses them from then on, also after a restart.
    Revoke {
        /// Whose tokens.
        #[arg(long)]
        user: String,
        /// Only this token (its ID, as `issue` printed it).
        #[arg(long, value_name = "ID")]
        token_id: Option<String>,
        /// Revoke as this area admin, with its own token; without it, the cluster's admin key.
        #[arg(long = "as", value_name = "ADMIN")]
        admin: Option<String>,
        #[command(flatten)]
        auth: Auth,
    },
}

/// Which front end, and the issuer's credential.
#[derive(clap::Args, Clone, Debug)]
pub struct Auth {
    #[command(flatten)]
    pub remote: Remote,
    /// With --as: a file whose first line is that admin's token (owner-only).
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
}

/// A client presenting the admin's token (`--as`) or the cluster's admin key.
fn issuer_client(admin: Option<&str>, auth: &mut Auth) -> anyhow::Result<Client> {
    let builder = Client::builder(&auth.remote.url);
    let builder = match admin {
        Some(admin) => {
            let token = find_token(admin, auth.token_file.as_deref(), &auth.remote.url)?
                .with_context(|| format!("no token found for {admin}: {TOKEN_HINT}"))?;
            builder.token(token)
        }
        None => {
            auth.remote.resolve_admin_key()?;
            let key = auth.remote.admin_key.clone().with_context(|| {
                format!(
                    "no admin key: {}; or issue as an area admin with --as ADMIN",
                    crate::booking::ADMIN_KEY_HINT
                )
            })?;
            builder.admin_key(key)
        }
    };
    Ok(builder.build()?)
}

/// Runs `dmtbs token …`: 0 done, 2 anything else.
pub fn main(command: Command) -> ExitCode {
    match run(command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn run(command: Command) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    match command {
        Command::Issue {
            user,
            admin,
            ttl_days,
            out,
            print,
            mut auth,
        } => {
            let client = issuer_client(admin.as_deref(), &mut auth)?;
            let ttl = ttl_days.map(|d| Duration::from_secs(d * 86_400));
            let issued = runtime.block_on(client.issue_token(&user, ttl))?;
            if print {
                println!("{}", issued.token);
                eprintln!(
                    "token {} for {}, expires {}",
                    issued.token_id, issued.user, issued.expires_at
                );
                return Ok(());
            }
            let path = match out {
                Some(path) => path,
                None => store_dir()
                    .context("no credential store: set DMTBS_TOKEN_DIR or HOME, or use --out")?
                    .join(&issued.user),
            };
            write_token_file(&path, &issued.token)?;
            println!(
                "token {} for {}, expires {}: stored in {} (owner-only)",
                issued.token_id,
                issued.user,
                issued.expires_at,
                path.display()
            );
            Ok(())
        }
        Command::Revoke {
            user,
            token_id,
            admin,
            mut auth,
        } => {
            let client = issuer_client(admin.as_deref(), &mut auth)?;
            let answer = runtime.block_on(client.revoke_token(&user, token_id.as_deref()))?;
            let user = answer["user"].as_str().unwrap_or(&user);
            match answer["tokenId"].as_str() {
                Some(id) => println!("revoked token {id} of {user}"),
                None => println!(
                    "revoked every token of {user} issued until {}",
                    answer["issuedUntil"].as_str().unwrap_or("now")
                ),
            }
            Ok(())
        }
    }
}
