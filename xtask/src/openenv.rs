//! `cargo xtask bench-openenv`: our OpenEnv server beside OpenEnv's own, under the same load.
//!
//! Both servers run pinned to core 0: `codegym serve` (its `/openenv/binary-search`) and the
//! echo environment `openenv init` generates, served by `openenv-core` under uvicorn (its
//! session cap raised from the template's 1 so that it takes the load). One client,
//! `codegym bench openenv` pinned to core 1, drives each with OpenEnv's pattern: N WebSocket
//! sessions, lock-step steps. The figures are printed side by side with the ratio.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::setup;
use crate::tasks::run_command;

/// Where `openenv init` writes the echo environment (regenerated when missing).
const ECHO_DIR: &str = "target/openenv-echo";
const ECHO_NAME: &str = "echo_env";

/// The session counts measured (1: the single-session latency target).
const SESSIONS: &str = "1,16,64";

pub fn bench(root: &Path, seconds: f64) -> Result<()> {
    setup::OPENENV_VENV.ensure(root)?;
    let codegym = root.join("target/debug/codegym");
    let echo = echo_env(root)?;

    let ours = {
        let mut server = Server::start(
            pinned(0, &codegym)
                .args(["serve", "--addr", "127.0.0.1:0", "--env-dir"])
                .arg(root.join("target/envs")),
        )?;
        let base = server.read_url()?;
        load(
            root,
            &format!("{base}/openenv/binary-search"),
            r#"{"name":"Get","arguments":{"index":0}}"#,
            seconds,
        )?
    };
    let theirs = {
        let port = free_port()?;
        let mut command = pinned(0, &setup::OPENENV_VENV.python(root));
        command
            .args(["-m", "uvicorn", "server.app:app", "--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--log-level", "warning", "--no-access-log"])
            .current_dir(&echo);
        let _server = Server::start(&mut command)?;
        let base = format!("http://127.0.0.1:{port}");
        wait_healthy(&base)?;
        load(root, &base, r#"{"message":"hello"}"#, seconds)?
    };

    println!("OpenEnv lock-step load, servers on core 0, client on core 1, {seconds} s per row");
    println!(
        "{:>8}  {:>12}  {:>9}  {:>9}  {:>12}  {:>9}  {:>9}  {:>6}",
        "sessions", "codegym st/s", "p50 µs", "p99 µs", "echo st/s", "p50 µs", "p99 µs", "ratio"
    );
    for (a, b) in ours.iter().zip(&theirs) {
        let rate = |p: &Value| p["steps_per_sec"].as_f64().unwrap_or(0.0);
        println!(
            "{:>8}  {:>12.0}  {:>9.0}  {:>9.0}  {:>12.0}  {:>9.0}  {:>9.0}  {:>5.1}x",
            a["sessions"],
            rate(a),
            a["latency_us_p50"].as_f64().unwrap_or(0.0),
            a["latency_us_p99"].as_f64().unwrap_or(0.0),
            rate(b),
            b["latency_us_p50"].as_f64().unwrap_or(0.0),
            b["latency_us_p99"].as_f64().unwrap_or(0.0),
            rate(a) / rate(b).max(f64::MIN_POSITIVE),
        );
    }
    Ok(())
}

/// `taskset -c CORE program`.
fn pinned(core: u32, program: &Path) -> Command {
    let mut command = Command::new("taskset");
    command.args(["-c", &core.to_string()]).arg(program);
    command
}

/// `codegym bench openenv` on core 1: the phases of its JSON report.
fn load(root: &Path, url: &str, action: &str, seconds: f64) -> Result<Vec<Value>> {
    let output = pinned(1, &root.join("target/debug/codegym"))
        .args(["bench", "openenv", "--json", "--url", url, "--action", action, "--sessions", SESSIONS])
        .args(["--seconds", &seconds.to_string()])
        .stderr(Stdio::inherit())
        .output()
        .context("running codegym bench openenv")?;
    if !output.status.success() {
        bail!("codegym bench openenv against {url} failed with {}", output.status);
    }
    let report: Value = serde_json::from_slice(&output.stdout).context("codegym bench openenv's JSON")?;
    Ok(report["phases"].as_array().cloned().unwrap_or_default())
}

/// The echo environment of `openenv init`, with its concurrent-session cap raised.
fn echo_env(root: &Path) -> Result<PathBuf> {
    let dir = root.join(ECHO_DIR);
    let app = dir.join(ECHO_NAME).join("server/app.py");
    if !app.is_file() {
        std::fs::create_dir_all(&dir)?;
        let openenv = root.join(setup::OPENENV_VENV.dir).join("bin/openenv");
        run_command(Command::new(openenv).args(["init", ECHO_NAME, "--output-dir"]).arg(&dir))
            .context("openenv init")?;
    }
    let source = std::fs::read_to_string(&app)?;
    let raised = source.replace("max_concurrent_envs=1,", "max_concurrent_envs=1024,");
    if !raised.contains("max_concurrent_envs=1024") {
        bail!(
            "{}: no `max_concurrent_envs=1,` to raise (has openenv init's template changed?)",
            app.display()
        );
    }
    std::fs::write(&app, raised)?;
    Ok(dir.join(ECHO_NAME))
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Poll `GET <base>/health` (bounded) until the server answers.
fn wait_healthy(base: &str) -> Result<()> {
    let address = base.trim_start_matches("http://");
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(mut stream) = std::net::TcpStream::connect(address) {
            use std::io::{Read, Write};
            let request = format!("GET /health HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
            let mut reply = String::new();
            if stream.write_all(request.as_bytes()).is_ok()
                && stream.read_to_string(&mut reply).is_ok()
                && reply.starts_with("HTTP/1.1 200")
            {
                return Ok(());
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    bail!("the OpenEnv echo server at {base} did not become healthy in 60 s")
}

/// A server process, killed when dropped.
struct Server {
    child: Child,
}

impl Server {
    fn start(command: &mut Command) -> Result<Self> {
        let child =
            command.stdout(Stdio::piped()).spawn().with_context(|| format!("starting {command:?}"))?;
        Ok(Self { child })
    }

    /// The URL `codegym serve` prints as `listening on URL`.
    fn read_url(&mut self) -> Result<String> {
        let stdout = self.child.stdout.take().context("no stdout")?;
        for line in BufReader::new(stdout).lines() {
            if let Some(url) = line?.strip_prefix("listening on ") {
                return Ok(url.trim().to_owned());
            }
        }
        bail!("the server exited without printing its address")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        _ = self.child.kill();
        _ = self.child.wait();
    }
}
