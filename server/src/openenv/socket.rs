//! `GET /openenv/{name}/ws`: one episode per socket, OpenEnv's messages answered in order.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use codegym_core::{ActionFormat, EnvInfo, parse_action};
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::{Value, json};

use super::rpc::{self, RpcScope};
use super::{ResetData, Shared, call, env_info, fields, http_error, step_result, tools};
use crate::api::{self, StepRequest};
use crate::error::ApiError;
use crate::state::AppState;

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
        (Ok(upgrade), info) => crate::ws::configure(upgrade, &state).on_upgrade(move |socket| async move {
            match info {
                Ok(info) => serve(state, info, socket).await,
                Err(error) => {
                    let mut reply = WsError::new(Code::FactoryError, error.message);
                    reply.extra = Some(json!({ "factory_name": name }));
                    refuse(socket, reply.reply()).await;
                }
            }
        }),
        (Err(_), Err(error)) => http_error(error),
        (Err(rejection), Ok(_)) => http_error(ApiError::new(rejection.status(), rejection.body_text())),
    }
}

/// `GET /openenv/{name}/mcp`: JSON-RPC over a WebSocket, as OpenEnv's `/mcp` socket, one
/// request per message and one reply each, in order. The connection has one session of its
/// own (made by `openenv/session/create`, whose params are a reset's `data`, or with the
/// defaults by the first `tools/call`), deleted when the socket closes. An unknown
/// environment: as for `/ws`, with a JSON-RPC server error for every message.
pub(crate) async fn mcp_upgrade(
    State(state): Shared,
    Path(name): Path<String>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let info = env_info(&state, name).await;
    match (upgrade, info) {
        (Ok(upgrade), info) => crate::ws::configure(upgrade, &state).on_upgrade(move |socket| async move {
            match info {
                Ok(info) => serve_mcp(state, info, socket).await,
                Err(error) => refuse(socket, rpc::server_error(error.message)).await,
            }
        }),
        (Err(_), Err(error)) => http_error(error),
        (Err(rejection), Ok(_)) => http_error(ApiError::new(rejection.status(), rejection.body_text())),
    }
}

/// Serve `/mcp` as a WebSocket until the client closes it.
async fn serve_mcp(state: Arc<AppState>, info: EnvInfo, mut socket: WebSocket) {
    let mut session = None;
    while let Some(bytes) = next_message(&mut socket).await {
        let reply = match serde_json::from_slice::<Value>(&bytes) {
            Ok(value) => rpc::answer(&state, &info, value, RpcScope::McpSocket(&mut session)).await,
            Err(error) => rpc::parse_error(&error),
        };
        if socket.send(Message::Text(reply.to_string().into())).await.is_err() {
            break;
        }
    }
    if let Some(session) = session {
        state.release(&session);
        _ = api::delete(&state, &session).await;
    }
    _ = socket.send(Message::Close(None)).await;
}

/// The next text or binary message; `None` once the socket is closed or broken.
async fn next_message(socket: &mut WebSocket) -> Option<Bytes> {
    loop {
        match socket.recv().await {
            Some(Ok(Message::Text(text))) => return Some(Bytes::from(text)),
            Some(Ok(Message::Binary(bytes))) => return Some(bytes),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
            Some(Ok(Message::Close(_)) | Err(_)) | None => return None,
        }
    }
}

/// Answer each message with `reply` (why there is no environment), until the client closes
/// the socket (or sends OpenEnv's `close`).
async fn refuse(mut socket: WebSocket, reply: Value) {
    let reply = reply.to_string();
    while let Some(bytes) = next_message(&mut socket).await {
        if is_close(&bytes) {
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
    while let Some(bytes) = next_message(&mut socket).await {
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
        self.state.hold(&created.session_id);
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
        let reply =
            rpc::answer(&self.state, &self.info, data, RpcScope::Socket(self.session.as_deref())).await;
        json!({ "type": "mcp", "data": reply })
    }

    /// Delete the current session, if any (it may have expired meanwhile).
    async fn end(&mut self) {
        if let Some(session) = self.session.take() {
            self.state.release(&session);
            _ = api::delete(&self.state, &session).await;
        }
        self.episode_id = None;
    }
}
