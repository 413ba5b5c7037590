//! The CodeGym-rs rollout server: environment sessions over HTTP, durable across crashes.
//!
//! A [`Server`] holds live episodes (one [`codegym_host::Episode`] per session, each behind
//! its own lock) and serves the JSON API of [`Server::router`]: create a session, step it
//! with a tool call or with raw model output, step many sessions in one request, fork,
//! inspect, delete; `/metrics` in the Prometheus text format. With a data directory every
//! acknowledged call is first committed to a redb database, and a restarted server resumes
//! each stored session by replaying its log into a fresh episode.
//!
//! ```no_run
//! # async fn run(registry: codegym_host::Registry) -> Result<(), codegym_server::Error> {
//! let config = codegym_server::ServerConfig { data_dir: Some("sessions".into()), ..Default::default() };
//! codegym_server::serve(config, registry).await
//! # }
//! ```

mod api;
mod error;
mod metrics;
mod offload;
mod openapi;
mod openenv;
mod routes;
mod site;
mod state;
mod store;
mod ws;

use std::future::Future;
use std::sync::{Arc, Weak};
use std::time::Duration;

use axum::serve::ListenerExt;
use codegym_host::Registry;
use tokio::net::TcpListener;

pub use error::{Error, StoreError};
pub use routes::ROUTES;
pub use state::{RestoreReport, ServerConfig, check_replica};

use state::AppState;

/// A rollout server: its sessions, restored from the data directory if it has one.
pub struct Server {
    state: Arc<AppState>,
    restored: RestoreReport,
}

impl Server {
    /// Open the data directory (if any) and resume every stored session. Blocking: replays
    /// each session's log.
    pub fn new(config: ServerConfig, registry: Registry) -> Result<Self, Error> {
        let (state, restored) = AppState::open(config, registry)?;
        Ok(Self { state: Arc::new(state), restored })
    }

    /// Which stored sessions were resumed, and which were dropped and why.
    pub fn restored(&self) -> &RestoreReport {
        &self.restored
    }

    pub fn config(&self) -> &ServerConfig {
        &self.state.config
    }

    /// The HTTP API, for serving or for calling in-process.
    pub fn router(&self) -> axum::Router {
        routes::router(self.state.clone())
    }

    /// Serve on `listener` until `shutdown` resolves, expiring idle sessions meanwhile.
    /// In-flight requests finish; the sessions open OpenEnv sockets hold are deleted; queued
    /// writes are committed before this returns.
    pub async fn run(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), Error> {
        let expiry = tokio::spawn(expire_idle(Arc::downgrade(&self.state)));
        // No Nagle delay: pipelined WebSocket replies are many small writes.
        let listener = listener.tap_io(|tcp| _ = tcp.set_nodelay(true));
        let served = axum::serve(listener, self.router()).with_graceful_shutdown(shutdown).await;
        expiry.abort();
        // Sockets are not waited for: the sessions they hold go with them, as when they close.
        for id in self.state.take_held() {
            _ = api::delete(&self.state, &id).await;
        }
        served?;
        Ok(())
    }
}

/// Serve `config.addr` until Ctrl-C.
pub async fn serve(config: ServerConfig, registry: Registry) -> Result<(), Error> {
    let addr = config.addr;
    let server = Server::new(config, registry)?;
    let listener = TcpListener::bind(addr).await.map_err(|source| Error::Bind { addr, source })?;
    server.run(listener, ctrl_c()).await
}

/// Resolves on Ctrl-C (SIGINT).
pub async fn ctrl_c() {
    // If the handler cannot be installed, serve until killed.
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Drop idle sessions every quarter of the TTL (at most every second, at least every 10 ms),
/// for as long as the server lives.
async fn expire_idle(state: Weak<AppState>) {
    let period = match state.upgrade() {
        Some(state) => (state.config.idle_ttl / 4).clamp(Duration::from_millis(10), Duration::from_secs(1)),
        None => return,
    };
    loop {
        tokio::time::sleep(period).await;
        let Some(state) = state.upgrade() else { return };
        state.expire();
    }
}
