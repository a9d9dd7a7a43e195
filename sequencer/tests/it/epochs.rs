//! A new sequencer's recovery: the epoch it numbers in, where it starts, and the refusal when a
//! majority of the replica managers lost their disks.

use std::time::{Duration, Instant};

use dmtbs_proto::{Message, NodeId, Outgoing, SeqRange};
use dmtbs_sequencer::{Phase, Sequencer, StartRefused};

use crate::support::*;

const MS: fn(u64) -> Duration = Duration::from_millis;

fn to_all(msg: Message) -> Vec<Outgoing> {
    vec![Outgoing::ToAllRms(msg)]
}

fn wanted(epoch: u64) -> Vec<Outgoing> {
    to_all(Message::EpochWanted { epoch })
}

/// The `EpochStart` of the last epoch of `chain`.
fn epoch_start(chain: &[(u64, u64)]) -> Vec<Outgoing> {
    let (epoch, start) = *chain.last().expect("a chain ends with its epoch");
    to_all(Message::EpochStart {
        epoch,
        start,
        chain: chain.to_vec(),
    })
}

/// Epoch 3's chain in [`starting_at_14`]: it continues epoch 2 (from 0), the highest epoch
/// among its RMs.
const EPOCH_3: [(u64, u64); 2] = [(2, 0), (3, 14)];

/// A new sequencer for RMs 1–4 (batches of 8, a buffer of 1,000).
fn new_sequencer() -> Sequencer {
    Sequencer::new(config(8, 1_000))
}

/// A sequencer that recovered epoch 3 from RMs 1–3, whose logs end at 10, 14 and 12 (RM 4 did
/// not answer), and is starting: it numbers from 15 once a majority has everything through 14.
fn starting_at_14(now: Instant) -> Sequencer {
    let mut s = new_sequencer();
    assert_eq!(s.on_tick(now), wanted(1));
    // RM 1 is in epoch 2 already: the candidate goes past it.
    assert_eq!(
        answer(&mut s, epoch_state(1, 2, 2, 10, false), now),
        wanted(3)
    );
    assert!(answer(&mut s, epoch_state(1, 3, 2, 10, false), now).is_empty());
    assert!(answer(&mut s, epoch_state(2, 3, 2, 14, false), now).is_empty());
    assert_eq!(
        answer(&mut s, epoch_state(3, 3, 1, 12, false), now),
        epoch_start(&EPOCH_3)
    );
    assert_eq!(
        (s.phase(), s.epoch(), s.start(), s.latest()),
        (Phase::Starting, 3, 14, 14)
    );
    s
}

/// [`starting_at_14`], then RMs 1–3 acknowledge everything through 14: numbering.
fn numbering_from_15(now: Instant) -> Sequencer {
    let mut s = starting_at_14(now);
    for rm in [1, 2, 3] {
        assert!(ack(&mut s, rm, 14, now).is_empty());
    }
    assert_eq!(s.phase(), Phase::Numbering);
    s
}

#[test]
fn a_new_sequencer_asks_every_rm_for_a_promise_until_it_has_its_answers() {
    let t0 = Instant::now();
    let mut s = new_sequencer();
    assert_eq!((s.phase(), s.epoch(), s.start()), (Phase::Recovering, 1, 0));
    assert_eq!(s.on_tick(t0), wanted(1));
    assert!(s.on_tick(t0 + MS(49)).is_empty());
    assert_eq!(s.on_tick(t0 + MS(50)), wanted(1));
    assert_eq!(s.waiting_for(), vec![1, 2, 3, 4]);
    assert!(answer(&mut s, epoch_state(2, 1, 0, 0, true), t0 + MS(60)).is_empty());
    assert_eq!(s.waiting_for(), vec![1, 3, 4]);
    // Nothing is sent between the rounds, heartbeats included.
    assert!(s.on_tick(t0 + MS(99)).is_empty());
    assert_eq!(s.on_tick(t0 + MS(100)), wanted(1));
    assert_eq!(s.stats().heartbeats, 0);
}

#[test]
fn the_candidate_is_raised_above_a_higher_promise_and_the_answers_are_forgotten() {
    let t0 = Instant::now();
    let mut s = new_sequencer();
    assert_eq!(s.on_tick(t0), wanted(1));
    assert!(answer(&mut s, epoch_state(1, 1, 0, 7, false), t0).is_empty());
    assert!(answer(&mut s, epoch_state(2, 1, 0, 7, false), t0).is_empty());
    // RM 3 promised epoch 5 to some earlier sequencer: ask everyone again, at once, for 7 —
    // the next odd epoch, since even ones are the standby's.
    assert_eq!(
        answer(&mut s, epoch_state(3, 5, 4, 7, false), t0 + MS(1)),
        wanted(7)
    );
    assert_eq!((s.phase(), s.epoch()), (Phase::Recovering, 7));
    assert_eq!(s.waiting_for(), vec![1, 2, 3, 4]);
    // The next round is due a full retry interval after the raise.
    assert!(s.on_tick(t0 + MS(50)).is_empty());
    assert_eq!(s.on_tick(t0 + MS(51)), wanted(7));
    // Late answers to epoch 1 promise nothing for 7: ignored.
    assert!(answer(&mut s, epoch_state(4, 1, 0, 7, false), t0 + MS(2)).is_empty());
    assert!(answer(&mut s, epoch_state(1, 1, 0, 7, false), t0 + MS(2)).is_empty());
    assert_eq!(s.phase(), Phase::Recovering);
    // An RM already *in* epoch 7 (an earlier sequencer started it) raises it too, even though
    // it promises 7.
    assert!(answer(&mut s, epoch_state(1, 7, 4, 7, false), t0 + MS(3)).is_empty());
    assert_eq!(
        answer(&mut s, epoch_state(2, 7, 7, 9, false), t0 + MS(3)),
        wanted(9)
    );
    for rm in [1, 2, 3] {
        answer(&mut s, epoch_state(rm, 9, 7, 9, false), t0 + MS(4));
    }
    assert_eq!((s.phase(), s.epoch(), s.start()), (Phase::Starting, 9, 9));
}

#[test]
fn the_start_is_the_highest_durable_log_end_of_the_majority() {
    let t0 = Instant::now();
    let mut s = starting_at_14(t0);
    let learned: Vec<(u8, u64)> = s
        .epoch_states()
        .map(|st| (st.rm, st.durable_through))
        .collect();
    assert_eq!(learned, vec![(1, 10), (2, 14), (3, 12)]);
    // RM 4's answer comes after the decision: it changes nothing.
    assert!(answer(&mut s, epoch_state(4, 3, 2, 20, false), t0).is_empty());
    assert_eq!((s.epoch(), s.start()), (3, 14));
}

#[test]
fn nothing_is_numbered_before_a_majority_has_everything_through_the_start() {
    let t0 = Instant::now();
    let mut s = starting_at_14(t0);
    assert!(submit(&mut s, 1, &[1], t0).is_empty());
    assert_eq!(s.waiting_for(), vec![1, 2, 3, 4]);
    // RM 2 lacks 14 still; RM 1 and RM 4 have it all: two, not a majority.
    for (rm, through) in [(1, 14), (2, 13), (4, 14)] {
        assert!(ack(&mut s, rm, through, t0 + MS(10)).is_empty());
    }
    assert_eq!(s.waiting_for(), vec![2, 3]);
    assert_eq!(s.phase(), Phase::Starting);
    assert!(submit(&mut s, 1, &[1], t0 + MS(20)).is_empty());
    // Meanwhile the EpochStart is repeated, and no heartbeat is sent.
    assert!(s.on_tick(t0 + MS(49)).is_empty());
    assert_eq!(s.on_tick(t0 + MS(50)), epoch_start(&EPOCH_3));
    assert_eq!(s.on_tick(t0 + MS(100)), epoch_start(&EPOCH_3));
    assert_eq!(s.stats().heartbeats, 0);
    assert_eq!((s.latest(), s.stats().sequenced), (14, 0));
    // An acknowledgement beyond the start counts too.
    assert!(ack(&mut s, 2, 15, t0 + MS(110)).is_empty());
    assert_eq!(s.phase(), Phase::Numbering);
    assert!(s.waiting_for().is_empty());
    let out = submit(&mut s, 1, &[1], t0 + MS(120));
    assert_eq!(seqs(&multicast(&out).concat()), vec![15]);
    assert_eq!(s.stats().submits_while_recovering, 2);
}

/// An `Ack` counts towards the start only from an RM in this epoch that promised no later
/// one: an RM still in an older epoch (epoch 1, here the same sequencer's) acknowledges its
/// own history — beyond the start, what it holds may be requests the new epoch superseded —
/// and one that promised a later epoch takes nothing of this one beyond its reported end.
#[test]
fn acks_from_another_epoch_or_under_a_later_promise_do_not_start_the_epoch() {
    let t0 = Instant::now();
    let mut s = starting_at_14(t0);
    let other = |rm, through, epoch, promised| Message::Ack {
        rm,
        through,
        epoch,
        promised,
    };
    for (rm, through) in [(1, 14), (2, 14)] {
        assert!(ack(&mut s, rm, through, t0).is_empty());
    }
    s.on_message(NodeId::Rm(3), other(3, 20, 1, 1), today(), t0);
    s.on_message(NodeId::Rm(4), other(4, 20, 3, 5), today(), t0);
    assert_eq!(s.phase(), Phase::Starting);
    assert_eq!(s.waiting_for(), vec![3, 4]);
    assert_eq!(s.outbid(t0, Duration::ZERO), Some(5));
    // RM 3 took the start (and holds 15 and more of nothing: it acks what it has).
    assert!(ack(&mut s, 3, 14, t0 + MS(1)).is_empty());
    assert_eq!(s.phase(), Phase::Numbering);
}

#[test]
fn submits_while_recovering_are_neither_sequenced_nor_answered() {
    let t0 = Instant::now();
    let mut s = new_sequencer();
    s.on_tick(t0);
    assert!(submit(&mut s, 1, &[1, 2], t0).is_empty());
    assert!(submit(&mut s, 2, &[1], t0).is_empty());
    // A forged one is still refused as such.
    let forged = Message::Submit(vec![request(3, 1)]);
    assert!(
        s.on_message(NodeId::FrontEnd(4), forged, today(), t0)
            .is_empty()
    );
    let stats = s.stats();
    assert_eq!(
        (
            stats.submits_while_recovering,
            stats.bad_submits,
            stats.sequenced
        ),
        (2, 1, 0)
    );
    assert_eq!(s.latest(), 0);
    // Once numbering, the resent request gets its number.
    for rm in [1, 2, 3, 4] {
        answer(&mut s, epoch_state(rm, 1, 0, 0, true), t0);
    }
    for rm in [1, 2, 3] {
        ack(&mut s, rm, 0, t0);
    }
    let out = submit(&mut s, 1, &[1, 2], t0);
    assert_eq!(seqs(&multicast(&out).concat()), vec![1, 2]);
}

#[test]
fn numbering_continues_after_the_start_with_the_new_epoch_everywhere() {
    let t0 = Instant::now();
    let mut s = numbering_from_15(t0);
    let out = submit(&mut s, 1, &[100, 101], t0);
    let delivered = multicast(&out).concat();
    assert_eq!(seqs(&delivered), vec![15, 16]);
    assert!(delivered.iter().all(|d| d.epoch == 3));
    let acc = accepted(&out);
    assert_eq!(acc.len(), 1);
    let given: Vec<(u64, u64, u64)> = acc[0]
        .1
        .iter()
        .map(|a| (a.epoch, a.request_id, a.seq))
        .collect();
    assert_eq!(given, vec![(3, 100, 15), (3, 101, 16)]);
    // A retransmission keeps its number, in this epoch.
    let out = submit(&mut s, 1, &[100, 102], t0);
    let given: Vec<(u64, u64, u64)> = accepted(&out)[0]
        .1
        .iter()
        .map(|a| (a.epoch, a.request_id, a.seq))
        .collect();
    assert_eq!(given, vec![(3, 100, 15), (3, 102, 17)]);
    assert_eq!(seqs(&multicast(&out).concat()), vec![17]);
    assert_eq!((s.latest(), s.stats().sequenced), (17, 3));
}

#[test]
fn every_heartbeat_goes_with_the_epoch_start() {
    let t0 = Instant::now();
    let mut s = numbering_from_15(t0);
    let beat = |latest| {
        vec![
            Outgoing::ToAllRms(Message::Heartbeat { latest }),
            Outgoing::ToAllRms(Message::EpochStart {
                epoch: 3,
                start: 14,
                chain: EPOCH_3.to_vec(),
            }),
        ]
    };
    assert_eq!(s.on_tick(t0), beat(14));
    assert!(s.on_tick(t0 + MS(99)).is_empty());
    submit(&mut s, 1, &[1, 2], t0 + MS(50));
    assert_eq!(s.on_tick(t0 + MS(100)), beat(16));
    assert_eq!(s.stats().heartbeats, 2);
}

#[test]
fn nacks_for_what_came_before_the_epoch_are_answered_from_nothing() {
    let t0 = Instant::now();
    let mut s = starting_at_14(t0);
    let nack = |s: &mut Sequencer, first, last| {
        s.on_message(
            NodeId::Rm(4),
            Message::Nack {
                rm: 4,
                missing: vec![SeqRange { first, last }],
            },
            today(),
            t0,
        )
    };
    assert!(nack(&mut s, 1, 14).is_empty());
    for rm in [1, 2, 3] {
        ack(&mut s, rm, 14, t0);
    }
    submit(&mut s, 1, &[1, 2], t0);
    let out = nack(&mut s, 10, 16);
    assert_eq!(
        out.iter()
            .map(|o| match o {
                Outgoing::To(NodeId::Rm(4), Message::Deliver(v)) => seqs(v),
                other => panic!("expected a Deliver to RM 4, got {other:?}"),
            })
            .collect::<Vec<_>>(),
        vec![vec![15, 16]]
    );
    let stats = s.stats();
    assert_eq!(
        (stats.nacks, stats.retransmitted, stats.nack_misses),
        (2, 2, 14 + 5)
    );
}

#[test]
fn a_majority_with_lost_disks_makes_the_sequencer_refuse_to_start() {
    let t0 = Instant::now();
    let mut s = new_sequencer();
    s.on_tick(t0);
    // Two empty stores and one holding data: three promises, but one is not a majority of
    // holders. RM 4 might still hold data: wait for it, asking again.
    assert!(answer(&mut s, epoch_state(3, 1, 0, 0, true), t0).is_empty());
    assert!(answer(&mut s, epoch_state(4, 1, 0, 0, true), t0).is_empty());
    assert!(answer(&mut s, epoch_state(1, 1, 0, 120, false), t0).is_empty());
    assert_eq!((s.phase(), s.refusal()), (Phase::Recovering, None));
    assert_eq!(s.waiting_for(), vec![2]);
    assert_eq!(s.on_tick(t0 + MS(50)), wanted(1));
    // RM 2 holds data too: two of four, with every RM heard from. Refused.
    assert!(answer(&mut s, epoch_state(2, 1, 0, 118, false), t0 + MS(60)).is_empty());
    let refusal = s
        .refusal()
        .cloned()
        .expect("the sequencer refuses to start");
    assert_eq!(
        refusal,
        StartRefused {
            epoch: 1,
            holding: vec![(1, 120), (2, 118)],
            empty: vec![3, 4],
            majority: 3,
            rms: 4,
        }
    );
    let message = refusal.to_string();
    for part in [
        "RM 1 holds requests through seq 120 and RM 2 holds requests through seq 118",
        "RM 3 and RM 4 report an empty store",
        "A majority of the replica managers has lost its disks",
        "refuses to invent state",
        "Restore the lost replica managers' data folders",
        "empty data directory",
    ] {
        assert!(message.contains(part), "{part:?} not in {message:?}");
    }
    // It does nothing more: no asking, no numbering.
    assert!(s.on_tick(t0 + MS(200)).is_empty());
    assert!(submit(&mut s, 1, &[1], t0 + MS(200)).is_empty());
    assert_eq!(s.phase(), Phase::Recovering);
}

#[test]
fn three_rms_holding_data_and_one_empty_store_start() {
    let t0 = Instant::now();
    // The empty store answers first: with RM 1 and RM 2, three promises, two holders — wait.
    let mut s = new_sequencer();
    s.on_tick(t0);
    assert!(answer(&mut s, epoch_state(4, 1, 0, 0, true), t0).is_empty());
    assert!(answer(&mut s, epoch_state(1, 1, 0, 40, false), t0).is_empty());
    assert!(answer(&mut s, epoch_state(2, 1, 0, 42, false), t0).is_empty());
    assert_eq!(s.phase(), Phase::Recovering);
    assert_eq!(
        answer(&mut s, epoch_state(3, 1, 0, 41, false), t0),
        epoch_start(&[(1, 42)])
    );
    assert_eq!(s.refusal(), None);

    // The holders answer first: three holders decide without waiting for the empty store.
    let mut s = new_sequencer();
    for (rm, through) in [(1, 40), (2, 42)] {
        assert!(answer(&mut s, epoch_state(rm, 1, 0, through, false), t0).is_empty());
    }
    assert_eq!(
        answer(&mut s, epoch_state(3, 1, 0, 41, false), t0),
        epoch_start(&[(1, 42)])
    );
}

#[test]
fn a_brand_new_cluster_starts_in_epoch_1_from_0() {
    let t0 = Instant::now();
    let mut s = new_sequencer();
    assert_eq!(s.on_tick(t0), wanted(1));
    assert!(answer(&mut s, epoch_state(1, 1, 0, 0, true), t0).is_empty());
    assert!(answer(&mut s, epoch_state(2, 1, 0, 0, true), t0).is_empty());
    // Three empty stores of four: a new cluster, or three lost disks while the fourth holds
    // the history — only its answer tells.
    assert!(answer(&mut s, epoch_state(3, 1, 0, 0, true), t0).is_empty());
    assert_eq!(s.phase(), Phase::Recovering);
    assert_eq!(
        answer(&mut s, epoch_state(4, 1, 0, 0, true), t0),
        epoch_start(&[(1, 0)])
    );
    // Acknowledgements are awaited even for an empty history.
    assert!(submit(&mut s, 1, &[1], t0).is_empty());
    for rm in [1, 2, 3] {
        ack(&mut s, rm, 0, t0);
    }
    let out = submit(&mut s, 1, &[1], t0);
    let delivered = multicast(&out).concat();
    assert_eq!(
        delivered
            .iter()
            .map(|d| (d.epoch, d.seq))
            .collect::<Vec<_>>(),
        vec![(1, 1)]
    );
}

#[test]
fn three_empty_stores_wait_for_the_fourth_which_may_hold_the_history() {
    let t0 = Instant::now();
    let mut s = new_sequencer();
    s.on_tick(t0);
    // RM 4's first answer shows epoch 2 was started before: the candidate becomes 3.
    assert_eq!(
        answer(&mut s, epoch_state(4, 2, 2, 500, false), t0),
        wanted(3)
    );
    for rm in [1, 2, 3] {
        assert!(answer(&mut s, epoch_state(rm, 3, 0, 0, true), t0).is_empty());
    }
    // Three empty stores: not enough to call it a new cluster while RM 4 is not heard from.
    assert_eq!(s.phase(), Phase::Recovering);
    assert!(s.refusal().is_none());
    // RM 4 alone kept its disk: a majority lost theirs, and the sequencer refuses.
    assert!(answer(&mut s, epoch_state(4, 3, 2, 500, false), t0).is_empty());
    assert_eq!(s.phase(), Phase::Recovering);
    let refusal = s.refusal().expect("a refusal").to_string();
    assert!(
        refusal.contains("RM 4 holds requests through seq 500"),
        "{refusal}"
    );
}

#[test]
fn epoch_states_not_from_the_rm_they_name_count_for_nothing() {
    let t0 = Instant::now();
    let mut s = new_sequencer();
    for (from, rm) in [(2, 1), (9, 9), (3, 1)] {
        let forged = Message::EpochState(epoch_state(rm, 1, 0, 0, true));
        assert!(
            s.on_message(NodeId::Rm(from), forged, today(), t0)
                .is_empty()
        );
    }
    let raise = Message::EpochState(epoch_state(1, 50, 50, 0, false));
    assert!(
        s.on_message(NodeId::FrontEnd(1), raise, today(), t0)
            .is_empty()
    );
    assert_eq!((s.epoch(), s.stats().ignored), (1, 4));
    assert_eq!(s.waiting_for(), vec![1, 2, 3, 4]);
}

#[test]
fn a_restarted_sequencer_continues_the_history_in_a_higher_epoch() {
    let t0 = Instant::now();
    let mut first = sequencer(8, 1_000, t0);
    submit(&mut first, 1, &[1, 2, 3, 4, 5], t0);
    assert_eq!(first.latest(), 5);
    drop(first);

    // Every RM promised epoch 1 and took its EpochStart; their logs hold 1..=5 (RM 4 only 1..=3).
    // The restarted sequencer's next epoch is 3: even ones are the standby's.
    let mut second = new_sequencer();
    assert_eq!(second.on_tick(t0 + MS(1)), wanted(1));
    assert_eq!(
        answer(&mut second, epoch_state(4, 1, 1, 3, false), t0 + MS(2)),
        wanted(3)
    );
    for (rm, through) in [(4, 3), (1, 5), (2, 5)] {
        answer(
            &mut second,
            epoch_state(rm, 3, 1, through, false),
            t0 + MS(3),
        );
    }
    assert_eq!((second.phase(), second.epoch()), (Phase::Starting, 3));
    assert_eq!(second.start(), 5);
    for rm in [1, 2, 4] {
        ack(&mut second, rm, 5, t0 + MS(4));
    }
    // The front end resends what it had submitted to the first one, and new requests.
    let out = submit(&mut second, 1, &[6, 7], t0 + MS(5));
    let given: Vec<(u64, u64, u64)> = accepted(&out)[0]
        .1
        .iter()
        .map(|a| (a.epoch, a.request_id, a.seq))
        .collect();
    assert_eq!(given, vec![(3, 6, 6), (3, 7, 7)]);
}
