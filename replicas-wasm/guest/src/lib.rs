//! Plumbing shared by every DMTBS replica implementation — and nothing of the booking rules.
//!
//! An implementation is a plain Rust type implementing [`Replica`]; `export_replica!(Type)`
//! turns it into the component's exports. This crate supplies what a `no_std` component needs
//! to have zero imports (allocator, panic handler, `cabi_realloc`), the contract's types
//! generated from `wit/`, and the fault-injection layer used to build faulty variants
//! (cargo features `fault-*`, one at a time).
//!
//! Layout:
//! - [`bindings`]: the WIT contract as Rust types (`wit-bindgen`).
//! - [`Replica`] and [`export_replica!`]: the seam between plumbing and an implementation.
//! - [`StateDigest`]: the contract's state digest (rules §7.1), kept by each implementation.
//! - [`rng`]: SplitMix64, for the implementations' seeded tests.
//! - `faults`: the generic faulty behaviours, compiled in only by a `fault-*` feature.
//! - `rt`: allocator, panic handler and `cabi_realloc` for `wasm32`.
#![no_std]

extern crate alloc;

#[doc(hidden)]
pub mod bindings {
    wit_bindgen::generate!({
        // `replicas-wasm/wit` links to the repository's `wit/`: a `cp -rL` copy of
        // `replicas-wasm/` holds its own and builds anywhere.
        path: "../wit",
        world: "replica-world",
        pub_export_macro: true,
        default_bindings_module: "dmtbs_guest::bindings",
    });
}

mod digest;
mod faults;
pub mod rng;
#[cfg(target_arch = "wasm32")]
mod rt;

pub use digest::StateDigest;

pub use bindings::exports::dmtbs::booking::types::{
    AddShow, Availability, Book, Booked, BookingEntry, BookingError, Cancel, CanonicalState,
    Context, Date, DroppedBooking, Exchange, Exchanged, MovedBooking, Operation, Outcome,
    RemoveShow, Request, Schedule, ScheduledBooking, ShowEntry, ShowRemaining, ShowRemoved,
    StateError, StateFault, StateSection, Success,
};

/// One replica implementation of the booking rules. `Default` is the empty state (no shows).
pub trait Replica: Default {
    /// Apply one sequenced request (rules §5) and return its result.
    fn apply(&mut self, req: Request) -> Outcome;
    /// The whole state, canonical (rules §7).
    fn export_state(&self) -> CanonicalState;
    /// Replace the whole state; on a malformed state return the first fault and change nothing.
    fn import_state(&mut self, state: CanonicalState) -> Result<(), StateError>;
    /// The digest of the current state (rules §7.1), kept up to date as the state changes:
    /// answering must not cost time in proportion to the state.
    fn state_digest(&self) -> StateDigest;
}

#[doc(hidden)]
pub mod glue {
    //! What `export_replica!` expands to calls into here, so that the fault layer is compiled
    //! with this crate's features rather than the implementation's.
    use super::*;
    use core::cell::RefCell;

    /// The one replica instance of this component. Wasm components are single-threaded, so a
    /// `RefCell` in a static is sound; `Sync` is asserted for that reason only.
    pub struct Slot<T>(RefCell<Option<T>>);
    // SAFETY: a component instance runs on one thread and never shares its memory.
    unsafe impl<T> Sync for Slot<T> {}

    impl<T: Replica> Default for Slot<T> {
        fn default() -> Self {
            Self::new()
        }
    }

    impl<T: Replica> Slot<T> {
        /// `const`, for the `static` the export macro declares (`Default` is not `const`).
        pub const fn new() -> Self {
            Slot(RefCell::new(None))
        }
        fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
            let mut slot = self.0.borrow_mut();
            f(slot.get_or_insert_with(T::default))
        }
        pub fn apply(&self, req: Request) -> Outcome {
            self.with(|r| crate::faults::apply(r, req))
        }
        pub fn export_state(&self) -> CanonicalState {
            self.with(|r| crate::faults::export_state(r.export_state()))
        }
        pub fn import_state(&self, state: CanonicalState) -> Result<(), StateError> {
            self.with(|r| r.import_state(state))
        }
        pub fn state_digest(&self) -> (u64, u64, u64, u64) {
            self.with(|r| crate::faults::state_digest(r.state_digest()).lanes())
        }
    }
}

/// Export `$ty` (a [`Replica`]) as this component's `dmtbs:booking/replica` interface.
/// Expands to nothing off `wasm32`, so implementations can be unit-tested natively.
#[macro_export]
macro_rules! export_replica {
    ($ty:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            static SLOT: $crate::glue::Slot<$ty> = $crate::glue::Slot::new();
            struct Component;
            impl $crate::bindings::exports::dmtbs::booking::replica::Guest for Component {
                fn apply(req: $crate::Request) -> $crate::Outcome {
                    SLOT.apply(req)
                }
                fn export_state() -> $crate::CanonicalState {
                    SLOT.export_state()
                }
                fn import_state(state: $crate::CanonicalState) -> Result<(), $crate::StateError> {
                    SLOT.import_state(state)
                }
                fn state_digest() -> (u64, u64, u64, u64) {
                    SLOT.state_digest()
                }
            }
    $crate::bindings::export!(Component with_types_in $crate::bindings);
        };
    };
}
