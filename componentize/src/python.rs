//! CodeGym-style Python environment files → components, with componentize-py and the
//! adapter in `env-sdk/python` (whose `codegym_build.py` stages the file and runs it).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use wasmparser::{Parser, Payload, Validator, WasmFeatures};

use crate::{Error, imports};

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
    /// named `name`, with configs from `configs` when the file has no `sample_config`.
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
