//! The one error type of this crate, typed so callers can tell a refused (unsafe or invalid)
//! configuration from an I/O failure.

use std::io;
use std::net::SocketAddr;

/// Why a transport operation failed.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// A system call failed; `op` says which step, for the log.
    #[error("{op}: {source}")]
    Io {
        /// The step that failed (e.g. "bind unicast socket").
        op: &'static str,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// The multicast setup could let traffic leave the machine (or a read-back did not match
    /// what was set), so the transport refuses to run.
    #[error("refusing unsafe multicast setup: {0}")]
    UnsafeMulticast(String),
    /// A loopback-only transport was asked to send to an address off this machine.
    #[error("refusing to send to {0}: transport is loopback-only")]
    NonLoopback(SocketAddr),
    /// The configuration is inconsistent (e.g. a group address that is not multicast).
    #[error("invalid transport configuration: {0}")]
    Config(String),
    /// In-memory network: another endpoint already holds this address.
    #[error("address {0} is already in use")]
    AddrInUse(SocketAddr),
    /// The datagram is larger than one UDP datagram can be.
    #[error("datagram of {0} bytes exceeds the UDP maximum of {max}", max = crate::MAX_DATAGRAM)]
    TooLarge(usize),
    /// The transport was shut down; no more datagrams will arrive.
    #[error("transport closed")]
    Closed,
}

impl NetError {
    /// Wraps an I/O error with the step that produced it.
    pub(crate) fn io(op: &'static str) -> impl FnOnce(io::Error) -> NetError {
        move |source| NetError::Io { op, source }
    }
}
