//! Real UDP: one unicast socket per node, plus a group receiver when the node is a multicast
//! member. Built with socket2 (for the options tokio does not expose) and driven by tokio.
//!
//! Safety first (see `shared/notes/networking.md`): the default route leaves the machine, so a
//! multicast sender that forgot `IP_MULTICAST_IF`, or a receiver that joined on `INADDR_ANY`,
//! talks to the uplink. By default ([`UdpConfig::loopback_only`]) this transport confines
//! itself to loopback: the multicast interface must be a loopback address and is read back
//! after being set, the TTL is at most 1, and sends to any address off the machine are
//! refused before they reach the kernel. A cluster node whose configured address is not
//! loopback (hosts, or network namespaces in the tests) gets [`UdpConfig::for_node`]: its
//! multicast interface is its own address, set and read back the same way, with TTL 1.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Mutex;

use bytes::Bytes;
use socket2::{Domain, Protocol, SockRef, Socket, Type};
use tokio::net::UdpSocket;

use crate::{BoxFuture, GroupMode, MAX_DATAGRAM, NetError, Transport};

/// Receive buffer asked for on every socket. The default (208 KiB) silently drops 0.4–5.5 % of
/// a burst; 4 MiB (Linux reports 8 MiB, it doubles the request) dropped nothing in the spike.
pub const DEFAULT_RECV_BUFFER: usize = 4 * 1024 * 1024;

/// How to set up a node's UDP endpoint. Start from [`UdpConfig::loopback`] and change fields.
#[derive(Clone, Debug)]
pub struct UdpConfig {
    /// Unicast address to bind; port 0 lets the kernel choose. Everything this node sends
    /// leaves from here, so it is the `from` its peers see and reply to.
    pub bind: SocketAddr,
    /// How [`Transport::send_group`] reaches the replica managers.
    pub group: GroupMode,
    /// Whether this node receives group traffic (replica managers do; the sequencer and front
    /// ends do not). Only meaningful with [`GroupMode::Multicast`]: with fan-out a node is a
    /// member by being listed.
    pub join_group: bool,
    /// Interface address for sending multicast (`IP_MULTICAST_IF`) and joining the group.
    /// Never `0.0.0.0`: that means "the default route's interface".
    pub interface: Ipv4Addr,
    /// Multicast TTL. 0 still delivers on the local machine and is dropped before any other
    /// interface; at most 1 when `loopback_only`.
    pub multicast_ttl: u32,
    /// Refuse to talk to anything off this machine. On by default so that no test, and no
    /// misconfigured demo, can put datagrams on a real network; turn it off only for a real
    /// multi-host deployment.
    pub loopback_only: bool,
    /// `SO_RCVBUF` asked for on each socket; the size obtained is logged and readable through
    /// [`UdpTransport::recv_buffer_size`].
    pub recv_buffer: usize,
}

impl UdpConfig {
    /// A loopback-only endpoint on `127.0.0.1:0` with the given group mode, multicast TTL 0, a
    /// 4 MiB receive buffer, not joined to the group.
    pub fn loopback(group: GroupMode) -> Self {
        UdpConfig {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            group,
            join_group: false,
            interface: Ipv4Addr::LOCALHOST,
            multicast_ttl: 0,
            loopback_only: true,
            recv_buffer: DEFAULT_RECV_BUFFER,
        }
    }

    /// The endpoint of a cluster node whose configured address is `bind`, its multicast
    /// interface derived from that address. A loopback address gives [`UdpConfig::loopback`]
    /// with that bind: loopback-only, TTL 0, multicast on 127.0.0.1 — every check as before.
    /// Any other address is a node on a real (or namespaced) network: it sends multicast from,
    /// and joins the group on, the interface holding that very address (`IP_MULTICAST_IF` set
    /// to it and read back as always), with TTL 1 so that group datagrams never pass a router,
    /// and it may talk to non-loopback peers. Never `0.0.0.0`: a node's address is its
    /// identity on the wire, and "any interface" would mean the default route's.
    pub fn for_node(bind: SocketAddr, group: GroupMode) -> Result<Self, NetError> {
        let mut config = UdpConfig::loopback(group);
        config.bind = bind;
        if !is_loopback(bind.ip()) {
            if bind.ip().is_unspecified() {
                return Err(NetError::Config(format!(
                    "node address {bind} is unspecified: name the address of the interface to use"
                )));
            }
            config.loopback_only = false;
            config.multicast_ttl = 1;
            if let IpAddr::V4(ip) = bind.ip() {
                config.interface = ip;
            }
        }
        config.validate()?;
        Ok(config)
    }

    /// Rejects any configuration that could send or listen beyond what was asked for.
    fn validate(&self) -> Result<(), NetError> {
        if self.loopback_only && !self.bind.ip().is_loopback() {
            return Err(NetError::Config(format!(
                "bind address {} is not loopback but the transport is loopback-only",
                self.bind
            )));
        }
        match &self.group {
            GroupMode::Multicast(group) => {
                if !group.ip().is_multicast() {
                    return Err(NetError::Config(format!(
                        "group {group} is not a multicast address"
                    )));
                }
                if !self.bind.is_ipv4() {
                    return Err(NetError::Config(
                        "multicast needs an IPv4 bind address".into(),
                    ));
                }
                if self.interface.is_unspecified() {
                    return Err(NetError::UnsafeMulticast(
                        "interface 0.0.0.0 means the default route, which leaves the machine"
                            .into(),
                    ));
                }
                if self.loopback_only && !self.interface.is_loopback() {
                    return Err(NetError::UnsafeMulticast(format!(
                        "interface {} is not loopback but the transport is loopback-only",
                        self.interface
                    )));
                }
                if self.loopback_only && self.multicast_ttl > 1 {
                    return Err(NetError::UnsafeMulticast(format!(
                        "multicast TTL {} > 1 on a loopback-only transport",
                        self.multicast_ttl
                    )));
                }
            }
            GroupMode::Fanout(members) => {
                if let Some(m) = members
                    .iter()
                    .find(|m| self.loopback_only && !m.ip().is_loopback())
                {
                    return Err(NetError::NonLoopback(*m));
                }
                if let Some(m) = members.iter().find(|m| m.ip().is_multicast()) {
                    return Err(NetError::Config(format!(
                        "fan-out member {m} is a multicast address; use GroupMode::Multicast"
                    )));
                }
            }
        }
        Ok(())
    }
}

/// What a multicast sender's socket reported after its options were set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SenderReadback {
    /// `IP_MULTICAST_IF` as read back.
    pub interface: Ipv4Addr,
    /// `IP_MULTICAST_TTL` as read back.
    pub ttl: u32,
    /// `IP_MULTICAST_LOOP` as read back.
    pub looped: bool,
}

/// The assertion the networking notes ask for: the interface, TTL and loop flag read back from
/// the kernel must be exactly what was configured, or the transport refuses to run. A separate
/// function so the refusal itself is unit-tested (the kernel never disagrees on this machine).
pub(crate) fn check_sender_readback(
    config: &UdpConfig,
    got: SenderReadback,
) -> Result<(), NetError> {
    if got.interface != config.interface {
        return Err(NetError::UnsafeMulticast(format!(
            "IP_MULTICAST_IF reads back {} but {} was set",
            got.interface, config.interface
        )));
    }
    if config.loopback_only && !got.interface.is_loopback() {
        return Err(NetError::UnsafeMulticast(format!(
            "IP_MULTICAST_IF reads back {}, not a loopback address",
            got.interface
        )));
    }
    if got.ttl != config.multicast_ttl {
        return Err(NetError::UnsafeMulticast(format!(
            "IP_MULTICAST_TTL reads back {} but {} was set",
            got.ttl, config.multicast_ttl
        )));
    }
    if !got.looped {
        return Err(NetError::UnsafeMulticast(
            "IP_MULTICAST_LOOP is off: members on this machine would hear nothing".into(),
        ));
    }
    Ok(())
}

/// A node's real UDP endpoint: a unicast socket (requests, results, repairs, and multicast
/// sends) and, for a multicast member, a group receiver; [`Transport::recv`] merges both.
#[derive(Debug)]
pub struct UdpTransport {
    /// Sends everything; receives unicast. Its address is the node's identity on the wire.
    unicast: RecvSocket,
    /// Bound to the group address and joined on `config.interface`; `None` unless this node is
    /// a multicast member.
    group_rx: Option<RecvSocket>,
    /// Cached `unicast.local_addr()`, which cannot change after bind.
    local: SocketAddr,
    /// Kept for the send-time checks (loopback-only, group address).
    config: UdpConfig,
    /// The smallest receive buffer the kernel granted among this node's sockets.
    recv_buffer: usize,
}

impl UdpTransport {
    /// Binds the node's sockets as configured. Must run inside a tokio runtime.
    ///
    /// Fails with [`NetError::UnsafeMulticast`] or [`NetError::Config`] rather than run with a
    /// setup that could send off the machine or hear other groups' traffic.
    pub async fn bind(config: UdpConfig) -> Result<Self, NetError> {
        config.validate()?;

        let unicast = Socket::new(
            Domain::for_address(config.bind),
            Type::DGRAM,
            Some(Protocol::UDP),
        )
        .map_err(NetError::io("create unicast socket"))?;
        let mut recv_buffer = raise_recv_buffer(&unicast, config.recv_buffer)?;
        if let GroupMode::Multicast(_) = config.group {
            unicast
                .set_multicast_if_v4(&config.interface)
                .map_err(NetError::io("set IP_MULTICAST_IF"))?;
            unicast
                .set_multicast_ttl_v4(config.multicast_ttl)
                .map_err(NetError::io("set IP_MULTICAST_TTL"))?;
            unicast
                .set_multicast_loop_v4(true)
                .map_err(NetError::io("set IP_MULTICAST_LOOP"))?;
            let got = SenderReadback {
                interface: unicast
                    .multicast_if_v4()
                    .map_err(NetError::io("read IP_MULTICAST_IF"))?,
                ttl: unicast
                    .multicast_ttl_v4()
                    .map_err(NetError::io("read IP_MULTICAST_TTL"))?,
                looped: unicast
                    .multicast_loop_v4()
                    .map_err(NetError::io("read IP_MULTICAST_LOOP"))?,
            };
            check_sender_readback(&config, got)?;
        }
        unicast
            .set_nonblocking(true)
            .map_err(NetError::io("set unicast non-blocking"))?;
        unicast
            .bind(&config.bind.into())
            .map_err(NetError::io("bind unicast socket"))?;
        let unicast =
            UdpSocket::from_std(unicast.into()).map_err(NetError::io("register unicast socket"))?;
        let local = unicast
            .local_addr()
            .map_err(NetError::io("read unicast address"))?;

        let group_rx = match (&config.group, config.join_group) {
            (GroupMode::Multicast(group), true) => {
                let (socket, granted) = group_receiver(*group, &config)?;
                recv_buffer = recv_buffer.min(granted);
                Some(RecvSocket::new(socket))
            }
            _ => None,
        };

        if recv_buffer < config.recv_buffer {
            tracing::warn!(
                asked = config.recv_buffer,
                obtained = recv_buffer,
                "receive buffer smaller than asked (net.core.rmem_max?): bursts may be dropped"
            );
        }
        tracing::info!(
            %local,
            group = ?config.group,
            joined = group_rx.is_some(),
            recv_buffer_asked = config.recv_buffer,
            recv_buffer_obtained = recv_buffer,
            "udp transport bound"
        );
        Ok(UdpTransport {
            unicast: RecvSocket::new(unicast),
            group_rx,
            local,
            config,
            recv_buffer,
        })
    }

    /// The smallest receive buffer (bytes, as the kernel reports it) among this node's sockets,
    /// so operators and tests can check the 4 MiB request was honoured.
    pub fn recv_buffer_size(&self) -> usize {
        self.recv_buffer
    }

    /// `IP_MULTICAST_IF` read live from the sending socket — for tests and diagnostics that
    /// want to see the assertion hold, not just trust it.
    pub fn multicast_if(&self) -> Result<Ipv4Addr, NetError> {
        SockRef::from(&self.unicast.socket)
            .multicast_if_v4()
            .map_err(NetError::io("read IP_MULTICAST_IF"))
    }

    /// The group this node sends to.
    pub fn group(&self) -> &GroupMode {
        &self.config.group
    }

    /// Refuses, before the kernel sees it, anything that could leave the machine or reach a
    /// multicast group whose interface was not asserted.
    fn check_destination(&self, to: SocketAddr) -> Result<(), NetError> {
        if to.ip().is_multicast() {
            return match self.config.group {
                GroupMode::Multicast(group) if to == SocketAddr::V4(group) => Ok(()),
                _ => Err(NetError::Config(format!(
                    "{to} is a multicast address other than this node's group"
                ))),
            };
        }
        if self.config.loopback_only && !is_loopback(to.ip()) {
            return Err(NetError::NonLoopback(to));
        }
        Ok(())
    }

    async fn send_checked(&self, to: SocketAddr, datagram: &[u8]) -> Result<(), NetError> {
        self.check_destination(to)?;
        if datagram.len() > MAX_DATAGRAM {
            return Err(NetError::TooLarge(datagram.len()));
        }
        let sent = self
            .unicast
            .socket
            .send_to(datagram, to)
            .await
            .map_err(NetError::io("send datagram"))?;
        // UDP sends whole datagrams or fails; a short count would be a kernel oddity worth a log.
        if sent != datagram.len() {
            tracing::warn!(%to, sent, len = datagram.len(), "short datagram send");
        }
        Ok(())
    }
}

impl Transport for UdpTransport {
    fn local_addr(&self) -> SocketAddr {
        self.local
    }

    fn send_to(&self, to: SocketAddr, datagram: Bytes) -> BoxFuture<'_, Result<(), NetError>> {
        Box::pin(async move { self.send_checked(to, &datagram).await })
    }

    fn send_group(&self, datagram: Bytes) -> BoxFuture<'_, Result<(), NetError>> {
        Box::pin(async move {
            match &self.config.group {
                GroupMode::Multicast(group) => {
                    self.send_checked(SocketAddr::V4(*group), &datagram).await
                }
                GroupMode::Fanout(members) => {
                    let mut first_error = None;
                    for member in members {
                        if let Err(e) = self.send_checked(*member, &datagram).await {
                            tracing::debug!(%member, error = %e, "fan-out send failed");
                            first_error.get_or_insert(e);
                        }
                    }
                    first_error.map_or(Ok(()), Err)
                }
            }
        })
    }

    fn recv(&self) -> BoxFuture<'_, Result<(SocketAddr, Bytes), NetError>> {
        Box::pin(async move {
            match &self.group_rx {
                None => self.unicast.recv().await,
                // Both branches are cancel-safe, so the one that loses the race loses nothing.
                Some(group) => tokio::select! {
                    r = self.unicast.recv() => r,
                    r = group.recv() => r,
                },
            }
        })
    }
}

/// A receiving socket with its own scratch buffer, reused for every datagram so that receiving
/// neither allocates nor zeroes 64 KiB each time.
#[derive(Debug)]
struct RecvSocket {
    /// The socket itself.
    socket: UdpSocket,
    /// Room for the largest datagram; locked only inside the non-blocking read.
    scratch: Mutex<Vec<u8>>,
}

impl RecvSocket {
    fn new(socket: UdpSocket) -> Self {
        RecvSocket {
            socket,
            scratch: Mutex::new(vec![0; MAX_DATAGRAM + 1]),
        }
    }

    /// Receives one datagram, copied into a right-sized buffer so a small message does not
    /// pin 64 KiB for as long as the protocol keeps it. Cancel-safe: the only await is
    /// `readable()`, and a datagram is taken off the socket only in the synchronous part.
    async fn recv(&self) -> Result<(SocketAddr, Bytes), NetError> {
        loop {
            self.socket
                .readable()
                .await
                .map_err(NetError::io("wait for datagram"))?;
            let received = {
                // Poisoning needs a panic inside try_recv_from; the buffer is plain bytes either way.
                let mut scratch = self.scratch.lock().unwrap_or_else(|p| p.into_inner());
                self.socket
                    .try_recv_from(&mut scratch)
                    .map(|(n, from)| (from, Bytes::copy_from_slice(&scratch[..n])))
            };
            match received {
                Ok(datagram) => return Ok(datagram),
                // Readiness was stale (another task took the datagram): wait again.
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                Err(e) => {
                    return Err(NetError::Io {
                        op: "receive datagram",
                        source: e,
                    });
                }
            }
        }
    }
}

/// Asks for `asked` bytes of receive buffer and returns what the kernel granted.
fn raise_recv_buffer(socket: &Socket, asked: usize) -> Result<usize, NetError> {
    socket
        .set_recv_buffer_size(asked)
        .map_err(NetError::io("set SO_RCVBUF"))?;
    socket
        .recv_buffer_size()
        .map_err(NetError::io("read SO_RCVBUF"))
}

/// A socket that hears the multicast group on `config.interface` and nothing else: bound to
/// the group address (a socket bound to 0.0.0.0 also gets other groups on the same port), with
/// address and port reuse so every member on this machine can bind it.
fn group_receiver(group: SocketAddrV4, config: &UdpConfig) -> Result<(UdpSocket, usize), NetError> {
    let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))
        .map_err(NetError::io("create group socket"))?;
    socket
        .set_reuse_address(true)
        .map_err(NetError::io("set SO_REUSEADDR"))?;
    #[cfg(unix)]
    socket
        .set_reuse_port(true)
        .map_err(NetError::io("set SO_REUSEPORT"))?;
    #[cfg(target_os = "linux")]
    socket
        .set_multicast_all_v4(false)
        .map_err(NetError::io("clear IP_MULTICAST_ALL"))?;
    let granted = raise_recv_buffer(&socket, config.recv_buffer)?;
    socket
        .bind(&SocketAddr::V4(group).into())
        .map_err(NetError::io("bind group address"))?;
    // validate() has already refused 0.0.0.0 (and non-loopback when loopback-only).
    socket
        .join_multicast_v4(group.ip(), &config.interface)
        .map_err(NetError::io("join multicast group"))?;
    socket
        .set_nonblocking(true)
        .map_err(NetError::io("set group socket non-blocking"))?;
    let socket =
        UdpSocket::from_std(socket.into()).map_err(NetError::io("register group socket"))?;
    Ok((socket, granted))
}

/// `IpAddr::is_loopback`, also accepting IPv4-mapped IPv6 loopback (`::ffff:127.0.0.1`).
fn is_loopback(ip: IpAddr) -> bool {
    ip.to_canonical().is_loopback()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn multicast_config() -> UdpConfig {
        UdpConfig::loopback(GroupMode::Multicast(SocketAddrV4::new(
            Ipv4Addr::new(239, 255, 77, 1),
            7700,
        )))
    }

    #[test]
    fn readback_mismatch_is_refused() {
        let config = multicast_config();
        let good = SenderReadback {
            interface: Ipv4Addr::LOCALHOST,
            ttl: 0,
            looped: true,
        };
        assert!(check_sender_readback(&config, good).is_ok());
        for bad in [
            SenderReadback {
                interface: Ipv4Addr::UNSPECIFIED,
                ..good
            },
            SenderReadback {
                interface: Ipv4Addr::new(10, 0, 0, 5),
                ..good
            },
            SenderReadback { ttl: 1, ..good },
            SenderReadback {
                looped: false,
                ..good
            },
        ] {
            assert!(
                matches!(
                    check_sender_readback(&config, bad),
                    Err(NetError::UnsafeMulticast(_))
                ),
                "{bad:?} must be refused"
            );
        }
    }

    #[test]
    fn a_node_on_loopback_keeps_every_loopback_check() {
        let group = GroupMode::Multicast(SocketAddrV4::new(Ipv4Addr::new(239, 255, 77, 1), 7700));
        let bind = SocketAddr::from((Ipv4Addr::LOCALHOST, 9701));
        let config = UdpConfig::for_node(bind, group.clone()).expect("loopback node");
        assert!(config.loopback_only);
        assert_eq!(config.interface, Ipv4Addr::LOCALHOST);
        assert_eq!(config.multicast_ttl, 0);
        assert_eq!(config.bind, bind);
        // A loopback node still refuses a peer off the machine.
        let lan_peer = GroupMode::Fanout(vec![SocketAddr::from(([10, 77, 1, 11], 7000))]);
        assert!(UdpConfig::for_node(bind, lan_peer).is_err());
    }

    #[test]
    fn a_node_on_another_address_multicasts_from_that_address_only() {
        let group = GroupMode::Multicast(SocketAddrV4::new(Ipv4Addr::new(239, 255, 77, 1), 7700));
        let bind = SocketAddr::from(([10, 77, 1, 11], 7000));
        let config = UdpConfig::for_node(bind, group.clone()).expect("namespaced node");
        assert!(!config.loopback_only);
        assert_eq!(config.interface, Ipv4Addr::new(10, 77, 1, 11));
        assert_eq!(config.multicast_ttl, 1, "never past a router");
        // Any interface (the default route's) is never derived.
        for unspecified in [
            SocketAddr::from((Ipv4Addr::UNSPECIFIED, 7000)),
            SocketAddr::from((std::net::Ipv6Addr::UNSPECIFIED, 7000)),
        ] {
            assert!(UdpConfig::for_node(unspecified, group.clone()).is_err());
            assert!(UdpConfig::for_node(unspecified, GroupMode::Fanout(vec![])).is_err());
        }
        // Multicast is IPv4 here; an IPv6 node must use fan-out.
        let v6 = SocketAddr::from((
            "fd00::11"
                .parse::<std::net::Ipv6Addr>()
                .expect("an IPv6 literal"),
            7000,
        ));
        assert!(UdpConfig::for_node(v6, group).is_err());
        assert!(UdpConfig::for_node(v6, GroupMode::Fanout(vec![])).is_ok());
    }

    #[test]
    fn unsafe_configs_are_refused() {
        let cases: Vec<(UdpConfig, &str)> = vec![
            (
                UdpConfig {
                    interface: Ipv4Addr::UNSPECIFIED,
                    ..multicast_config()
                },
                "INADDR_ANY",
            ),
            (
                UdpConfig {
                    interface: Ipv4Addr::new(192, 168, 1, 2),
                    ..multicast_config()
                },
                "uplink",
            ),
            (
                UdpConfig {
                    multicast_ttl: 2,
                    ..multicast_config()
                },
                "ttl 2",
            ),
            (
                UdpConfig {
                    bind: SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
                    ..multicast_config()
                },
                "bind 0.0.0.0",
            ),
            (
                UdpConfig::loopback(GroupMode::Multicast(SocketAddrV4::new(
                    Ipv4Addr::LOCALHOST,
                    7700,
                ))),
                "group not multicast",
            ),
            (
                UdpConfig::loopback(GroupMode::Fanout(vec![SocketAddr::from((
                    [10, 1, 2, 3],
                    9000,
                ))])),
                "non-loopback fan-out member",
            ),
        ];
        for (config, what) in cases {
            assert!(config.validate().is_err(), "{what} must be refused");
        }
        assert!(multicast_config().validate().is_ok());
        // Leaving loopback is allowed only when asked for explicitly, and never via 0.0.0.0.
        let lan = UdpConfig {
            interface: Ipv4Addr::new(192, 168, 1, 2),
            multicast_ttl: 1,
            loopback_only: false,
            ..multicast_config()
        };
        assert!(lan.validate().is_ok());
        assert!(
            UdpConfig {
                interface: Ipv4Addr::UNSPECIFIED,
                ..lan
            }
            .validate()
            .is_err()
        );
    }
}
