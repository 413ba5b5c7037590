use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

/// One callable tool. `parameters` is a JSON Schema object, as JSON text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    pub parameters: String,
}

/// What an environment is: the metadata every listing and prompt is built from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvInfo {
    pub name: String,
    pub version: String,
    pub description: String,
    pub category: String,
    pub tools: Vec<ToolSpec>,
}

impl EnvInfo {
    pub fn tool(&self, name: &str) -> Option<&ToolSpec> {
        self.tools.iter().find(|tool| tool.name == name)
    }
}

/// A tool invocation. `arguments` is a JSON object as text (`"{}"` for no arguments).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ToolCall {
    pub name: String,
    pub arguments: String,
}

impl ToolCall {
    pub fn new(name: impl Into<String>, arguments: impl Into<String>) -> Self {
        Self { name: name.into(), arguments: arguments.into() }
    }
}

impl core::fmt::Display for ToolCall {
    /// The compact form used in transcripts and by `codegym play`: `Name {"arg": 1}`.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{} {}", self.name, self.arguments)
    }
}

/// The result of one tool invocation, as the environment reports it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub observation: String,
    pub reward: f32,
    pub done: bool,
}
