//! Actions from Python, and one turn of an episode: a tool call, or a model's raw output
//! that is parsed first (a reply with no valid call is a counted parse-error turn that the
//! environment never sees, as in the server and `codegym eval`).

use codegym_core::{ActionFormat, FaultKind, Outcome, ToolCall, parse_action};
use codegym_host::Episode;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use crate::errors::InvalidActionError;

/// What the agent did.
pub(crate) enum Action {
    Call(ToolCall),
    Text(String, ActionFormat),
}

const SHAPE: &str =
    "an action is {\"name\": str, \"arguments\": dict | str} or {\"text\": str, \"format\": str}";

impl Action {
    /// `{"name", "arguments"}` (arguments a dict, its JSON text, or absent for none) or
    /// `{"text", "format"}` (format `codegym`, `hermes` or `openai-tools`; default
    /// `codegym`). Any other key is refused, so a typo is not silently ignored.
    pub(crate) fn from_python(object: &Bound<'_, PyAny>) -> PyResult<Self> {
        let Ok(dict) = object.cast::<PyDict>() else {
            return Err(InvalidActionError::new_err(format!("{SHAPE}, not {}", type_name(object))));
        };
        let field = |key: &str| dict.get_item(key);
        let (name, arguments, text, format) =
            (field("name")?, field("arguments")?, field("text")?, field("format")?);
        let given = [&name, &arguments, &text, &format].iter().filter(|f| f.is_some()).count();
        if given != dict.len() {
            let keys: Vec<String> = dict.keys().iter().map(|key| key.to_string()).collect();
            return Err(InvalidActionError::new_err(format!("{SHAPE}; got keys {keys:?}")));
        }
        match (name, text) {
            (Some(name), None) if format.is_none() => {
                let name = string(&name, "name")?;
                let arguments = match arguments {
                    None => "{}".to_owned(),
                    Some(value) if value.is_none() => "{}".to_owned(),
                    Some(value) => match value.cast::<PyString>() {
                        Ok(text) => text.to_str()?.to_owned(),
                        Err(_) => crate::convert::to_json(&value, "arguments")?,
                    },
                };
                Ok(Action::Call(ToolCall::new(name, arguments)))
            }
            (None, Some(text)) if arguments.is_none() => {
                let text = string(&text, "text")?;
                let format = match format {
                    None => ActionFormat::default(),
                    Some(format) => string(&format, "format")?
                        .parse()
                        .map_err(|error| InvalidActionError::new_err(format!("{error}")))?,
                };
                Ok(Action::Text(text, format))
            }
            _ => Err(InvalidActionError::new_err(SHAPE)),
        }
    }
}

fn string(value: &Bound<'_, PyAny>, what: &str) -> PyResult<String> {
    value
        .extract()
        .map_err(|_| InvalidActionError::new_err(format!("`{what}` must be a str, not {}", type_name(value))))
}

fn type_name(value: &Bound<'_, PyAny>) -> String {
    value.get_type().name().map_or_else(|_| "?".to_owned(), |name| name.to_string())
}

/// One turn's result, as `step` reports it.
pub(crate) struct Turn {
    pub observation: String,
    pub reward: f32,
    pub done: bool,
    pub fault: Option<FaultKind>,
    pub outcome: Option<Outcome>,
    pub steps: u32,
    /// The text held no valid call; the environment did not see it.
    pub parse_error: bool,
    /// The call the environment received, if any.
    pub call: Option<ToolCall>,
}

impl Turn {
    /// Gymnasium's split of `done`: the step limit truncates, everything else terminates.
    pub(crate) fn terminated(&self) -> bool {
        self.done && self.outcome != Some(Outcome::StepLimit)
    }

    pub(crate) fn truncated(&self) -> bool {
        self.outcome == Some(Outcome::StepLimit)
    }
}

/// Play `action` on `episode`.
pub(crate) fn act(episode: &mut Episode, action: Action) -> Turn {
    let call = match action {
        Action::Call(call) => call,
        Action::Text(text, format) => match parse_action(&text, format) {
            Ok(call) => call,
            Err(error) => {
                return Turn {
                    observation: error.to_observation(),
                    reward: 0.0,
                    done: episode.is_done(),
                    fault: None,
                    outcome: episode.outcome(),
                    steps: episode.steps(),
                    parse_error: true,
                    call: None,
                };
            }
        },
    };
    let result = episode.step(&call);
    Turn {
        observation: result.observation,
        reward: result.reward,
        done: result.done,
        fault: result.fault,
        outcome: episode.outcome(),
        steps: episode.steps(),
        parse_error: false,
        call: Some(call),
    }
}
