use std::collections::HashMap;
use std::time::Instant;

use dmtbs_proto::{Message, NodeId};
use dmtbs_sequencer::SequencerConfig;
use dmtbs_testkit::rng::{Rng, seed_from_env};

use crate::support::*;

#[test]
fn retransmissions_keep_their_number_and_are_multicast_once() {
    let seed = seed_from_env(0x5E0_0002);
    eprintln!("seed {seed} (DMTBS_SEED={seed} to reproduce)");
    let mut rng = Rng::new(seed);
    let now = Instant::now();
    let mut s = sequencer(5, 100_000, now);

    // Every (fe, id) submitted 1–6 times, all copies shuffled together, sent in small groups.
    let mut copies = Vec::new();
    for fe in 1..=5u16 {
        for id in 1..=40u64 {
            for _ in 0..1 + rng.below(6) {
                copies.push((fe, id));
            }
        }
    }
    for i in (1..copies.len()).rev() {
        copies.swap(i, rng.below(i as u64 + 1) as usize);
    }

    let mut multicast_count: HashMap<(u16, u64), u32> = HashMap::new();
    let mut answered: HashMap<(u16, u64), u64> = HashMap::new();
    let mut rest = &copies[..];
    while let Some(&(fe, _)) = rest.first() {
        // A group is a run of copies from one front end (one Submit datagram).
        let run = rest.iter().take_while(|(f, _)| *f == fe).count().min(4);
        let ids: Vec<u64> = rest[..run].iter().map(|&(_, id)| id).collect();
        rest = &rest[run..];
        let out = submit(&mut s, fe, &ids, now);
        for item in multicast(&out).concat() {
            *multicast_count
                .entry((item.fe, item.request_id))
                .or_default() += 1;
        }
        for a in accepted(&out).into_iter().flat_map(|(_, v)| v) {
            let first = *answered.entry((fe, a.request_id)).or_insert(a.seq);
            assert_eq!(first, a.seq, "fe {fe} request {} renumbered", a.request_id);
        }
    }

    assert_eq!(multicast_count.len(), 200);
    assert!(multicast_count.values().all(|&n| n == 1));
    assert_eq!(answered.len(), 200);
    assert_eq!(s.latest(), 200);
    let stats = s.stats();
    assert_eq!(stats.sequenced, 200);
    assert_eq!(stats.duplicates, copies.len() as u64 - 200);
}

#[test]
fn submits_not_from_the_named_front_end_are_refused() {
    let now = Instant::now();
    let mut s = sequencer(8, 100, now);
    let forged = Message::Submit(vec![request(1, 1), request(2, 1)]);
    assert!(
        s.on_message(NodeId::FrontEnd(1), forged, today(), now)
            .is_empty()
    );
    let from_rm = Message::Submit(vec![request(1, 1)]);
    assert!(
        s.on_message(NodeId::Rm(1), from_rm, today(), now)
            .is_empty()
    );
    assert_eq!(s.stats().bad_submits, 2);
    assert_eq!(s.latest(), 0);
    // The genuine one still gets number 1.
    let out = submit(&mut s, 1, &[1], now);
    assert_eq!(seqs(&multicast(&out)[0]), vec![1]);
}

#[test]
fn a_retransmission_older_than_the_window_is_never_sequenced_again() {
    let mut config = SequencerConfig::new(RMS);
    config.dedup_window = 3;
    let now = Instant::now();
    let mut s = started(config, now);
    submit(&mut s, 1, &[1, 2, 3, 4, 5], now);
    // Ids 1 and 2 are forgotten: refused, neither answered nor multicast.
    assert!(submit(&mut s, 1, &[1], now).is_empty());
    assert_eq!(s.stats().stale, 1);
    // Inside the window: answered with the original number.
    let out = submit(&mut s, 1, &[4, 2, 6], now);
    let acc: Vec<(u64, u64)> = accepted(&out)[0]
        .1
        .iter()
        .map(|a| (a.request_id, a.seq))
        .collect();
    assert_eq!(acc, vec![(4, 4), (6, 6)]);
    assert_eq!(seqs(&multicast(&out).concat()), vec![6]);
    assert_eq!(s.latest(), 6);
}
