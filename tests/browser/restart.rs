//! A replica manager's process killed under `dmtbs up` (SIGKILL; the supervisor starts a new
//! one): the page counts the restart in the RM's row and tells it as one story — the restart,
//! with the silences it caused — never as a bare run of silences, and not as a swap. Runs the
//! built `dmtbs` binary like the processes suite (`cargo build -p dmtbs-cli`, done by
//! `just test`; `DMTBS_BIN` overrides).

use std::time::Duration;

use dmtbs_cluster::config::TransportMode;
use dmtbs_proto::NodeId;
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::{Up, signal};
use crate::webdriver::Browser;

/// The RM killed.
const KILLED: u8 = 3;

/// The page's view of the killed RM: its row's process and swaps cells, and every top-level
/// story about it.
const VIEW: &str = r#"
const row = document.querySelector(`#replicas tr[data-rm="${arguments[0]}"]`);
const cell = (c) => { const e = row && row.querySelector('td.' + c); return e ? e.innerText.trim() : null; };
return {
  ready: document.body.dataset.ready || null,
  process: cell('process'), swaps: cell('swaps'), health: cell('health'),
  stories: Array.from(document.querySelectorAll(`#events > li[data-rm="${arguments[0]}"]`)).map(e => ({
    kind: e.dataset.kind, text: e.innerText.trim(),
  })),
};
"#;

async fn book(up: &Up, customer: &str) -> u16 {
    let body = json!({"movie": "Avatar", "showId": "ATWE251126", "tickets": 1});
    let path = format!("/v1/customers/{customer}/bookings");
    up.call(Method::POST, &path, customer, Some(body)).await.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_replica_manager_shows_as_a_restart_in_one_story() {
    let _one = crate::ONE_CLUSTER.lock().await;
    let up = Up::start(TransportMode::Multicast);
    let show = json!({"movie": "Avatar", "showId": "ATWE251126", "capacity": 100});
    let (status, _, body) = up
        .call(Method::POST, "/v1/shows", "ATWA0001", Some(show))
        .await;
    assert_eq!(status, 201, "{body}");
    let browser = Browser::start().await.expect("headless Chromium starts");
    browser
        .goto(&up.url("/status"))
        .await
        .expect("open the status page");
    let view = async |b: &Browser| b.execute(VIEW, vec![json!(KILLED)]).await;
    browser
        .wait_for(
            &format!("RM {KILLED}'s process shown up, never restarted"),
            Duration::from_secs(30),
            async |b| {
                let page = view(b).await?;
                let process = page["process"].as_str().unwrap_or_default();
                if process.starts_with("up ") && process.ends_with("0 restarts") {
                    Ok(Some(()))
                } else {
                    anyhow::bail!("{page}")
                }
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e:#}\n{}", up.log()));

    let rm = NodeId::Rm(KILLED);
    let old = up.node_pid(rm).expect("the RM runs");
    assert!(signal(old, libc::SIGKILL));
    // Bookings while it is down: the other three answer; its ballots close without it.
    for i in 1..=5 {
        assert_eq!(book(&up, &format!("ATWC{i:04}")).await, 200, "{}", up.log());
    }
    up.wait_new_pid(rm, old, Duration::from_secs(60)).await;

    // Counted in its row, told as a restart.
    let restart_story = |page: &Value| -> Vec<Value> {
        page["stories"]
            .as_array()
            .map(|s| {
                s.iter()
                    .filter(|s| s["kind"] == "restart")
                    .cloned()
                    .collect()
            })
            .unwrap_or_default()
    };
    browser
        .wait_for(
            &format!("RM {KILLED}'s restart counted and told"),
            Duration::from_secs(60),
            async |b| {
                let page = view(b).await?;
                let counted = page["process"]
                    .as_str()
                    .is_some_and(|p| p.ends_with("1 restart"));
                if counted && !restart_story(&page).is_empty() {
                    Ok(Some(page))
                } else {
                    anyhow::bail!("{page}")
                }
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e:#}\n{}", up.log()));
    // The bookings' ballots that closed without it (how many depends on how soon the new
    // process answered) belong to the restart's incident, and the page tells them with it.
    let status: Value = up
        .http
        .get(up.url("/v1/status"))
        .send()
        .await
        .expect("GET /v1/status")
        .json()
        .await
        .expect("the status JSON");
    let about: Vec<&Value> = status["events"]
        .as_array()
        .map(|e| e.iter().filter(|e| e["rm"] == KILLED).collect())
        .unwrap_or_default();
    let restarts: Vec<&&Value> = about.iter().filter(|e| e["kind"] == "restart").collect();
    assert_eq!(restarts.len(), 1, "one restart event: {status:#}");
    let silences: Vec<&&Value> = about.iter().filter(|e| e["kind"] == "silence").collect();
    assert!(
        silences
            .iter()
            .all(|e| e["incident"] == restarts[0]["incident"]),
        "its silences are the restart's incident: {status:#}"
    );
    println!(
        "{} silences of RM {KILLED} while it was down",
        silences.len()
    );
    let page = browser
        .wait_for(
            &format!(
                "RM {KILLED}'s restart told with its {} silences",
                silences.len()
            ),
            Duration::from_secs(15),
            async |b| {
                let page = view(b).await?;
                let told = restart_story(&page).iter().any(|s| {
                    s["text"].as_str().is_some_and(|t| {
                        t.contains(&format!("RM {KILLED}'s process restarted"))
                            && (silences.is_empty()
                                || t.contains("gave no result in time on request"))
                    })
                });
                if told {
                    Ok(Some(page))
                } else {
                    anyhow::bail!("{page}")
                }
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let stories = page["stories"].as_array().cloned().unwrap_or_default();
    assert_eq!(stories.len(), 1, "one story about RM {KILLED}: {page:#}");
    assert_eq!(page["swaps"], "0", "a restart is no swap: {page:#}");
    drop(browser);
}
