use std::sync::Arc;

use codegym_core::{EnvInfo, FaultKind, ToolCall, ToolSpec};
use wasmtime::component::{Component, InstancePre};
use wasmtime::{ResourceLimiter, Store, Trap};

use crate::bindings::exports::codegym::env::environment::{Guest as Exports, GuestIndices as ExportIndices};
use crate::host::Host;
use crate::python::{Loaded, Package, Runtime};
use crate::{Budget, CacheOutcome, Episode, Error, Limits, LoadError};

/// Per-store host state: the memory limiter.
pub(crate) struct StoreState {
    memory_limit: usize,
    /// Set when the limiter refused a growth, so the resulting trap is reported as
    /// [`FaultKind::Memory`] rather than as whatever the guest did next.
    memory_denied: bool,
}

impl ResourceLimiter for StoreState {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.memory_limit {
            self.memory_denied = true;
            return Err(wasmtime::format_err!("memory limit of {} bytes exceeded", self.memory_limit));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 1 << 16)
    }
}

/// A live component instance with its store: the unit of isolation.
pub(crate) struct Instance {
    pub(crate) store: Store<StoreState>,
    pub(crate) exports: Exports,
}

impl Instance {
    /// Call the environment under `fuel` and the wall-clock deadline. Returns the result and
    /// the fuel burnt, or the fault and the fuel burnt before it.
    pub(crate) fn guarded<R>(
        &mut self,
        host: &Host,
        limits: &Limits,
        fuel: u64,
        call: impl FnOnce(&Exports, &mut Store<StoreState>) -> wasmtime::Result<R>,
    ) -> (Result<R, FaultKind>, u64) {
        let Self { store, exports } = self;
        guard(store, host, limits, fuel, |store| call(exports, store))
    }

    /// [`Self::guarded`] for a call into another of the instance's exports.
    pub(crate) fn guard<R>(
        &mut self,
        host: &Host,
        limits: &Limits,
        fuel: u64,
        call: impl FnOnce(&mut Store<StoreState>) -> wasmtime::Result<R>,
    ) -> (Result<R, FaultKind>, u64) {
        guard(&mut self.store, host, limits, fuel, call)
    }
}

fn guard<R>(
    store: &mut Store<StoreState>,
    host: &Host,
    limits: &Limits,
    fuel: u64,
    call: impl FnOnce(&mut Store<StoreState>) -> wasmtime::Result<R>,
) -> (Result<R, FaultKind>, u64) {
    if store.set_fuel(fuel).is_err() {
        return (Err(FaultKind::Trap), 0);
    }
    store.set_epoch_deadline(host.inner.epoch_deadline(limits.step_timeout));
    store.data_mut().memory_denied = false;
    let result = call(store);
    let used = fuel.saturating_sub(store.get_fuel().unwrap_or(0));
    (result.map_err(|error| classify(&error, store.data())), used)
}

fn classify(error: &wasmtime::Error, state: &StoreState) -> FaultKind {
    if state.memory_denied {
        return FaultKind::Memory;
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => FaultKind::OutOfFuel,
        Some(Trap::Interrupt) => FaultKind::Timeout,
        Some(Trap::StackOverflow) => FaultKind::StackOverflow,
        Some(Trap::UnreachableCodeReached) => FaultKind::Panic,
        _ => FaultKind::Trap,
    }
}

/// A loaded environment component: compiled, checked, ready to start episodes. Cheap to
/// clone and to share between threads.
#[derive(Clone)]
pub struct Env {
    inner: Arc<EnvInner>,
}

struct EnvInner {
    host: Host,
    pre: Pre,
    info: EnvInfo,
    hash: blake3::Hash,
    budget: Option<Budget>,
    cache: CacheOutcome,
}

/// How an environment's instances are made.
enum Pre {
    /// A component of the `env` world.
    Component { pre: InstancePre<StoreState>, exports: ExportIndices },
    /// A package on a shared runtime, loaded into each new instance.
    Package(Loaded),
}

impl Pre {
    fn instantiate(&self, host: &Host, limits: &Limits) -> Result<Instance, Error> {
        match self {
            Pre::Component { pre, exports } => Ok(instantiate_raw(host, pre, exports, limits)?.0),
            Pre::Package(package) => {
                let runtime = &package.runtime;
                let (mut instance, wasm) = instantiate_raw(host, &runtime.pre, &runtime.exports, limits)?;
                runtime.load_into(host, &mut instance, &wasm, limits, package)?;
                Ok(instance)
            }
        }
    }
}

/// The component's `InstancePre`, refusing imports.
pub(crate) fn checked_pre(host: &Host, component: &Component) -> Result<InstancePre<StoreState>, Error> {
    let imports: Vec<String> =
        component.component_type().imports(host.engine()).map(|(name, _)| format!("`{name}`")).collect();
    if !imports.is_empty() {
        return Err(LoadError::HasImports(imports.join(", ")).into());
    }
    Ok(host.inner.linker.instantiate_pre(component).map_err(LoadError::WrongWorld)?)
}

impl Env {
    pub(crate) fn new(
        host: Host,
        component: Component,
        hash: blake3::Hash,
        budget: Option<Budget>,
        cache: CacheOutcome,
    ) -> Result<Self, Error> {
        let pre = checked_pre(&host, &component)?;
        let exports = ExportIndices::new(&pre).map_err(LoadError::WrongWorld)?;
        let pre = Pre::Component { pre, exports };
        // What `limits()` will say, before `self` exists; no budget applies nothing.
        let limits = budget.unwrap_or_default().apply(host.config().limits);
        let info = call_info(&host, &pre, &limits)?;
        Ok(Self { inner: Arc::new(EnvInner { host, pre, info, hash, budget, cache }) })
    }

    /// A package on `runtime`; one instance is started and loaded, as a check.
    pub(crate) fn from_package(
        host: Host,
        runtime: Arc<Runtime>,
        package: Package,
        hash: blake3::Hash,
    ) -> Result<Self, Error> {
        let info = package.info.clone();
        let budget = package.budget;
        let cache = runtime.cache_outcome().clone();
        let pre = Pre::Package(Loaded::new(runtime, package));
        let limits = budget.unwrap_or_default().apply(host.config().limits);
        pre.instantiate(&host, &limits)?;
        Ok(Self { inner: Arc::new(EnvInner { host, pre, info, hash, budget, cache }) })
    }

    pub fn info(&self) -> &EnvInfo {
        &self.inner.info
    }

    pub fn name(&self) -> &str {
        &self.inner.info.name
    }

    /// Content hash of the component's bytes, or of a package file's (which names its
    /// runtime's): identifies the exact build in trajectories and stored sessions.
    pub fn hash(&self) -> String {
        self.inner.hash.to_hex().to_string()
    }

    /// The blake3 (hex) of the shared runtime a package runs on; `None` for a component.
    pub fn runtime_hash(&self) -> Option<String> {
        match &self.inner.pre {
            Pre::Component { .. } => None,
            Pre::Package(package) => Some(package.runtime.hash.to_hex().to_string()),
        }
    }

    pub fn host(&self) -> &Host {
        &self.inner.host
    }

    /// What the compile cache did when this environment was loaded: a front end reports
    /// [`CacheOutcome::is_warning`] ones (a bad artifact recompiled, an untrusted cache).
    pub fn cache_outcome(&self) -> &CacheOutcome {
        &self.inner.cache
    }

    /// The limits of this environment's episodes: the host's, tightened by the component's
    /// own [`Budget`] if it declares one.
    pub fn limits(&self) -> Limits {
        self.tighten(self.inner.host.config().limits)
    }

    /// `limits` tightened by the component's budget.
    pub fn tighten(&self, limits: Limits) -> Limits {
        self.inner.budget.unwrap_or_default().apply(limits)
    }

    /// The budget the component declares for itself, if any.
    pub fn budget(&self) -> Option<Budget> {
        self.inner.budget
    }

    pub(crate) fn instantiate(&self, limits: &Limits) -> Result<Instance, Error> {
        self.inner.pre.instantiate(self.host(), limits)
    }

    /// The configs a package carries, served here rather than by an instance.
    fn given_config(&self, seed: u64, difficulty: u32) -> Option<String> {
        match &self.inner.pre {
            Pre::Package(package) => package.config(seed, difficulty).map(str::to_owned),
            Pre::Component { .. } => None,
        }
    }

    /// The task configuration (JSON) for `(seed, difficulty)`.
    pub fn sample_config(&self, seed: u64, difficulty: u32) -> Result<String, Error> {
        if let Some(config) = self.given_config(seed, difficulty) {
            return Ok(config);
        }
        let (_, result) = call_fresh(self.host(), &self.inner.pre, &self.limits(), |b, s| {
            b.call_sample_config(s, seed, difficulty)
        })?;
        result.map_err(|kind| Error::Fault { kind, during: "sample_config" })
    }

    /// `sample_config(seed, difficulty)` called twice in one instance: a pure generator gives
    /// the same config both times (and the same as a fresh instance's). For verification.
    pub fn sample_config_twice(&self, seed: u64, difficulty: u32) -> Result<(String, String), Error> {
        if let Some(config) = self.given_config(seed, difficulty) {
            return Ok((config.clone(), config));
        }
        let fault = |kind| Error::Fault { kind, during: "sample_config" };
        let (mut instance, first) = call_fresh(self.host(), &self.inner.pre, &self.limits(), |b, s| {
            b.call_sample_config(s, seed, difficulty)
        })?;
        let limits = self.limits();
        let (second, _) = instance.guarded(self.host(), &limits, limits.fuel_per_step, |b, s| {
            b.call_sample_config(s, seed, difficulty)
        });
        Ok((first.map_err(fault)?, second.map_err(fault)?))
    }

    /// Start an episode from a JSON config with the host's default limits.
    pub fn start(&self, config: &str) -> Result<Episode, Error> {
        Episode::start(self.clone(), config, self.limits())
    }

    /// Start an episode with explicit limits (tightened by the component's budget).
    pub fn start_with(&self, config: &str, limits: Limits) -> Result<Episode, Error> {
        Episode::start(self.clone(), config, self.tighten(limits))
    }

    /// Start the oracle in an instance of its own, so it sees only what it is told.
    pub fn oracle(&self, task: &str) -> Result<OracleSession, Error> {
        let (instance, result) =
            call_fresh(self.host(), &self.inner.pre, &self.limits(), |b, s| b.call_oracle_start(s, task))?;
        result.map_err(|kind| Error::Fault { kind, during: "oracle_start" })?;
        Ok(OracleSession {
            env: self.clone(),
            instance: Some(instance),
            fault: None,
            fuel: 0,
            most_call_fuel: 0,
        })
    }
}

/// A new instance under `limits`, and the outcome of one call into it.
fn call_fresh<R>(
    host: &Host,
    pre: &Pre,
    limits: &Limits,
    call: impl FnOnce(&Exports, &mut Store<StoreState>) -> wasmtime::Result<R>,
) -> Result<(Instance, Result<R, FaultKind>), Error> {
    let mut instance = pre.instantiate(host, limits)?;
    let (result, _) = instance.guarded(host, limits, limits.fuel_per_step, call);
    Ok((instance, result))
}

fn call_info(host: &Host, pre: &Pre, limits: &Limits) -> Result<EnvInfo, Error> {
    let (_, result) = call_fresh(host, pre, limits, |b, s| b.call_info(s))?;
    let info = result.map_err(|kind| LoadError::Info(format!("fault: {kind}")))?;
    let info = EnvInfo {
        name: info.name,
        version: info.version,
        description: info.description,
        category: info.category,
        tools: info
            .tools
            .into_iter()
            .map(|t| ToolSpec { name: t.name, description: t.description, parameters: t.parameters })
            .collect(),
    };
    if info.name.is_empty() {
        return Err(LoadError::Info("empty environment name".into()).into());
    }
    Ok(info)
}

/// A new instance of `pre` under `limits`, with the environment's exports looked up; the
/// component instance too, for a caller that needs its other exports.
pub(crate) fn instantiate_raw(
    host: &Host,
    pre: &InstancePre<StoreState>,
    exports: &ExportIndices,
    limits: &Limits,
) -> Result<(Instance, wasmtime::component::Instance), Error> {
    let state = StoreState { memory_limit: limits.memory_bytes, memory_denied: false };
    let mut store = Store::new(host.engine(), state);
    store.limiter(|state| state);
    // Instantiation may run code (data initialisation, start functions): meter it too.
    store.set_fuel(limits.fuel_per_step).map_err(Error::Instantiate)?;
    store.set_epoch_deadline(host.inner.epoch_deadline(limits.step_timeout));
    let wasm = pre.instantiate(&mut store).map_err(Error::Instantiate)?;
    let exports = exports.load(&mut store, &wasm).map_err(Error::Instantiate)?;
    Ok((Instance { store, exports }, wasm))
}

/// A running oracle: asks for the next tool call given the last observation.
pub struct OracleSession {
    env: Env,
    instance: Option<Instance>,
    fault: Option<FaultKind>,
    fuel: u64,
    most_call_fuel: u64,
}

impl OracleSession {
    /// The oracle's next call, or `None` when it has finished (or faulted, which ends it).
    pub fn next(&mut self, last_observation: &str) -> Option<ToolCall> {
        let limits = self.env.limits();
        let instance = self.instance.as_mut()?;
        let (result, used) = instance.guarded(self.env.host(), &limits, limits.fuel_per_step, |b, s| {
            b.call_oracle_next(s, last_observation)
        });
        self.fuel = self.fuel.saturating_add(used);
        self.most_call_fuel = self.most_call_fuel.max(used);
        match result {
            Ok(Some(call)) => Some(ToolCall { name: call.name, arguments: call.arguments }),
            Ok(None) => {
                self.instance = None;
                None
            }
            Err(fault) => {
                self.instance = None;
                self.fault = Some(fault);
                None
            }
        }
    }

    /// Why the oracle stopped early, if a call into it faulted (fuel, time, a trap).
    pub fn fault(&self) -> Option<FaultKind> {
        self.fault
    }

    /// Fuel the oracle's `oracle-next` calls took so far, all together and the most one
    /// took: what the component's per-call budget must allow its oracle.
    pub fn fuel_used(&self) -> (u64, u64) {
        (self.fuel, self.most_call_fuel)
    }
}
