//! The Python lane on one shared runtime: a Python environment is data, a `.pyenv`
//! [`Package`], run by a CPython component of the world `python-runtime` that is compiled
//! once per machine.
//!
//! A package holds the environment's source, its configs (when it has no generator of its
//! own), what the runtime's `prepare` learnt from it (the `env-info`, the class, the shape of
//! `step`'s return) and the compiled code, and names the runtime by its blake3. Each
//! instance of the runtime `load`s one package before anything else, so an episode costs
//! one instantiation of the pre-initialised runtime plus running the module's top level;
//! adding an environment runs neither componentize-py nor Cranelift.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use codegym_core::EnvInfo;
use serde::{Deserialize, Serialize};
use wasmtime::component::InstancePre;

use crate::bindings::exports::codegym::env::environment::GuestIndices as EnvIndices;
use crate::bindings::exports::codegym::env::runtime::GuestIndices as RuntimeIndices;
use crate::env::{Instance, StoreState};
use crate::{Budget, CacheOutcome, Env, Error, Host, Limits, LoadError};

/// A package's file extension.
pub const PACKAGE_EXTENSION: &str = "pyenv";

/// The package format this host reads and writes.
pub const PACKAGE_FORMAT: &str = "codegym-pyenv/1";

/// The subdirectory of a package's directory where its runtime is looked for first, as
/// `<blake3>.wasm`.
pub const RUNTIMES_DIR: &str = "runtimes";

/// Refuse larger package files before parsing them: a package is source and small configs.
const MAX_PACKAGE_BYTES: u64 = 64 << 20;

/// A Python environment as data (a `.pyenv` file: this, as JSON).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Package {
    /// [`PACKAGE_FORMAT`].
    pub format: String,
    /// The environment's name (the file is `<name>.pyenv`).
    pub name: String,
    /// The blake3 (hex) of the runtime component it was prepared on, and runs on.
    pub runtime: String,
    /// The source file's name, for tracebacks and listings.
    pub file: String,
    /// The environment's source, as written.
    pub source: String,
    /// Task configs (JSON texts) when the file has no `sample_config`: config
    /// `(101 * seed + difficulty) mod n` is the one for `(seed, difficulty)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configs: Option<Vec<String>>,
    /// Limits the environment declares for itself (they only tighten the host's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<Budget>,
    /// The environment's description, tools and schemas, as `prepare` learnt them.
    pub info: EnvInfo,
    /// What else `prepare` learnt, for the runtime's `load` (JSON, the runtime's own).
    pub spec: String,
    /// The compiled module, in the runtime's format (base64 in the file).
    #[serde(with = "base64_bytes")]
    pub code: Vec<u8>,
}

impl Package {
    /// Parse a package file's bytes.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        let package: Self = serde_json::from_slice(bytes).map_err(|error| error.to_string())?;
        if package.format != PACKAGE_FORMAT {
            return Err(format!("format {:?}, this host reads {PACKAGE_FORMAT:?}", package.format));
        }
        if let Some(budget) = &package.budget {
            budget.check()?;
        }
        if package.configs.as_ref().is_some_and(Vec::is_empty) {
            return Err("an empty list of configs".into());
        }
        if package.info.name != package.name {
            return Err(format!("it is named {:?} but its info says {:?}", package.name, package.info.name));
        }
        Ok(package)
    }

    /// The file's bytes: pretty JSON, so the source reads as text in a diff.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("a package serializes");
        bytes.push(b'\n');
        bytes
    }

    /// The config for `(seed, difficulty)` when the package carries its configs.
    pub fn config(&self, seed: u64, difficulty: u32) -> Option<&str> {
        config_for(self.configs.as_deref()?, seed, difficulty)
    }
}

/// Config `(101 * seed + difficulty) mod n` of `configs`, as the adapter picks one in a
/// per-file component.
fn config_for(configs: &[String], seed: u64, difficulty: u32) -> Option<&str> {
    let index = seed.wrapping_mul(101).wrapping_add(u64::from(difficulty)) % configs.len().max(1) as u64;
    configs.get(index as usize).map(String::as_str)
}

mod base64_bytes {
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(deserializer)?;
        base64::engine::general_purpose::STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}

/// A loaded runtime component: compiled once per host, shared by every package on it.
pub(crate) struct Runtime {
    pub(crate) hash: blake3::Hash,
    pub(crate) pre: InstancePre<StoreState>,
    pub(crate) exports: EnvIndices,
    runtime: RuntimeIndices,
    cache: CacheOutcome,
}

impl Runtime {
    pub(crate) fn new(
        host: &Host,
        component: wasmtime::component::Component,
        hash: blake3::Hash,
        cache: CacheOutcome,
    ) -> Result<Self, Error> {
        let pre = crate::env::checked_pre(host, &component)?;
        let exports = EnvIndices::new(&pre).map_err(LoadError::WrongWorld)?;
        let runtime = RuntimeIndices::new(&pre).map_err(LoadError::NotARuntime)?;
        Ok(Self { hash, pre, exports, runtime, cache })
    }

    pub(crate) fn cache_outcome(&self) -> &CacheOutcome {
        &self.cache
    }

    /// Call `runtime.load` in a new instance of this runtime.
    pub(crate) fn load_into(
        &self,
        host: &Host,
        instance: &mut Instance,
        wasm: &wasmtime::component::Instance,
        limits: &Limits,
        package: &Loaded,
    ) -> Result<(), Error> {
        let runtime = self.runtime.load(&mut instance.store, wasm).map_err(Error::Instantiate)?;
        let (result, _) = instance.guard(host, limits, limits.fuel_per_step, |store| {
            runtime.call_load(store, &package.info, &package.package.spec, &package.package.code)
        });
        match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(message)) => Err(Error::Package(message)),
            Err(kind) => Err(Error::Fault { kind, during: "load" }),
        }
    }
}

/// What an instance of a package's environment needs: the runtime and the data to load.
pub(crate) struct Loaded {
    pub(crate) runtime: Arc<Runtime>,
    /// The package's `env-info` as the runtime takes it (JSON), serialized once.
    info: String,
    package: Box<Package>,
}

impl Loaded {
    pub(crate) fn new(runtime: Arc<Runtime>, package: Package) -> Self {
        let info = serde_json::to_string(&package.info).expect("an EnvInfo serializes");
        Self { runtime, info, package: Box::new(package) }
    }

    pub(crate) fn config(&self, seed: u64, difficulty: u32) -> Option<&str> {
        self.package.config(seed, difficulty)
    }
}

/// A shared Python runtime, for turning source files into [`Package`]s.
#[derive(Clone)]
pub struct PythonRuntime {
    host: Host,
    runtime: Arc<Runtime>,
    file: PathBuf,
}

impl PythonRuntime {
    pub(crate) fn new(host: Host, runtime: Arc<Runtime>, file: PathBuf) -> Self {
        Self { host, runtime, file }
    }

    /// The package as an environment of this host, straight from memory (no file).
    pub fn load(&self, package: Package) -> Result<Env, Error> {
        if package.runtime != self.hash() {
            return Err(Error::Package(format!(
                "the package runs on runtime {}, not this one",
                package.runtime
            )));
        }
        let hash = blake3::hash(&package.to_bytes());
        Env::from_package(self.host.clone(), self.runtime.clone(), package, hash)
    }

    /// Put the runtime where packages in `dir` look for it first
    /// (`<dir>/runtimes/<blake3>.wasm`), hard-linked when the file system allows, so the
    /// directory is complete. Nothing is done if it is there already.
    pub fn install_into(&self, dir: &Path) -> Result<PathBuf, Error> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| Error::Io { path, source }
        };
        let runtimes = dir.join(RUNTIMES_DIR);
        let target = runtimes.join(format!("{}.wasm", self.hash()));
        if target.is_file() {
            return Ok(target);
        }
        std::fs::create_dir_all(&runtimes).map_err(io(&runtimes))?;
        let partial = runtimes.join(format!("{}.wasm.partial", self.hash()));
        let _ = std::fs::remove_file(&partial);
        if std::fs::hard_link(&self.file, &partial).is_err() {
            std::fs::copy(&self.file, &partial).map_err(io(&partial))?;
        }
        std::fs::rename(&partial, &target).map_err(io(&target))?;
        Ok(target)
    }

    /// The blake3 (hex) of the runtime component: what packages prepared on it name.
    pub fn hash(&self) -> String {
        self.runtime.hash.to_hex().to_string()
    }

    /// What the compile cache did when the runtime was loaded.
    pub fn cache_outcome(&self) -> &CacheOutcome {
        &self.runtime.cache
    }

    /// Turn the source of a Python environment file (`file`, named `name`) into a package:
    /// the runtime compiles and inspects it in a sandboxed instance of its own. `configs`
    /// (JSON texts) are required when the file has no `sample_config`.
    pub fn prepare(
        &self,
        name: &str,
        file: &str,
        source: &str,
        configs: Option<Vec<String>>,
    ) -> Result<Package, Error> {
        let host = &self.host;
        // Running a file's top level and probing its class may take more than one step's fuel.
        let limits = host.config().limits;
        let (mut instance, wasm) =
            crate::env::instantiate_raw(host, &self.runtime.pre, &self.runtime.exports, &limits)?;
        let runtime = self.runtime.runtime.load(&mut instance.store, &wasm).map_err(Error::Instantiate)?;
        let has_configs = configs.is_some();
        let (result, _) = instance.guard(host, &limits, limits.fuel_per_episode, |store| {
            runtime.call_prepare(store, name, file, source, has_configs)
        });
        let prepared = match result {
            Ok(Ok(prepared)) => prepared,
            Ok(Err(message)) => return Err(Error::Package(message)),
            Err(kind) => return Err(Error::Fault { kind, during: "prepare" }),
        };
        let info: EnvInfo = serde_json::from_str(&prepared.info)
            .map_err(|error| Error::Package(format!("the runtime's env-info is not valid: {error}")))?;
        if info.name.is_empty() {
            return Err(Error::Package("the environment's name is empty".into()));
        }
        // The file may name itself (`NAME = ...`): the package goes by that name.
        Ok(Package {
            format: PACKAGE_FORMAT.into(),
            name: info.name.clone(),
            runtime: self.hash(),
            file: file.into(),
            source: source.into(),
            configs,
            budget: None,
            info,
            spec: prepared.spec,
            code: prepared.code,
        })
    }
}

/// Where a package's runtime `hash` is looked for: `<package dir>/runtimes/<hash>.wasm`,
/// then the same name in each of `dirs`.
pub(crate) fn find_runtime(package_dir: &Path, dirs: &[PathBuf], hash: &str) -> Result<PathBuf, LoadError> {
    let file = format!("{hash}.wasm");
    let candidates: Vec<PathBuf> = std::iter::once(package_dir.join(RUNTIMES_DIR).join(&file))
        .chain(dirs.iter().map(|dir| dir.join(&file)))
        .collect();
    candidates.iter().find(|path| path.is_file()).cloned().ok_or_else(|| LoadError::NoRuntime {
        hash: hash.to_owned(),
        looked: candidates.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "),
    })
}

/// Read a package file, bounded; the package and the blake3 of the file's bytes.
pub(crate) fn read_package(path: &Path) -> Result<(Package, blake3::Hash), LoadError> {
    let read = |source| LoadError::Read { path: path.to_owned(), source };
    let size = std::fs::metadata(path).map_err(read)?.len();
    if size > MAX_PACKAGE_BYTES {
        return Err(LoadError::Package {
            path: path.to_owned(),
            reason: format!("{size} bytes, more than the {MAX_PACKAGE_BYTES} a package may have"),
        });
    }
    let bytes = std::fs::read(path).map_err(read)?;
    let package =
        Package::parse(&bytes).map_err(|reason| LoadError::Package { path: path.to_owned(), reason })?;
    Ok((package, blake3::hash(&bytes)))
}

/// Remove the runtimes in `dir`'s [`RUNTIMES_DIR`] that no package in `dir` names (left
/// behind when every package was rebuilt on a newer runtime; ~27 MB each), and any
/// half-installed one. Returns what was removed. If a package in `dir` cannot be read, it
/// might name any of them, so nothing is removed.
pub fn prune_runtimes(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::Io { path, source }
    };
    let runtimes = dir.join(RUNTIMES_DIR);
    if !runtimes.is_dir() {
        return Ok(Vec::new());
    }
    let mut named = std::collections::HashSet::new();
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let path = entry.map_err(io(dir))?.path();
        if path.extension().is_some_and(|ext| ext == PACKAGE_EXTENSION) {
            match read_package(&path) {
                Ok((package, _)) => _ = named.insert(package.runtime),
                Err(_) => return Ok(Vec::new()),
            }
        }
    }
    let mut removed = Vec::new();
    for entry in std::fs::read_dir(&runtimes).map_err(io(&runtimes))? {
        let path = entry.map_err(io(&runtimes))?.path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let stale = match name.strip_suffix(".wasm") {
            Some(hash) => !named.contains(hash),
            None => name.ends_with(".wasm.partial"),
        };
        if stale {
            std::fs::remove_file(&path).map_err(io(&path))?;
            removed.push(path);
        }
    }
    removed.sort();
    Ok(removed)
}
