//! The voter: answers as soon as a quorum of replicas (two, by default) return identical results,
//! then judges the rest.
//!
//! Sans-IO: no sockets and no clock. The caller feeds it results ([`Voter::record`]) and the time
//! ([`Voter::tick`], at [`Voter::next_deadline`]), and acts on the [`Event`]s it returns: answer
//! the client once per request ([`Decision`]), and send every [`Verdict`] to all replica managers
//! ([`verdict_message`]).
//!
//! Per request (ballot, keyed by sequence number):
//! - [`VoterConfig::quorum`] identical outcomes (two by default) → [`Decision::Agreed`], at once;
//! - the ballot stays open to judge the others until every configured RM has answered or the
//!   **deadline** passes: `2 ×` the slowest result latency of the last [`VoterConfig::window`]
//!   ballots, clamped to [`VoterConfig::floor`]`..=`[`VoterConfig::ceiling`] (the ceiling before
//!   anything has been measured), set when the ballot opens — and pushed, when the quorum agrees
//!   at latency `L`, to at least `2 × L` after the agreement (at most the ceiling more): under a
//!   sudden burst every result waits in the same queues, so the deadline follows the load the
//!   ballot itself met rather than the quiet window before it. Then a [`Verdict`] names who
//!   agreed, who was wrong, and who stayed silent;
//! - no quorum of identical outcomes by the ceiling (or once every RM answered without one) →
//!   [`Decision::NoAgreement`] — the client gets "unavailable", never a guess — and a verdict that
//!   names only the silent RMs (without an agreed result nobody can be called wrong).
//!
//! Two results are identical when their outcomes are equal AND they agree on whether the request
//! was a replay ([`ReplicaResult::replay_of`]: executed before, where, and whether with the same
//! operation): a replica that executes a request again cannot agree with those that recognised
//! it, nor the other way round.
//!
//! Results from RMs not in the configuration, second results from the same RM, and results for a
//! ballot already closed are ignored (and counted). A ballot is closed for good, however late its
//! results come: a result with no open ballot whose sequence number is at or below the highest
//! closed one is late (its ballot closed, or it never was this front end's) — it opens nothing
//! and causes no verdict. Only a result above every closed number opens a ballot by itself (the
//! caller opens the ballots of its waiting requests, whatever their number, with
//! [`Voter::open`]). A fixed-size memory of closed numbers once let an RM resumed after a long
//! stop open thousands of stale ballots, each ending in a verdict naming the others silent.
//!
//! **Sequencer epochs.** A new sequencer incarnation numbers in a higher epoch and reuses the
//! sequence numbers the dead one gave but never had executed. [`Voter::forget_open`] drops every
//! open ballot and the memory of closed ones without deciding or judging anything (the results
//! of a dead epoch prove nothing about the replicas), and from then on ignores results of older
//! epochs, so a late result of the old epoch is never counted against a sequence number of the
//! new one.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use dmtbs_contract::Outcome;
use dmtbs_proto::{Epoch, Message, Outgoing, Replay, ReplicaResult, RmId, Verdict};

/// Tunables of the voter.
#[derive(Clone, Debug)]
pub struct VoterConfig {
    /// The replica managers whose results count (from the cluster configuration).
    pub rms: Vec<RmId>,
    /// The deadline is never shorter than this, so a run of fast results does not make a slightly
    /// slower replica look crashed.
    pub floor: Duration,
    /// The deadline is never longer than this; also the longest the voter waits for agreement.
    pub ceiling: Duration,
    /// How many recent ballots' slowest latencies the deadline is computed from.
    pub window: usize,
    /// How many identical results answer the client (at least 1; more than `rms.len()` never
    /// agrees). Two tolerates one wrong replica among four, the design's promise; one answers
    /// at the first result and tolerates nothing — for a one-replica baseline only.
    pub quorum: usize,
}

impl VoterConfig {
    /// Default floor: results on one machine come in well under a millisecond; 50 ms leaves room
    /// for scheduling hiccups.
    pub const DEFAULT_FLOOR: Duration = Duration::from_millis(50);
    /// Default ceiling: a client waits at most this long for a quorum of matching results.
    pub const DEFAULT_CEILING: Duration = Duration::from_secs(2);
    /// Default window: long enough to smooth out one slow ballot, short enough to follow change.
    pub const DEFAULT_WINDOW: usize = 64;
    /// Default quorum: two identical results — one wrong replica alone can never make an answer.
    pub const DEFAULT_QUORUM: usize = 2;

    /// The defaults for the given replica managers.
    pub fn new(rms: Vec<RmId>) -> Self {
        VoterConfig {
            rms,
            floor: Self::DEFAULT_FLOOR,
            ceiling: Self::DEFAULT_CEILING,
            window: Self::DEFAULT_WINDOW,
            quorum: Self::DEFAULT_QUORUM,
        }
    }
}

/// The answer for one request; produced exactly once per ballot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// At least a quorum of replicas returned `outcome`.
    Agreed {
        seq: u64,
        outcome: Outcome,
        /// The RMs that returned `outcome` so far (at least a quorum), ascending.
        agreed: Vec<RmId>,
        /// What they said about the request having been executed before (identical too).
        replay_of: Option<Replay>,
    },
    /// No quorum of replicas agreed by the ceiling, or all answered without one.
    NoAgreement { seq: u64 },
}

impl Decision {
    /// The sequence number decided.
    pub fn seq(&self) -> u64 {
        match self {
            Decision::Agreed { seq, .. } | Decision::NoAgreement { seq } => *seq,
        }
    }
}

/// What the voter asks its caller to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// Answer the client waiting for this request.
    Decide(Decision),
    /// Send this judgement to every replica manager (see [`verdict_message`]).
    Verdict(Verdict),
}

/// Counters for metrics and tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    /// Ballots decided by agreement.
    pub votes: u64,
    /// Ballots that ended without agreement.
    pub no_agreement: u64,
    /// Per RM: results that differed from the agreed one.
    pub disagreements: BTreeMap<RmId, u64>,
    /// Per RM: ballots closed without its result.
    pub silences: BTreeMap<RmId, u64>,
    /// Results from RMs not in the configuration.
    pub unknown_rm: u64,
    /// Second (or later) results from the same RM for the same request.
    pub duplicates: u64,
    /// Results that arrived after their ballot closed, or that belong to an epoch older than
    /// the one given to [`Voter::forget_open`].
    pub late: u64,
}

/// What a replica answered, as the vote compares it: the outcome and the replay note.
type Answer = (Outcome, Option<Replay>);

/// One request's collection of results.
#[derive(Debug)]
struct Ballot {
    /// When the request was submitted (or its first result seen): latencies count from here.
    opened: Instant,
    /// When to stop waiting for the remaining results once agreed.
    deadline: Instant,
    /// Each RM's first result and when it arrived.
    results: BTreeMap<RmId, (Answer, Instant)>,
    /// The agreed answer, once a quorum of results matched.
    agreed: Option<Answer>,
}

/// Once agreed, a ballot waits for the other results at least this many times the quorum's own
/// latency beyond the agreement (at most the ceiling).
const AGREEMENT_SLACK: u32 = 2;

/// How many closed sequence numbers are remembered to recognise late results.
const CLOSED_MEMORY: usize = 4096;

/// How many result latencies wait for [`Voter::take_latencies`] at most: a caller that never
/// takes them must not make the voter grow.
const LATENCY_MEMORY: usize = 1024;

/// The voter of one front end. See the module docs.
#[derive(Debug)]
pub struct Voter {
    config: VoterConfig,
    /// Open ballots by sequence number.
    ballots: BTreeMap<u64, Ballot>,
    /// Slowest result latency of each recently closed ballot, oldest first.
    recent: VecDeque<Duration>,
    /// Recently closed sequence numbers (bounded), oldest first, and the same as a set: they
    /// keep [`Voter::open`] from reopening a ballot.
    closed_order: VecDeque<u64>,
    closed: BTreeSet<u64>,
    /// The highest sequence number closed in this epoch: a result at or below it with no open
    /// ballot is late, however old.
    closed_high: u64,
    counters: Counters,
    /// Each counted result's latency (its RM, time from the ballot's opening), oldest first,
    /// until the caller takes them for metrics and the status page; bounded.
    latencies: VecDeque<(RmId, Duration)>,
    /// Results of older epochs are ignored (see [`Voter::forget_open`]).
    epoch: Epoch,
}

impl Voter {
    /// A voter for the configured RMs.
    pub fn new(config: VoterConfig) -> Self {
        Voter {
            config,
            ballots: BTreeMap::new(),
            recent: VecDeque::new(),
            closed_order: VecDeque::new(),
            closed: BTreeSet::new(),
            closed_high: 0,
            counters: Counters::default(),
            latencies: VecDeque::new(),
            epoch: 0,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &VoterConfig {
        &self.config
    }

    /// The counters so far.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }

    /// The latencies of the results counted since the last call — for each, its RM and the time
    /// from the ballot's opening (the submission, when [`Voter::open`] was called) to its arrival
    /// — oldest first. Only the newest 1,024 are kept between calls.
    pub fn take_latencies(&mut self) -> Vec<(RmId, Duration)> {
        self.latencies.drain(..).collect()
    }

    /// The deadline a ballot opened now would get: twice the slowest latency of the recent
    /// window, clamped to floor..=ceiling; the ceiling while nothing has been measured.
    pub fn timeout(&self) -> Duration {
        match self.recent.iter().max() {
            None => self.config.ceiling,
            Some(slowest) => slowest
                .saturating_mul(2)
                .clamp(self.config.floor, self.config.ceiling),
        }
    }

    /// Opens the ballot for `seq`, submitted at `submitted` (latencies count from there). Calling
    /// it is optional — a result for an unknown sequence number opens the ballot itself — but
    /// gives more accurate latencies. An already open or closed ballot is left alone.
    pub fn open(&mut self, seq: u64, submitted: Instant) {
        if self.closed.contains(&seq) {
            return;
        }
        let timeout = self.timeout();
        let ballot = self.ballots.entry(seq).or_insert_with(|| Ballot {
            opened: submitted,
            deadline: submitted + timeout,
            results: BTreeMap::new(),
            agreed: None,
        });
        if submitted < ballot.opened {
            ballot.opened = submitted;
            ballot.deadline = submitted + timeout;
        }
    }

    /// Whether the ballot for `seq` is open.
    pub fn is_open(&self, seq: u64) -> bool {
        self.ballots.contains_key(&seq)
    }

    /// The sequencer was replaced; its successor numbers in `epoch`. Forgets every open ballot
    /// and every closed one it remembered, WITHOUT deciding or judging anything: no
    /// [`Decision`], no [`Verdict`], no counter or latency changes (what an abandoned epoch's
    /// results say about the replicas is not known). From now on results of epochs older than
    /// `epoch` are ignored (counted as late). Returns how many open ballots were dropped.
    ///
    /// The caller detaches its waiting requests from the forgotten sequence numbers (they are
    /// resubmitted and get new ones); the new epoch reuses the numbers.
    pub fn forget_open(&mut self, epoch: Epoch) -> usize {
        let forgotten = self.ballots.len();
        self.ballots.clear();
        self.closed.clear();
        self.closed_order.clear();
        self.closed_high = 0;
        self.epoch = self.epoch.max(epoch);
        forgotten
    }

    /// The oldest epoch whose results count (the one last given to [`Voter::forget_open`]; 0
    /// before).
    pub fn epoch(&self) -> Epoch {
        self.epoch
    }

    /// Records one replica's result, received at `now`.
    pub fn record(&mut self, result: ReplicaResult, now: Instant) -> Vec<Event> {
        let mut events = Vec::new();
        if !self.config.rms.contains(&result.rm) {
            self.counters.unknown_rm += 1;
            return events;
        }
        let unopened = !self.ballots.contains_key(&result.seq);
        if result.epoch < self.epoch
            || self.closed.contains(&result.seq)
            || (unopened && result.seq <= self.closed_high)
        {
            self.counters.late += 1;
            return events;
        }
        self.open(result.seq, now);
        // Just opened or already open.
        let ballot = self.ballots.get_mut(&result.seq).expect("ballot is open");
        if ballot.results.contains_key(&result.rm) {
            self.counters.duplicates += 1;
            return events;
        }
        let answer: Answer = (result.outcome, result.replay_of);
        let same = ballot
            .results
            .values()
            .filter(|(a, _)| *a == answer)
            .count();
        ballot.results.insert(result.rm, (answer.clone(), now));
        self.latencies
            .push_back((result.rm, now.saturating_duration_since(ballot.opened)));
        if self.latencies.len() > LATENCY_MEMORY {
            self.latencies.pop_front();
        }
        // A quorum of 0 would agree on nothing at all: at least this one result counts.
        if ballot.agreed.is_none() && same + 1 >= self.config.quorum.max(1) {
            let agreed: Vec<RmId> = ballot
                .results
                .iter()
                .filter(|(_, (a, _))| *a == answer)
                .map(|(rm, _)| *rm)
                .collect();
            ballot.agreed = Some(answer.clone());
            // The others get at least twice the quorum's own latency beyond the agreement: a
            // burst from idle delays every result alike (the queue, not a replica), and a
            // deadline fixed from the quiet window before it would call them all silent.
            let quorum_latency = now.saturating_duration_since(ballot.opened);
            let slack = quorum_latency
                .saturating_mul(AGREEMENT_SLACK)
                .min(self.config.ceiling);
            ballot.deadline = ballot.deadline.max(now + slack);
            self.counters.votes += 1;
            let (outcome, replay_of) = answer;
            events.push(Event::Decide(Decision::Agreed {
                seq: result.seq,
                outcome,
                agreed,
                replay_of,
            }));
        }
        let all_in = self
            .config
            .rms
            .iter()
            .all(|rm| ballot.results.contains_key(rm));
        let late_agreement = ballot.agreed.is_some() && now >= ballot.deadline;
        if all_in || late_agreement {
            self.close(result.seq, &mut events);
        }
        events
    }

    /// Closes every ballot whose time is up at `now`: agreed ones past their deadline, the others
    /// past the ceiling.
    pub fn tick(&mut self, now: Instant) -> Vec<Event> {
        let ceiling = self.config.ceiling;
        let due: Vec<u64> = self
            .ballots
            .iter()
            .filter(|(_, b)| match b.agreed {
                Some(_) => now >= b.deadline,
                None => now >= b.opened + ceiling,
            })
            .map(|(seq, _)| *seq)
            .collect();
        let mut events = Vec::new();
        for seq in due {
            self.close(seq, &mut events);
        }
        events
    }

    /// When [`Voter::tick`] next has something to do, if any ballot is open.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.ballots
            .values()
            .map(|b| match b.agreed {
                Some(_) => b.deadline,
                None => b.opened + self.config.ceiling,
            })
            .min()
    }

    /// Ends a ballot: decides "no agreement" if it has not agreed, emits the verdict, updates
    /// counters and the latency window.
    fn close(&mut self, seq: u64, events: &mut Vec<Event>) {
        let Some(ballot) = self.ballots.remove(&seq) else {
            return;
        };
        let mut verdict = Verdict {
            seq,
            agreed: Vec::new(),
            wrong: Vec::new(),
            silent: Vec::new(),
        };
        for rm in &self.config.rms {
            match (ballot.results.get(rm), &ballot.agreed) {
                (None, _) => {
                    verdict.silent.push(*rm);
                    *self.counters.silences.entry(*rm).or_default() += 1;
                }
                (Some((o, _)), Some(agreed)) if o == agreed => verdict.agreed.push(*rm),
                (Some(_), Some(_)) => {
                    verdict.wrong.push(*rm);
                    *self.counters.disagreements.entry(*rm).or_default() += 1;
                }
                // No agreement: an answer cannot be judged.
                (Some(_), None) => {}
            }
        }
        verdict.agreed.sort_unstable();
        verdict.wrong.sort_unstable();
        verdict.silent.sort_unstable();
        if ballot.agreed.is_none() {
            self.counters.no_agreement += 1;
            events.push(Event::Decide(Decision::NoAgreement { seq }));
        }
        if let Some(slowest) = ballot
            .results
            .values()
            .map(|(_, at)| at.saturating_duration_since(ballot.opened))
            .max()
        {
            self.recent.push_back(slowest);
            while self.recent.len() > self.config.window.max(1) {
                self.recent.pop_front();
            }
        }
        self.closed.insert(seq);
        self.closed_high = self.closed_high.max(seq);
        self.closed_order.push_back(seq);
        while self.closed_order.len() > CLOSED_MEMORY {
            if let Some(old) = self.closed_order.pop_front() {
                self.closed.remove(&old);
            }
        }
        events.push(Event::Verdict(verdict));
    }
}

/// The message that carries verdicts to every replica manager, in the order they were judged.
pub fn verdict_message(verdicts: Vec<Verdict>) -> Outgoing {
    Outgoing::ToAllRms(Message::Verdicts(verdicts))
}
