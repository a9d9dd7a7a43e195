//! The simulated front end: the real [`Voter`] and the real tracking of waiting requests across
//! sequencer epochs (`cluster/src/frontend/requests.rs`, compiled here in place), driven by a
//! transcription of the protocol loop of `cluster/src/frontend/mod.rs` (`protocol`: submit,
//! `Accepted`, `Results`, and its tick — resend unaccepted requests to every sequencer, ask
//! again for results, give up). HTTP, validation, the audit log and operator commands are not
//! simulated: clients hand canonical operations straight to [`SimFe::submit`].

use std::time::{Duration, Instant};

use dmtbs_contract::Outcome;
use dmtbs_frontend::vote::verdict_message;
use dmtbs_frontend::{Decision, Event, Voter, VoterConfig};
use dmtbs_proto::{ClientRequest, Epoch, FeId, Message, NodeId, Outgoing, Replay};

/// What `requests.rs` stores to answer a client: here, the index of the client's operation.
type Reply = usize;

#[allow(dead_code)]
#[path = "../../cluster/src/frontend/requests.rs"]
mod requests;

use requests::{Pending, Requests};

/// `[timeouts] submit_retry_ms`, default.
const SUBMIT_RETRY: Duration = Duration::from_millis(100);
/// `[timeouts] submit_give_up_ms`, default.
const SUBMIT_GIVE_UP: Duration = Duration::from_millis(5_000);

/// What the front end tells a client.
#[derive(Clone, Debug)]
pub enum FeAnswer {
    /// The voter agreed (quorum identical results).
    Answered {
        op: usize,
        epoch: Epoch,
        seq: u64,
        outcome: Outcome,
        replay_of: Option<Replay>,
    },
    /// 503: no agreement, or the sequencer never accepted it.
    Failed { op: usize },
}

pub struct SimFe {
    voter: Voter,
    requests: Requests,
    next_id: u64,
    /// Whether the cluster names a standby sequencer.
    standby: bool,
}

impl SimFe {
    /// A front end whose request ids start above `first_id` (the real one starts them at its
    /// clock, so a restarted front end never reuses one).
    pub fn new(id: FeId, standby: bool, quorum: usize, first_id: u64) -> Self {
        let mut config = VoterConfig::new(vec![1, 2, 3, 4]);
        config.quorum = quorum;
        SimFe {
            voter: Voter::new(config),
            requests: Requests::new(id),
            next_id: first_id,
            standby,
        }
    }

    /// `active_sequencer` of the real front end.
    fn active_sequencer(&self) -> NodeId {
        if self.standby {
            NodeId::sequencer_of(self.requests.epoch)
        } else {
            NodeId::Sequencer
        }
    }

    /// `to_every_sequencer` of the real front end.
    fn to_every_sequencer(&self, msg: Message) -> Vec<Outgoing> {
        let mut out = vec![Outgoing::To(NodeId::Sequencer, msg.clone())];
        if self.standby {
            out.push(Outgoing::To(NodeId::Standby, msg));
        }
        out
    }

    /// A client's operation arrives (already canonical); returns its request id and what to send.
    pub fn submit(
        &mut self,
        op: usize,
        operation: dmtbs_contract::Operation,
        key: Option<String>,
        now: Instant,
    ) -> (u64, Vec<Outgoing>) {
        self.next_id += 1;
        let p = Pending {
            operation,
            key,
            reply: op,
            submitted: now,
            last_sent: now,
            seq: None,
            last_asked: now,
        };
        let request = self.requests.request(self.next_id, &p);
        self.requests.pending.insert(self.next_id, p);
        let out = vec![Outgoing::To(
            self.active_sequencer(),
            Message::Submit(vec![request]),
        )];
        (self.next_id, out)
    }

    pub fn on_message(
        &mut self,
        from: NodeId,
        msg: Message,
        now: Instant,
    ) -> (Vec<Outgoing>, Vec<FeAnswer>) {
        let mut events = Vec::new();
        let mut resubmit = Vec::new();
        match msg {
            Message::Accepted(list) if from.is_sequencer() => {
                for a in list
                    .into_iter()
                    .filter(|a| NodeId::sequencer_of(a.epoch) == from)
                {
                    resubmit.extend(self.requests.observe_epoch(a.epoch, &mut self.voter, now));
                    self.requests
                        .accepted(a.epoch, a.request_id, a.seq, &mut self.voter, now);
                }
            }
            Message::Results(results) if matches!(from, NodeId::Rm(_)) => {
                for r in results {
                    if NodeId::Rm(r.rm) != from {
                        continue;
                    }
                    resubmit.extend(self.requests.observe_epoch(r.epoch, &mut self.voter, now));
                    if self.requests.admit(&r, &mut self.voter) {
                        events.extend(self.voter.record(r, now));
                    }
                }
            }
            _ => {}
        }
        self.finish(events, resubmit)
    }

    pub fn on_tick(&mut self, now: Instant) -> (Vec<Outgoing>, Vec<FeAnswer>) {
        let events = self.voter.tick(now);
        let mut out = Vec::new();
        let mut answers = Vec::new();
        // The real loop walks a HashMap; ids in order keep the run deterministic.
        let mut ids: Vec<u64> = self.requests.pending.keys().copied().collect();
        ids.sort_unstable();
        let mut resend = Vec::new();
        let mut wanted = Vec::new();
        for id in ids {
            let Some(p) = self.requests.pending.get_mut(&id) else {
                continue;
            };
            match p.seq {
                None if now.duration_since(p.submitted) > SUBMIT_GIVE_UP => {
                    let p = self.requests.pending.remove(&id).expect("just seen");
                    answers.push(FeAnswer::Failed { op: p.reply });
                }
                None if now.duration_since(p.last_sent) > SUBMIT_RETRY => {
                    p.last_sent = now;
                    resend.push(id);
                }
                Some(seq) if now.duration_since(p.last_asked) > SUBMIT_RETRY => {
                    p.last_asked = now;
                    wanted.push(seq);
                }
                _ => {}
            }
        }
        let resend: Vec<ClientRequest> = resend
            .into_iter()
            .filter_map(|id| {
                self.requests
                    .pending
                    .get(&id)
                    .map(|p| self.requests.request(id, p))
            })
            .collect();
        if !wanted.is_empty() {
            out.push(Outgoing::ToAllRms(Message::ResultsWanted(wanted)));
        }
        if !resend.is_empty() {
            out.extend(self.to_every_sequencer(Message::Submit(resend)));
        }
        let (more, done) = self.finish(events, Vec::new());
        out.extend(more);
        answers.extend(done);
        (out, answers)
    }

    /// The end of one turn of the real loop: resubmissions, then the voter's events.
    fn finish(
        &mut self,
        events: Vec<Event>,
        mut resubmit: Vec<ClientRequest>,
    ) -> (Vec<Outgoing>, Vec<FeAnswer>) {
        let mut out = Vec::new();
        let mut answers = Vec::new();
        if !resubmit.is_empty() {
            // `observe_epoch` walks a HashMap: sorted, the run stays deterministic.
            resubmit.sort_by_key(|r| r.request_id);
            out.extend(self.to_every_sequencer(Message::Submit(resubmit)));
        }
        let mut verdicts = Vec::new();
        for event in events {
            match event {
                Event::Decide(decision) => {
                    let seq = decision.seq();
                    let Some(p) = self
                        .requests
                        .by_seq
                        .remove(&seq)
                        .and_then(|id| self.requests.pending.remove(&id))
                    else {
                        continue;
                    };
                    answers.push(match decision {
                        Decision::Agreed {
                            seq,
                            outcome,
                            replay_of,
                            ..
                        } => FeAnswer::Answered {
                            op: p.reply,
                            epoch: self.requests.epoch,
                            seq,
                            outcome,
                            replay_of,
                        },
                        Decision::NoAgreement { .. } => FeAnswer::Failed { op: p.reply },
                    });
                }
                Event::Verdict(verdict) => {
                    self.requests.by_seq.remove(&verdict.seq);
                    verdicts.push(verdict);
                }
            }
        }
        // One message per verdict: the real front end sends a tick's verdicts in one message,
        // in the same order; delivered one by one they interleave with everything else in
        // more ways, which is what the simulation is for.
        out.extend(verdicts.into_iter().map(|v| verdict_message(vec![v])));
        (out, answers)
    }
}
