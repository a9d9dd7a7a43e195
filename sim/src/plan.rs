//! A run's setting, drawn from its seed before it starts: the network's faults, the cluster's
//! shape and the schedule of node faults.

use std::fmt;
use std::time::Duration;

use dmtbs_proto::{NodeId, RmId};
use rand::Rng;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;

use crate::PlantedBug;
use crate::replica::Kind;

/// The seeded network (every link alike).
#[derive(Clone, Copy, Debug)]
pub struct Net {
    pub loss_permille: u32,
    pub dup_permille: u32,
    pub delay_min: Duration,
    /// Each datagram is delayed by `delay_min` plus up to this (so datagrams reorder).
    pub jitter: Duration,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// `kill -9` of an RM process (its fsynced log and epoch meta survive).
    CrashRm(RmId),
    RestartRm(RmId),
    /// The replica traps for good: its RM runs on, the replica computes nothing more.
    CrashReplica(RmId),
    /// The replica is stuck inside one call for this long.
    HangReplica(RmId, Duration),
    CrashSequencer(NodeId),
    /// A new incarnation (with a standby: passive first, as `dmtbs up` restarts it).
    RestartSequencer(NodeId),
    /// `kill -9` of the front end: its waiting requests and ballots are gone; clients see
    /// their connections fail and retry (with their idempotency key) once it is back.
    CrashFe,
    RestartFe,
    /// Every datagram to or from the node is dropped until it heals.
    Isolate(NodeId),
    Heal(NodeId),
}

#[derive(Clone, Debug)]
pub struct Plan {
    pub net: Net,
    pub standby: bool,
    pub clients: u32,
    /// Clients send new operations until then; then faults are over and the cluster quiesces.
    pub load_end: Duration,
    /// The RM whose replica is faulty (lies or corrupts its state), if any.
    pub liar: Option<(RmId, Kind)>,
    pub faults: Vec<(Duration, Fault)>,
    /// Identical results the front end waits for (1: the planted voter bug).
    pub quorum: usize,
    pub skip_holdback: bool,
    pub rm_as_in_cluster: bool,
}

impl Plan {
    pub fn draw(rng: &mut ChaCha8Rng, options: &crate::Options) -> Plan {
        let planted = options.planted;
        let ms = |rng: &mut ChaCha8Rng, lo: u64, hi: u64| {
            Duration::from_micros(rng.random_range(lo * 1000..hi * 1000))
        };
        let net = Net {
            loss_permille: *[0, 0, 10, 50, 150].choose(rng).expect("options"),
            dup_permille: *[0, 20, 100].choose(rng).expect("options"),
            delay_min: Duration::from_micros(rng.random_range(100..1_000)),
            jitter: *[200, 3_000, 15_000]
                .map(Duration::from_micros)
                .choose(rng)
                .expect("options"),
        };
        let standby = rng.random_bool(0.5);
        let clients = rng.random_range(3..=4);
        let load_end = ms(rng, 1_200, 2_000);
        let mut faults = Vec::new();
        let when = |rng: &mut ChaCha8Rng| ms(rng, 200, load_end.as_millis() as u64 - 100);
        let liar = rng.random_bool(0.5).then(|| {
            let kind = if rng.random_bool(0.5) {
                Kind::Liar
            } else {
                Kind::Corrupt
            };
            (rng.random_range(1..=4), kind)
        });
        if rng.random_bool(0.3) {
            // Another RM than the liar's: one wrong and one silent replica at most.
            let rm = loop {
                let rm = rng.random_range(1..=4);
                if liar.is_none_or(|(l, _)| l != rm) {
                    break rm;
                }
            };
            let at = when(rng);
            faults.push(if rng.random_bool(0.5) {
                (at, Fault::CrashReplica(rm))
            } else {
                (at, Fault::HangReplica(rm, ms(rng, 100, 800)))
            });
        }
        if rng.random_bool(0.4) {
            let rm = rng.random_range(1..=4);
            let at = when(rng);
            faults.push((at, Fault::CrashRm(rm)));
            faults.push((at + ms(rng, 50, 800), Fault::RestartRm(rm)));
        }
        if rng.random_bool(0.4) {
            let node = if standby && rng.random_bool(0.3) {
                NodeId::Standby
            } else {
                NodeId::Sequencer
            };
            let at = when(rng);
            faults.push((at, Fault::CrashSequencer(node)));
            faults.push((at + ms(rng, 100, 1_000), Fault::RestartSequencer(node)));
        }
        for _ in 0..rng.random_range(0..=2) {
            let mut nodes = vec![NodeId::Sequencer, NodeId::Rm(1), NodeId::Rm(2)];
            nodes.extend([NodeId::Rm(3), NodeId::Rm(4)]);
            if standby {
                nodes.push(NodeId::Standby);
            }
            let node = *nodes.choose(rng).expect("nodes");
            let at = when(rng);
            faults.push((at, Fault::Isolate(node)));
            faults.push((at + ms(rng, 50, 800), Fault::Heal(node)));
        }
        // Faults added since the first campaigns draw from a stream of their own, so every
        // seed kept as a regression test still replays the run it was found in.
        let mut side = rng.clone();
        side.set_stream(1);
        if side.random_bool(0.15) {
            let at = when(&mut side);
            faults.push((at, Fault::CrashFe));
            faults.push((at + ms(&mut side, 50, 500), Fault::RestartFe));
        }
        faults.sort_by_key(|(at, _)| *at);
        Plan {
            net,
            standby,
            clients,
            load_end,
            liar,
            faults,
            quorum: if planted == Some(PlantedBug::VoterFirstResult) {
                1
            } else {
                2
            },
            skip_holdback: planted == Some(PlantedBug::RmSkipsHoldBack),
            rm_as_in_cluster: options.rm_as_in_cluster,
        }
    }

    pub fn kind_of(&self, rm: RmId) -> Kind {
        match self.liar {
            Some((l, kind)) if l == rm => kind,
            _ => Kind::Correct,
        }
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.net;
        write!(
            f,
            "net: loss {}‰ dup {}‰ delay {:?}+≤{:?}; standby: {}; clients: {}; load until {:?}; \
             faulty replica: {}",
            n.loss_permille,
            n.dup_permille,
            n.delay_min,
            n.jitter,
            if self.standby { "yes" } else { "no" },
            self.clients,
            self.load_end,
            match self.liar {
                Some((rm, kind)) => format!("rm{rm} {kind:?}"),
                None => "none".into(),
            }
        )?;
        for (at, fault) in &self.faults {
            write!(f, "\n  at {at:?}: {fault:?}")?;
        }
        Ok(())
    }
}
