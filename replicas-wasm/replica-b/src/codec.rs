//! Parsing, packing and formatting of identifiers, and the calendar arithmetic.
//!
//! A show is packed into one `u64` key that sorts in show order:
//! `days << 6 | slot << 4 | area << 2 | movie`, where `days` counts from 2000-01-01 (show IDs
//! only name years 2000..=2099, so it is never negative and the key stays below 2^22).
//! Every code below is the index in an array written in the rules' order, so comparing keys
//! compares date, then slot, then area, then movie.

use alloc::string::String;

/// Areas in show order (alphabetical, which is also their byte order in user IDs).
pub const AREAS: [&str; 3] = ["ATW", "OUT", "VER"];
/// Slots in show order.
const SLOTS: [u8; 3] = [b'M', b'A', b'E'];
/// Movies in show order.
pub const MOVIES: [&str; 3] = ["Avatar", "Avengers", "Titanic"];

/// Days from 1970-01-01 to 2000-01-01.
const EPOCH_2000: i64 = 10_957;

/// Days since 2000-01-01 of a proleptic Gregorian date (negative before it).
/// Howard Hinnant's `days_from_civil`, shifted to our epoch.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let (m, d) = (month as i64, day as i64);
    let y = if m <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468 - EPOCH_2000
}

/// Inverse of [`days_from_civil`]: `(year, month, day)`.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + EPOCH_2000 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// The Monday of the ISO week containing `days` (2000-01-01 was a Saturday).
pub fn monday_of(days: i64) -> i64 {
    days - (days + 5).rem_euclid(7)
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn area_code(bytes: &[u8]) -> Option<u8> {
    AREAS
        .iter()
        .position(|a| a.as_bytes() == bytes)
        .map(|i| i as u8)
}

/// Two ASCII digits as a number.
fn two_digits(b: &[u8]) -> Option<u32> {
    if b[0].is_ascii_digit() && b[1].is_ascii_digit() {
        Some(u32::from(b[0] - b'0') * 10 + u32::from(b[1] - b'0'))
    } else {
        None
    }
}

/// A well-formed user ID, decoded.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct User {
    pub area: u8,
    pub admin: bool,
    pub number: u16,
}

impl User {
    /// An integer that sorts like the ID string among IDs of the same role (area, then digits).
    pub fn code(self) -> u32 {
        u32::from(self.area) * 10_000 + u32::from(self.number)
    }
}

pub fn parse_user(s: &str) -> Option<User> {
    let b = s.as_bytes();
    if b.len() != 8 {
        return None;
    }
    let area = area_code(&b[..3])?;
    let admin = match b[3] {
        b'A' => true,
        b'C' => false,
        _ => return None,
    };
    let number = two_digits(&b[4..6])? * 100 + two_digits(&b[6..8])?;
    Some(User {
        area,
        admin,
        number: number as u16,
    })
}

/// The customer ID string of a customer code (role `C`).
pub fn format_customer(code: u32) -> String {
    let mut s = String::with_capacity(8);
    s.push_str(AREAS[(code / 10_000) as usize]);
    s.push('C');
    push_digits(&mut s, code % 10_000, 4);
    s
}

pub fn parse_movie(s: &str) -> Option<u64> {
    MOVIES.iter().position(|m| *m == s).map(|i| i as u64)
}

/// A well-formed show ID as a show key with movie code 0; OR in the movie to get the show.
pub fn parse_show_id(s: &str) -> Option<u64> {
    let b = s.as_bytes();
    if b.len() != 10 {
        return None;
    }
    let area = area_code(&b[..3])?;
    let slot = SLOTS.iter().position(|&c| c == b[3])?;
    let day = two_digits(&b[4..6])?;
    let month = two_digits(&b[6..8])?;
    let year = 2000 + i64::from(two_digits(&b[8..10])?);
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let days = days_from_civil(year, month, day) as u64;
    Some(days << 6 | (slot as u64) << 4 | u64::from(area) << 2)
}

pub fn key_days(key: u64) -> i64 {
    (key >> 6) as i64
}

pub fn key_area(key: u64) -> u8 {
    ((key >> 2) & 3) as u8
}

pub fn key_movie(key: u64) -> u64 {
    key & 3
}

pub fn movie_name(key: u64) -> String {
    String::from(MOVIES[key_movie(key) as usize])
}

/// The show ID string of a show key (the movie bits are ignored).
pub fn format_show_id(key: u64) -> String {
    let (year, month, day) = civil_from_days(key_days(key));
    let mut s = String::with_capacity(10);
    s.push_str(AREAS[key_area(key) as usize]);
    s.push(SLOTS[((key >> 4) & 3) as usize] as char);
    push_digits(&mut s, day, 2);
    push_digits(&mut s, month, 2);
    push_digits(&mut s, (year - 2000) as u32, 2);
    s
}

fn push_digits(s: &mut String, mut n: u32, width: u32) {
    let mut div = 10u32.pow(width - 1);
    for _ in 0..width {
        s.push((b'0' + (n / div) as u8) as char);
        n %= div;
        div /= 10;
    }
}
