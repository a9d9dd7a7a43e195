//! `dmtbs chaos` against a local cluster: drop, links and heal with their visible effect, bad
//! node names and percentages refused (exit 2), and a faulty module loaded on purpose that the
//! cluster detects, quarantines and replaces.

use std::time::Duration;

use dmtbs_cluster::config::TransportMode;
use dmtbs_cluster::local::LocalCluster;
use serde_json::Value;

use crate::support::{self, Dmtbs, Run};

/// A cluster, the folder where `dmtbs` keeps the users' client logs, and the runner.
struct Cluster {
    local: LocalCluster,
    cli: Dmtbs,
    _logs: tempfile::TempDir,
}

async fn start() -> Cluster {
    let (local, logs) = support::start(TransportMode::Multicast).await;
    let cli = Dmtbs::new(&local, logs.path());
    Cluster {
        local,
        cli,
        _logs: logs,
    }
}

/// Runs `dmtbs args…` against the cluster's front end, with the admin key if `key`.
async fn dmtbs(cluster: &Cluster, args: &[&str], key: bool) -> Run {
    cluster.cli.run(args, key).await
}

/// The link `from` → `to` in a `--json` answer of a chaos command.
fn link<'a>(answer: &'a Value, from: &str, to: &str) -> &'a Value {
    answer["links"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|l| l["from"] == from && l["to"] == to)
        .unwrap_or_else(|| panic!("no link {from} → {to}: {answer:#}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_drop_and_heal_work_visibly_and_bad_requests_exit_2() {
    let cluster = start().await;
    let set = dmtbs(
        &cluster,
        &["chaos", "drop", "sequencer", "RM2", "100", "--json"],
        true,
    )
    .await
    .expect_code(0)
    .json();
    assert_eq!(link(&set, "sequencer", "rm2")["percent"], 100, "{set:#}");
    let said = dmtbs(&cluster, &["chaos", "drop", "rm4", "fe1", "30"], true)
        .await
        .expect_code(0);
    assert!(
        said.stdout
            .contains("fe1 now drops 30 % of what it receives from rm4"),
        "{}",
        said.show()
    );

    // Requests meanwhile: answered, and RM 2's filter drops what the sequencer sends it.
    dmtbs(
        &cluster,
        &[
            "add-show",
            "--as",
            "ATWA0001",
            "--movie",
            "Avatar",
            "--show",
            "ATWM251126",
            "--capacity",
            "9",
        ],
        true,
    )
    .await
    .expect_code(0);
    for customer in ["ATWC0001", "ATWC0002"] {
        dmtbs(
            &cluster,
            &[
                "book",
                "--as",
                customer,
                "--movie",
                "Avatar",
                "--show",
                "ATWM251126",
                "--tickets",
                "1",
            ],
            false,
        )
        .await
        .expect_code(0);
    }
    let links = dmtbs(&cluster, &["chaos", "links", "--json"], true)
        .await
        .expect_code(0)
        .json();
    let dropped = link(&links, "sequencer", "rm2")["dropped"]
        .as_u64()
        .unwrap();
    assert!(dropped >= 3, "three requests were sequenced: {links:#}");
    let table = dmtbs(&cluster, &["chaos", "links"], true)
        .await
        .expect_code(0);
    assert!(table.stdout.contains("sequencer"), "{}", table.show());

    // Heal: every link stops dropping; what was dropped stays counted.
    let healed = dmtbs(&cluster, &["chaos", "heal"], true)
        .await
        .expect_code(0);
    assert!(
        healed.stdout.contains("Healed every link"),
        "{}",
        healed.show()
    );
    let links = dmtbs(&cluster, &["chaos", "links", "--json"], true)
        .await
        .expect_code(0)
        .json();
    assert_eq!(link(&links, "sequencer", "rm2")["percent"], 0, "{links:#}");
    assert_eq!(link(&links, "rm4", "fe1")["percent"], 0, "{links:#}");
    assert!(
        link(&links, "sequencer", "rm2")["dropped"]
            .as_u64()
            .unwrap()
            >= dropped
    );

    // Bad requests: exit 2, a clear message, nothing changed.
    for (args, says) in [
        (
            vec!["chaos", "drop", "router", "rm2", "10"],
            "\"router\" is not a node name",
        ),
        (
            vec!["chaos", "drop", "sequencer", "rm9", "10"],
            "there is no node rm9 in this cluster",
        ),
        (
            vec!["chaos", "drop", "sequencer", "rm2", "101"],
            "percent must be 0..=100",
        ),
        (
            vec!["chaos", "drop", "rm1", "rm1", "10"],
            "does not send to itself",
        ),
        (
            vec!["chaos", "module", "2", "faulty-nope"],
            "faulty-logic, faulty-random",
        ),
    ] {
        let run = dmtbs(&cluster, &args, true).await.expect_code(2);
        assert!(run.stderr.contains(says), "{args:?}: {}", run.show());
    }
    let no_key = dmtbs(&cluster, &["chaos", "heal"], false)
        .await
        .expect_code(2);
    assert!(no_key.stderr.contains("--admin-key"), "{}", no_key.show());
    let links = dmtbs(&cluster, &["chaos", "links", "--json"], true)
        .await
        .expect_code(0)
        .json();
    let active: Vec<&Value> = links["links"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["percent"] != 0)
        .collect();
    assert!(active.is_empty(), "{links:#}");
    cluster.local.stop().await.expect("clean stop");
}

/// RM `rm`'s status in `dmtbs status --json`, polled until `done` holds (bounded).
async fn wait_for(cluster: &Cluster, rm: u64, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..150 {
        let status = dmtbs(cluster, &["status", "--json"], true).await.json();
        if let Some(r) = status["replicas"]
            .as_array()
            .and_then(|l| l.iter().find(|r| r["rm"] == rm))
        {
            last = r.clone();
            if done(&last) {
                return last;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("rm {rm}: {what} did not happen; last status {last:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_faulty_module_loaded_by_chaos_is_caught_and_replaced() {
    let cluster = start().await;
    let loaded = dmtbs(&cluster, &["chaos", "module", "rm2", "faulty-logic"], true)
        .await
        .expect_code(0);
    assert!(
        loaded.stdout.contains("three wrong results in a row")
            && loaded
                .stdout
                .contains("dmtbs quarantine clear faulty-logic"),
        "{}",
        loaded.show()
    );
    let good = wait_for(&cluster, 2, "RM 2 serving with faulty-logic", |r| {
        r["module"] == "faulty-logic" && r["health"] == "serving"
    })
    .await;

    // Four other-area shows; three customers each hold three other-area bookings this week.
    for (admin, movie, show) in [
        ("VERA0001", "Avatar", "VERM251126"),
        ("OUTA0001", "Avatar", "OUTA261126"),
        ("VERA0001", "Titanic", "VERE251126"),
        ("OUTA0001", "Titanic", "OUTM271126"),
    ] {
        dmtbs(
            &cluster,
            &[
                "add-show",
                "--as",
                admin,
                "--movie",
                movie,
                "--show",
                show,
                "--capacity",
                "50",
            ],
            true,
        )
        .await
        .expect_code(0);
    }
    let customers = ["ATWC0101", "ATWC0102", "ATWC0103"];
    for c in customers {
        for (movie, show) in [
            ("Avatar", "VERM251126"),
            ("Avatar", "OUTA261126"),
            ("Titanic", "VERE251126"),
        ] {
            dmtbs(
                &cluster,
                &[
                    "book",
                    "--as",
                    c,
                    "--movie",
                    movie,
                    "--show",
                    show,
                    "--tickets",
                    "1",
                ],
                false,
            )
            .await
            .expect_code(0);
        }
    }
    // A fourth each: refused by the rules (1) — the answer users see stays right, while RM 2's
    // buggy module accepts it: three wrong results in a row.
    for c in customers {
        let run = dmtbs(
            &cluster,
            &[
                "book",
                "--as",
                c,
                "--movie",
                "Titanic",
                "--show",
                "OUTM271126",
                "--tickets",
                "1",
            ],
            false,
        )
        .await
        .expect_code(1);
        assert!(run.stderr.contains("weekly-limit"), "{}", run.show());
    }
    let back = wait_for(&cluster, 2, "RM 2 back on a good module", |r| {
        r["module"] != "faulty-logic"
            && r["health"] == "serving"
            && r["swaps"].as_u64() > good["swaps"].as_u64()
    })
    .await;
    assert!(
        back["module"].as_str().unwrap().starts_with("replica-"),
        "{back:#}"
    );
    let quarantine = dmtbs(&cluster, &["quarantine", "list", "--json"], true)
        .await
        .expect_code(0)
        .json();
    assert_eq!(
        quarantine["quarantine"][0]["module"], "faulty-logic",
        "{quarantine:#}"
    );
    cluster.local.stop().await.expect("clean stop");
}
