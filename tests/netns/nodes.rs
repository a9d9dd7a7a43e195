//! The cluster's node processes, each in its host's namespace: `ip netns exec <ns> dmtbs rm
//! --id N --config F --pid-file P` and so on, with no supervisor — this test starts, kills
//! (`kill -9` by pid) and restarts them itself. Each node's log goes to `<name>.log` in the
//! test's folder, printed when something goes wrong. Dropping [`Nodes`] kills every process it
//! started.

use std::fs::OpenOptions;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use dmtbs_cluster::config::TransportMode;
use dmtbs_cluster::{ClusterConfig, rundir};
use dmtbs_proto::ClusterKey;
use dmtbs_testkit::components::{self, IMPLEMENTATIONS};

use crate::topology::Topology;

/// The day the test cluster lives on (the shows are in its week).
pub const TODAY: &str = "2026-11-24";
/// Every node's UDP port (and an RM's state-transfer TCP port); each host has its own address.
const UDP_PORT: u16 = 7000;
/// A front end's HTTP port.
pub const HTTP_PORT: u16 = 8080;
/// An RM's metrics port (HTTP, Prometheus text).
const METRICS_PORT: u16 = 9100;
/// Requests between checkpoints: small, so checkpoints, snapshots and log truncation all happen
/// during the load.
const CHECKPOINT_EVERY: u64 = 40;
/// How long a node may take to be ready (bound; for an RM: its replica loaded).
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// The `dmtbs` binary: `DMTBS_BIN`, or the one cargo built next to this test executable.
fn dmtbs_bin() -> PathBuf {
    let bin = match std::env::var_os("DMTBS_BIN") {
        Some(path) => PathBuf::from(path),
        None => std::env::current_exe()
            .expect("test executable path")
            // target/<profile>/deps/netns-<hash> → target/<profile>/dmtbs
            .parent()
            .and_then(Path::parent)
            .expect("test executable lives in target/<profile>/deps")
            .join("dmtbs"),
    };
    assert!(
        bin.exists(),
        "the dmtbs binary is missing at {}: run `cargo build -p dmtbs-cli` first (or set DMTBS_BIN)",
        bin.display()
    );
    bin
}

/// One node: which host it runs on and how it is started.
struct Node {
    /// The host's name, which is also the node's (`seq`, `standby`, `rm1`…, `fe1`…).
    name: &'static str,
    /// Its host's namespace.
    ns: String,
    /// `dmtbs` arguments before `--config` and `--pid-file`.
    args: Vec<String>,
    /// The running process, if started and not killed.
    child: Option<Child>,
}

/// The cluster file and every node process of one test cluster.
pub struct Nodes {
    /// The cluster file, the RMs' data, pid files and logs; removed at the end.
    dir: tempfile::TempDir,
    bin: PathBuf,
    nodes: Vec<Node>,
    /// The cluster file as the nodes read it.
    pub config: ClusterConfig,
}

impl Nodes {
    /// Writes the cluster file for the hosts of `net` — `seq`, `standby`, `rm1`…`rm4`, and the
    /// `fe<N>` hosts — with `transport`. Starts nothing.
    pub fn configure(net: &Topology, transport: TransportMode) -> Nodes {
        let dir = tempfile::tempdir().expect("temporary folder");
        let addr = |host: &str| format!("{}:{UDP_PORT}", net.host(host).ip);
        let mut text = format!(
            "[cluster]\nkey = \"{}\"\nadmin_key = \"{}\"\ntoday = \"{TODAY}\"\n\
             transport = \"{}\"\nmulticast_group = \"239.255.77.1:7100\"\ncomponents = \"{}\"\n\n\
             [recovery]\ncheckpoint_every = {CHECKPOINT_EVERY}\ndata_dir = \"{}\"\n\n\
             [sequencer]\naddr = \"{}\"\n\n[standby]\naddr = \"{}\"\n\n",
            ClusterKey::generate().to_hex(),
            ClusterKey::generate().to_hex(),
            match transport {
                TransportMode::Multicast => "multicast",
                TransportMode::Unicast => "unicast",
            },
            components::dir().display(),
            dir.path().join("data").display(),
            addr("seq"),
            addr("standby"),
        );
        let mut nodes = vec![
            Node::new(net, "seq", &["sequencer"]),
            Node::new(net, "standby", &["sequencer", "--standby"]),
        ];
        for (i, module) in IMPLEMENTATIONS.iter().enumerate() {
            let name = ["rm1", "rm2", "rm3", "rm4"][i];
            text += &format!(
                "[[rm]]\nid = {}\naddr = \"{}\"\nmetrics = \"{}:{METRICS_PORT}\"\n\
                 modules = [\"{module}\"]\n\n",
                i + 1,
                addr(name),
                net.host(name).ip,
            );
            nodes.push(Node::new(net, name, &["rm", "--id", &(i + 1).to_string()]));
        }
        for host in net.hosts.iter().filter(|h| h.name.starts_with("fe")) {
            let id = &host.name[2..];
            text += &format!(
                "[[frontend]]\nid = {id}\naddr = \"{}\"\nhttp = \"{}:{HTTP_PORT}\"\n\n",
                addr(host.name),
                host.ip
            );
            nodes.push(Node::new(net, host.name, &["fe", "--id", id]));
        }
        let path = dir.path().join("cluster.toml");
        std::fs::write(&path, &text).expect("write the cluster file");
        let config = ClusterConfig::load(&path).expect("the test cluster file is valid");
        Nodes {
            dir,
            bin: dmtbs_bin(),
            nodes,
            config,
        }
    }

    fn node(&mut self, name: &str) -> &mut Node {
        self.nodes
            .iter_mut()
            .find(|n| n.name == name)
            .unwrap_or_else(|| panic!("no node {name}"))
    }

    fn pid_file(&self, name: &str) -> PathBuf {
        self.dir.path().join(format!("{name}.pid"))
    }

    /// Starts `names`, in order, each in its namespace, and waits (bounded) until each has
    /// written its pid file — bound, and for an RM its replica loaded.
    pub fn start(&mut self, names: &[&str]) {
        for name in names {
            let pid_file = self.pid_file(name);
            // A node killed with SIGKILL left its pid file behind.
            let _ = std::fs::remove_file(&pid_file);
            let log = OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.dir.path().join(format!("{name}.log")))
                .expect("node log");
            let (bin, config) = (self.bin.clone(), self.dir.path().join("cluster.toml"));
            let node = self.node(name);
            assert!(node.child.is_none(), "{name} is running already");
            let mut command = Command::new(crate::topology::tool("ip"));
            command
                .args(["netns", "exec", &node.ns])
                .arg(&bin)
                .args(&node.args)
                .arg("--config")
                .arg(&config)
                .arg("--pid-file")
                .arg(&pid_file)
                .env("NO_COLOR", "1")
                .stdin(Stdio::null())
                .stdout(log.try_clone().expect("node log"))
                .stderr(log);
            // SAFETY: prctl(2) only, between fork and exec. A node outlives nothing of the test:
            // if the thread that started it dies (the test killed), the kernel kills the node.
            // `ip netns exec` execs the node in place, which keeps this setting.
            unsafe {
                command.pre_exec(|| {
                    if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
            node.child = Some(command.spawn().expect("start a node"));
        }
        let deadline = Instant::now() + READY_TIMEOUT;
        for name in names {
            loop {
                if rundir::read_pid_file(&self.pid_file(name)).is_some() {
                    break;
                }
                let exited = self
                    .node(name)
                    .child
                    .as_mut()
                    .and_then(|c| c.try_wait().expect("poll a node"));
                if let Some(status) = exited {
                    panic!(
                        "{name} exited with {status} while starting\n{}",
                        self.logs()
                    );
                }
                assert!(
                    Instant::now() < deadline,
                    "{name} was not ready within {READY_TIMEOUT:?}\n{}",
                    self.logs()
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// `kill -9` of `name`'s process, by the pid it wrote, and waits for it.
    pub fn kill(&mut self, name: &str) {
        let pid = rundir::read_pid_file(&self.pid_file(name))
            .unwrap_or_else(|| panic!("{name} has no pid file"));
        let mut child = self
            .node(name)
            .child
            .take()
            .unwrap_or_else(|| panic!("{name} is not running"));
        // `ip netns exec` execs the node in place: the pid it wrote is the child's.
        assert_eq!(pid, child.id(), "{name}'s pid file names its process");
        let pid = libc::pid_t::try_from(pid).expect("pid fits");
        // SAFETY: kill(2) has no memory-safety preconditions.
        assert_eq!(
            unsafe { libc::kill(pid, libc::SIGKILL) },
            0,
            "kill -9 {name}"
        );
        let status = child.wait().expect("reap a killed node");
        assert!(!status.success(), "{name} died of SIGKILL: {status}");
    }

    /// RM `name`'s (`rm1`…) metrics address.
    pub fn rm_metrics(&self, name: &str) -> std::net::SocketAddr {
        let id: u8 = name[2..].parse().expect("rm<N>");
        self.config
            .rm(id)
            .and_then(|r| r.metrics)
            .expect("every test RM serves metrics")
    }

    /// The last lines of every node's log.
    pub fn logs(&self) -> String {
        let mut all = String::new();
        for node in &self.nodes {
            let text = std::fs::read_to_string(self.dir.path().join(format!("{}.log", node.name)))
                .unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            all += &format!("---- {} (last 25 lines) ----\n", node.name);
            for line in &lines[lines.len().saturating_sub(25)..] {
                all += line;
                all.push('\n');
            }
        }
        all
    }
}

impl Node {
    fn new(net: &Topology, name: &'static str, args: &[&str]) -> Node {
        Node {
            name,
            ns: net.host(name).ns.clone(),
            args: args.iter().map(|a| a.to_string()).collect(),
            child: None,
        }
    }
}

impl Drop for Nodes {
    /// Kills every node still running (SIGKILL: nothing of theirs needs to survive) and reaps it.
    fn drop(&mut self) {
        for node in &mut self.nodes {
            if let Some(mut child) = node.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}
