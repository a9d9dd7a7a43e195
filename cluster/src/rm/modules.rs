//! Which module an RM runs: its configured list of known-good modules, minus the quarantine, and
//! the module it last ran.
//!
//! The quarantine is cluster-wide: an RM that judges a module faulty adds it here and tells its
//! peers, who add it too. Each RM persists the list in its data folder, so a restarted RM never
//! loads a quarantined module again; only an operator clears it.
//!
//! The cluster file's `modules` list is the *initial* choice. Every replacement that takes
//! effect — an operator's swap, or a swap after three wrong results — is remembered in the data
//! folder (`module.json`), and a restarted RM runs that module again rather than silently going
//! back to the list's first; only if it no longer loads (deleted, quarantined meanwhile) does the
//! RM fall back to the list, saying why.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use dmtbs_host::{Limits, ReplicaModule, Runtime};
use dmtbs_proto::{QuarantineEntry, RmId};

use crate::config::ClusterConfig;

/// The quarantined modules, by hash, persisted as JSON.
pub struct Quarantine {
    path: PathBuf,
    entries: BTreeMap<String, QuarantineEntry>,
}

impl Quarantine {
    /// The list stored at `path` (none yet: empty). A file that is not a quarantine list is an
    /// error: silently forgetting a quarantine would let a faulty module back in.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let entries = match std::fs::read(path) {
            Ok(bytes) => {
                let list: Vec<QuarantineEntry> = serde_json::from_slice(&bytes).map_err(|e| {
                    anyhow::anyhow!("quarantine list {} is unreadable: {e}", path.display())
                })?;
                list.into_iter().map(|e| (e.hash.clone(), e)).collect()
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => anyhow::bail!("cannot read quarantine list {}: {e}", path.display()),
        };
        Ok(Quarantine {
            path: path.to_owned(),
            entries,
        })
    }

    pub fn contains(&self, hash: &str) -> bool {
        self.entries.contains_key(hash)
    }

    pub fn list(&self) -> Vec<QuarantineEntry> {
        self.entries.values().cloned().collect()
    }

    /// Adds an entry (a module already in keeps its first entry); true if it is new.
    pub fn add(&mut self, entry: QuarantineEntry) -> bool {
        if self.entries.contains_key(&entry.hash) {
            return false;
        }
        tracing::warn!(
            module = entry.module,
            hash = entry.hash,
            reason = entry.reason,
            by = entry.by,
            "module quarantined"
        );
        self.entries.insert(entry.hash.clone(), entry);
        self.persist();
        true
    }

    /// Clears the entries whose module name or hash is `which` (`None`: every entry).
    pub fn clear(&mut self, which: Option<&str>) -> Vec<QuarantineEntry> {
        let removed: Vec<QuarantineEntry> = self
            .entries
            .values()
            .filter(|e| which.is_none_or(|w| e.module == w || e.hash == w))
            .cloned()
            .collect();
        for e in &removed {
            self.entries.remove(&e.hash);
            tracing::info!(module = e.module, "quarantine cleared");
        }
        if !removed.is_empty() {
            self.persist();
        }
        removed
    }

    /// Writes the list (to a temporary file renamed into place, so a crash never leaves half a
    /// list), owner-only like everything in an RM's data folder. A failure is logged: the list in
    /// memory still holds.
    fn persist(&self) {
        let list: Vec<&QuarantineEntry> = self.entries.values().collect();
        let write =
            || dmtbs_frontend::auth::write_private(&self.path, &serde_json::to_vec_pretty(&list)?);
        if let Err(e) = write() {
            tracing::error!(path = %self.path.display(), error = %e, "cannot persist the quarantine list");
        }
    }
}

/// The module an RM ran last, as `module.json` keeps it.
#[derive(Debug, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
struct Current {
    module: String,
    hash: String,
}

/// An RM's modules: the wasm runtime, its configured list, the quarantine and the module it
/// last ran.
pub struct Modules {
    runtime: Runtime,
    dir: PathBuf,
    list: Vec<String>,
    pub quarantine: Quarantine,
    /// Where the module last run is remembered.
    current: PathBuf,
}

impl Modules {
    pub fn new(config: &ClusterConfig, rm: RmId) -> anyhow::Result<Self> {
        let section = config
            .rm(rm)
            .ok_or_else(|| anyhow::anyhow!("rm {rm} is not in the cluster configuration"))?;
        let dir = config.cluster.components.clone();
        let runtime = Runtime::new(Limits::default(), Some(dir.join("../compiled")))?;
        let quarantine = Quarantine::load(&config.rm_data_dir(rm).join("quarantine.json"))?;
        Ok(Modules {
            runtime,
            dir,
            list: section.modules.clone(),
            quarantine,
            current: config.rm_data_dir(rm).join("module.json"),
        })
    }

    /// The module to start with: the one this RM ran last, if it is remembered and still loads;
    /// else the first usable one of the configured list.
    pub fn preferred(&self) -> anyhow::Result<ReplicaModule> {
        let remembered = match std::fs::read(&self.current) {
            Ok(bytes) => match serde_json::from_slice::<Current>(&bytes) {
                Ok(current) => Some(current),
                Err(e) => {
                    tracing::warn!(
                        path = %self.current.display(),
                        error = %e,
                        "the module last run is unreadable; starting from the configured list"
                    );
                    None
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                tracing::warn!(
                    path = %self.current.display(),
                    error = %e,
                    "cannot read which module ran last; starting from the configured list"
                );
                None
            }
        };
        let Some(current) = remembered else {
            return self.first_usable();
        };
        match self.load(&current.module) {
            Ok(module) => {
                if module.hash() != current.hash {
                    tracing::warn!(
                        module = current.module,
                        "the module last run has changed on disk since (another hash): running \
                         the file there now"
                    );
                }
                Ok(module)
            }
            Err(e) => {
                tracing::warn!(
                    module = current.module,
                    error = %format!("{e:#}"),
                    "the module last run cannot be loaded again; starting from the configured list"
                );
                self.first_usable()
            }
        }
    }

    /// Remembers that `name` (hash `hash`) now runs: a restart runs it again. Written to a
    /// temporary file renamed into place, owner-only; a failure is logged (the RM runs on, and
    /// a restart would start from the configured list).
    pub fn remember(&self, name: &str, hash: &str) {
        let current = Current {
            module: name.to_owned(),
            hash: hash.to_owned(),
        };
        let write = || {
            dmtbs_frontend::auth::write_private(
                &self.current,
                &serde_json::to_vec_pretty(&current)?,
            )
        };
        if let Err(e) = write() {
            tracing::error!(
                path = %self.current.display(),
                error = %e,
                "cannot remember which module runs; a restart would start from the configured list"
            );
        }
    }

    /// Loads module `name` (a file stem in the components folder), refusing a quarantined one.
    pub fn load(&self, name: &str) -> anyhow::Result<ReplicaModule> {
        if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
            anyhow::bail!("{name:?} is not a module name (a file stem in the components folder)");
        }
        let module =
            ReplicaModule::from_file(&self.runtime, &self.dir.join(format!("{name}.wasm")))?;
        if self.quarantine.contains(module.hash()) {
            anyhow::bail!("module {name} is quarantined");
        }
        Ok(module)
    }

    /// The first module of the configured list that is not quarantined and loads.
    pub fn first_usable(&self) -> anyhow::Result<ReplicaModule> {
        let mut errors = Vec::new();
        for name in &self.list {
            match self.load(name) {
                Ok(module) => return Ok(module),
                Err(e) => errors.push(format!("{e:#}")),
            }
        }
        anyhow::bail!("no module of the list is usable: {}", errors.join("; "))
    }
}
