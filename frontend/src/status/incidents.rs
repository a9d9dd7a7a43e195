//! One story per incident: the verdicts about an RM (wrong results, silences) and the swap or
//! restart that ended them share an incident id, so the page tells "RM 3: faulty-logic →
//! replica-c after wrong results on requests 753–764 (12×)" once, not as a swap beside a
//! separate run of disagreements.
//!
//! Per RM, verdicts open an incident or join the open one; a swap or a restart closes it (or,
//! with none open, is an incident of its own). Verdicts that arrive after the close about
//! requests numbered before it (late ballots of the same fault) still join it, as do silences
//! in the moments after a restart (the new process catching up). An incident quiet for
//! [`INCIDENT_GAP`] is over.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use dmtbs_proto::RmId;

/// An RM's open incident ends after this long without an event about it.
pub const INCIDENT_GAP: Duration = Duration::from_secs(30);
/// After a restart, silences about the RM this long after it still belong to the restart (the
/// new process recovering and catching up).
pub const RESTART_GRACE: Duration = Duration::from_secs(10);

/// What an event does to its RM's incident.
#[derive(Clone, Copy, Debug)]
pub(super) enum Role {
    /// A verdict about request `seq`.
    Verdict { seq: u64, silence: bool },
    /// A swap or a restart: ends the incident; requests up to `covered` were numbered before it.
    Close { covered: u64, restart: bool },
}

#[derive(Debug)]
struct Open {
    id: u64,
    last: Instant,
    closed: Option<Closed>,
}

#[derive(Clone, Copy, Debug)]
struct Closed {
    covered: u64,
    restart: bool,
    at: Instant,
}

/// Each RM's latest incident.
#[derive(Debug, Default)]
pub(super) struct Incidents {
    latest: BTreeMap<RmId, Open>,
}

impl Incidents {
    /// The incident of event `id` about RM `rm` (a new incident has the id of its first event).
    pub(super) fn assign(&mut self, rm: RmId, role: Role, id: u64, now: Instant) -> u64 {
        let current = self
            .latest
            .get_mut(&rm)
            .filter(|o| now.saturating_duration_since(o.last) < INCIDENT_GAP);
        let joins = match (&current, role) {
            (Some(o), Role::Verdict { seq, silence }) => match o.closed {
                None => true,
                Some(c) => {
                    seq <= c.covered
                        || (c.restart
                            && silence
                            && now.saturating_duration_since(c.at) < RESTART_GRACE)
                }
            },
            (Some(o), Role::Close { .. }) => o.closed.is_none(),
            (None, _) => false,
        };
        let closed = match role {
            Role::Close { covered, restart } => Some(Closed {
                covered,
                restart,
                at: now,
            }),
            Role::Verdict { .. } => None,
        };
        if joins && let Some(o) = current {
            o.last = now;
            if closed.is_some() {
                o.closed = closed;
            }
            return o.id;
        }
        self.latest.insert(
            rm,
            Open {
                id,
                last: now,
                closed,
            },
        );
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_swap_ends_the_run_of_wrong_results_before_it_and_late_verdicts_join_it() {
        let t = Instant::now();
        let mut incidents = Incidents::default();
        let wrong = |seq| Role::Verdict {
            seq,
            silence: false,
        };
        let mut id = 0;
        let mut next = |incidents: &mut Incidents, rm, role, secs| {
            id += 1;
            incidents.assign(rm, role, id, t + Duration::from_secs(secs))
        };
        assert_eq!(next(&mut incidents, 3, wrong(753), 0), 1);
        assert_eq!(next(&mut incidents, 3, wrong(754), 0), 1);
        // Another RM's verdict is another incident.
        assert_eq!(next(&mut incidents, 2, wrong(754), 0), 3);
        let close = Role::Close {
            covered: 765,
            restart: false,
        };
        assert_eq!(next(&mut incidents, 3, close, 1), 1);
        // A late verdict about a request numbered before the swap: the same story.
        assert_eq!(next(&mut incidents, 3, wrong(764), 2), 1);
        // One numbered after it starts a new one; a swap with no incident open is an incident
        // of its own, and a second swap another.
        assert_eq!(next(&mut incidents, 3, wrong(900), 3), 6);
        assert_eq!(next(&mut incidents, 4, close, 3), 7);
        assert_eq!(
            next(&mut incidents, 4, close, 4),
            8,
            "two swaps: two stories"
        );
        // Quiet for longer than the gap: over.
        assert_eq!(next(&mut incidents, 3, wrong(901), 40), 9);
    }

    #[test]
    fn silences_right_after_a_restart_belong_to_it() {
        let t = Instant::now();
        let mut incidents = Incidents::default();
        let silence = |seq| Role::Verdict { seq, silence: true };
        assert_eq!(incidents.assign(4, silence(440), 1, t), 1);
        assert_eq!(incidents.assign(4, silence(458), 2, t), 1);
        let restart = Role::Close {
            covered: 458,
            restart: true,
        };
        assert_eq!(incidents.assign(4, restart, 3, t), 1);
        let soon = t + Duration::from_secs(2);
        assert_eq!(incidents.assign(4, silence(470), 4, soon), 1);
        let later = t + RESTART_GRACE + Duration::from_secs(1);
        assert_eq!(incidents.assign(4, silence(900), 5, later), 5);
    }
}
