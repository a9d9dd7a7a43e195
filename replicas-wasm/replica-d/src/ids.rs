//! Identifiers and dates as typed values (docs/booking-rules.md §1–§3).
//!
//! Every parser works on the raw bytes it is given and never canonicalises: anything that is
//! not exactly the documented form is refused (`None`). The typed values derive `Ord` in the
//! field order that *is* the project's order, so that sorting never needs a hand-written
//! comparison: a [`ShowKey`] sorts in show order (date, slot, area, movie) and a [`UserId`]
//! in customer order (byte order of the 8-byte ID).

use alloc::string::String;

/// A theatre area. Declared in the order `ATW` < `OUT` < `VER` (alphabetical, §3 of the docs).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Area {
    Atw,
    Out,
    Ver,
}

impl Area {
    pub fn parse(code: &[u8]) -> Option<Area> {
        match code {
            b"ATW" => Some(Area::Atw),
            b"OUT" => Some(Area::Out),
            b"VER" => Some(Area::Ver),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Area::Atw => "ATW",
            Area::Out => "OUT",
            Area::Ver => "VER",
        }
    }
}

/// A time slot within a day, in the order `M` < `A` < `E`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Slot {
    Morning,
    Afternoon,
    Evening,
}

impl Slot {
    pub fn parse(code: u8) -> Option<Slot> {
        match code {
            b'M' => Some(Slot::Morning),
            b'A' => Some(Slot::Afternoon),
            b'E' => Some(Slot::Evening),
            _ => None,
        }
    }

    pub fn code(self) -> char {
        match self {
            Slot::Morning => 'M',
            Slot::Afternoon => 'A',
            Slot::Evening => 'E',
        }
    }
}

/// One of the three movies, in the order `Avatar` < `Avengers` < `Titanic`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Movie {
    Avatar,
    Avengers,
    Titanic,
}

impl Movie {
    pub fn parse(name: &str) -> Option<Movie> {
        match name.as_bytes() {
            b"Avatar" => Some(Movie::Avatar),
            b"Avengers" => Some(Movie::Avengers),
            b"Titanic" => Some(Movie::Titanic),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Movie::Avatar => "Avatar",
            Movie::Avengers => "Avengers",
            Movie::Titanic => "Titanic",
        }
    }
}

/// A calendar date. Field order (year, month, day) makes the derived `Ord` chronological.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub struct Day {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

impl Day {
    pub const fn new(year: u16, month: u8, day: u8) -> Day {
        Day { year, month, day }
    }

    /// Days since 1970-01-01 (proleptic Gregorian; H. Hinnant's `days_from_civil`).
    pub fn number(self) -> i64 {
        let m = i64::from(self.month);
        let y = i64::from(self.year) - i64::from(m <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let mp = (m + 9) % 12; // March = 0 … February = 11
        let doy = (153 * mp + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The day number of the Monday that starts this date's ISO week.
    pub fn monday(self) -> i64 {
        let n = self.number();
        // 1970-01-01 was a Thursday: (n + 3) mod 7 is 0 on Mondays.
        n - (n + 3).rem_euclid(7)
    }

    /// `today <= self <= today + 7 days`.
    pub fn in_window(self, today: Day) -> bool {
        let (d, t) = (self.number(), today.number());
        t <= d && d <= t + 7
    }

    /// Before `today` (by date only; the slot never makes a show past).
    pub fn is_past(self, today: Day) -> bool {
        self < today
    }
}

pub fn is_leap(year: u16) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

pub fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// A show: the pair (movie, show ID), as a key whose derived order is the show order.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub struct ShowKey {
    pub date: Day,
    pub slot: Slot,
    pub area: Area,
    pub movie: Movie,
}

/// The parts of a well-formed show ID (`AREA` + slot + `ddmmyy`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct ShowId {
    pub area: Area,
    pub slot: Slot,
    pub date: Day,
}

impl ShowId {
    pub fn parse(id: &str) -> Option<ShowId> {
        let b = id.as_bytes();
        if b.len() != 10 {
            return None;
        }
        let area = Area::parse(&b[0..3])?;
        let slot = Slot::parse(b[3])?;
        let two = |i: usize| -> Option<u8> {
            let (hi, lo) = (b[i], b[i + 1]);
            if hi.is_ascii_digit() && lo.is_ascii_digit() {
                Some((hi - b'0') * 10 + (lo - b'0'))
            } else {
                None
            }
        };
        let (dd, mm, yy) = (two(4)?, two(6)?, two(8)?);
        let year = 2000 + u16::from(yy);
        if !(1..=12).contains(&mm) || dd == 0 || dd > days_in_month(year, mm) {
            return None;
        }
        Some(ShowId {
            area,
            slot,
            date: Day::new(year, mm, dd),
        })
    }
}

impl ShowKey {
    pub fn new(movie: Movie, id: ShowId) -> ShowKey {
        ShowKey {
            date: id.date,
            slot: id.slot,
            area: id.area,
            movie,
        }
    }

    /// The 10-character show ID this key was parsed from (parsing is exact, so this is too).
    pub fn show_id(self) -> String {
        let mut s = String::with_capacity(10);
        s.push_str(self.area.code());
        s.push(self.slot.code());
        let yy = (self.date.year % 100) as u8;
        for n in [self.date.day, self.date.month, yy] {
            s.push(char::from(b'0' + n / 10));
            s.push(char::from(b'0' + n % 10));
        }
        s
    }

    /// Same date and slot (the "same show" of the same-show-other-area rule, area aside).
    pub fn same_time(self, other: ShowKey) -> bool {
        self.date == other.date && self.slot == other.slot
    }
}

/// A well-formed user ID, kept as its 8 bytes: byte order is customer order.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub struct UserId([u8; 8]);

impl UserId {
    pub fn parse(id: &str) -> Option<UserId> {
        let b: [u8; 8] = id.as_bytes().try_into().ok()?;
        Area::parse(&b[0..3])?;
        if !matches!(b[3], b'A' | b'C') || !b[4..].iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(UserId(b))
    }

    pub fn area(self) -> Area {
        // Checked by `parse`, the only constructor; `Atw` is never reached.
        Area::parse(&self.0[0..3]).unwrap_or(Area::Atw)
    }

    pub fn is_admin(self) -> bool {
        self.0[3] == b'A'
    }

    pub fn text(self) -> String {
        self.0.iter().map(|&b| char::from(b)).collect()
    }
}
