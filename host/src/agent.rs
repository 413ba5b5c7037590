//! A language model as the agent: the episode loop behind `codegym eval`.
//!
//! The loop knows nothing of HTTP: a [`ChatModel`] answers one chat-completions request,
//! whether over the network (the CLI's client) or in-process (a trainer's policy). Each
//! turn the reply is parsed with [`parse_action`] in the episode's [`ActionFormat`]; a call
//! goes to the environment, and a reply without exactly one valid call gets the parse
//! error as its observation, as the rollout server does: it costs a turn, the environment
//! never sees it, and it is counted. So a trajectory's `steps` hold only what the
//! environment received, and it replays like any other.

use std::collections::BTreeMap;
use std::time::Instant;

use codegym_core::{
    ActionFormat, AgentRecord, ChatMessage, Outcome, Role, Sampling, StopReason, Trajectory, TrajectoryStep,
    Usage, parse_action, render_observation, render_prompt, render_tools,
};
use serde::Serialize;
use serde_json::Value;

use crate::parallel::parallel_map;
use crate::{Error, Job, Limits};

/// A language model behind a chat-completions interface.
pub trait ChatModel: Send {
    /// The model's name, recorded in trajectories.
    fn name(&self) -> &str;
    /// The assistant's reply to the conversation in `request`.
    fn complete(&mut self, request: &ChatRequest<'_>) -> Result<Completion, ModelError>;
}

/// One turn's request: the conversation so far and how to sample the reply.
#[derive(Clone, Copy, Debug)]
pub struct ChatRequest<'a> {
    pub messages: &'a [ChatMessage],
    /// OpenAI function-tool definitions; empty unless the format is `openai-tools`.
    pub tools: &'a [Value],
    pub sampling: Sampling,
}

/// A model's reply.
#[derive(Clone, Debug)]
pub struct Completion {
    /// The assistant message (its role is taken to be `assistant`, whatever it says).
    pub message: ChatMessage,
    /// Tokens, if the model reported them.
    pub usage: Option<Usage>,
    /// Requests sent again before this reply came (after a 429, a 5xx, a timeout...).
    pub retries: u32,
}

/// Why a model gave no reply. Ends the episode, not the evaluation.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A status that retrying will not fix (a 4xx other than 429).
    #[error("the endpoint refused the request (HTTP {status}): {message}")]
    Rejected { status: u16, message: String, retries: u32 },
    /// Every attempt failed with a status or transport error worth retrying.
    #[error("no reply after {attempts} attempts; the last one: {last}")]
    Unavailable { attempts: u32, last: String },
    /// The reply came but is not a chat completion.
    #[error("malformed reply from the endpoint: {message}")]
    Malformed { message: String, retries: u32 },
    /// The request failed in a way that retrying will not change (bad URL, a reply over
    /// the size limit, ...).
    #[error("the request failed: {message}")]
    Request { message: String },
}

impl ModelError {
    /// Requests sent again before giving up.
    pub fn retries(&self) -> u32 {
        match self {
            ModelError::Rejected { retries, .. } | ModelError::Malformed { retries, .. } => *retries,
            ModelError::Unavailable { attempts, .. } => attempts.saturating_sub(1),
            ModelError::Request { .. } => 0,
        }
    }
}

/// How a model plays one episode.
#[derive(Clone, Debug)]
pub struct AgentOptions {
    pub format: ActionFormat,
    pub sampling: Sampling,
    /// Assistant replies before the episode is cut off (outcome `step_limit`, stop
    /// `max_turns`). Parse-error turns count.
    pub max_turns: u32,
    /// The episode stops (outcome `abandoned`, stop `context_budget`) before a request
    /// whose prompt, by [`ContextMeter`]'s estimate, plus `sampling.max_tokens` would exceed
    /// this many tokens.
    pub max_context_tokens: u64,
    /// The environment's limits (its own step limit counts only calls it received).
    pub limits: Limits,
}

/// Run one episode of `job` with `model` as the agent. `Err` only when the episode could
/// not start (bad config, reset fault); every model failure is in the trajectory.
///
/// A given task's own prompt is sent as it is (with the format's tool definitions, if any),
/// and its round limit, when lower, is the turn limit and the environment's step limit.
pub fn run_agent(job: &Job, model: &mut dyn ChatModel, options: &AgentOptions) -> Result<Trajectory, Error> {
    let config = job.config()?;
    let mut episode = job.env.start_with(&config, job.limits(options.limits))?;
    let info = job.env.info();
    let given = job.task.as_ref().map(|task| task.prompt.as_slice()).filter(|prompt| !prompt.is_empty());
    let (mut messages, tools) = match given {
        Some(prompt) => (prompt.to_vec(), render_tools(info, options.format)),
        None => {
            let prompt = render_prompt(info, episode.task(), options.format);
            (prompt.messages.into_iter().map(ChatMessage::from).collect(), prompt.tools)
        }
    };
    let max_turns = job.max_rounds(options.max_turns);
    let mut meter = ContextMeter::new(&tools);
    let mut record = AgentRecord {
        model: model.name().to_owned(),
        format: options.format,
        sampling: options.sampling,
        max_turns,
        max_context_tokens: options.max_context_tokens,
        turns: 0,
        parse_errors: 0,
        retries: 0,
        usage: None,
        stop: StopReason::Ended,
        error: None,
    };
    let reply_tokens = u64::from(options.sampling.max_tokens.unwrap_or(0));
    let mut steps = Vec::new();
    record.stop = loop {
        if episode.is_done() {
            break StopReason::Ended;
        }
        if record.turns >= max_turns {
            break StopReason::MaxTurns;
        }
        if meter.estimate(&messages).saturating_add(reply_tokens) > options.max_context_tokens {
            break StopReason::ContextBudget;
        }
        let request = ChatRequest { messages: &messages, tools: &tools, sampling: options.sampling };
        let completion = match model.complete(&request) {
            Ok(completion) => completion,
            Err(error) => {
                record.retries += error.retries();
                record.error = Some(error.to_string());
                break StopReason::ApiError;
            }
        };
        record.turns += 1;
        record.retries += completion.retries;
        if let Some(usage) = completion.usage {
            *record.usage.get_or_insert_default() += usage;
        }
        let reply = assistant_message(completion.message, record.turns);
        let action = parse_action(&reply.action_text(options.format), options.format);
        let call_ids: Vec<String> = reply.tool_calls.iter().map(|call| call.id.clone()).collect();
        messages.push(reply);
        meter.record(completion.usage, messages.len());
        let observation = match action {
            Ok(call) => {
                let result = episode.step(&call);
                let observation = result.observation.clone();
                steps.push(TrajectoryStep {
                    call,
                    observation: result.observation,
                    reward: result.reward,
                    done: result.done,
                    fault: result.fault,
                });
                observation
            }
            Err(error) => {
                record.parse_errors += 1;
                error.to_observation()
            }
        };
        push_observation(&mut messages, &observation, &call_ids, options.format);
    };
    let outcome = match (episode.outcome(), record.stop) {
        (Some(outcome), _) => outcome,
        (None, StopReason::MaxTurns) => Outcome::StepLimit,
        (None, _) => Outcome::Abandoned,
    };
    Ok(Trajectory {
        row: job.row(),
        outcome,
        messages,
        tools,
        agent: Some(record),
        ..episode.trajectory(job.seed, job.difficulty, "llm", steps)
    })
}

/// The reply as it goes into the conversation: role `assistant`, an id for every tool call
/// (some servers leave it out, but each must be answered by id), and content (empty) when
/// there is no call, as chat APIs require.
fn assistant_message(mut message: ChatMessage, turn: u32) -> ChatMessage {
    message.role = Role::Assistant;
    message.tool_call_id = None;
    if message.tool_calls.is_empty() && message.content.is_none() {
        message.content = Some(String::new());
    }
    for (index, call) in message.tool_calls.iter_mut().enumerate() {
        if call.id.is_empty() {
            call.id = format!("call_{turn}_{index}");
        }
    }
    message
}

/// The observation as the next message(s): a `tool` message answering each tool call of
/// the reply (chat APIs refuse a conversation with an unanswered call; a parse error answers
/// them all), else the format's observation message — a user message for `openai-tools`,
/// whose `tool` role needs a call to answer.
fn push_observation(
    messages: &mut Vec<ChatMessage>,
    observation: &str,
    call_ids: &[String],
    format: ActionFormat,
) {
    if !call_ids.is_empty() {
        messages.extend(call_ids.iter().map(|id| ChatMessage::tool_result(id.as_str(), observation)));
        return;
    }
    let message = match format {
        ActionFormat::OpenAiTools => ChatMessage::new(Role::User, observation),
        ActionFormat::CodeGym | ActionFormat::Hermes => render_observation(observation, format).into(),
    };
    messages.push(message);
}

/// Estimates the tokens a conversation takes as a prompt, for the context budget.
///
/// Once the model has reported `usage`, the estimate is that reply's prompt plus completion
/// tokens (the conversation up to and including it, exactly as the model counted) plus an
/// estimate of the messages after it; before that, an estimate of the whole conversation and
/// the tool definitions. Estimates are [`estimate_tokens`]: a token per 4 bytes, plus 4 per
/// message for the chat template's framing.
#[derive(Clone, Debug)]
pub struct ContextMeter {
    tools_tokens: u64,
    /// The last reported prompt + completion tokens, and how many messages they cover.
    anchor: Option<(u64, usize)>,
}

impl ContextMeter {
    pub fn new(tools: &[Value]) -> Self {
        let bytes: usize = tools.iter().map(|tool| tool.to_string().len()).sum();
        Self { tools_tokens: bytes_to_tokens(bytes), anchor: None }
    }

    /// The prompt tokens of a request holding `messages`.
    pub fn estimate(&self, messages: &[ChatMessage]) -> u64 {
        match self.anchor {
            Some((tokens, covered)) => {
                tokens.saturating_add(estimate_tokens(messages.get(covered..).unwrap_or_default()))
            }
            None => self.tools_tokens.saturating_add(estimate_tokens(messages)),
        }
    }

    /// A reply came with `usage` (if any); the conversation now has `messages` messages,
    /// that reply last.
    pub fn record(&mut self, usage: Option<Usage>, messages: usize) {
        if let Some(usage) = usage {
            self.anchor = Some((usage.total(), messages));
        }
    }
}

/// A token per 4 bytes of text (content, tool names and arguments), rounded up, plus 4 per
/// message.
pub fn estimate_tokens(messages: &[ChatMessage]) -> u64 {
    messages
        .iter()
        .map(|message| {
            let calls: usize = message
                .tool_calls
                .iter()
                .map(|call| call.function.name.len() + call.function.arguments.len())
                .sum();
            bytes_to_tokens(message.text().len() + calls) + 4
        })
        .sum()
}

fn bytes_to_tokens(bytes: usize) -> u64 {
    u64::try_from(bytes.div_ceil(4)).unwrap_or(u64::MAX)
}

/// Results of [`evaluate`]: totals, and pass rates per environment and per category.
#[derive(Debug, Serialize)]
pub struct EvalReport {
    pub episodes: usize,
    pub solved: usize,
    pub solved_pct: f64,
    /// Assistant replies over all episodes, parse-error turns included.
    pub turns: u64,
    pub mean_turns: f64,
    /// Calls the environments received.
    pub steps: u64,
    pub parse_errors: u64,
    /// Episodes ended by an API error.
    pub api_errors: usize,
    pub retries: u64,
    /// Tokens as reported by the model, summed; `None` if no reply reported any.
    pub usage: Option<Usage>,
    /// Episodes per stop reason (`ended`, `max_turns`, `context_budget`, `api_error`).
    pub stops: BTreeMap<String, usize>,
    /// Episodes that could not start, and API errors, each with its environment and seed (or
    /// task row).
    pub errors: Vec<String>,
    pub elapsed_secs: f64,
    pub per_env: Vec<EvalSummary>,
    pub per_category: Vec<EvalSummary>,
    #[serde(skip)]
    pub trajectories: Vec<Trajectory>,
}

/// One row of an [`EvalReport`]: an environment (`envs` = 1) or a category.
#[derive(Debug, Default, Serialize)]
pub struct EvalSummary {
    pub name: String,
    pub category: String,
    pub envs: usize,
    pub episodes: usize,
    pub solved: usize,
    pub solved_pct: f64,
    pub mean_turns: f64,
    pub parse_errors: u64,
    pub api_errors: usize,
    /// Episodes per outcome (`solved`, `wrong_answer`, ...; `error` when one could not start).
    pub outcomes: BTreeMap<String, usize>,
    #[serde(skip)]
    turns: u64,
}

/// Run every job with a model from `model` (given the job's index) on `concurrency`
/// threads. `finished` is called as each episode ends, with its trajectory (`None` if it
/// could not start), so a long evaluation can be saved as it goes.
pub fn evaluate(
    jobs: &[Job],
    model: &(dyn Fn(usize) -> Box<dyn ChatModel> + Sync),
    options: &AgentOptions,
    concurrency: usize,
    finished: &(dyn Fn(Option<&Trajectory>) + Sync),
) -> EvalReport {
    let started = Instant::now();
    let results = parallel_map(
        jobs,
        concurrency,
        |index, job| {
            let mut model = model(index);
            let result = run_agent(job, model.as_mut(), options);
            finished(result.as_ref().ok());
            result
        },
        || {},
    );
    summarize(jobs, results, started.elapsed().as_secs_f64())
}

fn summarize(jobs: &[Job], results: Vec<Result<Trajectory, Error>>, elapsed_secs: f64) -> EvalReport {
    let mut report = EvalReport {
        episodes: results.len(),
        solved: 0,
        solved_pct: 0.0,
        turns: 0,
        mean_turns: 0.0,
        steps: 0,
        parse_errors: 0,
        api_errors: 0,
        retries: 0,
        usage: None,
        stops: BTreeMap::new(),
        errors: Vec::new(),
        elapsed_secs,
        per_env: Vec::new(),
        per_category: Vec::new(),
        trajectories: Vec::with_capacity(results.len()),
    };
    let mut per_env: BTreeMap<String, EvalSummary> = BTreeMap::new();
    let mut per_category: BTreeMap<String, EvalSummary> = BTreeMap::new();
    for (job, result) in jobs.iter().zip(results) {
        let info = job.env.info();
        let env = per_env.entry(info.name.clone()).or_insert_with(|| EvalSummary {
            name: info.name.clone(),
            category: info.category.clone(),
            envs: 1,
            ..EvalSummary::default()
        });
        let category = per_category.entry(info.category.clone()).or_insert_with(|| EvalSummary {
            name: info.category.clone(),
            category: info.category.clone(),
            ..EvalSummary::default()
        });
        let trajectory = match result {
            Ok(trajectory) => trajectory,
            Err(error) => {
                report.errors.push(format!("{}: {error}", job.describe()));
                for row in [&mut *env, &mut *category] {
                    row.episodes += 1;
                    *row.outcomes.entry("error".into()).or_default() += 1;
                }
                continue;
            }
        };
        let solved = trajectory.outcome.is_solved();
        let (turns, parse_errors, api_error) = match &trajectory.agent {
            Some(agent) => {
                report.retries += u64::from(agent.retries);
                if let Some(usage) = agent.usage {
                    *report.usage.get_or_insert_default() += usage;
                }
                *report.stops.entry(agent.stop.as_str().into()).or_default() += 1;
                if let Some(error) = &agent.error {
                    report.errors.push(format!("{}: {error}", job.describe()));
                }
                (u64::from(agent.turns), u64::from(agent.parse_errors), agent.stop == StopReason::ApiError)
            }
            None => (0, 0, false),
        };
        report.solved += usize::from(solved);
        report.turns += turns;
        report.steps += trajectory.steps.len() as u64;
        report.parse_errors += parse_errors;
        report.api_errors += usize::from(api_error);
        for row in [&mut *env, &mut *category] {
            row.episodes += 1;
            row.solved += usize::from(solved);
            row.turns += turns;
            row.parse_errors += parse_errors;
            row.api_errors += usize::from(api_error);
            *row.outcomes.entry(trajectory.outcome.as_str().into()).or_default() += 1;
        }
        report.trajectories.push(trajectory);
    }
    for env in per_env.values() {
        if let Some(category) = per_category.get_mut(&env.category) {
            category.envs += 1;
        }
    }
    for row in per_env.values_mut().chain(per_category.values_mut()) {
        row.solved_pct = percent(row.solved, row.episodes);
        row.mean_turns = row.turns as f64 / row.episodes.max(1) as f64;
    }
    report.solved_pct = percent(report.solved, report.episodes);
    report.mean_turns = report.turns as f64 / report.episodes.max(1) as f64;
    report.per_env = per_env.into_values().collect();
    report.per_category = per_category.into_values().collect();
    report
}

fn percent(part: usize, whole: usize) -> f64 {
    100.0 * part as f64 / whole.max(1) as f64
}

#[cfg(test)]
mod tests {
    use codegym_core::ChatToolCall;

    use super::*;

    fn text(role: Role, content: &str) -> ChatMessage {
        ChatMessage::new(role, content)
    }

    #[test]
    fn estimate_is_bytes_over_four_plus_framing() {
        let messages = [text(Role::System, "12345678"), text(Role::User, "123")];
        assert_eq!(estimate_tokens(&messages), (2 + 4) + (1 + 4));
        let mut call = text(Role::Assistant, "");
        call.content = None;
        call.tool_calls.push(ChatToolCall::new("call_1", "Get", r#"{"index":12}"#));
        assert_eq!(estimate_tokens(&[call]), 4 + 4);
    }

    #[test]
    fn reported_usage_anchors_the_estimate() {
        let tools = [serde_json::json!({"type": "function", "function": {"name": "Get"}})];
        let mut meter = ContextMeter::new(&tools);
        let mut messages = vec![text(Role::System, &"x".repeat(400)), text(Role::User, "task")];
        let before = meter.estimate(&messages);
        assert_eq!(before, bytes_to_tokens(tools[0].to_string().len()) + 104 + 5);
        messages.push(text(Role::Assistant, "reply"));
        // No usage reported: still the byte estimate.
        meter.record(None, messages.len());
        assert_eq!(meter.estimate(&messages), before + 2 + 4);
        meter.record(Some(Usage { prompt_tokens: 900, completion_tokens: 20 }), messages.len());
        assert_eq!(meter.estimate(&messages), 920);
        messages.push(text(Role::User, "12345678"));
        assert_eq!(meter.estimate(&messages), 920 + 2 + 4);
    }

    #[test]
    fn every_tool_call_gets_an_id_and_an_answer() {
        let mut reply = text(Role::User, "");
        reply.tool_calls = vec![ChatToolCall::new("", "Get", "{}"), ChatToolCall::new("abc", "Length", "{}")];
        let reply = assistant_message(reply, 7);
        assert_eq!(reply.role, Role::Assistant);
        let mut silent = text(Role::Assistant, "");
        silent.content = None;
        assert_eq!(assistant_message(silent, 1), text(Role::Assistant, ""));
        let ids: Vec<String> = reply.tool_calls.iter().map(|call| call.id.clone()).collect();
        assert_eq!(ids, ["call_7_0", "abc"]);

        let mut messages = Vec::new();
        push_observation(&mut messages, "Error: two calls", &ids, ActionFormat::OpenAiTools);
        assert_eq!(
            messages,
            [
                ChatMessage::tool_result("call_7_0", "Error: two calls"),
                ChatMessage::tool_result("abc", "Error: two calls")
            ]
        );
        messages.clear();
        push_observation(&mut messages, "5", &[], ActionFormat::OpenAiTools);
        push_observation(&mut messages, "5", &[], ActionFormat::Hermes);
        assert_eq!(
            messages,
            [text(Role::User, "5"), text(Role::User, "<tool_response>\n5\n</tool_response>")]
        );
    }

    #[test]
    fn model_errors_count_their_retries() {
        let unavailable = ModelError::Unavailable { attempts: 5, last: "HTTP 500".into() };
        assert_eq!(unavailable.retries(), 4);
        assert_eq!(unavailable.to_string(), "no reply after 5 attempts; the last one: HTTP 500");
        assert_eq!(ModelError::Rejected { status: 400, message: "bad".into(), retries: 2 }.retries(), 2);
        assert_eq!(ModelError::Request { message: "bad URL".into() }.retries(), 0);
    }
}
