//! The `codegym-train` binary: tiny-model, train (and --resume), eval.

use std::path::Path;
use std::process::{Command, Output};

use crate::rollout::test_envs;

fn codegym_train(args: &[&str]) -> Output {
    let output = Command::new(env!("CARGO_BIN_EXE_codegym-train"))
        .args(args)
        .arg("--device")
        .arg("cpu")
        .output()
        .expect("run codegym-train");
    assert!(
        output.status.success(),
        "codegym-train {args:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A 4-step run of `configs/echo-tiny.toml` in `dir`.
fn write_config(dir: &Path) -> std::path::PathBuf {
    let shipped =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/echo-tiny.toml"))
            .unwrap();
    let mut config: toml::Table = toml::from_str(&shipped).unwrap();
    config.insert("model".into(), dir.join("model").display().to_string().into());
    config.insert("output".into(), dir.join("run").display().to_string().into());
    let envs = config.get_mut("envs").and_then(|e| e.as_table_mut()).unwrap();
    envs.insert("dir".into(), test_envs().display().to_string().into());
    let train = config.get_mut("train").and_then(|t| t.as_table_mut()).unwrap();
    train.insert("steps".into(), 4.into());
    train.insert("checkpoint_every".into(), 2.into());
    let path = dir.join("run.toml");
    std::fs::write(&path, toml::to_string(&config).unwrap()).unwrap();
    path
}

#[test]
fn tiny_model_train_resume_and_eval() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("model");
    codegym_train(&["tiny-model", "--out", model.to_str().unwrap()]);
    let config = write_config(dir.path());
    let config = config.to_str().unwrap();

    let run = stdout(&codegym_train(&["train", "--config", config]));
    for step in 1..=4 {
        assert!(run.contains(&format!("step {step:>4}  reward ")), "{run}");
    }
    assert!(run.contains("mean reward: first quarter"), "{run}");
    let metrics = std::fs::read_to_string(dir.path().join("run/metrics.jsonl")).unwrap();
    let step4: serde_json::Value = serde_json::from_str(metrics.lines().nth(3).unwrap()).unwrap();

    // Resume from step 2 and run to 4 again: the same step 4, and the files hold 4 steps.
    let checkpoint = dir.path().join("run/checkpoints/step-000002");
    let resumed =
        stdout(&codegym_train(&["train", "--config", config, "--resume", checkpoint.to_str().unwrap()]));
    assert!(!resumed.contains("step    1 ") && resumed.contains("step    3 "), "{resumed}");
    let metrics = std::fs::read_to_string(dir.path().join("run/metrics.jsonl")).unwrap();
    assert_eq!(metrics.lines().count(), 4);
    let again: serde_json::Value = serde_json::from_str(metrics.lines().nth(3).unwrap()).unwrap();
    for key in ["mean_reward", "loss", "grad_norm", "trained_tokens"] {
        assert_eq!(again[key], step4[key], "{key}");
    }

    let final_checkpoint = dir.path().join("run/checkpoints/step-000004");
    let eval = codegym_train(&[
        "eval",
        "--model",
        final_checkpoint.to_str().unwrap(),
        "--envs",
        "echo-number",
        "--env-dir",
        test_envs().to_str().unwrap(),
        "--config",
        config,
        "--seeds",
        "0..12",
        "--json",
    ]);
    let report: serde_json::Value = serde_json::from_slice(&eval.stdout).unwrap();
    assert_eq!(report["episodes"], 12);
    let solved = report["solved"].as_u64().unwrap();
    assert_eq!(report["pass_rate"].as_f64().unwrap(), 100.0 * solved as f64 / 12.0);
}

#[test]
fn help_explains_the_commands() {
    let help = stdout(&codegym_train(&["--help"]));
    for command in ["train", "eval", "serve", "tiny-model", "convert"] {
        assert!(help.contains(command), "{help}");
    }
    let train = stdout(&codegym_train(&["train", "--help"]));
    assert!(train.contains("--resume") && train.contains("metrics.jsonl"), "{train}");
}

#[test]
fn convert_writes_the_gguf_as_a_directory_that_loads_with_the_same_logits() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("smollm2");
    let gguf = crate::smollm2_gguf();
    let converted =
        codegym_train(&["convert", "--model", gguf.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert!(stdout(&converted).contains("134515008 parameters"), "{}", stdout(&converted));
    for file in ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"] {
        assert!(out.join(file).is_file(), "{file} missing");
    }
    let device = tch::Device::Cpu;
    let original = codegym_trainer::weights::load(&gguf, device).unwrap();
    let reloaded = codegym_trainer::weights::load(&out, device).unwrap();
    let text = "<|im_start|>user\nHello<|im_end|>\n";
    assert_eq!(original.tokenizer.encode(text), reloaded.tokenizer.encode(text));
    let ids: Vec<i64> = original.tokenizer.encode(text).into_iter().map(i64::from).collect();
    let tokens = tch::Tensor::from_slice(&ids).view([1, -1]);
    let logits = |loaded: &codegym_trainer::weights::Loaded| {
        tch::no_grad(|| loaded.model.forward(&tokens, &tokens.ones_like()))
    };
    assert!(logits(&original).equal(&logits(&reloaded)), "the converted model's logits differ");

    // Not a model: a clear error, no directory.
    let bad = Command::new(env!("CARGO_BIN_EXE_codegym-train"))
        .args(["--device", "cpu", "convert", "--model", "Cargo.toml", "--out"])
        .arg(dir.path().join("bad"))
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("loading Cargo.toml"));
    assert!(!dir.path().join("bad").exists());
}
