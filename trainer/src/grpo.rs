//! GRPO: group-normalised advantages and the clipped policy-ratio loss.
//!
//! Each task is sampled `G` times; a sample's advantage is its reward against its own group
//! (`(r - mean) / (std + eps)`), so no value model is needed. The loss is PPO's clipped
//! surrogate on per-token log-probabilities, averaged over the tokens the policy generated
//! (prompt, observation and padding tokens carry mask 0 and contribute nothing), with an
//! optional k3 KL penalty towards a reference policy (coefficient 0 by default, as in the
//! paper).

use tch::{Kind, Tensor};

/// Knobs of the GRPO loss.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GrpoConfig {
    /// PPO's ratio clip: the ratio is clipped to `[1 - clip, 1 + clip]`.
    pub clip: f64,
    /// Weight of the k3 KL estimate against the reference policy (0: no reference needed).
    pub kl_coef: f64,
    /// Added to a group's standard deviation before dividing.
    pub adv_eps: f64,
}

impl Default for GrpoConfig {
    fn default() -> Self {
        Self { clip: 0.2, kl_coef: 0.0, adv_eps: 1e-6 }
    }
}

/// Errors of the GRPO helpers: shapes the caller got wrong.
#[derive(Debug, thiserror::Error)]
pub enum GrpoError {
    #[error("{rewards} rewards do not split into groups of {group_size}")]
    Groups { rewards: usize, group_size: usize },
    #[error("shape mismatch: {0}")]
    Shape(String),
    #[error(transparent)]
    Torch(#[from] tch::TchError),
}

/// Group-normalised advantages: rewards come in consecutive groups of `group_size` samples
/// of one task. A group whose rewards are all equal (all solved, all failed) gets zeros: it
/// says nothing about which sample was better. The standard deviation is the population one.
pub fn group_advantages(rewards: &[f32], group_size: usize, eps: f64) -> Result<Vec<f32>, GrpoError> {
    if group_size == 0 || !rewards.len().is_multiple_of(group_size) {
        return Err(GrpoError::Groups { rewards: rewards.len(), group_size });
    }
    let mut advantages = Vec::with_capacity(rewards.len());
    for group in rewards.chunks(group_size) {
        let n = group.len() as f64;
        let mean = group.iter().map(|&r| f64::from(r)).sum::<f64>() / n;
        let var = group.iter().map(|&r| (f64::from(r) - mean).powi(2)).sum::<f64>() / n;
        let std = var.sqrt();
        for &r in group {
            // Exactly zero for equal rewards, whatever eps is.
            let centred = f64::from(r) - mean;
            let advantage = if centred == 0.0 { 0.0 } else { centred / (std + eps) };
            advantages.push(advantage as f32);
        }
    }
    Ok(advantages)
}

/// What the loss needs for one micro-batch of sequences. All per-token tensors are
/// `[B, T-1]`, aligned with `Llama::token_logprobs` (position `t` scores token `t + 1`).
pub struct LossInputs<'a> {
    /// Log-probabilities under the current policy (differentiable).
    pub logprobs: &'a Tensor,
    /// Log-probabilities under the policy that sampled the tokens; `None` when that is the
    /// current policy (one update per batch), in which case `logprobs` detached stands in.
    pub old_logprobs: Option<&'a Tensor>,
    /// Log-probabilities under the reference policy; needed only when `kl_coef > 0`.
    pub ref_logprobs: Option<&'a Tensor>,
    /// 1.0 for tokens the policy generated, 0.0 elsewhere (float).
    pub mask: &'a Tensor,
    /// One advantage per sequence, `[B]` (float).
    pub advantages: &'a Tensor,
    /// Trained tokens in the whole optimizer step (all micro-batches): each token's term is
    /// divided by it, so accumulating micro-batch gradients gives the token-mean of the step.
    pub normalizer: f64,
}

/// The loss of a micro-batch and statistics for the log.
pub struct LossOutput {
    /// Scalar to call `backward` on.
    pub loss: Tensor,
    /// Fraction of this micro-batch's trained tokens whose ratio was clipped.
    pub clip_fraction: f64,
    /// Mean k3 KL estimate over trained tokens (0 without a reference).
    pub kl: f64,
    /// Trained tokens in this micro-batch.
    pub tokens: f64,
}

/// The clipped policy-gradient loss, summed over trained tokens and divided by
/// `normalizer` (token-mean over the step), plus `kl_coef` times the k3 estimate
/// `exp(ref - logp) - (ref - logp) - 1` on the same tokens.
pub fn policy_loss(config: &GrpoConfig, inputs: &LossInputs<'_>) -> Result<LossOutput, GrpoError> {
    let size = inputs.logprobs.size();
    let [batch, _] = size[..] else {
        return Err(GrpoError::Shape(format!("logprobs must be [B, T-1], got {size:?}")));
    };
    if inputs.mask.size() != size {
        return Err(GrpoError::Shape(format!("mask {:?} vs logprobs {size:?}", inputs.mask.size())));
    }
    if inputs.advantages.size() != [batch] {
        return Err(GrpoError::Shape(format!("advantages {:?} vs batch {batch}", inputs.advantages.size())));
    }
    let logprobs = inputs.logprobs;
    let mask = inputs.mask.f_to_kind(Kind::Float)?.f_to_device(logprobs.device())?;
    let old = match inputs.old_logprobs {
        Some(old) => old.detach(),
        None => logprobs.detach(),
    };
    let advantages = inputs.advantages.f_to_kind(Kind::Float)?.f_to_device(logprobs.device())?.unsqueeze(1);
    let ratio = (logprobs - &old).exp();
    let unclipped = &ratio * &advantages;
    let clipped = ratio.clamp(1.0 - config.clip, 1.0 + config.clip) * &advantages;
    let per_token = -unclipped.minimum(&clipped);
    let normalizer = inputs.normalizer.max(1.0);
    let mut loss = (per_token * &mask).sum(Kind::Float) / normalizer;
    let tokens = f64::try_from(mask.sum(Kind::Float))?;
    let outside = ratio.detach().lt(1.0 - config.clip).logical_or(&ratio.detach().gt(1.0 + config.clip));
    let clip_fraction =
        f64::try_from((outside.to_kind(Kind::Float) * &mask).sum(Kind::Float))? / tokens.max(1.0);
    let mut kl = 0.0;
    if config.kl_coef != 0.0 {
        let reference = inputs
            .ref_logprobs
            .ok_or_else(|| GrpoError::Shape("kl_coef > 0 needs reference log-probabilities".into()))?
            .detach();
        let delta = reference - logprobs;
        let k3 = delta.exp() - &delta - 1.0;
        let kl_sum = (k3 * &mask).sum(Kind::Float);
        kl = f64::try_from(kl_sum.detach())? / tokens.max(1.0);
        loss += kl_sum * (config.kl_coef / normalizer);
    }
    Ok(LossOutput { loss, clip_fraction, kl, tokens })
}

/// The `[B, T-1]` mask aligned with `token_logprobs` from a `[B, T]` per-token mask (1 where
/// the policy generated the token): position `t` scores token `t + 1`.
pub fn shift_mask(token_mask: &Tensor) -> Tensor {
    let length = token_mask.size().last().copied().unwrap_or(0);
    token_mask.narrow(1, 1, (length - 1).max(0)).to_kind(Kind::Float)
}

/// One sequence to train on: its tokens, which of them the policy generated, and the
/// advantage of the episode it came from.
#[derive(Clone, Debug)]
pub struct Sequence {
    pub tokens: Vec<u32>,
    /// 1 where the policy generated the token.
    pub mask: Vec<u8>,
    pub advantage: f32,
}

/// What one policy update did.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct UpdateStats {
    /// The step's loss (sum over micro-batches).
    pub loss: f64,
    /// Sequences trained on (those with a non-zero advantage, unless a KL term needs all).
    pub sequences: usize,
    /// Trained (generated) tokens, and all tokens fed forward and backward.
    pub trained_tokens: usize,
    pub forward_tokens: usize,
    pub clip_fraction: f64,
    pub kl: f64,
    pub grad_norm: f64,
    pub lr: f64,
    /// No optimizer step was taken: no sequence carried a learning signal.
    pub skipped: bool,
}

/// A policy's log-probabilities, for [`update`]: the model being trained, and optionally a
/// frozen reference for the KL term.
pub struct Policies<'a> {
    pub policy: &'a crate::model::Llama,
    pub reference: Option<&'a crate::model::Llama>,
    pub device: tch::Device,
    pub pad_id: u32,
}

/// One GRPO update: the clipped loss over `sequences` in micro-batches of `micro_batch`,
/// gradients accumulated, then one optimizer step. Sequences with a zero advantage add
/// nothing to the clipped loss and are skipped (unless a KL term is on); with none left the
/// optimizer step is skipped too, so that weight decay alone never moves the weights.
pub fn update(
    policies: &Policies<'_>,
    optimizer: &mut crate::optim::AdamW,
    sequences: &[Sequence],
    config: &GrpoConfig,
    micro_batch: usize,
) -> Result<UpdateStats, GrpoError> {
    let selected: Vec<&Sequence> = sequences
        .iter()
        .filter(|s| config.kl_coef != 0.0 || s.advantage != 0.0)
        .filter(|s| s.mask.iter().skip(1).any(|&m| m != 0))
        .collect();
    let mut stats = UpdateStats { lr: optimizer.lr_at(optimizer.steps() + 1), ..UpdateStats::default() };
    if selected.is_empty() {
        stats.skipped = true;
        return Ok(stats);
    }
    let normalizer: usize = selected.iter().map(|s| s.mask.iter().skip(1).filter(|&&m| m != 0).count()).sum();
    optimizer.zero_grad();
    let (mut clipped, mut kl) = (0.0, 0.0);
    for chunk in selected.chunks(micro_batch.max(1)) {
        let batch = pad_batch(chunk, policies.pad_id, policies.device)?;
        let logprobs = policies.policy.token_logprobs(&batch.tokens, &batch.attention);
        let reference = match (policies.reference, config.kl_coef != 0.0) {
            (Some(reference), true) => {
                Some(tch::no_grad(|| reference.token_logprobs(&batch.tokens, &batch.attention)))
            }
            _ => None,
        };
        let inputs = LossInputs {
            logprobs: &logprobs,
            old_logprobs: None,
            ref_logprobs: reference.as_ref(),
            mask: &batch.mask,
            advantages: &batch.advantages,
            normalizer: normalizer as f64,
        };
        let output = policy_loss(config, &inputs)?;
        output.loss.f_backward()?;
        stats.loss += f64::try_from(output.loss.detach())?;
        clipped += output.clip_fraction * output.tokens;
        kl += output.kl * output.tokens;
        stats.forward_tokens += batch.real_tokens;
    }
    let step = optimizer.step();
    stats.sequences = selected.len();
    stats.trained_tokens = normalizer;
    stats.clip_fraction = clipped / normalizer.max(1) as f64;
    stats.kl = kl / normalizer.max(1) as f64;
    stats.grad_norm = step.grad_norm;
    stats.lr = step.lr;
    Ok(stats)
}

/// A right-padded micro-batch as tensors.
struct Batch {
    tokens: Tensor,
    attention: Tensor,
    /// `[B, T-1]`, aligned with `token_logprobs`.
    mask: Tensor,
    advantages: Tensor,
    real_tokens: usize,
}

fn pad_batch(sequences: &[&Sequence], pad_id: u32, device: tch::Device) -> Result<Batch, GrpoError> {
    let width = sequences.iter().map(|s| s.tokens.len()).max().unwrap_or(0);
    let rows = sequences.len();
    let mut tokens = vec![i64::from(pad_id); rows * width];
    let mut attention = vec![0i64; rows * width];
    let mut mask = vec![0f32; rows * width];
    for (row, sequence) in sequences.iter().enumerate() {
        if sequence.mask.len() != sequence.tokens.len() {
            return Err(GrpoError::Shape(format!(
                "{} tokens but {} mask entries",
                sequence.tokens.len(),
                sequence.mask.len()
            )));
        }
        let offset = row * width;
        for (i, (&token, &m)) in sequence.tokens.iter().zip(&sequence.mask).enumerate() {
            tokens[offset + i] = i64::from(token);
            attention[offset + i] = 1;
            mask[offset + i] = f32::from(m.min(1));
        }
    }
    let shape = [i64::try_from(rows).unwrap_or(i64::MAX), i64::try_from(width).unwrap_or(i64::MAX)];
    let advantages: Vec<f32> = sequences.iter().map(|s| s.advantage).collect();
    Ok(Batch {
        tokens: Tensor::from_slice(&tokens).view(shape).to_device(device),
        attention: Tensor::from_slice(&attention).view(shape).to_device(device),
        mask: shift_mask(&Tensor::from_slice(&mask).view(shape)).to_device(device),
        advantages: Tensor::from_slice(&advantages).to_device(device),
        real_tokens: sequences.iter().map(|s| s.tokens.len()).sum(),
    })
}
