//! The rules' vocabulary (docs/booking-rules.md §1–§3): user IDs, movies, show IDs, the calendar
//! and show order. Every parser here is a V-step primitive: it takes the bytes exactly as
//! received and either recognises them or says no; nothing is trimmed or case-folded.

/// One of the three theatres. The discriminant is the area's place in show order
/// (alphabetical: `ATW` < `OUT` < `VER`), not the order the spec introduces them in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Area {
    Atw = 0,
    Out = 1,
    Ver = 2,
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
}

/// The three movies; the discriminant is the movie's place in show order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Movie {
    Avatar = 0,
    Avengers = 1,
    Titanic = 2,
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

    pub fn name(self) -> &'static str {
        match self {
            Movie::Avatar => "Avatar",
            Movie::Avengers => "Avengers",
            Movie::Titanic => "Titanic",
        }
    }
}

/// A well-formed user ID, kept as its 8 bytes: their byte order is customer order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId([u8; 8]);

impl UserId {
    pub fn parse(s: &str) -> Option<UserId> {
        let b: [u8; 8] = s.as_bytes().try_into().ok()?;
        Area::parse(&b[..3])?;
        let role_ok = b[3] == b'A' || b[3] == b'C';
        (role_ok && b[4..].iter().all(u8::is_ascii_digit)).then_some(UserId(b))
    }

    /// The home area.
    pub fn area(self) -> Area {
        // Checked by `parse`, the only constructor.
        Area::parse(&self.0[..3]).expect("parsed user ID has an area")
    }

    pub fn is_admin(self) -> bool {
        self.0[3] == b'A'
    }

    /// The ID as received: the string export emits and the digest hashes.
    pub fn as_str(&self) -> &str {
        // ASCII by construction.
        std::str::from_utf8(&self.0).expect("user IDs are ASCII")
    }

    pub fn text(self) -> String {
        self.as_str().to_owned()
    }
}

/// A calendar day as its Julian Day Number: consecutive days are consecutive integers, and
/// JDN 0 was a Monday, so `jdn % 7` is the weekday counted from Monday.
pub type Day = i64;

/// Fliegel & Van Flandern's (1968) Gregorian date → Julian Day Number, in truncating integer
/// arithmetic as published. Valid for every year this system can meet (`u16`).
pub fn julian_day(year: i64, month: i64, day: i64) -> Day {
    let a = (month - 14) / 12; // −1 for January and February, 0 otherwise
    (1461 * (year + 4800 + a)) / 4 + (367 * (month - 2 - 12 * a)) / 12
        - (3 * ((year + 4900 + a) / 100)) / 4
        + day
        - 32075
}

/// The Monday of the ISO week (Monday to Sunday) containing `d`: two days are in the same week
/// exactly when their Mondays are equal.
pub fn monday_of(d: Day) -> Day {
    d - d.rem_euclid(7)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        _ => 31,
    }
}

/// Parses `year, month, day`, or `None` when no such date exists.
pub fn calendar_day(year: i64, month: i64, day: i64) -> Option<Day> {
    let ok = (1..=12).contains(&month) && (1..=days_in_month(year, month)).contains(&day);
    ok.then(|| julian_day(year, month, day))
}

/// A well-formed show ID, decoded: 10 bytes of area, slot `M`/`A`/`E` and `ddmmyy` digits of a
/// date that exists in 20`yy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Screening {
    pub id: [u8; 10],
    pub area: Area,
    /// 0 morning, 1 afternoon, 2 evening: slot order within a day.
    pub slot: u8,
    pub day: Day,
}

impl Screening {
    pub fn parse(s: &str) -> Option<Screening> {
        let id: [u8; 10] = s.as_bytes().try_into().ok()?;
        let area = Area::parse(&id[..3])?;
        let slot = match id[3] {
            b'M' => 0,
            b'A' => 1,
            b'E' => 2,
            _ => return None,
        };
        let digits = &id[4..];
        if !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let two = |i: usize| i64::from(digits[i] - b'0') * 10 + i64::from(digits[i + 1] - b'0');
        let day = calendar_day(2000 + two(4), two(2), two(0))?;
        Some(Screening {
            id,
            area,
            slot,
            day,
        })
    }
}

/// A show: the pair (movie, show ID), with the show ID's parts decoded once. Its derived
/// equality and hash are those of (movie, ID) — the other fields are functions of the ID.
/// It deliberately has no `Ord`: every ordered answer sorts by [`Show::rank`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Show {
    pub movie: Movie,
    pub id: [u8; 10],
    pub area: Area,
    pub slot: u8,
    pub day: Day,
}

/// Show order as a sort key: date, slot, area, movie.
pub type Rank = (Day, u8, u8, u8);

impl Show {
    pub fn new(movie: Movie, s: Screening) -> Show {
        Show {
            movie,
            id: s.id,
            area: s.area,
            slot: s.slot,
            day: s.day,
        }
    }

    /// Parses a (movie, show ID) pair, or `None` when either is not well-formed.
    pub fn parse(movie: &str, id: &str) -> Option<Show> {
        Some(Show::new(Movie::parse(movie)?, Screening::parse(id)?))
    }

    pub fn rank(&self) -> Rank {
        (self.day, self.slot, self.area as u8, self.movie as u8)
    }

    /// The show ID as received: the string export emits and the digest hashes.
    pub fn id_str(&self) -> &str {
        // ASCII by construction.
        std::str::from_utf8(&self.id).expect("show IDs are ASCII")
    }

    pub fn id_text(&self) -> String {
        self.id_str().to_owned()
    }
}
