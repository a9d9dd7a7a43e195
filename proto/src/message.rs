//! Every message DMTBS components exchange over the network — the one vocabulary of the wire.
//! The booking payloads (`Operation`, `Outcome`, `Date`) are the replica contract's own types.

use dmtbs_contract::{Date, Operation, Outcome};
use serde::{Deserialize, Serialize};

/// A front end's identity, unique in the cluster (from the cluster configuration).
pub type FeId = u16;
/// A replica manager's identity, 1..=4 in the usual cluster (from the cluster configuration).
pub type RmId = u8;

/// Who sent a datagram; bound to the datagram by the MAC.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NodeId {
    /// The (single) sequencer.
    Sequencer,
    /// A front end.
    FrontEnd(FeId),
    /// A replica manager.
    Rm(RmId),
}

/// A client request as a front end submits it: validated and canonicalised already.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct ClientRequest {
    /// The submitting front end, where results go.
    pub fe: FeId,
    /// Unique per front end; a retransmission carries the same one.
    pub request_id: u64,
    /// What the client asked for.
    pub operation: Operation,
}

/// A request with its place in the total order, as every replica manager delivers it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Sequenced {
    /// 1, 2, 3, … with no gaps.
    pub seq: u64,
    /// The cluster's date when the request was sequenced: the replicas' only clock.
    pub today: Date,
    /// The front end that submitted it, where results go.
    pub fe: FeId,
    /// The front end's id for it, so the front end can match results to clients.
    pub request_id: u64,
    /// What the client asked for.
    pub operation: Operation,
}

/// The sequence number given to a submitted request.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Accepted {
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
    /// The request's place in the total order.
    pub seq: u64,
    /// The front end's id for the request.
    pub request_id: u64,
    /// The replica's answer, compared exactly by the vote.
    pub outcome: Outcome,
}

/// An inclusive range of sequence numbers.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeqRange {
    /// First sequence number of the range.
    pub first: u64,
    /// Last sequence number of the range (inclusive).
    pub last: u64,
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
    /// FE → RMs: which replicas agreed, were wrong, or stayed silent on a request.
    Verdict(Verdict),
    /// FE → RMs: resend your results for these requests (theirs may have been lost). An RM
    /// answers from the results it still remembers, to the front end that asks.
    ResultsWanted(Vec<u64>),
}
