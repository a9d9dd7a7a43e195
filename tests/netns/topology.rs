//! The test network: one network namespace per host and one more holding a bridge, a veth
//! pair from the bridge to each host, one address per host on a private /24, no route anywhere
//! else — so every datagram stays inside namespaces this test created, and nothing touches the
//! root namespace's interfaces, routes or firewall. Partitions are nftables rules inside a host's
//! own namespace. Everything is removed when the [`Topology`] is dropped, failed test or not.

use std::io::Write as _;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// The nftables table the partitions live in (inside a host's namespace only).
const TABLE: &str = "dmtbs_partition";

/// One host of the test network.
#[derive(Clone, Debug)]
pub struct Host {
    /// Short name: `seq`, `standby`, `rm1`…`rm4`, `fe1`, `fe2`, `client`.
    pub name: &'static str,
    /// Its network namespace (`<prefix>-<name>`).
    pub ns: String,
    /// Its address on the bridge's subnet; the only address it has besides loopback.
    pub ip: Ipv4Addr,
}

/// The namespaces, bridge and links of one test run.
pub struct Topology {
    /// Every namespace created, in order; all deleted on drop (their veth ends, the bridge and
    /// any nftables rules go with them).
    created: Vec<String>,
    /// `dmtbs-<pid>-<tag>`: unique per run and per test, the start of every namespace name.
    pub prefix: String,
    /// The hosts, in the order given to [`Topology::create`].
    pub hosts: Vec<Host>,
}

/// Where the system tool `name` is: on `PATH`, or in the sbin folders a non-login root shell
/// may leave off it.
pub fn tool(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| PathBuf::from(name))
}

/// Runs `ip` with `args`; the error names the command and carries its stderr.
fn ip(args: &[&str]) -> Result<Output, String> {
    let out = Command::new(tool("ip"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("`ip {}`: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(out)
    } else {
        Err(format!(
            "`ip {}` failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl Topology {
    /// Creates the network: the bridge's namespace first — the probe: if it cannot be made (not
    /// root, no `ip`, no `CAP_NET_ADMIN`) the answer is `Err(why)` and the caller skips — then
    /// one namespace per host `(name, last octet)` on `10.77.<subnet>.0/24`. Any later failure
    /// panics (the hosts' namespaces created so far are removed on the way out).
    pub fn create(tag: &str, subnet: u8, hosts: &[(&'static str, u8)]) -> Result<Self, String> {
        let prefix = format!("dmtbs-{}-{tag}", std::process::id());
        let mut topology = Topology {
            created: Vec::new(),
            prefix,
            hosts: Vec::new(),
        };
        let bridge = topology.ns("br");
        ip(&["netns", "add", &bridge]).map_err(|e| format!("cannot create a namespace: {e}"))?;
        topology.created.push(bridge.clone());
        // `ip netns exec` also needs a mount namespace of its own (CAP_SYS_ADMIN).
        ip(&["netns", "exec", &bridge, "true"])
            .map_err(|e| format!("cannot run inside a namespace: {e}"))?;
        let must = |args: &[&str]| {
            if let Err(e) = ip(args) {
                panic!("setting up the test network: {e}");
            }
        };
        must(&["-n", &bridge, "link", "add", "br0", "type", "bridge"]);
        // No IGMP snooping: the bridge floods the group to every port, as a plain switch
        // would, instead of depending on membership reports and a querier.
        must(&[
            "-n",
            &bridge,
            "link",
            "set",
            "br0",
            "type",
            "bridge",
            "mcast_snooping",
            "0",
        ]);
        must(&["-n", &bridge, "link", "set", "br0", "up"]);
        for &(name, octet) in hosts {
            let ns = topology.ns(name);
            must(&["netns", "add", &ns]);
            topology.created.push(ns.clone());
            // Created inside the bridge's namespace with its peer moved straight into the
            // host's: the root namespace never holds either end.
            let port = format!("v-{name}");
            must(&[
                "-n", &bridge, "link", "add", &port, "type", "veth", "peer", "name", "eth0",
                "netns", &ns,
            ]);
            must(&["-n", &bridge, "link", "set", &port, "master", "br0", "up"]);
            let ip_addr = Ipv4Addr::new(10, 77, subnet, octet);
            must(&[
                "-n",
                &ns,
                "addr",
                "add",
                &format!("{ip_addr}/24"),
                "dev",
                "eth0",
            ]);
            must(&["-n", &ns, "link", "set", "eth0", "up"]);
            must(&["-n", &ns, "link", "set", "lo", "up"]);
            topology.hosts.push(Host {
                name,
                ns,
                ip: ip_addr,
            });
        }
        Ok(topology)
    }

    fn ns(&self, name: &str) -> String {
        format!("{}-{name}", self.prefix)
    }

    /// The host called `name`.
    pub fn host(&self, name: &str) -> &Host {
        self.hosts
            .iter()
            .find(|h| h.name == name)
            .unwrap_or_else(|| panic!("no host {name} in the test network"))
    }

    /// Loads an nftables script into `host`'s namespace (never anywhere else).
    fn nft(&self, host: &str, script: &str) -> String {
        let ns = &self.host(host).ns;
        let mut child = Command::new(tool("ip"))
            .args(["netns", "exec", ns])
            .arg(tool("nft"))
            .args(["-f", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run ip netns exec … nft");
        child
            .stdin
            .take()
            .expect("stdin is piped")
            .write_all(script.as_bytes())
            .expect("write the nft script");
        let out = child.wait_with_output().expect("wait for nft");
        assert!(
            out.status.success(),
            "nft in {ns} failed: {}\n{script}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Cuts `host` off the network: every packet in or out of its link is dropped (UDP and TCP
    /// alike), as if its cable were pulled; loopback inside it still works.
    pub fn isolate(&self, host: &str) {
        self.nft(
            host,
            &format!(
                "table inet {TABLE} {{\n\
                 chain input {{ type filter hook input priority 0; policy accept; \
                 iifname \"eth0\" counter drop; }}\n\
                 chain output {{ type filter hook output priority 0; policy accept; \
                 oifname \"eth0\" counter drop; }}\n}}\n"
            ),
        );
    }

    /// `host` stops hearing anything `from` sends it (one direction only: it still talks to
    /// `from`, and hears everyone else).
    pub fn deafen(&self, host: &str, from: &str) {
        let from = self.host(from).ip;
        self.nft(
            host,
            &format!(
                "table inet {TABLE} {{\n\
                 chain input {{ type filter hook input priority 0; policy accept; \
                 ip saddr {from} counter drop; }}\n}}\n"
            ),
        );
    }

    /// Removes `host`'s partition rules; returns how many packets they dropped — so a test can
    /// assert that the partition really cut something.
    pub fn heal(&self, host: &str) -> u64 {
        let listing = self.nft(host, &format!("list table inet {TABLE}\n"));
        self.nft(host, &format!("delete table inet {TABLE}\n"));
        // `counter packets N bytes M` for each rule.
        let mut words = listing.split_whitespace();
        let mut dropped = 0;
        while let Some(word) = words.next() {
            if word == "packets" {
                dropped += words
                    .next()
                    .and_then(|n| n.parse::<u64>().ok())
                    .unwrap_or(0);
            }
        }
        dropped
    }
}

impl Drop for Topology {
    /// Deletes every namespace this run created, hosts first, then the bridge's. The node
    /// processes must be gone by then (a namespace lives on while a process is inside it).
    fn drop(&mut self) {
        for ns in self.created.iter().rev() {
            if let Err(e) = ip(&["netns", "del", ns]) {
                eprintln!("cleaning up the test network: {e}");
            }
        }
    }
}

/// Whether `nft` can be run at all (the partitions need it). `Err` names the package.
pub fn nft_available() -> Result<(), String> {
    match Command::new(tool("nft")).arg("--version").output() {
        Ok(out) if out.status.success() => Ok(()),
        Ok(out) => Err(format!(
            "`nft --version` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Err(e) => Err(format!(
            "`nft` is not installed ({e}): the partitions are nftables rules — install Debian's \
             `nftables` package (`apt-get install nftables`; .ci/run does)"
        )),
    }
}

/// Moves the calling thread (only it, and threads it starts afterwards) into `ns`'s network
/// namespace: sockets it opens from then on live there. The test's HTTP clients run on such a
/// thread, as the `client` host.
pub fn enter(ns: &str) {
    use std::os::fd::AsRawFd as _;
    let file = std::fs::File::open(format!("/run/netns/{ns}"))
        .unwrap_or_else(|e| panic!("open /run/netns/{ns}: {e}"));
    // SAFETY: setns(2) on a valid descriptor; it changes only this thread's network namespace.
    let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
    assert_eq!(
        rc,
        0,
        "setns into {ns}: {}",
        std::io::Error::last_os_error()
    );
}
