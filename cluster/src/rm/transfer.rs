//! State transfer between RMs over TCP: a state is megabytes (100,000 bookings ≈ 4 MB), too
//! big for datagrams. Each RM serves the states it exported at recent checkpoints on a TCP port
//! with the same number as its UDP port.
//!
//! ```text
//! request:  u32 length (big-endian) | a codec-framed `Message::StateWanted { seq, digest }`
//! answer:   salt (32 B) | sealed frames of: status (1 B: 1 held, 0 not held) | postcard((CanonicalState, executed))
//! ```
//!
//! The request is a datagram like any other (encrypted, authenticated, replay-protected by the
//! RM's transfer codec). It is answered only if its sender is a configured RM and the TCP peer's
//! IP address is that RM's configured IP; anything else is refused — the connection closed with
//! nothing sent, a warning logged, `state_transfers_refused` counted. The answer is the whole
//! state, personal data included, so it is encrypted and authenticated too: in
//! [`dmtbs_proto::stream`] frames of at most 64 KiB, under a key derived from the cluster key,
//! the server's random salt and the request itself (so an answer cannot be passed off as the
//! answer to another request), the last frame marked so a stream cut short is an error. The
//! fetcher still hashes the state it receives and keeps it only if the digest is the one two
//! replicas agreed on. `executed` is the RM's table of executed requests at that checkpoint
//! (`executed.rs`, as bytes); the checkpoint digest covers it too, so a lying replica's table
//! (its wrong outcomes, replayed for retried requests) is never taken.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use dmtbs_contract::CanonicalState;
use dmtbs_host::StateDigest;
use dmtbs_metrics::prometheus_client::metrics::counter::Counter;
use dmtbs_proto::codec::STREAM_SALT_LEN;
use dmtbs_proto::stream::FRAME_HEADER;
use dmtbs_proto::{Codec, Digest, Message, NodeId};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio_util::sync::CancellationToken;

use super::checkpoints::{OwnStates, RmState, checkpoint_digest};
use super::executed::Executed;
use crate::config::ClusterConfig;

/// Largest request accepted: a `StateWanted` is under 100 bytes.
const MAX_REQUEST: u32 = 1_024;
/// Largest state accepted: far above any state the booking rules allow in practice, well
/// below what would exhaust memory.
const MAX_STATE: usize = 1 << 30;
/// How long a peer may take to send its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// First byte of the sealed answer: the state follows.
const HELD: u8 = 1;
/// First (and only) byte of the sealed answer: the server does not hold that checkpoint.
const NOT_HELD: u8 = 0;

/// What the server counts.
#[derive(Clone)]
pub struct TransferCounters {
    /// States sent.
    pub served: Counter,
    /// Requests refused: not authentic, not fresh, not from a configured RM at its address, or
    /// not a state request.
    pub refused: Counter,
}

/// Why a request got no state.
enum Failure {
    /// The request itself was refused (counted, logged as a warning).
    Refused(String),
    /// The exchange broke after the request was accepted (the peer went away, say).
    Broken(anyhow::Error),
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure::Broken(e.into())
    }
}

/// Serves `own` states on `listener` until `shutdown`, to the RMs of `config` only.
pub async fn serve(
    listener: TcpListener,
    codec: Arc<Codec>,
    own: OwnStates,
    config: Arc<ClusterConfig>,
    shutdown: CancellationToken,
    counters: TransferCounters,
) {
    loop {
        let (stream, peer) = tokio::select! {
            _ = shutdown.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "state server: accept failed");
                    continue;
                }
            },
        };
        let (codec, own, config, counters) =
            (codec.clone(), own.clone(), config.clone(), counters.clone());
        tokio::spawn(async move {
            match answer(stream, peer, &codec, &own, &config).await {
                Ok(true) => {
                    counters.served.inc();
                }
                Ok(false) => {}
                Err(Failure::Refused(why)) => {
                    // Counted (`dmtbs_rm_state_transfers_refused_total`); a line each would let
                    // anyone who can connect fill the log.
                    counters.refused.inc();
                    tracing::debug!(%peer, reason = %why, "state request refused");
                }
                Err(Failure::Broken(e)) => {
                    tracing::warn!(%peer, error = %e, "state transfer failed");
                }
            }
        });
    }
}

/// Whether `sender` may ask for states from `peer`: a configured RM, connecting from its
/// configured IP address. (The port is the peer's own choice for an outgoing connection.)
fn is_configured_rm_at(config: &ClusterConfig, sender: NodeId, peer: IpAddr) -> bool {
    match sender {
        NodeId::Rm(id) => config.rm(id).is_some_and(|rm| rm.addr.ip() == peer),
        _ => false,
    }
}

/// Answers one state request; `true` if the state was sent.
async fn answer(
    mut stream: TcpStream,
    peer: SocketAddr,
    codec: &Codec,
    own: &OwnStates,
    config: &ClusterConfig,
) -> Result<bool, Failure> {
    let request = tokio::time::timeout(REQUEST_TIMEOUT, async {
        let len = stream.read_u32().await?;
        if len > MAX_REQUEST {
            return Err(Failure::Refused(format!(
                "request of {len} bytes is too large"
            )));
        }
        let mut bytes = vec![0; len as usize];
        stream.read_exact(&mut bytes).await?;
        Ok(bytes)
    })
    .await
    .map_err(|_| Failure::Refused("no request in time".into()))??;
    // The address check happens inside the codec, before the replay window: a copy of a
    // genuine request sent from elsewhere burns no nonce of the genuine RM.
    let (sender, message) = codec
        .decode_from(&request, |sender| {
            is_configured_rm_at(config, sender, peer.ip())
        })
        .map_err(|r| match r {
            dmtbs_proto::Reject::Misaddressed { sender } => Failure::Refused(format!(
                "{sender} is not a configured replica manager at {}",
                peer.ip()
            )),
            other => Failure::Refused(other.to_string()),
        })?;
    let (NodeId::Rm(from), Message::StateWanted { seq, digest }) = (sender, message) else {
        return Err(Failure::Refused(format!(
            "{sender} sent something other than a state request"
        )));
    };
    let state = own
        .lock()
        .expect("not poisoned")
        .get(&seq)
        .filter(|(d, _)| *d == digest)
        .map(|(_, s)| s.clone());
    let sent = state.is_some();
    let plain = match state {
        Some(state) => {
            postcard::to_extend(&(&*state.replica, state.executed.to_bytes()), vec![HELD])?
        }
        None => vec![NOT_HELD],
    };
    let (salt, mut sealer) = codec.new_stream(&request);
    stream.write_all(&salt).await?;
    for frame in sealer.seal_all(&plain) {
        stream.write_all(&frame).await?;
    }
    stream.shutdown().await?;
    if sent {
        tracing::info!(to = from, seq, bytes = plain.len(), "state sent");
    }
    Ok(sent)
}

/// Fetches the state at checkpoint `seq` with `digest` from the RM at `addr`, connecting from
/// `local` (this RM's configured IP: the server checks it), and checks the digest. Fails if it
/// takes longer than `timeout`.
pub(super) async fn fetch(
    addr: SocketAddr,
    local: Option<IpAddr>,
    codec: &Codec,
    seq: u64,
    digest: Digest,
    timeout: Duration,
) -> anyhow::Result<RmState> {
    let (replica, executed) = fetch_checked(addr, local, codec, seq, digest, timeout).await?;
    Ok(RmState {
        replica: Arc::new(replica),
        executed,
    })
}

/// [`fetch`], with the executed-requests table as the bytes it travels as: the state and that
/// table (their digest checked). Public so tests can ask an RM for a state as a peer would.
pub async fn fetch_raw(
    addr: SocketAddr,
    local: Option<IpAddr>,
    codec: &Codec,
    seq: u64,
    digest: Digest,
    timeout: Duration,
) -> anyhow::Result<(CanonicalState, Vec<u8>)> {
    let (replica, executed) = fetch_checked(addr, local, codec, seq, digest, timeout).await?;
    Ok((replica, executed.to_bytes()))
}

async fn fetch_checked(
    addr: SocketAddr,
    local: Option<IpAddr>,
    codec: &Codec,
    seq: u64,
    digest: Digest,
    timeout: Duration,
) -> anyhow::Result<(CanonicalState, Executed)> {
    let request = codec.encode(&Message::StateWanted { seq, digest });
    let plain = tokio::time::timeout(timeout, async {
        let socket = match addr {
            SocketAddr::V4(_) => TcpSocket::new_v4()?,
            SocketAddr::V6(_) => TcpSocket::new_v6()?,
        };
        if let Some(ip) = local {
            socket.bind(SocketAddr::new(ip, 0))?;
        }
        let mut stream = socket.connect(addr).await?;
        stream.write_u32(request.len() as u32).await?;
        stream.write_all(&request).await?;
        let mut salt = [0; STREAM_SALT_LEN];
        stream.read_exact(&mut salt).await.map_err(|e| {
            anyhow::anyhow!("no answer (the peer refused the request or went away): {e}")
        })?;
        let mut opener = codec.stream_opener(&salt, &request);
        let mut plain = Vec::new();
        while !opener.finished() {
            let mut header = [0; FRAME_HEADER];
            stream.read_exact(&mut header).await.map_err(|e| {
                anyhow::anyhow!("the answer was cut short after {} bytes: {e}", plain.len())
            })?;
            let len = opener.body_len(&header)?;
            anyhow::ensure!(
                plain.len() + len <= MAX_STATE,
                "state of more than {MAX_STATE} bytes is too large"
            );
            let mut body = vec![0; len];
            stream.read_exact(&mut body).await?;
            plain.extend(opener.open(&header, body)?);
        }
        anyhow::Ok(plain)
    })
    .await
    .map_err(|_| anyhow::anyhow!("state transfer from {addr} took longer than {timeout:?}"))??;
    match plain.split_first() {
        Some((&HELD, state)) => {
            let (replica, executed): (CanonicalState, Vec<u8>) = postcard::from_bytes(state)?;
            let table = Executed::from_bytes(&executed)
                .map_err(|e| anyhow::anyhow!("the executed-requests table from {addr}: {e}"))?;
            anyhow::ensure!(
                checkpoint_digest(StateDigest::of(&replica).0, &table) == digest,
                "the state from {addr} does not have the agreed digest"
            );
            Ok((replica, table))
        }
        Some((&NOT_HELD, [])) => anyhow::bail!("the peer does not hold checkpoint {seq}"),
        _ => anyhow::bail!("malformed answer from {addr}"),
    }
}
