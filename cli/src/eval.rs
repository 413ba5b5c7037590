use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{Context, Result};
use codegym_core::{ActionFormat, Sampling, Trajectory};
use codegym_host::{AgentOptions, ChatModel, EvalReport, EvalSummary};
use serde::Serialize;

use crate::{Global, print_json, progress_bar, table};

pub(crate) mod client;

use client::{Client, Retry};

/// Evaluate a language model as the agent, over any OpenAI-compatible chat-completions
/// endpoint (vLLM, SGLang, the llama.cpp server, ...): pass rates per environment and
/// category.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    endpoint: Endpoint,
    /// `all` or a comma-separated list of environment names.
    #[arg(long, default_value = "all")]
    envs: String,
    /// Evaluate exactly the tasks of this CodeGym task file instead, one episode a row: the
    /// environment its `ability` (`codegym_v1@<file stem>@<config>`) names by the file's
    /// stem (named as `codegym build-py` names it), started on the row's config as it is;
    /// the row's `prompt` messages are sent as they are (not rendered: --format then only
    /// says how replies are read, and for `openai-tools` that tools are sent), and its
    /// `plugin_call_max_round` limits the turns and the steps (when below --max-turns).
    /// Each trajectory records the row's index and `extra_info`.
    #[arg(long, value_name = "FILE.jsonl", conflicts_with_all = ["envs", "episodes", "seed", "difficulty"])]
    tasks: Option<PathBuf>,
    /// Episodes per environment (seeds `seed..seed+episodes`).
    #[arg(long, default_value_t = 1)]
    episodes: u64,
    /// First seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// 0..=100.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(0..=100))]
    difficulty: u32,
    /// Episodes in flight at once (each a worker thread with one request at a time).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=1024))]
    concurrency: u64,
    /// How the model writes tool calls, and the prompt that tells it: `codegym` (CodeGym's
    /// own layout: the tools as Python functions, calls in `<|FunctionCallBegin|>`) or
    /// `hermes`, both read from the reply's text, or `openai-tools` (tools sent in the
    /// request, calls read from `tool_calls`). `codegym show ENV --prompt` prints the prompt.
    #[arg(long, default_value = "codegym")]
    format: ActionFormat,
    /// Assistant replies per episode, parse-error turns included (for a --tasks row, its
    /// own `plugin_call_max_round` when lower).
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..))]
    max_turns: u32,
    /// Stop an episode before a request whose prompt (estimated from the last reported
    /// `usage`, else at 4 bytes a token) plus `--max-tokens` would exceed this.
    #[arg(long, default_value_t = 32_768)]
    max_context_tokens: u64,
    /// Sampling temperature (default: the endpoint's).
    #[arg(long)]
    temperature: Option<f32>,
    /// Tokens per reply (default: the endpoint's).
    #[arg(long)]
    max_tokens: Option<u32>,
    /// Seconds before a request is abandoned (then retried).
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    timeout: u64,
    /// Retries of a request after a 408, 429 or 5xx, a timeout or a connection error.
    #[arg(long, default_value_t = 4)]
    retries: u32,
    /// Wait before the first retry, doubled for each next one (at most 60 s); a
    /// `Retry-After` header overrides it.
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    backoff_ms: u64,
    /// Write every trajectory (with the conversation) as one JSON line to this file;
    /// `codegym replay` re-runs it.
    #[arg(long, value_name = "FILE.jsonl")]
    out: Option<PathBuf>,
    /// Print one JSON object instead of tables.
    #[arg(long)]
    json: bool,
}

/// Which chat-completions endpoint and model (shared with `codegym synth`).
#[derive(clap::Args)]
pub struct Endpoint {
    /// The API's base URL, e.g. http://localhost:8000/v1 (`/chat/completions` is appended).
    #[arg(long, value_name = "URL")]
    pub base_url: String,
    /// Model name sent with every request.
    #[arg(long)]
    pub model: String,
    /// Environment variable holding the API key, sent as a bearer token (none if unset).
    #[arg(long, value_name = "VAR", default_value = "OPENAI_API_KEY")]
    pub api_key_env: String,
}

impl Endpoint {
    /// The key from `--api-key-env`, if set and not empty.
    pub fn api_key(&self) -> Option<String> {
        std::env::var(&self.api_key_env).ok().filter(|key| !key.is_empty())
    }
}

/// The `--json` output: the settings, then the report.
#[derive(Serialize)]
struct Output<'a> {
    model: &'a str,
    url: &'a str,
    format: ActionFormat,
    #[serde(flatten)]
    report: &'a EvalReport,
}

impl Args {
    pub fn execute(self, global: &Global) -> Result<ExitCode> {
        let api_key = self.endpoint.api_key();
        let retry = Retry {
            retries: self.retries,
            backoff: Duration::from_millis(self.backoff_ms),
            max_delay: Duration::from_secs(60),
        };
        let client = Client::new(
            &self.endpoint.base_url,
            &self.endpoint.model,
            api_key,
            Duration::from_secs(self.timeout.max(1)),
            retry,
        )?;
        let registry = global.registry()?;
        let jobs = match &self.tasks {
            Some(path) => crate::tasks::jobs(path, &registry)?,
            None => crate::tasks::sampled(&registry, &self.envs, self.seed, self.episodes, self.difficulty)?,
        };
        client.check_reachable()?;
        let options = AgentOptions {
            format: self.format,
            sampling: Sampling { temperature: self.temperature, max_tokens: self.max_tokens },
            max_turns: self.max_turns,
            max_context_tokens: self.max_context_tokens,
            limits: registry.host().config().limits,
        };
        let out = match &self.out {
            Some(path) => Some(Jsonl::create(path)?),
            None => None,
        };
        let concurrency = usize::try_from(self.concurrency).unwrap_or(1);
        let bar = progress_bar(jobs.len(), "episodes", self.json);
        let model = |_: usize| -> Box<dyn ChatModel> { Box::new(client.clone()) };
        let finished = |trajectory: Option<&Trajectory>| {
            if let (Some(out), Some(trajectory)) = (&out, trajectory) {
                out.append(trajectory);
            }
            bar.inc(1);
        };
        let report = codegym_host::evaluate(&jobs, &model, &options, concurrency, &finished);
        bar.finish_and_clear();
        if let Some(out) = out {
            out.finish()?;
        }
        if self.json {
            print_json(&Output {
                model: &self.endpoint.model,
                url: client.url(),
                format: self.format,
                report: &report,
            })?;
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

/// The `--out` file, a line appended as each episode ends (so an interrupted evaluation
/// keeps what it paid for); lines are in the order episodes finish.
struct Jsonl {
    path: PathBuf,
    file: Mutex<BufWriter<std::fs::File>>,
    /// The first write error; later lines are not written.
    error: Mutex<Option<std::io::Error>>,
}

impl Jsonl {
    fn create(path: &Path) -> Result<Self> {
        let file = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
        Ok(Self { path: path.to_owned(), file: Mutex::new(BufWriter::new(file)), error: Mutex::new(None) })
    }

    fn append(&self, trajectory: &Trajectory) {
        let mut error = self.error.lock().unwrap_or_else(|e| e.into_inner());
        if error.is_some() {
            return;
        }
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        let written = serde_json::to_writer(&mut *file, trajectory)
            .map_err(std::io::Error::from)
            .and_then(|()| file.write_all(b"\n"))
            .and_then(|()| file.flush());
        if let Err(failure) = written {
            *error = Some(failure);
        }
    }

    fn finish(self) -> Result<()> {
        let error = self.error.into_inner().unwrap_or_else(|e| e.into_inner());
        let mut file = self.file.into_inner().unwrap_or_else(|e| e.into_inner());
        match error {
            Some(error) => Err(error),
            None => file.flush(),
        }
        .with_context(|| format!("writing {}", self.path.display()))
    }
}

fn print_report(report: &EvalReport) -> Result<()> {
    let cells = |row: &EvalSummary| {
        vec![
            row.episodes.to_string(),
            format!("{:.1}%", row.solved_pct),
            format!("{:.1}", row.mean_turns),
            row.parse_errors.to_string(),
            row.api_errors.to_string(),
        ]
    };
    let columns = ["episodes", "solved", "mean turns", "parse errors", "api errors"];
    let rows: Vec<Vec<String>> = report
        .per_env
        .iter()
        .map(|row| [vec![row.name.clone(), row.category.clone()], cells(row)].concat())
        .collect();
    out!("{}", table::render(&[&["env", "category"][..], &columns].concat(), &rows));
    outln!();
    let rows: Vec<Vec<String>> = report
        .per_category
        .iter()
        .map(|row| [vec![row.name.clone(), row.envs.to_string()], cells(row)].concat())
        .collect();
    out!("{}", table::render(&[&["category", "envs"][..], &columns].concat(), &rows));
    outln!();
    let tokens = match report.usage {
        Some(usage) => format!(
            "{} tokens ({} prompt, {} completion)",
            usage.total(),
            usage.prompt_tokens,
            usage.completion_tokens
        ),
        None => "tokens not reported".into(),
    };
    outln!(
        "total: {} episodes, {} solved ({:.1}%), {:.1} turns per episode, {} parse-error turns, {} API errors, {} retries, {tokens}, {:.1}s",
        report.episodes,
        report.solved,
        report.solved_pct,
        report.mean_turns,
        report.parse_errors,
        report.api_errors,
        report.retries,
        report.elapsed_secs,
    );
    Ok(())
}
