//! The host-side digest of a canonical state: how replicas compare states without shipping them.

use sha2::{Digest, Sha256};

use crate::contract::CanonicalState;

/// The state digest of `docs/booking-rules.md` §7.1: the lane-wise sum (mod 2^64) of the
/// SHA-256 of every entry's unambiguous encoding (strings length-prefixed, integers
/// little-endian), written as four little-endian lanes. Equal states ⇔ equal digests (up to
/// hash collisions), whatever implementation holds them; and being a sum over entries, a
/// replica keeps it up to date as entries come and go, so comparing replicas costs no export.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct StateDigest(pub [u8; 32]);

impl StateDigest {
    /// The digest of a whole canonical state, computed here (never trusted from a replica).
    pub fn of(state: &CanonicalState) -> Self {
        let mut lanes = [0u64; 4];
        for show in &state.shows {
            add(
                &mut lanes,
                entry_hash(1, &[&show.movie, &show.show_id], show.capacity),
            );
        }
        for b in &state.bookings {
            add(
                &mut lanes,
                entry_hash(2, &[&b.customer, &b.movie, &b.show_id], b.tickets),
            );
        }
        Self::from_lanes(lanes.into())
    }

    /// The digest snapshots carried before the state digest of §7.1 (wire format 7 and
    /// earlier): SHA-256 over the whole encoded state. Only to accept such a snapshot on disk
    /// after an upgrade; nothing compares replicas with it any more.
    pub fn legacy_v1(state: &CanonicalState) -> Self {
        let mut h = Sha256::new();
        h.update(b"dmtbs-state-v1");
        h.update((state.shows.len() as u64).to_le_bytes());
        for show in &state.shows {
            put_str(&mut h, &show.movie);
            put_str(&mut h, &show.show_id);
            h.update(show.capacity.to_le_bytes());
        }
        h.update((state.bookings.len() as u64).to_le_bytes());
        for b in &state.bookings {
            put_str(&mut h, &b.customer);
            put_str(&mut h, &b.movie);
            put_str(&mut h, &b.show_id);
            h.update(b.tickets.to_le_bytes());
        }
        StateDigest(h.finalize().into())
    }

    /// The digest a replica's `state-digest` reported.
    pub fn from_lanes((a, b, c, d): (u64, u64, u64, u64)) -> Self {
        let mut out = [0u8; 32];
        for (chunk, lane) in out.chunks_exact_mut(8).zip([a, b, c, d]) {
            chunk.copy_from_slice(&lane.to_le_bytes());
        }
        StateDigest(out)
    }
}

fn entry_hash(tag: u8, strings: &[&str], count: u32) -> [u64; 4] {
    let mut h = Sha256::new();
    h.update([tag]);
    for s in strings {
        h.update((s.len() as u32).to_le_bytes());
        h.update(s.as_bytes());
    }
    h.update(count.to_le_bytes());
    let bytes: [u8; 32] = h.finalize().into();
    std::array::from_fn(|i| u64::from_le_bytes(bytes[8 * i..8 * i + 8].try_into().expect("8")))
}

fn put_str(h: &mut Sha256, s: &str) {
    h.update((s.len() as u32).to_le_bytes());
    h.update(s.as_bytes());
}

fn add(lanes: &mut [u64; 4], h: [u64; 4]) {
    for (lane, x) in lanes.iter_mut().zip(h) {
        *lane = lane.wrapping_add(x);
    }
}

impl std::fmt::Display for StateDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl std::fmt::Debug for StateDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StateDigest({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::{BookingEntry, ShowEntry};

    fn state(shows: &[(&str, &str, u32)], bookings: &[(&str, &str, &str, u32)]) -> CanonicalState {
        CanonicalState {
            shows: shows
                .iter()
                .map(|(m, s, c)| ShowEntry {
                    movie: m.to_string(),
                    show_id: s.to_string(),
                    capacity: *c,
                })
                .collect(),
            bookings: bookings
                .iter()
                .map(|(c, m, s, t)| BookingEntry {
                    customer: c.to_string(),
                    movie: m.to_string(),
                    show_id: s.to_string(),
                    tickets: *t,
                })
                .collect(),
        }
    }

    #[test]
    fn equal_states_give_equal_digests_and_any_difference_shows() {
        let a = state(
            &[("Avatar", "ATWM251126", 5)],
            &[("ATWC0001", "Avatar", "ATWM251126", 2)],
        );
        assert_eq!(StateDigest::of(&a), StateDigest::of(&a.clone()));
        let different = [
            state(
                &[("Avatar", "ATWM251126", 6)],
                &[("ATWC0001", "Avatar", "ATWM251126", 2)],
            ),
            state(
                &[("Avatar", "ATWM251126", 5)],
                &[("ATWC0001", "Avatar", "ATWM251126", 1)],
            ),
            state(&[("Avatar", "ATWM251126", 5)], &[]),
            CanonicalState::empty(),
        ];
        for d in &different {
            assert_ne!(StateDigest::of(&a), StateDigest::of(d), "{d:?}");
        }
    }

    #[test]
    fn matches_the_rules_test_vectors() {
        // docs/booking-rules.md §7.1.
        assert_eq!(StateDigest::of(&CanonicalState::empty()).0, [0; 32]);
        let show = state(&[("Avatar", "ATWM251126", 5)], &[]);
        assert_eq!(
            StateDigest::of(&show).to_string(),
            "abebcef935bf4307f33880a4ee36207121aa6366a6a6e8719a6cd9cf746878ec"
        );
        let both = state(
            &[("Avatar", "ATWM251126", 5)],
            &[("ATWC0001", "Avatar", "ATWM251126", 2)],
        );
        let lanes = (
            0xce229bb4cb2e31fb,
            0xb1536852fe8430de,
            0x6b816e1a883648b9,
            0xd1c9effedcbd978b,
        );
        assert_eq!(StateDigest::of(&both), StateDigest::from_lanes(lanes));
        assert_eq!(
            StateDigest::of(&both).to_string(),
            "fb312ecbb49b22cede3084fe526853b1b94836881a6e816b8b97bddcfeefc9d1"
        );
    }

    #[test]
    fn the_legacy_digest_is_the_former_whole_state_hash() {
        // Its value for the empty state, as snapshots before §7.1 stored it.
        assert_eq!(
            StateDigest::legacy_v1(&CanonicalState::empty()).to_string(),
            hex::encode(Sha256::digest(
                [b"dmtbs-state-v1".as_slice(), &[0; 16]].concat()
            ))
        );
        let a = state(&[("Avatar", "ATWM251126", 5)], &[]);
        assert_ne!(StateDigest::legacy_v1(&a), StateDigest::of(&a));
    }

    #[test]
    fn field_boundaries_are_part_of_the_digest() {
        // Concatenating fields without lengths would make these two collide.
        let a = state(&[("Avatar", "ATWM251126", 5)], &[]);
        let b = state(&[("AvatarATWM", "251126", 5)], &[]);
        assert_ne!(StateDigest::of(&a), StateDigest::of(&b));
        assert_eq!(StateDigest::of(&a).to_string().len(), 64);
    }
}
