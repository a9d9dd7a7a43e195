//! Checkpoints: which state is known correct. Every RM exports its replica's state after every
//! K-th request (`checkpoint_every`), keeps it, and tells its peers the digest; a checkpoint is
//! *stable* once two RMs report the same digest for it (with at most one faulty replica, two
//! equal digests are a correct state). Between them, every `digest_every` requests, RMs compare
//! only the digest their replica keeps up to date (rules §7.1: no export, constant cost) — a
//! *digest check*, which finds a corrupt state as early without its cost growing with the
//! state. A replica whose own digest differs from an agreed one is faulty even if its answers
//! looked right. Sans-IO: the RM feeds reports in and acts on what comes out.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use dmtbs_contract::CanonicalState;
use dmtbs_host::StateDigest;
use dmtbs_proto::{Digest, RmId};
use sha2::{Digest as _, Sha256};

use super::executed::Executed;

/// Everything an RM's replica state is at a checkpoint: the replica's canonical state and the
/// RM's table of executed requests beside it; the checkpoint digest covers both.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RmState {
    /// Shared with the durable snapshot written from it.
    pub replica: Arc<CanonicalState>,
    pub executed: Executed,
}

impl RmState {
    /// The state of an RM that has applied nothing.
    pub fn empty() -> Self {
        RmState {
            replica: Arc::new(CanonicalState::empty()),
            executed: Executed::default(),
        }
    }

    /// The checkpoint digest of this state, computed from the whole of it (O(state)).
    pub fn digest(&self) -> Digest {
        checkpoint_digest(StateDigest::of(&self.replica).0, &self.executed)
    }
}

/// What RMs compare at checkpoints: the replica's state digest (rules §7.1) and the
/// executed-requests table's ([`Executed::digest`]), hashed together. The table holds the
/// outcomes the replica computed, so a lying replica's differs even when its state does not.
pub fn checkpoint_digest(replica: Digest, executed: &Executed) -> Digest {
    let mut hash = Sha256::new();
    hash.update(b"dmtbs checkpoint v1");
    hash.update(replica);
    hash.update(executed.digest());
    hash.finalize().into()
}

/// Most exported states kept (recent stable ones and newer ones awaiting agreement).
const MAX_OWN_STATES: usize = 8;
/// Own states of this many latest stable checkpoints are kept for peers to fetch.
const KEEP_STABLE: usize = 3;

/// A state this RM's replica exported at a checkpoint.
pub type OwnStates = Arc<Mutex<BTreeMap<u64, (Digest, Arc<RmState>)>>>;

/// The latest checkpoint two replicas agree on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stable {
    pub seq: u64,
    pub digest: Digest,
    /// The RMs whose replica reported this digest (where its state can be fetched).
    pub holders: BTreeSet<RmId>,
}

/// What a report changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Change {
    /// A newer checkpoint became stable (logs can be truncated below it).
    pub new_stable: Option<u64>,
    /// This RM's own digest disagrees with a stable checkpoint: its replica's state is corrupt.
    pub own_mismatch: Option<u64>,
}

pub struct Checkpoints {
    me: RmId,
    /// Full checkpoints (with a state) fall on multiples of this; other reports are digest
    /// checks.
    every: u64,
    /// Digest checks after the stable checkpoint that two RMs agree on.
    agreed: BTreeMap<u64, Digest>,
    /// This RM's latest report of either kind (for its status).
    latest_own: Option<(u64, Digest)>,
    /// Digests reported per checkpoint not older than the stable one.
    reports: BTreeMap<u64, BTreeMap<RmId, Digest>>,
    stable: Stable,
    /// The latest stable checkpoints (at most `KEEP_STABLE`): a lagging replica's late report
    /// for one of them is still checked against it.
    recent_stable: std::collections::VecDeque<(u64, Digest)>,
    /// This RM's own exported states at recent checkpoints (shared with the state server).
    own: OwnStates,
}

impl Checkpoints {
    /// Starting from a stable checkpoint (the empty state at 0 for a new cluster); full
    /// checkpoints every `every` requests.
    pub fn new(me: RmId, stable: Stable, every: u64) -> Self {
        Checkpoints {
            me,
            every: every.max(1),
            agreed: BTreeMap::new(),
            latest_own: None,
            reports: BTreeMap::new(),
            recent_stable: [(stable.seq, stable.digest)].into(),
            stable,
            own: Arc::default(),
        }
    }

    pub fn stable(&self) -> &Stable {
        &self.stable
    }

    /// The own states, for the state server.
    pub fn own_states(&self) -> OwnStates {
        self.own.clone()
    }

    /// Restart from a checkpoint installed by recovery (the peers' stable one).
    pub fn reset_to(&mut self, stable: Stable) {
        if stable.seq > self.stable.seq {
            self.remember_stable(stable.seq, stable.digest);
        }
        if stable.seq >= self.stable.seq {
            self.stable = stable;
        }
        let seq = self.stable.seq;
        self.reports.retain(|&s, _| s > seq);
        self.agreed.retain(|&s, _| s > seq);
        self.own
            .lock()
            .expect("not poisoned")
            .retain(|&s, _| s >= seq);
    }

    /// This RM's replica reported `digest` after `seq` at a digest check (no state).
    pub fn own_digest(&mut self, seq: u64, digest: Digest) -> Change {
        self.latest_own = Some((seq, digest));
        self.report(self.me, seq, digest)
    }

    /// This RM's replica exported `state` with `digest` after `seq`.
    pub fn own(&mut self, seq: u64, digest: Digest, state: Arc<RmState>) -> Change {
        self.latest_own = Some((seq, digest));
        {
            let mut own = self.own.lock().expect("not poisoned");
            own.insert(seq, (digest, state));
            // Without peers agreeing nothing becomes stable; memory stays bounded anyway.
            while own.len() > MAX_OWN_STATES {
                own.pop_first();
            }
        }
        self.report(self.me, seq, digest)
    }

    /// Keeps the last `KEEP_STABLE` stable checkpoints, and the own states of those only.
    fn remember_stable(&mut self, seq: u64, digest: Digest) {
        self.recent_stable.push_back((seq, digest));
        while self.recent_stable.len() > KEEP_STABLE {
            self.recent_stable.pop_front();
        }
        let oldest = self.recent_stable.front().map_or(seq, |&(s, _)| s);
        self.own
            .lock()
            .expect("not poisoned")
            .retain(|&s, _| s >= oldest);
    }

    /// Our own state at the stable checkpoint, if our digest there is the stable one.
    pub fn own_stable_state(&self) -> Option<Arc<RmState>> {
        let own = self.own.lock().expect("not poisoned");
        own.get(&self.stable.seq)
            .filter(|(d, _)| *d == self.stable.digest)
            .map(|(_, s)| s.clone())
    }

    /// Forget everything after `seq` (a new sequencer epoch discarded those requests).
    pub fn forget_after(&mut self, seq: u64) {
        self.reports.retain(|&s, _| s <= seq);
        self.agreed.retain(|&s, _| s <= seq);
        self.latest_own = self.latest_own.filter(|&(s, _)| s <= seq);
        self.own
            .lock()
            .expect("not poisoned")
            .retain(|&s, _| s <= seq);
    }

    /// Our own state at `seq` if it is the agreed one there (for a snapshot).
    pub fn own_agreed(&self, seq: u64, digest: Digest) -> Option<Arc<RmState>> {
        let own = self.own.lock().expect("not poisoned");
        own.get(&seq)
            .filter(|(d, _)| *d == digest)
            .map(|(_, s)| s.clone())
    }

    /// This replica's latest reported digest (a checkpoint's or a digest check's).
    pub fn own_latest(&self) -> Option<(u64, Digest)> {
        self.latest_own
    }

    /// RM `rm` reports `digest` after `seq`.
    pub fn report(&mut self, rm: RmId, seq: u64, digest: Digest) -> Change {
        let mut change = Change::default();
        if seq < self.stable.seq {
            // Late (this RM's replica lags behind its peers): a liar must not escape the check
            // by being slow.
            let differs = self
                .recent_stable
                .iter()
                .any(|&(s, d)| s == seq && d != digest);
            if rm == self.me && differs {
                change.own_mismatch = Some(seq);
            }
            return change;
        }
        if seq == self.stable.seq {
            if digest == self.stable.digest {
                self.stable.holders.insert(rm);
            } else if rm == self.me {
                change.own_mismatch = Some(seq);
            }
            return change;
        }
        if let Some(&agreed) = self.agreed.get(&seq) {
            if rm == self.me && digest != agreed {
                change.own_mismatch = Some(seq);
            }
            return change;
        }
        let reports = self.reports.entry(seq).or_default();
        reports.insert(rm, digest);
        let agreeing: BTreeSet<RmId> = reports
            .iter()
            .filter(|&(_, d)| *d == digest)
            .map(|(&r, _)| r)
            .collect();
        if agreeing.len() >= 2 && !seq.is_multiple_of(self.every) {
            // A digest check: agreed, but there is no state to fetch at it.
            let own = reports.get(&self.me).copied();
            self.reports.remove(&seq);
            self.agreed.insert(seq, digest);
            if own.is_some_and(|d| d != digest) {
                change.own_mismatch = Some(seq);
            }
        } else if agreeing.len() >= 2 {
            let own = reports.get(&self.me).copied();
            self.stable = Stable {
                seq,
                digest,
                holders: agreeing,
            };
            self.reports.retain(|&s, _| s > seq);
            self.agreed.retain(|&s, _| s > seq);
            // Own states of the last few stable checkpoints stay: an RM that chose one to
            // fetch a moment ago must still find it here under load.
            self.remember_stable(seq, digest);
            change.new_stable = Some(seq);
            if own.is_some_and(|d| d != digest) {
                change.own_mismatch = Some(seq);
            }
        }
        change
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start() -> Checkpoints {
        Checkpoints::new(
            1,
            Stable {
                seq: 0,
                digest: [0; 32],
                holders: [1, 2, 3, 4].into(),
            },
            10,
        )
    }

    fn state() -> Arc<RmState> {
        Arc::new(RmState::empty())
    }

    #[test]
    fn stable_once_two_agree_and_not_before() {
        let mut c = start();
        assert_eq!(c.report(2, 10, [7; 32]), Change::default());
        assert_eq!(c.report(3, 10, [8; 32]), Change::default());
        let change = c.report(4, 10, [7; 32]);
        assert_eq!(change.new_stable, Some(10));
        assert_eq!(c.stable().holders, [2, 4].into());
        // A late matching report adds a holder; an old one changes nothing.
        c.report(1, 10, [7; 32]);
        assert_eq!(c.stable().holders, [1, 2, 4].into());
        assert_eq!(c.report(2, 5, [9; 32]), Change::default());
    }

    #[test]
    fn a_lagging_replicas_late_own_digest_is_still_checked() {
        let mut c = start();
        for seq in [10u64, 20] {
            c.report(2, seq, [seq as u8; 32]);
            c.report(3, seq, [seq as u8; 32]);
        }
        assert_eq!(c.stable().seq, 20);
        // This RM's replica reaches checkpoint 10 only now, with another digest.
        assert_eq!(c.own(10, [1; 32], state()).own_mismatch, Some(10));
        // Agreeing late is fine; a peer's late report is not this RM's business.
        assert_eq!(c.own(10, [10; 32], state()).own_mismatch, None);
        assert_eq!(c.report(4, 10, [1; 32]), Change::default());
    }

    #[test]
    fn own_digest_disagreeing_with_the_stable_one_is_reported_whichever_comes_first() {
        // Own first, then two peers agree on another digest.
        let mut c = start();
        c.own(10, [1; 32], state());
        c.report(2, 10, [7; 32]);
        let change = c.report(3, 10, [7; 32]);
        assert_eq!(change.own_mismatch, Some(10));
        assert!(c.own_stable_state().is_none());
        // Peers first, own later.
        let mut c = start();
        c.report(2, 10, [7; 32]);
        c.report(3, 10, [7; 32]);
        assert_eq!(c.own(10, [1; 32], state()).own_mismatch, Some(10));
        // Own agreeing: no mismatch, and the own state serves recovery.
        let mut c = start();
        c.report(2, 10, [7; 32]);
        assert_eq!(c.own(10, [7; 32], state()).own_mismatch, None);
        assert!(c.own_stable_state().is_some());
    }

    #[test]
    fn own_states_of_the_last_three_stable_checkpoints_are_kept() {
        let mut c = start();
        for seq in [10u64, 20, 30, 40] {
            c.own(seq, [seq as u8; 32], state());
            c.report(2, seq, [seq as u8; 32]);
        }
        let own = c.own_states();
        let kept: Vec<u64> = own.lock().unwrap().keys().copied().collect();
        assert_eq!(kept, [20, 30, 40]);
    }

    #[test]
    fn digest_checks_find_a_corrupt_replica_but_never_become_stable() {
        // Between full checkpoints (every 10), checks at 13: peers agree, own differs.
        let mut c = start();
        c.report(2, 13, [5; 32]);
        let change = c.report(3, 13, [5; 32]);
        assert_eq!(
            change,
            Change::default(),
            "agreed, but no state to fetch there"
        );
        assert_eq!(c.stable().seq, 0);
        assert_eq!(c.own_digest(13, [6; 32]).own_mismatch, Some(13));
        assert_eq!(c.own_latest(), Some((13, [6; 32])));
        // Own first this time, then the peers agree on another digest.
        let mut c = start();
        assert_eq!(c.own_digest(17, [6; 32]), Change::default());
        c.report(2, 17, [5; 32]);
        assert_eq!(c.report(3, 17, [5; 32]).own_mismatch, Some(17));
        // Agreeing with the peers is no mismatch; a full checkpoint later is stable as before.
        let mut c = start();
        c.report(2, 13, [5; 32]);
        c.report(3, 13, [5; 32]);
        assert_eq!(c.own_digest(13, [5; 32]).own_mismatch, None);
        c.report(2, 20, [7; 32]);
        assert_eq!(c.report(3, 20, [7; 32]).new_stable, Some(20));
        assert!(
            c.agreed.is_empty(),
            "checks before the stable checkpoint are forgotten"
        );
    }
}
