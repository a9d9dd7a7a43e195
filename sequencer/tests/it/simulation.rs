//! A chaos phase (10% loss, 10% duplication, reordering by delays of up to 3 ticks, one RM cut
//! off for a while), then a quiet phase: every RM must deliver the same full sequence, and every
//! front-end request must appear in it exactly once.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use dmtbs_delivery::{Delivery, DeliveryConfig};
use dmtbs_proto::{ClientRequest, FeId, Message, NodeId, Outgoing, Sequenced};
use dmtbs_sequencer::SequencerConfig;
use dmtbs_testkit::rng::{Rng, seed_from_env};

use crate::support::*;

const TICK: Duration = Duration::from_millis(5);
const CHAOS_TICKS: u64 = 300;
const NEW_REQUESTS_UNTIL: u64 = 250;
/// RM 4 neither sends nor receives anything in these ticks: long enough for the sequencer to
/// stop counting it as live, so it has to repair from its peers.
const ISOLATED: std::ops::Range<u64> = 60..140;
const QUIET_TICKS_MAX: u64 = 2_000;

/// The network: a queue of datagrams, each with the tick it arrives.
struct Net {
    rng: Rng,
    queue: Vec<(u64, NodeId, NodeId, Message)>,
    chaos: bool,
}

impl Net {
    fn send(&mut self, tick: u64, from: NodeId, to: NodeId, msg: Message) {
        let cut_off = ISOLATED.contains(&tick) && (from == NodeId::Rm(4) || to == NodeId::Rm(4));
        if cut_off || (self.chaos && self.rng.percent(10)) {
            return;
        }
        let copies = if self.chaos && self.rng.percent(10) {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let delay = if self.chaos { self.rng.below(4) } else { 0 };
            self.queue.push((tick + 1 + delay, from, to, msg.clone()));
        }
    }

    fn send_all(&mut self, tick: u64, from: NodeId, out: Vec<Outgoing>) {
        for o in out {
            match o {
                Outgoing::To(to, msg) => self.send(tick, from, to, msg),
                Outgoing::ToAllRms(msg) => {
                    for rm in RMS {
                        self.send(tick, from, NodeId::Rm(rm), msg.clone());
                    }
                }
            }
        }
    }

    /// The datagrams arriving at `tick`, in random order.
    fn arrivals(&mut self, tick: u64) -> Vec<(NodeId, NodeId, Message)> {
        let (mut due, rest): (Vec<_>, Vec<_>) =
            self.queue.drain(..).partition(|(at, ..)| *at <= tick);
        self.queue = rest;
        for i in (1..due.len()).rev() {
            due.swap(i, self.rng.below(i as u64 + 1) as usize);
        }
        due.into_iter().map(|(_, f, t, m)| (f, t, m)).collect()
    }
}

/// A front end reduced to retransmitting until accepted.
struct Fe {
    id: FeId,
    next_id: u64,
    pending: BTreeMap<u64, ClientRequest>,
    /// request id → the sequence number the sequencer answered (always the same one).
    accepted: HashMap<u64, u64>,
}

/// The sequencer's output without its `EpochStart`s, which must all be epoch 1's from 0: the
/// sequencer recovered before tick 0 and numbers in one epoch throughout, and these RMs
/// (`Delivery` alone) know nothing of epochs. Leaving them off the network also leaves the
/// seeded loss and reordering exactly as they were before sequencers had epochs.
fn one_epoch(out: Vec<Outgoing>) -> Vec<Outgoing> {
    out.into_iter()
        .filter(|o| match o {
            Outgoing::ToAllRms(Message::EpochStart {
                epoch,
                start,
                chain,
            }) => {
                assert_eq!((*epoch, *start, chain.as_slice()), (1, 0, &[(1, 0)][..]));
                false
            }
            _ => true,
        })
        .collect()
}

struct Rm {
    delivery: Delivery,
    delivered: Vec<Sequenced>,
}

#[test]
fn four_rms_deliver_the_same_full_sequence_over_a_lossy_network() {
    let seeds = match std::env::var("DMTBS_SEED") {
        Ok(_) => vec![seed_from_env(0)],
        Err(_) => vec![1, 2, 3],
    };
    for seed in seeds {
        eprintln!(
            "seed {seed}: DMTBS_SEED={seed} cargo test -p dmtbs-sequencer --test it simulation"
        );
        run(seed);
    }
}

fn run(seed: u64) {
    let base = Instant::now();
    let at = |tick: u64| base + TICK * tick as u32;
    let mut net = Net {
        rng: Rng::new(seed),
        queue: Vec::new(),
        chaos: true,
    };
    let mut rng = Rng::new(seed ^ 0xFE);

    let mut config = SequencerConfig::new(RMS);
    config.batch_limit = 4;
    config.buffer_limit = 256;
    config.heartbeat_interval = Duration::from_millis(25);
    config.rm_timeout = Duration::from_millis(200);
    let mut sequencer = started(config, at(0));
    let mut fes: Vec<Fe> = (1..=3)
        .map(|id| Fe {
            id,
            next_id: 1,
            pending: BTreeMap::new(),
            accepted: HashMap::new(),
        })
        .collect();
    let mut rms: BTreeMap<u8, Rm> = RMS
        .iter()
        .map(|&rm| {
            let delivery = Delivery::new(DeliveryConfig::new(rm, RMS), 1);
            let delivered = Vec::new();
            (
                rm,
                Rm {
                    delivery,
                    delivered,
                },
            )
        })
        .collect();

    let mut tick = 0;
    loop {
        if tick == CHAOS_TICKS {
            net.chaos = false;
        }
        let settled = tick > CHAOS_TICKS
            && fes.iter().all(|f| f.pending.is_empty())
            && rms
                .values()
                .all(|r| r.delivery.delivered_through() == sequencer.latest());
        if settled {
            break;
        }
        assert!(
            tick < CHAOS_TICKS + QUIET_TICKS_MAX,
            "seed {seed}: no convergence"
        );
        let now = at(tick);

        for (from, to, msg) in net.arrivals(tick) {
            match to {
                NodeId::Sequencer => {
                    let out = sequencer.on_message(from, msg, today(), now);
                    net.send_all(tick, to, one_epoch(out));
                }
                NodeId::FrontEnd(id) => {
                    let fe = &mut fes[id as usize - 1];
                    let Message::Accepted(acc) = msg else {
                        panic!("front end {id} got {msg:?}");
                    };
                    for a in acc {
                        let seq = *fe.accepted.entry(a.request_id).or_insert(a.seq);
                        assert_eq!(seq, a.seq, "seed {seed}: request renumbered");
                        fe.pending.remove(&a.request_id);
                    }
                }
                NodeId::Standby => {
                    panic!("no standby in this simulation, yet {from} sent it {msg:?}")
                }
                NodeId::Rm(id) => {
                    let rm = rms.get_mut(&id).expect("only RMs 1-4 are addressed");
                    match msg {
                        Message::Deliver(items) => {
                            let ready = rm.delivery.on_deliver(items);
                            rm.delivered.extend(ready);
                        }
                        Message::Heartbeat { latest } => rm.delivery.on_heartbeat(latest),
                        Message::Nack { rm: peer, missing } => {
                            let out = rm.delivery.on_peer_nack(peer, &missing);
                            net.send_all(tick, to, out);
                        }
                        other => panic!("RM {id} got {other:?}"),
                    }
                }
            }
        }

        // Front ends: new requests during the chaos, retransmission of the unanswered always.
        for fe in &mut fes {
            let mut fresh = Vec::new();
            if tick < NEW_REQUESTS_UNTIL && rng.percent(50) {
                for _ in 0..1 + rng.below(3) {
                    let req = request(fe.id, fe.next_id);
                    fe.pending.insert(fe.next_id, req.clone());
                    fe.next_id += 1;
                    fresh.push(req);
                }
            }
            if tick % 4 == 0 {
                fresh = fe.pending.values().cloned().collect();
            }
            for batch in fresh.chunks(8) {
                let msg = Message::Submit(batch.to_vec());
                net.send(tick, NodeId::FrontEnd(fe.id), NodeId::Sequencer, msg);
            }
        }

        let out = sequencer.on_tick(now);
        net.send_all(tick, NodeId::Sequencer, one_epoch(out));
        for (&id, rm) in rms.iter_mut() {
            let mut out: Vec<Outgoing> = rm.delivery.nack(now).into_iter().collect();
            if tick % 2 == 0 {
                out.push(rm.delivery.ack(1, 1));
            }
            net.send_all(tick, NodeId::Rm(id), out);
        }
        tick += 1;
    }

    // Every RM delivered 1..=latest, the same requests in the same order.
    let latest = sequencer.latest();
    let reference: Vec<(u64, FeId, u64)> = rms[&1]
        .delivered
        .iter()
        .map(|i| (i.seq, i.fe, i.request_id))
        .collect();
    assert_eq!(
        reference.iter().map(|r| r.0).collect::<Vec<_>>(),
        (1..=latest).collect::<Vec<_>>(),
        "seed {seed}"
    );
    for (id, rm) in &rms {
        assert_eq!(
            rm.delivered, rms[&1].delivered,
            "seed {seed}: RM {id} differs"
        );
    }
    // Every front-end request exactly once, under the number it was told.
    let created: u64 = fes.iter().map(|f| f.next_id - 1).sum();
    assert_eq!(latest, created, "seed {seed}");
    for (seq, fe, request_id) in reference {
        assert_eq!(
            fes[fe as usize - 1].accepted[&request_id],
            seq,
            "seed {seed}"
        );
    }

    // The cut-off RM had to be repaired from its peers: the sequencer no longer had all it
    // missed, having stopped waiting for it.
    let stats = sequencer.stats();
    assert!(stats.duplicates > 0, "seed {seed}: no retransmitted submit");
    assert!(
        stats.nack_misses > 0,
        "seed {seed}: the sequencer never lacked a request"
    );
    assert!(rms[&4].delivery.stats().nacks_to_peers > 0, "seed {seed}");
    let served: u64 = rms.values().map(|r| r.delivery.stats().served).sum();
    assert!(served > 0, "seed {seed}: no peer served a nack");
    eprintln!(
        "seed {seed}: {latest} requests in {tick} ticks; sequencer {stats:?}; RM 4 {:?}",
        rms[&4].delivery.stats()
    );
}
