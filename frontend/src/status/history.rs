//! Requests answered over time, in bounded memory: per second for the last minute (the rate
//! and its sparkline) and per [`LONG_BUCKET`] seconds for the last [`LONG_HISTORY`] buckets
//! (the 15-minute chart), each count split into sequenced requests and the rest.

use std::collections::VecDeque;
use std::time::Instant;

/// The request rate is the mean over this many whole seconds before the current one.
pub const RATE_WINDOW: u64 = 5;
/// How many whole seconds of request counts the JSON carries (the page's sparkline).
pub const RATE_HISTORY: u64 = 60;
/// The long history's bucket, in seconds (downsampled: one count per bucket).
pub const LONG_BUCKET: u64 = 10;
/// How many buckets of [`LONG_BUCKET`] seconds the long history carries: 15 minutes.
pub const LONG_HISTORY: u64 = 90;

/// Counts per slot (a second or a bucket), oldest first; slots without requests are absent, so
/// at most `keep` + 1 entries are held.
#[derive(Debug, Default)]
struct Slots {
    counts: VecDeque<(u64, u64)>,
}

impl Slots {
    fn add(&mut self, slot: u64, keep: u64) {
        match self.counts.back_mut() {
            Some((s, n)) if *s == slot => *n += 1,
            _ => self.counts.push_back((slot, 1)),
        }
        while self.counts.front().is_some_and(|(s, _)| s + keep < slot) {
            self.counts.pop_front();
        }
    }

    /// The counts of the `keep` whole slots before `current`, oldest first.
    fn before(&self, current: u64, keep: u64) -> Vec<u64> {
        (1..=keep)
            .rev()
            .map(|back| {
                current
                    .checked_sub(back)
                    .and_then(|want| self.counts.iter().find(|(s, _)| *s == want))
                    .map_or(0, |(_, n)| *n)
            })
            .collect()
    }
}

/// Requests answered by this front end's HTTP API.
#[derive(Debug)]
pub(super) struct Rate {
    /// Seconds count from here.
    started: Instant,
    /// Per second, for the rate and the sparkline.
    seconds: Slots,
    /// Per [`LONG_BUCKET`] seconds, for the 15-minute chart.
    buckets: Slots,
    /// Every request answered.
    pub(super) total: u64,
    /// Those answered with a sequence number (the replicas' agreed result, or 503 without
    /// agreement); the rest were refused by the front end (invalid, unauthorised) or found the
    /// cluster unavailable.
    pub(super) sequenced: u64,
}

impl Rate {
    pub(super) fn new(started: Instant) -> Self {
        Rate {
            started,
            seconds: Slots::default(),
            buckets: Slots::default(),
            total: 0,
            sequenced: 0,
        }
    }

    fn second(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.started).as_secs()
    }

    pub(super) fn add(&mut self, now: Instant, sequenced: bool) {
        let s = self.second(now);
        self.seconds.add(s, RATE_HISTORY);
        self.buckets.add(s / LONG_BUCKET, LONG_HISTORY);
        self.total += 1;
        self.sequenced += u64::from(sequenced);
    }

    /// Requests in each of the [`RATE_HISTORY`] whole seconds before `now`'s, oldest first.
    pub(super) fn history(&self, now: Instant) -> Vec<u64> {
        self.seconds.before(self.second(now), RATE_HISTORY)
    }

    /// Requests in each of the [`LONG_HISTORY`] whole buckets before `now`'s, oldest first.
    pub(super) fn long_history(&self, now: Instant) -> Vec<u64> {
        self.buckets
            .before(self.second(now) / LONG_BUCKET, LONG_HISTORY)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn counts_land_in_their_second_and_bucket_and_memory_stays_bounded() {
        let start = Instant::now();
        let mut rate = Rate::new(start);
        // An hour of one request a second, plus a sequenced burst in the last whole bucket.
        for s in 0..3600 {
            rate.add(start + Duration::from_secs(s), s % 2 == 0);
        }
        assert!(rate.seconds.counts.len() <= RATE_HISTORY as usize + 1);
        assert!(rate.buckets.counts.len() <= LONG_HISTORY as usize + 1);
        let now = start + Duration::from_secs(3600);
        assert_eq!(rate.history(now), vec![1; RATE_HISTORY as usize]);
        assert_eq!(
            rate.long_history(now),
            vec![LONG_BUCKET; LONG_HISTORY as usize]
        );
        assert_eq!((rate.total, rate.sequenced), (3600, 1800));
        // Quiet for five minutes: the last 30 buckets are empty, the older ones still count.
        let later = now + Duration::from_secs(300);
        let long = rate.long_history(later);
        assert_eq!(long[..60], vec![LONG_BUCKET; 60][..]);
        assert_eq!(long[60..], vec![0; 30][..]);
        assert_eq!(rate.history(later), vec![0; RATE_HISTORY as usize]);
    }
}
