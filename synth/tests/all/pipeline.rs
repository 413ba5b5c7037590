//! The pipeline with a test double for the hosted LLM API: an in-process `ChatModel` that
//! plays back recorded replies and records what it was asked. (The CLI's tests use an HTTP
//! double instead; here no reply reaches the compiler, so nothing is built.)

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use codegym_core::{ChatMessage, Role};
use codegym_host::{ChatModel, ChatRequest, Completion, Host, HostConfig, ModelError};
use codegym_synth::{
    BuildLimits, Lang, Models, Problem, Stage, Synth, SynthOptions, Toolchain, read_problems,
};

use crate::{fixture, workspace};

/// Replies played back in order (`Err` for an endpoint that gives none); every request's
/// messages are kept.
#[derive(Clone, Default)]
struct Recorded {
    replies: Arc<Mutex<VecDeque<Result<String, String>>>>,
    requests: Arc<Mutex<Vec<Vec<ChatMessage>>>>,
}

impl Recorded {
    fn new(replies: &[Result<&str, &str>]) -> Self {
        let replies = replies.iter().map(|r| r.map(str::to_owned).map_err(str::to_owned)).collect();
        Self { replies: Arc::new(Mutex::new(replies)), requests: Arc::default() }
    }

    fn requests(&self) -> Vec<Vec<ChatMessage>> {
        self.requests.lock().expect("lock").clone()
    }
}

impl ChatModel for Recorded {
    fn name(&self) -> &str {
        "recorded"
    }

    fn complete(&mut self, request: &ChatRequest<'_>) -> Result<Completion, ModelError> {
        self.requests.lock().expect("lock").push(request.messages.to_vec());
        match self.replies.lock().expect("lock").pop_front() {
            Some(Ok(text)) => {
                Ok(Completion { message: ChatMessage::new(Role::Assistant, text), usage: None, retries: 0 })
            }
            Some(Err(last)) => Err(ModelError::Unavailable { attempts: 5, last }),
            None => Err(ModelError::Request { message: "no more recorded replies".into() }),
        }
    }
}

fn synth(out: &std::path::Path, lang: Lang, k: usize) -> Synth {
    let root = workspace().to_owned();
    Synth {
        toolchain: Toolchain {
            target_dir: root.join("target"),
            python_runtime: root.join("target/py-runtime/python-runtime.wasm"),
            workspace: root,
            limits: BuildLimits::default(),
        },
        host: Host::new(HostConfig { cache_dir: None, ..HostConfig::default() }).expect("host"),
        options: SynthOptions { lang, k, concurrency: 1, ..SynthOptions::default() },
        out: out.to_owned(),
    }
}

fn humaneval_121() -> Problem {
    read_problems(&fixture("problems.jsonl")).expect("fixture").swap_remove(0)
}

fn first_message(request: &[ChatMessage]) -> &str {
    request.first().map(ChatMessage::text).unwrap_or_default()
}

#[test]
fn each_attempt_is_told_why_the_last_failed_and_a_finished_problem_is_resumed() {
    let out = tempfile::tempdir().expect("temp dir");
    let model = Recorded::new(&[
        Ok("Let me think about the design first."),
        Ok("```rust\nconst SECRET: &str = include_str!(\"/etc/passwd\");\n```"),
        Err("HTTP 503"),
    ]);
    let author = {
        let model = model.clone();
        move || -> Box<dyn ChatModel> { Box::new(model.clone()) }
    };
    let models = Models { author: &author, base: None };
    let problems = [humaneval_121()];
    let funnel = synth(out.path(), Lang::Rust, 3).run(&problems, &models, &|_, _| {}).expect("run");

    assert_eq!((funnel.problems, funnel.kept, funnel.attempts), (1, 0, 3));
    assert_eq!(funnel.dropped.get("generation"), Some(&1));
    assert!(funnel.funnel.iter().all(|row| row.passed == 0), "{:?}", funnel.funnel);
    let record = &funnel.records[0];
    assert_eq!(record.stage, Stage::Generation);
    let reasons: Vec<&str> =
        record.attempts.iter().filter_map(|a| a.stages.first()?.reason.as_deref()).collect();
    assert_eq!(reasons[0], "the reply has no ```rust code block");
    assert!(reasons[1].starts_with("refused: `include_str`"), "{}", reasons[1]);
    assert!(
        reasons[2].contains("the model gave no reply") && reasons[2].contains("HTTP 503"),
        "{}",
        reasons[2]
    );

    let requests = model.requests();
    assert_eq!(requests.len(), 3);
    let first = first_message(&requests[0]);
    for needle in [
        "# The problem: HumanEval/121",
        "`META.name` is `humaneval-121`",
        "impl Environment for",
        "def solution(lst)",
    ] {
        assert!(first.contains(needle), "missing {needle:?} in the prompt");
    }
    assert!(!first.contains("An earlier attempt failed"));
    assert!(
        first_message(&requests[1])
            .contains("Attempt 1 was rejected at the generation stage: the reply has no ```rust code block"),
        "{}",
        first_message(&requests[1])
    );
    assert!(
        first_message(&requests[2])
            .contains("Attempt 2 was rejected at the generation stage: refused: `include_str`")
    );

    let saved: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.path().join("problems/humaneval-121.json")).expect("record written"),
    )
    .expect("record is JSON");
    assert_eq!(saved["stage"], "generation");
    assert!(out.path().join("funnel.json").is_file());

    // A second run finds the record and asks nothing.
    let silent = Recorded::new(&[]);
    let author = {
        let silent = silent.clone();
        move || -> Box<dyn ChatModel> { Box::new(silent.clone()) }
    };
    let resumed = Mutex::new(Vec::new());
    let again = synth(out.path(), Lang::Rust, 3)
        .run(&problems, &Models { author: &author, base: None }, &|record, was_resumed| {
            resumed.lock().expect("lock").push((record.name.clone(), was_resumed));
        })
        .expect("run");
    assert_eq!(again.resumed, 1);
    assert_eq!(resumed.into_inner().expect("lock"), [("humaneval-121".to_owned(), true)]);
    assert!(silent.requests().is_empty());
}

#[test]
fn the_python_lane_asks_for_a_codegym_style_class() {
    let out = tempfile::tempdir().expect("temp dir");
    let model = Recorded::new(&[Ok("```rust\nfn main() {}\n```")]);
    let author = {
        let model = model.clone();
        move || -> Box<dyn ChatModel> { Box::new(model.clone()) }
    };
    let funnel = synth(out.path(), Lang::Python, 1)
        .run(&[humaneval_121()], &Models { author: &author, base: None }, &|_, _| {})
        .expect("run");
    let record = &funnel.records[0];
    assert_eq!(record.lang, Lang::Python);
    assert_eq!(record.reason.as_deref(), Some("the reply has no ```python code block"));
    let requests = model.requests();
    let prompt = first_message(&requests[0]);
    for needle in ["gymnasium.Env", "def sample_config(seed, difficulty)", "get_ref_answer", "```python"] {
        assert!(prompt.contains(needle), "missing {needle:?} in the prompt");
    }
}

#[test]
fn a_source_that_would_read_a_host_file_is_refused_before_it_is_compiled_and_nothing_of_the_file_goes_back() {
    let out = tempfile::tempdir().expect("temp dir");
    // rustc would read /etc/passwd as the module and quote its first line in the error.
    let source = "use codegym_env_sdk::prelude::*;\n\n#[cfg_attr(all(), path = \"/etc/passwd\")]\nmod m;\n";
    let reply = format!("```rust\n{source}```");
    let model = Recorded::new(&[Ok(&reply), Err("HTTP 503")]);
    let author = {
        let model = model.clone();
        move || -> Box<dyn ChatModel> { Box::new(model.clone()) }
    };
    let funnel = synth(out.path(), Lang::Rust, 2)
        .run(&[humaneval_121()], &Models { author: &author, base: None }, &|_, _| {})
        .expect("run");

    let record = &funnel.records[0];
    let refusal = record.attempts[0].stages[0].reason.as_deref().unwrap_or_default();
    assert_eq!(
        refusal,
        "refused: `#[path]` at 3:19 is not allowed: only src/lib.rs is compiled, and the compiler would \
         read (and quote) any host file named"
    );
    assert_eq!(record.attempts[0].stages.len(), 1, "no stage after generation");
    let work = out.path().join("work/humaneval-121");
    assert!(!work.join("crate").exists() && !work.join("attempt-1").exists(), "nothing was built or saved");

    let mut told: Vec<String> = model.requests().iter().flatten().map(|m| m.text().to_owned()).collect();
    for saved in ["problems/humaneval-121.json", "funnel.json"] {
        told.push(std::fs::read_to_string(out.path().join(saved)).expect("written"));
    }
    assert!(told[1].contains(refusal), "the next attempt is told why");
    let passwd = std::fs::read_to_string("/etc/passwd").expect("/etc/passwd");
    for line in passwd.lines().filter(|line| !line.trim().is_empty()) {
        assert!(told.iter().all(|text| !text.contains(line)), "{line:?} went back");
    }
}
