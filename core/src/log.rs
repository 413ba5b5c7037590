use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

use crate::{ActionFormat, ChatMessage, Outcome, ToolCall};

/// Everything needed to rebuild an episode's state: environments are deterministic and
/// import nothing, so replaying `config` then `calls` into a fresh instance reproduces the
/// state bit for bit. Calls that faulted were rolled back and are not in the log.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionLog {
    pub config: String,
    pub calls: Vec<ToolCall>,
}

impl ActionLog {
    /// An empty log for an episode started from `config`.
    pub fn new(config: impl Into<String>) -> Self {
        Self { config: config.into(), calls: Vec::new() }
    }
}

/// One step of a stored trajectory: what the agent did and what it saw.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrajectoryStep {
    pub call: ToolCall,
    pub observation: String,
    pub reward: f32,
    pub done: bool,
    /// Set when the call faulted and was rolled back (it is then not in the action log).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fault: Option<crate::FaultKind>,
}

/// A finished episode, as written one per line to trajectory JSONL files.
///
/// `steps` holds only the calls the environment received, so a replay re-runs exactly
/// those; a language model's turns that held no valid call are in `messages` alone. The
/// fields after `log` are set only when a language model played (`codegym eval`), and are
/// left out of the JSON otherwise, so files written before they existed still load.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Trajectory {
    pub env: String,
    pub env_version: String,
    /// With `difficulty`, what the config was sampled from; both 0 for a task given as a
    /// row (`row`), whose config is the row's.
    pub seed: u64,
    pub difficulty: u32,
    /// The task row the episode ran, for a task given as data (`--tasks`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row: Option<RowOrigin>,
    pub policy: String,
    pub task: String,
    pub steps: Vec<TrajectoryStep>,
    pub outcome: Outcome,
    pub reward: f32,
    pub faults: u32,
    /// The episode's step limit (a task row's round limit, `--max-steps`), which a replay
    /// applies: the step that reaches it is `done`. Absent from files written before it was
    /// recorded; a replay then uses the host's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_steps: Option<u32>,
    pub log: ActionLog,
    /// The conversation in OpenAI's chat format: system prompt, task, every assistant reply
    /// (raw text and tool calls) and every observation sent back, parse errors included.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<ChatMessage>,
    /// The OpenAI function-tool definitions sent with every request (format `openai-tools`;
    /// the other formats describe the tools in the system message).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<serde_json::Value>,
    /// How the model was run and what its turns came to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<AgentRecord>,
}

/// Which task row an episode ran (a CodeGym task row, `codegym_core::TaskRow`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RowOrigin {
    /// The row's index in its file, from 0 (blank lines are not rows).
    pub index: u64,
    /// The row's `extra_info`, less any field over [`RowOrigin::MAX_FIELD_BYTES`] of JSON
    /// (CodeGym's `gym_env` holds the environment's whole source).
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub extra_info: serde_json::Value,
}

impl RowOrigin {
    /// The largest `extra_info` field a trajectory keeps.
    pub const MAX_FIELD_BYTES: usize = 1024;

    /// Row `index` with `extra_info` trimmed to the fields worth storing in every trajectory.
    pub fn new(index: u64, extra_info: &serde_json::Value) -> Self {
        let extra_info = match extra_info {
            serde_json::Value::Object(fields) => serde_json::Value::Object(
                fields
                    .iter()
                    .filter(|(_, value)| json_len(value) <= Self::MAX_FIELD_BYTES)
                    .map(|(key, value)| (key.clone(), value.clone()))
                    .collect(),
            ),
            other if json_len(other) <= Self::MAX_FIELD_BYTES => other.clone(),
            _ => serde_json::Value::Null,
        };
        Self { index, extra_info }
    }
}

/// The length of `value` as compact JSON.
fn json_len(value: &serde_json::Value) -> usize {
    // Serializing a Value into a String cannot fail.
    serde_json::to_string(value).map_or(0, |text| text.len())
}

/// A language model's run of one episode: its settings and counters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AgentRecord {
    pub model: String,
    pub format: ActionFormat,
    #[serde(default)]
    pub sampling: Sampling,
    pub max_turns: u32,
    pub max_context_tokens: u64,
    /// Assistant replies, parse-error turns included.
    pub turns: u32,
    /// Turns whose reply held no valid tool call (none, several, malformed or truncated):
    /// the model got the parse error as its observation; the environment saw nothing.
    pub parse_errors: u32,
    /// Requests sent again after a 429, a 5xx, a timeout or a connection error.
    pub retries: u32,
    /// Tokens as the endpoint reported them (summed over turns); `None` if it never did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    pub stop: StopReason,
    /// The API error that ended the episode, when `stop` is `api_error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Sampling settings sent with every request; `None` leaves the endpoint's default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Sampling {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
}

/// Token counts from chat-completions `usage`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

impl Usage {
    pub fn total(self) -> u64 {
        self.prompt_tokens.saturating_add(self.completion_tokens)
    }
}

impl core::ops::AddAssign for Usage {
    fn add_assign(&mut self, other: Usage) {
        self.prompt_tokens = self.prompt_tokens.saturating_add(other.prompt_tokens);
        self.completion_tokens = self.completion_tokens.saturating_add(other.completion_tokens);
    }
}

/// Why a language model's episode stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// The episode ended: `Done`, the environment's step limit or a fault (see the outcome).
    Ended,
    /// The turn limit was reached first.
    MaxTurns,
    /// The next request would not have fitted the context budget.
    ContextBudget,
    /// The endpoint failed (after retries) or refused the request.
    ApiError,
}

impl StopReason {
    pub fn as_str(self) -> &'static str {
        match self {
            StopReason::Ended => "ended",
            StopReason::MaxTurns => "max_turns",
            StopReason::ContextBudget => "context_budget",
            StopReason::ApiError => "api_error",
        }
    }
}
