//! GRPO: advantages, masking, and the clipped loss's gradient against finite differences.

use codegym_trainer::grpo::{GrpoConfig, LossInputs, group_advantages, policy_loss, shift_mask};
use codegym_trainer::model::{Llama, LlamaConfig};
use tch::{Device, Kind, Tensor, nn};

#[test]
fn advantages_are_normalised_per_group() {
    let rewards = [1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 1.0];
    let advantages = group_advantages(&rewards, 4, 1e-6).unwrap();
    // Group 1: mean 0.5, std 0.5.
    for (a, expected) in advantages[..4].iter().zip([1.0, -1.0, -1.0, 1.0]) {
        assert!((a - expected).abs() < 1e-4, "{a} vs {expected}");
    }
    // Equal rewards say nothing: zeros, not NaN.
    assert_eq!(&advantages[4..8], &[0.0; 4]);
    // Group 3: mean 0.25, std sqrt(3)/4.
    let std = 3f32.sqrt() / 4.0;
    assert!((advantages[8] + 0.25 / std).abs() < 1e-4);
    assert!((advantages[11] - 0.75 / std).abs() < 1e-4);
    let sum: f32 = advantages[8..].iter().sum();
    assert!(sum.abs() < 1e-5);
    assert!(group_advantages(&rewards, 5, 1e-6).is_err());
    assert!(group_advantages(&rewards, 0, 1e-6).is_err());
}

/// Token log-probabilities from logits, as the model computes them, so that a test can
/// differentiate with respect to the logits themselves.
fn logprobs_from_logits(logits: &Tensor, tokens: &Tensor) -> Tensor {
    let t = tokens.size()[1];
    let logits = logits.narrow(1, 0, t - 1);
    let targets = tokens.narrow(1, 1, t - 1).unsqueeze(-1);
    logits.log_softmax(-1, Kind::Float).gather(-1, &targets, false).squeeze_dim(-1)
}

#[test]
fn masked_tokens_do_not_reach_the_gradient() {
    tch::manual_seed(1);
    let vs = nn::VarStore::new(Device::Cpu);
    let model = Llama::new(vs.root(), &LlamaConfig::tiny(32));
    let tokens =
        Tensor::from_slice(&[3i64, 5, 7, 9, 11, 13, 15, 17, 2, 4, 6, 8, 10, 12, 14, 16]).view([2, 8]);
    let attention = Tensor::ones([2, 8], (Kind::Int64, Device::Cpu));
    // Prompt (0..3), generated (3..5), observation (5..7), generated (7).
    let token_mask = Tensor::from_slice(&[0f32, 0., 0., 1., 1., 0., 0., 1.]).view([1, 8]).repeat([2, 1]);
    let mask = shift_mask(&token_mask);
    let advantages = Tensor::from_slice(&[1.0f32, -0.5]);
    let logits = model.forward(&tokens, &attention).detach().set_requires_grad(true);
    let old = logprobs_from_logits(&logits, &tokens).detach() + 0.1;
    let loss_of = |logits: &Tensor| {
        let logprobs = logprobs_from_logits(logits, &tokens);
        let inputs = LossInputs {
            logprobs: &logprobs,
            old_logprobs: Some(&old),
            ref_logprobs: None,
            mask: &mask,
            advantages: &advantages,
            normalizer: 6.0,
        };
        policy_loss(&GrpoConfig::default(), &inputs).unwrap()
    };
    let output = loss_of(&logits);
    assert_eq!(output.tokens, 6.0);
    output.loss.backward();
    let grad = logits.grad();
    // Logits at position t predict token t+1: positions 2, 3 and 6 predict generated tokens.
    for position in 0..7 {
        let norm = grad.narrow(1, position, 1).abs().sum(Kind::Float).double_value(&[]);
        if [2, 3, 6].contains(&position) {
            assert!(norm > 0.0, "a generated token's logits get no gradient at {position}");
        } else {
            assert_eq!(norm, 0.0, "a masked position's logits got gradient at {position}");
        }
    }
    // Changing the logits of an observation token changes neither the loss nor the gradient.
    let changed = tch::no_grad(|| {
        let changed = logits.detach().copy();
        let _ = changed.narrow(1, 4, 2).fill_(3.0);
        changed.set_requires_grad(true)
    });
    let changed_output = loss_of(&changed);
    assert_eq!(output.loss.double_value(&[]).to_bits(), changed_output.loss.double_value(&[]).to_bits());
    changed_output.loss.backward();
    assert!(changed.grad().equal(&grad));
}

#[test]
fn clipped_loss_gradient_matches_finite_differences() {
    tch::manual_seed(2);
    let mut vs = nn::VarStore::new(Device::Cpu);
    let model = Llama::new(vs.root(), &LlamaConfig::tiny(24));
    vs.double();
    let tokens = Tensor::from_slice(&[1i64, 4, 9, 16, 2, 3, 5, 7, 11, 13, 17, 19]).view([2, 6]);
    let attention = Tensor::ones([2, 6], (Kind::Int64, Device::Cpu));
    let mask = Tensor::from_slice(&[0.0, 1., 1., 0., 1., 0., 1., 1., 1., 1.]).view([2, 5]);
    let advantages = Tensor::from_slice(&[0.8f64, -1.2]);
    // Old log-probs away from the current ones, so that some ratios fall outside the clip
    // range and the clipped branch is exercised too.
    let current = tch::no_grad(|| model.token_logprobs(&tokens, &attention));
    let offsets =
        Tensor::from_slice(&[0.5f64, -0.05, 0.4, 0.1, -0.3, 0.02, -0.5, 0.15, 0.03, -0.1]).view([2, 5]);
    let old = current.to_kind(Kind::Double) + offsets;
    let config = GrpoConfig { clip: 0.2, kl_coef: 0.05, adv_eps: 1e-6 };
    let reference = current.to_kind(Kind::Double) - 0.2;
    let loss = || {
        let logprobs = model.token_logprobs(&tokens, &attention).to_kind(Kind::Double);
        let inputs = LossInputs {
            logprobs: &logprobs,
            old_logprobs: Some(&old),
            ref_logprobs: Some(&reference),
            mask: &mask,
            advantages: &advantages,
            normalizer: 7.0,
        };
        let output = policy_loss(&config, &inputs).unwrap();
        (output.loss, output.clip_fraction)
    };
    let (value, clip_fraction) = loss();
    assert!(clip_fraction > 0.0 && clip_fraction < 1.0, "clip fraction {clip_fraction}");
    value.backward();
    let variables = vs.variables();
    let mut checked = 0;
    for name in
        ["model.layers.0.self_attn.q_proj.weight", "model.layers.1.mlp.down_proj.weight", "model.norm.weight"]
    {
        let param = &variables[name];
        let grad = param.grad().view([-1]);
        let flat = param.view([-1]);
        for index in [0i64, 7, 33] {
            // The model's logits are f32 whatever its parameters are, hence a wide step and
            // a tolerance of a few percent.
            let h = 3e-3;
            let original = flat.double_value(&[index]);
            let eval = |x: f64| {
                tch::no_grad(|| {
                    let _ = flat.get(index).fill_(x);
                    loss().0.double_value(&[])
                })
            };
            let numeric = (eval(original + h) - eval(original - h)) / (2.0 * h);
            tch::no_grad(|| {
                let _ = flat.get(index).fill_(original);
            });
            let analytic = grad.double_value(&[index]);
            assert!(
                (numeric - analytic).abs() <= 2e-5 + 3e-2 * analytic.abs(),
                "{name}[{index}]: finite differences {numeric}, autograd {analytic}"
            );
            checked += usize::from(analytic != 0.0);
        }
    }
    assert!(checked >= 6, "too few non-zero gradients checked: {checked}");
}
