//! Loading a policy from a GGUF file or a Hugging Face / checkpoint directory, and saving it
//! as a Hugging Face directory (`config.json`, `model.safetensors`, `tokenizer.json`,
//! `tokenizer_config.json`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use safetensors::{Dtype, SafeTensors, tensor::TensorView};
use tch::{Device, Kind, Tensor, nn};

use crate::gguf::{Gguf, GgufError, Value};
use crate::model::{Llama, LlamaConfig, to_i64, training_kind};
use crate::tokenizer::{Tokenizer, TokenizerError};

#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    #[error(transparent)]
    Gguf(#[from] GgufError),
    #[error(transparent)]
    Tokenizer(#[from] TokenizerError),
    #[error("reading {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path}: {source}")]
    Config { path: String, source: serde_json::Error },
    #[error("{path}: {source}")]
    Safetensors { path: String, source: safetensors::SafeTensorError },
    #[error("GGUF metadata: {0}")]
    Metadata(String),
    #[error("the checkpoint has no tensor {0}")]
    MissingTensor(String),
    #[error("tensor {name}: shape {found:?} in the checkpoint, the model expects {expected:?}")]
    ShapeMismatch { name: String, expected: Vec<i64>, found: Vec<i64> },
    #[error("tensor {name}: dtype {dtype:?} is not supported")]
    Dtype { name: String, dtype: String },
    #[error("{0}: neither a .gguf file nor a directory with config.json")]
    UnknownFormat(String),
    #[error("torch: {0}")]
    Torch(#[from] tch::TchError),
}

/// A policy ready to run: its config, the store owning its parameters, the model, and its
/// tokenizer.
#[derive(Debug)]
pub struct Loaded {
    pub config: LlamaConfig,
    pub vs: nn::VarStore,
    pub model: Llama,
    pub tokenizer: Tokenizer,
}

/// Loads a `.gguf` file or a directory holding `config.json`, `*.safetensors` and
/// `tokenizer.json`. Parameters land on `device` in its training dtype (bf16 on CUDA, f32
/// elsewhere).
pub fn load(path: &Path, device: Device) -> Result<Loaded, WeightsError> {
    if path.is_dir() {
        load_dir(path, device)
    } else if path.extension().is_some_and(|e| e == "gguf") {
        load_gguf(path, device)
    } else {
        Err(WeightsError::UnknownFormat(path.display().to_string()))
    }
}

/// Writes `loaded` as a Hugging Face directory (created if missing) that [`load`] and
/// `transformers` both read.
pub fn save(dir: &Path, loaded: &Loaded) -> Result<(), WeightsError> {
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| WeightsError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let torch_dtype = match loaded.model.kind() {
        Kind::BFloat16 => "bfloat16",
        Kind::Half => "float16",
        _ => "float32",
    };
    let config_path = dir.join("config.json");
    std::fs::write(&config_path, loaded.config.hf_json(torch_dtype)).map_err(io(&config_path))?;

    let mut vars: Vec<(String, Tensor)> = loaded.vs.variables().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    let mut blobs = Vec::with_capacity(vars.len());
    for (name, t) in &vars {
        let t = t.detach().to_device(Device::Cpu).contiguous();
        let dtype = match t.kind() {
            Kind::Float => Dtype::F32,
            Kind::BFloat16 => Dtype::BF16,
            Kind::Half => Dtype::F16,
            other => return Err(WeightsError::Dtype { name: name.clone(), dtype: format!("{other:?}") }),
        };
        let numel = t.numel();
        let mut bytes = vec![0u8; numel * t.kind().elt_size_in_bytes()];
        t.f_copy_data_u8(&mut bytes, numel)?;
        let shape: Vec<usize> = t.size().iter().map(|&d| usize::try_from(d).unwrap_or(0)).collect();
        blobs.push((name.clone(), dtype, shape, bytes));
    }
    let model_path = dir.join("model.safetensors");
    let st_err = |source| WeightsError::Safetensors { path: model_path.display().to_string(), source };
    let views = blobs
        .iter()
        .map(|(name, dtype, shape, bytes)| {
            Ok((name.as_str(), TensorView::new(*dtype, shape.clone(), bytes)?))
        })
        .collect::<Result<Vec<_>, safetensors::SafeTensorError>>()
        .map_err(st_err)?;
    let metadata = HashMap::from([("format".to_string(), "pt".to_string())]);
    safetensors::serialize_to_file(views, Some(metadata), &model_path).map_err(st_err)?;
    loaded.tokenizer.save(dir)?;
    Ok(())
}

fn load_dir(dir: &Path, device: Device) -> Result<Loaded, WeightsError> {
    let config_path = dir.join("config.json");
    let text = std::fs::read_to_string(&config_path)
        .map_err(|source| WeightsError::Io { path: config_path.display().to_string(), source })?;
    let config = LlamaConfig::from_hf_json(&text)
        .map_err(|source| WeightsError::Config { path: config_path.display().to_string(), source })?;
    let tokenizer = Tokenizer::from_dir(dir)?;

    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|source| WeightsError::Io { path: dir.display().to_string(), source })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "safetensors"))
        .collect();
    files.sort();
    let mut tensors = HashMap::new();
    for file in &files {
        let path = file.display().to_string();
        let bytes = std::fs::read(file).map_err(|source| WeightsError::Io { path: path.clone(), source })?;
        let st =
            SafeTensors::deserialize(&bytes).map_err(|source| WeightsError::Safetensors { path, source })?;
        for (name, view) in st.iter() {
            tensors.insert(name.to_string(), tensor_of_view(name, &view)?);
        }
    }
    build(config, tokenizer, device, |name| {
        tensors.remove(name).ok_or_else(|| WeightsError::MissingTensor(name.into()))
    })
}

fn tensor_of_view(name: &str, view: &TensorView<'_>) -> Result<Tensor, WeightsError> {
    let kind = match view.dtype() {
        Dtype::F32 => Kind::Float,
        Dtype::F16 => Kind::Half,
        Dtype::BF16 => Kind::BFloat16,
        other => return Err(WeightsError::Dtype { name: name.into(), dtype: format!("{other:?}") }),
    };
    let shape: Vec<i64> = view.shape().iter().map(|&d| i64::try_from(d).unwrap_or(i64::MAX)).collect();
    Ok(Tensor::f_from_data_size(view.data(), &shape, kind)?)
}

fn load_gguf(path: &Path, device: Device) -> Result<Loaded, WeightsError> {
    let gguf = Gguf::open(path)?;
    let config = config_from_gguf(&gguf)?;
    let tokenizer = Tokenizer::from_gguf(&gguf)?;
    let permuted = gguf.get("general.architecture").and_then(Value::as_str) == Some("llama");
    let (n_heads, n_kv) = (to_i64(config.num_attention_heads), to_i64(config.num_key_value_heads));
    build(config, tokenizer, device, |hf_name| {
        let name = gguf_name(hf_name).ok_or_else(|| WeightsError::MissingTensor(hf_name.into()))?;
        let t = gguf.tensor(&name).map_err(|e| match e {
            GgufError::MissingTensor(_) => WeightsError::MissingTensor(format!("{name} (for {hf_name})")),
            other => other.into(),
        })?;
        // llama.cpp's converter permutes llama's q/k rows for its rope layout; undo it.
        Ok(match (permuted, hf_name.contains("self_attn.q_proj"), hf_name.contains("self_attn.k_proj")) {
            (true, true, _) => unpermute(&t, n_heads),
            (true, _, true) => unpermute(&t, n_kv),
            _ => t,
        })
    })
}

/// The config a GGUF file's `{arch}.*` metadata describes.
pub fn config_from_gguf(gguf: &Gguf) -> Result<LlamaConfig, WeightsError> {
    let arch = gguf
        .get("general.architecture")
        .and_then(Value::as_str)
        .ok_or_else(|| WeightsError::Metadata("general.architecture missing".into()))?;
    if arch != "llama" && arch != "qwen2" {
        return Err(WeightsError::Metadata(format!("architecture {arch:?} is not llama or qwen2")));
    }
    let get = |key: &str| gguf.get(&format!("{arch}.{key}"));
    let int = |key: &str| {
        get(key)
            .and_then(Value::as_u64)
            .and_then(|v| usize::try_from(v).ok())
            .ok_or_else(|| WeightsError::Metadata(format!("{arch}.{key} missing or not an integer")))
    };
    let vocab_size = match get("vocab_size").and_then(Value::as_u64) {
        Some(v) => usize::try_from(v).unwrap_or(usize::MAX),
        None => gguf.get("tokenizer.ggml.tokens").and_then(Value::as_array).map_or(0, <[Value]>::len),
    };
    let hidden_size = int("embedding_length")?;
    let num_attention_heads = int("attention.head_count")?;
    let head_dim = int("attention.key_length").ok().filter(|&d| d * num_attention_heads != hidden_size);
    Ok(LlamaConfig {
        model_type: arch.into(),
        vocab_size,
        hidden_size,
        intermediate_size: int("feed_forward_length")?,
        num_hidden_layers: int("block_count")?,
        num_attention_heads,
        num_key_value_heads: int("attention.head_count_kv").unwrap_or(num_attention_heads),
        head_dim,
        rope_theta: get("rope.freq_base").and_then(Value::as_f64).unwrap_or(10_000.0),
        rms_norm_eps: get("attention.layer_norm_rms_epsilon").and_then(Value::as_f64).unwrap_or(1e-5),
        max_position_embeddings: int("context_length").unwrap_or(2048),
        tie_word_embeddings: gguf.tensor_info("output.weight").is_none(),
        attention_bias: gguf.tensor_info("blk.0.attn_q.bias").is_some(),
    })
}

/// GGUF's name for a Hugging Face parameter name.
fn gguf_name(hf: &str) -> Option<String> {
    match hf {
        "model.embed_tokens.weight" => return Some("token_embd.weight".into()),
        "model.norm.weight" => return Some("output_norm.weight".into()),
        "lm_head.weight" => return Some("output.weight".into()),
        _ => {}
    }
    let rest = hf.strip_prefix("model.layers.")?;
    let (layer, rest) = rest.split_once('.')?;
    let (module, suffix) = rest.rsplit_once('.')?;
    let short = match module {
        "input_layernorm" => "attn_norm",
        "post_attention_layernorm" => "ffn_norm",
        "self_attn.q_proj" => "attn_q",
        "self_attn.k_proj" => "attn_k",
        "self_attn.v_proj" => "attn_v",
        "self_attn.o_proj" => "attn_output",
        "mlp.gate_proj" => "ffn_gate",
        "mlp.up_proj" => "ffn_up",
        "mlp.down_proj" => "ffn_down",
        _ => return None,
    };
    Some(format!("blk.{layer}.{short}.{suffix}"))
}

/// Inverse of llama.cpp's `permute`: within each head, GGUF interleaves the two rope halves
/// (rows 0,D/2,1,D/2+1,...); Hugging Face keeps them as two blocks.
fn unpermute(t: &Tensor, n_heads: i64) -> Tensor {
    let size = t.size();
    let rows = size.first().copied().unwrap_or(0);
    let rest: Vec<i64> = size.iter().skip(1).copied().collect();
    let mut shape = vec![n_heads, rows / n_heads / 2, 2];
    shape.extend(&rest);
    t.reshape(shape.as_slice()).transpose(1, 2).reshape(size.as_slice())
}

/// Creates the model on `device` and fills every parameter from `fetch` (by Hugging Face
/// name), checking shapes; then casts to the device's training dtype.
fn build(
    config: LlamaConfig,
    tokenizer: Tokenizer,
    device: Device,
    mut fetch: impl FnMut(&str) -> Result<Tensor, WeightsError>,
) -> Result<Loaded, WeightsError> {
    let mut vs = nn::VarStore::new(device);
    let model = Llama::zeroed(vs.root(), &config);
    let mut vars: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, mut var) in vars {
        let src = fetch(&name)?;
        if src.size() != var.size() {
            return Err(WeightsError::ShapeMismatch { name, expected: var.size(), found: src.size() });
        }
        tch::no_grad(|| var.f_copy_(&src.to_kind(var.kind()).to_device(device)))?;
    }
    vs.set_kind(training_kind(device));
    Ok(Loaded { config, vs, model, tokenizer })
}
