//! A session whose environment faults: each fault is an observation, rolled back, and the
//! session (and the server) keep working.

use serde_json::json;

use crate::{TestServer, components, session_id};

#[test]
fn a_faulting_environment_keeps_its_session_working() {
    let server = TestServer::start(&components("test-envs"), |_| {});
    let id = session_id(&server.create(json!({ "env": "hostile" })));
    assert_eq!(server.step(&id, "Count", "{}")["observation"], "count = 1");
    let faults = [
        ("Spin", "out_of_fuel"),
        ("Grow", "memory"),
        ("Panic", "panic"),
        ("Panic", "panic"),
        ("Panic", "panic"),
    ];
    for (tool, kind) in faults {
        let reply = server.step(&id, tool, "{}");
        assert_eq!(reply["fault"], kind, "{tool}: {reply}");
        assert_eq!(reply["done"], false, "{tool}: {reply}");
        assert!(reply["observation"].as_str().is_some_and(|o| o.contains("rolled back")), "{reply}");
    }
    assert_eq!(server.step(&id, "Count", "{}")["observation"], "count = 2", "the faults were rolled back");

    // Another session on the same server is unaffected.
    let other = session_id(&server.create(json!({ "env": "hostile" })));
    assert_eq!(server.step(&other, "Count", "{}")["observation"], "count = 1");

    let done = server.step(&id, "Done", r#"{"answer": 2}"#);
    assert_eq!((done["reward"].as_f64(), done["done"].as_bool()), (Some(1.0), Some(true)), "{done}");
    let (_, session) = server.get(&format!("/v1/sessions/{id}"));
    assert_eq!((&session["steps"], &session["faults"]), (&json!(8), &json!(5)), "{session}");
    assert_eq!(session["log"]["calls"].as_array().map(Vec::len), Some(3), "faulted calls are not in the log");
    assert!(server.text("/metrics").contains("codegym_faults_total 5"));
}
