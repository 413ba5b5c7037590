//! Values between Rust and Python: serde through `pythonize`, plus the dicts `step` returns.

use codegym_host::Env;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
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

/// A Python value as JSON text (tool arguments): dicts, lists, tuples, str, int, float,
/// bool and None written directly (this is on every step's path), anything else through
/// serde.
pub(crate) fn to_json(value: &Bound<'_, PyAny>, what: &str) -> PyResult<String> {
    let mut out = String::new();
    write_json(value, &mut out, 0).map_err(|error| {
        InvalidActionError::new_err(format!("`{what}` is not JSON data: {}", error.value(value.py())))
    })?;
    Ok(out)
}

/// Deeper than this is refused rather than recursed into.
const MAX_DEPTH: usize = 128;

fn write_json(value: &Bound<'_, PyAny>, out: &mut String, depth: usize) -> PyResult<()> {
    if depth > MAX_DEPTH {
        return Err(PyValueError::new_err(format!("nested deeper than {MAX_DEPTH} levels")));
    }
    if let Ok(dict) = value.cast_exact::<PyDict>() {
        out.push('{');
        for (index, (key, item)) in dict.iter().enumerate() {
            if index > 0 {
                out.push(',');
            }
            let key =
                key.cast_exact::<PyString>().map_err(|_| PyValueError::new_err("a key that is not a str"))?;
            push_str(out, key.to_str()?);
            out.push(':');
            write_json(&item, out, depth + 1)?;
        }
        out.push('}');
    } else if let Ok(text) = value.cast_exact::<PyString>() {
        push_str(out, text.to_str()?);
    } else if value.is_none() {
        out.push_str("null");
    } else if let Ok(flag) = value.cast_exact::<PyBool>() {
        out.push_str(if flag.is_true() { "true" } else { "false" });
    } else if value.is_exact_instance_of::<PyInt>() {
        match value.extract::<i64>() {
            Ok(number) => out.push_str(&number.to_string()),
            // Beyond 64 bits: JSON numbers have no size limit, Python's ints neither.
            Err(_) => out.push_str(&value.str()?.to_string()),
        }
    } else if let Ok(number) = value.cast_exact::<PyFloat>() {
        let number = number.value();
        if !number.is_finite() {
            return Err(PyValueError::new_err(format!("{number} has no JSON form")));
        }
        out.push_str(
            &serde_json::to_string(&number).map_err(|error| PyValueError::new_err(error.to_string()))?,
        );
    } else if let Ok(list) = value.cast_exact::<PyList>() {
        push_items(list.iter(), out, depth)?;
    } else if let Ok(tuple) = value.cast_exact::<PyTuple>() {
        push_items(tuple.iter(), out, depth)?;
    } else {
        let value: Value =
            pythonize::depythonize(value).map_err(|error| PyValueError::new_err(error.to_string()))?;
        out.push_str(&value.to_string());
    }
    Ok(())
}

fn push_items<'py>(
    items: impl Iterator<Item = Bound<'py, PyAny>>,
    out: &mut String,
    depth: usize,
) -> PyResult<()> {
    out.push('[');
    for (index, item) in items.enumerate() {
        if index > 0 {
            out.push(',');
        }
        write_json(&item, out, depth + 1)?;
    }
    out.push(']');
    Ok(())
}

/// `text` as a JSON string literal.
fn push_str(out: &mut String, text: &str) {
    // serde_json's escaping; a `String` sink cannot fail.
    out.push_str(&serde_json::to_string(text).unwrap_or_default());
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
