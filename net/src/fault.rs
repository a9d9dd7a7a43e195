//! A seeded fault layer over any [`Transport`]: per link (sender → receiver) it drops,
//! duplicates and delays datagrams, and counts what it did.
//!
//! Faults are applied **where a datagram arrives**: one multicast send is many arrivals, and
//! only the receiving side can fault one replica manager's copy and not the others' (kernel
//! faults on `lo` hit all receivers alike). To fault the link A → B, wrap B's transport.
//!
//! Determinism: the decisions for the n-th datagram arriving on link (A → B) are a pure
//! function of `(seed, A, B, n)` — a counter-based generator, not one shared random stream —
//! so they do not depend on how tasks interleave across links. The same seed and the same
//! per-link arrival order give the same drops, copies and delays every run.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::task::{AbortHandle, JoinSet};

use crate::{BoxFuture, NetError, Transport};

/// Datagrams the fault layer can hold between its pump and `recv` before it stops reading the
/// inner transport (whose own buffer then absorbs or drops, as it would without the layer).
const PUMP_QUEUE: usize = 4096;

/// Faults applied to one link, or to all links.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LinkFaults {
    /// Percentage (0–100) of arriving datagrams dropped.
    pub loss_pct: f64,
    /// Percentage (0–100) of surviving datagrams delivered twice.
    pub duplicate_pct: f64,
    /// Each delivered copy waits a uniform 0..=`max_delay_ms` milliseconds; any value above 0
    /// therefore also reorders.
    pub max_delay_ms: u64,
}

impl LinkFaults {
    /// No faults: every datagram passes at once.
    pub const NONE: LinkFaults = LinkFaults {
        loss_pct: 0.0,
        duplicate_pct: 0.0,
        max_delay_ms: 0,
    };

    /// Only loss, the most common chaos setting.
    pub fn loss(pct: f64) -> Self {
        LinkFaults {
            loss_pct: pct,
            ..Self::NONE
        }
    }

    fn validate(&self) -> Result<(), NetError> {
        for (name, pct) in [("loss", self.loss_pct), ("duplicate", self.duplicate_pct)] {
            if !(0.0..=100.0).contains(&pct) {
                return Err(NetError::Config(format!(
                    "{name} percentage {pct} is not within 0..=100"
                )));
            }
        }
        Ok(())
    }
}

/// What the fault layer did, in total or on one link.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FaultStats {
    /// Datagrams that arrived and were judged (dropped or not).
    pub arrived: u64,
    /// Datagrams dropped.
    pub dropped: u64,
    /// Extra copies delivered.
    pub duplicated: u64,
    /// Copies held back by a non-zero delay.
    pub delayed: u64,
}

impl FaultStats {
    fn add(&mut self, other: &FaultStats) {
        self.arrived += other.arrived;
        self.dropped += other.dropped;
        self.duplicated += other.duplicated;
        self.delayed += other.delayed;
    }
}

/// The fault configuration and counters, shared by every wrapped endpoint of a test or node
/// (cheap to clone; clones are the same plan). Changing it takes effect at the next arrival,
/// which is what a test's chaos phase or a `chaos` command needs.
#[derive(Clone, Debug)]
pub struct FaultPlan {
    /// Shared with the pumps of every [`FaultTransport`] using this plan.
    inner: Arc<PlanInner>,
}

#[derive(Debug)]
struct PlanInner {
    /// Every decision derives from this; printed by tests so a failure can be replayed.
    seed: u64,
    /// Settings and counters; the lock is held only to decide, never across an await.
    state: Mutex<PlanState>,
}

#[derive(Debug, Default)]
struct PlanState {
    /// Faults for links without their own entry.
    all_links: LinkFaults,
    /// Per-link overrides, keyed (from, to).
    links: HashMap<(SocketAddr, SocketAddr), LinkFaults>,
    /// Per-link arrival count (the generator's counter) and statistics.
    counters: HashMap<(SocketAddr, SocketAddr), (u64, FaultStats)>,
}

/// The fate of one arriving datagram: one delay per delivered copy (empty: dropped).
type Decision = Vec<Duration>;

impl FaultPlan {
    /// A plan with no faults yet, all of whose decisions derive from `seed`.
    pub fn new(seed: u64) -> Self {
        FaultPlan {
            inner: Arc::new(PlanInner {
                seed,
                state: Mutex::default(),
            }),
        }
    }

    /// The seed, to print so a failing run can be reproduced.
    pub fn seed(&self) -> u64 {
        self.inner.seed
    }

    /// Sets the faults of every link that has no override of its own.
    pub fn set_all_links(&self, faults: LinkFaults) -> Result<(), NetError> {
        faults.validate()?;
        self.lock().all_links = faults;
        Ok(())
    }

    /// Sets the faults of the one link `from → to`, overriding the all-links setting.
    pub fn set_link_faults(
        &self,
        from: SocketAddr,
        to: SocketAddr,
        faults: LinkFaults,
    ) -> Result<(), NetError> {
        faults.validate()?;
        self.lock().links.insert((from, to), faults);
        Ok(())
    }

    /// Returns the link `from → to` to the all-links setting.
    pub fn clear_link_faults(&self, from: SocketAddr, to: SocketAddr) {
        self.lock().links.remove(&(from, to));
    }

    /// Faults currently applied to `from → to`.
    pub fn link_faults(&self, from: SocketAddr, to: SocketAddr) -> LinkFaults {
        let state = self.lock();
        state
            .links
            .get(&(from, to))
            .copied()
            .unwrap_or(state.all_links)
    }

    /// Totals over all links.
    pub fn stats(&self) -> FaultStats {
        let mut total = FaultStats::default();
        for (_, stats) in self.lock().counters.values() {
            total.add(stats);
        }
        total
    }

    /// Counters of the one link `from → to`.
    pub fn link_stats(&self, from: SocketAddr, to: SocketAddr) -> FaultStats {
        self.lock()
            .counters
            .get(&(from, to))
            .map(|(_, s)| *s)
            .unwrap_or_default()
    }

    fn lock(&self) -> MutexGuard<'_, PlanState> {
        // Every update under this lock is a single insert or counter bump, so a poisoned lock
        // still holds consistent data.
        self.inner
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Decides the fate of the next datagram arriving on `from → to`, and counts it.
    fn decide(&self, from: SocketAddr, to: SocketAddr) -> Decision {
        let mut state = self.lock();
        let faults = state
            .links
            .get(&(from, to))
            .copied()
            .unwrap_or(state.all_links);
        let (n, stats) = state.counters.entry((from, to)).or_default();
        let draw = Draw {
            seed: self.inner.seed,
            link: link_key(from, to),
            n: *n,
        };
        *n += 1;
        stats.arrived += 1;

        if draw.percent(0) < faults.loss_pct {
            stats.dropped += 1;
            return Vec::new();
        }
        let copies = if draw.percent(1) < faults.duplicate_pct {
            2
        } else {
            1
        };
        stats.duplicated += copies - 1;
        (0..copies)
            .map(|copy| {
                let ms = match faults.max_delay_ms {
                    0 => 0,
                    max => draw.value(2 + copy) % (max + 1),
                };
                if ms > 0 {
                    stats.delayed += 1;
                }
                Duration::from_millis(ms)
            })
            .collect()
    }
}

/// The random values for one arrival: a counter-based generator keyed by seed, link and
/// arrival number, drawing independent values per purpose.
struct Draw {
    seed: u64,
    link: u64,
    n: u64,
}

impl Draw {
    /// A 64-bit value for `purpose` (0 loss, 1 duplicate, 2.. delay of each copy).
    fn value(&self, purpose: u64) -> u64 {
        let mut h = splitmix64(self.seed);
        for word in [self.link, self.n, purpose] {
            h = splitmix64(h ^ word);
        }
        h
    }

    /// A uniform value in [0, 100) for comparing with a percentage.
    fn percent(&self, purpose: u64) -> f64 {
        // The top 53 bits fill an f64 mantissa exactly: uniform on [0, 1).
        (self.value(purpose) >> 11) as f64 / (1u64 << 53) as f64 * 100.0
    }
}

/// SplitMix64's step and finaliser: a fast bijective mixer with good avalanche, written out
/// here so decisions never change with a dependency's version.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A stable 64-bit key for a link (FNV-1a over both addresses), independent of std's randomly
/// seeded hasher so it is the same in every run.
fn link_key(from: SocketAddr, to: SocketAddr) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for b in bytes {
            h = (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    };
    for addr in [from, to] {
        match addr.ip() {
            IpAddr::V4(ip) => eat(&ip.octets()),
            IpAddr::V6(ip) => eat(&ip.octets()),
        }
        eat(&addr.port().to_be_bytes());
    }
    h
}

/// A transport whose arrivals pass through a [`FaultPlan`]; sends go straight to the inner
/// transport (the receiver's wrapper faults them). Must be created inside a tokio runtime: a
/// pump task reads the inner transport and schedules delayed copies; it stops when this is
/// dropped.
#[derive(Debug)]
pub struct FaultTransport<T> {
    /// The wrapped transport, shared with the pump.
    inner: Arc<T>,
    /// Shared settings and counters.
    plan: FaultPlan,
    /// What the pump let through, in delivery order.
    rx: tokio::sync::Mutex<mpsc::Receiver<Result<(SocketAddr, Bytes), NetError>>>,
    /// Stops the pump (and with it every pending delayed copy) on drop.
    pump: AbortHandle,
}

impl<T: Transport> FaultTransport<T> {
    /// Wraps `inner`, applying `plan` to every datagram it receives.
    pub fn new(inner: T, plan: FaultPlan) -> Self {
        let inner = Arc::new(inner);
        let (tx, rx) = mpsc::channel(PUMP_QUEUE);
        let pump = tokio::spawn(pump(Arc::clone(&inner), plan.clone(), tx)).abort_handle();
        FaultTransport {
            inner,
            plan,
            rx: tokio::sync::Mutex::new(rx),
            pump,
        }
    }

    /// The plan, to change faults at runtime or read counters.
    pub fn plan(&self) -> &FaultPlan {
        &self.plan
    }

    /// The wrapped transport (e.g. to read a UDP endpoint's buffer size).
    pub fn inner(&self) -> &T {
        &self.inner
    }
}

impl<T> Drop for FaultTransport<T> {
    fn drop(&mut self) {
        self.pump.abort();
    }
}

/// Reads the inner transport, judges each arrival, and forwards the surviving copies — at
/// once, or from a delay task owned by this pump so that aborting the pump cancels them.
async fn pump<T: Transport>(
    inner: Arc<T>,
    plan: FaultPlan,
    tx: mpsc::Sender<Result<(SocketAddr, Bytes), NetError>>,
) {
    let local = inner.local_addr();
    let mut delayed = JoinSet::new();
    loop {
        let arrival = tokio::select! {
            // Reap finished delay tasks so the set does not grow without bound.
            Some(_) = delayed.join_next(), if !delayed.is_empty() => continue,
            arrival = inner.recv() => arrival,
        };
        let (from, datagram) = match arrival {
            Ok(arrival) => arrival,
            Err(e) => {
                let closed = matches!(e, NetError::Closed);
                if tx.send(Err(e)).await.is_err() || closed {
                    return;
                }
                continue;
            }
        };
        for delay in plan.decide(from, local) {
            if delay.is_zero() {
                if tx.send(Ok((from, datagram.clone()))).await.is_err() {
                    return;
                }
            } else {
                let tx = tx.clone();
                let datagram = datagram.clone();
                delayed.spawn(async move {
                    tokio::time::sleep(delay).await;
                    // The receiver is gone only if the transport was dropped; nothing to do.
                    let _ = tx.send(Ok((from, datagram))).await;
                });
            }
        }
    }
}

impl<T: Transport> Transport for FaultTransport<T> {
    fn local_addr(&self) -> SocketAddr {
        self.inner.local_addr()
    }

    fn send_to(&self, to: SocketAddr, datagram: Bytes) -> BoxFuture<'_, Result<(), NetError>> {
        self.inner.send_to(to, datagram)
    }

    fn send_group(&self, datagram: Bytes) -> BoxFuture<'_, Result<(), NetError>> {
        self.inner.send_group(datagram)
    }

    fn recv(&self) -> BoxFuture<'_, Result<(SocketAddr, Bytes), NetError>> {
        Box::pin(async move {
            self.rx
                .lock()
                .await
                .recv()
                .await
                .unwrap_or(Err(NetError::Closed))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_depend_only_on_seed_link_and_count() {
        let a: SocketAddr = "127.0.0.1:1000".parse().expect("literal");
        let b: SocketAddr = "127.0.0.1:2000".parse().expect("literal");
        let faults = LinkFaults {
            loss_pct: 30.0,
            duplicate_pct: 30.0,
            max_delay_ms: 9,
        };
        let run = |seed: u64, interleave: bool| {
            let plan = FaultPlan::new(seed);
            plan.set_all_links(faults).expect("valid faults");
            (0..500)
                .map(|_| {
                    if interleave {
                        plan.decide(b, a); // another link's traffic must not shift a → b
                    }
                    plan.decide(a, b)
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(run(7, false), run(7, true));
        assert_ne!(run(7, false), run(8, false));
    }

    #[test]
    fn percentages_out_of_range_are_refused() {
        let plan = FaultPlan::new(1);
        assert!(plan.set_all_links(LinkFaults::loss(101.0)).is_err());
        assert!(plan.set_all_links(LinkFaults::loss(f64::NAN)).is_err());
        assert!(
            plan.set_all_links(LinkFaults {
                duplicate_pct: -1.0,
                ..LinkFaults::NONE
            })
            .is_err()
        );
        assert!(plan.set_all_links(LinkFaults::loss(100.0)).is_ok());
    }
}
