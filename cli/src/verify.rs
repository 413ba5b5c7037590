use std::process::ExitCode;

use anyhow::Result;
use codegym_host::{VerifyOptions, VerifyReport};

use crate::{Global, default_threads, print_json, progress_bar, table};

/// Verify environments as the CodeGym paper does: reproducible distinct configs, reference
/// answers within limits, the oracle solving every config in 10-256 calls at medium
/// difficulty, wrong answers rejected, no tool that returns the answer. Exits non-zero when
/// any environment fails.
#[derive(clap::Args)]
pub struct Args {
    /// `all` or a comma-separated list of environment names.
    #[arg(long, default_value = "all")]
    envs: String,
    /// Configs per environment, spread over difficulties 0, 50 and 100 (2 × 15 as in the
    /// paper).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(3..=3000))]
    configs: u64,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    json: bool,
}

impl Args {
    pub fn execute(self, global: &Global) -> Result<ExitCode> {
        let registry = global.registry()?;
        let names = registry.select_names(&self.envs)?;
        let options = VerifyOptions {
            configs: self.configs as usize,
            threads: self.threads.unwrap_or_else(default_threads),
        };
        let bar = progress_bar(names.len(), "environments", self.json);
        let report = codegym_host::verify(&registry, &names, &options, || bar.inc(1));
        bar.finish_and_clear();
        if self.json {
            print_json(&report)?;
        } else {
            print_report(&report)?;
        }
        Ok(if report.ok() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
    }
}

fn print_report(report: &VerifyReport) -> Result<()> {
    let mut rows = vec![vec!["environments checked".to_owned(), report.envs.to_string()]];
    rows.extend(report.funnel.iter().map(|s| vec![s.description.to_owned(), s.passed.to_string()]));
    out!("{}", table::render(&["stage", "passed"], &rows));
    outln!(
        "\n{} of {} environments passed ({} configs each).",
        report.passed,
        report.envs,
        report.configs_per_env
    );
    if !report.failed.is_empty() {
        outln!("\nRejected:");
        for failure in &report.failed {
            outln!("  {} [{}]: {}", failure.env, failure.stage.describe(), failure.reason);
        }
    }
    Ok(())
}
