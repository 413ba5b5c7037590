//! Rendering what an agent reads: the opening prompt, tool calls and tool results, in the
//! conventions of each [`ActionFormat`].

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec;
use alloc::vec::Vec;
use core::fmt::Write;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::parse::canonical_arguments;
use crate::{ActionFormat, EnvInfo, ToolCall, ToolSpec};

/// Who wrote a chat message, with OpenAI's names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
    Tool,
}

/// One chat message.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

impl Message {
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Self { role, content: content.into() }
    }
}

/// The opening of an episode: chat messages plus, for [`ActionFormat::OpenAiTools`], the
/// OpenAI function-tool definitions to send alongside them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prompt {
    pub messages: Vec<Message>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<Value>,
}

/// The system message describing the environment, its tools and the call syntax, then the
/// task statement as the user message.
pub fn render_prompt(info: &EnvInfo, task: &str, format: ActionFormat) -> Prompt {
    let tools = match format {
        ActionFormat::OpenAiTools => info.tools.iter().map(openai_tool).collect(),
        ActionFormat::CodeGym | ActionFormat::Hermes => Vec::new(),
    };
    Prompt {
        messages: vec![Message::new(Role::System, system_text(info, format)), Message::new(Role::User, task)],
        tools,
    }
}

/// A call as a model should write it in `format`. Invalid `arguments` render as `{}`.
pub fn render_call(call: &ToolCall, format: ActionFormat) -> String {
    let name = json_string(&call.name);
    let arguments = canonical_arguments(&call.arguments).unwrap_or_else(|_| "{}".into());
    match format {
        ActionFormat::CodeGym => format!(
            "<|FunctionCallBegin|>[{{\"name\":{name},\"parameters\":{arguments}}}]<|FunctionCallEnd|>"
        ),
        ActionFormat::Hermes => {
            format!("<tool_call>\n{{\"name\":{name},\"arguments\":{arguments}}}\n</tool_call>")
        }
        ActionFormat::OpenAiTools => format!(
            "{{\"tool_calls\":[{{\"id\":\"call_0\",\"type\":\"function\",\"function\":\
             {{\"name\":{name},\"arguments\":{}}}}}]}}",
            json_string(&arguments)
        ),
    }
}

/// A tool result as the message fed back to the agent.
pub fn render_observation(observation: &str, format: ActionFormat) -> Message {
    match format {
        ActionFormat::CodeGym => Message::new(Role::User, observation),
        ActionFormat::Hermes => {
            Message::new(Role::User, format!("<tool_response>\n{observation}\n</tool_response>"))
        }
        ActionFormat::OpenAiTools => Message::new(Role::Tool, observation),
    }
}

fn system_text(info: &EnvInfo, format: ActionFormat) -> String {
    let mut text = String::new();
    // Writing into a String cannot fail.
    let _ = write_system_text(&mut text, info, format);
    text
}

fn write_system_text(out: &mut String, info: &EnvInfo, format: ActionFormat) -> core::fmt::Result {
    writeln!(out, "You are an agent solving a task in the environment \"{}\".", info.name)?;
    if !info.description.trim().is_empty() {
        writeln!(out, "{}", info.description.trim())?;
    }
    writeln!(
        out,
        "\nYou can act only by calling the tools below, and you see the environment only \
         through their results. Make exactly one tool call per turn, then wait for its result. \
         A result starting with \"Error:\" means the call was not carried out; fix it and try \
         again. When you know the final answer, call `Done` with it: this ends the episode, and \
         only that answer is scored.\n"
    )?;
    write_tools(out, &info.tools, format)?;
    write_call_syntax(out, info, format)
}

fn write_tools(out: &mut String, tools: &[ToolSpec], format: ActionFormat) -> core::fmt::Result {
    writeln!(out, "# Tools\n")?;
    match format {
        ActionFormat::CodeGym => {
            for tool in tools {
                writeln!(out, "## {}\n{}", tool.name, tool.description.trim())?;
                writeln!(out, "Parameters (JSON Schema): {}\n", schema(&tool.parameters))?;
            }
        }
        ActionFormat::Hermes => {
            writeln!(out, "The tools' signatures are given within <tools></tools> XML tags:")?;
            writeln!(out, "<tools>")?;
            for tool in tools {
                writeln!(out, "{}", openai_tool_text(tool))?;
            }
            writeln!(out, "</tools>\n")?;
        }
        ActionFormat::OpenAiTools => {
            writeln!(out, "The tools are provided through the function-calling interface:")?;
            for tool in tools {
                writeln!(out, "- {}: {}", tool.name, tool.description.trim())?;
            }
            writeln!(out)?;
        }
    }
    Ok(())
}

fn write_call_syntax(out: &mut String, info: &EnvInfo, format: ActionFormat) -> core::fmt::Result {
    writeln!(out, "# Calling a tool\n")?;
    match format {
        ActionFormat::CodeGym => {
            writeln!(out, "Write each call in exactly this form, with the arguments as a JSON object:")?
        }
        ActionFormat::Hermes => writeln!(
            out,
            "Write each call as a JSON object with the tool name and its arguments within \
             <tool_call></tool_call> XML tags:"
        )?,
        ActionFormat::OpenAiTools => writeln!(
            out,
            "Call tools through the function-calling interface. If you write a call as text \
             instead, write this JSON, with the arguments as a JSON-encoded string:"
        )?,
    }
    writeln!(out, "{}\n", format.call_template())?;
    write!(out, "For example:\n{}", render_call(&example_call(info), format))
}

/// A call to the env's first tool, with a placeholder value for each parameter.
fn example_call(info: &EnvInfo) -> ToolCall {
    let Some(tool) = info.tools.first() else {
        return ToolCall::new("Done", "{}");
    };
    let properties = match schema(&tool.parameters).get("properties") {
        Some(Value::Object(properties)) => {
            properties.iter().map(|(name, property)| (name.clone(), example_value(property))).collect()
        }
        _ => Map::new(),
    };
    ToolCall::new(tool.name.clone(), Value::Object(properties).to_string())
}

/// The schema's own example, default or first allowed value, else a placeholder of its type.
fn example_value(property: &Value) -> Value {
    let given = property
        .get("examples")
        .and_then(|examples| examples.get(0))
        .or_else(|| property.get("default"))
        .or_else(|| property.get("enum").and_then(|values| values.get(0)));
    if let Some(value) = given {
        return value.clone();
    }
    let kind = match property.get("type") {
        Some(Value::Array(kinds)) => kinds.iter().find(|kind| kind.as_str() != Some("null")),
        other => other,
    };
    match kind.and_then(Value::as_str) {
        Some("string") => Value::from("..."),
        Some("integer" | "number") => Value::from(0),
        Some("boolean") => Value::from(false),
        Some("array") => Value::Array(Vec::new()),
        Some("object") => Value::Object(Map::new()),
        _ => Value::Null,
    }
}

/// An OpenAI function-tool definition for `tool`.
fn openai_tool(tool: &ToolSpec) -> Value {
    let mut function = Map::new();
    function.insert("name".into(), Value::from(tool.name.as_str()));
    function.insert("description".into(), Value::from(tool.description.trim()));
    function.insert("parameters".into(), schema(&tool.parameters));
    let mut definition = Map::new();
    definition.insert("type".into(), Value::from("function"));
    definition.insert("function".into(), Value::Object(function));
    Value::Object(definition)
}

/// [`openai_tool`] as JSON text with its keys in the conventional order, for reading.
fn openai_tool_text(tool: &ToolSpec) -> String {
    format!(
        "{{\"type\":\"function\",\"function\":{{\"name\":{},\"description\":{},\"parameters\":{}}}}}",
        json_string(&tool.name),
        json_string(tool.description.trim()),
        schema(&tool.parameters)
    )
}

/// A tool's parameter schema as JSON, `{}` if it does not parse to an object. `$schema` and
/// the top-level `title` (a Rust type name from schemars) are dropped: they only cost tokens.
fn schema(parameters: &str) -> Value {
    match serde_json::from_str::<Value>(parameters) {
        Ok(Value::Object(mut object)) => {
            object.remove("$schema");
            object.remove("title");
            Value::Object(object)
        }
        _ => Value::Object(Map::new()),
    }
}

fn json_string(text: &str) -> String {
    Value::from(text).to_string()
}
