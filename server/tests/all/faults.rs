//! A session whose environment faults: each fault is an observation, rolled back, and the
//! session (and the server) keep working; steps that run to the backstop do not stall the
//! server.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::websocket::{connect, receive, result, send};
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

/// How long a probe of a server that runs faulting steps may take to answer: generous, as
/// the faulting steps keep every core busy, and far below the faulting work's duration.
const PROBE_BOUND: Duration = Duration::from_secs(1);

/// Steps that run to the wall-clock backstop (`Spin` with fuel to spare), fired as an HTTP
/// batch, as concurrent single steps and as a WebSocket batch, leave the server's two async
/// workers free: `/healthz` and a step on a healthy session answer within [`PROBE_BOUND`]
/// all the while. Stepping on the async workers, the probes wait for seconds.
#[test]
fn steps_at_the_backstop_leave_the_server_responsive() {
    let backstop = Duration::from_secs(1);
    let dir = tempfile::tempdir().expect("temp dir");
    for (from, name) in [("test-envs", "hostile"), ("envs", "binary-search")] {
        let file = format!("{name}.wasm");
        std::fs::copy(components(from).join(&file), dir.path().join(&file)).expect("copy component");
    }
    // The helper's runtime has 2 async workers, as on a small machine.
    let server = TestServer::start(dir.path(), |config| {
        // Fuel for far longer than the backstop, so the clock is what stops `Spin`.
        config.limits.fuel_per_step = 1 << 50;
        config.limits.fuel_per_episode = 1 << 60;
        config.limits.step_timeout = backstop;
    });
    let hostile: Vec<String> =
        (0..12).map(|_| session_id(&server.create(json!({ "env": "hostile" })))).collect();
    let healthy = session_id(&server.create(json!({ "env": "binary-search", "seed": 1 })));
    let spins = |ids: &[String]| -> Vec<Value> {
        ids.iter().map(|id| json!({ "session_id": id, "name": "Spin" })).collect()
    };
    let (batched, rest) = hostile.split_at(5);
    let (single, socketed) = rest.split_at(4);
    assert_eq!(socketed.len(), 3);

    let (server, spins) = (&server, &spins);
    let started = Instant::now();
    let (batch, batch_took, singles, socket_batch, probes) = std::thread::scope(|scope| {
        let http_batch = scope.spawn(move || {
            let (status, reply) = server.post("/v1/step", &json!({ "steps": spins(batched) }));
            assert_eq!(status, 200, "{reply}");
            (reply, started.elapsed())
        });
        let singles: Vec<_> =
            single.iter().map(|id| scope.spawn(move || server.step(id, "Spin", "{}"))).collect();
        let socket_batch = scope.spawn(move || {
            let mut socket = connect(server);
            send(&mut socket, &json!({ "id": 1, "op": "batch", "steps": spins(socketed) }));
            result(&receive(&mut socket)).clone()
        });
        // Probe until the HTTP batch (the longest work) has answered; the backstop bounds it.
        let mut probes = Vec::new();
        while !http_batch.is_finished() && started.elapsed() < Duration::from_secs(120) {
            let probe = Instant::now();
            let (status, health) = server.get("/healthz");
            assert_eq!((status, &health["status"]), (200, &json!("ok")), "{health}");
            let healthz = probe.elapsed();
            let probe = Instant::now();
            let reply = server.step(&healthy, "Length", "{}");
            assert_eq!(reply["fault"], Value::Null, "{reply}");
            probes.push((healthz, probe.elapsed()));
            std::thread::sleep(Duration::from_millis(50));
        }
        let (batch, batch_took) = http_batch.join().expect("the batch's client");
        let singles: Vec<Value> = singles.into_iter().map(|t| t.join().expect("a step's client")).collect();
        (batch, batch_took, singles, socket_batch.join().expect("the socket's client"), probes)
    });

    let timed_out = |reply: &Value| reply["fault"] == "timeout" && reply["done"] == false;
    let batch = batch["results"].as_array().expect("results");
    assert!(batch.len() == 5 && batch.iter().all(timed_out), "{batch:?}");
    assert!(singles.iter().all(timed_out), "{singles:?}");
    let socket_batch = socket_batch["results"].as_array().expect("results");
    assert!(socket_batch.len() == 3 && socket_batch.iter().all(timed_out), "{socket_batch:?}");
    // The faulting work ran one backstop after another, far longer than the bound...
    assert!(batch_took >= 5 * backstop && batch_took > 4 * PROBE_BOUND, "the batch took {batch_took:?}");
    // ...and all the while the server answered the probes, promptly.
    for (healthz, step) in &probes {
        assert!(*healthz <= PROBE_BOUND && *step <= PROBE_BOUND, "(/healthz, step) took {probes:?}");
    }
    assert!(probes.len() >= 2, "{} probes in {batch_took:?}", probes.len());
}
