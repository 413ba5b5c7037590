use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::cache::{CacheOutcome, ComponentCache};
use crate::env::{Env, StoreState};
use crate::python::{self, PythonRuntime, Runtime};
use crate::{Budget, Error, Limits, LoadError};

/// How to build a [`Host`].
#[derive(Clone, Debug)]
pub struct HostConfig {
    /// Default limits for new episodes.
    pub limits: Limits,
    /// Where compiled components are cached (`None`: no disk cache).
    pub cache_dir: Option<PathBuf>,
    /// Instances the pooling allocator reserves room for: the most live episodes (plus
    /// oracle and scratch instances) at once. `0` uses on-demand allocation instead.
    pub pool_size: u32,
    /// Granularity of the wall-clock backstop.
    pub epoch_tick: Duration,
    /// Name compiled guest functions for `perf` (`/tmp/perf-<pid>.map`), to profile
    /// environments. Default: set when `$CODEGYM_PERFMAP` is.
    pub perf_map: bool,
    /// Where a package's shared runtime (`<blake3>.wasm`) is looked for after the
    /// package's own `runtimes/` directory.
    pub runtime_dirs: Vec<PathBuf>,
}

impl Default for HostConfig {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            cache_dir: default_cache_dir(),
            pool_size: 4096,
            epoch_tick: Duration::from_millis(5),
            perf_map: std::env::var_os("CODEGYM_PERFMAP").is_some(),
            runtime_dirs: Vec::new(),
        }
    }
}

/// `$CODEGYM_CACHE`, else `$XDG_CACHE_HOME/codegym`, else `~/.cache/codegym`.
pub fn default_cache_dir() -> Option<PathBuf> {
    let var = |name| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    var("CODEGYM_CACHE")
        .or_else(|| var("XDG_CACHE_HOME").map(|d| d.join("codegym")))
        .or_else(|| var("HOME").map(|d| d.join(".cache").join("codegym")))
}

/// The runtime: one wasmtime engine configured for sandboxed, deterministic, metered
/// execution. Cheap to clone; share one per process.
#[derive(Clone)]
pub struct Host {
    pub(crate) inner: Arc<HostInner>,
}

pub(crate) struct HostInner {
    pub(crate) engine: Engine,
    pub(crate) linker: Linker<StoreState>,
    pub(crate) config: HostConfig,
    pub(crate) epoch_ticks_per_timeout: u64,
    cache: Option<ComponentCache>,
    /// Shared runtimes loaded so far, by the blake3 (hex) of their bytes.
    runtimes: Mutex<HashMap<String, Arc<Runtime>>>,
    /// Held for its `Drop`, which stops the epoch thread.
    _ticker: Ticker,
}

impl Host {
    pub fn new(config: HostConfig) -> Result<Self, Error> {
        let engine = Engine::new(&engine_config(&config)).map_err(Error::Engine)?;
        // Environments import nothing, so the linker stays empty: anything a component
        // imports is refused at load time.
        let linker = Linker::new(&engine);
        let tick = config.epoch_tick.max(Duration::from_millis(1));
        let epoch_ticks_per_timeout =
            u64::try_from(config.limits.step_timeout.as_micros() / tick.as_micros())
                .unwrap_or(u64::MAX)
                .max(1)
                + 1;
        let ticker = Ticker::start(engine.clone(), tick);
        let cache = config.cache_dir.clone().map(|dir| ComponentCache::new(dir, &engine));
        Ok(Self {
            inner: Arc::new(HostInner {
                engine,
                linker,
                config,
                epoch_ticks_per_timeout,
                cache,
                runtimes: Mutex::new(HashMap::new()),
                _ticker: ticker,
            }),
        })
    }

    pub fn config(&self) -> &HostConfig {
        &self.inner.config
    }

    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    /// Load an environment file: a component (compiled once, then from the disk cache) or a
    /// `.pyenv` package (on its shared runtime, compiled once likewise).
    pub fn load(&self, path: &Path) -> Result<Env, Error> {
        if path.extension().is_some_and(|ext| ext == python::PACKAGE_EXTENSION) {
            return self.load_package(path);
        }
        let bytes =
            std::fs::read(path).map_err(|source| LoadError::Read { path: path.to_owned(), source })?;
        self.load_bytes(&bytes)
    }

    /// Load a component from bytes: validates it, refuses any import, checks the world.
    /// What the disk cache did is [`Env::cache_outcome`].
    pub fn load_bytes(&self, bytes: &[u8]) -> Result<Env, Error> {
        let (component, cache) = self.compile(bytes)?;
        Env::new(self.clone(), component, blake3::hash(bytes), Budget::read(bytes)?, cache)
    }

    /// Load a `.pyenv` package file, finding the runtime it names (see
    /// [`HostConfig::runtime_dirs`]).
    pub fn load_package(&self, path: &Path) -> Result<Env, Error> {
        let (package, hash) = python::read_package(path)?;
        let runtime = match self.loaded_runtime(&package.runtime) {
            Some(runtime) => runtime,
            None => {
                let dir = path.parent().unwrap_or(Path::new("."));
                let file = python::find_runtime(dir, &self.inner.config.runtime_dirs, &package.runtime)?;
                self.runtime_from_file(&file, Some(&package.runtime))?
            }
        };
        Env::from_package(self.clone(), runtime, package, hash)
    }

    /// Load a shared Python runtime component, to prepare packages on it.
    pub fn python_runtime(&self, path: &Path) -> Result<PythonRuntime, Error> {
        Ok(PythonRuntime::new(self.clone(), self.runtime_from_file(path, None)?, path.to_owned()))
    }

    fn loaded_runtime(&self, hash: &str) -> Option<Arc<Runtime>> {
        self.inner.runtimes.lock().unwrap_or_else(|e| e.into_inner()).get(hash).cloned()
    }

    /// The runtime in `path`, compiled (or taken from the disk cache) once per host; when
    /// `expected`, its bytes must hash to that (a package's runtime is found by name).
    fn runtime_from_file(&self, path: &Path, expected: Option<&str>) -> Result<Arc<Runtime>, Error> {
        let bytes =
            std::fs::read(path).map_err(|source| LoadError::Read { path: path.to_owned(), source })?;
        let hash = blake3::hash(&bytes);
        let key = hash.to_hex().to_string();
        if let Some(named) = expected.filter(|named| **named != key) {
            return Err(LoadError::RuntimeMismatch {
                path: path.to_owned(),
                named: named.to_owned(),
                actual: key,
            }
            .into());
        }
        if let Some(runtime) = self.loaded_runtime(&key) {
            return Ok(runtime);
        }
        let (component, cache) = self.compile(&bytes)?;
        let runtime = Arc::new(Runtime::new(self, component, hash, cache)?);
        let mut runtimes = self.inner.runtimes.lock().unwrap_or_else(|e| e.into_inner());
        Ok(runtimes.entry(key).or_insert(runtime).clone())
    }

    /// Compile `bytes` through the disk cache, if there is one.
    fn compile(&self, bytes: &[u8]) -> Result<(Component, CacheOutcome), Error> {
        Ok(match &self.inner.cache {
            Some(cache) => cache.get_or_compile(&self.inner.engine, bytes)?,
            None => (
                Component::new(&self.inner.engine, bytes).map_err(LoadError::Invalid)?,
                CacheOutcome::Disabled,
            ),
        })
    }
}

impl HostInner {
    pub(crate) fn epoch_deadline(&self, timeout: Duration) -> u64 {
        if timeout == self.config.limits.step_timeout {
            return self.epoch_ticks_per_timeout;
        }
        let tick = self.config.epoch_tick.max(Duration::from_millis(1));
        u64::try_from(timeout.as_micros() / tick.as_micros()).unwrap_or(u64::MAX).max(1) + 1
    }
}

/// Bytes of each pooled linear memory reset with `memset` (and kept resident) rather than
/// `madvise`. Components built by `build-envs` lay out a 32 KiB stack, then their data, then
/// the allocator's arena, so an episode's hot pages sit below this and a reused slot takes
/// no page faults there. Measured on the 2-core dev VM, instantiate + reset of a small
/// config: 17 µs with `madvise` only, 11 µs with this.
const KEEP_RESIDENT_BYTES: usize = 96 << 10;

/// Core instances the pool allows per slot: enough for every slot to hold a componentize-py
/// component (~38 core instances each; see `cargo xtask build-py`'s report).
const CORE_INSTANCES_PER_SLOT: u32 = 48;

fn engine_config(host: &HostConfig) -> Config {
    let mut config = Config::new();
    if host.perf_map {
        config.profiler(wasmtime::ProfilingStrategy::PerfMap);
    }
    config
        .consume_fuel(true)
        .epoch_interruption(true)
        // Determinism: a trajectory replays byte for byte on any CPU only if no instruction
        // may answer differently on another. NaN results get one canonical bit pattern, and
        // relaxed SIMD its proposal's deterministic semantics (fused madd, saturating trunc,
        // swizzle's zeros, bitwise laneselect) instead of each CPU's fastest instruction.
        .cranelift_nan_canonicalization(true)
        .relaxed_simd_deterministic(true)
        .wasm_backtrace_max_frames(None)
        .max_wasm_stack(512 << 10)
        // Bounded reservations keep 100k+ live instances inside the address space; bounds
        // checks become explicit, a small price.
        .memory_reservation(host.limits.memory_bytes as u64)
        .memory_guard_size(64 << 10)
        .memory_reservation_for_growth(0)
        .memory_init_cow(true);
    if host.pool_size > 0 {
        let mut pool = PoolingAllocationConfig::default();
        let slots = host.pool_size;
        pool.total_component_instances(slots)
            // A Rust environment is one core instance; a Python one (componentize-py)
            // instantiates ~38 core modules (CPython, libc, shims) sharing 1 memory and 2
            // tables. This total only bounds metadata allocated on demand, so it may be large.
            .total_core_instances(slots.saturating_mul(CORE_INSTANCES_PER_SLOT))
            .total_memories(slots)
            // Two per slot for Python components; 64 KiB of address space each, no RSS.
            .total_tables(slots.saturating_mul(2))
            .max_memory_size(host.limits.memory_bytes)
            .table_elements(8192)
            .max_core_instance_size(256 << 10)
            .max_memories_per_module(1)
            .max_tables_per_module(1)
            .linear_memory_keep_resident(KEEP_RESIDENT_BYTES)
            .table_keep_resident(16 << 10)
            // Reset only the pages an episode dirtied (Linux 6.7+), by copying the image back
            // rather than dropping pages, so the next episode takes no page faults.
            .pagemap_scan(wasmtime::Enabled::Auto)
            // Return freed slots' pages to the OS in batches: one syscall per 64 episodes.
            .decommit_batch_size(64);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    config
}

/// Advances the engine's epoch every tick, for the wall-clock backstop. Stops on drop.
struct Ticker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Ticker {
    fn start(engine: Engine, tick: Duration) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("codegym-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(tick);
                    engine.increment_epoch();
                }
            })
            .ok();
        Self { stop, thread }
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
