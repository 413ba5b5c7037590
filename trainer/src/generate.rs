//! Batched sampling with a KV cache: prompts of different lengths are left-padded (masked, with
//! positions counting real tokens only), so every row's next token comes out of one step.

use rand::RngExt;
use tch::{Device, Kind, Tensor};

use crate::model::{KvCache, Llama};
use crate::tokenizer::Tokenizer;

/// How to sample.
#[derive(Clone, Debug, PartialEq)]
pub struct SamplingParams {
    /// 0 is greedy (argmax).
    pub temperature: f64,
    /// Nucleus sampling: sample among the most likely tokens whose probabilities sum to
    /// `top_p` (1 = all).
    pub top_p: f64,
    /// At most this many new tokens per prompt.
    pub max_tokens: usize,
    /// A generation stops once its text contains one of these; the stop string is kept.
    pub stop: Vec<String>,
}

impl Default for SamplingParams {
    fn default() -> Self {
        Self { temperature: 1.0, top_p: 1.0, max_tokens: 256, stop: Vec::new() }
    }
}

/// Why a generation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Finish {
    /// An end-of-sequence token or a stop string (both kept in the output).
    Stop,
    /// `max_tokens` reached.
    Length,
}

/// One prompt's continuation.
#[derive(Clone, Debug, PartialEq)]
pub struct Generation {
    /// The new tokens, the EOS token or the one completing a stop string included.
    pub tokens: Vec<u32>,
    /// Their text, ending at the end of the stop string when one was hit.
    pub text: String,
    pub finish: Finish,
}

/// Continues every prompt (token ids, e.g. a rendered chat) under `params`. Deterministic for
/// a given `rng` state: the only randomness is one uniform draw per sampled token from it.
/// Runs under `tch::no_grad`.
pub fn generate(
    model: &Llama,
    tokenizer: &Tokenizer,
    prompts: &[Vec<u32>],
    params: &SamplingParams,
    rng: &mut impl rand::Rng,
) -> Vec<Generation> {
    tch::no_grad(|| generate_inner(model, tokenizer, prompts, params, rng))
}

fn generate_inner(
    model: &Llama,
    tokenizer: &Tokenizer,
    prompts: &[Vec<u32>],
    params: &SamplingParams,
    rng: &mut impl rand::Rng,
) -> Vec<Generation> {
    let mut out: Vec<Generation> = prompts
        .iter()
        .map(|_| Generation { tokens: Vec::new(), text: String::new(), finish: Finish::Length })
        .collect();
    let mut active: Vec<bool> = prompts.iter().map(|p| !p.is_empty()).collect();
    if prompts.is_empty() || params.max_tokens == 0 || !active.iter().any(|&a| a) {
        return out;
    }
    let device = model.device();
    let b = i64::try_from(prompts.len()).unwrap_or(i64::MAX);
    let width = prompts.iter().map(Vec::len).max().unwrap_or(0);
    let pad = i64::from(tokenizer.pad_id());
    let mut ids = Vec::with_capacity(prompts.len() * width);
    let mut mask = Vec::with_capacity(prompts.len() * width);
    for p in prompts {
        let padding = width - p.len();
        ids.extend(std::iter::repeat_n(pad, padding).chain(p.iter().map(|&t| i64::from(t))));
        mask.extend(std::iter::repeat_n(0i64, padding).chain(std::iter::repeat_n(1, p.len())));
    }
    let w = i64::try_from(width).unwrap_or(i64::MAX);
    let tokens = Tensor::from_slice(&ids).view([b, w]).to_device(device);
    let mask = Tensor::from_slice(&mask).view([b, w]).to_device(device);

    let mut cache = KvCache::with_capacity(model.config(), width + params.max_tokens);
    let mut logits = model.forward_cached(&tokens, &mask, &mut cache);
    let eos = tokenizer.eos_ids();
    let stop_window = params.stop.iter().map(String::len).max().unwrap_or(0) + 2;
    let step_mask = Tensor::ones([b, 1], (Kind::Int64, device));
    for step in 0..params.max_tokens {
        let next = sample(&logits, params, rng);
        for (i, &tok) in next.iter().enumerate() {
            if !active[i] {
                continue;
            }
            let g = &mut out[i];
            g.tokens.push(tok);
            if eos.contains(&tok) {
                g.finish = Finish::Stop;
                active[i] = false;
            } else if !params.stop.is_empty() {
                // A stop string completed by this token lies within its last `stop_window`
                // tokens (each is at least one byte); decode everything only on a hit.
                let tail = &g.tokens[g.tokens.len().saturating_sub(stop_window)..];
                if stop_end(&tokenizer.decode(tail), &params.stop).is_some() {
                    let text = tokenizer.decode(&g.tokens);
                    if let Some(end) = stop_end(&text, &params.stop) {
                        g.text = text[..end].to_string();
                        g.finish = Finish::Stop;
                        active[i] = false;
                    }
                }
            }
        }
        if step + 1 == params.max_tokens || !active.iter().any(|&a| a) {
            break;
        }
        // Finished rows keep being fed (their tokens are dropped) so the batch stays rectangular.
        let fed: Vec<i64> = next.iter().map(|&t| i64::from(t)).collect();
        let fed = Tensor::from_slice(&fed).view([b, 1]).to_device(device);
        logits = model.forward_cached(&fed, &step_mask, &mut cache);
    }
    for g in &mut out {
        if g.text.is_empty() {
            g.text = tokenizer.decode(&g.tokens);
        }
    }
    out
}

/// Byte offset just past the earliest-ending stop string in `text`.
fn stop_end(text: &str, stops: &[String]) -> Option<usize> {
    stops.iter().filter(|s| !s.is_empty()).filter_map(|s| text.find(s.as_str()).map(|i| i + s.len())).min()
}

/// One token per row of `logits` [B,V]: argmax at temperature 0, else inverse-CDF sampling
/// over the top-p nucleus with uniforms drawn from `rng` (so a seed fixes the result).
fn sample(logits: &Tensor, params: &SamplingParams, rng: &mut impl rand::Rng) -> Vec<u32> {
    let picked = if params.temperature <= 0.0 {
        logits.argmax(-1, false)
    } else {
        let probs = (logits / params.temperature).softmax(-1, Kind::Float);
        let (sorted, order) = probs.sort(-1, true);
        let cum = sorted.cumsum(-1, Kind::Float);
        // Keep a token while the mass before it is below top_p (the first is always kept).
        let before = &cum - &sorted;
        let kept = sorted.where_self(&before.lt(params.top_p.clamp(1e-9, 1.0)), &sorted.zeros_like());
        let cum = kept.cumsum(-1, Kind::Float);
        let total = cum.narrow(-1, cum.size()[1] - 1, 1);
        let rows = usize::try_from(logits.size()[0]).unwrap_or(0);
        let u: Vec<f32> = (0..rows).map(|_| rng.random::<f32>()).collect();
        let u = Tensor::from_slice(&u).view([-1, 1]).to_device(logits.device()) * &total;
        // The first index whose cumulative mass exceeds u, kept in range.
        let idx = cum.le_tensor(&u).sum_dim_intlist(-1, true, Kind::Int64);
        let last_kept = kept.gt(0.0).sum_dim_intlist(-1, true, Kind::Int64) - 1;
        let idx = idx.minimum(&last_kept);
        order.gather(-1, &idx, false).squeeze_dim(-1)
    };
    let picked = picked.to_device(Device::Cpu).to_kind(Kind::Int64);
    Vec::<i64>::try_from(&picked)
        .unwrap_or_default()
        .into_iter()
        .map(|t| u32::try_from(t).unwrap_or(0))
        .collect()
}
