use std::collections::HashMap;
use std::time::Instant;

use dmtbs_proto::NodeId;
use dmtbs_testkit::rng::{Rng, seed_from_env};

use crate::support::*;

#[test]
fn many_front_ends_get_consecutive_numbers_and_every_rm_gets_every_request() {
    let seed = seed_from_env(0x5E0_0001);
    eprintln!("seed {seed} (DMTBS_SEED={seed} to reproduce)");
    let mut rng = Rng::new(seed);
    let now = Instant::now();
    let mut s = sequencer(8, 100_000, now);
    let mut next_id: HashMap<u16, u64> = HashMap::new();
    let mut multicast_seqs = Vec::new();
    let mut given: HashMap<(u16, u64), u64> = HashMap::new();

    for _ in 0..500 {
        let fe = 1 + rng.below(12) as u16;
        let n = 1 + rng.below(5);
        let start = *next_id.entry(fe).or_insert(1);
        let ids: Vec<u64> = (start..start + n).collect();
        next_id.insert(fe, start + n);
        let out = submit(&mut s, fe, &ids, now);

        for batch in multicast(&out) {
            for item in &batch {
                assert_eq!(item.fe, fe);
                assert_eq!(item.today, today());
                given.insert((item.fe, item.request_id), item.seq);
            }
            multicast_seqs.extend(seqs(&batch));
        }
        // The answer goes to the submitting front end and names each request's number.
        let acc = accepted(&out);
        assert_eq!(acc.len(), 1);
        assert_eq!(acc[0].0, NodeId::FrontEnd(fe));
        let answered: Vec<u64> = acc[0].1.iter().map(|a| a.request_id).collect();
        assert_eq!(answered, ids);
        for a in &acc[0].1 {
            assert_eq!(given[&(fe, a.request_id)], a.seq);
        }
    }
    let total = s.latest();
    assert_eq!(multicast_seqs, (1..=total).collect::<Vec<_>>());
    assert_eq!(s.stats().sequenced, total);
    assert_eq!(given.len() as u64, total);
}

#[test]
fn deliver_batches_respect_the_limit() {
    let now = Instant::now();
    let mut s = sequencer(4, 1000, now);
    let out = submit(&mut s, 1, &(1..=10).collect::<Vec<_>>(), now);
    let sizes: Vec<usize> = multicast(&out).iter().map(Vec::len).collect();
    assert_eq!(sizes, vec![4, 4, 2]);
    // A lone request is sent at once, not held for a fuller batch.
    let out = submit(&mut s, 2, &[1], now);
    let batches = multicast(&out);
    assert_eq!(batches.len(), 1);
    let item = &batches[0][0];
    assert_eq!(
        (batches[0].len(), item.seq, item.fe, item.request_id),
        (1, 11, 2, 1)
    );
}
