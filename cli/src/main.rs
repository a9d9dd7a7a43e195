//! `dmtbs`: the command-line entry point — a whole local cluster (`up`), one node of a cluster
//! (`sequencer`, `rm`, `fe`), the replica demo, and the load generator (`bench`). The booking
//! commands come later.

mod bench;
mod demo;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use dmtbs_cluster::local::LocalCluster;
use dmtbs_cluster::wire::Wire;
use dmtbs_cluster::{ClusterConfig, config};
use dmtbs_proto::{ClusterKey, NodeId};
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
    /// implementations, a front end) in this process; Ctrl-C stops it.
    Up {
        /// Cluster file; default: the embedded local configuration with fresh random keys.
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Run the sequencer of a cluster.
    Sequencer {
        #[arg(long)]
        config: PathBuf,
    },
    /// Run one replica manager of a cluster.
    Rm {
        #[arg(long)]
        config: PathBuf,
        #[arg(long)]
        id: u8,
    },
    /// Run one front end of a cluster.
    Fe {
        #[arg(long)]
        config: PathBuf,
        #[arg(long)]
        id: u16,
    },
    /// Load the four replica implementations and run a seeded workload through all of them,
    /// comparing every result and the final state digests.
    ReplicasDemo(demo::Args),
    /// Load-test a cluster through its HTTP API — a running one (--url) or one started here
    /// (--local, 1 or 4 replicas, optional loss) — and report throughput and latency.
    Bench(bench::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The benchmark's output is its report. Its in-process cluster warns about every replica
    // a verdict names silent, which loss makes routine: only errors are shown (RUST_LOG for more).
    let default_filter = match cli.command {
        Command::Bench(_) => "error",
        _ => "info",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| default_filter.into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.command {
        Command::ReplicasDemo(args) => demo::run(args),
        Command::Bench(args) => tokio::runtime::Runtime::new()
            .context("starting the async runtime")
            .and_then(|rt| rt.block_on(bench::run(args))),
        command => tokio::runtime::Runtime::new()
            .context("starting the async runtime")
            .and_then(|rt| rt.block_on(serve(command)).map(|()| true)),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
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
    match command {
        Command::Up { config } => up(config, shutdown).await,
        Command::Sequencer { config } => {
            let config = Arc::new(ClusterConfig::load(&config)?);
            let transport = Arc::new(Wire::udp(&config, NodeId::Sequencer).await?);
            dmtbs_cluster::sequencer::run(config, transport, shutdown).await
        }
        Command::Rm { config, id } => {
            let config = Arc::new(ClusterConfig::load(&config)?);
            let transport = Arc::new(Wire::udp(&config, NodeId::Rm(id)).await?);
            let replica = dmtbs_cluster::rm::start_replica(&config, id)?;
            dmtbs_cluster::rm::run(config, id, replica, transport, shutdown).await
        }
        Command::Fe { config, id } => {
            let config = Arc::new(ClusterConfig::load(&config)?);
            let section = config
                .frontend(id)
                .with_context(|| format!("front end {id} is not in the configuration"))?;
            let listener = tokio::net::TcpListener::bind(section.http).await?;
            let transport = Arc::new(Wire::udp(&config, NodeId::FrontEnd(id)).await?);
            dmtbs_cluster::frontend::run(config, id, transport, listener, shutdown).await
        }
        Command::ReplicasDemo(_) | Command::Bench(_) => {
            unreachable!("handled in main, without signal handling")
        }
    }
}

async fn up(path: Option<PathBuf>, shutdown: CancellationToken) -> anyhow::Result<()> {
    let config = match path {
        Some(path) => ClusterConfig::load(&path)?,
        None => {
            // The embedded default, with fresh keys: nothing secret is ever in the source.
            let mut config = ClusterConfig::parse(config::DEFAULT, Path::new("."))?;
            config.cluster.key = ClusterKey::generate();
            config.cluster.admin_key = ClusterKey::generate().to_hex()[..32].to_string();
            config
        }
    };
    let cluster = LocalCluster::start(config).await?;
    let c = &cluster.config;
    let today = dmtbs_cluster::wire::today(c);
    let show = format!(
        "ATWE{:02}{:02}{:02}",
        today.day,
        today.month,
        today.year % 100
    );
    println!(
        "DMTBS local cluster is up ({} replica managers, {} transport).",
        c.rms.len(),
        match c.cluster.transport {
            config::TransportMode::Multicast => "multicast",
            config::TransportMode::Unicast => "unicast",
        }
    );
    for fe in &c.frontends {
        println!(
            "  front end {}: http://{}  (API description: /openapi.json)",
            fe.id, fe.http
        );
    }
    println!("  admin key: {}", c.cluster.admin_key);
    let url = format!("http://{}", c.frontends[0].http);
    println!(
        "\nTry it (today is {}-{:02}-{:02}):",
        today.year, today.month, today.day
    );
    println!(
        "  curl -s -X POST {url}/v1/shows -H 'X-DMTBS-User: ATWA0001' -H 'Authorization: Bearer {}' \\\n       -H 'Content-Type: application/json' -d '{{\"movie\":\"Avatar\",\"showId\":\"{show}\",\"capacity\":50}}'",
        c.cluster.admin_key
    );
    println!(
        "  curl -s -X POST {url}/v1/customers/ATWC0001/bookings -H 'X-DMTBS-User: ATWC0001' \\\n       -H 'Content-Type: application/json' -d '{{\"movie\":\"Avatar\",\"showId\":\"{show}\",\"tickets\":2}}'"
    );
    println!("  curl -s {url}/v1/customers/ATWC0001/bookings -H 'X-DMTBS-User: ATWC0001'");
    println!("\nCtrl-C stops the cluster.");
    let mut cluster = cluster;
    tokio::select! {
        _ = shutdown.cancelled() => {}
        failed = cluster.failed() => {
            if let Some((node, result)) = failed {
                result.with_context(|| format!("{node:?} stopped"))?;
                anyhow::bail!("{node:?} stopped unexpectedly");
            }
        }
    }
    cluster.stop().await
}
