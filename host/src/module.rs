//! Loading a replica component: compile (or reuse a cached artifact), refuse any import beyond
//! the deterministic WASI allow-list, and
//! pre-instantiate so that new instances are cheap.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker};

use crate::contract::ReplicaWorldPre;
use crate::instance::StoreData;
use crate::runtime::Runtime;

/// Why a module could not be loaded. Nothing is instantiated when loading fails.
#[derive(Debug, thiserror::Error)]
pub enum ModuleError {
    #[error("cannot read replica module {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{name} is not a valid WebAssembly component: {reason}")]
    Invalid { name: String, reason: String },
    #[error(
        "{name} is refused: a replica may import only the WASI interfaces std needs (cli, \
         clocks, io, random, filesystem — served closed and deterministic), but it imports {}; \
         remove what uses them (networking, HTTP, other hosts' interfaces)",
        imports.join(", ")
    )]
    HasImports { name: String, imports: Vec<String> },
    #[error("{name} does not implement the replica contract (wit/replica.wit): {reason}")]
    WrongContract { name: String, reason: String },
}

/// A loaded, verified replica component, ready to instantiate. Cheap to clone.
#[derive(Clone)]
pub struct ReplicaModule {
    pub(crate) runtime: Runtime,
    pub(crate) pre: ReplicaWorldPre<StoreData>,
    name: String,
    hash: String,
    /// What it imports (all on the WASI allow-list); empty for a pure module.
    imports: Vec<String>,
}

impl std::fmt::Debug for ReplicaModule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplicaModule")
            .field("name", &self.name)
            .field("hash", &self.hash)
            .finish()
    }
}

impl ReplicaModule {
    /// Load a component file. Its name is the file stem (`replica_a.wasm` → `replica_a`).
    pub fn from_file(runtime: &Runtime, path: &Path) -> Result<Self, ModuleError> {
        let bytes = std::fs::read(path).map_err(|source| ModuleError::Read {
            path: path.to_owned(),
            source,
        })?;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        Self::from_bytes(runtime, &name, &bytes)
    }

    /// Load a component from bytes (binary or, for tests, the component text format).
    pub fn from_bytes(runtime: &Runtime, name: &str, bytes: &[u8]) -> Result<Self, ModuleError> {
        let hash = hex::encode(Sha256::digest(bytes));
        let component = compile_cached(runtime, name, &hash, bytes)?;

        // Purity: a replica may not reach anything outside its sandbox. Name every import
        // beyond the allow-list so the author sees exactly what the module wanted.
        let imports: Vec<String> = component
            .component_type()
            .imports(runtime.engine())
            .map(|(import, _)| import.to_string())
            .collect();
        let refused: Vec<String> = imports
            .iter()
            .filter(|name| !crate::wasi::allowed(name))
            .cloned()
            .collect();
        if !refused.is_empty() {
            return Err(ModuleError::HasImports {
                name: name.to_owned(),
                imports: refused,
            });
        }

        // A module with no imports gets an empty linker, as before; one that imports WASI gets
        // the closed, deterministic implementation (crate::wasi).
        let mut linker = Linker::<StoreData>::new(runtime.engine());
        if !imports.is_empty() {
            crate::wasi::link(&mut linker).map_err(|e| ModuleError::Invalid {
                name: name.to_owned(),
                reason: format!("linking WASI: {e:#}"),
            })?;
        }
        let wrong = |e: wasmtime::Error| ModuleError::WrongContract {
            name: name.to_owned(),
            reason: format!("{e:#}"),
        };
        let instance_pre = linker.instantiate_pre(&component).map_err(wrong)?;
        let pre = ReplicaWorldPre::new(instance_pre).map_err(wrong)?;
        Ok(ReplicaModule {
            runtime: runtime.clone(),
            pre,
            name: name.to_owned(),
            hash,
            imports,
        })
    }

    /// The WASI interfaces the module imports (served closed and deterministic); empty for a
    /// module with no imports at all.
    pub fn imports(&self) -> &[String] {
        &self.imports
    }

    /// The module's name (its file stem).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// SHA-256 of the component's bytes, hex: identifies a module across the cluster.
    pub fn hash(&self) -> &str {
        &self.hash
    }
}

/// Compile `bytes`, reusing an artifact from the runtime's cache directory when one matches.
/// Artifacts are keyed by the module's hash and the engine's compatibility hash (wasmtime version,
/// target, compiler flags, tunables, features), because an artifact is only valid for exactly those.
fn compile_cached(
    runtime: &Runtime,
    name: &str,
    hash: &str,
    bytes: &[u8],
) -> Result<Component, ModuleError> {
    let engine = runtime.engine();
    let invalid = |e: wasmtime::Error| ModuleError::Invalid {
        name: name.to_owned(),
        reason: format!("{e:#}"),
    };
    let Some(dir) = &runtime.inner.cache_dir else {
        return Component::new(engine, bytes).map_err(invalid);
    };
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    let artifact = dir.join(format!("{hash}-{:016x}.cwasm", hasher.finish()));
    if artifact.exists() {
        // SAFETY: the artifact was written by `Component::serialize` into our own cache, and its
        // name binds it to this module and engine; wasmtime also checks the header. A corrupt
        // file fails to deserialize and is recompiled below.
        match unsafe { Component::deserialize_file(engine, &artifact) } {
            Ok(component) => return Ok(component),
            Err(e) => {
                tracing::warn!(artifact = %artifact.display(), error = %e, "stale artifact; recompiling")
            }
        }
    }
    let component = Component::new(engine, bytes).map_err(invalid)?;
    // The cache is an optimisation: failing to write it is logged, never fatal.
    if let Err(e) = write_artifact(&component, dir, &artifact) {
        tracing::warn!(artifact = %artifact.display(), error = %e, "could not cache compiled module");
    }
    Ok(component)
}

fn write_artifact(component: &Component, dir: &Path, artifact: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let bytes = component.serialize().map_err(anyhow::Error::from)?;
    // Write then rename, so a concurrent reader never sees half a file.
    let tmp = artifact.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, artifact)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Limits;

    #[test]
    fn compiled_artifacts_are_cached_and_a_corrupt_one_is_recompiled() {
        let dir = tempfile::tempdir().expect("temp dir");
        let runtime =
            Runtime::new(Limits::default(), Some(dir.path().to_owned())).expect("runtime");
        let component = b"(component)";
        // Not a replica (no exports), but compiled — and cached — before the contract check.
        let err = ReplicaModule::from_bytes(&runtime, "empty", component).unwrap_err();
        assert!(matches!(err, ModuleError::WrongContract { .. }), "{err}");
        let artifacts: Vec<_> = std::fs::read_dir(dir.path())
            .expect("cache dir exists")
            .map(|e| e.expect("entry").path())
            .collect();
        assert_eq!(artifacts.len(), 1, "{artifacts:?}");
        assert!(artifacts[0].to_string_lossy().ends_with(".cwasm"));

        std::fs::write(&artifacts[0], b"garbage").expect("corrupt it");
        let err = ReplicaModule::from_bytes(&runtime, "empty", component).unwrap_err();
        assert!(matches!(err, ModuleError::WrongContract { .. }), "{err}");
        assert_ne!(std::fs::read(&artifacts[0]).expect("rewritten"), b"garbage");
    }

    #[test]
    fn an_unreadable_file_is_a_clear_error() {
        let runtime = Runtime::new(Limits::default(), None).expect("runtime");
        let err =
            ReplicaModule::from_file(&runtime, Path::new("/nonexistent/replica.wasm")).unwrap_err();
        assert!(
            err.to_string().contains("/nonexistent/replica.wasm"),
            "{err}"
        );
    }
}
