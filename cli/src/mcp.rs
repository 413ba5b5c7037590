//! `codegym mcp`: one episode's tools as a Model Context Protocol server, over stdio or
//! streamable HTTP (the `rmcp` crate).
//!
//! The episode starts with the server (stdio) or with each MCP session's `initialize`
//! (HTTP: every session its own episode, all on the same task). `initialize` returns the
//! task as the server's instructions, `tools/list` the environment's tools with their JSON
//! Schemas, and each `tools/call` is one step. Starting another episode (a reset) is not an
//! MCP operation: start another server or session.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::{Context, Result};
use codegym_core::ToolCall;
use codegym_host::{Env, Episode, StepResult};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    InitializeRequestParams, InitializeResult, JsonObject, ListToolsResult, PaginatedRequestParams,
    ProtocolVersion, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt};
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::{Global, TaskArgs};

/// Serve one episode's tools over the Model Context Protocol (MCP), for any MCP client.
///
/// The server's instructions are the task; each tool call is one step, and `Done` ends the
/// episode and reports its reward. Over stdio (the default) the server is one episode; with
/// `--http` each MCP session gets its own. Logs go to stderr.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    task: TaskArgs,
    /// Serve streamable HTTP at ADDR, path /mcp, instead of stdio; the URL is printed on
    /// stdout (port 0: any free port). A loopback ADDR answers only requests for loopback
    /// host names (DNS-rebinding protection); any other ADDR answers every host name.
    #[arg(long, value_name = "ADDR")]
    http: Option<SocketAddr>,
    /// With --http, close MCP sessions (and their episodes) idle for this many seconds.
    #[arg(long, default_value_t = 3600, value_name = "SECS", requires = "http")]
    idle_ttl: u64,
}

impl Args {
    pub fn execute(self, global: &Global) -> Result<ExitCode> {
        let env = global.registry()?.get(&self.task.env)?;
        let config = env.sample_config(self.task.seed, self.task.difficulty)?;
        let task = Arc::new(Task::new(env, config));
        // One thread runs the protocol: it starts the handlers of requests in the order they
        // arrive, and the episode's lock is fair, so a client's pipelined calls are steps in
        // that order. Episodes step on the blocking threads.
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the async runtime")?;
        match self.http {
            None => runtime.block_on(self.serve_stdio(task)),
            Some(addr) => runtime.block_on(self.serve_http(task, addr)),
        }
    }

    async fn serve_stdio(&self, task: Arc<Task>) -> Result<ExitCode> {
        let episode = task.env.start(&task.config)?;
        let name = task.env.name().to_owned();
        eprintln!(
            "codegym mcp: {name} (seed {}, difficulty {}) on stdio, {} tools",
            self.task.seed,
            self.task.difficulty,
            task.tools.len()
        );
        let server = EpisodeServer::new(task, Some(episode));
        let slot = Arc::clone(&server.episode);
        let running =
            server.serve(rmcp::transport::stdio()).await.context("the MCP client did not initialize")?;
        running.waiting().await.context("the MCP server stopped abnormally")?;
        if let Some(episode) = slot.lock().await.as_ref() {
            match episode.outcome() {
                Some(outcome) => eprintln!(
                    "codegym mcp: episode over: {outcome}, reward {}, {} steps",
                    episode.reward(),
                    episode.steps()
                ),
                None => eprintln!("codegym mcp: episode unfinished after {} steps", episode.steps()),
            }
        }
        Ok(ExitCode::SUCCESS)
    }

    async fn serve_http(&self, task: Arc<Task>, addr: SocketAddr) -> Result<ExitCode> {
        let mut config = StreamableHttpServerConfig::default();
        if !addr.ip().is_loopback() {
            config = config.disable_allowed_hosts();
        }
        let shutdown = config.cancellation_token.clone();
        let mut sessions = LocalSessionManager::default();
        sessions.session_config.keep_alive = Some(Duration::from_secs(self.idle_ttl));
        let factory_task = Arc::clone(&task);
        let service = StreamableHttpService::new(
            move || Ok(EpisodeServer::new(Arc::clone(&factory_task), None)),
            Arc::new(sessions),
            config,
        );
        let app = axum::Router::new().nest_service("/mcp", service);
        let listener =
            tokio::net::TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))?;
        let url = format!("http://{}/mcp", listener.local_addr()?);
        outln!("listening on {url}");
        eprintln!(
            "codegym mcp: {} (seed {}, difficulty {}), one episode per MCP session",
            task.env.name(),
            self.task.seed,
            self.task.difficulty
        );
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                codegym_server::ctrl_c().await;
                shutdown.cancel();
            })
            .await
            .context("the HTTP server failed")?;
        eprintln!("stopped");
        Ok(ExitCode::SUCCESS)
    }
}

/// What every episode of this server is made from: the environment, the config, and its
/// tools as MCP lists them.
struct Task {
    env: Env,
    config: String,
    tools: Vec<Tool>,
}

impl Task {
    fn new(env: Env, config: String) -> Self {
        let tools = env.info().tools.iter().map(|tool| {
            let schema = match serde_json::from_str::<Value>(&tool.parameters) {
                Ok(Value::Object(schema)) => schema,
                _ => JsonObject::from_iter([("type".to_owned(), json!("object"))]),
            };
            Tool::new(tool.name.clone(), tool.description.clone(), Arc::new(schema))
        });
        let tools = tools.collect();
        Self { env, config, tools }
    }
}

/// One MCP connection (stdio) or session (HTTP) and its episode: `None` until `initialize`
/// starts it.
struct EpisodeServer {
    task: Arc<Task>,
    episode: Arc<Mutex<Option<Episode>>>,
    /// The episode's task statement, once it has started: the server's instructions.
    instructions: Arc<OnceLock<String>>,
}

impl EpisodeServer {
    fn new(task: Arc<Task>, episode: Option<Episode>) -> Self {
        let instructions = OnceLock::new();
        if let Some(episode) = &episode {
            _ = instructions.set(episode.task().to_owned());
        }
        Self { task, episode: Arc::new(Mutex::new(episode)), instructions: Arc::new(instructions) }
    }

    /// Start the episode unless it has started. Off the async threads, like steps: a reset
    /// may run for as long as the wall-clock limit allows.
    async fn start(&self) -> Result<(), ErrorData> {
        if self.instructions.get().is_some() {
            return Ok(());
        }
        let task = Arc::clone(&self.task);
        let mut guard = Arc::clone(&self.episode).lock_owned().await;
        let instructions = Arc::clone(&self.instructions);
        blocking(move || {
            if guard.is_none() {
                let episode = task.env.start(&task.config).map_err(|error| {
                    ErrorData::internal_error(format!("cannot start the episode: {error}"), None)
                })?;
                _ = instructions.set(episode.task().to_owned());
                *guard = Some(episode);
            }
            Ok(())
        })
        .await
    }

    /// One step of the episode, as a tool result.
    async fn step(&self, call: ToolCall) -> Result<CallToolResult, ErrorData> {
        let mut guard = Arc::clone(&self.episode).lock_owned().await;
        blocking(move || {
            let Some(episode) = guard.as_mut() else {
                return Err(ErrorData::invalid_request("no episode: initialize an MCP session first", None));
            };
            let step = episode.step(&call);
            Ok(call_result(episode, &step))
        })
        .await
    }
}

/// Run `work` on the blocking threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ErrorData> + Send + 'static,
) -> Result<T, ErrorData> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| ErrorData::internal_error(format!("the episode's thread failed: {error}"), None))?
}

impl ServerHandler for EpisodeServer {
    fn get_info(&self) -> ServerConfig {
        let info = self.task.env.info();
        let mut config = ServerConfig::new(ServerCapabilities::builder().enable_tools().build());
        config.server_info = Implementation::new(format!("codegym-{}", info.name), info.version.clone())
            .with_title(format!("CodeGym {}", info.name));
        config.instructions = self.instructions.get().cloned();
        config
    }

    /// Only revisions with an `initialize` handshake: it is what starts a session's episode,
    /// and a session is what keeps one episode across calls.
    fn supported_protocol_versions(&self) -> Cow<'static, [ProtocolVersion]> {
        Cow::Borrowed(ProtocolVersion::known_up_to(&ProtocolVersion::LATEST_WITH_INITIALIZE))
    }

    async fn initialize(
        &self,
        request: InitializeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<InitializeResult, ErrorData> {
        self.start().await?;
        context.peer.set_peer_info(request.clone());
        self.negotiate_initialize(&request)
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.task.tools.clone()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let arguments = Value::Object(request.arguments.unwrap_or_default()).to_string();
        let call = ToolCall::new(request.name.into_owned(), arguments);
        Ok(self.step(call).await?.into())
    }
}

/// A step as an MCP tool result: the observation as text; an error result for a call the
/// environment refused (its observation starts with `Error:`: an unknown tool, bad
/// arguments, a call after the end) or a fault; once the episode is over, a last line with
/// the outcome and the reward, which `structuredContent` carries too.
fn call_result(episode: &Episode, step: &StepResult) -> CallToolResult {
    let failed = step.fault.is_some() || step.observation.starts_with("Error:");
    let mut content = vec![ContentBlock::text(step.observation.clone())];
    let structured = episode.outcome().filter(|_| step.done).map(|outcome| {
        content.push(ContentBlock::text(format!(
            "Episode over: {outcome}, reward {}, {} steps.",
            step.reward,
            episode.steps()
        )));
        json!({
            "observation": step.observation,
            "reward": step.reward,
            "done": true,
            "outcome": outcome.as_str(),
            "steps": episode.steps(),
        })
    });
    let mut result = if failed { CallToolResult::error(content) } else { CallToolResult::success(content) };
    result.structured_content = structured;
    result
}
