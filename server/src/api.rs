//! The operations of the API over the shared state, and their request and reply bodies;
//! both transports call them: HTTP (`routes.rs`) and the WebSocket (`ws.rs`).
//!
//! Steps come in two halves, so that a transport can run them in order and then await
//! their durability concurrently: `start_*` runs the calls in memory, off the async workers
//! (see `offload.rs`), and queues their writes; `finish` waits for the commit.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

use axum::http::StatusCode;
use codegym_core::{ActionFormat, EnvInfo, FaultKind, Outcome, ToolCall, parse_action};
use codegym_host::Limits;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::offload::blocking;
use crate::state::{AppState, Live, Session, clamp_limits};
use crate::store::Ack;

pub(crate) type AppResult<T> = Result<T, ApiError>;

#[derive(Serialize)]
struct ToolOut {
    name: String,
    description: String,
    /// The tool's JSON Schema.
    parameters: Value,
}

fn tools(info: &EnvInfo) -> Vec<ToolOut> {
    let schema = |text: &str| serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()));
    info.tools
        .iter()
        .map(|tool| ToolOut {
            name: tool.name.clone(),
            description: tool.description.clone(),
            parameters: schema(&tool.parameters),
        })
        .collect()
}

/// Every environment, in short.
pub(crate) async fn list_envs(state: Arc<AppState>) -> AppResult<Value> {
    blocking(move || {
        let registry = &state.registry;
        let envs = registry
            .names()
            .map(|name| match registry.get(name) {
                Ok(env) => {
                    let info = env.info();
                    json!({
                        "name": info.name, "version": info.version, "category": info.category,
                        "description": info.description, "tools": info.tools.len(),
                    })
                }
                Err(error) => json!({ "name": name, "error": error.to_string() }),
            })
            .collect();
        Ok(Value::Array(envs))
    })
    .await
}

/// One environment: its info, component hash and tool schemas.
pub(crate) async fn show_env(state: Arc<AppState>, name: String) -> AppResult<Value> {
    blocking(move || {
        let env = state.registry.get(&name)?;
        let info = env.info();
        Ok(json!({
            "name": info.name, "version": info.version, "category": info.category,
            "description": info.description, "hash": env.hash(), "tools": tools(info),
        }))
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateRequest {
    pub env: String,
    pub seed: Option<u64>,
    pub difficulty: Option<u32>,
    /// A task configuration (JSON object, or its text); sampled from seed and difficulty
    /// when absent.
    pub config: Option<Value>,
    /// Overrides of the server's limits (which they may only tighten).
    pub limits: Option<Value>,
}

#[derive(Serialize)]
pub(crate) struct SessionCreated {
    pub session_id: String,
    env: String,
    pub task: String,
    pub config: String,
    steps: u32,
    tools: Vec<ToolOut>,
}

impl SessionCreated {
    fn new(state: &AppState, session: &Session) -> Self {
        let live = session.lock();
        let episode = &live.episode;
        Self {
            session_id: state.format_id(session.id),
            env: session.env.clone(),
            task: episode.task().to_owned(),
            config: episode.log().config.clone(),
            steps: episode.steps(),
            tools: tools(episode.env().info()),
        }
    }
}

/// Start a new session and make it durable.
pub(crate) async fn create(state: &Arc<AppState>, request: CreateRequest) -> AppResult<SessionCreated> {
    state.check_capacity()?;
    let difficulty = request.difficulty.unwrap_or(50);
    if difficulty > 100 {
        return Err(ApiError::bad_request(format!("difficulty must be 0..=100, not {difficulty}")));
    }
    let limits = match request.limits {
        Some(overrides) => merge_limits(state.config.limits, overrides)?,
        None => state.config.limits,
    };
    let name = request.env.clone();
    let worker = state.clone();
    let episode = blocking(move || {
        let env = worker.registry.get(&request.env)?;
        let config = match request.config {
            Some(Value::String(text)) => text,
            Some(value) => value.to_string(),
            None => env.sample_config(request.seed.unwrap_or(0), difficulty)?,
        };
        Ok(env.start_with(&config, limits)?)
    })
    .await?;
    let session = state.insert(name, Live { episode, records: Vec::new() }).await?;
    Ok(SessionCreated::new(state, &session))
}

/// The server's limits with the given fields replaced, then clamped to the server's.
fn merge_limits(base: Limits, overrides: Value) -> AppResult<Limits> {
    let Value::Object(overrides) = overrides else {
        return Err(ApiError::bad_request("`limits` must be a JSON object"));
    };
    let mut merged = match serde_json::to_value(base) {
        Ok(Value::Object(map)) => map,
        _ => return Err(ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "cannot encode the limits")),
    };
    for (key, value) in overrides {
        if !merged.contains_key(&key) {
            let known: Vec<&String> = merged.keys().collect();
            return Err(ApiError::bad_request(format!("unknown limit `{key}`; known: {known:?}")));
        }
        merged.insert(key, value);
    }
    let limits = serde_json::from_value(Value::Object(merged))
        .map_err(|error| ApiError::bad_request(format!("invalid limits: {error}")))?;
    Ok(clamp_limits(limits, base))
}

/// A session's status, counters, limits and action log. Off the async workers: the session
/// may be locked by a step that runs to its backstop.
pub(crate) async fn show_session(state: &Arc<AppState>, id: String) -> AppResult<Value> {
    let state = state.clone();
    blocking(move || show_session_now(&state, &id)).await
}

fn show_session_now(state: &AppState, id: &str) -> AppResult<Value> {
    let session = state.session(id)?;
    let live = session.lock();
    let episode = &live.episode;
    Ok(json!({
        "session_id": state.format_id(session.id),
        "env": session.env,
        "created_ms": session.created_ms,
        "status": if episode.is_done() { "done" } else { "active" },
        "outcome": episode.outcome(),
        "steps": episode.steps(),
        "faults": episode.faults(),
        "reward": episode.reward(),
        "fuel_used": episode.fuel_used(),
        "limits": episode.limits(),
        "log": episode.log(),
    }))
}

pub(crate) async fn delete(state: &AppState, id: &str) -> AppResult<Value> {
    state.delete(id).await?;
    Ok(json!({ "deleted": id }))
}

/// An independent copy of a session, made durable.
pub(crate) async fn fork(state: &Arc<AppState>, id: &str) -> AppResult<SessionCreated> {
    state.check_capacity()?;
    let parent = state.session(id)?;
    let env = parent.env.clone();
    let live = blocking(move || {
        let live = parent.lock();
        Ok(Live { episode: live.episode.fork()?, records: live.records.clone() })
    })
    .await?;
    let session = state.insert(env, live).await?;
    Ok(SessionCreated::new(state, &session))
}

/// One step: a structured call, or raw model output to parse.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StepRequest {
    name: Option<String>,
    /// A JSON object, or its text; `{}` when absent.
    arguments: Option<Value>,
    text: Option<String>,
    /// How `text` is written; `codegym` when absent.
    format: Option<ActionFormat>,
}

enum Action {
    Call(ToolCall),
    Text(String, ActionFormat),
}

impl StepRequest {
    /// A structured call; `arguments` as for the HTTP body.
    pub fn call(name: String, arguments: Value) -> Self {
        Self { name: Some(name), arguments: Some(arguments), text: None, format: None }
    }

    /// Raw model output to parse.
    pub fn text(text: String, format: ActionFormat) -> Self {
        Self { name: None, arguments: None, text: Some(text), format: Some(format) }
    }

    fn action(self) -> AppResult<Action> {
        match (self.name, self.text) {
            (Some(name), None) if self.format.is_none() => {
                let arguments = match self.arguments {
                    None | Some(Value::Null) => "{}".to_owned(),
                    Some(Value::String(text)) => text,
                    Some(value) => value.to_string(),
                };
                Ok(Action::Call(ToolCall::new(name, arguments)))
            }
            (None, Some(text)) if self.arguments.is_none() => {
                Ok(Action::Text(text, self.format.unwrap_or_default()))
            }
            _ => Err(ApiError::bad_request(
                "a step is either {\"name\", \"arguments\"} or {\"text\", \"format\"}",
            )),
        }
    }
}

#[derive(Serialize)]
pub(crate) struct StepReply {
    pub observation: String,
    pub reward: f32,
    pub done: bool,
    pub steps: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault: Option<FaultKind>,
    /// How the episode ended (solved, wrong answer, step limit, fault), once `done`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// The text held no valid call; the episode did not see it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub parse_error: bool,
}

/// Run an action on a session; the reply may be sent once `ack` resolves.
fn run(state: &AppState, session: &Session, action: Action) -> (StepReply, Option<Ack>) {
    let call = match action {
        Action::Call(call) => call,
        Action::Text(text, format) => match parse_action(&text, format) {
            Ok(call) => call,
            Err(error) => {
                state.metrics.parse_errors.fetch_add(1, Relaxed);
                let live = session.lock();
                let reply = StepReply {
                    observation: error.to_observation(),
                    reward: 0.0,
                    done: live.episode.is_done(),
                    steps: live.episode.steps(),
                    fault: None,
                    outcome: live.episode.outcome(),
                    parse_error: true,
                };
                return (reply, None);
            }
        },
    };
    let stepped = state.step(session, &call);
    let result = stepped.result;
    let reply = StepReply {
        observation: result.observation,
        reward: result.reward,
        done: result.done,
        steps: stepped.steps,
        fault: result.fault,
        outcome: stepped.outcome,
        parse_error: false,
    };
    (reply, stepped.ack)
}

/// A step that ran in memory and waits to be durable.
pub(crate) struct PendingStep {
    start: Instant,
    session: Arc<Session>,
    reply: StepReply,
    ack: Option<Ack>,
}

/// Run one step on session `id`, off the async workers; its reply comes from
/// [`PendingStep::finish`].
pub(crate) async fn start_step(
    state: &Arc<AppState>,
    id: String,
    request: StepRequest,
) -> AppResult<PendingStep> {
    let start = Instant::now();
    let worker = state.clone();
    state.steps.run(move || step_now(&worker, &id, request, start)).await?
}

/// Run one step on session `id` on this thread, which may block for as long as the step's
/// limits allow; its latency counts from `start`.
fn step_now(state: &AppState, id: &str, request: StepRequest, start: Instant) -> AppResult<PendingStep> {
    let action = request.action()?;
    let session = state.session(id)?;
    let (reply, ack) = run(state, &session, action);
    Ok(PendingStep { start, session, reply, ack })
}

impl PendingStep {
    /// The reply, once the step is durable.
    pub async fn finish(self, state: &AppState) -> AppResult<StepReply> {
        state.acknowledge(&self.session, self.ack).await?;
        state.metrics.observe_step(self.start.elapsed());
        Ok(self.reply)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BatchRequest {
    /// Each `{session_id, ...a step}`; parsed one by one so that a bad item fails alone.
    steps: Vec<Value>,
}

/// A step addressed to a session: an item of a batch, or a WebSocket `step`.
#[derive(Deserialize)]
pub(crate) struct SessionStep {
    pub session_id: String,
    #[serde(flatten)]
    pub step: StepRequest,
}

#[derive(Serialize)]
#[serde(untagged)]
enum BatchResult {
    Ok {
        session_id: String,
        #[serde(flatten)]
        reply: StepReply,
    },
    Err {
        #[serde(skip_serializing_if = "Option::is_none")]
        session_id: Option<String>,
        status: u16,
        error: String,
    },
}

impl BatchResult {
    fn error(session_id: Option<String>, error: ApiError) -> Self {
        Self::Err { session_id, status: error.status.as_u16(), error: error.message }
    }
}

/// A batch that ran in memory, waiting to be durable.
pub(crate) struct PendingBatch(Vec<BatchItem>);

enum BatchItem {
    /// Not a `{session_id, ...a step}`.
    Invalid(ApiError),
    Started(String, AppResult<PendingStep>),
}

/// Run a batch's steps in order, together off the async workers; items fail one by one,
/// never the whole batch.
pub(crate) async fn start_batch(state: &Arc<AppState>, request: BatchRequest) -> AppResult<PendingBatch> {
    let worker = state.clone();
    state.steps.run(move || batch_now(&worker, request)).await
}

fn batch_now(state: &AppState, request: BatchRequest) -> PendingBatch {
    let items = request.steps.into_iter().map(|item| match serde_json::from_value::<SessionStep>(item) {
        Ok(item) => {
            let started = step_now(state, &item.session_id, item.step, Instant::now());
            BatchItem::Started(item.session_id, started)
        }
        Err(error) => BatchItem::Invalid(ApiError::bad_request(format!("invalid step: {error}"))),
    });
    PendingBatch(items.collect())
}

impl PendingBatch {
    /// `{"results": [...]}` once every step is durable (their writes share a group commit).
    pub async fn finish(self, state: &AppState) -> Value {
        let mut results = Vec::with_capacity(self.0.len());
        for item in self.0 {
            results.push(match item {
                BatchItem::Invalid(error) => BatchResult::error(None, error),
                BatchItem::Started(session_id, started) => {
                    let finished = match started {
                        Ok(pending) => pending.finish(state).await,
                        Err(error) => Err(error),
                    };
                    match finished {
                        Ok(reply) => BatchResult::Ok { session_id, reply },
                        Err(error) => BatchResult::error(Some(session_id), error),
                    }
                }
            });
        }
        json!({ "results": results })
    }
}
