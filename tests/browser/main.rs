//! The browser suite: the front end's live status page (`GET /status`) in headless Chromium,
//! driven through ChromeDriver. Needs Debian's `chromium` and `chromium-driver` packages; without
//! them every test here fails, naming the packages. The restart test also runs the built `dmtbs`
//! binary, as the processes suite does (`cargo build -p dmtbs-cli`, done by `just test`).

mod driver;
// The processes suite's `dmtbs up` harness; this suite uses only part of it.
#[allow(dead_code)]
#[path = "../processes/harness.rs"]
mod harness;
mod layout;
mod restart;
mod status_page;
mod webdriver;

/// Held by every test that runs a cluster: one cluster at a time beside a browser, on a
/// two-core machine, keeps each test's timing its own (a swap or restart is shown within its
/// bound however many tests run).
pub static ONE_CLUSTER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
