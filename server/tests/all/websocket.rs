//! The API over `GET /v1/ws`: pipelined requests, echoed ids, error replies that leave the
//! socket usable, durability across a restart; and `/openapi.json` against the router's route table.

use std::collections::HashMap;
use std::net::TcpStream;
use std::time::Instant;

use codegym_host::{OraclePolicy, Policy};
use serde_json::{Value, json};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

use crate::{TestServer, components, load};

pub(crate) type Socket = WebSocket<MaybeTlsStream<TcpStream>>;

pub(crate) fn connect(server: &TestServer) -> Socket {
    let address = server.url.trim_start_matches("http://");
    let stream = TcpStream::connect(address).expect("connect");
    stream.set_nodelay(true).expect("TCP_NODELAY");
    let url = format!("ws://{address}/v1/ws");
    tungstenite::client(url, MaybeTlsStream::Plain(stream)).expect("WebSocket handshake").0
}

pub(crate) fn send(socket: &mut Socket, request: &Value) {
    socket.send(Message::text(request.to_string())).expect("send");
}

pub(crate) fn receive(socket: &mut Socket) -> Value {
    loop {
        match socket.read().expect("a reply") {
            Message::Text(text) => return serde_json::from_str(&text).expect("replies are JSON"),
            Message::Close(frame) => panic!("the server closed the socket: {frame:?}"),
            _ => {}
        }
    }
}

/// Read `count` replies, keyed by their (string) ids.
fn receive_all(socket: &mut Socket, count: usize) -> HashMap<String, Value> {
    (0..count)
        .map(|_| {
            let reply = receive(socket);
            (reply["id"].as_str().expect("a string id").to_owned(), reply)
        })
        .collect()
}

pub(crate) fn result(reply: &Value) -> &Value {
    assert_eq!(reply["ok"], true, "{reply}");
    &reply["result"]
}

#[test]
fn the_oracle_solves_sessions_over_one_pipelined_socket() {
    let server = TestServer::envs();
    let mut socket = connect(&server);
    let seeds = [1, 2, 3, 4];
    for seed in seeds {
        let bad = json!({ "id": format!("create-{seed}"), "op": "create", "env": "binary-search", "sed": 1 });
        send(&mut socket, &bad);
        let create = json!({ "id": format!("{seed}"), "op": "create", "env": "binary-search", "seed": seed });
        send(&mut socket, &create);
    }
    let replies = receive_all(&mut socket, 2 * seeds.len());
    let binary_search = load("envs", "binary-search");
    let mut running: HashMap<String, (OraclePolicy, Value)> = HashMap::new();
    for seed in seeds {
        let bad = &replies[&format!("create-{seed}")];
        assert_eq!((&bad["ok"], &bad["status"]), (&json!(false), &json!(422)), "unknown field: {bad}");
        let created = result(&replies[&format!("{seed}")]);
        let mut oracle = OraclePolicy::default();
        oracle.start(&binary_search, created["task"].as_str().expect("task")).expect("oracle");
        running.insert(created["session_id"].as_str().expect("id").to_owned(), (oracle, json!("")));
    }

    // Each round sends one step per session before reading any reply.
    let mut finished = Vec::new();
    for round in 0..300 {
        if running.is_empty() {
            break;
        }
        for (session, (oracle, observation)) in &mut running {
            let call = oracle.next(observation.as_str().unwrap_or("")).expect("the oracle ends with Done");
            let id = json!([session, round]);
            let step = json!({ "id": id, "op": "step", "session_id": session, "name": call.name, "arguments": call.arguments });
            send(&mut socket, &step);
        }
        for _ in 0..running.len() {
            let reply = receive(&mut socket);
            let session = reply["id"][0].as_str().expect("the id is echoed").to_owned();
            assert_eq!(reply["id"][1], round, "{reply}");
            let step = result(&reply).clone();
            if step["done"] == true {
                running.remove(&session);
                finished.push(step);
            } else if let Some((_, observation)) = running.get_mut(&session) {
                *observation = step["observation"].clone();
            }
        }
    }
    assert_eq!(finished.len(), seeds.len(), "every session ends");
    assert!(finished.iter().all(|step| step["reward"] == 1.0), "{finished:?}");
}

#[test]
fn bad_messages_get_error_replies_and_the_socket_stays_usable() {
    let server = TestServer::envs();
    let mut socket = connect(&server);
    socket.send(Message::text("{\"id\": 1, \"op\": ")).expect("send");
    socket.send(Message::text("[1, 2]")).expect("send");
    send(&mut socket, &json!({ "id": "no-op" }));
    send(&mut socket, &json!({ "id": "bad-op", "op": "launch" }));
    send(
        &mut socket,
        &json!({ "id": "ghost", "op": "step", "session_id": "0123456789abcdef", "name": "Observe" }),
    );
    send(&mut socket, &json!({ "id": "ghost-get", "op": "get", "session_id": "0123456789abcdef" }));
    send(&mut socket, &json!({ "id": "no-env", "op": "create", "env": "no-such-env" }));
    send(&mut socket, &json!({ "id": "neither", "op": "step", "session_id": "0123456789abcdef" }));
    let mut errors = Vec::new();
    for _ in 0..8 {
        let reply = receive(&mut socket);
        assert_eq!(reply["ok"], false, "{reply}");
        assert!(reply["error"].as_str().is_some_and(|error| !error.is_empty()), "{reply}");
        errors.push((reply["id"].clone(), reply["status"].clone()));
    }
    errors.sort_by_key(|(id, _)| id.to_string());
    // Sorted by their JSON text, so the two without an id (`null`) come last.
    let expected = [
        (json!("bad-op"), 400),
        (json!("ghost"), 404),
        (json!("ghost-get"), 404),
        (json!("neither"), 400),
        (json!("no-env"), 404),
        (json!("no-op"), 400),
        (Value::Null, 400),
        (Value::Null, 400),
    ];
    assert_eq!(errors, expected.map(|(id, status)| (id, json!(status))));

    // Still usable: a session's pipelined steps run in order; get, fork, delete, envs.
    send(&mut socket, &json!({ "id": 0, "op": "create", "env": "binary-search" }));
    let created = result(&receive(&mut socket)).clone();
    let session = created["session_id"].clone();
    for id in 1..=3 {
        send(&mut socket, &json!({ "id": id, "op": "step", "session_id": session, "name": "Observe" }));
    }
    let mut steps: Vec<(i64, Value)> = (0..3)
        .map(|_| {
            let reply = receive(&mut socket);
            (reply["id"].as_i64().expect("id"), result(&reply)["steps"].clone())
        })
        .collect();
    steps.sort_by_key(|(id, _)| *id);
    assert_eq!(steps, [(1, json!(1)), (2, json!(2)), (3, json!(3))]);

    send(&mut socket, &json!({ "id": "get", "op": "get", "session_id": session }));
    assert_eq!(result(&receive(&mut socket))["steps"], 3);
    send(&mut socket, &json!({ "id": "fork", "op": "fork", "session_id": session }));
    let fork = result(&receive(&mut socket)).clone();
    assert_eq!((&fork["task"], &fork["steps"]), (&created["task"], &json!(3)));
    send(&mut socket, &json!({ "id": "envs", "op": "envs", "name": "binary-search" }));
    assert_eq!(result(&receive(&mut socket))["category"], "searching");
    send(
        &mut socket,
        &json!({ "id": "batch", "op": "batch", "steps": [
        { "session_id": session, "name": "Observe" }, { "session_id": fork["session_id"], "name": "Observe" },
    ] }),
    );
    let batch = result(&receive(&mut socket)).clone();
    assert_eq!((&batch["results"][0]["steps"], &batch["results"][1]["steps"]), (&json!(4), &json!(4)));
    send(&mut socket, &json!({ "id": "delete", "op": "delete", "session_id": session }));
    assert_eq!(result(&receive(&mut socket))["deleted"], session);
    assert_eq!(server.get(&format!("/v1/sessions/{}", session.as_str().expect("id"))).0, 404);
}

/// Steps per second over one socket with 64 sessions, printed (never asserted): run with
/// `--nocapture` to see it.
#[test]
fn pipelined_throughput_is_reported() {
    const SESSIONS: usize = 64;
    const ROUNDS: usize = 500;
    for (label, data) in [("in memory", None), ("durable", Some(tempfile::tempdir().expect("temp dir")))] {
        let dir = data.as_ref().map(|dir| dir.path().to_owned());
        let server = TestServer::start(&components("envs"), |config| config.data_dir = dir);
        let mut socket = connect(&server);
        for seed in 0..SESSIONS {
            let limits = json!({ "max_steps": 100_000 });
            send(
                &mut socket,
                &json!({ "id": seed, "op": "create", "env": "binary-search", "seed": seed, "limits": limits }),
            );
        }
        let sessions: Vec<Value> =
            (0..SESSIONS).map(|_| result(&receive(&mut socket))["session_id"].clone()).collect();
        let mut start = Instant::now();
        // Round 0 warms up (first touches of every instance) and is not timed.
        for round in 0..=ROUNDS {
            for session in &sessions {
                send(
                    &mut socket,
                    &json!({ "id": round, "op": "step", "session_id": session, "name": "Observe" }),
                );
            }
            for _ in 0..SESSIONS {
                assert_eq!(receive(&mut socket)["ok"], true);
            }
            if round == 0 {
                start = Instant::now();
            }
        }
        let elapsed = start.elapsed();
        let steps = SESSIONS * ROUNDS;
        let rate = steps as f64 / elapsed.as_secs_f64();
        println!("WebSocket ({label}), {SESSIONS} sessions, {steps} pipelined steps: {rate:.0} steps/s");
    }
}

#[test]
fn the_openapi_document_describes_every_route() {
    let server = TestServer::envs();
    let (status, document) = server.get("/openapi.json");
    assert_eq!(status, 200);
    assert!(document["openapi"].as_str().is_some_and(|version| version.starts_with("3.1")), "{document}");
    let paths = document["paths"].as_object().expect("paths");
    let mut described = Vec::new();
    for (path, operations) in paths {
        let operations = operations.as_object().expect("a path item");
        for (method, operation) in operations.iter().filter(|(key, _)| *key != "parameters") {
            assert!(operation["responses"].is_object(), "{method} {path} has responses");
            described.push((method.to_uppercase(), path.clone()));
        }
    }
    let mut served: Vec<(String, String)> = codegym_server::ROUTES
        .iter()
        .map(|(method, path)| ((*method).to_owned(), (*path).to_owned()))
        .collect();
    described.sort();
    served.sort();
    assert_eq!(described, served);

    // And the router serves every route of the table (the fallback would say otherwise).
    for (method, path) in codegym_server::ROUTES {
        let path = path.replace("{name}", "binary-search").replace("{id}", "0123456789abcdef");
        let url = format!("{}{path}", server.url);
        let response = match *method {
            "GET" => server.agent.get(&url).call(),
            "DELETE" => server.agent.delete(&url).call(),
            _ => server.agent.post(&url).send_json(json!({})),
        };
        let mut response = response.expect("HTTP exchange");
        let body = response.body_mut().read_to_string().expect("body");
        let status = response.status().as_u16();
        assert!(status != 405 && !body.contains("no such endpoint"), "{method} {path}: {status} {body}");
    }
}

#[test]
fn steps_over_the_socket_survive_a_restart() {
    let data = tempfile::tempdir().expect("temp dir");
    let start = || {
        let data = data.path().to_owned();
        TestServer::start(&components("envs"), move |config| config.data_dir = Some(data))
    };
    let (session, before) = {
        let server = start();
        let mut socket = connect(&server);
        send(&mut socket, &json!({ "id": "new", "op": "create", "env": "binary-search", "seed": 5 }));
        let session = result(&receive(&mut socket))["session_id"].clone();
        for index in 0..20 {
            let arguments = json!({ "index": index });
            send(
                &mut socket,
                &json!({ "id": index, "op": "step", "session_id": session, "name": "Get", "arguments": arguments }),
            );
        }
        let replies: Vec<Value> = (0..20).map(|_| result(&receive(&mut socket)).clone()).collect();
        assert!(replies.iter().all(|reply| reply["fault"].is_null()), "{replies:?}");
        send(&mut socket, &json!({ "id": "get", "op": "get", "session_id": session }));
        let before = result(&receive(&mut socket)).clone();
        assert_eq!(before["steps"], 20);
        (session, before)
    };
    let server = start();
    assert_eq!(server.restored.restored, 1, "{:?}", server.restored);
    let mut socket = connect(&server);
    send(&mut socket, &json!({ "id": "get", "op": "get", "session_id": session }));
    let after = result(&receive(&mut socket)).clone();
    assert_eq!((&after["steps"], &after["log"]), (&before["steps"], &before["log"]));
}

/// Past `ws_max_in_flight` requests awaiting replies, the socket is not read: with a limit
/// of 1, a quick `get` sent behind a slow `create` (a reset that spins until its fuel runs
/// out) is answered only after it; with a limit of 2 the `get` overtakes the `create`.
#[test]
fn a_socket_at_its_in_flight_limit_is_not_read_until_a_reply_goes_out() {
    for (limit, expected) in [(1, ["slow", "quick"]), (2, ["quick", "slow"])] {
        let server = TestServer::start(&components("test-envs"), |config| config.ws_max_in_flight = limit);
        let mut socket = connect(&server);
        let spin = json!({ "reset": "spin" }).to_string();
        send(&mut socket, &json!({ "id": "slow", "op": "create", "env": "hostile", "config": spin }));
        send(&mut socket, &json!({ "id": "quick", "op": "get", "session_id": "0123456789abcdef" }));
        let first = receive(&mut socket);
        let second = receive(&mut socket);
        let order = [&first["id"], &second["id"]];
        assert_eq!(order, expected.map(Value::from).each_ref(), "limit {limit}: {first} then {second}");
        let slow = if first["id"] == "slow" { &first } else { &second };
        assert_eq!(slow["ok"], false, "the spinning reset is refused: {slow}");
        let quick = if first["id"] == "quick" { &first } else { &second };
        assert_eq!(quick["status"], 404, "{quick}");
    }
}
