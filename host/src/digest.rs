//! The host-side digest of a canonical state: how replicas compare states without shipping them.

use sha2::{Digest, Sha256};

use crate::contract::CanonicalState;

/// SHA-256 over an unambiguous encoding of a canonical state (every string length-prefixed,
/// every list count-prefixed, integers little-endian). Equal states ⇔ equal digests, whatever
/// implementation exported them.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct StateDigest(pub [u8; 32]);

impl StateDigest {
    pub fn of(state: &CanonicalState) -> Self {
        let mut h = Sha256::new();
        // Format tag: bump it if the encoding below ever changes.
        h.update(b"dmtbs-state-v1");
        h.update((state.shows.len() as u64).to_le_bytes());
        for show in &state.shows {
            put_str(&mut h, &show.movie);
            put_str(&mut h, &show.show_id);
            h.update(show.capacity.to_le_bytes());
        }
        h.update((state.bookings.len() as u64).to_le_bytes());
        for booking in &state.bookings {
            put_str(&mut h, &booking.customer);
            put_str(&mut h, &booking.movie);
            put_str(&mut h, &booking.show_id);
            h.update(booking.tickets.to_le_bytes());
        }
        StateDigest(h.finalize().into())
    }
}

fn put_str(h: &mut Sha256, s: &str) {
    h.update((s.len() as u32).to_le_bytes());
    h.update(s.as_bytes());
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
    fn field_boundaries_are_part_of_the_digest() {
        // Concatenating fields without lengths would make these two collide.
        let a = state(&[("Avatar", "ATWM251126", 5)], &[]);
        let b = state(&[("AvatarATWM", "251126", 5)], &[]);
        assert_ne!(StateDigest::of(&a), StateDigest::of(&b));
        assert_eq!(StateDigest::of(&a).to_string().len(), 64);
    }
}
