//! The state digest (docs/booking-rules.md §7.1): an additive multiset hash, the lane-wise
//! wrapping sum of one SHA-256 per canonical entry. Adding or removing an entry adds or
//! subtracts its hash, so the store keeps the digest up to date in each fold and answers it
//! without looking at the state.

use sha2::{Digest as _, Sha256};

use crate::exports::dmtbs::booking::types::CanonicalState;
use crate::lexicon::{Show, UserId};

/// Four `u64` lanes, each summed modulo 2^64. The empty state's digest is all zeros.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Digest(pub [u64; 4]);

impl Digest {
    pub fn add(&mut self, h: [u64; 4]) {
        for (lane, x) in self.0.iter_mut().zip(h) {
            *lane = lane.wrapping_add(x);
        }
    }

    pub fn sub(&mut self, h: [u64; 4]) {
        for (lane, x) in self.0.iter_mut().zip(h) {
            *lane = lane.wrapping_sub(x);
        }
    }

    pub fn lanes(self) -> (u64, u64, u64, u64) {
        let [a, b, c, d] = self.0;
        (a, b, c, d)
    }

    /// The digest of a whole canonical state, walked: the reference the kept digest is tested
    /// against, never the answer to `state-digest`.
    pub fn of_state(state: &CanonicalState) -> Digest {
        let mut d = Digest::default();
        for s in &state.shows {
            d.add(entry_hash(&show_encoding(&s.movie, &s.show_id, s.capacity)));
        }
        for b in &state.bookings {
            d.add(entry_hash(&booking_encoding(
                &b.customer,
                &b.movie,
                &b.show_id,
                b.tickets,
            )));
        }
        d
    }
}

/// A string as its UTF-8 byte length (`u32`, little-endian) then its bytes.
fn put_str(out: &mut Vec<u8>, s: &str) {
    // Entry strings are at most 10 bytes here; the contract's strings could not exceed u32.
    let len = u32::try_from(s.len()).expect("string length fits u32");
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// A show entry's encoding: `0x01`, movie, show ID, capacity.
pub fn show_encoding(movie: &str, show_id: &str, capacity: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + 4 + 8 + 4 + 10 + 4);
    out.push(0x01);
    put_str(&mut out, movie);
    put_str(&mut out, show_id);
    out.extend_from_slice(&capacity.to_le_bytes());
    out
}

/// A booking entry's encoding: `0x02`, customer, movie, show ID, tickets.
pub fn booking_encoding(customer: &str, movie: &str, show_id: &str, tickets: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 + 4 + 8 + 4 + 8 + 4 + 10 + 4);
    out.push(0x02);
    put_str(&mut out, customer);
    put_str(&mut out, movie);
    put_str(&mut out, show_id);
    out.extend_from_slice(&tickets.to_le_bytes());
    out
}

/// SHA-256 of an encoding, read as four little-endian `u64` lanes.
pub fn entry_hash(encoding: &[u8]) -> [u64; 4] {
    let h = Sha256::digest(encoding);
    std::array::from_fn(|i| {
        let lane: [u8; 8] = h[8 * i..8 * i + 8].try_into().expect("8 bytes");
        u64::from_le_bytes(lane)
    })
}

/// The hash of a show's entry, from the very strings export emits for it.
pub fn show_hash(show: &Show, capacity: u32) -> [u64; 4] {
    entry_hash(&show_encoding(show.movie.name(), show.id_str(), capacity))
}

/// The hash of a booking's entry, from the very strings export emits for it.
pub fn booking_hash(customer: &UserId, show: &Show, tickets: u32) -> [u64; 4] {
    entry_hash(&booking_encoding(
        customer.as_str(),
        show.movie.name(),
        show.id_str(),
        tickets,
    ))
}
