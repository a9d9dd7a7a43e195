//! The operations. Each one is a *planner*: it reads a [`View`] (never the store directly for a
//! rule), refuses with the first failing rule, or returns a [`Plan`] — the list of primitive
//! [`Change`]s that carries out the operation and a [`Readback`] saying what to report. Then
//! [`run`] commits the changes and reads the answer back from the changed store, so "after the
//! change" numbers are what the store holds, not arithmetic done beforehand.
use alloc::vec;
use alloc::vec::Vec;

use dmtbs_guest::{
    Booked, BookingError, DroppedBooking, Exchanged, MovedBooking, Operation, Outcome,
    ScheduledBooking, ShowRemaining, ShowRemoved, Success,
};

use crate::grid::{Change, Store};
use crate::lexicon::{CELLS_PER_DAY, Cell, MOVIE_NAMES, User, customer_name, show_id_text};
use crate::view::{Pending, View};

/// What to answer once the changes are committed.
enum Readback {
    /// A success that does not depend on the committed store.
    Fixed(Success),
    Booked {
        seat: u16,
        cell: Cell,
    },
    Cancelled {
        seat: u16,
        cell: Cell,
    },
    Exchanged {
        seat: u16,
        old: Cell,
        new: Cell,
    },
}

struct Plan {
    changes: Vec<Change>,
    readback: Readback,
}

impl Plan {
    fn answer(success: Success) -> Plan {
        Plan {
            changes: Vec::new(),
            readback: Readback::Fixed(success),
        }
    }
}

type Planned = Result<Plan, BookingError>;

/// Apply one operation with `today` as a day number.
pub fn run(store: &mut Store, today: i64, op: Operation) -> Outcome {
    let plan = {
        let view = View::actual(store);
        let ctx = Ctx { view, today };
        match op {
            Operation::AddShow(r) => ctx.add_show(&r.actor, &r.movie, &r.show_id, r.capacity),
            Operation::RemoveShow(r) => ctx.remove_show(&r.actor, &r.movie, &r.show_id),
            Operation::Availability(r) => ctx.availability(&r.actor, &r.movie),
            Operation::Book(r) => ctx.book(&r.actor, &r.customer, &r.movie, &r.show_id, r.tickets),
            Operation::Schedule(r) => ctx.schedule(&r.actor, &r.customer),
            Operation::Cancel(r) => {
                ctx.cancel(&r.actor, &r.customer, &r.movie, &r.show_id, r.tickets)
            }
            Operation::Exchange(r) => ctx.exchange(
                &r.actor,
                &r.customer,
                (&r.old_movie, &r.old_show_id),
                (&r.new_movie, &r.new_show_id),
                r.tickets,
            ),
        }
    }?;
    store.commit(&plan.changes);
    Ok(match plan.readback {
        Readback::Fixed(s) => s,
        Readback::Booked { seat, cell } => Success::Booked(Booked {
            held: store.held(seat, cell),
            remaining: store.show(cell).map_or(0, |s| s.remaining()),
        }),
        Readback::Cancelled { seat, cell } => Success::Cancelled(store.held(seat, cell)),
        Readback::Exchanged { seat, old, new } => Success::Exchanged(Exchanged {
            old_held: store.held(seat, old),
            new_held: store.held(seat, new),
        }),
    })
}

// ---- the V step: one checker per kind of field --------------------------------------------

fn user(id: &str) -> Result<User, BookingError> {
    User::parse(id).ok_or(BookingError::InvalidUserId)
}

fn movie(name: &str) -> Result<u8, BookingError> {
    crate::lexicon::parse_movie(name).ok_or(BookingError::UnknownMovie)
}

fn show(movie: u8, show_id: &str) -> Result<Cell, BookingError> {
    Cell::parse(movie, show_id).ok_or(BookingError::InvalidShowId)
}

fn count(n: u32, err: BookingError) -> Result<u32, BookingError> {
    if (1..=10_000).contains(&n) {
        Ok(n)
    } else {
        Err(err)
    }
}

/// Fail with `err` unless `ok`.
fn ensure(ok: bool, err: BookingError) -> Result<(), BookingError> {
    if ok { Ok(()) } else { Err(err) }
}

/// Who may act for a customer (§4): never for an admin customer; a customer only for itself.
fn may_act_for(actor: User, customer: User) -> Result<u16, BookingError> {
    ensure(
        !customer.admin && (actor.admin || actor == customer),
        BookingError::NotAuthorized,
    )?;
    Ok(customer.seat())
}

struct Ctx<'a> {
    view: View<'a>,
    today: i64,
}

impl Ctx<'_> {
    fn past(&self, cell: Cell) -> bool {
        cell.day() < self.today
    }

    fn add_show(&self, actor: &str, movie_name: &str, show_id: &str, capacity: u32) -> Planned {
        let actor = user(actor)?;
        let m = movie(movie_name)?;
        let cell = show(m, show_id)?;
        let capacity = count(capacity, BookingError::InvalidCapacity)?;
        ensure(
            actor.admin && actor.area == cell.area(),
            BookingError::NotAuthorized,
        )?;
        ensure(
            self.today <= cell.day() && cell.day() <= self.today + 7,
            BookingError::OutsideWindow,
        )?;
        Ok(match self.view.show(cell) {
            Some(existing) => {
                ensure(capacity >= existing.sold, BookingError::CapacityBelowBooked)?;
                Plan {
                    changes: vec![Change::Resize { cell, capacity }],
                    readback: Readback::Fixed(Success::ShowUpdated(existing.capacity)),
                }
            }
            None => Plan {
                changes: vec![Change::Open { cell, capacity }],
                readback: Readback::Fixed(Success::ShowAdded),
            },
        })
    }

    fn remove_show(&self, actor: &str, movie_name: &str, show_id: &str) -> Planned {
        let actor = user(actor)?;
        let m = movie(movie_name)?;
        let cell = show(m, show_id)?;
        ensure(
            actor.admin && actor.area == cell.area(),
            BookingError::NotAuthorized,
        )?;
        let doomed = self.view.show(cell).ok_or(BookingError::ShowNotFound)?;
        ensure(!self.past(cell), BookingError::PastShow)?;

        // Later shows of the same movie in the same area: cells congruent modulo 9, after it.
        let targets: Vec<(Cell, u32)> = self
            .view
            .store_walk(cell.0 + 9, 9)
            .map(|s| (s.cell, s.remaining()))
            .collect();
        let mut seats = FirstFit::new(targets.iter().map(|t| t.1));
        let mut changes = vec![Change::Close { cell }];
        let mut moved = Vec::new();
        let mut dropped = Vec::new();
        for h in &doomed.holders {
            match seats.take(h.tickets) {
                Some(i) => {
                    let to = targets[i].0;
                    changes.push(Change::Tickets {
                        seat: h.seat,
                        cell: to,
                        delta: i64::from(h.tickets),
                    });
                    moved.push(MovedBooking {
                        customer: customer_name(h.seat),
                        to_show_id: show_id_text(to),
                        tickets: h.tickets,
                    });
                }
                None => dropped.push(DroppedBooking {
                    customer: customer_name(h.seat),
                    tickets: h.tickets,
                }),
            }
        }
        Ok(Plan {
            changes,
            readback: Readback::Fixed(Success::ShowRemoved(ShowRemoved { moved, dropped })),
        })
    }

    fn availability(&self, actor: &str, movie_name: &str) -> Planned {
        user(actor)?;
        let m = movie(movie_name)?;
        let first_day = self.today.max(0);
        let start = u32::try_from(first_day)
            .ok()
            .and_then(|d| d.checked_mul(CELLS_PER_DAY))
            .map_or(u32::MAX - 2, |c| c + u32::from(m));
        let shows = self
            .view
            .store_walk(start, 3)
            .map(|s| ShowRemaining {
                show_id: show_id_text(s.cell),
                remaining: self.view.seats_left(s),
            })
            .collect();
        Ok(Plan::answer(Success::Availability(shows)))
    }

    /// Book's checks 3–7 for `tickets` on `cell`, asked of `view` (actual, or supposing the
    /// exchange's release of the old booking).
    fn admissible(
        &self,
        view: View<'_>,
        customer: User,
        cell: Cell,
        tickets: u32,
    ) -> Result<(), BookingError> {
        let seat = customer.seat();
        let target = view.show(cell).ok_or(BookingError::ShowNotFound)?;
        ensure(!self.past(cell), BookingError::PastShow)?;
        ensure(
            !view.holds_twin_elsewhere(seat, cell),
            BookingError::SameShowOtherArea,
        )?;
        let new_away_movie = cell.area() != customer.area && view.held(seat, cell) == 0;
        ensure(
            !new_away_movie || view.away_bookings_in_week(seat, customer.area, cell.day()) < 3,
            BookingError::WeeklyLimit,
        )?;
        let left = view.seats_left(target);
        ensure(tickets <= left, BookingError::ShowFull(left))
    }

    fn book(
        &self,
        actor: &str,
        customer: &str,
        movie_name: &str,
        show_id: &str,
        tickets: u32,
    ) -> Planned {
        let actor = user(actor)?;
        let customer = user(customer)?;
        let m = movie(movie_name)?;
        let cell = show(m, show_id)?;
        let tickets = count(tickets, BookingError::InvalidTickets)?;
        let seat = may_act_for(actor, customer)?;
        self.admissible(self.view, customer, cell, tickets)?;
        Ok(Plan {
            changes: vec![Change::Tickets {
                seat,
                cell,
                delta: i64::from(tickets),
            }],
            readback: Readback::Booked { seat, cell },
        })
    }

    fn schedule(&self, actor: &str, customer: &str) -> Planned {
        let actor = user(actor)?;
        let customer = user(customer)?;
        let seat = may_act_for(actor, customer)?;
        let list = self
            .view
            .cells_of(seat)
            .iter()
            .map(|&c| {
                let cell = Cell(c);
                ScheduledBooking {
                    movie: MOVIE_NAMES[usize::from(cell.movie())].into(),
                    show_id: show_id_text(cell),
                    tickets: self.view.held(seat, cell),
                }
            })
            .collect();
        Ok(Plan::answer(Success::Schedule(list)))
    }

    fn cancel(
        &self,
        actor: &str,
        customer: &str,
        movie_name: &str,
        show_id: &str,
        tickets: u32,
    ) -> Planned {
        let actor = user(actor)?;
        let customer = user(customer)?;
        let m = movie(movie_name)?;
        let cell = show(m, show_id)?;
        let tickets = count(tickets, BookingError::InvalidTickets)?;
        let seat = may_act_for(actor, customer)?;
        let held = self.view.held(seat, cell);
        ensure(held > 0, BookingError::NotBooked)?;
        ensure(!self.past(cell), BookingError::PastShow)?;
        ensure(tickets <= held, BookingError::TooManyTickets(held))?;
        Ok(Plan {
            changes: vec![Change::Tickets {
                seat,
                cell,
                delta: -i64::from(tickets),
            }],
            readback: Readback::Cancelled { seat, cell },
        })
    }

    fn exchange(
        &self,
        actor: &str,
        customer: &str,
        (old_movie, old_id): (&str, &str),
        (new_movie, new_id): (&str, &str),
        tickets: u32,
    ) -> Planned {
        let actor = user(actor)?;
        let customer = user(customer)?;
        let om = movie(old_movie)?;
        let old = show(om, old_id)?;
        let nm = movie(new_movie)?;
        let new = show(nm, new_id)?;
        let tickets = count(tickets, BookingError::InvalidTickets)?;
        let seat = may_act_for(actor, customer)?;
        ensure(old != new, BookingError::SameShow)?;
        let held = self.view.held(seat, old);
        ensure(held > 0, BookingError::NotBooked)?;
        ensure(!self.past(old), BookingError::PastShow)?;
        ensure(tickets <= held, BookingError::TooManyTickets(held))?;
        let release = [Pending {
            seat,
            cell: old,
            delta: -i64::from(tickets),
        }];
        let hypothetical = self.view.with_pending(&release);
        self.admissible(hypothetical, customer, new, tickets)?;
        Ok(Plan {
            changes: vec![
                Change::Tickets {
                    seat,
                    cell: old,
                    delta: -i64::from(tickets),
                },
                Change::Tickets {
                    seat,
                    cell: new,
                    delta: i64::from(tickets),
                },
            ],
            readback: Readback::Exchanged { seat, old, new },
        })
    }
}

/// First-fit search over a row of free-seat counts: which is the first position with at least
/// `t` seats? A max-tree over the row answers in O(log n) and is updated as seats are taken, so
/// remove-show sees the effect of its own earlier moves.
struct FirstFit {
    leaves: usize,
    max: Vec<u32>,
}

impl FirstFit {
    fn new(row: impl ExactSizeIterator<Item = u32>) -> Self {
        let leaves = row.len().next_power_of_two().max(1);
        let mut max = vec![0; 2 * leaves];
        for (i, v) in row.enumerate() {
            max[leaves + i] = v;
        }
        for n in (1..leaves).rev() {
            max[n] = max[2 * n].max(max[2 * n + 1]);
        }
        FirstFit { leaves, max }
    }

    /// Take `t` (>= 1) seats at the first position that has them; its index.
    fn take(&mut self, t: u32) -> Option<usize> {
        if self.max[1] < t {
            return None;
        }
        let mut n = 1;
        while n < self.leaves {
            n = if self.max[2 * n] >= t {
                2 * n
            } else {
                2 * n + 1
            };
        }
        self.max[n] -= t;
        let mut up = n / 2;
        while up >= 1 {
            self.max[up] = self.max[2 * up].max(self.max[2 * up + 1]);
            up /= 2;
        }
        Some(n - self.leaves)
    }
}
