//! A sequencer with a peer: the cluster's sequencer and the standby a cluster file may name.
//!
//! At most one of the two is *active* (recovering, starting or numbering: a [`Sequencer`]); the
//! other is *passive* and numbers nothing. The active one tells its peer so (`Active { epoch }`)
//! every heartbeat interval. A passive one that has not heard its peer for `failover_after`
//! becomes active: a new [`Sequencer`] asking the RMs for its lowest epoch above the peer's
//! (docs/protocol.md, "Standby sequencer"). An active one that hears its peer active in a
//! higher epoch steps down: the RMs have promised that epoch, so nothing it numbers is taken.
//!
//! Safety does not rest on the timing: the two own disjoint epochs (odd: the sequencer's,
//! even: the standby's), so two that both believe they are active never share an epoch, and
//! the RMs' promises settle which one numbers. The timing only keeps such duels rare.
//!
//! Starting up, both wait before campaigning — the sequencer `failover_after`, the standby
//! twice that — so a fresh cluster starts with the sequencer, and a sequencer restarted after
//! its standby took over finds it active and stays passive instead of deposing it (a second
//! pause for nothing). A sequencer without a peer is active from the start, as before.

use std::time::{Duration, Instant};

use dmtbs_contract::Date;
use dmtbs_proto::{Epoch, Message, NodeId, Outgoing};

use crate::config::SequencerConfig;
use crate::sequencer::Sequencer;

/// Counters of a [`Failover`], for metrics and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FailoverStats {
    /// Times this sequencer became active (its start included, when it campaigned then).
    pub took_over: u64,
    /// Times it stepped down on hearing its peer active in a higher epoch.
    pub stepped_down: u64,
    /// Messages for a sequencer that arrived while passive, dropped (front ends send to both).
    pub ignored_while_passive: u64,
    /// Times an active sequencer, deserted by a majority of the RMs or outbid by a promise
    /// whose epoch never started, started a new recovery (each also counts in `took_over`: a
    /// new [`Sequencer`]).
    pub recovered_again: u64,
    /// Of those, the times it was outbid: an RM kept reporting a promise above its epoch for
    /// the failover time ([`Sequencer::outbid`]).
    pub outbid: u64,
}

/// Active or passive.
#[derive(Debug)]
enum Role {
    Passive {
        /// When the peer was last heard active (or when this sequencer started / stepped down).
        heard: Instant,
        /// How long a silence makes this one take over.
        patience: Duration,
    },
    Active {
        sequencer: Box<Sequencer>,
        /// When the next `Active` goes to the peer.
        next_announce: Instant,
    },
}

/// One of the cluster's two sequencers (or the only one): feed it messages and ticks, send
/// what it returns.
#[derive(Debug)]
pub struct Failover {
    config: SequencerConfig,
    /// The other sequencer, if the cluster names a standby.
    peer: Option<NodeId>,
    failover_after: Duration,
    role: Role,
    /// The highest epoch the peer was heard active in.
    peer_epoch: Epoch,
    stats: FailoverStats,
}

impl Failover {
    /// Sequencer `config.me`, started at `now`; `peer` is the other sequencer if the cluster
    /// has two. Without a peer it is active at once.
    pub fn new(
        config: SequencerConfig,
        peer: Option<NodeId>,
        failover_after: Duration,
        now: Instant,
    ) -> Self {
        let mut failover = Failover {
            role: Role::Passive {
                heard: now,
                patience: if config.me == NodeId::Standby {
                    failover_after * 2
                } else {
                    failover_after
                },
            },
            config,
            peer,
            failover_after,
            peer_epoch: 0,
            stats: FailoverStats::default(),
        };
        if peer.is_none() {
            failover.take_over(now);
        }
        failover
    }

    /// Handles one authenticated message from `from` (see [`Sequencer::on_message`]).
    pub fn on_message(
        &mut self,
        from: NodeId,
        msg: Message,
        today: Date,
        now: Instant,
    ) -> Vec<Outgoing> {
        if let Message::Active { epoch } = msg {
            if Some(from) == self.peer && NodeId::sequencer_of(epoch) == from {
                self.on_peer_active(epoch, now);
            }
            return Vec::new();
        }
        match &mut self.role {
            Role::Active { sequencer, .. } => sequencer.on_message(from, msg, today, now),
            Role::Passive { .. } => {
                self.stats.ignored_while_passive += 1;
                Vec::new()
            }
        }
    }

    /// Advances time: a passive sequencer whose peer fell silent takes over; an active one
    /// ticks its [`Sequencer`] and tells its peer it is active.
    pub fn on_tick(&mut self, now: Instant) -> Vec<Outgoing> {
        if let Role::Passive { heard, patience } = self.role
            && now.duration_since(heard) >= patience
        {
            self.take_over(now);
        }
        if let Role::Active { sequencer, .. } = &self.role
            && sequencer.deserted(now, self.config.rm_timeout)
        {
            // The RMs went on to a later epoch (or promised one) whose sequencer died before
            // numbering: recover again, above both.
            let above = sequencer.epoch().max(self.peer_epoch);
            tracing::warn!(
                me = %self.config.me,
                epoch = sequencer.epoch(),
                "no majority of RMs takes this epoch: recovering in a new one"
            );
            self.stats.recovered_again += 1;
            self.stats.took_over += 1;
            self.activate(now, above);
        }
        if let Role::Active { sequencer, .. } = &self.role
            && let Some(promised) = sequencer.outbid(now, self.failover_after)
        {
            // An RM promised a later epoch whose sequencer has not started it for the failover
            // time — had it been alive and active, its `Active` would have made this one step
            // down — and takes nothing of this epoch beyond the end it reported: recover above
            // the promise (else that RM stays behind for good).
            let above = sequencer.epoch().max(self.peer_epoch).max(promised);
            tracing::warn!(
                me = %self.config.me,
                epoch = sequencer.epoch(),
                promised,
                "an RM keeps a promise to an epoch that never started: recovering above it"
            );
            self.stats.recovered_again += 1;
            self.stats.outbid += 1;
            self.stats.took_over += 1;
            self.activate(now, above);
        }
        let Role::Active {
            sequencer,
            next_announce,
        } = &mut self.role
        else {
            return Vec::new();
        };
        let mut out = sequencer.on_tick(now);
        if let Some(peer) = self.peer
            && now >= *next_announce
        {
            *next_announce = now + self.config.heartbeat_interval;
            out.push(Outgoing::To(
                peer,
                Message::Active {
                    epoch: sequencer.epoch(),
                },
            ));
        }
        out
    }

    /// The active [`Sequencer`], if this one is active.
    pub fn sequencer(&self) -> Option<&Sequencer> {
        match &self.role {
            Role::Active { sequencer, .. } => Some(sequencer),
            Role::Passive { .. } => None,
        }
    }

    /// Whether this sequencer is active (recovering, starting or numbering).
    pub fn is_active(&self) -> bool {
        self.sequencer().is_some()
    }

    /// The highest epoch the peer was heard active in (0: never).
    pub fn peer_epoch(&self) -> Epoch {
        self.peer_epoch
    }

    /// Which sequencer this is.
    pub fn me(&self) -> NodeId {
        self.config.me
    }

    /// The counters so far.
    pub fn stats(&self) -> FailoverStats {
        self.stats
    }

    fn take_over(&mut self, now: Instant) {
        self.stats.took_over += 1;
        if self.peer.is_some() {
            tracing::warn!(
                me = %self.config.me,
                peer_epoch = self.peer_epoch,
                "the other sequencer is silent: taking over in a new epoch"
            );
        }
        self.activate(now, self.peer_epoch);
    }

    /// A new [`Sequencer`], recovering in its lowest epoch above `after`.
    fn activate(&mut self, now: Instant, after: Epoch) {
        self.role = Role::Active {
            sequencer: Box::new(Sequencer::new_after(self.config.clone(), after)),
            next_announce: now,
        };
    }

    fn on_peer_active(&mut self, epoch: Epoch, now: Instant) {
        self.peer_epoch = self.peer_epoch.max(epoch);
        match &self.role {
            Role::Passive { .. } => {
                self.role = Role::Passive {
                    heard: now,
                    patience: self.failover_after,
                };
            }
            Role::Active { sequencer, .. } if epoch > sequencer.epoch() => {
                self.stats.stepped_down += 1;
                tracing::warn!(
                    me = %self.config.me,
                    epoch = sequencer.epoch(),
                    peer_epoch = epoch,
                    "the other sequencer is active in a higher epoch: stepping down"
                );
                self.role = Role::Passive {
                    heard: now,
                    patience: self.failover_after,
                };
            }
            // A lower epoch: the peer steps down when it hears this one.
            Role::Active { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dmtbs_proto::EpochState;

    const AFTER: Duration = Duration::from_millis(500);

    fn today() -> Date {
        Date {
            year: 2026,
            month: 12,
            day: 7,
        }
    }

    fn node(me: NodeId, now: Instant) -> Failover {
        let mut config = SequencerConfig::new([1, 2, 3, 4]);
        config.me = me;
        let peer = if me == NodeId::Sequencer {
            NodeId::Standby
        } else {
            NodeId::Sequencer
        };
        Failover::new(config, Some(peer), AFTER, now)
    }

    fn asked_epoch(out: &[Outgoing]) -> Option<Epoch> {
        out.iter().find_map(|o| match o {
            Outgoing::ToAllRms(Message::EpochWanted { epoch }) => Some(*epoch),
            _ => None,
        })
    }

    #[test]
    fn without_a_peer_a_sequencer_is_active_at_once() {
        let now = Instant::now();
        let mut f = Failover::new(SequencerConfig::new([1, 2, 3, 4]), None, AFTER, now);
        assert!(f.is_active());
        assert_eq!(asked_epoch(&f.on_tick(now)), Some(1));
    }

    #[test]
    fn the_sequencer_starts_first_and_the_standby_stays_passive_while_it_hears_it() {
        let t0 = Instant::now();
        let mut primary = node(NodeId::Sequencer, t0);
        let mut standby = node(NodeId::Standby, t0);
        assert!(primary.on_tick(t0 + AFTER / 2).is_empty());
        let out = primary.on_tick(t0 + AFTER);
        assert_eq!(asked_epoch(&out), Some(1));
        assert!(out.contains(&Outgoing::To(NodeId::Standby, Message::Active { epoch: 1 })));
        // The standby hears it just before its own (longer) patience runs out.
        let heard = t0 + AFTER * 2 - Duration::from_millis(1);
        standby.on_message(
            NodeId::Sequencer,
            Message::Active { epoch: 1 },
            today(),
            heard,
        );
        assert!(standby.on_tick(t0 + AFTER * 2).is_empty());
        assert!(!standby.is_active());
        // Submits reaching the passive standby are dropped, not numbered.
        standby.on_message(
            NodeId::FrontEnd(1),
            Message::Submit(Vec::new()),
            today(),
            heard,
        );
        assert_eq!(standby.stats().ignored_while_passive, 1);
        // Silence for the failover time: it takes over above the epoch it heard.
        let out = standby.on_tick(heard + AFTER);
        assert!(standby.is_active());
        assert_eq!(asked_epoch(&out), Some(2));
        assert_eq!(standby.stats().took_over, 1);
    }

    #[test]
    fn an_active_sequencer_steps_down_for_a_higher_epoch_and_ignores_a_lower_one() {
        let t0 = Instant::now();
        let mut primary = node(NodeId::Sequencer, t0);
        primary.on_tick(t0 + AFTER);
        assert!(primary.is_active());
        // A forged or confused claim: epoch 3 is not the standby's, so it is not believed.
        primary.on_message(NodeId::Standby, Message::Active { epoch: 3 }, today(), t0);
        assert!(primary.is_active());
        primary.on_message(NodeId::Standby, Message::Active { epoch: 4 }, today(), t0);
        assert!(!primary.is_active());
        assert_eq!(primary.stats().stepped_down, 1);
        assert_eq!(primary.peer_epoch(), 4);
        // When the standby falls silent, the sequencer takes over above epoch 4.
        let out = primary.on_tick(t0 + AFTER * 3);
        assert_eq!(asked_epoch(&out), Some(5));

        let mut standby = node(NodeId::Standby, t0);
        standby.on_tick(t0 + AFTER * 2);
        assert!(standby.is_active());
        standby.on_message(NodeId::Sequencer, Message::Active { epoch: 1 }, today(), t0);
        assert!(standby.is_active(), "epoch 1 is below the standby's 2");
    }

    #[test]
    fn a_restarted_sequencer_finds_the_standby_active_and_does_not_depose_it() {
        let t0 = Instant::now();
        let mut restarted = node(NodeId::Sequencer, t0);
        for step in 1..10u32 {
            let now = t0 + AFTER / 4 * step;
            restarted.on_message(NodeId::Standby, Message::Active { epoch: 6 }, today(), now);
            assert!(restarted.on_tick(now).is_empty());
        }
        assert!(!restarted.is_active());
        assert_eq!(restarted.stats().took_over, 0);
    }

    /// Seed 8353 of the simulator: the RMs started (or promised) a later epoch whose sequencer
    /// died before numbering; this one, never told, must not wait for them for ever: once no
    /// majority of them is live (`rm_timeout`), it recovers in a new epoch.
    #[test]
    fn a_sequencer_no_majority_of_rms_acknowledges_recovers_in_a_new_epoch() {
        let t0 = Instant::now();
        let mut f = Failover::new(SequencerConfig::new([1, 2, 3, 4]), None, AFTER, t0);
        assert_eq!(asked_epoch(&f.on_tick(t0)), Some(1));
        for rm in 1..=3 {
            let state = EpochState {
                rm,
                promised: 1,
                chain: vec![],
                durable_through: 0,
                fresh: false,
            };
            f.on_message(NodeId::Rm(rm), Message::EpochState(state), today(), t0);
        }
        let ack = |f: &mut Failover, rm, at| {
            let msg = Message::Ack {
                rm,
                through: 0,
                epoch: 1,
                promised: 1,
            };
            f.on_message(NodeId::Rm(rm), msg, today(), at);
        };
        for rm in 1..=3 {
            ack(&mut f, rm, t0);
        }
        assert_eq!(
            f.sequencer().map(|s| s.phase()),
            Some(crate::Phase::Numbering)
        );
        // RMs 1 and 2 go on acknowledging; RM 3 (and 4) fall silent.
        let timeout = crate::DEFAULT_RM_TIMEOUT;
        let almost = t0 + timeout - Duration::from_millis(1);
        ack(&mut f, 1, almost);
        ack(&mut f, 2, almost);
        assert_eq!(asked_epoch(&f.on_tick(almost)), None);
        assert_eq!(f.sequencer().map(|s| s.epoch()), Some(1));
        // RM 3 silent for `rm_timeout`: two live RMs are no majority.
        let out = f.on_tick(t0 + timeout);
        assert_eq!(asked_epoch(&out), Some(3), "{out:?}");
        assert_eq!(f.stats().recovered_again, 1);
        assert_eq!(f.stats().took_over, 2);
    }

    /// The sequencer `f`, active, numbering in epoch 1 from 0 (RMs 1–3 promised and acked).
    fn numbering_in_epoch_1(f: &mut Failover, t0: Instant) {
        assert_eq!(asked_epoch(&f.on_tick(t0)), Some(1));
        for rm in 1..=3 {
            let state = EpochState {
                rm,
                promised: 1,
                chain: vec![],
                durable_through: 0,
                fresh: false,
            };
            f.on_message(NodeId::Rm(rm), Message::EpochState(state), today(), t0);
        }
        for rm in 1..=3 {
            ack_in(f, rm, 1, 1, t0);
        }
        assert_eq!(
            f.sequencer().map(|s| s.phase()),
            Some(crate::Phase::Numbering)
        );
    }

    fn ack_in(f: &mut Failover, rm: u8, epoch: Epoch, promised: Epoch, at: Instant) {
        let msg = Message::Ack {
            rm,
            through: 0,
            epoch,
            promised,
        };
        f.on_message(NodeId::Rm(rm), msg, today(), at);
    }

    /// Bug 7 of the simulator (seeds 34791, 5961): RM 1 promised epoch 2 to the standby, which
    /// died before starting it; the sequencer goes on in epoch 1 with RMs 2–4 (a majority: it
    /// is not deserted), and RM 1 would refuse epoch 1's requests beyond its reported end for
    /// good. Hearing the promise in RM 1's `Ack`s for the failover time, with no `Active` from
    /// the standby, the sequencer recovers above it.
    #[test]
    fn a_promise_whose_epoch_never_starts_makes_the_sequencer_recover_above_it() {
        let t0 = Instant::now();
        let mut f = node(NodeId::Sequencer, t0);
        let t1 = t0 + AFTER;
        numbering_in_epoch_1(&mut f, t1);
        let tick = Duration::from_millis(20);
        let mut now = t1;
        while now < t1 + AFTER {
            ack_in(&mut f, 1, 1, 2, now);
            for rm in 2..=4 {
                ack_in(&mut f, rm, 1, 1, now);
            }
            assert_eq!(asked_epoch(&f.on_tick(now)), None, "{:?}", now - t1);
            now += tick;
        }
        ack_in(&mut f, 1, 1, 2, now);
        let out = f.on_tick(now);
        assert_eq!(asked_epoch(&out), Some(3), "{out:?}");
        assert_eq!(f.stats().outbid, 1);
        assert_eq!(f.stats().recovered_again, 1);
        assert_eq!(f.stats().took_over, 2);
    }

    /// A normal failover: the standby gets the RMs' promises for epoch 2 and starts it at once;
    /// the sequencer, not hearing the standby, hears those promises only until the RMs take the
    /// start (then they acknowledge the standby). That is no reason to campaign: it neither
    /// recovers above them nor duels (the standby's `Active`, when heard, makes it step down).
    #[test]
    fn a_promise_heard_only_until_its_epoch_starts_does_not_make_the_sequencer_recover() {
        let t0 = Instant::now();
        let mut f = node(NodeId::Sequencer, t0);
        let t1 = t0 + AFTER;
        numbering_in_epoch_1(&mut f, t1);
        let tick = Duration::from_millis(20);
        for step in 0..3u32 {
            for rm in 1..=4 {
                ack_in(&mut f, rm, 1, 2, t1 + tick * step);
            }
        }
        let mut now = t1;
        while now < t1 + AFTER * 4 {
            assert_eq!(asked_epoch(&f.on_tick(now)), None, "{:?}", now - t1);
            now += tick;
        }
        assert_eq!(f.stats().outbid, 0);
        // The standby is heard: the sequencer steps down.
        f.on_message(NodeId::Standby, Message::Active { epoch: 2 }, today(), now);
        assert!(!f.is_active());
    }

    #[test]
    fn an_active_sequencer_still_recovers_from_the_rms() {
        let t0 = Instant::now();
        let mut standby = node(NodeId::Standby, t0);
        standby.on_message(NodeId::Sequencer, Message::Active { epoch: 5 }, today(), t0);
        let out = standby.on_tick(t0 + AFTER);
        assert_eq!(asked_epoch(&out), Some(6));
        for rm in 1..=3 {
            standby.on_message(
                NodeId::Rm(rm),
                Message::EpochState(EpochState {
                    rm,
                    promised: 6,
                    chain: vec![(1, 0), (5, 30)],
                    durable_through: 40,
                    fresh: false,
                }),
                today(),
                t0 + AFTER,
            );
        }
        let sequencer = standby.sequencer().expect("active");
        assert_eq!(sequencer.epoch(), 6);
        assert_eq!(sequencer.start(), 40);
    }
}
