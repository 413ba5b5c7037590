//! The HTTP API: the route table and one thin handler per endpoint over [`crate::api`]
//! (the OpenEnv protocol's handlers are in `openenv/`).

use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::PathRejection;
use axum::extract::{DefaultBodyLimit, FromRequestParts, State};
use axum::http::{Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use crate::api::{self, AppResult, BatchRequest, CreateRequest, SessionCreated, StepReply, StepRequest};
use crate::error::{ApiError, Json};
use crate::state::AppState;

type Shared = State<Arc<AppState>>;
type Created = (StatusCode, axum::Json<SessionCreated>);

/// Every endpoint the router serves, as (method, path); `/openapi.json` describes each.
pub const ROUTES: &[(&str, &str)] = &[
    ("GET", "/healthz"),
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
    ("GET", "/v1/envs"),
    ("GET", "/v1/envs/{name}"),
    ("POST", "/v1/sessions"),
    ("GET", "/v1/sessions/{id}"),
    ("DELETE", "/v1/sessions/{id}"),
    ("POST", "/v1/sessions/{id}/step"),
    ("POST", "/v1/sessions/{id}/fork"),
    ("POST", "/v1/step"),
    ("GET", "/v1/ws"),
    ("GET", "/openenv/{name}/health"),
    ("GET", "/openenv/{name}/metadata"),
    ("GET", "/openenv/{name}/schema"),
    ("GET", "/openenv/{name}/openapi.json"),
    ("POST", "/openenv/{name}/mcp"),
    ("GET", "/openenv/{name}/mcp"),
    ("GET", "/openenv/{name}/ws"),
];

/// The API over `state` (the routes of [`ROUTES`]); every error, the framework's included,
/// is a JSON `{"error": ..}`.
pub(crate) fn router(state: Arc<AppState>) -> Router {
    let body_limit = state.config.body_limit_bytes;
    Router::new()
        .route("/healthz", get(|| async { axum::Json(json!({ "status": "ok" })) }))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(|| async { axum::Json(crate::openapi::document()) }))
        .route("/v1/envs", get(list_envs))
        .route("/v1/envs/{name}", get(show_env))
        .route("/v1/sessions", post(create_session))
        .route("/v1/sessions/{id}", get(show_session).delete(delete_session))
        .route("/v1/sessions/{id}/step", post(step))
        .route("/v1/sessions/{id}/fork", post(fork))
        .route("/v1/step", post(batch_step))
        .route("/v1/ws", get(crate::ws::upgrade))
        .route("/openenv/{name}/health", get(crate::openenv::health))
        .route("/openenv/{name}/metadata", get(crate::openenv::metadata))
        .route("/openenv/{name}/schema", get(crate::openenv::schema))
        .route("/openenv/{name}/openapi.json", get(crate::openenv::openapi))
        .route("/openenv/{name}/mcp", post(crate::openenv::mcp).get(crate::openenv::mcp_upgrade))
        .route("/openenv/{name}/ws", get(crate::openenv::upgrade))
        .fallback(fallback)
        .method_not_allowed_fallback(|| async {
            ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method not allowed on this endpoint")
        })
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state)
}

/// What no route matched: a file of the playground site when the server has one
/// ([`ServerConfig::web_dir`](crate::ServerConfig::web_dir)), else a JSON 404.
async fn fallback(State(state): Shared, method: Method, uri: Uri) -> Response {
    match &state.config.web_dir {
        Some(root) => crate::site::serve(root.clone(), method, uri).await,
        None => ApiError::not_found("no such endpoint").into_response(),
    }
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

async fn metrics(State(state): Shared) -> impl IntoResponse {
    let text = state.metrics.render(state.live_sessions(), state.config.replica.as_deref());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}

async fn list_envs(State(state): Shared) -> AppResult<axum::Json<Value>> {
    api::list_envs(state).await.map(axum::Json)
}

async fn show_env(State(state): Shared, Path(name): Path<String>) -> AppResult<axum::Json<Value>> {
    api::show_env(state, name).await.map(axum::Json)
}

async fn create_session(State(state): Shared, Json(request): Json<CreateRequest>) -> AppResult<Created> {
    let created = api::create(&state, request).await?;
    Ok((StatusCode::CREATED, axum::Json(created)))
}

async fn show_session(State(state): Shared, Path(id): Path<String>) -> AppResult<axum::Json<Value>> {
    api::show_session(&state, id).await.map(axum::Json)
}

async fn delete_session(State(state): Shared, Path(id): Path<String>) -> AppResult<axum::Json<Value>> {
    api::delete(&state, &id).await.map(axum::Json)
}

async fn fork(State(state): Shared, Path(id): Path<String>) -> AppResult<Created> {
    let created = api::fork(&state, &id).await?;
    Ok((StatusCode::CREATED, axum::Json(created)))
}

async fn step(
    State(state): Shared,
    Path(id): Path<String>,
    Json(request): Json<StepRequest>,
) -> AppResult<axum::Json<StepReply>> {
    let pending = api::start_step(&state, id, request).await?;
    pending.finish(&state).await.map(axum::Json)
}

async fn batch_step(State(state): Shared, Json(request): Json<BatchRequest>) -> AppResult<axum::Json<Value>> {
    let pending = api::start_batch(&state, request).await?;
    Ok(axum::Json(pending.finish(&state).await))
}
