//! Recognising retransmitted requests: `(fe, request_id) → seq`, bounded per front end.
//!
//! The window: per front end, the `window` highest request ids seen are remembered with their
//! sequence numbers. When one is forgotten, its id raises the front end's *forgotten mark*, and
//! any request id at or below the mark that is not remembered is refused as stale. So a request
//! is never sequenced twice, however late its retransmission arrives; the window only bounds how
//! long a retransmission still gets its `Accepted` answered. This relies on front ends giving
//! out increasing request ids (a front end that restarts must continue above its old ids), which
//! the wire protocol's replay protection requires anyway.

use std::collections::{BTreeMap, HashMap};

use dmtbs_proto::FeId;

/// What the window knows of one `(fe, request_id)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Seen {
    /// Never seen: sequence it.
    New,
    /// Sequenced already, as this number.
    Known(u64),
    /// At or below the forgotten mark: it may have been sequenced, so it must not be again.
    Stale,
}

/// The per-front-end windows. Front end ids come from authenticated datagrams, so their number
/// is bounded by the cluster configuration.
#[derive(Debug)]
pub(crate) struct Dedup {
    /// Request ids remembered per front end.
    window: usize,
    /// One window per front end seen.
    fes: HashMap<FeId, FeWindow>,
}

#[derive(Debug, Default)]
struct FeWindow {
    /// Request id → sequence number; every key is above `forgotten`.
    seqs: BTreeMap<u64, u64>,
    /// The highest request id dropped from `seqs`, if any.
    forgotten: Option<u64>,
}

impl Dedup {
    pub(crate) fn new(window: usize) -> Self {
        Dedup {
            window: window.max(1),
            fes: HashMap::new(),
        }
    }

    pub(crate) fn lookup(&self, fe: FeId, request_id: u64) -> Seen {
        let Some(w) = self.fes.get(&fe) else {
            return Seen::New;
        };
        if let Some(&seq) = w.seqs.get(&request_id) {
            Seen::Known(seq)
        } else if w.forgotten.is_some_and(|mark| request_id <= mark) {
            Seen::Stale
        } else {
            Seen::New
        }
    }

    /// Remember a newly sequenced request, forgetting the lowest id if the window is full.
    pub(crate) fn record(&mut self, fe: FeId, request_id: u64, seq: u64) {
        let w = self.fes.entry(fe).or_default();
        w.seqs.insert(request_id, seq);
        if w.seqs.len() > self.window
            && let Some((id, _)) = w.seqs.pop_first()
        {
            // Evicting the smallest key keeps every remaining key above the mark.
            w.forgotten = Some(w.forgotten.map_or(id, |m| m.max(id)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forgotten_ids_are_stale_not_new() {
        let mut d = Dedup::new(2);
        d.record(7, 10, 1);
        d.record(7, 11, 2);
        d.record(7, 12, 3);
        assert_eq!(d.lookup(7, 10), Seen::Stale);
        assert_eq!(d.lookup(7, 9), Seen::Stale);
        assert_eq!(d.lookup(7, 11), Seen::Known(2));
        assert_eq!(d.lookup(7, 13), Seen::New);
        // Other front ends have windows of their own.
        assert_eq!(d.lookup(8, 10), Seen::New);
    }
}
