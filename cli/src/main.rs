//! `codegym`: list, play, solve, roll out, replay, serve (HTTP or MCP) and benchmark environment
//! components.

/// `print!` to stdout that returns the write's error from the enclosing function instead of
/// panicking, so a closed pipe (`codegym list | head`) ends the output quietly in `main`.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        write!(std::io::stdout().lock(), $($arg)*)?;
    }};
}

/// `println!` as [`out!`] is `print!`.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        writeln!(std::io::stdout().lock(), $($arg)*)?;
    }};
}

mod bench;
mod build_py;
mod eval;
mod list;
mod mcp;
mod play;
mod replay;
mod rollout;
mod serve;
mod show;
mod solve;
mod stats;
mod synth;
mod table;
mod tasks;
mod verify;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use codegym_host::{Episode, Host, HostConfig, Registry};

/// Sandboxed tool-use RL environments for LLM agents, as WebAssembly components.
#[derive(Parser)]
#[command(name = "codegym", version, about, long_about = None)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
struct Global {
    /// Directory of environment components (`<name>.wasm`). Default: $CODEGYM_ENVS, else
    /// ./target/envs, else the workspace's target/envs (built by `cargo xtask build-envs`).
    #[arg(long, global = true, value_name = "DIR")]
    env_dir: Option<PathBuf>,
    /// Where compiled components are cached. Default: $CODEGYM_CACHE, else ~/.cache/codegym.
    #[arg(long, global = true, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    List(list::Args),
    Show(show::Args),
    Play(play::Args),
    Solve(solve::Args),
    Rollout(rollout::Args),
    Eval(eval::Args),
    Replay(replay::Args),
    Bench(bench::Args),
    BuildPy(build_py::Args),
    Verify(verify::Args),
    Stats(stats::Args),
    Serve(serve::Args),
    Mcp(mcp::Args),
    Synth(synth::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::List(args) => args.execute(&cli.global),
        Command::Show(args) => args.execute(&cli.global),
        Command::Play(args) => args.execute(&cli.global),
        Command::Solve(args) => args.execute(&cli.global),
        Command::Rollout(args) => args.execute(&cli.global),
        Command::Eval(args) => args.execute(&cli.global),
        Command::Replay(args) => args.execute(&cli.global),
        Command::Bench(args) => args.execute(&cli.global),
        Command::BuildPy(args) => args.execute(&cli.global),
        Command::Verify(args) => args.execute(&cli.global),
        Command::Stats(args) => args.execute(&cli.global),
        Command::Serve(args) => args.execute(&cli.global),
        Command::Mcp(args) => args.execute(&cli.global),
        Command::Synth(args) => args.execute(&cli.global),
    };
    match result {
        Ok(code) => code,
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Whether `error` is a write to a closed stdout: the reader has all it wanted, which is no
/// failure. serde_json wraps the IO error in its own type.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    let broken = |kind: Option<std::io::ErrorKind>| kind == Some(std::io::ErrorKind::BrokenPipe);
    error.chain().any(|cause| {
        broken(cause.downcast_ref::<std::io::Error>().map(std::io::Error::kind))
            || broken(cause.downcast_ref::<serde_json::Error>().and_then(serde_json::Error::io_error_kind))
    })
}

impl Global {
    fn env_dir(&self) -> PathBuf {
        if let Some(dir) = &self.env_dir {
            return dir.clone();
        }
        if let Some(dir) = std::env::var_os("CODEGYM_ENVS").filter(|d| !d.is_empty()) {
            return dir.into();
        }
        let local = Path::new("target/envs");
        if local.is_dir() {
            return local.to_owned();
        }
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/envs")
    }

    fn host_config(&self) -> HostConfig {
        let mut config = HostConfig::default();
        if let Some(dir) = &self.cache_dir {
            config.cache_dir = Some(dir.clone());
        }
        config
    }

    fn registry_with(&self, config: HostConfig) -> Result<Registry> {
        let host = Host::new(config)?;
        let dir = self.env_dir();
        let registry = Registry::open(host, &dir)
            .with_context(|| {
                format!("no environment components in {} (run `cargo xtask build-envs`)", dir.display())
            })?
            .on_load(warn_cache);
        anyhow::ensure!(!registry.is_empty(), "no environment components in {}", dir.display());
        Ok(registry)
    }

    fn registry(&self) -> Result<Registry> {
        self.registry_with(self.host_config())
    }
}

/// One line on stderr when the compile cache misbehaved loading `env` (a bad artifact was
/// recompiled, or the cache could not be trusted or written).
fn warn_cache(name: &str, env: &codegym_host::Env) {
    let outcome = env.cache_outcome();
    if outcome.is_warning() {
        eprintln!("warning: {name}: {outcome}");
    }
}

/// The task an episode-level command works on: an environment and a config's seed and
/// difficulty.
#[derive(clap::Args)]
struct TaskArgs {
    /// Environment name (see `codegym list`).
    env: String,
    /// Seed of the task configuration.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Difficulty of the task configuration, 0..=100.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(0..=100))]
    difficulty: u32,
}

impl TaskArgs {
    /// Load the environment and start an episode on this task's config.
    fn start(&self, global: &Global) -> Result<Episode> {
        let env = global.registry()?.get(&self.env)?;
        let config = env.sample_config(self.seed, self.difficulty)?;
        Ok(env.start(&config)?)
    }
}

/// All cores, the default for `--threads`.
fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// A progress bar over `len` items on stderr, hidden when `hidden` (JSON output).
fn progress_bar(len: usize, unit: &str, hidden: bool) -> indicatif::ProgressBar {
    let template = format!("{{spinner}} {{pos}}/{{len}} {unit} {{wide_bar}} {{elapsed}} (eta {{eta}})");
    let bar = indicatif::ProgressBar::new(len as u64).with_style(
        indicatif::ProgressStyle::with_template(&template)
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    if hidden {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    bar
}

/// Print `value` as pretty JSON on stdout.
fn print_json(value: &impl serde::Serialize) -> Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}
