//! A small W3C WebDriver client for the browser suite: Debian's ChromeDriver as a child process
//! driving headless Chromium, spoken to over HTTP with `reqwest` — enough to open a page, wait
//! for it, read it, run a script in it and take a screenshot.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Value, json};

/// Debian's `chromium` package installs the browser here.
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// Debian's `chromium-driver` package installs ChromeDriver here.
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The key under which WebDriver returns an element reference (fixed by the W3C spec).
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// How long ChromeDriver may take to answer `/status` after it starts.
const DRIVER_START: Duration = Duration::from_secs(20);

/// How long one WebDriver command may take (a new session starts Chromium: seconds on a busy
/// two-core machine).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// The page's size in screenshots.
pub const VIEWPORT: (u32, u32) = (1280, 900);

/// Chromium's flags: headless, and nothing that reaches for the network (this machine has
/// none) or for a profile other than a fresh one.
const CHROMIUM_ARGS: [&str; 10] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,900",
    "--disable-dev-shm-usage",
];

/// One headless Chromium driven through its own ChromeDriver. Dropping it ends the session
/// (which closes Chromium) and kills ChromeDriver by its PID.
pub struct Browser {
    /// ChromeDriver, killed on drop.
    driver: Child,
    /// ChromeDriver's base URL, `http://127.0.0.1:<port>`.
    base: String,
    /// The WebDriver session: every command after `new` names it.
    session: String,
    http: reqwest::Client,
    /// Chromium's fresh profile and ChromeDriver's log (shown when something fails); removed on
    /// drop.
    dir: tempfile::TempDir,
}

/// An element found in the page: a reference valid while the page does not replace it.
#[derive(Debug, Clone)]
pub struct Element(String);

impl Browser {
    /// Start ChromeDriver on a free loopback port and open a session in headless Chromium.
    /// Fails — never skips — when the Debian packages are not installed.
    pub async fn start() -> Result<Browser> {
        for (path, package) in [(CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")] {
            if !Path::new(path).exists() {
                bail!(
                    "{path} is missing: the browser tests need Debian's chromium and \
                     chromium-driver packages (`apt-get install chromium chromium-driver`; \
                     this one comes from `{package}`)"
                );
            }
        }
        let dir = tempfile::Builder::new()
            .prefix("dmtbs-browser-")
            .tempdir()
            .context("a temporary directory for Chromium's profile")?;
        let log = dir.path().join("chromedriver.log");
        // From the local clusters' picker, so the driver never gets a port a cluster started in
        // parallel was given (and will bind in a moment).
        let port = dmtbs_cluster::local::free_port()?;
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {CHROMEDRIVER}"))?;
        let http = reqwest::Client::builder()
            .timeout(COMMAND_TIMEOUT)
            .no_proxy()
            .build()?;
        let mut browser = Browser {
            driver,
            base: format!("http://127.0.0.1:{port}"),
            session: String::new(),
            http,
            dir,
        };
        browser.wait_for_driver().await?;
        let profile = browser.dir.path().join("profile");
        let mut args: Vec<String> = CHROMIUM_ARGS.iter().map(|a| a.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        let capabilities = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
                }
            }
        });
        let created = browser
            .command(reqwest::Method::POST, "/session", Some(capabilities))
            .await
            .with_context(|| format!("creating a Chromium session ({})", browser.log_tail()))?;
        browser.session = created["sessionId"]
            .as_str()
            .ok_or_else(|| anyhow!("a new session without an id: {created}"))?
            .to_owned();
        browser.set_viewport(VIEWPORT.0, VIEWPORT.1).await?;
        Ok(browser)
    }

    /// Sizes the window so the page itself gets `width`×`height` pixels (`--window-size` sizes
    /// the window, of which headless Chromium's frame takes some 140 pixels of height).
    pub async fn set_viewport(&self, width: u32, height: u32) -> Result<()> {
        let frame = self
            .execute(
                "return [window.outerWidth - window.innerWidth, \
                 window.outerHeight - window.innerHeight];",
                vec![],
            )
            .await?;
        let (dx, dy) = (
            frame[0].as_u64().unwrap_or(0),
            frame[1].as_u64().unwrap_or(0),
        );
        self.command(
            reqwest::Method::POST,
            &self.session_path("/window/rect"),
            Some(json!({ "width": u64::from(width) + dx, "height": u64::from(height) + dy })),
        )
        .await?;
        Ok(())
    }

    /// Polls ChromeDriver's `/status` until it is ready (bounded by [`DRIVER_START`]).
    async fn wait_for_driver(&mut self) -> Result<()> {
        let start = Instant::now();
        let mut last = String::from("no answer");
        while start.elapsed() < DRIVER_START {
            if let Some(status) = self.driver.try_wait()? {
                bail!(
                    "chromedriver exited at start ({status}): {}",
                    self.log_tail()
                );
            }
            match self.http.get(format!("{}/status", self.base)).send().await {
                Ok(answer) => {
                    let body: Value = answer.json().await.unwrap_or_default();
                    if body["value"]["ready"] == true {
                        return Ok(());
                    }
                    last = body.to_string();
                }
                Err(e) => last = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!(
            "chromedriver did not answer /status within {DRIVER_START:?} (last: {last}); {}",
            self.log_tail()
        )
    }

    /// The end of ChromeDriver's log, for error messages.
    fn log_tail(&self) -> String {
        let log =
            std::fs::read_to_string(self.dir.path().join("chromedriver.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        let tail = lines[lines.len().saturating_sub(15)..].join("\n");
        format!("chromedriver log tail:\n{tail}")
    }

    /// One WebDriver command; its `value`, or the WebDriver error as an error.
    async fn command(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value> {
        let url = format!("{}{path}", self.base);
        let mut request = self.http.request(method.clone(), &url);
        // ChromeDriver wants a JSON body on every POST, even an empty one.
        if method == reqwest::Method::POST {
            request = request.json(&body.unwrap_or_else(|| json!({})));
        }
        let answer = request
            .send()
            .await
            .with_context(|| format!("WebDriver {method} {path}"))?;
        let status = answer.status();
        let body: Value = answer
            .json()
            .await
            .with_context(|| format!("WebDriver {method} {path}: answer is not JSON"))?;
        let value = body["value"].clone();
        // W3C WebDriver signals errors by the HTTP status alone (a script's own result may
        // well hold an `error` key).
        if !status.is_success() {
            bail!(
                "WebDriver {method} {path}: {status} {}: {}",
                value["error"].as_str().unwrap_or("?"),
                value["message"].as_str().unwrap_or(&body.to_string())
            );
        }
        Ok(value)
    }

    fn session_path(&self, rest: &str) -> String {
        format!("/session/{}{rest}", self.session)
    }

    /// Navigate to `url` (returns once the page has loaded).
    pub async fn goto(&self, url: &str) -> Result<()> {
        self.command(
            reqwest::Method::POST,
            &self.session_path("/url"),
            Some(json!({ "url": url })),
        )
        .await?;
        Ok(())
    }

    /// Every element matching the CSS `selector`, in document order.
    pub async fn find_all(&self, selector: &str) -> Result<Vec<Element>> {
        let found = self
            .command(
                reqwest::Method::POST,
                &self.session_path("/elements"),
                Some(json!({ "using": "css selector", "value": selector })),
            )
            .await?;
        found
            .as_array()
            .ok_or_else(|| anyhow!("find {selector}: not a list: {found}"))?
            .iter()
            .map(|e| {
                e[ELEMENT_KEY]
                    .as_str()
                    .map(|id| Element(id.to_owned()))
                    .ok_or_else(|| anyhow!("find {selector}: not an element: {e}"))
            })
            .collect()
    }

    /// The first element matching `selector`, or an error naming it.
    pub async fn find(&self, selector: &str) -> Result<Element> {
        self.find_all(selector)
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| anyhow!("no element matches {selector}"))
    }

    /// An element's rendered text (what a user reads; empty when it is hidden).
    pub async fn text(&self, element: &Element) -> Result<String> {
        let text = self
            .command(
                reqwest::Method::GET,
                &self.session_path(&format!("/element/{}/text", element.0)),
                None,
            )
            .await?;
        Ok(text.as_str().unwrap_or_default().to_owned())
    }

    /// An element's attribute (`None` when it has none).
    pub async fn attribute(&self, element: &Element, name: &str) -> Result<Option<String>> {
        let value = self
            .command(
                reqwest::Method::GET,
                &self.session_path(&format!("/element/{}/attribute/{name}", element.0)),
                None,
            )
            .await?;
        Ok(value.as_str().map(str::to_owned))
    }

    /// Runs `script` (a function body; `arguments` holds `args`) in the page and returns what it
    /// returns.
    pub async fn execute(&self, script: &str, args: Vec<Value>) -> Result<Value> {
        self.command(
            reqwest::Method::POST,
            &self.session_path("/execute/sync"),
            Some(json!({ "script": script, "args": args })),
        )
        .await
    }

    /// A screenshot of the viewport as PNG bytes.
    pub async fn screenshot(&self) -> Result<Vec<u8>> {
        let encoded = self
            .command(
                reqwest::Method::GET,
                &self.session_path("/screenshot"),
                None,
            )
            .await?;
        let encoded = encoded
            .as_str()
            .ok_or_else(|| anyhow!("a screenshot that is not a string"))?;
        decode_base64(encoded)
    }

    /// Polls `check` every 100 ms until it returns `Some` or `timeout` passes; the error names
    /// `what` and the last thing `check` saw (its `Err`s are kept, not fatal: the page may be
    /// mid-update).
    pub async fn wait_for<T>(
        &self,
        what: &str,
        timeout: Duration,
        mut check: impl AsyncFnMut(&Browser) -> Result<Option<T>>,
    ) -> Result<T> {
        let start = Instant::now();
        let mut last = String::from("not checked");
        // Bounded in time and, should a check hang below its own timeout, in count.
        for _ in 0..(timeout.as_millis() / 100).max(1) * 2 {
            match check(self).await {
                Ok(Some(done)) => return Ok(done),
                Ok(None) => last = "not yet".into(),
                Err(e) => last = format!("{e:#}"),
            }
            if start.elapsed() >= timeout {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("{what}: not within {timeout:?} (last check: {last})")
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ending the session makes ChromeDriver close Chromium; Drop cannot await, so this is
        // one plain blocking HTTP request with short timeouts.
        if !self.session.is_empty() {
            let _ = delete_session(&self.base, &self.session);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// `DELETE /session/<id>` over a bare TCP connection (usable from `Drop`).
fn delete_session(base: &str, session: &str) -> std::io::Result<()> {
    let host = base.trim_start_matches("http://");
    let mut stream = TcpStream::connect(host)?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    stream.set_read_timeout(Some(Duration::from_secs(15)))?;
    write!(
        stream,
        "DELETE /session/{session} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )?;
    // Read the whole answer (ChromeDriver keeps the connection open regardless), so Chromium
    // is closed before ChromeDriver is killed.
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        answer.extend_from_slice(&buf[..n]);
        let Some(end) = answer.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&answer[..end]).to_ascii_lowercase();
        let length = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(0);
        if answer.len() >= end + 4 + length {
            return Ok(());
        }
    }
}

/// A PNG's width and height, read from its signature and header chunk (`None`: not a PNG).
pub fn png_size(png: &[u8]) -> Option<(u32, u32)> {
    const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";
    if png.len() < 24 || &png[..8] != SIGNATURE || &png[12..16] != b"IHDR" {
        return None;
    }
    let word = |at: usize| u32::from_be_bytes([png[at], png[at + 1], png[at + 2], png[at + 3]]);
    Some((word(16), word(20)))
}

/// Standard base64 (RFC 4648, with padding), as WebDriver encodes screenshots.
fn decode_base64(text: &str) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut bits, mut count) = (0u32, 0u32);
    for byte in text.bytes().filter(|b| !b.is_ascii_whitespace()) {
        let value = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            _ => bail!("not base64: byte {byte:#04x}"),
        };
        bits = (bits << 6) | u32::from(value);
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
        }
    }
    Ok(out)
}

#[test]
fn base64_decodes_as_rfc_4648_says() {
    // The RFC's own test vectors.
    for (encoded, decoded) in [
        ("", ""),
        ("Zg==", "f"),
        ("Zm8=", "fo"),
        ("Zm9v", "foo"),
        ("Zm9vYg==", "foob"),
        ("Zm9vYmE=", "fooba"),
        ("Zm9vYmFy", "foobar"),
    ] {
        assert_eq!(decode_base64(encoded).unwrap(), decoded.as_bytes());
    }
    assert!(decode_base64("Zm9v!").is_err());
}
