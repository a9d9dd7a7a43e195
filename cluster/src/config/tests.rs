//! The cluster file's parsing and checks.

use super::*;

#[test]
fn min_implementations_defaults_to_every_rm_and_is_checked() {
    assert_eq!(with("", 4).expect("valid").min_implementations(), 4);
    assert_eq!(with("", 3).expect("valid").min_implementations(), 3);
    assert_eq!(
        with("min_implementations = 3", 4)
            .expect("valid")
            .min_implementations(),
        3
    );
    for (min, rms) in [(0, 4), (5, 4)] {
        let err = with(&format!("min_implementations = {min}"), rms).unwrap_err();
        assert!(
            err.to_string().contains(&format!(
                "min_implementations = {min}: need 1 <= min_implementations <= {rms}"
            )),
            "{err}"
        );
    }
}

/// The embedded default with its `[cluster]` section extended by `extra` and only the first
/// `rms` of its four replica managers (and real keys, as `dmtbs up` makes them).
fn with(extra: &str, rms: usize) -> Result<ClusterConfig, ConfigError> {
    let mut text =
        default_with_fresh_keys().replacen("[cluster]\n", &format!("[cluster]\n{extra}\n"), 1);
    // Cut the file before the first unwanted [[rm]] header (the entries come last).
    if let Some(cut) = text.match_indices("[[rm]]").nth(rms).map(|(i, _)| i) {
        text.truncate(cut);
    }
    ClusterConfig::parse(&text, Path::new("/"))
}

#[test]
fn quorum_defaults_to_two() {
    assert_eq!(with("", 4).expect("valid").cluster.quorum, 2);
}

#[test]
fn quorum_within_one_to_the_number_of_rms_is_accepted() {
    assert_eq!(with("quorum = 1", 1).expect("valid").cluster.quorum, 1);
    assert_eq!(with("quorum = 3", 4).expect("valid").cluster.quorum, 3);
    assert_eq!(with("quorum = 4", 4).expect("valid").cluster.quorum, 4);
}

#[test]
fn quorum_outside_one_to_the_number_of_rms_is_a_clear_error() {
    for (quorum, rms) in [(0, 4), (5, 4), (2, 1)] {
        let err = with(&format!("quorum = {quorum}"), rms).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "invalid cluster configuration: quorum = {quorum}: need 1 <= quorum <= {rms} \
                 (the number of [[rm]] entries)"
            )
        );
    }
    assert!(with("quorum = -1", 4).is_err(), "not a count");
}

/// A `[recovery]` section appended to the embedded default (with real keys).
fn with_recovery(section: &str) -> Result<ClusterConfig, ConfigError> {
    let text = format!("{}\n[recovery]\n{section}\n", default_with_fresh_keys());
    ClusterConfig::parse(&text, Path::new("/"))
}

#[test]
fn checkpoints_further_apart_than_the_retained_log_allows_are_refused() {
    let limit = dmtbs_delivery::DEFAULT_LOG_LIMIT as u64 / 2;
    let ok = with_recovery(&format!("checkpoint_every = {limit}")).expect("valid");
    assert_eq!(ok.recovery.checkpoint_every, limit);
    let err = with_recovery(&format!("checkpoint_every = {}", limit + 1)).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "invalid cluster configuration: recovery: checkpoint_every = {} is more than \
             half the 65536 requests a replica manager's log retains: a replica replaced \
             between checkpoints could not replay from the last one (at most {limit})",
            limit + 1
        )
    );
}

#[test]
fn the_default_serves_metrics_for_the_sequencer_and_every_rm() {
    let config = with("", 4).expect("valid");
    assert_eq!(
        config.sequencer.metrics,
        Some("127.0.0.1:9702".parse().unwrap())
    );
    let rms: Vec<_> = config.rms.iter().map(|r| r.metrics).collect();
    let expected: Vec<_> = (9731..=9734)
        .map(|port| Some(SocketAddr::from(([127, 0, 0, 1], port))))
        .collect();
    assert_eq!(rms, expected);
}

#[test]
fn a_metrics_address_shared_with_another_node_is_a_clear_error() {
    let clash = |from: &str, to: &str| {
        let default = default_with_fresh_keys();
        let text = default.replacen(from, to, 1);
        assert_ne!(text, default, "{from} is in the default");
        ClusterConfig::parse(&text, Path::new("/"))
            .unwrap_err()
            .to_string()
    };
    assert_eq!(
        clash(
            "metrics = \"127.0.0.1:9732\"",
            "metrics = \"127.0.0.1:9701\""
        ),
        "invalid cluster configuration: rm 2's metrics address 127.0.0.1:9701 is also the \
         sequencer's addr: every node needs addresses of its own"
    );
    assert_eq!(
        clash(
            "metrics = \"127.0.0.1:9702\"",
            "metrics = \"127.0.0.1:8080\""
        ),
        "invalid cluster configuration: the sequencer's metrics address 127.0.0.1:8080 is \
         also frontend 1's http: every node needs addresses of its own"
    );
    assert_eq!(
        clash(
            "metrics = \"127.0.0.1:9734\"",
            "metrics = \"127.0.0.1:9731\""
        ),
        "invalid cluster configuration: rm 4's metrics address 127.0.0.1:9731 is also rm \
         1's metrics: every node needs addresses of its own"
    );
    assert!(
        clash(
            "metrics = \"127.0.0.1:9733\"",
            "metrics = \"127.0.0.1:9723\""
        )
        .contains("rm 3's metrics address 127.0.0.1:9723 is also rm 3's addr"),
    );
}

#[test]
fn metrics_are_optional() {
    let text: String = default_with_fresh_keys()
        .lines()
        .filter(|l| !l.starts_with("metrics"))
        .map(|l| format!("{l}\n"))
        .collect();
    let config = ClusterConfig::parse(&text, Path::new("/")).expect("valid");
    assert_eq!(config.sequencer.metrics, None);
    assert!(config.rms.iter().all(|r| r.metrics.is_none()));
}

#[test]
fn a_standby_is_optional_and_needs_an_address_of_its_own_and_a_failover_time() {
    let default = default_with_fresh_keys();
    let config = ClusterConfig::parse(&default, Path::new("/")).expect("valid");
    assert_eq!(config.sequencers(), vec![NodeId::Sequencer]);
    let standby =
        |section: &str| ClusterConfig::parse(&format!("{default}\n{section}"), Path::new("/"));
    let config = standby("[standby]\naddr = \"127.0.0.1:9799\"\n").expect("valid");
    assert_eq!(
        config.sequencers(),
        vec![NodeId::Sequencer, NodeId::Standby]
    );
    assert_eq!(
        config.node_at("127.0.0.1:9799".parse().expect("addr")),
        Some(NodeId::Standby)
    );
    let clash = standby(&format!(
        "[standby]\naddr = \"{}\"\n",
        config.sequencer.addr
    ))
    .unwrap_err()
    .to_string();
    assert!(
        clash.contains("the standby's addr") && clash.contains("another node's"),
        "{clash}"
    );
    let hasty =
        standby("[standby]\naddr = \"127.0.0.1:9799\"\n[timeouts]\nsequencer_failover_ms = 150\n")
            .unwrap_err()
            .to_string();
    assert!(hasty.contains("under two heartbeats"), "{hasty}");
}

#[test]
fn published_or_guessable_keys_are_refused_without_showing_them() {
    let refused = |text: &str| {
        ClusterConfig::parse(text, Path::new("/"))
            .expect_err("refused")
            .to_string()
    };
    // The embedded default as it is in the source: both placeholders.
    let e = refused(DEFAULT);
    assert!(e.contains("[cluster] key is not a random key"), "{e}");
    let fresh = default_with_fresh_keys();
    let key_line = fresh
        .lines()
        .find(|l| l.starts_with("key = "))
        .expect("a key line")
        .to_owned();
    let repeated = fresh.replacen(&key_line, &format!("key = \"{}\"", "ab".repeat(32)), 1);
    assert!(refused(&repeated).contains("only 2 distinct hex digits"));
    let admin_line = fresh
        .lines()
        .find(|l| l.starts_with("admin_key = "))
        .expect("an admin key line")
        .to_owned();
    let placeholder = fresh.replacen(&admin_line, "admin_key = \"change-me\"", 1);
    assert!(refused(&placeholder).contains("published placeholder \"change-me\""));
    let short = fresh.replacen(&admin_line, "admin_key = \"s3cret-but-short\"", 1);
    let e = refused(&short);
    assert!(e.contains("shorter than 32 characters"), "{e}");
    assert!(!e.contains("s3cret"), "the error shows the key: {e}");
    // The token key: fresh in the default, refused when a placeholder or a pattern.
    let token_line = fresh
        .lines()
        .find(|l| l.starts_with("token_key = "))
        .expect("a token key line")
        .to_owned();
    assert_ne!(token_line, format!("token_key = \"{}\"", "0".repeat(64)));
    for weak in ["0".repeat(64), "ab".repeat(32)] {
        let text = fresh.replacen(&token_line, &format!("token_key = \"{weak}\""), 1);
        let e = refused(&text);
        assert!(e.contains("[cluster] token_key is not a random key"), "{e}");
        assert!(!e.contains(&weak), "the error shows the key: {e}");
    }
    ClusterConfig::parse(&fresh, Path::new("/")).expect("fresh keys are accepted");
}

#[test]
fn the_token_key_is_its_own_or_derived_from_the_cluster_key() {
    let fresh = default_with_fresh_keys();
    let own = ClusterConfig::parse(&fresh, Path::new("/")).unwrap();
    let token_line = fresh
        .lines()
        .find(|l| l.starts_with("token_key = "))
        .unwrap();
    let derived = ClusterConfig::parse(&fresh.replacen(token_line, "", 1), Path::new("/")).unwrap();
    assert!(derived.cluster.token_key.is_none());
    // A token made under one verifies under the same configuration only.
    let token = own
        .token_key()
        .issue("ATWC0001", Duration::from_secs(60))
        .unwrap();
    assert!(own.token_key().verify(&token.token).is_ok());
    assert!(derived.token_key().verify(&token.token).is_err());
    let minted = derived.mint_tokens()("atwc0001").expect("a token");
    assert_eq!(
        derived.token_key().verify(&minted).unwrap().user,
        "ATWC0001"
    );
    assert!(derived.mint_tokens()("nobody").is_none());
    // Derived from the cluster key: the same key file gives the same token key.
    let again = ClusterConfig::parse(&fresh.replacen(token_line, "", 1), Path::new("/")).unwrap();
    assert!(again.token_key().verify(&minted).is_ok());
}

/// The keys the parser accepts in a section, from its own refusal of an unknown key (serde
/// lists the expected fields): the code's list, not a copy of it.
fn accepted_keys(section_header: &str) -> Vec<String> {
    let text = default_with_fresh_keys();
    let text = if text.contains(section_header) {
        text.replacen(
            section_header,
            &format!("{section_header}\nzz_no_such_key = 1"),
            1,
        )
    } else {
        // Sections the default leaves out: added with the unknown key alone (and, for the
        // standby, the address it requires).
        format!("{text}\n{section_header}\nzz_no_such_key = 1\n")
    };
    let error = ClusterConfig::parse(&text, Path::new("/"))
        .expect_err("an unknown key is refused")
        .to_string();
    let expected = error
        .split_once("expected one of ")
        .or_else(|| error.split_once("expected "))
        .unwrap_or_else(|| panic!("{section_header}: no list of keys in {error:?}"))
        .1;
    // serde: "expected `a`", "expected `a` or `b`", "expected one of `a`, `b`, `c`".
    let mut keys: Vec<String> = expected
        .replace(" or ", ", ")
        .split(", ")
        .map(|k| k.trim().trim_matches('`').to_owned())
        .filter(|k| !k.is_empty())
        .map(|k| k.split('`').next().unwrap_or_default().to_owned())
        .collect();
    keys.sort();
    keys
}

/// The keys a docs table lists: the first cell of each row between `heading` and the next
/// heading.
fn documented_keys(doc: &str, heading: &str) -> Vec<String> {
    let text = std::fs::read_to_string(format!("{}/../docs/{doc}", env!("CARGO_MANIFEST_DIR")))
        .expect("docs");
    let section = text
        .split_once(heading)
        .unwrap_or_else(|| panic!("{doc} has {heading:?}"))
        .1;
    let mut keys: Vec<String> = section
        .lines()
        .skip(1)
        .take_while(|l| !l.starts_with("## ") && !l.starts_with('`'))
        .filter_map(|l| {
            l.strip_prefix("| `")?
                .split_once('`')
                .map(|(k, _)| k.to_owned())
        })
        .collect();
    keys.sort();
    keys
}

#[test]
fn the_configuration_reference_lists_every_key_the_parser_accepts_and_no_other() {
    for (header, doc, heading) in [
        ("[cluster]", "configuration.md", "## `[cluster]`"),
        (
            "[sequencer]",
            "configuration.md",
            "## `[sequencer]` and `[standby]`",
        ),
        (
            "[standby]",
            "configuration.md",
            "## `[sequencer]` and `[standby]`",
        ),
        (
            "[[frontend]]",
            "configuration.md",
            "## `[[frontend]]` (one or more)",
        ),
        (
            "[frontend.limits]",
            "configuration.md",
            "`[frontend.limits]` (every key",
        ),
        ("[[rm]]", "configuration.md", "## `[[rm]]` (one or more)"),
        ("[timeouts]", "configuration.md", "## `[timeouts]`"),
        ("[recovery]", "recovery.md", "## Configuration"),
    ] {
        assert_eq!(
            documented_keys(doc, heading),
            accepted_keys(header),
            "{header}: docs/{doc} ({heading}) against the parser"
        );
    }
}
