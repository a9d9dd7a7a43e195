//! `dmtbs`: the command-line entry point — a whole local cluster of supervised node processes
//! (`up`), one node of a cluster (`sequencer`, `rm`, `fe`), the replica demo, and the load
//! generator (`bench`), the booking commands (`book`, `schedule`, …) and the operator's
//! (`status`, `swap`, `quarantine`), and fault injection for demos (`chaos`).
//!
//! Layout: `main.rs` parses flags and runs one node; `up.rs` is the supervisor; `demo.rs` the
//! replica demo; `bench.rs` the load generator; `booking.rs` the booking commands, `clientlog.rs`
//! their per-user log; `status.rs` the operator's commands; `chaos.rs` fault injection.

mod bench;
mod booking;
mod chaos;
mod clientlog;
mod demo;
mod logging;
mod module;
mod status;
mod token;
mod up;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use dmtbs_cluster::ClusterConfig;
use dmtbs_cluster::rundir;
use dmtbs_cluster::wire::Wire;
use dmtbs_proto::NodeId;
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(
    name = "dmtbs",
    version,
    about = "DMTBS — fault-tolerant movie ticket booking"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start a whole local cluster (sequencer, four replica managers running the four
    /// implementations, a front end), each node a child process of this one; restart any node
    /// that dies (a sequencer that refuses to start stops the cluster); Ctrl-C or SIGTERM stops
    /// them all.
    Up(up::Args),
    /// Run the sequencer of a cluster (with `--standby`, the standby its cluster file names).
    Sequencer {
        #[arg(long)]
        config: PathBuf,
        /// Run the standby (`[standby]` in the cluster file): passive while the sequencer is
        /// active, it takes over once the sequencer is silent.
        #[arg(long)]
        standby: bool,
        #[command(flatten)]
        pid: PidFile,
    },
    /// Run one replica manager of a cluster.
    Rm {
        #[arg(long)]
        config: PathBuf,
        #[arg(long)]
        id: u8,
        #[command(flatten)]
        pid: PidFile,
    },
    /// Run one front end of a cluster.
    Fe {
        #[arg(long)]
        config: PathBuf,
        #[arg(long)]
        id: u16,
        #[command(flatten)]
        pid: PidFile,
    },
    /// Load the four replica implementations and run a seeded workload through all of them,
    /// comparing every result and the final state digests.
    ReplicasDemo(demo::Args),
    /// Load-test a cluster through its HTTP API — a running one (--url) or one started here
    /// (--local, 1 or 4 replicas, optional loss) — and report throughput and latency.
    Bench(bench::Args),
    #[command(flatten)]
    Booking(booking::Command),
    #[command(flatten)]
    Operator(status::Command),
    /// Fault injection for demos and teaching: kill a replica manager, load a faulty module,
    /// drop part of a link's traffic, heal.
    #[command(subcommand)]
    Chaos(chaos::Command),
    /// Issue and revoke users' tokens (admins of the user's area, or the operator's admin key).
    #[command(subcommand)]
    Token(token::Command),
    /// Replica modules: check one offline before it goes live.
    #[command(subcommand)]
    Module(module::Command),
    /// Print a shell completion script (e.g. `dmtbs completions bash > ~/.local/share/bash-completion/completions/dmtbs`).
    Completions {
        /// bash, elvish, fish, powershell or zsh.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), or write one page per command into a folder.
    Man {
        /// Write dmtbs.1, dmtbs-up.1, … here instead of printing dmtbs.1.
        #[arg(long)]
        out_dir: Option<PathBuf>,
    },
}

#[derive(clap::Args)]
struct PidFile {
    /// Write this process's pid here once the node is ready (bound, replica loaded); removed
    /// when it stops cleanly. `dmtbs up` uses it to know its children are up.
    #[arg(long)]
    pid_file: Option<PathBuf>,
}

impl PidFile {
    /// Announces readiness; the returned guard removes the file when the node stops.
    fn ready(&self) -> anyhow::Result<PidFileGuard> {
        let pid = std::process::id();
        if let Some(path) = &self.pid_file {
            rundir::write_pid_file(path, pid)
                .with_context(|| format!("writing pid file {}", path.display()))?;
        }
        Ok(PidFileGuard {
            path: self.pid_file.clone(),
            pid,
        })
    }
}

/// Removes a node's pid file when the node stops (unless a successor already replaced it).
struct PidFileGuard {
    path: Option<PathBuf>,
    pid: u32,
}

impl Drop for PidFileGuard {
    fn drop(&mut self) {
        if let Some(path) = &self.path {
            rundir::remove_pid_file_of(path, self.pid);
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The benchmark's output is its report. Its in-process cluster warns about every replica
    // a verdict names silent, which loss makes routine: only errors are shown (RUST_LOG for more).
    let default_filter = match cli.command {
        Command::Bench(_) => "error",
        // The client commands' output is their answer.
        Command::Booking(_)
        | Command::Operator(_)
        | Command::Chaos(_)
        | Command::Token(_)
        | Command::Module(_) => "warn",
        _ => "info",
    };
    // Every line names the node that wrote it, so `up`'s merged output says who said what.
    let node = match &cli.command {
        Command::Up(_) => Some("up".to_owned()),
        Command::Sequencer { standby: false, .. } => Some("sequencer".to_owned()),
        Command::Sequencer { standby: true, .. } => Some("standby".to_owned()),
        Command::Rm { id, .. } => Some(format!("rm{id}")),
        Command::Fe { id, .. } => Some(format!("fe{id}")),
        _ => None,
    };
    if let Err(e) = logging::init(node, default_filter) {
        eprintln!("error: {e:#}");
        return ExitCode::from(2);
    }
    let result = match cli.command {
        // They print their own errors and choose their exit codes (0, 1 refused, 2 error).
        Command::Booking(command) => return booking::main(command),
        Command::Operator(command) => return status::main(command),
        Command::Chaos(command) => return chaos::main(command),
        Command::Token(command) => return token::main(command),
        Command::ReplicasDemo(args) => demo::run(args),
        Command::Module(command) => module::run(command),
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            // Into a buffer first: clap_complete panics on a write error (`| head`).
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut command, "dmtbs", &mut script);
            print_ignoring_closed_pipe(&script)
        }
        Command::Man { out_dir } => man(out_dir),
        Command::Bench(args) => tokio::runtime::Runtime::new()
            .context("starting the async runtime")
            .and_then(|rt| rt.block_on(bench::run(args))),
        // A replica manager and a sequencer run their protocol loop on this thread, and their
        // heavy work on threads of their own (replica, applier, store): on a multi-thread
        // runtime every datagram was noticed by a worker, which then woke this thread. Here
        // this thread polls the sockets itself.
        command @ (Command::Rm { .. } | Command::Sequencer { .. }) => {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("starting the async runtime")
                .and_then(|rt| rt.block_on(serve(command)).map(|()| true))
        }
        command => tokio::runtime::Runtime::new()
            .context("starting the async runtime")
            .and_then(|rt| rt.block_on(serve(command)).map(|()| true)),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            // A sequencer that refused to start has a code of its own: `dmtbs up` stops the
            // cluster rather than restart it.
            if dmtbs_cluster::sequencer::is_start_refusal(&e) {
                ExitCode::from(dmtbs_cluster::sequencer::EXIT_START_REFUSED)
            } else {
                ExitCode::from(2)
            }
        }
    }
}

/// Writes `bytes` to stdout; a reader that went away (`| head`) is not an error.
fn print_ignoring_closed_pipe(bytes: &[u8]) -> anyhow::Result<bool> {
    use std::io::Write as _;
    match std::io::stdout().lock().write_all(bytes) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(anyhow::Error::from(e).context("writing to stdout"))
        }
        _ => Ok(true),
    }
}

/// `dmtbs man`: the top page on stdout, or every page into `out_dir`.
fn man(out_dir: Option<PathBuf>) -> anyhow::Result<bool> {
    let command = <Cli as clap::CommandFactory>::command();
    match out_dir {
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(command)
                .render(&mut page)
                .context("rendering the man page")?;
            return print_ignoring_closed_pipe(&page);
        }
        Some(dir) => {
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            clap_mangen::generate_to(command, &dir)
                .with_context(|| format!("writing man pages into {}", dir.display()))?;
            println!("man pages written to {}", dir.display());
        }
    }
    Ok(true)
}

/// Ctrl-C (or SIGTERM) cancels `token`.
fn stop_on_signal(token: CancellationToken) {
    tokio::spawn(async move {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing a SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        tracing::info!("shutting down");
        token.cancel();
    });
}

async fn serve(command: Command) -> anyhow::Result<()> {
    let shutdown = CancellationToken::new();
    stop_on_signal(shutdown.clone());
    let (wire, result) = match command {
        Command::Up(args) => return up::run(args, shutdown).await,
        Command::Sequencer {
            config,
            standby,
            pid,
        } => {
            let config = Arc::new(ClusterConfig::load(&config)?);
            let me = if standby {
                anyhow::ensure!(
                    config.standby.is_some(),
                    "--standby: the cluster file names no standby (add a [standby] section with \
                     its addr)"
                );
                NodeId::Standby
            } else {
                NodeId::Sequencer
            };
            let wire = Wire::connect(config.clone(), me).await?;
            let _pid = pid.ready()?;
            let result = dmtbs_cluster::sequencer::run(config, wire.clone(), shutdown).await;
            (wire, result)
        }
        Command::Rm { config, id, pid } => {
            let config = Arc::new(ClusterConfig::load(&config)?);
            let wire = Wire::connect(config.clone(), NodeId::Rm(id)).await?;
            let replica = dmtbs_cluster::rm::start_replica(&config, id)?;
            let _pid = pid.ready()?;
            let result = dmtbs_cluster::rm::run(config, id, replica, wire.clone(), shutdown).await;
            (wire, result)
        }
        Command::Fe { config, id, pid } => {
            let config = Arc::new(ClusterConfig::load(&config)?);
            let section = config
                .frontend(id)
                .with_context(|| format!("front end {id} is not in the configuration"))?;
            let listener = tokio::net::TcpListener::bind(section.http)
                .await
                .map_err(|e| {
                    anyhow::anyhow!(dmtbs_cluster::holder::bind_error(
                        &format!("front end {id}: HTTP address"),
                        dmtbs_cluster::holder::Proto::Tcp,
                        section.http,
                        &e
                    ))
                })?;
            let wire = Wire::connect(config.clone(), NodeId::FrontEnd(id)).await?;
            let _pid = pid.ready()?;
            let result =
                dmtbs_cluster::frontend::run(config, id, wire.clone(), listener, shutdown).await;
            (wire, result)
        }
        Command::ReplicasDemo(_)
        | Command::Module(_)
        | Command::Completions { .. }
        | Command::Man { .. }
        | Command::Bench(_)
        | Command::Booking(_)
        | Command::Operator(_)
        | Command::Chaos(_)
        | Command::Token(_) => {
            unreachable!("handled in main, without signal handling")
        }
    };
    // "replayed 2, misaddressed 1" (or "none"), as the metrics name the reasons.
    let rejects = wire.rejects();
    let refused: Vec<String> = rejects
        .by_reason()
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(reason, n)| format!("{reason} {n}"))
        .collect();
    tracing::info!(
        node = rundir::node_name(wire.node()),
        total = rejects.total(),
        "datagrams refused while running: {}",
        if refused.is_empty() {
            "none".to_owned()
        } else {
            refused.join(", ")
        }
    );
    result
}
