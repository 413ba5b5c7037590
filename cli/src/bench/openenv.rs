//! `codegym bench openenv`: OpenEnv's load pattern against any OpenEnv server.
//!
//! N WebSocket connections to `<url>/ws`, one session each: a `reset`, then one `step`
//! message at a time, the next sent when the reply comes (lock-step), for `--seconds`. The
//! same client drives `codegym serve`'s `/openenv/<env>` and a server built on
//! `openenv-core` (e.g. the echo environment of `openenv init`), so their figures compare.
//! A session whose episode ends is reset; resets are not counted as steps.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::Serialize;
use serde_json::Value;
use tungstenite::Message;

use super::server::{Socket, connect_ws};
use crate::{Global, print_json, table};

/// Lock-step steps over N OpenEnv WebSocket sessions: steps/s and step latency per N.
#[derive(clap::Args)]
pub struct Args {
    /// The environment's base URL, e.g. http://127.0.0.1:8000/openenv/binary-search (the
    /// client connects to its `/ws`).
    #[arg(long)]
    url: String,
    /// Concurrent sessions (one connection and one client thread each), comma-separated:
    /// each count is measured in turn.
    #[arg(long, value_delimiter = ',', default_value = "1,16,64")]
    sessions: Vec<usize>,
    /// Seconds per session count.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// The `data` of each `step` message (OpenEnv's action), as JSON.
    #[arg(long, default_value = r#"{"name":"Get","arguments":{"index":0}}"#)]
    action: String,
    /// The `data` of each `reset` message, as JSON.
    #[arg(long, default_value = "{}")]
    reset: String,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

/// What one session count achieved.
#[derive(Serialize)]
struct Phase {
    sessions: usize,
    steps: u64,
    seconds: f64,
    steps_per_sec: f64,
    latency_us_p50: f64,
    latency_us_p99: f64,
    /// Episodes that ended and were reset.
    resets: u64,
}

#[derive(Serialize)]
struct Report {
    url: String,
    action: Value,
    phases: Vec<Phase>,
}

impl Args {
    pub fn execute(self, _global: &Global) -> Result<ExitCode> {
        anyhow::ensure!(self.sessions.iter().all(|&n| n > 0), "--sessions must be positive");
        let action: Value = serde_json::from_str(&self.action).context("--action is not JSON")?;
        let reset: Value = serde_json::from_str(&self.reset).context("--reset is not JSON")?;
        let step = serde_json::json!({ "type": "step", "data": action }).to_string();
        let reset = serde_json::json!({ "type": "reset", "data": reset }).to_string();
        let url = self.url.trim_end_matches('/').to_owned();
        let duration = Duration::from_secs_f64(self.seconds.max(0.1));
        let mut phases = Vec::new();
        for &sessions in &self.sessions {
            phases.push(run_phase(&url, sessions, duration, &reset, &step)?);
        }
        let report = Report { url, action, phases };
        if self.json {
            print_json(&report)?;
        } else {
            outln!("OpenEnv lock-step steps at {}", report.url);
            let rows: Vec<Vec<String>> = report
                .phases
                .iter()
                .map(|p| {
                    vec![
                        p.sessions.to_string(),
                        format!("{:.0}", p.steps_per_sec),
                        format!("{:.0}", p.latency_us_p50),
                        format!("{:.0}", p.latency_us_p99),
                        p.resets.to_string(),
                    ]
                })
                .collect();
            out!("{}", table::render(&["sessions", "steps/s", "p50 µs", "p99 µs", "resets"], &rows));
        }
        Ok(ExitCode::SUCCESS)
    }
}

/// Send `message` and read the reply: its `data`, or the server's error.
fn exchange(socket: &mut Socket, message: &str) -> Result<Value> {
    socket.send(Message::text(message))?;
    loop {
        let text = match socket.read()? {
            Message::Text(text) => text,
            Message::Close(frame) => bail!("the server closed the WebSocket: {frame:?}"),
            _ => continue,
        };
        let mut reply: Value = serde_json::from_str(&text).context("a reply that is not JSON")?;
        if reply["type"] == "error" {
            bail!("the server answered with an error: {}", reply["data"]);
        }
        return Ok(reply["data"].take());
    }
}

/// Per client thread: step latencies and how many episodes ended.
struct Tally {
    latencies_us: Vec<f64>,
    resets: u64,
}

fn run_phase(url: &str, sessions: usize, duration: Duration, reset: &str, step: &str) -> Result<Phase> {
    // Connected and reset before the clock starts: the phase measures steps only.
    let mut sockets = Vec::with_capacity(sessions);
    for _ in 0..sessions {
        let mut socket = connect_ws(url, "/ws")?;
        exchange(&mut socket, reset).context("the first reset failed")?;
        sockets.push(socket);
    }
    let started = Instant::now();
    let tallies = std::thread::scope(|scope| {
        let workers: Vec<_> = sockets
            .into_iter()
            .map(|mut socket| {
                scope.spawn(move || -> Result<Tally> {
                    let mut tally = Tally { latencies_us: Vec::new(), resets: 0 };
                    while started.elapsed() < duration {
                        let sent = Instant::now();
                        let data = exchange(&mut socket, step)?;
                        tally.latencies_us.push(sent.elapsed().as_secs_f64() * 1e6);
                        if data["done"] == true {
                            exchange(&mut socket, reset)?;
                            tally.resets += 1;
                        }
                    }
                    // OpenEnv's own goodbye, then the WebSocket's.
                    _ = socket.send(Message::text(r#"{"type":"close"}"#));
                    _ = socket.close(None);
                    Ok(tally)
                })
            })
            .collect();
        super::server::join_all(workers)
    })?;
    let seconds = started.elapsed().as_secs_f64();
    let latencies: Vec<f64> = tallies.iter().flat_map(|t| t.latencies_us.iter().copied()).collect();
    let steps = latencies.len() as u64;
    Ok(Phase {
        sessions,
        steps,
        seconds,
        steps_per_sec: steps as f64 / seconds,
        latency_us_p50: codegym_host::percentile(&latencies, 0.5),
        latency_us_p99: codegym_host::percentile(&latencies, 0.99),
        resets: tallies.iter().map(|t| t.resets).sum(),
    })
}
