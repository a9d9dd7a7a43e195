//! The search for a linearization, part by part: Wing & Gong's algorithm with Lowe's cache, as
//! Porcupine implements it.
//!
//! The operations' call and return events sit in one list ordered by time (a call before a
//! return at the same instant: such operations overlap). An operation may be linearized next when
//! its call comes before the first return left in the list — no unlinearized operation returned
//! before it was called. A depth-first search tries those in turn: it applies one to the model,
//! keeps it if the model's outcome is what the client saw, lifts its events out of the list and
//! goes on; when none fits it backtracks (undoing the model, putting the events back). A
//! configuration — the set of operations linearized and the model's state — is tried once: the
//! cache holds a 128-bit hash of the set (XOR of a random key per operation) with the state's
//! 128-bit fingerprint, so a repeat is cut off at once. (Two different configurations sharing
//! those 256 bits would make the search skip the second — a wrong *failure*, never a wrong
//! success; two given configurations collide with chance 2^-128, so among a million it is below
//! 2^-88.)
//!
//! An operation without an answer has no return event: it may be linearized at any point after
//! its call, with whatever outcome, and is tried only after the answered ones at each point
//! (it is needed only when an answer shows its effect). The search succeeds once every answered
//! operation is placed; unanswered ones left over took effect after everything, or never.
//!
//! Unanswered operations stay candidates from their call to the end, so trying every subset of
//! them at every point would be exponential. Three rules keep the search to the placements that
//! matter, without losing any linearization:
//! - an unanswered operation that changes nothing where it is tried (a read, a refusal) is not
//!   placed there: that is the same as leaving it out;
//! - in a run of unanswered operations placed one after another (a *block*), each must share an
//!   entity (`partition`) with a later member of the block or with the answered operation that
//!   ends it: one that shares nothing with anything after it up to that answered operation
//!   commutes with all of them (operations sharing no entity touch disjoint cells: same outcomes,
//!   same state in either order), so it can move after that answered operation — it has no
//!   return, so real time does not hold it back;
//! - two adjacent unanswered operations sharing no entity come in history order (they commute,
//!   so the other order is the same linearization).
//!
//! Moving operations that way only ever moves unanswered operations after answered ones, or
//! sorts adjacent commuting unanswered ones, so it ends; any linearization is thereby brought to
//! a form the search tries, and one whose trailing unanswered operations are left out. The
//! cache key includes the block (its members, which are paid, which is last), since what may
//! come next depends on it.

use std::collections::HashSet;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::time::{Duration, Instant};

use dmtbs_contract::Outcome;

use crate::history::{History, Op, ShowOp, ShowOutcome};
use crate::model::{Model, Undo, hash128};
use crate::partition::split;

/// How much the search may spend before it answers "undecided" rather than hang.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Search steps (one model application each), over the whole check.
    pub max_steps: u64,
    /// Wall-clock time for the whole check.
    pub max_time: Duration,
}

impl Default for Limits {
    /// 20 million steps or 60 s: a 10,000-operation history of 8 clients takes well under a
    /// second (`docs/testing.md`), so only a pathological one reaches these.
    fn default() -> Self {
        Limits {
            max_steps: 20_000_000,
            max_time: Duration::from_secs(60),
        }
    }
}

/// What the check found.
#[derive(Debug)]
pub struct Report {
    pub verdict: Verdict,
    /// How many independent parts the history was split into (see `partition`).
    pub parts: usize,
    /// Operations in the largest part.
    pub largest_part: usize,
    /// Search steps taken, over all parts.
    pub steps: u64,
    pub elapsed: Duration,
}

#[derive(Debug)]
pub enum Verdict {
    /// Some total order of the operations, consistent with their real-time order, gives every
    /// client the answer it saw.
    Linearizable,
    /// None does; why.
    NotLinearizable(Box<Explanation>),
    /// The search ran out of its [`Limits`] in this part before deciding.
    Undecided {
        /// Index of the part (in the order of their first operations).
        part: usize,
        /// Its operations (history indices).
        part_ops: usize,
    },
}

impl Report {
    pub fn is_linearizable(&self) -> bool {
        matches!(self.verdict, Verdict::Linearizable)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.verdict {
            Verdict::Linearizable => write!(f, "linearizable")?,
            Verdict::NotLinearizable(e) => write!(f, "{e}")?,
            Verdict::Undecided { part, part_ops } => write!(
                f,
                "undecided: part {part} ({part_ops} operations) was not decided within the limits"
            )?,
        }
        write!(
            f,
            " ({} parts, largest {} operations, {} steps, {:?})",
            self.parts, self.largest_part, self.steps, self.elapsed
        )
    }
}

/// Why a history is not linearizable: the smallest independent part that has no linearization,
/// the longest linearizable prefix of it the search found, and what could come next but does
/// not fit.
#[derive(Debug)]
pub struct Explanation {
    /// Index of the failing part.
    pub part: usize,
    /// The part's operations (history indices, ascending).
    pub part_ops: Vec<usize>,
    /// The longest prefix found, in linearization order: (history index, operation).
    pub prefix: Vec<(usize, Op)>,
    /// The answered operations that could come next, none fitting, earliest answered first: the
    /// first is the operation that cannot be placed. (history index, operation, the outcome the
    /// model gives it there.)
    pub stuck: Vec<(usize, Op, Outcome)>,
}

/// Prefix operations shown in an explanation (the rest are counted).
const SHOWN_PREFIX: usize = 12;

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "not linearizable: part {} ({} operations) has no linearization.",
            self.part,
            self.part_ops.len()
        )?;
        let skipped = self.prefix.len().saturating_sub(SHOWN_PREFIX);
        writeln!(
            f,
            "The longest linearizable prefix found places {} of them{}:",
            self.prefix.len(),
            if skipped > 0 {
                format!(" ({skipped} earlier ones not shown)")
            } else {
                String::new()
            }
        )?;
        for (i, op) in &self.prefix[skipped..] {
            writeln!(f, "  {}", ShowOp(*i, op))?;
        }
        match self.stuck.split_first() {
            None => writeln!(f, "Then no operation can come next.")?,
            Some(((i, op, expected), others)) => {
                writeln!(f, "Then this operation cannot be placed:")?;
                writeln!(f, "  {}", ShowOp(*i, op))?;
                writeln!(f, "    the model expected: {}", ShowOutcome(expected))?;
                if let Some(seen) = op.outcome() {
                    writeln!(f, "    the client saw:     {}", ShowOutcome(seen))?;
                }
                if !others.is_empty() {
                    writeln!(f, "nor can any other that could come next:")?;
                }
                for (i, op, expected) in others {
                    writeln!(f, "  {}", ShowOp(*i, op))?;
                    writeln!(f, "    the model expected: {}", ShowOutcome(expected))?;
                }
            }
        }
        Ok(())
    }
}

/// [`check_with`] the default [`Limits`].
pub fn check(history: &History) -> Report {
    check_with(history, Limits::default())
}

/// Decides whether `history` is linearizable against the booking rules from an empty service.
pub fn check_with(history: &History, limits: Limits) -> Report {
    let started = Instant::now();
    let deadline = started + limits.max_time;
    let (parts, touched) = split(history);
    let mut report = Report {
        verdict: Verdict::Linearizable,
        parts: parts.len(),
        largest_part: parts.iter().map(Vec::len).max().unwrap_or(0),
        steps: 0,
        elapsed: Duration::ZERO,
    };
    let mut undecided = None;
    for (index, part) in parts.iter().enumerate() {
        let budget = Budget {
            steps_left: limits.max_steps.saturating_sub(report.steps),
            deadline,
        };
        let (outcome, steps) = Search::new(history, part, &touched).run(budget);
        report.steps += steps;
        match outcome {
            PartOutcome::Linearizable => {}
            PartOutcome::Stuck { prefix, stuck } => {
                let op = |i: usize| (part[i], history.ops[part[i]].clone());
                let mut stuck: Vec<(usize, Op, Outcome)> = stuck
                    .into_iter()
                    .map(|(i, expected)| {
                        let (index, op) = op(i);
                        (index, op, expected)
                    })
                    .collect();
                stuck.sort_by_key(|(_, op, _)| op.returned_at());
                report.verdict = Verdict::NotLinearizable(Box::new(Explanation {
                    part: index,
                    part_ops: part.clone(),
                    prefix: prefix.into_iter().map(op).collect(),
                    stuck,
                }));
                report.elapsed = started.elapsed();
                return report;
            }
            PartOutcome::OutOfBudget => {
                undecided.get_or_insert(Verdict::Undecided {
                    part: index,
                    part_ops: part.len(),
                });
            }
        }
    }
    if let Some(verdict) = undecided {
        report.verdict = verdict;
    }
    report.elapsed = started.elapsed();
    report
}

struct Budget {
    steps_left: u64,
    deadline: Instant,
}

enum PartOutcome {
    Linearizable,
    /// No linearization: the longest prefix (part-local indices) and, after it, the answered
    /// candidates with the model's outcome for each.
    Stuck {
        prefix: Vec<usize>,
        stuck: Vec<(usize, Outcome)>,
    },
    OutOfBudget,
}

/// Answered candidates that did not fit at one level, with the model's outcome for each.
type Misfits = Vec<(usize, Outcome)>;

/// A node of the event list: the call or the return of one operation (part-local index).
#[derive(Clone, Copy)]
struct Event {
    op: usize,
    is_call: bool,
    prev: usize,
    next: usize,
}

/// The search over one part.
struct Search<'a> {
    ops: Vec<&'a Op>,
    /// The event list; node 0 is the sentinel (head and tail).
    events: Vec<Event>,
    /// Per operation: its call node and its return node (0: none, unanswered).
    nodes: Vec<(usize, usize)>,
    /// Per operation: its random key in the hash of the linearized set.
    keys: Vec<u128>,
    /// Per operation: the entities it may touch (ascending ids, see `partition`).
    touched: Vec<&'a [usize]>,
    model: Model,
}

/// One level of the depth-first search.
struct Frame {
    /// Operations that may come next: answered ones first, then unanswered.
    candidates: Vec<usize>,
    /// The next candidate to try.
    next: usize,
    /// The candidate placed at this level while deeper levels are searched.
    placed: Option<(usize, Undo)>,
    /// Answered candidates whose outcome did not fit here.
    misfits: Misfits,
    /// The unanswered operations placed since the last answered one, in order, each with
    /// whether an operation placed after it shares an entity with it (see the module doc).
    block: Vec<(usize, bool)>,
}

impl<'a> Search<'a> {
    fn new(history: &'a History, part: &[usize], touched: &'a [Vec<usize>]) -> Search<'a> {
        let ops: Vec<&Op> = part.iter().map(|&i| &history.ops[i]).collect();
        // (time, returns after calls at the same instant, op)
        let mut points: Vec<(Duration, bool, usize)> = Vec::new();
        for (i, op) in ops.iter().enumerate() {
            points.push((op.invoke, false, i));
            if let Some(at) = op.returned_at() {
                points.push((at.max(op.invoke), true, i));
            }
        }
        points.sort();
        let mut events = vec![Event {
            op: usize::MAX,
            is_call: false,
            prev: points.len(),
            next: if points.is_empty() { 0 } else { 1 },
        }];
        let mut nodes = vec![(0, 0); ops.len()];
        for (n, &(_, is_return, op)) in points.iter().enumerate() {
            let node = n + 1;
            events.push(Event {
                op,
                is_call: !is_return,
                prev: node - 1,
                next: if node == points.len() { 0 } else { node + 1 },
            });
            if is_return {
                nodes[op].1 = node;
            } else {
                nodes[op].0 = node;
            }
        }
        let keys = (0..ops.len())
            .map(|i| hash128(2, i as u64, part.len() as u64))
            .collect();
        Search {
            ops,
            events,
            nodes,
            keys,
            touched: part.iter().map(|&i| touched[i].as_slice()).collect(),
            model: Model::new(),
        }
    }

    fn unlink(&mut self, node: usize) {
        let Event { prev, next, .. } = self.events[node];
        self.events[prev].next = next;
        self.events[next].prev = prev;
    }

    fn relink(&mut self, node: usize) {
        let Event { prev, next, .. } = self.events[node];
        self.events[prev].next = node;
        self.events[next].prev = node;
    }

    /// Takes an operation's events out of the list (it is linearized).
    fn lift(&mut self, op: usize) {
        let (call, ret) = self.nodes[op];
        self.unlink(call);
        if ret != 0 {
            self.unlink(ret);
        }
    }

    /// Puts them back, in the reverse order of [`Search::lift`].
    fn unlift(&mut self, op: usize) {
        let (call, ret) = self.nodes[op];
        if ret != 0 {
            self.relink(ret);
        }
        self.relink(call);
    }

    /// Whether two operations may touch a common entity (else they commute).
    fn share(&self, a: usize, b: usize) -> bool {
        let (mut x, mut y) = (
            self.touched[a].iter().peekable(),
            self.touched[b].iter().peekable(),
        );
        while let (Some(p), Some(q)) = (x.peek(), y.peek()) {
            match p.cmp(q) {
                std::cmp::Ordering::Less => _ = x.next(),
                std::cmp::Ordering::Greater => _ = y.next(),
                std::cmp::Ordering::Equal => return true,
            }
        }
        false
    }

    /// The operations whose call comes before the first return left: answered ones first.
    fn frame(&self, block: Vec<(usize, bool)>) -> Frame {
        let (mut answered, mut unanswered) = (Vec::new(), Vec::new());
        let mut node = self.events[0].next;
        while node != 0 && self.events[node].is_call {
            let op = self.events[node].op;
            if self.nodes[op].1 != 0 {
                answered.push(op);
            } else {
                unanswered.push(op);
            }
            node = self.events[node].next;
        }
        answered.extend(unanswered);
        Frame {
            candidates: answered,
            next: 0,
            placed: None,
            misfits: Vec::new(),
            block,
        }
    }

    fn run(mut self, mut budget: Budget) -> (PartOutcome, u64) {
        let answered_total = self
            .ops
            .iter()
            .filter(|o| o.returned_at().is_some())
            .count();
        let mut answered_placed = 0;
        let mut seen: HashSet<(u128, u128), BuildHasherDefault<RandomKeys>> = HashSet::default();
        let mut set_hash = 0u128;
        let mut stack = vec![self.frame(Vec::new())];
        let mut steps = 0u64;
        // The deepest level at which every candidate failed, with its prefix and misfits.
        let mut deepest: Option<(Vec<usize>, Misfits)> = None;
        loop {
            if answered_placed == answered_total {
                return (PartOutcome::Linearizable, steps);
            }
            let top = stack.len() - 1;
            // Back from a deeper level that failed: take this level's operation out again.
            if let Some((op, undo)) = stack[top].placed.take() {
                self.model.undo(undo);
                self.unlift(op);
                set_hash ^= self.keys[op];
                if self.ops[op].returned_at().is_some() {
                    answered_placed -= 1;
                }
            }
            let frame = &mut stack[top];
            let Some(&op) = frame.candidates.get(frame.next) else {
                // Nothing fits at this level.
                let worse = deepest.as_ref().is_some_and(|(p, m)| {
                    p.len() > top || (p.len() == top && (!m.is_empty() || frame.misfits.is_empty()))
                });
                if !worse {
                    let prefix = stack[..top]
                        .iter()
                        .map(|f| f.candidates[f.next - 1])
                        .collect();
                    deepest = Some((prefix, std::mem::take(&mut stack[top].misfits)));
                }
                stack.pop();
                if stack.is_empty() {
                    let (prefix, stuck) = deepest.unwrap_or_default();
                    return (PartOutcome::Stuck { prefix, stuck }, steps);
                }
                continue;
            };
            if budget.steps_left == 0
                || (steps.is_multiple_of(1024) && Instant::now() > budget.deadline)
            {
                return (PartOutcome::OutOfBudget, steps);
            }
            budget.steps_left -= 1;
            steps += 1;
            frame.next += 1;
            let o = self.ops[op];
            // The unanswered operations placed since the last answered one, each marked paid
            // once something placed after it shares an entity with it.
            let mut block: Vec<(usize, bool)> = frame
                .block
                .iter()
                .map(|&(m, paid)| (m, paid || self.share(m, op)))
                .collect();
            if o.returned_at().is_some() {
                if block.iter().any(|&(_, paid)| !paid) {
                    continue;
                }
                block.clear();
            } else {
                if let Some(&(last, _)) = frame.block.last()
                    && last > op
                    && !self.share(last, op)
                {
                    continue;
                }
                block.push((op, false));
            }
            let o = self.ops[op];
            let before = self.model.fingerprint();
            let (outcome, undo) = self.model.apply(o.today, &o.operation);
            match o.outcome() {
                Some(seen_outcome) if *seen_outcome != outcome => {
                    self.model.undo(undo);
                    frame.misfits.push((op, outcome));
                    continue;
                }
                // An unanswered operation without effect here is the same as one never placed.
                None if self.model.fingerprint() == before => {
                    self.model.undo(undo);
                    continue;
                }
                _ => {}
            }
            // The configuration: the set placed, the state, and the block (what may come next
            // depends on it).
            let block_hash = block
                .iter()
                .fold(0, |h, &(m, paid)| h ^ hash128(3, m as u64, paid.into()))
                ^ block.last().map_or(0, |&(m, _)| hash128(4, m as u64, 0));
            let key = (
                set_hash ^ self.keys[op],
                self.model.fingerprint() ^ block_hash,
            );
            if !seen.insert(key) {
                self.model.undo(undo);
                continue;
            }
            set_hash ^= self.keys[op];
            self.lift(op);
            if o.returned_at().is_some() {
                answered_placed += 1;
            }
            frame.placed = Some((op, undo));
            let next = self.frame(block);
            stack.push(next);
        }
    }
}

/// The cache's hasher: its keys are random bits already, so mixing their low words is enough.
#[derive(Default)]
struct RandomKeys(u64);

impl Hasher for RandomKeys {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8).take(1) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 ^= u64::from_le_bytes(word);
        }
    }

    fn write_u128(&mut self, n: u128) {
        self.0 = self.0.rotate_left(17) ^ n as u64;
    }
}
