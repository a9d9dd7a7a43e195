//! The fixed vocabulary of the rules (areas, slots, movies, user and show IDs) and the calendar.
//!
//! Everything here maps a well-formed value onto a small integer whose natural order is the
//! order the rules ask for, so that the rest of the crate never compares strings:
//! - a customer becomes a *seat number* in `0..30000` (area × 10000 + digits), which sorts like
//!   the byte order of its ID;
//! - a show becomes a *cell* of the calendar grid, `day × 27 + slot × 9 + area × 3 + movie`,
//!   which sorts in show order (date, slot, area, movie).

/// Area names, indexed by their position in show order (alphabetical).
pub const AREA_NAMES: [&str; 3] = ["ATW", "OUT", "VER"];
/// Movie names, indexed by their position in show order.
pub const MOVIE_NAMES: [&str; 3] = ["Avatar", "Avengers", "Titanic"];
/// Slot letters, indexed by their position in show order.
const SLOT_LETTERS: [u8; 3] = [b'M', b'A', b'E'];

/// Cells per calendar day: 3 slots × 3 areas × 3 movies.
pub const CELLS_PER_DAY: u32 = 27;
/// Show IDs name years 2000..=2099: day numbers `0..DAYS_IN_CENTURY` from 2000-01-01.
pub const DAYS_IN_CENTURY: i64 = 36_525;

fn area_of(bytes: &[u8]) -> Option<u8> {
    AREA_NAMES
        .iter()
        .position(|a| a.as_bytes() == bytes)
        .map(|p| p as u8)
}

fn digits(bytes: &[u8]) -> Option<u32> {
    let mut value = 0u32;
    for &b in bytes {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value * 10 + u32::from(b - b'0');
    }
    Some(value)
}

/// A well-formed user ID, decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct User {
    pub area: u8,
    pub admin: bool,
    /// The four digits as a number.
    pub number: u16,
}

impl User {
    pub fn parse(id: &str) -> Option<User> {
        let b = id.as_bytes();
        if b.len() != 8 {
            return None;
        }
        let area = area_of(&b[..3])?;
        let admin = match b[3] {
            b'A' => true,
            b'C' => false,
            _ => return None,
        };
        let number = digits(&b[4..])? as u16;
        Some(User {
            area,
            admin,
            number,
        })
    }

    /// The customer's seat number: dense, and ordered like the byte order of customer IDs.
    pub fn seat(self) -> u16 {
        u16::from(self.area) * 10_000 + self.number
    }
}

/// Number of customer seats (every possible role-`C` ID).
pub const SEATS: usize = 30_000;

/// The customer ID of a seat number.
pub fn customer_name(seat: u16) -> alloc::string::String {
    let area = AREA_NAMES[usize::from(seat / 10_000)];
    let n = seat % 10_000;
    let mut s = alloc::string::String::with_capacity(8);
    s.push_str(area);
    s.push('C');
    for div in [1000, 100, 10, 1] {
        s.push(char::from(b'0' + ((n / div) % 10) as u8));
    }
    s
}

pub fn parse_movie(name: &str) -> Option<u8> {
    MOVIE_NAMES.iter().position(|m| *m == name).map(|p| p as u8)
}

/// A show's place on the calendar grid, with its parts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cell(pub u32);

impl Cell {
    pub fn new(day: u32, slot: u8, area: u8, movie: u8) -> Cell {
        Cell(day * CELLS_PER_DAY + u32::from(slot) * 9 + u32::from(area) * 3 + u32::from(movie))
    }
    /// Parse a (movie, show ID) pair; `None` when the show ID is malformed.
    pub fn parse(movie: u8, show_id: &str) -> Option<Cell> {
        let b = show_id.as_bytes();
        if b.len() != 10 {
            return None;
        }
        let area = area_of(&b[..3])?;
        let slot = SLOT_LETTERS.iter().position(|&s| s == b[3])? as u8;
        let dd = digits(&b[4..6])?;
        let mm = digits(&b[6..8])?;
        let yy = digits(&b[8..10])?;
        let year = 2000 + yy as i64;
        if !(1..=12).contains(&mm) || dd < 1 || dd > month_length(year, mm) {
            return None;
        }
        let day = day_number(year, mm, dd) as u32;
        Some(Cell::new(day, slot, area, movie))
    }
    pub fn day(self) -> i64 {
        i64::from(self.0 / CELLS_PER_DAY)
    }
    pub fn slot(self) -> u8 {
        ((self.0 / 9) % 3) as u8
    }
    pub fn area(self) -> u8 {
        ((self.0 / 3) % 3) as u8
    }
    pub fn movie(self) -> u8 {
        (self.0 % 3) as u8
    }
    /// The same movie on the same date and slot in `area`.
    pub fn in_area(self, area: u8) -> Cell {
        Cell(self.0 - u32::from(self.area()) * 3 + u32::from(area) * 3)
    }
}

/// The show ID text of a cell (its movie is not part of it).
pub fn show_id_text(cell: Cell) -> alloc::string::String {
    let (y, m, d) = civil_of(cell.day());
    let mut s = alloc::string::String::with_capacity(10);
    s.push_str(AREA_NAMES[usize::from(cell.area())]);
    s.push(char::from(SLOT_LETTERS[usize::from(cell.slot())]));
    for two in [d, m, (y - 2000) as u32] {
        s.push(char::from(b'0' + (two / 10) as u8));
        s.push(char::from(b'0' + (two % 10) as u8));
    }
    s
}

// ---------------------------------------------------------------------------------------------
// Calendar: day numbers counted from 2000-01-01 (day 0), proleptic Gregorian, any year.

/// Days before the first of each month in a common year.
const DAYS_BEFORE_MONTH: [u32; 12] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
/// Days in a 400-year Gregorian cycle.
const CYCLE_DAYS: i64 = 146_097;

pub fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

pub fn month_length(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Day number of 1 January of `year`. Within a 400-year cycle starting at a year divisible
/// by 400 (itself leap), the years before offset `r` hold `ceil(r/4) - ceil(r/100) + ceil(r/400)`
/// leap years.
fn year_start(year: i64) -> i64 {
    let offset = year - 2000;
    let cycles = offset.div_euclid(400);
    let r = offset.rem_euclid(400);
    let leaps = (r + 3) / 4 - (r + 99) / 100 + (r + 399) / 400;
    cycles * CYCLE_DAYS + 365 * r + leaps
}

/// Day number of a calendar date (month 1..=12, day 1..=31; tolerant of nonsense, never panics).
pub fn day_number(year: i64, month: u32, day: u32) -> i64 {
    let m = month.clamp(1, 12);
    let mut n = year_start(year) + i64::from(DAYS_BEFORE_MONTH[(m - 1) as usize]);
    if m > 2 && is_leap(year) {
        n += 1;
    }
    n + i64::from(day) - 1
}

/// The calendar date of a day number (only used for days of show IDs, 2000..=2099).
fn civil_of(day: i64) -> (i64, u32, u32) {
    // Estimate the year from the average year length, then correct it.
    let mut year = 2000 + (day * 400).div_euclid(CYCLE_DAYS);
    while year_start(year) > day {
        year -= 1;
    }
    while year_start(year + 1) <= day {
        year += 1;
    }
    let mut rest = (day - year_start(year)) as u32;
    let mut month = 1;
    while rest >= month_length(year, month) {
        rest -= month_length(year, month);
        month += 1;
    }
    (year, month, rest + 1)
}

/// The Monday of the ISO week holding `day`. Day 0 (2000-01-01) was a Saturday, five days
/// after a Monday.
pub fn monday_of(day: i64) -> i64 {
    day - (day + 5).rem_euclid(7)
}
