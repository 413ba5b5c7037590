//! codegym-trainer: GRPO on CodeGym environments with a llama-architecture policy in tch.
//!
//! The policy side (`model`, `gguf`, `weights`, `tokenizer`, `generate`) knows nothing of
//! environments; the training side (`rollout`, `grpo`, `optim`, `checkpoint`, `config`,
//! `metrics`, `serve`) drives codegym-host episodes in-process with it.

pub mod checkpoint;
pub mod config;
pub mod generate;
pub mod gguf;
pub mod grpo;
pub mod metrics;
pub mod model;
pub mod optim;
pub mod rollout;
pub mod serve;
pub mod tokenizer;
pub mod train;
pub mod weights;
