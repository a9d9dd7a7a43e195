//! The front end's waiting requests: their sequence numbers in the current epoch, and what a
//! sequencer failover does to them (see the parent module's docs).

use std::collections::HashMap;
use std::time::Instant;

use dmtbs_contract::Operation;
use dmtbs_frontend::Voter;
use dmtbs_proto::{ClientRequest, Epoch, FeId, ReplicaResult};

use super::Reply;

/// An operation to execute, as the HTTP layer hands it over: with the client's idempotency key.
pub(super) type Submission = (Operation, Option<String>, Reply);

/// A request waiting for its answer.
pub(super) struct Pending {
    pub(super) operation: Operation,
    /// The client's idempotency key, sent with every (re)submission.
    pub(super) key: Option<String>,
    pub(super) reply: Reply,
    /// When it was last submitted afresh (first, or again after a sequencer failover): its
    /// ballot's latencies and the give-up limit count from here.
    pub(super) submitted: Instant,
    pub(super) last_sent: Instant,
    /// Its sequence number in the current epoch, once the sequencer accepted it (or a result of
    /// the current epoch named it).
    pub(super) seq: Option<u64>,
    /// When results were last asked for again.
    pub(super) last_asked: Instant,
}

/// The requests waiting for their answers, the sequence numbers they have in the current epoch,
/// and the epoch (see the module docs).
pub(super) struct Requests {
    pub(super) fe: FeId,
    pub(super) pending: HashMap<u64, Pending>,
    /// Sequence number (current epoch) → request id, for the voter's decisions.
    pub(super) by_seq: HashMap<u64, u64>,
    /// The highest sequencer epoch seen; 0 before any.
    pub(super) epoch: Epoch,
}

impl Requests {
    pub(super) fn new(fe: FeId) -> Self {
        Requests {
            fe,
            pending: HashMap::new(),
            by_seq: HashMap::new(),
            epoch: 0,
        }
    }

    /// The request as sent to the sequencer.
    pub(super) fn request(&self, request_id: u64, p: &Pending) -> ClientRequest {
        ClientRequest {
            fe: self.fe,
            request_id,
            key: p.key.clone(),
            operation: p.operation.clone(),
        }
    }

    /// Notes an epoch seen in a message. A higher one than known means the sequencer was
    /// replaced: detaches every waiting request from its sequence number, has the voter forget
    /// its ballots, and returns the requests to resubmit at once.
    pub(super) fn observe_epoch(
        &mut self,
        epoch: Epoch,
        voter: &mut Voter,
        now: Instant,
    ) -> Vec<ClientRequest> {
        if epoch <= self.epoch {
            return Vec::new();
        }
        let old = std::mem::replace(&mut self.epoch, epoch);
        let forgotten = voter.forget_open(epoch);
        // Every number mapped belongs to an older epoch; the new one reuses them.
        self.by_seq.clear();
        let mut resubmit = Vec::new();
        for (&id, p) in self.pending.iter_mut() {
            if p.seq.take().is_some() {
                p.submitted = now;
                p.last_sent = now;
                p.last_asked = now;
                resubmit.push(ClientRequest {
                    fe: self.fe,
                    request_id: id,
                    key: p.key.clone(),
                    operation: p.operation.clone(),
                });
            }
        }
        if old > 0 {
            tracing::info!(
                old,
                epoch,
                resubmitted = resubmit.len(),
                forgotten,
                "the sequencer was replaced: requests it numbered are submitted again"
            );
        }
        resubmit
    }

    /// The sequencer (of the current epoch; older ones are ignored) gave `request_id` the number
    /// `seq`.
    pub(super) fn accepted(
        &mut self,
        epoch: Epoch,
        request_id: u64,
        seq: u64,
        voter: &mut Voter,
        now: Instant,
    ) {
        if epoch < self.epoch {
            return;
        }
        if self.by_seq.get(&seq).is_some_and(|&id| id != request_id) {
            tracing::warn!(seq, request_id, "a sequence number given twice; ignored");
            return;
        }
        let Some(p) = self.pending.get_mut(&request_id) else {
            return;
        };
        if p.seq.is_some_and(|s| s != seq) {
            tracing::warn!(
                seq,
                request_id,
                "a request numbered twice in one epoch; ignored"
            );
            return;
        }
        p.seq = Some(seq);
        p.last_asked = now;
        self.by_seq.insert(seq, request_id);
        voter.open(seq, p.submitted);
    }

    /// Whether the voter should count result `r` (its epoch already observed): not of an older
    /// epoch, and for the request its sequence number belongs to. A result naming a waiting
    /// request that has no number yet gives it that number (current epoch only).
    pub(super) fn admit(&mut self, r: &ReplicaResult, voter: &mut Voter) -> bool {
        if r.epoch < self.epoch {
            return false;
        }
        if self
            .by_seq
            .get(&r.seq)
            .is_some_and(|&id| id != r.request_id)
        {
            return false;
        }
        if let Some(p) = self.pending.get_mut(&r.request_id) {
            match p.seq {
                None if r.epoch == self.epoch => {
                    p.seq = Some(r.seq);
                    voter.open(r.seq, p.submitted);
                    self.by_seq.insert(r.seq, r.request_id);
                }
                None => return false,
                Some(seq) if seq != r.seq => return false,
                Some(_) => {}
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    //! The front end's request tracking across a sequencer failover (sans IO: `Requests` and the
    //! voter, fed by hand).

    use dmtbs_contract::{Booked, Schedule, Success};
    use dmtbs_proto::{Replay, ReplicaResult};

    use std::time::Duration;

    use dmtbs_frontend::{ClusterError, Decision, Event, VotedOutcome, VoterConfig};
    use dmtbs_proto::RmId;
    use tokio::sync::oneshot;

    use super::*;

    fn schedule() -> Operation {
        Operation::Schedule(Schedule {
            actor: "ATWC0001".into(),
            customer: "ATWC0001".into(),
        })
    }

    fn voter() -> Voter {
        Voter::new(VoterConfig::new(vec![1, 2, 3, 4]))
    }

    /// Adds a waiting request; the receiver gets its answer.
    fn wait(
        requests: &mut Requests,
        id: u64,
        key: Option<&str>,
        now: Instant,
    ) -> oneshot::Receiver<Result<VotedOutcome, ClusterError>> {
        let (reply, answer) = oneshot::channel();
        requests.pending.insert(
            id,
            Pending {
                operation: schedule(),
                key: key.map(str::to_owned),
                reply,
                submitted: now,
                last_sent: now,
                seq: None,
                last_asked: now,
            },
        );
        answer
    }

    fn result(rm: RmId, epoch: Epoch, seq: u64, request_id: u64) -> ReplicaResult {
        ReplicaResult {
            rm,
            epoch,
            seq,
            request_id,
            outcome: Ok(Success::Booked(Booked {
                held: 1,
                remaining: 9,
            })),
            replay_of: None,
        }
    }

    /// Feeds results the way the protocol loop does.
    fn receive(
        requests: &mut Requests,
        voter: &mut Voter,
        r: ReplicaResult,
        now: Instant,
    ) -> Vec<Event> {
        let _ = requests.observe_epoch(r.epoch, voter, now);
        if requests.admit(&r, voter) {
            voter.record(r, now)
        } else {
            Vec::new()
        }
    }

    #[test]
    fn a_new_epoch_detaches_and_resubmits_what_the_old_sequencer_numbered() {
        let t0 = Instant::now();
        let (mut requests, mut voter) = (Requests::new(1), voter());
        let _a = wait(&mut requests, 10, Some("key-a"), t0);
        let _b = wait(&mut requests, 11, None, t0);
        assert!(requests.observe_epoch(1, &mut voter, t0).is_empty());
        requests.accepted(1, 10, 5, &mut voter, t0);
        assert_eq!(requests.pending[&10].seq, Some(5));
        assert!(voter.is_open(5));
        // One replica answered in epoch 1; then a sequencer of epoch 2 answers.
        assert!(receive(&mut requests, &mut voter, result(1, 1, 5, 10), t0).is_empty());
        let later = t0 + Duration::from_secs(1);
        let resubmit = requests.observe_epoch(2, &mut voter, later);
        assert_eq!(
            resubmit,
            vec![ClientRequest {
                fe: 1,
                request_id: 10,
                key: Some("key-a".into()),
                operation: schedule(),
            }],
            "only the numbered request, unchanged"
        );
        assert_eq!(requests.pending[&10].seq, None);
        assert_eq!(requests.pending[&10].submitted, later);
        assert!(requests.by_seq.is_empty());
        assert!(!voter.is_open(5));
        // Its old ballot never times out into an answer.
        assert!(voter.tick(t0 + Duration::from_secs(60)).is_empty());
        // Seeing epoch 2 again changes nothing.
        assert!(requests.observe_epoch(2, &mut voter, later).is_empty());
        assert!(requests.observe_epoch(1, &mut voter, later).is_empty());
    }

    #[test]
    fn old_epochs_and_foreign_numbers_never_count() {
        let t0 = Instant::now();
        let (mut requests, mut voter) = (Requests::new(1), voter());
        let _a = wait(&mut requests, 10, None, t0);
        let _b = wait(&mut requests, 11, None, t0);
        requests.accepted(1, 10, 5, &mut voter, t0);
        let _ = requests.observe_epoch(2, &mut voter, t0);
        // Epoch 2 gives number 5 to request 11.
        requests.accepted(2, 11, 5, &mut voter, t0);
        // A late acceptance from epoch 1 is ignored.
        requests.accepted(1, 10, 5, &mut voter, t0);
        assert_eq!(requests.pending[&10].seq, None);
        assert_eq!(requests.by_seq[&5], 11);
        // Late results of epoch 1 for number 5 (request 10) never count, not even two of them.
        for rm in [1, 2] {
            assert!(!requests.admit(&result(rm, 1, 5, 10), &mut voter));
        }
        // A result of epoch 2 naming number 5 for another request than its owner: ignored.
        assert!(!requests.admit(&result(1, 2, 5, 10), &mut voter));
        // Request 10 gets a number from a result of epoch 2 (its `Accepted` was lost).
        assert!(requests.admit(&result(1, 2, 6, 10), &mut voter));
        assert_eq!(requests.pending[&10].seq, Some(6));
        assert!(voter.is_open(6));
        // A result for 11 with another number than its own in this epoch: ignored.
        assert!(!requests.admit(&result(3, 2, 7, 11), &mut voter));
    }

    #[test]
    fn a_result_of_a_newer_epoch_is_an_epoch_change_and_answers_with_the_replay() {
        let t0 = Instant::now();
        let (mut requests, mut voter) = (Requests::new(1), voter());
        let mut answer = wait(&mut requests, 10, Some("k"), t0);
        requests.accepted(1, 10, 5, &mut voter, t0);
        // The new sequencer numbered the resubmission 4 in epoch 2; its `Accepted` was lost.
        let replayed = |rm| ReplicaResult {
            replay_of: Some(Replay {
                seq: 5,
                same_operation: true,
            }),
            ..result(rm, 2, 4, 10)
        };
        assert!(receive(&mut requests, &mut voter, replayed(2), t0).is_empty());
        assert_eq!(requests.epoch, 2);
        let events = receive(&mut requests, &mut voter, replayed(3), t0);
        let decided: Vec<&Decision> = events
            .iter()
            .filter_map(|e| match e {
                Event::Decide(d) => Some(d),
                Event::Verdict(_) => None,
            })
            .collect();
        assert!(matches!(
            decided[..],
            [Decision::Agreed {
                seq: 4,
                replay_of: Some(Replay { seq: 5, .. }),
                ..
            }]
        ));
        assert_eq!(requests.by_seq[&4], 10);
        assert!(
            answer.try_recv().is_err(),
            "answered by the protocol loop, not here"
        );
    }
}
