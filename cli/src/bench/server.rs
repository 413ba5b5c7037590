//! `codegym bench server`: a bounded load generator for the rollout server.
//!
//! It holds `--sessions` live sessions and steps them with `Observe` (every environment has
//! it) over three transports in turn, each for `--duration` seconds: single HTTP steps on
//! one connection (latency), HTTP batches and pipelined WebSocket batches on
//! `--connections` connections (throughput). Without `--url` it starts `codegym serve` on a
//! free port of 127.0.0.1 and also reports the server's memory per live session.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

use crate::{Global, print_json, table};

/// Load-test a rollout server: steps/s and latency of single HTTP steps, HTTP batches and
/// WebSocket batches over many live sessions.
#[derive(clap::Args)]
pub struct Args {
    /// Server to measure, e.g. http://127.0.0.1:8000. Default: start `codegym serve` on a
    /// free port of 127.0.0.1 (then its memory per session is measured too).
    #[arg(long)]
    url: Option<String>,
    /// Environment of the sessions.
    #[arg(long, default_value = "binary-search")]
    env: String,
    /// Live sessions held and stepped.
    #[arg(long, default_value_t = 1024)]
    sessions: usize,
    /// Seconds per transport.
    #[arg(long, default_value_t = 3.0)]
    duration: f64,
    /// Steps per batch request (HTTP and WebSocket).
    #[arg(long, default_value_t = 1024)]
    batch: usize,
    /// Connections for the batch transports, one client thread each; the sessions are
    /// split between them.
    #[arg(long, default_value_t = 2)]
    connections: usize,
    /// Batches in flight on each WebSocket.
    #[arg(long, default_value_t = 2)]
    depth: usize,
    /// Start the server with `--data` in a temporary directory, so every step is committed
    /// before it is acknowledged.
    #[arg(long, conflicts_with = "url")]
    durable: bool,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// What one transport achieved.
#[derive(Serialize)]
struct Phase {
    transport: &'static str,
    connections: usize,
    requests: u64,
    steps: u64,
    seconds: f64,
    steps_per_sec: f64,
    /// Per request: one step, or one batch.
    latency_us_p50: f64,
    latency_us_p99: f64,
    /// Steps answered with an error instead of a reply.
    errors: u64,
}

#[derive(Serialize)]
struct Report {
    url: String,
    env: String,
    sessions: usize,
    batch: usize,
    durable: bool,
    sessions_created_per_sec: f64,
    /// Resident memory of the server started by the benchmark (absent with `--url`).
    server_rss_bytes: Option<u64>,
    server_rss_bytes_per_session: Option<f64>,
    /// Sessions that ended (a step limit of an external server) and were replaced.
    sessions_replaced: u64,
    phases: Vec<Phase>,
}

impl Args {
    pub fn execute(self, global: &Global) -> Result<ExitCode> {
        anyhow::ensure!(self.sessions > 0 && self.batch > 0, "--sessions and --batch must be positive");
        anyhow::ensure!(self.connections > 0 && self.depth > 0, "--connections and --depth must be positive");
        let server = match &self.url {
            Some(_) => None,
            None => Some(SpawnedServer::start(global, self.sessions, self.durable)?),
        };
        let url = match (&self.url, &server) {
            (Some(url), _) => url.trim_end_matches('/').to_owned(),
            (None, Some(server)) => server.url.clone(),
            (None, None) => unreachable!("a server is started when no --url is given"),
        };
        let duration = Duration::from_secs_f64(self.duration.max(0.1));
        let client = Client::new(&url, &self.env);

        // Memory: the server's growth from one live session to all of them.
        let first = client.create(0).context("cannot create a session")?;
        let rss_one = server.as_ref().and_then(SpawnedServer::rss);
        let started = Instant::now();
        let mut sessions = vec![first];
        sessions.extend(create_many(&client, 1..self.sessions as u64, self.connections)?);
        let sessions_created_per_sec = (self.sessions - 1) as f64 / started.elapsed().as_secs_f64();
        let rss_all = server.as_ref().and_then(SpawnedServer::rss);
        let per_session = rss_one.zip(rss_all).map(|(one, all)| {
            (all.saturating_sub(one)) as f64 / (self.sessions.saturating_sub(1).max(1)) as f64
        });

        let mut pool = Sessions { ids: sessions, replaced: 0 };
        let phases = vec![
            http_steps(&client, &mut pool, duration)?,
            http_batches(&client, &mut pool, duration, self.batch, self.connections)?,
            ws_batches(&url, &client, &mut pool, duration, self.batch, self.connections, self.depth)?,
        ];
        let report = Report {
            url,
            env: self.env,
            sessions: self.sessions,
            batch: self.batch,
            durable: self.durable,
            sessions_created_per_sec,
            server_rss_bytes: rss_all,
            server_rss_bytes_per_session: per_session,
            sessions_replaced: pool.replaced,
            phases,
        };
        if self.json {
            print_json(&report)?;
        } else {
            print_report(&report)?;
        }
        let failed = report.phases.iter().any(|p| p.errors > 0 || p.steps == 0);
        Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
    }
}

fn print_report(report: &Report) -> Result<()> {
    outln!(
        "{} sessions of {} at {}{}; created at {:.0}/s",
        report.sessions,
        report.env,
        report.url,
        if report.durable { " (durable)" } else { "" },
        report.sessions_created_per_sec
    );
    if let (Some(total), Some(each)) = (report.server_rss_bytes, report.server_rss_bytes_per_session) {
        outln!(
            "server RSS {:.1} MiB with every session live, {:.1} KiB more per session",
            total as f64 / (1 << 20) as f64,
            each / 1024.0
        );
    }
    let rows: Vec<Vec<String>> = report
        .phases
        .iter()
        .map(|p| {
            vec![
                p.transport.to_owned(),
                p.connections.to_string(),
                format!("{:.0}", p.steps_per_sec),
                format!("{:.0}", p.latency_us_p50),
                format!("{:.0}", p.latency_us_p99),
                p.requests.to_string(),
                p.errors.to_string(),
            ]
        })
        .collect();
    out!(
        "{}",
        table::render(
            &["transport", "connections", "steps/s", "p50 µs", "p99 µs", "requests", "errors"],
            &rows
        )
    );
    if report.sessions_replaced > 0 {
        outln!("{} sessions ended and were replaced", report.sessions_replaced);
    }
    Ok(())
}

/// `codegym serve` in a child process on a free port, killed on drop.
struct SpawnedServer {
    child: Child,
    url: String,
    data: Option<PathBuf>,
}

impl SpawnedServer {
    fn start(global: &Global, sessions: usize, durable: bool) -> Result<Self> {
        let exe = std::env::current_exe().context("cannot find the codegym executable")?;
        let mut command = Command::new(exe);
        command.arg("--env-dir").arg(global.env_dir());
        if let Some(cache) = &global.cache_dir {
            command.arg("--cache-dir").arg(cache);
        }
        // Room for every session; steps never run out, so the steady state is pure stepping.
        command.args(["serve", "--addr", "127.0.0.1:0", "--max-steps", "1000000000"]);
        command.arg("--max-sessions").arg((sessions + 64).to_string());
        let data = durable.then(|| {
            std::env::temp_dir().join(format!("codegym-bench-{}-{}", std::process::id(), now_nanos()))
        });
        if let Some(dir) = &data {
            command.arg("--data").arg(dir);
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("cannot start `codegym serve`")?;
        let stdout = child.stdout.take().context("no stdout from `codegym serve`")?;
        let mut server = Self { child, url: String::new(), data };
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        match line.trim().strip_prefix("listening on ") {
            Some(url) => server.url = url.to_owned(),
            None => bail!("`codegym serve` did not start (it printed {line:?})"),
        }
        Ok(server)
    }

    /// The server's resident memory, from /proc (Linux).
    fn rss(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    }
}

impl Drop for SpawnedServer {
    fn drop(&mut self) {
        _ = self.child.kill();
        _ = self.child.wait();
        if let Some(dir) = &self.data {
            _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn now_nanos() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos())
}

/// HTTP calls the benchmark makes besides the measured ones.
struct Client {
    agent: ureq::Agent,
    url: String,
    env: String,
}

/// A reply's fields the benchmark looks at.
#[derive(Deserialize)]
struct StepReply {
    #[serde(default)]
    done: bool,
    session_id: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize)]
struct BatchReply {
    results: Vec<StepReply>,
}

const OBSERVE: &str = r#"{"name":"Observe"}"#;

impl Client {
    fn new(url: &str, env: &str) -> Self {
        let agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        Self { agent, url: url.to_owned(), env: env.to_owned() }
    }

    /// POST `body` to `path`; the reply body if the status is 2xx.
    fn post(&self, path: &str, body: &str) -> Result<String> {
        let mut response = self
            .agent
            .post(format!("{}{path}", self.url))
            .header("content-type", "application/json")
            .send(body)
            .with_context(|| format!("POST {}{path}", self.url))?;
        let status = response.status();
        let text = response.body_mut().with_config().limit(64 << 20).read_to_string()?;
        anyhow::ensure!(status.is_success(), "POST {path}: {status}: {text}");
        Ok(text)
    }

    /// A new session on config `seed`; its id.
    fn create(&self, seed: u64) -> Result<String> {
        let body = serde_json::json!({ "env": self.env, "seed": seed }).to_string();
        let reply: StepReply = serde_json::from_str(&self.post("/v1/sessions", &body)?)?;
        reply.session_id.context("no session_id in the reply")
    }

    fn step(&self, session: &str) -> Result<StepReply> {
        Ok(serde_json::from_str(&self.post(&format!("/v1/sessions/{session}/step"), OBSERVE)?)?)
    }
}

/// Each client thread's result, in order; the first error (or panic) fails the phase.
pub(super) fn join_all<T>(workers: Vec<std::thread::ScopedJoinHandle<'_, Result<T>>>) -> Result<Vec<T>> {
    workers.into_iter().map(|w| w.join().map_err(|_| anyhow::anyhow!("a client thread panicked"))?).collect()
}

/// Create sessions for `seeds` on `threads` connections.
fn create_many(client: &Client, seeds: std::ops::Range<u64>, threads: usize) -> Result<Vec<String>> {
    let seeds: Vec<u64> = seeds.collect();
    let chunk = seeds.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = seeds
            .chunks(chunk)
            .map(|chunk| {
                scope.spawn(move || {
                    let client = Client::new(&client.url, &client.env);
                    chunk.iter().map(|&seed| client.create(seed)).collect::<Result<Vec<_>>>()
                })
            })
            .collect();
        Ok(join_all(workers)?.into_iter().flatten().collect())
    })
}

/// The live sessions; one that ends is replaced by a new one.
struct Sessions {
    ids: Vec<String>,
    replaced: u64,
}

impl Sessions {
    fn replace(&mut self, client: &Client, index: usize) -> Result<()> {
        self.ids[index] = client.create(index as u64)?;
        self.replaced += 1;
        Ok(())
    }
}

/// Latencies and counts of one client thread.
#[derive(Default)]
struct Tally {
    latencies_us: Vec<f64>,
    steps: u64,
    errors: u64,
    /// Indices (into the session list) of sessions that ended.
    ended: Vec<usize>,
}

impl Tally {
    fn merge(tallies: Vec<Tally>) -> Tally {
        tallies.into_iter().fold(Tally::default(), |mut all, t| {
            all.latencies_us.extend(t.latencies_us);
            all.steps += t.steps;
            all.errors += t.errors;
            all.ended.extend(t.ended);
            all
        })
    }

    /// Count one batch's replies for sessions `indices` (in order).
    fn count(&mut self, replies: &[StepReply], indices: impl Iterator<Item = usize>) {
        for (reply, index) in replies.iter().zip(indices) {
            self.steps += 1;
            if reply.error.is_some() {
                self.errors += 1;
            } else if reply.done {
                self.ended.push(index);
            }
        }
    }

    fn phase(self, transport: &'static str, connections: usize, seconds: f64) -> Phase {
        Phase {
            transport,
            connections,
            requests: self.latencies_us.len() as u64,
            steps: self.steps,
            seconds,
            steps_per_sec: self.steps as f64 / seconds,
            latency_us_p50: codegym_host::percentile(&self.latencies_us, 0.5),
            latency_us_p99: codegym_host::percentile(&self.latencies_us, 0.99),
            errors: self.errors,
        }
    }
}

/// Replace the sessions that ended during a phase.
fn replace_ended(client: &Client, pool: &mut Sessions, mut ended: Vec<usize>) -> Result<()> {
    ended.sort_unstable();
    ended.dedup();
    for index in ended {
        pool.replace(client, index)?;
    }
    Ok(())
}

/// One step at a time on one connection, round-robin over the sessions.
fn http_steps(client: &Client, pool: &mut Sessions, duration: Duration) -> Result<Phase> {
    let mut tally = Tally::default();
    let started = Instant::now();
    let mut index = 0;
    while started.elapsed() < duration {
        let sent = Instant::now();
        let reply = client.step(&pool.ids[index])?;
        tally.latencies_us.push(sent.elapsed().as_secs_f64() * 1e6);
        tally.count(std::slice::from_ref(&reply), std::iter::once(index));
        if reply.done {
            pool.replace(client, index)?;
            tally.ended.clear();
        }
        index = (index + 1) % pool.ids.len();
    }
    Ok(tally.phase("HTTP step", 1, started.elapsed().as_secs_f64()))
}

/// The `{"steps": [...]}` body stepping `ids` with Observe.
fn batch_body(ids: &[String]) -> String {
    let mut body = String::with_capacity(ids.len() * 48 + 16);
    body.push_str(r#"{"steps":["#);
    for (i, id) in ids.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(r#"{"session_id":""#);
        body.push_str(id);
        body.push_str(r#"","name":"Observe"}"#);
    }
    body.push_str("]}");
    body
}

/// Each connection's sessions: index ranges of about equal size.
fn shards(sessions: usize, connections: usize) -> Vec<std::ops::Range<usize>> {
    let size = sessions.div_ceil(connections.min(sessions));
    (0..sessions).step_by(size).map(|start| start..(start + size).min(sessions)).collect()
}

/// Batches of `batch` steps on `connections` HTTP connections, each over its shard.
fn http_batches(
    client: &Client,
    pool: &mut Sessions,
    duration: Duration,
    batch: usize,
    connections: usize,
) -> Result<Phase> {
    let shards = shards(pool.ids.len(), connections);
    let started = Instant::now();
    let ids = &pool.ids;
    let tallies = std::thread::scope(|scope| {
        let workers: Vec<_> = shards
            .iter()
            .map(|shard| {
                let shard = shard.clone();
                scope.spawn(move || -> Result<Tally> {
                    let client = Client::new(&client.url, &client.env);
                    let chunks: Vec<(usize, String)> = shard
                        .clone()
                        .step_by(batch)
                        .map(|start| {
                            let end = (start + batch).min(shard.end);
                            (start, batch_body(&ids[start..end]))
                        })
                        .collect();
                    let mut tally = Tally::default();
                    for (start, body) in chunks.iter().cycle() {
                        if started.elapsed() >= duration {
                            break;
                        }
                        let sent = Instant::now();
                        let reply: BatchReply = serde_json::from_str(&client.post("/v1/step", body)?)?;
                        tally.latencies_us.push(sent.elapsed().as_secs_f64() * 1e6);
                        tally.count(&reply.results, *start..);
                    }
                    Ok(tally)
                })
            })
            .collect();
        join_all(workers)
    })?;
    let seconds = started.elapsed().as_secs_f64();
    let mut tally = Tally::merge(tallies);
    replace_ended(client, pool, std::mem::take(&mut tally.ended))?;
    Ok(tally.phase("HTTP batch", shards.len(), seconds))
}

pub(super) type Socket = WebSocket<MaybeTlsStream<TcpStream>>;

/// Open the WebSocket at `url` + `path` (`url` as `http://` or `ws://`, perhaps with a base
/// path of its own), with Nagle off: every message is a request waiting for its reply.
pub(super) fn connect_ws(url: &str, path: &str) -> Result<Socket> {
    let rest = url.trim_start_matches("http://").trim_start_matches("ws://");
    let address = rest.split('/').next().unwrap_or(rest);
    let stream = TcpStream::connect(address).with_context(|| format!("cannot connect to {address}"))?;
    stream.set_nodelay(true)?;
    let target = format!("ws://{rest}{path}");
    let (socket, _) = tungstenite::client(target.as_str(), MaybeTlsStream::Plain(stream))
        .with_context(|| format!("WebSocket handshake with {target} failed"))?;
    Ok(socket)
}

#[derive(Deserialize)]
struct WsReply {
    id: usize,
    ok: bool,
    result: Option<BatchReply>,
    error: Option<String>,
}

/// Pipelined batches on `connections` WebSockets: `depth` batch messages in flight on each,
/// a new one sent as soon as a reply comes.
fn ws_batches(
    url: &str,
    client: &Client,
    pool: &mut Sessions,
    duration: Duration,
    batch: usize,
    connections: usize,
    depth: usize,
) -> Result<Phase> {
    let shards = shards(pool.ids.len(), connections);
    let ids = &pool.ids;
    let sockets = shards.iter().map(|_| connect_ws(url, "/v1/ws")).collect::<Result<Vec<_>>>()?;
    let failed = AtomicBool::new(false);
    let started = Instant::now();
    let tallies = std::thread::scope(|scope| {
        let workers: Vec<_> = shards
            .iter()
            .zip(sockets)
            .map(|(shard, mut socket)| {
                let shard = shard.clone();
                let failed = &failed;
                scope.spawn(move || -> Result<Tally> {
                    // The shard's chunks' `steps` arrays, sent in turn as batch messages.
                    let chunks: Vec<(usize, String)> = shard
                        .clone()
                        .step_by(batch)
                        .map(|start| {
                            let end = (start + batch).min(shard.end);
                            (start, batch_body(&ids[start..end])[1..].to_owned())
                        })
                        .collect();
                    let mut tally = Tally::default();
                    // Request id → (chunk, sent at).
                    let mut in_flight = std::collections::HashMap::new();
                    let mut next = 0usize;
                    loop {
                        let running = started.elapsed() < duration && !failed.load(Ordering::Relaxed);
                        while running && in_flight.len() < depth {
                            let chunk = next % chunks.len();
                            let message = format!(r#"{{"id":{next},"op":"batch",{}"#, chunks[chunk].1);
                            socket.send(Message::text(message))?;
                            in_flight.insert(next, (chunk, Instant::now()));
                            next += 1;
                        }
                        if in_flight.is_empty() {
                            break;
                        }
                        let text = match socket.read()? {
                            Message::Text(text) => text,
                            Message::Close(frame) => bail!("the server closed the WebSocket: {frame:?}"),
                            _ => continue,
                        };
                        let reply: WsReply = serde_json::from_str(&text)?;
                        let Some((chunk, sent)) = in_flight.remove(&reply.id) else {
                            bail!("a reply to an unknown request {}", reply.id);
                        };
                        tally.latencies_us.push(sent.elapsed().as_secs_f64() * 1e6);
                        match (reply.ok, reply.result) {
                            (true, Some(result)) => tally.count(&result.results, chunks[chunk].0..),
                            _ => {
                                failed.store(true, Ordering::Relaxed);
                                bail!("a batch failed: {}", reply.error.unwrap_or_default());
                            }
                        }
                    }
                    _ = socket.close(None);
                    Ok(tally)
                })
            })
            .collect();
        join_all(workers)
    })?;
    let seconds = started.elapsed().as_secs_f64();
    let mut tally = Tally::merge(tallies);
    replace_ended(client, pool, std::mem::take(&mut tally.ended))?;
    Ok(tally.phase("WebSocket batch", shards.len(), seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_cover_every_session_once() {
        for (sessions, connections) in [(1, 1), (1, 4), (10, 3), (1024, 2), (7, 7)] {
            let shards = shards(sessions, connections);
            assert!(shards.len() <= connections);
            let covered: Vec<usize> = shards.into_iter().flatten().collect();
            assert_eq!(covered, (0..sessions).collect::<Vec<_>>(), "{sessions} over {connections}");
        }
    }

    #[test]
    fn batch_bodies_are_json() {
        let body = batch_body(&["a".into(), "b".into()]);
        let value: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(value["steps"][1]["session_id"], "b");
        assert_eq!(value["steps"][0]["name"], "Observe");
    }
}
