use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use codegym_core::Trajectory;
use serde::Serialize;

use crate::{Global, print_json};

/// Re-run stored trajectories (JSONL from `rollout --out`) and report any observation that
/// differs from the stored one.
#[derive(clap::Args)]
pub struct Args {
    /// Trajectory file, one JSON object per line.
    file: PathBuf,
    #[arg(long)]
    json: bool,
}

#[derive(Serialize, Default)]
struct Summary {
    trajectories: usize,
    steps: usize,
    identical: usize,
    mismatched: Vec<codegym_host::ReplayReport>,
    errors: Vec<String>,
}

impl Args {
    pub fn execute(self, global: &Global) -> Result<ExitCode> {
        let registry = global.registry()?;
        let file =
            std::fs::File::open(&self.file).with_context(|| format!("opening {}", self.file.display()))?;
        let mut summary = Summary::default();
        for (number, line) in std::io::BufReader::new(file).lines().enumerate() {
            let line = line?;
            if line.trim().is_empty() {
                continue;
            }
            let result =
                serde_json::from_str::<Trajectory>(&line).map_err(anyhow::Error::from).and_then(|t| {
                    let env = registry.get(&t.env)?;
                    Ok(codegym_host::replay_trajectory(&env, &t)?)
                });
            match result {
                Ok(report) => {
                    summary.trajectories += 1;
                    summary.steps += report.steps;
                    if report.mismatches.is_empty() {
                        summary.identical += 1;
                    } else {
                        summary.mismatched.push(report);
                    }
                }
                Err(error) => summary.errors.push(format!("line {}: {error:#}", number + 1)),
            }
        }
        let ok = summary.mismatched.is_empty() && summary.errors.is_empty();
        if self.json {
            print_json(&summary)?;
        } else {
            for report in &summary.mismatched {
                for m in &report.mismatches {
                    let at = m.step.map_or_else(|| "task".to_owned(), |s| format!("step {}", s + 1));
                    outln!(
                        "{} seed {}: {at} differs\n  stored:   {}\n  replayed: {}",
                        report.env,
                        report.seed,
                        m.expected,
                        m.actual
                    );
                }
            }
            for error in &summary.errors {
                outln!("error: {error}");
            }
            outln!(
                "replayed {} trajectories ({} steps): {} identical, {} differ, {} errors",
                summary.trajectories,
                summary.steps,
                summary.identical,
                summary.mismatched.len(),
                summary.errors.len()
            );
        }
        Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
    }
}
