//! Parsing one tool call out of raw model output.
//!
//! The call's JSON is read with serde_json's streaming deserializer, which reports where the
//! value ends; the end marker must follow right there. Searching for the end marker instead
//! would cut a call whose string arguments contain that marker.

use alloc::string::{String, ToString};
use alloc::vec::Vec;
use serde_json::{Map, Value};

use crate::{ActionFormat, ToolCall};

/// Why model output could not be read as exactly one tool call.
///
/// The `Display` text is written for the agent: it says what was expected so that a model can
/// fix its next turn. [`ParseError::to_observation`] turns it into the `Error: ...` observation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// The output holds no call in the expected format.
    NoToolCall { format: ActionFormat },
    /// The call's JSON is not followed by its closing marker.
    Unterminated { marker: &'static str },
    /// The call is not valid JSON.
    InvalidJson { message: String },
    /// The arguments were given as a JSON string whose content is not valid JSON.
    InvalidArguments { message: String },
    /// The call has no `name`, or it is not a non-empty string.
    MissingName,
    /// The arguments are valid JSON but not an object.
    ArgumentsNotObject { found: &'static str },
    /// More than one call in one turn.
    MultipleCalls { count: usize },
    /// Valid JSON that is not shaped like a call in this format.
    UnexpectedShape { format: ActionFormat, found: &'static str },
}

impl ParseError {
    /// The observation shown to the agent for this error.
    pub fn to_observation(&self) -> String {
        alloc::format!("Error: {self}")
    }
}

impl core::fmt::Display for ParseError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ParseError::NoToolCall { format } => write!(
                f,
                "no tool call found; make exactly one tool call, written as {}",
                format.call_template()
            ),
            ParseError::Unterminated { marker } => {
                write!(f, "the tool call must end with {marker} right after its JSON")
            }
            ParseError::InvalidJson { message } => {
                write!(f, "the tool call is not valid JSON ({message})")
            }
            ParseError::InvalidArguments { message } => write!(
                f,
                "the arguments string is not valid JSON ({message}); it must encode a JSON \
                 object such as {{\"arg\": \"value\"}}"
            ),
            ParseError::MissingName => f.write_str(
                "the tool call needs a \"name\" field holding the tool name as a non-empty string",
            ),
            ParseError::ArgumentsNotObject { found } => write!(
                f,
                "the tool arguments must be a JSON object such as {{\"arg\": \"value\"}}, not {found}"
            ),
            ParseError::MultipleCalls { count } => write!(
                f,
                "found {count} tool calls, but only one is allowed per turn; make one call and \
                 wait for its result"
            ),
            ParseError::UnexpectedShape { format, found } => {
                write!(f, "expected a tool call written as {}, but found {found}", format.call_template())
            }
        }
    }
}

impl core::error::Error for ParseError {}

/// Parses exactly one tool call from raw model output written in `format`.
///
/// Text around the call (reasoning, explanations) is ignored. The returned `arguments` are
/// the canonical compact JSON of the arguments object (see [`canonical_arguments`]), so one
/// call parses to the same [`ToolCall`] whichever format it was written in.
pub fn parse_action(text: &str, format: ActionFormat) -> Result<ToolCall, ParseError> {
    match (format.begin_marker(), format.end_marker()) {
        (Some(begin), Some(end)) => parse_marked(text, format, begin, end),
        _ => parse_openai(text),
    }
}

/// The canonical form of an arguments object given as JSON text: compact, keys sorted.
pub fn canonical_arguments(text: &str) -> Result<String, ParseError> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(object)) => Ok(canonical_object(object)),
        Ok(other) => Err(ParseError::ArgumentsNotObject { found: describe(&other) }),
        Err(err) => Err(ParseError::InvalidArguments { message: err.to_string() }),
    }
}

fn canonical_object(object: Map<String, Value>) -> String {
    let mut value = Value::Object(object);
    // A no-op unless some crate turns on serde_json's `preserve_order`.
    value.sort_all_objects();
    value.to_string()
}

/// CodeGym and Hermes: `<begin> JSON <end>`, with prose allowed around it.
fn parse_marked(
    text: &str,
    format: ActionFormat,
    begin: &'static str,
    end: &'static str,
) -> Result<ToolCall, ParseError> {
    let mut blocks = Blocks { rest: text, begin, end };
    let value = blocks.next().ok_or(ParseError::NoToolCall { format })??;
    let more = blocks.count();
    if more > 0 {
        return Err(ParseError::MultipleCalls { count: 1 + more });
    }
    let call = match (format, value) {
        (ActionFormat::CodeGym, Value::Array(calls)) => single(calls, format)?,
        (ActionFormat::Hermes, call @ Value::Object(_)) => call,
        (_, other) => {
            return Err(ParseError::UnexpectedShape { format, found: describe(&other) });
        }
    };
    call_from_object(call, format)
}

/// The marked blocks of a text, in order: each is the JSON between a begin marker and its end
/// marker. A begin marker not followed by JSON is a mention in prose, not a call, and is skipped.
struct Blocks<'a> {
    rest: &'a str,
    begin: &'static str,
    end: &'static str,
}

impl Iterator for Blocks<'_> {
    type Item = Result<Value, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let (_, after_begin) = self.rest.split_once(self.begin)?;
            self.rest = after_begin;
            if !starts_json(after_begin) {
                continue;
            }
            return Some(self.block(after_begin));
        }
    }
}

impl<'a> Blocks<'a> {
    fn block(&mut self, after_begin: &'a str) -> Result<Value, ParseError> {
        let (value, after_json) = leading_json(after_begin)?;
        let after_end = after_json
            .trim_start()
            .strip_prefix(self.end)
            .ok_or(ParseError::Unterminated { marker: self.end })?;
        self.rest = after_end;
        Ok(value)
    }
}

/// OpenAI: an assistant message with `tool_calls`, the `tool_calls` list, one list element,
/// or a bare `{"name", "arguments"}` function object. Prose before the first `{` or `[` and
/// after the JSON is ignored.
fn parse_openai(text: &str) -> Result<ToolCall, ParseError> {
    let format = ActionFormat::OpenAiTools;
    let start = text.find(['{', '[']).ok_or(ParseError::NoToolCall { format })?;
    let json = text.get(start..).unwrap_or_default();
    // Prose with brackets in it (code, a list of numbers) is no attempt at a call; only
    // text naming a call's fields gets JSON errors back.
    if !["\"name\"", "\"function\"", "\"tool_calls\"", "\"function_call\""]
        .iter()
        .any(|key| json.contains(key))
    {
        return Err(ParseError::NoToolCall { format });
    }
    let (value, after) = leading_json(json)?;
    let more = following_json_values(after);
    if more > 0 {
        return Err(ParseError::MultipleCalls { count: 1 + more });
    }
    let element = match value {
        Value::Array(calls) => single(calls, format)?,
        Value::Object(mut message) => match message.remove("tool_calls") {
            Some(Value::Array(calls)) => single(calls, format)?,
            Some(Value::Null) => return Err(ParseError::NoToolCall { format }),
            Some(_) => {
                let found = "a \"tool_calls\" field that is not a list";
                return Err(ParseError::UnexpectedShape { format, found });
            }
            None => openai_message_without_list(message)?,
        },
        other => {
            return Err(ParseError::UnexpectedShape { format, found: describe(&other) });
        }
    };
    openai_call(element)
}

/// An object with no `tool_calls`: a call element or function object itself, a legacy
/// `function_call` message, or a plain assistant message that made no call.
fn openai_message_without_list(mut message: Map<String, Value>) -> Result<Value, ParseError> {
    let format = ActionFormat::OpenAiTools;
    if let Some(function) = message.remove("function_call") {
        return Ok(function);
    }
    if message.contains_key("function") || message.contains_key("name") {
        return Ok(Value::Object(message));
    }
    if message.contains_key("role") || message.contains_key("content") {
        return Err(ParseError::NoToolCall { format });
    }
    Err(ParseError::UnexpectedShape { format, found: "an object without \"tool_calls\"" })
}

/// One element of `tool_calls`: `{"type": "function", "function": {"name", "arguments"}}`,
/// or the function object alone.
fn openai_call(element: Value) -> Result<ToolCall, ParseError> {
    let format = ActionFormat::OpenAiTools;
    let Value::Object(mut element) = element else {
        return Err(ParseError::UnexpectedShape { format, found: describe(&element) });
    };
    match element.remove("function") {
        Some(function @ Value::Object(_)) => call_from_object(function, format),
        Some(other) => Err(ParseError::UnexpectedShape { format, found: describe(&other) }),
        None => call_from_object(Value::Object(element), format),
    }
}

/// A call object `{"name": .., "arguments" | "parameters": ..}`. The other format's key is
/// accepted too, so arguments written under the wrong key are not silently dropped.
fn call_from_object(value: Value, format: ActionFormat) -> Result<ToolCall, ParseError> {
    let Value::Object(mut object) = value else {
        return Err(ParseError::UnexpectedShape { format, found: describe(&value) });
    };
    let name = match object.remove("name") {
        Some(Value::String(name)) if !name.trim().is_empty() => name,
        _ => return Err(ParseError::MissingName),
    };
    let (args_key, other_key) = match format {
        ActionFormat::CodeGym => ("parameters", "arguments"),
        _ => ("arguments", "parameters"),
    };
    let arguments = object.remove(args_key).or_else(|| object.remove(other_key));
    Ok(ToolCall { name, arguments: arguments_text(arguments)? })
}

/// Arguments as an object, as a JSON string holding an object (OpenAI's form, and what some
/// models emit in the other formats), or absent, null or empty for none.
fn arguments_text(arguments: Option<Value>) -> Result<String, ParseError> {
    match arguments {
        None | Some(Value::Null) => Ok("{}".into()),
        Some(Value::Object(object)) => Ok(canonical_object(object)),
        Some(Value::String(text)) if text.trim().is_empty() => Ok("{}".into()),
        Some(Value::String(text)) => canonical_arguments(&text),
        Some(other) => Err(ParseError::ArgumentsNotObject { found: describe(&other) }),
    }
}

/// The only element of a list of calls.
fn single(mut calls: Vec<Value>, format: ActionFormat) -> Result<Value, ParseError> {
    match (calls.pop(), calls.len()) {
        (None, _) => Err(ParseError::NoToolCall { format }),
        (Some(call), 0) => Ok(call),
        (Some(_), rest) => Err(ParseError::MultipleCalls { count: rest + 1 }),
    }
}

fn starts_json(text: &str) -> bool {
    matches!(text.trim_start().chars().next(), Some('{' | '['))
}

/// The JSON value at the start of `text` and the text after it.
fn leading_json(text: &str) -> Result<(Value, &str), ParseError> {
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    match stream.next() {
        Some(Ok(value)) => Ok((value, text.get(stream.byte_offset()..).unwrap_or_default())),
        Some(Err(err)) => Err(ParseError::InvalidJson { message: err.to_string() }),
        None => Err(ParseError::InvalidJson { message: "no JSON value".into() }),
    }
}

/// How many more JSON objects or lists directly follow a call: each is another call.
fn following_json_values(mut text: &str) -> usize {
    let mut count = 0;
    while starts_json(text) {
        match leading_json(text) {
            Ok((_, rest)) => {
                count += 1;
                text = rest;
            }
            Err(_) => break,
        }
    }
    count
}

/// A JSON value's kind, for error messages.
fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}
