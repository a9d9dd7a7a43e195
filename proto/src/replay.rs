//! Replay protection: which nonces a receiver still accepts from a sender.
//!
//! Nonces track the sender's wall clock in microseconds (`max(previous + 1, now)`, see
//! [`crate::Codec`]), so two rules together refuse every copy of an authentic datagram:
//!
//! - **Per sender, a window in time.** A nonce is accepted once if it is above the sender's
//!   highest accepted nonce, or at most [`REPLAY_WINDOW`] µs below it and not accepted before.
//!   The window keeps the nonces it accepted (at most [`REPLAY_WINDOW_ENTRIES`] per sender: a
//!   busier sender's window shrinks to its latest datagrams, refusing rather than forgetting).
//! - **Across restarts, the receiver's start.** A receiver knows nothing of what it accepted
//!   before it restarted, so it refuses every nonce older than its own start time minus
//!   [`CLOCK_SKEW`]: a datagram captured before the restart was sent before it, so its nonce is
//!   older. Only a datagram sent within [`CLOCK_SKEW`] before the restart could be replayed
//!   after it.

use std::collections::VecDeque;

/// How far (in nonce units: microseconds of the sender's clock) below a sender's highest
/// accepted nonce a datagram may arrive and still be accepted, once. The network reorders
/// datagrams by microseconds on loopback, by a few milliseconds on a LAN; a datagram later than
/// this is refused as `replayed`, which the protocol treats as a loss (and repairs).
pub const REPLAY_WINDOW: u64 = 200_000;

/// Most nonces a window remembers per sender (8 bytes each: 32 KiB). A sender that sends more
/// than this within [`REPLAY_WINDOW`] gets a shorter window: the oldest remembered nonce becomes
/// the floor, so anything older is refused, never accepted twice.
pub const REPLAY_WINDOW_ENTRIES: usize = 4_096;

/// How much older than a receiver's start (in microseconds) a nonce may be and still be
/// accepted: the clocks of two nodes may differ by this much. Nodes on one machine share a
/// clock; NTP keeps hosts within milliseconds. A sender whose clock is further behind is only
/// refused in its receiver's first moments (until the receiver's clock minus the skew passes
/// the receiver's start), not for good.
pub const CLOCK_SKEW: u64 = 1_000_000;

/// One sender's anti-replay state: every nonce at or below `floor` is refused; above it, the
/// nonces accepted so far, ascending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ReplayWindow {
    /// Highest nonce that is refused whatever happened before: the receiver's start (less the
    /// clock skew), then the bottom of the window as the sender's nonces advance.
    floor: u64,
    /// Nonces above `floor` accepted so far, ascending; at most [`REPLAY_WINDOW_ENTRIES`].
    seen: VecDeque<u64>,
}

impl ReplayWindow {
    /// The window of a sender not heard from yet by a receiver that refuses every nonce below
    /// `not_before`.
    pub(crate) fn new(not_before: u64) -> Self {
        ReplayWindow {
            floor: not_before.saturating_sub(1),
            seen: VecDeque::new(),
        }
    }

    /// Records `nonce` and returns true if it is fresh; returns false, changing nothing, if it
    /// was already accepted or is too old to tell.
    pub(crate) fn accept(&mut self, nonce: u64) -> bool {
        if nonce <= self.floor {
            return false;
        }
        match self.seen.back() {
            Some(&highest) if nonce <= highest => match self.seen.binary_search(&nonce) {
                Ok(_) => return false,
                Err(at) => self.seen.insert(at, nonce),
            },
            // In order: the usual case, O(1).
            _ => self.seen.push_back(nonce),
        }
        let highest = *self.seen.back().expect("a nonce was just recorded");
        // `highest - REPLAY_WINDOW` itself is still inside the window.
        let below_window = highest.saturating_sub(REPLAY_WINDOW).saturating_sub(1);
        self.floor = self.floor.max(below_window);
        while self.seen.front().is_some_and(|&n| n <= self.floor) {
            self.seen.pop_front();
        }
        if self.seen.len() > REPLAY_WINDOW_ENTRIES {
            // Forgetting a nonce must not make it acceptable again: it becomes the floor.
            self.floor = self.seen.pop_front().expect("more than the cap");
        }
        true
    }

    /// How many nonces this window remembers (bounded by [`REPLAY_WINDOW_ENTRIES`]).
    #[cfg(test)]
    fn remembered(&self) -> usize {
        self.seen.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sender's clock in microseconds, far from zero like a real one.
    const T: u64 = 1_780_000_000_000_000;

    #[test]
    fn fresh_nonces_are_accepted_once_and_repeats_refused() {
        let mut w = ReplayWindow::new(0);
        assert!(w.accept(T));
        assert!(!w.accept(T), "repeat of the first");
        assert!(w.accept(T + 1));
        assert!(
            w.accept(T + 5_000),
            "a jump forward, as a clock-based nonce makes"
        );
        assert!(!w.accept(T + 5_000));
        assert!(!w.accept(T + 1));
    }

    #[test]
    fn reordering_within_the_window_in_time_is_accepted_once() {
        let mut w = ReplayWindow::new(0);
        // Datagrams a millisecond apart, arriving newest first: far more than 64 nonce units
        // apart, all inside the window.
        let sent: Vec<u64> = (0..50).map(|i| T + i * 1_000).collect();
        for &n in sent.iter().rev() {
            assert!(w.accept(n), "{n}");
        }
        for &n in &sent {
            assert!(!w.accept(n), "duplicate {n}");
        }
        // Interleaved.
        let base = T + 100_000;
        for offset in [30, 0, 45, 10, 20] {
            assert!(w.accept(base + offset), "{offset}");
        }
        assert!(!w.accept(base + 10));
    }

    #[test]
    fn a_nonce_older_than_the_window_is_refused() {
        let mut w = ReplayWindow::new(0);
        assert!(w.accept(T + REPLAY_WINDOW + 10));
        assert!(w.accept(T + 10), "exactly REPLAY_WINDOW below the highest");
        assert!(!w.accept(T + 9), "just below the window");
        assert!(!w.accept(T));
        assert!(!w.accept(0));
    }

    #[test]
    fn the_receivers_start_is_a_floor_for_senders_not_heard_yet() {
        let start = T;
        let mut w = ReplayWindow::new(start - CLOCK_SKEW);
        assert!(
            !w.accept(start - CLOCK_SKEW - 1),
            "sent before the receiver started"
        );
        assert!(w.accept(start - CLOCK_SKEW), "within the clock skew");
        assert!(w.accept(start + 3));
    }

    #[test]
    fn memory_stays_bounded_and_forgotten_nonces_stay_refused() {
        let mut w = ReplayWindow::new(0);
        // A burst: consecutive nonces (more than one datagram a microsecond), all in the window.
        let burst = REPLAY_WINDOW_ENTRIES as u64 * 3;
        for n in T..T + burst {
            assert!(w.accept(n));
            assert!(w.remembered() <= REPLAY_WINDOW_ENTRIES);
        }
        assert_eq!(w.remembered(), REPLAY_WINDOW_ENTRIES);
        // Older than everything remembered, though within REPLAY_WINDOW µs: refused, not
        // accepted a second time.
        assert!(!w.accept(T));
        assert!(!w.accept(T + burst - REPLAY_WINDOW_ENTRIES as u64));
        // A gap inside what is still remembered is accepted once.
        let mut w = ReplayWindow::new(0);
        for n in (T..T + 200).step_by(2) {
            assert!(w.accept(n));
        }
        assert!(w.accept(T + 101));
        assert!(!w.accept(T + 101));
    }

    #[test]
    fn the_top_of_the_nonce_space_does_not_overflow() {
        let mut w = ReplayWindow::new(u64::MAX - 5);
        assert!(w.accept(u64::MAX - 1));
        assert!(w.accept(u64::MAX));
        assert!(!w.accept(u64::MAX));
        assert!(w.accept(u64::MAX - 2));
        assert!(!w.accept(u64::MAX - 6), "below the floor");
        let mut w = ReplayWindow::new(u64::MAX);
        assert!(!w.accept(u64::MAX - 1));
        assert!(w.accept(u64::MAX));
    }
}
