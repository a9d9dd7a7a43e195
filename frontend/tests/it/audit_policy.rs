//! The audit log cannot be silently lost or bypassed: when a line cannot be written, changes are
//! refused (503 `audit-unavailable`) until one can, reads go on, and the failures are counted;
//! operator and chaos actions are audited with their actor; the file is owner-only.

use std::io::Write;
use std::os::unix::fs::PermissionsExt as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::http::{Method, StatusCode};
use dmtbs_contract::{Booked, Success};
use dmtbs_frontend::{AuditLog, AuditRecord, router};
use serde_json::json;

use crate::support::{Buffer, FixedCluster, KEY, send};

/// An audit destination that fails (as a full disk does) while `broken` is set.
#[derive(Clone)]
struct Flaky {
    broken: Arc<AtomicBool>,
    lines: Buffer,
}

impl Write for Flaky {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.broken.load(Ordering::Relaxed) {
            return Err(std::io::Error::from_raw_os_error(libc_enospc()));
        }
        self.lines.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// ENOSPC ("No space left on device") on Linux.
fn libc_enospc() -> i32 {
    28
}

fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in\n{text}"))
}

#[tokio::test]
async fn a_failing_audit_log_refuses_changes_until_a_line_is_written_again() {
    let cluster = FixedCluster::new(Ok(Success::Booked(Booked {
        held: 1,
        remaining: 9,
    })));
    let flaky = Flaky {
        broken: Arc::new(AtomicBool::new(false)),
        lines: Buffer::default(),
    };
    let app = router(
        cluster.clone(),
        crate::support::auth(),
        AuditLog::to_writer(flaky.clone()),
    );
    let user = ("X-DMTBS-User", "ATWC0001");
    let body = r#"{"movie": "Avatar", "showId": "ATWM251126", "tickets": 1}"#;
    let headers = [user];
    let book = || {
        send(
            &app,
            Method::POST,
            "/v1/customers/ATWC0001/bookings",
            &headers,
            Some(body),
        )
    };
    assert_eq!(book().await.status, StatusCode::OK);
    assert_eq!(cluster.calls(), 1);

    // The disk fills up: this booking is executed and answered, but its line is lost.
    flaky.broken.store(true, Ordering::Relaxed);
    assert_eq!(book().await.status, StatusCode::OK);
    assert_eq!(cluster.calls(), 2);
    // From now on no change is executed unaudited.
    let refused = book().await;
    assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(refused.code(), "audit-unavailable", "{:?}", refused.body);
    assert_eq!(cluster.calls(), 2, "a change was executed unaudited");
    // Reads change nothing: still answered.
    let read = send(
        &app,
        Method::GET,
        "/v1/customers/ATWC0001/bookings",
        &[user],
        None,
    )
    .await;
    assert_ne!(read.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(cluster.calls(), 3);
    let metrics = send(&app, Method::GET, "/metrics", &[], None).await;
    let text = metrics.body.as_str().expect("metrics text").to_owned();
    assert_eq!(metric(&text, "dmtbs_fe_audit_write_failures_total"), 3.0);
    assert_eq!(metric(&text, "dmtbs_fe_audit_failing"), 1.0);

    // Space again: the next refusal's own line is written, which lifts the refusal.
    flaky.broken.store(false, Ordering::Relaxed);
    assert_eq!(book().await.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(book().await.status, StatusCode::OK);
    assert_eq!(cluster.calls(), 4);
    let metrics = send(&app, Method::GET, "/metrics", &[], None).await;
    let text = metrics.body.as_str().expect("metrics text").to_owned();
    assert_eq!(metric(&text, "dmtbs_fe_audit_failing"), 0.0);
    let outcomes: Vec<String> = flaky
        .lines
        .lines()
        .iter()
        .map(|l| l["outcome"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(outcomes, ["booked", "audit-unavailable", "booked"]);
}

#[tokio::test]
async fn operator_and_chaos_actions_are_audited_with_their_actor() {
    let cluster = FixedCluster::new(Ok(Success::Booked(Booked {
        held: 1,
        remaining: 9,
    })));
    let buffer = Buffer::default();
    let app = router(
        cluster,
        crate::support::auth(),
        AuditLog::to_writer(buffer.clone()),
    );
    let bearer = format!("Bearer {KEY}");
    let auth = ("Authorization", bearer.as_str());
    // A swap by an operator who names themself, a heal by one who does not, an attempt without
    // the key, and a read (not audited). No RMs are behind this front end: each answers 503, and
    // is audited all the same.
    send(
        &app,
        Method::POST,
        "/v1/admin/replicas/2/swap",
        &[auth, ("X-DMTBS-User", "ATWA0001")],
        Some(r#"{"module": "replica-b"}"#),
    )
    .await;
    send(&app, Method::POST, "/v1/admin/chaos/heal", &[auth], None).await;
    let denied = send(
        &app,
        Method::POST,
        "/v1/admin/chaos/drop",
        &[],
        Some(r#"{"from": "sequencer", "to": "rm3", "percent": 100}"#),
    )
    .await;
    assert_eq!(denied.status, StatusCode::UNAUTHORIZED);
    send(&app, Method::GET, "/v1/admin/replicas", &[auth], None).await;

    let lines = buffer.lines();
    assert_eq!(lines.len(), 3, "{lines:#?}");
    for line in &lines {
        serde_json::from_value::<AuditRecord>(line.clone()).expect("a well-typed record");
    }
    assert_eq!(lines[0]["operation"], "operator:swap");
    assert_eq!(lines[0]["actor"], "ATWA0001");
    assert_eq!(
        lines[0]["parameters"]["body"],
        json!({"module": "replica-b"})
    );
    assert_eq!(lines[0]["parameters"]["path"], "/v1/admin/replicas/2/swap");
    assert_eq!(lines[0]["status"], 503);
    assert_eq!(lines[1]["operation"], "operator:chaos-heal");
    assert_eq!(lines[1]["actor"], "operator");
    assert_eq!(lines[2]["operation"], "operator:chaos-drop");
    assert_eq!(lines[2]["actor"], json!(null), "no key, no actor");
    assert_eq!(lines[2]["outcome"], "unauthenticated");
    assert_eq!(lines[2]["status"], 401);
    assert_eq!(lines[2]["parameters"]["body"]["to"], "rm3");
}

#[test]
fn the_audit_file_is_owner_only_even_when_it_existed_before() {
    let dir = std::env::temp_dir().join(format!("dmtbs-audit-mode-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fresh = dir.join("fresh.jsonl");
    let old = dir.join("old.jsonl");
    let _ = std::fs::remove_file(&fresh);
    std::fs::write(&old, b"").unwrap();
    std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).unwrap();
    for path in [&fresh, &old] {
        AuditLog::to_file(path).unwrap();
        let mode = std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", path.display());
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn no_token_is_issued_unaudited_but_revocations_go_on() {
    let cluster = FixedCluster::new(Ok(Success::Schedule(vec![])));
    let flaky = Flaky {
        broken: Arc::new(AtomicBool::new(false)),
        lines: Buffer::default(),
    };
    let app = router(
        cluster,
        crate::support::auth(),
        AuditLog::to_writer(flaky.clone()),
    );
    let bearer = format!("Bearer {KEY}");
    let auth = [("Authorization", bearer.as_str())];
    let issue = || {
        crate::support::send_raw(
            &app,
            Method::POST,
            "/v1/tokens",
            &auth,
            Some(r#"{"user": "ATWC0001"}"#),
        )
    };
    assert_eq!(issue().await.status, StatusCode::CREATED);
    // The disk fills up: the next line is lost, and from then on no token is handed out.
    flaky.broken.store(true, Ordering::Relaxed);
    assert_eq!(issue().await.status, StatusCode::CREATED);
    let refused = issue().await;
    assert_eq!(
        (refused.status, refused.code()),
        (StatusCode::SERVICE_UNAVAILABLE, "audit-unavailable")
    );
    assert!(refused.body.get("token").is_none());
    let revoked = crate::support::send_raw(
        &app,
        Method::POST,
        "/v1/tokens/revocations",
        &auth,
        Some(r#"{"user": "ATWC0001"}"#),
    )
    .await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.body);
}
