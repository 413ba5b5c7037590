//! `codegym._codegym`: the CodeGym-rs host inside a Python process.
//!
//! The Python package (`python/codegym/`) re-exports this module with its docs; everything
//! that runs an environment is here, in Rust: [`Env`] (one episode at a time,
//! Gymnasium-style), [`VecEnv`] (a batch, envpool-style, stepped on worker threads with the
//! GIL released) and the module functions over a directory of environments.

mod action;
mod convert;
mod env;
mod errors;
mod registry;
mod vec_env;

use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::convert::to_python;
use crate::errors::host_error;

/// The names of the environments in `env_dir` (default: `$CODEGYM_ENVS`, else
/// `./target/envs`), sorted.
#[pyfunction]
#[pyo3(signature = (env_dir=None))]
fn list_envs(py: Python<'_>, env_dir: Option<PathBuf>) -> PyResult<Vec<String>> {
    let registry = py.detach(|| registry::open(env_dir.as_deref()))?;
    Ok(registry.names().map(str::to_owned).collect())
}

/// One environment's metadata: name, version, category, description, content hash and
/// tools (each with its JSON Schema).
#[pyfunction]
#[pyo3(signature = (name, env_dir=None))]
fn info<'py>(py: Python<'py>, name: &str, env_dir: Option<PathBuf>) -> PyResult<Bound<'py, PyDict>> {
    let env = py.detach(|| registry::load(env_dir.as_deref(), name))?;
    convert::env_info(py, &env)
}

/// Replay a stored trajectory (a dict, or one line of a trajectory JSONL file) in a fresh
/// episode and compare every observation, reward and done flag byte for byte. Returns the
/// report: `{"env", "seed", "steps", "mismatches": [...]}`; no mismatches means identical.
#[pyfunction]
#[pyo3(signature = (trajectory, env_dir=None))]
fn replay<'py>(
    py: Python<'py>,
    trajectory: &Bound<'py, PyAny>,
    env_dir: Option<PathBuf>,
) -> PyResult<Bound<'py, PyAny>> {
    let trajectory: codegym_core::Trajectory = convert::from_python(trajectory, "trajectory")?;
    let report = py.detach(|| {
        let env = registry::load(env_dir.as_deref(), &trajectory.env)?;
        codegym_host::replay_trajectory(&env, &trajectory).map_err(host_error)
    })?;
    to_python(py, &report)
}

#[pymodule]
fn _codegym(module: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = module.py();
    module.add_function(wrap_pyfunction!(list_envs, module)?)?;
    module.add_function(wrap_pyfunction!(info, module)?)?;
    module.add_function(wrap_pyfunction!(replay, module)?)?;
    module.add_function(wrap_pyfunction!(env::make, module)?)?;
    module.add_function(wrap_pyfunction!(env::_rebuild, module)?)?;
    module.add_function(wrap_pyfunction!(vec_env::make_vec, module)?)?;
    module.add_class::<env::Env>()?;
    module.add_class::<env::Oracle>()?;
    module.add_class::<vec_env::VecEnv>()?;
    module.add("FORMATS", PyList::new(py, ["codegym", "hermes", "openai-tools"])?)?;
    Ok(())
}
