//! A model's side of an episode as OpenAI chat-completions messages: what `codegym eval`
//! sends to an endpoint and stores in trajectories, so a stored conversation can be sent
//! again or used as fine-tuning data as it is.

use alloc::string::String;
use alloc::vec::Vec;
use serde::{Deserialize, Serialize};

use crate::{ActionFormat, Message, Role};

/// One chat message in OpenAI's wire format.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub role: Role,
    /// `None` (sent as `null`) only for an assistant message holding nothing but tool calls.
    #[serde(default)]
    pub content: Option<String>,
    /// The assistant's calls through the function-calling interface.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ChatToolCall>,
    /// For a `tool` message: the id of the call it answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// The participant's name (CodeGym names its system message `functions`), kept as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl ChatMessage {
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Self { role, content: Some(content.into()), tool_calls: Vec::new(), tool_call_id: None, name: None }
    }

    /// A `tool` message answering the call with id `call_id`.
    pub fn tool_result(call_id: impl Into<String>, content: impl Into<String>) -> Self {
        Self {
            role: Role::Tool,
            content: Some(content.into()),
            tool_calls: Vec::new(),
            tool_call_id: Some(call_id.into()),
            name: None,
        }
    }

    /// The text content, empty when there is none.
    pub fn text(&self) -> &str {
        self.content.as_deref().unwrap_or_default()
    }

    /// The text the action parser reads from this (assistant) message in `format`: for
    /// [`ActionFormat::OpenAiTools`] the `tool_calls` as JSON when there are any, else the
    /// content (a model may write the call as text); for the other formats the content.
    pub fn action_text(&self, format: ActionFormat) -> String {
        if format == ActionFormat::OpenAiTools && !self.tool_calls.is_empty() {
            #[derive(Serialize)]
            struct Calls<'a> {
                tool_calls: &'a [ChatToolCall],
            }
            // Serializing strings into a String cannot fail.
            return serde_json::to_string(&Calls { tool_calls: &self.tool_calls }).unwrap_or_default();
        }
        self.text().into()
    }
}

impl From<Message> for ChatMessage {
    fn from(message: Message) -> Self {
        Self { name: message.name, ..Self::new(message.role, message.content) }
    }
}

/// One element of an assistant message's `tool_calls`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatToolCall {
    pub id: String,
    /// Always `"function"`.
    #[serde(rename = "type", default = "function_type")]
    pub kind: String,
    pub function: ChatFunction,
}

impl ChatToolCall {
    pub fn new(id: impl Into<String>, name: impl Into<String>, arguments: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            kind: function_type(),
            function: ChatFunction { name: name.into(), arguments: arguments.into() },
        }
    }
}

/// The function a tool call names, with its arguments as JSON text (as the model wrote them).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatFunction {
    pub name: String,
    pub arguments: String,
}

fn function_type() -> String {
    "function".into()
}
