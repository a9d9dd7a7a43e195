//! How long checking a 10,000-operation history of 8 concurrent clients takes (the figure in
//! `docs/testing.md`). Not a test: it prints the time.
//!
//! ```sh
//! cargo run --release -p dmtbs-checker --example check_history [-- SEED]
//! ```
//!
//! Client 0 adds 48 shows (3 areas, 2 movies, 8 slots of the week; 40 seats each), then every
//! client sends operations one after another — books (half of them), cancels, exchanges,
//! availability reads, schedules — for 360 customers (120 in each area), so shows fill up and answers depend on
//! the order. Each operation takes effect at a random moment between its call and its answer
//! (up to 3 ms each way); 1 % get no answer, half of those never taking effect.

use std::time::{Duration, Instant};

use dmtbs_checker::simulate::{Planned, history};
use dmtbs_checker::{Verdict, check};
use dmtbs_contract::{AddShow, Availability, Book, Cancel, Date, Exchange, Operation, Schedule};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};

const OPERATIONS: usize = 10_000;
const CLIENTS: u32 = 8;
const CUSTOMERS: u16 = 120;
const TODAY: Date = Date {
    year: 2026,
    month: 11,
    day: 24,
};

fn main() {
    let seed = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| rand::rng().random());
    println!("seed {seed} (pass it as the argument to replay)");
    let mut rng = StdRng::seed_from_u64(seed);
    let shows: Vec<(&str, String)> = ["ATW", "OUT", "VER"]
        .iter()
        .flat_map(|area| {
            (24..=27)
                .flat_map(move |day| ["M", "E"].map(move |slot| format!("{area}{slot}{day}1126")))
        })
        .flat_map(|id| [("Avatar", id.clone()), ("Titanic", id)])
        .collect();
    let mut plan: Vec<Planned> = Vec::with_capacity(OPERATIONS);
    let mut clock = [Duration::ZERO; CLIENTS as usize];
    let ms = |rng: &mut StdRng, max: u64| Duration::from_micros(rng.random_range(0..max * 1000));
    let mut next = 0;
    while plan.len() < OPERATIONS {
        let client = next % CLIENTS;
        next += 1;
        let operation = if plan.len() < shows.len() && client == 0 {
            let (movie, id) = &shows[plan.len()];
            Operation::AddShow(AddShow {
                actor: format!("{}A0001", &id[..3]),
                movie: (*movie).into(),
                show_id: id.clone(),
                capacity: 40,
            })
        } else {
            random_operation(&mut rng, &shows)
        };
        let c = client as usize;
        let invoke = clock[c] + ms(&mut rng, 2);
        let effect = invoke + ms(&mut rng, 3);
        let answer = effect + ms(&mut rng, 3);
        clock[c] = answer;
        let fate = rng.random_range(0..200);
        plan.push(Planned {
            client,
            today: TODAY,
            operation,
            invoke,
            effect: (fate != 0).then_some(effect),
            answer: (fate > 1).then_some(answer),
        });
    }
    let history = history(&plan);
    let unanswered = history.ops.iter().filter(|o| o.outcome().is_none()).count();
    let started = Instant::now();
    let report = check(&history);
    let took = started.elapsed();
    println!(
        "{} operations, {CLIENTS} clients, {unanswered} unanswered: {report}",
        history.len()
    );
    println!("checked in {took:?}");
    assert!(matches!(report.verdict, Verdict::Linearizable), "{report}");
}

fn random_operation(rng: &mut StdRng, shows: &[(&str, String)]) -> Operation {
    let customer = format!(
        "{}C{:04}",
        ["ATW", "OUT", "VER"].choose(rng).expect("three areas"),
        rng.random_range(0..CUSTOMERS)
    );
    let (movie, show) = shows.choose(rng).expect("shows");
    let (movie, show) = ((*movie).to_owned(), show.clone());
    let tickets = rng.random_range(1..=3);
    let actor = customer.clone();
    match rng.random_range(0..100) {
        0..50 => Operation::Book(Book {
            actor,
            customer,
            movie,
            show_id: show,
            tickets,
        }),
        50..65 => Operation::Cancel(Cancel {
            actor,
            customer,
            movie,
            show_id: show,
            tickets,
        }),
        65..70 => {
            let (new_movie, new_show) = shows.choose(rng).expect("shows");
            Operation::Exchange(Exchange {
                actor,
                customer,
                old_movie: movie,
                old_show_id: show,
                new_movie: (*new_movie).to_owned(),
                new_show_id: new_show.clone(),
                tickets,
            })
        }
        70..85 => Operation::Availability(Availability { actor, movie }),
        _ => Operation::Schedule(Schedule { actor, customer }),
    }
}
