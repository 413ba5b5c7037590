//! A llama-architecture causal language model in tch: RMSNorm, rotary position embeddings,
//! grouped-query attention, SwiGLU MLP, optional q/k/v bias (Qwen2), tied or separate LM head.
//!
//! Parameter names are those of Hugging Face llama safetensors
//! (`model.layers.N.self_attn.q_proj.weight`, ...), so loading and saving a checkpoint is a
//! name-for-name copy of `VarStore::variables()`.

use serde::{Deserialize, Serialize};
use tch::nn::Module;
use tch::{Device, Kind, Tensor, nn};

/// The architecture's hyper-parameters, with the field names of a Hugging Face
/// `config.json` (llama or qwen2), so it (de)serialises as one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LlamaConfig {
    /// `llama` or `qwen2`; only decides the default of `attention_bias`.
    #[serde(default = "default_model_type")]
    pub model_type: String,
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    /// Grouped-query attention: each key/value head serves
    /// `num_attention_heads / num_key_value_heads` query heads.
    pub num_key_value_heads: usize,
    /// Per-head width; `hidden_size / num_attention_heads` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_dim: Option<usize>,
    #[serde(default = "default_rope_theta")]
    pub rope_theta: f64,
    #[serde(default = "default_rms_norm_eps")]
    pub rms_norm_eps: f64,
    #[serde(default = "default_max_position_embeddings")]
    pub max_position_embeddings: usize,
    /// The LM head shares the token embedding's matrix (no `lm_head.weight`).
    #[serde(default)]
    pub tie_word_embeddings: bool,
    /// Biases on the q/k/v projections (always on in Qwen2, whose config omits the key).
    #[serde(default)]
    pub attention_bias: bool,
}

fn default_model_type() -> String {
    "llama".into()
}
fn default_rope_theta() -> f64 {
    10_000.0
}
fn default_rms_norm_eps() -> f64 {
    1e-5
}
fn default_max_position_embeddings() -> usize {
    2048
}

impl LlamaConfig {
    /// Parses a Hugging Face `config.json` (llama or qwen2). RoPE scaling schemes are refused
    /// rather than ignored, since ignoring one would silently change the model.
    pub fn from_hf_json(text: &str) -> Result<Self, serde_json::Error> {
        let value: serde_json::Value = serde_json::from_str(text)?;
        if value.get("rope_scaling").is_some_and(|v| !v.is_null()) {
            return Err(serde::de::Error::custom("rope_scaling is not supported"));
        }
        let mut config: Self = serde_json::from_value(value.clone())?;
        if config.model_type == "qwen2" && value.get("attention_bias").is_none() {
            config.attention_bias = true;
        }
        Ok(config)
    }

    /// The `config.json` a Hugging Face loader reads back as this model (parameters in f32).
    pub fn to_hf_json(&self) -> String {
        self.hf_json("float32")
    }

    /// The `config.json`, naming the parameters' dtype (`float32`, `bfloat16`).
    pub(crate) fn hf_json(&self, torch_dtype: &str) -> String {
        let mut value = serde_json::to_value(self).unwrap_or_default();
        if let Some(map) = value.as_object_mut() {
            let arch = if self.model_type == "qwen2" { "Qwen2ForCausalLM" } else { "LlamaForCausalLM" };
            map.insert("architectures".into(), serde_json::json!([arch]));
            map.insert("hidden_act".into(), "silu".into());
            map.insert("torch_dtype".into(), torch_dtype.into());
        }
        serde_json::to_string_pretty(&value).unwrap_or_default()
    }

    /// A tiny model (2 layers, width 64) for fast tests.
    pub fn tiny(vocab_size: usize) -> Self {
        Self {
            model_type: default_model_type(),
            vocab_size,
            hidden_size: 64,
            intermediate_size: 128,
            num_hidden_layers: 2,
            num_attention_heads: 4,
            num_key_value_heads: 2,
            head_dim: None,
            rope_theta: 10_000.0,
            rms_norm_eps: 1e-5,
            max_position_embeddings: 2048,
            tie_word_embeddings: true,
            attention_bias: false,
        }
    }

    pub fn head_dim(&self) -> usize {
        self.head_dim.unwrap_or(self.hidden_size / self.num_attention_heads.max(1))
    }
}

/// The training dtype on a device: bf16 on CUDA, f32 elsewhere.
pub fn training_kind(device: Device) -> Kind {
    if device.is_cuda() { Kind::BFloat16 } else { Kind::Float }
}

/// How parameters start out.
#[derive(Clone, Copy, Debug)]
enum Fill {
    Random,
    Zeros,
}

impl Fill {
    fn linear(self, bias: bool) -> nn::LinearConfig {
        match self {
            Fill::Random => nn::LinearConfig { bias, ..Default::default() },
            Fill::Zeros => {
                nn::LinearConfig { ws_init: nn::Init::Const(0.0), bs_init: Some(nn::Init::Const(0.0)), bias }
            }
        }
    }
}

#[derive(Debug)]
struct RmsNorm {
    weight: Tensor,
    eps: f64,
}

impl RmsNorm {
    fn new(vs: nn::Path, dim: usize, eps: f64) -> Self {
        Self { weight: vs.ones("weight", &[to_i64(dim)]), eps }
    }

    fn forward(&self, x: &Tensor) -> Tensor {
        // libtorch's rms_norm accumulates in f32 for bf16 input, in one op instead of eight.
        x.rms_norm([self.weight.size()[0]].as_slice(), Some(&self.weight), self.eps)
    }
}

#[derive(Debug)]
struct Attention {
    q_proj: nn::Linear,
    k_proj: nn::Linear,
    v_proj: nn::Linear,
    o_proj: nn::Linear,
    n_heads: i64,
    n_kv_heads: i64,
    head_dim: i64,
}

impl Attention {
    fn new(vs: nn::Path, c: &LlamaConfig, fill: Fill) -> Self {
        let h = to_i64(c.hidden_size);
        let d = to_i64(c.head_dim());
        let (nh, nkv) = (to_i64(c.num_attention_heads), to_i64(c.num_key_value_heads));
        let qkv = fill.linear(c.attention_bias);
        let no_bias = fill.linear(false);
        Self {
            q_proj: nn::linear(&vs / "q_proj", h, nh * d, qkv),
            k_proj: nn::linear(&vs / "k_proj", h, nkv * d, qkv),
            v_proj: nn::linear(&vs / "v_proj", h, nkv * d, qkv),
            o_proj: nn::linear(&vs / "o_proj", nh * d, h, no_bias),
            n_heads: nh,
            n_kv_heads: nkv,
            head_dim: d,
        }
    }

    /// `x`: [B,T,H]; `mask`: [B,1,T,S] bool (true = may attend); `cache`: this layer's keys and
    /// values so far (S-T slots), extended in place.
    fn forward(&self, x: &Tensor, rope: &Rope, mask: &Tensor, cache: Option<&mut LayerCache>) -> Tensor {
        let (b, t, _) = x.size3().unwrap_or_default();
        let heads = |y: Tensor, n: i64| y.view([b, t, n, self.head_dim]).transpose(1, 2);
        let q = rope.apply(&heads(self.q_proj.forward(x), self.n_heads));
        let mut k = rope.apply(&heads(self.k_proj.forward(x), self.n_kv_heads));
        let mut v = heads(self.v_proj.forward(x), self.n_kv_heads);
        if let Some(cache) = cache {
            (k, v) = cache.append(&k, &v);
        }
        let y = Tensor::scaled_dot_product_attention(&q, &k, &v, Some(mask), 0.0, false, None, true);
        self.o_proj.forward(&y.transpose(1, 2).reshape([b, t, self.n_heads * self.head_dim]))
    }
}

#[derive(Debug)]
struct Mlp {
    gate_proj: nn::Linear,
    up_proj: nn::Linear,
    down_proj: nn::Linear,
}

impl Mlp {
    fn new(vs: nn::Path, c: &LlamaConfig, fill: Fill) -> Self {
        let (h, f) = (to_i64(c.hidden_size), to_i64(c.intermediate_size));
        let cfg = fill.linear(false);
        Self {
            gate_proj: nn::linear(&vs / "gate_proj", h, f, cfg),
            up_proj: nn::linear(&vs / "up_proj", h, f, cfg),
            down_proj: nn::linear(&vs / "down_proj", f, h, cfg),
        }
    }

    fn forward(&self, x: &Tensor) -> Tensor {
        self.down_proj.forward(&(self.gate_proj.forward(x).silu() * self.up_proj.forward(x)))
    }
}

#[derive(Debug)]
struct Block {
    input_layernorm: RmsNorm,
    self_attn: Attention,
    post_attention_layernorm: RmsNorm,
    mlp: Mlp,
}

impl Block {
    fn new(vs: nn::Path, c: &LlamaConfig, fill: Fill) -> Self {
        Self {
            input_layernorm: RmsNorm::new(&vs / "input_layernorm", c.hidden_size, c.rms_norm_eps),
            self_attn: Attention::new(&vs / "self_attn", c, fill),
            post_attention_layernorm: RmsNorm::new(
                &vs / "post_attention_layernorm",
                c.hidden_size,
                c.rms_norm_eps,
            ),
            mlp: Mlp::new(&vs / "mlp", c, fill),
        }
    }

    fn forward(&self, x: &Tensor, rope: &Rope, mask: &Tensor, cache: Option<&mut LayerCache>) -> Tensor {
        let x = x + self.self_attn.forward(&self.input_layernorm.forward(x), rope, mask, cache);
        &x + self.mlp.forward(&self.post_attention_layernorm.forward(&x))
    }
}

/// cos/sin of Hugging Face's rotary layout (the two halves of a head rotate together).
struct Rope {
    cos: Tensor,
    /// sin with its first half negated, so that applying is `x*cos + roll(x)*sin`.
    signed_sin: Tensor,
}

impl Rope {
    /// `positions`: [B,T] i64.
    fn new(positions: &Tensor, head_dim: i64, theta: f64, kind: Kind) -> Self {
        let device = positions.device();
        let exps = Tensor::arange_start_step(0, head_dim, 2, (Kind::Float, device)) / head_dim as f64;
        let inv_freq = exps.multiply_scalar(theta.ln()).exp().reciprocal();
        let freqs = positions.to_kind(Kind::Float).unsqueeze(-1) * inv_freq.view([1, 1, -1]);
        let sin = freqs.sin();
        let cos = Tensor::cat(&[&freqs, &freqs], -1).cos().unsqueeze(1); // [B,1,T,D]
        let signed_sin = Tensor::cat(&[sin.neg(), sin], -1).unsqueeze(1);
        Self { cos: cos.to_kind(kind), signed_sin: signed_sin.to_kind(kind) }
    }

    /// Hugging Face's `x*cos + rotate_half(x)*sin`, where `rotate_half(x) = [-x2, x1]`: rolling
    /// by half a head gives `[x2, x1]`, and the sign lives in `signed_sin`.
    fn apply(&self, x: &Tensor) -> Tensor {
        let half = x.size().last().copied().unwrap_or(0) / 2;
        x * &self.cos + x.roll([half].as_slice(), [-1i64].as_slice()) * &self.signed_sin
    }
}

/// One layer's keys and values, [B,KV,capacity,D] buffers of which the first `len` slots are
/// filled: a decoding step writes its slot rather than copying the whole cache.
#[derive(Debug)]
struct LayerCache {
    buffers: Option<(Tensor, Tensor)>,
    len: i64,
    reserve: i64,
}

impl LayerCache {
    /// Appends `k`, `v` ([B,KV,T,D]) and returns views of all keys and values so far.
    fn append(&mut self, k: &Tensor, v: &Tensor) -> (Tensor, Tensor) {
        let (len, t) = (self.len, k.size()[2]);
        let need = len + t;
        let (kb, vb) = match self.buffers.take() {
            Some((kb, vb)) if kb.size()[2] >= need => (kb, vb),
            old => {
                let capacity = old.as_ref().map_or(0, |(kb, _)| kb.size()[2]);
                let capacity = need.max(self.reserve).max(2 * capacity);
                let grow = |old: Option<&Tensor>, like: &Tensor| {
                    let mut size = like.size();
                    size[2] = capacity;
                    let buffer = Tensor::zeros(size, (like.kind(), like.device()));
                    if let Some(old) = old {
                        buffer.narrow(2, 0, len).copy_(&old.narrow(2, 0, len));
                    }
                    buffer
                };
                (grow(old.as_ref().map(|(kb, _)| kb), k), grow(old.as_ref().map(|(_, vb)| vb), v))
            }
        };
        kb.narrow(2, len, t).copy_(k);
        vb.narrow(2, len, t).copy_(v);
        self.len = need;
        let out = (kb.narrow(2, 0, need), vb.narrow(2, 0, need));
        self.buffers = Some((kb, vb));
        out
    }
}

/// Keys and values of the tokens seen so far, for incremental decoding.
#[derive(Debug)]
pub struct KvCache {
    layers: Vec<LayerCache>,
    /// [B,S] bool: which cached slots hold real tokens (left padding does not).
    key_mask: Option<Tensor>,
    /// [B] i64: the position of each row's next token.
    next_pos: Option<Tensor>,
}

impl KvCache {
    /// An empty cache that grows as needed.
    pub fn new(config: &LlamaConfig) -> Self {
        Self::with_capacity(config, 0)
    }

    /// An empty cache that allocates room for `slots` tokens (prompt padding included) at
    /// once, e.g. the prompt width plus `max_tokens`.
    pub fn with_capacity(config: &LlamaConfig, slots: usize) -> Self {
        let reserve = to_i64(slots);
        let layers =
            (0..config.num_hidden_layers).map(|_| LayerCache { buffers: None, len: 0, reserve }).collect();
        Self { layers, key_mask: None, next_pos: None }
    }

    /// Number of cached slots (padding included).
    pub fn len(&self) -> i64 {
        self.key_mask.as_ref().map_or(0, |m| m.size()[1])
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The model. Create it under a `VarStore`'s root; the store owns the parameters.
#[derive(Debug)]
pub struct Llama {
    config: LlamaConfig,
    embed_tokens: nn::Embedding,
    layers: Vec<Block>,
    norm: RmsNorm,
    lm_head: Option<nn::Linear>,
}

impl Llama {
    /// A randomly initialised model (embeddings N(0, 0.02), projections Kaiming-uniform).
    pub fn new(vs: nn::Path, config: &LlamaConfig) -> Self {
        Self::with_fill(vs, config, Fill::Random)
    }

    /// A model whose parameters are zeros, to be overwritten by a checkpoint (skips the cost
    /// of random initialisation).
    pub fn zeroed(vs: nn::Path, config: &LlamaConfig) -> Self {
        Self::with_fill(vs, config, Fill::Zeros)
    }

    fn with_fill(vs: nn::Path, config: &LlamaConfig, fill: Fill) -> Self {
        let m = &vs / "model";
        let (v, h) = (to_i64(config.vocab_size), to_i64(config.hidden_size));
        let ws_init = match fill {
            Fill::Random => nn::Init::Randn { mean: 0.0, stdev: 0.02 },
            Fill::Zeros => nn::Init::Const(0.0),
        };
        let embed_tokens =
            nn::embedding(&m / "embed_tokens", v, h, nn::EmbeddingConfig { ws_init, ..Default::default() });
        let layers =
            (0..config.num_hidden_layers).map(|i| Block::new(&m / "layers" / i, config, fill)).collect();
        let norm = RmsNorm::new(&m / "norm", config.hidden_size, config.rms_norm_eps);
        let lm_head =
            (!config.tie_word_embeddings).then(|| nn::linear(&vs / "lm_head", h, v, fill.linear(false)));
        Self { config: config.clone(), embed_tokens, layers, norm, lm_head }
    }

    pub fn config(&self) -> &LlamaConfig {
        &self.config
    }

    /// The parameters' dtype.
    pub fn kind(&self) -> Kind {
        self.embed_tokens.ws.kind()
    }

    /// The device the parameters live on.
    pub fn device(&self) -> Device {
        self.embed_tokens.ws.device()
    }

    /// Logits [B,T,V] (f32) for token ids [B,T] (i64), `attention_mask` [B,T] (1 = real
    /// token). Positions count real tokens only, so right- or left-padded batches both work;
    /// padding is never attended to. Differentiable.
    pub fn forward(&self, tokens: &Tensor, attention_mask: &Tensor) -> Tensor {
        let hidden = self.hidden(tokens, attention_mask, None);
        self.logits(&hidden)
    }

    /// log p(tokens[:, t+1] | tokens[:, ..=t]) as [B,T-1] f32 (entries at padding are
    /// meaningless; mask them with `attention_mask[:, 1:]`).
    pub fn token_logprobs(&self, tokens: &Tensor, attention_mask: &Tensor) -> Tensor {
        let t = tokens.size().get(1).copied().unwrap_or(0);
        let logits = self.forward(tokens, attention_mask).narrow(1, 0, (t - 1).max(0));
        let targets = tokens.narrow(1, 1, (t - 1).max(0)).unsqueeze(-1);
        // One [B,T,V] temporary fewer than log_softmax followed by gather.
        logits.gather(-1, &targets, false).squeeze_dim(-1) - logits.logsumexp([-1i64].as_slice(), false)
    }

    /// Feeds `tokens` [B,T] after what `cache` holds and returns the last position's logits
    /// [B,V] (f32). `attention_mask` [B,T] marks real tokens; a prompt batch is left-padded so
    /// that every row's last token is real.
    pub fn forward_cached(&self, tokens: &Tensor, attention_mask: &Tensor, cache: &mut KvCache) -> Tensor {
        let hidden = self.hidden(tokens, attention_mask, Some(cache));
        let t = hidden.size()[1];
        self.logits(&hidden.narrow(1, t - 1, 1)).squeeze_dim(1)
    }

    fn logits(&self, hidden: &Tensor) -> Tensor {
        let h = self.norm.forward(hidden);
        match &self.lm_head {
            Some(head) => head.forward(&h),
            None => h.linear(&self.embed_tokens.ws, None::<Tensor>),
        }
        .to_kind(Kind::Float)
    }

    fn hidden(&self, tokens: &Tensor, attention_mask: &Tensor, mut cache: Option<&mut KvCache>) -> Tensor {
        let device = tokens.device();
        let (b, t) = tokens.size2().unwrap_or_default();
        let mask = attention_mask.to_kind(Kind::Bool).to_device(device);
        let seen = mask.to_kind(Kind::Int64).cumsum(1, Kind::Int64);
        let (start, past_mask) = match cache.as_deref() {
            Some(KvCache { next_pos: Some(p), key_mask: Some(m), .. }) => {
                (p.unsqueeze(1), Some(m.shallow_clone()))
            }
            _ => (Tensor::zeros([b, 1], (Kind::Int64, device)), None),
        };
        let positions = (&start + &seen - 1).clamp_min(0);
        let s0 = past_mask.as_ref().map_or(0, |m| m.size()[1]);
        let key_mask = match &past_mask {
            Some(m) => Tensor::cat(&[m, &mask], 1),
            None => mask.shallow_clone(),
        };
        // Query i (slot s0+i) attends slot j <= s0+i holding a real token, and always itself,
        // so a padding query's row is never empty (which would give NaN).
        let q_slot = Tensor::arange_start(s0, s0 + t, (Kind::Int64, device)).view([t, 1]);
        let k_slot = Tensor::arange(s0 + t, (Kind::Int64, device)).view([1, s0 + t]);
        let causal = k_slot.le_tensor(&q_slot).unsqueeze(0);
        let itself = k_slot.eq_tensor(&q_slot).unsqueeze(0);
        let attn = (causal.logical_and(&key_mask.unsqueeze(1))).logical_or(&itself).unsqueeze(1);

        let kind = self.embed_tokens.ws.kind();
        let rope = Rope::new(&positions, to_i64(self.config.head_dim()), self.config.rope_theta, kind);
        let mut x = self.embed_tokens.forward(tokens);
        for (i, layer) in self.layers.iter().enumerate() {
            let layer_cache = cache.as_deref_mut().and_then(|c| c.layers.get_mut(i));
            x = layer.forward(&x, &rope, &attn, layer_cache);
        }
        if let Some(cache) = cache {
            cache.next_pos = Some(start.squeeze_dim(1) + seen.narrow(1, t - 1, 1).squeeze_dim(1));
            cache.key_mask = Some(key_mask);
        }
        x
    }
}

/// Sizes here are small configuration numbers; a value past i64 is a corrupt config.
pub(crate) fn to_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
