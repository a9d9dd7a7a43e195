//! Delivery: turns the lossy, duplicated, reordered stream of sequenced requests into each
//! request exactly once, in sequence order — what an RM hands its replica.
//!
//! Sans-IO: the RM feeds it every `Deliver` (from the sequencer or a peer) and `Heartbeat`, asks
//! it on each tick for a `Nack` and an `Ack` to send, and passes peers' `Nack`s to it to answer
//! from the log of delivered requests.
//!
//! Gap repair (NACK timing). A gap is noticed when a later request or a heartbeat shows that the
//! lowest undelivered number exists. [`Delivery::nack`] asks nothing until the gap is
//! `nack_interval` old (younger ones are usually reordering), then at most once per
//! `nack_interval`, first to the sequencer. If the lowest gap has not moved for `peer_after`
//! — the sequencer has dropped those requests from its buffer, or its answers are lost — the
//! requests go to the peer RMs in turn, and to the sequencer after each round of them (a
//! request whose every copy was lost is in its buffer only). Any progress restarts the clock at
//! the sequencer.
//!
//! Bounds: at most `holdback_limit` requests beyond the next one are held back (later ones are
//! dropped and asked for again once closer), the log keeps the last `log_limit` delivered
//! requests (and [`Delivery::truncate_below`] trims it at checkpoints), and one `Nack` asks for
//! at most `nack_max_items` requests.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use dmtbs_proto::{Epoch, Message, NodeId, Outgoing, RmId, SeqRange, Sequenced};

/// Default [`DeliveryConfig::nack_interval`]: longer than loopback reordering, short next to a
/// front end's deadline.
pub const DEFAULT_NACK_INTERVAL: Duration = Duration::from_millis(20);
/// Default [`DeliveryConfig::peer_after`]: several unanswered NACKs to the sequencer.
pub const DEFAULT_PEER_AFTER: Duration = Duration::from_millis(200);
/// Default [`DeliveryConfig::log_limit`]: enough for a peer to catch up across checkpoints.
pub const DEFAULT_LOG_LIMIT: usize = 65_536;
/// Default [`DeliveryConfig::holdback_limit`].
pub const DEFAULT_HOLDBACK_LIMIT: usize = 65_536;
/// Default [`DeliveryConfig::batch_limit`]: as the sequencer's, one unfragmented datagram.
pub const DEFAULT_BATCH_LIMIT: usize = 32;
/// Default [`DeliveryConfig::nack_max_items`]: the answer to one `Nack` stays a short burst.
pub const DEFAULT_NACK_MAX_ITEMS: u64 = 1_024;
/// Most ranges in one `Nack`, so it fits one datagram.
pub const MAX_NACK_RANGES: usize = 64;

/// How a [`Delivery`] is set up; [`DeliveryConfig::new`] gives the defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryConfig {
    /// This RM, named in its `Nack`s and `Ack`s.
    pub rm: RmId,
    /// The other RMs, asked in turn when the sequencer cannot fill a gap.
    pub peers: Vec<RmId>,
    /// Minimum age of a gap before it is asked for, and minimum time between two `Nack`s.
    pub nack_interval: Duration,
    /// How long the lowest gap may stay unfilled before the peers are asked instead.
    pub peer_after: Duration,
    /// Delivered requests kept to answer peers' `Nack`s (and replay after a replacement).
    pub log_limit: usize,
    /// Most requests held back beyond the next one expected.
    pub holdback_limit: usize,
    /// Most requests in one `Deliver` sent to a peer.
    pub batch_limit: usize,
    /// Most requests asked for in one `Nack`.
    pub nack_max_items: u64,
}

impl DeliveryConfig {
    /// The defaults for RM `rm` in a cluster with these peers.
    pub fn new(rm: RmId, peers: impl IntoIterator<Item = RmId>) -> Self {
        DeliveryConfig {
            rm,
            peers: peers.into_iter().filter(|&p| p != rm).collect(),
            nack_interval: DEFAULT_NACK_INTERVAL,
            peer_after: DEFAULT_PEER_AFTER,
            log_limit: DEFAULT_LOG_LIMIT,
            holdback_limit: DEFAULT_HOLDBACK_LIMIT,
            batch_limit: DEFAULT_BATCH_LIMIT,
            nack_max_items: DEFAULT_NACK_MAX_ITEMS,
        }
    }
}

/// What delivery has done so far, for the status page and for tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DeliveryStats {
    /// Requests delivered (handed to the replica).
    pub delivered: u64,
    /// Copies dropped because they were delivered or held back already.
    pub duplicates: u64,
    /// Requests dropped for being beyond the hold-back limit.
    pub too_far: u64,
    /// `Nack`s sent to the sequencer.
    pub nacks_to_sequencer: u64,
    /// `Nack`s sent to peer RMs.
    pub nacks_to_peers: u64,
    /// Requests sent to peers in answer to their `Nack`s.
    pub served: u64,
}

/// The hold-back queue and delivered-request log of one RM.
#[derive(Debug)]
pub struct Delivery {
    /// Limits, own id and peers.
    config: DeliveryConfig,
    /// The next sequence number to deliver; everything below it is delivered.
    next: u64,
    /// The highest sequence number known to exist (seen in a request or a heartbeat).
    latest_known: u64,
    /// Received requests above `next`, waiting for the gap below them to fill.
    held: BTreeMap<u64, Sequenced>,
    /// Delivered requests, contiguous: `log[i].seq == log[0].seq + i`, the last one `next - 1`.
    log: VecDeque<Sequenced>,
    /// The lowest missing number when it was first noticed by `nack`, and when.
    gap: Option<(u64, Instant)>,
    /// When the last `Nack` went out.
    last_nack: Option<Instant>,
    /// Which peer is asked next.
    peer_turn: usize,
    /// Counters, reported by [`Delivery::stats`].
    stats: DeliveryStats,
}

impl Delivery {
    /// Delivery expecting `first` next: 1 for a fresh RM, one past the checkpoint for an RM
    /// restored from one. Zero limits are raised to 1.
    pub fn new(mut config: DeliveryConfig, first: u64) -> Self {
        config.log_limit = config.log_limit.max(1);
        config.holdback_limit = config.holdback_limit.max(1);
        config.batch_limit = config.batch_limit.max(1);
        config.nack_max_items = config.nack_max_items.max(1);
        let first = first.max(1);
        Delivery {
            config,
            next: first,
            latest_known: first - 1,
            held: BTreeMap::new(),
            log: VecDeque::new(),
            gap: None,
            last_nack: None,
            peer_turn: 0,
            stats: DeliveryStats::default(),
        }
    }

    /// Takes in received requests; returns those now deliverable, in sequence order, each for
    /// the first and only time.
    pub fn on_deliver(&mut self, items: Vec<Sequenced>) -> Vec<Sequenced> {
        for item in items {
            self.latest_known = self.latest_known.max(item.seq);
            if item.seq < self.next {
                self.stats.duplicates += 1;
            } else if item.seq - self.next >= self.config.holdback_limit as u64 {
                self.stats.too_far += 1;
            } else if let Some(held) = self.held.get(&item.seq) {
                if *held != item {
                    tracing::warn!(seq = item.seq, "two different requests with one number");
                }
                self.stats.duplicates += 1;
            } else {
                self.held.insert(item.seq, item);
            }
        }
        let mut ready = Vec::new();
        while let Some(item) = self.held.remove(&self.next) {
            self.next += 1;
            self.log.push_back(item.clone());
            ready.push(item);
        }
        while self.log.len() > self.config.log_limit {
            self.log.pop_front();
        }
        self.stats.delivered += ready.len() as u64;
        ready
    }

    /// Learns from a heartbeat that requests up to `latest` exist, so a lost last one is missed.
    pub fn on_heartbeat(&mut self, latest: u64) {
        self.latest_known = self.latest_known.max(latest);
    }

    /// The gaps: numbers known to exist, not delivered and not held back, as coalesced ranges
    /// in ascending order.
    pub fn missing(&self) -> Vec<SeqRange> {
        let mut out = Vec::new();
        let mut cursor = self.next;
        for &seq in self.held.keys() {
            if seq > cursor {
                out.push(SeqRange {
                    first: cursor,
                    last: seq - 1,
                });
            }
            cursor = seq + 1;
        }
        if cursor <= self.latest_known {
            out.push(SeqRange {
                first: cursor,
                last: self.latest_known,
            });
        }
        out
    }

    /// The `Nack` to send now, if any (see the module docs for the timing). Call it on every
    /// tick; it rate-limits itself.
    pub fn nack(&mut self, now: Instant) -> Option<Outgoing> {
        let missing = self.missing();
        let Some(lowest) = missing.first().map(|r| r.first) else {
            self.gap = None;
            return None;
        };
        let since = match self.gap {
            Some((at, since)) if at == lowest => since,
            _ => {
                self.gap = Some((lowest, now));
                now
            }
        };
        let interval = self.config.nack_interval;
        let age = now.saturating_duration_since(since);
        if age < interval
            || self
                .last_nack
                .is_some_and(|t| now.saturating_duration_since(t) < interval)
        {
            return None;
        }
        self.last_nack = Some(now);

        let to = if age >= self.config.peer_after && !self.config.peers.is_empty() {
            // The peers in turn — and the sequencer after them: a request it numbered but whose
            // every copy was lost is still in its buffer and nowhere else, and asking only the
            // peers would wait for it for ever (found by the simulator, `sim/`, seed 12900).
            let turn = self.peer_turn % (self.config.peers.len() + 1);
            self.peer_turn = self.peer_turn.wrapping_add(1);
            match self.config.peers.get(turn) {
                Some(&peer) => {
                    self.stats.nacks_to_peers += 1;
                    NodeId::Rm(peer)
                }
                None => {
                    self.stats.nacks_to_sequencer += 1;
                    NodeId::Sequencer
                }
            }
        } else {
            self.stats.nacks_to_sequencer += 1;
            NodeId::Sequencer
        };
        let missing = cap(missing, self.config.nack_max_items);
        Some(Outgoing::To(
            to,
            Message::Nack {
                rm: self.config.rm,
                missing,
            },
        ))
    }

    /// The `Ack` to send the sequencer (periodically: a lost one is simply superseded), for an
    /// RM in `epoch` that promised `promised` (delivery knows nothing of epochs).
    pub fn ack(&self, epoch: Epoch, promised: Epoch) -> Outgoing {
        Outgoing::To(
            NodeId::Sequencer,
            Message::Ack {
                rm: self.config.rm,
                through: self.delivered_through(),
                epoch,
                promised,
            },
        )
    }

    /// Answers peer `rm`'s `Nack` with the requested requests this RM has — from its log or its
    /// hold-back queue — batched into `Deliver`s. Empty when it has none of them.
    pub fn on_peer_nack(&mut self, rm: RmId, missing: &[SeqRange]) -> Vec<Outgoing> {
        let mut items: Vec<Sequenced> = Vec::new();
        for r in SeqRange::merge(missing) {
            items.extend(self.logged(r.first, r.last).cloned());
            items.extend(self.held.range(r.first..=r.last).map(|(_, i)| i.clone()));
        }
        self.stats.served += items.len() as u64;
        items
            .chunks(self.config.batch_limit)
            .map(|batch| Outgoing::To(NodeId::Rm(rm), Message::Deliver(batch.to_vec())))
            .collect()
    }

    /// Every request up to this number has been delivered (0 before the first).
    pub fn delivered_through(&self) -> u64 {
        self.next - 1
    }

    /// The highest sequence number known to exist.
    pub fn latest_known(&self) -> u64 {
        self.latest_known
    }

    /// How many requests wait in the hold-back queue.
    pub fn held_back(&self) -> usize {
        self.held.len()
    }

    /// The delivered requests still in the log, as a range.
    pub fn log_range(&self) -> Option<SeqRange> {
        Some(SeqRange {
            first: self.log.front()?.seq,
            last: self.log.back()?.seq,
        })
    }

    /// Logged requests from `first` on, in order — what a replacement replica replays after its
    /// state is installed.
    pub fn log_from(&self, first: u64) -> impl Iterator<Item = &Sequenced> {
        self.logged(first, u64::MAX)
    }

    /// Forgets logged requests below `seq` (a checkpoint at least two replicas agree on covers
    /// them).
    pub fn truncate_below(&mut self, seq: u64) {
        while self.log.front().is_some_and(|i| i.seq < seq) {
            self.log.pop_front();
        }
    }

    /// Jumps forward after a checkpoint state through `first - 1` was installed: requests below
    /// `first` count as delivered, the log restarts empty, and held-back requests that are now
    /// deliverable are returned. Moving backwards would deliver requests twice, so it is
    /// refused (nothing changes, nothing is returned).
    pub fn start_at(&mut self, first: u64) -> Vec<Sequenced> {
        if first < self.next {
            // A state older than what was delivered since it was asked for (a joining RM's
            // answers race its first deliveries): expected, and handled by refusing it.
            tracing::debug!(first, next = self.next, "start_at backwards refused");
            return Vec::new();
        }
        if first > self.next {
            self.held = self.held.split_off(&first);
            self.log.clear();
            self.next = first;
            self.latest_known = self.latest_known.max(first - 1);
            self.gap = None;
        }
        self.on_deliver(Vec::new())
    }

    /// A new sequencer epoch starts after `start`: whatever was delivered or held beyond it was
    /// numbered by an older sequencer and seen by no majority. It is forgotten, and delivery
    /// continues at `start + 1` (the new epoch's requests come again, by NACK if need be).
    pub fn roll_back_to(&mut self, start: u64) {
        self.held = {
            let mut held = std::mem::take(&mut self.held);
            held.split_off(&(start + 1));
            held
        };
        while self.log.back().is_some_and(|i| i.seq > start) {
            self.log.pop_back();
        }
        self.next = self.next.min(start + 1);
        self.latest_known = start.max(self.next - 1);
        self.gap = None;
    }

    /// The counters so far, for the status page and tests.
    pub fn stats(&self) -> DeliveryStats {
        self.stats
    }

    /// The configuration in force (zero limits already raised to 1).
    pub fn config(&self) -> &DeliveryConfig {
        &self.config
    }

    /// Logged requests in `first..=last`.
    fn logged(&self, first: u64, last: u64) -> impl Iterator<Item = &Sequenced> {
        let (start, end) = match self.log.front() {
            Some(f) if last >= f.seq && first <= last => (
                first.saturating_sub(f.seq),
                (last - f.seq).saturating_add(1),
            ),
            _ => (0, 0),
        };
        let len = self.log.len() as u64;
        let (start, end) = (start.min(len) as usize, end.min(len) as usize);
        self.log.range(start..end.max(start))
    }
}

/// The lowest ranges, at most [`MAX_NACK_RANGES`] of them covering at most `max_items` numbers.
fn cap(ranges: Vec<SeqRange>, max_items: u64) -> Vec<SeqRange> {
    let mut budget = max_items;
    let mut out = Vec::new();
    for r in ranges.into_iter().take(MAX_NACK_RANGES) {
        if budget == 0 {
            break;
        }
        let len = (r.last - r.first).saturating_add(1).min(budget);
        budget -= len;
        out.push(SeqRange {
            first: r.first,
            last: r.first + len - 1,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use dmtbs_contract::{Date, Operation, Schedule};

    /// splitmix64, as `dmtbs-testkit`'s (which depends on this crate, so cannot be used here).
    struct Rng(u64);
    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            (z ^ (z >> 31)) % n
        }
        fn shuffle<T>(&mut self, v: &mut [T]) {
            for i in (1..v.len()).rev() {
                v.swap(i, self.below(i as u64 + 1) as usize);
            }
        }
    }

    fn item(seq: u64) -> Sequenced {
        Sequenced {
            epoch: 1,
            seq,
            today: Date {
                year: 2026,
                month: 3,
                day: 1,
            },
            fe: 1,
            request_id: 1000 + seq,
            key: None,
            operation: Operation::Schedule(Schedule {
                actor: "ATWC1234".into(),
                customer: "ATWC1234".into(),
            }),
        }
    }

    fn items(seqs: impl IntoIterator<Item = u64>) -> Vec<Sequenced> {
        seqs.into_iter().map(item).collect()
    }

    fn seqs(v: &[Sequenced]) -> Vec<u64> {
        v.iter().map(|i| i.seq).collect()
    }

    fn r(first: u64, last: u64) -> SeqRange {
        SeqRange { first, last }
    }

    fn config() -> DeliveryConfig {
        DeliveryConfig::new(1, [1, 2, 3, 4])
    }

    /// The requests a `Deliver`-carrying batch of outgoing messages holds, with addressees.
    fn delivered_to(out: &[Outgoing]) -> Vec<(NodeId, Vec<u64>)> {
        out.iter()
            .map(|o| match o {
                Outgoing::To(to, Message::Deliver(v)) => (*to, seqs(v)),
                other => panic!("expected a Deliver, got {other:?}"),
            })
            .collect()
    }

    #[test]
    fn holds_back_and_drops_duplicates() {
        let mut d = Delivery::new(config(), 1);
        assert_eq!(seqs(&d.on_deliver(items([2, 3]))), Vec::<u64>::new());
        assert_eq!(d.missing(), vec![r(1, 1)]);
        assert_eq!(seqs(&d.on_deliver(items([3, 1, 1]))), vec![1, 2, 3]);
        assert_eq!(seqs(&d.on_deliver(items([2, 5, 0]))), Vec::<u64>::new());
        assert_eq!(d.missing(), vec![r(4, 4)]);
        assert_eq!(seqs(&d.on_deliver(items([4]))), vec![4, 5]);
        assert_eq!(d.delivered_through(), 5);
        assert_eq!(d.stats().delivered, 5);
        assert_eq!(d.stats().duplicates, 4);
    }

    /// Losses, duplicates and reordering, then repair driven by `nack` alone: every request is
    /// delivered exactly once, in order.
    #[test]
    fn random_permutations_with_losses_deliver_exactly_once_in_order() {
        for seed in 1..=40u64 {
            eprintln!("seed {seed}");
            let mut rng = Rng(seed);
            let n = 300 + rng.below(300);
            let mut cfg = config();
            cfg.holdback_limit = 200 + rng.below(400) as usize;
            cfg.nack_max_items = 1 + rng.below(100);
            let mut d = Delivery::new(cfg, 1);
            let mut out = Vec::new();

            // A lossy, duplicating, reordering first transmission.
            let mut wire: Vec<u64> = Vec::new();
            for s in 1..=n {
                if rng.below(100) >= 25 {
                    wire.push(s);
                }
                if rng.below(100) < 15 {
                    wire.push(s);
                }
            }
            rng.shuffle(&mut wire);
            while !wire.is_empty() {
                let take = (1 + rng.below(8) as usize).min(wire.len());
                let batch: Vec<u64> = wire.drain(..take).collect();
                out.extend(d.on_deliver(items(batch)));
            }
            d.on_heartbeat(n);

            // Repair: whoever is asked resends what was asked for, through the same lossy wire.
            let mut now = Instant::now();
            let mut rounds = 0;
            while d.delivered_through() < n {
                rounds += 1;
                assert!(rounds < 10_000, "seed {seed}: repair does not converge");
                now += Duration::from_millis(7);
                let Some(Outgoing::To(_, Message::Nack { rm: 1, missing })) = d.nack(now) else {
                    continue;
                };
                assert!(!missing.is_empty());
                let mut resend: Vec<u64> = missing
                    .iter()
                    .flat_map(|r| r.first..=r.last)
                    .filter(|_| rng.below(100) >= 30)
                    .collect();
                rng.shuffle(&mut resend);
                out.extend(d.on_deliver(items(resend)));
            }
            assert_eq!(seqs(&out), (1..=n).collect::<Vec<_>>(), "seed {seed}");
            assert!(d.missing().is_empty());
            assert_eq!(d.held_back(), 0);
        }
    }

    #[test]
    fn heartbeat_reveals_a_lost_tail_and_nacks_escalate_to_peers_in_turn() {
        let mut d = Delivery::new(config(), 1);
        d.on_deliver(items(1..=5));
        let t0 = Instant::now();
        assert_eq!(d.nack(t0), None, "nothing is missing yet");
        d.on_heartbeat(7);
        assert_eq!(d.missing(), vec![r(6, 7)]);

        let nack_to = |d: &mut Delivery, at: Instant| match d.nack(at) {
            Some(Outgoing::To(to, Message::Nack { rm, missing })) => {
                assert_eq!((rm, missing), (1, vec![r(6, 7)]));
                Some(to)
            }
            None => None,
            other => panic!("unexpected {other:?}"),
        };
        let ms = Duration::from_millis;
        assert_eq!(nack_to(&mut d, t0), None, "a fresh gap may be reordering");
        assert_eq!(nack_to(&mut d, t0 + ms(20)), Some(NodeId::Sequencer));
        assert_eq!(nack_to(&mut d, t0 + ms(30)), None, "rate-limited");
        assert_eq!(nack_to(&mut d, t0 + ms(40)), Some(NodeId::Sequencer));
        assert_eq!(nack_to(&mut d, t0 + ms(200)), Some(NodeId::Rm(2)));
        assert_eq!(nack_to(&mut d, t0 + ms(220)), Some(NodeId::Rm(3)));
        assert_eq!(nack_to(&mut d, t0 + ms(240)), Some(NodeId::Rm(4)));
        // After the peers, the sequencer again: it may hold what no peer has.
        assert_eq!(nack_to(&mut d, t0 + ms(260)), Some(NodeId::Sequencer));
        assert_eq!(nack_to(&mut d, t0 + ms(280)), Some(NodeId::Rm(2)));

        // Progress restarts the clock at the sequencer.
        assert_eq!(seqs(&d.on_deliver(items([6]))), vec![6]);
        assert_eq!(d.nack(t0 + ms(300)), None);
        assert!(matches!(
            d.nack(t0 + ms(320)),
            Some(Outgoing::To(NodeId::Sequencer, _))
        ));
        assert_eq!(d.stats().nacks_to_sequencer, 4);
        assert_eq!(d.stats().nacks_to_peers, 4);
        assert_eq!(
            d.ack(1, 1),
            Outgoing::To(
                NodeId::Sequencer,
                Message::Ack {
                    rm: 1,
                    through: 6,
                    epoch: 1,
                    promised: 1
                }
            )
        );
    }

    #[test]
    fn peer_nack_is_served_from_the_log_and_hold_back_queue() {
        let mut cfg = config();
        cfg.batch_limit = 3;
        let mut d = Delivery::new(cfg, 1);
        d.on_deliver(items((1..=10).chain([12, 13])));
        let out = d.on_peer_nack(3, &[r(4, 6), r(3, 4), r(9, 12), r(20, 30), r(8, 7)]);
        assert_eq!(
            delivered_to(&out),
            vec![
                (NodeId::Rm(3), vec![3, 4, 5]),
                (NodeId::Rm(3), vec![6, 9, 10]),
                (NodeId::Rm(3), vec![12]),
            ]
        );
        assert_eq!(d.stats().served, 7);

        d.truncate_below(5);
        assert_eq!(d.log_range(), Some(r(5, 10)));
        let out = d.on_peer_nack(2, &[r(1, 6)]);
        assert_eq!(delivered_to(&out), vec![(NodeId::Rm(2), vec![5, 6])]);
        assert!(d.on_peer_nack(2, &[r(1, 4), r(11, 11)]).is_empty());
        assert_eq!(
            seqs(&d.log_from(9).cloned().collect::<Vec<_>>()),
            vec![9, 10]
        );
    }

    #[test]
    fn log_is_bounded() {
        let mut cfg = config();
        cfg.log_limit = 4;
        let mut d = Delivery::new(cfg, 1);
        d.on_deliver(items(1..=10));
        assert_eq!(d.log_range(), Some(r(7, 10)));
    }

    #[test]
    fn starting_later_skips_what_the_checkpoint_covers() {
        let mut d = Delivery::new(config(), 100);
        assert_eq!(d.delivered_through(), 99);
        assert_eq!(seqs(&d.on_deliver(items([50, 99, 101]))), Vec::<u64>::new());
        assert_eq!(d.missing(), vec![r(100, 100)]);
        assert_eq!(seqs(&d.on_deliver(items([100]))), vec![100, 101]);

        // Jumping forward delivers what was held back beyond the new start.
        d.on_deliver(items([105, 106, 108]));
        assert_eq!(seqs(&d.start_at(105)), vec![105, 106]);
        assert_eq!(d.log_range(), Some(r(105, 106)));
        assert_eq!(d.missing(), vec![r(107, 107)]);
        // Backwards would deliver twice: refused.
        assert!(d.start_at(50).is_empty());
        assert_eq!(d.delivered_through(), 106);
    }

    #[test]
    fn far_future_requests_are_dropped_then_asked_for() {
        let mut cfg = config();
        cfg.holdback_limit = 10;
        let mut d = Delivery::new(cfg, 1);
        d.on_deliver(items([5, 11, 12]));
        assert_eq!(d.stats().too_far, 2);
        assert_eq!(d.held_back(), 1);
        assert_eq!(d.missing(), vec![r(1, 4), r(6, 12)]);
    }

    #[test]
    fn rolling_back_forgets_what_lies_beyond_the_new_start() {
        let mut d = Delivery::new(config(), 1);
        assert_eq!(seqs(&d.on_deliver(items(1..=5))), [1, 2, 3, 4, 5]);
        d.on_deliver(items([8, 9]));
        d.roll_back_to(3);
        assert_eq!(d.delivered_through(), 3);
        assert_eq!(d.latest_known(), 3);
        assert_eq!(d.held_back(), 0);
        assert_eq!(seqs(&d.log_from(1).cloned().collect::<Vec<_>>()), [1, 2, 3]);
        // The new epoch's 4 is delivered, not the old one's.
        let mut new = item(4);
        new.epoch = 2;
        assert_eq!(d.on_deliver(vec![new.clone()]), vec![new]);
        // Rolling back to a point not reached yet forgets only what is held beyond it.
        d.on_deliver(items([7]));
        d.roll_back_to(6);
        assert_eq!((d.delivered_through(), d.held_back()), (4, 0));
    }

    #[test]
    fn nack_is_capped() {
        assert_eq!(
            cap(vec![r(1, 5), r(8, 20), r(30, 40)], 10),
            vec![r(1, 5), r(8, 12)]
        );
        let many: Vec<SeqRange> = (0..100).map(|i| r(i * 2, i * 2)).collect();
        assert_eq!(cap(many, 1_000).len(), MAX_NACK_RANGES);
    }
}
