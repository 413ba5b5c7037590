//! Bad requests get a 4xx with a JSON `{"error": ...}`; the server stays up.

use serde_json::json;

use crate::{TestServer, components, session_id};

#[test]
fn bad_requests_are_json_errors() {
    let server = TestServer::start(&components("envs"), |config| config.body_limit_bytes = 4096);
    let id = session_id(&server.create(json!({ "env": "binary-search" })));
    let step = format!("/v1/sessions/{id}/step");

    let cases: Vec<(&str, u16, (u16, serde_json::Value))> = vec![
        ("malformed JSON", 400, server.post_raw(&step, "application/json", b"{\"name\": \"Observe\",")),
        ("not JSON at all", 400, server.post_raw("/v1/sessions", "application/json", b"hello")),
        ("wrong content type", 415, server.post_raw(&step, "text/plain", b"{}")),
        ("wrong shape", 422, server.post("/v1/sessions", &json!({ "env": 3 }))),
        ("unknown field", 422, server.post("/v1/sessions", &json!({ "env": "binary-search", "sed": 1 }))),
        ("neither name nor text", 400, server.post(&step, &json!({}))),
        ("unknown format", 422, server.post(&step, &json!({ "text": "x", "format": "xml" }))),
        (
            "unknown session",
            404,
            server.post("/v1/sessions/0123456789abcdef/step", &json!({ "name": "Observe" })),
        ),
        ("malformed session id", 404, server.get("/v1/sessions/not-an-id")),
        ("delete unknown session", 404, server.delete("/v1/sessions/0123456789abcdef")),
        ("fork unknown session", 404, server.post("/v1/sessions/0123456789abcdef/fork", &json!({}))),
        ("unknown env", 404, server.post("/v1/sessions", &json!({ "env": "no-such-env" }))),
        ("unknown env info", 404, server.get("/v1/envs/no-such-env")),
        (
            "difficulty out of range",
            400,
            server.post("/v1/sessions", &json!({ "env": "binary-search", "difficulty": 101 })),
        ),
        ("bad config", 400, server.post("/v1/sessions", &json!({ "env": "binary-search", "config": "{]" }))),
        (
            "unknown limit",
            400,
            server.post("/v1/sessions", &json!({ "env": "binary-search", "limits": { "fuel": 1 } })),
        ),
        (
            "bad limit",
            400,
            server.post("/v1/sessions", &json!({ "env": "binary-search", "limits": { "max_steps": -1 } })),
        ),
        (
            "oversized body",
            413,
            server.post(&step, &json!({ "name": "Observe", "arguments": "x".repeat(8192) })),
        ),
        ("no such endpoint", 404, server.get("/v2/nothing")),
        ("wrong method", 405, server.get(&step)),
    ];
    for (what, expected, (status, body)) in cases {
        assert_eq!(status, expected, "{what}: {body}");
        assert!(body["error"].as_str().is_some_and(|e| !e.is_empty()), "{what}: {body}");
    }
    // Still up, and the session unharmed.
    let reply = server.step(&id, "Observe", "{}");
    assert_eq!(reply["steps"], 1, "{reply}");
}

#[test]
fn requested_limits_can_only_tighten_the_servers() {
    let server = TestServer::envs();
    let tight = server
        .create(json!({ "env": "binary-search", "limits": { "max_steps": 2, "fuel_per_step": 1u64 << 62 } }));
    let id = session_id(&tight);
    let (_, session) = server.get(&format!("/v1/sessions/{id}"));
    assert_eq!(session["limits"]["max_steps"], 2);
    assert_eq!(session["limits"]["fuel_per_step"], codegym_host::Limits::default().fuel_per_step);
    let first = server.step(&id, "Observe", "{}");
    assert!(first.get("outcome").is_none(), "no outcome while the episode runs: {first}");
    let last = server.step(&id, "Observe", "{}");
    assert_eq!(last["done"], true, "the step limit ends it: {last}");
    assert_eq!(last["outcome"]["kind"], "step_limit", "the reply says why: {last}");
    let (_, session) = server.get(&format!("/v1/sessions/{id}"));
    assert_eq!(session["outcome"]["kind"], "step_limit");
}

#[test]
fn a_flood_of_sessions_past_the_maximum_gets_429_and_the_server_stays_up() {
    let server = TestServer::start(&components("envs"), |config| config.max_sessions = 8);
    // 4 clients at once, 10 creations each: exactly 8 succeed.
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let clients: Vec<_> = (0..4)
            .map(|client| {
                let server = &server;
                scope.spawn(move || {
                    (0..10)
                        .map(|seed| {
                            let body = json!({ "env": "binary-search", "seed": client * 10 + seed });
                            let (status, reply) = server.post("/v1/sessions", &body);
                            if status == 429 {
                                assert!(
                                    reply["error"].as_str().is_some_and(|e| e.contains("maximum")),
                                    "{reply}"
                                );
                            }
                            status
                        })
                        .collect::<Vec<u16>>()
                })
            })
            .collect();
        clients.into_iter().flat_map(|client| client.join().expect("client")).collect()
    });
    assert_eq!(statuses.iter().filter(|&&s| s == 201).count(), 8, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|&&s| s == 429).count(), 32, "{statuses:?}");

    let (status, body) = server.get("/healthz");
    assert_eq!((status, &body["status"]), (200, &json!("ok")));
    let metrics = server.text("/metrics");
    assert!(metrics.contains("codegym_sessions_live 8"), "{metrics}");
    assert!(metrics.contains("codegym_sessions_created_total 8"), "{metrics}");
}

#[test]
fn forking_a_full_server_is_refused_until_a_session_is_deleted() {
    let server = TestServer::start(&components("envs"), |config| config.max_sessions = 1);
    let id = session_id(&server.create(json!({ "env": "binary-search" })));
    let fork = format!("/v1/sessions/{id}/fork");
    let (status, body) = server.post(&fork, &json!({}));
    assert_eq!(status, 429, "{body}");
    let (status, _) = server.post("/v1/sessions", &json!({ "env": "binary-search" }));
    assert_eq!(status, 429);
    assert_eq!(server.delete(&format!("/v1/sessions/{id}")).0, 200);
    server.create(json!({ "env": "binary-search" }));
}

#[test]
fn idle_sessions_expire() {
    let server = TestServer::start(&components("envs"), |config| {
        config.idle_ttl = std::time::Duration::from_millis(100)
    });
    let id = session_id(&server.create(json!({ "env": "binary-search" })));
    let path = format!("/v1/sessions/{id}");
    assert_eq!(server.get(&path).0, 200);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while server.get(&path).0 == 200 {
        assert!(std::time::Instant::now() < deadline, "the session never expired");
        std::thread::sleep(std::time::Duration::from_millis(150));
    }
    assert!(server.text("/metrics").contains("codegym_sessions_expired_total 1"));
}
