use std::fmt;
use std::fs::{DirBuilder, File, Metadata};
use std::hash::{Hash, Hasher};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use wasmtime::Engine;
use wasmtime::component::Component;

use crate::LoadError;

/// What the compile cache did when a component was loaded ([`Env::cache_outcome`]).
///
/// [`Env::cache_outcome`]: crate::Env::cache_outcome
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CacheOutcome {
    /// No cache directory is configured: compiled in memory.
    Disabled,
    /// Loaded from a cached artifact that passed every check.
    Hit,
    /// Not cached yet: compiled, and stored for next time.
    Compiled,
    /// The cached artifact was unusable (`reason`): deleted, compiled afresh, stored again.
    Recompiled { reason: String },
    /// The cache could not be trusted or written (`reason`): compiled in memory.
    Bypassed { reason: String },
}

impl CacheOutcome {
    /// Whether a user should hear about it: the cache did not work as it should.
    pub fn is_warning(&self) -> bool {
        matches!(self, Self::Recompiled { .. } | Self::Bypassed { .. })
    }
}

impl fmt::Display for CacheOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Disabled => f.write_str("compiled (no compile cache)"),
            Self::Hit => f.write_str("loaded from the compile cache"),
            Self::Compiled => f.write_str("compiled and cached"),
            Self::Recompiled { reason } => write!(f, "recompiled, the cached artifact was bad: {reason}"),
            Self::Bypassed { reason } => write!(f, "compile cache not used: {reason}"),
        }
    }
}

/// Compiled components on disk, keyed by the component's content hash and the engine's
/// compatibility hash (wasmtime version, target, settings), so a stale or foreign artifact
/// is never loaded.
///
/// Nothing is read from disk and run unless, as ssh does for its keys, the directory and the
/// file are owned by this user and writable by no one else, and the file's bytes match the
/// digest stored with them. An artifact file is a header — [`MAGIC`], the blake3 of the
/// component it was compiled from, the payload's length (u64, little endian) and the
/// payload's blake3 — then the payload (`Component::serialize`'s bytes). One file rather
/// than a digest beside it, so one rename publishes both and no reader sees half a pair.
pub(crate) struct ComponentCache {
    dir: PathBuf,
    /// Hex blake3 of the engine's compatibility hash.
    engine_key: String,
}

/// The first bytes of an artifact file (the last one a format version).
const MAGIC: &[u8; 8] = b"codegym\x01";

/// Distinguishes temporary files of one process's threads.
static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// What was found at an artifact's path.
enum Lookup {
    Hit(Component),
    Missing,
    /// Unusable (torn, corrupt, refused by wasmtime): delete and recompile.
    Bad(String),
    /// Not ours to judge (owned by another user, or writable by others): leave it alone.
    Untrusted(String),
}

impl ComponentCache {
    pub(crate) fn new(dir: PathBuf, engine: &Engine) -> Self {
        let mut hasher = Blake3Hasher(blake3::Hasher::new());
        engine.precompile_compatibility_hash().hash(&mut hasher);
        Self { dir, engine_key: hasher.0.finalize().to_hex().to_string() }
    }

    pub(crate) fn get_or_compile(
        &self,
        engine: &Engine,
        bytes: &[u8],
    ) -> Result<(Component, CacheOutcome), LoadError> {
        if let Err(reason) = self.open_dir() {
            return Ok((compile(engine, bytes)?, CacheOutcome::Bypassed { reason }));
        }
        let source = blake3::hash(bytes);
        let path = self.dir.join(format!("{}-{}.cwasm", source.to_hex(), self.engine_key));
        match lookup(engine, &path, &source) {
            Lookup::Hit(component) => return Ok((component, CacheOutcome::Hit)),
            Lookup::Untrusted(reason) => {
                return Ok((compile(engine, bytes)?, CacheOutcome::Bypassed { reason }));
            }
            // Judged again under the lock: another process may be replacing it right now.
            Lookup::Missing | Lookup::Bad(_) => {}
        }
        // One compiler per artifact: processes and threads that want the same component at
        // once wait for the first instead of all compiling it (a Python component takes
        // ~15 s). Without a lock file (read-only cache) everyone compiles, as before.
        let _lock = self.lock(&path);
        let bad = match lookup(engine, &path, &source) {
            Lookup::Hit(component) => return Ok((component, CacheOutcome::Hit)),
            Lookup::Untrusted(reason) => {
                return Ok((compile(engine, bytes)?, CacheOutcome::Bypassed { reason }));
            }
            Lookup::Missing => None,
            Lookup::Bad(reason) => {
                // Best effort: storing afresh replaces it anyway.
                let _ = std::fs::remove_file(&path);
                Some(reason)
            }
        };
        let component = compile(engine, bytes)?;
        let outcome = match (bad, store(&path, &source, &component)) {
            (None, Ok(())) => CacheOutcome::Compiled,
            (None, Err(reason)) => CacheOutcome::Bypassed { reason },
            (Some(reason), Ok(())) => CacheOutcome::Recompiled { reason },
            (Some(reason), Err(error)) => {
                CacheOutcome::Recompiled { reason: format!("{reason}; then {error}") }
            }
        };
        Ok((component, outcome))
    }

    /// Create the directory if need be (mode 0700, as are the parents created with it),
    /// then check that it is one this user alone can write.
    fn open_dir(&self) -> Result<(), String> {
        let dir = &self.dir;
        let metadata = match std::fs::metadata(dir) {
            Err(error) if error.kind() == ErrorKind::NotFound => {
                DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(dir)
                    .map_err(|error| format!("cannot create {}: {error}", dir.display()))?;
                std::fs::metadata(dir)
            }
            result => result,
        }
        .map_err(|error| format!("cannot read {}: {error}", dir.display()))?;
        if !metadata.is_dir() {
            return Err(format!("{} is not a directory", dir.display()));
        }
        check_private(dir, &metadata, "chmod 700")
    }

    /// An exclusive lock on `<artifact>.lock`, held until the guard is dropped.
    fn lock(&self, path: &Path) -> Option<CompileLock> {
        let path = path.with_extension("lock");
        let file = File::options().create(true).truncate(false).write(true).mode(0o600).open(&path).ok()?;
        file.lock().ok()?;
        Some(CompileLock { _file: file, path })
    }
}

fn compile(engine: &Engine, bytes: &[u8]) -> Result<Component, LoadError> {
    Component::new(engine, bytes).map_err(LoadError::Invalid)
}

/// Owned by this user (the effective uid) and writable by no one else, or why not.
fn check_private(path: &Path, metadata: &Metadata, fix: &str) -> Result<(), String> {
    let uid = effective_uid();
    if metadata.uid() != uid {
        return Err(format!(
            "{} is owned by uid {}, not by this user (uid {uid})",
            path.display(),
            metadata.uid()
        ));
    }
    let mode = metadata.mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(format!(
            "{} is writable by group or others (mode {mode:o}; `{fix} {}` fixes it)",
            path.display(),
            path.display()
        ));
    }
    Ok(())
}

fn effective_uid() -> u32 {
    // SAFETY: `geteuid` takes no arguments, touches no memory of ours and cannot fail
    // (POSIX: "shall always be successful").
    unsafe { libc::geteuid() }
}

/// Read, check and deserialize the artifact at `path`, compiled from `source`.
fn lookup(engine: &Engine, path: &Path, source: &blake3::Hash) -> Lookup {
    // No symlinks, and no blocking on a FIFO; checks below are on the opened file itself.
    let opened = File::options().read(true).custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK).open(path);
    let mut file = match opened {
        Ok(file) => file,
        Err(error) if error.kind() == ErrorKind::NotFound => return Lookup::Missing,
        Err(error) => return Lookup::Bad(format!("cannot open {}: {error}", path.display())),
    };
    let metadata = match file.metadata() {
        Ok(metadata) => metadata,
        Err(error) => return Lookup::Bad(format!("cannot stat {}: {error}", path.display())),
    };
    if !metadata.is_file() {
        return Lookup::Bad(format!("{} is not a regular file", path.display()));
    }
    if let Err(reason) = check_private(path, &metadata, "rm") {
        return Lookup::Untrusted(reason);
    }
    let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
    if let Err(error) = file.read_to_end(&mut bytes) {
        return Lookup::Bad(format!("cannot read {}: {error}", path.display()));
    }
    let payload = match verified_payload(&bytes, source) {
        Ok(payload) => payload,
        Err(reason) => return Lookup::Bad(format!("{}: {reason}", path.display())),
    };
    // SAFETY: `Component::deserialize` runs the native code in `payload`, so it must be what
    // `Component::serialize` produced for an engine like ours (wasmtime itself checks the
    // compatibility, not the code). It is:
    // - `payload` is in memory we own and `deserialize` copies it, so the bytes checked are
    //   the bytes run: nothing can change them after the check;
    // - its length and blake3 match the header `store` wrote in front of `serialize`'s
    //   output, so a torn, truncated or corrupted file never gets here, and the header
    //   names the component being loaded, so another component's artifact does not either;
    // - the file is a regular file and the directory a directory, both owned by this user
    //   and writable by no one else (checked above and in `open_dir`), so only this user or
    //   root can have written either, and both can run native code as us anyway. That check,
    //   not the digest, is what stops a crafted file, since its author could write a
    //   matching header;
    // - the file's name carries the engine's compatibility hash.
    match unsafe { Component::deserialize(engine, payload) } {
        Ok(component) => Lookup::Hit(component),
        Err(error) => Lookup::Bad(format!("{}: wasmtime refused it: {error:#}", path.display())),
    }
}

/// The payload of an artifact file, if its header vouches for it as compiled from `source`.
fn verified_payload<'a>(file: &'a [u8], source: &blake3::Hash) -> Result<&'a [u8], String> {
    let header = |what| format!("truncated ({} bytes) before the header's {what}", file.len());
    let (magic, rest) = file.split_first_chunk::<8>().ok_or_else(|| header("magic"))?;
    if magic != MAGIC {
        return Err("no codegym header (written by another program or version)".to_owned());
    }
    let (compiled_from, rest) = rest.split_first_chunk::<32>().ok_or_else(|| header("source hash"))?;
    let compiled_from = blake3::Hash::from_bytes(*compiled_from);
    if compiled_from != *source {
        return Err(format!("compiled from another component ({compiled_from}, not {source})"));
    }
    let (length, rest) = rest.split_first_chunk::<8>().ok_or_else(|| header("length"))?;
    let (digest, payload) = rest.split_first_chunk::<32>().ok_or_else(|| header("digest"))?;
    let length = u64::from_le_bytes(*length);
    if u64::try_from(payload.len()) != Ok(length) {
        return Err(format!(
            "truncated or overlong: the header says {length} bytes, {} follow",
            payload.len()
        ));
    }
    let actual = blake3::hash(payload);
    let expected = blake3::Hash::from_bytes(*digest);
    if actual != expected {
        return Err(format!("digest mismatch: the bytes hash to {actual}, the header says {expected}"));
    }
    Ok(payload)
}

/// Write the artifact of `component`, compiled from `source`, at `path`: to a temporary
/// file, then by rename, so a reader sees either nothing or the whole file.
fn store(path: &Path, source: &blake3::Hash, component: &Component) -> Result<(), String> {
    let payload =
        component.serialize().map_err(|error| format!("cannot serialize the component: {error:#}"))?;
    let length =
        u64::try_from(payload.len()).map_err(|_| "the component is too large to store".to_owned())?;
    let tmp = path.with_extension(format!(
        "tmp{}-{}",
        std::process::id(),
        TMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let written = File::options().write(true).create_new(true).mode(0o600).open(&tmp).and_then(|mut file| {
        file.write_all(MAGIC)?;
        file.write_all(source.as_bytes())?;
        file.write_all(&length.to_le_bytes())?;
        file.write_all(blake3::hash(&payload).as_bytes())?;
        file.write_all(&payload)?;
        std::fs::rename(&tmp, path)
    });
    written.map_err(|error| {
        let _ = std::fs::remove_file(&tmp);
        format!("cannot store {}: {error}", path.display())
    })
}

/// Feeds a `Hash` impl to blake3: a key fit for file names, unlike `DefaultHasher`, whose
/// algorithm is unspecified and may change between Rust releases.
struct Blake3Hasher(blake3::Hasher);

impl Hasher for Blake3Hasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn finish(&self) -> u64 {
        self.0.finalize().as_bytes().first_chunk::<8>().copied().map_or(0, u64::from_le_bytes)
    }
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
