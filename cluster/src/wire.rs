//! What every node driver shares: its codec, its transport and the cluster's address book.

use std::net::SocketAddr;
use std::sync::Arc;

use dmtbs_contract::Date;
use dmtbs_net::{Bytes, GroupMode, Transport, UdpConfig, UdpTransport};
use dmtbs_proto::{Codec, Message, NodeId, Outgoing, Reject, RejectCounts};

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
}

impl Wire {
    pub fn new(config: Arc<ClusterConfig>, me: NodeId, transport: Arc<dyn Transport>) -> Self {
        let codec = Codec::new(&config.cluster.key, me);
        Wire {
            config,
            codec,
            transport,
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

    /// A real UDP endpoint for `me` as configured (loopback-only unless configured otherwise).
    pub async fn udp(config: &ClusterConfig, me: NodeId) -> anyhow::Result<UdpTransport> {
        let bind = config
            .addr_of(me)
            .ok_or_else(|| anyhow::anyhow!("{me:?} is not in the cluster configuration"))?;
        let mut udp = UdpConfig::loopback(Self::group_mode(config));
        udp.bind = bind;
        udp.join_group = matches!(me, NodeId::Rm(_));
        Ok(UdpTransport::bind(udp).await?)
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
    /// datagrams are counted by reason ([`Wire::rejects`]) and skipped.
    pub async fn recv(&self) -> anyhow::Result<(NodeId, Message)> {
        loop {
            let (from, datagram) = self.transport.recv().await?;
            match self
                .codec
                .decode_from(&datagram, |sender| self.comes_from(sender, from))
            {
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
