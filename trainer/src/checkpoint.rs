//! Checkpoints: the policy as a Hugging Face directory (`weights::save`), the optimizer's
//! state in `trainer/optimizer.safetensors`, and `trainer/trainer_state.json` (step, seed,
//! the run's configuration). A checkpoint directory is also a model path: `eval`, `serve` and a new
//! run's `model` read it like any Hugging Face directory.
//!
//! Also here: [`write_tiny_model`], a randomly initialised two-layer llama with a 15-token
//! vocabulary, for tests and demos on a CPU.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tch::{Device, Tensor, nn};

use crate::config::TrainConfig;
use crate::model::{Llama, LlamaConfig};
use crate::optim::{AdamW, OptimError};
use crate::tokenizer::Tokenizer;
use crate::weights::{self, Loaded, WeightsError};

/// The trainer's own files, in a subdirectory so that the checkpoint stays a plain Hugging
/// Face directory (loaders read every `*.safetensors` beside `config.json` as weights).
pub const TRAINER_DIR: &str = "trainer";
pub const OPTIMIZER_FILE: &str = "trainer/optimizer.safetensors";
pub const STATE_FILE: &str = "trainer/trainer_state.json";

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error(transparent)]
    Weights(#[from] WeightsError),
    #[error(transparent)]
    Optimizer(#[from] OptimError),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: {source}")]
    Json { path: PathBuf, source: serde_json::Error },
    #[error("{path}: {source}")]
    Torch { path: PathBuf, source: tch::TchError },
    #[error(transparent)]
    Tokenizer(#[from] crate::tokenizer::TokenizerError),
}

/// Where a run stands, saved beside the weights.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainerState {
    /// Optimizer steps completed.
    pub step: u64,
    /// The run's seed; each step's sampling seed derives from it and the step, so a resumed
    /// run samples exactly what the uninterrupted one would have.
    pub seed: u64,
    pub config: TrainConfig,
}

/// The directory of the checkpoint after `step` under a run's output directory.
pub fn checkpoint_dir(output: &Path, step: u64) -> PathBuf {
    output.join("checkpoints").join(format!("step-{step:06}"))
}

/// Writes a checkpoint into `dir` (replaced if it exists): written beside it first and
/// renamed into place, so a crash never leaves half a checkpoint under the final name.
pub fn save(
    dir: &Path,
    loaded: &Loaded,
    optimizer: &AdamW,
    state: &TrainerState,
) -> Result<(), CheckpointError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| CheckpointError::Io { path, source }
    };
    let partial = dir.with_extension("partial");
    if partial.exists() {
        std::fs::remove_dir_all(&partial).map_err(io(&partial))?;
    }
    weights::save(&partial, loaded)?;
    let trainer_dir = partial.join(TRAINER_DIR);
    std::fs::create_dir_all(&trainer_dir).map_err(io(&trainer_dir))?;
    let optimizer_path = partial.join(OPTIMIZER_FILE);
    let tensors: Vec<(String, Tensor)> =
        optimizer.state().into_iter().map(|(name, t)| (name, t.to_device(Device::Cpu))).collect();
    Tensor::write_safetensors(&tensors, &optimizer_path)
        .map_err(|source| CheckpointError::Torch { path: optimizer_path.clone(), source })?;
    let state_path = partial.join(STATE_FILE);
    let json = serde_json::to_string_pretty(state)
        .map_err(|source| CheckpointError::Json { path: state_path.clone(), source })?;
    std::fs::write(&state_path, json).map_err(io(&state_path))?;
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(io(dir))?;
    }
    std::fs::rename(&partial, dir).map_err(io(dir))
}

/// Reads a checkpoint's trainer state.
pub fn load_state(dir: &Path) -> Result<TrainerState, CheckpointError> {
    let path = dir.join(STATE_FILE);
    let text = std::fs::read_to_string(&path)
        .map_err(|source| CheckpointError::Io { path: path.clone(), source })?;
    serde_json::from_str(&text).map_err(|source| CheckpointError::Json { path, source })
}

/// Restores the optimizer's state from a checkpoint (the policy loads with `weights::load`).
pub fn load_optimizer(dir: &Path, optimizer: &mut AdamW) -> Result<(), CheckpointError> {
    let path = dir.join(OPTIMIZER_FILE);
    let tensors =
        Tensor::read_safetensors(&path).map_err(|source| CheckpointError::Torch { path, source })?;
    optimizer.load_state(tensors)?;
    Ok(())
}

/// The tiny model's vocabulary: the chat template's special tokens, an unknown token that
/// absorbs every run of other characters, the ten digits and newline.
const TINY_SPECIALS: [&str; 3] = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"];
const TINY_UNK: &str = "<unk>";

/// ChatML, as SmolLM2's own template renders it.
pub const CHATML_TEMPLATE: &str = "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + \
message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/// Writes a randomly initialised tiny llama (`LlamaConfig::tiny`, 2 layers of width 64) with
/// a 15-token vocabulary (digits, newline, the ChatML tokens, and one unknown token
/// per run of other characters) to `dir` as a Hugging Face directory. With so few tokens a
/// random policy hits a one-digit answer often enough for GRPO to learn from: the
/// learning-signal test and `codegym-train tiny-model` use it.
pub fn write_tiny_model(dir: &Path, seed: u64) -> Result<(), CheckpointError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| CheckpointError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let mut vocab = serde_json::Map::new();
    let mut added = Vec::new();
    for (id, token) in TINY_SPECIALS.iter().enumerate() {
        vocab.insert((*token).into(), id.into());
        added.push(serde_json::json!({
            "id": id, "content": token, "single_word": false, "lstrip": false, "rstrip": false,
            "normalized": false, "special": true
        }));
    }
    vocab.insert(TINY_UNK.into(), TINY_SPECIALS.len().into());
    for token in ('0'..='9').map(String::from).chain(["\n".to_owned()]) {
        let id = vocab.len();
        vocab.insert(token, id.into());
    }
    let tokenizer = serde_json::json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added,
        "normalizer": null,
        "pre_tokenizer": null,
        "post_processor": null,
        "decoder": {"type": "Fuse"},
        "model": {
            "type": "BPE", "dropout": null, "unk_token": TINY_UNK, "continuing_subword_prefix": null,
            "end_of_word_suffix": null, "fuse_unk": true, "byte_fallback": false, "ignore_merges": false,
            "vocab": vocab, "merges": []
        }
    });
    let config = serde_json::json!({
        "chat_template": CHATML_TEMPLATE,
        "eos_token": "<|im_end|>",
        "pad_token": "<|endoftext|>",
    });
    for (name, value) in [("tokenizer.json", &tokenizer), ("tokenizer_config.json", &config)] {
        let path = dir.join(name);
        std::fs::write(&path, value.to_string()).map_err(io(&path))?;
    }
    let tokenizer = Tokenizer::from_dir(dir)?;
    let config = LlamaConfig::tiny(tokenizer.vocab_size());
    tch::manual_seed(i64::try_from(seed % (1 << 62)).unwrap_or(0));
    let vs = nn::VarStore::new(Device::Cpu);
    let model = Llama::new(vs.root(), &config);
    weights::save(dir, &Loaded { config, vs, model, tokenizer })?;
    Ok(())
}
