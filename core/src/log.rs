use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

use crate::{Outcome, ToolCall};

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
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Trajectory {
    pub env: String,
    pub env_version: String,
    pub seed: u64,
    pub difficulty: u32,
    pub policy: String,
    pub task: String,
    pub steps: Vec<TrajectoryStep>,
    pub outcome: Outcome,
    pub reward: f32,
    pub faults: u32,
    pub log: ActionLog,
}
