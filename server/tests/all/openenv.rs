//! The OpenEnv protocol at `/openenv/{name}/`: the WebSocket episode (reset, steps to reward
//! 1 with the oracle's calls, state, close), OpenEnv's MCP actions and messages, the HTTP
//! endpoints `openenv validate` reads, and OpenEnv's error shapes. (The `openenv-core`
//! clients themselves are tested in `server/tests/openenv/test_openenv.py`.)

use std::net::TcpStream;
use std::time::Duration;

use codegym_host::{OraclePolicy, Policy};
use serde_json::{Value, json};
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

use crate::{TestServer, components, load};

type Socket = WebSocket<MaybeTlsStream<TcpStream>>;

fn connect(server: &TestServer, env: &str) -> Socket {
    connect_to(server, &format!("/openenv/{env}/ws"))
}

fn connect_to(server: &TestServer, path: &str) -> Socket {
    let address = server.url.trim_start_matches("http://");
    let stream = TcpStream::connect(address).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(30))).expect("read timeout");
    let url = format!("ws://{address}{path}");
    tungstenite::client(url, MaybeTlsStream::Plain(stream)).expect("WebSocket handshake").0
}

/// Send one message and read its reply.
fn exchange(socket: &mut Socket, message: &Value) -> Value {
    socket.send(Message::text(message.to_string())).expect("send");
    receive(socket)
}

fn receive(socket: &mut Socket) -> Value {
    loop {
        match socket.read().expect("a reply") {
            Message::Text(text) => return serde_json::from_str(&text).expect("replies are JSON"),
            Message::Close(frame) => panic!("the server closed the socket: {frame:?}"),
            _ => {}
        }
    }
}

/// Whether the server closes the socket next (reading past any other message).
fn closes(socket: &mut Socket) -> bool {
    for _ in 0..10 {
        match socket.read() {
            Ok(Message::Close(_)) | Err(_) => return true,
            Ok(_) => {}
        }
    }
    false
}

/// The `data` of an `observation` reply.
fn observation(reply: &Value) -> &Value {
    assert_eq!(reply["type"], "observation", "{reply}");
    &reply["data"]
}

/// The `data` of an `error` reply, checking its code.
fn error<'a>(reply: &'a Value, code: &str) -> &'a Value {
    assert_eq!((&reply["type"], &reply["data"]["code"]), (&json!("error"), &json!(code)), "{reply}");
    assert!(reply["data"]["message"].as_str().is_some_and(|message| !message.is_empty()), "{reply}");
    &reply["data"]
}

/// Poll (bounded) until `GET path` answers `status`.
fn wait_for_status(server: &TestServer, path: &str, status: u16) {
    for _ in 0..200 {
        if server.get(path).0 == status {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("GET {path} never answered {status}");
}

#[test]
fn the_oracle_solves_binary_search_over_the_socket_and_close_deletes_the_session() {
    let data = tempfile::tempdir().expect("temp dir");
    let dir = data.path().to_owned();
    let server = TestServer::start(&components("envs"), move |config| config.data_dir = Some(dir));
    let mut socket = connect(&server, "binary-search");

    let before = exchange(&mut socket, &json!({ "type": "state" }));
    assert_eq!(
        before,
        json!({ "type": "state", "data": {
        "episode_id": null, "step_count": 0, "env": "binary-search", "status": "none" } })
    );

    let reset = exchange(
        &mut socket,
        &json!({ "type": "reset", "data": { "seed": 7, "difficulty": 40, "episode_id": "ep-7" } }),
    );
    let first = observation(&reset).clone();
    assert_eq!((&first["reward"], &first["done"]), (&Value::Null, &json!(false)), "{first}");
    let task = first["observation"]["text"].as_str().expect("the task").to_owned();
    let session = first["observation"]["metadata"]["session_id"].as_str().expect("session id").to_owned();
    assert_eq!(first["observation"]["metadata"]["episode_id"], "ep-7");
    let tools: Vec<&str> = first["observation"]["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .map(|tool| tool["name"].as_str().expect("name"))
        .collect();
    assert!(tools.contains(&"Get") && tools.contains(&"Done"), "{tools:?}");
    assert!(first["observation"]["tools"][0]["input_schema"].is_object(), "{first}");

    // The same task as `/v1` would start from seed 7, difficulty 40.
    let v1 = server.create(json!({ "env": "binary-search", "seed": 7, "difficulty": 40 }));
    assert_eq!(v1["task"], task);

    let (finished, steps) = play_oracle(&mut socket, "binary-search", &task);
    assert_eq!(finished["reward"], 1.0, "{finished}");
    assert_eq!(finished["observation"]["outcome"], json!({ "kind": "solved" }), "{finished}");

    let state = exchange(&mut socket, &json!({ "type": "state" }));
    assert_eq!(state["type"], "state", "{state}");
    let state = &state["data"];
    assert_eq!((&state["episode_id"], &state["session_id"]), (&json!("ep-7"), &json!(session)), "{state}");
    assert_eq!((&state["step_count"], &state["status"]), (&json!(steps), &json!("done")), "{state}");
    assert_eq!((&state["reward"], &state["outcome"]["kind"]), (&json!(1.0), &json!("solved")), "{state}");

    // A session of our own: its committed log is there while the socket is open.
    let (status, shown) = server.get(&format!("/v1/sessions/{session}"));
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["log"]["calls"].as_array().map(Vec::len), Some(steps), "{shown}");

    // `close` ends the session before the socket closes.
    socket.send(Message::text(json!({ "type": "close" }).to_string())).expect("send");
    assert!(closes(&mut socket), "the server closes the socket after `close`");
    assert_eq!(server.get(&format!("/v1/sessions/{session}")).0, 404);
}

/// Step the socket's episode with the oracle's calls until it is done; returns the last
/// step's `data` and the number of steps.
fn play_oracle(socket: &mut Socket, env: &str, task: &str) -> (Value, usize) {
    let env = load("envs", env);
    let mut oracle = OraclePolicy::default();
    oracle.start(&env, task).expect("oracle");
    let mut last = String::new();
    for steps in 1..=300 {
        let call = oracle.next(&last).expect("the oracle ends with Done");
        let arguments: Value = serde_json::from_str(&call.arguments).expect("JSON arguments");
        let reply = exchange(
            socket,
            &json!({ "type": "step", "data": { "name": call.name, "arguments": arguments } }),
        );
        let data = observation(&reply).clone();
        assert_eq!(data["observation"]["tool_name"], call.name.as_str(), "{data}");
        assert_eq!(data["observation"]["steps"], steps, "{data}");
        assert_eq!(data["observation"]["result"]["data"], data["observation"]["text"], "{data}");
        if data["done"] == true {
            return (data, steps);
        }
        last = data["observation"]["text"].as_str().expect("text").to_owned();
    }
    panic!("the oracle did not finish in 300 steps");
}

#[test]
fn a_python_lane_environment_is_served_alike() {
    let server = TestServer::envs();
    let mut socket = connect(&server, "house-robber");
    let reset = exchange(&mut socket, &json!({ "type": "reset", "data": { "seed": 2 } }));
    let task = observation(&reset)["observation"]["text"].as_str().expect("task").to_owned();
    let (finished, _) = play_oracle(&mut socket, "house-robber", &task);
    assert_eq!((&finished["reward"], &finished["done"]), (&json!(1.0), &json!(true)), "{finished}");
    let (status, metadata) = server.get("/openenv/house-robber/metadata");
    assert_eq!((status, &metadata["name"]), (200, &json!("house-robber")), "{metadata}");
}

#[test]
fn sockets_are_isolated_episodes() {
    let server = TestServer::envs();
    let mut sockets: Vec<Socket> = (0..3).map(|_| connect(&server, "binary-search")).collect();
    let mut sessions = std::collections::HashSet::new();
    for socket in &mut sockets {
        let reset = exchange(socket, &json!({ "type": "reset", "data": { "seed": 9 } }));
        sessions.insert(observation(&reset)["observation"]["metadata"]["session_id"].to_string());
    }
    assert_eq!(sessions.len(), 3, "one session per socket: {sessions:?}");
    // Socket i takes i steps; the others do not see them.
    for (index, socket) in sockets.iter_mut().enumerate() {
        for _ in 0..index {
            exchange(
                socket,
                &json!({ "type": "step", "data": { "name": "Get", "arguments": { "index": 0 } } }),
            );
        }
    }
    for (index, socket) in sockets.iter_mut().enumerate() {
        let state = exchange(socket, &json!({ "type": "state" }));
        assert_eq!(state["data"]["step_count"], index, "{state}");
    }
}

#[test]
fn a_reset_replaces_the_episode_and_a_dropped_socket_frees_its_session() {
    let server = TestServer::start(&components("envs"), |config| config.max_sessions = 1);
    let mut first = connect(&server, "binary-search");
    let reset = exchange(&mut first, &json!({ "type": "reset" }));
    let session =
        observation(&reset)["observation"]["metadata"]["session_id"].as_str().expect("id").to_owned();
    // A second reset on the same socket deletes the first session, so it fits the limit.
    let again = exchange(&mut first, &json!({ "type": "reset", "data": { "seed": 3 } }));
    let replaced =
        observation(&again)["observation"]["metadata"]["session_id"].as_str().expect("id").to_owned();
    assert_ne!(session, replaced);
    assert_eq!(server.get(&format!("/v1/sessions/{session}")).0, 404);

    // Another socket finds the server full.
    let mut second = connect(&server, "binary-search");
    let full = exchange(&mut second, &json!({ "type": "reset" }));
    let data = error(&full, "CAPACITY_REACHED");
    assert_eq!((&data["active_sessions"], &data["max_sessions"]), (&json!(1), &json!(1)), "{full}");

    // Dropping the first socket (no `close` message) frees its session.
    drop(first);
    wait_for_status(&server, &format!("/v1/sessions/{replaced}"), 404);
    let reset = exchange(&mut second, &json!({ "type": "reset" }));
    assert_eq!(observation(&reset)["done"], false);
}

#[test]
fn openenv_mcp_actions_and_messages_reach_the_episode() {
    let server = TestServer::envs();
    let mut socket = connect(&server, "binary-search");

    // Tool discovery needs no reset; a step does.
    let listed =
        exchange(&mut socket, &json!({ "type": "step", "data": { "type": "list_tools", "metadata": {} } }));
    let listed = observation(&listed);
    assert!(listed["observation"]["tools"].as_array().is_some_and(|tools| tools.len() >= 4), "{listed}");
    let early = exchange(&mut socket, &json!({ "type": "step", "data": { "name": "Length" } }));
    error(&early, "EXECUTION_ERROR");
    let early = exchange(
        &mut socket,
        &json!({ "type": "mcp", "data": {
        "jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": { "name": "Length" } } }),
    );
    assert_eq!((&early["type"], &early["data"]["error"]["code"]), (&json!("mcp"), &json!(-32600)), "{early}");

    let reset = exchange(&mut socket, &json!({ "type": "reset", "data": { "seed": 1 } }));
    let task = observation(&reset)["observation"]["text"].as_str().expect("task").to_owned();

    // MCPToolClient's action: {"type": "call_tool", "tool_name", "arguments"}.
    let length = exchange(
        &mut socket,
        &json!({ "type": "step", "data": { "type": "call_tool", "tool_name": "Length", "arguments": {} } }),
    );
    let length = observation(&length);
    let text = length["observation"]["text"].as_str().expect("text").to_owned();
    assert!(task.contains(&format!("array of {text} ")), "{task} / {text}");
    assert_eq!(length["observation"]["tool_name"], "Length");
    assert_eq!(length["observation"]["result"]["is_error"], false);
    assert_eq!((&length["reward"], &length["done"]), (&json!(0.0), &json!(false)));

    // Raw model output, parsed as `/v1` parses it; a parse error reaches no tool.
    let hermes = exchange(
        &mut socket,
        &json!({ "type": "step", "data": {
        "text": "<tool_call>{\"name\": \"Get\", \"arguments\": {\"index\": 0}}</tool_call>", "format": "hermes" } }),
    );
    let hermes = observation(&hermes);
    assert_eq!(
        (&hermes["observation"]["tool_name"], &hermes["observation"]["steps"]),
        (&json!("Get"), &json!(2))
    );
    let garbled = exchange(&mut socket, &json!({ "type": "step", "data": { "text": "no call here" } }));
    let garbled = observation(&garbled);
    assert_eq!(garbled["observation"]["parse_error"], true, "{garbled}");
    assert_eq!(garbled["observation"]["steps"], 2, "{garbled}");
    assert!(garbled["observation"].get("tool_name").is_none(), "{garbled}");

    // The `mcp` message: JSON-RPC on the socket's episode.
    let list = exchange(
        &mut socket,
        &json!({ "type": "mcp", "data": { "jsonrpc": "2.0", "id": "l", "method": "tools/list" } }),
    );
    assert_eq!((&list["type"], &list["data"]["id"]), (&json!("mcp"), &json!("l")), "{list}");
    assert!(list["data"]["result"]["tools"][0]["inputSchema"].is_object(), "{list}");
    let get = exchange(
        &mut socket,
        &json!({ "type": "mcp", "data": {
        "jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": { "name": "Get", "arguments": { "index": 0 } } } }),
    );
    assert_eq!(get["data"]["result"]["data"], hermes["observation"]["text"], "{get}");
    assert_eq!(get["data"]["result"]["content"][0]["type"], "text", "{get}");
    let state = exchange(&mut socket, &json!({ "type": "state" }));
    assert_eq!(state["data"]["step_count"], 3, "{state}");
    let own = state["data"]["session_id"].clone();
    let create = exchange(
        &mut socket,
        &json!({ "type": "mcp", "data": {
        "jsonrpc": "2.0", "id": 3, "method": "openenv/session/create" } }),
    );
    assert_eq!(create["data"]["result"]["session_id"], own, "{create}");
    let close = exchange(
        &mut socket,
        &json!({ "type": "mcp", "data": {
        "jsonrpc": "2.0", "id": 4, "method": "openenv/session/close", "params": { "session_id": own } } }),
    );
    assert_eq!(close["data"]["error"]["code"], -32600, "{close}");
    let unknown = exchange(
        &mut socket,
        &json!({ "type": "mcp", "data": { "jsonrpc": "2.0", "id": 5, "method": "resources/list" } }),
    );
    assert_eq!(unknown["data"]["error"]["code"], -32601, "{unknown}");
    let invalid = exchange(&mut socket, &json!({ "type": "mcp", "data": { "method": "tools/list" } }));
    assert_eq!(
        (&invalid["data"]["error"]["code"], &invalid["data"]["id"]),
        (&json!(-32600), &Value::Null),
        "{invalid}"
    );
}

#[test]
fn the_mcp_socket_holds_one_session_per_connection() {
    let server = TestServer::envs();
    let mut socket = connect_to(&server, "/openenv/binary-search/mcp");
    let rpc = |id: u32, method: &str, params: Value| json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params });
    let list = exchange(&mut socket, &rpc(1, "tools/list", json!({})));
    assert!(list["result"]["tools"].as_array().is_some_and(|tools| tools.len() >= 4), "{list}");
    assert!(server.text("/metrics").contains("codegym_sessions_live 0"), "listing makes no session");
    // The first call makes the connection's session, with the defaults.
    let length = exchange(&mut socket, &rpc(2, "tools/call", json!({ "name": "Length" })));
    assert_eq!((&length["id"], &length["result"]["is_error"]), (&json!(2), &json!(false)), "{length}");
    let created = exchange(&mut socket, &rpc(3, "openenv/session/create", json!({ "seed": 5 })));
    let session = created["result"]["session_id"].as_str().expect("the connection's session").to_owned();
    let (_, shown) = server.get(&format!("/v1/sessions/{session}"));
    assert_eq!(shown["steps"], 1, "the same session: {shown}");
    let own = exchange(&mut socket, &rpc(4, "openenv/session/close", json!({ "session_id": session })));
    assert_eq!(own["error"]["code"], -32600, "{own}");
    socket.send(Message::text("{")).expect("send");
    assert_eq!(receive(&mut socket)["error"]["code"], -32700);
    let invalid = exchange(&mut socket, &json!({ "id": 5, "method": "tools/list" }));
    assert_eq!(invalid["error"]["code"], -32600, "{invalid}");
    drop(socket);
    wait_for_status(&server, &format!("/v1/sessions/{session}"), 404);

    // A new connection, a new session: create's params are a reset's.
    let mut socket = connect_to(&server, "/openenv/binary-search/mcp");
    let created =
        exchange(&mut socket, &rpc(1, "openenv/session/create", json!({ "seed": 5, "difficulty": 20 })));
    let v1 = server.create(json!({ "env": "binary-search", "seed": 5, "difficulty": 20 }));
    assert_eq!(created["result"]["task"], v1["task"], "{created}");
    assert_ne!(created["result"]["session_id"], json!(session));
    let bad = exchange(&mut socket, &rpc(2, "openenv/session/create", json!({ "sed": 1 })));
    assert_eq!(bad["result"]["session_id"], created["result"]["session_id"], "already made: {bad}");

    let mut unknown = connect_to(&server, "/openenv/no-such-env/mcp");
    let refused = exchange(&mut unknown, &rpc(1, "tools/list", json!({})));
    assert_eq!(refused["error"]["code"], -32000, "{refused}");
    assert_eq!(server.get("/openenv/binary-search/mcp").0, 400, "a plain GET is no upgrade");
}

#[test]
fn bad_messages_get_openenv_errors_and_the_socket_stays_open() {
    let server = TestServer::envs();
    let mut socket = connect(&server, "binary-search");
    socket.send(Message::text("{\"type\": ")).expect("send");
    error(&receive(&mut socket), "INVALID_JSON");
    for (message, code) in [
        (json!([1, 2]), "VALIDATION_ERROR"),
        (json!({ "data": {} }), "UNKNOWN_TYPE"),
        (json!({ "type": "launch" }), "UNKNOWN_TYPE"),
        (json!({ "type": "reset", "data": { "sed": 1 } }), "VALIDATION_ERROR"),
        (json!({ "type": "reset", "data": { "difficulty": 101 } }), "VALIDATION_ERROR"),
        (json!({ "type": "reset", "data": { "seed": -1 } }), "VALIDATION_ERROR"),
        (json!({ "type": "reset", "data": {}, "extra": 1 }), "VALIDATION_ERROR"),
        (json!({ "type": "reset", "data": { "config": "{\"len\": 0}" } }), "EXECUTION_ERROR"),
        (json!({ "type": "step" }), "VALIDATION_ERROR"),
        (json!({ "type": "step", "data": {} }), "VALIDATION_ERROR"),
        (json!({ "type": "step", "data": { "name": "Get", "text": "both" } }), "VALIDATION_ERROR"),
        (json!({ "type": "step", "data": { "type": "teleport" } }), "VALIDATION_ERROR"),
        (json!({ "type": "step", "data": { "name": "Get", "arguments": [1] } }), "VALIDATION_ERROR"),
        (json!({ "type": "step", "data": { "text": "x", "format": "yaml" } }), "VALIDATION_ERROR"),
        (json!({ "type": "state", "data": {} }), "VALIDATION_ERROR"),
    ] {
        let reply = exchange(&mut socket, &message);
        assert_eq!(reply["data"]["code"], code, "{message} → {reply}");
        error(&reply, code);
    }
    // Still usable; a tool error is an observation, not a protocol error.
    let reset = exchange(&mut socket, &json!({ "type": "reset", "data": { "seed": 2 } }));
    assert_eq!(observation(&reset)["done"], false);
    let wrong = exchange(
        &mut socket,
        &json!({ "type": "step", "data": { "name": "Get", "arguments": { "index": "x" } } }),
    );
    let wrong = observation(&wrong);
    assert!(wrong["observation"]["text"].as_str().is_some_and(|text| text.starts_with("Error")), "{wrong}");
    let unknown =
        exchange(&mut socket, &json!({ "type": "step", "data": { "name": "Teleport", "arguments": "{}" } }));
    assert_eq!(observation(&unknown)["done"], false);
}

#[test]
fn an_unknown_environment_is_a_404_over_http_and_a_factory_error_over_the_socket() {
    let server = TestServer::envs();
    for path in ["health", "metadata", "schema", "openapi.json"] {
        let (status, body) = server.get(&format!("/openenv/no-such-env/{path}"));
        assert_eq!(status, 404, "{path}: {body}");
        assert!(body["detail"].as_str().is_some_and(|detail| detail.contains("no-such-env")), "{body}");
    }
    let (status, body) = server
        .post("/openenv/no-such-env/mcp", &json!({ "jsonrpc": "2.0", "method": "tools/list", "id": 1 }));
    assert_eq!(
        (status, &body["jsonrpc"], &body["error"]["code"]),
        (404, &json!("2.0"), &json!(-32000)),
        "{body}"
    );
    let mut socket = connect(&server, "no-such-env");
    for message in [json!({ "type": "reset" }), json!({ "type": "state" }), json!("not even an object")] {
        let refused = exchange(&mut socket, &message);
        assert_eq!(error(&refused, "FACTORY_ERROR")["factory_name"], "no-such-env", "{refused}");
    }
    socket.send(Message::text(json!({ "type": "close" }).to_string())).expect("send");
    assert!(closes(&mut socket));
    // A plain GET of the socket's path is no upgrade.
    assert_eq!(server.get("/openenv/binary-search/ws").0, 400);
    assert_eq!(server.get("/openenv/no-such-env/ws").0, 404);
}

#[test]
fn the_http_endpoints_answer_as_openenv_validate_expects() {
    let server = TestServer::envs();
    let base = "/openenv/binary-search";
    assert_eq!(server.get(&format!("{base}/health")), (200, json!({ "status": "healthy" })));
    let (status, metadata) = server.get(&format!("{base}/metadata"));
    assert_eq!(status, 200);
    assert_eq!(metadata["name"], "binary-search");
    assert!(metadata["description"].as_str().is_some_and(|text| !text.is_empty()), "{metadata}");
    assert!(
        metadata["readme_content"].as_str().is_some_and(|text| text.contains("`Midpoint`")),
        "{metadata}"
    );
    let (status, schema) = server.get(&format!("{base}/schema"));
    assert_eq!(status, 200);
    for part in ["action", "observation", "state"] {
        assert!(schema[part].is_object(), "{part}: {schema}");
    }
    let (status, openapi) = server.get(&format!("{base}/openapi.json"));
    assert_eq!(status, 200);
    assert!(
        openapi["info"]["version"].as_str().is_some_and(|version| version.starts_with("1.")),
        "{openapi}"
    );
    let paths = openapi["paths"].as_object().expect("paths");
    assert!(paths.contains_key("/ws") && paths.contains_key("/mcp"), "{openapi}");
    assert!(!paths.contains_key("/reset") && !paths.contains_key("/step") && !paths.contains_key("/state"));

    // POST /mcp: always a JSON-RPC reply with 200, as OpenEnv answers.
    let mcp = |body: &Value| {
        let (status, reply) = server.post(&format!("{base}/mcp"), body);
        assert_eq!((status, &reply["jsonrpc"]), (200, &json!("2.0")), "{body} → {reply}");
        reply
    };
    assert_eq!(mcp(&json!({}))["error"]["code"], -32600);
    let (status, parse) = server.post_raw(&format!("{base}/mcp"), "application/json", b"{");
    assert_eq!((status, &parse["error"]["code"]), (200, &json!(-32700)), "{parse}");
    let list = mcp(&json!({ "jsonrpc": "2.0", "id": 1, "method": "tools/list" }));
    assert_eq!(list["id"], 1);
    let names: Vec<&str> = list["result"]["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .map(|tool| tool["name"].as_str().expect("name"))
        .collect();
    assert!(names.contains(&"Get") && names.contains(&"Done"), "{names:?}");
    let call = json!({ "jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": { "name": "Length" } });
    assert_eq!(mcp(&call)["error"]["code"], -32602, "tools/call needs a session");
    let created = mcp(
        &json!({ "jsonrpc": "2.0", "id": 3, "method": "openenv/session/create", "params": { "seed": 4 } }),
    );
    let session = created["result"]["session_id"].as_str().expect("a session").to_owned();
    let v1 = server.create(json!({ "env": "binary-search", "seed": 4 }));
    assert_eq!(created["result"]["task"], v1["task"], "{created}");
    let length = mcp(&json!({ "jsonrpc": "2.0", "id": 4, "method": "tools/call",
        "params": { "name": "Length", "arguments": {}, "session_id": session } }));
    assert_eq!(length["result"]["is_error"], false, "{length}");
    let reply = server.step(v1["session_id"].as_str().expect("id"), "Length", "{}");
    assert_eq!(length["result"]["data"], reply["observation"], "{length}");
    let (_, shown) = server.get(&format!("/v1/sessions/{session}"));
    assert_eq!(shown["steps"], 1, "{shown}");
    let closed = mcp(
        &json!({ "jsonrpc": "2.0", "id": 5, "method": "openenv/session/close", "params": { "session_id": session } }),
    );
    assert_eq!(closed["result"], json!({ "session_id": session, "closed": true }));
    assert_eq!(server.get(&format!("/v1/sessions/{session}")).0, 404);
    let again = mcp(
        &json!({ "jsonrpc": "2.0", "id": 6, "method": "openenv/session/close", "params": { "session_id": session } }),
    );
    assert_eq!(again["error"]["code"], -32602, "{again}");
    // A session of another environment is not this one's.
    let other = server.create(json!({ "env": "two-sum" }));
    let foreign = mcp(&json!({ "jsonrpc": "2.0", "id": 7, "method": "tools/call",
        "params": { "name": "Length", "session_id": other["session_id"] } }));
    assert_eq!(foreign["error"]["code"], -32602, "{foreign}");
    assert_eq!(mcp(&json!({ "jsonrpc": "2.0", "id": 8, "method": "nope" }))["error"]["code"], -32601);
    assert_eq!(mcp(&json!({ "jsonrpc": "1.0", "id": 9, "method": "tools/list" }))["error"]["code"], -32600);
}

/// Lock-step steps over one OpenEnv socket (as OpenEnv's clients step), printed, never
/// asserted: run with `--nocapture` to see it.
#[test]
fn lock_step_latency_over_one_socket_is_reported() {
    const STEPS: usize = 2000;
    let server = TestServer::envs();
    let mut socket = connect(&server, "binary-search");
    let limits = json!({ "max_steps": 100_000 });
    let reset = exchange(&mut socket, &json!({ "type": "reset", "data": { "limits": limits } }));
    assert_eq!(observation(&reset)["done"], false);
    let step = json!({ "type": "step", "data": { "name": "Observe" } }).to_string();
    let mut latencies = Vec::with_capacity(STEPS);
    for _ in 0..STEPS {
        let start = std::time::Instant::now();
        socket.send(Message::text(step.clone())).expect("send");
        let reply = receive(&mut socket);
        latencies.push(start.elapsed());
        assert_eq!(reply["type"], "observation", "{reply}");
    }
    latencies.sort();
    let total: Duration = latencies.iter().sum();
    let rate = STEPS as f64 / total.as_secs_f64();
    let (p50, p99) = (latencies[STEPS / 2], latencies[STEPS * 99 / 100]);
    println!("OpenEnv socket, lock-step: {rate:.0} steps/s, p50 {p50:?}, p99 {p99:?}");
}

/// A server that stops closes its sockets, and with them their sessions: nothing of them is
/// restored from the data directory. (A `/v1` session is.)
#[test]
fn stopping_the_server_deletes_the_sessions_its_sockets_held() {
    let data = tempfile::tempdir().expect("temp dir");
    let start = || {
        let dir = data.path().to_owned();
        TestServer::start(&components("envs"), move |config| config.data_dir = Some(dir))
    };
    let v1 = {
        let server = start();
        let v1 = server.create(json!({ "env": "binary-search" }));
        let mut socket = connect(&server, "binary-search");
        let reset = exchange(&mut socket, &json!({ "type": "reset" }));
        assert_eq!(observation(&reset)["done"], false);
        let mut mcp = connect_to(&server, "/openenv/binary-search/mcp");
        let created =
            exchange(&mut mcp, &json!({ "jsonrpc": "2.0", "id": 1, "method": "openenv/session/create" }));
        assert!(created["result"]["session_id"].is_string(), "{created}");
        assert!(server.text("/metrics").contains("codegym_sessions_live 3"));
        drop(server);
        drop((socket, mcp));
        v1
    };
    let server = start();
    assert_eq!(server.restored.restored, 1, "only the /v1 session: {:?}", server.restored);
    assert_eq!(server.get(&format!("/v1/sessions/{}", v1["session_id"].as_str().expect("id"))).0, 200);
}
