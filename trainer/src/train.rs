//! The GRPO training loop and held-out evaluation, over in-process codegym-host episodes.
//!
//! A step: sample `tasks_per_step` tasks (environments in turn, fresh seeds), play each
//! `group_size` times ([`rollout`]), turn rewards into group-normalised advantages, take one
//! clipped-loss update over the sequences with a learning signal ([`grpo::update`]), log.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use codegym_host::{Env, Host, HostConfig, Registry};
use tch::Device;

use crate::checkpoint::{self, CheckpointError, TrainerState};
use crate::config::TrainConfig;
use crate::grpo::{self, GrpoError, Policies, Sequence, UpdateStats};
use crate::metrics::{MetricsError, MetricsLog, StepMetrics};
use crate::optim::AdamW;
use crate::rollout::{RolloutBatch, RolloutConfig, RolloutError, Task, rollout};
use crate::weights::{self, Loaded, WeightsError};

#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error("environments: {0}")]
    Host(#[from] codegym_host::Error),
    #[error("loading the model: {0}")]
    Weights(#[from] WeightsError),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    #[error(transparent)]
    Rollout(#[from] RolloutError),
    #[error(transparent)]
    Grpo(#[from] GrpoError),
    #[error(transparent)]
    Metrics(#[from] MetricsError),
}

/// Opens the environments `names` from the components in `dir`.
pub fn open_envs(dir: &Path, names: &[String]) -> Result<Vec<Env>, codegym_host::Error> {
    // Live episodes are at most a step's tasks times the group size.
    let host = Host::new(HostConfig { pool_size: 1024, ..HostConfig::default() })?;
    let registry = Registry::open(host, dir)?;
    names.iter().map(|name| registry.get(name)).collect()
}

/// A training run in progress.
pub struct Trainer {
    config: TrainConfig,
    policy: Loaded,
    /// The frozen initial policy, when the KL term is on.
    reference: Option<Loaded>,
    optimizer: AdamW,
    envs: Vec<Env>,
    step: u64,
    device: Device,
}

impl Trainer {
    /// Starts a run from `config.model`, or resumes one from a checkpoint directory (its
    /// weights, optimizer state and step; `config` supplies everything else).
    pub fn new(config: TrainConfig, resume: Option<&Path>, device: Device) -> Result<Self, TrainError> {
        let envs = open_envs(&config.envs.dir, &config.envs.names)?;
        let (policy, step) = match resume {
            Some(dir) => (weights::load(dir, device)?, checkpoint::load_state(dir)?.step),
            None => (weights::load(&config.model, device)?, 0),
        };
        let reference = match config.train.kl_coef > 0.0 {
            true => {
                let mut loaded = weights::load(&config.model, device)?;
                loaded.vs.freeze();
                Some(loaded)
            }
            false => None,
        };
        let mut optimizer = AdamW::new(&policy.vs, config.train.adamw());
        if let Some(dir) = resume {
            checkpoint::load_optimizer(dir, &mut optimizer)?;
        }
        Ok(Self { config, policy, reference, optimizer, envs, step, device })
    }

    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// Steps completed.
    pub fn step_count(&self) -> u64 {
        self.step
    }

    pub fn policy(&self) -> &Loaded {
        &self.policy
    }

    /// The tasks of (1-based) step `step`: environments in turn, seeds never repeated.
    fn tasks(&self, step: u64) -> Vec<Task> {
        let per_step = self.config.train.tasks_per_step as u64;
        (0..self.config.train.tasks_per_step)
            .map(|i| Task {
                env: self.envs[i % self.envs.len()].clone(),
                seed: self.config.train.first_train_seed + (step - 1) * per_step + i as u64,
                difficulty: self.config.envs.difficulty,
            })
            .collect()
    }

    /// One GRPO step: rollouts, advantages, an update. Returns the step's metrics.
    pub fn train_step(&mut self) -> Result<StepMetrics, TrainError> {
        let step = self.step + 1;
        let seed = step_seed(self.config.train.seed, step);
        let group = self.config.train.group_size;
        let tasks = self.tasks(step);
        let batch =
            rollout(&self.policy.model, &self.policy.tokenizer, &tasks, group, &self.config.rollout, seed)?;
        let rewards: Vec<f32> = batch.episodes.iter().map(|e| e.reward).collect();
        let advantages = grpo::group_advantages(&rewards, group, self.config.train.grpo().adv_eps)?;
        let sequences: Vec<Sequence> = batch
            .episodes
            .iter()
            .zip(&advantages)
            .map(|(episode, &advantage)| Sequence {
                tokens: episode.tokens.clone(),
                mask: episode.mask.clone(),
                advantage,
            })
            .collect();
        let update_started = Instant::now();
        let policies = Policies {
            policy: &self.policy.model,
            reference: self.reference.as_ref().map(|r| &r.model),
            device: self.device,
            pad_id: self.policy.tokenizer.pad_id(),
        };
        let update = grpo::update(
            &policies,
            &mut self.optimizer,
            &sequences,
            &self.config.train.grpo(),
            self.config.train.micro_batch,
        )?;
        let update_time = update_started.elapsed();
        self.step = step;
        Ok(step_metrics(step, &batch, &update, update_time))
    }

    /// Saves a checkpoint of the current step under the output directory.
    pub fn save_checkpoint(&self) -> Result<PathBuf, TrainError> {
        let dir = checkpoint::checkpoint_dir(&self.config.output, self.step);
        let state =
            TrainerState { step: self.step, seed: self.config.train.seed, config: self.config.clone() };
        checkpoint::save(&dir, &self.policy, &self.optimizer, &state)?;
        Ok(dir)
    }

    /// Runs the remaining steps, logging each (`on_step` sees it too) and checkpointing
    /// every `checkpoint_every` steps and at the end.
    pub fn run(&mut self, on_step: &mut dyn FnMut(&StepMetrics)) -> Result<Vec<StepMetrics>, TrainError> {
        let mut log = MetricsLog::open(&self.config.output, self.step)?;
        let every = self.config.train.checkpoint_every;
        while self.step < self.config.train.steps {
            let metrics = self.train_step()?;
            on_step(&metrics);
            log.record(metrics)?;
            if every > 0 && self.step.is_multiple_of(every) && self.step < self.config.train.steps {
                self.save_checkpoint()?;
            }
        }
        self.save_checkpoint()?;
        Ok(log.history().to_vec())
    }
}

/// Each step's sampling seed: a mix of the run's seed and the step, so that a resumed run
/// samples what the uninterrupted run would have.
fn step_seed(seed: u64, step: u64) -> u64 {
    let mut z = seed ^ step.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn step_metrics(step: u64, batch: &RolloutBatch, update: &UpdateStats, update_time: Duration) -> StepMetrics {
    let episodes = batch.episodes.len().max(1) as f64;
    let sum = |f: &dyn Fn(&crate::rollout::EpisodeRecord) -> f64| batch.episodes.iter().map(f).sum::<f64>();
    let rollout_secs = batch.total_time.as_secs_f64();
    let update_secs = update_time.as_secs_f64();
    StepMetrics {
        step,
        episodes: batch.episodes.len(),
        mean_reward: sum(&|e| f64::from(e.reward)) / episodes,
        pass_rate: 100.0 * sum(&|e| f64::from(u8::from(e.solved()))) / episodes,
        mean_tool_calls: sum(&|e| f64::from(e.tool_calls)) / episodes,
        mean_turns: sum(&|e| f64::from(e.turns)) / episodes,
        parse_errors: batch.episodes.iter().map(|e| u64::from(e.parse_errors)).sum(),
        mean_response_tokens: sum(&|e| e.response_tokens as f64) / episodes,
        loss: update.loss,
        grad_norm: update.grad_norm,
        lr: update.lr,
        clip_fraction: update.clip_fraction,
        kl: update.kl,
        trained_sequences: update.sequences,
        trained_tokens: update.trained_tokens,
        skipped: update.skipped,
        generation_tokens_per_s: batch.generated_tokens as f64
            / batch.generation_time.as_secs_f64().max(1e-9),
        training_tokens_per_s: if update.skipped {
            0.0
        } else {
            update.forward_tokens as f64 / update_secs.max(1e-9)
        },
        env_time_pct: 100.0 * batch.env_time.as_secs_f64() / rollout_secs.max(1e-9),
        rollout_secs,
        update_secs,
    }
}

/// Pass rates of a policy on held-out tasks.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct EvalResult {
    pub episodes: usize,
    pub solved: usize,
    pub pass_rate: f64,
    pub mean_reward: f64,
    pub mean_tool_calls: f64,
    pub parse_errors: u64,
    pub per_env: Vec<(String, usize, usize)>,
    pub generation_tokens_per_s: f64,
    pub env_time_pct: f64,
}

/// Plays every (env, seed) once with `policy` (in batches of `batch_size` episodes) and
/// reports pass rates.
pub fn evaluate(
    policy: &Loaded,
    envs: &[Env],
    seeds: &[u64],
    difficulty: u32,
    config: &RolloutConfig,
    batch_size: usize,
    on_batch: &mut dyn FnMut(usize),
) -> Result<EvalResult, TrainError> {
    let tasks: Vec<Task> = envs
        .iter()
        .flat_map(|env| seeds.iter().map(move |&seed| Task { env: env.clone(), seed, difficulty }))
        .collect();
    let mut result = EvalResult::default();
    let mut per_env: std::collections::BTreeMap<String, (usize, usize)> = Default::default();
    let (mut generated, mut generation, mut env_time, mut total) =
        (0, Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let mut reward = 0.0;
    let mut calls = 0u64;
    for (index, chunk) in tasks.chunks(batch_size.max(1)).enumerate() {
        let batch =
            rollout(&policy.model, &policy.tokenizer, chunk, 1, config, step_seed(u64::MAX, index as u64))?;
        for episode in &batch.episodes {
            let row = per_env.entry(episode.env.clone()).or_default();
            row.0 += 1;
            row.1 += usize::from(episode.solved());
            result.solved += usize::from(episode.solved());
            result.parse_errors += u64::from(episode.parse_errors);
            reward += f64::from(episode.reward);
            calls += u64::from(episode.tool_calls);
        }
        result.episodes += batch.episodes.len();
        generated += batch.generated_tokens;
        generation += batch.generation_time;
        env_time += batch.env_time;
        total += batch.total_time;
        on_batch(batch.episodes.len());
    }
    let episodes = result.episodes.max(1) as f64;
    result.pass_rate = 100.0 * result.solved as f64 / episodes;
    result.mean_reward = reward / episodes;
    result.mean_tool_calls = calls as f64 / episodes;
    result.per_env = per_env.into_iter().map(|(name, (n, solved))| (name, n, solved)).collect();
    result.generation_tokens_per_s = generated as f64 / generation.as_secs_f64().max(1e-9);
    result.env_time_pct = 100.0 * env_time.as_secs_f64() / total.as_secs_f64().max(1e-9);
    Ok(result)
}
