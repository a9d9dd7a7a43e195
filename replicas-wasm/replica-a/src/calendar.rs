//! Calendar dates without day numbers: a date is (year, month, day), ordered chronologically by
//! its fields, and every date rule needs only "the next/previous day" and the weekday. The
//! window adds at most 7 days and a week steps back at most 6, so walking day by day is exact
//! and cheap across month, year and leap-day boundaries.

/// A proleptic-Gregorian date. Field order makes the derived `Ord` chronological.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub struct Date {
    pub year: u16,
    pub month: u8,
    pub day: u8,
}

/// Sentinels below and above every real date, for unbounded ordered range scans.
pub const DAWN: Date = Date {
    year: 0,
    month: 0,
    day: 0,
};
pub const DUSK: Date = Date {
    year: u16::MAX,
    month: u8::MAX,
    day: u8::MAX,
};

pub fn is_leap(year: u16) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

/// Days in `month` (1..=12) of `year`.
pub fn month_len(year: u16, month: u8) -> u8 {
    // "Thirty days hath September…": 30 + (0/1) from a bit per month, February apart.
    const LONG_MONTHS: u16 = 0b1010_1101_0101; // bit m-1 set: January, March, May, …
    if month == 2 {
        return 28 + u8::from(is_leap(year));
    }
    let bit = (LONG_MONTHS >> (month.clamp(1, 12) - 1)) & 1;
    30 + bit as u8
}

impl Date {
    /// The date, if it exists on the calendar.
    pub fn new(year: u16, month: u8, day: u8) -> Option<Date> {
        ((1..=12).contains(&month) && day >= 1 && day <= month_len(year, month)).then_some(Date {
            year,
            month,
            day,
        })
    }

    /// The following day. Saturates at the last representable date (never reached by the
    /// host's dates, but no arithmetic here may panic).
    pub fn next(self) -> Date {
        let Date { year, month, day } = self;
        if day < month_len(year, month) {
            Date {
                day: day + 1,
                ..self
            }
        } else if month < 12 {
            Date {
                month: month + 1,
                day: 1,
                ..self
            }
        } else if year < u16::MAX {
            Date {
                year: year + 1,
                month: 1,
                day: 1,
            }
        } else {
            self
        }
    }

    /// The preceding day (saturating at 0000-01-01).
    pub fn prev(self) -> Date {
        let Date { year, month, day } = self;
        if day > 1 {
            Date {
                day: day - 1,
                ..self
            }
        } else if month > 1 {
            Date {
                month: month - 1,
                day: month_len(year, month - 1),
                ..self
            }
        } else if year > 0 {
            Date {
                year: year - 1,
                month: 12,
                day: 31,
            }
        } else {
            self
        }
    }

    pub fn plus_days(self, n: u32) -> Date {
        (0..n).fold(self, |d, _| d.next())
    }

    /// 0 = Monday … 6 = Sunday, by Sakamoto's month-offset formula (March-based year so the
    /// leap day falls at the end).
    pub fn weekday(self) -> u32 {
        const OFFSET: [i64; 12] = [0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4];
        let y = i64::from(self.year) - i64::from(self.month < 3);
        let leaps = y.div_euclid(4) - y.div_euclid(100) + y.div_euclid(400);
        let sunday_based =
            (y + leaps + OFFSET[usize::from(self.month.clamp(1, 12) - 1)] + i64::from(self.day))
                .rem_euclid(7);
        ((sunday_based + 6) % 7) as u32
    }

    /// The Monday of this date's ISO week; two dates share a week iff their Mondays are equal.
    pub fn monday(self) -> Date {
        (0..self.weekday()).fold(self, |d, _| d.prev())
    }
}
