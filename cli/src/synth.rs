use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use codegym_core::{ActionFormat, Sampling};
use codegym_host::{AgentOptions, ChatModel, Host};
use codegym_synth::{
    BuildLimits, DifficultyFilter, Funnel, Lang, Models, ProblemRecord, Synth, SynthOptions, Toolchain,
};

use crate::eval::Endpoint;
use crate::eval::client::{Client, Retry};
use crate::{Global, print_json, progress_bar, table};

/// Turn coding problems into environments with a language model, keeping only those that
/// compile, check, verify and pass the filters.
///
/// Problems are JSON lines `{id, prompt, solution}` or HumanEval's own file (`.jsonl.gz`,
/// installed by `cargo xtask setup` under target/data-venv). Kept environments are written to
/// `--out` as `<name>.wasm` with `<name>.card.json`, so `codegym --env-dir OUT ...` runs
/// them; every problem's stages go to `OUT/problems/<name>.json` and the funnel to
/// `OUT/funnel.json`. A re-run skips problems already finished.
#[derive(clap::Args)]
pub struct Args {
    /// The problems (JSONL, or .jsonl.gz).
    #[arg(long, value_name = "FILE")]
    problems: PathBuf,
    /// The endpoint and the model that writes environments.
    #[command(flatten)]
    endpoint: Endpoint,
    /// Attempts per problem (pass@K); each is told why the previous one failed.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=100))]
    k: u64,
    /// Repairs per attempt: compiler errors fed back to the model.
    #[arg(long, default_value_t = 2)]
    repairs: u64,
    /// Problems in flight at once.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=256))]
    concurrency: u64,
    /// What the model writes: `rust` (src/lib.rs against the env SDK) or `python`
    /// (a CodeGym-style class, built with componentize-py).
    #[arg(long, default_value = "rust")]
    lang: Lang,
    /// Where kept environments, per-problem records and the funnel go.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Only the first N problems.
    #[arg(long)]
    limit: Option<usize>,
    /// Configs each environment is verified on (over difficulties 0, 50 and 100); at least
    /// the paper's 2×15.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(30..=3000))]
    configs: u64,
    /// Seconds one build may take (cargo or componentize-py, all their processes).
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    build_timeout: u64,
    /// Memory (heap and private mappings) of each build process, in MiB.
    #[arg(long, value_name = "MIB", default_value_t = 4096)]
    build_memory_mib: u64,
    /// Sampling temperature (default: the endpoint's).
    #[arg(long)]
    temperature: Option<f32>,
    /// Tokens per reply (default: the endpoint's).
    #[arg(long)]
    max_tokens: Option<u32>,
    /// Seconds before a request is abandoned (then retried).
    #[arg(long, value_name = "SECS", default_value_t = 600)]
    timeout: u64,
    /// Difficulty filter: the base model to play each kept environment (through the agent
    /// loop of `codegym eval`); environments it solves too often are dropped.
    #[arg(long)]
    filter_model: Option<String>,
    /// The base model's endpoint (default: --base-url).
    #[arg(long, value_name = "URL")]
    filter_base_url: Option<String>,
    /// Medium-difficulty episodes the base model plays per environment.
    #[arg(long, default_value_t = 8)]
    filter_samples: u64,
    /// Keep environments the base model solves at most this share of.
    #[arg(long, default_value_t = 0.25)]
    filter_max_solved: f64,
    /// The shared Python runtime `--lang python` prepares attempts on. Default:
    /// $CODEGYM_PY_RUNTIME, else the workspace's target/py-runtime/python-runtime.wasm.
    #[arg(long, value_name = "FILE.wasm")]
    py_runtime: Option<PathBuf>,
    /// Print the funnel (with every record) as JSON.
    #[arg(long)]
    json: bool,
}

impl Args {
    pub fn execute(self, global: &Global) -> Result<ExitCode> {
        let mut problems = codegym_synth::read_problems(&self.problems)?;
        if let Some(limit) = self.limit {
            problems.truncate(limit);
        }
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let workspace = workspace.canonicalize().unwrap_or(workspace);
        let toolchain = Toolchain {
            target_dir: workspace.join("target"),
            workspace,
            python_runtime: self.py_runtime.clone().unwrap_or_else(crate::build_py::default_runtime_file),
            limits: BuildLimits {
                timeout: Duration::from_secs(self.build_timeout.max(1)),
                memory_bytes: self.build_memory_mib.saturating_mul(1 << 20),
            },
        };
        let api_key = self.endpoint.api_key();
        let retry = Retry { retries: 4, backoff: Duration::from_secs(1), max_delay: Duration::from_secs(60) };
        let timeout = Duration::from_secs(self.timeout.max(1));
        let author =
            Client::new(&self.endpoint.base_url, &self.endpoint.model, api_key.clone(), timeout, retry)?;
        author.check_reachable()?;
        let base = match &self.filter_model {
            Some(model) => {
                let url = self.filter_base_url.as_deref().unwrap_or(&self.endpoint.base_url);
                let client = Client::new(url, model, api_key, timeout, retry)?;
                client.check_reachable()?;
                Some(client)
            }
            None => None,
        };
        let host = Host::new(global.host_config())?;
        let options = SynthOptions {
            lang: self.lang,
            k: usize::try_from(self.k).unwrap_or(1),
            repairs: usize::try_from(self.repairs).unwrap_or(0),
            concurrency: usize::try_from(self.concurrency).unwrap_or(1),
            configs: usize::try_from(self.configs).unwrap_or(30),
            sampling: Sampling { temperature: self.temperature, max_tokens: self.max_tokens },
            difficulty: base.as_ref().map(|_| DifficultyFilter {
                samples: self.filter_samples,
                max_solved: self.filter_max_solved,
                agent: AgentOptions {
                    format: ActionFormat::default(),
                    sampling: Sampling::default(),
                    max_turns: 256,
                    max_context_tokens: 32_768,
                    limits: host.config().limits,
                },
            }),
            ..SynthOptions::default()
        };
        let synth = Synth { toolchain, host, options, out: self.out.clone() };
        let author_model = || -> Box<dyn ChatModel> { Box::new(author.clone()) };
        let base_model =
            |_: usize| -> Box<dyn ChatModel> { Box::new(base.clone().unwrap_or_else(|| author.clone())) };
        let models = Models { author: &author_model, base: base.as_ref().map(|_| &base_model as _) };
        let bar = progress_bar(problems.len(), "problems", self.json);
        let done = |record: &ProblemRecord, resumed: bool| {
            if !self.json {
                let verdict = match record.kept {
                    true => "kept".to_owned(),
                    false => format!("dropped at {}", record.stage.as_str()),
                };
                let resumed = if resumed { " (earlier run)" } else { "" };
                bar.println(format!("{}: {verdict}{resumed}", record.id));
            }
            bar.inc(1);
        };
        let funnel = synth.run(&problems, &models, &done).context("synthesis failed")?;
        bar.finish_and_clear();
        if self.json {
            print_json(&funnel)?;
        } else {
            print_funnel(&funnel, &self.out)?;
        }
        Ok(ExitCode::SUCCESS)
    }
}

fn print_funnel(funnel: &Funnel, out: &Path) -> Result<()> {
    let mut rows = vec![vec!["problems".to_owned(), funnel.problems.to_string(), "100%".to_owned()]];
    for row in &funnel.funnel {
        let share =
            if funnel.problems == 0 { 0.0 } else { row.passed as f64 * 100.0 / funnel.problems as f64 };
        rows.push(vec![row.description.to_owned(), row.passed.to_string(), format!("{share:.0}%")]);
    }
    outln!("{}", table::render(&["stage", "problems", "share"], &rows));
    for record in funnel.records.iter().filter(|r| !r.kept) {
        let reason = record.reason.as_deref().unwrap_or("").lines().next().unwrap_or("");
        outln!("dropped {} [{}]: {reason}", record.id, record.stage.as_str());
    }
    outln!(
        "{} of {} problems kept ({} resumed), {} attempts, {} repairs, {:.1}s; environments in {}",
        funnel.kept,
        funnel.problems,
        funnel.resumed,
        funnel.attempts,
        funnel.repairs,
        funnel.elapsed_secs,
        out.display()
    );
    Ok(())
}
