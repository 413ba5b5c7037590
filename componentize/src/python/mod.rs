//! CodeGym-style Python environment files → components, with componentize-py and the
//! adapter in `env-sdk/python` (whose `codegym_build.py` stages the file and runs it).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use wasmparser::{Parser, Payload, Validator, WasmFeatures};

use crate::{Error, imports};

mod data;

pub use data::{DataError, NumberedRow, PySource, discover, read_configs, read_instances, read_task_rows};

/// What a Python build runs: the build venv's interpreter, the adapter's build script and
/// the WIT directory.
#[derive(Clone, Debug)]
pub struct Toolchain {
    pub python: PathBuf,
    pub script: PathBuf,
    pub wit: PathBuf,
}

impl Toolchain {
    /// The toolchain of the workspace at `root` with the build venv at `venv`.
    pub fn in_workspace(root: &Path, venv: &Path) -> Self {
        Self {
            python: venv.join("bin/python"),
            script: root.join("env-sdk/python/codegym_build.py"),
            wit: root.join("wit"),
        }
    }

    /// The command line (program first) that builds `source` into the component `out`,
    /// named `name` (see [`env_name`]), with configs from `configs` when the file has no
    /// `sample_config`.
    pub fn command_line(
        &self,
        source: &Path,
        name: &str,
        out: &Path,
        configs: Option<&Path>,
    ) -> Vec<OsString> {
        let mut line: Vec<OsString> = vec![
            self.python.clone().into(),
            self.script.clone().into(),
            source.into(),
            "--out".into(),
            out.into(),
            "--wit".into(),
            self.wit.clone().into(),
            "--name".into(),
            name.into(),
        ];
        if let Some(configs) = configs {
            line.extend(["--configs".into(), configs.into()]);
        }
        line
    }
}

/// The environment name for the file `source`, or `explicit` (`--name`) when given.
///
/// A name is lowercase ASCII letters, digits and single dashes, with no dash at either end.
/// One derived from a file name (CodeGym names its files like
/// `Code_Contests_10107_I__LargestNumberEnv.py`) is lowercased, with every other
/// character turned into a dash, runs of dashes collapsed and end dashes trimmed
/// (`code-contests-10107-i-largestnumberenv`). An explicit name must already be valid.
pub fn env_name(source: &Path, explicit: Option<&str>) -> Result<String, NameError> {
    if let Some(name) = explicit {
        return if is_env_name(name) {
            Ok(name.to_owned())
        } else {
            Err(NameError::Invalid(name.to_owned()))
        };
    }
    let stem = source.file_stem().map(|s| s.to_string_lossy()).unwrap_or_default();
    name_from_stem(&stem).ok_or_else(|| NameError::Underivable(source.display().to_string()))
}

/// The environment name derived from a file stem (see [`env_name`]), as CodeGym's task rows
/// name a file (`codegym_v1@<stem>@...`); `None` if it has no letters or digits.
pub fn name_from_stem(stem: &str) -> Option<String> {
    let mut name = String::with_capacity(stem.len());
    for c in stem.chars() {
        if c.is_ascii_alphanumeric() {
            name.push(c.to_ascii_lowercase());
        } else if !name.is_empty() && !name.ends_with('-') {
            name.push('-');
        }
    }
    let name = name.trim_end_matches('-');
    (!name.is_empty()).then(|| name.to_owned())
}

/// Whether `name` is a valid environment name (see [`env_name`]).
pub fn is_env_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--")
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Why there is no environment name.
#[derive(Debug, thiserror::Error)]
pub enum NameError {
    #[error(
        "environment name {0:?} must be lowercase letters, digits and single dashes, with no dash at either end"
    )]
    Invalid(String),
    #[error("no environment name can be derived from {0} (it has no letters or digits): give one")]
    Underivable(String),
}

/// What instantiating a component takes from the host's pooling allocator.
#[derive(Clone, Copy, Debug, Default)]
pub struct Shape {
    pub modules: usize,
    pub instances: usize,
    pub memories: usize,
    pub tables: usize,
    pub table_elements: u64,
}

impl Shape {
    pub fn of(component: &[u8]) -> Result<Self, Error> {
        let mut shape = Shape::default();
        for payload in Parser::new(0).parse_all(component) {
            match payload? {
                Payload::ModuleSection { .. } => shape.modules += 1,
                Payload::InstanceSection(section) => shape.instances += section.count() as usize,
                Payload::MemorySection(section) => shape.memories += section.count() as usize,
                Payload::TableSection(section) => {
                    for table in section {
                        shape.tables += 1;
                        shape.table_elements = shape.table_elements.max(table?.ty.initial);
                    }
                }
                _ => {}
            }
        }
        Ok(shape)
    }
}

/// Check a componentize-py component: valid, importing nothing (its extra `init` export is
/// allowed: the host only looks up the world's exports), with at least one core module.
pub fn check(component: &[u8]) -> Result<Shape, Error> {
    Validator::new_with_features(WasmFeatures::all()).validate_all(component).map_err(Error::Invalid)?;
    let names = imports(component)?;
    if !names.is_empty() {
        return Err(Error::Imports { what: "component", names });
    }
    let shape = Shape::of(component)?;
    if shape.modules == 0 {
        return Err(Error::NoModule);
    }
    Ok(shape)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{NameError, env_name};

    fn derived(file: &str) -> Result<String, NameError> {
        env_name(Path::new(file), None)
    }

    #[test]
    fn names_derive_from_codegym_file_names() {
        let cases = [
            ("envs/Code_Contests_10107_I__LargestNumberEnv.py", "code-contests-10107-i-largestnumberenv"),
            ("house-robber.py", "house-robber"),
            ("__Leet--Code 7__.py", "leet-code-7"),
            ("x.tar.py", "x-tar"),
        ];
        for (file, name) in cases {
            assert_eq!(derived(file).expect(file), name);
        }
        assert!(matches!(derived("___.py"), Err(NameError::Underivable(_))));
    }

    #[test]
    fn an_explicit_name_wins_and_must_be_valid() {
        let file = Path::new("Code_Contests_1_A__XEnv.py");
        assert_eq!(env_name(file, Some("x")).expect("valid"), "x");
        for bad in ["", "Upper", "a_b", "-a", "a-", "a--b", "a b"] {
            assert!(matches!(env_name(file, Some(bad)), Err(NameError::Invalid(_))), "{bad:?}");
        }
    }
}
