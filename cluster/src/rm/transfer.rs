//! State transfer between RMs over TCP: a state is megabytes (100,000 bookings ≈ 4 MB), too
//! big for datagrams. Each RM serves the states it exported at recent checkpoints on a TCP port
//! with the same number as its UDP port.
//!
//! ```text
//! request:  u32 length (big-endian) | a codec-framed `Message::StateWanted { seq, digest }`
//! answer:   "OK" | u64 length | postcard((CanonicalState, executed))     or     "NO" (not held)
//! ```
//!
//! The request is authenticated like a datagram (cluster key, sender an RM). The answer needs
//! no MAC: the fetcher hashes the state it receives and keeps it only if the digest is the one
//! two replicas agreed on. `executed` is the RM's table of executed requests at that checkpoint
//! (`executed.rs`, as bytes), which the digest does not cover: it comes from an RM whose replica
//! agreed, and only ever answers repeats of requests.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use dmtbs_contract::CanonicalState;
use dmtbs_host::StateDigest;
use dmtbs_metrics::prometheus_client::metrics::counter::Counter;
use dmtbs_proto::{Codec, Digest, Message, NodeId};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use super::checkpoints::{OwnStates, RmState};
use super::executed::Executed;

/// Largest request accepted: a `StateWanted` is under 100 bytes.
const MAX_REQUEST: u32 = 1_024;
/// Largest state accepted: far above any state the booking rules allow in practice, well
/// below what would exhaust memory.
const MAX_STATE: u64 = 1 << 30;
/// How long a peer may take to send its request.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Serves `own` states on `listener` until `shutdown`, counting those sent in `served`.
pub async fn serve(
    listener: TcpListener,
    codec: Arc<Codec>,
    own: OwnStates,
    shutdown: CancellationToken,
    served: Counter,
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
        let (codec, own, served) = (codec.clone(), own.clone(), served.clone());
        tokio::spawn(async move {
            match answer(stream, &codec, &own).await {
                Ok(true) => {
                    served.inc();
                }
                Ok(false) => {}
                Err(e) => tracing::warn!(%peer, error = %e, "state request refused"),
            }
        });
    }
}

/// Answers one state request; `true` if the state was sent.
async fn answer(mut stream: TcpStream, codec: &Codec, own: &OwnStates) -> anyhow::Result<bool> {
    let request = tokio::time::timeout(REQUEST_TIMEOUT, async {
        let len = stream.read_u32().await?;
        anyhow::ensure!(len <= MAX_REQUEST, "request of {len} bytes is too large");
        let mut bytes = vec![0; len as usize];
        stream.read_exact(&mut bytes).await?;
        Ok(bytes)
    })
    .await
    .map_err(|_| anyhow::anyhow!("no request in time"))??;
    let (sender, message) = codec
        .decode(&request)
        .map_err(|r| anyhow::anyhow!("rejected: {r}"))?;
    let (NodeId::Rm(from), Message::StateWanted { seq, digest }) = (sender, message) else {
        anyhow::bail!("not a state request from a replica manager");
    };
    let state = own
        .lock()
        .expect("not poisoned")
        .get(&seq)
        .filter(|(d, _)| *d == digest)
        .map(|(_, s)| s.clone());
    let sent = state.is_some();
    match state {
        Some(state) => {
            let bytes = postcard::to_allocvec(&(&state.replica, state.executed.to_bytes()))?;
            stream.write_all(b"OK").await?;
            stream.write_u64(bytes.len() as u64).await?;
            stream.write_all(&bytes).await?;
            tracing::info!(to = from, seq, bytes = bytes.len(), "state sent");
        }
        None => stream.write_all(b"NO").await?,
    }
    stream.shutdown().await?;
    Ok(sent)
}

/// Fetches the state at checkpoint `seq` with `digest` from the RM at `addr`, checking the
/// digest. Fails if it takes longer than `timeout`.
pub async fn fetch(
    addr: SocketAddr,
    codec: &Codec,
    seq: u64,
    digest: Digest,
    timeout: Duration,
) -> anyhow::Result<RmState> {
    let request = codec.encode(&Message::StateWanted { seq, digest });
    let fetched = tokio::time::timeout(timeout, async {
        let mut stream = TcpStream::connect(addr).await?;
        stream.write_u32(request.len() as u32).await?;
        stream.write_all(&request).await?;
        let mut status = [0; 2];
        stream.read_exact(&mut status).await?;
        anyhow::ensure!(&status == b"OK", "the peer does not hold checkpoint {seq}");
        let len = stream.read_u64().await?;
        anyhow::ensure!(len <= MAX_STATE, "state of {len} bytes is too large");
        let mut bytes = vec![0; len as usize];
        stream.read_exact(&mut bytes).await?;
        Ok(bytes)
    })
    .await
    .map_err(|_| anyhow::anyhow!("state transfer from {addr} took longer than {timeout:?}"))??;
    let (replica, executed): (CanonicalState, Vec<u8>) = postcard::from_bytes(&fetched)?;
    anyhow::ensure!(
        StateDigest::of(&replica).0 == digest,
        "the state from {addr} does not have the agreed digest"
    );
    let executed = Executed::from_bytes(&executed)
        .map_err(|e| anyhow::anyhow!("the executed-requests table from {addr}: {e}"))?;
    Ok(RmState { replica, executed })
}
