//! The live status page as an operator sees it: a lying replica's module, its disagreements,
//! the automatic swap to a known-good module told as one story; the sequencer's and the front
//! end's rows; a link dropping datagrams while chaos lasts; and the page saying so when the
//! front end goes away. Reads the page only through its DOM contract (`#replicas tr[data-rm]`
//! with `.module`, `.health`, `.swaps`, `.latency`, `.disagreements`, `.durable`, `.process`;
//! `#events [data-kind][data-rm]`, one `#events > li` per incident; `#nodes tr[data-node]`;
//! `#chaos li[data-from][data-to]`; `#total-split`; `#rate`; `body[data-ready="1"]`; `#error`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use dmtbs_client::Client;
use dmtbs_cluster::config::TransportMode;
use dmtbs_cluster::local::{LocalCluster, local_config};
use dmtbs_testkit::components::{self, IMPLEMENTATIONS};
use dmtbs_tests::liar;
use serde_json::{Value, json};

use crate::webdriver::{Browser, png_size};

/// The day the test clusters live on: the day of the booking rules' examples.
const TODAY: &str = "2026-11-24";

/// The RM that runs the faulty module, and the known-good module it falls back to.
const FAULTY_RM: usize = 2;
const KNOWN_GOOD: &str = IMPLEMENTATIONS[FAULTY_RM - 1];

/// The page's first refresh (a fresh Chromium on a busy machine: seconds).
const FIRST_REFRESH: Duration = Duration::from_secs(15);
/// From the third wrong result to the swap shown in the page (polled every second).
const SWAP_SHOWN: Duration = Duration::from_secs(30);

/// What the page shows, for assertions and failure messages: the rows, the events, the rate,
/// readiness and the error box.
const SNAPSHOT: &str = r#"
const cell = (row, c) => { const e = row.querySelector('.' + c); return e ? e.innerText.trim() : null; };
const error = document.getElementById('error');
const style = error ? getComputedStyle(error) : null;
return {
  ready: document.body.dataset.ready || null,
  rows: Array.from(document.querySelectorAll('#replicas tr[data-rm]')).map(r => ({
    rm: r.dataset.rm, module: cell(r, 'module'), health: cell(r, 'health'),
    swaps: cell(r, 'swaps'), latency: cell(r, 'latency'), disagreements: cell(r, 'disagreements'),
    durable: cell(r, 'durable'), process: cell(r, 'process'),
  })),
  stories: Array.from(document.querySelectorAll('#events > li[data-kind]')).map(e => ({
    kind: e.dataset.kind, rm: e.dataset.rm || null, text: e.innerText.trim(),
  })),
  nodes: Array.from(document.querySelectorAll('#nodes tr[data-node]')).map(r => ({
    node: r.dataset.node, state: cell(r, 'state'), epoch: cell(r, 'epoch'),
    latest: cell(r, 'latest'), started: cell(r, 'started'), restarts: cell(r, 'restarts'),
  })),
  chaos: Array.from(document.querySelectorAll('#chaos li')).map(e => ({
    from: e.dataset.from || null, to: e.dataset.to || null, text: e.innerText.trim(),
  })),
  total: document.getElementById('total-split') ? document.getElementById('total-split').innerText.trim() : null,
  events: Array.from(document.querySelectorAll('#events [data-kind]')).map(e => ({
    kind: e.dataset.kind, rm: e.dataset.rm || null, text: e.innerText.trim(),
  })),
  rate: document.getElementById('rate') ? document.getElementById('rate').innerText.trim() : null,
  error: error ? {
    visible: !error.hidden && style.display !== 'none' && style.visibility !== 'hidden'
      && error.getClientRects().length > 0,
    text: error.innerText.trim(),
  } : null,
};
"#;

async fn snapshot(browser: &Browser) -> anyhow::Result<Value> {
    browser.execute(SNAPSHOT, vec![]).await
}

/// The RM a row or an event is about (its `data-rm`).
fn rm_of(item: &Value) -> Option<usize> {
    item["rm"].as_str()?.parse().ok()
}

fn row(page: &Value, rm: usize) -> Option<&Value> {
    page["rows"]
        .as_array()?
        .iter()
        .find(|r| rm_of(r) == Some(rm))
}

/// Events of `kind` about RM `rm`.
fn events<'a>(page: &'a Value, kind: &str, rm: usize) -> Vec<&'a Value> {
    page["events"]
        .as_array()
        .map(|all| {
            all.iter()
                .filter(|e| e["kind"] == kind && rm_of(e) == Some(rm))
                .collect()
        })
        .unwrap_or_default()
}

/// The first whole number in a cell (`"1"`, `"1 swap"`, …).
fn number(cell: &Value) -> Option<u64> {
    let text = cell.as_str()?;
    let digits: String = text
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok()
}

/// Waits until the page has refreshed once and lists `rows` replicas; returns what it shows.
async fn wait_ready(browser: &Browser, rows: usize) -> Value {
    browser
        .wait_for(
            &format!("body[data-ready=\"1\"] and {rows} #replicas tr[data-rm] rows"),
            FIRST_REFRESH,
            async |b| {
                let page = snapshot(b).await?;
                let shown = page["rows"].as_array().map_or(0, Vec::len);
                if page["ready"] == "1" && shown == rows {
                    Ok(Some(page))
                } else {
                    anyhow::bail!("page shows {page}")
                }
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e:#}"))
}

/// Saves the screenshot where the test run keeps its files (and, with
/// `DMTBS_UPDATE_SCREENSHOT=1`, as the README's picture); returns the path.
fn save_screenshot(png: &[u8]) -> PathBuf {
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("status-page.png");
    std::fs::write(&path, png).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    if std::env::var("DMTBS_UPDATE_SCREENSHOT").as_deref() == Ok("1") {
        // The tests crate sits in the workspace root, beside docs/.
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("tests/ has a parent");
        let docs = root.join("docs/status-page.png");
        std::fs::copy(&path, &docs)
            .unwrap_or_else(|e| panic!("copying the screenshot to {}: {e}", docs.display()));
        println!("updated {}", docs.display());
    }
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_page_shows_a_lying_replica_swapped_for_a_known_good_module() {
    let _one = crate::ONE_CLUSTER.lock().await;
    let cluster = liar::start(FAULTY_RM, TODAY).await;
    let fe = cluster.url(0);
    let browser = Browser::start().await.expect("headless Chromium starts");
    browser
        .goto(&format!("{fe}/status"))
        .await
        .expect("open the status page");
    let page = wait_ready(&browser, 4).await;
    let liar = row(&page, FAULTY_RM).unwrap_or_else(|| panic!("no row for RM {FAULTY_RM}: {page}"));
    assert!(
        liar["module"]
            .as_str()
            .is_some_and(|m| m.contains(components::FAULTY_LOGIC)),
        "RM {FAULTY_RM}'s row should show {}: {page:#}",
        components::FAULTY_LOGIC
    );
    for class in ["health", "swaps", "latency", "disagreements"] {
        assert!(
            !liar[class].is_null(),
            "RM {FAULTY_RM}'s row has no .{class} cell: {page:#}"
        );
    }
    assert!(
        page["rate"]
            .as_str()
            .is_some_and(|r| r.trim().parse::<f64>().is_ok()),
        "#rate should show a request rate: {page:#}"
    );

    let client = Client::builder(fe.clone())
        .admin_key(cluster.config.cluster.admin_key.clone())
        .tokens(cluster.config.mint_tokens())
        .timeout(Duration::from_secs(20))
        .build()
        .expect("http client");
    let answered = liar::provoke_three_wrong_results(&client).await;

    let page = browser
        .wait_for(
            &format!("the swap of RM {FAULTY_RM} to {KNOWN_GOOD} shown in the page"),
            SWAP_SHOWN,
            async |b| {
                let page = snapshot(b).await?;
                let swapped = row(&page, FAULTY_RM).is_some_and(|r| {
                    r["module"].as_str().is_some_and(|m| m.contains(KNOWN_GOOD))
                        && number(&r["swaps"]).is_some_and(|n| n >= 1)
                });
                if swapped && !events(&page, "swap", FAULTY_RM).is_empty() {
                    Ok(Some(page))
                } else {
                    anyhow::bail!("page shows {page}")
                }
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let swaps = events(&page, "swap", FAULTY_RM);
    assert!(
        swaps.iter().any(|e| {
            let text = e["text"].as_str().unwrap_or_default();
            text.contains(components::FAULTY_LOGIC) && text.contains(KNOWN_GOOD)
        }),
        "a swap entry should name {} and {KNOWN_GOOD}: {swaps:#?}",
        components::FAULTY_LOGIC
    );
    assert!(
        !events(&page, "disagreement", FAULTY_RM).is_empty(),
        "the wrong results should show as disagreements of RM {FAULTY_RM}: {page:#}"
    );
    // Every RM's durable log position, epoch and commit time: "<seq> · e<epoch> · <ms> ms".
    for rm in 1..=4 {
        let durable = row(&page, rm)
            .and_then(|r| r["durable"].as_str().map(str::to_owned))
            .unwrap_or_default();
        let parts: Vec<&str> = durable.split(" · ").collect();
        assert!(
            parts.len() == 3
                && parts[0].parse::<u64>().is_ok_and(|n| n > 0)
                && parts[1] == "e1"
                && parts[2]
                    .strip_suffix(" ms")
                    .is_some_and(|m| m.parse::<f64>().is_ok()),
            "RM {rm}'s durable cell reads {durable:?}: {page:#}"
        );
    }
    // One story for the incident: the wrong results and the swap they caused on one line.
    let stories: Vec<&Value> = page["stories"]
        .as_array()
        .map(|all| all.iter().filter(|s| rm_of(s) == Some(FAULTY_RM)).collect())
        .unwrap_or_default();
    assert!(
        stories.len() == 1
            && stories[0]["kind"] == "swap"
            && stories[0]["text"].as_str().is_some_and(|t| {
                t.contains(KNOWN_GOOD)
                    && t.contains("wrong result on requests")
                    && t.contains("(3×)")
            }),
        "one story about RM {FAULTY_RM}'s wrong results and swap: {page:#}"
    );
    // The sequencer numbers in epoch 1 through at least every request answered; the front end
    // serving the page is listed; every RM's process is up and was never restarted.
    let node = |name: &str| {
        page["nodes"]
            .as_array()
            .and_then(|all| all.iter().find(|n| n["node"] == name))
            .cloned()
            .unwrap_or_else(|| panic!("no row for the {name}: {page:#}"))
    };
    let sequencer = node("sequencer");
    assert_eq!(
        (
            &sequencer["state"],
            &sequencer["epoch"],
            &sequencer["restarts"]
        ),
        (&json!("numbering"), &json!("1"), &json!("0")),
        "{page:#}"
    );
    assert!(
        number(&sequencer["latest"]).is_some_and(|n| n >= answered),
        "the sequencer gave at least {answered} numbers: {page:#}"
    );
    assert!(
        sequencer["started"]
            .as_str()
            .is_some_and(|t| t.starts_with("20") && t.contains('T') && t.ends_with('Z')),
        "{page:#}"
    );
    assert_eq!(node("fe1")["state"], "serving", "{page:#}");
    for rm in 1..=4 {
        let process = row(&page, rm)
            .and_then(|r| r["process"].as_str().map(str::to_owned))
            .unwrap_or_default();
        assert!(
            process.starts_with("up ") && process.ends_with("0 restarts"),
            "RM {rm}'s process cell reads {process:?}: {page:#}"
        );
    }
    // Every request the client sent was sequenced: none refused by the front end.
    assert!(
        page["total"]
            .as_str()
            .is_some_and(|t| t.starts_with(&format!("{answered} sequenced · 0 not sequenced"))),
        "{page:#}"
    );
    // Exactly the three wrong results, all the liar's; nobody else was ever out of step.
    let counted = |rm| row(&page, rm).and_then(|r| number(&r["disagreements"]));
    assert_eq!(counted(FAULTY_RM), Some(3), "{page:#}");
    for rm in (1..=4).filter(|&rm| rm != FAULTY_RM) {
        assert_eq!(counted(rm), Some(0), "RM {rm} never disagreed: {page:#}");
        assert!(
            events(&page, "swap", rm).is_empty() && events(&page, "disagreement", rm).is_empty(),
            "RM {rm} never disagreed: {page:#}"
        );
    }

    let png = browser.screenshot().await.expect("screenshot");
    let (width, height) = png_size(&png).expect("the screenshot is a PNG");
    assert!(
        (640..=4096).contains(&width) && (480..=4096).contains(&height),
        "screenshot {width}×{height}"
    );
    // A rendered table and feed, not a blank page: far more than a blank PNG's few kilobytes.
    assert!(
        (20_000..20_000_000).contains(&png.len()),
        "screenshot of {} bytes",
        png.len()
    );
    let path = save_screenshot(&png);
    println!("status page screenshot: {}", path.display());
    drop(browser);
    cluster.stop().await.expect("clean stop");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_page_says_so_when_the_front_end_is_unreachable() {
    let _one = crate::ONE_CLUSTER.lock().await;
    // One replica, quorum 1: the cheapest cluster with a front end.
    let config = local_config(
        &components::dir(),
        &[IMPLEMENTATIONS[0]],
        1,
        TransportMode::Multicast,
        TODAY,
    )
    .expect("test configuration");
    let cluster = LocalCluster::start(config).await.expect("cluster starts");
    let browser = Browser::start().await.expect("headless Chromium starts");
    browser
        .goto(&format!("{}/status", cluster.url(0)))
        .await
        .expect("open the status page");
    let page = wait_ready(&browser, 1).await;
    assert!(
        page["error"].is_object(),
        "the page has no #error element: {page:#}"
    );
    assert_eq!(
        page["error"]["visible"],
        json!(false),
        "an error shown while the front end answers: {page:#}"
    );

    cluster.stop().await.expect("clean stop");
    let page = browser
        .wait_for(
            "#error shown once the front end is gone",
            Duration::from_secs(15),
            async |b| {
                let page = snapshot(b).await?;
                if page["error"]["visible"] == true
                    && page["error"]["text"]
                        .as_str()
                        .is_some_and(|t| !t.is_empty())
                {
                    Ok(Some(page))
                } else {
                    anyhow::bail!("page shows {page}")
                }
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    println!("the page says: {}", page["error"]["text"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_page_shows_a_dropping_link_while_chaos_lasts() {
    let _one = crate::ONE_CLUSTER.lock().await;
    let config = dmtbs_cluster::local::test_config(
        &components::dir(),
        IMPLEMENTATIONS,
        TransportMode::Multicast,
        TODAY,
    )
    .expect("test configuration");
    let cluster = LocalCluster::start(config).await.expect("cluster starts");
    let client = Client::builder(cluster.url(0))
        .admin_key(cluster.config.cluster.admin_key.clone())
        .timeout(Duration::from_secs(20))
        .build()
        .expect("http client");
    let browser = Browser::start().await.expect("headless Chromium starts");
    browser
        .goto(&format!("{}/status", cluster.url(0)))
        .await
        .expect("open the status page");
    let page = wait_ready(&browser, 4).await;
    let chaos = |page: &Value| page["chaos"].as_array().cloned().unwrap_or_default();
    let quiet = |page: &Value| {
        let links = chaos(page);
        links.len() == 1
            && links[0]["from"].is_null()
            && links[0]["text"] == "none: no link drops anything"
    };
    assert!(quiet(&page), "no chaos yet: {page:#}");

    client
        .chaos_drop("sequencer", "rm2", 30)
        .await
        .expect("rm2 drops 30 % of the sequencer's datagrams");
    let page = browser
        .wait_for(
            "the dropping link sequencer → rm2 shown",
            Duration::from_secs(15),
            async |b| {
                let page = snapshot(b).await?;
                let links = chaos(&page);
                let shown = links.len() == 1
                    && links[0]["from"] == "sequencer"
                    && links[0]["to"] == "rm2"
                    && links[0]["text"]
                        .as_str()
                        .is_some_and(|t| t.contains("rm2 drops 30 % of what sequencer sends it"));
                if shown {
                    Ok(Some(page))
                } else {
                    anyhow::bail!("page shows {page}")
                }
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    println!("chaos: {}", page["chaos"]);

    client.chaos_heal().await.expect("heal every link");
    browser
        .wait_for(
            "the chaos list empty again after healing",
            Duration::from_secs(15),
            async |b| {
                let page = snapshot(b).await?;
                if quiet(&page) {
                    Ok(Some(()))
                } else {
                    anyhow::bail!("page shows {page}")
                }
            },
        )
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    drop(browser);
    cluster.stop().await.expect("clean stop");
}
