//! JSON-RPC 2.0 as OpenEnv speaks it: `POST /openenv/{name}/mcp`, and the `mcp` messages
//! of the socket (`socket.rs`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use codegym_core::EnvInfo;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ResetData, Shared, call, call_result, env_info, fields, tools};
use crate::api::{self, StepRequest};
use crate::state::AppState;

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

/// A server error reply (an unknown environment on the `/mcp` socket).
pub(super) fn server_error(message: String) -> Value {
    rpc_error(&Value::Null, rpc_code::SERVER_ERROR, message, Value::Null)
}

/// The reply to a message that is not JSON.
pub(super) fn parse_error(error: &serde_json::Error) -> Value {
    rpc_error(&Value::Null, rpc_code::PARSE_ERROR, format!("Parse error: {error}"), Value::Null)
}

/// The reply to a JSON-RPC request (`value`), for environment `info`.
pub(super) async fn answer(
    state: &Arc<AppState>,
    info: &EnvInfo,
    value: Value,
    scope: RpcScope<'_>,
) -> Value {
    match parse_rpc(value) {
        Ok(request) => rpc(state, info, request, scope).await,
        Err(reply) => reply,
    }
}

/// Whose sessions a request may use.
pub(super) enum RpcScope<'a> {
    /// `POST /mcp`: the session `params.session_id` names.
    Http,
    /// An `mcp` message of `/ws`: the socket's episode, made by its last `reset`.
    Socket(Option<&'a str>),
    /// `/mcp` as a WebSocket: the connection's own session, made by its
    /// `openenv/session/create` or, with the defaults, by its first `tools/call`.
    McpSocket(&'a mut Option<String>),
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
        RpcScope::McpSocket(Some(session)) => session.clone(),
        RpcScope::McpSocket(own @ None) => {
            let (session, _) = create(state, info, serde_json::Map::new()).await?;
            state.hold(&session);
            own.insert(session).clone()
        }
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
/// task comes back with its id; over a socket, the socket's own session (on `/mcp`, made
/// now if it has none).
async fn rpc_create(
    state: &Arc<AppState>,
    info: &EnvInfo,
    params: serde_json::Map<String, Value>,
    scope: RpcScope<'_>,
) -> RpcResult {
    match scope {
        RpcScope::Socket(Some(session)) => Ok(json!({ "session_id": session })),
        RpcScope::Socket(None) => Err(RpcFailure::new(rpc_code::INVALID_REQUEST, NO_EPISODE_YET)),
        RpcScope::McpSocket(Some(session)) => Ok(json!({ "session_id": session })),
        RpcScope::McpSocket(own @ None) => {
            let (session, task) = create(state, info, params).await?;
            state.hold(&session);
            Ok(json!({ "session_id": own.insert(session), "task": task }))
        }
        RpcScope::Http => {
            let (session, task) = create(state, info, params).await?;
            Ok(json!({ "session_id": session, "task": task }))
        }
    }
}

/// A new session from `params` (a reset's `data`): its id and task.
async fn create(
    state: &Arc<AppState>,
    info: &EnvInfo,
    params: serde_json::Map<String, Value>,
) -> Result<(String, String), RpcFailure> {
    let reset = fields::<ResetData>(Value::Object(params))
        .map_err(|message| RpcFailure::new(rpc_code::INVALID_PARAMS, message))?;
    match api::create(state, reset.request(&info.name)).await {
        Ok(created) => Ok((created.session_id, created.task)),
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
    let own = match &scope {
        RpcScope::Socket(own) => *own,
        RpcScope::McpSocket(own) => own.as_deref(),
        RpcScope::Http => None,
    };
    if own == Some(target) {
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
        Err(error) => parse_error(&error),
        Ok(value) => answer(&state, &info, value, RpcScope::Http).await,
    };
    axum::Json(reply).into_response()
}
