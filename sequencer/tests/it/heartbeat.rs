use std::time::{Duration, Instant};

use dmtbs_proto::{Message, Outgoing};

use crate::support::*;

#[test]
fn heartbeats_carry_the_latest_number_once_per_interval() {
    let t0 = Instant::now();
    let mut s = sequencer(8, 100, t0);
    let ms = Duration::from_millis;
    // Each with the epoch's start (a brand-new cluster: epoch 1 numbers from 1).
    let beat = |latest| {
        vec![
            Outgoing::ToAllRms(Message::Heartbeat { latest }),
            Outgoing::ToAllRms(Message::EpochStart {
                epoch: 1,
                start: 0,
                chain: vec![(1, 0)],
            }),
        ]
    };

    // From the first tick of numbering on, even before anything is sequenced.
    assert_eq!(s.on_tick(t0), beat(0));
    assert!(s.on_tick(t0 + ms(50)).is_empty());
    submit(&mut s, 1, &[1, 2, 3], t0 + ms(60));
    assert!(s.on_tick(t0 + ms(99)).is_empty());
    assert_eq!(s.on_tick(t0 + ms(100)), beat(3));
    assert!(s.on_tick(t0 + ms(150)).is_empty());
    assert_eq!(s.on_tick(t0 + ms(200)), beat(3));
    assert_eq!(s.stats().heartbeats, 3);
}
