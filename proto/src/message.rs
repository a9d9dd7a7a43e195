//! Every message DMTBS components exchange over the network — the one vocabulary of the wire.
//! The booking payloads (`Operation`, `Outcome`, `Date`) are the replica contract's own types.

use dmtbs_contract::{Date, Operation, Outcome};
use serde::{Deserialize, Serialize};

/// A front end's identity, unique in the cluster (from the cluster configuration).
pub type FeId = u16;
/// A replica manager's identity, 1..=4 in the usual cluster (from the cluster configuration).
pub type RmId = u8;
/// A sequencer incarnation: each new sequencer numbers in a higher epoch than any before it
/// (docs/protocol.md, "Sequencer failover").
pub type Epoch = u64;
/// Longest idempotency key a client may give (bytes of printable ASCII; the front end checks).
pub const MAX_IDEMPOTENCY_KEY: usize = 128;

/// Who sent a datagram; bound to the datagram by its AEAD tag.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NodeId {
    /// The sequencer (the primary one, when the cluster names a standby).
    Sequencer,
    /// A front end.
    FrontEnd(FeId),
    /// A replica manager.
    Rm(RmId),
    /// The standby sequencer a cluster file may name: it numbers only once the sequencer has
    /// fallen silent (docs/protocol.md, "Standby sequencer").
    Standby,
}

impl NodeId {
    /// The sequencer or the standby.
    pub fn is_sequencer(self) -> bool {
        matches!(self, NodeId::Sequencer | NodeId::Standby)
    }

    /// The sequencer that may number in `epoch`: the sequencer's are odd, the standby's even
    /// (0, before any epoch, counts as the sequencer's). Two sequencers never ask the RMs for
    /// the same epoch, so an RM's promise can never count for both; an RM believes epoch
    /// messages only from the epoch's owner.
    pub fn sequencer_of(epoch: Epoch) -> NodeId {
        if epoch != 0 && epoch.is_multiple_of(2) {
            NodeId::Standby
        } else {
            NodeId::Sequencer
        }
    }

    /// The lowest epoch above `after` that this sequencer owns ([`NodeId::sequencer_of`]).
    pub fn next_epoch_after(self, after: Epoch) -> Epoch {
        let next = after.saturating_add(1);
        if NodeId::sequencer_of(next) == self {
            next
        } else {
            next.saturating_add(1)
        }
    }
}

/// A client request as a front end submits it: validated and canonicalised already.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ClientRequest {
    /// The submitting front end, where results go.
    pub fe: FeId,
    /// Unique per front end; a retransmission carries the same one.
    pub request_id: u64,
    /// The client's idempotency key (HTTP `Idempotency-Key`), if it gave one: a retry with the
    /// same key by the same user, through any front end, gets the first execution's result.
    pub key: Option<String>,
    /// What the client asked for.
    pub operation: Operation,
}

/// A request with its place in the total order, as every replica manager delivers it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Sequenced {
    /// The sequencer epoch that numbered it.
    pub epoch: Epoch,
    /// 1, 2, 3, … with no gaps.
    pub seq: u64,
    /// The cluster's date when the request was sequenced: the replicas' only clock.
    pub today: Date,
    /// The front end that submitted it, where results go.
    pub fe: FeId,
    /// The front end's id for it, so the front end can match results to clients.
    pub request_id: u64,
    /// The client's idempotency key, if it gave one (see [`ClientRequest::key`]).
    pub key: Option<String>,
    /// What the client asked for.
    pub operation: Operation,
}

/// The sequence number given to a submitted request.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Accepted {
    /// The sequencer epoch that numbered it.
    pub epoch: Epoch,
    /// The front end's id for the request.
    pub request_id: u64,
    /// Its place in the total order.
    pub seq: u64,
}

/// One replica's result for one request, sent to the front end named in the request.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ReplicaResult {
    /// The replica manager whose replica computed it (what the vote is about).
    pub rm: RmId,
    /// The epoch that numbered the request.
    pub epoch: Epoch,
    /// The request's place in the total order.
    pub seq: u64,
    /// The front end's id for the request.
    pub request_id: u64,
    /// The replica's answer, compared exactly by the vote.
    pub outcome: Outcome,
    /// Set when the request had been executed before (a resubmission after a sequencer
    /// failover, or a client's retry with the same idempotency key): `outcome` is then that
    /// first execution's, and nothing was executed again.
    pub replay_of: Option<Replay>,
}

/// A request recognised as one executed before (at most once across epochs and restarts).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Replay {
    /// Where it was first executed.
    pub seq: u64,
    /// Whether the request carried the same operation as the first time (a client reusing an
    /// idempotency key for a different request gets a refusal from its front end).
    pub same_operation: bool,
}

/// The most epochs a [`Chain`] carries (the latest ones): it goes with every heartbeat's
/// `EpochStart`, so it stays small (32 entries, at most about 600 bytes).
pub const MAX_CHAIN: usize = 32;

/// An epoch's lineage: the epochs whose histories it continues, oldest first, each with its
/// start — `(epoch, start)`, epochs ascending, starts non-decreasing — ending with the epoch
/// itself. Epoch `e` of the chain numbered `start(e) + 1 ..= start(next)`; the chain says which
/// epoch each sequence number of the history belongs to (docs/protocol.md, "Sequencer
/// failover"). At most [`MAX_CHAIN`] entries: older ones are dropped.
pub type Chain = Vec<(Epoch, u64)>;

/// The last [`MAX_CHAIN`] entries of `chain`.
pub fn bounded_chain(chain: &[(Epoch, u64)]) -> Chain {
    chain[chain.len().saturating_sub(MAX_CHAIN)..].to_vec()
}

/// Whether request `seq` numbered in `epoch` belongs to the history `chain` describes: `epoch`
/// is in the chain and `seq` lies after its start and no later than the next epoch's start —
/// or `epoch` is older than the whole (bounded) chain and `seq` no later than its first start.
/// An epoch missing from the chain, between two of its epochs, was superseded: none of its
/// requests is.
pub fn chain_admits(chain: &[(Epoch, u64)], epoch: Epoch, seq: u64) -> bool {
    let (Some(&(first, first_start)), Some(&(last, _))) = (chain.first(), chain.last()) else {
        return false; // no epoch yet: no request's start is known
    };
    if epoch > last {
        return false;
    }
    match chain.iter().position(|&(e, _)| e == epoch) {
        Some(i) => seq > chain[i].1 && chain.get(i + 1).is_none_or(|&(_, next)| seq <= next),
        None => epoch < first && seq <= first_start,
    }
}

/// Up to which sequence number a log that followed chain `own` is also the history of chain
/// `new` (the point where the two lineages part): with `(e, s)` the latest entry of `own` that
/// `new` holds too, the earlier of the starts that follow it in either chain (no limit when
/// neither has one: the same epoch). Two chains holding the same entry agree on everything
/// before it (each epoch's sequencer decided its chain once), and epoch `e` numbered each
/// request once. With no entry in common — `own` more than [`MAX_CHAIN`] epochs behind —
/// nothing is known to be common: 0. An empty `own` holds no request: no limit.
pub fn chain_common_through(own: &[(Epoch, u64)], new: &[(Epoch, u64)]) -> u64 {
    if own.is_empty() {
        return u64::MAX;
    }
    for (j, entry) in own.iter().enumerate().rev() {
        if let Some(i) = new.iter().position(|n| n == entry) {
            let after_own = own.get(j + 1).map_or(u64::MAX, |&(_, s)| s);
            let after_new = new.get(i + 1).map_or(u64::MAX, |&(_, s)| s);
            return after_own.min(after_new);
        }
    }
    0
}

/// A replica manager's answer to a new sequencer (`Message::EpochWanted`): where its durable
/// log ends and which epochs it holds, so the new epoch starts after everything a client may
/// have been answered for.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct EpochState {
    /// The answering replica manager.
    pub rm: RmId,
    /// The highest epoch it has promised to (it refuses sequenced requests of older epochs
    /// beyond the start of this one).
    pub promised: Epoch,
    /// The chain of the epoch it is in (the latest `EpochStart` it took): that epoch and its
    /// start last (empty before any).
    pub chain: Chain,
    /// Every request up to this one is on its disk.
    pub durable_through: u64,
    /// Its store holds nothing at all: a new replica manager, or one whose disk was lost.
    pub fresh: bool,
}

impl EpochState {
    /// The epoch it is in, and where that epoch started (0, 0 before any).
    pub fn current(&self) -> (Epoch, u64) {
        self.chain.last().copied().unwrap_or((0, 0))
    }

    /// The epoch it is in (0 before any).
    pub fn epoch(&self) -> Epoch {
        self.current().0
    }
}

/// An inclusive range of sequence numbers.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeqRange {
    /// First sequence number of the range.
    pub first: u64,
    /// Last sequence number of the range (inclusive).
    pub last: u64,
}

impl SeqRange {
    /// Sorted, non-overlapping, non-adjacent ranges covering the same numbers (empty ranges
    /// dropped), so overlapping asks for retransmission are never answered twice.
    pub fn merge(ranges: &[SeqRange]) -> Vec<SeqRange> {
        let mut sorted: Vec<SeqRange> = ranges
            .iter()
            .copied()
            .filter(|r| r.first <= r.last)
            .collect();
        sorted.sort_by_key(|r| r.first);
        let mut out: Vec<SeqRange> = Vec::with_capacity(sorted.len());
        for r in sorted {
            match out.last_mut() {
                Some(prev) if r.first <= prev.last.saturating_add(1) => {
                    prev.last = prev.last.max(r.last)
                }
                _ => out.push(r),
            }
        }
        out
    }
}

/// A front end's judgement of one request's results, sent to every replica manager.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// The request judged.
    pub seq: u64,
    /// Replicas whose result was the agreed one.
    pub agreed: Vec<RmId>,
    /// Replicas whose result differed from the agreed one.
    pub wrong: Vec<RmId>,
    /// Replicas that gave no result before the deadline.
    pub silent: Vec<RmId>,
}

/// A digest of a canonical state (SHA-256, see `dmtbs_host::StateDigest`): how replica managers
/// compare states without shipping them.
pub type Digest = [u8; 32];

/// One replica manager's checkpoint: the digest of its replica's state after `seq`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct CheckpointDigest {
    /// The reporting replica manager.
    pub rm: RmId,
    /// The state is the one after applying every request up to and including `seq`.
    pub seq: u64,
    /// Its digest.
    pub digest: Digest,
}

/// How a replica manager's replica is doing, as its status reports it.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Health {
    /// Applying requests and sending results.
    Serving,
    /// Being replaced: waiting for a correct state or replaying the log; results held back.
    Recovering,
    /// A restarted RM process that installed a state and is replaying up to the present.
    CatchingUp,
    /// No module of its list can run (all quarantined or failing); silent until an operator acts.
    Failed,
}

/// A module judged faulty: never loaded again by any RM until an operator clears it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct QuarantineEntry {
    /// The module's SHA-256 (what is quarantined: a renamed copy stays quarantined).
    pub hash: String,
    /// Its name when it was judged (file stem).
    pub module: String,
    /// The replica manager that judged it.
    pub by: RmId,
    /// Why, in plain words.
    pub reason: String,
}

/// A replica manager's status: what an operator sees per replica.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct RmStatus {
    pub rm: RmId,
    /// The operating-system process id of the RM.
    pub pid: u32,
    /// The module running now (file stem) and its SHA-256.
    pub module: String,
    pub hash: String,
    pub health: Health,
    /// Every request up to this one is applied (results computed).
    pub applied_through: u64,
    /// Every request up to this one is delivered (in the log).
    pub delivered_through: u64,
    /// Consecutive wrong results, as the front ends' verdicts report them.
    pub consecutive_wrong: u32,
    /// Consecutive silences, as the front ends' verdicts report them.
    pub consecutive_silent: u32,
    /// Replacements of the replica since the RM started.
    pub swaps: u32,
    /// The latest checkpoint at least two replicas agree on (seq 0: the empty state).
    pub stable_checkpoint: u64,
    pub stable_digest: Digest,
    /// This replica's own latest checkpoint: (seq, digest of its state after seq).
    pub own_checkpoint: Option<(u64, Digest)>,
    /// Why the replica was last replaced, if it was.
    pub last_swap_reason: Option<String>,
    /// The modules quarantined cluster-wide, as this RM knows them.
    pub quarantine: Vec<QuarantineEntry>,
    /// Peer RMs a majority of RMs agreed are dead or hung (after probing them), most recent
    /// judgement per peer.
    pub agreed_dead: Vec<RmId>,
    /// The sequencer epoch the RM is in.
    pub epoch: Epoch,
    /// Every delivered request up to this one is on the RM's disk.
    pub durable_through: u64,
    /// The slowest 1 % of the RM's last 1,024 commits of its durable log (fsync included), in
    /// microseconds (0 before any).
    pub commit_p99_micros: u64,
    /// The canary swap in progress, if one is.
    pub canary: Option<CanaryProgress>,
    /// How the last canary swap ended ("replica-c promoted after …", "replica-x refused: …").
    pub last_canary: Option<String>,
}

/// How long a canary swap's shadow runs: until it agreed on `requests` requests (and then on
/// the state), or for `seconds` (then judged on what it saw; nothing seen is a refusal).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct CanarySpec {
    pub requests: u32,
    pub seconds: u32,
}

/// A canary swap in progress on an RM.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct CanaryProgress {
    /// The module in shadow.
    pub module: String,
    /// Requests whose results it has matched so far, of `spec.requests`.
    pub compared: u64,
    pub spec: CanarySpec,
}

/// What an operator asks of replica managers (through a front end's admin API).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum AdminCommand {
    /// Report your status (answered with `Message::Status`), quoting `nonce`.
    Status { nonce: u64 },
    /// Replace your replica by a fresh instance of `module` (a file stem in the components
    /// folder) with the correct current state: a rolling upgrade. Answered with a status.
    /// `others` are the hashes of the modules the other RMs run (as last reported): a module
    /// with one of them is refused, since two RMs on one implementation lose the protection of
    /// N-version programming; empty when the operator forces the swap.
    ///
    /// With `canary`, the module first runs in shadow beside the current one (same requests,
    /// results and a state digest compared, not voted) and replaces it only if it agreed
    /// throughout; otherwise it is refused and quarantined (docs/recovery.md, "Canary swaps").
    Swap {
        nonce: u64,
        module: String,
        others: Vec<String>,
        canary: Option<CanarySpec>,
    },
    /// Forget the quarantine of the module with this hash or name (`None`: all). Answered with
    /// a status.
    ClearQuarantine { nonce: u64, module: Option<String> },
    /// Chaos (fault injection for demos and teaching), to any node: drop `percent` % (0..=100;
    /// 0 heals the link) of the authentic datagrams from `from`, operator messages excepted.
    /// Answered with `Message::AdminReply`.
    Drop {
        nonce: u64,
        from: NodeId,
        percent: u8,
    },
    /// Chaos, to any node: stop dropping anything (every link into the node heals). Answered
    /// with `Message::AdminReply`.
    Heal { nonce: u64 },
    /// Chaos, to any node: which links into you drop, and how much they dropped. Answered with
    /// `Message::AdminReply`.
    Links { nonce: u64 },
}

impl AdminCommand {
    /// The nonce the answer quotes.
    pub fn nonce(&self) -> u64 {
        match self {
            AdminCommand::Status { nonce }
            | AdminCommand::Swap { nonce, .. }
            | AdminCommand::ClearQuarantine { nonce, .. }
            | AdminCommand::Drop { nonce, .. }
            | AdminCommand::Heal { nonce }
            | AdminCommand::Links { nonce } => *nonce,
        }
    }
}

/// One link into a node as its chaos filter sees it (fault injection, see `AdminCommand::Drop`).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkDrop {
    /// The sending node.
    pub from: NodeId,
    /// The share of its datagrams dropped now, 0..=100 (0: healed).
    pub percent: u8,
    /// Datagrams from it dropped since the receiving node started.
    pub dropped: u64,
}

/// What a node says about itself in every `AdminReply`: which process it is (a restart shows as
/// another incarnation), how long it has run, and — for a sequencer or a front end — how far its
/// numbering goes. The status page's node rows come from it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct NodeInfo {
    /// The operating-system process id.
    pub pid: u32,
    /// When the node started, in milliseconds since the Unix epoch (its host's clock). With
    /// `pid` it names the incarnation: the nodes of a test cluster share one process.
    pub started_unix_ms: u64,
    /// How long the node has run, in milliseconds (a monotonic clock: no skew between hosts).
    pub uptime_ms: u64,
    /// A sequencer's or a front end's numbering; `None` for a replica manager (its status says).
    pub progress: Option<Progress>,
}

/// How far a sequencer or a front end is in the total order (see [`NodeInfo`]).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Default)]
pub struct Progress {
    /// A sequencer: the epoch it numbers in or is starting (0 while passive). A front end: the
    /// highest epoch it has seen.
    pub epoch: Epoch,
    /// A sequencer: the latest sequence number it gave. A front end: the latest given to one of
    /// its requests in that epoch.
    pub latest: u64,
    /// A sequencer: `recovering`, `starting`, `numbering` or `passive`; a front end: `serving`.
    pub phase: String,
}

/// The body of a datagram. Lists let many items share one datagram under load.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// FE → sequencer: requests to order; retransmitted until accepted.
    Submit(Vec<ClientRequest>),
    /// Sequencer → FE: the sequence numbers given (also for a retransmitted request).
    Accepted(Vec<Accepted>),
    /// Sequencer → RMs (multicast), or sequencer / peer RM → one RM repairing a gap.
    Deliver(Vec<Sequenced>),
    /// Sequencer → RMs: the highest sequence number given so far, so a lost last message is
    /// noticed.
    Heartbeat {
        /// The highest sequence number given so far.
        latest: u64,
    },
    /// RM → sequencer: every request up to `through` is delivered here (releases the
    /// sequencer's retransmission buffer).
    Ack {
        /// The acknowledging replica manager.
        rm: RmId,
        /// Every request up to and including this one is delivered.
        through: u64,
        /// The epoch the RM is in (the latest `EpochStart` it took; 0 before any): `through`
        /// is of that epoch's history.
        epoch: Epoch,
        /// The highest epoch it has promised. Above `epoch`, it takes nothing of older epochs
        /// beyond the end it reported: a sequencer that keeps hearing a promise above its own
        /// epoch, whose sequencer never starts it, recovers above it.
        promised: Epoch,
    },
    /// RM → sequencer or peer RM: please resend these.
    Nack {
        /// The replica manager missing them, to send them to.
        rm: RmId,
        /// The gaps to fill.
        missing: Vec<SeqRange>,
    },
    /// RM → FE: results for requests that FE submitted.
    Results(Vec<ReplicaResult>),
    /// FE → RMs: which replicas agreed, were wrong, or stayed silent, for each request judged
    /// since the last `Verdicts` (in the order judged; at most a tick's worth, so a verdict is
    /// not one datagram and one wake-up of every RM per request).
    Verdicts(Vec<Verdict>),
    /// FE → RMs: resend your results for these requests (theirs may have been lost). An RM
    /// answers from the results it still remembers, to the front end that asks.
    ResultsWanted(Vec<u64>),
    /// RM → RMs: my replica's state digest at a checkpoint.
    Checkpoint(CheckpointDigest),
    /// RM → RMs: which is your latest stable checkpoint? (a restarted RM, before it recovers).
    CheckpointWanted,
    /// RM → RM: my latest stable checkpoint (the answer to `CheckpointWanted`); `rm` is the
    /// sender, the digest the one at least two replicas agreed on.
    StableCheckpoint(CheckpointDigest),
    /// RM → RMs: this module is faulty; quarantine it cluster-wide.
    Quarantined(QuarantineEntry),
    /// RM → RM: are you alive, and how far are you? (the FE reported you silent).
    Probe { nonce: u64 },
    /// RM → RM: the answer to a `Probe`.
    ProbeReply {
        nonce: u64,
        /// Every request up to this one is applied.
        applied_through: u64,
        /// The replica has been inside one call longer than the hang threshold, or has failed.
        stuck: bool,
    },
    /// RM → RMs: my judgement of a suspect RM after probing it (`dead`: dead or hung).
    Suspicion { suspect: RmId, dead: bool },
    /// FE → RMs: an operator's command.
    Admin(AdminCommand),
    /// RM → FE: status, answering `AdminCommand`s (quoting their nonce).
    Status {
        nonce: u64,
        status: Box<RmStatus>,
        /// Why the command was refused, if it was (unknown or quarantined module, …).
        error: Option<String>,
    },
    /// RM → RM over TCP (state transfer): send me your state at this checkpoint.
    StateWanted { seq: u64, digest: Digest },
    /// Any node → FE: the answer to a chaos command (`AdminCommand::Drop`, `Heal`, `Links`), or
    /// the sequencer's and a front end's refusal of a command meant for RMs.
    AdminReply {
        nonce: u64,
        /// Why the command was refused, if it was.
        error: Option<String>,
        /// The links into the answering node that drop or have dropped, after the command.
        links: Vec<LinkDrop>,
        /// The answering node's process and numbering.
        node: NodeInfo,
    },
    /// New sequencer → RMs: I want to number in `epoch`; promise to take no older epoch's
    /// requests beyond where mine starts, and tell me where your log ends (`EpochState`).
    EpochWanted { epoch: Epoch },
    /// RM → sequencer: the answer to `EpochWanted`.
    EpochState(EpochState),
    /// Sequencer → RMs, at its start and with every heartbeat: epoch `epoch` numbers from
    /// `start + 1`, continuing the history of `chain` (its lineage, ending with `(epoch,
    /// start)`; at most [`MAX_CHAIN`] entries). Whatever an RM holds beyond the point where its
    /// own chain parts from this one was seen by no majority, never acknowledged, and is
    /// discarded.
    EpochStart {
        epoch: Epoch,
        start: u64,
        chain: Chain,
    },
    /// Sequencer ↔ standby, every heartbeat interval while the sender is active (recovering,
    /// starting or numbering in `epoch`): the other stays passive while it hears this, and an
    /// active one steps down on hearing a higher epoch.
    Active { epoch: Epoch },
}

impl Message {
    /// An operator's command or its answer: never dropped by chaos, so an operator can always
    /// see and heal the cluster.
    pub fn is_operator_message(&self) -> bool {
        matches!(
            self,
            Message::Admin(_) | Message::Status { .. } | Message::AdminReply { .. }
        )
    }
}

/// A node's name as operators write it: `sequencer`, `standby`, `fe1`, `rm2`.
impl std::fmt::Display for NodeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NodeId::Sequencer => f.write_str("sequencer"),
            NodeId::FrontEnd(id) => write!(f, "fe{id}"),
            NodeId::Rm(id) => write!(f, "rm{id}"),
            NodeId::Standby => f.write_str("standby"),
        }
    }
}

/// A node name that is none of `sequencer`, `fe<N>`, `rm<N>`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a node name: sequencer, standby, fe<N> (e.g. fe1) or rm<N> (e.g. rm2)")]
pub struct NodeNameError(pub String);

/// Parses `sequencer`, `standby`, `fe1`, `rm2` in any letter case (also `fe-1`, `rm-2`, as in pid files).
impl std::str::FromStr for NodeId {
    type Err = NodeNameError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let lower = text.trim().to_ascii_lowercase();
        let bad = || NodeNameError(text.to_owned());
        if lower == "sequencer" {
            return Ok(NodeId::Sequencer);
        }
        if lower == "standby" {
            return Ok(NodeId::Standby);
        }
        let number = |rest: &str| {
            let rest = rest.strip_prefix('-').unwrap_or(rest);
            // Digits only: `u8::from_str` would take a leading `+`.
            if rest.is_empty() || !rest.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            rest.parse::<u16>().ok()
        };
        if let Some(rest) = lower.strip_prefix("fe") {
            return number(rest).map(NodeId::FrontEnd).ok_or_else(bad);
        }
        if let Some(rest) = lower.strip_prefix("rm") {
            return number(rest)
                .and_then(|n| RmId::try_from(n).ok())
                .map(NodeId::Rm)
                .ok_or_else(bad);
        }
        Err(bad())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seq_ranges_merge_into_sorted_disjoint_ones_without_empty_ones() {
        let r = |first, last| SeqRange { first, last };
        assert_eq!(
            SeqRange::merge(&[r(5, 7), r(1, 2), r(3, 3), r(6, 9), r(20, 10), r(12, 12)]),
            vec![r(1, 3), r(5, 9), r(12, 12)]
        );
    }

    #[test]
    fn the_sequencer_owns_odd_epochs_and_the_standby_even_ones() {
        assert_eq!(NodeId::sequencer_of(0), NodeId::Sequencer);
        assert_eq!(NodeId::sequencer_of(1), NodeId::Sequencer);
        assert_eq!(NodeId::sequencer_of(2), NodeId::Standby);
        assert_eq!(NodeId::sequencer_of(7), NodeId::Sequencer);
        assert_eq!(NodeId::Sequencer.next_epoch_after(0), 1);
        assert_eq!(NodeId::Standby.next_epoch_after(0), 2);
        assert_eq!(NodeId::Sequencer.next_epoch_after(1), 3);
        assert_eq!(NodeId::Sequencer.next_epoch_after(2), 3);
        assert_eq!(NodeId::Standby.next_epoch_after(2), 4);
        assert_eq!(NodeId::Standby.next_epoch_after(3), 4);
        assert_eq!("Standby".parse::<NodeId>(), Ok(NodeId::Standby));
        assert_eq!(NodeId::Standby.to_string(), "standby");
    }
}

#[cfg(test)]
mod chain_tests {
    use super::*;

    #[test]
    fn a_chain_admits_each_epochs_requests_between_its_start_and_the_next() {
        let chain = [(3, 50), (4, 100), (6, 250)];
        assert!(chain_admits(&chain, 4, 101) && chain_admits(&chain, 4, 250));
        assert!(!chain_admits(&chain, 4, 251) && !chain_admits(&chain, 4, 100));
        assert!(chain_admits(&chain, 6, 9_999) && !chain_admits(&chain, 7, 251));
        // Epoch 5 was superseded (6 continues 4): none of its requests is history.
        assert!(!chain_admits(&chain, 5, 120));
        // Older than the bounded chain: only up to its first start.
        assert!(chain_admits(&chain, 1, 50) && !chain_admits(&chain, 1, 51));
        assert!(!chain_admits(&[], 1, 1));
    }

    #[test]
    fn two_chains_share_the_history_up_to_where_their_lineages_part() {
        let epoch_1 = [(1, 0)];
        let epoch_2 = [(1, 0), (2, 121)];
        // Seed 71690: an RM of epoch 1 (log through 128) takes epoch 3, which continues epoch 2.
        assert_eq!(
            chain_common_through(&epoch_1, &[(1, 0), (2, 121), (3, 121)]),
            121
        );
        // The successor of its own epoch: everything up to the new start.
        assert_eq!(
            chain_common_through(&epoch_2, &[(1, 0), (2, 121), (3, 130)]),
            130
        );
        // A dead branch: epoch 3 (from 125) was superseded by 4, which continues 2 from 140.
        let dead = [(1, 0), (2, 121), (3, 125)];
        assert_eq!(
            chain_common_through(&dead, &[(1, 0), (2, 121), (4, 140)]),
            125
        );
        // Bounded chains that overlap only in part still find their common entry.
        assert_eq!(chain_common_through(&epoch_2, &[(2, 121), (5, 200)]), 200);
        assert_eq!(chain_common_through(&epoch_2, &epoch_2), u64::MAX);
        // Nothing in common: nothing is known to be shared; an empty chain holds nothing.
        assert_eq!(chain_common_through(&epoch_1, &[(7, 300), (9, 310)]), 0);
        assert_eq!(chain_common_through(&[], &epoch_2), u64::MAX);
    }

    #[test]
    fn a_bounded_chain_keeps_the_latest_entries() {
        let long: Vec<(Epoch, u64)> = (1..=40).map(|e| (e, e)).collect();
        let bounded = bounded_chain(&long);
        assert_eq!(bounded.len(), MAX_CHAIN);
        assert_eq!(bounded.first(), Some(&(9, 9)));
        assert_eq!(bounded_chain(&long[..3]), long[..3].to_vec());
    }
}
