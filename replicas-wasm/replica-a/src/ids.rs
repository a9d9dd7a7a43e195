//! Typed identifiers parsed from the wire strings, and the calendar arithmetic of the rules.
//!
//! Every enum is declared in the order the rules sort it, so the derived `Ord` *is* the rules'
//! order: [`ShowId`] (date, slot, area) orders shows of one movie, [`ShowKey`] (that, then
//! movie) is the full show order, and [`UserId`] (area, role, number) is the byte order of the
//! 8-byte ID (`ATW` < `OUT` < `VER`, `A` < `C`, then the zero-padded digits).
use alloc::string::String;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Area {
    Atw,
    Out,
    Ver,
}

impl Area {
    fn parse(b: &[u8]) -> Option<Area> {
        match b {
            b"ATW" => Some(Area::Atw),
            b"OUT" => Some(Area::Out),
            b"VER" => Some(Area::Ver),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Area::Atw => "ATW",
            Area::Out => "OUT",
            Area::Ver => "VER",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Slot {
    Morning,
    Afternoon,
    Evening,
}

impl Slot {
    fn parse(b: u8) -> Option<Slot> {
        match b {
            b'M' => Some(Slot::Morning),
            b'A' => Some(Slot::Afternoon),
            b'E' => Some(Slot::Evening),
            _ => None,
        }
    }

    fn as_char(self) -> char {
        match self {
            Slot::Morning => 'M',
            Slot::Afternoon => 'A',
            Slot::Evening => 'E',
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Role {
    Admin,
    Customer,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Movie {
    Avatar,
    Avengers,
    Titanic,
}

impl Movie {
    pub fn parse(s: &str) -> Option<Movie> {
        match s {
            "Avatar" => Some(Movie::Avatar),
            "Avengers" => Some(Movie::Avengers),
            "Titanic" => Some(Movie::Titanic),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Movie::Avatar => "Avatar",
            Movie::Avengers => "Avengers",
            Movie::Titanic => "Titanic",
        }
    }
}

/// A proleptic Gregorian date; field order makes the derived `Ord` chronological.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub struct Date {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

fn is_leap(year: u16) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl Date {
    /// Days since 1970-01-01 (negative before). Counted from a year starting in March, so the
    /// leap day is the last day of its year and month lengths follow a fixed pattern.
    pub fn days(self) -> i64 {
        let (m, d) = (i64::from(self.month), i64::from(self.day));
        let y = i64::from(self.year) - i64::from(m <= 2);
        let era = y.div_euclid(400);
        let year_of_era = y - era * 400;
        let day_of_year = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
        let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
        era * 146_097 + day_of_era - 719_468
    }

    /// The inverse of [`Date::days`] (for the years the rules can reach).
    pub fn from_days(days: i64) -> Date {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let day_of_era = z - era * 146_097;
        let year_of_era =
            (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let mp = (5 * day_of_year + 2) / 153;
        let day = day_of_year - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = year_of_era + era * 400 + i64::from(month <= 2);
        Date {
            year: year as u16,
            month: month as u8,
            day: day as u8,
        }
    }

    /// The Monday that starts this date's ISO week, as a day number.
    pub fn monday(self) -> i64 {
        let days = self.days();
        // 1970-01-01 was a Thursday: index 3 when Monday is 0.
        days - (days + 3).rem_euclid(7)
    }
}

/// Parses exactly `n` ASCII digits.
fn digits(b: &[u8]) -> Option<u16> {
    b.iter().try_fold(0u16, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + u16::from(c - b'0'))
    })
}

fn push_two_digits(out: &mut String, n: u16) {
    out.push(char::from(b'0' + (n / 10 % 10) as u8));
    out.push(char::from(b'0' + (n % 10) as u8));
}

/// `AAARdddd`: area, role, four digits.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub struct UserId {
    pub area: Area,
    pub role: Role,
    pub number: u16,
}

impl UserId {
    pub fn parse(s: &str) -> Option<UserId> {
        let b = s.as_bytes();
        if b.len() != 8 {
            return None;
        }
        let role = match b[3] {
            b'A' => Role::Admin,
            b'C' => Role::Customer,
            _ => return None,
        };
        Some(UserId {
            area: Area::parse(&b[0..3])?,
            role,
            number: digits(&b[4..8])?,
        })
    }

    pub fn to_wire(self) -> String {
        let mut s = String::with_capacity(8);
        s.push_str(self.area.as_str());
        s.push(match self.role {
            Role::Admin => 'A',
            Role::Customer => 'C',
        });
        push_two_digits(&mut s, self.number / 100);
        push_two_digits(&mut s, self.number);
        s
    }
}

/// `AAASddmmyy`. Field order (date, slot, area) is show order among shows of one movie.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub struct ShowId {
    pub date: Date,
    pub slot: Slot,
    pub area: Area,
}

impl ShowId {
    pub fn parse(s: &str) -> Option<ShowId> {
        let b = s.as_bytes();
        if b.len() != 10 {
            return None;
        }
        let area = Area::parse(&b[0..3])?;
        let slot = Slot::parse(b[3])?;
        let day = digits(&b[4..6])? as u8;
        let month = digits(&b[6..8])? as u8;
        let year = 2000 + digits(&b[8..10])?;
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        Some(ShowId {
            date: Date { year, month, day },
            slot,
            area,
        })
    }

    pub fn to_wire(self) -> String {
        let mut s = String::with_capacity(10);
        s.push_str(self.area.as_str());
        s.push(self.slot.as_char());
        push_two_digits(&mut s, u16::from(self.date.day));
        push_two_digits(&mut s, u16::from(self.date.month));
        push_two_digits(&mut s, self.date.year % 100);
        s
    }
}

/// A show: (movie, show ID). Field order makes the derived `Ord` the full show order.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub struct ShowKey {
    pub id: ShowId,
    pub movie: Movie,
}

impl ShowKey {
    /// The first and last possible shows on a given date (inclusive bounds for range scans).
    pub fn first_on(date: Date, slot: Slot) -> ShowKey {
        ShowKey {
            id: ShowId {
                date,
                slot,
                area: Area::Atw,
            },
            movie: Movie::Avatar,
        }
    }

    pub fn last_on(date: Date, slot: Slot) -> ShowKey {
        ShowKey {
            id: ShowId {
                date,
                slot,
                area: Area::Ver,
            },
            movie: Movie::Titanic,
        }
    }
}
