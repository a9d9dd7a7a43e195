//! `dmtbs up`: a whole cluster as separate processes of this binary, supervised.
//!
//! The supervisor writes the effective cluster file into the run directory, starts every node as
//! a child (`dmtbs rm --id N --config … --pid-file …`, and so on), waits until each has written
//! its pid file and the front ends answer HTTP, then prints how to use the cluster. While it
//! runs it restarts every node that exits or is killed — replica managers, front ends and the
//! sequencer alike (with a growing delay when one keeps dying). A restarted sequencer learns
//! from the replica managers' durable logs where the history ends and numbers on after it in a
//! new epoch. One exit is not retried: a sequencer that refused to start because a majority of
//! the replica managers lost their disks exits with
//! [`EXIT_START_REFUSED`](dmtbs_cluster::sequencer::EXIT_START_REFUSED); restarting it could not
//! help, so `up` stops the cluster with its message (which `up` relays from the sequencer's
//! stderr). Ctrl-C or SIGTERM stops every child (SIGTERM, then SIGKILL after [`STOP_GRACE`]) and
//! `up` exits 0.

use std::net::SocketAddr;
use std::os::fd::AsFd as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use dmtbs_cluster::rundir::{self, CONFIG_FILE, SUPERVISOR_PID_FILE};
use dmtbs_cluster::sequencer::EXIT_START_REFUSED;
use dmtbs_cluster::{ClusterConfig, config};
use dmtbs_proto::{ClusterKey, NodeId};
use tokio_util::sync::CancellationToken;

mod banner;

use banner::print_banner;

/// How often the supervisor looks at its children.
const POLL: Duration = Duration::from_millis(100);
/// How long a stopping child gets between SIGTERM and SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(5);
/// Delay before the first restart of a child that died.
const RESTART_DELAY_MIN: Duration = Duration::from_millis(250);
/// The delay doubles each time a child dies soon after its start, up to this.
const RESTART_DELAY_MAX: Duration = Duration::from_secs(30);
/// A child that ran this long before dying counts as having been healthy: its delay resets.
const HEALTHY_AFTER: Duration = Duration::from_secs(10);

#[derive(clap::Args)]
pub struct Args {
    /// Cluster file, used as is; default: the embedded local configuration with fresh random
    /// keys, written into the run directory.
    #[arg(long, conflicts_with = "port_base")]
    config: Option<PathBuf>,
    /// Move the embedded configuration's ports for a second local cluster: every node's port
    /// 97NN becomes BASE+NN and the front end's HTTP port 8080 becomes BASE+80 (default: 9700,
    /// ports as shipped). Give the second cluster its own --run-dir too.
    #[arg(long, env = "DMTBS_PORT_BASE", value_name = "BASE",
          value_parser = clap::value_parser!(u16).range(1024..=PORT_BASE_MAX as i64))]
    port_base: Option<u16>,
    /// Where the cluster file and one pid file per node are kept while the cluster runs.
    #[arg(long, env = "DMTBS_RUN_DIR", default_value = crate::token::LOCAL_RUN_DIR)]
    run_dir: PathBuf,
    /// How long the nodes may take to become ready (seconds) before `up` gives up.
    #[arg(long, default_value_t = 60)]
    start_timeout: u64,
    /// Once the cluster is up, add sample shows — every area, movie and slot, today and the next
    /// seven days, 50 seats each — so a newcomer can book at once.
    #[arg(long)]
    sample_shows: bool,
}

/// The embedded configuration's port block: node ports are `DEFAULT_PORT_BASE + 0..100`.
const DEFAULT_PORT_BASE: u16 = 9700;
/// The highest base whose block (and HTTP port, base + 80) still fits below 65536.
const PORT_BASE_MAX: u16 = 65535 - 99;

/// Seats of each sample show.
const SAMPLE_CAPACITY: u32 = 50;

pub async fn run(args: Args, shutdown: CancellationToken) -> anyhow::Result<()> {
    let run_dir = prepare_run_dir(&args.run_dir)?;
    let config_path = write_config(&run_dir, args.config.as_deref(), args.port_base)?;
    let config = Arc::new(ClusterConfig::load(&config_path)?);
    let supervisor_pid = run_dir.join(SUPERVISOR_PID_FILE);
    rundir::write_pid_file(&supervisor_pid, std::process::id())?;
    let mut cluster = Supervised::new(&config, &config_path, &run_dir)?;
    let result = cluster
        .supervise(
            &config,
            Duration::from_secs(args.start_timeout),
            args.sample_shows,
            &shutdown,
        )
        .await;
    cluster.stop_all().await;
    rundir::remove_pid_file_of(&supervisor_pid, std::process::id());
    result
}

/// Creates the run directory, owner-only (it holds the cluster file with the keys and, by
/// default, the RMs' data: customers' bookings); refuses one a running `up` is using.
fn prepare_run_dir(dir: &Path) -> anyhow::Result<PathBuf> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating the run directory {}", dir.display()))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .with_context(|| format!("making the run directory {} owner-only", dir.display()))?;
    let dir = std::fs::canonicalize(dir)?;
    if let Some(pid) = rundir::read_pid_file(&dir.join(SUPERVISOR_PID_FILE))
        && pid != std::process::id()
        && alive(pid)
    {
        anyhow::bail!(
            "another `dmtbs up` (pid {pid}) is using the run directory {}; stop it or pass --run-dir",
            dir.display()
        );
    }
    Ok(dir)
}

/// Puts the cluster file the nodes will read at `<run_dir>/cluster.toml` and returns the path
/// they are given. A given file is used as is (a symlink to it is left in the run directory, and
/// the nodes read the original, so its relative paths keep their meaning); without one, the
/// embedded default gets fresh keys and absolute paths and is written there, readable by the
/// owner only (it holds the keys).
fn write_config(
    run_dir: &Path,
    given: Option<&Path>,
    port_base: Option<u16>,
) -> anyhow::Result<PathBuf> {
    let link = run_dir.join(CONFIG_FILE);
    if link.symlink_metadata().is_ok() {
        std::fs::remove_file(&link)?;
    }
    if let Some(given) = given {
        let given = std::fs::canonicalize(given)
            .with_context(|| format!("reading the cluster file {}", given.display()))?;
        ClusterConfig::load(&given)?;
        std::os::unix::fs::symlink(&given, &link)?;
        return Ok(given);
    }
    let cwd = std::env::current_dir()?;
    let mut doc: toml::Table = config::DEFAULT
        .parse()
        .context("the embedded default configuration")?;
    let absolute = |value: &mut toml::Value| {
        if let Some(path) = value.as_str().map(PathBuf::from)
            && path.is_relative()
        {
            *value = toml::Value::String(cwd.join(path).display().to_string());
        }
    };
    // Nothing secret is ever in the source: both keys are made here.
    let cluster = doc["cluster"]
        .as_table_mut()
        .expect("the default has a [cluster] table");
    cluster.insert("key".into(), ClusterKey::generate().to_hex().into());
    cluster.insert(
        "admin_key".into(),
        ClusterKey::generate().to_hex()[..32].to_string().into(),
    );
    cluster.insert("token_key".into(), ClusterKey::generate().to_hex().into());
    if let Some(components) = cluster.get_mut("components") {
        absolute(components);
    }
    if let Some(base) = port_base {
        doc.iter_mut().for_each(|(_, v)| move_ports(v, base));
    }
    if let Some(frontends) = doc.get_mut("frontend").and_then(|f| f.as_array_mut()) {
        for fe in frontends.iter_mut().filter_map(|f| f.as_table_mut()) {
            if let Some(audit) = fe.get_mut("audit_log") {
                absolute(audit);
            }
        }
    }
    let text = format!(
        "# Written by `dmtbs up` (pid {}): the embedded default with keys made for this run.\n\n{}",
        std::process::id(),
        toml::to_string(&doc)?
    );
    let mut options = std::fs::OpenOptions::new();
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .write(true)
        .create(true)
        .truncate(true)
        .open(&link)?;
    std::io::Write::write_all(&mut file, text.as_bytes())?;
    Ok(link)
}

/// Moves every `host:port` value of the embedded configuration into the block at `base`: a port
/// `DEFAULT_PORT_BASE + n` becomes `base + n`, and any other (the front end's HTTP 8080) becomes
/// `base + 80`.
fn move_ports(value: &mut toml::Value, base: u16) {
    match value {
        toml::Value::String(text) => {
            if let Ok(addr) = text.parse::<SocketAddr>() {
                let offset = match addr.port().checked_sub(DEFAULT_PORT_BASE) {
                    Some(n) if n < 100 => n,
                    _ => 80,
                };
                *text = SocketAddr::new(addr.ip(), base + offset).to_string();
            }
        }
        toml::Value::Array(items) => items.iter_mut().for_each(|v| move_ports(v, base)),
        toml::Value::Table(table) => table.iter_mut().for_each(|(_, v)| move_ports(v, base)),
        _ => {}
    }
}

/// One node process and what the supervisor knows about it.
struct Node {
    node: NodeId,
    /// Arguments after the binary: `rm --id 2 --config … --pid-file …`.
    args: Vec<String>,
    pid_file: PathBuf,
    /// The running process; `None` between a death and its restart.
    child: Option<Child>,
    started: Instant,
    /// Current restart delay (grows while the node keeps dying young).
    delay: Duration,
    /// When a dead node is due to be started again.
    restart_at: Option<Instant>,
    restarts: u32,
    /// The sequencer's stderr is relayed through `up` (see [`relay`]) by this thread, which
    /// keeps the last `error: …` line in `last_error`.
    relay: Option<std::thread::JoinHandle<()>>,
    last_error: Arc<Mutex<Option<String>>>,
}

impl Node {
    fn name(&self) -> String {
        rundir::node_name(self.node)
    }

    fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Ready: its process runs and has written its own pid into its pid file.
    fn ready(&self) -> bool {
        self.pid().is_some() && rundir::read_pid_file(&self.pid_file) == self.pid()
    }

    /// If the node exited because it refused to start (see [`refused_to_start`]), the error
    /// that stops the cluster, with the node's own message when it was caught.
    fn refusal(&mut self, status: ExitStatus) -> Option<anyhow::Error> {
        if !refused_to_start(self.node, status) {
            return None;
        }
        // The process is gone, so its stderr is at its end: the relay is finishing.
        if let Some(relay) = self.relay.take() {
            let _ = relay.join();
        }
        let message = self
            .last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        Some(match message {
            Some(message) => anyhow::anyhow!(
                "{message} [the {} exited with code {EXIT_START_REFUSED}; restarting it cannot \
                 help, so the cluster stops]",
                self.name()
            ),
            None => anyhow::anyhow!(
                "the {} refused to start (exit code {EXIT_START_REFUSED}): a majority of the \
                 replica managers lost their disks, and the cluster refuses to invent state (its \
                 message above says which RMs hold data through which seq). Restore their data \
                 folders, or start a fresh cluster with an empty data directory; the cluster stops",
                self.name()
            ),
        })
    }

    fn spawn(&mut self, exe: &Path) -> anyhow::Result<()> {
        let _ = std::fs::remove_file(&self.pid_file);
        let mut command = Command::new(exe);
        command.args(&self.args).stdin(Stdio::null());
        // Nodes log to stderr; anything a node printed to stdout would garble the banner, so
        // stdout goes to stderr too.
        command.stdout(std::io::stderr().as_fd().try_clone_to_owned()?);
        // The sequencer's stderr is relayed, so that the reason of a refusal to start can end
        // `up` too.
        let relayed = self.node.is_sequencer();
        if relayed {
            command.stderr(Stdio::piped());
        }
        // A group of its own, so a Ctrl-C at the terminal reaches only the supervisor, which
        // then stops the children in order (and does not mistake them for crashed).
        command.process_group(0);
        // SAFETY: prctl is async-signal-safe and touches no memory of the parent. The signal
        // fires when the thread that forked exits: children are spawned from the main thread
        // (the future `block_on` polls), which lives as long as the supervisor. Linux only;
        // elsewhere children of a killed supervisor must be stopped by hand.
        #[cfg(target_os = "linux")]
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = command
            .spawn()
            .with_context(|| format!("starting {} ({})", self.name(), exe.display()))?;
        tracing::info!(node = self.name(), pid = child.id(), "node process started");
        if let Some(stderr) = child.stderr.take() {
            let last_error = Arc::clone(&self.last_error);
            *last_error.lock().unwrap_or_else(|p| p.into_inner()) = None;
            self.relay = Some(
                std::thread::Builder::new()
                    .name(format!("{}-stderr", self.name()))
                    .spawn(move || {
                        relay(
                            std::io::BufReader::new(stderr),
                            std::io::stderr(),
                            &last_error,
                        )
                    })
                    .context("starting the thread relaying the sequencer's stderr")?,
            );
        }
        self.child = Some(child);
        self.started = Instant::now();
        self.restart_at = None;
        Ok(())
    }

    /// If the process has exited, reaps it and says how.
    fn exited(&mut self) -> Option<ExitStatus> {
        let child = self.child.as_mut()?;
        match child.try_wait() {
            Ok(Some(status)) => {
                let pid = child.id();
                self.child = None;
                rundir::remove_pid_file_of(&self.pid_file, pid);
                Some(status)
            }
            Ok(None) => None,
            Err(e) => {
                // Only a pid that is not our child gets here, which cannot happen for a Child.
                tracing::error!(node = self.name(), error = %e, "cannot check on the node process");
                None
            }
        }
    }

    /// Plans the restart of a node that just died: soon if it had been running for a while,
    /// later and later if it keeps dying young.
    fn schedule_restart(&mut self) -> Duration {
        self.delay = if self.started.elapsed() >= HEALTHY_AFTER {
            RESTART_DELAY_MIN
        } else {
            (self.delay * 2).clamp(RESTART_DELAY_MIN, RESTART_DELAY_MAX)
        };
        self.restart_at = Some(Instant::now() + self.delay);
        self.delay
    }
}

/// Every node of the cluster as a child process.
struct Supervised {
    exe: PathBuf,
    nodes: Vec<Node>,
}

impl Supervised {
    fn new(config: &ClusterConfig, config_path: &Path, run_dir: &Path) -> anyhow::Result<Self> {
        let exe = std::env::current_exe().context("finding this program to start the nodes")?;
        let config_arg = config_path.display().to_string();
        // RMs first, so they are listening when the first request is sequenced.
        let mut nodes: Vec<(NodeId, Vec<String>)> = config
            .rms
            .iter()
            .map(|r| {
                (
                    NodeId::Rm(r.id),
                    vec!["rm".into(), "--id".into(), r.id.to_string()],
                )
            })
            .collect();
        nodes.push((NodeId::Sequencer, vec!["sequencer".into()]));
        if config.standby.is_some() {
            nodes.push((
                NodeId::Standby,
                vec!["sequencer".into(), "--standby".into()],
            ));
        }
        nodes.extend(config.frontends.iter().map(|f| {
            (
                NodeId::FrontEnd(f.id),
                vec!["fe".into(), "--id".into(), f.id.to_string()],
            )
        }));
        let nodes = nodes
            .into_iter()
            .map(|(node, mut args)| {
                let pid_file = rundir::pid_file(run_dir, node);
                args.extend([
                    "--config".into(),
                    config_arg.clone(),
                    "--pid-file".into(),
                    pid_file.display().to_string(),
                ]);
                Node {
                    node,
                    args,
                    pid_file,
                    child: None,
                    started: Instant::now(),
                    delay: Duration::ZERO,
                    restart_at: None,
                    restarts: 0,
                    relay: None,
                    last_error: Arc::default(),
                }
            })
            .collect();
        Ok(Supervised { exe, nodes })
    }

    /// Starts every node, waits until all are ready, prints the banner, then keeps them running
    /// until `shutdown` (Ok) or the sequencer refuses to start (an error).
    async fn supervise(
        &mut self,
        config: &ClusterConfig,
        start_timeout: Duration,
        sample_shows: bool,
        shutdown: &CancellationToken,
    ) -> anyhow::Result<()> {
        for node in &mut self.nodes {
            node.spawn(&self.exe)?;
        }
        if !self.wait_ready(config, start_timeout, shutdown).await? {
            return Ok(());
        }
        let run_dir = self
            .nodes
            .first()
            .and_then(|n| n.pid_file.parent())
            .map(Path::to_path_buf);
        let tokens = match &run_dir {
            Some(dir) => Some(crate::token::issue_demo_tokens(config, dir)?),
            None => None,
        };
        let samples = if sample_shows {
            Some(add_sample_shows(config).await?)
        } else {
            None
        };
        print_banner(config, &self.nodes, tokens.as_deref());
        if let Some(n) = samples {
            println!(
                "  {n} sample shows added: every area, movie (Avatar, Avengers, Titanic) and slot \
                 (M, A, E), today and the next 7 days, {SAMPLE_CAPACITY} seats each."
            );
        }
        let mut poll = tokio::time::interval(POLL);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return Ok(()),
                _ = poll.tick() => self.check_on_children()?,
            }
        }
    }

    /// Waits until every node wrote its pid file and every front end answers HTTP. False when
    /// `shutdown` came first; an error naming the node when one exits or the time runs out.
    async fn wait_ready(
        &mut self,
        config: &ClusterConfig,
        timeout: Duration,
        shutdown: &CancellationToken,
    ) -> anyhow::Result<bool> {
        let deadline = Instant::now() + timeout;
        loop {
            for node in &mut self.nodes {
                if let Some(status) = node.exited() {
                    if let Some(refusal) = node.refusal(status) {
                        return Err(refusal);
                    }
                    anyhow::bail!(
                        "{} exited during start-up ({status}); its log is above. Command: {} {}",
                        node.name(),
                        self.exe.display(),
                        node.args.join(" ")
                    );
                }
            }
            if self.nodes.iter().all(Node::ready) && frontends_answer(config).await {
                return Ok(true);
            }
            if Instant::now() > deadline {
                let waiting: Vec<String> = self
                    .nodes
                    .iter()
                    .filter(|n| !n.ready())
                    .map(Node::name)
                    .collect();
                anyhow::bail!(
                    "the cluster did not become ready within {timeout:?} (not ready: {}; front ends answering HTTP: {})",
                    if waiting.is_empty() {
                        "none".into()
                    } else {
                        waiting.join(", ")
                    },
                    frontends_answer(config).await
                );
            }
            tokio::select! {
                _ = shutdown.cancelled() => return Ok(false),
                _ = tokio::time::sleep(POLL) => {}
            }
        }
    }

    /// Reaps children that died and restarts those that are due; an error when the sequencer
    /// refused to start.
    fn check_on_children(&mut self) -> anyhow::Result<()> {
        for node in &mut self.nodes {
            if let Some(status) = node.exited() {
                if let Some(refusal) = node.refusal(status) {
                    return Err(refusal);
                }
                let delay = node.schedule_restart();
                tracing::warn!(
                    node = node.name(),
                    %status,
                    ran_for = ?node.started.elapsed(),
                    restart_in = ?delay,
                    "node process exited; restarting it"
                );
            }
            if node.restart_at.is_some_and(|at| Instant::now() >= at) {
                node.restarts += 1;
                if let Err(e) = node.spawn(&self.exe) {
                    let delay = node.schedule_restart();
                    tracing::error!(node = node.name(), error = %e, retry_in = ?delay, "restart failed");
                } else {
                    tracing::warn!(
                        node = node.name(),
                        pid = node.pid(),
                        restarts = node.restarts,
                        "node process restarted"
                    );
                }
            }
        }
        Ok(())
    }

    /// Stops every child: front ends first (no new requests), then the rest; SIGTERM, then
    /// SIGKILL for those still running after [`STOP_GRACE`]. Every child is reaped.
    async fn stop_all(&mut self) {
        let order = |n: &Node| match n.node {
            NodeId::FrontEnd(_) => 0,
            NodeId::Sequencer | NodeId::Standby => 1,
            NodeId::Rm(_) => 2,
        };
        self.nodes.sort_by_key(order);
        for node in &mut self.nodes {
            node.restart_at = None;
            if let Some(pid) = node.pid() {
                signal(pid, libc::SIGTERM);
            }
        }
        let deadline = Instant::now() + STOP_GRACE;
        loop {
            for node in &mut self.nodes {
                if let Some(status) = node.exited() {
                    tracing::info!(node = node.name(), %status, "node process stopped");
                }
            }
            if self.nodes.iter().all(|n| n.child.is_none()) {
                return;
            }
            if Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for node in &mut self.nodes {
            if let Some(mut child) = node.child.take() {
                tracing::warn!(
                    node = node.name(),
                    pid = child.id(),
                    "node did not stop within {STOP_GRACE:?}; killing it"
                );
                let _ = child.kill();
                let _ = child.wait();
                let _ = std::fs::remove_file(&node.pid_file);
            }
        }
    }
}

/// Whether `node` exited because it refused to start: a sequencer that found a majority of the
/// replica managers without their data exits with [`EXIT_START_REFUSED`], and starting it again
/// would only refuse again. Any other exit, of any node, is a crash to restart.
fn refused_to_start(node: NodeId, status: ExitStatus) -> bool {
    node.is_sequencer() && status.code() == Some(i32::from(EXIT_START_REFUSED))
}

/// Copies a child's stderr to `to` line by line as it comes, keeping in `last_error` the last
/// line `dmtbs` printed for a fatal error (`error: …`, without the prefix). Returns at the end
/// of the stream (the child exited); a failed write to `to` drops the line, never the relay.
fn relay(
    mut from: impl std::io::BufRead,
    mut to: impl std::io::Write,
    last_error: &Mutex<Option<String>>,
) {
    let mut line = Vec::new();
    loop {
        line.clear();
        match from.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let _ = to.write_all(&line).and_then(|()| to.flush());
        let text = String::from_utf8_lossy(&line);
        if let Some(message) = text.trim_end().strip_prefix("error: ") {
            *last_error.lock().unwrap_or_else(|p| p.into_inner()) = Some(message.to_owned());
        }
    }
}

/// Sends `sig` to process `pid` (one of our children, or a pid read from our own pid file).
fn signal(pid: u32, sig: libc::c_int) {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return;
    };
    // SAFETY: kill(2) has no memory-safety preconditions.
    unsafe {
        libc::kill(pid, sig);
    }
}

/// Is there a process `pid`?
fn alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: kill(2) with signal 0 only checks that the process exists.
    let exists = unsafe { libc::kill(pid, 0) == 0 };
    // A killed process not reaped yet (a zombie: state `Z` in /proc/<pid>/stat) is gone too,
    // e.g. an `up` killed with SIGKILL a moment ago whose parent has not waited for it.
    exists
        && std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |stat| {
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next())
                != Some("Z")
        })
}

/// Does every front end answer `GET /healthz` with 200?
async fn frontends_answer(config: &ClusterConfig) -> bool {
    let addrs: Vec<SocketAddr> = config
        .frontends
        .iter()
        .map(|fe| {
            let mut addr = fe.http;
            if addr.ip().is_unspecified() {
                addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
            }
            addr
        })
        .collect();
    tokio::task::spawn_blocking(move || addrs.iter().all(|a| healthz(*a).unwrap_or(false)))
        .await
        .unwrap_or(false)
}

/// One `GET /healthz`, bounded by a short timeout; true on a 200.
fn healthz(addr: SocketAddr) -> std::io::Result<bool> {
    use std::io::{Read as _, Write as _};
    let timeout = Duration::from_secs(1);
    let mut stream = std::net::TcpStream::connect_timeout(&addr, timeout)?;
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: dmtbs\r\nConnection: close\r\n\r\n")?;
    let mut head = [0u8; 12];
    stream.read_exact(&mut head)?;
    Ok(&head == b"HTTP/1.1 200")
}

/// `--sample-shows`: the shows `dmtbs bench` sets up, through the first front end, as each
/// area's admin (tokens made with the cluster's token key).
async fn add_sample_shows(c: &ClusterConfig) -> anyhow::Result<u64> {
    let client = dmtbs_client::Client::builder(format!("http://{}", c.frontends[0].http))
        .tokens(c.mint_tokens())
        .build()?;
    let today = dmtbs_cluster::wire::today(c);
    let (added, _) = crate::bench::add_every_show(&client, today, SAMPLE_CAPACITY)
        .await
        .context("adding the sample shows")?;
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(ran_for: Duration) -> Node {
        Node {
            node: NodeId::Rm(1),
            args: Vec::new(),
            pid_file: PathBuf::from("rm-1.pid"),
            child: None,
            started: Instant::now() - ran_for,
            delay: Duration::ZERO,
            restart_at: None,
            restarts: 0,
            relay: None,
            last_error: Arc::default(),
        }
    }

    fn node_of(id: NodeId) -> Node {
        Node {
            node: id,
            ..node(Duration::ZERO)
        }
    }

    #[test]
    fn a_port_base_moves_every_port_of_the_default_into_its_block() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_config(dir.path(), None, Some(19_700)).unwrap();
        let c = ClusterConfig::load(&path).unwrap();
        assert_eq!(c.sequencer.addr.port(), 19_701);
        assert_eq!(c.frontends[0].http.port(), 19_780);
        assert_eq!(c.frontends[0].addr.port(), 19_711);
        let rms: Vec<u16> = c.rms.iter().map(|rm| rm.addr.port()).collect();
        assert_eq!(rms, [19_721, 19_722, 19_723, 19_724]);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("239.255.77.1:19700"), "{text}");
        assert!(!text.contains(":97") && !text.contains(":8080"), "{text}");
        // Without a base the ports stay as shipped.
        let path = write_config(dir.path(), None, None).unwrap();
        let c = ClusterConfig::load(&path).unwrap();
        assert_eq!(c.frontends[0].http.port(), 8080);
        assert_eq!(c.sequencer.addr.port(), 9701);
    }

    #[test]
    fn a_node_that_keeps_dying_young_waits_longer_each_time_up_to_the_cap() {
        let mut n = node(Duration::from_secs(1));
        let delays: Vec<Duration> = (0..10).map(|_| n.schedule_restart()).collect();
        assert_eq!(delays[0], RESTART_DELAY_MIN);
        assert_eq!(delays[1], RESTART_DELAY_MIN * 2);
        assert_eq!(delays[2], RESTART_DELAY_MIN * 4);
        assert_eq!(delays[9], RESTART_DELAY_MAX);
        assert!(n.restart_at.is_some());
        // After a healthy run, the next death is restarted promptly again.
        n.started = Instant::now() - HEALTHY_AFTER;
        assert_eq!(n.schedule_restart(), RESTART_DELAY_MIN);
    }

    #[test]
    fn the_sequencer_is_restarted_like_every_node_unless_it_refused_to_start() {
        use std::os::unix::process::ExitStatusExt as _;
        let killed = ExitStatus::from_raw(libc::SIGKILL);
        let exited = |code: i32| ExitStatus::from_raw(code << 8);
        for node in [NodeId::Rm(1), NodeId::FrontEnd(1), NodeId::Sequencer] {
            for status in [killed, exited(0), exited(1), exited(2)] {
                assert!(!refused_to_start(node, status), "{node} {status}");
                let mut n = node_of(node);
                assert!(n.refusal(status).is_none(), "{node} {status}");
                assert_eq!(n.schedule_restart(), RESTART_DELAY_MIN);
                assert!(n.restart_at.is_some());
            }
        }
        let refused = exited(i32::from(EXIT_START_REFUSED));
        assert!(refused_to_start(NodeId::Sequencer, refused));
        // Only the sequencer means it so; another node exiting with that code is restarted.
        assert!(!refused_to_start(NodeId::Rm(2), refused));
        assert!(!refused_to_start(NodeId::FrontEnd(1), refused));

        // The sequencer's own message, as its relayed stderr caught it, ends `up`.
        let mut n = node_of(NodeId::Sequencer);
        *n.last_error.lock().unwrap() = Some("the sequencer refuses to start: RM 1 …".into());
        let error = n
            .refusal(refused)
            .expect("a refusal stops the cluster")
            .to_string();
        assert!(
            error.starts_with("the sequencer refuses to start: RM 1 …"),
            "{error}"
        );
        assert!(error.contains("code 3"), "{error}");
        // Without it, a message that still says what happened.
        let error = node_of(NodeId::Sequencer)
            .refusal(refused)
            .expect("a refusal stops the cluster")
            .to_string();
        assert!(error.contains("refused to start (exit code 3)"), "{error}");
        assert!(error.contains("lost their disks"), "{error}");
    }

    #[test]
    fn the_relay_copies_every_line_and_keeps_the_last_error() {
        let stderr = b"2026-12-07T10:00:00Z  INFO sequencer up\nerror: first\n\
                       error: the sequencer refuses to start: RM 1 holds ...\npartial";
        let mut copy = Vec::new();
        let last = Mutex::new(None);
        relay(&stderr[..], &mut copy, &last);
        assert_eq!(copy, stderr);
        assert_eq!(
            last.into_inner().unwrap().as_deref(),
            Some("the sequencer refuses to start: RM 1 holds ...")
        );
    }

    #[test]
    fn a_killed_process_not_reaped_yet_is_not_alive() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .expect("sleep");
        let pid = child.id();
        assert!(alive(pid));
        child.kill().expect("kill");
        // Not waited for yet: a zombie, which kill(pid, 0) still finds.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while alive(pid) {
            assert!(
                std::time::Instant::now() < deadline,
                "a killed, unreaped process still counts as alive"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        child.wait().expect("reap");
    }
}
