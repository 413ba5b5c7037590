//! Sessions survive a restart on the same data directory, exactly; ones that cannot be
//! resumed exactly are dropped and reported. (`cli/tests/all/serve.rs` kills the real
//! binary with SIGKILL under load.)

use std::path::Path;

use codegym_host::{Limits, ToolCall};
use serde_json::{Value, json};

use crate::{TestServer, components, load, session_id};

fn start(env_dir: &Path, data: &Path) -> TestServer {
    let data = data.to_owned();
    TestServer::start(env_dir, move |config| config.data_dir = Some(data))
}

/// What an uninterrupted in-process episode answers to `next` after the session's logged
/// calls (and its step count then).
fn uninterrupted(dir: &str, session: &Value, next: &ToolCall) -> (String, u32) {
    let limits: Limits = serde_json::from_value(session["limits"].clone()).expect("limits");
    let env = load(dir, session["env"].as_str().expect("env"));
    let mut episode =
        env.start_with(session["log"]["config"].as_str().expect("config"), limits).expect("start");
    let calls: Vec<ToolCall> = serde_json::from_value(session["log"]["calls"].clone()).expect("calls");
    for call in &calls {
        episode.step(call);
    }
    (episode.step(next).observation, episode.steps())
}

#[test]
fn a_restart_resumes_every_session_exactly() {
    let data = tempfile::tempdir().expect("temp dir");
    let envs = components("envs");
    let (ids, before) = {
        let server = start(&envs, data.path());
        let a = session_id(&server.create(json!({ "env": "binary-search", "seed": 1 })));
        let b = session_id(
            &server.create(json!({ "env": "binary-search", "seed": 2, "limits": { "max_steps": 50 } })),
        );
        let gone = session_id(&server.create(json!({ "env": "binary-search", "seed": 3 })));
        for (tool, arguments) in
            [("Length", "{}"), ("Get", r#"{"index": 3}"#), ("Get", r#"{"index": -1}"#), ("Nope", "{}")]
        {
            server.step(&a, tool, arguments);
        }
        server.step(&b, "Midpoint", r#"{"low": 0, "high": 9}"#);
        let (status, fork) = server.post(&format!("/v1/sessions/{a}/fork"), &json!({}));
        assert_eq!(status, 201);
        let c = session_id(&fork);
        server.step(&c, "Get", r#"{"index": 5}"#);
        let (status, reply) = server.post("/v1/step", &json!({ "steps": [
            { "session_id": a, "name": "Get", "arguments": { "index": 4 } },
            { "session_id": b, "text": "<tool_call>{\"name\": \"Length\", \"arguments\": {}}</tool_call>", "format": "hermes" },
        ] }));
        assert_eq!(status, 200, "{reply}");
        assert_eq!(server.delete(&format!("/v1/sessions/{gone}")).0, 200);
        let ids = vec![a, b, c];
        let before: Vec<Value> = ids.iter().map(|id| server.get(&format!("/v1/sessions/{id}")).1).collect();
        (ids, before)
    };

    let server = start(&envs, data.path());
    assert_eq!(server.restored.restored, 3, "{:?}", server.restored);
    assert!(server.restored.dropped.is_empty(), "{:?}", server.restored);
    let next = ToolCall::new("Get", r#"{"index":2}"#);
    for (id, before) in ids.iter().zip(&before) {
        let (status, after) = server.get(&format!("/v1/sessions/{id}"));
        assert_eq!(status, 200, "{after}");
        assert_eq!(&after, before, "session {id} is exactly as it was");
        let reply = server.step(id, &next.name, &next.arguments);
        let (observation, steps) = uninterrupted("envs", before, &next);
        assert_eq!(
            (reply["observation"].as_str(), reply["steps"].as_u64()),
            (Some(observation.as_str()), Some(u64::from(steps)))
        );
    }
    assert_eq!(
        server.text("/metrics").lines().find(|l| l.starts_with("codegym_sessions_live ")),
        Some("codegym_sessions_live 3")
    );
}

#[test]
fn faulted_calls_are_replayed_so_counters_survive_a_restart() {
    let data = tempfile::tempdir().expect("temp dir");
    let envs = components("test-envs");
    let (id, before) = {
        let server = start(&envs, data.path());
        let id = session_id(&server.create(json!({ "env": "hostile" })));
        for tool in ["Count", "Panic", "Grow", "Count"] {
            server.step(&id, tool, "{}");
        }
        let before = server.get(&format!("/v1/sessions/{id}")).1;
        (id, before)
    };
    assert_eq!((&before["steps"], &before["faults"]), (&json!(4), &json!(2)));
    let server = start(&envs, data.path());
    assert_eq!(server.get(&format!("/v1/sessions/{id}")).1, before);
    assert_eq!(server.step(&id, "Count", "{}")["observation"], "count = 3");
}

#[test]
fn a_session_whose_component_changed_is_dropped_and_reported() {
    let data = tempfile::tempdir().expect("temp dir");
    let envs = tempfile::tempdir().expect("temp dir");
    let component = envs.path().join("binary-search.wasm");
    std::fs::copy(components("envs").join("binary-search.wasm"), &component).expect("copy");
    let id = {
        let server = start(envs.path(), data.path());
        let id = session_id(&server.create(json!({ "env": "binary-search" })));
        server.step(&id, "Length", "{}");
        id
    };
    std::fs::copy(components("envs").join("peak-element.wasm"), &component).expect("copy");
    let server = start(envs.path(), data.path());
    assert_eq!(server.restored.restored, 0);
    let [(dropped, reason)] = server.restored.dropped.as_slice() else {
        panic!("one session dropped: {:?}", server.restored)
    };
    assert_eq!(dropped, &id);
    assert!(reason.contains("component changed"), "{reason}");
    assert_eq!(server.get(&format!("/v1/sessions/{id}")).0, 404);
    drop(server);

    // Dropped means deleted: the next start does not report it again.
    let server = start(envs.path(), data.path());
    assert!(server.restored.dropped.is_empty(), "{:?}", server.restored);
}

/// A Python environment's session is a package on the shared runtime: its identity is the
/// package's hash, which names the runtime's, and it resumes exactly after a restart; a
/// package rebuilt from a changed file is another environment, so its session is dropped.
#[test]
fn a_python_session_resumes_by_its_package_and_runtime() {
    let data = tempfile::tempdir().expect("temp dir");
    let envs = tempfile::tempdir().expect("temp dir");
    let package = envs.path().join("house-robber.pyenv");
    std::fs::copy(components("envs").join("house-robber.pyenv"), &package).expect("copy");
    let runtimes = components("envs").join(codegym_host::RUNTIMES_DIR);
    std::fs::create_dir(envs.path().join(codegym_host::RUNTIMES_DIR)).expect("runtimes/");
    for entry in std::fs::read_dir(&runtimes).expect("the runtime") {
        let path = entry.expect("entry").path();
        let target = envs.path().join(codegym_host::RUNTIMES_DIR).join(path.file_name().expect("name"));
        std::fs::hard_link(&path, &target)
            .or_else(|_| std::fs::copy(&path, &target).map(drop))
            .expect("link");
    }
    let (id, before) = {
        let server = start(envs.path(), data.path());
        let id = session_id(&server.create(json!({ "env": "house-robber", "seed": 5 })));
        server.step(&id, "GetHouseCount", "{}");
        server.step(&id, "GetMoney", r#"{"index": 1}"#);
        (id.clone(), server.get(&format!("/v1/sessions/{id}")).1)
    };
    let server = start(envs.path(), data.path());
    assert_eq!(server.restored.restored, 1, "{:?}", server.restored);
    assert_eq!(server.get(&format!("/v1/sessions/{id}")).1, before);
    let next = ToolCall::new("GetMoney", r#"{"index":0}"#);
    let reply = server.step(&id, &next.name, &next.arguments);
    let (observation, _) = uninterrupted("envs", &before, &next);
    assert_eq!(reply["observation"].as_str(), Some(observation.as_str()));
    drop(server);

    let mut changed: codegym_host::Package =
        serde_json::from_slice(&std::fs::read(&package).expect("read")).expect("a package");
    changed.source.push_str("\n# changed\n");
    std::fs::write(&package, changed.to_bytes()).expect("write");
    let server = start(envs.path(), data.path());
    assert_eq!(server.restored.restored, 0, "{:?}", server.restored);
    assert_eq!(server.restored.dropped.len(), 1, "{:?}", server.restored);
}
