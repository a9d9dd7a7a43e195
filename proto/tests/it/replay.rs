// The per-sender sliding window: repeats and stragglers refused, reordering tolerated.

use dmtbs_proto::{Codec, Message, NodeId, REPLAY_WINDOW, Reject};

use crate::common::{key, other_key};

fn heartbeats(tx: &Codec, count: u64) -> Vec<Vec<u8>> {
    (0..count)
        .map(|latest| tx.encode(&Message::Heartbeat { latest }))
        .collect()
}

fn receiver() -> Codec {
    Codec::new(&key(), NodeId::Rm(1))
}

#[test]
fn an_identical_datagram_is_accepted_once() {
    let tx = Codec::with_nonce_start(&key(), NodeId::Sequencer, 500);
    let rx = receiver();
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
    let tx = Codec::new(&key(), NodeId::Sequencer);
    let rx = receiver();
    let sent = heartbeats(&tx, REPLAY_WINDOW);
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
    assert_eq!(rx.rejects().total(), REPLAY_WINDOW + 1);
}

#[test]
fn a_datagram_older_than_the_window_is_refused() {
    let tx = Codec::with_nonce_start(&key(), NodeId::FrontEnd(2), 1_000);
    let rx = receiver();
    let sent = heartbeats(&tx, 70);
    assert!(rx.decode(&sent[69]).is_ok());
    // Nonce 1_069 is the highest; 1_006 is 63 behind (the oldest slot), 1_005 is 64 behind.
    assert!(rx.decode(&sent[6]).is_ok());
    assert_eq!(
        rx.decode(&sent[5]),
        Err(Reject::Replayed {
            sender: NodeId::FrontEnd(2),
            nonce: 1_005
        })
    );
    assert!(rx.decode(&sent[0]).is_err());
    assert_eq!(rx.rejects().replayed, 2);
}

#[test]
fn windows_are_per_sender() {
    let rx = receiver();
    let a = Codec::with_nonce_start(&key(), NodeId::FrontEnd(1), 10);
    let b = Codec::with_nonce_start(&key(), NodeId::FrontEnd(2), 10);
    let message = Message::Heartbeat { latest: 0 };
    assert!(rx.decode(&a.encode(&message)).is_ok());
    assert!(rx.decode(&b.encode(&message)).is_ok());
    // Far ahead for A does not age B's window.
    let far_a = Codec::with_nonce_start(&key(), NodeId::FrontEnd(1), 10_000);
    assert!(rx.decode(&far_a.encode(&message)).is_ok());
    assert!(rx.decode(&a.encode(&message)).is_err());
    assert!(rx.decode(&b.encode(&message)).is_ok());
}

#[test]
fn a_forged_datagram_does_not_move_the_window() {
    let rx = receiver();
    let real = Codec::with_nonce_start(&key(), NodeId::Sequencer, 100);
    let forger = Codec::with_nonce_start(&other_key(), NodeId::Sequencer, 1_000_000);
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
    let impostor = Codec::with_nonce_start(&key(), NodeId::Sequencer, 1_000_000);
    let rx = receiver();
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
