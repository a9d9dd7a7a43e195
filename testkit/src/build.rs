//! Terse builders for requests, so a test reads like the rules it checks.

use dmtbs_host::contract::{
    AddShow, Availability, Book, Cancel, Context, Date, Exchange, Operation, RemoveShow, Request,
    Schedule,
};

pub fn date(year: u16, month: u8, day: u8) -> Date {
    Date { year, month, day }
}

pub fn req(seq: u64, today: Date, operation: Operation) -> Request {
    Request {
        context: Context { seq, today },
        operation,
    }
}

pub fn add_show(actor: &str, movie: &str, show_id: &str, capacity: u32) -> Operation {
    Operation::AddShow(AddShow {
        actor: actor.into(),
        movie: movie.into(),
        show_id: show_id.into(),
        capacity,
    })
}

pub fn remove_show(actor: &str, movie: &str, show_id: &str) -> Operation {
    Operation::RemoveShow(RemoveShow {
        actor: actor.into(),
        movie: movie.into(),
        show_id: show_id.into(),
    })
}

pub fn availability(actor: &str, movie: &str) -> Operation {
    Operation::Availability(Availability {
        actor: actor.into(),
        movie: movie.into(),
    })
}

pub fn book(actor: &str, customer: &str, movie: &str, show_id: &str, tickets: u32) -> Operation {
    Operation::Book(Book {
        actor: actor.into(),
        customer: customer.into(),
        movie: movie.into(),
        show_id: show_id.into(),
        tickets,
    })
}

pub fn schedule(actor: &str, customer: &str) -> Operation {
    Operation::Schedule(Schedule {
        actor: actor.into(),
        customer: customer.into(),
    })
}

pub fn cancel(actor: &str, customer: &str, movie: &str, show_id: &str, tickets: u32) -> Operation {
    Operation::Cancel(Cancel {
        actor: actor.into(),
        customer: customer.into(),
        movie: movie.into(),
        show_id: show_id.into(),
        tickets,
    })
}

pub fn exchange(
    actor: &str,
    customer: &str,
    old: (&str, &str),
    new: (&str, &str),
    tickets: u32,
) -> Operation {
    Operation::Exchange(Exchange {
        actor: actor.into(),
        customer: customer.into(),
        old_movie: old.0.into(),
        old_show_id: old.1.into(),
        new_movie: new.0.into(),
        new_show_id: new.1.into(),
        tickets,
    })
}

/// Days since 1970-01-01 (Howard Hinnant's `days_from_civil`).
pub fn days(d: Date) -> i64 {
    let (y, m, day) = (d.year as i64, d.month as i64, d.day as i64);
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date `n` days after 1970-01-01 (`civil_from_days`).
pub fn from_days(n: i64) -> Date {
    let z = n + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = (yoe + era * 400 + i64::from(month <= 2)) as u16;
    Date { year, month, day }
}

/// `d` plus `n` days.
pub fn add_days(d: Date, n: i64) -> Date {
    from_days(days(d) + n)
}

/// The show ID for an area (`ATW`…), a slot (`M`/`A`/`E`) and a date.
pub fn show_id(area: &str, slot: char, d: Date) -> String {
    format!("{area}{slot}{:02}{:02}{:02}", d.day, d.month, d.year % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn date_arithmetic_round_trips_across_months_and_leap_years() {
        assert_eq!(days(date(1970, 1, 1)), 0);
        assert_eq!(add_days(date(2026, 11, 24), 7), date(2026, 12, 1));
        assert_eq!(add_days(date(2028, 2, 28), 1), date(2028, 2, 29));
        assert_eq!(add_days(date(2026, 12, 31), 1), date(2027, 1, 1));
        for n in -1000..3000 {
            assert_eq!(days(from_days(n)), n);
        }
        assert_eq!(show_id("ATW", 'M', date(2023, 5, 16)), "ATWM160523");
    }
}
