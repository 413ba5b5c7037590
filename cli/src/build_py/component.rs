//! `codegym build-py FILE --component`: one self-contained component for one file, built by
//! componentize-py (seconds and ~27 MB; a package on the shared runtime is the default).

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use codegym_componentize::python::Toolchain;
use codegym_host::{Budget, Host};

use crate::Global;

/// Build `file` into the component `out`, check that the host loads it, and report it.
pub fn build(
    global: &Global,
    file: &Path,
    name: &str,
    configs: Option<&Path>,
    budget: Budget,
    out: &Path,
) -> Result<()> {
    let tools = toolchain()?;
    let started = std::time::Instant::now();
    let line = tools.command_line(file, name, out, configs);
    let status = Command::new(&line[0])
        .args(&line[1..])
        .status()
        .with_context(|| format!("running {}", tools.python.display()))?;
    if !status.success() {
        bail!("building {} failed", file.display());
    }
    let built = started.elapsed();
    if budget != Budget::default() {
        let mut bytes = std::fs::read(out).with_context(|| format!("reading {}", out.display()))?;
        bytes.extend(budget.section());
        std::fs::write(out, bytes).with_context(|| format!("writing {}", out.display()))?;
    }
    // The host's own checks: valid, no imports, the env world, a working `info`.
    let host = Host::new(global.host_config())?;
    let env = match host.load(out) {
        Ok(env) => env,
        Err(error) => {
            let _ = std::fs::remove_file(out);
            return Err(error).context("the built component does not load");
        }
    };
    crate::warn_cache(&env.info().name, &env);
    let info = env.info();
    let size = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    let limits = env.limits();
    outln!(
        "built {} from {} → {} ({:.1} MB, in {:.1}s): [{}], {} tools; limits: {} fuel per \
         call, {} per episode, {} MiB",
        name,
        file.display(),
        out.display(),
        size as f64 / 1e6,
        built.as_secs_f64(),
        info.category,
        info.tools.len(),
        limits.fuel_per_step,
        limits.fuel_per_episode,
        limits.memory_bytes >> 20
    );
    Ok(())
}

/// The build venv's toolchain in this workspace (or the venv `$CODEGYM_PY_VENV` names),
/// checked to be installed.
fn toolchain() -> Result<Toolchain> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let venv = std::env::var_os("CODEGYM_PY_VENV")
        .filter(|v| !v.is_empty())
        .map_or_else(|| workspace.join("target/py-build-venv"), PathBuf::from);
    if !venv.join("bin/componentize-py").is_file() || !venv.join("bin/python").is_file() {
        bail!(
            "componentize-py is not installed in {}: run `cargo xtask setup` in the CodeGym-rs \
             workspace (or point $CODEGYM_PY_VENV at a venv with componentize-py==0.25.1)",
            venv.display()
        );
    }
    let tools = Toolchain::in_workspace(&workspace, &venv);
    if !tools.script.is_file() || !tools.wit.join("codegym.wit").is_file() {
        bail!("the Python adapter (env-sdk/python) or wit/ is missing from {}", workspace.display());
    }
    Ok(tools)
}
