//! Read-only views of the store, possibly *hypothetical*: a [`View`] is the store seen through a
//! list of pending ticket adjustments that have not been applied. Every rule of the booking
//! rules is phrased as a query on a view (below); an operation that must judge something "as
//! if" another change had happened (exchange) simply asks its questions of a view carrying that
//! change. Nothing here mutates anything.
use crate::grid::{Show, Store};
use crate::lexicon::{CELLS_PER_DAY, Cell, DAYS_IN_CENTURY, monday_of};

/// A ticket adjustment not yet applied: `delta` tickets for `seat` on `cell`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pending {
    pub seat: u16,
    pub cell: Cell,
    pub delta: i64,
}

#[derive(Clone, Copy)]
pub struct View<'a> {
    store: &'a Store,
    pending: &'a [Pending],
}

impl<'a> View<'a> {
    /// The store as it is.
    pub fn actual(store: &'a Store) -> Self {
        View {
            store,
            pending: &[],
        }
    }

    /// The store as it would be after `pending` (each (seat, cell) at most once).
    pub fn supposing(store: &'a Store, pending: &'a [Pending]) -> Self {
        View { store, pending }
    }

    /// This view with (more) pending adjustments: only valid on an actual view.
    pub fn with_pending<'b>(&self, pending: &'b [Pending]) -> View<'b>
    where
        'a: 'b,
    {
        debug_assert!(self.pending.is_empty());
        View::supposing(self.store, pending)
    }

    /// Existing shows on cells `start, start + stride, …`, in show order (actual store).
    pub fn store_walk(&self, start: u32, stride: u32) -> impl Iterator<Item = &'a Show> + 'a {
        self.store.walk(start, stride)
    }

    /// Cells the customer holds in the actual store, in show order.
    pub fn cells_of(&self, seat: u16) -> &'a [u32] {
        self.store.cells_of(seat)
    }

    pub fn show(&self, cell: Cell) -> Option<&'a Show> {
        self.store.show(cell)
    }

    fn pending_for(&self, seat: u16, cell: Cell) -> i64 {
        self.pending
            .iter()
            .filter(|p| p.seat == seat && p.cell == cell)
            .map(|p| p.delta)
            .sum()
    }

    /// Tickets the customer would hold on the show.
    pub fn held(&self, seat: u16, cell: Cell) -> u32 {
        let base = i64::from(self.store.held(seat, cell));
        (base + self.pending_for(seat, cell)).max(0) as u32
    }

    /// Seats left on an existing show.
    pub fn seats_left(&self, show: &Show) -> u32 {
        let taken: i64 = self
            .pending
            .iter()
            .filter(|p| p.cell == show.cell)
            .map(|p| p.delta)
            .sum();
        let sold = (i64::from(show.sold) + taken).max(0);
        (i64::from(show.capacity) - sold).max(0) as u32
    }

    /// Does the customer hold the same movie, same date and slot, in another area than `cell`'s?
    pub fn holds_twin_elsewhere(&self, seat: u16, cell: Cell) -> bool {
        (0..3u8)
            .filter(|&a| a != cell.area())
            .any(|a| self.held(seat, cell.in_area(a)) > 0)
    }

    /// How many of the customer's bookings lie outside `home` in the week of `day`.
    pub fn away_bookings_in_week(&self, seat: u16, home: u8, day: i64) -> u32 {
        let monday = monday_of(day);
        let lo = monday.clamp(0, DAYS_IN_CENTURY) as u32 * CELLS_PER_DAY;
        let hi = (monday + 7).clamp(0, DAYS_IN_CENTURY) as u32 * CELLS_PER_DAY;
        let cells = self.store.cells_of(seat);
        let from = cells.partition_point(|&c| c < lo);
        let to = cells.partition_point(|&c| c < hi);
        let mut count = cells[from..to]
            .iter()
            .filter(|&&c| Cell(c).area() != home)
            .count() as i64;
        // Bookings the pending adjustments would create or empty.
        for p in self.pending {
            if p.seat != seat || p.cell.0 < lo || p.cell.0 >= hi || p.cell.area() == home {
                continue;
            }
            let before = self.store.held(seat, p.cell) > 0;
            let after = self.held(seat, p.cell) > 0;
            count += i64::from(after) - i64::from(before);
        }
        count.max(0) as u32
    }
}
