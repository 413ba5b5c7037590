//! Rollouts: real echo-number components in codegym-host, played by a tiny random llama
//! (and once by the real SmolLM2), checking the token sequences and masks the loss sees.

use std::path::PathBuf;

use codegym_core::Role;
use codegym_host::Env;
use codegym_trainer::checkpoint::write_tiny_model;
use codegym_trainer::rollout::{EpisodeRecord, RolloutConfig, Stop, Task, rollout};
use codegym_trainer::train::open_envs;
use codegym_trainer::weights::{self, Loaded};
use tch::Device;

/// Components built by `cargo xtask build-envs`.
pub fn test_envs() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/test-envs")
}

pub fn echo_number() -> Env {
    let mut envs = open_envs(&test_envs(), &["echo-number".to_owned()]).unwrap_or_else(|e| {
        panic!("echo-number from {}: {e} (run cargo xtask build-envs)", test_envs().display())
    });
    envs.remove(0)
}

/// A tiny random llama written to and loaded from a fresh directory.
pub fn tiny_model(seed: u64) -> (tempfile::TempDir, Loaded) {
    crate::init_threads();
    let dir = tempfile::tempdir().expect("tempdir");
    write_tiny_model(dir.path(), seed).expect("tiny model");
    let loaded = weights::load(dir.path(), Device::Cpu).expect("load tiny model");
    (dir, loaded)
}

/// The scaffold of `trainer/configs/echo-tiny.toml`: the model writes only the answer.
pub fn scaffold() -> RolloutConfig {
    RolloutConfig {
        max_turns: 2,
        max_new_tokens: 1,
        context_budget: 512,
        reply_prefix: "<tool_call>\n{\"name\": \"Done\", \"arguments\": {\"answer\": ".into(),
        reply_suffix: "}}\n</tool_call>".into(),
        ..RolloutConfig::default()
    }
}

fn tasks(env: &Env, seeds: &[u64]) -> Vec<Task> {
    seeds.iter().map(|&seed| Task { env: env.clone(), seed, difficulty: 0 }).collect()
}

/// Runs of consecutive 1s in a mask.
fn generated_runs(episode: &EpisodeRecord) -> Vec<std::ops::Range<usize>> {
    let mut runs = Vec::new();
    let mut start = None;
    for (i, &m) in episode.mask.iter().chain([&0]).enumerate() {
        match (m, start) {
            (1, None) => start = Some(i),
            (0, Some(s)) => {
                runs.push(s..i);
                start = None;
            }
            _ => {}
        }
    }
    runs
}

#[test]
fn multi_turn_sequences_mask_exactly_the_generated_tokens() {
    let (_dir, policy) = tiny_model(5);
    let env = echo_number();
    // No scaffold: a random 15-token model writes no tool call, so every turn is a parse
    // error whose observation joins the conversation, until the turn limit.
    let config =
        RolloutConfig { max_turns: 3, max_new_tokens: 4, context_budget: 1024, ..RolloutConfig::default() };
    let batch = rollout(&policy.model, &policy.tokenizer, &tasks(&env, &[11, 12]), 3, &config, 7).unwrap();
    assert_eq!(batch.episodes.len(), 6);
    let tokenizer = &policy.tokenizer;
    for (i, episode) in batch.episodes.iter().enumerate() {
        assert_eq!((episode.task, episode.seed), (i / 3, 11 + (i / 3) as u64), "task-major groups");
        assert_eq!((episode.turns, episode.parse_errors, episode.tool_calls), (3, 3, 0));
        assert_eq!((episode.stop, episode.reward, episode.outcome), (Stop::MaxTurns, 0.0, None));
        assert_eq!(episode.tokens.len(), episode.mask.len());
        let ones = episode.mask.iter().filter(|&&m| m == 1).count();
        assert_eq!(ones, episode.response_tokens);
        // Each turn's tokens are one run, separated by the observation's (masked) tokens.
        let runs = generated_runs(episode);
        assert_eq!(runs.len(), 3, "{:?}", episode.mask);
        assert!(runs.iter().all(|r| (1..=4).contains(&r.len())));
        // The sequence starts with the rendered prompt, token for token.
        let prompt = tokenizer.render_chat(&episode.messages[..2], true).unwrap();
        let prompt_tokens = tokenizer.encode(&prompt);
        assert_eq!(&episode.tokens[..runs[0].start], prompt_tokens.as_slice());
        // Between turns: the end of the reply, the observation as a user message, and the
        // next assistant header, none of it trained.
        let between = tokenizer.decode(&episode.tokens[runs[0].end..runs[1].start]);
        assert!(between.ends_with("<|im_start|><unk>\n"), "{between:?}");
        assert_eq!(between.matches("<|im_start|>").count(), 2, "{between:?}");
        assert_eq!(episode.messages.len(), 2 + 2 * 3);
        for turn in 0..3 {
            assert_eq!(episode.messages[2 + 2 * turn].role, Role::Assistant);
            let observation = episode.messages[3 + 2 * turn].text();
            assert!(observation.starts_with("<tool_response>\nError: no tool call found"), "{observation}");
        }
    }
    assert!(batch.generated_tokens == batch.episodes.iter().map(|e| e.response_tokens).sum::<usize>());
    assert!(batch.env_time <= batch.total_time && batch.generation_time <= batch.total_time);
}

#[test]
fn scaffolded_answers_are_scored_by_the_environment() {
    let (_dir, policy) = tiny_model(6);
    let env = echo_number();
    let seeds: Vec<u64> = (0..8).collect();
    let config = RolloutConfig { max_turns: 1, ..scaffold() };
    let batch = rollout(&policy.model, &policy.tokenizer, &tasks(&env, &seeds), 4, &config, 3).unwrap();
    let mut done = 0;
    for episode in &batch.episodes {
        let task = episode.messages[1].text();
        let number: u32 = task
            .strip_prefix("The number is ")
            .and_then(|rest| rest.split('.').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("task text {task:?}"));
        let reply = episode.messages[2].text();
        assert!(reply.starts_with("<tool_call>\n{\"name\": \"Done\", \"arguments\": {\"answer\": "));
        let answer =
            reply.trim_start_matches("<tool_call>\n{\"name\": \"Done\", \"arguments\": {\"answer\": ");
        let answer = answer.strip_suffix("}}\n</tool_call>").unwrap();
        // One sampled token per turn; a digit is a valid call that ends the episode.
        assert_eq!((episode.turns, episode.response_tokens), (1, 1));
        if let Ok(value) = answer.parse::<u32>() {
            done += 1;
            assert_eq!((episode.tool_calls, episode.stop), (1, Stop::Ended));
            assert_eq!(episode.reward, if value == number { 1.0 } else { 0.0 }, "{reply} for {number}");
            assert_eq!(episode.solved(), value == number);
        } else {
            assert_eq!((episode.parse_errors, episode.stop), (1, Stop::MaxTurns), "{answer:?}");
        }
    }
    assert!(done > 0, "no episode sampled a digit");
    // Same seed, same samples; another seed, other samples.
    let again = rollout(&policy.model, &policy.tokenizer, &tasks(&env, &seeds), 4, &config, 3).unwrap();
    let tokens = |b: &codegym_trainer::rollout::RolloutBatch| {
        b.episodes.iter().map(|e| e.tokens.clone()).collect::<Vec<_>>()
    };
    assert_eq!(tokens(&batch), tokens(&again));
    let other = rollout(&policy.model, &policy.tokenizer, &tasks(&env, &seeds), 4, &config, 4).unwrap();
    assert_ne!(tokens(&batch), tokens(&other));
}

#[test]
fn context_budget_stops_an_episode_before_generating() {
    let (_dir, policy) = tiny_model(7);
    let env = echo_number();
    let config =
        RolloutConfig { max_turns: 5, max_new_tokens: 8, context_budget: 20, ..RolloutConfig::default() };
    let batch = rollout(&policy.model, &policy.tokenizer, &tasks(&env, &[1]), 2, &config, 0).unwrap();
    for episode in &batch.episodes {
        assert_eq!((episode.stop, episode.turns, episode.response_tokens), (Stop::ContextBudget, 0, 0));
        assert!(episode.mask.iter().all(|&m| m == 0));
    }
}

#[test]
fn smollm2_plays_echo_number() {
    crate::init_threads();
    let policy = weights::load(&crate::smollm2_gguf(), Device::Cpu).expect("SmolLM2");
    let env = echo_number();
    let config =
        RolloutConfig { max_turns: 1, max_new_tokens: 40, temperature: 0.7, ..RolloutConfig::default() };
    let batch = rollout(&policy.model, &policy.tokenizer, &tasks(&env, &[3]), 2, &config, 1).unwrap();
    for episode in &batch.episodes {
        let runs = generated_runs(episode);
        assert_eq!(runs.len(), 1);
        // The real tokenizer round-trips: the prompt part is the rendered prompt, the
        // generated part is the reply (plus the end-of-turn token if the model ended it).
        let prompt = policy.tokenizer.render_chat(&episode.messages[..2], true).unwrap();
        assert_eq!(policy.tokenizer.decode(&episode.tokens[..runs[0].start]), prompt);
        let generated = policy.tokenizer.decode(&episode.tokens[runs[0].clone()]);
        let reply = episode.messages[2].text();
        assert!(
            generated == reply || generated == format!("{reply}<|im_end|>"),
            "{generated:?} vs {reply:?}"
        );
        assert!(episode.turns == 1 && episode.response_tokens <= 40);
    }
}
