//! An OpenAI-compatible chat-completions endpoint over a policy, so `codegym eval
//! --base-url http://127.0.0.1:PORT/v1` (or any OpenAI client) can play it:
//! `POST /v1/chat/completions` renders the messages with the model's chat template,
//! generates, and replies with `choices[0].message.content` and `usage`; `GET /v1/models`
//! lists the one model. Requests that arrive while the model is busy are generated together
//! in one batch when it frees (`codegym eval --concurrency N` keeps N in flight); a request
//! that gives `seed` is generated on its own, so the same seed gives the same reply.

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

use crate::generate::{Finish, Generation, SamplingParams, generate};
use crate::tokenizer::Tokenizer;
use crate::weights::Loaded;

/// What the server holds: the policy, its name, and the defaults for absent fields.
pub struct ServeState {
    pub policy: Mutex<Loaded>,
    /// The policy's tokenizer, outside the lock: requests render and decode while the model
    /// generates for others.
    tokenizer: Tokenizer,
    /// Requests waiting for the model; whoever takes the policy next generates them all.
    pub queue: Mutex<Vec<Queued>>,
    /// Calls of `generate` so far, and the requests they answered (batching's effect).
    pub batches: std::sync::atomic::AtomicU64,
    pub name: String,
    /// Tokens per reply when the request gives no `max_tokens`.
    pub default_max_tokens: usize,
    /// A reply's prompt plus `max_tokens` may not exceed this.
    pub context_limit: usize,
    /// Seeds each request's sampling, with a counter, unless the request gives `seed`.
    pub seed: u64,
    pub requests: std::sync::atomic::AtomicU64,
}

/// A request waiting for the model.
pub struct Queued {
    tokens: Vec<u32>,
    params: SamplingParams,
    seed: Option<u64>,
    reply: std::sync::mpsc::Sender<Generation>,
}

impl ServeState {
    pub fn new(
        policy: Loaded,
        name: String,
        default_max_tokens: usize,
        context_limit: usize,
        seed: u64,
    ) -> Self {
        Self {
            tokenizer: policy.tokenizer.clone(),
            policy: Mutex::new(policy),
            queue: Mutex::new(Vec::new()),
            batches: std::sync::atomic::AtomicU64::new(0),
            name,
            default_max_tokens,
            context_limit,
            seed,
            requests: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Requests waiting for the model now.
    pub fn queued(&self) -> usize {
        self.queue.lock().map_or(0, |queue| queue.len())
    }

    /// Generate `tokens` under `params`, together with whatever else is waiting. The request
    /// joins the queue before taking the policy, so whoever holds the policy next (this
    /// thread at the latest) answers it.
    fn generate(
        &self,
        tokens: Vec<u32>,
        params: SamplingParams,
        seed: Option<u64>,
    ) -> Result<Generation, ApiError> {
        let poisoned = || ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: "the model is poisoned".into(),
        };
        let (reply, answer) = std::sync::mpsc::channel();
        self.queue.lock().map_err(|_| poisoned())?.push(Queued { tokens, params, seed, reply });
        {
            let policy = self.policy.lock().map_err(|_| poisoned())?;
            let waiting = std::mem::take(&mut *self.queue.lock().map_err(|_| poisoned())?);
            self.answer(&policy, waiting);
        }
        answer.recv().map_err(|_| ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: "the request was dropped".into(),
        })
    }

    /// One `generate` call per group of requests that can share one: the same temperature,
    /// top-p and stop strings, and no seed of their own. A group generates up to its largest
    /// `max_tokens`; a reply is cut back to its own.
    fn answer(&self, policy: &Loaded, waiting: Vec<Queued>) {
        let mut groups: Vec<Vec<Queued>> = Vec::new();
        for queued in waiting {
            let joins = groups.iter_mut().find(|group| {
                queued.seed.is_none()
                    && group[0].seed.is_none()
                    && same_sampling(&group[0].params, &queued.params)
            });
            match joins {
                Some(group) => group.push(queued),
                None => groups.push(vec![queued]),
            }
        }
        for group in groups {
            let batch = self.batches.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let seed = group[0].seed.unwrap_or_else(|| self.seed.wrapping_add(batch));
            let max_tokens = group.iter().map(|q| q.params.max_tokens).max().unwrap_or(0);
            let params = SamplingParams { max_tokens, ..group[0].params.clone() };
            let prompts: Vec<Vec<u32>> = group.iter().map(|q| q.tokens.clone()).collect();
            let mut rng = Pcg64::seed_from_u64(seed);
            let generations = generate(&policy.model, &policy.tokenizer, &prompts, &params, &mut rng);
            for (queued, mut generation) in group.into_iter().zip(generations) {
                if generation.tokens.len() > queued.params.max_tokens {
                    generation.tokens.truncate(queued.params.max_tokens);
                    generation.text = policy.tokenizer.decode(&generation.tokens);
                    generation.finish = Finish::Length;
                }
                // A requester that went away (its connection closed) needs no reply.
                let _ = queued.reply.send(generation);
            }
        }
    }
}

fn same_sampling(a: &SamplingParams, b: &SamplingParams) -> bool {
    a.temperature == b.temperature && a.top_p == b.top_p && a.stop == b.stop
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
    let worker = Arc::clone(&state);
    let reply = tokio::task::spawn_blocking(move || complete(&worker, request, temperature, top_p, counter))
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
    counter: u64,
) -> Result<Value, ApiError> {
    let prompt = state
        .tokenizer
        .render_chat(&request.messages, true)
        .map_err(|error| bad_request(format!("cannot render the messages: {error}")))?;
    let tokens = state.tokenizer.encode(&prompt);
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
    let params = SamplingParams { temperature, top_p, max_tokens, stop: stop.clone() };
    let prompt_tokens = tokens.len();
    let generation = state.generate(tokens, params, request.seed)?;
    // The content ends where the model ended its turn: without the end-of-turn token.
    let mut content = generation.tokens.as_slice();
    while let Some((last, rest)) = content.split_last()
        && state.tokenizer.eos_ids().contains(last)
    {
        content = rest;
    }
    let mut text = state.tokenizer.decode(content);
    // As OpenAI's API does, the content stops before the stop string that ended it.
    if let Some(end) = stop.iter().filter_map(|s| text.find(s.as_str()).filter(|_| !s.is_empty())).min() {
        text.truncate(end);
    }
    let finish = match generation.finish {
        Finish::Stop => "stop",
        Finish::Length => "length",
    };
    let created = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let completion_tokens = generation.tokens.len();
    Ok(json!({
        "id": format!("chatcmpl-{counter:016x}"),
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
