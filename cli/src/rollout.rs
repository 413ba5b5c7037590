use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use codegym_host::{Limits, PolicyKind, RolloutOptions, RolloutReport};

use crate::{Global, default_threads, print_json, progress_bar, table};

/// Run many episodes on worker threads with a built-in policy; report per-env results.
///
/// The episodes are `--episodes` seeds of each of `--envs`, or exactly the tasks of a
/// CodeGym task file (`--tasks`).
#[derive(clap::Args)]
pub struct Args {
    /// `all` or a comma-separated list of environment names.
    #[arg(long, default_value = "all")]
    envs: String,
    /// Run exactly the tasks of this CodeGym task file instead, one episode a row: the
    /// environment its `ability` (`codegym_v1@<file stem>@<config>`) names by the file's
    /// stem (named as `codegym build-py` names it), started on the row's config as it is,
    /// with its `plugin_call_max_round` as the step limit (when below --max-steps). Each
    /// trajectory records the row's index and `extra_info`.
    #[arg(long, value_name = "FILE.jsonl", conflicts_with_all = ["envs", "episodes", "seed", "difficulty"])]
    tasks: Option<PathBuf>,
    #[arg(long, default_value = "oracle", value_parser = policy_kind())]
    policy: PolicyKind,
    /// Episodes per environment (seeds `seed..seed+episodes`).
    #[arg(long, default_value_t = 10)]
    episodes: u64,
    /// First seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// 0..=100.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(0..=100))]
    difficulty: u32,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Tool calls per episode before it is cut off (for a --tasks row, its own
    /// `plugin_call_max_round` when lower).
    #[arg(long, default_value_t = 256)]
    max_steps: u32,
    /// Write every trajectory as one JSON line to this file.
    #[arg(long, value_name = "FILE.jsonl")]
    out: Option<PathBuf>,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    json: bool,
}

impl Args {
    pub fn execute(self, global: &Global) -> Result<ExitCode> {
        let registry = global.registry()?;
        let jobs = match &self.tasks {
            Some(path) => crate::tasks::jobs(path, &registry)?,
            None => crate::tasks::sampled(&registry, &self.envs, self.seed, self.episodes, self.difficulty)?,
        };
        let options = RolloutOptions {
            threads: self.threads.unwrap_or_else(default_threads),
            limits: Limits { max_steps: self.max_steps, ..registry.host().config().limits },
        };
        let bar = progress_bar(jobs.len(), "episodes", self.json);
        let policy = self.policy;
        let report =
            codegym_host::rollout(&jobs, &|index| policy.build(index as u64), &options, &|| bar.inc(1));
        bar.finish_and_clear();

        if let Some(path) = &self.out {
            write_jsonl(path, &report).with_context(|| format!("writing {}", path.display()))?;
        }
        if self.json {
            print_json(&report)?;
        } else {
            print_report(&report)?;
            if let Some(path) = &self.out {
                outln!("wrote {} trajectories to {}", report.trajectories.len(), path.display());
            }
        }
        for error in &report.errors {
            eprintln!("error: {error}");
        }
        Ok(if report.errors.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
    }
}

fn write_jsonl(path: &PathBuf, report: &RolloutReport) -> Result<()> {
    let mut out = BufWriter::new(std::fs::File::create(path)?);
    for trajectory in &report.trajectories {
        serde_json::to_writer(&mut out, trajectory)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

fn print_report(report: &RolloutReport) -> Result<()> {
    let rows: Vec<Vec<String>> = report
        .per_env
        .iter()
        .map(|e| {
            vec![
                e.env.clone(),
                e.episodes.to_string(),
                format!("{:.1}%", e.solved_pct),
                format!("{:.1}", e.mean_steps),
                e.faults.to_string(),
            ]
        })
        .collect();
    out!("{}", table::render(&["env", "episodes", "solved", "mean steps", "faults"], &rows));
    outln!(
        "total: {} episodes, {} solved ({:.1}%), {} steps, {} faults, {:.0} steps/s overall, {:.2} µs/step in the environment, {:.2}s",
        report.episodes,
        report.solved,
        100.0 * report.solved as f64 / report.episodes.max(1) as f64,
        report.steps,
        report.faults,
        report.steps_per_sec,
        report.us_per_step,
        report.elapsed_secs,
    );
    Ok(())
}

/// `--policy`'s parser: the host's built-in policies, listed in `--help`.
fn policy_kind() -> impl clap::builder::TypedValueParser<Value = PolicyKind> {
    use clap::builder::{PossibleValue, TypedValueParser};
    let about = |name| match name {
        "oracle" => "The environment's own oracle, run in a separate instance",
        _ => "Uniformly random tools with arguments drawn from their JSON Schemas",
    };
    clap::builder::PossibleValuesParser::new(
        PolicyKind::NAMES.map(|name| PossibleValue::new(name).help(about(name))),
    )
    .map(|name| name.parse::<PolicyKind>().expect("one of PolicyKind::NAMES"))
}
