//! The HTTP API: request and response bodies, and one handler per endpoint.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{DefaultBodyLimit, FromRequestParts, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use codegym_core::{ActionFormat, EnvInfo, FaultKind, ToolCall, parse_action};
use codegym_host::Limits;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::{ApiError, Json};
use crate::state::{AppState, Live, Session, clamp_limits, format_id};
use crate::store::Ack;

type AppResult<T> = Result<T, ApiError>;
type Shared = State<Arc<AppState>>;

/// The API over `state`; every error, the framework's included, is a JSON `{"error": ..}`.
pub(crate) fn router(state: Arc<AppState>) -> Router {
    let body_limit = state.config.body_limit_bytes;
    Router::new()
        .route("/healthz", get(|| async { axum::Json(json!({ "status": "ok" })) }))
        .route("/metrics", get(metrics))
        .route("/v1/envs", get(list_envs))
        .route("/v1/envs/{name}", get(show_env))
        .route("/v1/sessions", post(create_session))
        .route("/v1/sessions/{id}", get(show_session).delete(delete_session))
        .route("/v1/sessions/{id}/step", post(step))
        .route("/v1/sessions/{id}/fork", post(fork))
        .route("/v1/step", post(batch_step))
        .fallback(|| async { ApiError::not_found("no such endpoint") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method not allowed on this endpoint")
        })
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state)
}

/// `axum::extract::Path` whose rejections are JSON [`ApiError`]s.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
struct Path<T>(T);

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        Self::new(rejection.status(), rejection.body_text())
    }
}

/// Run blocking work (loading a component, starting or forking an episode) off the
/// async workers.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> AppResult<T> + Send + 'static) -> AppResult<T> {
    tokio::task::spawn_blocking(work).await.map_err(|error| {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("the request's worker failed: {error}"))
    })?
}

async fn metrics(State(state): Shared) -> impl IntoResponse {
    let text = state.metrics.render(state.live_sessions());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}

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

async fn list_envs(State(state): Shared) -> AppResult<axum::Json<Vec<Value>>> {
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
        Ok(axum::Json(envs))
    })
    .await
}

async fn show_env(State(state): Shared, Path(name): Path<String>) -> AppResult<axum::Json<Value>> {
    blocking(move || {
        let env = state.registry.get(&name)?;
        let info = env.info();
        Ok(axum::Json(json!({
            "name": info.name, "version": info.version, "category": info.category,
            "description": info.description, "hash": env.hash(), "tools": tools(info),
        })))
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateRequest {
    env: String,
    seed: Option<u64>,
    difficulty: Option<u32>,
    /// A task configuration (JSON object, or its text); sampled from seed and difficulty
    /// when absent.
    config: Option<Value>,
    /// Overrides of the server's limits (which they may only tighten).
    limits: Option<Value>,
}

#[derive(Serialize)]
struct SessionCreated {
    session_id: String,
    env: String,
    task: String,
    config: String,
    steps: u32,
    tools: Vec<ToolOut>,
}

impl SessionCreated {
    fn new(session: &Session) -> Self {
        let live = session.lock();
        let episode = &live.episode;
        Self {
            session_id: format_id(session.id),
            env: session.env.clone(),
            task: episode.task().to_owned(),
            config: episode.log().config.clone(),
            steps: episode.steps(),
            tools: tools(episode.env().info()),
        }
    }
}

async fn create_session(
    State(state): Shared,
    Json(request): Json<CreateRequest>,
) -> AppResult<(StatusCode, axum::Json<SessionCreated>)> {
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
    Ok((StatusCode::CREATED, axum::Json(SessionCreated::new(&session))))
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

async fn show_session(State(state): Shared, Path(id): Path<String>) -> AppResult<axum::Json<Value>> {
    let session = state.session(&id)?;
    let live = session.lock();
    let episode = &live.episode;
    Ok(axum::Json(json!({
        "session_id": format_id(session.id),
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
    })))
}

async fn delete_session(State(state): Shared, Path(id): Path<String>) -> AppResult<axum::Json<Value>> {
    state.delete(&id).await?;
    Ok(axum::Json(json!({ "deleted": id })))
}

async fn fork(
    State(state): Shared,
    Path(id): Path<String>,
) -> AppResult<(StatusCode, axum::Json<SessionCreated>)> {
    state.check_capacity()?;
    let parent = state.session(&id)?;
    let env = parent.env.clone();
    let live = blocking(move || {
        let live = parent.lock();
        Ok(Live { episode: live.episode.fork()?, records: live.records.clone() })
    })
    .await?;
    let session = state.insert(env, live).await?;
    Ok((StatusCode::CREATED, axum::Json(SessionCreated::new(&session))))
}

/// One step: a structured call, or raw model output to parse.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepRequest {
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
struct StepReply {
    observation: String,
    reward: f32,
    done: bool,
    steps: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    fault: Option<FaultKind>,
    /// The text held no valid call; the episode did not see it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    parse_error: bool,
}

/// Run an action on a session; the reply may be sent once `ack` resolves.
fn run(state: &AppState, session: &Session, action: Action) -> (StepReply, Option<Ack>) {
    let call = match action {
        Action::Call(call) => call,
        Action::Text(text, format) => match parse_action(&text, format) {
            Ok(call) => call,
            Err(error) => {
                state.metrics.parse_errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let live = session.lock();
                let reply = StepReply {
                    observation: error.to_observation(),
                    reward: 0.0,
                    done: live.episode.is_done(),
                    steps: live.episode.steps(),
                    fault: None,
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
        parse_error: false,
    };
    (reply, stepped.ack)
}

async fn step(
    State(state): Shared,
    Path(id): Path<String>,
    Json(request): Json<StepRequest>,
) -> AppResult<axum::Json<StepReply>> {
    let start = Instant::now();
    let action = request.action()?;
    let session = state.session(&id)?;
    let (reply, ack) = run(&state, &session, action);
    state.acknowledge(&session, ack).await?;
    state.metrics.observe_step(start.elapsed());
    Ok(axum::Json(reply))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchRequest {
    /// Each `{session_id, ...a step}`; parsed one by one so that a bad item fails alone.
    steps: Vec<Value>,
}

#[derive(Deserialize)]
struct BatchItem {
    session_id: String,
    #[serde(flatten)]
    step: StepRequest,
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

/// Steps across sessions in one request: all are run, then all their writes are awaited
/// together (they share a group commit). Items fail one by one, never the whole batch.
async fn batch_step(State(state): Shared, Json(request): Json<BatchRequest>) -> axum::Json<Value> {
    let mut pending = Vec::with_capacity(request.steps.len());
    for item in request.steps {
        let item: BatchItem = match serde_json::from_value(item) {
            Ok(item) => item,
            Err(error) => {
                let error = ApiError::bad_request(format!("invalid step: {error}"));
                pending.push((BatchResult::error(None, error), None));
                continue;
            }
        };
        let outcome = item.step.action().and_then(|action| {
            let session = state.session(&item.session_id)?;
            let (reply, ack) = run(&state, &session, action);
            Ok((session, reply, ack))
        });
        pending.push(match outcome {
            Ok((session, reply, ack)) => {
                (BatchResult::Ok { session_id: item.session_id, reply }, Some((session, ack)))
            }
            Err(error) => (BatchResult::error(Some(item.session_id), error), None),
        });
    }
    let mut results = Vec::with_capacity(pending.len());
    for (result, write) in pending {
        let result = match (result, write) {
            (BatchResult::Ok { session_id, reply }, Some((session, ack))) => {
                match state.acknowledge(&session, ack).await {
                    Ok(()) => BatchResult::Ok { session_id, reply },
                    Err(error) => BatchResult::error(Some(session_id), error),
                }
            }
            (result, _) => result,
        };
        results.push(result);
    }
    axum::Json(json!({ "results": results }))
}
