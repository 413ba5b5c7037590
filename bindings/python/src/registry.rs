//! One host per process and one registry per environment directory, opened on first use.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use codegym_host::{Host, HostConfig, Registry};
use pyo3::PyResult;

use crate::errors::{CodeGymError, UnknownEnvError, host_error};

/// The process's host: one wasmtime engine, compile cache and epoch ticker for every
/// environment a Python process uses.
fn host() -> PyResult<Host> {
    static HOST: OnceLock<Result<Host, String>> = OnceLock::new();
    HOST.get_or_init(|| Host::new(HostConfig::default()).map_err(|error| error.to_string()))
        .clone()
        .map_err(CodeGymError::new_err)
}

/// `dir`, else `$CODEGYM_ENVS`, else `./target/envs` (where `cargo xtask build-envs` puts
/// the built-in environments).
fn env_dir(dir: Option<&Path>) -> PyResult<PathBuf> {
    if let Some(dir) = dir {
        return Ok(dir.to_owned());
    }
    if let Some(dir) = std::env::var_os("CODEGYM_ENVS").filter(|dir| !dir.is_empty()) {
        return Ok(dir.into());
    }
    let local = Path::new("target/envs");
    if local.is_dir() {
        return Ok(local.to_owned());
    }
    Err(CodeGymError::new_err(
        "no environment directory: pass env_dir=, set $CODEGYM_ENVS, or run from a checkout \
         where `cargo xtask build-envs` has built target/envs",
    ))
}

/// The registry of `dir` (see [`env_dir`]), indexed once per process.
pub(crate) fn open(dir: Option<&Path>) -> PyResult<Arc<Registry>> {
    static OPEN: Mutex<Vec<(PathBuf, Arc<Registry>)>> = Mutex::new(Vec::new());
    let dir = env_dir(dir)?;
    let key = dir.canonicalize().unwrap_or_else(|_| dir.clone());
    let mut open = OPEN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((_, registry)) = open.iter().find(|(at, _)| *at == key) {
        return Ok(registry.clone());
    }
    let registry = Registry::open(host()?, &dir).map_err(|error| {
        CodeGymError::new_err(format!("cannot open environment directory {}: {error}", dir.display()))
    })?;
    let registry = Arc::new(registry);
    open.push((key, registry.clone()));
    Ok(registry)
}

/// Environment `name` of `dir`, loaded (compiled once, then from the disk cache).
pub(crate) fn load(dir: Option<&Path>, name: &str) -> PyResult<codegym_host::Env> {
    let registry = open(dir)?;
    registry.get(name).map_err(|error| match error {
        codegym_host::Error::UnknownEnv { .. } => {
            UnknownEnvError::new_err(format!("{error} (in {})", registry.dir().display()))
        }
        other => host_error(other),
    })
}
