use std::fmt::Display;

use codegym_core::ToolSpec;
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Arguments of a tool that takes none (`{}`).
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoArgs {}

/// Arguments of the many tools that take one position (`{"index": 3}`).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IndexArgs {
    /// Zero-based position.
    pub index: usize,
}

/// What a tool returns: a plain observation, or `Err` for a domain error the agent should
/// see as `Error: ...` (an index out of range, an illegal move).
pub trait ToolOutput {
    fn into_observation(self) -> String;
}

impl ToolOutput for String {
    fn into_observation(self) -> String {
        self
    }
}

impl ToolOutput for &str {
    fn into_observation(self) -> String {
        self.to_owned()
    }
}

impl<T: ToolOutput, E: Display> ToolOutput for Result<T, E> {
    fn into_observation(self) -> String {
        match self {
            Ok(value) => value.into_observation(),
            Err(error) => format!("Error: {error}"),
        }
    }
}

/// Parse a tool's JSON arguments. `{}` (the arguments of `Observe` and of most reading
/// tools) takes a fast path that skips the JSON parser; types that need fields fall through
/// to it, so error messages are always serde_json's.
fn parse_arguments<A: DeserializeOwned>(arguments: &str) -> Result<A, serde_json::Error> {
    if arguments == "{}" {
        let empty = serde::de::value::MapDeserializer::<_, serde::de::value::Error>::new(
            core::iter::empty::<(&str, ())>(),
        );
        if let Ok(args) = A::deserialize(empty) {
            return Ok(args);
        }
    }
    serde_json::from_str(arguments)
}

type Handler<E> = Box<dyn Fn(&mut E, &str) -> Result<String, serde_json::Error>>;

struct Entry<E> {
    name: &'static str,
    description: &'static str,
    schema: fn() -> schemars::Schema,
    handler: Handler<E>,
}

/// The table of an environment's tools: names, descriptions, argument types and handlers.
///
/// Arguments are typed: each tool takes a struct deriving `Deserialize` and `JsonSchema`,
/// and its JSON Schema is generated from the type, never written by hand.
pub struct Tools<E> {
    entries: Vec<Entry<E>>,
}

impl<E> Tools<E> {
    pub(crate) fn new() -> Self {
        Self { entries: Vec::new() }
    }

    /// Register a tool. `handler` gets the state and the parsed arguments.
    pub fn add<A, O>(
        &mut self,
        name: &'static str,
        description: &'static str,
        handler: fn(&mut E, A) -> O,
    ) -> &mut Self
    where
        A: DeserializeOwned + JsonSchema + 'static,
        O: ToolOutput + 'static,
        E: 'static,
    {
        debug_assert!(self.find(name).is_none(), "tool {name} registered twice");
        self.entries.push(Entry {
            name,
            description,
            schema: || schemars::schema_for!(A),
            handler: Box::new(move |env, arguments| {
                let args: A = parse_arguments(arguments)?;
                Ok(handler(env, args).into_observation())
            }),
        });
        self
    }

    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.entries.iter().map(|entry| entry.name)
    }

    pub(crate) fn specs(&self) -> Vec<ToolSpec> {
        self.entries
            .iter()
            .map(|entry| ToolSpec {
                name: entry.name.to_owned(),
                description: entry.description.to_owned(),
                parameters: serde_json::to_string(&(entry.schema)()).unwrap_or_else(|_| "{}".to_owned()),
            })
            .collect()
    }

    fn find(&self, name: &str) -> Option<&Entry<E>> {
        self.entries.iter().find(|entry| entry.name == name)
    }

    /// Run tool `name` with JSON `arguments`; `None` if there is no such tool. Bad arguments
    /// become `Error: ...` observations.
    pub(crate) fn call(&self, env: &mut E, name: &str, arguments: &str) -> Option<String> {
        let entry = self.find(name)?;
        // Blank arguments mean none. (A byte scan: JSON whitespace is ASCII.)
        let blank = arguments.bytes().all(|b| b.is_ascii_whitespace());
        let arguments = if blank { "{}" } else { arguments };
        Some(match (entry.handler)(env, arguments) {
            Ok(observation) => observation,
            Err(error) => format!("Error: invalid arguments for {name}: {error}."),
        })
    }
}
