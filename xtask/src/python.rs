//! The Python lane's build: the shared runtime, built once by componentize-py (from the
//! build venv `cargo xtask setup` makes, with `env-sdk/python/codegym_build.py --runtime`),
//! and the environments as packages on it, by `codegym build-py DIR --out DIR`, which
//! compiles nothing and keeps packages that are up to date.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use anyhow::{Context, Result, bail};
use codegym_componentize::python;
pub use codegym_componentize::python::PySource;

use crate::setup;
use crate::tasks::run_command;

/// Where `build_runtime` writes the runtime (the CLI's default `--runtime`).
pub const RUNTIME: &str = "target/py-runtime/python-runtime.wasm";

/// The Python environment files of `dir`, as `codegym build-py` finds them.
pub fn discover(dir: &Path) -> Result<Vec<PySource>> {
    Ok(python::discover(dir)?)
}

/// Build the shared runtime unless it is newer than the adapter, the WIT and the build venv.
pub fn build_runtime(root: &Path) -> Result<PathBuf> {
    let out = root.join(RUNTIME);
    let built = modified(&out);
    if built.is_some() && built >= newest(&shared_inputs(root)) {
        return Ok(out);
    }
    let python = setup::PY_BUILD_VENV.python(root);
    if !python.is_file() {
        bail!(
            "{} is missing: run `cargo xtask setup` (it installs componentize-py for the Python \
             runtime)",
            python.display()
        );
    }
    std::fs::create_dir_all(out.parent().context("the runtime's directory")?)?;
    let started = std::time::Instant::now();
    run_command(
        Command::new(&python)
            .arg(root.join("env-sdk/python/codegym_build.py"))
            .arg("--runtime")
            .arg("--out")
            .arg(&out)
            .arg("--wit")
            .arg(root.join("wit")),
    )
    .context("building the shared Python runtime")?;
    let bytes = std::fs::read(&out).with_context(|| format!("reading {}", out.display()))?;
    let shape = python::check(&bytes).map_err(|error| {
        let _ = std::fs::remove_file(&out);
        anyhow::Error::new(error).context("checking the shared Python runtime")
    })?;
    eprintln!(
        "built the shared Python runtime → {} ({:.1} MB, {} core modules, {} core instances) in {:.1}s",
        out.display(),
        bytes.len() as f64 / 1e6,
        shape.modules,
        shape.instances,
        started.elapsed().as_secs_f64()
    );
    Ok(out)
}

/// Build `sources` (all of `dir`'s when `only_some` is false) into packages in `out` with the
/// CLI at `codegym`; a component an older build left under a package's name is removed (a
/// directory may not hold both).
pub fn build_packages(
    codegym: &Path,
    dir: &Path,
    sources: &[PySource],
    only_some: bool,
    out: &Path,
) -> Result<()> {
    if sources.is_empty() {
        return Ok(());
    }
    std::fs::create_dir_all(out)?;
    for source in sources {
        let stale = out.join(format!("{}.wasm", source.name));
        if stale.is_file() {
            std::fs::remove_file(&stale).with_context(|| format!("removing {}", stale.display()))?;
        }
    }
    if !only_some {
        return run_command(Command::new(codegym).arg("build-py").arg(dir).arg("--out").arg(out));
    }
    for source in sources {
        let package = out.join(format!("{}.pyenv", source.name));
        run_command(Command::new(codegym).arg("build-py").arg(&source.path).arg("--out").arg(package))?;
    }
    Ok(())
}

/// What the runtime is built from.
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

fn newest(paths: &[PathBuf]) -> Option<SystemTime> {
    paths.iter().filter_map(|p| modified(p)).max()
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}
