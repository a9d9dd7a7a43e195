//! The audit log: one JSON line per answered request, with every field.

use axum::http::Method;
use dmtbs_contract::{Booked, BookingError, Success};
use dmtbs_frontend::{AuditLog, AuditRecord, ClusterError};
use serde_json::json;

use crate::support::{Buffer, app, send};

#[tokio::test]
async fn every_answered_request_is_one_json_line() {
    let (app, cluster, buffer) = app(Ok(Success::Booked(Booked {
        held: 2,
        remaining: 8,
    })));
    let user = ("X-DMTBS-User", "atwc0001");
    let body = r#"{"movie": "avatar", "showId": "atwm251126", "tickets": 2}"#;
    send(
        &app,
        Method::POST,
        "/v1/customers/atwc0001/bookings",
        &[user],
        Some(body),
    )
    .await;
    cluster.set(Err(BookingError::WeeklyLimit));
    send(
        &app,
        Method::POST,
        "/v1/customers/atwc0001/bookings",
        &[user],
        Some(body),
    )
    .await;
    let bad = r#"{"movie": "avatar", "showId": "atwm311126", "tickets": 2}"#;
    send(
        &app,
        Method::POST,
        "/v1/customers/atwc0001/bookings",
        &[user],
        Some(bad),
    )
    .await;
    cluster.answer(Err(ClusterError::NoAgreement { seq: 9 }));
    send(
        &app,
        Method::GET,
        "/v1/customers/atwc0001/bookings",
        &[user],
        None,
    )
    .await;
    // Not operations: not audited.
    send(&app, Method::GET, "/healthz", &[], None).await;

    let lines = buffer.lines();
    assert_eq!(lines.len(), 4);
    for line in &lines {
        for field in [
            "time",
            "actor",
            "operation",
            "parameters",
            "outcome",
            "status",
            "seq",
            "agreed",
        ] {
            assert!(line.get(field).is_some(), "{field} missing in {line}");
        }
        let time = line["time"].as_str().unwrap();
        chrono::DateTime::parse_from_rfc3339(time).expect("RFC 3339 time");
        // Each line is also a well-typed record.
        serde_json::from_value::<AuditRecord>(line.clone()).unwrap();
    }
    let canonical =
        json!({ "customer": "ATWC0001", "movie": "Avatar", "showId": "ATWM251126", "tickets": 2 });
    assert_eq!(lines[0]["actor"], "ATWC0001");
    assert_eq!(lines[0]["operation"], "book");
    assert_eq!(lines[0]["parameters"], canonical);
    assert_eq!(lines[0]["outcome"], "booked");
    assert_eq!(lines[0]["status"], 200);
    assert_eq!(lines[0]["seq"], 42);
    assert_eq!(lines[0]["agreed"], json!([1, 3]));
    assert_eq!(
        (&lines[1]["outcome"], &lines[1]["status"]),
        (&json!("weekly-limit"), &json!(409))
    );
    // Refused before sequencing: the code, no sequence number, the parameters as received.
    assert_eq!(lines[2]["outcome"], "invalid-show-id");
    assert_eq!(lines[2]["seq"], json!(null));
    assert_eq!(lines[2]["agreed"], json!([]));
    assert_eq!(lines[2]["parameters"]["showId"], "atwm311126");
    assert_eq!(lines[3]["operation"], "schedule");
    assert_eq!(
        (&lines[3]["outcome"], &lines[3]["seq"]),
        (&json!("no-agreement"), &json!(9))
    );
}

#[test]
fn a_file_log_appends_lines() {
    let dir = std::env::temp_dir().join(format!("dmtbs-audit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("audit.jsonl");
    let _ = std::fs::remove_file(&path);
    let record = AuditRecord {
        time: AuditRecord::now(),
        actor: Some("VERA0001".into()),
        operation: "add-show".into(),
        parameters: json!({ "movie": "Titanic", "showId": "VERE261126", "capacity": 5 }),
        outcome: "show-added".into(),
        status: 201,
        seq: Some(1),
        agreed: vec![1, 2, 4],
        replayed: None,
    };
    for _ in 0..2 {
        // Reopening appends rather than truncates.
        AuditLog::to_file(&path).unwrap().write(&record);
    }
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<AuditRecord> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines, vec![record.clone(), record]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_buffer_helper_sees_writes() {
    let buffer = Buffer::default();
    AuditLog::to_writer(buffer.clone()).write(&AuditRecord {
        time: AuditRecord::now(),
        actor: None,
        operation: "schedule".into(),
        parameters: json!(null),
        outcome: "bad-request".into(),
        status: 400,
        seq: None,
        agreed: vec![],
        replayed: None,
    });
    assert_eq!(buffer.lines()[0]["actor"], json!(null));
}
