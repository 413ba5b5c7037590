//! `GET /v1/ws`: the API over one WebSocket, pipelined.
//!
//! Each text (or binary) message is a JSON object `{"id": any, "op": "create" | "step" |
//! "batch" | "fork" | "get" | "delete" | "envs", ...the HTTP body's fields}`, where `step`,
//! `fork`, `get` and `delete` name their session with `session_id` and `envs` takes an
//! optional `name`. Each gets one reply, `{"id", "ok": true, "result": ...the HTTP reply}`
//! or `{"id", "ok": false, "status": ...the HTTP status, "error"}`.
//!
//! Ordering: requests are *applied* one at a time in the order they arrive (so pipelined
//! steps of one session run in order; a step or batch runs off the async workers and the
//! socket waits for it), but a step's or batch's reply waits in the background for its
//! commit while later requests go on, so pipelined steps share group commits; `create` and
//! `envs` run entirely in the background. Replies can therefore
//! arrive out of order: match them by `id`. A malformed message gets an error reply; only
//! a message over the body limit or a broken connection closes the socket.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures_util::SinkExt;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::api::{self, AppResult, SessionStep};
use crate::error::ApiError;
use crate::state::AppState;

pub(crate) async fn upgrade(
    State(state): State<Arc<AppState>>,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    match upgrade {
        Ok(upgrade) => configure(upgrade, &state).on_upgrade(move |socket| serve(state, socket)),
        Err(rejection) => ApiError::new(rejection.status(), rejection.body_text()).into_response(),
    }
}

/// How much a socket reads at a time. tungstenite zero-fills that much of its buffer before
/// every read (128 KiB by default, twice per message: the read and the one that would
/// block), which `perf` showed as ~4.5% of the server's CPU for lock-step OpenEnv steps;
/// a step's message is a few hundred bytes, and larger ones are read in several reads.
const READ_BUFFER_BYTES: usize = 4 << 10;

/// A socket's limits, for every WebSocket the server accepts: messages up to the body
/// limit, read [`READ_BUFFER_BYTES`] at a time.
pub(crate) fn configure(upgrade: WebSocketUpgrade, state: &AppState) -> WebSocketUpgrade {
    upgrade.max_message_size(state.config.body_limit_bytes).read_buffer_size(READ_BUFFER_BYTES)
}

#[derive(Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Op {
    Create,
    Step,
    Batch,
    Fork,
    Get,
    Delete,
    Envs,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SessionRef {
    session_id: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvsRequest {
    name: Option<String>,
}

type Later = Pin<Box<dyn Future<Output = AppResult<Value>> + Send>>;

/// A request's reply: ready now, or once its work (or its commit) is done.
enum Answer {
    Now(AppResult<Value>),
    Later(Later),
}

/// Serve one socket until the client closes it or the connection breaks. Replies are
/// written as they come and flushed whenever nothing else is ready.
async fn serve(state: Arc<AppState>, mut socket: WebSocket) {
    let (finished, mut replies) = mpsc::unbounded_channel::<String>();
    let mut in_flight = 0usize;
    let mut unflushed = false;
    loop {
        let outgoing = tokio::select! {
            biased;
            Some(reply) = replies.recv() => {
                in_flight -= 1;
                reply
            }
            message = socket.recv(), if in_flight < state.config.ws_max_in_flight.max(1) => {
                let (id, request) = match message {
                    Some(Ok(Message::Text(text))) => parse(text.as_bytes()),
                    Some(Ok(Message::Binary(bytes))) => parse(&bytes),
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                    Some(Ok(Message::Close(_)) | Err(_)) | None => break,
                };
                let answer = match request {
                    Ok((op, fields)) => handle(&state, op, fields).await,
                    Err(error) => Answer::Now(Err(error)),
                };
                match answer.now() {
                    Ok(result) => reply(id, result),
                    Err(work) => {
                        in_flight += 1;
                        let finished = finished.clone();
                        tokio::spawn(async move { _ = finished.send(reply(id, work.await)) });
                        continue;
                    }
                }
            }
            () = std::future::ready(()), if unflushed => {
                if socket.flush().await.is_err() {
                    break;
                }
                unflushed = false;
                continue;
            }
        };
        if socket.feed(Message::Text(outgoing.into())).await.is_err() {
            break;
        }
        unflushed = true;
    }
}

impl Answer {
    /// The result if it is ready without waiting (a step with nothing to commit), else the
    /// work still to await.
    fn now(self) -> Result<AppResult<Value>, Later> {
        match self {
            Self::Now(result) => Ok(result),
            Self::Later(mut work) => match work.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
                Poll::Ready(result) => Ok(result),
                Poll::Pending => Err(work),
            },
        }
    }
}

/// A message's id (`null` when it has none) and its op and remaining fields.
fn parse(bytes: &[u8]) -> (Value, AppResult<(Op, Value)>) {
    let mut object = match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(object)) => object,
        Ok(_) => {
            return (Value::Null, Err(ApiError::bad_request("a request is a JSON object {id, op, ...}")));
        }
        Err(error) => return (Value::Null, Err(ApiError::bad_request(format!("malformed JSON: {error}")))),
    };
    let id = object.remove("id").unwrap_or(Value::Null);
    let op = match object.remove("op").map(serde_json::from_value::<Op>) {
        Some(Ok(op)) => Ok((op, Value::Object(object))),
        Some(Err(_)) | None => {
            Err(ApiError::bad_request("`op` must be one of create, step, batch, fork, get, delete, envs"))
        }
    };
    (id, op)
}

/// An op's fields as its request type; a wrong shape is a 422, as over HTTP.
fn fields<T: DeserializeOwned>(fields: Value) -> AppResult<T> {
    serde_json::from_value(fields)
        .map_err(|error| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, format!("invalid request: {error}")))
}

fn encode(value: impl Serialize) -> AppResult<Value> {
    serde_json::to_value(value)
        .map_err(|error| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("cannot encode: {error}")))
}

/// Apply one request in order: steps run now and wait for their commit later.
async fn handle(state: &Arc<AppState>, op: Op, body: Value) -> Answer {
    let state = state.clone();
    match op {
        Op::Step => {
            let started = match fields::<SessionStep>(body) {
                Ok(request) => api::start_step(&state, request.session_id, request.step).await,
                Err(error) => Err(error),
            };
            match started {
                Ok(pending) => Answer::Later(Box::pin(async move { encode(pending.finish(&state).await?) })),
                Err(error) => Answer::Now(Err(error)),
            }
        }
        Op::Batch => {
            let started = match fields(body) {
                Ok(request) => api::start_batch(&state, request).await,
                Err(error) => Err(error),
            };
            match started {
                Ok(pending) => Answer::Later(Box::pin(async move { Ok(pending.finish(&state).await) })),
                Err(error) => Answer::Now(Err(error)),
            }
        }
        Op::Create => {
            Answer::Later(Box::pin(async move { encode(api::create(&state, fields(body)?).await?) }))
        }
        Op::Envs => Answer::Later(Box::pin(async move {
            match fields::<EnvsRequest>(body)?.name {
                Some(name) => api::show_env(state, name).await,
                None => api::list_envs(state).await,
            }
        })),
        Op::Fork => Answer::Now(match fields::<SessionRef>(body) {
            Ok(request) => api::fork(&state, &request.session_id).await.and_then(encode),
            Err(error) => Err(error),
        }),
        Op::Get => Answer::Now(match fields::<SessionRef>(body) {
            Ok(request) => api::show_session(&state, request.session_id).await,
            Err(error) => Err(error),
        }),
        Op::Delete => Answer::Now(match fields::<SessionRef>(body) {
            Ok(request) => api::delete(&state, &request.session_id).await,
            Err(error) => Err(error),
        }),
    }
}

fn reply(id: Value, result: AppResult<Value>) -> String {
    let reply = match result {
        Ok(result) => json!({ "id": id, "ok": true, "result": result }),
        Err(error) => {
            json!({ "id": id, "ok": false, "status": error.status.as_u16(), "error": error.message })
        }
    };
    reply.to_string()
}
