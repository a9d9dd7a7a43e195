//! The simulated world: one event queue in simulated time, one seeded generator, the network,
//! the nodes and the clients. Single-threaded; every choice is drawn from the generator in
//! event order, so a seed fixes the run.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::time::{Duration, Instant};

use dmtbs_proto::{Message, NodeId, Outgoing, RmId};
use dmtbs_sequencer::{Failover, SequencerConfig};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::client::{self, Answered, ClientOp, TODAY};
use crate::fe::{FeAnswer, SimFe};
use crate::plan::{Fault, Plan};
use crate::rm::SimRm;

/// The real intervals of the drivers (cluster/src): RM tick `rm_tick_ms`, sequencer tick,
/// front-end tick.
const RM_TICK: Duration = Duration::from_millis(20);
const SEQUENCER_TICK: Duration = Duration::from_millis(10);
const FE_TICK: Duration = Duration::from_millis(5);
/// `[timeouts] sequencer_failover_ms`, default.
const FAILOVER_AFTER: Duration = Duration::from_millis(500);
/// After the load, faults healed, time for everyone to catch up and answer.
pub const QUIESCE: Duration = Duration::from_secs(5);
/// Every fault is over by then after the load (the latest restart or heal comes 0.9 s after
/// it); the probe's read must be answered within the rest of [`QUIESCE`] — 4 s, room for a
/// sequencer deserted by the RMs to notice it (`rm_timeout`, 3 s) and recover.
pub const PROBE_AFTER: Duration = Duration::from_millis(1_000);
/// A run that processes more events than this is stopped and fails (a livelock).
const MAX_EVENTS: u64 = 2_000_000;
/// The front end's id.
pub const FE: u16 = 1;

#[derive(Clone, Debug)]
pub enum Event {
    Msg {
        from: NodeId,
        to: NodeId,
        msg: Message,
    },
    Tick(NodeId),
    Commit {
        rm: RmId,
        gen_: u64,
        through: u64,
    },
    /// A client sends its next operation.
    ClientNext(u32),
    /// The liveness probe: one read sent once every fault is over.
    Probe,
    /// A client's try has waited long enough.
    ClientTimeout {
        client: u32,
        op: usize,
        attempt: u32,
    },
    Fault(Fault),
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Msg { from, to, msg } => {
                let text = format!("{msg:?}");
                let cut: String = text.chars().take(160).collect();
                let more = if cut.len() < text.len() { "…" } else { "" };
                write!(f, "{from} → {to}: {cut}{more}")
            }
            Event::Tick(node) => write!(f, "tick {node}"),
            Event::Commit { rm, through, .. } => write!(f, "rm{rm} fsync through {through}"),
            Event::ClientNext(c) => write!(f, "client {c} sends its next operation"),
            Event::Probe => write!(f, "the probe client sends its read"),
            Event::ClientTimeout {
                client,
                op,
                attempt,
            } => {
                write!(f, "client {client} times out on op #{op} (try {attempt})")
            }
            Event::Fault(fault) => write!(f, "FAULT {fault:?}"),
        }
    }
}

/// What a client is doing.
#[derive(Clone, Debug, Default)]
struct ClientState {
    /// The operation waiting for its answer.
    current: Option<usize>,
}

pub struct World {
    pub origin: Instant,
    pub now: Duration,
    pub rng: ChaCha8Rng,
    queue: BTreeMap<(Duration, u64), Event>,
    next_event: u64,
    pub plan: Plan,
    /// Nodes cut off from everyone.
    isolated: BTreeSet<NodeId>,
    pub sequencers: BTreeMap<NodeId, Option<Failover>>,
    pub fe: SimFe,
    /// The front end's process runs (a crash loses its waiting requests and ballots).
    fe_up: bool,
    /// Restarts of the front end so far.
    fe_starts: u64,
    pub rms: BTreeMap<RmId, SimRm>,
    clients: Vec<ClientState>,
    pub history: Vec<ClientOp>,
    /// Request id (at the front end) → the client operation it carries.
    pub request_ops: BTreeMap<u64, usize>,
    pub events: u64,
    /// FNV-1a over every processed event.
    pub trace_hash: u64,
    pub tail: VecDeque<(Duration, Event)>,
    tail_len: usize,
    pub load_end: Duration,
    keys: u64,
    /// Set when the run was cut short.
    pub runaway: bool,
    /// The liveness probe's operation, once sent.
    pub probe: Option<usize>,
    /// Times a sequencer recovered above a promise whose epoch never started (bug 7's fix,
    /// `FailoverStats::outbid`), over every incarnation.
    pub outbid: u64,
    /// Epochs decided with a start below some answering RM's log: an RM of an older epoch
    /// than the highest among the answers held requests beyond its start (bug 5's rule).
    pub superseded_logs: u64,
}

fn sequencer_config(me: NodeId) -> SequencerConfig {
    let mut config = SequencerConfig::new([1, 2, 3, 4]);
    config.me = me;
    config
}

impl World {
    pub fn new(rng: ChaCha8Rng, plan: Plan, tail_len: usize) -> Self {
        let origin = Instant::now();
        let mut sequencers = BTreeMap::new();
        let peer = plan.standby.then_some(NodeId::Standby);
        sequencers.insert(
            NodeId::Sequencer,
            Some(Failover::new(
                sequencer_config(NodeId::Sequencer),
                peer,
                FAILOVER_AFTER,
                origin,
            )),
        );
        if plan.standby {
            sequencers.insert(
                NodeId::Standby,
                Some(Failover::new(
                    sequencer_config(NodeId::Standby),
                    Some(NodeId::Sequencer),
                    FAILOVER_AFTER,
                    origin,
                )),
            );
        }
        let rms = (1..=4u8)
            .map(|id| {
                let rm = SimRm::new(
                    id,
                    plan.kind_of(id),
                    plan.skip_holdback,
                    plan.rm_as_in_cluster,
                );
                (id, rm)
            })
            .collect();
        let load_end = plan.load_end;
        let mut world = World {
            origin,
            now: Duration::ZERO,
            rng,
            queue: BTreeMap::new(),
            next_event: 0,
            fe: SimFe::new(FE, plan.standby, plan.quorum, 0),
            fe_up: true,
            fe_starts: 0,
            sequencers,
            rms,
            // The last one is the liveness probe.
            clients: vec![ClientState::default(); plan.clients as usize + 1],
            history: Vec::new(),
            request_ops: BTreeMap::new(),
            events: 0,
            trace_hash: 0xcbf2_9ce4_8422_2325,
            tail: VecDeque::new(),
            tail_len,
            load_end,
            keys: 0,
            runaway: false,
            probe: None,
            outbid: 0,
            superseded_logs: 0,
            isolated: BTreeSet::new(),
            plan,
        };
        for node in world.sequencers.keys().copied().collect::<Vec<_>>() {
            world.at(Duration::ZERO, Event::Tick(node));
        }
        for rm in 1..=4 {
            world.at(Duration::ZERO, Event::Tick(NodeId::Rm(rm)));
        }
        world.at(Duration::ZERO, Event::Tick(NodeId::FrontEnd(FE)));
        for c in 0..world.plan.clients {
            let start = Duration::from_micros(world.rng.random_range(0..50_000));
            world.at(start, Event::ClientNext(c));
        }
        world.at(load_end + PROBE_AFTER, Event::Probe);
        for (at, fault) in world.plan.faults.clone() {
            world.at(at, Event::Fault(fault));
        }
        world
    }

    fn instant(&self) -> Instant {
        self.origin + self.now
    }

    fn at(&mut self, when: Duration, event: Event) {
        self.next_event += 1;
        self.queue.insert((when, self.next_event), event);
    }

    /// Runs until `end` (simulated).
    pub fn run_until(&mut self, end: Duration) {
        while let Some(entry) = self.queue.first_entry() {
            if entry.key().0 > end {
                break;
            }
            let ((when, _), event) = entry.remove_entry();
            self.now = when;
            self.events += 1;
            if self.events > MAX_EVENTS {
                self.runaway = true;
                return;
            }
            self.record(&event);
            self.handle(event);
        }
        self.now = end;
    }

    fn record(&mut self, event: &Event) {
        let mut h = self.trace_hash;
        let mut eat = |bytes: &[u8]| {
            for &b in bytes {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0000_0100_0000_01b3);
            }
        };
        eat(&(self.now.as_nanos() as u64).to_le_bytes());
        match event {
            Event::Msg { from, to, msg } => {
                eat(format!("{from}>{to}").as_bytes());
                eat(&postcard::to_stdvec(msg).expect("serialising to memory cannot fail"));
            }
            other => eat(format!("{other:?}").as_bytes()),
        }
        self.trace_hash = h;
        if self.tail_len > 0 {
            if self.tail.len() == self.tail_len {
                self.tail.pop_front();
            }
            self.tail.push_back((self.now, event.clone()));
        }
    }

    fn handle(&mut self, event: Event) {
        let now = self.instant();
        match event {
            Event::Msg { from, to, msg } => self.deliver(from, to, msg, now),
            Event::Tick(node) => {
                let mut out = Vec::new();
                let period = match node {
                    NodeId::Rm(rm) => {
                        let r = self.rms.get_mut(&rm).expect("configured");
                        r.on_tick(now, &mut out);
                        self.commits(rm);
                        RM_TICK
                    }
                    NodeId::FrontEnd(_) => {
                        if self.fe_up {
                            let (o, answers) = self.fe.on_tick(now);
                            out = o;
                            self.answers(answers);
                        }
                        FE_TICK
                    }
                    NodeId::Sequencer | NodeId::Standby => {
                        if let Some(Some(s)) = self.sequencers.get_mut(&node) {
                            let before = s.stats().outbid;
                            out = s.on_tick(now);
                            self.outbid += s.stats().outbid - before;
                        }
                        SEQUENCER_TICK
                    }
                };
                self.send_all(node, out);
                self.at(self.now + period, Event::Tick(node));
            }
            Event::Commit { rm, gen_, through } => {
                let mut out = Vec::new();
                self.rms
                    .get_mut(&rm)
                    .expect("configured")
                    .on_commit(gen_, through, &mut out);
                self.commits(rm);
                self.send_all(NodeId::Rm(rm), out);
            }
            Event::ClientNext(c) => self.client_next(c),
            Event::Probe => {
                let client = self.plan.clients;
                self.probe = Some(self.history.len());
                self.history.push(ClientOp {
                    client,
                    operation: dmtbs_contract::Operation::Availability(
                        dmtbs_contract::Availability {
                            actor: "ATWC0001".into(),
                            movie: "Avatar".into(),
                        },
                    ),
                    key: None,
                    invoke: self.now,
                    attempts: 0,
                    answer: None,
                });
                self.clients[client as usize].current = self.probe;
                self.attempt(self.history.len() - 1);
            }
            Event::ClientTimeout {
                client,
                op,
                attempt,
            } => {
                if self.clients[client as usize].current == Some(op)
                    && self.history[op].attempts == attempt
                {
                    self.client_failed(op);
                }
            }
            Event::Fault(fault) => self.fault(fault),
        }
    }

    fn deliver(&mut self, from: NodeId, to: NodeId, msg: Message, now: Instant) {
        let mut out = Vec::new();
        match to {
            NodeId::Rm(rm) => {
                self.rms
                    .get_mut(&rm)
                    .expect("configured")
                    .on_message(from, msg, &mut out);
                self.commits(rm);
            }
            NodeId::FrontEnd(_) if self.fe_up => {
                let (o, answers) = self.fe.on_message(from, msg, now);
                out = o;
                self.answers(answers);
            }
            NodeId::FrontEnd(_) => {}
            NodeId::Sequencer | NodeId::Standby => {
                if let Some(Some(s)) = self.sequencers.get_mut(&to) {
                    let was_recovering = s
                        .sequencer()
                        .is_some_and(|s| s.phase() == dmtbs_sequencer::Phase::Recovering);
                    out = s.on_message(from, msg, TODAY, now);
                    // Decided now: did an older epoch's longer log not count (bug 5's rule)?
                    if was_recovering
                        && let Some(s) = s.sequencer()
                        && s.phase() != dmtbs_sequencer::Phase::Recovering
                        && s.epoch_states().any(|a| a.durable_through > s.start())
                    {
                        self.superseded_logs += 1;
                    }
                }
            }
        }
        self.send_all(to, out);
    }

    /// Schedules the group commit an RM asked for (an fsync takes 0.3–3 ms).
    fn commits(&mut self, rm: RmId) {
        if let Some((gen_, through)) = self.rms.get_mut(&rm).and_then(|r| r.commit_wanted.take()) {
            let fsync = Duration::from_micros(self.rng.random_range(300..3_000));
            self.at(self.now + fsync, Event::Commit { rm, gen_, through });
        }
    }

    fn send_all(&mut self, from: NodeId, out: Vec<Outgoing>) {
        for o in out {
            match o {
                Outgoing::To(to, msg) => self.send(from, to, msg),
                Outgoing::ToAllRms(msg) => {
                    for rm in 1..=4 {
                        self.send(from, NodeId::Rm(rm), msg.clone());
                    }
                }
            }
        }
    }

    /// One datagram through the seeded network: cut by a partition, lost, duplicated, delayed
    /// (so reordered).
    fn send(&mut self, from: NodeId, to: NodeId, msg: Message) {
        if self.isolated.contains(&from) || self.isolated.contains(&to) {
            return;
        }
        let net = self.plan.net;
        if self.rng.random_range(0..1000) < net.loss_permille {
            return;
        }
        let copies = if self.rng.random_range(0..1000) < net.dup_permille {
            2
        } else {
            1
        };
        for _ in 0..copies {
            let delay = net.delay_min
                + Duration::from_micros(self.rng.random_range(0..=net.jitter.as_micros() as u64));
            self.at(
                self.now + delay,
                Event::Msg {
                    from,
                    to,
                    msg: msg.clone(),
                },
            );
        }
    }

    // --- clients ---

    fn client_next(&mut self, c: u32) {
        if self.now >= self.load_end {
            return;
        }
        let operation = client::random_operation(&mut self.rng);
        let mutating = !matches!(
            operation,
            dmtbs_contract::Operation::Availability(_) | dmtbs_contract::Operation::Schedule(_)
        );
        let key = (mutating && self.rng.random_range(0..10) < 7).then(|| {
            self.keys += 1;
            format!("k{}", self.keys)
        });
        let op = self.history.len();
        self.history.push(ClientOp {
            client: c,
            operation,
            key,
            invoke: self.now,
            attempts: 0,
            answer: None,
        });
        self.clients[c as usize].current = Some(op);
        self.attempt(op);
    }

    /// Sends a try of `op` through the front end.
    fn attempt(&mut self, op: usize) {
        let now = self.instant();
        let o = &mut self.history[op];
        o.attempts += 1;
        let (client, attempt) = (o.client, o.attempts);
        if !self.fe_up {
            // Connection refused: the try fails (after a connect timeout of 50 ms).
            let refused = self.now + Duration::from_millis(50);
            self.at(
                refused,
                Event::ClientTimeout {
                    client,
                    op,
                    attempt,
                },
            );
            return;
        }
        let (request_id, out) = self.fe.submit(op, o.operation.clone(), o.key.clone(), now);
        self.request_ops.insert(request_id, op);
        self.send_all(NodeId::FrontEnd(FE), out);
        self.at(
            self.now + client::CLIENT_TIMEOUT,
            Event::ClientTimeout {
                client,
                op,
                attempt,
            },
        );
    }

    fn answers(&mut self, answers: Vec<FeAnswer>) {
        for a in answers {
            match a {
                FeAnswer::Answered {
                    op,
                    epoch,
                    seq,
                    outcome,
                    replay_of,
                } => {
                    let client = self.history[op].client as usize;
                    if self.clients[client].current != Some(op) {
                        continue; // the client gave up on it: its outcome stays unknown
                    }
                    self.history[op].answer = Some(Answered {
                        at: self.now,
                        epoch,
                        seq,
                        outcome,
                        replay_of,
                    });
                    self.client_done(client as u32);
                }
                FeAnswer::Failed { op } => {
                    let client = self.history[op].client as usize;
                    if self.clients[client].current == Some(op) {
                        self.client_failed(op);
                    }
                }
            }
        }
    }

    /// A try failed (503 or no answer in time): with a key, try again; else give up.
    fn client_failed(&mut self, op: usize) {
        let o = &self.history[op];
        // The probe tries until the end: a read may be repeated.
        if (o.key.is_some() && o.attempts < client::MAX_ATTEMPTS) || self.probe == Some(op) {
            self.attempt(op);
        } else {
            let c = o.client;
            self.client_done(c);
        }
    }

    fn client_done(&mut self, c: u32) {
        self.clients[c as usize].current = None;
        let think = Duration::from_micros(self.rng.random_range(0..20_000));
        self.at(self.now + think, Event::ClientNext(c));
    }

    // --- faults ---

    fn fault(&mut self, fault: Fault) {
        let now = self.instant();
        match fault {
            Fault::CrashRm(rm) => self.rms.get_mut(&rm).expect("configured").crash(),
            Fault::RestartRm(rm) => {
                let mut out = Vec::new();
                self.rms.get_mut(&rm).expect("configured").restart(&mut out);
                self.send_all(NodeId::Rm(rm), out);
            }
            Fault::CrashReplica(rm) => {
                self.rms.get_mut(&rm).expect("configured").replica_crashed = true
            }
            Fault::HangReplica(rm, d) => {
                self.rms.get_mut(&rm).expect("configured").hung_until = Some(now + d)
            }
            Fault::CrashSequencer(node) => {
                self.sequencers.insert(node, None);
            }
            Fault::RestartSequencer(node) => {
                let peer = if self.plan.standby {
                    Some(if node == NodeId::Sequencer {
                        NodeId::Standby
                    } else {
                        NodeId::Sequencer
                    })
                } else {
                    None
                };
                self.sequencers.insert(
                    node,
                    Some(Failover::new(
                        sequencer_config(node),
                        peer,
                        FAILOVER_AFTER,
                        now,
                    )),
                );
            }
            Fault::CrashFe => self.fe_up = false,
            Fault::RestartFe => {
                self.fe_starts += 1;
                let first_id = self.fe_starts * 1_000_000_000;
                self.fe = SimFe::new(FE, self.plan.standby, self.plan.quorum, first_id);
                self.fe_up = true;
            }
            Fault::Isolate(node) => {
                self.isolated.insert(node);
            }
            Fault::Heal(node) => {
                self.isolated.remove(&node);
            }
        }
    }
}
