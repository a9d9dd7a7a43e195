//! The status page (`GET /status`, `GET /` redirecting to it) and its JSON (`GET /v1/status`):
//! the DOM contract the page keeps, and what the board shows of replica statuses, verdicts,
//! latencies, swaps and requests.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{Method, StatusCode};
use dmtbs_contract::{Booked, Outcome, Success};
use dmtbs_frontend::vote::{Decision, Event};
use dmtbs_frontend::{AuditLog, Metrics, StatusBoard, router_with};
use dmtbs_proto::{
    Health, LinkDrop, NodeId, NodeInfo, Progress, QuarantineEntry, RmId, RmStatus, Verdict,
};
use serde_json::{Value, json};

use crate::support::{FixedCluster, send};

const CUSTOMER: (&str, &str) = ("X-DMTBS-User", "atwc0001");

fn booked() -> Outcome {
    Ok(Success::Booked(Booked {
        held: 2,
        remaining: 8,
    }))
}

fn app(board: Arc<StatusBoard>) -> Router {
    router_with(
        FixedCluster::new(booked()),
        crate::support::auth(),
        AuditLog::discard(),
        Arc::new(Metrics::new(&[1, 2, 3, 4])),
        board,
    )
}

fn status(rm: RmId, module: &str, swaps: u32, reason: Option<&str>) -> RmStatus {
    RmStatus {
        rm,
        pid: 4000 + u32::from(rm),
        module: module.into(),
        hash: "0123456789abcdef0123456789abcdef".into(),
        health: Health::Serving,
        applied_through: 7,
        delivered_through: 7,
        consecutive_wrong: 0,
        consecutive_silent: 0,
        swaps,
        stable_checkpoint: 0,
        stable_digest: [0xab; 32],
        own_checkpoint: None,
        last_swap_reason: reason.map(Into::into),
        quarantine: Vec::new(),
        agreed_dead: Vec::new(),
        epoch: 1,
        durable_through: 7,
        commit_p99_micros: 420,
        canary: None,
        last_canary: None,
    }
}

#[tokio::test]
async fn the_page_keeps_its_dom_contract_and_loads_nothing_from_elsewhere() {
    let app = app(Arc::new(StatusBoard::new(vec![1, 2, 3, 4])));
    let a = send(&app, Method::GET, "/status", &[], None).await;
    assert_eq!(a.status, StatusCode::OK);
    assert!(
        a.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"),
        "{:?}",
        a.headers
    );
    let page = a.body.as_str().expect("an HTML page");
    for needle in [
        r#"id="replicas""#,
        r#"id="events""#,
        r#"id="rate""#,
        r#"id="error""#,
        "data-rm",
        "data-kind",
        "dataset.ready",
        "/v1/status",
        // The row cells the browser test reads.
        r#"class: "module""#,
        "class: `pill h-",
        r#"class: "n swaps""#,
        r#"class: "n latency""#,
        r#"class: "n disagreements""#,
    ] {
        assert!(page.contains(needle), "the page lacks {needle}");
    }
    // No build step, no external resources: no script or stylesheet from elsewhere.
    for forbidden in [
        "<script src",
        "<link",
        "@import",
        "https://",
        "http://127",
        "cdn",
    ] {
        assert!(!page.contains(forbidden), "the page contains {forbidden}");
    }

    // The front end's root leads to the page.
    let a = send(&app, Method::GET, "/", &[], None).await;
    assert!(a.status.is_redirection(), "{}", a.status);
    assert_eq!(a.headers["location"], "/status");
}

#[tokio::test]
async fn the_status_json_shows_replicas_events_swaps_latency_and_requests() {
    let board = Arc::new(StatusBoard::new(vec![1, 2, 3, 4]));
    let app = app(board.clone());

    // Before anything is heard: a row per configured RM, nothing else.
    let a = send(&app, Method::GET, "/v1/status", &[], None).await;
    assert_eq!(a.status, StatusCode::OK);
    let s = a.body;
    let rms: Vec<&Value> = s["replicas"].as_array().unwrap().iter().collect();
    assert_eq!(rms.len(), 4, "{s:#}");
    assert_eq!(rms[0]["health"], "unknown");
    assert_eq!(rms[0]["module"], Value::Null);
    assert_eq!(s["events"], json!([]));
    assert_eq!(s["lastEventId"], 0);

    for rm in 1..=4 {
        board.replica_status(&status(
            rm,
            ["replica-a", "faulty-logic", "replica-c", "replica-d"][usize::from(rm) - 1],
            0,
            None,
        ));
    }
    // Request 5: RM 2 wrong, RM 3 silent; request 6: no agreement.
    let verdict = Verdict {
        seq: 5,
        agreed: vec![1, 4],
        wrong: vec![2],
        silent: vec![3],
    };
    let counters = dmtbs_frontend::vote::Counters {
        votes: 1,
        no_agreement: 1,
        disagreements: [(2, 1)].into(),
        silences: [(3, 1)].into(),
        ..Default::default()
    };
    board.voted(
        &[
            Event::Decide(Decision::Agreed {
                seq: 5,
                outcome: booked(),
                agreed: vec![1, 4],
                replay_of: None,
            }),
            Event::Verdict(verdict),
            Event::Decide(Decision::NoAgreement { seq: 6 }),
        ],
        &counters,
    );
    // RM 2 swaps its module: first it counts the swap, still naming the old module (no event
    // yet), then it names the new one. RM 3 stopped answering.
    board.replica_status(&status(
        2,
        "faulty-logic",
        1,
        Some("3 consecutive wrong results (last at request 9)"),
    ));
    assert_eq!(
        board.json(None)["lastEventId"],
        3,
        "no swap event while the old module is named"
    );
    board.replica_status(&status(
        2,
        "replica-b",
        1,
        Some("3 consecutive wrong results (last at request 9)"),
    ));
    board.poll_unanswered(vec![3]);
    // RM 1's last 100 results took 1..=100 ms (the first 20 of 120 fall out of the window).
    let latencies: Vec<(RmId, Duration)> = (1..=120u64)
        .map(|i| {
            (
                1,
                Duration::from_millis(if i <= 20 { 1000 } else { i - 20 }),
            )
        })
        .collect();
    board.result_latencies(&latencies);
    for _ in 0..3 {
        let a = send(
            &app,
            Method::GET,
            "/v1/movies/avatar/availability",
            &[CUSTOMER],
            None,
        )
        .await;
        assert_eq!(a.status, StatusCode::OK);
    }

    let s = send(&app, Method::GET, "/v1/status", &[], None).await.body;
    let rm = |id: u64| {
        s["replicas"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["rm"] == id)
            .unwrap_or_else(|| panic!("no rm {id}: {s:#}"))
            .clone()
    };
    let r1 = rm(1);
    assert_eq!(r1["module"], "replica-a");
    assert_eq!(r1["health"], "serving");
    assert_eq!(r1["hash"], "0123456789ab");
    assert_eq!(r1["appliedThrough"], 7);
    assert_eq!(
        r1["stableCheckpoint"],
        json!({ "seq": 0, "digest": "abababababab" })
    );
    assert_eq!(
        r1["latency"],
        json!({ "count": 100, "meanMs": 50.5, "p50Ms": 50.0, "p95Ms": 95.0 })
    );
    let r2 = rm(2);
    assert_eq!(
        (&r2["module"], &r2["swaps"], &r2["disagreements"]),
        (&json!("replica-b"), &json!(1), &json!(1)),
        "{r2:#}"
    );
    assert_eq!(
        r2["lastSwapReason"],
        "3 consecutive wrong results (last at request 9)"
    );
    let r3 = rm(3);
    assert_eq!(
        (&r3["health"], &r3["answering"], &r3["silences"]),
        (&json!("silent"), &json!(false), &json!(1)),
        "{r3:#}"
    );
    assert_eq!(s["silent"], json!([3]));
    assert_eq!(rm(4)["latency"], Value::Null);
    assert_eq!((&s["votes"], &s["noAgreement"]), (&json!(1), &json!(1)));
    assert_eq!(s["requests"]["total"], 3);
    assert_eq!(s["requests"]["history"].as_array().map(Vec::len), Some(60));
    assert!(s["requests"]["perSecond"].is_number());

    // Events, oldest first, numbered from 1, each with a time.
    let events: Vec<Value> = s["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert!(e["time"].as_str().is_some_and(|t| t.ends_with('Z')), "{e}");
            let mut e = e.clone();
            e.as_object_mut().unwrap().remove("time");
            e
        })
        .collect();
    assert_eq!(
        events,
        vec![
            json!({ "id": 1, "incident": 1, "kind": "disagreement", "rm": 2, "seq": 5 }),
            json!({ "id": 2, "incident": 2, "kind": "silence", "rm": 3, "seq": 5 }),
            json!({ "id": 3, "incident": 3, "kind": "no-agreement", "seq": 6 }),
            // The swap ends RM 2's wrong results: one incident, one story on the page.
            json!({ "id": 4, "incident": 1, "kind": "swap", "rm": 2, "from": "faulty-logic",
                    "to": "replica-b", "reason": "3 consecutive wrong results (last at request 9)" }),
        ]
    );
    assert_eq!(s["lastEventId"], 4);

    // Only newer events with ?since=; a restarted RM (another pid) is no swap.
    let mut restarted = status(4, "replica-a", 0, None);
    restarted.pid = 9999;
    board.replica_status(&restarted);
    let s = send(&app, Method::GET, "/v1/status?since=3", &[], None)
        .await
        .body;
    let ids: Vec<&Value> = s["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["id"])
        .collect();
    assert_eq!(ids, [&json!(4)], "{s:#}");
    let s = send(&app, Method::GET, "/v1/status?since=4", &[], None)
        .await
        .body;
    assert_eq!(s["events"], json!([]));

    let a = send(&app, Method::GET, "/v1/status?since=soon", &[], None).await;
    assert_eq!(
        (a.status, a.code()),
        (StatusCode::BAD_REQUEST, "bad-request")
    );
}

#[test]
fn the_board_keeps_the_newest_200_events() {
    let board = StatusBoard::new(vec![1, 2, 3, 4]);
    for seq in 1..=250 {
        board.voted(
            &[Event::Decide(Decision::NoAgreement { seq })],
            &Default::default(),
        );
    }
    let s = board.json(None);
    let events = s["events"].as_array().unwrap();
    assert_eq!(events.len(), 200);
    assert_eq!(
        (&events[0]["id"], &events[199]["id"]),
        (&json!(51), &json!(250))
    );
    assert_eq!(s["lastEventId"], 250);
}

/// What `dmtbs chaos module 2 faulty-random` does within one poll interval: the operator swap,
/// three wrong results and the swap back, all before the next status. The feed must name
/// both swaps, not "replica-b → replica-b".
#[test]
fn an_operator_swap_undone_between_two_polls_shows_both_swaps() {
    let board = StatusBoard::new(vec![1, 2, 3, 4]);
    board.replica_status(&status(2, "replica-b", 0, None));
    board.swap_requested(2, "faulty-random");
    let reason = "3 consecutive wrong results (last at request 4)";
    board.replica_status(&status(2, "replica-b", 2, Some(reason)));
    let swaps: Vec<(String, String, String)> = board.json(None)["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "swap")
        .map(|e| {
            let text = |k: &str| e[k].as_str().unwrap_or("").to_owned();
            (text("from"), text("to"), text("reason"))
        })
        .collect();
    assert_eq!(
        swaps,
        vec![
            (
                "replica-b".into(),
                "faulty-random".into(),
                "operator swap to faulty-random".into()
            ),
            ("faulty-random".into(), "replica-b".into(), reason.into()),
        ]
    );
}

/// A swap the RM refused (it cannot load the module) leaves nothing pending: its next real swap
/// is reported from and to the modules it really ran.
#[test]
fn a_refused_operator_swap_is_forgotten() {
    let board = StatusBoard::new(vec![1, 2, 3, 4]);
    board.replica_status(&status(3, "replica-c", 0, None));
    board.swap_requested(3, "no-such-module");
    board.swap_refused(3);
    board.replica_status(&status(3, "replica-d", 1, Some("the replica trapped")));
    let events = board.json(None)["events"].clone();
    assert_eq!(events.as_array().unwrap().len(), 1, "{events:#}");
    assert_eq!(
        (&events[0]["from"], &events[0]["to"]),
        (&json!("replica-c"), &json!("replica-d"))
    );
}

/// The same with a poll in between that catches the operator's swap counted but its module not
/// yet installed (the status still names the module before it).
#[test]
fn an_operator_swap_seen_while_installing_then_undone_shows_both_swaps() {
    let board = StatusBoard::new(vec![1, 2, 3, 4]);
    board.replica_status(&status(2, "replica-b", 0, None));
    board.swap_requested(2, "faulty-random");
    board.replica_status(&status(
        2,
        "replica-b",
        1,
        Some("operator swap to faulty-random"),
    ));
    board.replica_status(&status(
        2,
        "replica-b",
        1,
        Some("operator swap to faulty-random"),
    ));
    let reason = "3 consecutive wrong results (last at request 4)";
    board.replica_status(&status(2, "replica-b", 2, Some(reason)));
    let swaps: Vec<(String, String)> = board.json(None)["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "swap")
        .map(|e| {
            (
                e["from"].as_str().unwrap().into(),
                e["to"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        swaps,
        vec![
            ("replica-b".into(), "faulty-random".into()),
            ("faulty-random".into(), "replica-b".into()),
        ]
    );
}

fn process(pid: u32, started_unix_ms: u64, progress: Option<(u64, u64, &str)>) -> NodeInfo {
    NodeInfo {
        pid,
        started_unix_ms,
        uptime_ms: 65_000,
        progress: progress.map(|(epoch, latest, phase)| Progress {
            epoch,
            latest,
            phase: phase.into(),
        }),
    }
}

#[tokio::test]
async fn the_status_json_shows_every_node_restarts_chaos_quarantine_and_what_was_sequenced() {
    let board = Arc::new(StatusBoard::new(vec![1, 2, 3, 4]));
    let me = NodeId::FrontEnd(1);
    board.watch_nodes(
        me,
        [NodeId::Sequencer, me]
            .into_iter()
            .chain((1..=4).map(NodeId::Rm))
            .collect(),
    );
    let app = app(board.clone());
    board.node_report(
        NodeId::Sequencer,
        &process(10, 1_000, Some((3, 812, "numbering"))),
        &[],
    );
    board.node_report(me, &process(11, 1_000, Some((3, 800, "serving"))), &[]);
    // RM 3 drops 30 % of the sequencer's datagrams; RM 4's healed link is no chaos any more.
    board.node_report(
        NodeId::Rm(3),
        &process(13, 1_000, None),
        &[LinkDrop {
            from: NodeId::Sequencer,
            percent: 30,
            dropped: 17,
        }],
    );
    let healed = LinkDrop {
        from: me,
        percent: 0,
        dropped: 5,
    };
    board.node_report(NodeId::Rm(4), &process(14, 1_000, None), &[healed]);
    // Two RMs know the same quarantined module: listed once.
    let judged = QuarantineEntry {
        hash: "fedcba9876543210fedcba9876543210".into(),
        module: "faulty-logic".into(),
        by: 2,
        reason: "3 consecutive wrong results (last at request 9)".into(),
    };
    for rm in [1, 2] {
        let mut s = status(rm, "replica-a", 0, None);
        s.quarantine = vec![judged.clone()];
        board.replica_status(&s);
    }
    // RM 4 is killed: silent on requests 440..=458; then it answers as another process.
    for seq in 440..=458 {
        board.voted(
            &[Event::Verdict(Verdict {
                seq,
                agreed: vec![1, 2, 3],
                wrong: vec![],
                silent: vec![4],
            })],
            &Default::default(),
        );
    }
    board.node_report(NodeId::Rm(4), &process(99, 2_000, None), &[]);
    // A restarted sequencer is a restart too, a story of its own.
    board.node_report(
        NodeId::Sequencer,
        &process(98, 2_000, Some((5, 830, "recovering"))),
        &[],
    );
    board.nodes_unanswered(vec![]);
    // Two requests sequenced, one refused by the front end (never sequenced).
    for path in [
        "/v1/movies/avatar/availability",
        "/v1/movies/titanic/availability",
        "/v1/movies/not%20a%20movie!/availability",
    ] {
        send(&app, Method::GET, path, &[CUSTOMER], None).await;
    }

    let s = send(&app, Method::GET, "/v1/status", &[], None).await.body;
    let nodes = s["nodes"].as_array().expect("nodes");
    assert_eq!(nodes.len(), 2, "the sequencer and the front end: {s:#}");
    let sequencer = &nodes[0];
    assert_eq!(
        (
            &sequencer["node"],
            &sequencer["state"],
            &sequencer["epoch"],
            &sequencer["latest"],
            &sequencer["restarts"],
        ),
        (
            &json!("sequencer"),
            &json!("recovering"),
            &json!(5),
            &json!(830),
            &json!(1)
        ),
        "{sequencer:#}"
    );
    assert!(sequencer["uptimeSeconds"].as_u64().is_some_and(|u| u >= 65));
    let started = sequencer["startedAt"].as_str().unwrap_or_default();
    assert!(
        chrono::DateTime::parse_from_rfc3339(started).is_ok() && started.ends_with('Z'),
        "{started}"
    );
    let fe = &nodes[1];
    assert_eq!(
        (&fe["node"], &fe["self"], &fe["latest"], &fe["restarts"]),
        (&json!("fe1"), &json!(true), &json!(800), &Value::Null),
        "a front end cannot count its own restarts: {fe:#}"
    );
    let rm = |id: u64| {
        s["replicas"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["rm"] == id)
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(rm(4)["restarts"], 1, "{s:#}");
    assert_eq!(rm(3)["restarts"], 0, "{s:#}");
    assert!(rm(3)["uptimeSeconds"].as_u64().is_some_and(|u| u >= 65));
    assert_eq!(
        s["chaos"],
        json!([{ "from": "sequencer", "to": "rm3", "percent": 30, "dropped": 17,
                 "answering": true }])
    );
    assert_eq!(
        s["quarantine"],
        json!([{ "module": "faulty-logic", "hash": "fedcba987654", "by": 2,
                 "reason": "3 consecutive wrong results (last at request 9)" }])
    );
    // The silences and the restart that ended them: one incident.
    let events = s["events"].as_array().unwrap();
    let restart = events
        .iter()
        .find(|e| e["kind"] == "restart" && e["rm"] == 4)
        .unwrap_or_else(|| panic!("no restart of RM 4: {s:#}"));
    assert_eq!(restart["node"], "rm4");
    let silences: Vec<&Value> = events.iter().filter(|e| e["kind"] == "silence").collect();
    assert_eq!(silences.len(), 19);
    assert!(
        silences
            .iter()
            .all(|e| e["incident"] == restart["incident"]),
        "{s:#}"
    );
    let sequencer_restart = events
        .iter()
        .find(|e| e["kind"] == "restart" && e["node"] == "sequencer")
        .unwrap_or_else(|| panic!("no restart of the sequencer: {s:#}"));
    assert_ne!(sequencer_restart["incident"], restart["incident"]);
    assert_eq!(
        (
            &s["requests"]["total"],
            &s["requests"]["sequenced"],
            &s["requests"]["notSequenced"],
        ),
        (&json!(3), &json!(2), &json!(1)),
        "{:#}",
        s["requests"]
    );
    let long = &s["requests"]["longHistory"];
    assert_eq!(long["bucketSeconds"], 10);
    assert_eq!(
        long["counts"].as_array().map(Vec::len),
        Some(90),
        "15 minutes"
    );
}
