//! Splits a history into parts that can be checked one by one.
//!
//! # Why checking the parts is checking the whole
//!
//! The state is made of *cells*: each show's record (exists, capacity) and each booking
//! (customer, show) → tickets. Two entities cover them:
//!
//! - `Show(s)` covers show `s`'s record and every booking on `s` (its remaining seats);
//! - `Customer(c)` covers every booking of customer `c` (the same-show rule, the weekly limit,
//!   the schedule).
//!
//! Every operation is given the entities it may touch, from the request alone:
//!
//! | operation | entities |
//! |---|---|
//! | refused by validation or authorisation (or add-show's window, exchange's same-show) | none: the result is the same in every state |
//! | add-show `s` | `Show(s)` |
//! | book, cancel `c` `s` | `Customer(c)`, `Show(s)` |
//! | exchange `c` `a` → `b` | `Customer(c)`, `Show(a)`, `Show(b)` |
//! | schedule `c` | `Customer(c)` |
//! | availability of movie `m` | `Show(s)` for every show `s` of `m` not past that some add-show of the history names |
//! | remove-show `s` | `Show(s)`, `Show(t)` for every later show `t` of the same movie and area that some add-show names, and `Customer(c)` for every customer who books (or exchanges into) a show of that movie and area anywhere in the history |
//!
//! A cell is **written** only by operations naming *every* entity that covers it (a booking is
//! written by book/cancel/exchange naming its customer and show, or by a remove-show moving it,
//! which names the source and target shows and, among its possible holders, the customer), and
//! **read** only by operations naming *at least one* of them. The finite lists above are enough
//! because the service starts empty: only an add-show of the history can make a show exist,
//! and only a customer who booked a show of that movie and area can hold a booking there.
//! So a writer and a reader of one cell — or two writers — always share an entity, and
//! union-find over the entities puts them in one part. Operations of different parts touch
//! disjoint cells: they commute and neither sees the other's effect. By the locality of
//! linearizability (Herlihy & Wing 1990, Theorem 1) the history is linearizable exactly when
//! each part is, every part checked from the empty state; an operation without an answer is
//! placed or left out within its own part.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::history::History;
use crate::ids::{Area, Movie, ShowKey, User};
use crate::model::{Footprint, footprint};

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Entity {
    Show(ShowKey),
    Customer(User),
}

/// The parts of `history`: each a list of operation indices, ascending; every operation in
/// exactly one part. Parts are ordered by their first operation.
pub fn partition(history: &History) -> Vec<Vec<usize>> {
    split(history).0
}

/// The parts, and per operation the entities it may touch (ids, ascending): two operations
/// sharing none touch disjoint cells and commute.
pub(crate) fn split(history: &History) -> (Vec<Vec<usize>>, Vec<Vec<usize>>) {
    let footprints: Vec<Footprint> = history
        .ops
        .iter()
        .map(|op| footprint(op.today, &op.operation))
        .collect();
    // The shows that can exist, and the customers who can hold a booking, per movie and area.
    let mut shows: BTreeMap<(Movie, Area), BTreeSet<ShowKey>> = BTreeMap::new();
    let mut holders: BTreeMap<(Movie, Area), BTreeSet<User>> = BTreeMap::new();
    for f in &footprints {
        match *f {
            Footprint::Show(key) => {
                shows
                    .entry((key.movie, key.id.area))
                    .or_default()
                    .insert(key);
            }
            Footprint::CustomerShow(c, key) | Footprint::CustomerShows(c, _, key) => {
                holders
                    .entry((key.movie, key.id.area))
                    .or_default()
                    .insert(c);
            }
            _ => {}
        }
    }
    let mut sets = UnionFind::default();
    let mut touched: Vec<Vec<usize>> = Vec::with_capacity(footprints.len());
    for f in &footprints {
        let entities: Vec<Entity> = match *f {
            Footprint::Nothing => Vec::new(),
            Footprint::Show(key) => vec![Entity::Show(key)],
            Footprint::Customer(c) => vec![Entity::Customer(c)],
            Footprint::CustomerShow(c, key) => vec![Entity::Customer(c), Entity::Show(key)],
            Footprint::CustomerShows(c, a, b) => {
                vec![Entity::Customer(c), Entity::Show(a), Entity::Show(b)]
            }
            Footprint::Movie(movie, from) => [Area::Atw, Area::Out, Area::Ver]
                .iter()
                .flat_map(|area| shows.get(&(movie, *area)))
                .flatten()
                .filter(|k| k.id.day >= from)
                .map(|k| Entity::Show(*k))
                .collect(),
            Footprint::RemoveShow(key) => {
                let group = (key.movie, key.id.area);
                std::iter::once(Entity::Show(key))
                    .chain(
                        shows
                            .get(&group)
                            .into_iter()
                            .flatten()
                            .filter(|k| k.id > key.id)
                            .map(|k| Entity::Show(*k)),
                    )
                    .chain(
                        holders
                            .get(&group)
                            .into_iter()
                            .flatten()
                            .map(|c| Entity::Customer(*c)),
                    )
                    .collect()
            }
        };
        let mut ids: Vec<usize> = entities.into_iter().map(|e| sets.id(e)).collect();
        for pair in ids.windows(2) {
            sets.union(pair[0], pair[1]);
        }
        ids.sort_unstable();
        ids.dedup();
        touched.push(ids);
    }
    let mut parts: Vec<Vec<usize>> = Vec::new();
    let mut part_of_root: HashMap<usize, usize> = HashMap::new();
    for (op, ids) in touched.iter().enumerate() {
        match ids.first().copied() {
            // Touches nothing: alone.
            None => parts.push(vec![op]),
            Some(e) => {
                let root = sets.find(e);
                let part = *part_of_root.entry(root).or_insert_with(|| {
                    parts.push(Vec::new());
                    parts.len() - 1
                });
                parts[part].push(op);
            }
        }
    }
    (parts, touched)
}

/// Union-find over entities, with path halving and union by size.
#[derive(Default)]
struct UnionFind {
    index: HashMap<Entity, usize>,
    parent: Vec<usize>,
    size: Vec<usize>,
}

impl UnionFind {
    fn id(&mut self, e: Entity) -> usize {
        let next = self.parent.len();
        let id = *self.index.entry(e).or_insert(next);
        if id == next {
            self.parent.push(id);
            self.size.push(1);
        }
        id
    }

    fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }

    fn union(&mut self, a: usize, b: usize) {
        let (mut a, mut b) = (self.find(a), self.find(b));
        if a == b {
            return;
        }
        if self.size[a] < self.size[b] {
            std::mem::swap(&mut a, &mut b);
        }
        self.parent[b] = a;
        self.size[a] += self.size[b];
    }
}
