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

/// A small tmpfs mounted for one test (the tests run as root, as CI does), unmounted on
/// drop, so a full disk is real: redb's writes fail with ENOSPC.
struct Tmpfs(tempfile::TempDir);

impl Tmpfs {
    fn mount(bytes: u64) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={bytes}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("run mount");
        assert!(status.success(), "mounting a tmpfs needs root (CI runs as root)");
        Self(dir)
    }

    fn resize(&self, bytes: u64) {
        let status = std::process::Command::new("mount")
            .args(["-o", &format!("remount,size={bytes}")])
            .arg(self.0.path())
            .status()
            .expect("run mount");
        assert!(status.success());
    }

    fn path(&self) -> &Path {
        self.0.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        _ = std::process::Command::new("umount").arg(self.0.path()).status();
    }
}

/// On a disk that fills up, every acknowledged step is durable, and once a commit fails
/// every later write is refused with 503 (a session whose step could not be stored leaves
/// memory, as it is ahead of the store; reads of the others still answer); after space is
/// freed, a restart restores exactly what was acknowledged (204 sessions, 10,190 steps on
/// 2 MiB when written).
#[test]
fn a_full_disk_loses_nothing_acknowledged_and_refuses_later_writes() {
    let disk = Tmpfs::mount(2 << 20);
    let data = disk.path().join("sessions");
    let envs = components("envs");
    // Every session and the calls acknowledged on it, in order.
    let mut acknowledged: Vec<(String, Vec<String>)> = Vec::new();
    let refused = {
        let server = start(&envs, &data);
        let mut refused = None;
        'fill: for seed in 0..2_000 {
            let (status, reply) =
                server.post("/v1/sessions", &json!({ "env": "binary-search", "seed": seed }));
            if status != 201 {
                refused = Some((status, reply));
                break;
            }
            let id = session_id(&reply);
            acknowledged.push((id.clone(), Vec::new()));
            for index in 0..50 {
                let arguments = format!(r#"{{"index": {index}}}"#);
                let body = json!({ "name": "Get", "arguments": arguments });
                let (status, reply) = server.post(&format!("/v1/sessions/{id}/step"), &body);
                if status != 200 {
                    refused = Some((status, reply));
                    break 'fill;
                }
                acknowledged.last_mut().expect("a session").1.push(arguments);
            }
        }
        let (status, reply) = refused.expect("the disk filled up");
        assert_eq!(status, 503, "{reply}");
        assert!(reply["error"].as_str().is_some_and(|e| e.contains("cannot store")), "{reply}");

        // Later writes are refused too, and the refusal says why; reads still answer.
        let (id, _) = &acknowledged[0];
        let (status, reply) =
            server.post(&format!("/v1/sessions/{id}/step"), &json!({ "name": "Length", "arguments": "{}" }));
        assert_eq!(status, 503, "{reply}");
        assert_eq!(server.get(&format!("/v1/sessions/{id}")).0, 404, "ahead of the store: dropped");
        let (status, reply) = server.post("/v1/sessions", &json!({ "env": "binary-search" }));
        assert_eq!(status, 503, "{reply}");
        assert_eq!(server.get(&format!("/v1/sessions/{}", acknowledged[1].0)).0, 200);
        assert_eq!(server.get("/healthz").0, 200);
        reply
    };
    assert!(acknowledged.len() > 2, "{refused}");

    // Restoring needs no space: a restart on the still-full disk has them all back too.
    assert_eq!(start(&envs, &data).restored.restored, acknowledged.len());

    disk.resize(64 << 20);
    let server = start(&envs, &data);
    assert!(server.restored.dropped.is_empty(), "{:?}", server.restored);
    assert_eq!(server.restored.restored, acknowledged.len(), "every acknowledged session is back");
    for (id, calls) in &acknowledged {
        let (status, session) = server.get(&format!("/v1/sessions/{id}"));
        assert_eq!(status, 200, "{session}");
        let logged: Vec<&str> = session["log"]["calls"]
            .as_array()
            .expect("calls")
            .iter()
            .map(|call| call["arguments"].as_str().expect("arguments"))
            .collect();
        assert_eq!(logged, *calls, "session {id} holds exactly its acknowledged calls");
    }
    // Writable again.
    let (id, _) = &acknowledged[0];
    server.step(id, "Length", "{}");
}
