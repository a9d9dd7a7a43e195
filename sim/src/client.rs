//! The workload: closed-loop clients sending random booking operations through the front end.
//! Few shows, customers and admins, small capacities, dates around `today` (past, in and
//! beyond the booking window), so that operations conflict and answers depend on the order.

use std::time::Duration;

use dmtbs_contract::{
    AddShow, Availability, Book, Cancel, Date, Exchange, Operation, RemoveShow, Schedule,
};
use rand::Rng;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;

/// The sequencer's date in every run (the rules' only clock).
pub const TODAY: Date = Date {
    year: 2026,
    month: 12,
    day: 7,
};

const MOVIES: [&str; 2] = ["Avatar", "Titanic"];
const CUSTOMERS: [&str; 4] = ["ATWC0001", "ATWC0002", "VERC0001", "OUTC0001"];
/// Show ids: area, slot, then the day relative to `TODAY` (-1: past; 9: beyond the window).
const SHOWS: [(&str, char, i32); 6] = [
    ("ATW", 'M', 0),
    ("ATW", 'E', 2),
    ("VER", 'A', 1),
    ("OUT", 'M', 6),
    ("ATW", 'A', -1),
    ("ATW", 'E', 9),
];

fn show_id(rng: &mut ChaCha8Rng) -> String {
    let (area, slot, offset) = *SHOWS.choose(rng).expect("shows");
    // December 2026 has 31 days and the offsets stay inside it.
    let day = TODAY.day as i32 + offset;
    format!(
        "{area}{slot}{day:02}{:02}{:02}",
        TODAY.month,
        TODAY.year % 100
    )
}

/// A random operation (seeded): what a client sends next.
pub fn random_operation(rng: &mut ChaCha8Rng) -> Operation {
    let movie = MOVIES.choose(rng).expect("movies").to_string();
    let show = show_id(rng);
    let customer = CUSTOMERS.choose(rng).expect("customers").to_string();
    // Admins act in their own area (mostly) — one of another area now and then.
    let admin = |rng: &mut ChaCha8Rng, show: &str| {
        if rng.random_range(0..10) == 0 {
            "VERA0001".to_string()
        } else {
            format!("{}A0001", &show[..3])
        }
    };
    let tickets = rng.random_range(1..=3);
    match rng.random_range(0..100) {
        0..16 => Operation::AddShow(AddShow {
            actor: admin(rng, &show),
            movie,
            show_id: show,
            capacity: rng.random_range(1..=4),
        }),
        16..20 => Operation::RemoveShow(RemoveShow {
            actor: admin(rng, &show),
            movie,
            show_id: show,
        }),
        20..55 => Operation::Book(Book {
            actor: customer.clone(),
            customer,
            movie,
            show_id: show,
            tickets,
        }),
        55..67 => Operation::Cancel(Cancel {
            actor: customer.clone(),
            customer,
            movie,
            show_id: show,
            tickets,
        }),
        67..75 => Operation::Exchange(Exchange {
            actor: customer.clone(),
            customer,
            old_movie: movie,
            old_show_id: show,
            new_movie: MOVIES.choose(rng).expect("movies").to_string(),
            new_show_id: show_id(rng),
            tickets,
        }),
        75..88 => Operation::Availability(Availability {
            actor: customer,
            movie,
        }),
        _ => Operation::Schedule(Schedule {
            actor: customer.clone(),
            customer,
        }),
    }
}

/// One operation of a client, from its first try to its final answer (retries with the same
/// idempotency key are the same operation, as in the process tests' recorder).
#[derive(Clone, Debug)]
pub struct ClientOp {
    pub client: u32,
    pub operation: Operation,
    /// The client's idempotency key, if it gave one (only then does it retry).
    pub key: Option<String>,
    pub invoke: Duration,
    /// Tries so far.
    pub attempts: u32,
    /// The answer, once there is one: when, and what the voter decided.
    pub answer: Option<Answered>,
}

/// What the front end answered.
#[derive(Clone, Debug)]
pub struct Answered {
    pub at: Duration,
    pub epoch: dmtbs_proto::Epoch,
    pub seq: u64,
    pub outcome: dmtbs_contract::Outcome,
    pub replay_of: Option<dmtbs_proto::Replay>,
}

/// Tries a client makes for an operation with a key before it gives up (its outcome then
/// stays unknown).
pub const MAX_ATTEMPTS: u32 = 3;
/// How long a client waits for an answer before it gives up on a try.
pub const CLIENT_TIMEOUT: Duration = Duration::from_millis(2_500);
