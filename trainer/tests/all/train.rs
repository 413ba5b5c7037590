//! The training loop end to end on CPU: a fixed-seed GRPO run that learns, checkpoints that
//! resume exactly, the files a run writes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use codegym_trainer::checkpoint::{self, checkpoint_dir, write_tiny_model};
use codegym_trainer::config::TrainConfig;
use codegym_trainer::metrics::quarter_means;
use codegym_trainer::train::Trainer;
use codegym_trainer::weights;
use tch::{Device, Tensor};

use crate::rollout::test_envs;

/// `trainer/configs/echo-tiny.toml` (the shipped learning-signal config) with a fresh tiny
/// model and output directory under `dir`.
fn echo_tiny(dir: &Path) -> TrainConfig {
    crate::init_threads();
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("configs/echo-tiny.toml");
    let mut config = TrainConfig::load(&path).expect("configs/echo-tiny.toml");
    config.model = dir.join("model");
    config.output = dir.join("run");
    config.envs.dir = test_envs();
    write_tiny_model(&config.model, 0).expect("tiny model");
    config
}

fn weights_of(dir: &Path) -> BTreeMap<String, Tensor> {
    weights::load(dir, Device::Cpu).expect("checkpoint").vs.variables().into_iter().collect()
}

#[test]
fn grpo_raises_the_reward_on_echo_number() {
    let dir = tempfile::tempdir().unwrap();
    let config = echo_tiny(dir.path());
    let steps = config.train.steps;
    let mut trainer = Trainer::new(config.clone(), None, Device::Cpu).unwrap();
    let history = trainer.run(&mut |m| eprintln!("{}", m.summary())).unwrap();
    assert_eq!(history.len() as u64, steps);
    let (first, last) = quarter_means(&history);
    eprintln!("mean reward: first quarter {first:.3}, last quarter {last:.3}");
    // A random policy over 15 tokens answers right about 1 time in 15; the trained one
    // learns to copy the number from its prompt.
    assert!(last > first + 0.3 && last > 0.6, "first quarter {first:.3}, last quarter {last:.3}");
    // What the run leaves behind.
    let out = &config.output;
    let jsonl = std::fs::read_to_string(out.join("metrics.jsonl")).unwrap();
    assert_eq!(jsonl.lines().count() as u64, steps);
    let csv = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    assert_eq!(csv.lines().count() as u64, steps + 1);
    assert!(csv.starts_with("step,episodes,mean_reward,pass_rate,"));
    let png = std::fs::read(out.join("curve.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 1000);
    for step in [50, steps] {
        let checkpoint = checkpoint_dir(out, step);
        assert!(checkpoint.join("model.safetensors").is_file());
        assert!(checkpoint.join(checkpoint::OPTIMIZER_FILE).is_file());
        assert_eq!(checkpoint::load_state(&checkpoint).unwrap().step, step);
    }
}

#[test]
fn a_resumed_run_takes_the_same_next_step() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = echo_tiny(dir.path());
    // Past warm-up, so the optimizer's moments matter for the next step.
    config.train.steps = 7;
    config.train.checkpoint_every = 6;
    let mut trainer = Trainer::new(config.clone(), None, Device::Cpu).unwrap();
    let history = trainer.run(&mut |_| {}).unwrap();
    let uninterrupted = weights_of(&checkpoint_dir(&config.output, 7));

    let mut resumed =
        Trainer::new(config.clone(), Some(&checkpoint_dir(&config.output, 6)), Device::Cpu).unwrap();
    assert_eq!(resumed.step_count(), 6);
    let step = resumed.train_step().unwrap();
    let expected = &history[6];
    assert_eq!(step.step, 7);
    assert!(!step.skipped, "step 7 had no learning signal; pick another seed");
    assert_eq!(
        (step.mean_reward, step.loss.to_bits(), step.grad_norm.to_bits(), step.trained_tokens),
        (
            expected.mean_reward,
            expected.loss.to_bits(),
            expected.grad_norm.to_bits(),
            expected.trained_tokens
        )
    );
    for (name, tensor) in resumed.policy().vs.variables() {
        assert!(tensor.equal(&uninterrupted[&name]), "{name} differs after the resumed step");
    }

    // Without the optimizer state the same step moves the weights differently.
    let fresh_dir = dir.path().join("no-optimizer");
    let source = checkpoint_dir(&config.output, 6);
    std::fs::create_dir_all(&fresh_dir).unwrap();
    for entry in std::fs::read_dir(&source).unwrap().flatten() {
        if entry.path().is_file() {
            std::fs::copy(entry.path(), fresh_dir.join(entry.file_name())).unwrap();
        }
    }
    let mut restarted = TrainConfig { model: fresh_dir, ..config };
    restarted.train.first_train_seed += 6 * restarted.train.tasks_per_step as u64;
    let mut trainer = Trainer::new(restarted, None, Device::Cpu).unwrap();
    trainer.train_step().unwrap();
    let differs = trainer.policy().vs.variables().iter().any(|(name, t)| !t.equal(&uninterrupted[name]));
    assert!(differs, "optimizer state made no difference");
}

#[test]
fn the_kl_term_measures_the_drift_from_the_initial_policy() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = echo_tiny(dir.path());
    config.train.steps = 8;
    config.train.kl_coef = 0.1;
    config.train.checkpoint_every = 0;
    let mut trainer = Trainer::new(config, None, Device::Cpu).unwrap();
    let history = trainer.run(&mut |_| {}).unwrap();
    // Every sequence is trained when the KL term is on (it has a gradient even at zero
    // advantage), and the first step's policy is the reference itself: k3 is exactly 0.
    assert_eq!(history[0].trained_sequences, history[0].episodes);
    assert_eq!(history[0].kl, 0.0);
    // Once the weights have moved, the estimate is positive.
    assert!(
        history[1..].iter().all(|m| m.kl > 0.0 && m.kl.is_finite()),
        "{:?}",
        history.iter().map(|m| m.kl).collect::<Vec<_>>()
    );
}

#[test]
fn every_shipped_config_is_valid() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("configs");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "toml") {
            let config = TrainConfig::load(&path).unwrap_or_else(|e| panic!("{e}"));
            // Every environment named is built where the config looks for it.
            let envs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join(&config.envs.dir);
            codegym_trainer::train::open_envs(&envs, &config.envs.names)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            checked += 1;
        }
    }
    assert!(checked >= 3);
    let bad =
        TrainConfig { envs: Default::default(), ..TrainConfig::load(&dir.join("echo-tiny.toml")).unwrap() };
    assert!(bad.validate().is_err(), "no environment named");
}
