//! What every node's `/metrics` relies on: the encoding parses as Prometheus text.

use dmtbs_metrics::prometheus_client::metrics::counter::Counter;
use dmtbs_metrics::prometheus_client::metrics::family::Family;
use dmtbs_metrics::prometheus_client::metrics::histogram::Histogram;

/// Held by every test here for its whole body: a scrape opens descriptors of its own while it
/// reads `/proc/self` (the process series), so a scrape in a concurrent test would shift the
/// open-descriptor count the descriptor test compares (it once failed CI that way).
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    // A failed test poisons it; the others still run, one at a time.
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn every_registry_says_when_its_node_started_and_which_build_it_runs() {
    let _serial = one_at_a_time();
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as f64;
    let registry = dmtbs_metrics::registry("dmtbs_test");
    let text = dmtbs_metrics::encode(&registry);
    let scrape =
        prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("text");
    let value = |name: &str| {
        scrape
            .samples
            .iter()
            .find(|s| s.metric == name)
            .unwrap_or_else(|| panic!("no {name} in:\n{text}"))
    };
    let started = value("dmtbs_test_start_time_seconds");
    assert!(
        matches!(started.value, prometheus_parse::Value::Gauge(v) if (before..before + 5.0).contains(&v)),
        "{:?}",
        started.value
    );
    let info = value("dmtbs_test_build_info");
    assert_eq!(info.labels.get("version"), Some(env!("CARGO_PKG_VERSION")));
}

#[test]
fn counters_and_histograms_parse_as_prometheus_text() {
    let _serial = one_at_a_time();
    let registry = dmtbs_metrics::registry("dmtbs_test");
    let requests = Family::<Vec<(String, String)>, Counter>::default();
    let latency = Histogram::new(dmtbs_metrics::latency_buckets());
    {
        let mut r = registry.lock().unwrap();
        r.register("requests", "Requests answered", requests.clone());
        r.register("latency_seconds", "Time to answer", latency.clone());
    }
    requests
        .get_or_create(&vec![("rm".into(), "2".into())])
        .inc_by(3);
    latency.observe(0.0015);

    let text = dmtbs_metrics::encode(&registry);
    let lines = text.lines().map(|l| Ok(l.to_owned()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("Prometheus text");
    let sample = scrape
        .samples
        .iter()
        .find(|s| s.metric == "dmtbs_test_requests_total")
        .unwrap_or_else(|| panic!("no requests counter in:\n{text}"));
    assert_eq!(sample.labels.get("rm"), Some("2"));
    assert!(matches!(sample.value, prometheus_parse::Value::Counter(v) if v == 3.0));
    let histogram = scrape
        .samples
        .iter()
        .find(|s| s.metric == "dmtbs_test_latency_seconds")
        .unwrap_or_else(|| panic!("no latency histogram in:\n{text}"));
    let prometheus_parse::Value::Histogram(buckets) = &histogram.value else {
        panic!("latency is not a histogram: {:?}", histogram.value);
    };
    // 1.5 ms lies above the 0.8 ms bucket and within the 1.6 ms one.
    let count_le = |le: f64| {
        buckets
            .iter()
            .find(|b| (b.less_than - le).abs() < 1e-9)
            .unwrap()
            .count
    };
    assert_eq!(count_le(0.0008), 0.0);
    assert_eq!(count_le(0.0016), 1.0);
}

/// Leaks and runaway CPU show per node: its process's `process_*` series under the node's
/// prefix, read at each scrape (Linux: from /proc).
#[cfg(target_os = "linux")]
#[test]
fn every_scrape_reports_the_process_cpu_memory_and_descriptors() {
    let _serial = one_at_a_time();
    let registry = dmtbs_metrics::registry("dmtbs_test");
    let parse = |text: &str| {
        prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).expect("text")
    };
    let value = |scrape: &prometheus_parse::Scrape, name: &str| -> f64 {
        match scrape
            .samples
            .iter()
            .find(|s| s.metric == name)
            .unwrap_or_else(|| panic!("no {name}"))
            .value
        {
            prometheus_parse::Value::Gauge(v) | prometheus_parse::Value::Counter(v) => v,
            ref other => panic!("{name}: {other:?}"),
        }
    };
    let first = parse(&dmtbs_metrics::encode(&registry));
    // Burn a little CPU so the counter has something to show.
    let mut x = 0u64;
    for i in 0..20_000_000u64 {
        x = x.wrapping_mul(31).wrapping_add(i);
    }
    std::hint::black_box(x);
    let held: Vec<std::fs::File> = (0..10)
        .map(|_| std::fs::File::open("/proc/self/status").expect("open"))
        .collect();
    let second = parse(&dmtbs_metrics::encode(&registry));
    assert!(
        value(&second, "dmtbs_test_process_cpu_seconds_total")
            >= value(&first, "dmtbs_test_process_cpu_seconds_total")
    );
    assert!(value(&second, "dmtbs_test_process_cpu_seconds_total") > 0.0);
    assert!(value(&second, "dmtbs_test_process_resident_memory_bytes") > 1_000_000.0);
    assert!(
        value(&second, "dmtbs_test_process_open_fds")
            >= value(&first, "dmtbs_test_process_open_fds") + 10.0,
        "ten files more are open"
    );
    assert!(
        value(&second, "dmtbs_test_process_max_fds")
            >= value(&second, "dmtbs_test_process_open_fds")
    );
    drop(held);
}
