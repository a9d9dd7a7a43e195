//! Times `Codec::encode` + `Codec::decode` of typical `Deliver` datagrams (one booking, and a
//! batch of 32), to measure what the framing costs per datagram. Not a criterion benchmark:
//! a plain timing loop, best of several rounds, on a shared machine — read it as an order of
//! magnitude, and compare runs made under the same conditions.
//!
//! `cargo run --release -p dmtbs-proto --example codec_timing`

use std::hint::black_box;
use std::time::{Duration, Instant};

use dmtbs_contract::{Book, Date, Operation};
use dmtbs_proto::{ClusterKey, Codec, Message, NodeId, Sequenced};

/// Datagrams encoded and decoded per round.
const PER_ROUND: u32 = 20_000;
/// Rounds; the fastest is reported (the others met a busy machine).
const ROUNDS: u32 = 7;

fn batch(len: u64) -> Message {
    Message::Deliver(
        (1..=len)
            .map(|seq| Sequenced {
                epoch: 1,
                seq,
                today: Date {
                    year: 2026,
                    month: 11,
                    day: 24,
                },
                fe: 1,
                request_id: 1_780_000_000_000_000 + seq,
                key: None,
                operation: Operation::Book(Book {
                    actor: format!("ATWC{:04}", seq % 10_000),
                    customer: format!("ATWC{:04}", seq % 10_000),
                    movie: "Avatar".to_owned(),
                    show_id: "ATWM251126".to_owned(),
                    tickets: 2,
                }),
            })
            .collect(),
    )
}

fn main() {
    let key = ClusterKey::generate();
    for len in [1, 32] {
        let message = batch(len);
        let tx = Codec::new(&key, NodeId::Sequencer);
        let rx = Codec::new(&key, NodeId::Rm(1));
        let size = tx.encode(&message).len();
        let mut best = Duration::MAX;
        for _ in 0..ROUNDS {
            let start = Instant::now();
            for _ in 0..PER_ROUND {
                let datagram = tx.encode(black_box(&message));
                let decoded = rx.decode(black_box(&datagram));
                assert!(decoded.is_ok(), "{decoded:?}");
            }
            best = best.min(start.elapsed());
        }
        let per = best / PER_ROUND;
        println!(
            "Deliver of {len:>2} booking(s): {size:>5} B datagram, encode+decode {:>6.2} µs",
            per.as_secs_f64() * 1e6
        );
    }
}
