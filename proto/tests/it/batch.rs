// Packing long lists into as few datagrams as fit, in order, with no item lost or oversized.

use dmtbs_contract::Operation;
use dmtbs_proto::{Codec, MAX_DATAGRAM, Message, NodeId, PackError, ReplicaResult, Sequenced};

use crate::common::{book, key, nonce_of, outcomes, pair, s, today};

fn sequenced(count: u64) -> Vec<Sequenced> {
    (1..=count)
        .map(|seq| Sequenced {
            epoch: 1,
            seq,
            today: today(),
            fe: (seq % 3) as u16,
            request_id: 10_000 + seq,
            key: None,
            operation: book(&format!("ATWC{:04}", seq % 10_000), (seq % 5) as u32 + 1),
        })
        .collect()
}

fn postcard_len<T: serde::Serialize>(value: &T) -> usize {
    postcard::to_stdvec(value).unwrap().len()
}

/// Decodes every datagram, checks its size, and returns the lists in order.
fn unpack(rx: &Codec, datagrams: &[Vec<u8>]) -> Vec<Message> {
    datagrams
        .iter()
        .map(|d| {
            assert!(d.len() <= MAX_DATAGRAM, "{} bytes", d.len());
            rx.decode(d).unwrap().1
        })
        .collect()
}

#[test]
fn a_big_batch_splits_into_few_full_datagrams_and_comes_back_in_order() {
    let (tx, rx) = pair(NodeId::Sequencer);
    let items = sequenced(20_000);
    let total: usize = items.iter().map(postcard_len).sum();
    let datagrams = tx.encode_batched(items.clone(), Message::Deliver).unwrap();
    assert!(
        total > 4 * MAX_DATAGRAM,
        "the batch must need several datagrams"
    );
    assert!(datagrams.len() >= 5);

    let mut back = Vec::new();
    for message in unpack(&rx, &datagrams) {
        match message {
            Message::Deliver(chunk) => back.extend(chunk),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(back, items);

    // Greedy and tight: each datagram but the last had no room for the next item (the list
    // length may grow a byte).
    let mut next = 0;
    for (d, m) in datagrams
        .iter()
        .zip(unpack(&Codec::new(&key(), NodeId::Rm(9)), &datagrams))
    {
        let Message::Deliver(chunk) = m else {
            unreachable!()
        };
        next += chunk.len();
        if let Some(item) = items.get(next) {
            assert!(
                d.len() + postcard_len(item) + 1 > MAX_DATAGRAM,
                "room left in {}",
                d.len()
            );
        }
    }
}

#[test]
fn results_pack_too() {
    let (tx, rx) = pair(NodeId::Rm(3));
    let items: Vec<ReplicaResult> = (0..20_000u64)
        .map(|i| ReplicaResult {
            rm: 3,
            epoch: 1,
            seq: i + 1,
            request_id: i,
            outcome: outcomes()[(i % 12) as usize].clone(),
            replay_of: None,
        })
        .collect();
    let datagrams = tx.encode_batched(items.clone(), Message::Results).unwrap();
    assert!(datagrams.len() > 2);
    let back: Vec<ReplicaResult> = unpack(&rx, &datagrams)
        .into_iter()
        .flat_map(|m| match m {
            Message::Results(chunk) => chunk,
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(back, items);
}

#[test]
fn a_small_batch_is_one_datagram_and_an_empty_one_is_none() {
    let (tx, rx) = pair(NodeId::Sequencer);
    let items = sequenced(3);
    let datagrams = tx.encode_batched(items.clone(), Message::Deliver).unwrap();
    assert_eq!(unpack(&rx, &datagrams), vec![Message::Deliver(items)]);
    assert!(
        tx.encode_batched(Vec::<Sequenced>::new(), Message::Deliver)
            .unwrap()
            .is_empty()
    );
}

fn with_actor_len(len: usize) -> Sequenced {
    let mut item = sequenced(1).remove(0);
    let Operation::Book(b) = &mut item.operation else {
        unreachable!()
    };
    b.actor = s(&"x".repeat(len));
    item
}

#[test]
fn an_item_too_large_for_any_datagram_is_an_error_and_nothing_is_sent() {
    let tx = Codec::with_nonce_start(&key(), NodeId::Sequencer, 77);
    let mut items = sequenced(5);
    items.insert(3, with_actor_len(70_000));
    match tx.encode_batched(items, Message::Deliver) {
        Err(PackError::ItemTooLarge { index: 3, len }) => assert!(len > MAX_DATAGRAM),
        other => panic!("expected ItemTooLarge, got {other:?}"),
    }
    // Nothing was encoded: no nonce was used up.
    let next = tx.encode(&Message::Heartbeat { latest: 0 });
    assert_eq!(nonce_of(&next), 77);
}

#[test]
fn items_right_at_the_limit_fit_or_are_refused_but_never_oversize() {
    let (tx, rx) = pair(NodeId::Sequencer);
    let mut fitted = 0;
    for len in (MAX_DATAGRAM - 120)..(MAX_DATAGRAM - 40) {
        match tx.encode_batched(vec![with_actor_len(len)], Message::Deliver) {
            Ok(datagrams) => {
                assert_eq!(datagrams.len(), 1);
                assert_eq!(unpack(&rx, &datagrams).len(), 1);
                fitted = len;
            }
            Err(PackError::ItemTooLarge {
                index: 0,
                len: need,
            }) => {
                assert!(need > MAX_DATAGRAM);
                assert!(
                    fitted > 0 && len > fitted,
                    "refused below a length that fitted"
                );
            }
            Err(other) => panic!("{other}"),
        }
    }
    assert!(fitted > 0, "some length near the limit must fit");
}

#[test]
fn a_wrapper_that_does_not_embed_the_chunk_is_caught() {
    let (tx, _) = pair(NodeId::Sequencer);
    let doubled = tx.encode_batched(sequenced(5_000), |chunk| {
        Message::Deliver(chunk.iter().cloned().chain(chunk.clone()).collect())
    });
    assert!(matches!(doubled, Err(PackError::WrapMismatch(len)) if len > MAX_DATAGRAM));
}
