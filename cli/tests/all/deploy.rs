//! `deploy/nginx.conf` as users run it: two `codegym serve --replica` processes behind a real
//! nginx (the Debian package `cargo xtask setup` installs), all on 127.0.0.1. Sessions made
//! through the proxy land on both replicas and answer exactly as in-process episodes do, over
//! single steps, batches and WebSockets; forks and deletes reach the right replica; and a
//! replica killed with SIGKILL and restarted on the same data directory and port carries on
//! with its sessions behind the same proxy.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use codegym_host::{Env, Episode, Host, HostConfig, Limits, OraclePolicy, Policy, StepResult, ToolCall};
use serde_json::{Value, json};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

use crate::{Cli, shared_cache, workspace};

/// How long anything may take to come up, answer or go away.
const PATIENCE: Duration = Duration::from_secs(20);

/// The replicas of `deploy/nginx.conf`, with the addresses it gives them.
const REPLICAS: [(&str, &str); 2] = [("a", "127.0.0.1:8001"), ("b", "127.0.0.1:8002")];
/// Where `deploy/nginx.conf` listens.
const PROXY: &str = "127.0.0.1:8000";

/// nginx on `PATH` or in `/usr/sbin` (where Debian puts it).
fn nginx() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")])
        .map(|dir| dir.join("nginx"))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!("nginx is not installed: run `cargo xtask setup` (it installs the Debian package `nginx`)")
        })
}

/// A port no one listens on now (nginx needs to be told its port).
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a probe");
    listener.local_addr().expect("probe address").port()
}

/// The last few KB of a log file, for failure messages.
fn tail(path: &Path) -> String {
    let mut text = String::new();
    if let Ok(mut file) = File::open(path) {
        _ = file.read_to_string(&mut text);
    }
    let start = text.len().saturating_sub(4000);
    let start = (start..text.len()).find(|&index| text.is_char_boundary(index)).unwrap_or(text.len());
    format!("--- {} ---\n{}", path.display(), &text[start..])
}

/// One `codegym serve --replica NAME --data DIR` process.
struct Replica {
    name: &'static str,
    data: PathBuf,
    log: PathBuf,
    address: String,
    child: Option<Child>,
}

impl Replica {
    /// Start on `address` (port 0: any free port; the one it got is kept for restarts).
    fn start(cli: &Cli, name: &'static str, dir: &Path, address: &str) -> Self {
        let mut replica = Self {
            name,
            data: dir.join(format!("{name}-data")),
            log: dir.join(format!("{name}.log")),
            address: address.to_owned(),
            child: None,
        };
        replica.spawn(cli);
        replica
    }

    /// Start the process and wait until it listens.
    fn spawn(&mut self, cli: &Cli) {
        let log = File::options().create(true).append(true).open(&self.log).expect("replica log");
        let data = self.data.to_str().expect("UTF-8 path");
        let mut child = cli
            .command(&["serve", "--replica", self.name, "--data", data, "--addr", &self.address])
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("spawn codegym serve");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("stdout");
        BufReader::new(stdout).read_line(&mut line).expect("read stdout");
        self.child = Some(child);
        let url = line.trim().strip_prefix("listening on http://");
        let url = url.unwrap_or_else(|| panic!("replica {}: {line:?}\n{}", self.name, tail(&self.log)));
        self.address = url.to_owned();
    }

    /// SIGKILL, as a crash would.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("SIGKILL");
            child.wait().expect("wait");
        }
    }
}

/// Two replicas and nginx with a copy of `deploy/nginx.conf` pointing at them; everything is
/// killed on drop, also when a test panics (which prints the logs).
struct Deployment {
    cli: Cli,
    nginx: PathBuf,
    /// nginx's prefix directory (config, logs, temp files) and the replicas' data and logs.
    dir: tempfile::TempDir,
    replicas: Vec<Replica>,
    proxy: Option<Child>,
    /// The proxy's `host:port`.
    address: String,
    agent: ureq::Agent,
}

impl Deployment {
    fn start() -> Self {
        let nginx = nginx();
        let cli = Cli::new();
        let dir = tempfile::tempdir().expect("temp dir");
        let mut deployment = Self {
            nginx,
            dir,
            replicas: Vec::new(),
            proxy: None,
            address: format!("127.0.0.1:{}", free_port()),
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(PATIENCE))
                .build()
                .into(),
            cli,
        };
        for (name, _) in REPLICAS {
            let replica = Replica::start(&deployment.cli, name, deployment.dir.path(), "127.0.0.1:0");
            deployment.replicas.push(replica);
        }
        deployment.start_proxy();
        deployment
    }

    /// `deploy/nginx.conf` with the test's addresses in place of the committed ones.
    fn config(&self) -> String {
        let committed =
            std::fs::read_to_string(workspace().join("deploy/nginx.conf")).expect("deploy/nginx.conf");
        let mut addresses = vec![(PROXY, self.address.as_str())];
        for ((name, address), replica) in REPLICAS.iter().zip(&self.replicas) {
            assert_eq!(*name, replica.name);
            addresses.push((address, replica.address.as_str()));
        }
        // Through placeholders, so that a new address equal to an old one is not replaced twice.
        let mut config = committed;
        for (index, (old, _)) in addresses.iter().enumerate() {
            assert!(config.contains(old), "deploy/nginx.conf no longer mentions {old}");
            config = config.replace(old, &format!("@address{index}@"));
        }
        for (index, (_, new)) in addresses.iter().enumerate() {
            config = config.replace(&format!("@address{index}@"), new);
        }
        config
    }

    fn prefix(&self) -> PathBuf {
        self.dir.path().join("nginx")
    }

    fn start_proxy(&mut self) {
        let prefix = self.prefix();
        for dir in ["logs", "temp"] {
            std::fs::create_dir_all(prefix.join(dir)).expect("nginx prefix");
        }
        std::fs::write(prefix.join("nginx.conf"), self.config()).expect("write nginx.conf");
        let stderr = File::create(prefix.join("logs/stderr.log")).expect("nginx stderr");
        let child = Command::new(&self.nginx)
            .arg("-p")
            .arg(&prefix)
            .args(["-c", "nginx.conf", "-g", "daemon off;"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("spawn nginx");
        self.proxy = Some(child);
        let started = Instant::now();
        loop {
            if let Ok(response) = self.agent.get(self.url("/healthz")).call()
                && response.status() == 200
            {
                return;
            }
            if let Some(status) = self.proxy.as_mut().and_then(|child| child.try_wait().ok().flatten()) {
                panic!("nginx exited ({status}) before answering /healthz");
            }
            assert!(started.elapsed() < PATIENCE, "nginx did not answer /healthz in {PATIENCE:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    fn replica(&mut self, name: &str) -> &mut Replica {
        self.replicas.iter_mut().find(|replica| replica.name == name).expect("a replica of that name")
    }

    /// Start replica `name` again, on its data directory and port.
    fn restart(&mut self, name: &str) -> &Replica {
        let cli = &self.cli;
        let replica =
            self.replicas.iter_mut().find(|replica| replica.name == name).expect("a replica of that name");
        replica.spawn(cli);
        replica
    }

    fn reply(response: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> (u16, Value) {
        let mut response = response.expect("HTTP exchange with nginx");
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().expect("body");
        let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{status}: not JSON: {text}"));
        (status, body)
    }

    fn get(&self, path: &str) -> (u16, Value) {
        Self::reply(self.agent.get(self.url(path)).call())
    }

    fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        Self::reply(self.agent.post(self.url(path)).send_json(body))
    }

    fn delete(&self, path: &str) -> (u16, Value) {
        Self::reply(self.agent.delete(self.url(path)).call())
    }

    /// A batch for the replica `name`, as clients send it through the proxy.
    fn batch(&self, name: &str, steps: &[Value]) -> (u16, Value) {
        let request = self.agent.post(self.url("/v1/step")).header("X-CodeGym-Replica", name);
        Self::reply(request.send_json(json!({ "steps": steps })))
    }

    /// A WebSocket through the proxy to replica `name`.
    fn socket(&self, name: &str) -> WebSocket<MaybeTlsStream<TcpStream>> {
        let stream = TcpStream::connect(&self.address).expect("connect to nginx");
        stream.set_read_timeout(Some(PATIENCE)).expect("read timeout");
        let url = format!("ws://{}/v1/ws?replica={name}", self.address);
        tungstenite::client(url, MaybeTlsStream::Plain(stream)).expect("WebSocket handshake through nginx").0
    }
}

impl Drop for Deployment {
    fn drop(&mut self) {
        if let Some(mut proxy) = self.proxy.take() {
            // A graceful stop, so the master takes its workers along; SIGKILL if it lingers.
            let stop = Command::new(&self.nginx)
                .arg("-p")
                .arg(self.prefix())
                .args(["-c", "nginx.conf", "-s", "stop"])
                .stderr(Stdio::null())
                .status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while stop.is_ok() && Instant::now() < deadline && matches!(proxy.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(10));
            }
            _ = proxy.kill();
            _ = proxy.wait();
        }
        for replica in &mut self.replicas {
            if let Some(mut child) = replica.child.take() {
                _ = child.kill();
                _ = child.wait();
            }
        }
        if std::thread::panicking() {
            let prefix = self.prefix();
            eprintln!("{}\n{}", tail(&prefix.join("logs/error.log")), tail(&prefix.join("logs/stderr.log")));
            for replica in &self.replicas {
                eprintln!("{}", tail(&replica.log));
            }
        }
    }
}

fn binary_search() -> Env {
    let host = Host::new(HostConfig {
        cache_dir: Some(shared_cache().to_owned()),
        pool_size: 256,
        ..HostConfig::default()
    })
    .expect("host");
    host.load(&workspace().join("target/envs/binary-search.wasm")).expect("load binary-search")
}

/// A session behind the proxy, driven by the oracle, beside its in-process twin: every reply
/// must be what the twin answers to the same call.
struct Tracked {
    id: String,
    twin: Episode,
    oracle: OraclePolicy,
    observation: String,
}

impl Tracked {
    /// `reply` is a `POST /v1/sessions` (or fork) reply; `session` the session's `GET`.
    fn new(env: &Env, reply: &Value, session: &Value) -> Self {
        let id = reply["session_id"].as_str().expect("session_id").to_owned();
        let limits: Limits = serde_json::from_value(session["limits"].clone()).expect("limits");
        let twin = env.start_with(reply["config"].as_str().expect("config"), limits).expect("twin");
        assert_eq!(reply["task"].as_str(), Some(twin.task()), "{id}: the task");
        let mut oracle = OraclePolicy::default();
        oracle.start(env, twin.task()).expect("oracle");
        Self { id, twin, oracle, observation: String::new() }
    }

    fn replica(&self) -> &str {
        self.id.split_once('-').map_or("", |(name, _)| name)
    }

    /// The oracle's next call (`None` once the episode is over) and what the twin answers.
    fn next(&mut self) -> Option<(ToolCall, StepResult)> {
        if self.twin.is_done() {
            return None;
        }
        let call = self.oracle.next(&self.observation).expect("the oracle ends with Done");
        let expected = self.twin.step(&call);
        Some((call, expected))
    }

    /// A step reply (HTTP, batch item or WebSocket result) must be the twin's.
    fn check(&mut self, reply: &Value, expected: &StepResult) {
        let got = (&reply["observation"], &reply["reward"], &reply["done"], &reply["steps"], &reply["fault"]);
        let want = (
            &json!(expected.observation),
            &json!(expected.reward),
            &json!(expected.done),
            &json!(self.twin.steps()),
            &Value::Null,
        );
        assert_eq!(got, want, "session {}: {reply}", self.id);
        self.observation = expected.observation.clone();
    }
}

/// `{name, arguments}` of a call, for a request body.
fn step_body(call: &ToolCall) -> Value {
    json!({ "name": call.name, "arguments": call.arguments })
}

/// One oracle step of every session over HTTP; returns how many sessions stepped.
fn step_all(proxy: &Deployment, sessions: &mut [Tracked]) -> usize {
    let mut stepped = 0;
    for session in sessions {
        let Some((call, expected)) = session.next() else { continue };
        let (status, reply) = proxy.post(&format!("/v1/sessions/{}/step", session.id), &step_body(&call));
        assert_eq!(status, 200, "{}: {reply}", session.id);
        session.check(&reply, &expected);
        stepped += 1;
    }
    stepped
}

/// Sessions live on replica `name`, as its metrics say through the proxy.
fn live_sessions(proxy: &Deployment, name: &str) -> String {
    let mut response =
        proxy.agent.get(proxy.url(&format!("/metrics?replica={name}"))).call().expect("metrics");
    assert_eq!(response.status(), 200);
    let text = response.body_mut().read_to_string().expect("metrics text");
    assert!(text.contains(&format!("codegym_replica_info{{replica=\"{name}\"}} 1")), "{text}");
    let live = text.lines().find_map(|line| line.strip_prefix("codegym_sessions_live "));
    live.expect("codegym_sessions_live").to_owned()
}

#[test]
fn two_replicas_behind_nginx_share_sessions_and_survive_a_crash() {
    let started = Instant::now();
    let mut proxy = Deployment::start();
    let env = binary_search();

    // Sessions spread over both replicas, each routed back to its own by its id.
    let mut sessions: Vec<Tracked> = (0..24)
        .map(|seed| {
            let (status, created) = proxy
                .post("/v1/sessions", &json!({ "env": "binary-search", "seed": seed, "difficulty": 70 }));
            assert_eq!(status, 201, "{created}");
            let id = created["session_id"].as_str().expect("session_id");
            let (status, session) = proxy.get(&format!("/v1/sessions/{id}"));
            assert_eq!((status, &session["session_id"]), (200, &created["session_id"]), "{session}");
            Tracked::new(&env, &created, &session)
        })
        .collect();
    let count = |name: &str, sessions: &[Tracked]| sessions.iter().filter(|s| s.replica() == name).count();
    let (on_a, on_b) = (count("a", &sessions), count("b", &sessions));
    assert!(on_a > 0 && on_b > 0 && on_a + on_b == sessions.len(), "a: {on_a}, b: {on_b}");

    // Single steps.
    for _ in 0..3 {
        assert_eq!(step_all(&proxy, &mut sessions), sessions.len());
    }

    // A batch per replica, named in the header; without it the proxy cannot route one.
    for name in ["a", "b"] {
        let mut expected = Vec::new();
        let mut steps = Vec::new();
        for (index, session) in sessions.iter_mut().enumerate().filter(|(_, s)| s.replica() == name) {
            let (call, result) = session.next().expect("the episode goes on");
            let mut step = step_body(&call);
            step["session_id"] = json!(session.id);
            steps.push(step);
            expected.push((index, result));
        }
        let (status, reply) = proxy.batch(name, &steps);
        assert_eq!(status, 200, "{reply}");
        let results = reply["results"].as_array().expect("results");
        assert_eq!(results.len(), expected.len(), "{reply}");
        for (result, (index, expected)) in results.iter().zip(&expected) {
            assert_eq!(result["session_id"], sessions[*index].id.as_str());
            sessions[*index].check(result, expected);
        }
    }
    let (status, reply) = proxy.post("/v1/step", &json!({ "steps": [] }));
    assert_eq!(status, 400, "a batch without X-CodeGym-Replica: {reply}");
    assert!(reply["error"].as_str().is_some_and(|e| e.contains("X-CodeGym-Replica")), "{reply}");

    // Pipelined WebSocket steps, one socket per replica.
    for name in ["a", "b"] {
        let mut socket = proxy.socket(name);
        for _ in 0..2 {
            let mut expected = HashMap::new();
            for (index, session) in sessions.iter_mut().enumerate().filter(|(_, s)| s.replica() == name) {
                let (call, result) = session.next().expect("the episode goes on");
                let mut request = step_body(&call);
                request["id"] = json!(index);
                request["op"] = json!("step");
                request["session_id"] = json!(session.id);
                socket.send(Message::text(request.to_string())).expect("send");
                expected.insert(index, result);
            }
            while !expected.is_empty() {
                let Message::Text(text) = socket.read().expect("a reply") else { continue };
                let reply: Value = serde_json::from_str(&text).expect("JSON reply");
                assert_eq!(reply["ok"], true, "{reply}");
                let index = reply["id"].as_u64().and_then(|i| usize::try_from(i).ok()).expect("id");
                let result = expected.remove(&index).expect("one reply per request");
                sessions[index].check(&reply["result"], &result);
            }
        }
        _ = socket.close(None);
    }

    // An OpenEnv socket reaches one replica, which holds its session until it closes.
    {
        let stream = TcpStream::connect(&proxy.address).expect("connect to nginx");
        let url = format!("ws://{}/openenv/binary-search/ws", proxy.address);
        let mut socket = tungstenite::client(url, MaybeTlsStream::Plain(stream))
            .expect("OpenEnv handshake through nginx")
            .0;
        let mut exchange = |message: Value| {
            socket.send(Message::text(message.to_string())).expect("send");
            loop {
                if let Message::Text(text) = socket.read().expect("a reply") {
                    return serde_json::from_str::<Value>(&text).expect("JSON reply");
                }
            }
        };
        let reset = exchange(json!({ "type": "reset", "data": { "seed": 3 } }));
        let session = reset["data"]["observation"]["metadata"]["session_id"].as_str().expect("id").to_owned();
        assert!(session.starts_with("a-") || session.starts_with("b-"), "{reset}");
        let step = exchange(json!({ "type": "step", "data": { "name": "Length", "arguments": {} } }));
        assert_eq!(step["data"]["observation"]["steps"], 1, "{step}");
        assert_eq!(proxy.get(&format!("/v1/sessions/{session}")).1["steps"], 1);
        socket.send(Message::text(json!({ "type": "close" }).to_string())).expect("send");
        while socket.read().is_ok() {}
        assert_eq!(proxy.get(&format!("/v1/sessions/{session}")).0, 404, "closed with its socket");
    }

    // A fork lives on its parent's replica and goes on from the same state.
    for name in ["a", "b"] {
        let parent = sessions.iter().position(|s| s.replica() == name).expect("a session there");
        let (status, fork) = proxy.post(&format!("/v1/sessions/{}/fork", sessions[parent].id), &json!({}));
        assert_eq!(status, 201, "{fork}");
        let id = fork["session_id"].as_str().expect("session_id");
        assert!(id.starts_with(&format!("{name}-")), "fork {id} of {}", sessions[parent].id);
        let (_, session) = proxy.get(&format!("/v1/sessions/{id}"));
        assert_eq!(session["log"], json!(sessions[parent].twin.log()), "the fork's log is its parent's");
        let mut fork = Tracked {
            id: id.to_owned(),
            twin: sessions[parent].twin.fork().expect("fork the twin"),
            oracle: OraclePolicy::default(),
            observation: String::new(),
        };
        let observe = ToolCall::new("Observe", "{}");
        let expected = fork.twin.step(&observe);
        let (status, reply) = proxy.post(&format!("/v1/sessions/{id}/step"), &step_body(&observe));
        assert_eq!(status, 200, "{reply}");
        fork.check(&reply, &expected);
        // Deleted through the proxy too (the oracle cannot drive a fork from its middle).
        assert_eq!(proxy.delete(&format!("/v1/sessions/{id}")), (200, json!({ "deleted": id })));
        assert_eq!(proxy.get(&format!("/v1/sessions/{id}")).0, 404);
    }
    let gone = sessions.pop().expect("a session");
    assert_eq!(proxy.delete(&format!("/v1/sessions/{}", gone.id)).0, 200);
    assert_eq!(proxy.get(&format!("/v1/sessions/{}", gone.id)).0, 404);
    let (status, reply) = proxy.get("/v1/sessions/zz-0123456789abcdef");
    assert_eq!(status, 404, "an id naming no replica: {reply}");
    // A reply spanning several of nginx's buffers comes through whole.
    let openapi = format!("http://{}/openapi.json", proxy.replicas[0].address);
    assert_eq!(proxy.get("/openapi.json"), Deployment::reply(proxy.agent.get(openapi).call()));

    // Replica `a` crashes: its sessions are unavailable, new ones go to `b`.
    let on_a = count("a", &sessions);
    assert_eq!(live_sessions(&proxy, "a"), on_a.to_string());
    proxy.replica("a").kill();
    let a_session = sessions.iter().find(|s| s.replica() == "a").expect("a session on a").id.clone();
    let (status, reply) = proxy.get(&format!("/v1/sessions/{a_session}"));
    assert_eq!(status, 502, "{reply}");
    assert!(reply["error"].as_str().is_some_and(|e| e.contains("unavailable")), "{reply}");
    let (status, created) = proxy.post("/v1/sessions", &json!({ "env": "binary-search", "seed": 99 }));
    assert_eq!(status, 201, "{created}");
    let (_, session) = proxy.get(&format!("/v1/sessions/{}", created["session_id"].as_str().expect("id")));
    let late = Tracked::new(&env, &created, &session);
    assert_eq!(late.replica(), "b", "while `a` is down");
    sessions.push(late);

    // Restarted on the same data directory and port, it resumes every session, which carry
    // on through the proxy to the end exactly as their twins do.
    let a = proxy.restart("a");
    let restored = format!("restored {on_a} sessions from {}", a.data.display());
    assert!(tail(&a.log).contains(&restored), "{}", tail(&a.log));
    let mut rounds = 0;
    while step_all(&proxy, &mut sessions) > 0 {
        rounds += 1;
        assert!(rounds <= 256, "the oracle ends every episode");
    }
    for session in &sessions {
        assert_eq!(session.twin.reward(), 1.0, "the oracle solves {}", session.id);
        let (_, status) = proxy.get(&format!("/v1/sessions/{}", session.id));
        assert_eq!((&status["status"], &status["reward"]), (&json!("done"), &json!(1.0)), "{status}");
    }
    assert_eq!(live_sessions(&proxy, "a"), on_a.to_string());
    let steps: u32 = sessions.iter().map(|s| s.twin.steps()).sum();
    println!(
        "{} sessions ({on_a} on a, {} on b), {steps} steps through nginx, a crash of `a` included: {:.1?}",
        sessions.len(),
        sessions.len() - on_a,
        started.elapsed()
    );
}
