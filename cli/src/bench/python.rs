//! `codegym bench python`: many distinct Python environments on one shared runtime, built
//! and loaded into one host, beside a Rust environment in the same run.
//!
//! The environments are generated (`generate`): CodeGym-style classes that differ in class
//! and tool names, tool count, objective, config shape and size, so that no two packages
//! share code or configs.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use codegym_host::{Env, Host, Job, OraclePolicy, Outcome, Registry, ToolCall, percentile, run_episode};
use serde::Serialize;

use crate::{Global, default_threads, print_json};

/// Generate, build and load many distinct Python environments in one host, and measure
/// them beside a Rust environment.
#[derive(clap::Args)]
pub struct Args {
    /// Distinct Python environments to generate.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    envs: u64,
    /// The Rust environment measured beside them.
    #[arg(long, default_value = "binary-search")]
    rust: String,
    /// Keep the generated files and packages here (default: a temporary directory).
    #[arg(long, value_name = "DIR")]
    keep: Option<PathBuf>,
    /// Threads for building (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Report {
    envs: usize,
    /// Building every package (the runtime's `prepare`, written to disk), in all and per
    /// environment.
    build_s: f64,
    build_ms_per_env: f64,
    package_bytes_mean: f64,
    package_bytes_max: u64,
    /// Loading every package into one host (each is loaded into one instance as a check).
    load_s: f64,
    /// What the run added to the compile cache (nothing once the runtime is compiled: it
    /// is the only thing compiled).
    cache_bytes_added: u64,
    python_start_us_p50: f64,
    python_start_us_p99: f64,
    python_observe_us_p50: f64,
    /// One oracle episode of each environment.
    oracle_solved: usize,
    rust_env: String,
    rust_start_us_p50: f64,
    rust_observe_us_p50: f64,
}

impl Args {
    pub fn execute(self, global: &Global) -> Result<ExitCode> {
        let scratch = tempfile_dir(self.keep.as_deref())?;
        let dir = scratch.path();
        let config = global.host_config();
        let cache_dir = config.cache_dir.clone();
        let cache_before = cache_dir.as_deref().map_or(0, dir_bytes);
        let host = Host::new(config)?;
        let runtime = host.python_runtime(&crate::build_py::runtime_file(None)?)?;
        let count = self.envs as usize;
        let threads = self.threads.unwrap_or_else(default_threads).max(1);

        let started = Instant::now();
        let sizes = Mutex::new(Vec::with_capacity(count));
        let failures = Mutex::new(Vec::new());
        let next = AtomicUsize::new(0);
        let bar = crate::progress_bar(count, "envs built", self.json);
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= count {
                            break;
                        }
                        let name = format!("gen-{i:05}");
                        let built = runtime.prepare(&name, &format!("{name}.py"), &generate(i), None);
                        match built {
                            Ok(package) => {
                                let bytes = package.to_bytes();
                                let path = dir.join(format!("{name}.pyenv"));
                                match std::fs::write(&path, &bytes) {
                                    Ok(()) => sizes
                                        .lock()
                                        .unwrap_or_else(|e| e.into_inner())
                                        .push(bytes.len() as u64),
                                    Err(error) => failures
                                        .lock()
                                        .unwrap_or_else(|e| e.into_inner())
                                        .push(format!("{name}: {error}")),
                                }
                            }
                            Err(error) => failures
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .push(format!("{name}: {error}")),
                        }
                        bar.inc(1);
                    }
                });
            }
        });
        bar.finish_and_clear();
        let build = started.elapsed();
        let failures = failures.into_inner().unwrap_or_else(|e| e.into_inner());
        if !failures.is_empty() {
            bail!("{} generated environments did not build, e.g. {}", failures.len(), failures[0]);
        }
        runtime.install_into(dir)?;
        let sizes = sizes.into_inner().unwrap_or_else(|e| e.into_inner());

        let started = Instant::now();
        let registry = Registry::open(host.clone(), dir)?;
        let envs = registry.select("all")?;
        let load = started.elapsed();

        let mut starts = Vec::with_capacity(envs.len());
        let mut solved = 0;
        for (i, env) in envs.iter().enumerate() {
            let config = env.sample_config(i as u64, 50)?;
            let t = Instant::now();
            drop(env.start(&config)?);
            starts.push(t.elapsed().as_secs_f64());
            let job = Job::sampled(env.clone(), i as u64, 50);
            let (trajectory, _) = run_episode(&job, &mut OraclePolicy::default(), env.limits())?;
            solved += usize::from(trajectory.outcome == Outcome::Solved);
        }
        let python_observe = observe_p50(&envs[0])?;
        let rust = Registry::open(host.clone(), &global.env_dir())?.get(&self.rust)?;
        let rust_starts = start_times(&rust, 2000)?;
        let report = Report {
            envs: envs.len(),
            build_s: build.as_secs_f64(),
            build_ms_per_env: build.as_secs_f64() * 1e3 / count as f64,
            package_bytes_mean: sizes.iter().sum::<u64>() as f64 / sizes.len().max(1) as f64,
            package_bytes_max: sizes.iter().copied().max().unwrap_or(0),
            load_s: load.as_secs_f64(),
            cache_bytes_added: cache_dir.as_deref().map_or(0, dir_bytes).saturating_sub(cache_before),
            python_start_us_p50: percentile(&starts, 0.5) * 1e6,
            python_start_us_p99: percentile(&starts, 0.99) * 1e6,
            python_observe_us_p50: python_observe * 1e6,
            oracle_solved: solved,
            rust_env: self.rust.clone(),
            rust_start_us_p50: percentile(&rust_starts, 0.5) * 1e6,
            rust_observe_us_p50: observe_p50(&rust)? * 1e6,
        };
        if self.json {
            print_json(&report)?;
            return Ok(ExitCode::SUCCESS);
        }
        outln!(
            "built {} Python environments in {:.1}s ({:.1} ms each; packages {:.1} KB mean, {:.1} KB max)",
            report.envs,
            report.build_s,
            report.build_ms_per_env,
            report.package_bytes_mean / 1e3,
            report.package_bytes_max as f64 / 1e3
        );
        outln!(
            "loaded them into one host in {:.1}s; the compile cache grew by {:.1} MB",
            report.load_s,
            report.cache_bytes_added as f64 / 1e6
        );
        outln!(
            "episode start p50 {:.0} µs (p99 {:.0} µs), Observe p50 {:.1} µs; the oracle solved {}/{}",
            report.python_start_us_p50,
            report.python_start_us_p99,
            report.python_observe_us_p50,
            report.oracle_solved,
            report.envs
        );
        outln!(
            "beside them, {}: episode start p50 {:.1} µs, Observe p50 {:.2} µs",
            report.rust_env,
            report.rust_start_us_p50,
            report.rust_observe_us_p50
        );
        Ok(ExitCode::SUCCESS)
    }
}

fn start_times(env: &Env, samples: usize) -> Result<Vec<f64>> {
    let config = env.sample_config(1, 50)?;
    (0..samples)
        .map(|_| {
            let t = Instant::now();
            drop(env.start(&config)?);
            Ok(t.elapsed().as_secs_f64())
        })
        .collect()
}

fn observe_p50(env: &Env) -> Result<f64> {
    let config = env.sample_config(1, 50)?;
    let mut limits = env.limits();
    limits.max_steps = u32::MAX;
    limits.fuel_per_episode = u64::MAX;
    let mut episode = env.start_with(&config, limits)?;
    let observe = ToolCall::new("Observe", "{}");
    let times: Vec<f64> = (0..2000)
        .map(|_| {
            let t = Instant::now();
            episode.step(&observe);
            t.elapsed().as_secs_f64()
        })
        .collect();
    Ok(percentile(&times, 0.5))
}

/// Bytes of the files under `dir`.
fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|entry| match entry.metadata() {
            Ok(meta) if meta.is_dir() => dir_bytes(&entry.path()),
            Ok(meta) => meta.len(),
            Err(_) => 0,
        })
        .sum()
}

/// A directory for the run: `keep`, created, or a temporary one removed at the end.
fn tempfile_dir(keep: Option<&Path>) -> Result<Scratch> {
    match keep {
        Some(dir) => {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            Ok(Scratch { path: dir.to_owned(), remove: false })
        }
        None => {
            let path = std::env::temp_dir().join(format!("codegym-bench-python-{}", std::process::id()));
            std::fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
            Ok(Scratch { path, remove: true })
        }
    }
}

struct Scratch {
    path: PathBuf,
    remove: bool,
}

impl Scratch {
    fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if self.remove {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// What the `i`-th generated environment asks for.
const OBJECTIVES: [(&str, &str); 5] = [
    ("the sum of the hidden numbers", "sum(values)"),
    ("the largest hidden number", "max(values)"),
    ("the smallest hidden number", "min(values)"),
    ("how many hidden numbers are even", "sum(1 for v in values if v % 2 == 0)"),
    ("the index of the largest hidden number (the first if tied)", "values.index(max(values))"),
];

/// Names of the state key, the length tool and the item tool.
const SHAPES: [(&str, &str, &str); 4] = [
    ("values", "GetLength", "GetItem"),
    ("items", "Size", "Peek"),
    ("data", "CountItems", "ReadAt"),
    ("seq", "Length", "ElementAt"),
];

/// Extra tools (name, parameters, body returning text) that reveal no answer.
const EXTRAS: [(&str, &str, &str); 5] = [
    ("IsEven", "index: int", "return str(self.values[index] % 2 == 0)"),
    (
        "Compare",
        "i: int, j: int",
        "return str((self.values[i] > self.values[j]) - (self.values[i] < self.values[j]))",
    ),
    ("Sign", "index: int", "return str((self.values[index] > 0) - (self.values[index] < 0))"),
    ("Echo", "text: str", "return str(text)[:64]"),
    ("LastDigit", "index: int", "return str(abs(self.values[index]) % 10)"),
];

/// The source of the `i`-th generated environment: CodeGym's style, all of it different
/// from the others' in names, tools, objective or sizes.
fn generate(i: usize) -> String {
    let (goal, answer) = OBJECTIVES[i % OBJECTIVES.len()];
    let (key, length, item) = SHAPES[(i / OBJECTIVES.len()) % SHAPES.len()];
    let extras = (i / 20) % (EXTRAS.len() + 1);
    let base = 4 + i % 9;
    let spread = 10 + (i * 7) % 90;
    let mut tools = String::new();
    for (name, params, body) in EXTRAS.iter().take(extras) {
        tools.push_str(&format!(
            "\n    def {name}(self, {params}):\n        \"\"\"{name} of the hidden numbers (environment {i}).\"\"\"\n        {body}\n"
        ));
    }
    format!(
        r#""""Generated environment {i}: find {goal}."""
import json
import random

import gymnasium

CATEGORY = "arrays"
DESCRIPTION = "Find {goal}, reading the hidden numbers one at a time."


def sample_config(seed, difficulty):
    rng = random.Random(seed * 7919 + difficulty * 31 + {i})
    n = {base} + difficulty // 4
    return {{"{key}": [rng.randint(-{spread}, {spread}) for _ in range(n)]}}


class Generated{i}Env(gymnasium.Env):
    def reset(self, options={{}}):
        self.values = list(options.get("{key}", [0]))
        self._done = False
        self._reward = 0
        return "Find {goal}. Use {length} and {item}, then Done."

    @property
    def finished(self):
        return self._done

    @property
    def reward(self):
        return float(self._reward)

    def get_ref_answer(self):
        values = self.values
        return {answer}

    def {length}(self):
        """How many numbers are hidden."""
        return str(len(self.values))

    def {item}(self, index: int):
        """The hidden number at `index` (from 0)."""
        if not 0 <= index < len(self.values):
            return "Error: index out of range"
        return str(self.values[index])
{tools}
    def Observe(self):
        """What you may see: the task."""
        return "Find {goal}."

    def Done(self, answer: int):
        """Submit the answer."""
        self._done = True
        self._reward = 1 if answer == self.get_ref_answer() else -1
        return f"Your answer: {{answer}}"

    def solve(self):
        n = int(self.step(json.dumps({{"name": "{length}", "parameters": {{}}}}))[1])
        values = [int(self.step(json.dumps({{"name": "{item}", "parameters": {{"index": k}}}}))[1]) for k in range(n)]
        self.step(json.dumps({{"name": "Done", "parameters": {{"answer": {answer}}}}}))
"#
    )
}
