//! The rules of docs/booking-rules.md §4–§5 as one declarative table.
//!
//! A request goes through four stages:
//!
//! 1. **Signature** ([`signature`]): the operation's fields, as data, in the order of its
//!    signature, each tagged with its kind.
//! 2. **V** ([`read`]): the fields are recognised one by one in that order; the first malformed
//!    one decides the error. The recognised values are assembled into a [`Proposal`]: who acts,
//!    for whom, and the *legs* of the request — a show an admin targets, the seats a customer
//!    gives back (`release`), the seats a customer wants (`acquire`).
//! 3. **The table** ([`RULES`], run by [`admit`]): one list of rows for all seven operations,
//!    in the rules' order. A row applies to a set of operations. A *check* row is a predicate
//!    and the error it yields when it fails; a *stage* row puts movements on the pending tail of
//!    the ledger, so that the rows after it see the state as it would be after them. This is the
//!    whole of exchange's "as if": the release is staged between the checks of the old booking
//!    and book's checks on the new show. The first failing check ends the request and the tail
//!    is thrown away, which is all atomicity needs.
//! 4. **Answer** ([`answer`]): read off the view with the tail, then the tail is committed.
//!
//! One table works for all operations because the per-operation check lists of the rules are
//! subsequences of one common order: admin checks, customer authorisation, the admin's show,
//! the old booking, the new show.

use crate::exports::dmtbs::booking::types::{
    Booked, BookingError, DroppedBooking, Exchanged, MovedBooking, Operation, ScheduledBooking,
    ShowRemaining, ShowRemoved, Success,
};
use crate::ledger::{Entry, Pending, Store, View};
use crate::lexicon::{Day, Movie, Screening, Show, UserId, monday_of};

/// The seven operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    AddShow,
    RemoveShow,
    Availability,
    Book,
    Schedule,
    Cancel,
    Exchange,
}

/// A field of an operation's signature, as received.
enum Field<'a> {
    User(&'a str),
    Movie(&'a str),
    ShowId(&'a str),
    Capacity(u32),
    Tickets(u32),
}

/// A field once recognised.
enum Value {
    User(UserId),
    Movie(Movie),
    Screening(Screening),
    Count(u32),
}

/// The operation's kind and its fields in signature order (docs/booking-rules.md §5, "V").
fn signature(op: &Operation) -> (Kind, Vec<Field<'_>>) {
    use Field::*;
    match op {
        Operation::AddShow(o) => (
            Kind::AddShow,
            vec![
                User(&o.actor),
                Movie(&o.movie),
                ShowId(&o.show_id),
                Capacity(o.capacity),
            ],
        ),
        Operation::RemoveShow(o) => (
            Kind::RemoveShow,
            vec![User(&o.actor), Movie(&o.movie), ShowId(&o.show_id)],
        ),
        Operation::Availability(o) => (Kind::Availability, vec![User(&o.actor), Movie(&o.movie)]),
        Operation::Book(o) => (
            Kind::Book,
            vec![
                User(&o.actor),
                User(&o.customer),
                Movie(&o.movie),
                ShowId(&o.show_id),
                Tickets(o.tickets),
            ],
        ),
        Operation::Schedule(o) => (Kind::Schedule, vec![User(&o.actor), User(&o.customer)]),
        Operation::Cancel(o) => (
            Kind::Cancel,
            vec![
                User(&o.actor),
                User(&o.customer),
                Movie(&o.movie),
                ShowId(&o.show_id),
                Tickets(o.tickets),
            ],
        ),
        Operation::Exchange(o) => (
            Kind::Exchange,
            vec![
                User(&o.actor),
                User(&o.customer),
                Movie(&o.old_movie),
                ShowId(&o.old_show_id),
                Movie(&o.new_movie),
                ShowId(&o.new_show_id),
                Tickets(o.tickets),
            ],
        ),
    }
}

/// Capacities and ticket counts share these bounds (§5, V).
const COUNT_BOUNDS: std::ops::RangeInclusive<u32> = 1..=10_000;

fn recognise(field: &Field<'_>) -> Result<Value, BookingError> {
    match *field {
        Field::User(s) => UserId::parse(s)
            .map(Value::User)
            .ok_or(BookingError::InvalidUserId),
        Field::Movie(s) => Movie::parse(s)
            .map(Value::Movie)
            .ok_or(BookingError::UnknownMovie),
        Field::ShowId(s) => Screening::parse(s)
            .map(Value::Screening)
            .ok_or(BookingError::InvalidShowId),
        Field::Capacity(n) if COUNT_BOUNDS.contains(&n) => Ok(Value::Count(n)),
        Field::Capacity(_) => Err(BookingError::InvalidCapacity),
        Field::Tickets(n) if COUNT_BOUNDS.contains(&n) => Ok(Value::Count(n)),
        Field::Tickets(_) => Err(BookingError::InvalidTickets),
    }
}

/// Seats a customer gives back or wants.
#[derive(Clone, Copy, Debug)]
pub struct Leg {
    pub show: Show,
    pub tickets: u32,
}

/// A request after the V step: the parties and the legs.
#[derive(Clone, Copy, Debug)]
pub struct Proposal {
    pub kind: Kind,
    pub actor: UserId,
    /// The customer of a customer operation.
    pub customer: Option<UserId>,
    /// The movie availability asks about.
    pub movie: Option<Movie>,
    /// The show an admin operation targets.
    pub subject: Option<Show>,
    /// The capacity add-show sets.
    pub capacity: u32,
    /// Seats the customer gives back: cancel's, exchange's old booking.
    pub release: Option<Leg>,
    /// Seats the customer wants: book's, exchange's new show.
    pub acquire: Option<Leg>,
}

/// The V step and the assembly of the proposal.
pub fn read(op: &Operation) -> Result<Proposal, BookingError> {
    let (kind, fields) = signature(op);
    let values = fields
        .iter()
        .map(recognise)
        .collect::<Result<Vec<_>, _>>()?;
    let mut p = Proposal {
        kind,
        actor: match values[0] {
            Value::User(u) => u,
            // Every signature starts with the actor.
            _ => unreachable!("the first field is the actor"),
        },
        customer: None,
        movie: None,
        subject: None,
        capacity: 0,
        release: None,
        acquire: None,
    };
    use Value::*;
    match (kind, &values[1..]) {
        (Kind::AddShow, &[Movie(m), Screening(s), Count(c)]) => {
            p.subject = Some(Show::new(m, s));
            p.capacity = c;
        }
        (Kind::RemoveShow, &[Movie(m), Screening(s)]) => p.subject = Some(Show::new(m, s)),
        (Kind::Availability, &[Movie(m)]) => p.movie = Some(m),
        (Kind::Schedule, &[User(c)]) => p.customer = Some(c),
        (Kind::Book, &[User(c), Movie(m), Screening(s), Count(t)]) => {
            p.customer = Some(c);
            p.acquire = Some(Leg {
                show: Show::new(m, s),
                tickets: t,
            });
        }
        (Kind::Cancel, &[User(c), Movie(m), Screening(s), Count(t)]) => {
            p.customer = Some(c);
            p.release = Some(Leg {
                show: Show::new(m, s),
                tickets: t,
            });
        }
        (
            Kind::Exchange,
            &[
                User(c),
                Movie(om),
                Screening(os),
                Movie(nm),
                Screening(ns),
                Count(t),
            ],
        ) => {
            p.customer = Some(c);
            p.release = Some(Leg {
                show: Show::new(om, os),
                tickets: t,
            });
            p.acquire = Some(Leg {
                show: Show::new(nm, ns),
                tickets: t,
            });
        }
        // `signature` fixes the shape of every kind's values.
        _ => unreachable!("values match the signature"),
    }
    Ok(p)
}

/// What a row sees: the proposal, the day, and the store with the tail staged so far.
pub struct Ctx<'a> {
    pub p: &'a Proposal,
    pub today: Day,
    pub view: View<'a>,
}

impl Proposal {
    // The table applies each row only to operations that have what the row reads; these
    // accessors state that assumption once.
    fn customer(&self) -> UserId {
        self.customer.expect("row applies to customer operations")
    }
    fn subject(&self) -> Show {
        self.subject.expect("row applies to admin operations")
    }
    fn release(&self) -> Leg {
        self.release
            .expect("row applies to operations with a release leg")
    }
    fn acquire(&self) -> Leg {
        self.acquire
            .expect("row applies to operations with an acquire leg")
    }
}

impl Ctx<'_> {
    fn customer(&self) -> UserId {
        self.p.customer()
    }
    fn subject(&self) -> Show {
        self.p.subject()
    }
    fn release(&self) -> Leg {
        self.p.release()
    }
    fn acquire(&self) -> Leg {
        self.p.acquire()
    }
    fn past(&self, show: Show) -> bool {
        show.day < self.today
    }
}

/// One row of the table.
pub enum Row {
    /// Passes when `holds`; otherwise the request fails with `error`.
    Check {
        name: &'static str,
        applies: &'static [Kind],
        holds: fn(&Ctx<'_>) -> bool,
        error: fn(&Ctx<'_>) -> BookingError,
    },
    /// Stages movements for the rows after it (and for the commit). It may read the store
    /// with its own movements staged so far (remove-show does).
    Stage {
        name: &'static str,
        applies: &'static [Kind],
        movements: fn(&Proposal, &Store, &mut Pending),
    },
}

impl Row {
    pub fn name(&self) -> &'static str {
        match self {
            Row::Check { name, .. } | Row::Stage { name, .. } => name,
        }
    }
    pub fn applies(&self) -> &'static [Kind] {
        match self {
            Row::Check { applies, .. } | Row::Stage { applies, .. } => applies,
        }
    }
}

use Kind::*;
const ADMIN: &[Kind] = &[AddShow, RemoveShow];
const CUSTOMER: &[Kind] = &[Book, Schedule, Cancel, Exchange];
const RELEASING: &[Kind] = &[Cancel, Exchange];
const ACQUIRING: &[Kind] = &[Book, Exchange];

/// At most this many away movies a week (§5 book, check 6).
const WEEKLY_AWAY_MOVIES: usize = 3;

/// Every rule after V, in the rules' order (docs/booking-rules.md §4–§5).
pub static RULES: &[Row] = &[
    Row::Check {
        name: "admin of the show's area",
        applies: ADMIN,
        holds: |c| c.p.actor.is_admin() && c.p.actor.area() == c.subject().area,
        error: |_| BookingError::NotAuthorized,
    },
    Row::Check {
        name: "acts for a customer it may act for",
        applies: CUSTOMER,
        holds: |c| {
            let customer = c.customer();
            !customer.is_admin() && (c.p.actor.is_admin() || c.p.actor == customer)
        },
        error: |_| BookingError::NotAuthorized,
    },
    Row::Check {
        name: "show date in the window",
        applies: &[AddShow],
        holds: |c| (c.today..=c.today + 7).contains(&c.subject().day),
        error: |_| BookingError::OutsideWindow,
    },
    Row::Check {
        name: "capacity covers the tickets held",
        applies: &[AddShow],
        holds: |c| c.p.capacity >= c.view.sold(c.subject()),
        error: |_| BookingError::CapacityBelowBooked,
    },
    Row::Check {
        name: "removed show exists",
        applies: &[RemoveShow],
        holds: |c| c.view.capacity(c.subject()).is_some(),
        error: |_| BookingError::ShowNotFound,
    },
    Row::Check {
        name: "removed show not past",
        applies: &[RemoveShow],
        holds: |c| !c.past(c.subject()),
        error: |_| BookingError::PastShow,
    },
    Row::Check {
        name: "old and new show differ",
        applies: &[Exchange],
        holds: |c| c.release().show != c.acquire().show,
        error: |_| BookingError::SameShow,
    },
    Row::Check {
        name: "old booking held",
        applies: RELEASING,
        holds: |c| c.view.held(c.customer(), c.release().show) > 0,
        error: |_| BookingError::NotBooked,
    },
    Row::Check {
        name: "old show not past",
        applies: RELEASING,
        holds: |c| !c.past(c.release().show),
        error: |_| BookingError::PastShow,
    },
    Row::Check {
        name: "enough tickets held",
        applies: RELEASING,
        holds: |c| c.release().tickets <= c.view.held(c.customer(), c.release().show),
        error: |c| BookingError::TooManyTickets(c.view.held(c.customer(), c.release().show)),
    },
    Row::Stage {
        name: "tickets leave the old booking",
        applies: RELEASING,
        movements: |p, _, tail| {
            let leg = p.release();
            tail.push(Entry::Seats {
                customer: p.customer(),
                show: leg.show,
                delta: -i64::from(leg.tickets),
            });
        },
    },
    Row::Check {
        name: "new show exists",
        applies: ACQUIRING,
        holds: |c| c.view.capacity(c.acquire().show).is_some(),
        error: |_| BookingError::ShowNotFound,
    },
    Row::Check {
        name: "new show not past",
        applies: ACQUIRING,
        holds: |c| !c.past(c.acquire().show),
        error: |_| BookingError::PastShow,
    },
    Row::Check {
        name: "no booking of the same screening in another area",
        applies: ACQUIRING,
        holds: |c| {
            let want = c.acquire().show;
            !c.view.holdings(c.customer()).iter().any(|s| {
                s.movie == want.movie
                    && s.day == want.day
                    && s.slot == want.slot
                    && s.area != want.area
            })
        },
        error: |_| BookingError::SameShowOtherArea,
    },
    Row::Check {
        name: "at most three away movies a week",
        applies: ACQUIRING,
        holds: |c| {
            let (customer, want) = (c.customer(), c.acquire().show);
            let home = customer.area();
            if want.area == home || c.view.held(customer, want) > 0 {
                return true;
            }
            let week = monday_of(want.day);
            let away = c.view.holdings(customer);
            let count = away
                .iter()
                .filter(|s| s.area != home && monday_of(s.day) == week)
                .count();
            count < WEEKLY_AWAY_MOVIES
        },
        error: |_| BookingError::WeeklyLimit,
    },
    Row::Check {
        name: "enough seats left",
        applies: ACQUIRING,
        holds: |c| c.acquire().tickets <= c.view.remaining(c.acquire().show),
        error: |c| BookingError::ShowFull(c.view.remaining(c.acquire().show)),
    },
    Row::Stage {
        name: "tickets join the new booking",
        applies: ACQUIRING,
        movements: |p, _, tail| {
            let leg = p.acquire();
            tail.push(Entry::Seats {
                customer: p.customer(),
                show: leg.show,
                delta: i64::from(leg.tickets),
            });
        },
    },
    Row::Stage {
        name: "show provisioned",
        applies: &[AddShow],
        movements: |p, _, tail| {
            tail.push(Entry::Provision {
                show: p.subject(),
                capacity: p.capacity,
            })
        },
    },
    Row::Stage {
        name: "show withdrawn, its bookings moved on or dropped",
        applies: &[RemoveShow],
        movements: withdraw,
    },
];

/// Remove-show's effect (§5 remove-show, 5): every holder's seats leave the removed show, in
/// customer order; each goes to the first later show of the same movie in the same area with
/// room for all of them *at that moment* — the seats already staged by this loop count, since
/// the view reads the tail — or nowhere. The show is withdrawn last, empty.
fn withdraw(p: &Proposal, store: &Store, tail: &mut Pending) {
    let gone = p.subject();
    let mut later: Vec<Show> = store
        .shows()
        .into_iter()
        .map(|(s, _)| s)
        .filter(|s| s.movie == gone.movie && s.area == gone.area && s.rank() > gone.rank())
        .collect();
    later.sort_by_key(Show::rank);
    for (customer, held) in store.holders(gone) {
        tail.push(Entry::Seats {
            customer,
            show: gone,
            delta: -i64::from(held),
        });
        let view = View {
            store,
            pending: tail,
        };
        if let Some(&to) = later.iter().find(|s| view.remaining(**s) >= held) {
            tail.push(Entry::Seats {
                customer,
                show: to,
                delta: i64::from(held),
            });
        }
    }
    tail.push(Entry::Withdraw { show: gone });
}

/// Runs the table for the proposal: the first failing check's error, or the staged tail.
pub fn admit(store: &Store, today: Day, p: &Proposal) -> Result<Pending, BookingError> {
    let mut tail = Pending::default();
    for row in RULES.iter().filter(|r| r.applies().contains(&p.kind)) {
        match row {
            Row::Check { holds, error, .. } => {
                let ctx = Ctx {
                    p,
                    today,
                    view: View {
                        store,
                        pending: &tail,
                    },
                };
                if !holds(&ctx) {
                    return Err(error(&ctx));
                }
            }
            Row::Stage { movements, .. } => movements(p, store, &mut tail),
        }
    }
    Ok(tail)
}

/// The success value, read off the store with the admitted tail (before it is committed).
pub fn answer(view: View<'_>, today: Day, p: &Proposal) -> Success {
    match p.kind {
        Kind::AddShow => match view.store.capacity(p.subject.expect("add-show has a show")) {
            Some(old) => Success::ShowUpdated(old),
            None => Success::ShowAdded,
        },
        Kind::RemoveShow => Success::ShowRemoved(removal_report(view.pending.entries())),
        Kind::Availability => {
            let movie = p.movie.expect("availability names a movie");
            Success::Availability(
                view.store
                    .shows()
                    .into_iter()
                    .filter(|(s, _)| s.movie == movie && s.day >= today)
                    .map(|(s, _)| ShowRemaining {
                        show_id: s.id_text(),
                        remaining: view.remaining(s),
                    })
                    .collect(),
            )
        }
        Kind::Schedule => Success::Schedule(
            view.store
                .schedule(p.customer.expect("schedule names a customer"))
                .into_iter()
                .map(|(s, tickets)| ScheduledBooking {
                    movie: s.movie.name().to_string(),
                    show_id: s.id_text(),
                    tickets,
                })
                .collect(),
        ),
        Kind::Book => {
            let show = p.acquire.expect("book has an acquire leg").show;
            Success::Booked(Booked {
                held: view.held(p.customer.expect("book names a customer"), show),
                remaining: view.remaining(show),
            })
        }
        Kind::Cancel => Success::Cancelled(view.held(
            p.customer.expect("cancel names a customer"),
            p.release.expect("cancel has a release leg").show,
        )),
        Kind::Exchange => {
            let customer = p.customer.expect("exchange names a customer");
            Success::Exchanged(Exchanged {
                old_held: view.held(customer, p.release.expect("exchange releases").show),
                new_held: view.held(customer, p.acquire.expect("exchange acquires").show),
            })
        }
    }
}

/// Remove-show's lists, read back from its staged movements: each holder's release is followed
/// either by its placement (moved) or by the next holder's release or the withdrawal (dropped).
fn removal_report(tail: &[Entry]) -> ShowRemoved {
    let mut report = ShowRemoved {
        moved: Vec::new(),
        dropped: Vec::new(),
    };
    for (i, e) in tail.iter().enumerate() {
        let Entry::Seats {
            customer, delta, ..
        } = *e
        else {
            continue;
        };
        if delta > 0 {
            continue;
        }
        let tickets = u32::try_from(-delta).expect("a release is at most a capacity");
        match tail.get(i + 1) {
            Some(&Entry::Seats { show, delta, .. }) if delta > 0 => {
                report.moved.push(MovedBooking {
                    customer: customer.text(),
                    to_show_id: show.id_text(),
                    tickets,
                })
            }
            _ => report.dropped.push(DroppedBooking {
                customer: customer.text(),
                tickets,
            }),
        }
    }
    report
}
