//! The training run's configuration: one TOML file, every field with a default.
//!
//! ```toml
//! model = "target/data-venv/.../smollm2-135m-instruct-q4_1.gguf"  # GGUF, HF or checkpoint dir
//! output = "runs/echo"
//!
//! [envs]
//! dir = "target/envs"
//! names = ["binary-search"]
//! difficulty = 10
//!
//! [train]
//! steps = 50
//! tasks_per_step = 4
//! group_size = 8
//! lr = 1e-6
//!
//! [rollout]
//! max_turns = 8
//! max_new_tokens = 128
//! ```

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::grpo::GrpoConfig;
use crate::optim::AdamWConfig;
use crate::rollout::RolloutConfig;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("reading {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: {source}")]
    Parse { path: PathBuf, source: Box<toml::de::Error> },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

/// A training run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// The initial policy: a GGUF file, a Hugging Face directory or a checkpoint directory.
    pub model: PathBuf,
    /// Where metrics, the curve and checkpoints go.
    #[serde(default = "default_output")]
    pub output: PathBuf,
    #[serde(default)]
    pub envs: EnvsConfig,
    #[serde(default)]
    pub train: TrainSection,
    #[serde(default)]
    pub rollout: RolloutConfig,
}

/// Which environments the tasks come from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EnvsConfig {
    /// A directory of built components (`cargo xtask build-envs` writes `target/envs`).
    pub dir: PathBuf,
    /// Environment names; tasks cycle through them.
    pub names: Vec<String>,
    /// Difficulty 0..=100 passed to every environment's config generator.
    pub difficulty: u32,
}

impl Default for EnvsConfig {
    fn default() -> Self {
        Self { dir: PathBuf::from("target/envs"), names: Vec::new(), difficulty: 0 }
    }
}

/// The optimisation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrainSection {
    pub steps: u64,
    /// Distinct tasks (env, seed) per step.
    pub tasks_per_step: usize,
    /// Samples per task (the GRPO group).
    pub group_size: usize,
    /// Sequences per forward/backward pass; gradients accumulate over a step's micro-batches.
    pub micro_batch: usize,
    pub lr: f64,
    pub warmup_steps: u64,
    pub weight_decay: f64,
    pub max_grad_norm: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub clip: f64,
    /// k3 KL to the initial policy (0: none, as in the paper; > 0 keeps a frozen copy).
    pub kl_coef: f64,
    pub seed: u64,
    /// Save a checkpoint every this many steps (0: only at the end).
    pub checkpoint_every: u64,
    /// Training tasks use seeds from here up; evaluation's default seeds are below it.
    pub first_train_seed: u64,
}

impl Default for TrainSection {
    fn default() -> Self {
        let adamw = AdamWConfig::default();
        let grpo = GrpoConfig::default();
        Self {
            steps: 50,
            tasks_per_step: 4,
            group_size: 8,
            micro_batch: 8,
            lr: adamw.lr,
            warmup_steps: adamw.warmup_steps,
            weight_decay: adamw.weight_decay,
            max_grad_norm: adamw.max_grad_norm,
            beta1: adamw.beta1,
            beta2: adamw.beta2,
            clip: grpo.clip,
            kl_coef: grpo.kl_coef,
            seed: 0,
            checkpoint_every: 0,
            first_train_seed: 1_000_000,
        }
    }
}

impl TrainSection {
    pub fn adamw(&self) -> AdamWConfig {
        AdamWConfig {
            lr: self.lr,
            beta1: self.beta1,
            beta2: self.beta2,
            eps: AdamWConfig::default().eps,
            weight_decay: self.weight_decay,
            warmup_steps: self.warmup_steps,
            max_grad_norm: self.max_grad_norm,
        }
    }

    pub fn grpo(&self) -> GrpoConfig {
        GrpoConfig { clip: self.clip, kl_coef: self.kl_coef, ..GrpoConfig::default() }
    }
}

fn default_output() -> PathBuf {
    PathBuf::from("runs/train")
}

impl TrainConfig {
    /// Reads and checks a TOML file. Relative paths in it are taken from the current
    /// directory, as on the command line.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
        let config: Self = toml::from_str(&text)
            .map_err(|source| ConfigError::Parse { path: path.to_owned(), source: Box::new(source) })?;
        config.validate()?;
        Ok(config)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |message: &str| Err(ConfigError::Invalid(message.to_owned()));
        if self.envs.names.is_empty() {
            return invalid("envs.names lists no environment");
        }
        if self.envs.difficulty > 100 {
            return invalid("envs.difficulty must be 0..=100");
        }
        let t = &self.train;
        if t.tasks_per_step == 0 || t.group_size < 2 || t.micro_batch == 0 {
            return invalid("train.tasks_per_step and train.micro_batch must be > 0, train.group_size >= 2");
        }
        if !(t.lr > 0.0 && t.clip > 0.0 && t.kl_coef >= 0.0) {
            return invalid("train.lr and train.clip must be > 0, train.kl_coef >= 0");
        }
        let r = &self.rollout;
        if r.max_turns == 0 || r.max_new_tokens == 0 || r.context_budget <= r.max_new_tokens {
            return invalid("rollout.max_turns and max_new_tokens must be > 0 and below context_budget");
        }
        if !(r.temperature > 0.0 && r.top_p > 0.0 && r.top_p <= 1.0) {
            return invalid("rollout.temperature must be > 0 and top_p in (0, 1]");
        }
        Ok(())
    }
}
