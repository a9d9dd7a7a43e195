//! The status page of a busy cluster as an operator reads it at 800, 1024 and 1400 pixels wide:
//! every row, story and list is there, nothing is clipped and nothing scrolls sideways. The
//! page is served by the front end's own router over a board fed what a real front end hears
//! (statuses, node reports, verdicts), so every kind of row and event is on it at once: a
//! restarted RM and sequencer, a swap after wrong results, chaos on several links, a
//! quarantined module, a standby and a second front end.

use std::sync::Arc;
use std::time::Duration;

use dmtbs_contract::Operation;
use dmtbs_frontend::vote::{Counters, Decision, Event};
use dmtbs_frontend::{
    AdminKey, AuditLog, Auth, Cluster, ClusterError, Metrics, Operator, StatusBoard, TokenKey,
    VotedOutcome, router_with,
};
use dmtbs_proto::{
    Health, LinkDrop, NodeId, NodeInfo, Progress, QuarantineEntry, RmStatus, Verdict,
};
use serde_json::Value;

use crate::webdriver::Browser;

/// The widths the page must serve, with a usual height for each.
const VIEWPORTS: [(u32, u32); 3] = [(800, 900), (1024, 768), (1400, 900)];

/// A cluster that answers nothing: the page needs only the board.
struct Unreachable;

impl Operator for Unreachable {}

impl Cluster for Unreachable {
    async fn execute(&self, _: Operation, _: Option<String>) -> Result<VotedOutcome, ClusterError> {
        Err(ClusterError::Unavailable("no cluster in this test".into()))
    }
}

fn process(pid: u32, started_unix_ms: u64, progress: Option<(u64, u64, &str)>) -> NodeInfo {
    NodeInfo {
        pid,
        started_unix_ms,
        uptime_ms: 3 * 3600 * 1000 + 125_000,
        progress: progress.map(|(epoch, latest, phase)| Progress {
            epoch,
            latest,
            phase: phase.into(),
        }),
    }
}

fn status(rm: u8, module: &str, swaps: u32, reason: Option<&str>) -> RmStatus {
    RmStatus {
        rm,
        pid: 4000 + u32::from(rm),
        module: module.into(),
        hash: format!("{rm}123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde"),
        health: Health::Serving,
        applied_through: 1_234_567,
        delivered_through: 1_234_567,
        consecutive_wrong: 0,
        consecutive_silent: 0,
        swaps,
        stable_checkpoint: 1_234_000,
        stable_digest: [0xab; 32],
        own_checkpoint: None,
        last_swap_reason: reason.map(Into::into),
        quarantine: vec![QuarantineEntry {
            hash: "fedcba9876543210fedcba9876543210".into(),
            module: "faulty-logic".into(),
            by: 3,
            reason: "3 consecutive wrong results (last at request 1234502): a long reason \
                     that has to wrap on a narrow screen rather than push the page sideways"
                .into(),
        }],
        agreed_dead: Vec::new(),
        epoch: 3,
        durable_through: 1_234_567,
        commit_p99_micros: 12_345,
        canary: None,
        last_canary: None,
    }
}

/// A board holding a bit of everything the page can show.
fn busy_board() -> Arc<StatusBoard> {
    let board = Arc::new(StatusBoard::new(vec![1, 2, 3, 4]));
    let me = NodeId::FrontEnd(1);
    let nodes: Vec<NodeId> = [NodeId::Sequencer, NodeId::Standby, me, NodeId::FrontEnd(2)]
        .into_iter()
        .chain((1..=4).map(NodeId::Rm))
        .collect();
    board.watch_nodes(me, nodes);
    let t0 = 1_796_000_000_000;
    board.node_report(
        NodeId::Sequencer,
        &process(100, t0, Some((3, 1_234_567, "numbering"))),
        &[],
    );
    board.node_report(
        NodeId::Standby,
        &process(101, t0, Some((0, 0, "passive"))),
        &[],
    );
    board.node_report(me, &process(102, t0, Some((3, 1_234_560, "serving"))), &[]);
    board.node_report(
        NodeId::FrontEnd(2),
        &process(103, t0, Some((3, 1_234_566, "serving"))),
        &[],
    );
    let drop = |from, percent, dropped| LinkDrop {
        from,
        percent,
        dropped,
    };
    for rm in 1..=4u8 {
        let links = match rm {
            2 => vec![drop(NodeId::Sequencer, 30, 123_456)],
            3 => vec![
                drop(NodeId::Rm(1), 100, 9_999),
                drop(NodeId::FrontEnd(2), 5, 12),
            ],
            _ => vec![drop(NodeId::Sequencer, 0, 77)],
        };
        board.node_report(
            NodeId::Rm(rm),
            &process(200 + u32::from(rm), t0, None),
            &links,
        );
        board.replica_status(&status(
            rm,
            ["replica-a", "faulty-logic", "replica-c", "replica-d"][usize::from(rm) - 1],
            0,
            None,
        ));
    }
    // RM 2 lies on twelve requests and is swapped; RM 4 is killed (silent on 19 requests) and
    // restarted; the sequencer is restarted; two ballots end without agreement.
    let mut counters = Counters::default();
    for seq in 1_234_501..=1_234_512 {
        counters.votes += 1;
        counters.disagreements.insert(2, seq - 1_234_500);
        board.voted(
            &[Event::Verdict(Verdict {
                seq,
                agreed: vec![1, 3, 4],
                wrong: vec![2],
                silent: vec![],
            })],
            &counters,
        );
    }
    let reason = "3 consecutive wrong results (last at request 1234503)";
    board.replica_status(&status(2, "faulty-logic", 1, Some(reason)));
    board.replica_status(&status(2, "replica-b", 1, Some(reason)));
    for seq in 1_234_540..=1_234_558 {
        counters.silences.insert(4, seq - 1_234_539);
        board.voted(
            &[Event::Verdict(Verdict {
                seq,
                agreed: vec![1, 2, 3],
                wrong: vec![],
                silent: vec![4],
            })],
            &counters,
        );
    }
    board.node_report(NodeId::Rm(4), &process(999, t0 + 60_000, None), &[]);
    board.node_report(
        NodeId::Sequencer,
        &process(998, t0 + 90_000, Some((5, 1_234_567, "numbering"))),
        &[],
    );
    for seq in [1_234_600, 1_234_601] {
        counters.no_agreement += 1;
        board.voted(&[Event::Decide(Decision::NoAgreement { seq })], &counters);
    }
    board.poll_unanswered(vec![]);
    board.nodes_unanswered(vec![NodeId::FrontEnd(2)]);
    board.result_latencies(
        &(1..=4)
            .map(|rm| (rm, Duration::from_micros(12_345 * u64::from(rm))))
            .collect::<Vec<_>>(),
    );
    for _ in 0..1_234 {
        board.request_answered(true);
    }
    board.request_answered(false);
    board
}

/// Serves the page and its JSON from the front end's router on a loopback port.
async fn serve(board: Arc<StatusBoard>) -> String {
    let app = router_with(
        Arc::new(Unreachable),
        Arc::new(Auth::new(
            AdminKey::new("not used"),
            TokenKey::from_bytes(&[7; 32]),
        )),
        AuditLog::discard(),
        Arc::new(Metrics::new(&[1, 2, 3, 4])),
        board,
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let addr = listener.local_addr().expect("a bound listener's address");
    tokio::spawn(dmtbs_frontend::serve(listener, app, std::future::pending()));
    format!("http://{addr}/status")
}

/// What an operator reads, and every place the page overflows: the document wider than the
/// window, an element whose content is wider than its box (clipped, or spilling over its
/// neighbours), or a box outside the window.
const LAYOUT: &str = r#"
const width = document.documentElement.clientWidth;
const problems = [];
const name = (e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
  + (e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\s+/).join('.') : '')
  + (e.dataset && e.dataset.label ? `[${e.dataset.label}]` : '');
if (document.documentElement.scrollWidth > window.innerWidth) {
  problems.push(`the page is ${document.documentElement.scrollWidth} px wide in a ${window.innerWidth} px window`);
}
for (const e of document.querySelectorAll('body *')) {
  if (e instanceof SVGElement || e.tagName === 'SCRIPT' || e.tagName === 'STYLE') continue;
  const style = getComputedStyle(e);
  if (style.display === 'none' || e.getClientRects().length === 0) continue;
  if (e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1) {
    problems.push(`${name(e)}: content ${e.scrollWidth} px wide in a ${e.clientWidth} px box`);
  }
  const box = e.getBoundingClientRect();
  if (box.width > 0 && (box.left < -0.5 || box.right > width + 0.5)) {
    problems.push(`${name(e)}: spans ${box.left.toFixed(0)}–${box.right.toFixed(0)} px of ${width}`);
  }
}
const text = (sel) => Array.from(document.querySelectorAll(sel)).map(e => e.innerText.trim());
return {
  width, window: window.innerWidth, problems: problems.slice(0, 20),
  ready: document.body.dataset.ready || null,
  replicas: text('#replicas tr[data-rm]'),
  nodes: Array.from(document.querySelectorAll('#nodes tr[data-node]')).map(r => {
    const cell = (c) => { const e = r.querySelector('td.' + c); return e ? e.innerText.trim() : null; };
    return { node: r.dataset.node, state: cell('state'), epoch: cell('epoch'), latest: cell('latest'),
             started: cell('started'), uptime: cell('uptime'), restarts: cell('restarts') };
  }),
  chaos: text('#chaos li[data-from]'),
  quarantine: text('#quarantine li[data-module]'),
  stories: Array.from(document.querySelectorAll('#events > li[data-kind]')).map(e => ({
    kind: e.dataset.kind, rm: e.dataset.rm || null, node: e.dataset.node || null,
    text: e.innerText.trim(),
  })),
  checkpoints: text('#replicas td.checkpoint'),
  total: text('#total-split')[0] || null,
  history: text('.axis')[0] || null,
  updated: text('#updated')[0] || null,
  error: document.getElementById('error').hidden ? null : text('#error')[0],
};
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_cluster_fits_800_1024_and_1400_pixels_and_tells_one_story_per_incident() {
    let url = serve(busy_board()).await;
    let browser = Browser::start().await.expect("headless Chromium starts");
    for (width, height) in VIEWPORTS {
        browser
            .set_viewport(width, height)
            .await
            .expect("resize the window");
        browser.goto(&url).await.expect("open the status page");
        let page = browser
            .wait_for(
                &format!("the page at {width}×{height} rendered without overflow"),
                Duration::from_secs(15),
                async |b| {
                    let page = b.execute(LAYOUT, vec![]).await?;
                    let rendered = page["ready"] == "1"
                        && page["replicas"].as_array().map_or(0, Vec::len) == 4;
                    if rendered && page["problems"].as_array().is_some_and(Vec::is_empty) {
                        Ok(Some(page))
                    } else {
                        anyhow::bail!("{page:#}")
                    }
                },
            )
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(
            page["window"], width,
            "the window is {width} px wide: {page:#}"
        );
        check_content(&page, width);
        // The whole page in one picture, for a reader of the test's output.
        let tall = browser
            .execute("return document.documentElement.scrollHeight;", vec![])
            .await
            .expect("the page's height");
        browser
            .set_viewport(
                width,
                tall.as_u64().unwrap_or(u64::from(height)).min(4000) as u32,
            )
            .await
            .expect("resize the window");
        let png = browser.screenshot().await.expect("screenshot");
        let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("status-page-{width}.png"));
        std::fs::write(&path, png).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        println!("status page at {width} px: {}", path.display());
    }
}

/// Everything on the busy board is on the page, in words an operator understands.
fn check_content(page: &Value, width: u32) {
    let texts = |key: &str| -> Vec<String> {
        page[key]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let at = format!("at {width} px: {page:#}");
    // The sequencer (restarted once, now in epoch 5), the standby, both front ends.
    let nodes = page["nodes"].as_array().cloned().unwrap_or_default();
    let shown: Vec<&str> = nodes.iter().filter_map(|n| n["node"].as_str()).collect();
    assert_eq!(shown, ["sequencer", "standby", "fe1", "fe2"], "{at}");
    let sequencer = &nodes[0];
    assert_eq!(
        [
            &sequencer["state"],
            &sequencer["epoch"],
            &sequencer["latest"],
            &sequencer["restarts"],
            &sequencer["started"],
            &sequencer["uptime"],
        ],
        [
            "numbering",
            "5",
            "1234567",
            "1",
            "2026-11-30T00:54:50Z",
            "3 h 2 min"
        ],
        "{at}"
    );
    assert_eq!(nodes[1]["state"], "passive", "{at}");
    assert_eq!(
        nodes[2]["restarts"], "0 seen by this page",
        "a front end cannot count its own restarts: {at}"
    );
    assert_eq!(nodes[3]["state"], "silent", "fe2 did not answer: {at}");
    // RM 4's restart counted in its row; checkpoints readable in every row.
    let replicas = texts("replicas");
    assert!(replicas[3].contains("1 restart"), "{at}");
    assert!(replicas[0].contains("0 restarts"), "{at}");
    assert_eq!(texts("checkpoints").len(), 4, "{at}");
    // Three links drop (the healed one is not chaos), one module is quarantined.
    let chaos = texts("chaos");
    assert_eq!(chaos.len(), 3, "{at}");
    assert!(
        chaos
            .iter()
            .any(|c| c.contains("sequencer → rm2") && c.contains("30 %")),
        "{at}"
    );
    let quarantine = texts("quarantine");
    assert!(
        quarantine.len() == 1 && quarantine[0].contains("faulty-logic"),
        "{at}"
    );
    // Counts explained: sequenced and refused apart.
    let total = page["total"].as_str().unwrap_or_default();
    assert!(
        total.starts_with("1,234 sequenced · 1 not sequenced (refused by the front end"),
        "{at}"
    );
    assert!(
        page["history"]
            .as_str()
            .is_some_and(|h| h.contains("from 20") && h.ends_with('Z')),
        "{at}"
    );
    // One story per incident: RM 2's wrong results and its swap on one line, RM 4's silences and
    // its restart on another, the sequencer's restart on a third; no separate runs beside them.
    let stories = page["stories"].as_array().cloned().unwrap_or_default();
    let about = |rm: &str| -> Vec<&Value> { stories.iter().filter(|s| s["rm"] == rm).collect() };
    let rm2 = about("2");
    assert_eq!(rm2.len(), 1, "one story about RM 2 {at}");
    let story = rm2[0]["text"].as_str().unwrap_or_default();
    assert_eq!(rm2[0]["kind"], "swap", "{at}");
    assert!(
        story.contains("faulty-logic → replica-b")
            && story.contains("wrong result on requests 1234501–1234512 (12×)"),
        "{at}"
    );
    let rm4 = about("4");
    assert_eq!(rm4.len(), 1, "one story about RM 4 {at}");
    assert_eq!(rm4[0]["kind"], "restart", "{at}");
    assert!(
        rm4[0]["text"]
            .as_str()
            .is_some_and(|t| t.contains("restarted") && t.contains("1234540–1234558 (19×)")),
        "{at}"
    );
    assert!(
        stories
            .iter()
            .any(|s| s["kind"] == "restart" && s["node"] == "sequencer"),
        "{at}"
    );
    let no_agreement: Vec<&Value> = stories
        .iter()
        .filter(|s| s["kind"] == "no-agreement")
        .collect();
    assert_eq!(no_agreement.len(), 1, "{at}");
    // Every time carries its date and zone.
    assert!(
        page["updated"]
            .as_str()
            .is_some_and(|u| u.contains('T') && u.ends_with('Z')),
        "{at}"
    );
}
