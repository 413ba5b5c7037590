use alloc::string::String;
use serde::{Deserialize, Serialize};

/// How an agent writes tool calls in its output, and how prompts describe them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ActionFormat {
    /// CodeGym's own markup: `<|FunctionCallBegin|>[{"name":..,"parameters":{..}}]<|FunctionCallEnd|>`.
    #[default]
    #[serde(rename = "codegym")]
    CodeGym,
    /// Hermes / Qwen markup: `<tool_call>{"name":..,"arguments":{..}}</tool_call>`.
    #[serde(rename = "hermes")]
    Hermes,
    /// OpenAI chat-completions `tool_calls` JSON, with tools passed out of band.
    #[serde(rename = "openai-tools")]
    OpenAiTools,
}

impl ActionFormat {
    pub const ALL: [ActionFormat; 3] =
        [ActionFormat::CodeGym, ActionFormat::Hermes, ActionFormat::OpenAiTools];

    /// The name used on the command line and in serialized configs.
    pub fn as_str(self) -> &'static str {
        match self {
            ActionFormat::CodeGym => "codegym",
            ActionFormat::Hermes => "hermes",
            ActionFormat::OpenAiTools => "openai-tools",
        }
    }

    /// The marker that opens a call in model output; `None` for OpenAI, whose calls are JSON.
    pub fn begin_marker(self) -> Option<&'static str> {
        match self {
            ActionFormat::CodeGym => Some(CODEGYM_BEGIN),
            ActionFormat::Hermes => Some(HERMES_BEGIN),
            ActionFormat::OpenAiTools => None,
        }
    }

    /// The marker that closes a call: a natural generation stop string.
    pub fn end_marker(self) -> Option<&'static str> {
        match self {
            ActionFormat::CodeGym => Some(CODEGYM_END),
            ActionFormat::Hermes => Some(HERMES_END),
            ActionFormat::OpenAiTools => None,
        }
    }

    /// The call syntax with placeholders, as shown to agents in prompts and parse errors.
    pub fn call_template(self) -> &'static str {
        match self {
            ActionFormat::CodeGym => {
                r#"<|FunctionCallBegin|>[{"name": "ToolName", "parameters": {"arg": "value"}}]<|FunctionCallEnd|>"#
            }
            ActionFormat::Hermes => {
                r#"<tool_call>{"name": "ToolName", "arguments": {"arg": "value"}}</tool_call>"#
            }
            ActionFormat::OpenAiTools => {
                r#"{"tool_calls": [{"type": "function", "function": {"name": "ToolName", "arguments": "{\"arg\": \"value\"}"}}]}"#
            }
        }
    }
}

const CODEGYM_BEGIN: &str = "<|FunctionCallBegin|>";
const CODEGYM_END: &str = "<|FunctionCallEnd|>";
const HERMES_BEGIN: &str = "<tool_call>";
const HERMES_END: &str = "</tool_call>";

impl core::fmt::Display for ActionFormat {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An action-format name that is not one of [`ActionFormat::ALL`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownFormat {
    pub name: String,
}

impl core::fmt::Display for UnknownFormat {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "unknown action format {:?}; expected one of: ", self.name)?;
        for (i, format) in ActionFormat::ALL.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(format.as_str())?;
        }
        Ok(())
    }
}

impl core::error::Error for UnknownFormat {}

impl core::str::FromStr for ActionFormat {
    type Err = UnknownFormat;

    /// Accepts the names from [`ActionFormat::as_str`], ignoring ASCII case.
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        ActionFormat::ALL
            .into_iter()
            .find(|format| format.as_str().eq_ignore_ascii_case(name.trim()))
            .ok_or_else(|| UnknownFormat { name: name.into() })
    }
}
