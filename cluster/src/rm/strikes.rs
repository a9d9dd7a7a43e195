//! Counting the front ends' verdicts about this RM's replica, in sequence order: consecutive
//! wrong results (three strikes: quarantine and swap) and consecutive silences (a replica that
//! is merely slow past the deadline again and again is restarted). A correct result resets both.

use dmtbs_proto::{RmId, Verdict};

/// What the verdicts call for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// `strikes` consecutive wrong results.
    Wrong,
    /// `strikes` consecutive silences.
    Slow,
}

/// Whether the replica's own thread is what is slow: the share of wall time its thread spent
/// on the CPU between samples. Restarting a replica helps only if the replica is the
/// bottleneck — busy at least [`Saturation::BUSY`] of the time. A replica waiting for the CPU
/// on an overloaded machine, or idle while its results are late for another reason, is not
/// (issue 15: a 60 s burst beside two CPU hogs restarted three healthy replicas for silence).
#[derive(Debug, Default)]
pub struct Saturation {
    sample: Option<(std::time::Instant, std::time::Duration)>,
    saturated: bool,
}

impl Saturation {
    /// The share of wall time on the CPU that makes the replica the bottleneck.
    pub const BUSY: f64 = 0.5;
    /// Samples closer together than this are not compared (too short to mean anything).
    pub const MIN_SPAN: std::time::Duration = std::time::Duration::from_millis(200);

    /// At `now`, with the replica thread's CPU time `cpu` (None where the platform has no
    /// thread clock: then every silence counts, as before): is the replica saturated? The
    /// answer holds until the next sample at least [`Saturation::MIN_SPAN`] later.
    pub fn saturated(&mut self, now: std::time::Instant, cpu: Option<std::time::Duration>) -> bool {
        let Some(cpu) = cpu else { return true };
        match self.sample {
            None => self.sample = Some((now, cpu)),
            Some((at, then)) if now.saturating_duration_since(at) >= Self::MIN_SPAN => {
                let wall = now.saturating_duration_since(at).as_secs_f64();
                let busy = cpu.saturating_sub(then).as_secs_f64();
                self.saturated = busy >= Self::BUSY * wall;
                self.sample = Some((now, cpu));
            }
            Some(_) => {}
        }
        self.saturated
    }
}

#[derive(Debug)]
pub struct Strikes {
    me: RmId,
    limit: u32,
    slow_limit: u32,
    /// Verdicts about requests up to here are stale (older than one already counted, or about
    /// a replica since replaced).
    counted_through: u64,
    pub wrong: u32,
    pub silent: u32,
}

impl Strikes {
    /// `limit` consecutive wrong results trigger a swap, `slow_limit` consecutive silences a
    /// restart.
    pub fn new(me: RmId, limit: u32, slow_limit: u32) -> Self {
        Strikes {
            me,
            limit: limit.max(1),
            slow_limit: slow_limit.max(1),
            counted_through: 0,
            wrong: 0,
            silent: 0,
        }
    }

    /// Forget everything up to `seq`: the replica was replaced and its new instance answers
    /// from there on.
    pub fn reset(&mut self, seq: u64) {
        self.counted_through = self.counted_through.max(seq);
        self.wrong = 0;
        self.silent = 0;
    }

    /// Counts one verdict. `delivered`: had this RM delivered the request to its replica when
    /// the verdict came? A silence about a request it never got is the network's doing, not the
    /// replica's, and does not count.
    pub fn on_verdict(&mut self, verdict: &Verdict, delivered: bool) -> Option<Trigger> {
        if verdict.seq <= self.counted_through {
            return None;
        }
        if verdict.agreed.contains(&self.me) {
            self.wrong = 0;
            self.silent = 0;
        } else if verdict.wrong.contains(&self.me) {
            self.wrong += 1;
            self.silent = 0;
        } else if verdict.silent.contains(&self.me) {
            if !delivered {
                return None;
            }
            self.silent += 1;
        } else {
            // A verdict that does not name this replica says nothing about it.
            return None;
        }
        self.counted_through = verdict.seq;
        if self.wrong >= self.limit {
            Some(Trigger::Wrong)
        } else if self.silent >= self.slow_limit {
            Some(Trigger::Slow)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_replica_busy_half_the_time_is_saturated() {
        use std::time::{Duration, Instant};
        let ms = Duration::from_millis;
        let t0 = Instant::now();
        let mut s = Saturation::default();
        // The first sample measures nothing yet.
        assert!(!s.saturated(t0, Some(ms(0))));
        // 100 ms of CPU in 1 s: waiting (for the CPU, or for work), not the bottleneck.
        assert!(!s.saturated(t0 + ms(1000), Some(ms(100))));
        // 900 ms of CPU in the next second: the replica is what is slow.
        assert!(s.saturated(t0 + ms(2000), Some(ms(1000))));
        // Within MIN_SPAN of the last sample the answer stands.
        assert!(s.saturated(t0 + ms(2100), Some(ms(1000))));
        assert!(!s.saturated(t0 + ms(3000), Some(ms(1100))));
        // No thread clock: every silence counts, as before.
        assert!(Saturation::default().saturated(t0, None));
    }

    fn verdict(seq: u64, me_is: &str) -> Verdict {
        let mut v = Verdict {
            seq,
            agreed: vec![2, 3],
            wrong: vec![],
            silent: vec![],
        };
        match me_is {
            "right" => v.agreed.push(1),
            "wrong" => v.wrong.push(1),
            "silent" => v.silent.push(1),
            _ => unreachable!(),
        }
        v
    }

    fn run(pattern: &[&str]) -> Vec<Option<Trigger>> {
        let mut s = Strikes::new(1, 3, 3);
        pattern
            .iter()
            .enumerate()
            .map(|(i, p)| s.on_verdict(&verdict(i as u64 + 1, p), true))
            .collect()
    }

    #[test]
    fn three_consecutive_wrong_results_trigger_at_the_third() {
        assert_eq!(
            run(&["wrong", "wrong", "wrong"]),
            [None, None, Some(Trigger::Wrong)]
        );
    }

    #[test]
    fn a_correct_result_in_between_resets_the_count() {
        let out = run(&[
            "wrong", "right", "wrong", "right", "wrong", "wrong", "right",
        ]);
        assert!(out.iter().all(Option::is_none), "{out:?}");
    }

    #[test]
    fn silence_neither_resets_nor_counts_as_wrong() {
        assert_eq!(
            run(&["wrong", "silent", "wrong", "wrong"])[3],
            Some(Trigger::Wrong)
        );
        assert_eq!(run(&["silent", "silent", "silent"])[2], Some(Trigger::Slow));
    }

    #[test]
    fn silence_about_a_request_never_delivered_is_not_the_replicas_fault() {
        let mut s = Strikes::new(1, 3, 3);
        for seq in 1..=5 {
            assert_eq!(s.on_verdict(&verdict(seq, "silent"), false), None);
        }
        assert_eq!(s.silent, 0);
    }

    #[test]
    fn stale_and_replaced_verdicts_are_ignored() {
        let mut s = Strikes::new(1, 3, 3);
        s.on_verdict(&verdict(5, "wrong"), true);
        assert_eq!(
            s.on_verdict(&verdict(4, "wrong"), true),
            None,
            "older than one counted"
        );
        assert_eq!(s.wrong, 1);
        s.reset(10);
        assert_eq!(s.wrong, 0);
        for seq in [8, 9, 10] {
            assert_eq!(s.on_verdict(&verdict(seq, "wrong"), true), None);
        }
        assert_eq!(
            s.wrong, 0,
            "verdicts about the replaced instance do not count"
        );
    }
}
