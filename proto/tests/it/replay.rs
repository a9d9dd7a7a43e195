// Replay protection: repeats and stragglers refused, reordering in time tolerated, and a
// datagram captured before a receiver restarted refused after it.

use dmtbs_proto::{CLOCK_SKEW, Codec, Message, NodeId, REPLAY_WINDOW, Reject};

use crate::common::{key, nonce_of, other_key, receiver_since_epoch};

fn heartbeats(tx: &Codec, count: u64) -> Vec<Vec<u8>> {
    (0..count)
        .map(|latest| tx.encode(&Message::Heartbeat { latest }))
        .collect()
}

/// A sender's clock in microseconds, as a real one reads (2026).
const T: u64 = 1_780_000_000_000_000;

#[test]
fn an_identical_datagram_is_accepted_once() {
    let tx = Codec::with_nonce_start(&key(), NodeId::Sequencer, 500);
    let rx = receiver_since_epoch();
    let datagram = tx.encode(&Message::Heartbeat { latest: 1 });
    assert!(rx.decode(&datagram).is_ok());
    for _ in 0..3 {
        assert_eq!(
            rx.decode(&datagram),
            Err(Reject::Replayed {
                sender: NodeId::Sequencer,
                nonce: 500
            })
        );
    }
    assert_eq!(rx.rejects().replayed, 3);
}

#[test]
fn reordering_within_the_window_is_accepted_and_duplicates_still_refused() {
    // Real clocks: nonces a few microseconds apart or more, not consecutive.
    let tx = Codec::new(&key(), NodeId::Sequencer);
    let rx = Codec::new(&key(), NodeId::Rm(1));
    let sent = heartbeats(&tx, 200);
    // Newest first: every older one is still inside the window.
    for (i, datagram) in sent.iter().enumerate().rev() {
        assert_eq!(
            rx.decode(datagram),
            Ok((NodeId::Sequencer, Message::Heartbeat { latest: i as u64 }))
        );
    }
    for datagram in &sent {
        assert!(matches!(rx.decode(datagram), Err(Reject::Replayed { .. })));
    }
    // Interleaved: 2, 0, 3, 1, 2.
    let more = heartbeats(&tx, 4);
    for &i in &[2, 0, 3, 1] {
        assert!(rx.decode(&more[i]).is_ok(), "datagram {i}");
    }
    assert!(rx.decode(&more[2]).is_err());
    assert_eq!(rx.rejects().total(), 200 + 1);
}

#[test]
fn a_datagram_later_than_the_window_is_refused() {
    let rx = Codec::with_nonce_start(&key(), NodeId::Rm(1), T);
    // The same front end at two moments REPLAY_WINDOW µs apart (clocks standing still).
    let early = Codec::with_nonce_start(&key(), NodeId::FrontEnd(2), T);
    let late = Codec::with_nonce_start(&key(), NodeId::FrontEnd(2), T + REPLAY_WINDOW + 1);
    let first = early.encode(&Message::Heartbeat { latest: 0 });
    let second = early.encode(&Message::Heartbeat { latest: 1 });
    assert!(
        rx.decode(&late.encode(&Message::Heartbeat { latest: 2 }))
            .is_ok()
    );
    // T + 1 is exactly REPLAY_WINDOW below T + REPLAY_WINDOW + 1: the bottom of the window.
    assert!(rx.decode(&second).is_ok());
    assert_eq!(
        rx.decode(&first),
        Err(Reject::Replayed {
            sender: NodeId::FrontEnd(2),
            nonce: T
        })
    );
    assert_eq!(rx.rejects().replayed, 1);
}

#[test]
fn a_datagram_captured_before_a_receiver_restarted_is_refused_after_it() {
    let tx = Codec::with_nonce_start(&key(), NodeId::Rm(2), T);
    let first_run = Codec::with_nonce_start(&key(), NodeId::Rm(1), T);
    let captured = tx.encode(&Message::Suspicion {
        suspect: 3,
        dead: true,
    });
    assert!(first_run.decode(&captured).is_ok());
    assert!(matches!(
        first_run.decode(&captured),
        Err(Reject::Replayed { .. })
    ));

    // The receiver restarts two seconds later, with no memory of what it accepted.
    let restarted = Codec::with_nonce_start(&key(), NodeId::Rm(1), T + 2_000_000);
    assert_eq!(
        restarted.decode(&captured),
        Err(Reject::Replayed {
            sender: NodeId::Rm(2),
            nonce: T
        })
    );
    // The sender's own datagrams, sent now, are fresh to it.
    let now = Codec::with_nonce_start(&key(), NodeId::Rm(2), T + 2_000_000);
    assert!(
        restarted
            .decode(&now.encode(&Message::Heartbeat { latest: 1 }))
            .is_ok()
    );

    // Clock skew: a datagram sent up to CLOCK_SKEW before the restart is still accepted (and
    // only once); one a microsecond older is not.
    let restart = T + 10_000_000;
    let restarted = Codec::with_nonce_start(&key(), NodeId::Rm(1), restart);
    for (sender, sent_at, fresh) in [
        (NodeId::Rm(3), restart - CLOCK_SKEW, true),
        (NodeId::Rm(4), restart - CLOCK_SKEW - 1, false),
    ] {
        let datagram = Codec::with_nonce_start(&key(), sender, sent_at)
            .encode(&Message::Heartbeat { latest: 0 });
        assert_eq!(restarted.decode(&datagram).is_ok(), fresh, "{sender:?}");
        assert!(restarted.decode(&datagram).is_err());
    }
}

#[test]
fn nonces_follow_the_clock_and_a_restarted_sender_is_fresh() {
    let clock = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_micros() as u64
    };
    let before = clock();
    let tx = Codec::new(&key(), NodeId::Sequencer);
    let rx = Codec::new(&key(), NodeId::Rm(1));
    let mut last = 0;
    for latest in 0..1_000 {
        let datagram = tx.encode(&Message::Heartbeat { latest });
        let nonce = nonce_of(&datagram);
        assert!(nonce > last, "nonces strictly increase");
        assert!(nonce >= before, "nonce {nonce} below the clock {before}");
        assert!(
            nonce <= clock() + 1_000,
            "at most one µs ahead per datagram"
        );
        last = nonce;
        rx.decode(&datagram).unwrap();
    }
    // A restarted sender (a new codec) starts at the clock, at or above every nonce the first
    // run used at one per µs, so its datagrams are fresh to receivers that remember the first.
    let second_run = Codec::with_nonce_start(&key(), NodeId::Sequencer, last + 1);
    assert!(
        rx.decode(&second_run.encode(&Message::Heartbeat { latest: 0 }))
            .is_ok()
    );
}

#[test]
fn windows_are_per_sender() {
    let rx = receiver_since_epoch();
    let a = Codec::with_nonce_start(&key(), NodeId::FrontEnd(1), 10);
    let b = Codec::with_nonce_start(&key(), NodeId::FrontEnd(2), 10);
    let message = Message::Heartbeat { latest: 0 };
    assert!(rx.decode(&a.encode(&message)).is_ok());
    assert!(rx.decode(&b.encode(&message)).is_ok());
    // Far ahead for A does not age B's window.
    let far_a = Codec::with_nonce_start(&key(), NodeId::FrontEnd(1), 10 + 10 * REPLAY_WINDOW);
    assert!(rx.decode(&far_a.encode(&message)).is_ok());
    assert!(rx.decode(&a.encode(&message)).is_err());
    assert!(rx.decode(&b.encode(&message)).is_ok());
}

#[test]
fn a_forged_datagram_does_not_move_the_window() {
    let rx = receiver_since_epoch();
    let real = Codec::with_nonce_start(&key(), NodeId::Sequencer, 100);
    let forger = Codec::with_nonce_start(&other_key(), NodeId::Sequencer, 100 + 10 * REPLAY_WINDOW);
    let message = Message::Heartbeat { latest: 0 };
    assert!(rx.decode(&real.encode(&message)).is_ok());
    assert_eq!(rx.decode(&forger.encode(&message)), Err(Reject::BadMac));
    // Had the forgery advanced the window, nonce 101 would now be "too old".
    assert!(rx.decode(&real.encode(&message)).is_ok());
}

#[test]
fn a_copy_from_the_wrong_address_is_misaddressed_and_burns_no_nonce() {
    let genuine = Codec::with_nonce_start(&key(), NodeId::Sequencer, 1_000);
    // An insider sending as the sequencer from elsewhere, with nonces far ahead.
    let impostor = Codec::with_nonce_start(&key(), NodeId::Sequencer, 1_000 + 10 * REPLAY_WINDOW);
    let rx = receiver_since_epoch();
    let copy = genuine.encode(&Message::Heartbeat { latest: 1 });
    let ahead = impostor.encode(&Message::Heartbeat { latest: 2 });
    for datagram in [&copy, &ahead] {
        assert_eq!(
            rx.decode_from(datagram, |_| false),
            Err(Reject::Misaddressed {
                sender: NodeId::Sequencer
            })
        );
    }
    // The genuine datagram, from the right place, is still fresh; and so is the next one.
    assert!(rx.decode_from(&copy, |s| s == NodeId::Sequencer).is_ok());
    let next = genuine.encode(&Message::Heartbeat { latest: 3 });
    assert!(rx.decode_from(&next, |_| true).is_ok());
    // A replay from the right place is a replay.
    assert!(matches!(
        rx.decode_from(&copy, |_| true),
        Err(Reject::Replayed { .. })
    ));
    let counts = rx.rejects();
    assert_eq!((counts.misaddressed, counts.replayed), (2, 1), "{counts:?}");
    assert_eq!(counts.total(), 3);
    assert_eq!(
        counts
            .by_reason()
            .iter()
            .find(|(r, _)| *r == "misaddressed"),
        Some(&("misaddressed", 2))
    );
}
