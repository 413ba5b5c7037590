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
    /// The participant's name: CodeGym's layout names its system message `functions`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl Message {
    pub fn new(role: Role, content: impl Into<String>) -> Self {
        Self { role, content: content.into(), name: None }
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

/// The opening messages of an episode on `task` in `format`.
///
/// For [`ActionFormat::CodeGym`], CodeGym's own layout: a system message named `functions`
/// that lists every tool as a Python function (`Function:`, then `def Name(arg: type):` and a
/// docstring made of the tool's description and an `Args:` section from its JSON Schema),
/// then a user message of numbered instructions, an example call and `Question:` followed by
/// the task. For the others, a system message describing the environment, its tools and the
/// call syntax, then the task statement as the user message.
pub fn render_prompt(info: &EnvInfo, task: &str, format: ActionFormat) -> Prompt {
    let messages = match format {
        ActionFormat::CodeGym => vec![
            Message {
                role: Role::System,
                content: codegym_functions(&info.tools),
                name: Some(CODEGYM_SYSTEM_NAME.into()),
            },
            Message::new(Role::User, codegym_question(info, task)),
        ],
        ActionFormat::Hermes | ActionFormat::OpenAiTools => {
            vec![Message::new(Role::System, system_text(info, format)), Message::new(Role::User, task)]
        }
    };
    Prompt { messages, tools: render_tools(info, format) }
}

/// The OpenAI function-tool definitions sent with each request in `format`: every tool's for
/// [`ActionFormat::OpenAiTools`], none for the formats whose calls are text.
pub fn render_tools(info: &EnvInfo, format: ActionFormat) -> Vec<Value> {
    match format {
        ActionFormat::OpenAiTools => info.tools.iter().map(openai_tool).collect(),
        ActionFormat::CodeGym | ActionFormat::Hermes => Vec::new(),
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
        // CodeGym's layout has a renderer of its own (`codegym_functions`).
        ActionFormat::CodeGym | ActionFormat::Hermes => {
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
        ActionFormat::CodeGym | ActionFormat::Hermes => writeln!(
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

/// The `name` of the system message in CodeGym's layout.
pub const CODEGYM_SYSTEM_NAME: &str = "functions";

/// What the user message of CodeGym's layout says before the example call.
const CODEGYM_RULES: &str = "\
Work through the question below step by step, keeping to these rules:

1. Do not write code to answer it: act only by calling the functions provided, at most one function per step.
2. After each call, wait for the function's result; never assume what it will return.
3. If a function's description leaves you unsure, try the function and correct your later calls by what it returns.
4. Wrap each call in `<|FunctionCallBegin|>` and `<|FunctionCallEnd|>`: a JSON list holding one object with two keys, `name` (the function's name) and `parameters` (an object of its arguments).
5. When you know the answer, submit it with `Done`: that ends the episode, and only that answer is scored.

For example:
";

/// What it says after the example call, before the task.
const CODEGYM_CLOSING: &str = "

Also:

* Think briefly, then call a function: you have many turns, so there is no need to plan every step in advance.
* Do not try to answer without calling the functions.

Question:

";

/// The system message of CodeGym's layout: each tool as `Function:` and a Python `def`
/// whose docstring holds its description and its arguments.
fn codegym_functions(tools: &[ToolSpec]) -> String {
    let mut text = String::new();
    for tool in tools {
        // Writing into a String cannot fail.
        let _ = write_function(&mut text, tool);
    }
    text.push_str("\n\n");
    text
}

fn write_function(out: &mut String, tool: &ToolSpec) -> core::fmt::Result {
    let parameters = parameters_in_order(&tool.parameters);
    write!(out, "\nFunction:\n\ndef {}(", tool.name)?;
    for (index, (name, property)) in parameters.iter().enumerate() {
        if index > 0 {
            out.push_str(", ");
        }
        out.push_str(name);
        if let Some(kind) = python_type(property) {
            write!(out, ": {kind}")?;
        }
        if let Some(default) = property.get("default") {
            write!(out, " = {}", python_literal(default))?;
        }
    }
    writeln!(out, "):\n    r\"\"\"\n")?;
    let description = tool.description.trim();
    if !description.is_empty() {
        for line in description.lines() {
            match line.trim_end() {
                "" => writeln!(out)?,
                line => writeln!(out, "    {line}")?,
            }
        }
        writeln!(out)?;
    }
    writeln!(out, "    Args:")?;
    if parameters.is_empty() {
        writeln!(out, "        None")?;
    }
    for (name, property) in &parameters {
        write!(out, "        {name}")?;
        if let Some(kind) = docstring_type(property) {
            write!(out, " ({kind})")?;
        }
        let text = property.get("description").and_then(Value::as_str).unwrap_or_default();
        let words: Vec<&str> = text.split_whitespace().collect();
        if !words.is_empty() {
            write!(out, ": {}", words.join(" "))?;
        }
        writeln!(out)?;
    }
    writeln!(out, "\n    \"\"\"")
}

/// The user message of CodeGym's layout: the rules, an example call (the env's first tool)
/// and `Question:` followed by the task.
fn codegym_question(info: &EnvInfo, task: &str) -> String {
    let example = render_call(&example_call(info), ActionFormat::CodeGym);
    format!("{CODEGYM_RULES}{example}{CODEGYM_CLOSING}{task}")
}

/// The `properties` of a tool's parameter schema in the order the schema lists them (a
/// `Value` would sort them), which is the function's own; none if the schema does not parse.
fn parameters_in_order(parameters: &str) -> Vec<(String, Value)> {
    #[derive(Deserialize)]
    struct Schema {
        #[serde(default)]
        properties: Option<Ordered>,
    }
    struct Ordered(Vec<(String, Value)>);
    impl<'de> Deserialize<'de> for Ordered {
        fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct Entries;
            impl<'de> serde::de::Visitor<'de> for Entries {
                type Value = Ordered;
                fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                    f.write_str("a map of properties")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Ordered, A::Error> {
                    let mut entries = Vec::new();
                    while let Some(entry) = map.next_entry::<String, Value>()? {
                        entries.push(entry);
                    }
                    Ok(Ordered(entries))
                }
            }
            deserializer.deserialize_map(Entries)
        }
    }
    match serde_json::from_str::<Schema>(parameters) {
        Ok(Schema { properties: Some(Ordered(entries)) }) => entries,
        _ => Vec::new(),
    }
}

/// A property's JSON Schema type, the first that is not `null` when it lists several.
fn schema_type(property: &Value) -> Option<&str> {
    match property.get("type")? {
        Value::String(kind) => Some(kind),
        Value::Array(kinds) => kinds.iter().filter_map(Value::as_str).find(|kind| *kind != "null"),
        _ => None,
    }
}

/// The Python annotation for a property's type: `int`, `float`, `str`, `bool`, `list`, `dict`.
fn python_type(property: &Value) -> Option<&'static str> {
    Some(match schema_type(property)? {
        "integer" => "int",
        "number" => "float",
        "string" => "str",
        "boolean" => "bool",
        "array" => "list",
        "object" => "dict",
        _ => return None,
    })
}

/// The type as a docstring's `Args:` gives it: the annotation, with a list's item type
/// (`list[int]`) when the schema names one.
fn docstring_type(property: &Value) -> Option<String> {
    let kind = python_type(property)?;
    match property.get("items").and_then(docstring_type) {
        Some(item) if kind == "list" => Some(format!("list[{item}]")),
        _ => Some(kind.into()),
    }
}

/// A JSON value written as a Python literal (`true` → `True`, `null` → `None`).
fn python_literal(value: &Value) -> String {
    match value {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(_) | Value::String(_) => value.to_string(),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(python_literal).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(fields) => {
            let fields: Vec<String> = fields
                .iter()
                .map(|(key, value)| format!("{}: {}", json_string(key), python_literal(value)))
                .collect();
            format!("{{{}}}", fields.join(", "))
        }
    }
}
