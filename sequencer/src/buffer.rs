//! The retransmission buffer: sequenced requests kept until the live RMs have them.
//!
//! Release policy. Each configured RM has an acknowledged-through mark and the time it was last
//! heard from (an `Ack` or a `Nack`; before that, the time the sequencer first ran). An RM
//! heard from within `rm_timeout` is *live*. Requests at or below the lowest mark among the
//! live RMs are released. With no live RM nothing is released by acknowledgement. Independently
//! the buffer never holds more than `limit` requests: the oldest are dropped past it even if
//! unacknowledged, and an RM that then asks for them gets nothing from the sequencer and must
//! repair from its peers. So a silent RM pins the buffer for at most `rm_timeout`, and never
//! beyond the limit.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use dmtbs_proto::{RmId, Sequenced};

#[derive(Debug)]
pub(crate) struct RetransmitBuffer {
    /// Contiguous: `items[i].seq == items[0].seq + i`.
    items: VecDeque<Sequenced>,
    /// Most requests kept.
    limit: usize,
    /// An RM not heard from for this long stops holding back releases.
    rm_timeout: Duration,
    /// Progress of each configured RM; only these may acknowledge.
    rms: BTreeMap<RmId, RmProgress>,
    /// The first instant the sequencer saw: an RM never heard from counts as heard then.
    started: Option<Instant>,
}

#[derive(Debug, Default, Clone, Copy)]
struct RmProgress {
    /// Highest `through` acknowledged.
    acked: u64,
    /// When the RM last sent an `Ack` or a `Nack`.
    heard: Option<Instant>,
}

impl RetransmitBuffer {
    pub(crate) fn new(rms: &[RmId], limit: usize, rm_timeout: Duration) -> Self {
        RetransmitBuffer {
            items: VecDeque::new(),
            limit: limit.max(1),
            rm_timeout,
            rms: rms.iter().map(|&rm| (rm, RmProgress::default())).collect(),
            started: None,
        }
    }

    /// Notes the time; the first call starts every RM's liveness clock.
    pub(crate) fn clock(&mut self, now: Instant) {
        self.started.get_or_insert(now);
    }

    /// The configured RMs, in order.
    pub(crate) fn rms(&self) -> impl Iterator<Item = RmId> + '_ {
        self.rms.keys().copied()
    }

    pub(crate) fn is_configured(&self, rm: RmId) -> bool {
        self.rms.contains_key(&rm)
    }

    /// Adds the next sequenced request; returns how many unacknowledged ones the limit pushed out.
    pub(crate) fn push(&mut self, item: Sequenced) -> u64 {
        debug_assert!(self.items.back().is_none_or(|b| b.seq + 1 == item.seq));
        self.items.push_back(item);
        let mut evicted = 0;
        while self.items.len() > self.limit {
            self.items.pop_front();
            evicted += 1;
        }
        evicted
    }

    /// Records that `rm` (configured) is alive, and has everything through `through` if given.
    pub(crate) fn heard(&mut self, rm: RmId, through: Option<u64>, now: Instant) {
        if let Some(p) = self.rms.get_mut(&rm) {
            p.heard = Some(now);
            if let Some(t) = through {
                p.acked = p.acked.max(t);
            }
        }
    }

    /// When `rm` last sent an `Ack` or a `Nack` (`None`: never, or not configured).
    pub(crate) fn heard_at(&self, rm: RmId) -> Option<Instant> {
        self.rms.get(&rm).and_then(|p| p.heard)
    }

    pub(crate) fn acked(&self, rm: RmId) -> Option<u64> {
        self.rms.get(&rm).map(|p| p.acked)
    }

    /// Whether `rm` currently holds back releases.
    pub(crate) fn is_live(&self, rm: RmId, now: Instant) -> bool {
        let Some(p) = self.rms.get(&rm) else {
            return false;
        };
        match p.heard.or(self.started) {
            Some(t) => now.saturating_duration_since(t) < self.rm_timeout,
            None => true,
        }
    }

    /// Drops everything every live RM has acknowledged; returns how many.
    pub(crate) fn release(&mut self, now: Instant) -> usize {
        let floor = self
            .rms
            .iter()
            .filter(|(rm, _)| self.is_live(**rm, now))
            .map(|(_, p)| p.acked)
            .min();
        let Some(floor) = floor else {
            return 0;
        };
        let before = self.items.len();
        while self.items.front().is_some_and(|i| i.seq <= floor) {
            self.items.pop_front();
        }
        before - self.items.len()
    }

    /// The lowest sequence number still held.
    pub(crate) fn first(&self) -> Option<u64> {
        self.items.front().map(|i| i.seq)
    }

    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    /// The held requests in `first..=last` (inclusive), in order.
    pub(crate) fn range(&self, first: u64, last: u64) -> impl Iterator<Item = &Sequenced> {
        let (start, end) = match self.first() {
            Some(base) if last >= base && first <= last => {
                let start = first.saturating_sub(base);
                let end = (last - base).saturating_add(1);
                (start, end)
            }
            _ => (0, 0),
        };
        let len = self.items.len() as u64;
        let (start, end) = (start.min(len) as usize, end.min(len) as usize);
        self.items.range(start..end.max(start))
    }
}
