//! The cluster file: one TOML document describing every node, shared by all of them.

use std::net::{SocketAddr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::time::Duration;

use dmtbs_proto::{ClusterKey, FeId, NodeId, RmId};
use serde::Deserialize;

/// The configuration `dmtbs up` uses when given none: a local cluster of one front end, the
/// sequencer and four replica managers running the four implementations, on loopback.
pub const DEFAULT: &str = include_str!("default.toml");

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid cluster configuration: {0}")]
    Parse(#[from] toml::de::Error),
    #[error("invalid cluster configuration: {0}")]
    Invalid(String),
}

/// The embedded default with fresh random keys in place of its placeholders (which a cluster
/// refuses to start on): what `dmtbs up` runs without `--config`, before paths are made
/// absolute.
pub fn default_with_fresh_keys() -> String {
    DEFAULT
        .replacen(
            &format!("token_key = \"{}\"", "0".repeat(64)),
            &format!("token_key = \"{}\"", ClusterKey::generate().to_hex()),
            1,
        )
        .replacen(
            &format!("key = \"{}\"", "0".repeat(64)),
            &format!("key = \"{}\"", ClusterKey::generate().to_hex()),
            1,
        )
        .replacen(
            "admin_key = \"change-me\"",
            &format!(
                "admin_key = \"{}\"",
                &ClusterKey::generate().to_hex()[..MIN_ADMIN_KEY]
            ),
            1,
        )
}

/// Fewest distinct hex digits a cluster key may use: a random 64-digit key uses ~16, and one
/// using fewer than 8 is a placeholder or a pattern (all zeros, a repeated byte).
pub const MIN_KEY_DIGITS: usize = 8;
/// Shortest admin key accepted (characters): `dmtbs up` makes 32 hex digits (128 bits).
pub const MIN_ADMIN_KEY: usize = 32;
/// Admin keys published in this project's own files: never accepted.
const PUBLISHED_ADMIN_KEYS: [&str; 1] = ["change-me"];

/// Gives a user's token, made in this process ([`ClusterConfig::mint_tokens`]); the same type as
/// `dmtbs_client::TokenSource`.
pub type TokenMinter = std::sync::Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// A whole cluster.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    pub cluster: ClusterSection,
    pub sequencer: SequencerSection,
    /// A standby sequencer: it numbers once the sequencer falls silent (docs/protocol.md,
    /// "Standby sequencer"); none: `dmtbs up` restarts a dead sequencer, nothing else takes over.
    #[serde(default)]
    pub standby: Option<SequencerSection>,
    #[serde(rename = "frontend")]
    pub frontends: Vec<FrontEndSection>,
    #[serde(rename = "rm")]
    pub rms: Vec<RmSection>,
    #[serde(default)]
    pub timeouts: Timeouts,
    #[serde(default)]
    pub recovery: Recovery,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSection {
    /// The key every datagram is authenticated with (64 hex digits).
    pub key: ClusterKey,
    /// What the cluster operator presents over HTTP (`Authorization: Bearer …`): the operator
    /// API, and issuing and revoking any user's tokens.
    pub admin_key: String,
    /// The key user tokens are made and verified with (64 hex digits, PASETO v4.local); none:
    /// derived from `key` ([`ClusterConfig::token_key`]). A key of its own can be changed
    /// without touching the cluster key (docs/security.md, "Rotation").
    #[serde(default)]
    pub token_key: Option<ClusterKey>,
    /// The time zone `today` is taken in (IANA name).
    #[serde(default = "default_time_zone")]
    pub time_zone: String,
    /// A fixed `today` (`YYYY-MM-DD`) for tests and demos; the clock otherwise.
    #[serde(default)]
    pub today: Option<String>,
    /// `multicast` (one datagram to `multicast_group`) or `unicast` (one to each RM).
    pub transport: TransportMode,
    /// Required with `transport = "multicast"`.
    #[serde(default)]
    pub multicast_group: Option<SocketAddrV4>,
    /// Where replica modules named in `[[rm]] modules` are found (relative to this file).
    #[serde(default = "default_components")]
    pub components: PathBuf,
    /// How many identical results a front end waits for before answering (1 ≤ quorum ≤ the
    /// number of RMs). The default, 2, is what tolerates a replica computing wrong results; 1
    /// (answer at the first result, tolerating nothing) serves one-replica baselines.
    #[serde(default = "default_quorum")]
    pub quorum: usize,
    /// The fewest distinct implementations (by module hash) an operator's swap may leave the
    /// RMs running without `--force` (1 ≤ it ≤ the number of RMs; default: the number of RMs,
    /// so no two RMs share one). See [`ClusterConfig::min_implementations`].
    #[serde(default)]
    pub min_implementations: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransportMode {
    Multicast,
    Unicast,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SequencerSection {
    pub addr: SocketAddr,
    /// HTTP listen address for `GET /metrics` (Prometheus text); none: no metrics served.
    #[serde(default)]
    pub metrics: Option<SocketAddr>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrontEndSection {
    pub id: FeId,
    /// UDP address for the cluster protocol.
    pub addr: SocketAddr,
    /// HTTP listen address for clients.
    pub http: SocketAddr,
    /// Audit log file (JSON lines); none: no audit file.
    #[serde(default)]
    pub audit_log: Option<PathBuf>,
    /// The front end's revocation list (JSON, owner-only); none: `fe-<id>/revocations.json` in
    /// `[recovery] data_dir`. It survives restarts, and front ends exchange their lists.
    #[serde(default)]
    pub revocations: Option<PathBuf>,
    /// `[frontend.limits]`: connection cap, timeouts, in-flight and body limits against hostile
    /// clients (docs/security.md); every field has a default.
    #[serde(default)]
    pub limits: dmtbs_frontend::Limits,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RmSection {
    pub id: RmId,
    pub addr: SocketAddr,
    /// Known-good modules in order of preference (file stems in `components`).
    pub modules: Vec<String>,
    /// HTTP listen address for `GET /metrics` (Prometheus text); none: no metrics served.
    #[serde(default)]
    pub metrics: Option<SocketAddr>,
}

/// Protocol timing, in milliseconds.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Timeouts {
    /// Voting deadline floor and ceiling (the deadline is ~2 × the slowest recent result).
    pub vote_floor_ms: u64,
    pub vote_ceiling_ms: u64,
    /// How long a front end waits for the sequencer's `Accepted` before resending.
    pub submit_retry_ms: u64,
    /// How long a front end keeps resending before giving up on a request.
    pub submit_give_up_ms: u64,
    /// Sequencer heartbeat interval.
    pub heartbeat_ms: u64,
    /// With a standby: how long the active sequencer must be silent before the other takes
    /// over (several heartbeats, so a late one or two is not a failure).
    pub sequencer_failover_ms: u64,
    /// How often an RM acknowledges and checks for gaps.
    pub rm_tick_ms: u64,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            vote_floor_ms: 50,
            vote_ceiling_ms: 2_000,
            submit_retry_ms: 100,
            submit_give_up_ms: 5_000,
            heartbeat_ms: 100,
            sequencer_failover_ms: 500,
            rm_tick_ms: 20,
        }
    }
}

impl Timeouts {
    pub fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }
}

/// Failure detection and recovery (docs/recovery.md).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Recovery {
    /// A checkpoint (state export + digest, exchanged among RMs; the base of recovery, durable
    /// snapshots and log truncation) after every this many requests. An export costs time in
    /// proportion to the state, so these are far apart.
    pub checkpoint_every: u64,
    /// A digest check (the digest each replica keeps up to date, rules §7.1, compared among
    /// RMs without an export) after every this many requests.
    pub digest_every: u64,
    /// Consecutive wrong results that make an RM quarantine its module and swap.
    pub strikes: u32,
    /// Consecutive silences (results later than the front end's deadline) that make an RM
    /// restart a merely slow replica; higher than `strikes`, since a replica lagging under load
    /// is silent for many requests in a row and a restart costs a replay.
    pub slow_strikes: u32,
    /// How long a probed RM has to answer before the prober judges it dead.
    pub probe_timeout_ms: u64,
    /// A replica inside one call longer than this is reported stuck when probed.
    pub hang_ms: u64,
    /// How long a state transfer from a peer may take before the next peer is tried.
    pub transfer_timeout_ms: u64,
    /// Where each RM keeps what must survive a restart (its durable log and snapshots, the
    /// quarantine list), one folder per RM (relative to the cluster file).
    pub data_dir: PathBuf,
    /// Whether RMs keep their log and snapshots on disk (fsync before a result goes out). Off,
    /// they keep them in memory: a benchmark baseline, where a restart loses everything.
    pub durable: bool,
}

impl Default for Recovery {
    fn default() -> Self {
        Recovery {
            checkpoint_every: 10_000,
            digest_every: 1_000,
            strikes: 3,
            slow_strikes: 20,
            probe_timeout_ms: 500,
            hang_ms: 1_000,
            transfer_timeout_ms: 10_000,
            data_dir: "dmtbs-data".into(),
            durable: true,
        }
    }
}

fn default_time_zone() -> String {
    "America/Toronto".into()
}

fn default_quorum() -> usize {
    dmtbs_frontend::VoterConfig::DEFAULT_QUORUM
}

fn default_components() -> PathBuf {
    "replicas-wasm/target/components".into()
}

impl ClusterConfig {
    /// Parse and check a cluster file's text. Relative paths are resolved against `base`.
    pub fn parse(text: &str, base: &Path) -> Result<Self, ConfigError> {
        let mut config: ClusterConfig = toml::from_str(text)?;
        if config.cluster.components.is_relative() {
            config.cluster.components = base.join(&config.cluster.components);
        }
        if config.recovery.data_dir.is_relative() {
            config.recovery.data_dir = base.join(&config.recovery.data_dir);
        }
        for fe in &mut config.frontends {
            if let Some(path) = &fe.audit_log
                && path.is_relative()
            {
                fe.audit_log = Some(base.join(path));
            }
            if let Some(path) = &fe.revocations
                && path.is_relative()
            {
                fe.revocations = Some(base.join(path));
            }
        }
        config.check()?;
        Ok(config)
    }

    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        // Relative paths are read from the folder of the real file, so a symlink to a cluster
        // file (as `dmtbs up` leaves in its run directory) means the same cluster.
        let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
        let base = real.parent().unwrap_or(Path::new("."));
        let config = Self::parse(&text, base)?;
        // It holds the cluster's keys: like ssh with a private key, say so when others can
        // read it (a warning, not a refusal: the file is the operator's).
        if let Ok(meta) = std::fs::metadata(&real) {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                tracing::warn!(
                    "the cluster file {} holds the cluster's keys but is readable by others \
                     (mode {mode:o}): chmod 600 it",
                    real.display()
                );
            }
        }
        Ok(config)
    }

    fn check(&self) -> Result<(), ConfigError> {
        let invalid = |m: String| Err(ConfigError::Invalid(m));
        self.check_secrets()?;
        if self.cluster.transport == TransportMode::Multicast
            && self.cluster.multicast_group.is_none()
        {
            return invalid("transport = \"multicast\" needs multicast_group".into());
        }
        if let Some(group) = self.cluster.multicast_group
            && !group.ip().is_multicast()
        {
            return invalid(format!(
                "multicast_group {group} is not a multicast address"
            ));
        }
        if self.rms.is_empty() || self.frontends.is_empty() {
            return invalid("a cluster needs at least one [[rm]] and one [[frontend]]".into());
        }
        let quorum = self.cluster.quorum;
        if !(1..=self.rms.len()).contains(&quorum) {
            return invalid(format!(
                "quorum = {quorum}: need 1 <= quorum <= {} (the number of [[rm]] entries)",
                self.rms.len()
            ));
        }
        if let Some(min) = self.cluster.min_implementations
            && !(1..=self.rms.len()).contains(&min)
        {
            return invalid(format!(
                "min_implementations = {min}: need 1 <= min_implementations <= {} (the number \
                 of [[rm]] entries)",
                self.rms.len()
            ));
        }
        let mut rm_ids: Vec<RmId> = self.rms.iter().map(|r| r.id).collect();
        rm_ids.sort_unstable();
        rm_ids.dedup();
        if rm_ids.len() != self.rms.len() {
            return invalid("two [[rm]] entries share an id".into());
        }
        let mut fe_ids: Vec<FeId> = self.frontends.iter().map(|f| f.id).collect();
        fe_ids.sort_unstable();
        fe_ids.dedup();
        if fe_ids.len() != self.frontends.len() {
            return invalid("two [[frontend]] entries share an id".into());
        }
        if let Some(rm) = self.rms.iter().find(|r| r.modules.is_empty()) {
            return invalid(format!("rm {} lists no modules", rm.id));
        }
        if self.cluster.time_zone.parse::<chrono_tz::Tz>().is_err() {
            return invalid(format!("unknown time zone {:?}", self.cluster.time_zone));
        }
        if let Some(day) = &self.cluster.today
            && chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").is_err()
        {
            return invalid(format!("today = {day:?} is not a YYYY-MM-DD date"));
        }
        let t = &self.timeouts;
        if t.vote_floor_ms == 0 || t.vote_floor_ms > t.vote_ceiling_ms {
            return invalid("timeouts: need 0 < vote_floor_ms <= vote_ceiling_ms".into());
        }
        if let Some(standby) = &self.standby {
            let clash = self.sequencer.addr == standby.addr
                || self.frontends.iter().any(|f| f.addr == standby.addr)
                || self.rms.iter().any(|r| r.addr == standby.addr);
            if clash {
                return invalid(format!(
                    "the standby's addr {} is another node's: every node needs an address of its own",
                    standby.addr
                ));
            }
            if t.sequencer_failover_ms < 2 * t.heartbeat_ms {
                return invalid(format!(
                    "timeouts: sequencer_failover_ms = {} is under two heartbeats ({} ms): a \
                     standby would take over from a sequencer that is merely a heartbeat late",
                    t.sequencer_failover_ms,
                    2 * t.heartbeat_ms
                ));
            }
        }
        let r = &self.recovery;
        if r.checkpoint_every == 0 || r.digest_every == 0 || r.strikes == 0 || r.slow_strikes == 0 {
            return invalid(
                "recovery: checkpoint_every, digest_every, strikes and slow_strikes must be at \
                 least 1"
                    .into(),
            );
        }
        // An RM replays from its stable checkpoint with the requests its log retains; the
        // stable checkpoint trails the newest requests by up to two intervals.
        let retained = dmtbs_delivery::DEFAULT_LOG_LIMIT as u64;
        if r.checkpoint_every > retained / 2 {
            return invalid(format!(
                "recovery: checkpoint_every = {} is more than half the {retained} requests a \
                 replica manager's log retains: a replica replaced between checkpoints could not \
                 replay from the last one (at most {})",
                r.checkpoint_every,
                retained / 2
            ));
        }
        self.check_metrics_addresses()
    }

    /// No cluster starts on a published or guessable secret: the embedded default's
    /// placeholders (`dmtbs up` replaces them with fresh random keys), a cluster key that is not
    /// random (fewer than [`MIN_KEY_DIGITS`] distinct hex digits: all zeros, a repeated byte),
    /// or an admin key shorter than [`MIN_ADMIN_KEY`]. The errors never show a key.
    fn check_secrets(&self) -> Result<(), ConfigError> {
        let how = "`dmtbs up` without --config makes fresh keys; for a cluster file of your own, \
                   generate them, e.g. `openssl rand -hex 32`";
        let distinct = |key: &ClusterKey| {
            let mut digits: Vec<char> = key.to_hex().chars().collect();
            digits.sort_unstable();
            digits.dedup();
            digits.len()
        };
        let digits = distinct(&self.cluster.key);
        if digits < MIN_KEY_DIGITS {
            return Err(ConfigError::Invalid(format!(
                "[cluster] key is not a random key (it uses only {digits} distinct hex digits, \
                 like the published all-zero placeholder): anyone could forge and read the \
                 cluster's traffic. {how}"
            )));
        }
        if let Some(token_key) = &self.cluster.token_key {
            let digits = distinct(token_key);
            if digits < MIN_KEY_DIGITS {
                return Err(ConfigError::Invalid(format!(
                    "[cluster] token_key is not a random key (it uses only {digits} distinct hex \
                     digits, like the published all-zero placeholder): anyone could make a token \
                     for any user. {how}"
                )));
            }
        }
        let admin = &self.cluster.admin_key;
        if PUBLISHED_ADMIN_KEYS.contains(&admin.as_str()) {
            return Err(ConfigError::Invalid(format!(
                "[cluster] admin_key is the published placeholder {admin:?}: anyone could act as \
                 every admin. {how}"
            )));
        }
        if admin.chars().count() < MIN_ADMIN_KEY {
            return Err(ConfigError::Invalid(format!(
                "[cluster] admin_key is shorter than {MIN_ADMIN_KEY} characters: too easy to \
                 guess. {how}"
            )));
        }
        Ok(())
    }

    /// Every metrics listener needs an address of its own: one shared with another node's
    /// address (UDP, state transfer, HTTP or metrics) would fail to bind, or answer for the wrong
    /// node, only when the cluster starts.
    fn check_metrics_addresses(&self) -> Result<(), ConfigError> {
        let mut taken: Vec<(SocketAddr, String)> =
            vec![(self.sequencer.addr, "the sequencer's addr".into())];
        if let Some(standby) = &self.standby {
            taken.push((standby.addr, "the standby's addr".into()));
        }
        for fe in &self.frontends {
            taken.push((fe.addr, format!("frontend {}'s addr", fe.id)));
            taken.push((fe.http, format!("frontend {}'s http", fe.id)));
        }
        for rm in &self.rms {
            taken.push((rm.addr, format!("rm {}'s addr", rm.id)));
        }
        let metrics =
            std::iter::once((self.sequencer.metrics, "the sequencer's metrics".to_owned()))
                .chain(
                    self.standby
                        .iter()
                        .map(|s| (s.metrics, "the standby's metrics".to_owned())),
                )
                .chain(
                    self.rms
                        .iter()
                        .map(|r| (r.metrics, format!("rm {}'s metrics", r.id))),
                );
        for (addr, name) in metrics {
            let Some(addr) = addr else { continue };
            // Port 0 asks the OS for any free port: never a clash.
            if addr.port() != 0
                && let Some((_, other)) = taken.iter().find(|(a, _)| *a == addr)
            {
                return Err(ConfigError::Invalid(format!(
                    "{name} address {addr} is also {other}: every node needs addresses of its own"
                )));
            }
            taken.push((addr, name));
        }
        Ok(())
    }

    /// The key user tokens are made and verified with: `[cluster] token_key`, or one derived
    /// from the cluster key.
    pub fn token_key(&self) -> dmtbs_frontend::TokenKey {
        let key = self.cluster.token_key.as_ref().unwrap_or(&self.cluster.key);
        // `to_hex` writes 64 hex digits.
        let bytes: [u8; 32] = hex::decode(key.to_hex())
            .expect("hex digits")
            .try_into()
            .expect("32 bytes");
        match self.cluster.token_key {
            Some(_) => dmtbs_frontend::TokenKey::from_bytes(&bytes),
            None => dmtbs_frontend::TokenKey::derive(&bytes),
        }
    }

    /// Tokens for any user, made in this process with the cluster's token key — each user's
    /// once, valid a day — or none for a malformed user ID. For tools and tests that act as many
    /// users and hold the cluster file (which can make any token anyway): a load generator, the
    /// test suites. Fits `dmtbs_client::ClientBuilder::tokens`.
    pub fn mint_tokens(&self) -> TokenMinter {
        let key = self.token_key();
        let made = std::sync::Mutex::new(std::collections::HashMap::<String, String>::new());
        std::sync::Arc::new(move |actor: &str| {
            let user = dmtbs_frontend::validate::user_id("actor", actor).ok()?;
            let mut made = made.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(token) = made.get(&user) {
                return Some(token.clone());
            }
            let token = key.issue(&user, Duration::from_secs(24 * 3600)).ok()?.token;
            made.insert(user, token.clone());
            Some(token)
        })
    }

    /// Where front end `fe` keeps its revocation list.
    pub fn revocations_path(&self, fe: FeId) -> PathBuf {
        self.frontend(fe)
            .and_then(|f| f.revocations.clone())
            .unwrap_or_else(|| {
                self.recovery
                    .data_dir
                    .join(format!("fe-{fe}"))
                    .join("revocations.json")
            })
    }

    /// The folder where RM `rm` keeps what survives its restarts.
    pub fn rm_data_dir(&self, rm: RmId) -> PathBuf {
        self.recovery.data_dir.join(format!("rm-{rm}"))
    }

    /// The cluster's sequencers: the sequencer, and the standby if one is named.
    pub fn sequencers(&self) -> Vec<NodeId> {
        let mut all = vec![NodeId::Sequencer];
        if self.standby.is_some() {
            all.push(NodeId::Standby);
        }
        all
    }

    /// The section of sequencer `node` (the sequencer's or the standby's).
    pub fn sequencer_section(&self, node: NodeId) -> Option<&SequencerSection> {
        match node {
            NodeId::Sequencer => Some(&self.sequencer),
            NodeId::Standby => self.standby.as_ref(),
            _ => None,
        }
    }

    pub fn rm_ids(&self) -> Vec<RmId> {
        self.rms.iter().map(|r| r.id).collect()
    }

    pub fn rm(&self, id: RmId) -> Option<&RmSection> {
        self.rms.iter().find(|r| r.id == id)
    }

    pub fn frontend(&self, id: FeId) -> Option<&FrontEndSection> {
        self.frontends.iter().find(|f| f.id == id)
    }

    /// The UDP address of a node.
    pub fn addr_of(&self, node: NodeId) -> Option<SocketAddr> {
        match node {
            NodeId::Sequencer => Some(self.sequencer.addr),
            NodeId::Standby => self.standby.as_ref().map(|s| s.addr),
            NodeId::FrontEnd(id) => self.frontend(id).map(|f| f.addr),
            NodeId::Rm(id) => self.rm(id).map(|r| r.addr),
        }
    }

    /// The node a datagram's source address belongs to (datagrams also name their sender inside
    /// the MAC; drivers check the two agree).
    pub fn node_at(&self, addr: SocketAddr) -> Option<NodeId> {
        if self.sequencer.addr == addr {
            return Some(NodeId::Sequencer);
        }
        if self.standby.as_ref().is_some_and(|s| s.addr == addr) {
            return Some(NodeId::Standby);
        }
        if let Some(f) = self.frontends.iter().find(|f| f.addr == addr) {
            return Some(NodeId::FrontEnd(f.id));
        }
        self.rms
            .iter()
            .find(|r| r.addr == addr)
            .map(|r| NodeId::Rm(r.id))
    }
}

impl ClusterConfig {
    /// `[cluster] min_implementations`, or the number of RMs: a swap that puts a module another
    /// RM runs onto one more RM is refused (without `force`) when fewer distinct implementations
    /// than this would remain — by default any such swap, since two RMs on one implementation
    /// can agree on its bug and outvote the correct ones.
    pub fn min_implementations(&self) -> usize {
        self.cluster.min_implementations.unwrap_or(self.rms.len())
    }
}

#[cfg(test)]
mod tests;
