//! The rollout server over real HTTP on 127.0.0.1, with the real components built by
//! `cargo xtask build-envs` (`target/envs`, `target/test-envs`).

mod durability;
mod errors;
mod faults;
mod openenv;
mod replicas;
mod sessions;
mod site;
mod websocket;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::thread::JoinHandle;

use codegym_host::{Env, Host, HostConfig, Registry};
use codegym_server::{RestoreReport, Server, ServerConfig};
use serde_json::{Value, json};

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("server/ is inside the workspace")
}

/// The compile cache every test binary of the workspace shares (`target/test-cache`; safe:
/// it writes by rename), so each component is compiled once per checkout.
fn shared_cache() -> &'static Path {
    static CACHE: OnceLock<std::path::PathBuf> = OnceLock::new();
    CACHE.get_or_init(|| {
        let dir = workspace().join("target/test-cache");
        std::fs::create_dir_all(&dir).expect("create target/test-cache");
        dir
    })
}

fn host() -> Host {
    Host::new(HostConfig {
        cache_dir: Some(shared_cache().to_owned()),
        pool_size: 256,
        ..HostConfig::default()
    })
    .expect("host")
}

fn registry(dir: &Path) -> Registry {
    Registry::open(host(), dir).expect("components (run `cargo xtask build-envs`)")
}

/// `target/<dir>` (`envs` or `test-envs`).
fn components(dir: &str) -> PathBuf {
    workspace().join("target").join(dir)
}

/// An environment loaded in-process, to compare the server against.
fn load(dir: &str, name: &str) -> Env {
    let path = Registry::file_in(&components(dir), name)
        .unwrap_or_else(|| panic!("no {name} in target/{dir} (run `cargo xtask build-envs` first)"));
    host().load(&path).unwrap_or_else(|e| panic!("{e} (run `cargo xtask build-envs` first)"))
}

/// A real server on 127.0.0.1 with an OS-chosen port, in a runtime of its own; shut down
/// (gracefully, committing queued writes) on drop.
struct TestServer {
    url: String,
    agent: ureq::Agent,
    restored: RestoreReport,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    fn start(env_dir: &Path, configure: impl FnOnce(&mut ServerConfig)) -> Self {
        let mut config = ServerConfig::default();
        configure(&mut config);
        let server = Server::new(config, registry(env_dir)).expect("server");
        let restored = server.restored().clone();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let (shutdown, signal) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            runtime.block_on(server.run(listener, async move { _ = signal.await })).expect("server runs");
        });
        let agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        Self { url, agent, restored, shutdown: Some(shutdown), thread: Some(thread) }
    }

    fn envs() -> Self {
        Self::start(&components("envs"), |_| {})
    }

    fn reply(response: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> (u16, Value) {
        let mut response = response.expect("HTTP exchange");
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().expect("body");
        let body =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("{status}: body is not JSON: {text}"));
        (status, body)
    }

    fn get(&self, path: &str) -> (u16, Value) {
        Self::reply(self.agent.get(format!("{}{path}", self.url)).call())
    }

    fn delete(&self, path: &str) -> (u16, Value) {
        Self::reply(self.agent.delete(format!("{}{path}", self.url)).call())
    }

    fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        Self::reply(self.agent.post(format!("{}{path}", self.url)).send_json(body))
    }

    fn post_raw(&self, path: &str, content_type: &str, body: &[u8]) -> (u16, Value) {
        Self::reply(
            self.agent.post(format!("{}{path}", self.url)).header("content-type", content_type).send(body),
        )
    }

    fn text(&self, path: &str) -> String {
        let mut response = self.agent.get(format!("{}{path}", self.url)).call().expect("HTTP exchange");
        response.body_mut().read_to_string().expect("body")
    }

    /// `POST /v1/sessions`, expecting success; returns the reply.
    fn create(&self, body: Value) -> Value {
        let (status, reply) = self.post("/v1/sessions", &body);
        assert_eq!(status, 201, "{reply}");
        reply
    }

    /// One tool call on a session, expecting a 200; returns the reply.
    fn step(&self, session: &str, name: &str, arguments: &str) -> Value {
        let body = json!({ "name": name, "arguments": arguments });
        let (status, reply) = self.post(&format!("/v1/sessions/{session}/step"), &body);
        assert_eq!(status, 200, "{reply}");
        reply
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            _ = thread.join();
        }
    }
}

fn session_id(reply: &Value) -> String {
    reply["session_id"].as_str().expect("session_id").to_owned()
}
