//! Faulty behaviours for tests and demos, compiled in by one `fault-*` feature. Without one,
//! [`apply`] is a plain call. The faults are generic (any implementation can carry them); a
//! *plausible logic bug* lives inside an implementation instead (see docs/replicas.md).
#[allow(unused_imports)] // `Operation` is only used by some fault features.
use crate::{Operation, Outcome, Replica, Request};

/// Requests applied by this instance so far (a fresh instance starts at 0).
#[cfg(feature = "fault-panic")]
static APPLIED: core::sync::atomic::AtomicU32 = core::sync::atomic::AtomicU32::new(0);

/// The instance panics on this request (counting from 1).
#[cfg(feature = "fault-panic")]
pub const PANIC_AT: u32 = 50;

pub fn apply<T: Replica>(replica: &mut T, req: Request) -> Outcome {
    #[cfg(feature = "fault-panic")]
    {
        use core::sync::atomic::Ordering;
        if APPLIED.fetch_add(1, Ordering::Relaxed) + 1 >= PANIC_AT {
            panic!("fault-panic: request {PANIC_AT} reached");
        }
    }
    #[cfg(feature = "fault-loop")]
    if let Operation::Availability(a) = &req.operation {
        if a.movie == "Titanic" {
            spin_forever();
        }
    }
    #[cfg(feature = "fault-memory")]
    if let Operation::Schedule(_) = &req.operation {
        hoard_memory();
    }
    #[cfg(feature = "fault-random")]
    let seq = req.context.seq;
    #[cfg(feature = "fault-corrupt")]
    CORRUPTED.store(true, core::sync::atomic::Ordering::Relaxed);
    let outcome = replica.apply(req);
    #[cfg(feature = "fault-random")]
    let outcome = random_outcome(seq, outcome);
    outcome
}

/// Set by the first request a `fault-corrupt` instance applies: the corruption is latent,
/// so the state it is given (an import) is taken faithfully and goes bad only as it works.
#[cfg(feature = "fault-corrupt")]
static CORRUPTED: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// The latent corruption of `fault-corrupt`: answers stay right, but once it has applied a
/// request the state the instance holds (as its export and its digest show it) carries a show
/// nobody added — what only a comparison of states or digests can catch.
#[cfg(feature = "fault-corrupt")]
pub fn export_state(mut state: crate::CanonicalState) -> crate::CanonicalState {
    if CORRUPTED.load(core::sync::atomic::Ordering::Relaxed) {
        state.shows.push(crate::ShowEntry {
            movie: alloc::string::String::from("Phantom"),
            show_id: alloc::string::String::from("ATWE010100"),
            capacity: 1,
        });
    }
    state
}

/// The corrupt instance's digest covers the phantom show too: it holds what it exports.
#[cfg(feature = "fault-corrupt")]
pub fn state_digest(mut digest: crate::StateDigest) -> crate::StateDigest {
    if CORRUPTED.load(core::sync::atomic::Ordering::Relaxed) {
        digest.add_show("Phantom", "ATWE010100", 1);
    }
    digest
}

#[cfg(not(feature = "fault-corrupt"))]
pub fn state_digest(digest: crate::StateDigest) -> crate::StateDigest {
    digest
}

#[cfg(not(feature = "fault-corrupt"))]
pub fn export_state(state: crate::CanonicalState) -> crate::CanonicalState {
    state
}

#[cfg(feature = "fault-loop")]
fn spin_forever() -> ! {
    let mut x: u64 = 1;
    loop {
        // `black_box` keeps the optimiser from proving the loop has no effect.
        x = core::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
    }
}

#[cfg(feature = "fault-memory")]
fn hoard_memory() {
    let mut hoard = alloc::vec::Vec::new();
    loop {
        let chunk = alloc::vec![1u8; 1 << 20];
        hoard.push(core::hint::black_box(chunk));
    }
}

/// The course's "software failure": a result unrelated to the request, the same on every run.
#[cfg(feature = "fault-random")]
fn random_outcome(seq: u64, _correct: Outcome) -> Outcome {
    use crate::{Booked, BookingError, Success};
    // A fixed function of the sequence number, so runs are reproducible.
    let z = crate::rng::SplitMix64::new(seq).next_u64();
    let n = (z >> 8) as u32 % 10_000;
    match z % 4 {
        0 => Err(BookingError::ShowFull(n + 10_001)),
        1 => Err(BookingError::TooManyTickets(n + 10_001)),
        2 => Ok(Success::Booked(Booked {
            held: n + 10_001,
            remaining: n,
        })),
        _ => Ok(Success::Cancelled(n + 10_001)),
    }
}
