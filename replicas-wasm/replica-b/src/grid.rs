//! The data: a calendar grid of cells over a slab of shows, each show with its own list of
//! holders, and per-seat indexes of the cells a customer holds.
//!
//! - `grid[cell]` is `0` when no show sits on that cell, else `1 +` the show's slab slot. The
//!   cell number *is* the show order, so ordered answers are strided walks over the grid
//!   (stride 3: one movie; stride 9: one movie in one area).
//! - `slab` holds the shows; removed shows leave a vacant slot that the next new show reuses.
//! - Each show keeps its holders `(seat, tickets)` sorted by seat, and its sold count.
//! - `held_cells[seat]` lists the cells the customer holds, ascending (= show order); the
//!   tickets themselves live only in the shows.
//! - `digest` is the state digest (rules §7.1) of what export would return, kept by the
//!   primitives below: every edit of the canonical state passes through one of them.
//!
//! Nothing in here knows a rule. The store answers lookups and applies a [`Change`] list.
use alloc::vec::Vec;

use dmtbs_guest::StateDigest;

use crate::lexicon::{Cell, MOVIE_NAMES, SEATS, customer_name, show_id_text};

/// The movie text export emits for a cell.
fn movie_text(cell: Cell) -> &'static str {
    MOVIE_NAMES[usize::from(cell.movie())]
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Holder {
    pub seat: u16,
    pub tickets: u32,
}

#[derive(Debug)]
pub struct Show {
    pub cell: Cell,
    pub capacity: u32,
    pub sold: u32,
    pub holders: Vec<Holder>,
}

impl Show {
    pub fn held_by(&self, seat: u16) -> u32 {
        match self.holders.binary_search_by_key(&seat, |h| h.seat) {
            Ok(i) => self.holders[i].tickets,
            Err(_) => 0,
        }
    }
    pub fn remaining(&self) -> u32 {
        self.capacity.saturating_sub(self.sold)
    }
}

/// One primitive edit of the store. Operations describe their whole effect as a list of these.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// Create a show on an empty cell.
    Open { cell: Cell, capacity: u32 },
    /// Set an existing show's capacity.
    Resize { cell: Cell, capacity: u32 },
    /// Delete a show and every booking on it.
    Close { cell: Cell },
    /// Add (or, negative, take away) tickets of a customer on a show.
    Tickets { seat: u16, cell: Cell, delta: i64 },
}

#[derive(Default, Debug)]
pub struct Store {
    grid: Vec<u32>,
    slab: Vec<Option<Show>>,
    vacant: Vec<u32>,
    held_cells: Vec<Vec<u32>>,
    digest: StateDigest,
}

impl Store {
    pub fn show(&self, cell: Cell) -> Option<&Show> {
        match self.grid.get(cell.0 as usize) {
            Some(&h) if h != 0 => self.slab[(h - 1) as usize].as_ref(),
            _ => None,
        }
    }

    fn show_mut(&mut self, cell: Cell) -> Option<&mut Show> {
        match self.grid.get(cell.0 as usize) {
            Some(&h) if h != 0 => self.slab[(h - 1) as usize].as_mut(),
            _ => None,
        }
    }

    /// The digest of the canonical state, as kept: O(1).
    pub fn digest(&self) -> StateDigest {
        self.digest
    }

    pub fn held(&self, seat: u16, cell: Cell) -> u32 {
        self.show(cell).map_or(0, |s| s.held_by(seat))
    }

    /// The cells held by a seat, in show order.
    pub fn cells_of(&self, seat: u16) -> &[u32] {
        self.held_cells
            .get(usize::from(seat))
            .map_or(&[], |v| v.as_slice())
    }

    /// Existing shows on cells `start, start + stride, …`, in that (show) order.
    pub fn walk(&self, start: u32, stride: u32) -> impl Iterator<Item = &Show> + '_ {
        let from = (start as usize).min(self.grid.len());
        self.grid[from..]
            .iter()
            .step_by(stride as usize)
            .filter(|&&h| h != 0)
            .filter_map(move |&h| self.slab[(h - 1) as usize].as_ref())
    }

    /// Every show, in show order.
    pub fn all_shows(&self) -> impl Iterator<Item = &Show> + '_ {
        self.walk(0, 1)
    }

    /// Seats with at least one booking, ascending.
    pub fn seats(&self) -> impl Iterator<Item = (u16, &[u32])> + '_ {
        self.held_cells
            .iter()
            .enumerate()
            .filter(|(_, c)| !c.is_empty())
            .map(|(s, c)| (s as u16, c.as_slice()))
    }

    /// Apply a change list, in order. Changes are produced by planners that checked them
    /// against this store, so a change that does not fit is a bug: it panics (a trap).
    pub fn commit(&mut self, changes: &[Change]) {
        for &change in changes {
            match change {
                Change::Open { cell, capacity } => self.open(cell, capacity),
                Change::Resize { cell, capacity } => {
                    let show = self.show_mut(cell).expect("resize: no show");
                    let old = core::mem::replace(&mut show.capacity, capacity);
                    let id = show_id_text(cell);
                    self.digest.remove_show(movie_text(cell), &id, old);
                    self.digest.add_show(movie_text(cell), &id, capacity);
                }
                Change::Close { cell } => self.close(cell),
                Change::Tickets { seat, cell, delta } => self.tickets(seat, cell, delta),
            }
        }
    }

    fn open(&mut self, cell: Cell, capacity: u32) {
        let at = cell.0 as usize;
        if self.grid.len() <= at {
            self.grid.resize(at + 1, 0);
        }
        assert_eq!(self.grid[at], 0, "open: cell taken");
        let show = Show {
            cell,
            capacity,
            sold: 0,
            holders: Vec::new(),
        };
        let slot = match self.vacant.pop() {
            Some(slot) => {
                self.slab[slot as usize] = Some(show);
                slot
            }
            None => {
                self.slab.push(Some(show));
                (self.slab.len() - 1) as u32
            }
        };
        self.grid[at] = slot + 1;
        self.digest
            .add_show(movie_text(cell), &show_id_text(cell), capacity);
    }

    fn close(&mut self, cell: Cell) {
        let handle = self.grid[cell.0 as usize];
        let show = self.slab[(handle - 1) as usize]
            .take()
            .expect("close: no show");
        self.grid[cell.0 as usize] = 0;
        self.vacant.push(handle - 1);
        // The show's entry and every booking on it leave the state.
        let (movie, id) = (movie_text(cell), show_id_text(cell));
        self.digest.remove_show(movie, &id, show.capacity);
        for h in &show.holders {
            self.digest
                .remove_booking(&customer_name(h.seat), movie, &id, h.tickets);
            let list = &mut self.held_cells[usize::from(h.seat)];
            if let Ok(i) = list.binary_search(&cell.0) {
                list.remove(i);
            }
        }
    }

    fn tickets(&mut self, seat: u16, cell: Cell, delta: i64) {
        if self.held_cells.len() < SEATS {
            self.held_cells.resize_with(SEATS, Vec::new);
        }
        let show = self.show_mut(cell).expect("tickets: no show");
        let (now, was) = match show.holders.binary_search_by_key(&seat, |h| h.seat) {
            Ok(i) => {
                let was = show.holders[i].tickets;
                let now = (i64::from(was) + delta) as u32;
                if now == 0 {
                    show.holders.remove(i);
                } else {
                    show.holders[i].tickets = now;
                }
                (now, was)
            }
            Err(i) => {
                let now = delta as u32;
                show.holders.insert(i, Holder { seat, tickets: now });
                (now, 0)
            }
        };
        show.sold = (i64::from(show.sold) + delta) as u32;
        // The booking entry with `was` tickets (if any) is replaced by one with `now`.
        let (customer, movie, id) = (customer_name(seat), movie_text(cell), show_id_text(cell));
        if was > 0 {
            self.digest.remove_booking(&customer, movie, &id, was);
        }
        if now > 0 {
            self.digest.add_booking(&customer, movie, &id, now);
        }
        let list = &mut self.held_cells[usize::from(seat)];
        match (was, now) {
            (0, n) if n > 0 => {
                if let Err(i) = list.binary_search(&cell.0) {
                    list.insert(i, cell.0);
                }
            }
            (w, 0) if w > 0 => {
                if let Ok(i) = list.binary_search(&cell.0) {
                    list.remove(i);
                }
            }
            _ => {}
        }
    }

    // ---- bulk loading, for import (input already validated and in canonical order) ----

    /// Append a show; cells must come in ascending order. Returns its slab slot.
    pub fn load_show(&mut self, cell: Cell, capacity: u32) -> u32 {
        self.open(cell, capacity);
        self.grid[cell.0 as usize] - 1
    }

    /// Append a booking; bookings must come in (seat, cell) order.
    pub fn load_booking(&mut self, slot: u32, seat: u16, tickets: u32) {
        if self.held_cells.len() < SEATS {
            self.held_cells.resize_with(SEATS, Vec::new);
        }
        let show = self.slab[slot as usize].as_mut().expect("load: no show");
        show.holders.push(Holder { seat, tickets });
        show.sold = show.sold.wrapping_add(tickets);
        let cell = show.cell;
        self.held_cells[usize::from(seat)].push(cell.0);
        // Hash the texts export will emit (for a parsed ID they are the input's bytes anyway).
        self.digest.add_booking(
            &customer_name(seat),
            movie_text(cell),
            &show_id_text(cell),
            tickets,
        );
    }

    pub fn slot_of(&self, cell: Cell) -> Option<u32> {
        match self.grid.get(cell.0 as usize) {
            Some(&h) if h != 0 => Some(h - 1),
            _ => None,
        }
    }
}
