//! `codegym eval` against a test double of an OpenAI-compatible chat-completions endpoint.
//!
//! No language model can be reached from here, so each test starts a small HTTP/1.1 server
//! on 127.0.0.1 (std `TcpListener`, a thread per connection, `connection: close`). Its
//! replies are recorded by the test itself from the environments' oracles — each oracle
//! call rendered with `render_call` in the format under test — rather than read from a
//! committed fixture that could go stale when an environment changes. Every reply is picked
//! by the episode's task statement and the number of assistant messages in the request, so
//! concurrent episodes and retried requests each get the right one. Missing, truncated and
//! malformed calls, a 429 and two 5xx statuses are spliced in at known turns, and the double
//! answers 400 to any conversation a real server would refuse (a tool call left unanswered,
//! a reply not relayed as it was sent, tools in the wrong format).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::Output;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use codegym_core::{
    ActionFormat, ChatMessage, Outcome, StopReason, ToolCall, Trajectory, render_call, render_prompt,
};
use codegym_host::{Env, Host, HostConfig, Job, OraclePolicy};
use serde_json::{Value, json};

use crate::{Cli, shared_cache, stdout, workspace};

pub(crate) const MODEL: &str = "oracle-replay";
pub(crate) const KEY_VAR: &str = "CODEGYM_EVAL_TEST_KEY";
pub(crate) const KEY: &str = "test-key";
const DIFFICULTY: u32 = 0;

/// What the double answers to one request.
#[derive(Clone, Debug)]
pub(crate) enum Canned {
    /// A chat completion holding `message`; its `usage` counts the request at 4 bytes a token.
    Completion { message: Value, finish: &'static str },
    /// An error status with an OpenAI-style error body.
    Status { status: u16, retry_after: Option<&'static str>, message: &'static str },
    /// 200 with a body that is not JSON.
    Garbage,
}

impl Canned {
    fn status(status: u16, message: &'static str) -> Self {
        Canned::Status { status, retry_after: None, message }
    }

    fn to_http(&self, request_bytes: usize) -> Http {
        match self {
            Canned::Completion { message, finish } => Http::json(
                200,
                &json!({
                    "id": "chatcmpl-test",
                    "object": "chat.completion",
                    "created": 0,
                    "model": MODEL,
                    "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                    "usage": {"prompt_tokens": request_bytes / 4, "completion_tokens": 20,
                              "total_tokens": request_bytes / 4 + 20},
                }),
            ),
            Canned::Status { status, retry_after, message } => {
                let mut http = Http::json(*status, &json!({"error": {"message": message, "type": "test"}}));
                if let Some(seconds) = retry_after {
                    http.headers.push(("retry-after", (*seconds).to_owned()));
                }
                http
            }
            Canned::Garbage => Http { status: 200, headers: Vec::new(), body: "<html>oops</html>".into() },
        }
    }
}

/// An HTTP response.
pub(crate) struct Http {
    status: u16,
    headers: Vec<(&'static str, String)>,
    body: String,
}

impl Http {
    pub(crate) fn json(status: u16, body: &Value) -> Self {
        Self { status, headers: vec![("content-type", "application/json".into())], body: body.to_string() }
    }

    pub(crate) fn error(status: u16, message: &str) -> Self {
        Self::json(status, &json!({"error": {"message": message}}))
    }
}

/// A chat-completions request as the double sees it.
pub(crate) struct Request {
    authorization: Option<String>,
    pub(crate) body: Value,
    bytes: usize,
}

type Handler = dyn Fn(&Request) -> Http + Send + Sync;

/// The test double: an HTTP server on 127.0.0.1 serving `POST /v1/chat/completions` with a
/// handler (any other route is a 404), stopped when dropped.
pub(crate) struct Endpoint {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    /// Chat-completions requests served.
    requests: Arc<AtomicUsize>,
    thread: Option<JoinHandle<()>>,
}

/// Connections one double accepts at most: a runaway client ends the test, not the machine.
const MAX_CONNECTIONS: usize = 20_000;

impl Endpoint {
    pub(crate) fn start(handler: impl Fn(&Request) -> Http + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(AtomicUsize::new(0));
        let handler: Arc<Handler> = Arc::new(handler);
        let thread = std::thread::spawn({
            let (stop, requests) = (stop.clone(), requests.clone());
            move || {
                for stream in listener.incoming().take(MAX_CONNECTIONS) {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let (handler, requests) = (handler.clone(), requests.clone());
                    std::thread::spawn(move || {
                        // A client that hangs up mid-request is its own problem.
                        let _ = serve_connection(stream, &*handler, &requests);
                    });
                }
            }
        });
        Self { addr, stop, requests, thread: Some(thread) }
    }

    pub(crate) fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    pub(crate) fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees the flag.
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One request on `stream`, answered with `connection: close`.
fn serve_connection(stream: TcpStream, handler: &Handler, requests: &AtomicUsize) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut words = line.split_whitespace();
    let (method, path) =
        (words.next().unwrap_or_default().to_owned(), words.next().unwrap_or_default().to_owned());
    let (mut length, mut authorization, mut expect_continue) = (0, None, false);
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let Some((name, value)) = header.split_once(':') else { continue };
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse().unwrap_or(0),
            "authorization" => authorization = Some(value.trim().to_owned()),
            "expect" => expect_continue = value.trim().eq_ignore_ascii_case("100-continue"),
            _ => {}
        }
    }
    let mut stream = stream;
    if expect_continue {
        stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let reply = if method == "POST" && path == "/v1/chat/completions" {
        match serde_json::from_slice(&body) {
            Ok(json) => {
                requests.fetch_add(1, Ordering::SeqCst);
                handler(&Request { authorization, body: json, bytes: body.len() })
            }
            Err(error) => Http::error(400, &format!("the body is not JSON: {error}")),
        }
    } else {
        Http::error(404, &format!("no route {method} {path}"))
    };
    let mut head = format!(
        "HTTP/1.1 {} Test\r\ncontent-length: {}\r\nconnection: close\r\n",
        reply.status,
        reply.body.len()
    );
    for (name, value) in &reply.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    stream.write_all(reply.body.as_bytes())?;
    stream.flush()
}

/// One oracle episode turned into the replies of a model that plays it in `format`.
pub(crate) struct Recorded {
    pub(crate) task: String,
    /// The opening user message, by which the double knows the episode.
    pub(crate) opening: String,
    /// Per turn, the replies to successive attempts (the last one repeats).
    pub(crate) turns: Vec<Vec<Canned>>,
    pub(crate) calls: usize,
    parse_errors: u32,
    retries: u32,
}

impl Recorded {
    /// The oracle's calls in `trajectory` as replies in `format`, nothing spliced in, for
    /// the episode whose opening user message is `opening`.
    pub(crate) fn plain(opening: &str, trajectory: &Trajectory, format: ActionFormat) -> Self {
        let turns: Vec<Vec<Canned>> = trajectory
            .steps
            .iter()
            .enumerate()
            .map(|(turn, step)| vec![good_reply(&step.call, format, turn)])
            .collect();
        Self {
            task: trajectory.task.clone(),
            opening: opening.to_owned(),
            calls: turns.len(),
            turns,
            parse_errors: 0,
            retries: 0,
        }
    }

    fn record(env: &Env, seed: u64, format: ActionFormat) -> Self {
        let job = Job::sampled(env.clone(), seed, DIFFICULTY);
        let (trajectory, _) = codegym_host::run_episode(&job, &mut OraclePolicy::default(), env.limits())
            .expect("oracle episode");
        assert!(trajectory.outcome.is_solved(), "the oracle must solve {} seed {seed}", env.name());
        let calls: Vec<&ToolCall> = trajectory.steps.iter().map(|step| &step.call).collect();
        assert!(calls.len() >= 5, "{} seed {seed}: too short an episode to splice errors into", env.name());
        let mut turns = Vec::new();
        let mut parse_errors = 0;
        for (index, call) in calls.iter().enumerate() {
            if let Some(bad) = bad_reply(index, call, format, turns.len()) {
                turns.push(vec![bad]);
                parse_errors += 1;
            }
            turns.push(vec![good_reply(call, format, turns.len())]);
        }
        // A flaky transport at fixed turns: a 429 that says when to retry, then two 5xx
        // that do not (the client backs off).
        turns[1].insert(0, Canned::Status { status: 429, retry_after: Some("0"), message: "rate limited" });
        turns[3].splice(0..0, [Canned::status(500, "overloaded"), Canned::status(503, "restarting")]);
        let opening = render_prompt(env.info(), &trajectory.task, format).messages[1].content.clone();
        Self { task: trajectory.task, opening, turns, calls: calls.len(), parse_errors, retries: 3 }
    }
}

/// The oracle's call as a model writes it, after a line of prose.
fn good_reply(call: &ToolCall, format: ActionFormat, turn: usize) -> Canned {
    match format {
        ActionFormat::OpenAiTools => Canned::Completion {
            message: json!({"role": "assistant", "content": null, "tool_calls": openai_calls(call, turn)}),
            finish: "tool_calls",
        },
        _ => text_reply(&format!("I will call {}.\n{}", call.name, render_call(call, format)), "stop"),
    }
}

/// A reply the parser must refuse, before oracle calls 0 (no call at all), 2 (cut off by
/// the token limit) and 4 (malformed JSON; for `openai-tools`, two calls in one turn).
fn bad_reply(index: usize, call: &ToolCall, format: ActionFormat, turn: usize) -> Option<Canned> {
    let rendered = render_call(call, format);
    let reply = match (index, format) {
        (0, _) => text_reply("Let me think about the task first.", "stop"),
        (2, ActionFormat::OpenAiTools) => {
            let mut calls = openai_calls(call, turn);
            let arguments = calls[0]["function"]["arguments"].as_str().expect("arguments").to_owned();
            calls[0]["function"]["arguments"] =
                arguments[..arguments.floor_char_boundary(arguments.len() / 2)].into();
            Canned::Completion {
                message: json!({"role": "assistant", "content": null, "tool_calls": calls}),
                finish: "length",
            }
        }
        (2, _) => text_reply(&rendered[..rendered.floor_char_boundary(rendered.len() / 2)], "length"),
        (4, ActionFormat::OpenAiTools) => {
            let mut calls = openai_calls(call, turn);
            let mut second = calls[0].clone();
            second["id"] = format!("call_{turn}_b").into();
            calls.as_array_mut().expect("list").push(second);
            Canned::Completion {
                message: json!({"role": "assistant", "content": null, "tool_calls": calls}),
                finish: "tool_calls",
            }
        }
        (4, _) => text_reply(&rendered.replacen("\"name\"", "name", 1), "stop"),
        _ => return None,
    };
    Some(reply)
}

fn text_reply(content: &str, finish: &'static str) -> Canned {
    Canned::Completion { message: json!({"role": "assistant", "content": content}), finish }
}

/// `tool_calls` as `render_call` writes them for `openai-tools`, with an id of the turn.
fn openai_calls(call: &ToolCall, turn: usize) -> Value {
    let rendered: Value = serde_json::from_str(&render_call(call, ActionFormat::OpenAiTools)).expect("JSON");
    let mut calls = rendered["tool_calls"].clone();
    calls[0]["id"] = format!("call_{turn}").into();
    calls
}

/// Replies for a set of recorded episodes, as a handler for [`Endpoint`].
pub(crate) struct Script {
    format: ActionFormat,
    episodes: HashMap<String, Vec<Vec<Canned>>>,
    attempts: Mutex<HashMap<(String, usize), usize>>,
}

impl Script {
    pub(crate) fn new(format: ActionFormat, recorded: &[Recorded]) -> Self {
        let episodes = recorded.iter().map(|r| (r.opening.clone(), r.turns.clone())).collect();
        Self { format, episodes, attempts: Mutex::new(HashMap::new()) }
    }

    pub(crate) fn reply(&self, request: &Request) -> Http {
        if request.authorization.as_deref() != Some(&format!("Bearer {KEY}")) {
            return Http::error(401, "missing or wrong API key");
        }
        let turns = match self.check(&request.body) {
            Ok(turns) => turns,
            Err(problem) => return Http::error(400, &problem),
        };
        let messages = request.body["messages"].as_array().map(Vec::as_slice).unwrap_or_default();
        let opening = messages[1]["content"].as_str().unwrap_or_default();
        let turn = messages.iter().filter(|m| m["role"] == "assistant").count();
        let Some(attempts) = turns.get(turn) else {
            return Http::error(400, "the episode went on after the oracle's last call");
        };
        let mut seen = self.attempts.lock().unwrap_or_else(|e| e.into_inner());
        let count = seen.entry((opening.to_owned(), turn)).or_default();
        let canned = &attempts[(*count).min(attempts.len() - 1)];
        *count += 1;
        canned.to_http(request.bytes)
    }

    /// What a strict server would refuse; else the episode's turns.
    fn check(&self, body: &Value) -> Result<&Vec<Vec<Canned>>, String> {
        if body["model"] != MODEL {
            return Err(format!("unknown model {}", body["model"]));
        }
        let openai = self.format == ActionFormat::OpenAiTools;
        match (openai, body.get("tools")) {
            (true, Some(Value::Array(tools)))
                if !tools.is_empty() && body["parallel_tool_calls"] == false => {}
            (false, None) => {}
            _ => return Err(format!("tools sent wrongly for format {}", self.format)),
        }
        let messages = body["messages"].as_array().ok_or("no messages")?;
        if messages.len() < 2 || messages[0]["role"] != "system" || messages[1]["role"] != "user" {
            return Err("the conversation must open with the system prompt and the task".into());
        }
        let opening = messages[1]["content"].as_str().ok_or("no task")?;
        let turns = self.episodes.get(opening).ok_or("unknown task")?;
        let mut unanswered: Vec<&str> = Vec::new();
        let mut turn = 0;
        for message in &messages[2..] {
            match message["role"].as_str() {
                Some("tool") => match unanswered.first() {
                    Some(id) if message["tool_call_id"] == *id => {
                        unanswered.remove(0);
                    }
                    _ => return Err(format!("tool message answers no call: {message}")),
                },
                _ if !unanswered.is_empty() => return Err(format!("tool calls {unanswered:?} unanswered")),
                Some("assistant") => {
                    let Some(Canned::Completion { message: sent, .. }) = turns[turn].last() else {
                        return Err(format!("turn {turn} has no completion"));
                    };
                    if message["content"] != sent["content"]
                        || message.get("tool_calls") != sent.get("tool_calls")
                    {
                        return Err(format!("turn {turn} not relayed as sent: {message} vs {sent}"));
                    }
                    unanswered = message["tool_calls"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|c| c["id"].as_str())
                        .collect();
                    turn += 1;
                }
                Some("user") => {}
                _ => return Err(format!("unexpected message {message}")),
            }
        }
        if !unanswered.is_empty() {
            return Err(format!("tool calls {unanswered:?} unanswered"));
        }
        Ok(turns)
    }
}

pub(crate) fn host() -> Host {
    Host::new(HostConfig {
        cache_dir: Some(shared_cache().to_owned()),
        pool_size: 64,
        ..HostConfig::default()
    })
    .expect("host")
}

fn load(host: &Host, name: &str) -> Env {
    host.load(&workspace().join(format!("target/envs/{name}.wasm"))).expect("load")
}

/// Oracle recordings of `envs` × seeds `0..episodes` in `format`.
fn record(envs: &[&str], episodes: u64, format: ActionFormat) -> Vec<Recorded> {
    let host = host();
    envs.iter()
        .flat_map(|name| {
            let env = load(&host, name);
            (0..episodes).map(move |seed| Recorded::record(&env, seed, format))
        })
        .collect()
}

/// `codegym eval` against `endpoint` with the test's key, model and difficulty.
fn eval(cli: &Cli, endpoint: &Endpoint, args: &[&str]) -> Output {
    let url = endpoint.base_url();
    let mut command = cli.command(&["eval", "--base-url", &url, "--model", MODEL, "--api-key-env", KEY_VAR]);
    command.args(["--difficulty", &DIFFICULTY.to_string(), "--backoff-ms", "1"]).args(args).env(KEY_VAR, KEY);
    command.output().expect("run codegym eval")
}

pub(crate) fn json_report(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!("stdout is not JSON ({error}); stderr:\n{}", String::from_utf8_lossy(&output.stderr))
    })
}

pub(crate) fn trajectories(path: &std::path::Path) -> Vec<Trajectory> {
    let text = std::fs::read_to_string(path).expect("trajectories");
    text.lines().map(|line| serde_json::from_str(line).expect("a trajectory")).collect()
}

/// `codegym replay` of `path` in a fresh process: every trajectory identical.
pub(crate) fn assert_replays(cli: &Cli, path: &std::path::Path, count: usize) {
    let output = cli.run(&["replay", path.to_str().expect("UTF-8 path"), "--json"]);
    let replay = json_report(&output);
    assert!(output.status.success(), "{replay}");
    assert_eq!(replay["trajectories"], count, "{replay}");
    assert_eq!(replay["identical"], count, "{replay}");
}

#[test]
fn oracle_replies_solve_every_episode_in_every_format() {
    let envs = ["binary-search", "peak-element", "two-sum"];
    let cli = Cli::new();
    for format in ActionFormat::ALL {
        let recorded = record(&envs, 2, format);
        let script = Script::new(format, &recorded);
        let endpoint = Endpoint::start(move |request| script.reply(request));
        let out = cli.scratch.path().join(format!("{format}.jsonl"));
        let output = eval(
            &cli,
            &endpoint,
            &[
                "--envs",
                &envs.join(","),
                "--episodes",
                "2",
                "--concurrency",
                "3",
                "--format",
                format.as_str(),
                "--json",
                "--out",
                out.to_str().expect("UTF-8 path"),
            ],
        );
        let report = json_report(&output);
        assert!(output.status.success(), "{format}: {report}\n{}", String::from_utf8_lossy(&output.stderr));

        let parse_errors: u32 = recorded.iter().map(|r| r.parse_errors).sum();
        let calls: usize = recorded.iter().map(|r| r.calls).sum();
        assert_eq!(parse_errors, 18, "three spliced in per episode");
        assert_eq!(report["format"], format.as_str());
        assert_eq!(report["episodes"], 6, "{report}");
        assert_eq!(report["solved"], 6, "{format}: {report}");
        assert_eq!(report["solved_pct"], 100.0);
        assert_eq!(report["parse_errors"], parse_errors, "{format}: {report}");
        assert_eq!(report["steps"], calls);
        assert_eq!(report["turns"], calls + parse_errors as usize);
        assert_eq!(report["retries"], 18, "{format}: {report}");
        assert_eq!(report["api_errors"], 0);
        assert_eq!(report["stops"], json!({"ended": 6}));
        assert!(report["usage"]["prompt_tokens"].as_u64().is_some_and(|tokens| tokens > 1000), "{report}");
        // 6 episodes' turns plus the 3 failed attempts of each.
        assert_eq!(endpoint.requests(), calls + parse_errors as usize + 18);
        let per_env: Vec<(&str, &str, u64)> = report["per_env"]
            .as_array()
            .expect("per_env")
            .iter()
            .map(|row| {
                assert_eq!(row["solved_pct"], 100.0, "{row}");
                (
                    row["name"].as_str().unwrap_or(""),
                    row["category"].as_str().unwrap_or(""),
                    row["episodes"].as_u64().unwrap_or(0),
                )
            })
            .collect();
        assert_eq!(
            per_env,
            [("binary-search", "searching", 2), ("peak-element", "searching", 2), ("two-sum", "hashing", 2)]
        );
        let per_category: Vec<(&str, u64, u64)> = report["per_category"]
            .as_array()
            .expect("per_category")
            .iter()
            .map(|row| {
                (
                    row["name"].as_str().unwrap_or(""),
                    row["envs"].as_u64().unwrap_or(0),
                    row["episodes"].as_u64().unwrap_or(0),
                )
            })
            .collect();
        assert_eq!(per_category, [("hashing", 1, 2), ("searching", 2, 4)]);

        let stored = trajectories(&out);
        assert_eq!(stored.len(), 6);
        for trajectory in &stored {
            let recorded = recorded.iter().find(|r| r.task == trajectory.task).expect("a recorded task");
            let agent = trajectory.agent.as_ref().expect("agent record");
            assert_eq!((agent.model.as_str(), agent.format, agent.stop), (MODEL, format, StopReason::Ended));
            assert_eq!(agent.parse_errors, recorded.parse_errors);
            assert_eq!(agent.retries, recorded.retries);
            assert_eq!(agent.turns as usize, recorded.turns.len());
            assert_eq!(trajectory.steps.len(), recorded.calls);
            assert_eq!(trajectory.outcome, Outcome::Solved);
            assert_eq!(trajectory.tools.is_empty(), format != ActionFormat::OpenAiTools);
            assert_conversation(trajectory, format);
        }
        assert_replays(&cli, &out, 6);
    }
}

/// The stored conversation: the prompt, then each turn's reply and what it got back, parse
/// errors included, ending with `Done`'s result.
fn assert_conversation(trajectory: &Trajectory, format: ActionFormat) {
    let messages = &trajectory.messages;
    assert!(messages[1].text().ends_with(&trajectory.task), "{:?}", messages[1]);
    let errors: Vec<&str> = messages
        .iter()
        .filter(|m| m.role != codegym_core::Role::Assistant)
        .map(|m| m.text().strip_prefix("<tool_response>\n").unwrap_or(m.text()))
        .filter(|text| text.starts_with("Error: "))
        .collect();
    let expected: &[&str] = match format {
        ActionFormat::OpenAiTools => &[
            "Error: no tool call found",
            "Error: the arguments string is not valid JSON",
            "Error: found 2 tool calls",
            "Error: found 2 tool calls",
        ],
        _ => &[
            "Error: no tool call found",
            "Error: the tool call is not valid JSON",
            "Error: the tool call is not valid JSON",
        ],
    };
    assert_eq!(errors.len(), expected.len(), "{errors:#?}");
    for (error, start) in errors.iter().zip(expected) {
        assert!(error.starts_with(start), "{error:?} should start with {start:?}");
    }
    let last = messages.last().expect("messages");
    assert!(last.text().contains("Result: correct"), "{last:?}");
    let replies = messages.iter().filter(|m| m.role == codegym_core::Role::Assistant).count();
    assert_eq!(replies as u32, trajectory.agent.as_ref().map_or(0, |agent| agent.turns));
}

#[test]
fn the_table_shows_each_env_and_category() {
    let envs = ["binary-search", "peak-element", "two-sum"];
    let recorded = record(&envs, 1, ActionFormat::Hermes);
    let script = Script::new(ActionFormat::Hermes, &recorded);
    let endpoint = Endpoint::start(move |request| script.reply(request));
    let cli = Cli::new();
    let output =
        eval(&cli, &endpoint, &["--envs", &envs.join(","), "--format", "hermes", "--concurrency", "2"]);
    let text = stdout(&output);
    assert!(output.status.success(), "{text}");
    let row = |start: &str, cells: &[&str]| {
        text.lines().any(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            words.first() == Some(&start) && cells.iter().all(|cell| words.contains(cell))
        })
    };
    assert!(row("env", &["category", "episodes", "solved", "turns", "errors"]), "{text}");
    assert!(row("binary-search", &["searching", "1", "100.0%"]), "{text}");
    assert!(row("two-sum", &["hashing", "1", "100.0%"]), "{text}");
    assert!(row("category", &["envs", "episodes", "solved"]), "{text}");
    assert!(row("searching", &["2", "100.0%"]), "{text}");
    assert!(row("hashing", &["1", "100.0%"]), "{text}");
    assert!(text.contains("total: 3 episodes, 3 solved (100.0%)"), "{text}");
    assert!(text.contains(", 9 parse-error turns, 0 API errors, 9 retries, "), "{text}");
}

#[test]
fn api_failures_end_episodes_not_the_run() {
    let cli = Cli::new();

    // Always 500: every episode gives up after its retries, and the run still reports.
    let hopeless = Endpoint::start(|_| Http::error(500, "the GPU is on fire"));
    let out = cli.scratch.path().join("hopeless.jsonl");
    let output = eval(
        &cli,
        &hopeless,
        &[
            "--envs",
            "binary-search,two-sum",
            "--retries",
            "2",
            "--json",
            "--out",
            out.to_str().expect("UTF-8 path"),
        ],
    );
    assert!(!output.status.success(), "API errors set the exit code");
    let report = json_report(&output);
    assert_eq!((report["episodes"].as_u64(), report["api_errors"].as_u64()), (Some(2), Some(2)), "{report}");
    assert_eq!(report["retries"], 4);
    assert_eq!(report["solved"], 0);
    assert_eq!(report["stops"], json!({"api_error": 2}));
    assert_eq!(hopeless.requests(), 6);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("error: binary-search seed 0: no reply after 3 attempts; the last one: HTTP 500: the GPU is on fire"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    let stored = trajectories(&out);
    assert!(
        stored
            .iter()
            .all(|t| t.agent.as_ref().is_some_and(|a| a.stop == StopReason::ApiError && a.turns == 0))
    );
    assert!(stored.iter().all(|t| t.outcome == Outcome::Abandoned && t.messages.len() == 2));
    assert_replays(&cli, &out, 2);

    // An --out that cannot be created stops the run before anything is spent on it.
    let missing = cli.scratch.path().join("no-such-dir/t.jsonl");
    let output =
        eval(&cli, &hopeless, &["--envs", "binary-search", "--out", missing.to_str().expect("UTF-8 path")]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success() && stderr.contains("error: creating "), "{stderr}");
    assert_eq!(hopeless.requests(), 6);

    // A 4xx is final: no retry. Without the key variable set, no Authorization is sent.
    let refusing = Endpoint::start(|request| match &request.authorization {
        Some(_) => Http::error(500, "an Authorization header was sent"),
        None => Http::error(404, "model `oracle-replay` does not exist"),
    });
    let output = cli
        .command(&["eval", "--base-url", &refusing.base_url(), "--model", MODEL, "--envs", "binary-search"])
        .args(["--api-key-env", "CODEGYM_EVAL_TEST_UNSET", "--json"])
        .env_remove("CODEGYM_EVAL_TEST_UNSET")
        .output()
        .expect("run codegym eval");
    let report = json_report(&output);
    assert!(!output.status.success());
    assert_eq!((report["api_errors"].as_u64(), report["retries"].as_u64()), (Some(1), Some(0)), "{report}");
    assert_eq!(
        report["errors"],
        json!([
            "binary-search seed 0: the endpoint refused the request (HTTP 404): model `oracle-replay` does not exist"
        ])
    );
    assert_eq!(refusing.requests(), 1);

    // A 200 whose body is not a completion.
    let garbled = Endpoint::start(|_| Canned::Garbage.to_http(0));
    let report = json_report(&eval(&cli, &garbled, &["--envs", "binary-search", "--json"]));
    assert_eq!(
        report["errors"],
        json!([
            "binary-search seed 0: malformed reply from the endpoint: the body is not JSON (expected value at line 1 column 1): <html>oops</html>"
        ])
    );

    // Nothing listening: one clear error before any episode starts.
    let port = TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("address").port();
    let url = format!("http://127.0.0.1:{port}/v1");
    let output = cli.run(&["eval", "--base-url", &url, "--model", MODEL, "--envs", "binary-search"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with(&format!("error: cannot reach {url}/chat/completions: ")), "{stderr}");
    assert!(stderr.contains("Connection refused") && !stderr.contains("panicked"), "{stderr}");

    // An unknown environment, before any request.
    let output =
        cli.run(&["eval", "--base-url", &url, "--model", MODEL, "--envs", "binary-search,no-such-env"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success() && stderr.contains("unknown environment `no-such-env`"), "{stderr}");
}

#[test]
fn turn_and_context_limits_stop_episodes() {
    let recorded = record(&["binary-search"], 2, ActionFormat::CodeGym);
    let script = Script::new(ActionFormat::CodeGym, &recorded);
    let endpoint = Endpoint::start(move |request| script.reply(request));
    let cli = Cli::new();
    let out = cli.scratch.path().join("limits.jsonl");
    let out_arg = out.to_str().expect("UTF-8 path");

    // Four turns: no call, call 0, call 1, a truncated call.
    let report = json_report(&eval(
        &cli,
        &endpoint,
        &["--envs", "binary-search", "--episodes", "2", "--max-turns", "4", "--json", "--out", out_arg],
    ));
    assert_eq!(report["stops"], json!({"max_turns": 2}), "{report}");
    assert_eq!(
        (report["turns"].as_u64(), report["steps"].as_u64(), report["parse_errors"].as_u64()),
        (Some(8), Some(4), Some(4))
    );
    assert!(trajectories(&out).iter().all(|t| t.outcome == Outcome::StepLimit));
    assert_replays(&cli, &out, 2);

    // A budget the opening prompt fits, but not with the reply's --max-tokens on top.
    let host = host();
    let env = load(&host, "binary-search");
    let prompt_tokens: Vec<u64> = recorded
        .iter()
        .map(|r| {
            let prompt = render_prompt(env.info(), &r.task, ActionFormat::CodeGym);
            let messages: Vec<ChatMessage> = prompt.messages.into_iter().map(ChatMessage::from).collect();
            codegym_host::estimate_tokens(&messages)
        })
        .collect();
    let budget = prompt_tokens.iter().max().expect("a prompt") + 100;
    let before = endpoint.requests();
    let budget_arg = budget.to_string();
    let report = json_report(&eval(
        &cli,
        &endpoint,
        &[
            "--envs",
            "binary-search",
            "--episodes",
            "2",
            "--max-context-tokens",
            &budget_arg,
            "--max-tokens",
            "200",
            "--json",
        ],
    ));
    assert_eq!(report["stops"], json!({"context_budget": 2}), "{report}");
    assert_eq!(report["turns"], 0);
    assert_eq!(endpoint.requests(), before, "no request that could not fit was sent");

    // Without --max-tokens the episode starts, and stops once the conversation outgrows it.
    let report = json_report(&eval(
        &cli,
        &endpoint,
        &[
            "--envs",
            "binary-search",
            "--episodes",
            "2",
            "--max-context-tokens",
            &budget_arg,
            "--json",
            "--out",
            out_arg,
        ],
    ));
    assert_eq!(report["stops"], json!({"context_budget": 2}), "{report}");
    for trajectory in trajectories(&out) {
        let agent = trajectory.agent.as_ref().expect("agent");
        let recorded = recorded.iter().find(|r| r.task == trajectory.task).expect("recorded");
        assert!(agent.turns >= 1 && (agent.turns as usize) < recorded.turns.len(), "{agent:?}");
        assert_eq!(trajectory.outcome, Outcome::Abandoned);
    }
    assert_replays(&cli, &out, 2);
}

#[test]
fn a_request_that_times_out_is_sent_again() {
    let recorded = record(&["binary-search"], 1, ActionFormat::CodeGym);
    let script = Script::new(ActionFormat::CodeGym, &recorded);
    let stalled = AtomicBool::new(false);
    let endpoint = Endpoint::start(move |request| {
        if !stalled.swap(true, Ordering::SeqCst) {
            // Longer than --timeout: the client has hung up and sent the request again.
            std::thread::sleep(std::time::Duration::from_millis(2500));
        }
        script.reply(request)
    });
    let cli = Cli::new();
    let output = eval(&cli, &endpoint, &["--envs", "binary-search", "--timeout", "1", "--json"]);
    let report = json_report(&output);
    assert!(output.status.success(), "{report}");
    assert_eq!(report["solved"], 1);
    assert_eq!(report["retries"], recorded[0].retries + 1, "{report}");
}
