//! A node that cannot bind its address says which address and which process holds it.

use std::process::Command;

use dmtbs_cluster::ClusterConfig;
use dmtbs_cluster::config::TransportMode;

use crate::harness::{Up, dmtbs_bin};

#[test]
fn a_front_end_whose_port_is_taken_names_the_process_holding_it() {
    let dir = Up::config_file(
        dmtbs_testkit::components::IMPLEMENTATIONS,
        TransportMode::Unicast,
    );
    let path = dir.path().join("cluster.toml");
    let config = ClusterConfig::load(&path).expect("cluster file");
    let http = config.frontends[0].http;
    // This test process holds the front end's HTTP port.
    let _held = std::net::TcpListener::bind(http).expect("hold the port");
    let output = Command::new(dmtbs_bin())
        .args([
            "fe",
            "--id",
            &config.frontends[0].id.to_string(),
            "--config",
        ])
        .arg(&path)
        .env("NO_COLOR", "1")
        .output()
        .expect("dmtbs fe runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    let says = format!(
        "front end {}: HTTP address: cannot bind TCP {http}: Address already in use",
        config.frontends[0].id
    );
    let holder = format!("(held by pid {} (", std::process::id());
    assert!(
        stderr.contains(&says) && stderr.contains(&holder),
        "{stderr}"
    );
}
