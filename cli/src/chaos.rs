//! `dmtbs chaos …`: fault injection for demos and teaching — crash a replica manager of a
//! `dmtbs up` cluster (`kill`), load a buggy or hanging module on one (`module`), drop part of
//! one link's traffic (`drop`), show the links (`links`) and heal them all (`heal`). Each command
//! says what the cluster will do about it, so a class can watch for it (docs/chaos.md).
//!
//! Output and exit codes as the operator commands ([`crate::status`]): sentences, or one JSON
//! object with `--json`; 0 when done, 2 on any error (nothing is changed then).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use dmtbs_client::{ChaosLinks, Client};
use dmtbs_cluster::rundir;
use dmtbs_proto::NodeId;
use serde_json::{Value, json};

use crate::booking::{EXIT_ERROR, Remote, table};

/// The faulty modules shipped beside the good ones, and what each does once loaded.
const FAULTY: &[(&str, &str)] = &[
    (
        "faulty-logic",
        "a plausible logic bug: a 4th other-area booking in a week is accepted instead of \
         refused (weekly-limit); wrong only on those requests",
    ),
    (
        "faulty-random",
        "every result replaced by a pseudo-random one: wrong on every request",
    ),
    ("faulty-panic", "crashes (a trap) on its 50th request"),
    (
        "faulty-loop",
        "hangs: loops forever on the availability of Titanic",
    ),
    (
        "faulty-memory",
        "allocates without bound on a schedule (stopped by the memory cap)",
    ),
    (
        "faulty-corrupt",
        "answers right but corrupts its state: only the next checkpoint's digest comparison \
         catches it",
    ),
];

/// `dmtbs chaos …`.
#[derive(clap::Subcommand, Clone, Debug)]
pub enum Command {
    /// Crash a replica manager of a `dmtbs up` cluster (SIGKILL); the supervisor restarts it and
    /// it recovers its state from its peers.
    Kill {
        /// The replica manager: 3, rm3 or rm-3.
        rm: String,
        /// The run directory of the `dmtbs up` that supervises the cluster.
        #[arg(long, env = "DMTBS_RUN_DIR", default_value = crate::token::LOCAL_RUN_DIR)]
        run_dir: PathBuf,
        #[command(flatten)]
        remote: Remote,
    },
    /// Load a buggy or hanging module on a replica manager (an operator swap); it is detected,
    /// quarantined cluster-wide and replaced by a known-good module.
    Module {
        /// The replica manager: 2, rm2 or rm-2.
        rm: String,
        /// One of faulty-logic, faulty-random, faulty-panic, faulty-loop, faulty-memory,
        /// faulty-corrupt.
        module: String,
        #[command(flatten)]
        remote: Remote,
    },
    /// Make node TO drop PERCENT % of the datagrams it receives from node FROM (0 heals that
    /// link). Nodes: sequencer, fe1, rm1 … rm4, any letter case.
    Drop {
        from: String,
        to: String,
        /// 0 to 100.
        percent: u8,
        #[command(flatten)]
        remote: Remote,
    },
    /// Heal every link of every node (the counts of what was dropped stay).
    Heal {
        #[command(flatten)]
        remote: Remote,
    },
    /// Every link that drops or has dropped, with how much it dropped.
    Links {
        #[command(flatten)]
        remote: Remote,
    },
}

impl Command {
    fn remote(&self) -> &Remote {
        match self {
            Command::Kill { remote, .. }
            | Command::Module { remote, .. }
            | Command::Drop { remote, .. }
            | Command::Heal { remote }
            | Command::Links { remote } => remote,
        }
    }

    fn remote_mut(&mut self) -> &mut Remote {
        match self {
            Command::Kill { remote, .. }
            | Command::Module { remote, .. }
            | Command::Drop { remote, .. }
            | Command::Heal { remote }
            | Command::Links { remote } => remote,
        }
    }
}

/// Runs one chaos command: do it, print what happened and what to watch for, exit code.
pub fn main(mut command: Command) -> ExitCode {
    if let Err(e) = command.remote_mut().resolve_admin_key() {
        eprintln!("error: {e:#}");
        return ExitCode::from(EXIT_ERROR);
    }
    let remote = command.remote().clone();
    let result = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
        .and_then(|rt| rt.block_on(run(&command)));
    match result {
        Ok((answer, text)) => {
            if remote.json {
                println!("{answer}");
            } else {
                print!("{text}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            let message = format!("{e:#}");
            if remote.json {
                println!(
                    "{}",
                    json!({ "status": "error", "code": "chaos-failed", "message": message })
                );
            }
            eprintln!("error: {message}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// The client for `remote`, with the admin key.
fn client(remote: &Remote) -> anyhow::Result<Client> {
    let mut builder = Client::builder(&remote.url);
    if let Some(key) = &remote.admin_key {
        builder = builder.admin_key(key);
    }
    Ok(builder.build()?)
}

/// An error from the front end, with a hint when the admin key is missing.
fn api_error(remote: &Remote, e: dmtbs_client::Error) -> anyhow::Error {
    let hint = match e.api() {
        Some(api) if api.status == 401 && remote.admin_key.is_none() => {
            "; the request needs the admin key: $DMTBS_ADMIN_KEY or --admin-key-file"
        }
        _ => "",
    };
    match e.api() {
        Some(api) => anyhow::anyhow!("{} — {} (HTTP {}{hint})", api.code, api.message, api.status),
        None => anyhow::anyhow!("{e} (front end {})", remote.url),
    }
}

/// A replica manager named `3`, `rm3` or `rm-3`.
fn rm_id(name: &str) -> anyhow::Result<u8> {
    if let Ok(id) = name.trim().parse::<u8>() {
        return Ok(id);
    }
    match name.parse::<NodeId>() {
        Ok(NodeId::Rm(id)) => Ok(id),
        _ => bail!("{name:?} is not a replica manager: give its number (e.g. 3) or rm3"),
    }
}

async fn run(command: &Command) -> anyhow::Result<(Value, String)> {
    let remote = command.remote();
    let client = client(remote)?;
    match command {
        Command::Kill { rm, run_dir, .. } => kill(&client, remote, rm_id(rm)?, run_dir).await,
        Command::Module { rm, module, .. } => {
            load_module(&client, remote, rm_id(rm)?, module).await
        }
        Command::Drop {
            from, to, percent, ..
        } => {
            // Checked here too, so a typo is explained without a cluster to ask.
            let from: NodeId = from.parse()?;
            let to: NodeId = to.parse()?;
            let links = client
                .chaos_drop(&from.to_string(), &to.to_string(), *percent)
                .await
                .map_err(|e| api_error(remote, e))?;
            let what = if *percent == 0 {
                format!("Healed the link {from} → {to}: {to} takes everything from {from} again.\n")
            } else {
                format!(
                    "{to} now drops {percent} % of what it receives from {from} (operator \
                     messages excepted).\n{}",
                    expect_after_drop(from, to, *percent)
                )
            };
            Ok((links_value(&links), what + &links_table(&links)))
        }
        Command::Heal { .. } => {
            let links = client
                .chaos_heal()
                .await
                .map_err(|e| api_error(remote, e))?;
            let text = format!(
                "Healed every link; the counts of what was dropped stay.\n{}",
                links_table(&links)
            );
            Ok((links_value(&links), text))
        }
        Command::Links { .. } => {
            let links = client
                .chaos_links()
                .await
                .map_err(|e| api_error(remote, e))?;
            Ok((links_value(&links), links_table(&links)))
        }
    }
}

/// What a class should watch for after a drop.
fn expect_after_drop(from: NodeId, to: NodeId, percent: u8) -> String {
    let whole = if percent == 100 { "all" } else { "some" };
    let watch = match (from, to) {
        (NodeId::Sequencer, NodeId::Rm(rm)) => format!(
            "Expect: RM {rm} misses {whole} requests, notices the gaps from the sequencer's \
             heartbeats and repairs them from its peers (NACK); answers stay correct and RM \
             {rm}'s applied count keeps up (`dmtbs status`)."
        ),
        (NodeId::Rm(rm), NodeId::FrontEnd(_)) => format!(
            "Expect: the front end misses {whole} of RM {rm}'s results; the others still agree, \
             and RM {rm} may be reported silent, probed, and restarted if it stays silent."
        ),
        (_, NodeId::Sequencer) => format!(
            "Expect: {whole} of {from}'s messages to the sequencer are lost; senders resend \
             (requests may take longer)."
        ),
        _ => format!(
            "Expect: {whole} of {from}'s messages to {to} are lost; the protocol resends or \
             repairs, answers stay correct."
        ),
    };
    format!("{watch}\n`dmtbs chaos links` shows what was dropped; `dmtbs chaos heal` ends it.\n")
}

fn links_value(links: &ChaosLinks) -> Value {
    json!({
        "status": "ok",
        "links": links.links.iter().map(|l| json!({
            "from": l.from, "to": l.to, "percent": l.percent, "dropped": l.dropped,
        })).collect::<Vec<_>>(),
        "unanswered": links.unanswered,
    })
}

/// The links as a table (or a sentence when there are none), then the nodes that did not answer.
fn links_table(links: &ChaosLinks) -> String {
    let rows: Vec<Vec<String>> = links
        .links
        .iter()
        .map(|l| {
            vec![
                l.from.clone(),
                l.to.clone(),
                format!("{} %", l.percent),
                l.dropped.to_string(),
            ]
        })
        .collect();
    let mut out = if rows.is_empty() {
        "No link drops or has dropped anything.\n".to_owned()
    } else {
        format!("{}\n", table(&["FROM", "TO", "DROPS", "DROPPED"], &rows))
    };
    for node in &links.unanswered {
        out += &format!("{node} did not answer.\n");
    }
    out
}

/// Loads a faulty module on RM `rm`.
async fn load_module(
    client: &Client,
    remote: &Remote,
    rm: u8,
    module: &str,
) -> anyhow::Result<(Value, String)> {
    let Some((_, does)) = FAULTY.iter().find(|(name, _)| *name == module) else {
        let names: Vec<&str> = FAULTY.iter().map(|(name, _)| *name).collect();
        bail!(
            "{module:?} is not one of the faulty modules: {} (to load a good one, use `dmtbs \
             swap`)",
            names.join(", ")
        );
    };
    let replica = client
        .swap(rm, module)
        .await
        .map_err(|e| api_error(remote, e))?;
    let catch = match module {
        "faulty-loop" | "faulty-memory" | "faulty-panic" => {
            format!("when it hangs, runs out of memory or crashes, RM {rm} replaces it")
        }
        "faulty-corrupt" => format!(
            "at the next checkpoint its state digest differs from the others'; RM {rm} \
             replaces it"
        ),
        _ => format!(
            "after three wrong results in a row (the default strike count), RM {rm} replaces it"
        ),
    };
    let text = format!(
        "RM {rm} is loading {module}: {does}.\n\
         Expect: answers stay correct (the other replicas outvote it); {catch} by a known-good \
         module holding a correct state, and quarantines {module} cluster-wide.\n\
         Watch `dmtbs status` (MODULE, WRONG, SWAPS) and `dmtbs quarantine list`; \
         `dmtbs quarantine clear {module}` allows it again.\n"
    );
    let answer = json!({
        "status": "ok",
        "rm": replica.rm,
        "module": module,
        "replica": { "module": replica.module, "health": replica.health, "swaps": replica.swaps },
    });
    Ok((answer, text))
}

/// Crashes RM `rm` of the `dmtbs up` cluster whose run directory is `run_dir`, after checking
/// that the pid there is the one the RM itself reports through the front end.
async fn kill(
    client: &Client,
    remote: &Remote,
    rm: u8,
    run_dir: &Path,
) -> anyhow::Result<(Value, String)> {
    if !run_dir.is_dir() {
        bail!(
            "there is no run directory at {}: is a cluster running here with `dmtbs up`? \
             (give its --run-dir)",
            run_dir.display()
        );
    }
    let pid_file = rundir::pid_file(run_dir, NodeId::Rm(rm));
    let Some(pid) = rundir::read_pid_file(&pid_file) else {
        bail!(
            "no pid file {}: there is no RM {rm} in the cluster of {}, or it is (re)starting",
            pid_file.display(),
            run_dir.display()
        );
    };
    let replicas = client.replicas().await.map_err(|e| api_error(remote, e))?;
    let Some(status) = replicas.replicas.iter().find(|r| r.rm == rm) else {
        if replicas.silent.contains(&rm) {
            bail!(
                "RM {rm} did not answer its status, so its pid cannot be confirmed; nothing killed"
            );
        }
        bail!(
            "the cluster at {} has no RM {rm}; nothing killed",
            remote.url
        );
    };
    if status.pid != pid {
        bail!(
            "{} names pid {pid}, but RM {rm} of the cluster at {} reports pid {}: the run \
             directory and --url are not the same cluster (or RM {rm} just restarted); nothing \
             killed",
            pid_file.display(),
            remote.url,
            status.pid
        );
    }
    let target = libc::pid_t::try_from(pid).context("the pid does not fit a pid_t")?;
    // SAFETY: kill(2) has no memory-safety preconditions.
    if unsafe { libc::kill(target, libc::SIGKILL) } != 0 {
        let e = std::io::Error::last_os_error();
        bail!("cannot kill RM {rm} (pid {pid}): {e}");
    }
    let text = format!(
        "Killed RM {rm} (pid {pid}, SIGKILL).\n\
         Expect: answers stay correct (three replicas remain); `dmtbs up` restarts RM {rm} in a \
         moment, and the new process fetches a correct state from its peers and catches up: \
         `dmtbs status` shows it recovering, then serving with a new pid ({} has it).\n",
        pid_file.display()
    );
    Ok((json!({ "status": "ok", "rm": rm, "killed": pid }), text))
}
