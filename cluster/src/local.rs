//! A whole cluster in one process — sequencer, replica managers, front ends — on real UDP over
//! loopback. Used by the cluster tests, which read replica states and wire counters directly.
//! (`dmtbs up` runs each node as its own process instead.)

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::path::Path;
use std::sync::Arc;

use dmtbs_host::ReplicaHandle;
use dmtbs_net::{Transport, UdpTransport};
use dmtbs_proto::{ClusterKey, NodeId, RejectCounts, RmId};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::config::{ClusterConfig, TransportMode};
use crate::wire::Wire;
use crate::{frontend, rm, sequencer};

/// A running local cluster. Dropping it without [`LocalCluster::stop`] cancels the nodes.
pub struct LocalCluster {
    pub config: Arc<ClusterConfig>,
    /// Each RM's replica, in configuration order: tests read their states.
    pub replicas: Vec<(RmId, Arc<ReplicaHandle>)>,
    /// Every node's wire (RMs, the sequencer, then front ends): its reject counters.
    pub wires: Vec<Arc<Wire>>,
    shutdown: CancellationToken,
    tasks: JoinSet<(NodeId, anyhow::Result<()>)>,
}

impl Drop for LocalCluster {
    fn drop(&mut self) {
        self.shutdown.cancel();
        remove_test_data(&self.config);
    }
}

/// Removes the data folder a test configuration made for itself (`<temp>/dmtbs-test-…`, see
/// [`test_config_text`]); any other folder is left alone. The RMs' open files stay readable to
/// them until they close them.
pub fn remove_test_data(config: &ClusterConfig) {
    let dir = &config.recovery.data_dir;
    let made_for_a_test = dir.parent() == Some(std::env::temp_dir().as_path())
        && dir
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("dmtbs-test-"));
    if made_for_a_test {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// Wraps each node's UDP endpoint before use (tests put a fault layer here).
pub type Wrap = dyn Fn(NodeId, UdpTransport) -> Arc<dyn Transport> + Send + Sync;

impl LocalCluster {
    /// Start every node of `config`.
    pub async fn start(config: ClusterConfig) -> anyhow::Result<Self> {
        Self::start_wrapped(config, &|_, udp| Arc::new(udp)).await
    }

    /// Start every node, passing each endpoint through `wrap`.
    pub async fn start_wrapped(config: ClusterConfig, wrap: &Wrap) -> anyhow::Result<Self> {
        let config = Arc::new(config);
        let shutdown = CancellationToken::new();
        let mut tasks = JoinSet::new();
        let mut replicas = Vec::new();
        let mut joined = Vec::new();
        let mut wires = Vec::new();
        // Every metrics address is tried first: a node that cannot bind its own fails inside its
        // task, perhaps only after the RMs have joined (which is what starting waits for), and
        // the cluster would seem to start without it.
        for node in config
            .sequencers()
            .into_iter()
            .chain(config.rm_ids().into_iter().map(NodeId::Rm))
        {
            let addr = match node {
                NodeId::Rm(id) => config.rm(id).and_then(|r| r.metrics),
                other => config.sequencer_section(other).and_then(|s| s.metrics),
            };
            if let Some(addr) = addr {
                std::net::TcpListener::bind(addr).map_err(|e| {
                    anyhow::anyhow!(crate::holder::bind_error(
                        &format!("{node}: metrics address"),
                        crate::holder::Proto::Tcp,
                        addr,
                        &e
                    ))
                })?;
            }
        }
        let mut connect = async |node| -> anyhow::Result<Arc<Wire>> {
            let transport = wrap(node, Wire::udp(&config, node).await?);
            let wire = Arc::new(Wire::new(config.clone(), node, transport));
            wires.push(wire.clone());
            Ok(wire)
        };
        // RMs first, so they are listening when the first request is sequenced.
        for section in &config.rms {
            let node = NodeId::Rm(section.id);
            let wire = connect(node).await?;
            let replica = rm::start_replica(&config, section.id)?;
            replicas.push((section.id, replica.clone()));
            let (config, shutdown) = (config.clone(), shutdown.clone());
            let id = section.id;
            let (ready, watch) = tokio::sync::watch::channel(false);
            joined.push(watch);
            tasks.spawn(async move {
                (
                    node,
                    rm::run_reporting(config, id, replica, wire, shutdown, ready).await,
                )
            });
        }
        for node in config.sequencers() {
            let wire = connect(node).await?;
            let (c, s) = (config.clone(), shutdown.clone());
            tasks.spawn(async move { (node, sequencer::run(c, wire, s).await) });
        }
        for section in &config.frontends {
            let node = NodeId::FrontEnd(section.id);
            let wire = connect(node).await?;
            let listener = tokio::net::TcpListener::bind(section.http).await?;
            let (c, s, id) = (config.clone(), shutdown.clone(), section.id);
            tasks.spawn(async move { (node, frontend::run(c, id, wire, listener, s).await) });
        }
        // Ready when every RM has joined (a new cluster: within a few hundred milliseconds). A
        // node that stops meanwhile failed to start (a port taken, say): its error is the answer.
        for mut watch in joined {
            let wait = watch.wait_for(|ready| *ready);
            let joined = tokio::time::timeout(std::time::Duration::from_secs(10), wait);
            tokio::select! {
                joined = joined => if joined.is_err() {
                    anyhow::bail!("a replica manager did not join the cluster within 10 s");
                },
                Some(stopped) = tasks.join_next() => {
                    shutdown.cancel();
                    return Err(match stopped {
                        Ok((node, Err(e))) => e.context(format!("{node:?} failed to start")),
                        Ok((node, Ok(()))) => anyhow::anyhow!("{node:?} stopped while starting"),
                        Err(e) => anyhow::anyhow!("node task panicked while starting: {e}"),
                    });
                }
            }
        }
        Ok(LocalCluster {
            config,
            replicas,
            wires,
            shutdown,
            tasks,
        })
    }

    /// A node's wire: its transport (tests inject through it) and its counters.
    pub fn wire(&self, node: NodeId) -> Option<&Arc<Wire>> {
        self.wires.iter().find(|w| w.node() == node)
    }

    /// Datagrams `node` refused so far, per reason (`None`: no such node).
    pub fn rejects(&self, node: NodeId) -> Option<RejectCounts> {
        self.wire(node).map(|w| w.rejects())
    }

    /// Where `node` serves `GET /metrics` (`None`: no such node, or none configured; a front
    /// end serves them on its HTTP port, [`LocalCluster::url`]).
    pub fn metrics_url(&self, node: NodeId) -> Option<String> {
        let addr = match node {
            NodeId::Sequencer | NodeId::Standby => self.config.sequencer_section(node)?.metrics,
            NodeId::Rm(id) => self.config.rm(id)?.metrics,
            NodeId::FrontEnd(id) => Some(self.config.frontend(id)?.http),
        }?;
        Some(format!("http://{addr}/metrics"))
    }

    /// The base URL of front end `i` (in configuration order).
    pub fn url(&self, i: usize) -> String {
        format!("http://{}", self.config.frontends[i].http)
    }

    /// A future that completes when any node stops on its own (an error), naming it.
    pub async fn failed(&mut self) -> Option<(NodeId, anyhow::Result<()>)> {
        match self.tasks.join_next().await? {
            Ok(done) => Some(done),
            Err(e) => Some((
                NodeId::Sequencer,
                Err(anyhow::anyhow!("node task panicked: {e}")),
            )),
        }
    }

    /// Stop every node gracefully and report the first error.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        let mut first = Ok(());
        while let Some(done) = self.tasks.join_next().await {
            let result = match done {
                Ok((node, Err(e))) => Err(e.context(format!("{node:?}"))),
                Ok(_) => Ok(()),
                Err(e) => Err(anyhow::anyhow!("node task panicked: {e}")),
            };
            if first.is_ok() {
                first = result;
            }
        }
        first
    }
}

/// A free loopback port for a test cluster (or anything a test starts beside one), free for UDP
/// *and* TCP (an RM serves state transfers on TCP with its UDP port number; a front end's HTTP
/// port and the metrics ports are TCP).
///
/// Ports come from below the kernel's ephemeral range (`ip_local_port_range`), probed free then
/// released: a port handed out here is bound by its user a moment later, and in between the
/// kernel must not give it to a socket bound to port 0 (a cluster started by a parallel test, a
/// browser's connections). Taking ports from the ephemeral range let exactly that happen (CI saw
/// `bind unicast socket: Address already in use`). Every port is handed out at most once per
/// process, scanning from a random point, so that processes picking ports at the same time (a
/// test and the `dmtbs bench --local` it runs) scan far apart: a process-id-based start put a
/// parent and its child a few ports apart, and they collided. Only a process binding a fixed port
/// in that range, or two scans meeting by chance in the moment between probe and bind, could
/// still collide.
pub fn free_port() -> std::io::Result<u16> {
    static NEXT: std::sync::Mutex<Option<u16>> = std::sync::Mutex::new(None);
    const LOWEST: u16 = 10_000;
    let ephemeral_low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|t| t.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32_768);
    if ephemeral_low <= LOWEST + 1_000 {
        return Err(std::io::Error::other(format!(
            "the ephemeral port range starts at {ephemeral_low}, leaving no room below it for \
             test ports (want it above {})",
            LOWEST + 1_000
        )));
    }
    let span = ephemeral_low - LOWEST;
    let mut next = NEXT.lock().unwrap_or_else(|p| p.into_inner());
    let cursor = next.get_or_insert_with(|| {
        use std::hash::{BuildHasher as _, Hasher as _};
        // std's randomly keyed hasher: a random start without a dependency for it.
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        (h.finish() % u64::from(span)) as u16
    });
    for _ in 0..span {
        let port = LOWEST + *cursor;
        *cursor = (*cursor + 1) % span;
        let udp_free = UdpSocket::bind((Ipv4Addr::LOCALHOST, port)).is_ok();
        if udp_free && std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port)).is_ok() {
            return Ok(port);
        }
    }
    Err(std::io::Error::other(format!(
        "no loopback port between {LOWEST} and {ephemeral_low} is free for both UDP and TCP"
    )))
}

/// A configuration for a local cluster of four RMs running `modules[i]`, one front end, on fresh
/// loopback ports, with a fixed `today` and fresh random keys; the default quorum (2).
pub fn test_config(
    components: &Path,
    modules: [&str; 4],
    transport: TransportMode,
    today: &str,
) -> anyhow::Result<ClusterConfig> {
    local_config(
        components,
        &modules,
        dmtbs_frontend::VoterConfig::DEFAULT_QUORUM,
        transport,
        today,
    )
}

/// [`test_config`] as the text of a cluster file (checked), for tests that start node
/// processes: `components` should be absolute, since relative paths are read from the file's
/// folder.
pub fn test_config_text(
    components: &Path,
    modules: [&str; 4],
    transport: TransportMode,
    today: &str,
) -> anyhow::Result<String> {
    local_config_text(
        components,
        &modules,
        dmtbs_frontend::VoterConfig::DEFAULT_QUORUM,
        transport,
        today,
    )
}

/// A configuration for a local cluster of `modules.len()` RMs (RM `i + 1` runs `modules[i]`)
/// answering at `quorum` identical results, one front end, on fresh loopback ports, with a fixed
/// `today` and fresh random keys. One RM with quorum 1 is the baseline benchmarks compare with.
pub fn local_config(
    components: &Path,
    modules: &[&str],
    quorum: usize,
    transport: TransportMode,
    today: &str,
) -> anyhow::Result<ClusterConfig> {
    let text = local_config_text(components, modules, quorum, transport, today)?;
    Ok(ClusterConfig::parse(&text, Path::new("/"))?)
}

/// [`local_config`] as the text of a cluster file (checked).
pub fn local_config_text(
    components: &Path,
    modules: &[&str],
    quorum: usize,
    transport: TransportMode,
    today: &str,
) -> anyhow::Result<String> {
    let addr = |p: u16| SocketAddr::from((Ipv4Addr::LOCALHOST, p));
    let mut text = format!(
        "[cluster]\nkey = \"{}\"\nadmin_key = \"{}\"\ntoday = \"{today}\"\ntransport = \"{}\"\n\
         quorum = {quorum}\n",
        ClusterKey::generate().to_hex(),
        ClusterKey::generate().to_hex(),
        match transport {
            TransportMode::Multicast => "multicast",
            TransportMode::Unicast => "unicast",
        }
    );
    // A distinct group per test cluster, so parallel tests never hear each other.
    let group = SocketAddrV4::new(
        Ipv4Addr::new(239, 255, 77, (free_port()? % 250) as u8 + 1),
        free_port()?,
    );
    text += &format!(
        "multicast_group = \"{group}\"\ncomponents = \"{}\"\n",
        components.display()
    );
    // Each test cluster keeps its quarantine lists apart from every other's.
    let data = std::env::temp_dir().join(format!(
        "dmtbs-test-{}-{}",
        std::process::id(),
        free_port()?
    ));
    text += &format!("[recovery]\ndata_dir = \"{}\"\n", data.display());
    text += &format!(
        "[sequencer]\naddr = \"{}\"\nmetrics = \"{}\"\n",
        addr(free_port()?),
        addr(free_port()?)
    );
    text += &format!(
        "[[frontend]]\nid = 1\naddr = \"{}\"\nhttp = \"{}\"\n",
        addr(free_port()?),
        addr(free_port()?)
    );
    for (i, module) in modules.iter().enumerate() {
        text += &format!(
            "[[rm]]\nid = {}\naddr = \"{}\"\nmetrics = \"{}\"\nmodules = [\"{module}\"]\n",
            i + 1,
            addr(free_port()?),
            addr(free_port()?)
        );
    }
    ClusterConfig::parse(&text, Path::new("/"))?;
    Ok(text)
}
