//! `codegym serve --data DIR` killed with SIGKILL under load, then restarted: every
//! acknowledged step is still there, and each session goes on exactly as an uninterrupted
//! episode would.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use codegym_host::{Env, Host, HostConfig, Limits, OraclePolicy, Policy, ToolCall};
use serde_json::{Value, json};

use crate::{Cli, shared_cache, workspace};

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// POST `body`; `None` if the exchange failed (the server died).
fn post(agent: &ureq::Agent, url: &str, body: &Value) -> Option<(u16, Value)> {
    let mut response = agent.post(url).send_json(body).ok()?;
    let status = response.status().as_u16();
    Some((status, response.body_mut().read_json().ok()?))
}

fn binary_search() -> Env {
    let host = Host::new(HostConfig {
        cache_dir: Some(shared_cache().to_owned()),
        pool_size: 64,
        ..HostConfig::default()
    })
    .expect("host");
    host.load(&workspace().join("target/envs/binary-search.wasm")).expect("load")
}

/// A session the client created, with the calls the server acknowledged.
struct Acked {
    id: String,
    calls: Vec<ToolCall>,
}

/// Create sessions and drive each with the oracle until the server stops answering (or
/// `budget` steps are spent); every acknowledged session and call is recorded in `acked`.
fn drive(url: &str, env: &Env, seed: u64, budget: usize, steps: &AtomicUsize, acked: &Mutex<Vec<Acked>>) {
    let agent = agent();
    for seed in seed.. {
        let body = json!({ "env": "binary-search", "seed": seed, "difficulty": 80 });
        let Some((201, created)) = post(&agent, &format!("{url}/v1/sessions"), &body) else { return };
        let id = created["session_id"].as_str().expect("id").to_owned();
        let index = {
            let mut acked = acked.lock().expect("lock");
            acked.push(Acked { id: id.clone(), calls: Vec::new() });
            acked.len() - 1
        };
        let mut oracle = OraclePolicy::default();
        oracle.start(env, created["task"].as_str().expect("task")).expect("oracle");
        let mut observation = String::new();
        while let Some(call) = oracle.next(&observation) {
            if steps.load(Ordering::Relaxed) >= budget {
                return;
            }
            let body = json!({ "name": call.name, "arguments": call.arguments });
            let Some((200, reply)) = post(&agent, &format!("{url}/v1/sessions/{id}/step"), &body) else {
                return;
            };
            acked.lock().expect("lock")[index].calls.push(call);
            steps.fetch_add(1, Ordering::Relaxed);
            observation = reply["observation"].as_str().expect("observation").to_owned();
        }
    }
}

#[test]
fn kill_9_under_load_loses_no_acknowledged_step() {
    let cli = Cli::new();
    let data = tempfile::tempdir().expect("temp dir");
    let env = binary_search();
    let mut served = cli.serve(&["--data", data.path().to_str().expect("UTF-8 path")]);
    let url = served.url.clone();
    let steps = AtomicUsize::new(0);
    let acked = Mutex::new(Vec::new());
    let budget = 100_000;
    std::thread::scope(|scope| {
        for client in 0..4 {
            let (url, env, steps, acked) = (&url, &env, &steps, &acked);
            scope.spawn(move || drive(url, env, client * 1000, budget, steps, acked));
        }
        // Kill it mid-flight, once the clients have had a few hundred steps acknowledged.
        let deadline = Instant::now() + Duration::from_secs(60);
        while steps.load(Ordering::Relaxed) < 400 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        served.child.kill().expect("SIGKILL");
        served.child.wait().expect("wait");
    });
    let acked = acked.into_inner().expect("lock");
    let total: usize = acked.iter().map(|session| session.calls.len()).sum();
    assert!(total >= 400, "the clients got {total} steps through before the kill");

    let served = cli.serve(&["--data", data.path().to_str().expect("UTF-8 path")]);
    let agent = agent();
    let next = ToolCall::new("Length", "{}");
    let mut in_flight = 0;
    for session in &acked {
        let url = format!("{}/v1/sessions/{}", served.url, session.id);
        let mut response = agent.get(&url).call().expect("GET session");
        assert_eq!(response.status().as_u16(), 200, "session {} was acknowledged", session.id);
        let stored: Value = response.body_mut().read_json().expect("JSON");
        let calls: Vec<ToolCall> = serde_json::from_value(stored["log"]["calls"].clone()).expect("calls");
        // Every acknowledged call is there, in order; at most one more (in flight at the
        // kill) may have been committed without its reply arriving.
        assert!(calls.starts_with(&session.calls), "session {}: {calls:?}", session.id);
        assert!(calls.len() <= session.calls.len() + 1, "session {}", session.id);
        in_flight += calls.len() - session.calls.len();

        // The next step answers as an uninterrupted in-process episode does.
        let limits: Limits = serde_json::from_value(stored["limits"].clone()).expect("limits");
        let mut episode =
            env.start_with(stored["log"]["config"].as_str().expect("config"), limits).expect("start");
        for call in &calls {
            episode.step(call);
        }
        let expected = episode.step(&next);
        let body = json!({ "name": next.name, "arguments": next.arguments });
        let (status, reply) = post(&agent, &format!("{url}/step"), &body).expect("step");
        assert_eq!(status, 200, "{reply}");
        assert_eq!(reply["observation"], expected.observation, "session {}", session.id);
        assert_eq!(reply["steps"], episode.steps(), "session {}", session.id);
        assert_eq!(reply["done"], expected.done, "session {}", session.id);
    }
    println!(
        "killed after {total} acknowledged steps in {} sessions; all restored, plus {in_flight} \
         committed calls whose replies the kill cut off",
        acked.len()
    );
}
