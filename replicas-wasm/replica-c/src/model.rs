//! The vocabulary of the rules as typed values: areas, roles, user IDs, movies, slots, dates and
//! the show key. Every `Ord` here is derived from field order and variant order, which are chosen
//! so that the derived order *is* the rules' order (show order, customer byte order).
use alloc::string::String;

/// The three theatres. Variant order is the show-order area order `ATW` < `OUT` < `VER`
/// (alphabetical, which is also byte order of the codes).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Area {
    Atw,
    Out,
    Ver,
}

impl Area {
    pub const ALL: [Area; 3] = [Area::Atw, Area::Out, Area::Ver];

    fn from_code(code: &[u8]) -> Option<Area> {
        match code {
            b"ATW" => Some(Area::Atw),
            b"OUT" => Some(Area::Out),
            b"VER" => Some(Area::Ver),
            _ => None,
        }
    }

    fn code(self) -> &'static str {
        match self {
            Area::Atw => "ATW",
            Area::Out => "OUT",
            Area::Ver => "VER",
        }
    }
}

/// `A` before `C`, as in byte order.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Role {
    Admin,
    Customer,
}

/// A well-formed user ID. The derived order (area, role, number) equals the byte order of the
/// 8-byte text, which is the rules' customer order.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub struct UserId {
    pub area: Area,
    pub role: Role,
    pub number: u16,
}

impl UserId {
    pub const LOWEST: UserId = UserId {
        area: Area::Atw,
        role: Role::Admin,
        number: 0,
    };
    pub const HIGHEST: UserId = UserId {
        area: Area::Ver,
        role: Role::Customer,
        number: 9999,
    };

    pub fn parse(text: &str) -> Option<UserId> {
        let b = text.as_bytes();
        if b.len() != 8 {
            return None;
        }
        let area = Area::from_code(&b[..3])?;
        let role = match b[3] {
            b'A' => Role::Admin,
            b'C' => Role::Customer,
            _ => return None,
        };
        let number = digits(&b[4..8])?;
        Some(UserId { area, role, number })
    }

    pub fn is_admin(self) -> bool {
        self.role == Role::Admin
    }

    pub fn render(self) -> String {
        let mut s = String::with_capacity(8);
        s.push_str(self.area.code());
        s.push(match self.role {
            Role::Admin => 'A',
            Role::Customer => 'C',
        });
        push_digits(&mut s, u32::from(self.number), 4);
        s
    }
}

/// The three movies, in show-order movie order.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Movie {
    Avatar,
    Avengers,
    Titanic,
}

impl Movie {
    pub fn parse(text: &str) -> Option<Movie> {
        match text {
            "Avatar" => Some(Movie::Avatar),
            "Avengers" => Some(Movie::Avengers),
            "Titanic" => Some(Movie::Titanic),
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

/// Morning < afternoon < evening.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Slot {
    Morning,
    Afternoon,
    Evening,
}

impl Slot {
    fn letter(self) -> char {
        match self {
            Slot::Morning => 'M',
            Slot::Afternoon => 'A',
            Slot::Evening => 'E',
        }
    }
}

/// A proleptic Gregorian calendar date; derived order is chronological.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub struct Date {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

impl Date {
    pub fn new(year: u16, month: u8, day: u8) -> Date {
        Date { year, month, day }
    }

    fn exists(self) -> bool {
        (1..=12).contains(&self.month)
            && self.day >= 1
            && self.day <= days_in_month(self.year, self.month)
    }

    /// Days since 1970-01-01 (H. Hinnant's `days_from_civil`).
    pub fn serial(self) -> i64 {
        let (m, d) = (i64::from(self.month), i64::from(self.day));
        let y = i64::from(self.year) - i64::from(m <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The inverse of [`Date::serial`] (`civil_from_days`).
    pub fn from_serial(serial: i64) -> Date {
        let z = serial + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        Date::new(year as u16, month as u8, day as u8)
    }

    /// The Monday of this date's ISO week (1970-01-01 was a Thursday).
    pub fn monday(self) -> Date {
        let s = self.serial();
        Date::from_serial(s - (s + 3).rem_euclid(7))
    }

    pub fn plus_days(self, days: i64) -> Date {
        Date::from_serial(self.serial() + days)
    }
}

fn is_leap(year: u16) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 31,
    }
}

/// A show: (movie, show ID), with the show ID taken apart. The field order makes the derived
/// order the rules' show order: date, slot, area, movie.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub struct ShowKey {
    pub date: Date,
    pub slot: Slot,
    pub area: Area,
    pub movie: Movie,
}

impl ShowKey {
    /// Parses a show ID for `movie`; `None` when the ID is malformed.
    pub fn parse(movie: Movie, show_id: &str) -> Option<ShowKey> {
        let b = show_id.as_bytes();
        if b.len() != 10 {
            return None;
        }
        let area = Area::from_code(&b[..3])?;
        let slot = match b[3] {
            b'M' => Slot::Morning,
            b'A' => Slot::Afternoon,
            b'E' => Slot::Evening,
            _ => return None,
        };
        let day = digits(&b[4..6])?;
        let month = digits(&b[6..8])?;
        let yy = digits(&b[8..10])?;
        let date = Date::new(2000 + yy, month as u8, day as u8);
        date.exists().then_some(ShowKey {
            date,
            slot,
            area,
            movie,
        })
    }

    /// The first key of `date` in show order.
    pub fn first_on(date: Date) -> ShowKey {
        ShowKey {
            date,
            slot: Slot::Morning,
            area: Area::Atw,
            movie: Movie::Avatar,
        }
    }

    /// The last key of `date` in show order.
    pub fn last_on(date: Date) -> ShowKey {
        ShowKey {
            date,
            slot: Slot::Evening,
            area: Area::Ver,
            movie: Movie::Titanic,
        }
    }

    /// The same screening (movie, date, slot) in another theatre.
    pub fn in_area(self, area: Area) -> ShowKey {
        ShowKey { area, ..self }
    }

    pub fn show_id(self) -> String {
        let mut s = String::with_capacity(10);
        s.push_str(self.area.code());
        s.push(self.slot.letter());
        push_digits(&mut s, u32::from(self.date.day), 2);
        push_digits(&mut s, u32::from(self.date.month), 2);
        push_digits(&mut s, u32::from(self.date.year) % 100, 2);
        s
    }
}

/// ASCII digits `0`–`9` only, as a number.
fn digits(b: &[u8]) -> Option<u16> {
    b.iter().try_fold(0u16, |n, &c| {
        c.is_ascii_digit().then(|| n * 10 + u16::from(c - b'0'))
    })
}

fn push_digits(s: &mut String, n: u32, width: u32) {
    for p in (0..width).rev() {
        s.push(char::from(b'0' + ((n / 10u32.pow(p)) % 10) as u8));
    }
}
