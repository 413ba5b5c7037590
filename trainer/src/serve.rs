//! An OpenAI-compatible chat-completions endpoint over a policy, so `codegym eval
//! --base-url http://127.0.0.1:PORT/v1` (or any OpenAI client) can play it:
//! `POST /v1/chat/completions` renders the messages with the model's chat template,
//! generates, and replies with `choices[0].message.content` and `usage`; `GET /v1/models`
//! lists the one model. Requests are served one at a time (one model, one CPU or GPU).

use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use codegym_core::ChatMessage;
use rand::SeedableRng;
use rand_pcg::Pcg64;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::generate::{Finish, SamplingParams, generate};
use crate::weights::Loaded;

/// What the server holds: the policy, its name, and the defaults for absent fields.
pub struct ServeState {
    pub policy: Mutex<Loaded>,
    pub name: String,
    /// Tokens per reply when the request gives no `max_tokens`.
    pub default_max_tokens: usize,
    /// A reply's prompt plus `max_tokens` may not exceed this.
    pub context_limit: usize,
    /// Seeds each request's sampling, with a counter, unless the request gives `seed`.
    pub seed: u64,
    pub requests: std::sync::atomic::AtomicU64,
}

/// `POST /v1/chat/completions`'s body: the fields used; the rest (`tools`, ...) is ignored.
#[derive(Debug, Deserialize)]
struct ChatCompletionRequest {
    messages: Vec<ChatMessage>,
    #[serde(default)]
    temperature: Option<f64>,
    #[serde(default)]
    top_p: Option<f64>,
    #[serde(default, alias = "max_completion_tokens")]
    max_tokens: Option<usize>,
    #[serde(default)]
    stop: Option<Stop>,
    #[serde(default)]
    seed: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Stop {
    One(String),
    Many(Vec<String>),
}

/// An error reply in OpenAI's shape: `{"error": {"message", "type"}}`.
struct ApiError {
    status: StatusCode,
    message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let kind = if self.status.is_client_error() { "invalid_request_error" } else { "server_error" };
        (self.status, Json(json!({"error": {"message": self.message, "type": kind}}))).into_response()
    }
}

fn bad_request(message: impl Into<String>) -> ApiError {
    ApiError { status: StatusCode::BAD_REQUEST, message: message.into() }
}

/// The router, for a socket or for tests.
pub fn router(state: Arc<ServeState>) -> Router {
    Router::new()
        .route("/v1/chat/completions", post(chat_completions))
        .route("/v1/models", get(models))
        .with_state(state)
}

async fn models(State(state): State<Arc<ServeState>>) -> Json<Value> {
    Json(
        json!({"object": "list", "data": [{"id": state.name, "object": "model", "owned_by": "codegym-train"}]}),
    )
}

async fn chat_completions(
    State(state): State<Arc<ServeState>>,
    body: Result<Json<ChatCompletionRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(request) = body.map_err(|rejection| bad_request(rejection.body_text()))?;
    if request.messages.is_empty() {
        return Err(bad_request("messages must not be empty"));
    }
    let temperature = request.temperature.unwrap_or(1.0);
    let top_p = request.top_p.unwrap_or(1.0);
    if !((0.0..=2.0).contains(&temperature) && top_p > 0.0 && top_p <= 1.0) {
        return Err(bad_request("temperature must be in [0, 2] and top_p in (0, 1]"));
    }
    let counter = state.requests.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let seed = request.seed.unwrap_or(state.seed.wrapping_add(counter));
    let worker = Arc::clone(&state);
    let reply = tokio::task::spawn_blocking(move || complete(&worker, request, temperature, top_p, seed))
        .await
        .map_err(|error| ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: error.to_string(),
        })??;
    Ok(Json(reply))
}

fn complete(
    state: &ServeState,
    request: ChatCompletionRequest,
    temperature: f64,
    top_p: f64,
    seed: u64,
) -> Result<Value, ApiError> {
    let policy = state.policy.lock().map_err(|_| ApiError {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        message: "the model is poisoned".into(),
    })?;
    let prompt = policy
        .tokenizer
        .render_chat(&request.messages, true)
        .map_err(|error| bad_request(format!("cannot render the messages: {error}")))?;
    let tokens = policy.tokenizer.encode(&prompt);
    let room = state.context_limit.saturating_sub(tokens.len());
    if room == 0 {
        return Err(bad_request(format!(
            "the prompt has {} tokens, the context limit is {}",
            tokens.len(),
            state.context_limit
        )));
    }
    let max_tokens = request.max_tokens.unwrap_or(state.default_max_tokens).min(room);
    let stop = match request.stop {
        None => Vec::new(),
        Some(Stop::One(stop)) => vec![stop],
        Some(Stop::Many(stops)) => stops,
    };
    let params = SamplingParams { temperature, top_p, max_tokens, stop };
    let mut rng = Pcg64::seed_from_u64(seed);
    let prompt_tokens = tokens.len();
    let generation =
        generate(&policy.model, &policy.tokenizer, &[tokens], &params, &mut rng).pop().ok_or_else(|| {
            ApiError { status: StatusCode::INTERNAL_SERVER_ERROR, message: "no generation".into() }
        })?;
    // The content ends where the model ended its turn: without the end-of-turn token.
    let mut content = generation.tokens.as_slice();
    while let Some((last, rest)) = content.split_last()
        && policy.tokenizer.eos_ids().contains(last)
    {
        content = rest;
    }
    let text = policy.tokenizer.decode(content);
    let finish = match generation.finish {
        Finish::Stop => "stop",
        Finish::Length => "length",
    };
    let created = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let completion_tokens = generation.tokens.len();
    Ok(json!({
        "id": format!("chatcmpl-{seed:016x}"),
        "object": "chat.completion",
        "created": created,
        "model": state.name,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": text},
            "finish_reason": finish,
        }],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }))
}

/// Serves `state` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: Arc<ServeState>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state)).with_graceful_shutdown(shutdown).await
}
