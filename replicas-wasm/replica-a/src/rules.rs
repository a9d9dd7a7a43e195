//! The rules that constrain a *produced* state, and book's admission (checks 3–7) built on them.
//!
//! Each invariant is read on the store after the tentative change, so it is phrased about the
//! result: "the screen is not oversold", "the customer holds this movie's date and slot in one
//! theatre only", "a new away movie leaves at most `WEEKLY_LIMIT` in its week".
use crate::WEEKLY_LIMIT;
use crate::calendar::Date;
use crate::journal::{Breach, Txn};
use crate::lexicon::{Area, Movie, ShowKey, Uid};
use crate::store::Store;
use dmtbs_guest::{Booked, BookingError};

/// `date` is in the window opened by `today`: `today <= date <= today + 7 days`.
pub fn in_window(today: Date, date: Date) -> bool {
    today <= date && date <= today.plus_days(7)
}

/// Past by date only (docs §8.1): a show dated today is not past, whatever its slot.
pub fn is_past(today: Date, show: &ShowKey) -> bool {
    show.date < today
}

/// The screen at `show` holds more tickets than its capacity.
pub fn overbooked(store: &Store, show: &ShowKey) -> bool {
    store.screen(show).is_some_and(|s| s.sold > s.capacity)
}

/// `who` holds `show`'s movie on the same date and slot in another theatre.
pub fn twin_elsewhere(store: &Store, who: Uid, show: &ShowKey) -> bool {
    let from = ShowKey {
        area: Area::FIRST,
        movie: Movie::FIRST,
        ..*show
    };
    let to = ShowKey {
        area: Area::LAST,
        movie: Movie::LAST,
        ..*show
    };
    store
        .holdings(who, from, to)
        .any(|k| k.movie == show.movie && k.area != show.area)
}

/// `who`'s bookings outside the home area in the ISO week of `date`, past ones included; each
/// booking (movie, show ID) counts once (docs §8.3).
pub fn away_in_week(store: &Store, who: Uid, date: Date) -> usize {
    let monday = date.monday();
    let sunday = monday.plus_days(6);
    store
        .holdings(who, ShowKey::first_on(monday), ShowKey::last_on(sunday))
        .filter(|k| k.area != who.area())
        .count()
}

/// Book's checks 3–7 for `tickets` of `show`, against the transaction's current state (for
/// exchange: after the old tickets were released). Leaves the tickets added on success.
pub fn admit(
    tx: &mut Txn<'_>,
    today: Date,
    who: Uid,
    show: ShowKey,
    tickets: u32,
) -> Result<Booked, Breach> {
    // 3, 4: about the request; nothing to change yet.
    if tx.store().screen(&show).is_none() {
        return Err(BookingError::ShowNotFound.into());
    }
    if is_past(today, &show) {
        return Err(BookingError::PastShow.into());
    }
    let (was, held) = tx.add_held(who, show, tickets);
    let after = tx.store();
    // 5, 6, 7: about the state just produced, in the rules' order.
    if twin_elsewhere(after, who, &show) {
        return Err(BookingError::SameShowOtherArea.into());
    }
    // Only a new booking away from home is a new movie; the count now includes it.
    let new_away_movie = was == 0 && show.area != who.area();
    if new_away_movie && away_in_week(after, who, show.date) > WEEKLY_LIMIT {
        return Err(BookingError::WeeklyLimit.into());
    }
    if overbooked(after, &show) {
        return Err(Breach::Overbooked(show));
    }
    let remaining = after.screen(&show).map_or(0, |s| s.remaining());
    Ok(Booked { held, remaining })
}
