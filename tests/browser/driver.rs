//! The WebDriver client itself, on a page served here: finding, reading, waiting, scripts and
//! screenshots work — so a failure of the status-page tests is the page's, not the harness's.

use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::webdriver::{Browser, VIEWPORT};

/// A page that marks itself ready a moment after loading, as the status page does after its
/// first refresh.
const PAGE: &str = r#"<!doctype html>
<html><head><title>probe</title></head>
<body>
<ul id="list"><li data-kind="a">first</li><li data-kind="b">second <b>bold</b></li></ul>
<p id="hidden" style="display:none">not shown</p>
<script>setTimeout(() => { document.body.dataset.ready = "1"; }, 300);</script>
</body></html>"#;

/// Serves [`PAGE`] to every connection on a loopback port; returns its URL.
async fn serve_page() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback port");
    let addr = listener
        .local_addr()
        .expect("a bound listener has an address");
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                // One request per connection: read its head, answer, close.
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 65536 {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let answer = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{PAGE}",
                    PAGE.len()
                );
                let _ = stream.write_all(answer.as_bytes()).await;
            });
        }
    });
    format!("http://{addr}/")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webdriver_client_reads_waits_for_scripts_and_screenshots_a_page() {
    let url = serve_page().await;
    let browser = Browser::start().await.expect("headless Chromium starts");
    browser.goto(&url).await.expect("navigate");
    browser
        .wait_for(
            "the page marks itself ready",
            Duration::from_secs(10),
            async |b| Ok((!b.find_all(r#"body[data-ready="1"]"#).await?.is_empty()).then_some(())),
        )
        .await
        .expect("ready");
    let items = browser.find_all("#list li").await.expect("find items");
    assert_eq!(items.len(), 2);
    assert_eq!(browser.text(&items[1]).await.unwrap(), "second bold");
    assert_eq!(
        browser
            .attribute(&items[0], "data-kind")
            .await
            .unwrap()
            .as_deref(),
        Some("a")
    );
    assert_eq!(browser.attribute(&items[0], "data-rm").await.unwrap(), None);
    // Rendered text, as a user reads it: a hidden element has none.
    let hidden = browser.find("#hidden").await.expect("find hidden");
    assert_eq!(browser.text(&hidden).await.unwrap(), "");
    assert!(browser.find("#missing").await.is_err());
    let sum = browser
        .execute(
            "return arguments[0] + document.querySelectorAll('li').length;",
            vec![json!(40)],
        )
        .await
        .expect("script");
    assert_eq!(sum, json!(42));
    let error = browser
        .execute("throw new Error('boom');", vec![])
        .await
        .expect_err("a script that throws is an error");
    assert!(format!("{error:#}").contains("boom"), "{error:#}");
    let png = browser.screenshot().await.expect("screenshot");
    let (width, height) = crate::webdriver::png_size(&png).expect("a PNG");
    assert_eq!(
        (width, height),
        VIEWPORT,
        "the page's size the browser was given"
    );
}
