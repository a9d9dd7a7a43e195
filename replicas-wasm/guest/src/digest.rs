//! The state digest of `docs/booking-rules.md` §7.1 as a value an implementation keeps beside
//! its state: add an entry's hash when the entry appears, subtract it when it goes. Plumbing
//! (the contract's hash, like its types) — *where* the state changes is each implementation's.

use sha2::{Digest, Sha256};

/// The lane-wise sum (mod 2^64) of the hashes of every entry of a canonical state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StateDigest([u64; 4]);

impl StateDigest {
    /// The show entry (`movie`, `show_id`, `capacity`) joined the state.
    pub fn add_show(&mut self, movie: &str, show_id: &str, capacity: u32) {
        self.add(show_hash(movie, show_id, capacity));
    }

    /// The show entry (with the capacity it had) left the state.
    pub fn remove_show(&mut self, movie: &str, show_id: &str, capacity: u32) {
        self.sub(show_hash(movie, show_id, capacity));
    }

    /// The booking entry joined the state (`tickets` >= 1).
    pub fn add_booking(&mut self, customer: &str, movie: &str, show_id: &str, tickets: u32) {
        self.add(booking_hash(customer, movie, show_id, tickets));
    }

    /// The booking entry (with the tickets it had) left the state.
    pub fn remove_booking(&mut self, customer: &str, movie: &str, show_id: &str, tickets: u32) {
        self.sub(booking_hash(customer, movie, show_id, tickets));
    }

    /// The digest of a whole state, from scratch (imports, and tests checking the kept one).
    pub fn of(state: &crate::CanonicalState) -> Self {
        let mut d = StateDigest::default();
        for e in &state.shows {
            d.add_show(&e.movie, &e.show_id, e.capacity);
        }
        for b in &state.bookings {
            d.add_booking(&b.customer, &b.movie, &b.show_id, b.tickets);
        }
        d
    }

    /// The four lanes, as `state-digest` returns them.
    pub fn lanes(&self) -> (u64, u64, u64, u64) {
        let [a, b, c, d] = self.0;
        (a, b, c, d)
    }

    fn add(&mut self, h: [u64; 4]) {
        for (lane, x) in self.0.iter_mut().zip(h) {
            *lane = lane.wrapping_add(x);
        }
    }

    fn sub(&mut self, h: [u64; 4]) {
        for (lane, x) in self.0.iter_mut().zip(h) {
            *lane = lane.wrapping_sub(x);
        }
    }
}

fn show_hash(movie: &str, show_id: &str, capacity: u32) -> [u64; 4] {
    let mut h = Sha256::new();
    h.update([1u8]);
    put_str(&mut h, movie);
    put_str(&mut h, show_id);
    h.update(capacity.to_le_bytes());
    lanes(h)
}

fn booking_hash(customer: &str, movie: &str, show_id: &str, tickets: u32) -> [u64; 4] {
    let mut h = Sha256::new();
    h.update([2u8]);
    put_str(&mut h, customer);
    put_str(&mut h, movie);
    put_str(&mut h, show_id);
    h.update(tickets.to_le_bytes());
    lanes(h)
}

fn put_str(h: &mut Sha256, s: &str) {
    h.update((s.len() as u32).to_le_bytes());
    h.update(s.as_bytes());
}

fn lanes(h: Sha256) -> [u64; 4] {
    let bytes: [u8; 32] = h.finalize().into();
    core::array::from_fn(|i| {
        u64::from_le_bytes(bytes[8 * i..8 * i + 8].try_into().expect("8 bytes"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // The test vectors of docs/booking-rules.md §7.1.
    #[test]
    fn matches_the_rules_test_vectors() {
        let mut d = StateDigest::default();
        assert_eq!(d.lanes(), (0, 0, 0, 0));
        d.add_show("Avatar", "ATWM251126", 5);
        assert_eq!(
            d.lanes(),
            (
                0x0743bf35f9ceebab,
                0x712036eea48038f3,
                0x71e8a6a66663aa21,
                0xec786874cfd96c9a
            )
        );
        d.add_booking("ATWC0001", "Avatar", "ATWM251126", 2);
        assert_eq!(
            d.lanes(),
            (
                0xce229bb4cb2e31fb,
                0xb1536852fe8430de,
                0x6b816e1a883648b9,
                0xd1c9effedcbd978b
            )
        );
        // Removing is the inverse of adding, in any order.
        d.remove_show("Avatar", "ATWM251126", 5);
        d.remove_booking("ATWC0001", "Avatar", "ATWM251126", 2);
        assert_eq!(d, StateDigest::default());
    }
}
