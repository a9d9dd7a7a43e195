//! Datagram transports for DMTBS.
//!
//! Every component (sequencer, replica managers, front ends) talks to the others with small,
//! opaque byte datagrams. This crate moves those datagrams and nothing else: it never looks
//! inside them (versioning and authentication live in the protocol crate), and protocol code
//! never names `tokio::net` — it holds a [`Transport`], so the same code runs over real UDP,
//! over an in-memory network in deterministic tests, and under a seeded fault layer.
//!
//! A node has one endpoint with a unicast address. It can send to one address
//! ([`Transport::send_to`]), send to "all replica managers" ([`Transport::send_group`]) and
//! receive whatever arrives on any of its sockets through one [`Transport::recv`]. How a group
//! send travels is a cluster setting, [`GroupMode`]: one multicast datagram, or one unicast
//! datagram per member for networks without multicast (all major clouds).
//!
//! # Layout
//!
//! - [`Transport`], [`GroupMode`], [`NetError`] (this file and `error.rs`): the abstraction.
//! - `udp.rs` — [`UdpTransport`]: real sockets (tokio + socket2). Multicast is confined to
//!   loopback by default and the sender's interface is read back and asserted before anything
//!   is sent (see `shared/notes/networking.md` for why).
//! - `mem.rs` — [`MemNetwork`] / [`MemTransport`]: an in-process hub with group membership and
//!   optionally bounded queues; no sockets.
//! - `fault.rs` — [`FaultPlan`] / [`FaultTransport`]: seeded loss, duplication and delay per
//!   link, over any transport, changeable at runtime, with counters.

mod error;
mod fault;
mod mem;
mod udp;

pub use error::NetError;
pub use fault::{FaultPlan, FaultStats, FaultTransport, LinkFaults};
pub use mem::{MemNetwork, MemStats, MemTransport};
pub use udp::{DEFAULT_RECV_BUFFER, UdpConfig, UdpTransport};

use std::future::Future;
use std::net::{SocketAddr, SocketAddrV4};
use std::pin::Pin;
use std::sync::Arc;

pub use bytes::Bytes;

/// The largest payload one IPv4 UDP datagram can carry (65,535 − 8 UDP − 20 IP header bytes).
/// The in-memory network enforces it too, so a test cannot pass with a datagram that real UDP
/// would refuse.
pub const MAX_DATAGRAM: usize = 65_507;

/// A boxed, `Send` future: what [`Transport`] methods return, so that the trait stays
/// object-safe and nodes can hold an `Arc<dyn Transport>` chosen from configuration at runtime.
/// One allocation per call is noise next to a system call.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// How a group send ("to every replica manager") reaches the members. Chosen in the cluster
/// configuration, because many networks carry no multicast.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupMode {
    /// One datagram to a multicast group address (e.g. `239.255.77.1:7700`); members join the
    /// group. Cheapest on a network that has multicast (~2.2× faster than fan-out at 100 B).
    Multicast(SocketAddrV4),
    /// One unicast datagram to each listed member address. Works everywhere. An empty list is
    /// allowed (a node that never sends to the group).
    Fanout(Vec<SocketAddr>),
}

/// One node's datagram endpoint.
///
/// Semantics are those of UDP whatever the implementation: a datagram arrives whole or not at
/// all, may be lost, duplicated or reordered (the fault layer makes that happen on purpose),
/// and a send succeeding says nothing about delivery. A group send reaches every member —
/// including the sender itself when it is a member — so all implementations agree.
///
/// `recv` is cancel-safe: dropping its future (e.g. in `tokio::select!`) loses no datagram.
pub trait Transport: Send + Sync + 'static {
    /// The unicast address others use to reach this node; the `from` they see.
    fn local_addr(&self) -> SocketAddr;

    /// Sends one datagram to one address.
    fn send_to(&self, to: SocketAddr, datagram: Bytes) -> BoxFuture<'_, Result<(), NetError>>;

    /// Sends one datagram to every group member, as configured by [`GroupMode`]. With fan-out
    /// every member is attempted even if one send fails; the first error is returned.
    fn send_group(&self, datagram: Bytes) -> BoxFuture<'_, Result<(), NetError>>;

    /// Waits for the next datagram on any of this node's sockets: `(sender, payload)`.
    fn recv(&self) -> BoxFuture<'_, Result<(SocketAddr, Bytes), NetError>>;
}

/// Lets nodes share one endpoint between tasks (`Arc<UdpTransport>`) or pick the transport at
/// runtime (`Arc<dyn Transport>`) and still hand it to anything generic over `Transport`.
impl<T: Transport + ?Sized> Transport for Arc<T> {
    fn local_addr(&self) -> SocketAddr {
        (**self).local_addr()
    }
    fn send_to(&self, to: SocketAddr, datagram: Bytes) -> BoxFuture<'_, Result<(), NetError>> {
        (**self).send_to(to, datagram)
    }
    fn send_group(&self, datagram: Bytes) -> BoxFuture<'_, Result<(), NetError>> {
        (**self).send_group(datagram)
    }
    fn recv(&self) -> BoxFuture<'_, Result<(SocketAddr, Bytes), NetError>> {
        (**self).recv()
    }
}

/// Same as for `Arc`: a `Box<dyn Transport>` is a transport.
impl<T: Transport + ?Sized> Transport for Box<T> {
    fn local_addr(&self) -> SocketAddr {
        (**self).local_addr()
    }
    fn send_to(&self, to: SocketAddr, datagram: Bytes) -> BoxFuture<'_, Result<(), NetError>> {
        (**self).send_to(to, datagram)
    }
    fn send_group(&self, datagram: Bytes) -> BoxFuture<'_, Result<(), NetError>> {
        (**self).send_group(datagram)
    }
    fn recv(&self) -> BoxFuture<'_, Result<(SocketAddr, Bytes), NetError>> {
        (**self).recv()
    }
}
