//! AdamW: the update rule, the schedule, clipping, and its state as named tensors.

use codegym_trainer::grpo::{GrpoConfig, LossInputs, policy_loss, shift_mask};
use codegym_trainer::model::{Llama, LlamaConfig};
use codegym_trainer::optim::{AdamW, AdamWConfig};
use tch::{Device, Kind, Tensor, nn};

fn snapshot(vs: &nn::VarStore) -> Vec<(String, Tensor)> {
    let mut variables: Vec<(String, Tensor)> =
        vs.variables().into_iter().map(|(n, t)| (n, t.copy())).collect();
    variables.sort_by(|a, b| a.0.cmp(&b.0));
    variables
}

#[test]
fn one_step_matches_adamw_by_hand() {
    let vs = nn::VarStore::new(Device::Cpu);
    let w = vs.root().var_copy("w", &Tensor::from_slice(&[1.0f32, -2.0, 0.5, 3.0]).view([2, 2]));
    let b = vs.root().var_copy("b", &Tensor::from_slice(&[0.25f32, -0.25]));
    let config = AdamWConfig { lr: 0.1, warmup_steps: 0, max_grad_norm: 0.0, ..AdamWConfig::default() };
    let mut optimizer = AdamW::new(&vs, config);
    // d/dw sum(w * c) = c.
    let c = Tensor::from_slice(&[0.5f32, -1.0, 2.0, 0.0]).view([2, 2]);
    ((&w * &c).sum(Kind::Float) + (&b * 3.0).sum(Kind::Float)).backward();
    let stats = optimizer.step();
    assert_eq!((stats.step, stats.lr), (1, 0.1));
    // Step 1: m_hat = g, v_hat = g^2, update = g / (|g| + eps) = sign(g) (0 where g = 0).
    // Matrices decay by (1 - lr * wd) first; vectors do not.
    let expected_w = [1.0 * 0.99 - 0.1, -2.0 * 0.99 + 0.1, 0.5 * 0.99 - 0.1, 3.0 * 0.99];
    for (i, expected) in expected_w.iter().enumerate() {
        let got = w.view([-1]).double_value(&[i as i64]);
        assert!((got - expected).abs() < 1e-6, "w[{i}] = {got}, expected {expected}");
    }
    assert!((b.double_value(&[0]) - 0.15).abs() < 1e-6);
    assert!((b.double_value(&[1]) + 0.35).abs() < 1e-6);
    assert!((stats.grad_norm - (0.25f64 + 1.0 + 4.0 + 9.0 + 9.0).sqrt()).abs() < 1e-5);
}

#[test]
fn warm_up_is_linear_then_constant() {
    let vs = nn::VarStore::new(Device::Cpu);
    let optimizer = AdamW::new(&vs, AdamWConfig { lr: 1e-3, warmup_steps: 5, ..AdamWConfig::default() });
    let lrs: Vec<f64> = (1..=7).map(|step| optimizer.lr_at(step)).collect();
    let expected = [2e-4, 4e-4, 6e-4, 8e-4, 1e-3, 1e-3, 1e-3];
    for (lr, expected) in lrs.iter().zip(expected) {
        assert!((lr - expected).abs() < 1e-12, "{lrs:?}");
    }
}

#[test]
fn gradients_are_clipped_to_the_global_norm() {
    let vs = nn::VarStore::new(Device::Cpu);
    let w = vs.root().var_copy("w", &Tensor::from_slice(&[0.0f32, 0.0]));
    let config = AdamWConfig {
        lr: 1.0,
        warmup_steps: 0,
        max_grad_norm: 1.0,
        beta1: 0.0,
        beta2: 0.0,
        ..AdamWConfig::default()
    };
    let mut optimizer = AdamW::new(&vs, config);
    // Gradient (30, 40): norm 50, clipped to (0.6, 0.8). With beta1 = beta2 = 0 the update
    // is g / |g| either way, so check the norm the optimizer saw and the moments it kept.
    (&w * Tensor::from_slice(&[30.0f32, 40.0])).sum(Kind::Float).backward();
    let stats = optimizer.step();
    assert!((stats.grad_norm - 50.0).abs() < 1e-4);
    let state = optimizer.state();
    let m = &state.iter().find(|(name, _)| name == "m.w").unwrap().1;
    assert!((m.double_value(&[0]) - 0.6).abs() < 1e-4 && (m.double_value(&[1]) - 0.8).abs() < 1e-4);
}

#[test]
fn zero_advantages_leave_the_weights_unchanged() {
    // With weight decay 0: every gradient is exactly zero, so Adam's moments stay zero and
    // the update is 0 / (0 + eps). (Decoupled weight decay would still shrink the matrices,
    // which is why the trainer skips the optimizer step when no advantage is non-zero.)
    tch::manual_seed(3);
    let vs = nn::VarStore::new(Device::Cpu);
    let model = Llama::new(vs.root(), &LlamaConfig::tiny(32));
    let config = AdamWConfig { lr: 1e-2, weight_decay: 0.0, warmup_steps: 0, ..AdamWConfig::default() };
    let mut optimizer = AdamW::new(&vs, config);
    let before = snapshot(&vs);
    let tokens = Tensor::from_slice(&[1i64, 2, 3, 4, 5, 6, 7, 8]).view([2, 4]);
    let attention = Tensor::ones([2, 4], (Kind::Int64, Device::Cpu));
    let mask = shift_mask(&Tensor::from_slice(&[0f32, 1., 1., 1., 0., 0., 1., 1.]).view([2, 4]));
    let logprobs = model.token_logprobs(&tokens, &attention);
    let advantages = Tensor::zeros([2], (Kind::Float, Device::Cpu));
    let inputs = LossInputs {
        logprobs: &logprobs,
        old_logprobs: None,
        ref_logprobs: None,
        mask: &mask,
        advantages: &advantages,
        normalizer: 5.0,
    };
    let output = policy_loss(&GrpoConfig::default(), &inputs).unwrap();
    output.loss.backward();
    let stats = optimizer.step();
    assert_eq!(stats.grad_norm, 0.0);
    for ((name, old), (_, new)) in before.iter().zip(snapshot(&vs)) {
        assert!(old.equal(&new), "{name} changed");
    }
}

#[test]
fn state_round_trips_through_named_tensors() {
    let make = || {
        let vs = nn::VarStore::new(Device::Cpu);
        let w = vs.root().var_copy("w", &Tensor::from_slice(&[1.0f32, 2.0, 3.0]));
        (vs, w)
    };
    let config = AdamWConfig { lr: 0.01, warmup_steps: 3, ..AdamWConfig::default() };
    let (vs, w) = make();
    let mut optimizer = AdamW::new(&vs, config);
    for _ in 0..2 {
        optimizer.zero_grad();
        (&w * &w).sum(Kind::Float).backward();
        optimizer.step();
    }
    let state = optimizer.state();
    let (vs2, mut w2) = make();
    tch::no_grad(|| w2.copy_(&w));
    let mut restored = AdamW::new(&vs2, config);
    restored.load_state(state.iter().map(|(n, t)| (n.clone(), t.copy())).collect()).unwrap();
    assert_eq!(restored.steps(), 2);
    for (optimizer, w) in [(&mut optimizer, &w), (&mut restored, &w2)] {
        optimizer.zero_grad();
        (w * w).sum(Kind::Float).backward();
        optimizer.step();
    }
    assert!(w.equal(&w2));
    let mut wrong = state;
    wrong.retain(|(name, _)| name != "v.w");
    assert!(AdamW::new(&vs2, config).load_state(wrong).is_err());
}
