//! What a Python environment is built from besides its file: the files of a directory, and
//! task configs from a JSONL file of configs or from CodeGym's task rows.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use codegym_core::TaskRow;

use super::{NameError, env_name};

/// A Python environment file, with its task configs `<stem>.jsonl` beside it when there is
/// one (a CodeGym file has no `sample_config`).
#[derive(Clone, Debug)]
pub struct PySource {
    /// Derived from the file's name ([`env_name`]).
    pub name: String,
    pub path: PathBuf,
    pub configs: Option<PathBuf>,
}

/// The Python environment files of `dir` (`*.py` not starting with `_`), sorted by name;
/// none if `dir` does not exist.
pub fn discover(dir: &Path) -> Result<Vec<PySource>, DataError> {
    let mut sources = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return Ok(sources) };
    let io = |source| DataError::Io { path: dir.to_owned(), source };
    for entry in entries {
        let path = entry.map_err(io)?.path();
        let Some(stem) = path.file_stem().and_then(|n| n.to_str()) else { continue };
        if path.is_file() && path.extension().is_some_and(|e| e == "py") && !stem.starts_with('_') {
            let name = env_name(&path, None)?;
            let configs = Some(path.with_extension("jsonl")).filter(|c| c.is_file());
            sources.push(PySource { name, path, configs });
        }
    }
    sources.sort_by(|a, b| a.name.cmp(&b.name));
    if let Some(pair) = sources.windows(2).find(|pair| pair[0].name == pair[1].name) {
        return Err(DataError::SameName {
            name: pair[0].name.clone(),
            first: pair[0].path.clone(),
            second: pair[1].path.clone(),
        });
    }
    Ok(sources)
}

/// The task configs of a JSONL file: one JSON object a line (blank lines skipped), each
/// kept as its text.
pub fn read_configs(path: &Path) -> Result<Vec<String>, DataError> {
    let mut configs = Vec::new();
    let text = read(path)?;
    for (line, text) in numbered(&text) {
        match serde_json::from_str::<serde_json::Value>(text) {
            Ok(serde_json::Value::Object(_)) => configs.push(text.to_owned()),
            Ok(other) => {
                return Err(DataError::line(
                    path,
                    line,
                    format!("a config must be a JSON object, not {}", kind(&other)),
                ));
            }
            Err(error) => return Err(DataError::line(path, line, format!("not JSON: {error}"))),
        }
    }
    if configs.is_empty() {
        return Err(DataError::Empty { path: path.to_owned(), want: "one JSON object a line" });
    }
    Ok(configs)
}

/// One row of a CodeGym task file.
#[derive(Clone, Debug)]
pub struct NumberedRow {
    /// The line it is on, from 1.
    pub line: usize,
    pub row: TaskRow,
}

/// The rows of a CodeGym task file (JSONL; blank lines skipped), each checked: JSON of a
/// row's shape, and an `ability` of `codegym_v1@<file stem>@<config object>`.
pub fn read_task_rows(path: &Path) -> Result<Vec<NumberedRow>, DataError> {
    let text = read(path)?;
    let mut rows = Vec::new();
    for (line, text) in numbered(&text) {
        let row = TaskRow::parse(text).map_err(|error| DataError::line(path, line, error.0))?;
        rows.push(NumberedRow { line, row });
    }
    if rows.is_empty() {
        return Err(DataError::Empty { path: path.to_owned(), want: "one CodeGym task row a line" });
    }
    Ok(rows)
}

/// The configs of CodeGym's task rows (`ability` = `codegym_v1@<file stem>@<config>`), by
/// environment file stem, in the rows' order.
pub fn read_instances(path: &Path) -> Result<BTreeMap<String, Vec<String>>, DataError> {
    let mut by_stem: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for NumberedRow { line, row } in read_task_rows(path)? {
        let (stem, config) = row.ability().map_err(|error| DataError::line(path, line, error.0))?;
        by_stem.entry(stem.to_owned()).or_default().push(config.to_owned());
    }
    Ok(by_stem)
}

fn read(path: &Path) -> Result<String, DataError> {
    std::fs::read_to_string(path).map_err(|source| DataError::Io { path: path.to_owned(), source })
}

/// The non-blank lines of `text`, trimmed and numbered from 1.
fn numbered(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().map(|(i, l)| (i + 1, l.trim())).filter(|(_, l)| !l.is_empty())
}

fn kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Why a Python environment's inputs are unusable.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}:{line}: {reason}")]
    Line { path: PathBuf, line: usize, reason: String },
    #[error("{path}: nothing in it (want {want})")]
    Empty { path: PathBuf, want: &'static str },
    #[error("{first} and {second} would both be the environment `{name}`: rename one")]
    SameName { name: String, first: PathBuf, second: PathBuf },
    #[error(transparent)]
    Name(#[from] NameError),
}

impl DataError {
    fn line(path: &Path, line: usize, reason: String) -> Self {
        Self::Line { path: path.to_owned(), line, reason }
    }
}
