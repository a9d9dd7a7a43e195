// Every kind of bad datagram is refused with its own reason and counted; nothing slips through.

use dmtbs_proto::codec::{HEADER_LEN, MIN_DATAGRAM, TAG_LEN};
use dmtbs_proto::{
    Codec, FORMAT_VERSION, MAGIC, MAX_DATAGRAM, Message, NodeId, Reject, RejectCounts,
};

use crate::common::{KEY_BYTES, every_variant, other_key, pair, reseal, seal, unseal};

#[test]
fn the_datagram_is_the_documented_aead_frame_and_its_body_is_encrypted() {
    let (tx, rx) = pair(NodeId::FrontEnd(7));
    for message in every_variant() {
        let datagram = tx.encode(&message);
        let plain = unseal(&KEY_BYTES, &datagram);
        // Header in clear: magic, version, sender (front end = kind 1, id 7), nonce.
        assert_eq!(&datagram[..HEADER_LEN], &plain[..HEADER_LEN]);
        assert_eq!(&plain[..4], &MAGIC);
        assert_eq!(plain[4], FORMAT_VERSION);
        assert_eq!(&plain[5..8], &[1, 0, 7]);
        // Body: the postcard message, encrypted in the datagram.
        let body = postcard::to_allocvec(&message).unwrap();
        assert_eq!(&plain[HEADER_LEN..], &body[..]);
        assert_eq!(datagram.len(), HEADER_LEN + body.len() + TAG_LEN);
        assert_ne!(&datagram[HEADER_LEN..HEADER_LEN + body.len()], &body[..]);
        assert_eq!(seal(&KEY_BYTES, &plain), datagram);
        assert_eq!(rx.decode(&datagram), Ok((NodeId::FrontEnd(7), message)));
    }
}

#[test]
fn no_customer_movie_or_show_appears_in_clear() {
    let (tx, _) = pair(NodeId::Sequencer);
    let secrets: [&[u8]; 5] = [
        b"ATWC1234",
        b"Avatar",
        b"Titanic",
        b"ATWM120526",
        b"retry-7f3a",
    ];
    let contains =
        |haystack: &[u8], needle: &[u8]| haystack.windows(needle.len()).any(|w| w == needle);
    for message in every_variant() {
        let body = postcard::to_allocvec(&message).unwrap();
        let datagram = tx.encode(&message);
        for secret in secrets {
            assert!(
                !contains(&datagram, secret),
                "{} in clear in {message:?}",
                String::from_utf8_lossy(secret)
            );
        }
        // The check can fail: the same message in clear would have shown them.
        if matches!(message, Message::Deliver(_)) {
            assert!(secrets.iter().all(|s| contains(&body, s)));
        }
    }
}

#[test]
fn a_datagram_under_another_key_is_a_bad_mac() {
    let stranger = Codec::new(&other_key(), NodeId::Sequencer);
    let (_, rx) = pair(NodeId::Sequencer);
    for message in every_variant() {
        assert_eq!(rx.decode(&stranger.encode(&message)), Err(Reject::BadMac));
    }
    let expected = every_variant().len() as u64;
    assert_eq!(
        rx.rejects(),
        RejectCounts {
            bad_mac: expected,
            ..RejectCounts::default()
        }
    );
}

#[test]
fn every_single_bit_flip_is_rejected() {
    let (tx, rx) = pair(NodeId::FrontEnd(3));
    let mut flips = 0;
    for message in every_variant() {
        let datagram = tx.encode(&message);
        for bit in 0..datagram.len() * 8 {
            let mut flipped = datagram.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            let expected = match bit / 8 {
                0..4 => Reject::BadMagic,
                4 => Reject::UnsupportedVersion(FORMAT_VERSION ^ (1 << (bit % 8))),
                _ => Reject::BadMac,
            };
            assert_eq!(
                rx.decode(&flipped),
                Err(expected),
                "bit {bit} of {message:?}"
            );
            flips += 1;
        }
        // The refused copies did not touch the replay window: the original is still fresh.
        assert_eq!(rx.decode(&datagram), Ok((NodeId::FrontEnd(3), message)));
    }
    assert_eq!(rx.rejects().total(), flips);
}

#[test]
fn every_truncation_and_extension_is_rejected() {
    let (tx, rx) = pair(NodeId::Rm(2));
    for message in every_variant() {
        let datagram = tx.encode(&message);
        for len in 0..datagram.len() {
            let expected = if len < MIN_DATAGRAM {
                Reject::TooShort(len)
            } else {
                Reject::BadMac
            };
            assert_eq!(rx.decode(&datagram[..len]), Err(expected), "length {len}");
        }
        let mut longer = datagram.clone();
        longer.push(0);
        assert_eq!(rx.decode(&longer), Err(Reject::BadMac));
        assert!(rx.decode(&datagram).is_ok());
    }
}

#[test]
fn oversized_input_is_refused_before_anything_else() {
    let (tx, rx) = pair(NodeId::Sequencer);
    // Looks valid at the front; its size alone condemns it.
    let mut huge = tx.encode(&Message::Heartbeat { latest: 1 });
    huge.resize(MAX_DATAGRAM + 1, 0);
    assert_eq!(rx.decode(&huge), Err(Reject::TooLarge(MAX_DATAGRAM + 1)));
    assert_eq!(rx.decode(&vec![0; 1 << 20]), Err(Reject::TooLarge(1 << 20)));
    // At the limit, the other checks apply.
    assert_eq!(rx.decode(&vec![0; MAX_DATAGRAM]), Err(Reject::BadMagic));
    huge.truncate(MAX_DATAGRAM);
    assert_eq!(rx.decode(&huge), Err(Reject::BadMac));
    assert_eq!(rx.rejects().too_large, 2);
}

#[test]
fn wrong_magic_and_version_are_refused_even_with_a_valid_tag() {
    let (tx, rx) = pair(NodeId::Sequencer);
    let datagram = tx.encode(&Message::Heartbeat { latest: 3 });

    // The next version, and the previous one (a node not upgraded yet), are refused alike.
    let next = FORMAT_VERSION + 1;
    let newer = reseal(&datagram, |d| d[MAGIC.len()] = next);
    assert_eq!(rx.decode(&newer), Err(Reject::UnsupportedVersion(next)));
    let previous = FORMAT_VERSION - 1;
    let older = reseal(&datagram, |d| d[MAGIC.len()] = previous);
    assert_eq!(rx.decode(&older), Err(Reject::UnsupportedVersion(previous)));
    let version_0 = reseal(&datagram, |d| d[MAGIC.len()] = 0);
    assert_eq!(rx.decode(&version_0), Err(Reject::UnsupportedVersion(0)));

    let other_magic = reseal(&datagram, |d| d[..4].copy_from_slice(b"DMTX"));
    assert_eq!(rx.decode(&other_magic), Err(Reject::BadMagic));
    assert_eq!(
        rx.decode(b"GET /bookings HTTP/1.1\r\nHost: dmtbs.example\r\n\r\n"),
        Err(Reject::BadMagic)
    );

    assert!(rx.decode(&datagram).is_ok());
}

#[test]
fn an_authentic_but_undecodable_body_is_malformed() {
    let (tx, rx) = pair(NodeId::Sequencer);
    let datagram = tx.encode(&Message::Heartbeat { latest: 3 });

    let trailing = reseal(&datagram, |d| d.push(0));
    match rx.decode(&trailing) {
        Err(Reject::Malformed(why)) => assert!(why.contains("trailing"), "{why}"),
        other => panic!("expected malformed, got {other:?}"),
    }
    let cut = reseal(&datagram, |d| {
        d.pop();
    });
    assert!(matches!(rx.decode(&cut), Err(Reject::Malformed(_))));
    // An unknown message variant (index 99).
    let unknown = reseal(&datagram, |d| {
        d.truncate(HEADER_LEN);
        d.extend_from_slice(&[99, 0]);
    });
    assert!(matches!(rx.decode(&unknown), Err(Reject::Malformed(_))));
    // A list (`Deliver`, variant 2) claiming a billion entries must fail, not allocate them.
    let liar = reseal(&datagram, |d| {
        d.truncate(HEADER_LEN);
        d.extend_from_slice(&[2, 0x80, 0x94, 0xeb, 0xdc, 0x03]);
    });
    assert!(matches!(rx.decode(&liar), Err(Reject::Malformed(_))));
    // A sender field no codec writes (kind 9), authenticated all the same.
    let nobody = reseal(&datagram, |d| d[5] = 9);
    match rx.decode(&nobody) {
        Err(Reject::Malformed(why)) => assert!(why.contains("sender"), "{why}"),
        other => panic!("expected malformed, got {other:?}"),
    }
    assert_eq!(rx.rejects().malformed, 5);

    // None of them moved the window.
    assert!(rx.decode(&datagram).is_ok());
}

#[test]
fn each_reason_has_its_own_counter() {
    let (tx, rx) = pair(NodeId::Sequencer);
    let good = tx.encode(&Message::Ack {
        rm: 1,
        through: 2,
        epoch: 1,
        promised: 1,
    });
    let stranger = Codec::new(&other_key(), NodeId::Sequencer);
    type Counter = fn(&RejectCounts) -> u64;
    let bad_inputs: Vec<(Vec<u8>, Counter)> = vec![
        (vec![1, 2, 3], |c| c.too_short),
        (vec![0; MAX_DATAGRAM + 5], |c| c.too_large),
        (vec![0; 64], |c| c.bad_magic),
        (
            reseal(&good, |d| d[4] = dmtbs_proto::FORMAT_VERSION + 1),
            |c| c.unsupported_version,
        ),
        (stranger.encode(&Message::Heartbeat { latest: 1 }), |c| {
            c.bad_mac
        }),
        (reseal(&good, |d| d.push(1)), |c| c.malformed),
    ];
    for (i, (input, counter)) in bad_inputs.iter().enumerate() {
        let before = rx.rejects();
        let reject = rx.decode(input).unwrap_err();
        let after = rx.rejects();
        assert_eq!(counter(&after), counter(&before) + 1, "input {i}: {reject}");
        assert_eq!(after.of(&reject), counter(&after));
        assert_eq!(after.total(), before.total() + 1);
    }
    let elsewhere = rx.decode_from(&good, |_| false).unwrap_err();
    assert!(matches!(elsewhere, Reject::Misaddressed { .. }));
    assert!(rx.decode(&good).is_ok());
    let replay = rx.decode(&good).unwrap_err();
    assert!(matches!(replay, Reject::Replayed { .. }));
    assert_eq!(
        rx.rejects(),
        RejectCounts {
            too_short: 1,
            too_large: 1,
            bad_magic: 1,
            unsupported_version: 1,
            bad_mac: 1,
            malformed: 1,
            replayed: 1,
            misaddressed: 1,
        }
    );
    assert_eq!(rx.rejects().total(), 8);
    for (reject, label) in [(&replay, "replayed"), (&elsewhere, "misaddressed")] {
        assert_eq!(reject.reason(), label);
    }
    // The sender's counters are its own.
    assert_eq!(tx.rejects().total(), 0);
}
