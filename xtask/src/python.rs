//! CodeGym-style Python environments (`envs-py/<name>.py`) → zero-import components, with
//! componentize-py from the build venv that `cargo xtask setup` makes. The work of staging
//! a file next to the adapter and running componentize-py is `env-sdk/python/codegym_build.py`
//! (shared with `codegym build-py`); this module picks the files, skips fresh outputs, runs
//! two builds at a time and checks each result like `build-envs` checks Rust components.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::SystemTime;

use anyhow::{Context, Result, bail};
use wasmparser::{Parser, Payload, Validator, WasmFeatures};

use crate::components;
use crate::setup;

/// A Python environment file: `<dir>/<name>.py`.
pub struct PyEnv {
    pub name: String,
    pub source: PathBuf,
}

/// The Python environments in `dir` (files `<name>.py`, names not starting with `_`),
/// sorted by name; none if `dir` does not exist.
pub fn discover(dir: &Path) -> Result<Vec<PyEnv>> {
    let mut envs = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return Ok(envs) };
    for entry in entries {
        let source = entry?.path();
        let Some(name) = source.file_stem().and_then(|n| n.to_str()) else { continue };
        if source.extension().is_some_and(|e| e == "py") && !name.starts_with('_') {
            envs.push(PyEnv { name: name.to_owned(), source: source.clone() });
        }
    }
    envs.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(envs)
}

/// Build each of `envs` into `out/<name>.wasm` unless that is newer than the file, the
/// adapter, the WIT and the build venv; two at a time (componentize-py is single-threaded).
pub fn build(root: &Path, envs: &[PyEnv], out: &Path) -> Result<()> {
    if envs.is_empty() {
        return Ok(());
    }
    let python = setup::PY_BUILD_VENV.python(root);
    if !python.is_file() {
        bail!(
            "{} is missing: run `cargo xtask setup` (it installs componentize-py for the Python \
             environments)",
            python.display()
        );
    }
    std::fs::create_dir_all(out)?;
    let shared = newest(&shared_inputs(root))?;
    let stale: Vec<&PyEnv> = envs
        .iter()
        .filter(|env| {
            let built = modified(&out.join(format!("{}.wasm", env.name)));
            let inputs = modified(&env.source).max(shared);
            !matches!((built, inputs), (Some(built), Some(inputs)) if built >= inputs)
        })
        .collect();
    let queue = Mutex::new(stale.into_iter());
    let failures = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                loop {
                    let next = queue.lock().unwrap_or_else(|e| e.into_inner()).next();
                    let Some(env) = next else { break };
                    let component = out.join(format!("{}.wasm", env.name));
                    if let Err(error) = build_one(root, &env.source, &env.name, &component) {
                        failures.lock().unwrap_or_else(|e| e.into_inner()).push(format!("{error:#}"));
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap_or_else(|e| e.into_inner());
    if !failures.is_empty() {
        bail!("{}", failures.join("\n"));
    }
    Ok(())
}

/// Build one file and check the component; on failure no component is left at `out`.
pub fn build_one(root: &Path, source: &Path, name: &str, out: &Path) -> Result<()> {
    let started = std::time::Instant::now();
    let status = Command::new(setup::PY_BUILD_VENV.python(root))
        .arg(root.join("env-sdk/python/codegym_build.py"))
        .arg(source)
        .arg("--out")
        .arg(out)
        .arg("--wit")
        .arg(root.join("wit"))
        .arg("--name")
        .arg(name)
        .status()
        .with_context(|| format!("running codegym_build.py for {}", source.display()))?;
    if !status.success() {
        let _ = std::fs::remove_file(out);
        bail!("building {} failed ({status})", source.display());
    }
    let bytes = std::fs::read(out).with_context(|| format!("reading {}", out.display()))?;
    if let Err(error) = check(&bytes) {
        let _ = std::fs::remove_file(out);
        return Err(error.context(format!("checking the component built from {}", source.display())));
    }
    eprintln!(
        "built {} ({:.1} MB) from {} in {:.1}s",
        out.display(),
        bytes.len() as f64 / 1e6,
        source.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Valid, and importing nothing (componentize-py's `init` export is allowed: the host only
/// looks up the world's exports).
fn check(component: &[u8]) -> Result<()> {
    Validator::new_with_features(WasmFeatures::all())
        .validate_all(component)
        .context("validating component")?;
    let imports = components::imports(component)?;
    if !imports.is_empty() {
        bail!("component imports {}; environments must import nothing", imports.join(", "));
    }
    let shape = Shape::of(component)?;
    if shape.modules == 0 {
        bail!("component has no core module");
    }
    eprintln!(
        "  {} core modules, {} core instances, {} memories, {} tables (largest: {} elements)",
        shape.modules, shape.instances, shape.memories, shape.tables, shape.table_elements
    );
    Ok(())
}

/// What instantiating a component takes from the host's pooling allocator.
#[derive(Default)]
struct Shape {
    modules: usize,
    instances: usize,
    memories: usize,
    tables: usize,
    table_elements: u64,
}

impl Shape {
    fn of(component: &[u8]) -> Result<Self> {
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

/// What every Python component is built from besides its own file.
fn shared_inputs(root: &Path) -> Vec<PathBuf> {
    let mut inputs = vec![root.join("wit/codegym.wit"), setup::PY_BUILD_VENV.stamp(root)];
    let mut dirs = vec![root.join("env-sdk/python")];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "py") {
                inputs.push(path);
            }
        }
    }
    inputs
}

fn newest(paths: &[PathBuf]) -> Result<Option<SystemTime>> {
    Ok(paths.iter().filter_map(|p| modified(p)).max())
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}
