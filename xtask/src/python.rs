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
use codegym_componentize::python;

use crate::setup;

/// A Python environment file `<dir>/<file>.py`, with its task configs `<dir>/<file>.jsonl`
/// when it has them (a CodeGym file has no `sample_config`).
pub struct PyEnv {
    /// Derived from the file's name as `codegym build-py` derives it ([`python::env_name`]).
    pub name: String,
    pub source: PathBuf,
    pub configs: Option<PathBuf>,
}

/// The Python environments in `dir` (files `*.py` not starting with `_`), sorted by name;
/// none if `dir` does not exist.
pub fn discover(dir: &Path) -> Result<Vec<PyEnv>> {
    let mut envs = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return Ok(envs) };
    for entry in entries {
        let source = entry?.path();
        let Some(stem) = source.file_stem().and_then(|n| n.to_str()) else { continue };
        if source.extension().is_some_and(|e| e == "py") && !stem.starts_with('_') {
            let name = python::env_name(&source, None)?;
            let configs = Some(source.with_extension("jsonl")).filter(|c| c.is_file());
            envs.push(PyEnv { name, source: source.clone(), configs });
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
            let inputs = modified(&env.source).max(env.configs.as_deref().and_then(modified)).max(shared);
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
                    if let Err(error) = build_one(root, env, &component) {
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
pub fn build_one(root: &Path, env: &PyEnv, out: &Path) -> Result<()> {
    let started = std::time::Instant::now();
    let source = &env.source;
    let venv = root.join(setup::PY_BUILD_VENV.dir);
    let line = python::Toolchain::in_workspace(root, &venv).command_line(
        source,
        &env.name,
        out,
        env.configs.as_deref(),
    );
    let status = Command::new(&line[0])
        .args(&line[1..])
        .status()
        .with_context(|| format!("running codegym_build.py for {}", source.display()))?;
    if !status.success() {
        let _ = std::fs::remove_file(out);
        bail!("building {} failed ({status})", source.display());
    }
    let bytes = std::fs::read(out).with_context(|| format!("reading {}", out.display()))?;
    let shape = match python::check(&bytes) {
        Ok(shape) => shape,
        Err(error) => {
            let _ = std::fs::remove_file(out);
            return Err(anyhow::Error::new(error)
                .context(format!("checking the component built from {}", source.display())));
        }
    };
    eprintln!(
        "  {} core modules, {} core instances, {} memories, {} tables (largest: {} elements)",
        shape.modules, shape.instances, shape.memories, shape.tables, shape.table_elements
    );
    eprintln!(
        "built {} from {} → {} ({:.1} MB) in {:.1}s",
        env.name,
        source.display(),
        out.display(),
        bytes.len() as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    Ok(())
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
