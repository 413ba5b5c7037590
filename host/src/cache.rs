use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::PathBuf;

use wasmtime::Engine;
use wasmtime::component::Component;

use crate::LoadError;

/// Compiled components on disk, keyed by the component's content hash and the engine's
/// compatibility hash (wasmtime version, target, settings), so a stale or foreign artifact
/// is never loaded.
pub(crate) struct ComponentCache {
    dir: PathBuf,
    engine_key: u64,
}

impl ComponentCache {
    pub(crate) fn new(dir: PathBuf, engine: &Engine) -> Self {
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        Self { dir, engine_key: hasher.finish() }
    }

    pub(crate) fn get_or_compile(&self, engine: &Engine, bytes: &[u8]) -> Result<Component, LoadError> {
        let path = self.dir.join(format!("{}-{:016x}.cwasm", blake3::hash(bytes).to_hex(), self.engine_key));
        if path.exists() {
            // SAFETY: files in the cache dir are written only by `store` below, from
            // `Component::serialize` of an engine with the same compatibility hash (part of
            // the file name). A corrupt file fails to deserialize and is recompiled.
            if let Ok(component) = unsafe { Component::deserialize_file(engine, &path) } {
                return Ok(component);
            }
        }
        let component = Component::new(engine, bytes).map_err(LoadError::Invalid)?;
        self.store(&path, &component);
        Ok(component)
    }

    /// Best effort: a cache that cannot be written only costs compile time.
    fn store(&self, path: &std::path::Path, component: &Component) {
        let Ok(bytes) = component.serialize() else { return };
        if std::fs::create_dir_all(&self.dir).is_err() {
            return;
        }
        // Write then rename, so a concurrent reader never sees half a file.
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        if std::fs::write(&tmp, bytes).is_ok() && std::fs::rename(&tmp, path).is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
    }
}
