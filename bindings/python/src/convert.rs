//! Values between Rust and Python: serde through `pythonize`, plus the dicts `step` returns.

use codegym_host::Env;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::action::Turn;
use crate::errors::{CodeGymError, InvalidActionError};

/// Any serialisable value as Python objects (dicts, lists, str, int, float, bool, None).
pub(crate) fn to_python<'py>(py: Python<'py>, value: &impl Serialize) -> PyResult<Bound<'py, PyAny>> {
    pythonize::pythonize(py, value).map_err(|error| CodeGymError::new_err(error.to_string()))
}

/// A Python value as `T`: a dict (or list, ...) read through serde, or its JSON text.
pub(crate) fn from_python<T: DeserializeOwned>(value: &Bound<'_, PyAny>, what: &str) -> PyResult<T> {
    let bad = |error: String| CodeGymError::new_err(format!("invalid {what}: {error}"));
    if let Ok(text) = value.extract::<&str>() {
        return serde_json::from_str(text).map_err(|error| bad(error.to_string()));
    }
    pythonize::depythonize(value).map_err(|error| bad(error.to_string()))
}

/// A Python value as JSON text (tool arguments).
pub(crate) fn to_json(value: &Bound<'_, PyAny>, what: &str) -> PyResult<String> {
    let value: Value = pythonize::depythonize(value)
        .map_err(|error| InvalidActionError::new_err(format!("`{what}` is not JSON data: {error}")))?;
    Ok(value.to_string())
}

/// The tools of `env`: `[{"name", "description", "parameters": JSON Schema}]`.
pub(crate) fn tools<'py>(py: Python<'py>, env: &Env) -> PyResult<Bound<'py, PyAny>> {
    let tools: Vec<Value> = env
        .info()
        .tools
        .iter()
        .map(|tool| {
            let parameters =
                serde_json::from_str(&tool.parameters).unwrap_or_else(|_| Value::String(tool.parameters.clone()));
            serde_json::json!({ "name": tool.name, "description": tool.description, "parameters": parameters })
        })
        .collect();
    to_python(py, &tools)
}

/// `codegym.info(name)`.
pub(crate) fn env_info<'py>(py: Python<'py>, env: &Env) -> PyResult<Bound<'py, PyDict>> {
    let info = env.info();
    let dict = PyDict::new(py);
    dict.set_item("name", &info.name)?;
    dict.set_item("version", &info.version)?;
    dict.set_item("category", &info.category)?;
    dict.set_item("description", &info.description)?;
    dict.set_item("hash", env.hash())?;
    dict.set_item("runtime", env.runtime_hash())?;
    dict.set_item("tools", tools(py, env)?)?;
    Ok(dict)
}

/// The `info` of one step: `steps`, `outcome` and `fault` (`None` or a name) and
/// `parse_error`.
pub(crate) fn step_info<'py>(py: Python<'py>, turn: &Turn) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("steps", turn.steps)?;
    dict.set_item("outcome", turn.outcome.map(|outcome| outcome.as_str()))?;
    dict.set_item("fault", turn.fault.map(|fault| fault.as_str()))?;
    dict.set_item("parse_error", turn.parse_error)?;
    Ok(dict)
}
