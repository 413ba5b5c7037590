//! `codegym build-py`: CodeGym-style Python environment files → `.pyenv` packages on the
//! shared Python runtime, one file or a whole directory at a time.

mod component;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use codegym_componentize::python::{self, PySource};
use codegym_host::{Budget, Host, PACKAGE_EXTENSION, Package, PythonRuntime, prune_runtimes};

use crate::Global;

/// Build CodeGym-style Python environment files into environments.
///
/// Each file is used unchanged: a `gymnasium.Env`-style class with tools as methods, `step`,
/// `reset(options)`, `get_ref_answer()`, `solve()`, and a module-level
/// `sample_config(seed, difficulty)`, or task configs given as data (`--configs`, a
/// `<stem>.jsonl` beside the file, or CodeGym's task rows with `--instances`).
///
/// By default a file becomes a package, `<name>.pyenv`: its source, configs and what the
/// shared Python runtime learnt from it, run by that one runtime (built by `cargo xtask
/// build-envs`, compiled once per machine). Building one compiles nothing: the runtime
/// compiles and inspects the file in its sandbox, in milliseconds. The output directory
/// gets the runtime too (`runtimes/<blake3>.wasm`, a hard link), so it can be handed on as
/// it is. Given a directory, every `*.py` in it (not starting with `_`) is built, in
/// parallel, with a line per file; packages already up to date are kept, so an interrupted
/// run resumes where it stopped. See `envs-py/README.md`.
///
/// With `--component`, one file becomes a self-contained component instead (componentize-py
/// in `target/py-build-venv` from `cargo xtask setup`; ~15 s and ~27 MB), to hand someone
/// a single `.wasm`.
#[derive(clap::Args)]
pub struct Args {
    /// A Python environment file (`.py`), or a directory of them.
    path: PathBuf,
    /// Where to write. For a file: the package (default `<env dir>/<name>.pyenv`; with
    /// `--component`, `<env dir>/<name>.wasm`). For a directory: the output directory
    /// (default: the env dir).
    #[arg(long, value_name = "PATH")]
    out: Option<PathBuf>,
    /// The environment's name (one file only). Default: derived from the file's name
    /// (lowercased, other characters as single dashes: `Code_Contests_10107_I__LargestNumberEnv.py`
    /// → `code-contests-10107-i-largestnumberenv`).
    #[arg(long)]
    name: Option<String>,
    /// A JSONL file of task configs (one file only; default: `<stem>.jsonl` beside the file
    /// if there is one), for a file without `sample_config(seed, difficulty)`.
    #[arg(long, value_name = "FILE.jsonl", conflicts_with = "instances")]
    configs: Option<PathBuf>,
    /// CodeGym's task rows (JSONL with `ability` = `codegym_v1@<file stem>@<config>`): each
    /// file's configs are those of the rows that name its stem.
    #[arg(long, value_name = "FILE.jsonl")]
    instances: Option<PathBuf>,
    /// The shared Python runtime component. Default: $CODEGYM_PY_RUNTIME, else the
    /// workspace's target/py-runtime/python-runtime.wasm (built by `cargo xtask build-envs`).
    #[arg(long, value_name = "FILE.wasm")]
    runtime: Option<PathBuf>,
    /// Build one self-contained component with componentize-py instead of a package.
    #[arg(long, conflicts_with_all = ["runtime", "instances", "jobs", "force"])]
    component: bool,
    /// Files built at once. Default: all cores.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=256))]
    jobs: Option<u64>,
    /// Rebuild packages that are already up to date.
    #[arg(long)]
    force: bool,
    /// The environment's own budget: fuel for one tool call. It only tightens the host's
    /// limits; a Python step typically takes ~75k.
    #[arg(long, value_name = "FUEL", value_parser = clap::value_parser!(u64).range(1..))]
    fuel_per_step: Option<u64>,
    /// Budget: fuel for a whole episode (a Python episode typically takes ~1.5M).
    #[arg(long, value_name = "FUEL", value_parser = clap::value_parser!(u64).range(1..))]
    fuel_per_episode: Option<u64>,
    /// Budget: the largest linear memory an instance may grow to, in MiB.
    #[arg(long, value_name = "MIB", value_parser = clap::value_parser!(u64).range(1..=4096))]
    memory_mib: Option<u64>,
}

/// What became of one file.
enum Outcome {
    Built { package: PathBuf, tools: usize, bytes: u64, took: Duration },
    Fresh { package: PathBuf },
    Refused { reason: String },
}

impl Args {
    pub fn execute(self, global: &Global) -> Result<ExitCode> {
        let budget = Budget {
            fuel_per_step: self.fuel_per_step,
            fuel_per_episode: self.fuel_per_episode,
            memory_bytes: self.memory_mib.map(|mib| (mib as usize) << 20),
            step_timeout_ms: None,
        };
        let is_dir = self.path.is_dir();
        if !is_dir && !self.path.is_file() {
            bail!("{} is neither a file nor a directory", self.path.display());
        }
        if is_dir && (self.name.is_some() || self.configs.is_some() || self.component) {
            bail!("--name, --configs and --component take one file, not a directory");
        }
        let sources = if is_dir {
            python::discover(&self.path)?
        } else {
            let name = python::env_name(&self.path, self.name.as_deref())?;
            let configs = self
                .configs
                .clone()
                .or_else(|| Some(self.path.with_extension("jsonl")).filter(|c| c.is_file()));
            vec![PySource { name, path: self.path.clone(), configs }]
        };
        if self.component {
            let source = &sources[0];
            let out =
                self.out.clone().unwrap_or_else(|| global.env_dir().join(format!("{}.wasm", source.name)));
            create_parent(&out)?;
            component::build(global, &source.path, &source.name, source.configs.as_deref(), budget, &out)?;
            return Ok(ExitCode::SUCCESS);
        }
        if sources.is_empty() {
            bail!("no Python environment files (*.py) in {}", self.path.display());
        }
        let instances = match &self.instances {
            Some(path) => Some(python::read_instances(path)?),
            None => None,
        };
        // Where each package goes: a file's `--out` is the package itself.
        let (out_dir, single_out) = match (&self.out, is_dir) {
            (Some(out), false) if out.extension().is_some_and(|e| e == PACKAGE_EXTENSION) => (
                out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_owned(),
                Some(out.clone()),
            ),
            (Some(_), false) => {
                bail!("--out for one file is the package to write (`<name>.{PACKAGE_EXTENSION}`)")
            }
            (Some(out), true) => (out.clone(), None),
            (None, _) => (global.env_dir(), None),
        };
        std::fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;

        let started = Instant::now();
        let host = Host::new(global.host_config())?;
        let runtime_file = runtime_file(self.runtime.as_deref())?;
        let runtime = host
            .python_runtime(&runtime_file)
            .with_context(|| format!("loading the Python runtime {}", runtime_file.display()))?;
        if runtime.cache_outcome().is_warning() {
            eprintln!("warning: the Python runtime: {}", runtime.cache_outcome());
        }
        runtime.install_into(&out_dir)?;

        let job =
            Job { host: &host, runtime: &runtime, budget, force: self.force, instances: instances.as_ref() };
        if !is_dir {
            // One file: its line, or its refusal as the command's error.
            let source = &sources[0];
            let package =
                single_out.unwrap_or_else(|| out_dir.join(format!("{}.{PACKAGE_EXTENSION}", source.name)));
            let outcome = job.build(source, &package);
            if let Outcome::Refused { reason } = outcome {
                bail!("{}: {reason}", source.path.display());
            }
            outln!("{}", report(source, &outcome).1);
            prune(&out_dir);
            return Ok(ExitCode::SUCCESS);
        }
        let bar = crate::progress_bar(sources.len(), "files", false);
        let next = AtomicUsize::new(0);
        let counts = Mutex::new([0usize; 3]);
        let jobs = self.jobs.map_or_else(crate::default_threads, |n| n as usize).min(sources.len());
        std::thread::scope(|scope| {
            for _ in 0..jobs {
                scope.spawn(|| {
                    while let Some(source) = sources.get(next.fetch_add(1, Ordering::Relaxed)) {
                        let package = out_dir.join(format!("{}.{PACKAGE_EXTENSION}", source.name));
                        let outcome = job.build(source, &package);
                        let (index, line) = report(source, &outcome);
                        counts.lock().unwrap_or_else(|e| e.into_inner())[index] += 1;
                        // The lines are the output (stdout); the bar is on stderr.
                        bar.suspend(|| {
                            use std::io::Write as _;
                            let _ = writeln!(std::io::stdout().lock(), "{line}");
                        });
                        bar.inc(1);
                    }
                });
            }
        });
        bar.finish_and_clear();
        let [built, fresh, refused] = counts.into_inner().unwrap_or_else(|e| e.into_inner());
        {
            let took = started.elapsed();
            outln!(
                "{built} built, {fresh} up to date, {refused} refused, in {:.1}s ({:.0} ms a file) → {} (runtime {})",
                took.as_secs_f64(),
                took.as_secs_f64() * 1e3 / sources.len() as f64,
                out_dir.display(),
                &runtime.hash()[..16]
            );
        }
        prune(&out_dir);
        Ok(if refused > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS })
    }
}

/// Remove the runtimes no package in `dir` names any more, saying so; a failure to is only
/// a warning (the packages are built).
fn prune(dir: &Path) {
    match prune_runtimes(dir) {
        Ok(removed) => {
            for path in removed {
                eprintln!("removed {}: no package here names that runtime", path.display());
            }
        }
        Err(error) => eprintln!("warning: cannot prune old runtimes: {error}"),
    }
}

/// What building one file shares with the others.
struct Job<'a> {
    host: &'a Host,
    runtime: &'a PythonRuntime,
    budget: Budget,
    force: bool,
    instances: Option<&'a std::collections::BTreeMap<String, Vec<String>>>,
}

impl Job<'_> {
    fn build(&self, source: &PySource, package_path: &Path) -> Outcome {
        match self.try_build(source, package_path) {
            Ok(outcome) => outcome,
            Err(error) => Outcome::Refused { reason: format!("{error:#}") },
        }
    }

    fn try_build(&self, source: &PySource, package_path: &Path) -> Result<Outcome> {
        let started = Instant::now();
        let text = std::fs::read_to_string(&source.path)
            .with_context(|| format!("reading {}", source.path.display()))?;
        let configs = self.configs(source)?;
        let file = source.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let budget = Some(self.budget).filter(|b| *b != Budget::default());
        if !self.force && is_fresh(package_path, &self.runtime.hash(), &text, configs.as_ref(), budget) {
            return Ok(Outcome::Fresh { package: package_path.to_owned() });
        }
        let mut package = self.runtime.prepare(&source.name, &file, &text, configs)?;
        package.budget = budget;
        let package_path = match package.name == source.name {
            true => package_path.to_owned(),
            // The file names itself (`NAME = ...`).
            false => package_path.with_file_name(format!("{}.{PACKAGE_EXTENSION}", package.name)),
        };
        let bytes = package.to_bytes();
        write_atomically(&package_path, &bytes)?;
        // The host's own check: the package loads into a fresh instance of its runtime.
        let env = match self.host.load(&package_path) {
            Ok(env) => env,
            Err(error) => {
                let _ = std::fs::remove_file(&package_path);
                return Err(error).context("the built package does not load");
            }
        };
        Ok(Outcome::Built {
            package: package_path,
            tools: env.info().tools.len(),
            bytes: bytes.len() as u64,
            took: started.elapsed(),
        })
    }

    /// The file's configs: its rows of `--instances`, else its configs file.
    fn configs(&self, source: &PySource) -> Result<Option<Vec<String>>> {
        if let Some(instances) = self.instances {
            let stem = source.path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
            return Ok(instances.get(&stem).cloned());
        }
        Ok(match &source.configs {
            Some(path) => Some(python::read_configs(path)?),
            None => None,
        })
    }
}

/// A line for one file, and which count it adds to (built, up to date, refused).
fn report(source: &PySource, outcome: &Outcome) -> (usize, String) {
    let file = source.path.display();
    match outcome {
        Outcome::Built { package, tools, bytes, took } => (
            0,
            format!(
                "built {} from {file} → {} ({:.1} KB, {tools} tools, {:.0} ms)",
                source.name,
                package.display(),
                *bytes as f64 / 1e3,
                took.as_secs_f64() * 1e3
            ),
        ),
        Outcome::Fresh { package } => (1, format!("up to date: {}", package.display())),
        Outcome::Refused { reason } => (2, format!("refused {file}: {reason}")),
    }
}

/// Whether the package at `path` is what building would write: the same source, configs,
/// budget and runtime.
fn is_fresh(
    path: &Path,
    runtime: &str,
    source: &str,
    configs: Option<&Vec<String>>,
    budget: Option<Budget>,
) -> bool {
    let Ok(bytes) = std::fs::read(path) else { return false };
    let Ok(package) = Package::parse(&bytes) else { return false };
    package.runtime == runtime
        && package.source == source
        && package.configs.as_ref() == configs
        && package.budget == budget
}

/// The runtime component to build on: `--runtime`, else [`default_runtime_file`], checked
/// to exist.
pub(crate) fn runtime_file(explicit: Option<&Path>) -> Result<PathBuf> {
    let file = explicit.map_or_else(default_runtime_file, Path::to_owned);
    if !file.is_file() {
        bail!(
            "the shared Python runtime {} is missing: run `cargo xtask build-envs` in the CodeGym-rs \
             workspace (or give --runtime, or $CODEGYM_PY_RUNTIME)",
            file.display()
        );
    }
    Ok(file)
}

/// `$CODEGYM_PY_RUNTIME`, else the workspace's `target/py-runtime/python-runtime.wasm`.
pub(crate) fn default_runtime_file() -> PathBuf {
    std::env::var_os("CODEGYM_PY_RUNTIME").filter(|v| !v.is_empty()).map(PathBuf::from).unwrap_or_else(|| {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/py-runtime/python-runtime.wasm")
    })
}

/// Write `bytes` to `path` by rename, so that no reader sees half a file.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let partial = path.with_extension(format!("{PACKAGE_EXTENSION}.partial"));
    std::fs::write(&partial, bytes).with_context(|| format!("writing {}", partial.display()))?;
    std::fs::rename(&partial, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

fn create_parent(path: &Path) -> Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
    }
    Ok(())
}
