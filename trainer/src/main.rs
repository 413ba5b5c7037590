//! `codegym-train`: GRPO training of a llama-architecture policy on CodeGym environments,
//! held-out evaluation, and an OpenAI-compatible server for a trained policy.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use codegym_core::ActionFormat;
use codegym_trainer::checkpoint;
use codegym_trainer::config::TrainConfig;
use codegym_trainer::metrics::quarter_means;
use codegym_trainer::rollout::RolloutConfig;
use codegym_trainer::serve::{ServeState, serve};
use codegym_trainer::train::{Trainer, evaluate, open_envs};
use codegym_trainer::weights;
use indicatif::{ProgressBar, ProgressStyle};
use tch::Device;

#[derive(Parser)]
#[command(name = "codegym-train", version, about, long_about = None)]
/// GRPO on CodeGym environments with a llama-architecture policy in libtorch.
///
/// Episodes run in-process in codegym-host's wasm sandbox; the policy generates for all
/// live episodes in one batch. Models: a GGUF file (SmolLM2-135M-Instruct is installed by
/// `cargo xtask setup`), a Hugging Face directory, or a checkpoint this tool wrote.
struct Cli {
    /// Run on this device: `cpu`, `cuda` or `cuda:N` (default: CUDA when available).
    #[arg(long, global = true)]
    device: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train with GRPO as a TOML file describes (see trainer/configs/ and trainer/README.md).
    ///
    /// Logs every step to stdout, OUT/metrics.jsonl and OUT/metrics.csv, draws
    /// OUT/curve.png, and saves checkpoints under OUT/checkpoints/step-N.
    Train {
        /// The run's configuration.
        #[arg(long, value_name = "FILE.toml")]
        config: PathBuf,
        /// Continue from this checkpoint directory (its weights, optimizer state and step).
        #[arg(long, value_name = "DIR")]
        resume: Option<PathBuf>,
        /// Override the configuration's step count.
        #[arg(long)]
        steps: Option<u64>,
    },
    /// Pass rate of a model on held-out seeds (training uses seeds from 1,000,000 up).
    Eval {
        /// GGUF file, Hugging Face directory or checkpoint directory.
        #[arg(long)]
        model: PathBuf,
        /// Comma-separated environment names.
        #[arg(long)]
        envs: String,
        /// Seeds: `A..B` (B excluded) or a comma-separated list.
        #[arg(long, default_value = "0..20")]
        seeds: String,
        #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=100))]
        difficulty: u32,
        /// Directory of built components.
        #[arg(long, default_value = "target/envs")]
        env_dir: PathBuf,
        /// Rollout settings (format, turns, tokens, sampling, scaffold) from a training
        /// config's `[rollout]` section; otherwise the defaults and the flags below.
        #[arg(long, value_name = "FILE.toml")]
        config: Option<PathBuf>,
        /// Sampling temperature (0: greedy).
        #[arg(long)]
        temperature: Option<f64>,
        #[arg(long)]
        max_turns: Option<u32>,
        /// Episodes generated together.
        #[arg(long, default_value_t = 16)]
        batch: usize,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Serve a model as an OpenAI-compatible chat-completions endpoint.
    ///
    /// `codegym eval --base-url http://ADDR/v1 --model NAME --format hermes` plays it.
    Serve {
        #[arg(long)]
        model: PathBuf,
        #[arg(long, default_value = "127.0.0.1:8088")]
        addr: String,
        /// The model name the endpoint reports.
        #[arg(long, default_value = "codegym-policy")]
        name: String,
        /// Tokens per reply when a request gives no max_tokens.
        #[arg(long, default_value_t = 256)]
        max_tokens: usize,
        /// Prompt plus reply tokens at most.
        #[arg(long, default_value_t = 8192)]
        context: usize,
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
    /// Write a randomly initialised tiny llama (2 layers, width 64, a 15-token vocabulary)
    /// as a Hugging Face directory: a policy a CPU trains in minutes (trainer/configs/echo-tiny.toml).
    TinyModel {
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 0)]
        seed: u64,
    },
    /// Write a model (a GGUF file, or a directory) as a Hugging Face directory:
    /// `config.json`, `model.safetensors` (f32 on the CPU, bf16 on CUDA), `tokenizer.json`
    /// and `tokenizer_config.json` with the chat template. vLLM, transformers and this
    /// trainer load the result.
    Convert {
        /// GGUF file, Hugging Face directory or checkpoint directory.
        #[arg(long)]
        model: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn device(spec: Option<&str>) -> Result<Device> {
    Ok(match spec {
        None => Device::cuda_if_available(),
        Some("cpu") => Device::Cpu,
        Some("cuda") => Device::Cuda(0),
        Some(other) => match other.strip_prefix("cuda:").and_then(|n| n.parse().ok()) {
            Some(index) => Device::Cuda(index),
            None => bail!("unknown device {other:?} (cpu, cuda, cuda:N)"),
        },
    })
}

fn run(cli: Cli) -> Result<()> {
    let device = device(cli.device.as_deref())?;
    match cli.command {
        Command::Train { config, resume, steps } => train(&config, resume, steps, device),
        Command::Eval {
            model,
            envs,
            seeds,
            difficulty,
            env_dir,
            config,
            temperature,
            max_turns,
            batch,
            json,
        } => {
            let mut rollout = match config {
                Some(path) => TrainConfig::load(&path)?.rollout,
                None => RolloutConfig { format: ActionFormat::Hermes, ..RolloutConfig::default() },
            };
            if let Some(temperature) = temperature {
                rollout.temperature = temperature;
            }
            if let Some(max_turns) = max_turns {
                rollout.max_turns = max_turns;
            }
            let names: Vec<String> =
                envs.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect();
            let seeds = parse_seeds(&seeds)?;
            let envs =
                open_envs(&env_dir, &names).with_context(|| format!("opening {}", env_dir.display()))?;
            let policy =
                weights::load(&model, device).with_context(|| format!("loading {}", model.display()))?;
            let bar = progress(u64::try_from(envs.len() * seeds.len()).unwrap_or(0), "episodes");
            let result = evaluate(&policy, &envs, &seeds, difficulty, &rollout, batch, &mut |n| {
                bar.inc(u64::try_from(n).unwrap_or(0));
            })?;
            bar.finish_and_clear();
            if json {
                println!("{}", serde_json::to_string_pretty(&result)?);
            } else {
                for (env, episodes, solved) in &result.per_env {
                    println!("{env:<32} {solved:>4}/{episodes:<4} solved");
                }
                println!(
                    "pass rate {:.1}% ({}/{}), mean reward {:.3}, tool calls {:.2}, parse errors {}, \
                     generation {:.0} tok/s, env time {:.2}% of rollout",
                    result.pass_rate,
                    result.solved,
                    result.episodes,
                    result.mean_reward,
                    result.mean_tool_calls,
                    result.parse_errors,
                    result.generation_tokens_per_s,
                    result.env_time_pct
                );
            }
            Ok(())
        }
        Command::Serve { model, addr, name, max_tokens, context, seed } => {
            let policy =
                weights::load(&model, device).with_context(|| format!("loading {}", model.display()))?;
            let state = Arc::new(ServeState::new(policy, name, max_tokens, context, seed));
            let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
            runtime.block_on(async {
                let listener =
                    tokio::net::TcpListener::bind(&addr).await.with_context(|| format!("binding {addr}"))?;
                eprintln!("serving {} on http://{}/v1", model.display(), listener.local_addr()?);
                let shutdown = async {
                    let _ = tokio::signal::ctrl_c().await;
                };
                serve(listener, state, shutdown).await?;
                Ok(())
            })
        }
        Command::Convert { model, out } => {
            let loaded =
                weights::load(&model, device).with_context(|| format!("loading {}", model.display()))?;
            weights::save(&out, &loaded).with_context(|| format!("writing {}", out.display()))?;
            let parameters: i64 = loaded.vs.trainable_variables().iter().map(|t| t.numel() as i64).sum();
            println!("wrote {} ({parameters} parameters) to {}", model.display(), out.display());
            Ok(())
        }
        Command::TinyModel { out, seed } => {
            checkpoint::write_tiny_model(&out, seed)?;
            println!("wrote a tiny random llama to {}", out.display());
            Ok(())
        }
    }
}

fn train(
    config_path: &std::path::Path,
    resume: Option<PathBuf>,
    steps: Option<u64>,
    device: Device,
) -> Result<()> {
    let mut config = TrainConfig::load(config_path)?;
    if let Some(steps) = steps {
        config.train.steps = steps;
    }
    let mut trainer = Trainer::new(config, resume.as_deref(), device)?;
    let total = trainer.config().train.steps;
    eprintln!(
        "training {} on {} (difficulty {}) for {} steps from step {}, {} tasks x {} samples a step, on {device:?}",
        trainer.config().model.display(),
        trainer.config().envs.names.join(","),
        trainer.config().envs.difficulty,
        total,
        trainer.step_count(),
        trainer.config().train.tasks_per_step,
        trainer.config().train.group_size,
    );
    let bar = progress(total, "steps");
    bar.set_position(trainer.step_count());
    let history = trainer.run(&mut |metrics| {
        // Printed even when stdout is not a terminal (indicatif's println is not).
        bar.suspend(|| println!("{}", metrics.summary()));
        bar.inc(1);
    })?;
    bar.finish_and_clear();
    let (first, last) = quarter_means(&history);
    println!(
        "mean reward: first quarter {first:.3}, last quarter {last:.3}; metrics and curve in {}",
        trainer.config().output.display()
    );
    Ok(())
}

fn progress(total: u64, unit: &str) -> ProgressBar {
    let bar = ProgressBar::new(total);
    let template = format!("{{elapsed_precise}} [{{bar:30}}] {{pos}}/{{len}} {unit} (eta {{eta}})");
    if let Ok(style) = ProgressStyle::with_template(&template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

fn parse_seeds(spec: &str) -> Result<Vec<u64>> {
    if let Some((a, b)) = spec.split_once("..") {
        let (a, b): (u64, u64) = (a.trim().parse()?, b.trim().parse()?);
        if a >= b {
            bail!("empty seed range {spec}");
        }
        return Ok((a..b).collect());
    }
    spec.split(',').map(|s| s.trim().parse().with_context(|| format!("bad seed {s:?}"))).collect()
}
