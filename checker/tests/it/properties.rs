//! Property: a history made by running random operations through the model one at a time, each
//! at a moment inside its own call–return interval (intervals overlapping or not, some answers
//! lost), is always accepted.

use std::time::Duration;

use dmtbs_checker::check;
use dmtbs_checker::simulate::{Planned, history};
use dmtbs_contract::Operation;
use proptest::prelude::*;

use crate::{TODAY, add_show, availability, book, cancel, exchange, remove_show, schedule};

const MOVIES: [&str; 2] = ["Avatar", "Titanic"];
const SHOWS: [&str; 6] = [
    "ATWM241126",
    "ATWE251126",
    "VERM251126",
    "VERE251126",
    "OUTA251126",
    "ATWM301126",
];
const CUSTOMERS: [&str; 4] = ["ATWC0001", "ATWC0002", "VERC0003", "OUTC0004"];

fn admin_of(show: &str) -> String {
    format!("{}A0001", &show[..3])
}

/// A random operation over a few shows and customers, so that they collide.
fn operation() -> impl Strategy<Value = Operation> {
    let movie = prop::sample::select(&MOVIES[..]);
    let show = prop::sample::select(&SHOWS[..]);
    let customer = prop::sample::select(&CUSTOMERS[..]);
    prop_oneof![
        2 => (movie.clone(), show.clone(), 1..6u32)
            .prop_map(|(m, s, c)| add_show(&admin_of(s), m, s, c)),
        1 => (movie.clone(), show.clone()).prop_map(|(m, s)| remove_show(&admin_of(s), m, s)),
        2 => (customer.clone(), movie.clone()).prop_map(|(c, m)| availability(c, m)),
        5 => (customer.clone(), movie.clone(), show.clone(), 1..4u32)
            .prop_map(|(c, m, s, t)| book(c, m, s, t)),
        1 => customer.clone().prop_map(schedule),
        2 => (customer.clone(), movie.clone(), show.clone(), 1..3u32)
            .prop_map(|(c, m, s, t)| cancel(c, m, s, t)),
        1 => (customer, movie.clone(), show.clone(), movie, show, 1..3u32)
            .prop_map(|(c, m1, s1, m2, s2, t)| exchange(c, (m1, s1), (m2, s2), t)),
    ]
}

/// An operation with its timing: how long before its effect it was sent, how long after its
/// effect it was answered, and its fate (0: answered, 1: unanswered but took effect, 2: never
/// took effect).
fn planned() -> impl Strategy<Value = (Operation, u64, u64, u8)> {
    (
        operation(),
        0..40u64,
        0..40u64,
        prop::sample::select(&[0u8, 0, 0, 0, 0, 0, 1, 2][..]),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn histories_consistent_with_a_sequential_run_are_accepted(
        ops in prop::collection::vec(planned(), 1..60),
    ) {
        // The i-th operation takes effect at 10·i ms; leads and lags up to 40 ms overlap it
        // with its neighbours.
        let plan: Vec<Planned> = ops
            .into_iter()
            .enumerate()
            .map(|(i, (operation, lead, lag, fate))| {
                let at = 100 + 10 * i as u64;
                Planned {
                    client: i as u32 % 8,
                    today: TODAY,
                    operation,
                    invoke: Duration::from_millis(at - lead),
                    effect: (fate != 2).then(|| Duration::from_millis(at)),
                    answer: (fate == 0).then(|| Duration::from_millis(at + lag)),
                }
            })
            .collect();
        let history = history(&plan);
        let report = check(&history);
        prop_assert!(report.is_linearizable(), "{report}\\n{history:#?}");
    }
}
