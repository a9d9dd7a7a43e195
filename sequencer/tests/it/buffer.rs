use std::time::{Duration, Instant};

use dmtbs_proto::{Message, NodeId, Outgoing, SeqRange};

use crate::support::*;

/// An `Ack`, which is never answered.
fn ack_quietly(s: &mut dmtbs_sequencer::Sequencer, rm: u8, through: u64, now: Instant) {
    assert!(ack(s, rm, through, now).is_empty());
}

#[test]
fn acks_release_only_what_every_live_rm_has() {
    let now = Instant::now();
    let mut s = sequencer(8, 100, now);
    submit(&mut s, 1, &(1..=10).collect::<Vec<_>>(), now);
    for rm in [1, 2, 3] {
        ack_quietly(&mut s, rm, 10, now);
    }
    assert_eq!(s.buffered(), 10, "RM 4 has not acknowledged");
    ack_quietly(&mut s, 4, 4, now);
    assert_eq!((s.buffered(), s.buffered_from()), (6, Some(5)));
    // An ack naming another RM, or an RM not configured, counts for nothing.
    s.on_message(
        NodeId::Rm(1),
        Message::Ack {
            rm: 4,
            through: 10,
            epoch: 1,
            promised: 1,
        },
        today(),
        now,
    );
    s.on_message(
        NodeId::Rm(9),
        Message::Ack {
            rm: 9,
            through: 10,
            epoch: 1,
            promised: 1,
        },
        today(),
        now,
    );
    assert_eq!(s.buffered(), 6);
    assert_eq!(s.stats().ignored, 2);
    ack_quietly(&mut s, 4, 10, now);
    assert_eq!(s.buffered(), 0);

    // An acknowledgement beyond the latest number cannot release what is sequenced later.
    for rm in RMS {
        ack_quietly(&mut s, rm, 1_000, now);
    }
    assert_eq!(s.acked_through(1), Some(10));
    submit(&mut s, 1, &[11, 12], now);
    assert_eq!(s.buffered(), 2);
}

#[test]
fn a_silent_rm_stops_pinning_the_buffer_after_the_timeout() {
    let t0 = Instant::now();
    let mut s = sequencer(8, 100, t0);
    let ms = Duration::from_millis;
    submit(&mut s, 1, &(1..=10).collect::<Vec<_>>(), t0);
    for rm in [1, 2, 3] {
        ack_quietly(&mut s, rm, 10, t0 + ms(500));
    }
    s.on_tick(t0 + ms(999));
    assert_eq!(s.buffered(), 10, "RM 4 is still within its timeout");
    s.on_tick(t0 + ms(1_000));
    assert!(!s.is_live(4, t0 + ms(1_000)));
    assert_eq!(s.buffered(), 0);

    // Heard from again, it holds back releases again.
    ack_quietly(&mut s, 4, 3, t0 + ms(1_100));
    submit(&mut s, 1, &(11..=15).collect::<Vec<_>>(), t0 + ms(1_100));
    for rm in [1, 2, 3] {
        ack_quietly(&mut s, rm, 15, t0 + ms(1_200));
    }
    assert_eq!(s.buffered(), 5);
    ack_quietly(&mut s, 4, 15, t0 + ms(1_300));
    assert_eq!(s.buffered(), 0);
}

#[test]
fn the_buffer_limit_drops_the_oldest_even_unacknowledged() {
    let now = Instant::now();
    let mut s = sequencer(8, 5, now);
    submit(&mut s, 1, &(1..=8).collect::<Vec<_>>(), now);
    assert_eq!((s.buffered(), s.buffered_from()), (5, Some(4)));
    assert_eq!(s.stats().evicted_unacked, 3);
}

#[test]
fn a_nack_is_answered_with_exactly_the_buffered_requests_asked_for() {
    let now = Instant::now();
    let mut s = sequencer(3, 100, now);
    submit(&mut s, 1, &(1..=20).collect::<Vec<_>>(), now);
    for rm in RMS {
        ack_quietly(&mut s, rm, 5, now);
    }
    let r = |first, last| SeqRange { first, last };
    let missing = vec![r(2, 3), r(7, 8), r(8, 9), r(12, 12), r(19, 25), r(15, 14)];
    let out = s.on_message(
        NodeId::Rm(3),
        Message::Nack { rm: 3, missing },
        today(),
        now,
    );
    let sent: Vec<(NodeId, Vec<u64>)> = out
        .iter()
        .map(|o| match o {
            Outgoing::To(to, Message::Deliver(v)) => (*to, seqs(v)),
            other => panic!("expected a Deliver to one RM, got {other:?}"),
        })
        .collect();
    assert_eq!(
        sent,
        vec![
            (NodeId::Rm(3), vec![7, 8, 9]),
            (NodeId::Rm(3), vec![12, 19, 20]),
        ]
    );
    let stats = s.stats();
    assert_eq!(
        (stats.nacks, stats.retransmitted, stats.nack_misses),
        (1, 6, 2)
    );

    // A Nack in another RM's name is ignored (and not counted as answered).
    let forged = Message::Nack {
        rm: 3,
        missing: vec![r(6, 6)],
    };
    assert!(s.on_message(NodeId::Rm(2), forged, today(), now).is_empty());
    assert_eq!(s.stats().nacks, 1);
}
