//! At most once across sequencer epochs and client retries: the table of executed requests.
//!
//! A request can reach the total order twice: a front end resubmits what a dead sequencer had
//! numbered (it cannot know whether the number reached any RM), and a client retries with the
//! same `Idempotency-Key` through another front end after one crashed. Both copies are
//! sequenced; every RM sees both in the same order, so every RM decides the same way: the
//! second is not executed again, its result is the first execution's outcome
//! (`ReplicaResult::replay_of`).
//!
//! The table is part of an RM's state beside its replica's canonical state: it is exported at
//! checkpoints with it, persisted in snapshots, and moved by state transfer, so an RM that
//! installs a state at checkpoint C decides exactly as the others for every request after C.
//! Only mutating operations are remembered (a read changes nothing, so executing it again is
//! harmless), and only the last [`REMEMBERED`] of them, deterministically: eviction depends on
//! the log alone.
//!
//! The table holds outcomes the RM's own replica computed, so a lying replica's table holds its
//! lies: a state fetched with it would replay them for a retried request. Checkpoint digests
//! therefore cover the table too ([`Executed::digest`], kept as entries come and go, as rules
//! §7.1 keeps the replica's): a table that differs is not agreed on, and never fetched.

use std::collections::{BTreeMap, HashMap};

use dmtbs_contract::{Operation, Outcome};
use dmtbs_proto::{FeId, Replay, Sequenced};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// Mutating requests remembered: a front end's resubmission after a sequencer failover comes
/// within seconds, a client's retry within its timeout; at 5,000 bookings a second this is
/// over ten seconds of history, at everyday rates hours — and a snapshot grows by ~1 MB.
pub const REMEMBERED: usize = 16_384;

/// One executed mutating request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Entry {
    fe: FeId,
    request_id: u64,
    /// `(actor, idempotency key)` when the client gave a key.
    key: Option<(String, String)>,
    /// A fingerprint of the operation, to tell a retry from a reused key.
    operation: [u8; 8],
    outcome: Outcome,
}

/// The executed-requests table (see the module docs).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Executed {
    /// By sequence number, ascending: the order eviction follows.
    entries: BTreeMap<u64, Entry>,
    by_request: HashMap<(FeId, u64), u64>,
    by_key: HashMap<(String, String), u64>,
    /// The lane-wise sum (mod 2^64) of every entry's hash ([`entry_hash`]).
    lanes: [u64; 4],
}

/// What to do with a request about to be applied.
pub enum Decision {
    /// Apply it (and [`Executed::record`] its outcome).
    Execute,
    /// Do not apply it: it ran before; answer with this.
    Replay(Outcome, Replay),
}

impl Executed {
    /// Whether `item` ran before (by its front end's id, or its client's key).
    pub fn decide(&self, item: &Sequenced) -> Decision {
        if !mutates(&item.operation) {
            return Decision::Execute;
        }
        let seq = self
            .by_request
            .get(&(item.fe, item.request_id))
            .or_else(|| {
                client_key(item).and_then(|(a, k)| self.by_key.get(&(a.to_owned(), k.to_owned())))
            });
        match seq.and_then(|s| self.entries.get(s).map(|e| (*s, e))) {
            Some((seq, entry)) => Decision::Replay(
                entry.outcome.clone(),
                Replay {
                    seq,
                    same_operation: entry.operation == fingerprint(&item.operation),
                },
            ),
            None => Decision::Execute,
        }
    }

    /// `item` was executed with `outcome`.
    pub fn record(&mut self, item: &Sequenced, outcome: &Outcome) {
        if !mutates(&item.operation) {
            return;
        }
        let entry = Entry {
            fe: item.fe,
            request_id: item.request_id,
            key: client_key(item).map(|(a, k)| (a.to_owned(), k.to_owned())),
            operation: fingerprint(&item.operation),
            outcome: outcome.clone(),
        };
        if let Some(old) = self.entries.remove(&item.seq) {
            self.unindex(item.seq, &old);
        }
        self.index(item.seq, &entry);
        self.entries.insert(item.seq, entry);
        while self.entries.len() > REMEMBERED {
            if let Some((seq, old)) = self.entries.pop_first() {
                self.unindex(seq, &old);
            }
        }
    }

    /// Requests remembered.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// The table as bytes, for snapshots and state transfer.
    pub fn to_bytes(&self) -> Vec<u8> {
        let entries: Vec<(&u64, &Entry)> = self.entries.iter().collect();
        postcard::to_stdvec(&entries).expect("serialising to memory cannot fail")
    }

    /// A table from [`Executed::to_bytes`]; an error for anything else.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, postcard::Error> {
        let entries: Vec<(u64, Entry)> = postcard::from_bytes(bytes)?;
        let mut table = Executed::default();
        for (seq, entry) in entries {
            table.index(seq, &entry);
            table.entries.insert(seq, entry);
        }
        Ok(table)
    }

    /// A digest of every entry (sequence number, request, outcome), independent of the order
    /// they were added in: what checkpoint digests add to the replica's.
    pub fn digest(&self) -> [u8; 32] {
        let mut out = [0; 32];
        for (chunk, lane) in out.chunks_exact_mut(8).zip(self.lanes) {
            chunk.copy_from_slice(&lane.to_le_bytes());
        }
        out
    }

    fn index(&mut self, seq: u64, entry: &Entry) {
        for (lane, h) in self.lanes.iter_mut().zip(entry_hash(seq, entry)) {
            *lane = lane.wrapping_add(h);
        }
        self.by_request.insert((entry.fe, entry.request_id), seq);
        if let Some(key) = &entry.key {
            self.by_key.insert(key.clone(), seq);
        }
    }

    fn unindex(&mut self, seq: u64, entry: &Entry) {
        for (lane, h) in self.lanes.iter_mut().zip(entry_hash(seq, entry)) {
            *lane = lane.wrapping_sub(h);
        }
        if self.by_request.get(&(entry.fe, entry.request_id)) == Some(&seq) {
            self.by_request.remove(&(entry.fe, entry.request_id));
        }
        if let Some(key) = &entry.key
            && self.by_key.get(key) == Some(&seq)
        {
            self.by_key.remove(key);
        }
    }
}

/// Reads change nothing: executing one again is harmless, so they are not remembered.
pub(super) fn mutates(operation: &Operation) -> bool {
    !matches!(
        operation,
        Operation::Availability(_) | Operation::Schedule(_)
    )
}

/// A client's key is its own: scoped by the acting user.
pub(super) fn client_key(item: &Sequenced) -> Option<(&str, &str)> {
    let key = item.key.as_deref()?;
    let actor = item.operation.actor();
    Some((actor, key))
}

/// SHA-256 of an entry's postcard encoding with its sequence number, as four LE u64 lanes.
fn entry_hash(seq: u64, entry: &Entry) -> [u64; 4] {
    let bytes = postcard::to_stdvec(&(seq, entry)).expect("serialising to memory cannot fail");
    let hash = Sha256::digest(bytes);
    let mut lanes = [0; 4];
    for (lane, chunk) in lanes.iter_mut().zip(hash.chunks_exact(8)) {
        *lane = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
    }
    lanes
}

fn fingerprint(operation: &Operation) -> [u8; 8] {
    let bytes = postcard::to_stdvec(operation).expect("serialising to memory cannot fail");
    let hash = Sha256::digest(bytes);
    hash[..8].try_into().expect("a SHA-256 is 32 bytes")
}

#[cfg(test)]
mod tests {
    use super::*;
    use dmtbs_contract::{Book, Booked, Date, Schedule, Success};

    fn book(seq: u64, fe: FeId, request_id: u64, key: Option<&str>, tickets: u32) -> Sequenced {
        Sequenced {
            epoch: 1,
            seq,
            today: Date {
                year: 2026,
                month: 12,
                day: 7,
            },
            fe,
            request_id,
            key: key.map(str::to_owned),
            operation: Operation::Book(Book {
                actor: "ATWC0001".into(),
                customer: "ATWC0001".into(),
                movie: "Avatar".into(),
                show_id: "ATWM071226".into(),
                tickets,
            }),
        }
    }

    fn booked(held: u32) -> Outcome {
        Ok(Success::Booked(Booked {
            held,
            remaining: 10,
        }))
    }

    #[test]
    fn a_resubmitted_request_replays_its_first_outcome() {
        let mut t = Executed::default();
        let first = book(5, 1, 77, None, 2);
        assert!(matches!(t.decide(&first), Decision::Execute));
        t.record(&first, &booked(2));
        // The same front-end request, numbered again in a later epoch.
        let again = Sequenced {
            seq: 9,
            epoch: 2,
            ..first.clone()
        };
        let Decision::Replay(outcome, replay) = t.decide(&again) else {
            panic!("executed twice");
        };
        assert_eq!(outcome, booked(2));
        assert_eq!(
            replay,
            Replay {
                seq: 5,
                same_operation: true
            }
        );
    }

    #[test]
    fn a_client_key_is_honoured_through_another_front_end_and_per_user() {
        let mut t = Executed::default();
        let first = book(5, 1, 77, Some("k-1"), 2);
        t.record(&first, &booked(2));
        let retry = book(6, 2, 900, Some("k-1"), 2);
        assert!(matches!(
            t.decide(&retry),
            Decision::Replay(
                _,
                Replay {
                    seq: 5,
                    same_operation: true
                }
            )
        ));
        // The key reused for another request: recognised, and said to differ.
        let other = book(7, 2, 901, Some("k-1"), 3);
        assert!(matches!(
            t.decide(&other),
            Decision::Replay(
                _,
                Replay {
                    seq: 5,
                    same_operation: false
                }
            )
        ));
        // Another user's key of the same name is theirs.
        let mut theirs = book(8, 2, 902, Some("k-1"), 2);
        if let Operation::Book(b) = &mut theirs.operation {
            b.actor = "ATWC0002".into();
            b.customer = "ATWC0002".into();
        }
        assert!(matches!(t.decide(&theirs), Decision::Execute));
    }

    #[test]
    fn the_digest_covers_every_outcome_and_not_the_order_of_recording() {
        let (a, b) = (book(5, 1, 77, None, 2), book(6, 1, 78, None, 1));
        let mut one = Executed::default();
        one.record(&a, &booked(2));
        one.record(&b, &booked(1));
        let mut other = Executed::default();
        other.record(&b, &booked(1));
        other.record(&a, &booked(2));
        assert_eq!(one.digest(), other.digest());
        assert_ne!(one.digest(), Executed::default().digest());
        // A lying replica's table: one outcome differs, and so does the digest.
        let mut lied = Executed::default();
        lied.record(&a, &booked(2));
        lied.record(&b, &booked(2));
        assert_ne!(lied.digest(), one.digest());
        // Recording a sequence number again replaces its entry, in the digest too.
        lied.record(&b, &booked(1));
        assert_eq!(lied.digest(), one.digest());
    }

    #[test]
    fn reads_are_not_remembered_and_the_table_is_bounded_and_survives_bytes() {
        let mut t = Executed::default();
        let mut read = book(1, 1, 1, None, 1);
        read.operation = Operation::Schedule(Schedule {
            actor: "ATWC0001".into(),
            customer: "ATWC0001".into(),
        });
        t.record(&read, &booked(0));
        assert_eq!(t.len(), 0);
        for i in 0..(REMEMBERED as u64 + 10) {
            t.record(
                &book(i + 2, 1, 1000 + i, Some(&format!("k{i}")), 1),
                &booked(1),
            );
        }
        assert_eq!(t.len(), REMEMBERED);
        // The oldest are forgotten, by request and by key.
        assert!(matches!(
            t.decide(&book(99, 1, 1000, None, 1)),
            Decision::Execute
        ));
        assert!(matches!(
            t.decide(&book(99, 3, 5, Some("k0"), 1)),
            Decision::Execute
        ));
        // Rebuilt from the entries left, the digest is the one kept through the evictions.
        let back = Executed::from_bytes(&t.to_bytes()).expect("round trip");
        assert_eq!(back, t);
        assert_eq!(back.digest(), t.digest());
        assert!(Executed::from_bytes(b"\xff\xff\xff").is_err());
    }
}
