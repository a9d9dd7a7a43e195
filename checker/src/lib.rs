//! Decides whether what DMTBS's clients observed is **linearizable**: whether some total order
//! of their operations, consistent with real time (an operation answered before another was
//! sent comes first), gives every client exactly the answer it saw when the booking rules are
//! applied in that order. That is what the service promises — one total order, executed by
//! every replica — seen from outside, through crashes, failovers and retries.
//!
//! ```
//! use std::time::Duration;
//! use dmtbs_checker::{Completion, History, Op, check};
//! use dmtbs_contract::{AddShow, Date, Operation, Success};
//!
//! let today = Date { year: 2026, month: 11, day: 24 };
//! let mut history = History::new();
//! history.push(Op {
//!     client: 1,
//!     today,
//!     operation: Operation::AddShow(AddShow {
//!         actor: "ATWA0001".into(),
//!         movie: "Avatar".into(),
//!         show_id: "ATWM251126".into(),
//!         capacity: 10,
//!     }),
//!     invoke: Duration::from_millis(0),
//!     completion: Completion::Returned {
//!         at: Duration::from_millis(5),
//!         outcome: Ok(Success::ShowAdded),
//!     },
//! });
//! let report = check(&history);
//! assert!(report.is_linearizable(), "{report}");
//! ```
//!
//! Layout:
//! - `ids`: the rules' names (user, movie, show ID, dates) parsed into small ordered values;
//! - [`model`]: the booking rules as a sequential model — the oracle, written from the rules
//!   alone, independent of the four replica implementations;
//! - [`history`]: [`History`], [`Op`], [`Completion`]: what clients observed;
//! - `partition`: splits a history into parts that share no state (the soundness argument is
//!   there), so each is searched alone;
//! - [`search`]: the Wing & Gong / Lowe search with its cache, the budget ([`Limits`]) and the
//!   [`Explanation`] of a failure;
//! - [`simulate`]: histories linearizable by construction, for tests and benchmarks.

pub mod history;
mod ids;
pub mod model;
mod partition;
pub mod search;
pub mod simulate;

pub use history::{Completion, History, Op};
pub use model::Model;
pub use partition::partition;
pub use search::{Explanation, Limits, Report, Verdict, check, check_with};
