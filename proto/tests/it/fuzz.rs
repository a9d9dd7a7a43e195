// Seeded random inputs and mutations: decoding never panics and never accepts anything forged.
//
// The seed is printed; rerun a failure with
// `DMTBS_FUZZ_SEED=<seed> cargo test -p dmtbs-proto --test it fuzz -- --nocapture`.

use std::collections::HashSet;

use dmtbs_proto::codec::HEADER_LEN;
use dmtbs_proto::{FORMAT_VERSION, MAGIC, MAX_DATAGRAM, NodeId, Reject};
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};

use crate::common::{KEY_BYTES, pair, receiver_since_epoch, seal, valid_datagrams};

fn seeded(test: &str) -> (StdRng, String) {
    let seed = std::env::var("DMTBS_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::rng().random::<u64>());
    let repro = format!(
        "{test}: seed {seed} (rerun: DMTBS_FUZZ_SEED={seed} cargo test -p dmtbs-proto --test it {test})"
    );
    println!("{repro}");
    (StdRng::seed_from_u64(seed), repro)
}

fn random_bytes(rng: &mut StdRng, len: usize) -> Vec<u8> {
    let mut bytes = vec![0; len];
    rng.fill_bytes(&mut bytes);
    bytes
}

#[test]
fn fuzz_random_bytes_never_decode() {
    let (mut rng, repro) = seeded("fuzz_random_bytes_never_decode");
    let (_, rx) = pair(NodeId::Sequencer);
    let inputs = 200_000;
    for i in 0..inputs {
        let len = if rng.random_ratio(1, 2_000) {
            rng.random_range(0..=MAX_DATAGRAM + 100)
        } else {
            rng.random_range(0..300)
        };
        let mut input = random_bytes(&mut rng, len);
        // Most random bytes die at the magic; give most inputs a real header so the AEAD check
        // and the code after it are exercised too.
        match rng.random_range(0..4) {
            0 => {}
            1 => {
                for (b, m) in input.iter_mut().zip(MAGIC) {
                    *b = m;
                }
            }
            _ => {
                for (b, h) in input
                    .iter_mut()
                    .zip(MAGIC.into_iter().chain([FORMAT_VERSION]))
                {
                    *b = h;
                }
            }
        }
        let result = rx.decode(&input);
        assert!(
            matches!(
                result,
                Err(Reject::TooShort(_)
                    | Reject::TooLarge(_)
                    | Reject::BadMagic
                    | Reject::UnsupportedVersion(_)
                    | Reject::BadMac)
            ),
            "input {i} ({len} bytes) gave {result:?}; {repro}"
        );
    }
    let counts = rx.rejects();
    assert_eq!(counts.total(), inputs);
    assert!(counts.bad_mac > inputs / 3, "{counts:?}");
}

#[test]
fn fuzz_authentic_random_bodies_never_panic() {
    // A sender holding the key could send any header and body: the decoder must refuse garbage
    // cleanly. Some random bodies do parse (they are authentic), which is fine.
    let (mut rng, repro) = seeded("fuzz_authentic_random_bodies_never_panic");
    let rx = receiver_since_epoch();
    let mut parsed = 0;
    for i in 0..50_000u64 {
        let mut plain = MAGIC.to_vec();
        plain.push(FORMAT_VERSION);
        if rng.random_bool(0.8) {
            // A plausible sender (kinds 0..=3, small ids), to get past it into the message
            // decoders.
            plain.extend_from_slice(&[rng.random_range(0..4), 0, rng.random_range(0..5)]);
        } else {
            plain.extend(random_bytes(&mut rng, 3));
        }
        // Fresh nonces, so what parses is accepted.
        plain.extend_from_slice(&(1_000 + i).to_be_bytes());
        if rng.random_bool(0.7) {
            // A real message variant, to get into its decoder.
            plain.push(rng.random_range(0..24));
        }
        let len = rng.random_range(0..200);
        plain.extend(random_bytes(&mut rng, len));
        if plain.len() == HEADER_LEN {
            plain.push(0);
        }
        match rx.decode(&seal(&KEY_BYTES, &plain)) {
            Ok(_) => parsed += 1,
            Err(Reject::Malformed(_)) => {}
            Err(other) => panic!("input {i}: unexpected {other:?}; {repro}"),
        }
    }
    println!("{parsed} random authentic bodies parsed");
    assert!(rx.rejects().malformed > 10_000);
}

#[test]
fn fuzz_mutations_of_valid_datagrams_never_decode() {
    let (mut rng, repro) = seeded("fuzz_mutations_of_valid_datagrams_never_decode");
    let (tx, rx) = pair(NodeId::FrontEnd(4));
    let originals = valid_datagrams(&tx);
    let known: HashSet<&Vec<u8>> = originals.iter().collect();
    let mut tried = 0;
    for i in 0..100_000 {
        let original = &originals[rng.random_range(0..originals.len())];
        let mut d = original.clone();
        for _ in 0..rng.random_range(1..=4) {
            mutate(&mut rng, &mut d, &originals);
        }
        if known.contains(&d) {
            continue;
        }
        tried += 1;
        let result = rx.decode(&d);
        assert!(result.is_err(), "mutation {i} decoded: {result:?}; {repro}");
    }
    assert_eq!(rx.rejects().total(), tried);
    assert!(tried > 90_000);
    // The originals were never accepted, so each is still fresh.
    for d in &originals {
        assert!(rx.decode(d).is_ok(), "{repro}");
    }
}

fn mutate(rng: &mut StdRng, d: &mut Vec<u8>, others: &[Vec<u8>]) {
    let at = |rng: &mut StdRng, d: &Vec<u8>| rng.random_range(0..d.len().max(1));
    match rng.random_range(0..8) {
        0 if !d.is_empty() => {
            let i = at(rng, d);
            d[i] ^= 1 << rng.random_range(0..8);
        }
        1 if !d.is_empty() => {
            let i = at(rng, d);
            d[i] = rng.random();
        }
        2 => {
            let i = rng.random_range(0..=d.len());
            d.insert(i, rng.random());
        }
        3 if !d.is_empty() => {
            let i = at(rng, d);
            d.remove(i);
        }
        4 => {
            let len = rng.random_range(0..=d.len());
            d.truncate(len);
        }
        5 => {
            let extra = rng.random_range(1..40);
            d.extend(random_bytes(rng, extra));
        }
        6 if d.len() > 1 => {
            let (i, j) = (at(rng, d), at(rng, d));
            d.swap(i, j);
        }
        _ => {
            // Splice a run of another valid datagram over this one.
            let other = &others[rng.random_range(0..others.len())];
            let start = rng.random_range(0..other.len());
            let run = rng.random_range(1..=(other.len() - start).min(64));
            let to = rng.random_range(0..=d.len());
            let end = (to + run).min(d.len());
            d.splice(to..end, other[start..start + run].iter().copied());
        }
    }
}
