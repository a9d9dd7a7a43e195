//! The checker's tests: the model on the rules' examples, histories the checker must reject and
//! accept, the partitioning, and a property test over generated histories.

mod histories;
mod model;
mod partition;
mod properties;

use std::time::Duration;

use dmtbs_checker::{Completion, History, Op};
use dmtbs_contract::{
    AddShow, Availability, Book, Cancel, Date, Exchange, Operation, Outcome, RemoveShow, Schedule,
};

/// The rules' examples' day (rules §8): Tuesday 2026-11-24, week 48 runs 23–29 Nov.
pub const TODAY: Date = Date {
    year: 2026,
    month: 11,
    day: 24,
};

pub fn add_show(actor: &str, movie: &str, show: &str, capacity: u32) -> Operation {
    Operation::AddShow(AddShow {
        actor: actor.into(),
        movie: movie.into(),
        show_id: show.into(),
        capacity,
    })
}

pub fn remove_show(actor: &str, movie: &str, show: &str) -> Operation {
    Operation::RemoveShow(RemoveShow {
        actor: actor.into(),
        movie: movie.into(),
        show_id: show.into(),
    })
}

pub fn availability(actor: &str, movie: &str) -> Operation {
    Operation::Availability(Availability {
        actor: actor.into(),
        movie: movie.into(),
    })
}

/// A customer booking for itself.
pub fn book(customer: &str, movie: &str, show: &str, tickets: u32) -> Operation {
    Operation::Book(Book {
        actor: customer.into(),
        customer: customer.into(),
        movie: movie.into(),
        show_id: show.into(),
        tickets,
    })
}

pub fn schedule(customer: &str) -> Operation {
    Operation::Schedule(Schedule {
        actor: customer.into(),
        customer: customer.into(),
    })
}

pub fn cancel(customer: &str, movie: &str, show: &str, tickets: u32) -> Operation {
    Operation::Cancel(Cancel {
        actor: customer.into(),
        customer: customer.into(),
        movie: movie.into(),
        show_id: show.into(),
        tickets,
    })
}

pub fn exchange(customer: &str, old: (&str, &str), new: (&str, &str), tickets: u32) -> Operation {
    Operation::Exchange(Exchange {
        actor: customer.into(),
        customer: customer.into(),
        old_movie: old.0.into(),
        old_show_id: old.1.into(),
        new_movie: new.0.into(),
        new_show_id: new.1.into(),
        tickets,
    })
}

/// Builds a history by hand: times in milliseconds.
#[derive(Default)]
pub struct Hist(pub History);

impl Hist {
    /// An operation of `client` sent at `from` and answered `outcome` at `to`.
    pub fn op(
        mut self,
        client: u32,
        from: u64,
        to: u64,
        operation: Operation,
        outcome: Outcome,
    ) -> Self {
        self.0.push(Op {
            client,
            today: TODAY,
            operation,
            invoke: Duration::from_millis(from),
            completion: Completion::Returned {
                at: Duration::from_millis(to),
                outcome,
            },
        });
        self
    }

    /// An operation of `client` sent at `from` and never answered.
    pub fn unknown(mut self, client: u32, from: u64, operation: Operation) -> Self {
        self.0.push(Op {
            client,
            today: TODAY,
            operation,
            invoke: Duration::from_millis(from),
            completion: Completion::Unknown,
        });
        self
    }
}
