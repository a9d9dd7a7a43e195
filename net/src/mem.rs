//! An in-process network for deterministic tests: endpoints register under `SocketAddr`s with
//! a shared hub, multicast groups are explicit membership sets, and each endpoint has a FIFO
//! queue. No sockets, no threads of its own; delivery order is the order of sends.

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, SocketAddr, SocketAddrV4};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::{BoxFuture, GroupMode, MAX_DATAGRAM, NetError, Transport};

/// A datagram in a queue: `(sender, payload)`.
type Datagram = (SocketAddr, Bytes);

/// First port handed out for endpoints registered with port 0, well clear of the usual
/// configured ports so that tests mixing both do not collide.
const FIRST_AUTO_PORT: u16 = 40_000;

/// Counters of the hub, so tests can tell "lost because the queue was full" from "sent to
/// nobody".
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemStats {
    /// Datagrams placed in a receiver's queue (a group send counts once per member).
    pub delivered: u64,
    /// Datagrams dropped because the receiver's bounded queue was full, as a full UDP receive
    /// buffer drops them.
    pub dropped_full: u64,
    /// Datagrams sent to an address no endpoint holds (UDP drops those silently too).
    pub undeliverable: u64,
}

/// The shared in-memory network. Cheap to clone; all clones are the same network.
#[derive(Clone, Debug, Default)]
pub struct MemNetwork {
    /// Shared with every endpoint, which needs it to send and to unregister on drop.
    hub: Arc<Hub>,
}

#[derive(Debug, Default)]
struct Hub {
    /// `None`: unbounded queues. `Some(n)`: each endpoint queues at most `n` datagrams.
    capacity: Option<usize>,
    /// Everything that changes, behind one lock held only for non-blocking work.
    state: Mutex<HubState>,
}

#[derive(Debug, Default)]
struct HubState {
    /// Where each registered address's datagrams go.
    endpoints: HashMap<SocketAddr, QueueTx>,
    /// Multicast membership. Ordered sets so a group send fills queues in a fixed order.
    groups: HashMap<SocketAddrV4, BTreeSet<SocketAddr>>,
    /// Next port for a port-0 registration.
    next_port: u16,
    /// See [`MemStats`].
    stats: MemStats,
}

#[derive(Debug)]
enum QueueTx {
    Bounded(mpsc::Sender<Datagram>),
    Unbounded(mpsc::UnboundedSender<Datagram>),
}

#[derive(Debug)]
enum QueueRx {
    Bounded(mpsc::Receiver<Datagram>),
    Unbounded(mpsc::UnboundedReceiver<Datagram>),
}

impl MemNetwork {
    /// A network whose queues never fill (nothing is lost unless a fault layer says so).
    pub fn new() -> Self {
        Self::default()
    }

    /// A network whose endpoints queue at most `capacity` datagrams each; more are dropped and
    /// counted, like a UDP receive buffer overflowing. For tests of back-pressure and bursts.
    pub fn with_capacity(capacity: usize) -> Self {
        MemNetwork {
            hub: Arc::new(Hub {
                capacity: Some(capacity.max(1)),
                state: Mutex::default(),
            }),
        }
    }

    /// Registers an endpoint at `addr` (port 0: a free port on the same IP is chosen, as a
    /// kernel would). `group` is how its group sends travel; multicast membership is separate
    /// ([`MemNetwork::join`]) because, as with UDP, sending to a group does not mean hearing it.
    pub fn endpoint(&self, addr: SocketAddr, group: GroupMode) -> Result<MemTransport, NetError> {
        let mut state = self.hub.lock();
        let addr = if addr.port() == 0 {
            state.free_port(addr.ip())?
        } else {
            addr
        };
        if state.endpoints.contains_key(&addr) {
            return Err(NetError::AddrInUse(addr));
        }
        let (tx, rx) = match self.hub.capacity {
            Some(n) => {
                let (tx, rx) = mpsc::channel(n);
                (QueueTx::Bounded(tx), QueueRx::Bounded(rx))
            }
            None => {
                let (tx, rx) = mpsc::unbounded_channel();
                (QueueTx::Unbounded(tx), QueueRx::Unbounded(rx))
            }
        };
        state.endpoints.insert(addr, tx);
        drop(state);
        Ok(MemTransport {
            network: self.clone(),
            local: addr,
            group,
            rx: tokio::sync::Mutex::new(rx),
        })
    }

    /// Adds `member` to the multicast `group`: it receives every later send to the group.
    pub fn join(&self, group: SocketAddrV4, member: SocketAddr) {
        self.hub
            .lock()
            .groups
            .entry(group)
            .or_default()
            .insert(member);
    }

    /// Removes `member` from `group` — e.g. to cut one replica manager off the multicast.
    pub fn leave(&self, group: SocketAddrV4, member: SocketAddr) {
        if let Some(members) = self.hub.lock().groups.get_mut(&group) {
            members.remove(&member);
        }
    }

    /// Current members of `group`, in delivery order.
    pub fn members(&self, group: SocketAddrV4) -> Vec<SocketAddr> {
        self.hub
            .lock()
            .groups
            .get(&group)
            .map(|m| m.iter().copied().collect())
            .unwrap_or_default()
    }

    /// Counters since the network was created.
    pub fn stats(&self) -> MemStats {
        self.hub.lock().stats
    }

    /// Delivers one datagram to `to`, which may be a group address. Never blocks: a full queue
    /// drops, as UDP does.
    fn deliver(&self, from: SocketAddr, to: SocketAddr, datagram: Bytes) {
        let mut state = self.hub.lock();
        let group = match to {
            SocketAddr::V4(v4) if v4.ip().is_multicast() => Some(v4),
            _ => None,
        };
        match group {
            Some(group) => {
                let members: Vec<SocketAddr> = state
                    .groups
                    .get(&group)
                    .map(|m| m.iter().copied().collect())
                    .unwrap_or_default();
                for member in members {
                    state.deliver_one(from, member, datagram.clone());
                }
            }
            None => state.deliver_one(from, to, datagram),
        }
    }
}

impl Hub {
    fn lock(&self) -> MutexGuard<'_, HubState> {
        // A panic while holding this lock leaves only counters and maps, all still consistent
        // (every update is a single insert/remove), so a poisoned lock is safe to keep using.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl HubState {
    fn deliver_one(&mut self, from: SocketAddr, to: SocketAddr, datagram: Bytes) {
        let Some(queue) = self.endpoints.get(&to) else {
            self.stats.undeliverable += 1;
            return;
        };
        let ok = match queue {
            QueueTx::Bounded(tx) => tx.try_send((from, datagram)).is_ok(),
            QueueTx::Unbounded(tx) => tx.send((from, datagram)).is_ok(),
        };
        if ok {
            self.stats.delivered += 1;
        } else {
            self.stats.dropped_full += 1;
        }
    }

    fn free_port(&mut self, ip: IpAddr) -> Result<SocketAddr, NetError> {
        for _ in 0..=u16::MAX {
            if self.next_port < FIRST_AUTO_PORT {
                self.next_port = FIRST_AUTO_PORT;
            }
            let candidate = SocketAddr::new(ip, self.next_port);
            self.next_port = self.next_port.wrapping_add(1);
            if !self.endpoints.contains_key(&candidate) {
                return Ok(candidate);
            }
        }
        Err(NetError::AddrInUse(SocketAddr::new(ip, 0)))
    }
}

/// One endpoint of a [`MemNetwork`]. Dropping it unregisters its address and leaves its groups,
/// like a process exiting.
#[derive(Debug)]
pub struct MemTransport {
    /// The hub, to send through and to unregister from on drop.
    network: MemNetwork,
    /// This endpoint's address: its identity and the `from` of what it sends.
    local: SocketAddr,
    /// How group sends travel (a group address, or a member list).
    group: GroupMode,
    /// The queue; a lock because `recv` takes `&self` (an async lock, held across the wait, so
    /// concurrent receivers take turns instead of failing).
    rx: tokio::sync::Mutex<QueueRx>,
}

impl MemTransport {
    /// The network this endpoint belongs to (to join groups, read counters, add endpoints).
    pub fn network(&self) -> &MemNetwork {
        &self.network
    }

    fn send_now(&self, to: SocketAddr, datagram: Bytes) -> Result<(), NetError> {
        if datagram.len() > MAX_DATAGRAM {
            return Err(NetError::TooLarge(datagram.len()));
        }
        self.network.deliver(self.local, to, datagram);
        Ok(())
    }
}

impl Drop for MemTransport {
    fn drop(&mut self) {
        let mut state = self.network.hub.lock();
        state.endpoints.remove(&self.local);
        for members in state.groups.values_mut() {
            members.remove(&self.local);
        }
    }
}

impl Transport for MemTransport {
    fn local_addr(&self) -> SocketAddr {
        self.local
    }

    fn send_to(&self, to: SocketAddr, datagram: Bytes) -> BoxFuture<'_, Result<(), NetError>> {
        Box::pin(std::future::ready(self.send_now(to, datagram)))
    }

    fn send_group(&self, datagram: Bytes) -> BoxFuture<'_, Result<(), NetError>> {
        let result = match &self.group {
            GroupMode::Multicast(group) => self.send_now(SocketAddr::V4(*group), datagram),
            GroupMode::Fanout(members) => members
                .iter()
                .try_for_each(|m| self.send_now(*m, datagram.clone())),
        };
        Box::pin(std::future::ready(result))
    }

    fn recv(&self) -> BoxFuture<'_, Result<(SocketAddr, Bytes), NetError>> {
        Box::pin(async move {
            let mut rx = self.rx.lock().await;
            let next = match &mut *rx {
                QueueRx::Bounded(rx) => rx.recv().await,
                QueueRx::Unbounded(rx) => rx.recv().await,
            };
            // The sender half lives in the hub until this endpoint is dropped, so `None` cannot
            // happen while `self` exists; map it to Closed rather than trust that forever.
            next.ok_or(NetError::Closed)
        })
    }
}
