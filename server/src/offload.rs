//! Where blocking work runs: never on tokio's async workers, which must stay free to accept
//! connections, answer `/healthz` and deliver commits' acknowledgements.
//!
//! A step is a microsecond or two, but a faulting one runs to its limit (up to the
//! wall-clock backstop, 2 s by default) and then replays the episode's log into a fresh
//! instance; a few of those on the async workers would stall the whole server. So a step
//! (or a whole batch) runs in `block_in_place`: the worker hands its queue to another
//! thread for the duration, and takes it back if the step ended first. That costs one
//! thread wake-up per request, where `spawn_blocking` costs two (there and back) and a
//! dedicated pool the same plus a channel. Measured with `codegym bench server` and the
//! server's CPU time per step on the 2-core development machine (under load from other
//! work, so only the differences mean much): single HTTP steps went from ~105 µs of server
//! CPU per step inline to ~140 µs with `block_in_place` and ~160 µs with `spawn_blocking`
//! (p50 latency +40 µs and +60 µs); batches of 1024 stayed at ~12 µs per step (the hop is
//! once per batch). In isolation a hop costs ~20 µs (`block_in_place`) or ~31 µs
//! (`spawn_blocking`) there; a quiet machine pays a fraction of that.

use axum::http::StatusCode;
use tokio::runtime::{Handle, RuntimeFlavor};
use tokio::sync::Semaphore;

use crate::api::AppResult;
use crate::error::ApiError;

/// Most requests' steps running at once. More than the cores, so that a healthy step is not
/// queued behind faulting ones (the OS shares the cores between them, and each faulting one
/// ends at its backstop); well under tokio's 512 blocking threads, so that loading, starting
/// and forking always find one.
const MAX_RUNNING: usize = 256;

/// Runs steps off the async workers, for at most [`MAX_RUNNING`] requests at a time.
pub(crate) struct StepRunner {
    permits: Semaphore,
}

impl Default for StepRunner {
    fn default() -> Self {
        Self { permits: Semaphore::new(MAX_RUNNING) }
    }
}

fn worker_failed(error: impl std::fmt::Display) -> ApiError {
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, format!("the request's worker failed: {error}"))
}

impl StepRunner {
    /// Run a request's steps (one, or a batch's in order) on this thread, taken out of the
    /// async workers until they are done; waits first while [`MAX_RUNNING`] requests run.
    pub async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> AppResult<T> {
        let _permit = self.permits.acquire().await.map_err(worker_failed)?;
        match Handle::current().runtime_flavor() {
            RuntimeFlavor::MultiThread => Ok(tokio::task::block_in_place(work)),
            // A current-thread runtime has no other worker to hand its queue to.
            _ => tokio::task::spawn_blocking(work).await.map_err(worker_failed),
        }
    }
}

/// Run other blocking work (loading a component, starting or forking an episode) on tokio's
/// blocking pool.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> AppResult<T> + Send + 'static,
) -> AppResult<T> {
    tokio::task::spawn_blocking(work).await.map_err(worker_failed)?
}
