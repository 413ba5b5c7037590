//! OpenEnv at `/openenv/{name}/`: every environment as an [OpenEnv] environment, so that the
//! clients of the `openenv-core` package (`GenericEnvClient`, `MCPToolClient`, `openenv
//! validate --url`) work with `base_url = http://HOST:PORT/openenv/<env>`. The shapes follow
//! `openenv-core` 0.3.0 (`openenv/core/env_server/http_server.py`, `types.py`,
//! `mcp_types.py`); sessions are ours, made by the operations of `api.rs`, so they have the
//! limits and the durability of `/v1/sessions`.
//!
//! - `GET /ws`: one socket, one episode at a time. Messages are `{"type": "reset" | "step" |
//!   "state" | "close" | "mcp", "data": ...}`, answered one by one in order with
//!   `{"type": "observation", "data": {"observation", "reward", "done"}}`, `{"type": "state",
//!   "data": ...}`, `{"type": "mcp", "data": <JSON-RPC reply>}` or `{"type": "error",
//!   "data": {"message", "code"}}` (OpenEnv's `WSErrorCode`s); an error leaves the socket
//!   open. `reset` (`data`: `seed`, `difficulty`, `config`, `limits`, `episode_id`) starts a
//!   new session, deleting the socket's previous one; `close`, or the socket closing, deletes
//!   it. A `step`'s action is a tool call `{"name", "arguments"}`, OpenEnv's MCP actions
//!   `{"type": "call_tool", "tool_name", "arguments"}` and `{"type": "list_tools"}`, or raw
//!   model output `{"text", "format"}` (parsed as by `/v1`).
//! - `POST /mcp`: JSON-RPC 2.0 `tools/list`, `tools/call` (on a session named by
//!   `params.session_id`) and OpenEnv's `openenv/session/create` / `openenv/session/close`.
//!   Always HTTP 200 with a JSON-RPC reply, as OpenEnv answers, except for an unknown
//!   environment (404).
//! - `GET /health`, `/metadata`, `/schema`, `/openapi.json`: as OpenEnv's server answers;
//!   the OpenAPI document lists no `/reset`, `/step` or `/state` (OpenEnv's stateless HTTP
//!   episode calls), so `openenv validate` reads these servers as production mode.
//!
//! A step's observation is `{"text", "tool_name", "result", "error", "steps"}` plus `fault`,
//! `outcome` and `parse_error` when they apply: `text` is the environment's observation,
//! and `result` is shaped like the FastMCP `CallToolResult` OpenEnv's MCP environments
//! return, so `MCPToolClient.call_tool` returns the observation text.
//!
//! [OpenEnv]: https://github.com/meta-pytorch/OpenEnv

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use codegym_core::{ActionFormat, EnvInfo, parse_action};
use serde::Deserialize;
use serde::de::{DeserializeOwned, IgnoredAny};
use serde_json::{Value, json};

use crate::api::{self, AppResult, CreateRequest, StepReply, StepRequest};
use crate::error::ApiError;
use crate::offload::blocking;
use crate::state::AppState;

type Shared = State<Arc<AppState>>;

/// The OpenEnv HTTP API these routes follow, as `/openapi.json` declares it (`openenv
/// validate` reads `1.x` as the `openenv-http/1.x` profile).
const API_VERSION: &str = "1.0.0";

/// OpenEnv's `WSErrorCode`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Code {
    InvalidJson,
    UnknownType,
    ValidationError,
    ExecutionError,
    CapacityReached,
    FactoryError,
}

impl Code {
    fn as_str(self) -> &'static str {
        match self {
            Self::InvalidJson => "INVALID_JSON",
            Self::UnknownType => "UNKNOWN_TYPE",
            Self::ValidationError => "VALIDATION_ERROR",
            Self::ExecutionError => "EXECUTION_ERROR",
            Self::CapacityReached => "CAPACITY_REACHED",
            Self::FactoryError => "FACTORY_ERROR",
        }
    }
}

/// A WebSocket error reply.
struct WsError {
    code: Code,
    message: String,
    /// More fields of `data` (a full server's session counts).
    extra: Option<Value>,
}

impl WsError {
    fn new(code: Code, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), extra: None }
    }

    /// An operation's error: a full server is `CAPACITY_REACHED`, anything else
    /// `EXECUTION_ERROR`.
    fn from_api(state: &AppState, error: ApiError) -> Self {
        match error.status {
            StatusCode::TOO_MANY_REQUESTS => Self {
                code: Code::CapacityReached,
                message: error.message,
                extra: Some(json!({
                    "active_sessions": state.live_sessions(),
                    "max_sessions": state.config.max_sessions,
                })),
            },
            _ => Self::new(Code::ExecutionError, error.message),
        }
    }

    fn reply(self) -> Value {
        let mut data = json!({ "message": self.message, "code": self.code.as_str() });
        if let (Some(Value::Object(extra)), Some(map)) = (self.extra, data.as_object_mut()) {
            map.extend(extra);
        }
        json!({ "type": "error", "data": data })
    }
}

/// JSON-RPC 2.0 error codes (OpenEnv's `JsonRpcErrorCode`).
mod rpc_code {
    pub const PARSE_ERROR: i64 = -32700;
    pub const INVALID_REQUEST: i64 = -32600;
    pub const METHOD_NOT_FOUND: i64 = -32601;
    pub const INVALID_PARAMS: i64 = -32602;
    pub const INTERNAL_ERROR: i64 = -32603;
    pub const SERVER_ERROR: i64 = -32000;
}

fn rpc_ok(id: &Value, result: Value) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "result": result })
}

fn rpc_error(id: &Value, code: i64, message: impl Into<String>, data: Value) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "error": { "code": code, "message": message.into(), "data": data } })
}

/// An environment's info, or why there is none (404 for an unknown name).
async fn env_info(state: &Arc<AppState>, name: String) -> AppResult<EnvInfo> {
    let state = state.clone();
    blocking(move || Ok(state.registry.get(&name)?.info().clone())).await
}

/// An HTTP error as FastAPI writes one: `{"detail": message}`.
fn http_error(error: ApiError) -> Response {
    (error.status, axum::Json(json!({ "detail": error.message }))).into_response()
}

/// `GET /openenv/{name}/health`.
pub(crate) async fn health(State(state): Shared, Path(name): Path<String>) -> Response {
    match env_info(&state, name).await {
        Ok(_) => axum::Json(json!({ "status": "healthy" })).into_response(),
        Err(error) => http_error(error),
    }
}

/// `GET /openenv/{name}/metadata`: OpenEnv's `EnvironmentMetadata`.
pub(crate) async fn metadata(State(state): Shared, Path(name): Path<String>) -> Response {
    match env_info(&state, name).await {
        Ok(info) => axum::Json(json!({
            "name": info.name,
            "description": info.description,
            "readme_content": readme(&info),
            "version": info.version,
            "author": null,
            "documentation_url": null,
        }))
        .into_response(),
        Err(error) => http_error(error),
    }
}

/// A short Markdown page: the description, the category and the tools.
fn readme(info: &EnvInfo) -> String {
    let mut text =
        format!("# {}\n\n{}\n\nCategory: {}.\n\n## Tools\n\n", info.name, info.description, info.category);
    for tool in &info.tools {
        text.push_str(&format!("- `{}`: {}\n", tool.name, tool.description));
    }
    text
}

/// `GET /openenv/{name}/schema`: OpenEnv's `SchemaResponse`.
pub(crate) async fn schema(State(state): Shared, Path(name): Path<String>) -> Response {
    match env_info(&state, name).await {
        Ok(info) => axum::Json(json!({
            "action": action_schema(&info),
            "observation": observation_schema(),
            "state": state_schema(),
        }))
        .into_response(),
        Err(error) => http_error(error),
    }
}

fn action_schema(info: &EnvInfo) -> Value {
    let names: Vec<&str> = info.tools.iter().map(|tool| tool.name.as_str()).collect();
    let arguments =
        json!({ "type": "object", "description": "the tool's arguments (its schema: tools/list)" });
    let metadata = json!({ "type": "object", "description": "ignored" });
    json!({
        "title": "CodeGymAction",
        "description": "A tool call, OpenEnv's MCP actions, or raw model output to parse.",
        "oneOf": [
            {
                "title": "ToolCall", "type": "object",
                "properties": { "name": { "enum": names }, "arguments": arguments, "metadata": metadata },
                "required": ["name"], "additionalProperties": false,
            },
            {
                "title": "CallToolAction", "type": "object",
                "properties": {
                    "type": { "const": "call_tool" }, "tool_name": { "enum": names },
                    "arguments": arguments, "metadata": metadata,
                },
                "required": ["type", "tool_name"], "additionalProperties": false,
            },
            {
                "title": "ListToolsAction", "type": "object",
                "properties": { "type": { "const": "list_tools" }, "metadata": metadata },
                "required": ["type"], "additionalProperties": false,
            },
            {
                "title": "TextAction", "type": "object",
                "properties": {
                    "text": { "type": "string", "description": "raw model output holding one tool call" },
                    "format": { "enum": ["codegym", "hermes", "openai-tools"], "default": "codegym" },
                    "metadata": metadata,
                },
                "required": ["text"], "additionalProperties": false,
            },
        ],
    })
}

fn observation_schema() -> Value {
    json!({
        "title": "CodeGymObservation",
        "type": "object",
        "properties": {
            "text": { "type": "string", "description": "the task (after reset) or the tool's output" },
            "tool_name": { "type": "string", "description": "the tool called" },
            "result": { "type": "object", "description": "the output as an MCP CallToolResult (`data`: the text)" },
            "error": { "description": "always null: tool errors are observations" },
            "steps": { "type": "integer" },
            "fault": { "type": "string", "description": "present when the environment faulted" },
            "outcome": { "type": "object", "description": "present once done: how the episode ended" },
            "parse_error": { "type": "boolean", "description": "present (true) when `text` held no valid call" },
            "tools": { "type": "array", "description": "after reset and list_tools: name, description, input_schema" },
            "metadata": { "type": "object", "description": "after reset: env, session_id, episode_id, task, config" },
        },
    })
}

fn state_schema() -> Value {
    json!({
        "title": "CodeGymState",
        "type": "object",
        "properties": {
            "episode_id": { "type": ["string", "null"] },
            "step_count": { "type": "integer", "minimum": 0 },
            "session_id": { "type": "string", "description": "the session, also at /v1/sessions/{id}" },
            "env": { "type": "string" },
            "status": { "enum": ["none", "active", "done"] },
            "outcome": { "description": "how the episode ended (null while active)" },
            "reward": { "type": "number" },
            "faults": { "type": "integer" },
            "config": { "type": "string", "description": "the task configuration (JSON text)" },
        },
        "required": ["step_count"],
    })
}

/// `GET /openenv/{name}/openapi.json`: the routes under this environment's base URL.
pub(crate) async fn openapi(State(state): Shared, Path(name): Path<String>) -> Response {
    match env_info(&state, name).await {
        Ok(info) => axum::Json(document(&info)).into_response(),
        Err(error) => http_error(error),
    }
}

fn document(info: &EnvInfo) -> Value {
    let ok = |description: &str| json!({ "200": { "description": description } });
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": format!("{} (CodeGym-rs, OpenEnv protocol)", info.name),
            "version": API_VERSION,
            "description": format!("{} Served by codegym-server {}.", info.description, env!("CARGO_PKG_VERSION")),
        },
        "paths": {
            "/health": { "get": { "summary": "Health check", "responses": ok("healthy") } },
            "/metadata": { "get": { "summary": "Environment metadata", "responses": ok("EnvironmentMetadata") } },
            "/schema": { "get": { "summary": "Action, observation and state schemas", "responses": ok("SchemaResponse") } },
            "/openapi.json": { "get": { "summary": "This document", "responses": ok("OpenAPI 3.1") } },
            "/mcp": { "post": { "summary": "MCP JSON-RPC: tools/list, tools/call, openenv/session/create|close",
                               "responses": ok("a JSON-RPC 2.0 reply") } },
            "/ws": { "get": { "summary": "An episode over a WebSocket: reset, step, state, close, mcp",
                             "responses": { "101": { "description": "switching to the WebSocket protocol" } } } },
        },
    })
}

/// Tools as MCP lists them (`inputSchema`), or as OpenEnv's `ListToolsObservation` does
/// (`input_schema`).
fn tools(info: &EnvInfo, schema_key: &str) -> Value {
    let list = info
        .tools
        .iter()
        .map(|tool| {
            let schema = serde_json::from_str::<Value>(&tool.parameters)
                .unwrap_or_else(|_| json!({ "type": "object" }));
            let mut entry = json!({ "name": tool.name, "description": tool.description });
            entry[schema_key] = schema;
            entry
        })
        .collect();
    Value::Array(list)
}

/// A step's output as a FastMCP `CallToolResult` (what `MCPToolClient.call_tool` unwraps to
/// `data`), with the reward and whether the episode is done in `structured_content`.
fn call_result(reply: &StepReply) -> Value {
    json!({
        "content": [{ "type": "text", "text": reply.observation }],
        "structured_content": { "result": reply.observation, "reward": reply.reward, "done": reply.done },
        "meta": null,
        "data": reply.observation,
        "is_error": reply.fault.is_some() || reply.parse_error,
    })
}

/// A step as OpenEnv's `serialize_observation` writes it.
fn step_result(tool_name: Option<&str>, reply: &StepReply) -> Value {
    let mut observation = json!({
        "text": reply.observation,
        "result": call_result(reply),
        "error": null,
        "steps": reply.steps,
    });
    if let Some(name) = tool_name {
        observation["tool_name"] = json!(name);
    }
    if let Some(fault) = reply.fault {
        observation["fault"] = json!(fault);
    }
    if let Some(outcome) = reply.outcome {
        observation["outcome"] = json!(outcome);
    }
    if reply.parse_error {
        observation["parse_error"] = json!(true);
    }
    json!({ "observation": observation, "reward": reply.reward, "done": reply.done })
}

/// Run one tool call on session `id` and wait until it is durable.
async fn call(state: &Arc<AppState>, id: &str, request: StepRequest) -> AppResult<StepReply> {
    let pending = api::start_step(state, id.to_owned(), request).await?;
    pending.finish(state).await
}

// ---------------------------------------------------------------------------------------
// JSON-RPC (`POST /mcp`, and `mcp` messages over the socket)

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RpcRequest {
    jsonrpc: String,
    method: String,
    #[serde(default)]
    params: Option<serde_json::Map<String, Value>>,
    #[serde(default)]
    id: Value,
}

/// A JSON-RPC request, or the error reply for one that is not (OpenEnv answers a request
/// it cannot read with a `null` id).
fn parse_rpc(value: Value) -> Result<RpcRequest, Value> {
    let invalid = |why: String| {
        rpc_error(&Value::Null, rpc_code::INVALID_REQUEST, format!("Invalid request: {why}"), Value::Null)
    };
    let request = serde_json::from_value::<RpcRequest>(value).map_err(|error| invalid(error.to_string()))?;
    if request.jsonrpc != "2.0" {
        return Err(invalid("`jsonrpc` must be \"2.0\"".into()));
    }
    if !matches!(request.id, Value::Null | Value::String(_) | Value::Number(_)) {
        return Err(invalid("`id` must be a string, a number or null".into()));
    }
    Ok(request)
}

/// Where a `tools/call` runs: the socket's own session, or the one its params name.
enum RpcScope<'a> {
    Http,
    Socket(Option<&'a str>),
}

/// A JSON-RPC error: its code, message and data.
struct RpcFailure {
    code: i64,
    message: String,
    data: Value,
}

impl RpcFailure {
    fn new(code: i64, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), data: Value::Null }
    }
}

type RpcResult = Result<Value, RpcFailure>;

const NO_EPISODE_YET: &str = "no episode on this socket yet: send a reset first";

/// Answer one JSON-RPC request for environment `info`.
async fn rpc(state: &Arc<AppState>, info: &EnvInfo, request: RpcRequest, scope: RpcScope<'_>) -> Value {
    let params = request.params.unwrap_or_default();
    let result = match request.method.as_str() {
        "tools/list" => Ok(json!({ "tools": tools(info, "inputSchema") })),
        "tools/call" => rpc_call(state, info, &params, scope).await,
        "openenv/session/create" => rpc_create(state, info, params, scope).await,
        "openenv/session/close" => rpc_close(state, info, &params, scope).await,
        method => Err(RpcFailure::new(rpc_code::METHOD_NOT_FOUND, format!("Method not found: {method}"))),
    };
    match result {
        Ok(result) => rpc_ok(&request.id, result),
        Err(failure) => rpc_error(&request.id, failure.code, failure.message, failure.data),
    }
}

/// `tools/call`: one step of the socket's session, or of the one `params.session_id` names.
async fn rpc_call(
    state: &Arc<AppState>,
    info: &EnvInfo,
    params: &serde_json::Map<String, Value>,
    scope: RpcScope<'_>,
) -> RpcResult {
    let invalid = |message: String| RpcFailure::new(rpc_code::INVALID_PARAMS, message);
    let name = params
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid("Missing 'name' in params".into()))?;
    let arguments = match params.get("arguments") {
        None | Some(Value::Null) => json!({}),
        Some(arguments @ Value::Object(_)) => arguments.clone(),
        Some(_) => return Err(invalid("'arguments' must be an object".into())),
    };
    let session = match scope {
        RpcScope::Socket(Some(session)) => session.to_owned(),
        RpcScope::Socket(None) => return Err(RpcFailure::new(rpc_code::INVALID_REQUEST, NO_EPISODE_YET)),
        RpcScope::Http => session_of(state, info, params.get("session_id")).map_err(invalid)?,
    };
    match call(state, &session, StepRequest::call(name.to_owned(), arguments)).await {
        Ok(reply) => Ok(call_result(&reply)),
        Err(error) if error.status == StatusCode::NOT_FOUND => {
            Err(invalid(format!("Unknown session_id: {session}")))
        }
        Err(error) => Err(RpcFailure::new(rpc_code::INTERNAL_ERROR, error.message)),
    }
}

/// `openenv/session/create`: over HTTP a new session (`params` as a reset's `data`), whose
/// task comes back with its id; over the socket, the socket's own session.
async fn rpc_create(
    state: &Arc<AppState>,
    info: &EnvInfo,
    params: serde_json::Map<String, Value>,
    scope: RpcScope<'_>,
) -> RpcResult {
    match scope {
        RpcScope::Socket(Some(session)) => return Ok(json!({ "session_id": session })),
        RpcScope::Socket(None) => return Err(RpcFailure::new(rpc_code::INVALID_REQUEST, NO_EPISODE_YET)),
        RpcScope::Http => {}
    }
    let reset = fields::<ResetData>(Value::Object(params))
        .map_err(|message| RpcFailure::new(rpc_code::INVALID_PARAMS, message))?;
    match api::create(state, reset.request(&info.name)).await {
        Ok(created) => Ok(json!({ "session_id": created.session_id, "task": created.task })),
        Err(error) if error.status == StatusCode::TOO_MANY_REQUESTS => Err(RpcFailure {
            code: rpc_code::SERVER_ERROR,
            message: error.message,
            data: json!({ "active_sessions": state.live_sessions(), "max_sessions": state.config.max_sessions }),
        }),
        Err(error) => Err(RpcFailure::new(rpc_code::INVALID_PARAMS, error.message)),
    }
}

/// `openenv/session/close`: delete the session `params.session_id` (not the socket's own).
async fn rpc_close(
    state: &Arc<AppState>,
    info: &EnvInfo,
    params: &serde_json::Map<String, Value>,
    scope: RpcScope<'_>,
) -> RpcResult {
    let Some(target) = params.get("session_id").and_then(Value::as_str) else {
        return Err(RpcFailure::new(rpc_code::INVALID_PARAMS, "Invalid params - 'session_id' is required"));
    };
    if let RpcScope::Socket(Some(own)) = scope
        && own == target
    {
        let message = "Cannot close active WebSocket-managed session via MCP method";
        return Err(RpcFailure::new(rpc_code::INVALID_REQUEST, message));
    }
    let unknown = || RpcFailure::new(rpc_code::INVALID_PARAMS, format!("Unknown session_id: {target}"));
    session_of(state, info, params.get("session_id"))
        .map_err(|message| RpcFailure::new(rpc_code::INVALID_PARAMS, message))?;
    match api::delete(state, target).await {
        Ok(_) => Ok(json!({ "session_id": target, "closed": true })),
        Err(error) if error.status == StatusCode::NOT_FOUND => Err(unknown()),
        Err(error) => Err(RpcFailure::new(rpc_code::INTERNAL_ERROR, error.message)),
    }
}

/// The session `id` names, if it exists and is an episode of `info`'s environment.
fn session_of(state: &AppState, info: &EnvInfo, id: Option<&Value>) -> Result<String, String> {
    let Some(id) = id.and_then(Value::as_str) else {
        return Err("'session_id' is required (create one with openenv/session/create)".into());
    };
    match state.session(id) {
        Ok(session) if session.env == info.name => Ok(id.to_owned()),
        Ok(session) => Err(format!("session {id} is an episode of {}, not {}", session.env, info.name)),
        Err(_) => Err(format!("Unknown session_id: {id}")),
    }
}

/// `POST /openenv/{name}/mcp`.
pub(crate) async fn mcp(
    State(state): Shared,
    Path(name): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let info = match env_info(&state, name).await {
        Ok(info) => info,
        Err(error) => {
            let reply = rpc_error(&Value::Null, rpc_code::SERVER_ERROR, error.message, Value::Null);
            return (error.status, axum::Json(reply)).into_response();
        }
    };
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            let reply = rpc_error(&Value::Null, rpc_code::PARSE_ERROR, rejection.body_text(), Value::Null);
            return (rejection.status(), axum::Json(reply)).into_response();
        }
    };
    let reply = match serde_json::from_slice::<Value>(&body) {
        Err(_) => rpc_error(&Value::Null, rpc_code::PARSE_ERROR, "Parse error", Value::Null),
        Ok(value) => match parse_rpc(value) {
            Ok(request) => rpc(&state, &info, request, RpcScope::Http).await,
            Err(reply) => reply,
        },
    };
    axum::Json(reply).into_response()
}

// ---------------------------------------------------------------------------------------
// The WebSocket

/// `data` of a `reset` (and the params of `openenv/session/create`).
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetData {
    seed: Option<u64>,
    difficulty: Option<u32>,
    config: Option<Value>,
    limits: Option<Value>,
    /// Reported back as the state's `episode_id` (the session id when absent).
    episode_id: Option<String>,
}

impl ResetData {
    fn request(self, env: &str) -> CreateRequest {
        CreateRequest {
            env: env.to_owned(),
            seed: self.seed,
            difficulty: self.difficulty,
            config: self.config,
            limits: self.limits,
        }
    }
}

/// `data` of a `step`: any of the action shapes (see the module's documentation).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActionData {
    #[serde(rename = "type")]
    kind: Option<String>,
    name: Option<String>,
    tool_name: Option<String>,
    arguments: Option<Value>,
    text: Option<String>,
    format: Option<ActionFormat>,
    /// OpenEnv's `Action.metadata` (in every dumped `Action` model); ignored.
    #[serde(rename = "metadata")]
    _metadata: Option<IgnoredAny>,
}

enum Action {
    ListTools,
    Call { name: String, arguments: Value },
    Text { text: String, format: ActionFormat },
}

const ACTION_SHAPES: &str = "an action is {\"name\", \"arguments\"} (a tool call), {\"type\": \"call_tool\", \
    \"tool_name\", \"arguments\"}, {\"type\": \"list_tools\"} or {\"text\", \"format\"} (raw model output)";

impl ActionData {
    fn action(self) -> Result<Action, String> {
        let Self { kind, name, tool_name, arguments, text, format, _metadata: _ } = self;
        let arguments_ok =
            matches!(arguments, None | Some(Value::Null | Value::Object(_) | Value::String(_)));
        if !arguments_ok {
            return Err("`arguments` must be a JSON object (or its text)".into());
        }
        let arguments = arguments.unwrap_or(Value::Null);
        match (kind.as_deref(), name, tool_name, text) {
            (Some("list_tools"), None, None, None) if arguments.is_null() && format.is_none() => {
                Ok(Action::ListTools)
            }
            (Some("call_tool"), None, Some(name), None) if format.is_none() => {
                Ok(Action::Call { name, arguments })
            }
            (None, Some(name), None, None) if format.is_none() => Ok(Action::Call { name, arguments }),
            (None, None, None, Some(text)) if arguments.is_null() => {
                Ok(Action::Text { text, format: format.unwrap_or_default() })
            }
            (Some(kind), ..) if kind != "list_tools" && kind != "call_tool" => {
                Err(format!("unknown action type `{kind}`: {ACTION_SHAPES}"))
            }
            _ => Err(ACTION_SHAPES.into()),
        }
    }
}

/// A message's fields as `T`; a wrong shape is a message naming the problem.
fn fields<T: DeserializeOwned>(value: Value) -> Result<T, String> {
    serde_json::from_value(value).map_err(|error| format!("invalid data: {error}"))
}

/// `GET /openenv/{name}/ws`. An unknown environment is a 404 for a plain request; an
/// upgrade is accepted, and every message on it answered with a `FACTORY_ERROR` (OpenEnv's
/// code for an environment that cannot be made) until the client closes it.
pub(crate) async fn upgrade(
    State(state): Shared,
    Path(name): Path<String>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let info = env_info(&state, name.clone()).await;
    match (upgrade, info) {
        (Ok(upgrade), info) => {
            upgrade.max_message_size(state.config.body_limit_bytes).on_upgrade(move |socket| async move {
                match info {
                    Ok(info) => serve(state, info, socket).await,
                    Err(error) => refuse(socket, &name, error).await,
                }
            })
        }
        (Err(_), Err(error)) => http_error(error),
        (Err(rejection), Ok(_)) => http_error(ApiError::new(rejection.status(), rejection.body_text())),
    }
}

/// Answer each message with the reason there is no environment, until the client closes.
async fn refuse(mut socket: WebSocket, name: &str, error: ApiError) {
    let mut reply = WsError::new(Code::FactoryError, error.message);
    reply.extra = Some(json!({ "factory_name": name }));
    let reply = reply.reply().to_string();
    loop {
        let closing = match socket.recv().await {
            Some(Ok(Message::Text(text))) => is_close(text.as_bytes()),
            Some(Ok(Message::Binary(bytes))) => is_close(&bytes),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(Message::Close(_)) | Err(_)) | None => return,
        };
        if closing {
            break;
        }
        if socket.send(Message::Text(reply.clone().into())).await.is_err() {
            return;
        }
    }
    _ = socket.send(Message::Close(None)).await;
}

/// Whether a message is OpenEnv's `{"type": "close"}`.
fn is_close(bytes: &[u8]) -> bool {
    serde_json::from_slice::<Value>(bytes).is_ok_and(|message| message["type"] == "close")
}

/// One socket's episode.
struct Connection {
    state: Arc<AppState>,
    info: EnvInfo,
    /// The current session, from the last successful reset.
    session: Option<String>,
    episode_id: Option<String>,
}

/// What to do after a message.
enum Next {
    Reply(Value),
    Close,
}

/// Serve one socket: each message is answered before the next is read. The session is
/// deleted when the socket closes.
async fn serve(state: Arc<AppState>, info: EnvInfo, mut socket: WebSocket) {
    let mut connection = Connection { state, info, session: None, episode_id: None };
    loop {
        let bytes = match socket.recv().await {
            Some(Ok(Message::Text(text))) => Bytes::from(text),
            Some(Ok(Message::Binary(bytes))) => bytes,
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(Message::Close(_)) | Err(_)) | None => break,
        };
        match connection.handle(&bytes).await {
            Next::Reply(reply) => {
                if socket.send(Message::Text(reply.to_string().into())).await.is_err() {
                    break;
                }
            }
            Next::Close => break,
        }
    }
    // Deleted before the closing handshake, so a client that saw it sees the session gone.
    connection.end().await;
    _ = socket.send(Message::Close(None)).await;
}

impl Connection {
    async fn handle(&mut self, bytes: &[u8]) -> Next {
        let message = match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(message)) => message,
            Ok(_) => {
                return Next::Reply(
                    WsError::new(Code::ValidationError, "a message is a JSON object {type, data}").reply(),
                );
            }
            Err(error) => {
                return Next::Reply(
                    WsError::new(Code::InvalidJson, format!("Invalid JSON: {error}")).reply(),
                );
            }
        };
        let kind = message.get("type").and_then(Value::as_str).unwrap_or_default().to_owned();
        let data = message.get("data").cloned();
        let extra: Vec<&String> = message.keys().filter(|key| *key != "type" && *key != "data").collect();
        if !extra.is_empty() && matches!(kind.as_str(), "reset" | "step" | "state" | "close" | "mcp") {
            let message = format!("Invalid message: unknown fields {extra:?} (a message is {{type, data}})");
            return Next::Reply(WsError::new(Code::ValidationError, message).reply());
        }
        let reply = match kind.as_str() {
            "reset" => self.reset(data.unwrap_or_else(|| json!({}))).await,
            "step" => match data {
                Some(data) => self.step(data).await,
                None => Err(WsError::new(
                    Code::ValidationError,
                    "Invalid message: a step needs `data` (the action)",
                )),
            },
            "state" if data.is_none() => self.state().await,
            "close" if data.is_none() => return Next::Close,
            "state" | "close" => {
                Err(WsError::new(Code::ValidationError, format!("Invalid message: a {kind} has no `data`")))
            }
            "mcp" => match data {
                Some(data) => Ok(self.mcp(data).await),
                None => {
                    Err(WsError::new(Code::ValidationError, "Invalid message: an mcp message needs `data`"))
                }
            },
            _ => Err(WsError::new(Code::UnknownType, format!("Unknown message type: {kind}"))),
        };
        Next::Reply(reply.unwrap_or_else(WsError::reply))
    }

    /// Start a new session, deleting the previous one.
    async fn reset(&mut self, data: Value) -> Result<Value, WsError> {
        let reset =
            fields::<ResetData>(data).map_err(|message| WsError::new(Code::ValidationError, message))?;
        if let Some(difficulty) = reset.difficulty.filter(|difficulty| *difficulty > 100) {
            let message = format!("invalid data: difficulty must be 0..=100, not {difficulty}");
            return Err(WsError::new(Code::ValidationError, message));
        }
        self.end().await;
        let episode_id = reset.episode_id.clone();
        let created = api::create(&self.state, reset.request(&self.info.name))
            .await
            .map_err(|error| WsError::from_api(&self.state, error))?;
        self.episode_id = episode_id;
        self.session = Some(created.session_id.clone());
        let observation = json!({
            "text": created.task,
            "tools": tools(&self.info, "input_schema"),
            "steps": 0,
            "metadata": {
                "env": self.info.name,
                "session_id": created.session_id,
                "episode_id": self.episode_id.as_deref().unwrap_or(&created.session_id),
                // Again, for clients that keep only a reset's metadata (`MCPToolClient`).
                "task": created.task,
                "config": created.config,
            },
        });
        Ok(
            json!({ "type": "observation", "data": { "observation": observation, "reward": null, "done": false } }),
        )
    }

    async fn step(&mut self, data: Value) -> Result<Value, WsError> {
        let action = fields::<ActionData>(data)
            .and_then(ActionData::action)
            .map_err(|message| WsError::new(Code::ValidationError, message))?;
        let observation = |data: Value| json!({ "type": "observation", "data": data });
        let (tool_name, request) = match action {
            // Needs no episode, and is not one of its steps.
            Action::ListTools => {
                let tools = json!({ "tools": tools(&self.info, "input_schema") });
                return Ok(observation(json!({ "observation": tools, "reward": null, "done": false })));
            }
            Action::Call { name, arguments } => (Some(name.clone()), StepRequest::call(name, arguments)),
            Action::Text { text, format } => match parse_action(&text, format) {
                Ok(parsed) => (
                    Some(parsed.name.clone()),
                    StepRequest::call(parsed.name, Value::String(parsed.arguments)),
                ),
                // The step replies with the parse error (and counts it).
                Err(_) => (None, StepRequest::text(text, format)),
            },
        };
        let Some(session) = self.session.clone() else {
            return Err(WsError::new(Code::ExecutionError, "no episode yet: send a reset first"));
        };
        let reply = call(&self.state, &session, request)
            .await
            .map_err(|error| WsError::from_api(&self.state, error))?;
        Ok(observation(step_result(tool_name.as_deref(), &reply)))
    }

    async fn state(&self) -> Result<Value, WsError> {
        let Some(session) = &self.session else {
            let data =
                json!({ "episode_id": null, "step_count": 0, "env": self.info.name, "status": "none" });
            return Ok(json!({ "type": "state", "data": data }));
        };
        let shown = api::show_session(&self.state, session.clone())
            .await
            .map_err(|error| WsError::from_api(&self.state, error))?;
        let data = json!({
            "episode_id": self.episode_id.as_deref().unwrap_or(session),
            "step_count": shown["steps"],
            "session_id": session,
            "env": self.info.name,
            "status": shown["status"],
            "outcome": shown["outcome"],
            "reward": shown["reward"],
            "faults": shown["faults"],
            "config": shown["log"]["config"],
        });
        Ok(json!({ "type": "state", "data": data }))
    }

    async fn mcp(&self, data: Value) -> Value {
        let reply = match parse_rpc(data) {
            Ok(request) => {
                rpc(&self.state, &self.info, request, RpcScope::Socket(self.session.as_deref())).await
            }
            Err(reply) => reply,
        };
        json!({ "type": "mcp", "data": reply })
    }

    /// Delete the current session, if any (it may have expired meanwhile).
    async fn end(&mut self) {
        if let Some(session) = self.session.take() {
            _ = api::delete(&self.state, &session).await;
        }
        self.episode_id = None;
    }
}
