//! Multi-turn episodes played by the policy in-process, batched across episodes.
//!
//! Each task is played `G` times (a GRPO group). Every turn, the prompts of all live
//! episodes go to the model in one batch; each reply is parsed with core's parser in the
//! episode's [`ActionFormat`] and stepped in its codegym-host [`Episode`]; the observation
//! joins the conversation as the next message, rendered exactly as `codegym eval` renders it
//! (`render_prompt`, `render_observation`). An episode ends when the environment says done,
//! at the turn limit, or before a turn that would not fit the context budget.
//!
//! The training sequence is kept token by token: what the model generated stays as it was
//! sampled (mask 1) and everything else — the prompt, the chat template's framing, the
//! observations — is appended as the suffix by which the re-rendered conversation extends
//! what the sequence already holds (mask 0). So the tokens trained on are exactly those the
//! policy sampled, in the context it sampled them in.

use std::time::{Duration, Instant};

use codegym_core::{ActionFormat, ChatMessage, Role, parse_action, render_observation, render_prompt};
use codegym_host::{Env, Episode, Outcome};
use rand::SeedableRng;
use rand_pcg::Pcg64;
use serde::{Deserialize, Serialize};

use crate::generate::{SamplingParams, generate};
use crate::model::Llama;
use crate::tokenizer::{Tokenizer, TokenizerError};

/// How episodes are played.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RolloutConfig {
    /// How the model writes tool calls (Hermes `<tool_call>` suits SmolLM2 and Qwen).
    pub format: ActionFormat,
    /// Assistant turns per episode (parse-error turns count).
    pub max_turns: u32,
    /// Tokens sampled per turn.
    pub max_new_tokens: usize,
    /// An episode stops before a turn whose prompt plus `max_new_tokens` exceeds this.
    pub context_budget: usize,
    pub temperature: f64,
    pub top_p: f64,
    /// Text the assistant's turn is forced to start with (prompt side, not trained), and
    /// text appended after what the model generated, before the reply is parsed. Empty by
    /// default; a scaffold such as `<tool_call>{"name": "Done", "arguments": {"answer": `
    /// / `}}</tool_call>` lets a tiny model learn to fill in only the answer.
    pub reply_prefix: String,
    pub reply_suffix: String,
}

impl Default for RolloutConfig {
    fn default() -> Self {
        Self {
            format: ActionFormat::Hermes,
            max_turns: 8,
            max_new_tokens: 128,
            context_budget: 2048,
            temperature: 1.0,
            top_p: 1.0,
            reply_prefix: String::new(),
            reply_suffix: String::new(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RolloutError {
    #[error("{env} seed {seed}: {source}")]
    Start { env: String, seed: u64, source: codegym_host::Error },
    #[error(transparent)]
    Template(#[from] TokenizerError),
}

/// One task: an environment, a seed and a difficulty.
#[derive(Clone)]
pub struct Task {
    pub env: Env,
    pub seed: u64,
    pub difficulty: u32,
}

/// Why an episode stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stop {
    /// The environment ended it (`Done`, or one of its limits).
    Ended,
    MaxTurns,
    ContextBudget,
}

/// A finished episode: its training sequence and what happened.
#[derive(Clone, Debug)]
pub struct EpisodeRecord {
    pub env: String,
    pub seed: u64,
    /// The task's index in the batch (its GRPO group).
    pub task: usize,
    /// The whole conversation as the model saw and wrote it.
    pub tokens: Vec<u32>,
    /// 1 where the model generated the token, 0 for prompt, framing and observations.
    pub mask: Vec<u8>,
    pub reward: f32,
    pub outcome: Option<Outcome>,
    pub stop: Stop,
    pub turns: u32,
    /// Calls the environment received.
    pub tool_calls: u32,
    pub parse_errors: u32,
    /// Tokens the model generated (the 1s of `mask`).
    pub response_tokens: usize,
    pub messages: Vec<ChatMessage>,
}

impl EpisodeRecord {
    pub fn solved(&self) -> bool {
        self.outcome.is_some_and(|outcome| outcome.is_solved())
    }
}

/// The episodes of a batch (task-major: the `G` samples of task 0, then task 1, ...) and
/// where the time went.
#[derive(Debug, Default)]
pub struct RolloutBatch {
    pub episodes: Vec<EpisodeRecord>,
    pub generated_tokens: usize,
    pub generation_time: Duration,
    /// Starting and stepping episodes (inside the wasm sandbox).
    pub env_time: Duration,
    pub total_time: Duration,
}

/// An episode being played.
struct Live {
    task: usize,
    seed: u64,
    episode: Episode,
    messages: Vec<ChatMessage>,
    tokens: Vec<u32>,
    mask: Vec<u8>,
    /// The text `tokens` stand for, to find the suffix a re-rendered conversation adds.
    text: String,
    turns: u32,
    parse_errors: u32,
    response_tokens: usize,
    stop: Option<Stop>,
}

/// Play every task `group_size` times with `model`. `seed` fixes the sampling.
pub fn rollout(
    model: &Llama,
    tokenizer: &Tokenizer,
    tasks: &[Task],
    group_size: usize,
    config: &RolloutConfig,
    seed: u64,
) -> Result<RolloutBatch, RolloutError> {
    let started = Instant::now();
    let mut batch = RolloutBatch::default();
    let mut live = Vec::with_capacity(tasks.len() * group_size);
    for (index, task) in tasks.iter().enumerate() {
        let env_started = Instant::now();
        let start_error =
            |source| RolloutError::Start { env: task.env.name().to_owned(), seed: task.seed, source };
        let env_config = task.env.sample_config(task.seed, task.difficulty).map_err(start_error)?;
        let mut episodes = Vec::with_capacity(group_size);
        for _ in 0..group_size {
            episodes.push(task.env.start(&env_config).map_err(start_error)?);
        }
        batch.env_time += env_started.elapsed();
        for episode in episodes {
            let prompt = render_prompt(task.env.info(), episode.task(), config.format);
            let messages: Vec<ChatMessage> = prompt.messages.into_iter().map(ChatMessage::from).collect();
            let text = tokenizer.render_chat(&messages, true)? + &config.reply_prefix;
            let tokens = tokenizer.encode(&text);
            live.push(Live {
                task: index,
                seed: task.seed,
                episode,
                messages,
                mask: vec![0; tokens.len()],
                tokens,
                text,
                turns: 0,
                parse_errors: 0,
                response_tokens: 0,
                stop: None,
            });
        }
    }
    let sampling = SamplingParams {
        temperature: config.temperature,
        top_p: config.top_p,
        max_tokens: config.max_new_tokens,
        stop: Vec::new(),
    };
    let mut rng = Pcg64::seed_from_u64(seed);
    loop {
        for episode in live.iter_mut().filter(|e| e.stop.is_none()) {
            episode.stop = if episode.episode.is_done() {
                Some(Stop::Ended)
            } else if episode.turns >= config.max_turns {
                Some(Stop::MaxTurns)
            } else if episode.tokens.len() + config.max_new_tokens > config.context_budget {
                Some(Stop::ContextBudget)
            } else {
                None
            };
        }
        let playing: Vec<usize> = (0..live.len()).filter(|&i| live[i].stop.is_none()).collect();
        if playing.is_empty() {
            break;
        }
        let prompts: Vec<Vec<u32>> = playing.iter().map(|&i| live[i].tokens.clone()).collect();
        let generation_started = Instant::now();
        let generations = generate(model, tokenizer, &prompts, &sampling, &mut rng);
        batch.generation_time += generation_started.elapsed();
        for (&index, generation) in playing.iter().zip(generations) {
            let episode = &mut live[index];
            batch.generated_tokens += generation.tokens.len();
            episode.turns += 1;
            episode.response_tokens += generation.tokens.len();
            episode.text += &tokenizer.decode(&generation.tokens);
            episode.tokens.extend_from_slice(&generation.tokens);
            episode.mask.resize(episode.tokens.len(), 1);
            if !config.reply_suffix.is_empty() {
                let suffix = tokenizer.encode(&config.reply_suffix);
                episode.text += &config.reply_suffix;
                episode.tokens.extend_from_slice(&suffix);
                episode.mask.resize(episode.tokens.len(), 0);
            }
            // The reply's text without the end-of-turn token: the chat template adds its own.
            let mut content = generation.tokens.as_slice();
            while let Some((last, rest)) = content.split_last()
                && tokenizer.eos_ids().contains(last)
            {
                content = rest;
            }
            let content = tokenizer.decode(content);
            let reply = format!("{}{content}{}", config.reply_prefix, config.reply_suffix);
            let observation = match parse_action(&reply, config.format) {
                Ok(call) => {
                    let env_started = Instant::now();
                    let result = episode.episode.step(&call);
                    batch.env_time += env_started.elapsed();
                    result.observation
                }
                Err(error) => {
                    episode.parse_errors += 1;
                    error.to_observation()
                }
            };
            episode.messages.push(ChatMessage::new(Role::Assistant, reply));
            let message = match config.format {
                ActionFormat::OpenAiTools => ChatMessage::new(Role::User, observation),
                ActionFormat::CodeGym | ActionFormat::Hermes => {
                    render_observation(&observation, config.format).into()
                }
            };
            episode.messages.push(message);
            if episode.episode.is_done() {
                continue;
            }
            // Render the conversation again and append only what it adds.
            let text = tokenizer.render_chat(&episode.messages, true)? + &config.reply_prefix;
            let common = common_prefix(&episode.text, &text);
            let suffix = &text[common..];
            episode.tokens.extend(tokenizer.encode(suffix));
            episode.mask.resize(episode.tokens.len(), 0);
            episode.text.truncate(common);
            episode.text += suffix;
        }
    }
    batch.episodes = live
        .into_iter()
        .map(|episode| EpisodeRecord {
            env: episode.episode.env().name().to_owned(),
            seed: episode.seed,
            task: episode.task,
            reward: episode.episode.reward(),
            outcome: episode.episode.outcome(),
            stop: episode.stop.unwrap_or(Stop::Ended),
            turns: episode.turns,
            tool_calls: episode.episode.steps(),
            parse_errors: episode.parse_errors,
            response_tokens: episode.response_tokens,
            tokens: episode.tokens,
            mask: episode.mask,
            messages: episode.messages,
        })
        .collect();
    batch.total_time = started.elapsed();
    Ok(batch)
}

/// Length in bytes of the longest common prefix of `a` and `b`, on a char boundary.
fn common_prefix(a: &str, b: &str) -> usize {
    a.char_indices()
        .zip(b.chars())
        .find(|((_, x), y)| x != y)
        .map_or(a.len().min(b.len()), |((index, _), _)| index)
}

#[cfg(test)]
mod tests {
    use super::common_prefix;

    #[test]
    fn common_prefix_stops_on_a_char_boundary() {
        assert_eq!(common_prefix("abc", "abd"), 2);
        assert_eq!(common_prefix("ab", "abcd"), 2);
        assert_eq!(common_prefix("abcd", "ab"), 2);
        assert_eq!(common_prefix("aé", "aè"), 1);
        assert_eq!(common_prefix("", "x"), 0);
    }
}
