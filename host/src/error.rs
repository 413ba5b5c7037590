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
}

/// Errors from the host library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("unknown environment `{name}`; available: {available}")]
    UnknownEnv { name: String, available: String },
    #[error("environment rejected the config: {0}")]
    Reset(String),
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
