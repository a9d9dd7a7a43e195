//! The rules' names, parsed into small `Copy` values (rules §1 and the project's §1): a parsed
//! value prints back to exactly the bytes it was parsed from, and the derived orders are the
//! rules' orders, so the model never compares strings.

use std::fmt;

use dmtbs_contract::Date;

/// A theatre's area. Declared in the rules' area order: `ATW` < `OUT` < `VER` (alphabetical).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Area {
    Atw,
    Out,
    Ver,
}

impl Area {
    fn parse(bytes: &[u8]) -> Option<Area> {
        match bytes {
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

/// One of the three movies, declared in the rules' movie order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Movie {
    Avatar,
    Avengers,
    Titanic,
}

impl Movie {
    /// The exact spelling, or `None` (`unknown-movie`).
    pub fn parse(text: &str) -> Option<Movie> {
        match text {
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

/// A slot of the day, declared in the rules' order `M` < `A` < `E`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Slot {
    Morning,
    Afternoon,
    Evening,
}

/// A user's role letter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Admin,
    Customer,
}

/// A well-formed user ID. Field order makes the derived order the byte order of the ID for a
/// given role (area, then digits), which is the rules' customer order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct User {
    pub area: Area,
    pub role: Role,
    pub number: u16,
}

impl User {
    /// Exactly 8 bytes: area, `A` or `C`, four ASCII digits; else `None` (`invalid-user-id`).
    pub fn parse(text: &str) -> Option<User> {
        let b = text.as_bytes();
        if b.len() != 8 {
            return None;
        }
        let area = Area::parse(&b[..3])?;
        let role = match b[3] {
            b'A' => Role::Admin,
            b'C' => Role::Customer,
            _ => return None,
        };
        let number = digits(&b[4..8])?;
        Some(User { area, role, number })
    }
}

impl fmt::Display for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let role = match self.role {
            Role::Admin => 'A',
            Role::Customer => 'C',
        };
        write!(f, "{}{role}{:04}", self.area.as_str(), self.number)
    }
}

/// A day as a count of days since 1970-01-01 (proleptic Gregorian): date arithmetic is integer
/// arithmetic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day(pub i32);

impl Day {
    /// The day of a calendar date, or `None` when the date does not exist.
    pub fn from_ymd(year: i32, month: u32, day: u32) -> Option<Day> {
        if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
            return None;
        }
        // Howard Hinnant's days_from_civil.
        let y = if month <= 2 { year - 1 } else { year };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = month as i32;
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i32 - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        Some(Day(era * 146_097 + doe - 719_468))
    }

    /// The contract's date (always valid when it comes from the sequencer; a nonsense date maps
    /// to day 0 rather than failing, since replicas never see one).
    pub fn from_date(date: Date) -> Day {
        Day::from_ymd(date.year.into(), date.month.into(), date.day.into()).unwrap_or(Day(0))
    }

    /// (year, month, day).
    pub fn ymd(self) -> (i32, u32, u32) {
        let z = self.0 + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i32::from(month <= 2);
        (year, month, day)
    }

    /// The Monday of this day's ISO week: two days are in the same week when these are equal.
    pub fn monday(self) -> Day {
        // 1970-01-01 was a Thursday: Monday is 3 days before it.
        Day(self.0 - (self.0 + 3).rem_euclid(7))
    }
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

/// A well-formed show ID. Field order makes the derived order the rules' show order (date, slot,
/// area); [`ShowKey`] adds the movie last.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ShowId {
    pub day: Day,
    pub slot: Slot,
    pub area: Area,
}

impl ShowId {
    /// Exactly 10 bytes: area, slot `M`/`A`/`E`, `ddmmyy` (year 20yy) naming a real date; else
    /// `None` (`invalid-show-id`).
    pub fn parse(text: &str) -> Option<ShowId> {
        let b = text.as_bytes();
        if b.len() != 10 {
            return None;
        }
        let area = Area::parse(&b[..3])?;
        let slot = match b[3] {
            b'M' => Slot::Morning,
            b'A' => Slot::Afternoon,
            b'E' => Slot::Evening,
            _ => return None,
        };
        let dd = digits(&b[4..6])?;
        let mm = digits(&b[6..8])?;
        let yy = digits(&b[8..10])?;
        let day = Day::from_ymd(2000 + i32::from(yy), mm.into(), dd.into())?;
        Some(ShowId { day, slot, area })
    }
}

impl fmt::Display for ShowId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let slot = match self.slot {
            Slot::Morning => 'M',
            Slot::Afternoon => 'A',
            Slot::Evening => 'E',
        };
        let (y, m, d) = self.day.ymd();
        write!(f, "{}{slot}{d:02}{m:02}{:02}", self.area.as_str(), y - 2000)
    }
}

/// A show: (movie, show ID). Ordered in the rules' show order: date, slot, area, movie.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ShowKey {
    pub id: ShowId,
    pub movie: Movie,
}

impl fmt::Display for ShowKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.movie.as_str(), self.id)
    }
}

/// `n` ASCII digits as a number.
fn digits(bytes: &[u8]) -> Option<u16> {
    bytes.iter().try_fold(0u16, |n, &b| {
        b.is_ascii_digit().then(|| n * 10 + u16::from(b - b'0'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_print_back_as_parsed_and_order_as_the_rules_say() {
        for text in ["ATWM160523", "VERE291226", "OUTA290200"] {
            assert_eq!(ShowId::parse(text).unwrap().to_string(), text);
        }
        assert_eq!(ShowId::parse("OUTA290201"), None, "2001 is no leap year");
        assert_eq!(ShowId::parse("atwM160523"), None);
        assert_eq!(User::parse("OUTC0042").unwrap().to_string(), "OUTC0042");
        assert_eq!(User::parse("OUTX0042"), None);
        let a = ShowId::parse("VERM251126").unwrap();
        let b = ShowId::parse("ATWA251126").unwrap();
        assert!(a < b, "slot before area");
        let (atw, out) = (User::parse("ATWC9999"), User::parse("OUTC0000"));
        assert!(atw < out);
    }

    #[test]
    fn days_round_trip_and_weeks_start_on_monday() {
        for day in -800_000..800_000 {
            let (y, m, d) = Day(day).ymd();
            assert_eq!(Day::from_ymd(y, m, d), Some(Day(day)));
        }
        let tuesday = Day::from_ymd(2026, 11, 24).unwrap();
        assert_eq!(tuesday.monday(), Day::from_ymd(2026, 11, 23).unwrap());
        let sunday = Day::from_ymd(2026, 11, 29).unwrap();
        assert_eq!(sunday.monday(), tuesday.monday());
        let next_monday = Day::from_ymd(2026, 11, 30).unwrap();
        assert_eq!(next_monday.monday(), next_monday);
    }
}
