//! `codegym serve`: the HTTP rollout server, with durable sessions under `--data`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use codegym_server::{Server, ServerConfig};

use crate::Global;

/// Serve sessions over HTTP (JSON): create, step (tool calls or raw model output), batch
/// step, fork, inspect, delete; Prometheus metrics at /metrics. Stop with Ctrl-C.
#[derive(clap::Args)]
pub struct Args {
    /// Address to listen on (port 0: any free port; the address is printed).
    #[arg(long, default_value = "127.0.0.1:8000")]
    addr: SocketAddr,
    /// Directory of the session database: every acknowledged step is stored there first,
    /// and sessions resume after a restart. Without it sessions live in memory only.
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Most live sessions; creating more is refused with 429.
    #[arg(long, default_value_t = 4096, value_name = "N")]
    max_sessions: usize,
    /// Drop sessions idle for this many seconds.
    #[arg(long, default_value_t = 3600, value_name = "SECS")]
    idle_ttl: u64,
    /// Tool calls per episode before it ends with a step limit (CodeGym's T_max); requests
    /// may lower it for their session, never raise it.
    #[arg(long, default_value_t = 256, value_name = "N")]
    max_steps: u32,
    /// Largest request body, in bytes (larger ones get 413).
    #[arg(long, default_value_t = 1 << 20, value_name = "BYTES")]
    body_limit: usize,
    /// Most requests one WebSocket may have awaiting replies; past it the socket is not
    /// read until some are answered.
    #[arg(long, default_value_t = 4096, value_name = "N")]
    ws_max_in_flight: usize,
    /// This server's name among replicas behind a proxy (1 to 16 of a-z, 0-9): session ids
    /// become NAME-<16 hex digits> so the proxy can route each to its replica (see
    /// deploy/README.md). Restart a replica with the same name and --data to resume its
    /// sessions under the same ids.
    #[arg(long, value_name = "NAME", value_parser = replica_name)]
    replica: Option<String>,
    /// The browser playground to serve at `/` (API routes keep priority). Default:
    /// ./target/web, else the workspace's target/web, if built (`cargo xtask web`).
    #[arg(long, value_name = "DIR")]
    web: Option<PathBuf>,
}

/// `--web`, else the first built playground of ./target/web and the workspace's.
fn web_dir(given: Option<PathBuf>) -> Option<PathBuf> {
    given.or_else(|| {
        [PathBuf::from("target/web"), Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/web")]
            .into_iter()
            .find(|dir| dir.join("index.html").is_file())
    })
}

/// `--replica`, checked as the server checks it.
fn replica_name(name: &str) -> Result<String, String> {
    codegym_server::check_replica(name).map(|()| name.to_owned()).map_err(|error| error.to_string())
}

impl Args {
    pub fn execute(self, global: &Global) -> Result<ExitCode> {
        let mut host_config = global.host_config();
        // Room for every session's instance, plus scratch instances (configs, forks).
        host_config.pool_size = u32::try_from(self.max_sessions.saturating_add(256)).unwrap_or(u32::MAX);
        host_config.limits.max_steps = self.max_steps;
        let limits = host_config.limits;
        let registry = global.registry_with(host_config)?;
        let config = ServerConfig {
            addr: self.addr,
            data_dir: self.data,
            max_sessions: self.max_sessions,
            idle_ttl: Duration::from_secs(self.idle_ttl),
            body_limit_bytes: self.body_limit,
            ws_max_in_flight: self.ws_max_in_flight,
            limits,
            replica: self.replica,
            web_dir: web_dir(self.web),
        };
        let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
        runtime.block_on(async {
            let server = Server::new(config, registry)?;
            if let Some(dir) = &server.config().data_dir {
                let restored = server.restored();
                eprintln!("restored {} sessions from {}", restored.restored, dir.display());
                for (id, reason) in &restored.dropped {
                    eprintln!("dropped session {id}: {reason}");
                }
            }
            let listener = tokio::net::TcpListener::bind(self.addr)
                .await
                .with_context(|| format!("cannot listen on {}", self.addr))?;
            outln!("listening on http://{}", listener.local_addr()?);
            if let Some(dir) = &server.config().web_dir {
                eprintln!("playground at http://{}/ (from {})", listener.local_addr()?, dir.display());
            }
            server.run(listener, codegym_server::ctrl_c()).await?;
            eprintln!("stopped");
            Ok(ExitCode::SUCCESS)
        })
    }
}
