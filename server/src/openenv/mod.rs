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
//!   environment (404). `GET /mcp` is the same JSON-RPC over a WebSocket, with one session
//!   per socket, as OpenEnv's `/mcp` socket.
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

mod rpc;
mod socket;

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use codegym_core::EnvInfo;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::api::{self, AppResult, CreateRequest, StepReply, StepRequest};
use crate::error::ApiError;
use crate::offload::blocking;
use crate::state::AppState;

pub(crate) use rpc::mcp;
pub(crate) use socket::{mcp_upgrade, upgrade};

type Shared = State<Arc<AppState>>;

/// The OpenEnv HTTP API these routes follow, as `/openapi.json` declares it (`openenv
/// validate` reads `1.x` as the `openenv-http/1.x` profile).
const API_VERSION: &str = "1.0.0";

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
            "/mcp": {
                "post": { "summary": "MCP JSON-RPC: tools/list, tools/call, openenv/session/create|close",
                          "responses": ok("a JSON-RPC 2.0 reply") },
                "get": { "summary": "MCP JSON-RPC over a WebSocket, one session per socket",
                         "responses": { "101": { "description": "switching to the WebSocket protocol" } } },
            },
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

/// A message's fields as `T`; a wrong shape is a message naming the problem.
fn fields<T: DeserializeOwned>(value: Value) -> Result<T, String> {
    serde_json::from_value(value).map_err(|error| format!("invalid data: {error}"))
}
