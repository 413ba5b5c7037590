//! CodeGym's task data as it ships: JSONL rows whose `ability` names the environment file
//! and holds the task's config, `codegym_v1@<env file stem>@<config as JSON>`, beside the
//! chat `prompt` a model is shown and the episode's round limit.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

use crate::ChatMessage;

/// The prefix of a CodeGym task's `ability`.
pub const ABILITY_PREFIX: &str = "codegym_v1@";

/// One task row of CodeGym's data (`prompt`, `ability`, `plugin_call_max_round`,
/// `extra_info`; other fields are kept out of the way).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskRow {
    /// The chat messages the model is shown, verbatim.
    #[serde(default)]
    pub prompt: Vec<ChatMessage>,
    /// `codegym_v1@<env file stem>@<config as JSON>`.
    pub ability: String,
    /// The most tool-call rounds the episode may take.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin_call_max_round: Option<u32>,
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub extra_info: serde_json::Value,
}

/// Why a task row is unusable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskError(pub String);

impl core::fmt::Display for TaskError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(feature = "std")]
impl std::error::Error for TaskError {}

impl TaskRow {
    /// Parse one JSONL line, checking its `ability`.
    pub fn parse(line: &str) -> Result<Self, TaskError> {
        let row: Self =
            serde_json::from_str(line).map_err(|error| TaskError(format!("not a task row: {error}")))?;
        row.ability()?;
        Ok(row)
    }

    /// The environment file's stem and the config (its JSON text, verbatim) of `ability`.
    pub fn ability(&self) -> Result<(&str, &str), TaskError> {
        let bad = |why: &str| TaskError(format!("ability {:?}: {why}", shorten(&self.ability)));
        let rest =
            self.ability.strip_prefix(ABILITY_PREFIX).ok_or_else(|| bad("want codegym_v1@<env>@<config>"))?;
        let (stem, config) = rest.split_once('@').ok_or_else(|| bad("no config after the environment"))?;
        if stem.is_empty() {
            return Err(bad("no environment"));
        }
        match serde_json::from_str::<serde_json::Value>(config) {
            Ok(serde_json::Value::Object(_)) => Ok((stem, config.trim())),
            Ok(_) => Err(bad("the config is not a JSON object")),
            Err(error) => Err(bad(&format!("the config is not JSON: {error}"))),
        }
    }
}

fn shorten(text: &str) -> String {
    match text.char_indices().nth(80) {
        Some((end, _)) => format!("{}...", &text[..end]),
        None => text.to_string(),
    }
}
