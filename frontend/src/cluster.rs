//! The seam between the HTTP API and the replicated cluster.
//!
//! The HTTP layer validates, canonicalises and authenticates; then it hands a well-formed
//! [`Operation`] to a [`Cluster`], which sequences it, waits for the replicas' results and votes
//! (see [`crate::vote`]). The network side implements this trait; tests implement it with fixed
//! answers.

use std::future::Future;

use dmtbs_contract::{Operation, Outcome};
pub use dmtbs_proto::Replay;
use dmtbs_proto::{LinkDrop, NodeId, RmId, RmStatus};

/// The outcome at least two replicas computed for one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VotedOutcome {
    /// The request's place in the total order.
    pub seq: u64,
    /// The agreed result: a success value or a refusal by the booking rules.
    pub outcome: Outcome,
    /// The replica managers whose result was `outcome` when the client was answered (at least
    /// two), ascending.
    pub agreed: Vec<RmId>,
    /// Set when the replicas recognised the request as one executed before (the same front end
    /// request resubmitted after a sequencer failover, or a client's retry with the same
    /// idempotency key): `outcome` is then the first execution's, nothing was executed again,
    /// and `Replay::seq` says where it was first executed. The replicas agreed on this too.
    pub replay_of: Option<Replay>,
}

/// Why the cluster gave no voted outcome. The HTTP layer answers 503 for both: never a guess.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ClusterError {
    /// The request was sequenced (and so executed), but no two replicas agreed on its result by
    /// the voting ceiling.
    #[error("no two replicas agreed on the result of request {seq}")]
    NoAgreement {
        /// The request's place in the total order.
        seq: u64,
    },
    /// The request could not be sequenced (the sequencer did not accept it in time, the front end
    /// is shutting down, …). It may or may not have been executed.
    #[error("the cluster is unavailable: {0}")]
    Unavailable(String),
}

/// The replicated booking service as the HTTP layer sees it.
///
/// `execute` receives only operations that are well-formed and canonical (rules §1) and, for an
/// admin actor, whose caller presented the cluster's admin key: authentication happens once, in
/// the HTTP layer, before sequencing, so nothing about it needs to travel further. Authorisation
/// (who may act for whom, which area) is the booking rules' business and is decided by the
/// replicas (`not-authorized`).
pub trait Cluster: Operator {
    /// Sequences `operation`, waits until two replicas return identical results, and returns that
    /// result. Implementations may also be written as `async fn`.
    ///
    /// `key` is the client's idempotency key (HTTP `Idempotency-Key`, already checked: 1 to
    /// [`dmtbs_proto::MAX_IDEMPOTENCY_KEY`] bytes of printable ASCII), carried to the replicas in
    /// `ClientRequest::key`: a request with a key the same actor used before is not executed
    /// again — the answer is the first execution's, with [`VotedOutcome::replay_of`] set.
    fn execute(
        &self,
        operation: Operation,
        key: Option<String>,
    ) -> impl Future<Output = Result<VotedOutcome, ClusterError>> + Send;
}

/// An operator's command to the replica managers (the admin API under `/v1/admin/`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OperatorCommand {
    /// Every RM's status.
    Status,
    /// Replace RM `rm`'s replica by a fresh instance of `module` with the correct state; the RM
    /// refuses a module whose hash is in `others` (what the other RMs run; empty when forced).
    /// With `canary`, the module runs in shadow first and is promoted only if it agreed.
    Swap {
        rm: RmId,
        module: String,
        others: Vec<String>,
        canary: Option<dmtbs_proto::CanarySpec>,
    },
    /// Clear the quarantine of `module` (a name or hash; `None`: every module) on every RM.
    ClearQuarantine { module: Option<String> },
    /// Chaos: node `to` drops `percent` % of what it receives from `from` (0 heals the link).
    Drop {
        from: NodeId,
        to: NodeId,
        percent: u8,
    },
    /// Chaos: every node stops dropping anything.
    Heal,
    /// Chaos: every node's links that drop or have dropped.
    Links,
}

/// One node's answer to a chaos command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeReport {
    pub node: NodeId,
    /// Why the node refused the command, if it did.
    pub error: Option<String>,
    /// The links into the node that drop or have dropped, after the command.
    pub links: Vec<LinkDrop>,
}

/// One RM's answer to an operator command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RmReport {
    pub status: RmStatus,
    /// Why the RM refused the command, if it did.
    pub error: Option<String>,
}

/// What the RMs answered; `silent` lists those asked that did not answer in time. Chaos
/// commands are answered by any kind of node: in `nodes`, and those silent in `unanswered`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OperatorAnswer {
    pub reports: Vec<RmReport>,
    pub silent: Vec<RmId>,
    pub nodes: Vec<NodeReport>,
    pub unanswered: Vec<NodeId>,
}

/// The operator side of the cluster (separate from [`Cluster`] so test doubles of the booking
/// path need not implement it; the default refuses).
pub trait Operator: Send + Sync + 'static {
    /// Sends `command` to the RMs concerned and collects their answers (bounded wait).
    fn operate(
        &self,
        command: OperatorCommand,
    ) -> impl Future<Output = Result<OperatorAnswer, ClusterError>> + Send {
        let _ = command;
        async {
            Err(ClusterError::Unavailable(
                "this front end has no replica managers to command".into(),
            ))
        }
    }

    /// Every node of the cluster (chaos commands may name only these); none by default.
    fn nodes(&self) -> Vec<NodeId> {
        Vec::new()
    }
}
