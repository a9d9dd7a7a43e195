//! What `dmtbs up` prints once the cluster answers.

use std::path::Path;

use dmtbs_cluster::config::TransportMode;
use dmtbs_cluster::{ClusterConfig, rundir};

use super::Node;

/// What `up` prints once the cluster answers: where it is, where the admin key and the demo
/// tokens are (never what they are), and commands to try.
pub(super) fn print_banner(c: &ClusterConfig, nodes: &[Node], tokens: Option<&Path>) {
    let today = dmtbs_cluster::wire::today(c);
    let show = format!(
        "ATWE{:02}{:02}{:02}",
        today.day,
        today.month,
        today.year % 100
    );
    println!(
        "DMTBS local cluster is up ({} replica managers, {} transport; {} node processes).",
        c.rms.len(),
        match c.cluster.transport {
            TransportMode::Multicast => "multicast",
            TransportMode::Unicast => "unicast",
        },
        nodes.len()
    );
    for fe in &c.frontends {
        println!(
            "  front end {}: http://{}  (API description: /openapi.json)",
            fe.id, fe.http
        );
    }
    if let Some(fe) = c.frontends.first() {
        println!("  live status page: http://{}/status", fe.http);
    }
    let mut metrics: Vec<String> = c
        .frontends
        .iter()
        .map(|fe| format!("http://{}/metrics", fe.http))
        .collect();
    metrics.extend(c.sequencer.metrics.map(|a| format!("http://{a}/metrics")));
    metrics.extend(
        c.standby
            .as_ref()
            .and_then(|s| s.metrics)
            .map(|a| format!("http://{a}/metrics")),
    );
    metrics.extend(
        c.rms
            .iter()
            .filter_map(|r| r.metrics)
            .map(|a| format!("http://{a}/metrics")),
    );
    println!("  Prometheus metrics: {}", metrics.join(" "));
    // Where the admin key is, never the key: a banner ends up in terminals' scrollback, logs and
    // screenshots.
    let dir = nodes.first().and_then(|n| n.pid_file.parent());
    let cluster_file = dir.map(|d| d.join(rundir::CONFIG_FILE));
    if let Some(file) = &cluster_file {
        println!(
            "  admin key: admin_key in {} (owner-only); `dmtbs` run from this folder reads it \
             from there",
            file.display()
        );
    }
    if let Some(tokens) = tokens {
        println!(
            "  demo users' tokens: {}/<USER> (owner-only) for {} and {}; `dmtbs` run from this \
             folder uses them",
            tokens.display(),
            crate::token::DEMO_USERS[..crate::token::DEMO_USERS.len() - 1].join(", "),
            crate::token::DEMO_USERS[crate::token::DEMO_USERS.len() - 1]
        );
    }
    if let Some(dir) = dir {
        println!(
            "  run directory (cluster file, pid files): {}",
            dir.display()
        );
    }
    let url = format!("http://{}", c.frontends[0].http);
    println!(
        "\nTry it (today is {}-{:02}-{:02}):",
        today.year, today.month, today.day
    );
    let tokens = tokens.map_or_else(|| "<tokens>".into(), |t| t.display().to_string());
    println!(
        "  curl -s -X POST {url}/v1/shows -H \"Authorization: Bearer $(cat {tokens}/ATWA0001)\" \\\n       -H 'Content-Type: application/json' -d '{{\"movie\":\"Avatar\",\"showId\":\"{show}\",\"capacity\":50}}'"
    );
    println!(
        "  curl -s -X POST {url}/v1/customers/ATWC0001/bookings -H \"Authorization: Bearer $(cat {tokens}/ATWC0001)\" \\\n       -H 'Content-Type: application/json' -d '{{\"movie\":\"Avatar\",\"showId\":\"{show}\",\"tickets\":2}}'"
    );
    println!(
        "  curl -s {url}/v1/customers/ATWC0001/bookings -H \"Authorization: Bearer $(cat {tokens}/ATWC0001)\""
    );
    // The CLI's default is the shipped front end: say how to reach one elsewhere.
    if url == "http://127.0.0.1:8080" {
        println!("  dmtbs schedule --as ATWC0001");
    } else {
        println!("  DMTBS_URL={url} dmtbs schedule --as ATWC0001");
    }
    println!("\nCtrl-C stops the cluster.");
    // The banner is how scripts and tests know the cluster is ready: make sure it is out.
    let _ = std::io::Write::flush(&mut std::io::stdout());
}
