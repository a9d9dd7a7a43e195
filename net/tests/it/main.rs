//! Integration tests of dmtbs-net: one binary, one module per transport or layer.
//!
//! Real-UDP tests use loopback only (the transports refuse anything else by default), fresh
//! ephemeral ports and a per-run tag in every payload, so parallel test runs on the same
//! machine cannot feed each other datagrams unnoticed.

mod fault;
mod mem;
mod udp_multicast;
mod udp_unicast;

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use dmtbs_net::{Bytes, Transport};

/// Upper bound for any single wait on real sockets: generous for a loaded 2-core machine,
/// reached only when something is broken.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// A multicast group nobody else on this machine is using: an administratively scoped
/// address and a port the kernel just handed out as free.
pub fn fresh_group() -> SocketAddrV4 {
    static NEXT: AtomicU8 = AtomicU8::new(1);
    let port = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|s| s.local_addr())
        .expect("an ephemeral loopback port")
        .port();
    let host = NEXT.fetch_add(1, Ordering::Relaxed);
    SocketAddrV4::new(Ipv4Addr::new(239, 255, 77, host), port)
}

/// A tag unique to this test run, prefixed to payloads so stray datagrams are recognised.
pub fn run_tag() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    nanos ^ (u64::from(std::process::id()) << 32)
}

/// Payload `index` of run `tag`: 8 bytes of tag, 4 of index, padding to 100 bytes (the size
/// the networking figures were measured with).
pub fn payload(tag: u64, index: u32) -> Bytes {
    let mut v = Vec::with_capacity(100);
    v.extend_from_slice(&tag.to_be_bytes());
    v.extend_from_slice(&index.to_be_bytes());
    v.resize(100, 0xAB);
    Bytes::from(v)
}

/// The index of a payload made by [`payload`] with `tag`, or `None` for a foreign datagram.
pub fn index_of(tag: u64, datagram: &[u8]) -> Option<u32> {
    if datagram.len() != 100 || datagram[..8] != tag.to_be_bytes() {
        return None;
    }
    Some(u32::from_be_bytes(datagram[8..12].try_into().ok()?))
}

/// Receives until nothing arrives for `quiet`. Under paused tokio time this returns as soon as
/// every task is idle, without really waiting.
pub async fn drain<T: Transport + ?Sized>(t: &T, quiet: Duration) -> Vec<(SocketAddr, Bytes)> {
    let mut got = Vec::new();
    while let Ok(next) = tokio::time::timeout(quiet, t.recv()).await {
        got.push(next.expect("recv failed"));
    }
    got
}
