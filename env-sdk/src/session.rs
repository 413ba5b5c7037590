use codegym_core::{EnvInfo, Step, ToolCall, ToolSpec};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::{Environment, NoArgs, Tools};

/// Arguments of the built-in `Done` tool.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct DoneArgs<A> {
    /// Your final answer.
    answer: A,
}

const OBSERVE: &str = "Observe";
const DONE: &str = "Done";

/// One episode of an environment: the state machine behind the component's exports.
///
/// The wasm export and the native [`crate::testing`] harness both drive this type, so an
/// environment behaves identically in and out of the sandbox.
pub struct Session<E: Environment> {
    tools: Tools<E>,
    state: Option<E>,
    finished: bool,
}

impl<E: Environment> Default for Session<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: Environment> Session<E> {
    pub fn new() -> Self {
        let mut tools = Tools::new();
        E::tools(&mut tools);
        tools.add(OBSERVE, "Show what you can currently see of the task state.", |env: &mut E, _: NoArgs| {
            env.observe()
        });
        Self { tools, state: None, finished: false }
    }

    /// The environment's metadata and tool specs (including `Observe` and `Done`).
    pub fn info() -> EnvInfo {
        let mut tools = Self::new().tools.specs();
        tools.push(ToolSpec {
            name: DONE.to_owned(),
            description: "Submit your final answer. This ends the episode: reward 1 if the \
                          answer is correct, 0 otherwise."
                .to_owned(),
            parameters: serde_json::to_string(&schemars::schema_for!(DoneArgs<E::Answer>))
                .unwrap_or_else(|_| "{}".to_owned()),
        });
        EnvInfo {
            name: E::META.name.to_owned(),
            version: E::META.version.to_owned(),
            description: E::META.description.to_owned(),
            category: E::META.category.to_owned(),
            tools,
        }
    }

    /// The config for `(seed, difficulty)` as JSON; difficulty is clamped to `0..=100`.
    pub fn sample_config(seed: u64, difficulty: u32) -> String {
        let config = E::sample_config(seed, difficulty.min(100));
        serde_json::to_string(&config).unwrap_or_else(|error| {
            // A config type that cannot serialize is a bug in the environment.
            panic!("{}: config does not serialize: {error}", E::META.name)
        })
    }

    /// Start an episode from a JSON config; returns the task statement.
    pub fn reset(&mut self, config: &str) -> Result<String, String> {
        let config: E::Config =
            serde_json::from_str(config).map_err(|error| format!("invalid config: {error}"))?;
        let state = E::reset(config)?;
        let task = state.task();
        self.state = Some(state);
        self.finished = false;
        Ok(task)
    }

    /// Run one tool call. Every error is an observation; nothing here panics on bad input.
    pub fn step(&mut self, call: &ToolCall) -> Step {
        let Some(state) = self.state.as_mut() else {
            return error_step("the episode has not started (reset first)");
        };
        if self.finished {
            return error_step("the episode is over; no more tool calls are accepted");
        }
        if call.name == DONE {
            return self.done(&call.arguments);
        }
        match self.tools.call(state, &call.name, &call.arguments) {
            Some(observation) => Step { observation, reward: 0.0, done: false },
            None => {
                let known: Vec<&str> = self.tools.names().chain([DONE]).collect();
                error_step(&format!("unknown tool `{}`. Available tools: {}.", call.name, known.join(", ")))
            }
        }
    }

    fn done(&mut self, arguments: &str) -> Step {
        let Some(state) = self.state.as_ref() else {
            return error_step("the episode has not started (reset first)");
        };
        let args: DoneArgs<E::Answer> = match serde_json::from_str(arguments) {
            Ok(args) => args,
            Err(error) => {
                return error_step(&format!(
                    "invalid arguments for Done: {error}. Call Done with {{\"answer\": ...}}"
                ));
            }
        };
        let correct = state.is_correct(&args.answer);
        self.finished = true;
        let observation = format!(
            "Your answer: {}. Reference answer: {}. Result: {}.",
            to_json(&args.answer),
            to_json(&state.reference_answer()),
            if correct { "correct" } else { "incorrect" },
        );
        Step { observation, reward: if correct { 1.0 } else { 0.0 }, done: true }
    }

    /// The reference answer as JSON (`null` before reset).
    pub fn reference_answer(&self) -> String {
        self.state.as_ref().map_or_else(|| "null".to_owned(), |s| to_json(&s.reference_answer()))
    }

    /// Whether `Done` has been called.
    pub fn is_finished(&self) -> bool {
        self.finished
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "<unserializable>".to_owned())
}

fn error_step(message: &str) -> Step {
    Step { observation: format!("Error: {message}"), reward: 0.0, done: false }
}
