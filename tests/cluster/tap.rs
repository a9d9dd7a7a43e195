//! A recording wrapper around a node's transport: keeps a copy of every datagram the node sends
//! and receives, and can send any bytes through the node's own socket — so a test can replay a
//! genuine datagram from its genuine sender's address, or read what the node was told.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use dmtbs_net::{BoxFuture, Bytes, NetError, Transport, UdpTransport};
use dmtbs_proto::NodeId;

/// Where a recorded datagram was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dest {
    To(SocketAddr),
    Group,
}

#[derive(Default)]
struct Log {
    sent: Vec<(Dest, Bytes)>,
    received: Vec<(SocketAddr, Bytes)>,
}

pub struct Tap {
    inner: Arc<dyn Transport>,
    log: Mutex<Log>,
}

impl Tap {
    pub fn new(inner: Arc<dyn Transport>) -> Self {
        Tap {
            inner,
            log: Mutex::default(),
        }
    }

    /// Datagrams the node sent to `dest`, in order.
    pub fn sent(&self, dest: Dest) -> Vec<Bytes> {
        let log = self.log.lock().expect("tap log");
        log.sent
            .iter()
            .filter(|(d, _)| *d == dest)
            .map(|(_, b)| b.clone())
            .collect()
    }

    /// Datagrams the node received from `from`, in order.
    pub fn received_from(&self, from: SocketAddr) -> Vec<Bytes> {
        let log = self.log.lock().expect("tap log");
        log.received
            .iter()
            .filter(|(f, _)| *f == from)
            .map(|(_, b)| b.clone())
            .collect()
    }

    /// Sends `datagram` through the node's own socket (not recorded).
    pub async fn inject(&self, to: SocketAddr, datagram: Bytes) {
        self.inner
            .send_to(to, datagram)
            .await
            .expect("loopback send");
    }
}

impl Transport for Tap {
    fn local_addr(&self) -> SocketAddr {
        self.inner.local_addr()
    }

    fn send_to(&self, to: SocketAddr, datagram: Bytes) -> BoxFuture<'_, Result<(), NetError>> {
        self.log
            .lock()
            .expect("tap log")
            .sent
            .push((Dest::To(to), datagram.clone()));
        self.inner.send_to(to, datagram)
    }

    fn send_group(&self, datagram: Bytes) -> BoxFuture<'_, Result<(), NetError>> {
        self.log
            .lock()
            .expect("tap log")
            .sent
            .push((Dest::Group, datagram.clone()));
        self.inner.send_group(datagram)
    }

    fn recv(&self) -> BoxFuture<'_, Result<(SocketAddr, Bytes), NetError>> {
        Box::pin(async move {
            // Cancel-safe like the inner transport: nothing awaits after the datagram is taken.
            let (from, datagram) = self.inner.recv().await?;
            self.log
                .lock()
                .expect("tap log")
                .received
                .push((from, datagram.clone()));
            Ok((from, datagram))
        })
    }
}

/// The taps of a cluster's nodes, filled in as the cluster starts.
#[derive(Default, Clone)]
pub struct Taps(Arc<Mutex<HashMap<NodeId, Arc<Tap>>>>);

impl Taps {
    /// A `LocalCluster` wrap that taps every node, after passing its endpoint through `inner`
    /// (e.g. a fault layer).
    pub fn wrap(
        &self,
        inner: impl Fn(NodeId, UdpTransport) -> Arc<dyn Transport> + Send + Sync + 'static,
    ) -> impl Fn(NodeId, UdpTransport) -> Arc<dyn Transport> + Send + Sync + 'static {
        let taps = self.clone();
        move |node, udp| {
            let tap = Arc::new(Tap::new(inner(node, udp)));
            taps.0.lock().expect("taps").insert(node, tap.clone());
            tap
        }
    }

    pub fn of(&self, node: NodeId) -> Arc<Tap> {
        self.0.lock().expect("taps")[&node].clone()
    }
}
