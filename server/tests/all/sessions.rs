//! Sessions through the API: the oracle solves one over HTTP, text steps, batches, forks.

use std::time::Instant;

use codegym_host::{OraclePolicy, Policy};
use serde_json::{Value, json};

use crate::{TestServer, load, session_id};

/// Drive `session` with the environment's oracle (run in-process, seeing only the server's
/// observations) until the episode ends; returns the last reply.
fn solve_with_oracle(server: &TestServer, env: &str, session: &str, task: &str) -> Value {
    let mut oracle = OraclePolicy::default();
    oracle.start(&load("envs", env), task).expect("oracle");
    let mut observation = String::new();
    for turn in 0..300 {
        let call = oracle.next(&observation).expect("the oracle finishes with Done");
        // Arguments go as a JSON object on even turns and as text on odd ones.
        let arguments = match turn % 2 {
            0 => serde_json::from_str::<Value>(&call.arguments).expect("arguments are JSON"),
            _ => Value::String(call.arguments),
        };
        let body = json!({ "name": call.name, "arguments": arguments });
        let (status, reply) = server.post(&format!("/v1/sessions/{session}/step"), &body);
        assert_eq!(status, 200, "{reply}");
        if reply["done"] == true {
            return reply;
        }
        observation = reply["observation"].as_str().expect("observation").to_owned();
    }
    panic!("the oracle did not finish in 300 calls");
}

#[test]
fn the_oracle_solves_a_session_over_http() {
    let server = TestServer::envs();
    let (status, health) = server.get("/healthz");
    assert_eq!((status, &health["status"]), (200, &json!("ok")));

    let created = server.create(json!({ "env": "binary-search", "seed": 7, "difficulty": 30 }));
    let id = session_id(&created);
    assert!(created["task"].as_str().is_some_and(|task| !task.is_empty()), "{created}");
    let tools: Vec<&str> =
        created["tools"].as_array().expect("tools").iter().filter_map(|t| t["name"].as_str()).collect();
    assert!(tools.contains(&"Observe") && tools.contains(&"Done"), "{tools:?}");
    assert_eq!(created["tools"][0]["parameters"]["type"], "object", "schemas are JSON: {created}");

    let last = solve_with_oracle(&server, "binary-search", &id, created["task"].as_str().expect("task"));
    assert_eq!((last["reward"].as_f64(), last["done"].as_bool()), (Some(1.0), Some(true)), "{last}");
    assert_eq!(last["outcome"]["kind"], "solved", "{last}");

    let (status, session) = server.get(&format!("/v1/sessions/{id}"));
    assert_eq!(status, 200, "{session}");
    assert_eq!(session["status"], "done");
    assert_eq!(session["outcome"]["kind"], "solved");
    assert_eq!(session["reward"], 1.0);
    assert_eq!(session["steps"], last["steps"]);
    let calls = session["log"]["calls"].as_array().expect("log");
    assert_eq!(json!(calls.len()), session["steps"], "every call took effect");
    assert_eq!(session["log"]["config"], created["config"]);

    // After the end a call is an observation, not an error, and changes nothing.
    let after = server.step(&id, "Observe", "{}");
    assert!(after["observation"].as_str().is_some_and(|o| o.starts_with("Error:")), "{after}");
    assert_eq!(after["steps"], last["steps"]);

    let (status, _) = server.delete(&format!("/v1/sessions/{id}"));
    assert_eq!(status, 200);
    assert_eq!(server.get(&format!("/v1/sessions/{id}")).0, 404);

    let metrics = server.text("/metrics");
    for needle in [
        "codegym_sessions_live 0",
        "codegym_sessions_created_total 1",
        "codegym_faults_total 0",
        "# TYPE codegym_step_seconds histogram",
        "codegym_step_seconds_bucket{le=\"+Inf\"}",
    ] {
        assert!(metrics.contains(needle), "{needle} in\n{metrics}");
    }
    assert!(metrics.contains(&format!("codegym_steps_total {}", last["steps"])), "{metrics}");
}

#[test]
fn environments_are_listed_with_their_tool_schemas() {
    let server = TestServer::envs();
    let (status, envs) = server.get("/v1/envs");
    assert_eq!(status, 200);
    let envs = envs.as_array().expect("list");
    assert!(envs.len() >= 50, "{}", envs.len());
    assert!(envs.iter().all(|env| env.get("error").is_none()), "every component loads");
    let (status, env) = server.get("/v1/envs/binary-search");
    assert_eq!(status, 200);
    assert_eq!(env["category"], "searching");
    assert_eq!(env["hash"].as_str().map(str::len), Some(64));
    assert!(env["tools"].as_array().expect("tools").iter().all(|tool| tool["parameters"].is_object()));
}

#[test]
fn text_steps_are_parsed_and_a_malformed_one_is_an_observation() {
    let server = TestServer::envs();
    let id = session_id(&server.create(json!({ "env": "binary-search" })));
    let path = format!("/v1/sessions/{id}/step");
    let texts = [
        (
            "codegym",
            r#"Let me look. <|FunctionCallBegin|>[{"name":"Observe","parameters":{}}]<|FunctionCallEnd|>"#,
        ),
        ("hermes", r#"<tool_call>{"name": "Observe", "arguments": {}}</tool_call>"#),
        (
            "openai-tools",
            r#"{"tool_calls":[{"type":"function","function":{"name":"Observe","arguments":"{}"}}]}"#,
        ),
    ];
    let mut observations = Vec::new();
    for (steps, (format, text)) in (1..).zip(texts) {
        let (status, reply) = server.post(&path, &json!({ "text": text, "format": format }));
        assert_eq!(status, 200, "{format}: {reply}");
        assert_eq!(reply["steps"], steps, "{format}: {reply}");
        assert!(reply.get("parse_error").is_none(), "{format}: {reply}");
        observations.push(reply["observation"].clone());
    }
    assert!(observations.iter().all(|o| o == &observations[0]), "{observations:?}");

    let (status, reply) =
        server.post(&path, &json!({ "text": "<tool_call>{\"name\": \"Obs", "format": "hermes" }));
    assert_eq!(status, 200, "a parse error is an observation: {reply}");
    assert_eq!((reply["reward"].as_f64(), reply["done"].as_bool()), (Some(0.0), Some(false)));
    assert_eq!(reply["parse_error"], true);
    assert!(reply["observation"].as_str().is_some_and(|o| o.starts_with("Error:")), "{reply}");
    assert_eq!(reply["steps"], 3, "the episode never saw it");

    // No format: CodeGym's own markup.
    let (status, reply) = server.post(&path, &json!({ "text": "I think the answer is 4." }));
    assert_eq!((status, &reply["parse_error"]), (200, &json!(true)), "{reply}");
}

#[test]
fn a_batch_steps_many_sessions_and_reports_failures_per_item() {
    let server = TestServer::envs();
    let ids: Vec<String> = (0..3)
        .map(|seed| session_id(&server.create(json!({ "env": "binary-search", "seed": seed }))))
        .collect();
    let mut steps: Vec<Value> =
        ids.iter().map(|id| json!({ "session_id": id, "name": "Observe", "arguments": {} })).collect();
    steps.push(json!({ "session_id": ids[0], "text": "<tool_call>{\"name\":\"Observe\"}</tool_call>", "format": "hermes" }));
    steps.push(json!({ "session_id": "0000000000000000", "name": "Observe" }));
    steps.push(json!({ "session_id": ids[1], "text": "x", "format": "no-such-format" }));
    steps.push(json!({ "name": "Observe" }));
    steps.push(json!({ "session_id": ids[2], "name": "Observe", "text": "both" }));
    let (status, reply) = server.post("/v1/step", &json!({ "steps": steps }));
    assert_eq!(status, 200, "{reply}");
    let results = reply["results"].as_array().expect("results");
    assert_eq!(results.len(), 8);
    for (result, id) in results.iter().zip(&ids) {
        assert_eq!(&result["session_id"], id);
        assert_eq!(result["steps"], 1, "{result}");
        assert!(result["observation"].is_string(), "{result}");
    }
    assert_eq!(results[3]["steps"], 2, "a session stepped twice in one batch, in order: {}", results[3]);
    assert_eq!(results[4]["status"], 404, "{}", results[4]);
    assert!(results[4]["error"].as_str().is_some_and(|e| e.contains("unknown session")));
    for bad in &results[5..] {
        assert_eq!(bad["status"], 400, "{bad}");
        assert!(bad["error"].is_string(), "{bad}");
    }
}

#[test]
fn a_fork_is_independent_of_its_parent() {
    let server = TestServer::envs();
    let parent = server.create(json!({ "env": "binary-search", "seed": 11 }));
    let parent_id = session_id(&parent);
    let first = server.step(&parent_id, "Observe", "{}");

    let (status, fork) = server.post(&format!("/v1/sessions/{parent_id}/fork"), &json!({}));
    assert_eq!(status, 201, "{fork}");
    let fork_id = session_id(&fork);
    assert_ne!(fork_id, parent_id);
    assert_eq!((&fork["task"], &fork["steps"]), (&parent["task"], &json!(1)));

    // Ending the fork leaves the parent running, with its own state.
    let done = server.step(&fork_id, "Done", r#"{"answer": 0}"#);
    assert_eq!(done["done"], true, "{done}");
    let again = server.step(&parent_id, "Observe", "{}");
    assert_eq!(
        (&again["observation"], &again["done"], &again["steps"]),
        (&first["observation"], &json!(false), &json!(2))
    );
    let (_, parent_state) = server.get(&format!("/v1/sessions/{parent_id}"));
    let (_, fork_state) = server.get(&format!("/v1/sessions/{fork_id}"));
    assert_eq!(parent_state["status"], "active");
    assert_eq!(fork_state["status"], "done");
    assert_eq!(fork_state["log"]["calls"][0], parent_state["log"]["calls"][0]);
}

/// Single HTTP step latency through the real stack, printed (never asserted): run with
/// `--nocapture` to see it.
#[test]
fn single_step_latency_is_reported() {
    for (label, data) in [("in memory", None), ("durable", Some(tempfile::tempdir().expect("temp dir")))] {
        let dir = data.as_ref().map(|dir| dir.path().to_owned());
        let server = TestServer::start(&crate::components("envs"), |config| config.data_dir = dir);
        let id =
            session_id(&server.create(json!({ "env": "binary-search", "limits": { "max_steps": 100000 } })));
        let mut times: Vec<u128> = (0..200)
            .map(|_| {
                let start = Instant::now();
                server.step(&id, "Observe", "{}");
                start.elapsed().as_micros()
            })
            .collect();
        times.sort_unstable();
        let p50 = times[times.len() / 2];
        let p99 = times[times.len() * 99 / 100];
        println!("single HTTP step ({label}), 200 steps: p50 {p50} µs, p99 {p99} µs");
    }
}
