//! The spec's fixed vocabulary (rules §1, docs §1) and the typed show key whose derived order
//! is show order. Parsing is byte-exact: nothing is trimmed or case-folded.
use crate::calendar::Date;
use alloc::string::String;

/// Looks `s` up in a table of spellings; the position is the value's rank in show order.
fn rank_of(table: &[&str], s: &[u8]) -> Option<u8> {
    table
        .iter()
        .position(|t| t.as_bytes() == s)
        .map(|i| i as u8)
}

/// Capacities and ticket counts (in requests) share one range.
pub const SEAT_COUNTS: core::ops::RangeInclusive<u32> = 1..=10_000;

/// Area codes in show order (alphabetical, docs §3), which is also their byte order.
const AREA_CODES: [&str; 3] = ["ATW", "OUT", "VER"];
/// Slot letters in show order (`M` < `A` < `E`).
const SLOT_CODES: [&str; 3] = ["M", "A", "E"];
/// Movie names in show order.
const MOVIE_NAMES: [&str; 3] = ["Avatar", "Avengers", "Titanic"];

/// A theatre, by rank in [`AREA_CODES`].
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub struct Area(u8);

impl Area {
    fn parse(s: &[u8]) -> Option<Area> {
        rank_of(&AREA_CODES, s).map(Area)
    }
    pub fn code(self) -> &'static str {
        AREA_CODES[self.0 as usize]
    }
    /// Index into per-area arrays.
    pub fn index(self) -> usize {
        self.0 as usize
    }
    pub const FIRST: Area = Area(0);
    pub const LAST: Area = Area(2);
    pub const ALL: [Area; 3] = [Area(0), Area(1), Area(2)];
}

/// A time of day, by rank in [`SLOT_CODES`].
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub struct Slot(u8);

impl Slot {
    pub const FIRST: Slot = Slot(0);
    pub const LAST: Slot = Slot(2);
}

/// One of the three films, by rank in [`MOVIE_NAMES`].
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub struct Movie(u8);

impl Movie {
    pub fn parse(s: &str) -> Option<Movie> {
        rank_of(&MOVIE_NAMES, s.as_bytes()).map(Movie)
    }
    pub fn name(self) -> &'static str {
        MOVIE_NAMES[self.0 as usize]
    }
    pub fn index(self) -> usize {
        self.0 as usize
    }
    pub const FIRST: Movie = Movie(0);
    pub const LAST: Movie = Movie(2);
    pub const ALL: [Movie; 3] = [Movie(0), Movie(1), Movie(2)];
}

/// A well-formed user ID, kept as its 8 bytes: byte order is customer order (docs §3), and
/// the bytes print back unchanged.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub struct Uid([u8; 8]);

impl Uid {
    pub fn parse(s: &str) -> Option<Uid> {
        let b: [u8; 8] = s.as_bytes().try_into().ok()?;
        Area::parse(&b[..3])?;
        let role_ok = b[3] == b'A' || b[3] == b'C';
        (role_ok && b[4..].iter().all(u8::is_ascii_digit)).then_some(Uid(b))
    }
    /// The home area (for a customer) or administered area (for an admin).
    pub fn area(self) -> Area {
        // Validated by `parse`; the fallback is unreachable.
        Area::parse(&self.0[..3]).unwrap_or(Area::FIRST)
    }
    pub fn is_admin(self) -> bool {
        self.0[3] == b'A'
    }
    /// The ID as text, borrowed: the digest hashes it without allocating (always ASCII).
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(&self.0).unwrap_or_default()
    }
    pub fn text(self) -> String {
        self.as_str().into()
    }
}

/// A show: (movie, show ID). Field order makes the derived `Ord` show order (docs §3): date,
/// slot, area, movie.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub struct ShowKey {
    pub date: Date,
    pub slot: Slot,
    pub area: Area,
    pub movie: Movie,
}

impl ShowKey {
    /// Parses a show ID (area, slot, `ddmmyy` of an existing date in 20yy) for `movie`.
    pub fn parse(movie: Movie, id: &str) -> Option<ShowKey> {
        let b: [u8; 10] = id.as_bytes().try_into().ok()?;
        let area = Area::parse(&b[..3])?;
        let slot = rank_of(&SLOT_CODES, &b[3..4]).map(Slot)?;
        let two = |i: usize| -> Option<u8> {
            let (hi, lo) = (b[i], b[i + 1]);
            (hi.is_ascii_digit() && lo.is_ascii_digit()).then(|| (hi - b'0') * 10 + (lo - b'0'))
        };
        let (day, month, yy) = (two(4)?, two(6)?, two(8)?);
        let date = Date::new(2000 + u16::from(yy), month, day)?;
        Some(ShowKey {
            date,
            slot,
            area,
            movie,
        })
    }

    /// The show ID as it was written (`AAAS` + `ddmmyy`), as bytes (always ASCII): the one
    /// spelling both the export and the digest use.
    pub fn id_bytes(self) -> [u8; 10] {
        let mut b = [0u8; 10];
        b[..3].copy_from_slice(self.area.code().as_bytes());
        b[3] = SLOT_CODES[self.slot.0 as usize].as_bytes()[0];
        let two = [self.date.day, self.date.month, (self.date.year % 100) as u8];
        for (i, n) in two.into_iter().enumerate() {
            b[4 + 2 * i] = b'0' + n / 10;
            b[5 + 2 * i] = b'0' + n % 10;
        }
        b
    }

    /// The show ID as it was written (`AAAS` + `ddmmyy`).
    pub fn id_text(self) -> String {
        self.id_bytes().iter().map(|&b| b as char).collect()
    }

    /// The smallest and largest keys of a date range, for ordered range scans.
    pub fn first_on(date: Date) -> ShowKey {
        ShowKey {
            date,
            slot: Slot::FIRST,
            area: Area::FIRST,
            movie: Movie::FIRST,
        }
    }
    pub fn last_on(date: Date) -> ShowKey {
        ShowKey {
            date,
            slot: Slot::LAST,
            area: Area::LAST,
            movie: Movie::LAST,
        }
    }
}
