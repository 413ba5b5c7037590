use codegym_core::{EnvInfo, ToolCall};
use rand::seq::IndexedRandom;
use rand::{RngExt, SeedableRng};
use serde_json::{Map, Value};

use crate::{Env, Error, OracleSession};

/// Something that chooses tool calls, seeing only the task and observations.
pub trait Policy: Send {
    /// Short name recorded in trajectories (`oracle`, `random`, ...).
    fn name(&self) -> &str;
    /// A new episode of `env` begins with `task`.
    fn start(&mut self, env: &Env, task: &str) -> Result<(), Error>;
    /// The next call given the last observation (empty on the first turn); `None` to stop.
    fn next(&mut self, last_observation: &str) -> Option<ToolCall>;
}

/// The built-in policies, by name (`"oracle"`, `"random"`: [`PolicyKind::NAMES`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PolicyKind {
    /// The environment's own oracle, run in a separate instance.
    Oracle,
    /// Uniformly random tools with arguments drawn from their JSON Schemas.
    Random,
}

impl PolicyKind {
    /// Every built-in policy's name, as [`FromStr`](std::str::FromStr) takes it.
    pub const NAMES: [&str; 2] = ["oracle", "random"];

    /// A policy for one episode; `seed` makes random policies reproducible.
    pub fn build(self, seed: u64) -> Box<dyn Policy> {
        match self {
            PolicyKind::Oracle => Box::new(OraclePolicy::default()),
            PolicyKind::Random => Box::new(RandomPolicy::new(seed)),
        }
    }
}

impl std::str::FromStr for PolicyKind {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, String> {
        match name {
            "oracle" => Ok(Self::Oracle),
            "random" => Ok(Self::Random),
            other => Err(format!("no built-in policy {other:?} (one of: {})", Self::NAMES.join(", "))),
        }
    }
}

/// The environment's oracle, in an instance of its own.
#[derive(Default)]
pub struct OraclePolicy {
    session: Option<OracleSession>,
}

impl Policy for OraclePolicy {
    fn name(&self) -> &str {
        "oracle"
    }

    fn start(&mut self, env: &Env, task: &str) -> Result<(), Error> {
        self.session = Some(env.oracle(task)?);
        Ok(())
    }

    fn next(&mut self, last_observation: &str) -> Option<ToolCall> {
        self.session.as_mut()?.next(last_observation)
    }
}

impl OraclePolicy {
    /// Why the oracle stopped early, if a call into it faulted.
    pub fn fault(&self) -> Option<codegym_core::FaultKind> {
        self.session.as_ref()?.fault()
    }

    /// The oracle's own fuel so far: all its calls together, and the most one took.
    pub fn fuel_used(&self) -> (u64, u64) {
        self.session.as_ref().map_or((0, 0), OracleSession::fuel_used)
    }
}

/// Random tools with schema-shaped random arguments: a fuzzer for environments and a
/// baseline for agents. Calls `Done` rarely, so episodes usually run to the step limit.
pub struct RandomPolicy {
    rng: rand_pcg::Pcg64Mcg,
    tools: Vec<(String, Value)>,
}

impl RandomPolicy {
    pub fn new(seed: u64) -> Self {
        Self { rng: rand_pcg::Pcg64Mcg::seed_from_u64(seed), tools: Vec::new() }
    }

    fn arguments(&mut self, schema: &Value, root: &Value, depth: u32) -> Value {
        let schema = resolve(schema, root);
        let kind = schema.get("type").map(|t| match t {
            Value::Array(types) => types.first().and_then(Value::as_str).unwrap_or("null"),
            other => other.as_str().unwrap_or("null"),
        });
        match kind {
            _ if depth > 4 => Value::Null,
            Some("integer") => {
                let low = schema.get("minimum").and_then(Value::as_i64).unwrap_or(-2).max(-1000);
                Value::from(self.rng.random_range(low..low + 24))
            }
            Some("number") => Value::from(self.rng.random_range(-2.0..20.0)),
            Some("boolean") => Value::from(self.rng.random_bool(0.5)),
            Some("string") => {
                let words = ["a", "0", "", "left", "right", "up", "x y", "(", "🦀"];
                Value::from(*words.choose(&mut self.rng).unwrap_or(&"a"))
            }
            Some("array") => {
                let len = self.rng.random_range(0..4);
                let item = schema.get("items").cloned().unwrap_or(Value::Null);
                Value::Array((0..len).map(|_| self.arguments(&item, root, depth + 1)).collect())
            }
            Some("object") => {
                let mut object = Map::new();
                if let Some(Value::Object(properties)) = schema.get("properties") {
                    for (name, property) in properties {
                        // Leave a field out now and then: bad calls are part of the test.
                        if self.rng.random_range(0..16) != 0 {
                            object.insert(name.clone(), self.arguments(property, root, depth + 1));
                        }
                    }
                }
                Value::Object(object)
            }
            _ => Value::Null,
        }
    }
}

/// Follow a local `$ref` (`#/$defs/Name`), as schemars emits for nested types.
fn resolve<'a>(schema: &'a Value, root: &'a Value) -> &'a Value {
    let Some(reference) = schema.get("$ref").and_then(Value::as_str) else { return schema };
    reference.strip_prefix('#').and_then(|pointer| root.pointer(pointer)).unwrap_or(schema)
}

impl Policy for RandomPolicy {
    fn name(&self) -> &str {
        "random"
    }

    fn start(&mut self, env: &Env, _task: &str) -> Result<(), Error> {
        self.tools = tool_schemas(env.info());
        Ok(())
    }

    fn next(&mut self, _last_observation: &str) -> Option<ToolCall> {
        if self.tools.is_empty() {
            return None;
        }
        let index = self.rng.random_range(0..self.tools.len());
        let (name, schema) = self.tools[index].clone();
        let arguments = self.arguments(&schema, &schema, 0);
        let arguments = if arguments.is_object() { arguments } else { Value::Object(Map::new()) };
        Some(ToolCall::new(name, arguments.to_string()))
    }
}

fn tool_schemas(info: &EnvInfo) -> Vec<(String, Value)> {
    info.tools
        .iter()
        // `Done` is drawn as often as any tool, which ends most random episodes early; give it
        // one chance in four of the others' so random episodes explore.
        .flat_map(|tool| {
            let schema = serde_json::from_str(&tool.parameters).unwrap_or(Value::Null);
            let copies = if tool.name == "Done" { 1 } else { 4 };
            std::iter::repeat_n((tool.name.clone(), schema), copies)
        })
        .collect()
}

/// A fixed list of calls, then stop.
pub struct ScriptedPolicy {
    calls: std::vec::IntoIter<ToolCall>,
}

impl ScriptedPolicy {
    pub fn new(calls: Vec<ToolCall>) -> Self {
        Self { calls: calls.into_iter() }
    }
}

impl Policy for ScriptedPolicy {
    fn name(&self) -> &str {
        "scripted"
    }

    fn start(&mut self, _env: &Env, _task: &str) -> Result<(), Error> {
        Ok(())
    }

    fn next(&mut self, _last_observation: &str) -> Option<ToolCall> {
        self.calls.next()
    }
}
