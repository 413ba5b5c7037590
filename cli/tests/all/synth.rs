//! `codegym synth` end to end: real compiles (cargo and componentize-py), real components in
//! the real host, and the kept environment run by `codegym rollout --env-dir OUT`.
//!
//! No language model can be reached from here, so the model is the test double of
//! `eval.rs`: an HTTP server on 127.0.0.1 answering chat completions with replies recorded
//! in `synth/tests/fixtures/replies/<lang>/<name>.<attempt>.<round>.md`, picked by the
//! problem the request names, the attempt (the prompt says which earlier attempt failed) and
//! the repair round (the assistant messages so far). Compiles reuse the shared target
//! directory's built dependencies; each fixture is compiled once per run.

use std::path::{Path, PathBuf};

use codegym_core::{ActionFormat, ToolCall, render_call};
use serde_json::{Value, json};

use crate::eval::{Endpoint, Http, Request};
use crate::{Cli, json as json_of, workspace};

fn fixtures() -> PathBuf {
    workspace().join("synth/tests/fixtures")
}

/// The problem's environment name as `codegym synth` forms it (`HumanEval/121` →
/// `humaneval-121`).
fn name_of(id: &str) -> String {
    let mut name = String::new();
    for c in id.chars() {
        if c.is_ascii_alphanumeric() {
            name.push(c.to_ascii_lowercase());
        } else if !name.ends_with('-') {
            name.push('-');
        }
    }
    name
}

/// The recorded reply to `request`, from `replies`.
fn recorded(replies: &Path, request: &Request) -> Http {
    let messages = request.body["messages"].as_array().cloned().unwrap_or_default();
    let first = messages.first().and_then(|m| m["content"].as_str()).unwrap_or_default();
    let Some(id) = first.lines().find_map(|line| line.strip_prefix("# The problem: ")) else {
        // Not a request for an environment: the base model of the difficulty filter playing
        // an episode of the kept environment.
        return completion(&render_call(&base_model_call(request, &messages), ActionFormat::default()));
    };
    let attempt = first
        .lines()
        .find_map(|line| line.strip_prefix("Attempt ")?.split(' ').next()?.parse::<usize>().ok())
        .map_or(1, |failed| failed + 1);
    let round = messages.iter().filter(|m| m["role"] == "assistant").count();
    let file = replies.join(format!("{}.{attempt}.{round}.md", name_of(id)));
    match std::fs::read_to_string(&file) {
        Ok(content) => completion(&content),
        Err(_) => Http::error(400, &format!("no recorded reply {}", file.display())),
    }
}

/// The base model's next call in an episode of `humaneval-121`. Model `weak` answers 0
/// straight away, which is rarely right; model `strong` reads every even position (the task
/// statement gives the length, the observations so far the values) and submits the sum of
/// the odd ones, which is always right.
fn base_model_call(request: &Request, messages: &[Value]) -> ToolCall {
    let texts: Vec<&str> = messages.iter().filter_map(|m| m["content"].as_str()).collect();
    let length = texts.iter().find_map(|text| {
        let rest = &text[text.find("A list of ")? + "A list of ".len()..];
        rest.split(' ').next()?.parse::<usize>().ok()
    });
    let (Some(length), "strong") = (length, request.body["model"].as_str().unwrap_or_default()) else {
        return ToolCall::new("Done", r#"{"answer": 0}"#);
    };
    // Observations look like `lst[4] = 17`.
    let read: std::collections::BTreeMap<usize, i64> = texts
        .iter()
        .filter_map(|text| {
            let (index, value) = text.strip_prefix("lst[")?.split_once("] = ")?;
            Some((index.parse().ok()?, value.trim().parse().ok()?))
        })
        .collect();
    match (0..length).step_by(2).find(|index| !read.contains_key(index)) {
        Some(index) => ToolCall::new("Get", json!({ "index": index }).to_string()),
        None => {
            let sum: i64 = read.iter().filter(|(i, v)| *i % 2 == 0 && *v % 2 != 0).map(|(_, v)| v).sum();
            ToolCall::new("Done", json!({ "answer": sum }).to_string())
        }
    }
}

fn completion(content: &str) -> Http {
    Http::json(
        200,
        &json!({
            "id": "chatcmpl-synth",
            "object": "chat.completion",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                         "finish_reason": "stop"}],
        }),
    )
}

/// A CLI, the test double serving `lang`'s recorded replies, and an output directory.
fn start(lang: &'static str) -> (Cli, Endpoint, PathBuf) {
    let cli = Cli::new();
    let endpoint = Endpoint::start(move |request| recorded(&fixtures().join("replies").join(lang), request));
    let out = cli.scratch.path().join(format!("synth-{lang}"));
    (cli, endpoint, out)
}

fn synth(cli: &Cli, endpoint: &Endpoint, problems: &Path, lang: &str, out: &Path, extra: &[&str]) -> Value {
    let problems = problems.to_str().expect("utf-8 path");
    let out = out.to_str().expect("utf-8 path");
    let base_url = endpoint.base_url();
    let args =
        [
            &[
                "synth",
                "--problems",
                problems,
                "--base-url",
                &base_url,
                "--model",
                "recorded",
                "--lang",
                lang,
            ][..],
            &["--k", "1", "--concurrency", "2", "--out", out, "--json"],
            extra,
        ]
        .concat();
    json_of(&cli.run(&args))
}

/// A `codegym ... --json` command's output with `--env-dir dir`.
fn in_dir(cli: &Cli, dir: &Path, args: &[&str]) -> Value {
    json_of(&cli.command(args).arg("--env-dir").arg(dir).output().expect("run codegym"))
}

/// The record of problem `name` in a funnel report.
fn record<'a>(funnel: &'a Value, name: &str) -> &'a Value {
    funnel["records"]
        .as_array()
        .and_then(|records| records.iter().find(|r| r["name"] == name))
        .unwrap_or_else(|| panic!("no record of {name} in {funnel:#}"))
}

fn assert_dropped(funnel: &Value, name: &str, stage: &str, reason: &str) {
    let record = record(funnel, name);
    assert_eq!(record["kept"], false, "{record:#}");
    assert_eq!(record["stage"], stage, "{record:#}");
    let text = record["reason"].as_str().unwrap_or_default();
    assert!(text.contains(reason), "{name}: want {reason:?} in the reason: {text}");
}

#[test]
fn synth_keeps_the_good_rust_environment_and_drops_each_flawed_one_at_its_stage() {
    let (cli, endpoint, out) = start("rust");
    let problems = fixtures().join("problems.jsonl");
    let filter = ["--filter-model", "weak", "--filter-samples", "4"];
    let funnel =
        synth(&cli, &endpoint, &problems, "rust", &out, &[&["--repairs", "1"][..], &filter].concat());

    assert_eq!(funnel["problems"], 6, "{funnel:#}");
    assert_eq!(funnel["kept"], 1, "{funnel:#}");
    let good = record(&funnel, "humaneval-121");
    assert_eq!(good["kept"], true, "{good:#}");
    // Its first reply did not compile; the compiler's errors went back and the repair built.
    assert_eq!(good["attempts"][0]["repairs"], 1, "{good:#}");
    assert_eq!(good["tools"], 4, "{good:#}");
    let calls = good["oracle_calls_medium"].as_f64().expect("oracle calls");
    assert!((10.0..=256.0).contains(&calls), "{good:#}");
    assert!(out.join("humaneval-121.wasm").is_file() && out.join("humaneval-121.card.json").is_file());
    // The difficulty filter ran: the base model played 4 medium tasks and solved none.
    assert_eq!(good["base_solve_rate"], 0.0, "{good:#}");

    assert_dropped(&funnel, "synth-fixture-broken", "compile", "does not build after 1 repairs");
    assert_dropped(&funnel, "synth-fixture-broken", "compile", "error");
    assert_dropped(
        &funnel,
        "synth-fixture-loops",
        "oracle",
        "abandoned after 0 calls (the oracle itself faulted: the tool call ran out of fuel)",
    );
    assert_dropped(&funnel, "synth-fixture-wrong-reference", "oracle", "wrong_answer");
    assert_dropped(&funnel, "synth-fixture-imports", "checks", "telemetry::record_read");
    assert_dropped(&funnel, "synth-fixture-few-tools", "checks", ">= 4 tools");
    let passed: Vec<u64> = funnel["funnel"]
        .as_array()
        .expect("funnel")
        .iter()
        .filter_map(|row| row["passed"].as_u64())
        .collect();
    // generated, compiled, checked, configs, verified, kept
    assert_eq!(passed, [6, 5, 3, 3, 1, 1], "{funnel:#}");
    for name in ["humaneval-121", "synth-fixture-broken", "synth-fixture-imports"] {
        assert!(out.join(format!("problems/{name}.json")).is_file(), "{name}");
    }
    assert!(out.join("funnel.json").is_file());
    // Only the kept environment is a component in OUT.
    let components: Vec<String> = std::fs::read_dir(&out)
        .expect("out")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".wasm"))
        .collect();
    assert_eq!(components, ["humaneval-121.wasm"]);

    // A base model that solves it: dropped by the difficulty filter.
    let strong_out = cli.scratch.path().join("synth-strong");
    let good_only = cli.scratch.path().join("good.jsonl");
    let first_line = std::fs::read_to_string(&problems).expect("problems").lines().next().map(str::to_owned);
    std::fs::write(&good_only, first_line.expect("a problem")).expect("write");
    let strong = ["--repairs", "1", "--filter-model", "strong", "--filter-samples", "2"];
    let dropped = synth(&cli, &endpoint, &good_only, "rust", &strong_out, &strong);
    assert_dropped(
        &dropped,
        "humaneval-121",
        "filter",
        "the base model solved 2 of 2 medium tasks (100% > 25%)",
    );
    assert_eq!(record(&dropped, "humaneval-121")["attempts"][0]["stages"][4]["stage"], "oracle");

    // Every command loads the kept one with --env-dir.
    let report = in_dir(&cli, &out, &["rollout", "--envs", "all", "--episodes", "3", "--json"]);
    assert_eq!(report["episodes"], 3, "{report}");
    assert_eq!(report["solved"], 3, "{report}");

    // A re-run finds every problem finished and asks the model nothing.
    let requests = endpoint.requests();
    let again = synth(&cli, &endpoint, &problems, "rust", &out, &[&["--repairs", "1"][..], &filter].concat());
    assert_eq!(again["resumed"], 6, "{again:#}");
    assert_eq!(again["kept"], 1);
    assert_eq!(endpoint.requests(), requests, "a resumed run sent requests");
}

/// The file `replies/python/synth-fixture-escape.1.0.md` tries to write.
const ESCAPE_PROBE: &str = "/tmp/codegym-synth-escape-probe";

#[test]
fn synth_python_lane_keeps_a_good_environment_and_drops_one_that_reaches_for_the_host() {
    let (cli, endpoint, out) = start("python");
    let problems = fixtures().join("problems-python.jsonl");
    let _ = std::fs::remove_file(ESCAPE_PROBE);
    let funnel = synth(&cli, &endpoint, &problems, "python", &out, &["--repairs", "0"]);

    assert_eq!(funnel["problems"], 2, "{funnel:#}");
    let good = record(&funnel, "humaneval-121");
    assert_eq!(good["kept"], true, "{good:#}");
    assert_eq!(good["lang"], "python");
    // A package on the shared runtime, with the runtime beside it: nothing was compiled.
    assert_eq!(good["component"], "humaneval-121.pyenv", "{good:#}");
    assert_eq!(out.join("runtimes").read_dir().expect("runtimes/").count(), 1);
    // Its module-level code ran when the shared runtime prepared it, inside the sandbox:
    // no file.
    assert_dropped(
        &funnel,
        "synth-fixture-escape",
        "compile",
        "does not build after 0 repairs: PermissionError: open() is not available",
    );
    assert!(!Path::new(ESCAPE_PROBE).exists(), "the Python file wrote {ESCAPE_PROBE} on the host");

    let trajectory = in_dir(&cli, &out, &["solve", "humaneval-121", "--seed", "3", "--json"]);
    assert_eq!(trajectory["outcome"]["kind"], "solved", "{trajectory}");
    assert_eq!(trajectory["reward"], 1.0);
}
