//! The `codegym` binary as a user runs it, each command in a fresh process, on the real
//! components built by `cargo xtask build-envs` (`target/envs`, `target/test-envs`).

mod cache;
mod deploy;
mod eval;
mod mcp;
mod python;
mod serve;
mod synth;
mod tasks;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("cli/ is inside the workspace")
}

/// The CLI with the shared compile cache ([`shared_cache`]) and a scratch directory of its
/// own.
struct Cli {
    scratch: tempfile::TempDir,
}

/// The compile cache every test binary of the workspace shares (`target/test-cache`): the
/// cache writes by rename and serialises compiles of one artifact, so sharing is safe, and
/// each component (a Python one takes ~16 s) is compiled once per checkout.
fn shared_cache() -> &'static std::path::Path {
    static CACHE: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    CACHE.get_or_init(|| {
        let dir = workspace().join("target/test-cache");
        std::fs::create_dir_all(&dir).expect("create target/test-cache");
        dir
    })
}

impl Cli {
    fn new() -> Self {
        for dir in ["envs", "test-envs"] {
            let path = workspace().join("target").join(dir);
            assert!(path.is_dir(), "{} is missing: run `cargo xtask build-envs` first", path.display());
        }
        Self { scratch: tempfile::tempdir().expect("temp dir") }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_codegym"));
        command
            .arg("--env-dir")
            .arg(workspace().join("target/envs"))
            .arg("--cache-dir")
            .arg(shared_cache())
            .args(args);
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("run codegym")
    }

    fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn codegym");
        child.stdin.take().expect("stdin").write_all(stdin.as_bytes()).expect("write stdin");
        child.wait_with_output().expect("wait")
    }
}

/// A running `codegym serve`, killed on drop.
struct Served {
    child: std::process::Child,
    url: String,
}

impl Cli {
    /// `codegym serve --addr 127.0.0.1:0 ARGS...`, once it prints the address it listens on.
    fn serve(&self, args: &[&str]) -> Served {
        let mut child = self
            .command(&[&["serve", "--addr", "127.0.0.1:0"], args].concat())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn codegym serve");
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().expect("stdout")),
            &mut line,
        )
        .expect("read stdout");
        let url = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("first line: {line:?}"));
        Served { url: url.to_owned(), child }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        _ = self.child.kill();
        _ = self.child.wait();
    }
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn json(output: &Output) -> serde_json::Value {
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("stdout is JSON")
}

#[test]
fn list_and_show_describe_environments() {
    let cli = Cli::new();
    let list = json(&cli.run(&["list", "--json"]));
    let names: Vec<&str> =
        list.as_array().expect("array").iter().filter_map(|i| i["name"].as_str()).collect();
    assert!(names.contains(&"binary-search"), "{names:?}");
    let filtered = json(&cli.run(&["list", "--category", "searching", "--json"]));
    assert!(filtered.as_array().expect("array").iter().all(|i| i["category"] == "searching"));

    let show = cli.run(&["show", "binary-search"]);
    let text = stdout(&show);
    assert!(show.status.success());
    for needle in [
        "binary-search",
        "[searching]",
        "Tools (",
        "Get:",
        "\"index\"",
        "Done:",
        "oracle calls",
        "Sample task",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
}

#[test]
fn show_json_is_the_card() {
    let show = json(&Cli::new().run(&["show", "two-sum", "--json", "--card-seeds", "3"]));
    let card = &show["card"];
    assert_eq!(card["name"], "two-sum");
    assert_eq!(card["category"], "hashing");
    let difficulties = card["difficulties"].as_array().expect("difficulties");
    assert_eq!(difficulties.len(), 3);
    for difficulty in difficulties {
        assert_eq!(difficulty["oracle_solved"], 3, "{difficulty}");
        assert!(difficulty["oracle_calls"]["mean"].as_f64().expect("mean") >= 1.0);
    }
}

#[test]
fn verify_passes_on_the_whole_corpus() {
    let report = json(&Cli::new().run(&["verify", "--envs", "all", "--json"]));
    let envs = report["envs"].as_u64().expect("envs");
    assert!(envs >= 7, "{report}");
    assert_eq!(report["passed"], envs, "{report}");
    assert_eq!(report["failed"], serde_json::json!([]));
    let funnel = report["funnel"].as_array().expect("funnel");
    assert!(funnel.iter().all(|stage| stage["passed"] == envs), "{report}");
}

#[test]
fn verify_rejects_a_flawed_environment_with_its_reason() {
    let cli = Cli::new();
    let output = cli
        .command(&["verify", "--envs", "wrong-oracle,answer-tool", "--configs", "9"])
        .arg("--env-dir")
        .arg(workspace().join("target/test-envs"))
        .output()
        .expect("run codegym");
    assert!(!output.status.success(), "verify must fail on flawed environments");
    let text = stdout(&output);
    for needle in [
        "0 of 2 environments passed",
        "wrong-oracle [oracle reward 1 on every config]",
        "answer-tool [no tool returns the answer]: tool Sum reveals",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
}

#[test]
fn stats_reports_the_corpus_beside_the_paper() {
    let stats = json(&Cli::new().run(&["stats", "--seeds", "2", "--json"]));
    let envs = stats["envs"].as_u64().expect("envs");
    assert!(envs >= 7);
    assert_eq!(stats["cards"].as_array().expect("cards").len() as u64, envs);
    assert!(stats["categories"].as_u64().expect("categories") >= 7);
    assert!(stats["tools_mean"].as_f64().expect("tools_mean") >= 4.0);
    let medium = stats["oracle_steps_mean_medium"].as_f64().expect("medium");
    assert!((10.0..=256.0).contains(&medium), "{medium}");
    assert_eq!(stats["paper"]["envs"], 13_116);
}

#[test]
fn unknown_environment_is_a_clear_error() {
    let output = Cli::new().run(&["show", "no-such-env"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("unknown environment `no-such-env`") && stderr.contains("binary-search"),
        "{stderr}"
    );
}

#[test]
fn play_reads_tool_calls_and_reports_bad_lines() {
    let cli = Cli::new();
    let solve = json(&cli.run(&["solve", "binary-search", "--seed", "5", "--json"]));
    let answer = &solve["steps"].as_array().expect("steps").last().expect("a step")["call"]["arguments"];
    let script = format!(
        "Observe\nGet {{\"index\": 0}}\nGet {{oops\n??? \n:tools\n<tool_call>{{\"name\":\"Length\"}}</tool_call>\n{{\"name\":\"Done\",\"arguments\":{}}}\n",
        answer.as_str().expect("arguments text")
    );
    let output = cli.run_with_stdin(&["play", "binary-search", "--seed", "5"], &script);
    let text = stdout(&output);
    assert!(output.status.success(), "{text}");
    assert!(text.contains("error: ") && text.contains("nothing was sent"), "{text}");
    assert!(text.contains("`???` is not a tool name"), "{text}");
    assert!(text.contains("Result: correct"), "{text}");
    assert!(text.contains("Episode over: solved, reward 1, 4 steps."), "{text}");
}

#[test]
fn rollout_then_replay_in_a_fresh_process_is_identical() {
    let cli = Cli::new();
    let out = cli.scratch.path().join("trajectories.jsonl");
    let out_arg = out.to_str().expect("utf-8 path");
    for policy in ["oracle", "random"] {
        let report = json(&cli.run(&[
            "rollout",
            "--envs",
            "all",
            "--policy",
            policy,
            "--episodes",
            "6",
            "--threads",
            "2",
            "--out",
            out_arg,
            "--json",
        ]));
        let episodes = report["episodes"].as_u64().expect("episodes");
        assert!(episodes >= 6, "{report}");
        for key in ["solved", "steps", "faults", "steps_per_sec", "per_env"] {
            assert!(report.get(key).is_some(), "missing {key} in {report}");
        }
        if policy == "oracle" {
            assert_eq!(report["solved"], report["episodes"], "{report}");
        }
        let lines = std::fs::read_to_string(&out).expect("trajectories").lines().count() as u64;
        assert_eq!(lines, episodes);
        let replay = json(&cli.run(&["replay", out_arg, "--json"]));
        assert_eq!(replay["trajectories"].as_u64(), Some(episodes), "{replay}");
        assert_eq!(replay["identical"].as_u64(), Some(episodes), "{replay}");
    }
}

#[test]
fn replay_reports_a_tampered_trajectory() {
    let cli = Cli::new();
    let out = cli.scratch.path().join("t.jsonl");
    let out_arg = out.to_str().expect("utf-8 path");
    let run = cli.run(&["rollout", "--envs", "binary-search", "--episodes", "1", "--out", out_arg]);
    assert!(run.status.success());
    let text = std::fs::read_to_string(&out).expect("file");
    let mut trajectory: serde_json::Value = serde_json::from_str(text.trim()).expect("json");
    trajectory["steps"][1]["observation"] = "something else".into();
    std::fs::write(&out, format!("{trajectory}\nnot json\n")).expect("write");
    let output = cli.run(&["replay", out_arg]);
    assert!(!output.status.success());
    let text = stdout(&output);
    assert!(text.contains("step 2 differs"), "{text}");
    assert!(text.contains("1 differ, 1 errors"), "{text}");
}

/// A reader that stops early (`codegym list --json | head`) is no error: the command exits 0 and
/// prints nothing on stderr, for table and JSON output alike.
#[test]
fn a_closed_stdout_ends_output_quietly() {
    let cli = Cli::new();
    for args in [&["list"][..], &["list", "--json"], &["show", "binary-search"], &["stats", "--json"]] {
        let mut child =
            cli.command(args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn codegym");
        // Closed before the command has loaded its components, so its first write fails.
        drop(child.stdout.take());
        let output = child.wait_with_output().expect("wait");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{args:?}: {} {stderr}", output.status);
        assert!(!stderr.contains("error") && !stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

/// More live episodes than the system allows (`vm.max_map_count`, 65,530 by default, stops
/// them at ~16,000): the figure reports how many started and why, and every other figure is
/// still measured (before, the threads of the throughput loop could not start).
#[test]
fn bench_reports_its_figures_past_a_system_limit() {
    let asked = 20_000;
    let output = Cli::new().run(&[
        "bench",
        "--json",
        "--live",
        &asked.to_string(),
        "--throughput-episodes",
        "20",
        "--seconds",
        "0.2",
    ]);
    let report = json(&output);
    assert!(report["steps_per_sec"].as_f64().is_some_and(|v| v > 0.0), "{report}");
    assert!(report["step_us_p50"].as_f64().is_some_and(|v| v > 0.0), "{report}");
    let live = report["live_episodes"].as_u64().expect("live_episodes");
    let map_count: u64 = std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(u64::MAX);
    // Each live episode maps ~4 regions: below 4 per asked episode the limit must be met.
    if map_count < 4 * asked {
        assert!(live < asked && live > 1000, "{report}");
        let limit = report["live_limit"].as_str().expect("live_limit says why");
        assert!(limit.contains("vm.max_map_count"), "{limit}");
    } else if live < asked {
        assert!(report["live_limit"].is_string(), "{report}");
    }
}

#[test]
fn bench_reports_every_figure() {
    let cli = Cli::new();
    let report = json(&cli.run(&[
        "bench",
        "--json",
        "--live",
        "200",
        "--throughput-episodes",
        "20",
        "--seconds",
        "0.2",
    ]));
    for key in [
        "instantiate_reset_us_p50",
        "step_us_p50",
        "steps_per_sec",
        "live_episodes",
        "rss_bytes_per_episode",
        "cached_load_ms",
    ] {
        assert!(report[key].as_f64().is_some_and(|v| v > 0.0), "{key} in {report}");
    }
    assert_eq!(report["live_episodes"], 200);
}

/// A `bench server --json` report with every transport's figures and a reply to every step.
fn assert_server_bench(report: &serde_json::Value, sessions: u64) {
    assert_eq!(report["sessions"], sessions, "{report}");
    let phases = report["phases"].as_array().expect("phases");
    let transports: Vec<&str> = phases.iter().filter_map(|p| p["transport"].as_str()).collect();
    assert_eq!(transports, ["HTTP step", "HTTP batch", "WebSocket batch"]);
    for phase in phases {
        assert_eq!(phase["errors"], 0, "{phase}");
        for key in ["steps", "steps_per_sec", "latency_us_p50", "latency_us_p99"] {
            assert!(phase[key].as_f64().is_some_and(|v| v > 0.0), "{key} in {phase}");
        }
    }
}

#[test]
fn bench_server_measures_every_transport() {
    let cli = Cli::new();
    let args = ["bench", "server", "--json", "--sessions", "16", "--batch", "4", "--duration", "0.2"];
    let report = json(&cli.run(&args));
    assert_server_bench(&report, 16);
    assert!(report["server_rss_bytes_per_session"].as_f64().is_some_and(|v| v > 0.0), "{report}");
    assert_eq!(report["sessions_replaced"], 0, "the benchmark's own server never ends a session");
}

#[test]
fn bench_server_replaces_sessions_that_end() {
    let cli = Cli::new();
    let server = cli.serve(&["--max-steps", "3"]);
    let args = ["bench", "server", "--json", "--url", &server.url, "--sessions", "4", "--duration", "0.2"];
    let output = cli.run(&args);
    drop(server);
    let report = json(&output);
    assert_server_bench(&report, 4);
    assert!(report["server_rss_bytes"].is_null(), "an external server's memory is not measured");
    assert!(report["sessions_replaced"].as_u64().is_some_and(|n| n > 0), "{report}");
}
