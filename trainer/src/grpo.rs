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
        loss = loss + kl_sum * (config.kl_coef / normalizer);
    }
    Ok(LossOutput { loss, clip_fraction, kl, tokens })
}

/// The `[B, T-1]` mask aligned with `token_logprobs` from a `[B, T]` per-token mask (1 where
/// the policy generated the token): position `t` scores token `t + 1`.
pub fn shift_mask(token_mask: &Tensor) -> Tensor {
    let length = token_mask.size().last().copied().unwrap_or(0);
    token_mask.narrow(1, 1, (length - 1).max(0)).to_kind(Kind::Float)
}
