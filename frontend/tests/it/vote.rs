//! The voter: answer at two identical results, judge wrong and silent RMs, dynamic deadline.

use std::time::{Duration, Instant};

use dmtbs_contract::{Booked, BookingError, Outcome, Success};
use dmtbs_frontend::vote::{Decision, Event, Voter, VoterConfig, verdict_message};
use dmtbs_proto::{Message, Outgoing, Replay, ReplicaResult, RmId, Verdict};

const MS: Duration = Duration::from_millis(1);

fn config() -> VoterConfig {
    VoterConfig {
        rms: vec![1, 2, 3, 4],
        floor: 20 * MS,
        ceiling: 1000 * MS,
        window: 4,
        quorum: 2,
    }
}

fn good() -> Outcome {
    Ok(Success::Booked(Booked {
        held: 2,
        remaining: 8,
    }))
}

fn bad() -> Outcome {
    Err(BookingError::WeeklyLimit)
}

fn result(rm: RmId, seq: u64, outcome: Outcome) -> ReplicaResult {
    ReplicaResult {
        rm,
        epoch: 1,
        seq,
        request_id: seq * 10,
        outcome,
        replay_of: None,
    }
}

fn decisions(events: &[Event]) -> Vec<&Decision> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Decide(d) => Some(d),
            Event::Verdict(_) => None,
        })
        .collect()
}

fn verdicts(events: &[Event]) -> Vec<&Verdict> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Verdict(v) => Some(v),
            Event::Decide(_) => None,
        })
        .collect()
}

#[test]
fn two_identical_results_answer_at_once_and_a_wrong_third_is_reported() {
    let t0 = Instant::now();
    let mut v = Voter::new(config());
    v.open(7, t0);
    assert!(v.record(result(2, 7, good()), t0 + MS).is_empty());
    let events = v.record(result(3, 7, good()), t0 + 2 * MS);
    assert_eq!(
        decisions(&events),
        [&Decision::Agreed {
            seq: 7,
            outcome: good(),
            agreed: vec![2, 3],
            replay_of: None,
        }]
    );
    assert!(verdicts(&events).is_empty(), "still collecting the rest");
    // The agreed outcome is returned once: a third identical result decides nothing new.
    assert!(v.record(result(4, 7, bad()), t0 + 3 * MS).is_empty());
    let events = v.record(result(1, 7, good()), t0 + 4 * MS);
    assert!(decisions(&events).is_empty());
    assert_eq!(
        verdicts(&events),
        [&Verdict {
            seq: 7,
            agreed: vec![1, 2, 3],
            wrong: vec![4],
            silent: vec![]
        }]
    );
    assert!(!v.is_open(7));
    assert_eq!(v.counters().votes, 1);
    assert_eq!(v.counters().disagreements.get(&4), Some(&1));
    assert_eq!(v.counters().disagreements.get(&1), None);
}

#[test]
fn a_silent_rm_is_reported_after_the_deadline() {
    let t0 = Instant::now();
    let mut v = Voter::new(config());
    // Nothing measured yet: the deadline is the ceiling.
    assert_eq!(v.timeout(), 1000 * MS);
    v.open(1, t0);
    v.record(result(1, 1, good()), t0 + MS);
    v.record(result(2, 1, good()), t0 + MS);
    v.record(result(3, 1, bad()), t0 + 5 * MS);
    assert_eq!(v.next_deadline(), Some(t0 + 1000 * MS));
    assert!(v.tick(t0 + 999 * MS).is_empty(), "not yet");
    let events = v.tick(t0 + 1000 * MS);
    assert_eq!(
        verdicts(&events),
        [&Verdict {
            seq: 1,
            agreed: vec![1, 2],
            wrong: vec![3],
            silent: vec![4]
        }]
    );
    assert!(decisions(&events).is_empty(), "already answered");
    assert_eq!(v.counters().silences.get(&4), Some(&1));
    assert_eq!(v.next_deadline(), None);
    // Its result arriving later changes nothing.
    assert!(v.record(result(4, 1, good()), t0 + 1001 * MS).is_empty());
    assert_eq!(v.counters().late, 1);
    // The slowest result (5 ms) now sets the deadline: twice that, raised to the floor.
    assert_eq!(v.timeout(), 20 * MS);
}

#[test]
fn the_deadline_grows_with_slow_results_and_is_clamped() {
    let t0 = Instant::now();
    let mut v = Voter::new(config());
    let ballot = |v: &mut Voter, seq: u64, slowest: Duration| {
        v.open(seq, t0);
        for rm in 1..=3 {
            v.record(result(rm, seq, good()), t0 + MS);
        }
        v.record(result(4, seq, good()), t0 + slowest);
    };
    ballot(&mut v, 1, 2 * MS);
    assert_eq!(v.timeout(), 20 * MS, "floor");
    ballot(&mut v, 2, 30 * MS);
    assert_eq!(v.timeout(), 60 * MS, "twice the slowest");
    ballot(&mut v, 3, 400 * MS);
    assert_eq!(v.timeout(), 800 * MS);
    ballot(&mut v, 4, 700 * MS);
    assert_eq!(v.timeout(), 1000 * MS, "ceiling");
    // The window holds 4 ballots: four fast ones push the slow ones out.
    for seq in 5..=8 {
        ballot(&mut v, seq, 10 * MS);
    }
    assert_eq!(v.timeout(), 20 * MS);
    // A ballot opened now keeps the deadline it got: a silent RM is reported after 20 ms.
    v.open(9, t0);
    v.record(result(1, 9, good()), t0 + MS);
    v.record(result(2, 9, good()), t0 + MS);
    v.record(result(3, 9, good()), t0 + MS);
    assert_eq!(v.next_deadline(), Some(t0 + 20 * MS));
    assert_eq!(verdicts(&v.tick(t0 + 20 * MS))[0].silent, vec![4]);
}

#[test]
fn agreement_reached_after_the_deadline_closes_at_once() {
    let t0 = Instant::now();
    let mut v = Voter::new(config());
    for seq in 1..=4 {
        v.open(seq, t0);
        for rm in 1..=4 {
            v.record(result(rm, seq, good()), t0 + MS);
        }
    }
    assert_eq!(v.timeout(), 20 * MS);
    v.open(5, t0);
    v.record(result(1, 5, good()), t0 + 10 * MS);
    // Disagreement keeps the ballot open past the deadline, up to the ceiling.
    assert!(v.tick(t0 + 30 * MS).is_empty());
    let events = v.record(result(2, 5, good()), t0 + 300 * MS);
    assert!(matches!(
        decisions(&events)[..],
        [Decision::Agreed { seq: 5, .. }]
    ));
    // The quorum took 300 ms: the others get twice that beyond the agreement, not the 20 ms
    // the quiet ballots before had set.
    assert!(verdicts(&events).is_empty());
    assert_eq!(v.next_deadline(), Some(t0 + 900 * MS));
    assert!(v.tick(t0 + 899 * MS).is_empty());
    assert_eq!(verdicts(&v.tick(t0 + 900 * MS))[0].silent, vec![3, 4]);
}

#[test]
fn a_burst_from_idle_does_not_make_the_slower_replicas_silent() {
    let t0 = Instant::now();
    let mut v = Voter::new(config());
    // Quiet: every result within 1 ms, so the window sets the floor, 20 ms.
    for seq in 1..=4 {
        v.open(seq, t0);
        for rm in 1..=4 {
            v.record(result(rm, seq, good()), t0 + MS);
        }
    }
    assert_eq!(v.timeout(), 20 * MS);
    // A burst: the queues grow, the quorum answers after 100 ms, the other two 150 ms later —
    // the same queue, a little further back. No one is silent.
    v.open(5, t0);
    v.record(result(1, 5, good()), t0 + 90 * MS);
    let events = v.record(result(2, 5, good()), t0 + 100 * MS);
    assert_eq!(decisions(&events).len(), 1);
    assert!(v.tick(t0 + 250 * MS).is_empty());
    v.record(result(3, 5, good()), t0 + 240 * MS);
    let events = v.record(result(4, 5, good()), t0 + 250 * MS);
    assert_eq!(verdicts(&events)[0].silent, Vec::<RmId>::new());
    // A replica really stopped is still reported: by 3 × the quorum's latency.
    v.open(6, t0 + 300 * MS);
    v.record(result(1, 6, good()), t0 + 350 * MS);
    v.record(result(2, 6, good()), t0 + 350 * MS);
    v.record(result(3, 6, good()), t0 + 360 * MS);
    let deadline = v.next_deadline().expect("open");
    assert!(deadline <= t0 + 1300 * MS, "{:?}", deadline - t0);
    assert_eq!(verdicts(&v.tick(deadline))[0].silent, vec![4]);
}

#[test]
fn no_agreement_by_the_ceiling_is_a_decision_never_a_guess() {
    let t0 = Instant::now();
    let mut v = Voter::new(config());
    v.open(3, t0);
    v.record(result(1, 3, good()), t0 + MS);
    v.record(result(2, 3, bad()), t0 + MS);
    v.record(result(3, 3, Err(BookingError::ShowFull(1))), t0 + MS);
    assert!(v.tick(t0 + 999 * MS).is_empty());
    let events = v.tick(t0 + 1000 * MS);
    assert_eq!(decisions(&events), [&Decision::NoAgreement { seq: 3 }]);
    assert_eq!(
        verdicts(&events),
        [&Verdict {
            seq: 3,
            agreed: vec![],
            wrong: vec![],
            silent: vec![4]
        }]
    );
    assert_eq!(v.counters().no_agreement, 1);
    assert_eq!(v.counters().votes, 0);
}

#[test]
fn all_different_results_end_the_ballot_without_waiting() {
    let t0 = Instant::now();
    let mut v = Voter::new(config());
    v.record(result(1, 9, good()), t0);
    v.record(result(2, 9, bad()), t0);
    v.record(result(3, 9, Err(BookingError::PastShow)), t0);
    let events = v.record(result(4, 9, Err(BookingError::NotBooked)), t0);
    assert_eq!(decisions(&events), [&Decision::NoAgreement { seq: 9 }]);
    assert_eq!(verdicts(&events).len(), 1);
}

#[test]
fn duplicates_and_unknown_rms_are_ignored() {
    let t0 = Instant::now();
    let mut v = Voter::new(config());
    v.open(4, t0);
    v.record(result(1, 4, good()), t0);
    // RM 1 again, even with the same outcome, is not a second vote.
    assert!(v.record(result(1, 4, good()), t0).is_empty());
    // An RM outside the configuration is not a vote either.
    assert!(v.record(result(9, 4, good()), t0).is_empty());
    assert!(v.is_open(4));
    assert_eq!(v.counters().duplicates, 1);
    assert_eq!(v.counters().unknown_rm, 1);
    let events = v.record(result(2, 4, good()), t0);
    assert!(matches!(
        decisions(&events)[..],
        [Decision::Agreed { seq: 4, agreed, .. }] if agreed == &vec![1, 2]
    ));
}

#[test]
fn a_result_before_open_starts_the_ballot_and_open_keeps_the_earlier_time() {
    let t0 = Instant::now();
    let mut v = Voter::new(config());
    v.record(result(1, 5, good()), t0 + 10 * MS);
    v.open(5, t0);
    assert_eq!(v.next_deadline(), Some(t0 + 1000 * MS));
    let d = v.record(result(2, 5, good()), t0 + 11 * MS);
    assert_eq!(d.len(), 1);
}

#[test]
fn verdicts_go_to_all_rms() {
    let verdict = Verdict {
        seq: 1,
        agreed: vec![1, 2],
        wrong: vec![],
        silent: vec![3],
    };
    assert_eq!(
        verdict_message(vec![verdict.clone()]),
        Outgoing::ToAllRms(Message::Verdicts(vec![verdict]))
    );
}

#[test]
fn the_default_quorum_is_two() {
    assert_eq!(VoterConfig::new(vec![1, 2, 3, 4]).quorum, 2);
}

#[test]
fn quorum_one_answers_at_the_first_result_and_still_judges_the_rest() {
    let t0 = Instant::now();
    let mut v = Voter::new(VoterConfig {
        quorum: 1,
        ..config()
    });
    v.open(1, t0);
    let events = v.record(result(3, 1, good()), t0 + MS);
    assert_eq!(
        decisions(&events),
        [&Decision::Agreed {
            seq: 1,
            outcome: good(),
            agreed: vec![3],
            replay_of: None,
        }]
    );
    assert!(verdicts(&events).is_empty(), "still collecting the rest");
    v.record(result(1, 1, bad()), t0 + 2 * MS);
    v.record(result(2, 1, good()), t0 + 2 * MS);
    let events = v.record(result(4, 1, good()), t0 + 3 * MS);
    assert!(decisions(&events).is_empty(), "answered once");
    assert_eq!(
        verdicts(&events),
        [&Verdict {
            seq: 1,
            agreed: vec![2, 3, 4],
            wrong: vec![1],
            silent: vec![]
        }]
    );
}

#[test]
fn quorum_one_over_a_single_replica_closes_at_its_result() {
    let t0 = Instant::now();
    let mut v = Voter::new(VoterConfig {
        rms: vec![1],
        quorum: 1,
        ..config()
    });
    v.open(5, t0);
    let events = v.record(result(1, 5, good()), t0 + MS);
    assert!(matches!(
        decisions(&events)[..],
        [Decision::Agreed { seq: 5, agreed, .. }] if agreed == &vec![1]
    ));
    assert_eq!(verdicts(&events)[0].agreed, vec![1]);
    assert!(!v.is_open(5));
    assert_eq!(v.next_deadline(), None);
}

#[test]
fn quorum_three_waits_for_a_third_identical_result() {
    let t0 = Instant::now();
    let mut v = Voter::new(VoterConfig {
        quorum: 3,
        ..config()
    });
    v.open(2, t0);
    assert!(v.record(result(1, 2, good()), t0 + MS).is_empty());
    assert!(v.record(result(2, 2, bad()), t0 + MS).is_empty());
    assert!(
        v.record(result(3, 2, good()), t0 + MS).is_empty(),
        "two identical results are not enough"
    );
    let events = v.record(result(4, 2, good()), t0 + 2 * MS);
    assert_eq!(
        decisions(&events),
        [&Decision::Agreed {
            seq: 2,
            outcome: good(),
            agreed: vec![1, 3, 4],
            replay_of: None,
        }]
    );
    assert_eq!(verdicts(&events)[0].wrong, vec![2]);
}

#[test]
fn quorum_three_without_three_identical_results_is_no_agreement() {
    let t0 = Instant::now();
    let mut v = Voter::new(VoterConfig {
        quorum: 3,
        ..config()
    });
    // Two and two: every RM answered, no quorum — decided at once, never a guess.
    v.open(8, t0);
    v.record(result(1, 8, good()), t0);
    v.record(result(2, 8, good()), t0);
    v.record(result(3, 8, bad()), t0);
    let events = v.record(result(4, 8, bad()), t0);
    assert_eq!(decisions(&events), [&Decision::NoAgreement { seq: 8 }]);
    // Two identical and one silent RM: no agreement by the ceiling.
    v.open(9, t0);
    v.record(result(1, 9, good()), t0);
    v.record(result(2, 9, good()), t0);
    assert!(v.tick(t0 + 999 * MS).is_empty());
    let events = v.tick(t0 + 1000 * MS);
    assert_eq!(decisions(&events), [&Decision::NoAgreement { seq: 9 }]);
    assert_eq!(verdicts(&events)[0].silent, vec![3, 4]);
}

fn replay(seq: u64, same_operation: bool) -> Option<Replay> {
    Some(Replay {
        seq,
        same_operation,
    })
}

/// `result` with another replay note and epoch.
fn noted(rm: RmId, seq: u64, replay_of: Option<Replay>, epoch: u64) -> ReplicaResult {
    ReplicaResult {
        replay_of,
        epoch,
        ..result(rm, seq, good())
    }
}

#[test]
fn results_differing_only_in_replay_of_do_not_agree() {
    let t0 = Instant::now();
    let mut v = Voter::new(config());
    v.open(3, t0);
    // Same outcome; one replica executed the request again, one recognised it, one says it
    // was first executed elsewhere, one that it came with another operation.
    assert!(v.record(noted(1, 3, None, 1), t0).is_empty());
    assert!(v.record(noted(2, 3, replay(1, true), 1), t0).is_empty());
    assert!(v.record(noted(3, 3, replay(2, true), 1), t0).is_empty());
    let events = v.record(noted(4, 3, replay(1, false), 1), t0);
    assert_eq!(decisions(&events), [&Decision::NoAgreement { seq: 3 }]);
    assert!(verdicts(&events)[0].wrong.is_empty(), "nobody agreed");

    // Two identical notes agree, and the decision carries the note; the others are wrong.
    v.open(4, t0);
    v.record(noted(1, 4, replay(2, true), 1), t0);
    v.record(noted(2, 4, None, 1), t0);
    let events = v.record(noted(3, 4, replay(2, true), 1), t0);
    assert_eq!(
        decisions(&events),
        [&Decision::Agreed {
            seq: 4,
            outcome: good(),
            agreed: vec![1, 3],
            replay_of: replay(2, true),
        }]
    );
    let events = v.record(noted(4, 4, replay(2, false), 1), t0);
    assert_eq!(verdicts(&events)[0].wrong, vec![2, 4]);
}

#[test]
fn forget_open_emits_nothing_and_ignores_the_old_epoch_afterwards() {
    let t0 = Instant::now();
    let mut v = Voter::new(config());
    // Epoch 1: seq 5 agreed and open for the rest, seq 6 undecided, seq 4 closed.
    v.open(4, t0);
    for rm in 1..=4 {
        v.record(noted(rm, 4, None, 1), t0);
    }
    v.open(5, t0);
    v.record(noted(1, 5, None, 1), t0);
    v.record(noted(2, 5, None, 1), t0);
    v.open(6, t0);
    v.record(noted(1, 6, None, 1), t0);
    let before = v.counters().clone();
    v.take_latencies();

    assert_eq!(v.forget_open(2), 2, "two open ballots dropped");
    assert_eq!(v.epoch(), 2);
    assert!(!v.is_open(5) && !v.is_open(6));
    assert_eq!(v.next_deadline(), None);
    // Nothing decided or judged, now or when the old ballots' time would have come.
    assert!(v.tick(t0 + 10_000 * MS).is_empty());
    assert_eq!(v.counters(), &before);

    // A late result of epoch 1 is ignored, even for a number epoch 2 uses again…
    assert!(v.record(noted(3, 5, None, 1), t0 + MS).is_empty());
    assert!(v.record(noted(4, 6, None, 1), t0 + MS).is_empty());
    assert!(!v.is_open(5) && !v.is_open(6));
    assert_eq!(v.counters().late, before.late + 2);
    assert!(v.take_latencies().is_empty());
    // …while epoch 2 votes afresh on the reused numbers, closed (4) or open (5) in epoch 1, and
    // a wrong result of epoch 1 is never counted against anyone.
    v.open(4, t0 + MS);
    v.record(noted(1, 4, replay(4, true), 2), t0 + 2 * MS);
    let events = v.record(noted(2, 4, replay(4, true), 2), t0 + 2 * MS);
    assert!(matches!(
        decisions(&events)[..],
        [Decision::Agreed {
            seq: 4,
            replay_of: Some(Replay {
                seq: 4,
                same_operation: true
            }),
            ..
        }]
    ));
    v.record(noted(3, 5, None, 2), t0 + 2 * MS);
    let events = v.record(noted(4, 5, None, 2), t0 + 2 * MS);
    assert!(matches!(
        decisions(&events)[..],
        [Decision::Agreed { seq: 5, .. }]
    ));
    // Forgetting again for an older epoch never lowers it.
    v.forget_open(1);
    assert_eq!(v.epoch(), 2);
}

/// An RM stopped for a long time (SIGSTOP) and resumed sends the results of ballots that closed
/// long ago, far more than any memory of closed numbers holds: each is late, opens no ballot and
/// makes no verdict — no "no-agreement", no RM called silent. A request still waiting, whose
/// number is below the newest closed one (its `Accepted` came late), still gets its ballot.
#[test]
fn results_of_ballots_closed_long_ago_are_late_however_many_closed_since() {
    let t0 = Instant::now();
    let mut v = Voter::new(config());
    let closed = 20_000;
    for seq in 1..=closed {
        v.open(seq, t0);
        for rm in [1, 2, 3] {
            v.record(result(rm, seq, good()), t0 + MS);
        }
        v.tick(t0 + 1000 * MS); // RM 4 stopped: silent on every ballot
    }
    let before = v.counters().clone();
    assert_eq!(before.silences.get(&4), Some(&closed));
    // RM 4 resumes: its results for all 20,000, oldest first.
    for seq in 1..=closed {
        let events = v.record(result(4, seq, good()), t0 + 2000 * MS);
        assert!(events.is_empty(), "seq {seq}: {events:?}");
    }
    assert_eq!(v.counters().late, before.late + closed);
    assert_eq!(v.counters().no_agreement, before.no_agreement);
    assert_eq!(v.next_deadline(), None, "no ballot was opened");
    assert!(v.tick(t0 + 10_000 * MS).is_empty());
    // A waiting request numbered below the newest closed ballot is opened by its caller.
    let waiting = closed + 1;
    v.open(waiting + 1, t0 + 3000 * MS);
    v.record(result(1, waiting + 1, good()), t0 + 3001 * MS);
    v.record(result(2, waiting + 1, good()), t0 + 3001 * MS);
    v.record(result(3, waiting + 1, good()), t0 + 3001 * MS);
    v.record(result(4, waiting + 1, good()), t0 + 3001 * MS);
    v.open(waiting, t0 + 3000 * MS);
    let events = v.record(result(1, waiting, good()), t0 + 3002 * MS);
    assert!(events.is_empty(), "one result is no quorum");
    let events = v.record(result(2, waiting, good()), t0 + 3002 * MS);
    assert_eq!(decisions(&events).len(), 1, "answered: {events:?}");
}
