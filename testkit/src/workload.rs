//! Realistic random traffic for the differential tests, benchmarks and demo.
//!
//! Three areas, three movies, a few dozen customers and an admin per area; shows dated from a few
//! days in the past to beyond the window; small capacities so shows fill up; customers booking
//! in other areas (weekly limit, same show elsewhere); admins acting for customers; cancels and
//! exchanges aimed at bookings that probably exist; a few percent of malformed IDs, unknown movies
//! and out-of-range counts. `today` moves forward a day every several hundred requests. Everything
//! follows from the seed.
//!
//! [`Workload::wide`] reaches further, for the differential's coverage gate: `today` also moves
//! backwards, jumps weeks ahead and lands on year ends and leap days; every kind of malformed
//! date; 40 customers an area, capacities up to 40 and tickets up to 10.

use dmtbs_host::contract::{Date, Operation, Request};

use crate::build::{self, add_days, date, show_id};
use crate::rng::Rng;

pub const AREAS: [&str; 3] = ["ATW", "VER", "OUT"];
pub const MOVIES: [&str; 3] = ["Avatar", "Avengers", "Titanic"];
const SLOTS: [char; 3] = ['M', 'A', 'E'];
/// Customers per area.
const CUSTOMERS: u32 = 8;
/// How many recent bookings the generator remembers to aim cancels and exchanges at.
const MEMORY: usize = 400;
/// Admins per area (`ATWA0001`, `ATWA0002`, …).
const ADMINS: u32 = 2;

/// Every well-formed user ID a workload acts as: each area's admins and customers. Tools that
/// replay workloads through the front end need a token for each.
pub fn users() -> Vec<String> {
    AREAS
        .iter()
        .flat_map(|area| {
            let admins = (1..=ADMINS).map(move |n| format!("{area}A{n:04}"));
            let customers = (1..=CUSTOMERS).map(move |n| format!("{area}C{n:04}"));
            admins.chain(customers)
        })
        .collect()
}

/// An endless, seeded stream of sequenced requests.
pub struct Workload {
    rng: Rng,
    seq: u64,
    today: Date,
    /// (customer, movie, show ID) of recent book attempts.
    recent: Vec<(String, String, String)>,
    /// (movie, show ID) of recent well-formed, authorised, in-window add-show requests: shows
    /// that most likely exist, so bookings mostly reach the interesting checks.
    catalogue: Vec<(String, String)>,
    /// The wide variant (see the module docs).
    wide: bool,
}

impl Workload {
    /// Starts at 2026-11-24, the day of the rules' examples.
    pub fn new(seed: u64) -> Self {
        Self::starting(seed, date(2026, 11, 24))
    }

    pub fn starting(seed: u64, today: Date) -> Self {
        Workload {
            rng: Rng::new(seed),
            seq: 0,
            today,
            recent: Vec::new(),
            catalogue: Vec::new(),
            wide: false,
        }
    }

    /// The wide variant, from 2027-12-20 (a year end ahead, then the leap year 2028).
    pub fn wide(seed: u64) -> Self {
        Workload {
            wide: true,
            ..Self::starting(seed, date(2027, 12, 20))
        }
    }

    /// Where `today` goes next in the wide variant: mostly a day on, sometimes back, weeks
    /// ahead, or onto a year end or a leap day (then the window and the ISO week cross them).
    fn wide_step(&mut self) -> Date {
        match self.rng.below(100) {
            0..=59 => add_days(self.today, 1),
            60..=74 => add_days(self.today, -self.rng.range(1, 4)),
            75..=84 => add_days(self.today, self.rng.range(20, 60)),
            85..=92 => date(
                self.rng.range(2026, 2031) as u16,
                12,
                26 + self.rng.below(6) as u8,
            ),
            _ => date(*self.rng.pick(&[2028u16, 2032]), 2, 29),
        }
    }

    pub fn today(&self) -> Date {
        self.today
    }

    fn area(&mut self) -> &'static str {
        AREAS[self.rng.below(AREAS.len() as u64) as usize]
    }

    fn admin(&mut self, area: &str) -> String {
        format!("{area}A{:04}", 1 + self.rng.below(u64::from(ADMINS)))
    }

    fn customer(&mut self) -> String {
        let area = self.area();
        let customers = if self.wide { 40 } else { CUSTOMERS };
        format!("{area}C{:04}", 1 + self.rng.below(customers as u64))
    }

    fn movie(&mut self) -> String {
        if self.rng.percent(2) {
            return self
                .rng
                .pick(&["avatar", "Matrix", "", "TITANIC"])
                .to_string();
        }
        self.rng.pick(&MOVIES).to_string()
    }

    /// A show ID from three days ago to ten days ahead (the window is today..=today+7).
    fn show(&mut self, area: &str) -> String {
        let d = add_days(self.today, self.rng.range(-3, 10));
        let slot = *self.rng.pick(&SLOTS);
        show_id(area, slot, d)
    }

    fn count(&mut self, typical: u64) -> u32 {
        if self.rng.percent(2) {
            return *self.rng.pick(&[0, 10_001, u32::MAX]);
        }
        let typical = if self.wide { typical * 10 / 4 } else { typical };
        1 + self.rng.below(typical) as u32
    }

    /// Sometimes break an ID the ways people and bugs do.
    fn maybe_malformed(&mut self, id: String) -> String {
        if !self.rng.percent(3) {
            return id;
        }
        match self.rng.below(7) {
            0 => id.to_lowercase(),
            1 => id[..id.len() - 1].to_string(),
            2 => format!("{id}0"),
            3 => format!("XYZ{}", &id[3..]),
            4 if id.len() == 10 => format!("{}310226", &id[..4]), // 31 Feb
            5 if id.len() == 10 => format!("{}290227", &id[..4]), // 2027 is not a leap year
            6 if id.len() == 8 => format!("{}X{}", &id[..3], &id[4..]),
            _ if self.wide && id.len() == 10 => {
                // Every other way a date goes wrong: 31 of a 30-day month, 30 Feb, month 0 or
                // 13, day 0, a letter among the digits.
                let bad = *self
                    .rng
                    .pick(&["310426", "300228", "150026", "151326", "000126", "1O1226"]);
                format!("{}{bad}", &id[..4])
            }
            _ => String::new(),
        }
    }

    /// Who acts for `customer`: mostly the customer, often an admin, rarely someone else.
    fn actor_for(&mut self, customer: &str) -> String {
        match self.rng.below(20) {
            0..=13 => customer.to_string(),
            14..=18 => {
                let area = self.area();
                self.admin(area)
            }
            _ => self.customer(),
        }
    }

    /// Remember `item` in a bounded list, forgetting a random old entry when full.
    fn remember<T>(&mut self, list: fn(&mut Self) -> &mut Vec<T>, item: T) {
        let i = self.rng.below(MEMORY as u64) as usize;
        let list = list(self);
        if list.len() >= MEMORY {
            list.swap_remove(i % list.len());
        }
        list.push(item);
    }

    /// A show to book: mostly one from the catalogue (in `area` when given), else random.
    fn show_to_book(&mut self, area: Option<&str>) -> (String, String) {
        if !self.catalogue.is_empty() && self.rng.percent(85) {
            for _ in 0..8 {
                let (movie, show) = self.rng.pick(&self.catalogue).clone();
                if area.is_none_or(|a| show.starts_with(a)) {
                    return (movie, show);
                }
            }
        }
        let area = area.map_or_else(|| self.area().to_string(), str::to_string);
        (self.movie(), self.show(&area))
    }

    fn recent_booking(&mut self) -> Option<(String, String, String)> {
        if self.recent.is_empty() || self.rng.percent(15) {
            return None;
        }
        Some(self.rng.pick(&self.recent).clone())
    }

    fn operation(&mut self) -> Operation {
        match self.rng.below(100) {
            0..=11 => {
                let area = self.area();
                let actor = if self.rng.percent(88) {
                    self.admin(area)
                } else if self.rng.percent(50) {
                    let other = self.area();
                    self.admin(other)
                } else {
                    self.customer()
                };
                let (movie, show) = (self.movie(), self.show(area));
                let capacity = self.count(12);
                let (actor, show_sent) = (
                    self.maybe_malformed(actor),
                    self.maybe_malformed(show.clone()),
                );
                if actor.starts_with(area)
                    && actor.as_bytes().get(3) == Some(&b'A')
                    && show_sent == show
                {
                    self.remember(|w| &mut w.catalogue, (movie.clone(), show));
                }
                build::add_show(&actor, &movie, &show_sent, capacity)
            }
            12..=14 => {
                let area = self.area();
                let actor = self.admin(area);
                let (movie, show) = match self.recent_booking() {
                    Some((_, movie, show)) if self.rng.percent(60) => (movie, show),
                    _ => (self.movie(), self.show(area)),
                };
                build::remove_show(&actor, &movie, &self.maybe_malformed(show))
            }
            15..=22 => {
                let actor = if self.rng.percent(50) {
                    self.customer()
                } else {
                    let area = self.area();
                    self.admin(area)
                };
                let movie = self.movie();
                build::availability(&self.maybe_malformed(actor), &movie)
            }
            23..=60 => {
                // In the wide variant a quarter of the bookings are by a few travellers, away
                // from home: with 40 customers an area the weekly limit would rarely bind.
                let traveller = self.wide && self.rng.percent(25);
                let customer = if traveller {
                    let area = self.area();
                    format!("{area}C{:04}", 1 + self.rng.below(3))
                } else {
                    self.customer()
                };
                let actor = self.actor_for(&customer);
                // Customers mostly book near home, sometimes elsewhere (weekly limit).
                let area = if traveller {
                    let others: Vec<&str> = AREAS
                        .iter()
                        .copied()
                        .filter(|a| !customer.starts_with(a))
                        .collect();
                    self.rng.pick(&others).to_string()
                } else if self.rng.percent(55) {
                    customer[..3].to_string()
                } else {
                    self.area().to_string()
                };
                let (movie, show) = self.show_to_book(Some(&area));
                let tickets = self.count(4);
                self.remember(
                    |w| &mut w.recent,
                    (customer.clone(), movie.clone(), show.clone()),
                );
                build::book(
                    &self.maybe_malformed(actor),
                    &self.maybe_malformed(customer),
                    &movie,
                    &self.maybe_malformed(show),
                    tickets,
                )
            }
            61..=68 => {
                let customer = self.customer();
                let actor = self.actor_for(&customer);
                build::schedule(&actor, &self.maybe_malformed(customer))
            }
            69..=83 => {
                let (customer, movie, show) = self.recent_booking().unwrap_or_else(|| {
                    let area = self.area();
                    (self.customer(), self.movie(), self.show(area))
                });
                let actor = self.actor_for(&customer);
                let tickets = self.count(3);
                build::cancel(&actor, &customer, &movie, &show, tickets)
            }
            _ => {
                // In the wide variant, some exchanges move a traveller's booking away from
                // home: where the weekly limit binds for exchange too.
                let traveller = self.wide && self.rng.percent(30);
                let held = if traveller {
                    let area = self.area();
                    let who = format!("{area}C{:04}", 1 + self.rng.below(3));
                    let theirs: Vec<_> = self
                        .recent
                        .iter()
                        .filter(|(c, _, _)| *c == who)
                        .cloned()
                        .collect();
                    (!theirs.is_empty()).then(|| self.rng.pick(&theirs).clone())
                } else {
                    None
                };
                let (customer, movie, show) =
                    held.or_else(|| self.recent_booking()).unwrap_or_else(|| {
                        let area = self.area();
                        (self.customer(), self.movie(), self.show(area))
                    });
                let actor = self.actor_for(&customer);
                // The same screening in another area, if one was added: moving part of a
                // booking there meets the one-theatre-per-screening rule.
                let twin = (self.wide && self.rng.percent(20) && show.len() == 10)
                    .then(|| {
                        self.catalogue
                            .iter()
                            .find(|(m, t)| {
                                *m == movie
                                    && t.len() == 10
                                    && t[3..] == show[3..]
                                    && t[..3] != show[..3]
                            })
                            .cloned()
                    })
                    .flatten();
                let (new_movie, new_show) = if let Some(twin) = twin {
                    twin
                } else if self.rng.percent(5) {
                    (movie.clone(), show.clone())
                } else if traveller {
                    let others: Vec<&str> = AREAS
                        .iter()
                        .copied()
                        .filter(|a| !customer.starts_with(a))
                        .collect();
                    let away = self.rng.pick(&others).to_string();
                    self.show_to_book(Some(&away))
                } else {
                    self.show_to_book(None)
                };
                let tickets = self.count(3);
                build::exchange(
                    &actor,
                    &customer,
                    (&movie, &show),
                    (&new_movie, &self.maybe_malformed(new_show)),
                    tickets,
                )
            }
        }
    }
}

impl Iterator for Workload {
    type Item = Request;

    fn next(&mut self) -> Option<Request> {
        // About one simulated day every 800 requests: shows drift from future to past.
        if self.wide {
            if self.rng.below(300) == 0 {
                self.today = self.wide_step();
            }
        } else if self.rng.below(800) == 0 {
            self.today = add_days(self.today, 1);
        }
        self.seq += 1;
        let operation = self.operation();
        Some(build::req(self.seq, self.today, operation))
    }
}
