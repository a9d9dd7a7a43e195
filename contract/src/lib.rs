//! The replica contract (`wit/replica.wit`) as Rust types. This is the only place outside the
//! guests where the WIT is read: the host calls replicas with these types, and the wire protocol
//! and front end carry them (hence the serde derives).

wasmtime::component::bindgen!({
    path: "../wit",
    world: "replica-world",
    additional_derives: [PartialEq, Eq, serde::Serialize, serde::Deserialize],
});

pub use exports::dmtbs::booking::types::{
    AddShow, Availability, Book, Booked, BookingEntry, BookingError, Cancel, CanonicalState,
    Context, Date, DroppedBooking, Exchange, Exchanged, MovedBooking, Operation, Outcome,
    RemoveShow, Request, Schedule, ScheduledBooking, ShowEntry, ShowRemaining, ShowRemoved,
    StateError, StateFault, StateSection, Success,
};

impl CanonicalState {
    /// The state of a replica that has applied nothing.
    pub fn empty() -> Self {
        CanonicalState {
            shows: Vec::new(),
            bookings: Vec::new(),
        }
    }

    /// Shows plus bookings: the size that import cost scales with.
    pub fn entries(&self) -> usize {
        self.shows.len() + self.bookings.len()
    }
}

impl Operation {
    /// The user ID of the caller, whatever the operation.
    pub fn actor(&self) -> &str {
        match self {
            Operation::AddShow(o) => &o.actor,
            Operation::RemoveShow(o) => &o.actor,
            Operation::Availability(o) => &o.actor,
            Operation::Book(o) => &o.actor,
            Operation::Schedule(o) => &o.actor,
            Operation::Cancel(o) => &o.actor,
            Operation::Exchange(o) => &o.actor,
        }
    }
}
