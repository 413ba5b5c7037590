use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use codegym_host::{Job, Limits, PolicyKind, RolloutOptions, RolloutReport};

use crate::{Global, default_threads, print_json, progress_bar, table};

/// Run many episodes on worker threads with a built-in policy; report per-env results.
#[derive(clap::Args)]
pub struct Args {
    /// `all` or a comma-separated list of environment names.
    #[arg(long, default_value = "all")]
    envs: String,
    #[arg(long, value_enum, default_value = "oracle")]
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
    /// Tool calls per episode before it is cut off.
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
        let envs = registry.select(&self.envs)?;
        let jobs: Vec<Job> = envs
            .iter()
            .flat_map(|env| {
                (self.seed..self.seed + self.episodes).map(|seed| Job {
                    env: env.clone(),
                    seed,
                    difficulty: self.difficulty,
                })
            })
            .collect();
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
