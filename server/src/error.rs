use std::path::PathBuf;

use axum::extract::FromRequest;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// Errors from starting or running the server.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid replica name `{name}`: use 1 to 16 characters of a-z and 0-9 (it prefixes session ids)")]
    Replica { name: String },
    #[error("cannot open the session database in {path}: {source}")]
    Open { path: PathBuf, source: StoreError },
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: std::net::SocketAddr, source: std::io::Error },
    #[error("server failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Errors from the session database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Db(#[from] redb::Error),
    #[error("corrupt record: {0}")]
    Corrupt(#[from] serde_json::Error),
    #[error("an earlier write failed, so the database accepts no more writes: {0}")]
    Poisoned(String),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("the database writer has stopped")]
    Stopped,
    #[error(
        "it belongs to {}, and its session ids would change: start with {}, or use another directory",
        describe_replica(stored),
        flag_for_replica(stored)
    )]
    Replica { stored: String, requested: String },
}

fn describe_replica(name: &str) -> String {
    if name.is_empty() { "a server without `--replica`".into() } else { format!("replica `{name}`") }
}

fn flag_for_replica(name: &str) -> String {
    if name.is_empty() { "no `--replica`".into() } else { format!("`--replica {name}`") }
}

/// An HTTP error: a status and a message, sent as `{"error": message}`.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self { status, message: message.into() }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    pub fn unknown_session(id: &str) -> Self {
        Self::not_found(format!("unknown session `{id}` (it may have expired or been deleted)"))
    }

    /// The step was applied in memory but could not be made durable.
    pub fn storage(error: &StoreError) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, format!("cannot store the session: {error}"))
    }
}

impl From<codegym_host::Error> for ApiError {
    fn from(error: codegym_host::Error) -> Self {
        use codegym_host::Error as E;
        let status = match &error {
            E::UnknownEnv { .. } => StatusCode::NOT_FOUND,
            E::Reset(_) => StatusCode::BAD_REQUEST,
            E::Fault { .. } | E::ReplayDiverged { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            // Most likely the instance pool is exhausted.
            E::Instantiate(_) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Self::new(status, error.to_string())
    }
}

impl From<JsonRejection> for ApiError {
    /// Axum's own status (400 bad JSON, 413 too large, 415 wrong content type, 422 wrong
    /// shape) with its message, as JSON like every other error.
    fn from(rejection: JsonRejection) -> Self {
        Self::new(rejection.status(), rejection.body_text())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(serde_json::json!({ "error": self.message }))).into_response()
    }
}

/// `axum::Json` whose rejections are JSON [`ApiError`]s.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub(crate) struct Json<T>(pub T);
