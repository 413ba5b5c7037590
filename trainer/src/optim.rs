//! AdamW over tch tensors, with its state as named tensors.
//!
//! tch's built-in optimizer keeps its moments inside libtorch where they cannot be
//! exported, so a checkpoint could not resume training exactly. This one keeps them as
//! plain tensors (`m.<param>`, `v.<param>`, plus the step count) that go to safetensors.
//! The learning rate warms up linearly and then stays constant; gradients are clipped by
//! their global norm. Gradient accumulation is libtorch's own: call `backward` on each
//! micro-batch's loss (already divided by the step's token count, see
//! [`crate::grpo::LossInputs::normalizer`]) and then [`AdamW::step`] once.

use std::collections::BTreeMap;

use tch::{Kind, Tensor, nn};

/// AdamW hyper-parameters and the schedule.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamWConfig {
    /// Learning rate after warm-up.
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    /// Decoupled weight decay, applied to matrices only (not to norms' gains).
    pub weight_decay: f64,
    /// Steps over which the lr rises linearly to `lr` (step 1 uses `lr / warmup`).
    pub warmup_steps: u64,
    /// Gradients are scaled down to this global L2 norm when above it (0: no clipping).
    pub max_grad_norm: f64,
}

impl Default for AdamWConfig {
    fn default() -> Self {
        Self {
            lr: 1e-6,
            beta1: 0.9,
            beta2: 0.95,
            eps: 1e-8,
            weight_decay: 0.1,
            warmup_steps: 5,
            max_grad_norm: 1.0,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OptimError {
    #[error("optimizer state has no tensor {0}")]
    Missing(String),
    #[error("optimizer state tensor {name} has shape {found:?}, the parameter {expected:?}")]
    Shape { name: String, expected: Vec<i64>, found: Vec<i64> },
    #[error(transparent)]
    Torch(#[from] tch::TchError),
}

/// What one optimizer step did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepStats {
    /// The step just taken (1-based).
    pub step: u64,
    pub lr: f64,
    /// Global gradient norm before clipping.
    pub grad_norm: f64,
}

struct Slot {
    name: String,
    param: Tensor,
    m: Tensor,
    v: Tensor,
    decay: bool,
}

/// AdamW over the trainable variables of a `VarStore`.
pub struct AdamW {
    config: AdamWConfig,
    slots: Vec<Slot>,
    step: u64,
}

impl AdamW {
    /// An optimizer over every trainable variable of `vs`, in name order.
    pub fn new(vs: &nn::VarStore, config: AdamWConfig) -> Self {
        let variables: BTreeMap<String, Tensor> = vs.variables().into_iter().collect();
        let slots = variables
            .into_iter()
            .filter(|(_, param)| param.requires_grad())
            .map(|(name, param)| Slot {
                m: param.zeros_like().to_kind(Kind::Float),
                v: param.zeros_like().to_kind(Kind::Float),
                decay: param.dim() >= 2,
                name,
                param,
            })
            .collect();
        Self { config, slots, step: 0 }
    }

    pub fn config(&self) -> &AdamWConfig {
        &self.config
    }

    /// Optimizer steps taken so far.
    pub fn steps(&self) -> u64 {
        self.step
    }

    /// The learning rate of (1-based) step `step`: linear warm-up, then constant.
    pub fn lr_at(&self, step: u64) -> f64 {
        let warmup = self.config.warmup_steps;
        if warmup == 0 || step >= warmup {
            self.config.lr
        } else {
            self.config.lr * step as f64 / warmup as f64
        }
    }

    /// Clear every parameter's gradient (before a step's first micro-batch).
    pub fn zero_grad(&mut self) {
        for slot in &mut self.slots {
            let mut grad = slot.param.grad();
            if grad.defined() {
                let _ = grad.detach_().zero_();
            }
        }
    }

    /// The global L2 norm of all gradients.
    pub fn grad_norm(&self) -> f64 {
        tch::no_grad(|| {
            let squares: f64 = self
                .slots
                .iter()
                .map(|slot| slot.param.grad())
                .filter(Tensor::defined)
                .map(|grad| grad.to_kind(Kind::Double).square().sum(Kind::Double).double_value(&[]))
                .sum();
            squares.sqrt()
        })
    }

    /// One AdamW update from the accumulated gradients: clip them to the global norm,
    /// update the moments, decay matrices (decoupled), move the parameters.
    pub fn step(&mut self) -> StepStats {
        let grad_norm = self.grad_norm();
        self.step += 1;
        let lr = self.lr_at(self.step);
        let AdamWConfig { beta1, beta2, eps, weight_decay, max_grad_norm, .. } = self.config;
        let scale = if max_grad_norm > 0.0 && grad_norm > max_grad_norm {
            max_grad_norm / (grad_norm + 1e-6)
        } else {
            1.0
        };
        let correction1 = 1.0 - beta1.powf(self.step as f64);
        let correction2 = 1.0 - beta2.powf(self.step as f64);
        tch::no_grad(|| {
            for slot in &mut self.slots {
                let grad = slot.param.grad();
                if !grad.defined() {
                    continue;
                }
                let grad = grad.to_kind(Kind::Float) * scale;
                slot.m *= beta1;
                slot.m += &grad * (1.0 - beta1);
                slot.v *= beta2;
                slot.v += grad.square() * (1.0 - beta2);
                let m_hat = &slot.m / correction1;
                let v_hat = &slot.v / correction2;
                let update = m_hat / (v_hat.sqrt() + eps);
                if slot.decay && weight_decay != 0.0 {
                    slot.param *= 1.0 - lr * weight_decay;
                }
                let update = (update * lr).to_kind(slot.param.kind());
                slot.param -= update;
            }
        });
        StepStats { step: self.step, lr, grad_norm }
    }

    /// The state as named tensors: `m.<param>`, `v.<param>` and `step` (a 1-element i64).
    pub fn state(&self) -> Vec<(String, Tensor)> {
        let mut state = Vec::with_capacity(2 * self.slots.len() + 1);
        for slot in &self.slots {
            state.push((format!("m.{}", slot.name), slot.m.shallow_clone()));
            state.push((format!("v.{}", slot.name), slot.v.shallow_clone()));
        }
        let step = i64::try_from(self.step).unwrap_or(i64::MAX);
        state.push(("step".to_owned(), Tensor::from_slice(&[step])));
        state
    }

    /// Restore a state written by [`AdamW::state`] for the same parameters.
    pub fn load_state(&mut self, state: Vec<(String, Tensor)>) -> Result<(), OptimError> {
        let mut state: BTreeMap<String, Tensor> = state.into_iter().collect();
        let step = state.remove("step").ok_or_else(|| OptimError::Missing("step".into()))?;
        for slot in &mut self.slots {
            for (prefix, target) in [("m", &mut slot.m), ("v", &mut slot.v)] {
                let name = format!("{prefix}.{}", slot.name);
                let tensor = state.remove(&name).ok_or_else(|| OptimError::Missing(name.clone()))?;
                if tensor.size() != target.size() {
                    return Err(OptimError::Shape { name, expected: target.size(), found: tensor.size() });
                }
                *target = tensor.to_kind(Kind::Float).to_device(target.device());
            }
        }
        self.step = u64::try_from(step.f_int64_value(&[0])?).unwrap_or(0);
        Ok(())
    }
}
