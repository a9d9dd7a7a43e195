//! The front end node: the HTTP API over a [`Cluster`] implementation that submits requests to
//! the sequencer (resending until accepted), collects the replicas' results and votes.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dmtbs_contract::Operation;
use dmtbs_frontend::vote::verdict_message;
use dmtbs_frontend::{
    AdminKey, AuditLog, Cluster, ClusterError, Decision, Event, Operator, OperatorAnswer,
    OperatorCommand, RmReport, VotedOutcome, Voter, VoterConfig,
};
use dmtbs_proto::{AdminCommand, ClientRequest, FeId, Message, NodeId, Outgoing, RmId};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::config::{ClusterConfig, Timeouts};
use crate::wire::Wire;

/// How often the front end's clock advances (resends, voting deadlines).
const TICK: Duration = Duration::from_millis(5);

type Reply = oneshot::Sender<Result<VotedOutcome, ClusterError>>;
type OperatorReply = oneshot::Sender<OperatorAnswer>;

/// How long the front end waits for RMs to answer an operator command.
const OPERATOR_WAIT: Duration = Duration::from_secs(1);

/// An operator command waiting for the RMs' answers.
struct PendingCommand {
    asked: Vec<RmId>,
    answer: OperatorAnswer,
    reply: OperatorReply,
    deadline: Instant,
}

/// A request waiting for its answer.
struct Pending {
    operation: Operation,
    reply: Reply,
    submitted: Instant,
    last_sent: Instant,
    /// Set once the sequencer accepted it (or a result named it).
    seq: Option<u64>,
    /// When results were last asked for again.
    last_asked: Instant,
}

/// The cluster as the HTTP layer sees it: hands operations to the node's protocol task.
pub struct ClusterClient {
    submit: mpsc::UnboundedSender<(Operation, Reply)>,
    operate: mpsc::UnboundedSender<(OperatorCommand, OperatorReply)>,
    /// How long a client waits at most (resends, then the voting ceiling).
    patience: Duration,
}

impl Operator for ClusterClient {
    async fn operate(&self, command: OperatorCommand) -> Result<OperatorAnswer, ClusterError> {
        let (reply, answer) = oneshot::channel();
        self.operate
            .send((command, reply))
            .map_err(|_| ClusterError::Unavailable("the front end is shutting down".into()))?;
        answer
            .await
            .map_err(|_| ClusterError::Unavailable("the front end is shutting down".into()))
    }
}

impl Cluster for ClusterClient {
    async fn execute(&self, operation: Operation) -> Result<VotedOutcome, ClusterError> {
        let (reply, answer) = oneshot::channel();
        self.submit
            .send((operation, reply))
            .map_err(|_| ClusterError::Unavailable("the front end is shutting down".into()))?;
        match tokio::time::timeout(self.patience, answer).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(ClusterError::Unavailable(
                "the front end is shutting down".into(),
            )),
            Err(_) => Err(ClusterError::Unavailable("no answer in time".into())),
        }
    }
}

/// Runs a front end: its protocol task on `wire` (made for `NodeId::FrontEnd(fe)`) and its
/// HTTP server on `listener`, until `shutdown`.
pub async fn run(
    config: Arc<ClusterConfig>,
    fe: FeId,
    wire: Arc<Wire>,
    listener: tokio::net::TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let section = config
        .frontend(fe)
        .ok_or_else(|| anyhow::anyhow!("front end {fe} is not in the cluster configuration"))?
        .clone();
    let audit = match &section.audit_log {
        Some(path) => AuditLog::to_file(path)?,
        None => AuditLog::discard(),
    };
    let t = &config.timeouts;
    let patience = Timeouts::ms(t.submit_give_up_ms + t.vote_ceiling_ms);
    let (submit, submissions) = mpsc::unbounded_channel();
    let (operate, commands) = mpsc::unbounded_channel();
    let client = Arc::new(ClusterClient {
        submit,
        operate,
        patience,
    });
    let app = dmtbs_frontend::router(client, AdminKey::new(&config.cluster.admin_key), audit);
    tracing::info!(fe, http = %listener.local_addr()?, "front end up");

    let protocol = tokio::spawn(protocol(
        config.clone(),
        fe,
        wire,
        submissions,
        commands,
        shutdown.clone(),
    ));
    dmtbs_frontend::serve(listener, app, shutdown.clone().cancelled_owned()).await?;
    shutdown.cancel();
    protocol.await??;
    Ok(())
}

/// The front end's side of the cluster protocol.
async fn protocol(
    config: Arc<ClusterConfig>,
    fe: FeId,
    wire: Arc<Wire>,
    mut submissions: mpsc::UnboundedReceiver<(Operation, Reply)>,
    mut commands: mpsc::UnboundedReceiver<(OperatorCommand, OperatorReply)>,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let mut operator: HashMap<u64, PendingCommand> = HashMap::new();
    let mut next_nonce: u64 = 1;
    let t = config.timeouts.clone();
    let mut voter_config = VoterConfig::new(config.rm_ids());
    voter_config.floor = Timeouts::ms(t.vote_floor_ms);
    voter_config.ceiling = Timeouts::ms(t.vote_ceiling_ms);
    voter_config.quorum = config.cluster.quorum;
    let mut voter = Voter::new(voter_config);
    // Request ids start at the clock so a restarted front end never reuses one the sequencer
    // still remembers.
    let mut next_id: u64 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_micros() as u64);
    let mut pending: HashMap<u64, Pending> = HashMap::new();
    let mut by_seq: HashMap<u64, u64> = HashMap::new();
    let mut tick = tokio::time::interval(TICK);
    loop {
        let now = Instant::now();
        let mut out = Vec::new();
        let mut events = Vec::new();
        tokio::select! {
            _ = shutdown.cancelled() => break,
            Some((operation, reply)) = submissions.recv() => {
                // Everything queued meanwhile goes in the same Submit: batching under load.
                let mut batch = vec![(operation, reply)];
                while let Ok(more) = submissions.try_recv() {
                    batch.push(more);
                }
                let mut requests = Vec::with_capacity(batch.len());
                for (operation, reply) in batch {
                    next_id += 1;
                    requests.push(ClientRequest { fe, request_id: next_id, operation: operation.clone() });
                    pending.insert(next_id, Pending { operation, reply, submitted: now, last_sent: now, seq: None, last_asked: now });
                }
                out.push(Outgoing::To(NodeId::Sequencer, Message::Submit(requests)));
            }
            Some((command, reply)) = commands.recv() => {
                let nonce = next_nonce;
                next_nonce += 1;
                let (asked, admin) = match command {
                    OperatorCommand::Status => (config.rm_ids(), AdminCommand::Status { nonce }),
                    OperatorCommand::Swap { rm, module } => (
                        config.rm(rm).map(|r| vec![r.id]).unwrap_or_default(),
                        AdminCommand::Swap { nonce, module },
                    ),
                    OperatorCommand::ClearQuarantine { module } => {
                        (config.rm_ids(), AdminCommand::ClearQuarantine { nonce, module })
                    }
                };
                for &rm in &asked {
                    out.push(Outgoing::To(NodeId::Rm(rm), Message::Admin(admin.clone())));
                }
                operator.insert(nonce, PendingCommand { asked, answer: OperatorAnswer::default(), reply, deadline: now + OPERATOR_WAIT });
            }
            received = wire.recv() => {
                let (from, msg) = received?;
                match msg {
                    Message::Status { nonce, status, error } => {
                        if let (NodeId::Rm(rm), Some(p)) = (from, operator.get_mut(&nonce))
                            && status.rm == rm
                            && p.asked.contains(&rm)
                            && !p.answer.reports.iter().any(|r| r.status.rm == rm)
                        {
                            p.answer.reports.push(RmReport { status: *status, error });
                        }
                    }
                    Message::Accepted(list) if from == NodeId::Sequencer => {
                        for a in list {
                            if let Some(p) = pending.get_mut(&a.request_id) {
                                p.seq = Some(a.seq);
                                p.last_asked = now;
                                by_seq.insert(a.seq, a.request_id);
                                voter.open(a.seq, p.submitted);
                            }
                        }
                    }
                    Message::Results(results) if matches!(from, NodeId::Rm(_)) => {
                        for r in results {
                            if NodeId::Rm(r.rm) != from {
                                continue;
                            }
                            if let Some(p) = pending.get_mut(&r.request_id) {
                                if p.seq.is_none() {
                                    p.seq = Some(r.seq);
                                    voter.open(r.seq, p.submitted);
                                }
                                by_seq.insert(r.seq, r.request_id);
                            }
                            events.extend(voter.record(r, now));
                        }
                    }
                    other => tracing::debug!(?from, ?other, "message not for a front end; ignored"),
                }
            }
            _ = tick.tick() => {
                events.extend(voter.tick(now));
                // Operator commands answered by every RM asked, or out of time.
                let finished: Vec<u64> = operator
                    .iter()
                    .filter(|(_, p)| p.answer.reports.len() == p.asked.len() || now >= p.deadline)
                    .map(|(&n, _)| n)
                    .collect();
                for nonce in finished {
                    if let Some(mut p) = operator.remove(&nonce) {
                        p.answer.silent = p
                            .asked
                            .iter()
                            .copied()
                            .filter(|rm| !p.answer.reports.iter().any(|r| r.status.rm == *rm))
                            .collect();
                        let _ = p.reply.send(p.answer);
                    }
                }
                // Resend what the sequencer has not accepted yet; give up after the limit.
                let retry = Timeouts::ms(t.submit_retry_ms);
                let give_up = Timeouts::ms(t.submit_give_up_ms);
                let mut resend = Vec::new();
                let mut abandoned = Vec::new();
                for (id, p) in pending.iter_mut().filter(|(_, p)| p.seq.is_none()) {
                    if now.duration_since(p.submitted) > give_up {
                        abandoned.push(*id);
                    } else if now.duration_since(p.last_sent) > retry {
                        p.last_sent = now;
                        resend.push(ClientRequest { fe, request_id: *id, operation: p.operation.clone() });
                    }
                }
                for id in abandoned {
                    if let Some(p) = pending.remove(&id) {
                        let _ = p.reply.send(Err(ClusterError::Unavailable("the sequencer did not accept the request".into())));
                    }
                }
                // Accepted but undecided for a while: some results may have been lost.
                let mut wanted = Vec::new();
                for p in pending.values_mut() {
                    if let Some(seq) = p.seq
                        && now.duration_since(p.last_asked) > retry
                    {
                        p.last_asked = now;
                        wanted.push(seq);
                    }
                }
                if !wanted.is_empty() {
                    out.push(Outgoing::ToAllRms(Message::ResultsWanted(wanted)));
                }
                if !resend.is_empty() {
                    tracing::debug!(count = resend.len(), "resending to the sequencer");
                    out.push(Outgoing::To(NodeId::Sequencer, Message::Submit(resend)));
                }
            }
        }
        for event in events {
            match event {
                Event::Decide(decision) => {
                    let seq = decision.seq();
                    let Some(p) = by_seq.remove(&seq).and_then(|id| pending.remove(&id)) else {
                        continue;
                    };
                    let answer = match decision {
                        Decision::Agreed {
                            seq,
                            outcome,
                            agreed,
                        } => Ok(VotedOutcome {
                            seq,
                            outcome,
                            agreed,
                        }),
                        Decision::NoAgreement { seq } => Err(ClusterError::NoAgreement { seq }),
                    };
                    // The client may have given up waiting; nothing to do then.
                    let _ = p.reply.send(answer);
                }
                Event::Verdict(verdict) => {
                    by_seq.remove(&verdict.seq);
                    out.push(verdict_message(verdict));
                }
            }
        }
        for o in out {
            wire.send(o).await;
        }
    }
    Ok(())
}
