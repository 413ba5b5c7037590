use std::fmt::Write;
use std::process::ExitCode;

use anyhow::Result;
use codegym_host::CorpusStats;

use crate::{Global, default_threads, print_json, progress_bar, table};

/// Corpus statistics as in the CodeGym paper: environments, categories, tools per
/// environment and oracle calls per difficulty, beside the paper's own figures.
#[derive(clap::Args)]
pub struct Args {
    /// `all` or a comma-separated list of environment names.
    #[arg(long, default_value = "all")]
    envs: String,
    /// Oracle episodes per environment and difficulty.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=1000))]
    seeds: u64,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Print one JSON object (with every environment's card) instead of tables.
    #[arg(long)]
    json: bool,
}

impl Args {
    pub fn execute(self, global: &Global) -> Result<ExitCode> {
        let registry = global.registry()?;
        let names = registry.select_names(&self.envs)?;
        let bar = progress_bar(names.len(), "environments", self.json);
        let threads = self.threads.unwrap_or_else(default_threads);
        let stats = codegym_host::corpus_stats(&registry, &names, self.seeds, threads, || bar.inc(1))?;
        bar.finish_and_clear();
        if self.json {
            print_json(&stats)?;
        } else {
            out!("{}", render(&stats));
        }
        Ok(ExitCode::SUCCESS)
    }
}

fn render(stats: &CorpusStats) -> String {
    let mut out = String::new();
    let medium = |d: u32| stats.oracle_steps.iter().find(|s| s.difficulty == d);
    let rows = vec![
        vec!["environments".into(), stats.envs.to_string(), stats.paper.envs.to_string()],
        vec!["categories".into(), stats.categories.to_string(), "-".into()],
        vec![
            "tools per env (mean)".into(),
            format!("{:.2}", stats.tools_mean),
            format!("{:.2}", stats.paper.tools_mean),
        ],
        vec![
            "tools per env (min-max)".into(),
            format!("{}-{}", stats.tools_min, stats.tools_max),
            "-".into(),
        ],
        vec![
            "oracle calls, medium (mean)".into(),
            format!("{:.2}", stats.oracle_steps_mean_medium),
            format!("{:.2}", stats.paper.oracle_steps_mean),
        ],
    ];
    out.push_str(&table::render(&["", "ours", "paper"], &rows));

    let rows: Vec<Vec<String>> = stats
        .oracle_steps
        .iter()
        .map(|s| {
            vec![
                s.difficulty.to_string(),
                format!("{:.1}", s.calls.mean),
                format!("{:.1}", s.calls.median),
                format!("{:.1}", s.calls.p90),
                format!("{:.0}-{:.0}", s.calls.min, s.calls.max),
            ]
        })
        .collect();
    let _ = writeln!(out, "\nOracle calls per episode (per-env means, {} seeds each):", stats.seeds);
    out.push_str(&table::render(&["difficulty", "mean", "median", "p90", "range"], &rows));

    let _ = writeln!(out, "\nEnvironments per category:");
    let categories: Vec<(String, f64)> =
        stats.per_category.iter().map(|(c, n)| (c.clone(), *n as f64)).collect();
    out.push_str(&bars(&categories));

    let _ = writeln!(out, "\nTools per environment:");
    let tools: Vec<f64> = stats.cards.iter().map(|c| c.tools.len() as f64).collect();
    out.push_str(&bars(&histogram(&tools, 1.0)));

    if medium(50).is_some() {
        let _ = writeln!(out, "\nOracle calls at medium difficulty (per-env mean):");
        let calls: Vec<f64> =
            stats.cards.iter().filter_map(|c| c.at(50)).map(|d| d.oracle_calls.mean).collect();
        out.push_str(&bars(&histogram(&calls, 10.0)));
    }
    out
}

/// Counts of `values` in bins of `width` (labelled `lo` for width 1, else `lo-hi`).
fn histogram(values: &[f64], width: f64) -> Vec<(String, f64)> {
    let bins: std::collections::BTreeMap<i64, usize> =
        values.iter().fold(Default::default(), |mut bins, v| {
            *bins.entry((v / width).floor() as i64).or_default() += 1;
            bins
        });
    bins.into_iter()
        .map(|(bin, count)| {
            let lo = bin as f64 * width;
            let label =
                if width == 1.0 { format!("{lo:.0}") } else { format!("{lo:.0}-{:.0}", lo + width - 1.0) };
            (label, count as f64)
        })
        .collect()
}

/// One `#` bar per row, scaled to at most 40 characters.
fn bars(rows: &[(String, f64)]) -> String {
    let label_width = rows.iter().map(|(l, _)| l.len()).max().unwrap_or(0);
    let max = rows.iter().map(|(_, v)| *v).fold(0.0, f64::max).max(1.0);
    let scale = if max > 40.0 { 40.0 / max } else { 1.0 };
    let mut out = String::new();
    for (label, value) in rows {
        let width = ((value * scale).round() as usize).max(usize::from(*value > 0.0));
        let _ = writeln!(out, "  {label:>label_width$} | {} {value}", "#".repeat(width));
    }
    out
}
