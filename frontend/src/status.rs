//! The live status page: `GET /status` (one self-contained HTML page, [`PAGE`]) and the JSON it
//! polls every second, `GET /v1/status`. docs/status-page.md describes both.
//!
//! The [`StatusBoard`] is what the front end knows about the cluster right now: each replica
//! manager's last reported status (the front end driver asks every RM about once a second, and
//! every operator command's answer counts too), every node's process and chaos links (its
//! answer to the driver's `Links` poll, `status/nodes.rs`), the latencies of each RM's recent results,
//! the voter's totals, the request counts (`status/history.rs`), and a ring of recent events —
//! disagreements, silences, ballots without agreement, swaps (seen as a change of an RM's
//! `swaps` counter) and restarts (a node answering as another process) — numbered so a poller
//! asks only for the new ones (`?since=<id>`), each in one incident (`status/incidents.rs`).
//!
//! Both routes are public, like `/healthz`: they show no customer data (no bookings, no user IDs,
//! no request contents, no pids — only sequence numbers, module names, counts, uptimes, the chaos
//! in force and the quarantined modules) and change nothing. The
//! operator's API with the full status and the power to swap stays behind the admin key.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use dmtbs_proto::{Health, LinkDrop, NodeId, NodeInfo, RmId, RmStatus};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::cluster::Cluster;
use crate::http::FrontEnd;
use crate::vote::{Counters, Decision, Event};

mod history;
mod incidents;
mod nodes;

use history::Rate;
pub use history::{LONG_BUCKET, LONG_HISTORY, RATE_HISTORY, RATE_WINDOW};
pub use incidents::{INCIDENT_GAP, RESTART_GRACE};
use incidents::{Incidents, Role};
use nodes::Nodes;

/// The status page: plain HTML, CSS and JavaScript, no external resources.
pub const PAGE: &str = include_str!("status.html");

/// How many events the board keeps (older ones are dropped).
pub const EVENT_MEMORY: usize = 200;
/// How many recent results per replica its latency figures are computed from.
pub const LATENCY_WINDOW: usize = 100;
/// A swap whose RM still names the old module this long after the swap was seen, and is not
/// recovering, was a swap to the same module (a fresh instance): reported as such.
pub const SWAP_SETTLE: Duration = Duration::from_secs(2);

/// What happened, as an entry of the event feed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StatusEvent {
    /// RM `rm`'s result for request `seq` differed from the agreed one.
    Disagreement { rm: RmId, seq: u64 },
    /// The ballot of request `seq` closed without RM `rm`'s result.
    Silence { rm: RmId, seq: u64 },
    /// No two replicas agreed on the result of request `seq`.
    NoAgreement { seq: u64 },
    /// RM `rm` replaced its replica running `from` by one running `to`.
    Swap {
        rm: RmId,
        from: String,
        to: String,
        reason: Option<String>,
    },
    /// `node` answered as another process than before: it was restarted.
    Restart { node: NodeId },
}

/// One numbered, timestamped event.
#[derive(Clone, Debug)]
struct Entry {
    id: u64,
    /// Wall-clock time, RFC 3339 in UTC.
    time: String,
    event: StatusEvent,
    /// The incident it belongs to: the id of that incident's first event.
    incident: u64,
}

/// An RM's last reported status.
#[derive(Debug)]
struct Replica {
    status: RmStatus,
    /// When it was reported.
    heard: Instant,
    /// The module it ran before a swap still in progress, and when the swap was first seen: an
    /// RM counts a swap when it decides it, and names the new module once the new instance is
    /// installed.
    swapping_from: Option<(String, Instant)>,
    /// The module an operator swap counted by the RM is installing while its status still
    /// names the one before: the next swap is from this one.
    installing: Option<String>,
}

#[derive(Debug)]
struct Board {
    /// The configured RMs: each gets a row, answering or not.
    rms: Vec<RmId>,
    replicas: BTreeMap<RmId, Replica>,
    /// RMs that did not answer the last status poll (and have not answered since).
    silent: Vec<RmId>,
    /// Every node's process and chaos links.
    nodes: Nodes,
    /// Which events tell one story.
    incidents: Incidents,
    /// The highest sequence number the voter has spoken of: requests up to it were numbered.
    max_seq: u64,
    /// Each RM's recent result latencies, oldest first.
    latencies: BTreeMap<RmId, VecDeque<Duration>>,
    /// The voter's totals.
    counters: Counters,
    rate: Rate,
    /// The newest [`EVENT_MEMORY`] events, oldest first.
    events: VecDeque<Entry>,
    /// The id the next event gets (ids start at 1, so `since=0` means "all").
    next_id: u64,
    /// Operator swaps sent and not yet seen in a status: the module each RM was told to load.
    /// A poll a second apart can miss the module altogether (a lying module is usually gone
    /// within a few requests), so the swap's target comes from the command, not the status.
    requested: BTreeMap<RmId, String>,
}

impl Board {
    fn push(&mut self, event: StatusEvent) {
        let id = self.next_id;
        let now = Instant::now();
        let role = match &event {
            StatusEvent::Disagreement { rm, seq } => Some((
                *rm,
                Role::Verdict {
                    seq: *seq,
                    silence: false,
                },
            )),
            StatusEvent::Silence { rm, seq } => Some((
                *rm,
                Role::Verdict {
                    seq: *seq,
                    silence: true,
                },
            )),
            StatusEvent::Swap { rm, .. } => {
                let applied = self
                    .replicas
                    .get(rm)
                    .map_or(0, |r| r.status.applied_through);
                Some((
                    *rm,
                    Role::Close {
                        covered: self.max_seq.max(applied),
                        restart: false,
                    },
                ))
            }
            StatusEvent::Restart {
                node: NodeId::Rm(rm),
            } => Some((
                *rm,
                Role::Close {
                    covered: self.max_seq,
                    restart: true,
                },
            )),
            StatusEvent::NoAgreement { .. } | StatusEvent::Restart { .. } => None,
        };
        let incident = match role {
            Some((rm, role)) => self.incidents.assign(rm, role, id, now),
            None => id,
        };
        let entry = Entry {
            id,
            time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            event,
            incident,
        };
        self.next_id += 1;
        self.events.push_back(entry);
        while self.events.len() > EVENT_MEMORY {
            self.events.pop_front();
        }
    }
}

/// What the status page shows; shared by the HTTP layer (requests, the JSON) and the front end
/// driver (everything about the replicas). Every method takes the lock briefly.
#[derive(Debug)]
pub struct StatusBoard {
    board: Mutex<Board>,
}

impl StatusBoard {
    /// An empty board for the configured replica managers.
    pub fn new(rms: Vec<RmId>) -> Self {
        StatusBoard {
            board: Mutex::new(Board {
                rms,
                replicas: BTreeMap::new(),
                silent: Vec::new(),
                nodes: Nodes::default(),
                incidents: Incidents::default(),
                max_seq: 0,
                latencies: BTreeMap::new(),
                counters: Counters::default(),
                rate: Rate::new(Instant::now()),
                events: VecDeque::new(),
                next_id: 1,
                requested: BTreeMap::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Board> {
        // A panic elsewhere while holding the lock leaves figures, not invariants, behind.
        self.board
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The front end keeping this board is `me`, in a cluster of `nodes`: each gets a row (the
    /// RMs theirs in the replica table).
    pub fn watch_nodes(&self, me: NodeId, nodes: Vec<NodeId>) {
        self.lock().nodes.watch(me, nodes);
    }

    /// The HTTP layer answered a booking request; `sequenced`: the answer carries a sequence
    /// number (the others were refused by the front end, or the cluster was unavailable).
    pub fn request_answered(&self, sequenced: bool) {
        self.lock().rate.add(Instant::now(), sequenced);
    }

    /// `node` answered the poll (or any chaos command) with its process and the chaos links
    /// into it. Another process than the one before is a restart, reported as an event.
    pub fn node_report(&self, node: NodeId, info: &NodeInfo, links: &[LinkDrop]) {
        let mut board = self.lock();
        if board.nodes.report(node, info, links, Instant::now()) {
            board.push(StatusEvent::Restart { node });
        }
    }

    /// The nodes (other than this front end) that did not answer the last poll.
    pub fn nodes_unanswered(&self, silent: Vec<NodeId>) {
        self.lock().nodes.unanswered(silent);
    }

    /// The voter's events of one step (verdicts become disagreement and silence events, a
    /// decision without agreement a no-agreement event) and its counters after it.
    pub fn voted(&self, events: &[Event], counters: &Counters) {
        let mut board = self.lock();
        for event in events {
            let seq = match event {
                Event::Decide(decision) => decision.seq(),
                Event::Verdict(verdict) => verdict.seq,
            };
            board.max_seq = board.max_seq.max(seq);
        }
        for event in events {
            match event {
                Event::Decide(Decision::NoAgreement { seq }) => {
                    board.push(StatusEvent::NoAgreement { seq: *seq });
                }
                Event::Decide(Decision::Agreed { .. }) => {}
                Event::Verdict(verdict) => {
                    for &rm in &verdict.wrong {
                        board.push(StatusEvent::Disagreement {
                            rm,
                            seq: verdict.seq,
                        });
                    }
                    for &rm in &verdict.silent {
                        board.push(StatusEvent::Silence {
                            rm,
                            seq: verdict.seq,
                        });
                    }
                }
            }
        }
        board.counters.clone_from(counters);
    }

    /// Results' latencies (RM, time from submission), oldest first.
    pub fn result_latencies(&self, latencies: &[(RmId, Duration)]) {
        let mut board = self.lock();
        for &(rm, latency) in latencies {
            let recent = board.latencies.entry(rm).or_default();
            recent.push_back(latency);
            while recent.len() > LATENCY_WINDOW {
                recent.pop_front();
            }
        }
    }

    /// An RM reported its status. A higher `swaps` counter than last time (same process) is a
    /// swap, reported as an event from the module it ran before to the one it runs now once the
    /// RM names another module — or, still naming the same one [`SWAP_SETTLE`] later and not
    /// recovering, as a swap to a fresh instance of the same module.
    pub fn replica_status(&self, status: &RmStatus) {
        let mut board = self.lock();
        let rm = status.rm;
        let now = Instant::now();
        // An operator swap this front end sent, now counted by the RM: reported at once with
        // the module it was told to load; a further swap in the same interval (the module was
        // caught and replaced already) is reported from that module.
        let operator = board.replicas.get(&rm).and_then(|old| {
            (old.status.pid == status.pid && status.swaps > old.status.swaps)
                .then(|| (old.status.module.clone(), old.status.swaps))
        });
        let mut further_from = None;
        let mut installing = None;
        if let Some((from, old_swaps)) = operator
            && let Some(to) = board.requested.remove(&rm)
        {
            board.push(StatusEvent::Swap {
                rm,
                from,
                to: to.clone(),
                reason: Some(format!("operator swap to {to}")),
            });
            if status.swaps > old_swaps + 1 {
                further_from = Some((to, now));
            } else if status.module != to {
                installing = Some(to);
            }
            // This swap is reported; only a further one may follow from this status.
            if let Some(old) = board.replicas.get_mut(&rm) {
                old.status.swaps = status.swaps;
                old.swapping_from = None;
            }
        } else if let Some(old) = board.replicas.get(&rm)
            && old.status.pid == status.pid
            && status.swaps == old.status.swaps
        {
            // Still installing the operator's module, or done (the status names it).
            installing = old.installing.clone().filter(|m| *m != status.module);
        }
        let mut swapping_from = further_from.or_else(|| {
            board.replicas.get(&rm).and_then(|old| {
                // A restarted RM (another pid) counts its swaps from zero again: no swap to
                // report.
                if old.status.pid != status.pid {
                    return None;
                }
                old.swapping_from.clone().or_else(|| {
                    (status.swaps > old.status.swaps).then(|| {
                        let from = old.installing.as_ref().unwrap_or(&old.status.module);
                        (from.clone(), now)
                    })
                })
            })
        });
        let settled = swapping_from.as_ref().is_some_and(|(from, since)| {
            *from != status.module
                || (status.health != Health::Recovering
                    && now.saturating_duration_since(*since) >= SWAP_SETTLE)
        });
        if settled && let Some((from, _)) = swapping_from.take() {
            board.push(StatusEvent::Swap {
                rm,
                from,
                to: status.module.clone(),
                reason: status.last_swap_reason.clone(),
            });
        }
        board.silent.retain(|&r| r != rm);
        board.replicas.insert(
            rm,
            Replica {
                status: status.clone(),
                heard: now,
                swapping_from,
                installing,
            },
        );
    }

    /// This front end told RM `rm` to swap to `module` (the operator's API).
    pub fn swap_requested(&self, rm: RmId, module: &str) {
        self.lock().requested.insert(rm, module.to_owned());
    }

    /// RM `rm` refused an operator command: no requested swap of it is pending any more.
    pub fn swap_refused(&self, rm: RmId) {
        self.lock().requested.remove(&rm);
    }

    /// The RMs that did not answer the last status poll.
    pub fn poll_unanswered(&self, silent: Vec<RmId>) {
        self.lock().silent = silent;
    }

    /// The JSON of `GET /v1/status`: only events newer than `since`, if given (see
    /// docs/status-page.md for the shape).
    pub fn json(&self, since: Option<u64>) -> Value {
        let board = self.lock();
        let now = Instant::now();
        let mut rms = board.rms.clone();
        rms.extend(board.replicas.keys().filter(|rm| !board.rms.contains(rm)));
        let replicas: Vec<Value> = rms
            .iter()
            .map(|&rm| replica_json(&board, rm, now))
            .collect();
        let since = since.unwrap_or(0);
        let events: Vec<Value> = board
            .events
            .iter()
            .filter(|e| e.id > since)
            .map(event_json)
            .collect();
        let history = board.rate.history(now);
        let window: u64 = history.iter().rev().take(RATE_WINDOW as usize).sum();
        // Every module an answering RM knows quarantined, once (by hash).
        let mut quarantine: BTreeMap<&str, Value> = BTreeMap::new();
        for r in board.replicas.values() {
            for q in &r.status.quarantine {
                quarantine.entry(q.hash.as_str()).or_insert_with(|| {
                    json!({ "module": q.module, "hash": short(&q.hash), "by": q.by,
                            "reason": q.reason })
                });
            }
        }
        json!({
            "time": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "replicas": replicas,
            "silent": board.silent,
            "nodes": board.nodes.json(now),
            "chaos": board.nodes.chaos_json(),
            "quarantine": quarantine.into_values().collect::<Vec<Value>>(),
            "requests": {
                "total": board.rate.total,
                "sequenced": board.rate.sequenced,
                "notSequenced": board.rate.total - board.rate.sequenced,
                "perSecond": window as f64 / RATE_WINDOW as f64,
                "windowSeconds": RATE_WINDOW,
                "history": history,
                "longHistory": {
                    "bucketSeconds": LONG_BUCKET,
                    "counts": board.rate.long_history(now),
                },
            },
            "votes": board.counters.votes,
            "noAgreement": board.counters.no_agreement,
            "lastEventId": board.next_id - 1,
            "events": events,
        })
    }
}

/// The first 12 characters of a hex string (enough to tell modules and states apart).
fn short(hex: &str) -> String {
    hex.chars().take(12).collect()
}

fn health_name(health: Health) -> &'static str {
    match health {
        Health::Serving => "serving",
        Health::Recovering => "recovering",
        Health::CatchingUp => "catching-up",
        Health::Failed => "failed",
    }
}

/// Milliseconds, rounded to the microsecond.
fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

fn latency_json(recent: Option<&VecDeque<Duration>>) -> Value {
    let Some(recent) = recent.filter(|r| !r.is_empty()) else {
        return Value::Null;
    };
    let mut sorted: Vec<Duration> = recent.iter().copied().collect();
    sorted.sort_unstable();
    // Nearest rank: the smallest value with at least p% of the values at or below it.
    let rank = |p: usize| sorted[(sorted.len() * p).div_ceil(100).max(1) - 1];
    let mean = sorted.iter().sum::<Duration>() / sorted.len() as u32;
    json!({
        "count": sorted.len(),
        "meanMs": ms(mean),
        "p50Ms": ms(rank(50)),
        "p95Ms": ms(rank(95)),
    })
}

fn replica_json(board: &Board, rm: RmId, now: Instant) -> Value {
    let disagreements = board.counters.disagreements.get(&rm).copied().unwrap_or(0);
    let silences = board.counters.silences.get(&rm).copied().unwrap_or(0);
    let latency = latency_json(board.latencies.get(&rm));
    let silent = board.silent.contains(&rm);
    let process = board.nodes.process_json(NodeId::Rm(rm), now);
    let Some(Replica {
        status: s, heard, ..
    }) = board.replicas.get(&rm)
    else {
        let mut row = json!({
            "rm": rm,
            "health": if silent { "silent" } else { "unknown" },
            "answering": false,
            "module": null,
            "latency": latency,
            "disagreements": disagreements,
            "silences": silences,
        });
        if let Some(row) = row.as_object_mut() {
            row.extend(process);
        }
        return row;
    };
    let mut row = json!({
        "rm": rm,
        "module": s.module,
        "hash": short(&s.hash),
        // The RM's own health while it answers; "silent" once it stops answering.
        "health": if silent { "silent" } else { health_name(s.health) },
        "answering": !silent,
        "reportedHealth": health_name(s.health),
        "lastHeardMs": now.saturating_duration_since(*heard).as_millis() as u64,
        "appliedThrough": s.applied_through,
        "epoch": s.epoch,
        "durableThrough": s.durable_through,
        "commitP99Ms": s.commit_p99_micros as f64 / 1e3,
        "consecutiveWrong": s.consecutive_wrong,
        "consecutiveSilent": s.consecutive_silent,
        "swaps": s.swaps,
        "lastSwapReason": s.last_swap_reason,
        "stableCheckpoint": { "seq": s.stable_checkpoint, "digest": short(&hex::encode(s.stable_digest)) },
        "latency": latency,
        "disagreements": disagreements,
        "silences": silences,
    });
    if let Some(row) = row.as_object_mut() {
        row.extend(process);
    }
    row
}

fn event_json(entry: &Entry) -> Value {
    let mut v = match &entry.event {
        StatusEvent::Disagreement { rm, seq } => {
            json!({ "kind": "disagreement", "rm": rm, "seq": seq })
        }
        StatusEvent::Silence { rm, seq } => json!({ "kind": "silence", "rm": rm, "seq": seq }),
        StatusEvent::NoAgreement { seq } => json!({ "kind": "no-agreement", "seq": seq }),
        StatusEvent::Swap {
            rm,
            from,
            to,
            reason,
        } => json!({ "kind": "swap", "rm": rm, "from": from, "to": to, "reason": reason }),
        StatusEvent::Restart { node } => {
            let mut v = json!({ "kind": "restart", "node": node.to_string(),
                                "role": nodes::role(*node) });
            if let NodeId::Rm(rm) = node {
                v["rm"] = json!(rm);
            }
            v
        }
    };
    v["id"] = json!(entry.id);
    v["time"] = json!(entry.time);
    v["incident"] = json!(entry.incident);
    v
}

type St<C> = State<Arc<FrontEnd<C>>>;

/// `GET /status`: the page.
pub(crate) async fn page<C: Cluster>(State(_): St<C>) -> Html<&'static str> {
    Html(PAGE)
}

/// Query of `GET /v1/status`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatusQuery {
    /// Only events with a larger id.
    since: Option<u64>,
}

/// `GET /v1/status`: the board as JSON.
pub(crate) async fn status<C: Cluster>(
    State(fe): St<C>,
    query: Result<Query<StatusQuery>, QueryRejection>,
) -> Response {
    match query {
        Ok(Query(q)) => Json(fe.board.json(q.since)).into_response(),
        Err(e) => {
            let body = json!({ "error": {
                "code": "bad-request",
                "message": format!("the only parameter is since=<event id>: {}", e.body_text()),
                "details": {},
            } });
            (StatusCode::BAD_REQUEST, Json(body)).into_response()
        }
    }
}
