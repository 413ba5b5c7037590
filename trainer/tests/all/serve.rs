//! The OpenAI-compatible endpoint on a real socket, with a tiny random policy.

use std::sync::Arc;

use codegym_trainer::serve::{ServeState, serve};
use serde_json::{Value, json};

use crate::rollout::tiny_model;

/// A server on 127.0.0.1 (a free port) until the returned sender is dropped.
fn start() -> (String, tokio::sync::oneshot::Sender<()>, tempfile::TempDir) {
    let (base, stop, dir, _) = start_with_state();
    (base, stop, dir)
}

/// [`start`], and the server's state.
fn start_with_state() -> (String, tokio::sync::oneshot::Sender<()>, tempfile::TempDir, Arc<ServeState>) {
    let (dir, policy) = tiny_model(9);
    let state = Arc::new(ServeState::new(policy, "tiny".into(), 5, 256, 0));
    let served = Arc::clone(&state);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (ready, address) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            ready.send(listener.local_addr().unwrap()).unwrap();
            serve(listener, served, async move {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
    });
    let address = address.recv().unwrap();
    (format!("http://{address}/v1"), stop, dir, state)
}

fn post(url: &str, body: &str) -> (u16, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut response = agent.post(url).header("content-type", "application/json").send(body).unwrap();
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

#[test]
fn chat_completions_render_generate_and_count() {
    let (base, _stop, _dir) = start();
    let url = format!("{base}/chat/completions");
    let body = json!({
        "model": "tiny",
        "messages": [{"role": "system", "content": "Answer 7."}, {"role": "user", "content": "The number is 7."}],
        "max_tokens": 3,
        "temperature": 1.0,
        "seed": 4,
    });
    let (status, reply) = post(&url, &body.to_string());
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["object"], "chat.completion");
    assert_eq!(reply["model"], "tiny");
    let choice = &reply["choices"][0];
    assert_eq!(choice["message"]["role"], "assistant");
    assert!(choice["message"]["content"].is_string());
    assert!(["stop", "length"].contains(&choice["finish_reason"].as_str().unwrap()));
    let usage = &reply["usage"];
    let (prompt, completion) =
        (usage["prompt_tokens"].as_u64().unwrap(), usage["completion_tokens"].as_u64().unwrap());
    // <|im_start|> <unk> \n <unk> 7 <unk> <|im_end|> \n, twice, then the assistant header.
    assert!(prompt > 10 && (1..=3).contains(&completion), "{usage}");
    assert_eq!(usage["total_tokens"].as_u64().unwrap(), prompt + completion);
    // A fixed seed reproduces the reply.
    let (_, again) = post(&url, &body.to_string());
    assert_eq!(again["choices"][0]["message"]["content"], choice["message"]["content"]);

    let models: Value = ureq::get(&format!("{base}/models")).call().unwrap().body_mut().read_json().unwrap();
    assert_eq!(models["data"][0]["id"], "tiny");
}

#[test]
fn requests_that_wait_for_the_model_are_generated_in_one_batch() {
    use std::sync::atomic::Ordering::Relaxed;
    let (base, _stop, _dir, state) = start_with_state();
    let url = format!("{base}/chat/completions");
    let request = |i: u64| {
        json!({
            "messages": [{"role": "user", "content": format!("The number is {i}.")}],
            "max_tokens": 1 + i,
            "temperature": 1.0,
        })
        .to_string()
    };
    let before = state.batches.load(Relaxed);
    let replies = post_while_busy(&state, &url, (0..4).map(request).collect());
    assert_eq!(state.batches.load(Relaxed) - before, 1, "four waiting requests, one generate call");
    for (i, (status, reply)) in replies.iter().enumerate() {
        assert_eq!(*status, 200, "{reply}");
        let completion = reply["usage"]["completion_tokens"].as_u64().unwrap();
        assert!((1..=1 + i as u64).contains(&completion), "cut back to its own max_tokens: {reply}");
    }

    // Requests with a seed of their own are generated alone, so a seed always gives one reply.
    let seeded = |seed: u64| {
        json!({"messages": [{"role": "user", "content": "7"}], "max_tokens": 3, "seed": seed}).to_string()
    };
    let before = state.batches.load(Relaxed);
    for (status, reply) in post_while_busy(&state, &url, (0..2).map(seeded).collect()) {
        assert_eq!(status, 200, "{reply}");
    }
    assert_eq!(state.batches.load(Relaxed) - before, 2);
}

/// POST each of `bodies` at once while the test holds the model, as a long generation would;
/// let the model go once all of them wait for it, and return the replies in order.
fn post_while_busy(state: &ServeState, url: &str, bodies: Vec<String>) -> Vec<(u16, Value)> {
    let held = state.policy.lock().unwrap();
    let count = bodies.len();
    let clients: Vec<_> = bodies
        .into_iter()
        .map(|body| {
            let url = url.to_owned();
            std::thread::spawn(move || post(&url, &body))
        })
        .collect();
    for _ in 0..1000 {
        if state.queued() == count {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(state.queued(), count, "the requests wait for the model");
    drop(held);
    clients.into_iter().map(|client| client.join().unwrap()).collect()
}

#[test]
fn the_content_stops_before_the_stop_string() {
    let (base, _stop, _dir) = start();
    let url = format!("{base}/chat/completions");
    let stops: Vec<String> = (0..10).map(|d| d.to_string()).chain(["\n".to_owned()]).collect();
    let mut stopped = 0;
    for seed in 0..8 {
        let body = json!({
            "messages": [{"role": "user", "content": "Count: 1 2 3"}],
            "max_tokens": 20,
            "stop": stops,
            "seed": seed,
        });
        let (status, reply) = post(&url, &body.to_string());
        assert_eq!(status, 200, "{reply}");
        let content = reply["choices"][0]["message"]["content"].as_str().unwrap();
        assert!(!stops.iter().any(|s| content.contains(s.as_str())), "{reply}");
        stopped += usize::from(reply["choices"][0]["finish_reason"] == "stop");
    }
    // The tiny model writes mostly digits: most replies ended on a stop string.
    assert!(stopped > 0, "no reply stopped");
}

#[test]
fn bad_requests_get_openai_errors() {
    let (base, _stop, _dir) = start();
    let url = format!("{base}/chat/completions");
    for body in [
        "not json".to_owned(),
        json!({"messages": []}).to_string(),
        json!({"messages": [{"role": "user", "content": "hi"}], "top_p": 0}).to_string(),
        // Over the 256-token context: digits and newlines are a token each.
        json!({"messages": [{"role": "user", "content": "7\n".repeat(150)}]}).to_string(),
    ] {
        let (status, reply) = post(&url, &body);
        assert_eq!(status, 400, "{body}: {reply}");
        assert_eq!(reply["error"]["type"], "invalid_request_error", "{reply}");
        assert!(reply["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
}

/// A chat-completions client like `codegym eval`'s, over HTTP to the server under test.
struct HttpModel {
    url: String,
}

impl codegym_host::ChatModel for HttpModel {
    fn name(&self) -> &str {
        "tiny"
    }

    fn complete(
        &mut self,
        request: &codegym_host::ChatRequest<'_>,
    ) -> Result<codegym_host::Completion, codegym_host::ModelError> {
        let body = json!({
            "model": "tiny",
            "messages": request.messages,
            "max_tokens": request.sampling.max_tokens,
        });
        let (status, reply) = post(&self.url, &body.to_string());
        if status != 200 {
            let message = reply.to_string();
            return Err(codegym_host::ModelError::Rejected { status, message, retries: 0 });
        }
        let content = reply["choices"][0]["message"]["content"].as_str().unwrap_or_default();
        let usage = codegym_core::Usage {
            prompt_tokens: reply["usage"]["prompt_tokens"].as_u64().unwrap_or(0),
            completion_tokens: reply["usage"]["completion_tokens"].as_u64().unwrap_or(0),
        };
        Ok(codegym_host::Completion {
            message: codegym_core::ChatMessage::new(codegym_core::Role::Assistant, content),
            usage: Some(usage),
            retries: 0,
        })
    }
}

#[test]
fn codegym_evals_agent_loop_plays_against_the_server() {
    let (base, _stop, _dir) = start();
    let env = crate::rollout::echo_number();
    let jobs: Vec<codegym_host::Job> =
        (0..3).map(|seed| codegym_host::Job::sampled(env.clone(), seed, 0)).collect();
    let options = codegym_host::AgentOptions {
        format: codegym_core::ActionFormat::Hermes,
        sampling: codegym_core::Sampling { temperature: None, max_tokens: Some(4) },
        max_turns: 2,
        max_context_tokens: 4096,
        limits: env.limits(),
    };
    let url = format!("{base}/chat/completions");
    let model = |_: usize| Box::new(HttpModel { url: url.clone() }) as Box<dyn codegym_host::ChatModel>;
    let report = codegym_host::evaluate(&jobs, &model, &options, 1, &|_| {});
    assert_eq!((report.episodes, report.api_errors), (3, 0), "{:?}", report.errors);
    // A random 15-token model writes no tool call: two parse-error turns per episode, each
    // reply's tokens reported by the server.
    assert_eq!((report.turns, report.parse_errors), (6, 6));
    let usage = report.usage.expect("usage");
    assert!(usage.prompt_tokens > 6 * 10 && (6..=24).contains(&usage.completion_tokens), "{usage:?}");
}
