//! A seeded random workload of every operation kind, checking after every request that the
//! kept digest equals the digest recomputed from the export (`T::run`/`T::import` check it).
//! The seed is printed; set `DIGEST_SEED` to replay one.
use super::*;
use std::collections::BTreeMap;

const MOVIES: [&str; 3] = ["Avatar", "Avengers", "Titanic"];
const AREAS: [&str; 3] = ["ATW", "OUT", "VER"];
const SLOTS: [char; 3] = ['M', 'A', 'E'];
const REQUESTS: usize = 6000;

/// SplitMix64: small, seedable, good enough to pick test inputs.
struct Rng(dmtbs_guest::rng::SplitMix64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0.next_u64()
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, X>(&mut self, xs: &'a [X]) -> &'a X {
        &xs[self.below(xs.len())]
    }
    fn movie(&mut self) -> &'static str {
        MOVIES[self.below(MOVIES.len())]
    }
    fn area(&mut self) -> &'static str {
        AREAS[self.below(AREAS.len())]
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

fn seed() -> u64 {
    match std::env::var("DIGEST_SEED") {
        Ok(v) => v.parse().expect("DIGEST_SEED must be a u64"),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x5eed),
    }
}

/// A show ID `days` after 2026-11-24 (negative: before).
fn show_id(area: &str, slot: char, days: i64) -> String {
    let d = Date::new(TODAY.0, TODAY.1, TODAY.2).plus_days(days);
    std::format!("{area}{slot}{:02}{:02}{:02}", d.day, d.month, d.year % 100)
}

/// A show among a small set (dense enough for remove-show to find later shows), sometimes
/// past or beyond the window.
fn any_show(rng: &mut Rng) -> (String, String) {
    let days = rng.below(10) as i64 - 1;
    let id = show_id(rng.area(), *rng.pick(&SLOTS), days);
    (s(rng.movie()), id)
}

fn any_customer(rng: &mut Rng) -> String {
    std::format!("{}C000{}", rng.area(), 1 + rng.below(4))
}

fn admin_of(id: &str) -> String {
    std::format!("{}A0001", &id[..3])
}

/// What the workload reached, so that a run that never exercised a path fails loudly.
#[derive(Default, Debug)]
struct Seen {
    added: usize,
    capacity_changed: usize,
    removed: usize,
    moved: usize,
    merged: usize,
    dropped: usize,
    booked_more: usize,
    cancelled_to_zero: usize,
    cancelled_part: usize,
    exchanged: usize,
    imported: usize,
    refused_import: usize,
}

/// One refused import: an exported state spoiled in one of several ways.
fn spoil(rng: &mut Rng, mut st: CanonicalState) -> CanonicalState {
    match rng.below(5) {
        0 if !st.bookings.is_empty() => {
            let i = rng.below(st.bookings.len());
            st.bookings[i].tickets = 0;
        }
        1 if !st.bookings.is_empty() => {
            let i = rng.below(st.bookings.len());
            st.bookings[i].tickets = 10_001; // above any capacity
        }
        2 if !st.shows.is_empty() => {
            let i = rng.below(st.shows.len());
            st.shows[i].movie = s("Matrix");
        }
        3 if !st.shows.is_empty() => {
            let last = st.shows[st.shows.len() - 1].clone();
            st.shows.push(last); // duplicate
        }
        _ => st
            .bookings
            .push(booking_e("ATWA0001", "Avatar", "ATWM241126", 1)),
    }
    st
}

#[test]
fn digest_is_kept_under_a_random_workload() {
    let seed = seed();
    std::println!("digest_is_kept_under_a_random_workload: seed = {seed} (DIGEST_SEED={seed})");
    let mut rng = Rng(dmtbs_guest::rng::SplitMix64::new(seed));
    let mut t = T::new();
    let mut seen = Seen::default();
    let mut snapshot: Option<(CanonicalState, StateDigest)> = None;
    for step in 0..REQUESTS {
        if rng.chance(2) {
            // `today` moves, sometimes backwards, so shows become past and come back.
            t.today = (2026, 11, 24 + rng.below(4) as u8);
        }
        let before = t.state();
        let held: BTreeMap<(String, String, String), u32> = before
            .bookings
            .iter()
            .map(|b| {
                (
                    (b.customer.clone(), b.movie.clone(), b.show_id.clone()),
                    b.tickets,
                )
            })
            .collect();
        let some_show = |rng: &mut Rng| -> (String, String) {
            if before.shows.is_empty() || rng.chance(15) {
                any_show(rng)
            } else {
                let e = rng.pick(&before.shows);
                (e.movie.clone(), e.show_id.clone())
            }
        };
        let some_booking = |rng: &mut Rng| -> Option<BookingEntry> {
            (!before.bookings.is_empty()).then(|| rng.pick(&before.bookings).clone())
        };
        match rng.below(100) {
            0..=17 => {
                let (m, id) = any_show(&mut rng);
                let actor = if rng.chance(95) {
                    admin_of(&id)
                } else {
                    s("VERA0002")
                };
                let cap = 1 + rng.below(8) as u32;
                if let Ok(Success::ShowAdded) = t.add(&actor, &m, &id, cap) {
                    seen.added += 1;
                }
            }
            18..=24 => {
                // A capacity change on an existing show, sometimes below what is booked.
                let (m, id) = some_show(&mut rng);
                let cap = 1 + rng.below(9) as u32;
                if let Ok(Success::ShowUpdated(old)) = t.add(&admin_of(&id), &m, &id, cap) {
                    seen.capacity_changed += usize::from(old != cap);
                }
            }
            25..=31 => {
                let (m, id) = some_show(&mut rng);
                if let Ok(Success::ShowRemoved(r)) = t.remove(&admin_of(&id), &m, &id) {
                    seen.removed += 1;
                    seen.dropped += r.dropped.len();
                    for mv in &r.moved {
                        seen.moved += 1;
                        let key = (mv.customer.clone(), m.clone(), mv.to_show_id.clone());
                        seen.merged += usize::from(held.contains_key(&key));
                    }
                }
            }
            32..=61 => {
                let c = any_customer(&mut rng);
                let (m, id) = some_show(&mut rng);
                let n = 1 + rng.below(4) as u32;
                let actor = if rng.chance(20) {
                    s("OUTA0003")
                } else {
                    c.clone()
                };
                if let Ok(Success::Booked(b)) = t.book_as(&actor, &c, &m, &id, n) {
                    seen.booked_more += usize::from(b.held > n);
                }
            }
            62..=74 => {
                let (c, m, id, n) = match some_booking(&mut rng) {
                    Some(b) => {
                        let n = if rng.chance(50) {
                            b.tickets
                        } else {
                            1 + rng.below(b.tickets as usize + 1) as u32
                        };
                        (b.customer, b.movie, b.show_id, n)
                    }
                    None => {
                        let (m, id) = any_show(&mut rng);
                        (any_customer(&mut rng), m, id, 1)
                    }
                };
                match t.cancel(&c, &m, &id, n) {
                    Ok(Success::Cancelled(0)) => seen.cancelled_to_zero += 1,
                    Ok(Success::Cancelled(_)) => seen.cancelled_part += 1,
                    _ => {}
                }
            }
            75..=89 => {
                if let Some(b) = some_booking(&mut rng) {
                    let (nm, nid) = some_show(&mut rng);
                    let n = 1 + rng.below(b.tickets as usize) as u32;
                    let out = t.exchange(&b.customer, &b.movie, &b.show_id, &nm, &nid, n);
                    if let Ok(Success::Exchanged(_)) = out {
                        seen.exchanged += 1;
                    }
                }
            }
            90..=93 => {
                let c = any_customer(&mut rng);
                let _ = t.avail(&c, rng.movie());
                let _ = t.sched(&c, &c);
            }
            94..=95 => {
                // Malformed requests: refused at the V step, nothing changes.
                let _ = t.book("ATWC001", "Avatar", "ATWM251126", 1);
                let _ = t.add("ATWA0001", "Avatar", "ATWM251126", 0);
            }
            96..=97 => {
                // Import a state exported earlier: its digest comes back.
                match snapshot.take() {
                    Some((st, d)) => {
                        same!(t.import(st), Result::<(), StateError>::Ok(()));
                        assert_eq!(t.r.state_digest(), d, "step {step}");
                        seen.imported += 1;
                    }
                    None => snapshot = Some((before.clone(), t.r.state_digest())),
                }
            }
            _ => {
                let bad = spoil(&mut rng, before.clone());
                assert!(
                    t.import(bad).is_err(),
                    "step {step}: spoiled state accepted"
                );
                same!(t.state(), before, "step {step}");
                seen.refused_import += 1;
            }
        }
        if snapshot.is_none() && rng.chance(3) {
            snapshot = Some((t.state(), t.r.state_digest()));
        }
    }
    std::println!("seed {seed}: {seen:?}");
    let Seen {
        added,
        capacity_changed,
        removed,
        moved,
        merged,
        dropped,
        booked_more,
        cancelled_to_zero,
        cancelled_part,
        exchanged,
        imported,
        refused_import,
    } = seen;
    for (what, n) in [
        ("added", added),
        ("capacity_changed", capacity_changed),
        ("removed", removed),
        ("moved", moved),
        ("merged", merged),
        ("dropped", dropped),
        ("booked_more", booked_more),
        ("cancelled_to_zero", cancelled_to_zero),
        ("cancelled_part", cancelled_part),
        ("exchanged", exchanged),
        ("imported", imported),
        ("refused_import", refused_import),
    ] {
        assert!(n > 0, "seed {seed}: the workload never reached {what}");
    }
}
