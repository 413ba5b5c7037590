use std::path::PathBuf;

use codegym_core::FaultKind;

/// Why a component could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("not a valid WebAssembly component: {0:#}")]
    Invalid(wasmtime::Error),
    #[error(
        "component imports {0}; environments must import nothing (build for \
         wasm32-unknown-unknown and wrap with `cargo xtask build-envs`)"
    )]
    HasImports(String),
    #[error("component does not implement the codegym:env/environment world: {0:#}")]
    WrongWorld(wasmtime::Error),
    #[error("component's `info` failed: {0}")]
    Info(String),
    #[error("invalid `codegym:budget` section: {0}")]
    Budget(String),
    #[error("component is not a shared runtime (the codegym:env/python-runtime world): {0:#}")]
    NotARuntime(wasmtime::Error),
    #[error("{path} is not a usable Python environment package: {reason}")]
    Package { path: PathBuf, reason: String },
    #[error(
        "the package's runtime {hash} is not installed (looked for {looked}); rebuild the \
         package with `codegym build-py`, or copy that runtime there"
    )]
    NoRuntime { hash: String, looked: String },
    #[error("{path} is named as runtime {named} but its bytes hash to {actual}")]
    RuntimeMismatch { path: PathBuf, named: String, actual: String },
}

/// Errors from the host library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("unknown environment `{name}`; available: {available}")]
    UnknownEnv { name: String, available: String },
    #[error("two environments are named `{name}`: {first} and {second}; remove one")]
    DuplicateEnv { name: String, first: PathBuf, second: PathBuf },
    #[error("environment rejected the config: {0}")]
    Reset(String),
    #[error("the Python environment is unusable: {0}")]
    Package(String),
    #[error("environment faulted ({kind}) during {during}")]
    Fault { kind: FaultKind, during: &'static str },
    #[error("cannot set up wasmtime: {0:#}")]
    Engine(wasmtime::Error),
    #[error("cannot instantiate the component: {0:#}")]
    Instantiate(wasmtime::Error),
    #[error("replay diverged at call {index}: {reason}")]
    ReplayDiverged { index: usize, reason: String },
    #[error("cannot start a thread: {0}")]
    Thread(std::io::Error),
    #[error("I/O error on {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}
