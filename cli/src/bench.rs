use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use codegym_host::{BenchOptions, Host};

use crate::{Global, default_threads, print_json};

mod openenv;
mod python;
mod server;

/// Measure instantiation, step latency, throughput, memory per live episode and cached load
/// of one environment in-process; with `bench server`, a rollout server under load; with
/// `bench openenv`, any OpenEnv server under OpenEnv's lock-step load; with `bench python`,
/// many distinct Python environments on the shared runtime.
#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    target: Option<Target>,
    /// Environment to measure.
    #[arg(long, default_value = "binary-search")]
    env: String,
    /// Difficulty of the benchmarked task config, 0..=100.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(0..=100))]
    difficulty: u32,
    /// Episodes held alive at once for the memory figure.
    #[arg(long, default_value_t = 100_000)]
    live: usize,
    /// Live episodes stepped round-robin for the throughput figure.
    #[arg(long, default_value_t = 1000)]
    throughput_episodes: usize,
    /// Seconds of the throughput loop.
    #[arg(long, default_value_t = 2.0)]
    seconds: f64,
    /// Threads for the throughput loop (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Also measure instantiate + reset for every environment in the env dir.
    #[arg(long)]
    corpus: bool,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Subcommand)]
enum Target {
    Server(server::Args),
    Openenv(openenv::Args),
    Python(python::Args),
}

impl Args {
    pub fn execute(self, global: &Global) -> Result<ExitCode> {
        match self.target {
            Some(Target::Server(args)) => return args.execute(global),
            Some(Target::Openenv(args)) => return args.execute(global),
            Some(Target::Python(args)) => return args.execute(global),
            None => {}
        }
        let config = global.host_config();
        let dir = global.env_dir();
        let path = codegym_host::Registry::file_in(&dir, &self.env)
            .with_context(|| format!("no environment `{}` in {}", self.env, dir.display()))?;
        let options = BenchOptions {
            throughput_episodes: self.throughput_episodes,
            threads: self.threads.unwrap_or_else(default_threads),
            duration: Duration::from_secs_f64(self.seconds.max(0.1)),
            live_episodes: self.live,
            difficulty: self.difficulty,
            ..BenchOptions::default()
        };
        let mut report = codegym_host::bench(&config, &path, &options)?;
        if let Some(limit) = &report.live_limit {
            eprintln!("note: {limit}; the memory figure is for the episodes that started");
        }
        if self.corpus {
            let registry = codegym_host::Registry::open(Host::new(config)?, &global.env_dir())?
                .on_load(crate::warn_cache);
            let envs = registry.select("all")?;
            report.corpus_starts = Some(codegym_host::corpus_starts(&envs, self.difficulty, 2000)?);
        }
        if self.json {
            print_json(&report)?;
        } else {
            outln!(
                "env                        {} (difficulty {}, config {} bytes)",
                report.env,
                report.difficulty,
                report.config_bytes
            );
            outln!(
                "instantiate + reset        p50 {:.2} µs, p99 {:.2} µs",
                report.instantiate_reset_us_p50,
                report.instantiate_reset_us_p99
            );
            outln!(
                "Observe step               p50 {:.2} µs, p99 {:.2} µs",
                report.step_us_p50,
                report.step_us_p99
            );
            outln!(
                "throughput                 {:.0} steps/s ({} threads, {} live episodes)",
                report.steps_per_sec,
                report.threads,
                report.throughput_episodes
            );
            outln!(
                "live episodes              {} using {:.1} KiB RSS ({:.1} KiB PSS) each, {:.2} GiB RSS in all",
                report.live_episodes,
                report.rss_bytes_per_episode / 1024.0,
                report.pss_bytes_per_episode / 1024.0,
                report.rss_bytes_total as f64 / (1u64 << 30) as f64
            );
            outln!("cached component load      {:.3} ms", report.cached_load_ms);
            if let Some(corpus) = &report.corpus_starts {
                let starts = &corpus.instantiate_reset_us_p50;
                outln!(
                    "corpus instantiate + reset p50 over {} envs: median {:.2} µs, p90 {:.2} µs, max {:.2} µs ({})",
                    corpus.envs,
                    starts.median,
                    starts.p90,
                    starts.max,
                    corpus.slowest_env
                );
            }
        }
        Ok(ExitCode::SUCCESS)
    }
}
