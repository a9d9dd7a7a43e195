//! What every node driver shares: its codec, its transport and the cluster's address book.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use dmtbs_contract::Date;
use dmtbs_net::{Bytes, GroupMode, Transport, UdpConfig, UdpTransport};
use dmtbs_proto::{
    AdminCommand, Codec, LinkDrop, Message, NodeId, NodeInfo, Outgoing, Progress, Reject,
    RejectCounts,
};

use crate::config::{ClusterConfig, TransportMode};

/// A node's connection to the cluster. Shared (`Arc<Wire>`) between the node's driver, which
/// sends and receives through it, and whoever reports on the node (the local cluster, the CLI,
/// later a status page), which reads its counters with [`Wire::rejects`].
pub struct Wire {
    /// The cluster's address book and key.
    pub config: Arc<ClusterConfig>,
    /// This node's framing: its nonces, the replay windows of its peers, its reject counters.
    pub codec: Codec,
    /// Where datagrams go and come from.
    pub transport: Arc<dyn Transport>,
    /// Fault injection: which senders' datagrams this node drops on purpose, and how many it
    /// dropped (see [`Wire::set_drop`]).
    chaos: Mutex<Chaos>,
    /// When this node started (monotonic, and its host's wall clock in ms since the Unix
    /// epoch): every `AdminReply` says so ([`Wire::info`]).
    started: (std::time::Instant, u64),
    /// A sequencer's or front end's numbering, set by its driver ([`Wire::set_progress`]).
    progress: Mutex<Option<Progress>>,
}

/// The chaos filter of a receiving node: per sender, the share dropped and a count.
#[derive(Default)]
struct Chaos {
    links: BTreeMap<NodeId, Link>,
}

/// One sender's link into this node.
struct Link {
    /// 0..=100; 0: healed (the link is kept for its count).
    percent: u8,
    /// Datagrams dropped on purpose since the node started.
    dropped: u64,
    /// Decides which datagrams go; seeded and logged when the drop was set, to reproduce a run.
    rng: SplitMix64,
}

/// A tiny seeded generator (SplitMix64): enough to pick datagrams to drop, no dependency.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// True `percent` times in a hundred.
    fn chance(&mut self, percent: u8) -> bool {
        self.next() % 100 < u64::from(percent)
    }
}

impl Wire {
    pub fn new(config: Arc<ClusterConfig>, me: NodeId, transport: Arc<dyn Transport>) -> Self {
        let codec = Codec::new(&config.cluster.key, me);
        Wire {
            config,
            codec,
            transport,
            chaos: Mutex::default(),
            started: (
                std::time::Instant::now(),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as u64),
            ),
            progress: Mutex::default(),
        }
    }

    /// A sequencer's or a front end's driver notes how far its numbering goes (for
    /// [`Wire::info`]).
    pub fn set_progress(&self, progress: Progress) {
        // A panic elsewhere while holding the lock leaves a figure, not an invariant, behind.
        *self
            .progress
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(progress);
    }

    /// This node's process and numbering, as every `AdminReply` carries it.
    pub fn info(&self) -> NodeInfo {
        NodeInfo {
            pid: std::process::id(),
            started_unix_ms: self.started.1,
            uptime_ms: self.started.0.elapsed().as_millis() as u64,
            progress: self
                .progress
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .clone(),
        }
    }

    /// A node's wire on a real UDP endpoint, as configured: what a node process runs on.
    pub async fn connect(config: Arc<ClusterConfig>, me: NodeId) -> anyhow::Result<Arc<Self>> {
        let udp = Self::udp(&config, me).await?;
        Ok(Arc::new(Self::new(config, me, Arc::new(udp))))
    }

    /// The node this wire belongs to.
    pub fn node(&self) -> NodeId {
        self.codec.node()
    }

    /// Datagrams this node refused so far, per reason: forged, malformed, oversized, replayed,
    /// and authentic ones from an address that is not their sender's (`misaddressed`).
    pub fn rejects(&self) -> RejectCounts {
        self.codec.rejects()
    }

    /// Chaos: drop `percent` % of the authentic datagrams from `from` (0 heals the link),
    /// operator messages excepted ([`Message::is_operator_message`]). The choice of datagrams
    /// is seeded from the clock; the seed is returned and logged.
    pub fn set_drop(&self, from: NodeId, percent: u8) -> Result<u64, String> {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        self.set_drop_seeded(from, percent, seed).map(|()| seed)
    }

    /// [`Wire::set_drop`] with a chosen seed, to reproduce a run.
    pub fn set_drop_seeded(&self, from: NodeId, percent: u8, seed: u64) -> Result<(), String> {
        if percent > 100 {
            return Err(format!("cannot drop {percent} %: a percentage is 0..=100"));
        }
        if from == self.node() {
            return Err(format!("{from} does not send to itself"));
        }
        if self.config.addr_of(from).is_none() {
            return Err(format!("{from} is not in the cluster configuration"));
        }
        let mut chaos = self
            .chaos
            .lock()
            .expect("no panics while holding the chaos lock");
        let link = chaos.links.entry(from).or_insert(Link {
            percent: 0,
            dropped: 0,
            rng: SplitMix64(seed),
        });
        link.percent = percent;
        link.rng = SplitMix64(seed);
        if percent == 0 {
            tracing::warn!(node = %self.node(), %from, "chaos: link healed");
        } else {
            tracing::warn!(node = %self.node(), %from, percent, seed, "chaos: dropping datagrams on purpose");
        }
        Ok(())
    }

    /// Chaos: every link into this node heals (their counts stay).
    pub fn heal(&self) {
        let mut chaos = self
            .chaos
            .lock()
            .expect("no panics while holding the chaos lock");
        if chaos.links.values().any(|l| l.percent > 0) {
            tracing::warn!(node = %self.node(), "chaos: every link healed");
        }
        for link in chaos.links.values_mut() {
            link.percent = 0;
        }
    }

    /// Chaos: the links into this node that drop or have dropped, by sender.
    pub fn links(&self) -> Vec<LinkDrop> {
        let chaos = self
            .chaos
            .lock()
            .expect("no panics while holding the chaos lock");
        chaos
            .links
            .iter()
            .map(|(&from, l)| LinkDrop {
                from,
                percent: l.percent,
                dropped: l.dropped,
            })
            .collect()
    }

    /// Datagrams dropped on purpose so far, per sender (like [`Wire::rejects`], but chaos).
    pub fn dropped(&self) -> BTreeMap<NodeId, u64> {
        self.links()
            .into_iter()
            .map(|l| (l.from, l.dropped))
            .collect()
    }

    /// Carries out a chaos command (`Drop`, `Heal`, `Links`) and returns its answer; `None` for
    /// any other command. Every kind of node answers chaos this way.
    pub fn chaos(&self, command: &AdminCommand) -> Option<Message> {
        let (nonce, error) = match *command {
            AdminCommand::Drop {
                nonce,
                from,
                percent,
            } => (nonce, self.set_drop(from, percent).err()),
            AdminCommand::Heal { nonce } => {
                self.heal();
                (nonce, None)
            }
            AdminCommand::Links { nonce } => (nonce, None),
            _ => return None,
        };
        Some(Message::AdminReply {
            nonce,
            error,
            links: self.links(),
            node: self.info(),
        })
    }

    /// The answer of a node without a replica (the sequencer, a front end) to an operator's
    /// command from `from`: chaos is carried out, anything else refused.
    pub fn answer_admin(&self, from: NodeId, command: &AdminCommand) -> Outgoing {
        let reply = self.chaos(command).unwrap_or_else(|| Message::AdminReply {
            nonce: command.nonce(),
            error: Some(format!(
                "{} hosts no replica: status, swap and quarantine are for replica managers",
                self.node()
            )),
            links: self.links(),
            node: self.info(),
        });
        Outgoing::To(from, reply)
    }

    /// Whether chaos drops this authentic message from `sender` (and counts it if so).
    fn chaos_drops(&self, sender: NodeId, msg: &Message) -> bool {
        if msg.is_operator_message() {
            return false;
        }
        let mut chaos = self
            .chaos
            .lock()
            .expect("no panics while holding the chaos lock");
        let Some(link) = chaos.links.get_mut(&sender) else {
            return false;
        };
        let drop = link.percent > 0 && link.rng.chance(link.percent);
        link.dropped += u64::from(drop);
        drop
    }

    /// The group mode the configuration asks for.
    pub fn group_mode(config: &ClusterConfig) -> GroupMode {
        match config.cluster.transport {
            TransportMode::Multicast => GroupMode::Multicast(
                config
                    .cluster
                    .multicast_group
                    .expect("checked when the configuration was parsed"),
            ),
            TransportMode::Unicast => {
                GroupMode::Fanout(config.rms.iter().map(|r| r.addr).collect())
            }
        }
    }

    /// A real UDP endpoint for `me` as configured: loopback-only when its address is loopback;
    /// otherwise multicast from the interface holding its address ([`UdpConfig::for_node`]).
    pub async fn udp(config: &ClusterConfig, me: NodeId) -> anyhow::Result<UdpTransport> {
        let bind = config
            .addr_of(me)
            .ok_or_else(|| anyhow::anyhow!("{me:?} is not in the cluster configuration"))?;
        let mut udp = UdpConfig::for_node(bind, Self::group_mode(config))?;
        udp.join_group = matches!(me, NodeId::Rm(_));
        UdpTransport::bind(udp).await.map_err(|e| match &e {
            dmtbs_net::NetError::Io { source, .. }
                if source.kind() == std::io::ErrorKind::AddrInUse =>
            {
                let who = format!("{me:?}");
                anyhow::anyhow!(crate::holder::bind_error(
                    &who,
                    crate::holder::Proto::Udp,
                    bind,
                    source
                ))
            }
            _ => anyhow::Error::from(e),
        })
    }

    /// Encode a message, split into several datagrams when its list does not fit in one.
    fn encode(&self, msg: Message) -> Vec<Vec<u8>> {
        let packed = match msg {
            Message::Submit(items) => self.codec.encode_batched(items, Message::Submit),
            Message::Accepted(items) => self.codec.encode_batched(items, Message::Accepted),
            Message::Deliver(items) => self.codec.encode_batched(items, Message::Deliver),
            Message::Results(items) => self.codec.encode_batched(items, Message::Results),
            other => return vec![self.codec.encode(&other)],
        };
        packed.unwrap_or_else(|e| {
            // Only a single item larger than a datagram gets here; the booking rules bound
            // every list far below that, so this is a bug worth a loud log, not a crash.
            tracing::error!(error = %e, "message too large to send; dropped");
            Vec::new()
        })
    }

    /// Send what a state machine asked for. Send errors are logged: the protocol tolerates loss.
    pub async fn send(&self, out: Outgoing) {
        match out {
            Outgoing::To(node, msg) => {
                let Some(addr) = self.config.addr_of(node) else {
                    tracing::warn!(?node, "no address for node; message dropped");
                    return;
                };
                for datagram in self.encode(msg) {
                    if let Err(e) = self.transport.send_to(addr, Bytes::from(datagram)).await {
                        tracing::warn!(%addr, error = %e, "send failed");
                    }
                }
            }
            Outgoing::ToAllRms(msg) => {
                for datagram in self.encode(msg) {
                    if let Err(e) = self.transport.send_group(Bytes::from(datagram)).await {
                        tracing::warn!(error = %e, "group send failed");
                    }
                }
            }
        }
    }

    /// The next authentic message and its sender. Forged, malformed, replayed and misaddressed
    /// datagrams are counted by reason ([`Wire::rejects`]) and skipped; so are those chaos
    /// drops on purpose ([`Wire::dropped`]).
    pub async fn recv(&self) -> anyhow::Result<(NodeId, Message)> {
        loop {
            let (from, datagram) = self.transport.recv().await?;
            match self
                .codec
                .decode_from(&datagram, |sender| self.comes_from(sender, from))
            {
                Ok((sender, msg)) if self.chaos_drops(sender, &msg) => {}
                Ok(received) => return Ok(received),
                // Someone holding the cluster key sends from the wrong place: worth an
                // operator's attention, unlike line noise.
                Err(Reject::Misaddressed { sender }) => {
                    tracing::warn!(?sender, %from, "authentic datagram from the wrong address; dropped");
                }
                Err(reject) => {
                    tracing::debug!(%from, %reject, reason = reject.reason(), "datagram rejected");
                }
            }
        }
    }

    fn comes_from(&self, sender: NodeId, from: SocketAddr) -> bool {
        self.config.addr_of(sender) == Some(from)
    }

    /// The cluster's date now: the configured fixed date, or today in the configured time zone.
    pub fn today(&self) -> Date {
        today(&self.config)
    }
}

pub fn today(config: &ClusterConfig) -> Date {
    use chrono::Datelike;
    let day = match &config.cluster.today {
        Some(fixed) => chrono::NaiveDate::parse_from_str(fixed, "%Y-%m-%d")
            .expect("checked when the configuration was parsed"),
        None => {
            let tz: chrono_tz::Tz = config
                .cluster
                .time_zone
                .parse()
                .expect("checked when the configuration was parsed");
            chrono::Utc::now().with_timezone(&tz).date_naive()
        }
    };
    Date {
        year: day.year() as u16,
        month: day.month() as u8,
        day: day.day() as u8,
    }
}

#[cfg(test)]
mod tests {
    //! The chaos filter on a real wire over an in-memory network: what is dropped, what is not,
    //! and the counts an operator reads.

    use std::path::Path;
    use std::time::Duration;

    use dmtbs_net::MemNetwork;

    use super::*;

    /// The default cluster's address book, on an in-memory network.
    fn wires(nodes: &[NodeId]) -> Vec<Wire> {
        let config = Arc::new(
            ClusterConfig::parse(&crate::config::default_with_fresh_keys(), Path::new("/"))
                .expect("the default"),
        );
        let net = MemNetwork::new();
        nodes
            .iter()
            .map(|&node| {
                let addr = config.addr_of(node).expect("in the default cluster");
                let transport = net
                    .endpoint(addr, Wire::group_mode(&config))
                    .expect("a free address");
                Wire::new(config.clone(), node, Arc::new(transport))
            })
            .collect()
    }

    /// Everything `wire` receives until nothing came for a while (bounded).
    async fn drain(wire: &Wire) -> Vec<(NodeId, Message)> {
        let mut got = Vec::new();
        for _ in 0..10_000 {
            match tokio::time::timeout(Duration::from_millis(100), wire.recv()).await {
                Ok(received) => got.push(received.expect("the network is up")),
                Err(_) => break,
            }
        }
        got
    }

    async fn send_n(from: &Wire, to: NodeId, n: u64) {
        for latest in 0..n {
            from.send(Outgoing::To(to, Message::Heartbeat { latest }))
                .await;
        }
    }

    #[tokio::test]
    async fn full_drop_silences_one_sender_only_and_healing_restores_it() {
        let [fe, rm1, rm2] =
            <[Wire; 3]>::try_from(wires(&[NodeId::FrontEnd(1), NodeId::Rm(1), NodeId::Rm(2)]))
                .ok()
                .expect("three wires");
        rm2.set_drop(NodeId::FrontEnd(1), 100)
            .expect("a valid drop");

        send_n(&fe, NodeId::Rm(2), 10).await;
        send_n(&rm1, NodeId::Rm(2), 7).await;
        // The operator's command gets through a fully dropped link.
        fe.send(Outgoing::To(
            NodeId::Rm(2),
            Message::Admin(AdminCommand::Heal { nonce: 5 }),
        ))
        .await;
        let got = drain(&rm2).await;
        let from = |node| got.iter().filter(|(n, _)| *n == node).count();
        assert_eq!(from(NodeId::Rm(1)), 7, "another sender is untouched");
        assert_eq!(
            from(NodeId::FrontEnd(1)),
            1,
            "only the admin command: {got:?}"
        );
        assert!(matches!(got.last(), Some((_, Message::Admin(_)))));
        assert_eq!(rm2.dropped(), BTreeMap::from([(NodeId::FrontEnd(1), 10)]));

        // 0 % heals; the count of what was dropped stays.
        rm2.set_drop(NodeId::FrontEnd(1), 0).expect("a valid drop");
        send_n(&fe, NodeId::Rm(2), 10).await;
        assert_eq!(drain(&rm2).await.len(), 10);
        assert_eq!(
            rm2.links(),
            vec![LinkDrop {
                from: NodeId::FrontEnd(1),
                percent: 0,
                dropped: 10
            }]
        );
        assert_eq!(
            rm2.rejects(),
            RejectCounts::default(),
            "dropped is not refused"
        );
    }

    #[tokio::test]
    async fn a_partial_drop_is_seeded_and_heal_stops_every_link() {
        let seed = 0x5EED_C4A0_u64;
        println!("seed {seed}");
        let [seq, rm1, rm3] =
            <[Wire; 3]>::try_from(wires(&[NodeId::Sequencer, NodeId::Rm(1), NodeId::Rm(3)]))
                .ok()
                .expect("three wires");
        rm3.set_drop_seeded(NodeId::Sequencer, 30, seed)
            .expect("a valid drop");
        rm3.set_drop_seeded(NodeId::Rm(1), 100, seed)
            .expect("a valid drop");
        send_n(&seq, NodeId::Rm(3), 400).await;
        send_n(&rm1, NodeId::Rm(3), 5).await;
        let received = drain(&rm3).await.len() as u64;
        let dropped = rm3.dropped();
        assert_eq!(dropped[&NodeId::Rm(1)], 5);
        assert_eq!(received + dropped[&NodeId::Sequencer], 400);
        assert!(
            (80..=160).contains(&dropped[&NodeId::Sequencer]),
            "about 30 % of 400 (seed {seed}): {dropped:?}"
        );
        // The same seed drops the same datagrams.
        let mut again = SplitMix64(seed);
        let expected = (0..400).filter(|_| again.chance(30)).count() as u64;
        assert_eq!(dropped[&NodeId::Sequencer], expected, "seed {seed}");

        // Heal: nothing dropped any more, from anyone.
        let reply = rm3.chaos(&AdminCommand::Heal { nonce: 1 });
        assert!(
            matches!(&reply, Some(Message::AdminReply { error: None, links, .. }) if links.iter().all(|l| l.percent == 0)),
            "{reply:?}"
        );
        send_n(&seq, NodeId::Rm(3), 50).await;
        send_n(&rm1, NodeId::Rm(3), 5).await;
        assert_eq!(drain(&rm3).await.len(), 55);
        assert_eq!(rm3.dropped(), dropped, "counts stay after healing");
    }

    #[test]
    fn invalid_drops_are_refused_and_change_nothing() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let _guard = rt.enter();
        let [rm2] = <[Wire; 1]>::try_from(wires(&[NodeId::Rm(2)]))
            .ok()
            .expect("one wire");
        for (from, percent, why) in [
            (NodeId::Sequencer, 101, "0..=100"),
            (NodeId::Rm(2), 50, "does not send to itself"),
            (NodeId::Rm(9), 50, "not in the cluster"),
        ] {
            let e = rm2.set_drop(from, percent).unwrap_err();
            assert!(e.contains(why), "{e}");
        }
        assert!(rm2.links().is_empty());
        // Commands for replica managers are not chaos.
        assert_eq!(rm2.chaos(&AdminCommand::Status { nonce: 1 }), None);
    }
}
