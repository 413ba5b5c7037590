use std::fs::File;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};

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
        if let Some(component) = load(engine, &path) {
            return Ok(component);
        }
        // One compiler per artifact: processes and threads that want the same component at
        // once wait for the first instead of all compiling it (a Python component takes
        // ~15 s). Without a lock file (read-only cache) everyone compiles, as before.
        let _lock = self.lock(&path);
        if let Some(component) = load(engine, &path) {
            return Ok(component);
        }
        let component = Component::new(engine, bytes).map_err(LoadError::Invalid)?;
        self.store(&path, &component);
        Ok(component)
    }

    /// An exclusive lock on `<artifact>.lock`, held until the guard is dropped.
    fn lock(&self, path: &Path) -> Option<CompileLock> {
        std::fs::create_dir_all(&self.dir).ok()?;
        let path = path.with_extension("lock");
        let file = File::options().create(true).truncate(false).write(true).open(&path).ok()?;
        file.lock().ok()?;
        Some(CompileLock { _file: file, path })
    }

    /// Best effort: a cache that cannot be written only costs compile time.
    fn store(&self, path: &Path, component: &Component) {
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

/// The artifact at `path`, if there is a good one.
fn load(engine: &Engine, path: &Path) -> Option<Component> {
    if !path.exists() {
        return None;
    }
    // SAFETY: files in the cache dir are written only by `ComponentCache::store`, from
    // `Component::serialize` of an engine with the same compatibility hash (part of the file
    // name), by rename (never seen half-written). A corrupt file fails to deserialize and is
    // recompiled.
    unsafe { Component::deserialize_file(engine, path) }.ok()
}

/// Held while compiling one artifact. Dropping it removes the lock file, so the cache holds
/// only artifacts; a process that opened the file before that still waits on it, then finds
/// the artifact written.
struct CompileLock {
    _file: File,
    path: PathBuf,
}

impl Drop for CompileLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
