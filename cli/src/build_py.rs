use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{Context, Result, bail};
use codegym_componentize::python::{self, Toolchain};
use codegym_host::{Budget, Host};

use crate::Global;

/// Build a CodeGym-style Python environment file into a component.
///
/// The file is used unchanged: a `gymnasium.Env`-style class with tools as methods, `step`,
/// `reset(options)`, `get_ref_answer()`, `solve()`, and a module-level
/// `sample_config(seed, difficulty)` (or `--configs`). The adapter in
/// `env-sdk/python/` maps it onto the WIT world; componentize-py (installed by
/// `cargo xtask setup` into `target/py-build-venv`, or the venv `$CODEGYM_PY_VENV` names)
/// builds it with stubbed WASI, so the component imports nothing. The result is then loaded
/// in the host as a check. See `envs-py/README.md`.
#[derive(clap::Args)]
pub struct Args {
    /// The environment file (`.py`).
    file: PathBuf,
    /// Where to write the component. Default: `<env dir>/<name>.wasm`.
    #[arg(long, value_name = "FILE.wasm")]
    out: Option<PathBuf>,
    /// The environment's name. Default: derived from the file's name (lowercased, other
    /// characters as single dashes: `Code_Contests_10107_I__LargestNumberEnv.py` →
    /// `code-contests-10107-i-largestnumberenv`).
    #[arg(long)]
    name: Option<String>,
    /// A JSONL file of task configs, for a file without `sample_config(seed, difficulty)`.
    #[arg(long, value_name = "FILE.jsonl")]
    configs: Option<PathBuf>,
    /// The component's own budget (a `codegym:budget` section): fuel for one tool call.
    /// It only tightens the host's limits; a Python step typically takes ~75k.
    #[arg(long, value_name = "FUEL", value_parser = clap::value_parser!(u64).range(1..))]
    fuel_per_step: Option<u64>,
    /// Budget: fuel for a whole episode (a Python episode typically takes ~1.5M).
    #[arg(long, value_name = "FUEL", value_parser = clap::value_parser!(u64).range(1..))]
    fuel_per_episode: Option<u64>,
    /// Budget: the largest linear memory an instance may grow to, in MiB.
    #[arg(long, value_name = "MIB", value_parser = clap::value_parser!(u64).range(1..=4096))]
    memory_mib: Option<u64>,
}

impl Args {
    pub fn execute(self, global: &Global) -> Result<ExitCode> {
        let name = python::env_name(&self.file, self.name.as_deref())?;
        if !self.file.is_file() {
            bail!("{} is not a file", self.file.display());
        }
        let out = self.out.clone().unwrap_or_else(|| global.env_dir().join(format!("{name}.wasm")));
        let tools = toolchain()?;
        if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        let started = std::time::Instant::now();
        let line = tools.command_line(&self.file, &name, &out, self.configs.as_deref());
        let status = Command::new(&line[0])
            .args(&line[1..])
            .status()
            .with_context(|| format!("running {}", tools.python.display()))?;
        if !status.success() {
            bail!("building {} failed", self.file.display());
        }
        let built = started.elapsed();
        let budget = Budget {
            fuel_per_step: self.fuel_per_step,
            fuel_per_episode: self.fuel_per_episode,
            memory_bytes: self.memory_mib.map(|mib| (mib as usize) << 20),
            step_timeout_ms: None,
        };
        if budget != Budget::default() {
            let mut bytes = std::fs::read(&out).with_context(|| format!("reading {}", out.display()))?;
            bytes.extend(budget.section());
            std::fs::write(&out, bytes).with_context(|| format!("writing {}", out.display()))?;
        }
        // The host's own checks: valid, no imports, the env world, a working `info`.
        let host = Host::new(global.host_config())?;
        let env = match host.load(&out) {
            Ok(env) => env,
            Err(error) => {
                let _ = std::fs::remove_file(&out);
                return Err(error).context("the built component does not load");
            }
        };
        crate::warn_cache(&env.info().name, &env);
        let info = env.info();
        let size = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
        let limits = env.limits();
        outln!(
            "built {} from {} → {} ({:.1} MB, in {:.1}s): [{}], {} tools; limits: {} fuel per \
             call, {} per episode, {} MiB",
            name,
            self.file.display(),
            out.display(),
            size as f64 / 1e6,
            built.as_secs_f64(),
            info.category,
            info.tools.len(),
            limits.fuel_per_step,
            limits.fuel_per_episode,
            limits.memory_bytes >> 20
        );
        Ok(ExitCode::SUCCESS)
    }
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
