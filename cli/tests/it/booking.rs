//! The booking and operator commands against a local cluster: every command end to end, its
//! exit code (0 done, 1 refused by the rules, 2 error), its `--json` object, its sentence or
//! table, and the per-user client log.

use std::path::Path;
use std::process::Command;

use dmtbs_cluster::config::TransportMode;
use dmtbs_testkit::components::IMPLEMENTATIONS;
use serde_json::Value;

use crate::support::{Dmtbs, start};

/// The lines of a user's client log.
fn log_lines(dir: &Path, user: &str) -> Vec<Value> {
    let path = dir.join(format!("{user}.jsonl"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("client log {}: {e}", path.display()));
    text.lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

fn agreed_by_two_or_more(answer: &Value) {
    let agreed = answer["agreed"].as_array().expect("agreed");
    assert!(agreed.len() >= 2, "{answer:#}");
    assert!(answer["seq"].as_u64().is_some(), "{answer:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_booking_command_answers_prints_logs_and_exits_by_its_outcome() {
    let (cluster, logs) = start(TransportMode::Unicast).await;
    let dmtbs = Dmtbs::new(&cluster, logs.path());

    // add-show: any letter case in, canonical values out; a new show, then an update.
    let added = dmtbs
        .admin(&[
            "add-show",
            "--as",
            "atwa0001",
            "--movie",
            "AVATAR",
            "--show",
            "atwm251126",
            "--capacity",
            "3",
            "--json",
        ])
        .await
        .expect_code(0)
        .json();
    assert_eq!(added["status"], "ok", "{added:#}");
    assert_eq!(added["outcome"], "show-added");
    assert_eq!(added["user"], "ATWA0001");
    assert_eq!(added["parameters"]["movie"], "Avatar");
    assert_eq!(added["parameters"]["showId"], "ATWM251126");
    agreed_by_two_or_more(&added);
    let updated = dmtbs
        .admin(&[
            "add-show",
            "--as",
            "ATWA0001",
            "--movie",
            "Avatar",
            "--show",
            "ATWM251126",
            "--capacity",
            "4",
        ])
        .await
        .expect_code(0);
    assert!(
        updated
            .stdout
            .contains("Set the capacity of Avatar ATWM251126 to 4 seats, was 3"),
        "{}",
        updated.stdout
    );
    dmtbs
        .admin(&[
            "add-show",
            "--as",
            "ATWA0001",
            "--movie",
            "Avatar",
            "--show",
            "ATWE251126",
            "--capacity",
            "10",
        ])
        .await
        .expect_code(0);

    // A caller without a token: an error (2), not a refusal by the rules, with a hint.
    let no_key = dmtbs
        .anonymous(&[
            "add-show",
            "--as",
            "ATWA0001",
            "--movie",
            "Avatar",
            "--show",
            "ATWA251126",
            "--capacity",
            "5",
        ])
        .await
        .expect_code(2);
    assert!(
        no_key.stderr.contains("unauthenticated") && no_key.stderr.contains("$DMTBS_TOKEN"),
        "{}",
        no_key.stderr
    );

    // availability: a table, and the same as JSON.
    let table = dmtbs
        .user(&["availability", "--as", "ATWC0001", "--movie", "avatar"])
        .await
        .expect_code(0);
    assert!(table.stdout.contains("SEATS LEFT"), "{}", table.stdout);
    let shows = dmtbs
        .user(&[
            "availability",
            "--as",
            "ATWC0001",
            "--movie",
            "avatar",
            "--json",
        ])
        .await
        .expect_code(0)
        .json();
    assert_eq!(shows["outcome"], "availability");
    assert_eq!(
        shows["result"]["shows"],
        serde_json::json!([
            { "showId": "ATWM251126", "remaining": 4 },
            { "showId": "ATWE251126", "remaining": 10 },
        ])
    );

    // book: a sentence naming the seats left.
    let booked = dmtbs
        .user(&[
            "book",
            "--as",
            "atwc0001",
            "--movie",
            "avatar",
            "--show",
            "atwm251126",
            "--tickets",
            "2",
        ])
        .await
        .expect_code(0);
    assert!(
        booked
            .stdout
            .starts_with("Booked 2 tickets for Avatar ATWM251126 (seq "),
        "{}",
        booked.stdout
    );
    assert!(booked.stdout.contains("2 left."), "{}", booked.stdout);

    // Refused by the rules: exit 1, the rule's code in plain words on stderr and in the JSON.
    let full = dmtbs
        .user(&[
            "book",
            "--as",
            "OUTC0001",
            "--movie",
            "Avatar",
            "--show",
            "ATWM251126",
            "--tickets",
            "5",
            "--json",
        ])
        .await
        .expect_code(1);
    let refusal = full.json();
    assert_eq!(refusal["status"], "refused");
    assert_eq!(refusal["code"], "show-full");
    assert_eq!(refusal["details"]["remaining"], 2);
    agreed_by_two_or_more(&refusal);
    assert!(
        full.stderr.starts_with("refused: show-full")
            && full.stderr.contains("rule code show-full"),
        "{}",
        full.stderr
    );

    // A malformed value is a rule's refusal too (1), decided by the front end before sequencing.
    let malformed = dmtbs
        .user(&[
            "book",
            "--as",
            "ATWC0001",
            "--movie",
            "Avatar",
            "--show",
            "ATWX251126",
            "--tickets",
            "1",
        ])
        .await
        .expect_code(1);
    assert!(
        malformed.stderr.contains("rule code invalid-show-id"),
        "{}",
        malformed.stderr
    );

    // An admin books for a customer of another area.
    let for_customer = dmtbs
        .admin(&[
            "book",
            "--as",
            "ATWA0001",
            "--for",
            "verc0002",
            "--movie",
            "Avatar",
            "--show",
            "ATWM251126",
            "--tickets",
            "1",
            "--json",
        ])
        .await
        .expect_code(0)
        .json();
    assert_eq!(for_customer["parameters"]["customer"], "VERC0002");
    assert_eq!(for_customer["result"]["remaining"], 1);

    // schedule: the customer's bookings.
    let schedule = dmtbs
        .user(&["schedule", "--as", "ATWC0001", "--json"])
        .await
        .expect_code(0)
        .json();
    assert_eq!(
        schedule["result"]["bookings"],
        serde_json::json!([{ "movie": "Avatar", "showId": "ATWM251126", "tickets": 2 }])
    );

    // exchange one ticket to the evening show of the same movie.
    let exchanged = dmtbs
        .user(&[
            "exchange",
            "--as",
            "ATWC0001",
            "--movie",
            "Avatar",
            "--show",
            "ATWM251126",
            "--new-show",
            "ATWE251126",
            "--tickets",
            "1",
            "--json",
        ])
        .await
        .expect_code(0)
        .json();
    assert_eq!(exchanged["outcome"], "exchanged");
    assert_eq!(exchanged["result"]["oldHeld"], 1);
    assert_eq!(exchanged["result"]["newHeld"], 1);

    // cancel it, then once more: not booked any more (1).
    let cancelled = dmtbs
        .user(&[
            "cancel",
            "--as",
            "ATWC0001",
            "--movie",
            "Avatar",
            "--show",
            "ATWE251126",
            "--tickets",
            "1",
        ])
        .await
        .expect_code(0);
    assert!(
        cancelled.stdout.contains("0 tickets still held"),
        "{}",
        cancelled.stdout
    );
    let again = dmtbs
        .user(&[
            "cancel",
            "--as",
            "ATWC0001",
            "--movie",
            "Avatar",
            "--show",
            "ATWE251126",
            "--tickets",
            "1",
        ])
        .await
        .expect_code(1);
    assert!(
        again.stderr.contains("rule code not-booked"),
        "{}",
        again.stderr
    );

    // remove-show: both bookings move to the evening show (customers in ascending order).
    let removed = dmtbs
        .admin(&[
            "remove-show",
            "--as",
            "ATWA0001",
            "--movie",
            "Avatar",
            "--show",
            "ATWM251126",
            "--json",
        ])
        .await
        .expect_code(0)
        .json();
    assert_eq!(
        removed["result"]["moved"],
        serde_json::json!([
            { "customer": "ATWC0001", "toShowId": "ATWE251126", "tickets": 1 },
            { "customer": "VERC0002", "toShowId": "ATWE251126", "tickets": 1 },
        ])
    );
    assert_eq!(removed["result"]["dropped"], serde_json::json!([]));

    // Bad flags are clap's usage error (2), before anything is sent or logged.
    dmtbs
        .user(&["book", "--as", "ATWC0001", "--movie", "Avatar"])
        .await
        .expect_code(2);

    // The client logs: one line per command run, per user, with the request and the answer.
    let customer = log_lines(logs.path(), "ATWC0001");
    let commands: Vec<&str> = customer
        .iter()
        .map(|l| l["command"].as_str().expect("command"))
        .collect();
    assert_eq!(
        commands,
        [
            "availability",
            "availability",
            "book",
            "book",
            "schedule",
            "exchange",
            "cancel",
            "cancel"
        ]
    );
    let first_booking = &customer[2];
    assert_eq!(first_booking["user"], "ATWC0001");
    assert_eq!(first_booking["status"], "ok");
    assert_eq!(first_booking["outcome"], "booked");
    assert_eq!(first_booking["parameters"]["tickets"], 2);
    assert_eq!(first_booking["url"], dmtbs.url.as_str());
    assert!(
        first_booking["time"]
            .as_str()
            .is_some_and(|t| t.starts_with("20"))
    );
    assert!(first_booking["seq"].as_u64().is_some());
    assert_eq!(customer[3]["status"], "refused", "the malformed show ID");
    assert_eq!(customer[7]["code"], "not-booked");
    assert_eq!(log_lines(logs.path(), "OUTC0001")[0]["code"], "show-full");
    assert_eq!(log_lines(logs.path(), "ATWA0001").len(), 6);

    cluster.stop().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_commands_show_swap_and_clear() {
    let (cluster, logs) = start(TransportMode::Unicast).await;
    let dmtbs = Dmtbs::new(&cluster, logs.path());

    // status: four replicas, as a table and as JSON.
    let table = dmtbs.admin(&["status"]).await.expect_code(0);
    for name in IMPLEMENTATIONS {
        assert!(table.stdout.contains(name), "{}", table.stdout);
    }
    assert!(
        table.stdout.contains("STABLE CHECKPOINT"),
        "{}",
        table.stdout
    );
    let status = dmtbs
        .admin(&["status", "--json"])
        .await
        .expect_code(0)
        .json();
    let replicas = status["replicas"].as_array().expect("replicas");
    let rms: Vec<u64> = replicas.iter().map(|r| r["rm"].as_u64().unwrap()).collect();
    assert_eq!(rms, [1, 2, 3, 4], "{status:#}");
    // The one envelope of every --json: `status` beside the answer.
    assert_eq!(status["status"], "ok", "{status:#}");

    // Without the key: an error (2).
    let refused = dmtbs.user(&["status"]).await.expect_code(2);
    assert!(
        refused.stderr.contains("unauthenticated"),
        "{}",
        refused.stderr
    );

    // swap: RM 1 runs replica-a, so a second RM on it is refused (2) unless forced; an unknown
    // module is refused (2).
    let duplicate = dmtbs
        .admin(&["swap", "--rm", "2", "--module", "replica-a"])
        .await
        .expect_code(2);
    assert!(
        duplicate.stderr.contains("swap-refused")
            && duplicate
                .stderr
                .contains("another replica manager already runs replica-a"),
        "{}",
        duplicate.stderr
    );
    let swapped = dmtbs
        .admin(&[
            "swap",
            "--rm",
            "2",
            "--module",
            "replica-a",
            "--force",
            "--no-canary",
            "--json",
        ])
        .await
        .expect_code(0)
        .json();
    assert_eq!(swapped["replica"]["rm"], 2, "{swapped:#}");
    assert_eq!(swapped["replica"]["module"], "replica-a", "{swapped:#}");
    assert_eq!(swapped["replica"]["health"], "serving", "{swapped:#}");
    let again = dmtbs
        .admin(&[
            "swap",
            "--rm",
            "3",
            "--module",
            "replica-b",
            "--wait",
            "0",
            "--no-canary",
        ])
        .await
        .expect_code(0);
    assert!(again.stdout.starts_with("RM 3 "), "{}", again.stdout);
    // By default a swap is a canary first: with no traffic to compare it does not go ahead
    // (an error, 2), and the module is not quarantined for it.
    let idle = dmtbs
        .admin(&[
            "swap",
            "--rm",
            "4",
            "--module",
            "replica-c",
            "--force",
            "--canary-seconds",
            "1",
        ])
        .await
        .expect_code(2);
    assert!(
        idle.stderr
            .contains("the canary swap on RM 4 did not go ahead")
            && idle.stderr.contains("no request reached it"),
        "{}",
        idle.stderr
    );
    let unknown = dmtbs
        .admin(&["swap", "--rm", "2", "--module", "no-such-module"])
        .await
        .expect_code(2);
    assert!(
        unknown.stderr.contains("swap-refused"),
        "{}",
        unknown.stderr
    );

    // quarantine: nothing quarantined; clearing an unknown module is an error (2).
    let list = dmtbs
        .admin(&["quarantine", "list", "--json"])
        .await
        .expect_code(0)
        .json();
    assert_eq!(list["quarantine"], serde_json::json!([]), "{list:#}");
    let text = dmtbs.admin(&["quarantine", "list"]).await.expect_code(0);
    assert!(
        text.stdout.contains("No module is quarantined"),
        "{}",
        text.stdout
    );
    dmtbs
        .admin(&["quarantine", "clear", "faulty-logic"])
        .await
        .expect_code(2);
    dmtbs.admin(&["quarantine", "clear"]).await.expect_code(0);

    cluster.stop().await.expect("clean shutdown");
}

#[test]
fn an_unreachable_front_end_is_an_error_in_words_and_json_and_still_logged() {
    let logs = tempfile::tempdir().expect("temporary folder");
    let output = Command::new(env!("CARGO_BIN_EXE_dmtbs"))
        .args(["schedule", "--as", "verc0007", "--json"])
        // Port 9 (discard) on loopback: nobody listens in a test environment.
        .args(["--url", "http://127.0.0.1:9"])
        .env("DMTBS_LOG_DIR", logs.path())
        .output()
        .expect("dmtbs runs");
    assert_eq!(output.status.code(), Some(2));
    let answer: Value = serde_json::from_slice(&output.stdout).expect("one JSON object");
    assert_eq!(answer["status"], "error");
    assert_eq!(answer["code"], "connect");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("error: no answer from the front end at http://127.0.0.1:9"),
        "{stderr}"
    );
    assert_eq!(log_lines(logs.path(), "VERC0007")[0]["code"], "connect");
}

#[test]
fn a_log_that_cannot_be_written_is_a_warning_not_an_error() {
    let logs = tempfile::tempdir().expect("temporary folder");
    // A file where the log folder should be.
    let blocked = logs.path().join("not-a-folder");
    std::fs::write(&blocked, "").expect("file");
    let output = Command::new(env!("CARGO_BIN_EXE_dmtbs"))
        .args([
            "schedule",
            "--as",
            "ATWC0001",
            "--url",
            "http://127.0.0.1:9",
        ])
        .arg("--log-dir")
        .arg(&blocked)
        .output()
        .expect("dmtbs runs");
    // The command's own outcome (no answer: 2) is unchanged; the log failure is a warning.
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("warning: could not write the client log"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_repeated_with_its_idempotency_key_is_executed_once() {
    let (cluster, logs) = start(TransportMode::Unicast).await;
    let dmtbs = Dmtbs::new(&cluster, logs.path());
    let added = dmtbs
        .admin(&[
            "add-show",
            "--as",
            "ATWA0001",
            "--movie",
            "Avatar",
            "--show",
            "ATWM251126",
            "--capacity",
            "10",
            "--json",
        ])
        .await
        .expect_code(0)
        .json();
    // Without --idempotency-key: a fresh random key (a UUID), printed and logged.
    let key = added["idempotencyKey"].as_str().expect("a key");
    assert_eq!(key.len(), 36, "{added:#}");
    assert_eq!(added["replayed"], Value::Null);
    let book = |key: &'static str, tickets: &'static str| {
        [
            "book",
            "--as",
            "ATWC0001",
            "--movie",
            "Avatar",
            "--show",
            "ATWM251126",
            "--tickets",
            tickets,
            "--idempotency-key",
            key,
            "--json",
        ]
    };
    let first = dmtbs
        .user(&book("order-1", "2"))
        .await
        .expect_code(0)
        .json();
    assert_eq!(first["idempotencyKey"], "order-1");
    assert_eq!(first["replayed"], Value::Null);
    assert_eq!(first["result"]["remaining"], 8);
    // The same command with the same key: answered as the first time, not executed again.
    let again = dmtbs
        .user(&book("order-1", "2"))
        .await
        .expect_code(0)
        .json();
    assert_eq!(again["result"], first["result"], "{again:#}");
    assert_eq!(again["replayed"], first["seq"], "{again:#}");
    assert_ne!(again["seq"], first["seq"]);
    let text = dmtbs.user(&book("order-1", "2")[..11]).await.expect_code(0);
    assert!(
        text.stdout
            .contains(&format!("replayed from seq {}", first["seq"])),
        "{}",
        text.stdout
    );
    let schedule = dmtbs
        .user(&["schedule", "--as", "ATWC0001", "--json"])
        .await
        .expect_code(0)
        .json();
    assert_eq!(
        schedule["result"]["bookings"][0]["tickets"], 2,
        "booked once"
    );
    assert_eq!(schedule["idempotencyKey"], Value::Null, "reads send no key");
    // The key used again for another request: an error (2), nothing executed.
    let reused = dmtbs.user(&book("order-1", "3")).await.expect_code(2);
    let refusal = reused.json();
    assert_eq!(refusal["code"], "idempotency-key-reused", "{refusal:#}");
    assert_eq!(refusal["replayed"], first["seq"]);
    // A malformed key is refused by the front end (2).
    let bad = dmtbs.user(&book("two words", "1")).await.expect_code(2);
    assert_eq!(bad.json()["code"], "bad-request");
    let log = log_lines(logs.path(), "ATWC0001");
    assert_eq!(log[0]["idempotencyKey"], "order-1");
    assert_eq!(log[1]["replayed"], first["seq"]);
    cluster.stop().await.expect("clean shutdown");
}

#[test]
fn a_booking_without_answer_names_its_key_to_repeat_it_safely() {
    let logs = tempfile::tempdir().expect("temporary folder");
    let output = Command::new(env!("CARGO_BIN_EXE_dmtbs"))
        .args([
            "cancel",
            "--as",
            "ATWC0001",
            "--movie",
            "Avatar",
            "--show",
            "ATWM251126",
            "--tickets",
            "1",
            "--json",
        ])
        .args(["--url", "http://127.0.0.1:9"])
        .env("DMTBS_LOG_DIR", logs.path())
        .output()
        .expect("dmtbs runs");
    assert_eq!(output.status.code(), Some(2));
    let answer: Value = serde_json::from_slice(&output.stdout).expect("one JSON object");
    assert_eq!(answer["code"], "connect");
    let key = answer["idempotencyKey"].as_str().expect("a key");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("--idempotency-key {key}")),
        "{stderr}"
    );
    assert_eq!(log_lines(logs.path(), "ATWC0001")[0]["idempotencyKey"], key);
}

/// `--as` may come from `$DMTBS_USER`: the usage line does not demand the flag, and without
/// either the command says what is missing.
#[test]
fn the_caller_comes_from_the_flag_or_the_environment_and_usage_says_so() {
    let help = Command::new(env!("CARGO_BIN_EXE_dmtbs"))
        .args(["book", "--help"])
        .output()
        .expect("dmtbs runs");
    let help = String::from_utf8_lossy(&help.stdout);
    let usage = help
        .lines()
        .find(|l| l.starts_with("Usage:"))
        .expect("usage");
    assert!(!usage.contains("--as"), "{usage}");
    assert!(help.contains("[env: DMTBS_USER"), "{help}");
    let missing = Command::new(env!("CARGO_BIN_EXE_dmtbs"))
        .args([
            "book",
            "--movie",
            "avatar",
            "--show",
            "ATWM251126",
            "--tickets",
            "1",
        ])
        .env_remove("DMTBS_USER")
        .output()
        .expect("dmtbs runs");
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&missing.stderr)
            .contains("who is acting? Give --as USER (e.g. --as ATWC0001) or set $DMTBS_USER"),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );
}
