//! The front end node: the HTTP API over a [`Cluster`] implementation that submits requests to
//! the sequencer (resending until accepted), collects the replicas' results and votes.
//!
//! **Sequencer failover.** Each sequencer incarnation numbers in a higher epoch (`Accepted::epoch`,
//! `ReplicaResult::epoch`) and reuses the sequence numbers its predecessor gave but never had
//! executed. The front end keeps the highest epoch it has seen; when a message shows a higher
//! one, the sequencer was replaced:
//! - every waiting request that had a sequence number is detached from it and resubmitted at
//!   once, unchanged (same front end, request id and idempotency key): the replicas execute it
//!   if it never ran, and return the first execution's outcome (`replay_of`) if it did;
//! - the voter forgets its open ballots and its memory of closed ones without deciding or judging
//!   anything ([`Voter::forget_open`]), so no waiting request is answered from a ballot of the
//!   old epoch and no late result of the old epoch counts against a replica;
//! - from then on, results and acceptances of older epochs are ignored, as are results whose
//!   sequence number belongs to another request.
//!
//! While no sequencer answers, waiting requests are resent every `submit_retry_ms` and given up
//! (503 `unavailable`) after `submit_give_up_ms`, counted from their last (re)submission.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dmtbs_contract::Operation;
use dmtbs_frontend::vote::verdict_message;
use dmtbs_frontend::{
    AdminKey, AuditLog, Auth, Cluster, ClusterError, Decision, Event, NodeReport, Operator,
    OperatorAnswer, OperatorCommand, RmReport, VotedOutcome, Voter, VoterConfig,
};
use dmtbs_frontend::{Metrics, StatusBoard};
use dmtbs_proto::{AdminCommand, ClientRequest, FeId, Message, NodeId, Outgoing, RmId};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::config::{ClusterConfig, Timeouts};
use crate::wire::Wire;

mod requests;
mod revocations;

use requests::{Pending, Requests, Submission};

/// How often the front end's clock advances (resends, voting deadlines).
const TICK: Duration = Duration::from_millis(5);
/// Verdicts sent in one message at most (a verdict encodes to ~10–20 bytes).
const VERDICTS_PER_MESSAGE: usize = 256;

type Reply = oneshot::Sender<Result<VotedOutcome, ClusterError>>;
type OperatorReply = oneshot::Sender<OperatorAnswer>;

/// How long the front end waits for RMs to answer an operator command.
const OPERATOR_WAIT: Duration = Duration::from_secs(1);
/// ... and a swap: the RM loads (on first use, compiles) the module before it answers, which
/// took over a second on a loaded 2-core machine (the guide's test once got a 503 for a swap).
const SWAP_WAIT: Duration = Duration::from_secs(5);

/// How often the front end asks every RM for its status, for the status page (always, watched
/// or not: four small datagrams and their answers a second, and a swap is seen when it happens
/// rather than when someone next opens the page). An RM that has not answered by the next
/// request is shown as silent.
const STATUS_POLL: Duration = Duration::from_secs(1);

/// An operator command waiting for the RMs' answers.
struct PendingCommand {
    asked: Vec<RmId>,
    answer: OperatorAnswer,
    reply: OperatorReply,
    deadline: Instant,
}

/// A chaos command waiting for the nodes' answers (any kind of node answers chaos).
struct PendingChaos {
    asked: Vec<NodeId>,
    answer: OperatorAnswer,
    reply: OperatorReply,
    deadline: Instant,
}

/// Every node of the cluster: the sequencer, the front ends, the replica managers.
fn all_nodes(config: &ClusterConfig) -> Vec<NodeId> {
    config
        .sequencers()
        .into_iter()
        .chain(config.frontends.iter().map(|f| NodeId::FrontEnd(f.id)))
        .chain(config.rms.iter().map(|r| NodeId::Rm(r.id)))
        .collect()
}

/// Where new requests go: the sequencer of the highest epoch seen (the sequencer's are odd, the
/// standby's even), or the sequencer when the cluster names no standby.
fn active_sequencer(config: &ClusterConfig, epoch: dmtbs_proto::Epoch) -> NodeId {
    if config.standby.is_some() {
        NodeId::sequencer_of(epoch)
    } else {
        NodeId::Sequencer
    }
}

/// `msg` to the sequencer and, if the cluster names one, the standby.
fn to_every_sequencer(config: &ClusterConfig, msg: Message) -> Vec<Outgoing> {
    config
        .sequencers()
        .into_iter()
        .map(|s| Outgoing::To(s, msg.clone()))
        .collect()
}

/// The cluster as the HTTP layer sees it: hands operations to the node's protocol task.
pub struct ClusterClient {
    submit: mpsc::UnboundedSender<Submission>,
    operate: mpsc::UnboundedSender<(OperatorCommand, OperatorReply)>,
    /// How long a client waits at most (resends, then the voting ceiling).
    patience: Duration,
    /// Every node of the cluster, for the operator's chaos commands.
    nodes: Vec<NodeId>,
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

    fn nodes(&self) -> Vec<NodeId> {
        self.nodes.clone()
    }
}

impl Cluster for ClusterClient {
    async fn execute(
        &self,
        operation: Operation,
        key: Option<String>,
    ) -> Result<VotedOutcome, ClusterError> {
        let (reply, answer) = oneshot::channel();
        self.submit
            .send((operation, key, reply))
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
        nodes: all_nodes(&config),
    });
    let metrics = Arc::new(Metrics::new(&config.rm_ids()));
    crate::metrics::WireRejects::register(metrics.registry(), &wire);
    let board = Arc::new(StatusBoard::new(config.rm_ids()));
    board.watch_nodes(NodeId::FrontEnd(fe), all_nodes(&config));
    let revocations_path = config.revocations_path(fe);
    let auth = Arc::new(
        Auth::with_store(
            AdminKey::new(&config.cluster.admin_key),
            config.token_key(),
            &revocations_path,
        )
        .map_err(|e| {
            anyhow::anyhow!(
                "front end {fe}: cannot read its revocation list {}: {e}",
                revocations_path.display()
            )
        })?,
    );
    let exchange = tokio::spawn(revocations::exchange(
        config.clone(),
        fe,
        auth.clone(),
        shutdown.clone(),
    ));
    let app = dmtbs_frontend::router_with(client, auth, audit, metrics.clone(), board.clone());
    tracing::info!(fe, http = %listener.local_addr()?, "front end up");

    let protocol = tokio::spawn(protocol(
        config.clone(),
        fe,
        wire,
        submissions,
        commands,
        (metrics, board),
        shutdown.clone(),
    ));
    if section.limits.request_timeout_ms <= patience.as_millis() as u64 {
        tracing::warn!(
            fe,
            request_timeout_ms = section.limits.request_timeout_ms,
            patience_ms = patience.as_millis() as u64,
            "[frontend.limits] request_timeout_ms is not above the cluster's patience \
             (submit_give_up_ms + vote_ceiling_ms): slow answers will be cut to 408"
        );
    }
    dmtbs_frontend::serve_with(
        listener,
        app,
        &section.limits,
        shutdown.clone().cancelled_owned(),
    )
    .await?;
    shutdown.cancel();
    protocol.await??;
    exchange.await?;
    Ok(())
}

/// The front end's side of the cluster protocol.
async fn protocol(
    config: Arc<ClusterConfig>,
    fe: FeId,
    wire: Arc<Wire>,
    mut submissions: mpsc::UnboundedReceiver<Submission>,
    mut commands: mpsc::UnboundedReceiver<(OperatorCommand, OperatorReply)>,
    (metrics, board): (Arc<Metrics>, Arc<StatusBoard>),
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let mut operator: HashMap<u64, PendingCommand> = HashMap::new();
    let mut chaos: HashMap<u64, PendingChaos> = HashMap::new();
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
    let mut requests = Requests::new(fe);
    let mut tick = tokio::time::interval(TICK);
    // The status page's view of the RMs: who answered since the last poll (`None` before the
    // first poll).
    let mut status_poll = tokio::time::interval(STATUS_POLL);
    let mut answered_poll: Option<Vec<RmId>> = None;
    // The same for every other node's `AdminReply` to the poll's `Links` (process, chaos).
    let mut nodes_answered: Option<Vec<NodeId>> = None;
    // This front end's numbering, for its own node row: the highest epoch seen and the latest
    // sequence number given to one of its requests in it.
    let mut numbered: (dmtbs_proto::Epoch, u64) = (0, 0);
    let mut shown_numbered = None;
    // Verdicts judged since the last `Verdicts` sent.
    let mut verdicts = Vec::new();
    loop {
        let now = Instant::now();
        let mut out = Vec::new();
        let mut events = Vec::new();
        // Requests to submit again at once: the sequencer was replaced.
        let mut resubmit = Vec::new();
        let mut ticked = false;
        tokio::select! {
            _ = shutdown.cancelled() => break,
            Some(submission) = submissions.recv() => {
                // Everything queued meanwhile goes in the same Submit: batching under load.
                let mut batch = vec![submission];
                while let Ok(more) = submissions.try_recv() {
                    batch.push(more);
                }
                let mut submit = Vec::with_capacity(batch.len());
                for (operation, key, reply) in batch {
                    next_id += 1;
                    let p = Pending { operation, key, reply, submitted: now, last_sent: now, seq: None, last_asked: now };
                    submit.push(requests.request(next_id, &p));
                    requests.pending.insert(next_id, p);
                }
                out.push(Outgoing::To(active_sequencer(&config, requests.epoch), Message::Submit(submit)));
            }
            Some((command, reply)) = commands.recv() => {
                let mut reply = Some(reply);
                let nonce = next_nonce;
                next_nonce += 1;
                if let OperatorCommand::Swap { rm, module, .. } = &command {
                    metrics.operator_swap();
                    board.swap_requested(*rm, module);
                }
                let (asked, admin) = match command {
                    OperatorCommand::Status => (config.rm_ids(), AdminCommand::Status { nonce }),
                    OperatorCommand::Swap { rm, module, others, canary } => (
                        config.rm(rm).map(|r| vec![r.id]).unwrap_or_default(),
                        AdminCommand::Swap { nonce, module, others, canary },
                    ),
                    OperatorCommand::ClearQuarantine { module } => {
                        (config.rm_ids(), AdminCommand::ClearQuarantine { nonce, module })
                    }
                    // Chaos: any kind of node answers; waits apart.
                    OperatorCommand::Drop { .. } | OperatorCommand::Heal | OperatorCommand::Links => {
                        let reply = reply.take().expect("taken once");
                        let p = start_chaos(&config, fe, &wire, command, nonce, reply, now, &mut out);
                        chaos.insert(nonce, p);
                        (Vec::new(), AdminCommand::Status { nonce })
                    }
                };
                for &rm in &asked {
                    out.push(Outgoing::To(NodeId::Rm(rm), Message::Admin(admin.clone())));
                }
                if let Some(reply) = reply {
                    let wait = if matches!(admin, AdminCommand::Swap { .. }) { SWAP_WAIT } else { OPERATOR_WAIT };
                    operator.insert(nonce, PendingCommand { asked, answer: OperatorAnswer::default(), reply, deadline: now + wait });
                }
            }
            received = wire.recv() => {
                let (from, msg) = received?;
                match msg {
                    Message::Status { nonce, status, error } => {
                        // Every RM's status answer feeds the status page, whoever asked.
                        if from == NodeId::Rm(status.rm) {
                            if error.is_some() {
                                // A refused command (a swap to a module it cannot load, a
                                // quarantine it does not hold): no swap of ours is coming.
                                board.swap_refused(status.rm);
                            }
                            board.replica_status(&status);
                            if let Some(answered) = answered_poll.as_mut() {
                                answered.push(status.rm);
                            }
                        }
                        if let (NodeId::Rm(rm), Some(p)) = (from, operator.get_mut(&nonce))
                            && status.rm == rm
                            && p.asked.contains(&rm)
                            && !p.answer.reports.iter().any(|r| r.status.rm == rm)
                        {
                            p.answer.reports.push(RmReport { status: *status, error });
                        }
                    }
                    Message::AdminReply { nonce, error, links, node } => {
                        // Every node's answer feeds the status page's node rows and chaos.
                        board.node_report(from, &node, &links);
                        if let Some(answered) = nodes_answered.as_mut() {
                            answered.push(from);
                        }
                        if let Some(p) = chaos.get_mut(&nonce)
                            && p.asked.contains(&from)
                            && !p.answer.nodes.iter().any(|r| r.node == from)
                        {
                            p.answer.nodes.push(NodeReport { node: from, error, links });
                        }
                    }
                    // Another front end relays an operator's chaos command.
                    Message::Admin(command) if matches!(from, NodeId::FrontEnd(_)) => {
                        out.push(wire.answer_admin(from, &command));
                    }
                    Message::Accepted(list) if from.is_sequencer() => {
                        // A sequencer numbers only in its own epochs (odd: the sequencer's, even:
                        // the standby's).
                        for a in list.into_iter().filter(|a| NodeId::sequencer_of(a.epoch) == from) {
                            if a.epoch > numbered.0 {
                                numbered = (a.epoch, a.seq);
                            } else if a.epoch == numbered.0 {
                                numbered.1 = numbered.1.max(a.seq);
                            }
                            resubmit.extend(requests.observe_epoch(a.epoch, &mut voter, now));
                            requests.accepted(a.epoch, a.request_id, a.seq, &mut voter, now);
                        }
                    }
                    Message::Results(results) if matches!(from, NodeId::Rm(_)) => {
                        for r in results {
                            if NodeId::Rm(r.rm) != from {
                                continue;
                            }
                            // Only a sequencer numbers: a result of a newer epoch shows a new one
                            // as surely as its `Accepted` (which may be lost or late).
                            resubmit.extend(requests.observe_epoch(r.epoch, &mut voter, now));
                            if requests.admit(&r, &mut voter) {
                                events.extend(voter.record(r, now));
                            }
                        }
                    }
                    other => tracing::debug!(?from, ?other, "message not for a front end; ignored"),
                }
            }
            _ = tick.tick() => {
                ticked = true;
                events.extend(voter.tick(now));
                // Operator commands answered by every RM asked, or out of time.
                let finished: Vec<u64> = operator
                    .iter()
                    .filter(|(_, p)| p.answer.reports.len() == p.asked.len() || now >= p.deadline)
                    .map(|(&n, _)| n)
                    .collect();
                let chaos_done: Vec<u64> = chaos
                    .iter()
                    .filter(|(_, p)| p.answer.nodes.len() == p.asked.len() || now >= p.deadline)
                    .map(|(&n, _)| n)
                    .collect();
                for nonce in chaos_done {
                    if let Some(mut p) = chaos.remove(&nonce) {
                        p.answer.unanswered = p
                            .asked
                            .iter()
                            .copied()
                            .filter(|node| !p.answer.nodes.iter().any(|r| r.node == *node))
                            .collect();
                        let _ = p.reply.send(p.answer);
                    }
                }
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
                for (&id, p) in requests.pending.iter_mut().filter(|(_, p)| p.seq.is_none()) {
                    if now.duration_since(p.submitted) > give_up {
                        abandoned.push(id);
                    } else if now.duration_since(p.last_sent) > retry {
                        p.last_sent = now;
                        resend.push(id);
                    }
                }
                let resend: Vec<ClientRequest> = resend
                    .into_iter()
                    .filter_map(|id| requests.pending.get(&id).map(|p| requests.request(id, p)))
                    .collect();
                for id in abandoned {
                    if let Some(p) = requests.pending.remove(&id) {
                        let _ = p.reply.send(Err(ClusterError::Unavailable("the sequencer did not accept the request".into())));
                    }
                }
                // Accepted but undecided for a while: some results may have been lost.
                let mut wanted = Vec::new();
                for p in requests.pending.values_mut() {
                    if let Some(seq) = p.seq
                        && now.duration_since(p.last_asked) > retry
                    {
                        p.last_asked = now;
                        wanted.push(seq);
                    }
                }
                if !wanted.is_empty() {
                    metrics.results_wanted(wanted.len() as u64);
                    out.push(Outgoing::ToAllRms(Message::ResultsWanted(wanted)));
                }
                if !resend.is_empty() {
                    metrics.submit_retransmitted(resend.len() as u64);
                    tracing::debug!(count = resend.len(), "resending to the sequencer");
                    // Unaccepted in time: the active sequencer may have changed, so every
                    // sequencer gets it (a passive one drops it).
                    out.extend(to_every_sequencer(&config, Message::Submit(resend)));
                }
            }
            _ = status_poll.tick() => {
                let rms = config.rm_ids();
                if let Some(answered) = answered_poll.take() {
                    board.poll_unanswered(rms.iter().copied().filter(|rm| !answered.contains(rm)).collect());
                }
                answered_poll = Some(Vec::new());
                let nonce = next_nonce;
                next_nonce += 1;
                for rm in rms {
                    out.push(Outgoing::To(NodeId::Rm(rm), Message::Admin(AdminCommand::Status { nonce })));
                }
                // Every node's process and chaos links (`Links` changes nothing); this front
                // end answers itself.
                let me = NodeId::FrontEnd(fe);
                let nodes = all_nodes(&config);
                if let Some(answered) = nodes_answered.take() {
                    board.nodes_unanswered(nodes.iter().copied().filter(|n| *n != me && !answered.contains(n)).collect());
                }
                nodes_answered = Some(Vec::new());
                let links = AdminCommand::Links { nonce };
                if let Some(Message::AdminReply { links, node, .. }) = wire.chaos(&links) {
                    board.node_report(me, &node, &links);
                }
                for node in nodes.into_iter().filter(|n| *n != me) {
                    out.push(Outgoing::To(node, Message::Admin(links.clone())));
                }
            }
        }
        let progress = (requests.epoch, numbered.1);
        if shown_numbered != Some(progress) {
            shown_numbered = Some(progress);
            wire.set_progress(dmtbs_proto::Progress {
                epoch: progress.0,
                latest: if numbered.0 == progress.0 {
                    progress.1
                } else {
                    0
                },
                phase: "serving".into(),
            });
        }
        // Metrics and the status page follow the voter: its own counters, each result's latency,
        // its verdicts.
        metrics.voter(voter.counters());
        let latencies = voter.take_latencies();
        for &(rm, latency) in &latencies {
            metrics.result_latency(rm, latency);
        }
        if !latencies.is_empty() {
            board.result_latencies(&latencies);
        }
        if !events.is_empty() {
            board.voted(&events, voter.counters());
        }
        if !resubmit.is_empty() {
            metrics.submit_retransmitted(resubmit.len() as u64);
            out.extend(to_every_sequencer(&config, Message::Submit(resubmit)));
        }
        for event in events {
            match event {
                Event::Decide(decision) => {
                    let seq = decision.seq();
                    let Some(p) = requests
                        .by_seq
                        .remove(&seq)
                        .and_then(|id| requests.pending.remove(&id))
                    else {
                        continue;
                    };
                    let answer = match decision {
                        Decision::Agreed {
                            seq,
                            outcome,
                            agreed,
                            replay_of,
                        } => Ok(VotedOutcome {
                            seq,
                            outcome,
                            agreed,
                            replay_of,
                        }),
                        Decision::NoAgreement { seq } => Err(ClusterError::NoAgreement { seq }),
                    };
                    // The client may have given up waiting; nothing to do then.
                    let _ = p.reply.send(answer);
                }
                Event::Verdict(verdict) => {
                    requests.by_seq.remove(&verdict.seq);
                    verdicts.push(verdict);
                }
            }
        }
        // Verdicts go out together, at the tick (or once a datagram's worth is waiting): one
        // datagram per request to every RM woke each RM once per request. The RMs count
        // strikes in the order judged, at most a tick later.
        if !verdicts.is_empty() && (ticked || verdicts.len() >= VERDICTS_PER_MESSAGE) {
            out.push(verdict_message(std::mem::take(&mut verdicts)));
        }
        for o in out {
            wire.send(o).await;
        }
    }
    Ok(())
}

/// Sends a chaos command to the nodes it concerns (carrying it out here when this front end is
/// one of them) and returns it waiting for their answers.
#[allow(clippy::too_many_arguments)]
fn start_chaos(
    config: &ClusterConfig,
    fe: FeId,
    wire: &Wire,
    command: OperatorCommand,
    nonce: u64,
    reply: OperatorReply,
    now: Instant,
    out: &mut Vec<Outgoing>,
) -> PendingChaos {
    let (asked, admin) = match command {
        OperatorCommand::Drop { from, to, percent } => (
            vec![to],
            AdminCommand::Drop {
                nonce,
                from,
                percent,
            },
        ),
        OperatorCommand::Heal => (all_nodes(config), AdminCommand::Heal { nonce }),
        // `Links`: only chaos commands come here.
        _ => (all_nodes(config), AdminCommand::Links { nonce }),
    };
    let mut answer = OperatorAnswer::default();
    for &node in &asked {
        if node == NodeId::FrontEnd(fe) {
            if let Some(Message::AdminReply { error, links, .. }) = wire.chaos(&admin) {
                answer.nodes.push(NodeReport { node, error, links });
            }
        } else {
            out.push(Outgoing::To(node, Message::Admin(admin.clone())));
        }
    }
    PendingChaos {
        asked,
        answer,
        reply,
        deadline: now + OPERATOR_WAIT,
    }
}
