//! What a std module sees of the host (built for `wasm32-wasip2` with std, so it imports WASI):
//! every answer reports the wall clock, the monotonic clock, the environment and the arguments,
//! and the exported state lists keys in `HashMap` iteration order with hashes from std's
//! randomly keyed hasher. On a deterministic host all of that is the same on every instance.

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

wit_bindgen::generate!({
    path: "../wit", // replicas-wasm/wit, a link to the repository's wit/
    world: "replica-world",
});

use exports::dmtbs::booking::replica::Guest;
use exports::dmtbs::booking::types::{
    Booked, BookingEntry, CanonicalState, Outcome, Request, StateError, Success,
};

thread_local! {
    /// Keys seen, in a map whose iteration order depends on its hasher's random keys.
    static SEEN: RefCell<HashMap<String, u64>> = RefCell::new(HashMap::new());
    static HASHER: RandomState = RandomState::new();
}

struct Probe;

impl Guest for Probe {
    fn apply(req: Request) -> Outcome {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(u32::MAX, |d| d.as_secs() as u32);
        let started = Instant::now();
        let env = std::env::vars().count() + std::env::args().count();
        let key = format!("ATWC{:04}", req.context.seq % 10_000);
        let hash = HASHER.with(|h| h.hash_one(&key));
        SEEN.with(|seen| seen.borrow_mut().insert(key, hash));
        println!("std-probe: request {} at {wall}", req.context.seq);
        eprintln!("std-probe: {env} environment entries");
        let monotonic = started.elapsed().as_nanos() as u32;
        // held: the wall clock's seconds (0 when frozen at the epoch); remaining: the
        // environment and argument count plus the monotonic time spent (0 when closed and frozen).
        Ok(Success::Booked(Booked {
            held: wall,
            remaining: env as u32 + monotonic,
        }))
    }

    /// Walks the whole state (a probe, not a replica: it need not be cheap), as §7.1 adds up.
    fn state_digest() -> (u64, u64, u64, u64) {
        let mut lanes = [0u64; 4];
        for b in Self::export_state().bookings {
            let mut h = Sha256::new();
            h.update([2u8]);
            for s in [&b.customer, &b.movie, &b.show_id] {
                h.update((s.len() as u32).to_le_bytes());
                h.update(s.as_bytes());
            }
            h.update(b.tickets.to_le_bytes());
            let bytes: [u8; 32] = h.finalize().into();
            for (i, lane) in lanes.iter_mut().enumerate() {
                let x = u64::from_le_bytes(bytes[8 * i..8 * i + 8].try_into().expect("8 bytes"));
                *lane = lane.wrapping_add(x);
            }
        }
        (lanes[0], lanes[1], lanes[2], lanes[3])
    }

    fn export_state() -> CanonicalState {
        let bookings = SEEN.with(|seen| {
            seen.borrow()
                .iter()
                .map(|(key, hash)| BookingEntry {
                    customer: key.clone(),
                    movie: "Avatar".into(),
                    show_id: "ATWM011226".into(),
                    tickets: (*hash as u32) | 1,
                })
                .collect()
        });
        CanonicalState {
            shows: Vec::new(),
            bookings,
        }
    }

    fn import_state(_state: CanonicalState) -> Result<(), StateError> {
        SEEN.with(|seen| seen.borrow_mut().clear());
        Ok(())
    }
}

export!(Probe);
