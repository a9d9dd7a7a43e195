//! The browser suite: the front end's live status page (`GET /status`) in headless Chromium,
//! driven through ChromeDriver. Needs Debian's `chromium` and `chromium-driver` packages; without
//! them every test here fails, naming the packages.

mod driver;
mod status_page;
mod webdriver;
