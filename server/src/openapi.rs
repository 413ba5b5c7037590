//! `GET /openapi.json`: an OpenAPI 3.1 description of every route in [`crate::ROUTES`]
//! (a test checks that the two agree).

use serde_json::{Value, json};

/// A `$ref` to a schema of `components.schemas`.
fn schema(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// A JSON body of the given schema.
fn body(schema: Value) -> Value {
    json!({ "content": { "application/json": { "schema": schema } } })
}

/// A reply with a JSON body.
fn reply(description: &str, schema: Value) -> Value {
    let mut reply = body(schema);
    reply["description"] = json!(description);
    reply
}

/// The JSON error reply, for each given status.
fn errors(statuses: &[(&str, &str)]) -> Vec<(String, Value)> {
    statuses.iter().map(|(status, why)| ((*status).to_owned(), reply(why, schema("Error")))).collect()
}

/// An operation with a success reply and its error replies.
fn operation(summary: &str, ok: (&str, Value), failures: &[(&str, &str)]) -> Value {
    let mut responses = serde_json::Map::new();
    responses.insert(ok.0.to_owned(), ok.1);
    responses.extend(errors(failures));
    json!({ "summary": summary, "responses": responses })
}

fn path_parameter(name: &str, description: &str) -> Value {
    json!([{ "name": name, "in": "path", "required": true, "description": description,
             "schema": { "type": "string" } }])
}

const BAD_BODY: (&str, &str) = ("400", "malformed JSON or an invalid request");
const TOO_LARGE: (&str, &str) = ("413", "the body is over the server's limit");
const WRONG_SHAPE: (&str, &str) = ("422", "the body does not have the request's shape");
const NO_SESSION: (&str, &str) = ("404", "unknown session (it may have expired or been deleted)");
const FULL: (&str, &str) = ("429", "the server holds its maximum of sessions");
const UNSTORED: (&str, &str) = ("503", "the change could not be made durable");

/// How session ids are written (`state::format_id`).
const SESSION_ID: &str = "a session id: 16 lowercase hex digits, or `NAME-<16 hex digits>` on a server run as \
    replica NAME (`--replica`), whose prefix a proxy routes by; an id of another replica is unknown (404)";

fn paths() -> Value {
    let session_id = path_parameter("id", SESSION_ID);
    let created = ("201", reply("the new session", schema("SessionCreated")));
    let mut create = operation(
        "Start a session of an environment",
        created.clone(),
        &[BAD_BODY, ("404", "unknown environment"), TOO_LARGE, WRONG_SHAPE, FULL, UNSTORED],
    );
    create["requestBody"] = body(schema("CreateRequest"));
    let mut step = operation(
        "Step a session with a tool call or raw model output",
        ("200", reply("the step's result, once durable", schema("StepReply"))),
        &[BAD_BODY, NO_SESSION, TOO_LARGE, WRONG_SHAPE, UNSTORED],
    );
    step["requestBody"] = body(schema("StepRequest"));
    let mut batch = operation(
        "Step many sessions; each item succeeds or fails alone",
        ("200", reply("one result per step, in order", schema("BatchReply"))),
        &[BAD_BODY, TOO_LARGE, WRONG_SHAPE],
    );
    batch["requestBody"] = body(schema("BatchRequest"));
    let text = json!({ "content": { "text/plain": { "schema": { "type": "string" } } } });
    let mut paths = json!({
        "/healthz": { "get": operation("Liveness", ("200", reply("up", json!({ "type": "object" }))), &[]) },
        "/metrics": { "get": {
            "summary": "Prometheus metrics: live sessions, steps, faults, step latency histogram",
            "responses": { "200": { "description": "the Prometheus text format", "content": text["content"] } },
        } },
        "/openapi.json": { "get": operation("This document", ("200", reply("OpenAPI 3.1", json!({ "type": "object" }))), &[]) },
        "/v1/envs": { "get": operation(
            "The environments, in short",
            ("200", reply("every environment", json!({ "type": "array", "items": schema("EnvSummary") }))),
            &[],
        ) },
        "/v1/envs/{name}": {
            "parameters": path_parameter("name", "an environment's name"),
            "get": operation(
                "One environment: info, component hash and tool schemas",
                ("200", reply("the environment", schema("Env"))),
                &[("404", "unknown environment")],
            ),
        },
        "/v1/sessions": { "post": create },
        "/v1/sessions/{id}": {
            "parameters": session_id,
            "get": operation(
                "A session's status, outcome, counters, limits and action log",
                ("200", reply("the session", schema("Session"))),
                &[NO_SESSION],
            ),
            "delete": operation(
                "Delete a session",
                ("200", reply("deleted", json!({ "type": "object", "properties": { "deleted": { "type": "string" } } }))),
                &[NO_SESSION, UNSTORED],
            ),
        },
        "/v1/sessions/{id}/step": { "parameters": session_id, "post": step },
        "/v1/sessions/{id}/fork": {
            "parameters": session_id,
            "post": operation("An independent copy of a session", created, &[NO_SESSION, FULL, UNSTORED]),
        },
        "/v1/step": { "post": batch },
        "/v1/ws": { "get": {
            "summary": "The API over a WebSocket, pipelined",
            "description": "Upgrade to a WebSocket. Each text message is a `WsRequest`, each reply a \
                `WsReply` with the request's `id`. Requests are applied in the order they arrive; replies \
                may come out of order (a step's waits for its commit), so match them by `id`.",
            "responses": {
                "101": { "description": "switching to the WebSocket protocol",
                         "content": { "application/json": { "schema": schema("WsRequest") } } },
                "400": reply("not a WebSocket upgrade", schema("Error")),
            },
        } },
    });
    if let (Some(paths), Value::Object(openenv)) = (paths.as_object_mut(), openenv_paths()) {
        paths.extend(openenv);
    }
    paths
}

/// The OpenEnv protocol's routes (`openenv/`): each environment at `/openenv/{name}/`.
fn openenv_paths() -> Value {
    let name = path_parameter("name", "an environment's name");
    let unknown = json!({ "404": reply("unknown environment", schema("OpenEnvError")) });
    let get = |summary: &str, ok: &str| {
        let mut responses = unknown.clone();
        responses["200"] = reply(ok, json!({ "type": "object" }));
        json!({ "parameters": name, "get": { "summary": summary, "responses": responses } })
    };
    let mut ws_responses = unknown.clone();
    ws_responses["101"] = json!({ "description": "switching to the WebSocket protocol" });
    ws_responses["400"] = reply("not a WebSocket upgrade", schema("OpenEnvError"));
    let mut mcp_responses = unknown.clone();
    mcp_responses["200"] = reply("a JSON-RPC 2.0 reply (errors too)", json!({ "type": "object" }));
    json!({
        "/openenv/{name}/health": get("OpenEnv: health check", "`{\"status\": \"healthy\"}`"),
        "/openenv/{name}/metadata": get("OpenEnv: the environment's metadata", "OpenEnv's EnvironmentMetadata"),
        "/openenv/{name}/schema": get("OpenEnv: action, observation and state schemas", "OpenEnv's SchemaResponse"),
        "/openenv/{name}/openapi.json": get("OpenEnv: the routes under this base URL", "OpenAPI 3.1 (info.version: the OpenEnv HTTP API, 1.x)"),
        "/openenv/{name}/mcp": { "parameters": name,
            "post": {
                "summary": "OpenEnv's MCP JSON-RPC: tools/list, tools/call (params.session_id), openenv/session/create, openenv/session/close",
                "requestBody": body(json!({ "type": "object", "description": "a JSON-RPC 2.0 request" })),
                "responses": mcp_responses,
            },
            "get": {
                "summary": "OpenEnv's MCP JSON-RPC over a WebSocket: one request per message, one session per socket",
                "responses": ws_responses.clone(),
            },
        },
        "/openenv/{name}/ws": { "parameters": name, "get": {
            "summary": "OpenEnv's WebSocket: one episode per socket",
            "description": "Messages `{\"type\": \"reset\" | \"step\" | \"state\" | \"close\" | \"mcp\", \"data\"}`, \
                answered in order with `observation`, `state`, `mcp` or `error` (`{message, code}`) messages as \
                `openenv-core` defines them. The session is deleted when the socket closes.",
            "responses": ws_responses,
        } },
    })
}

fn schemas() -> Value {
    let object = |properties: Value, required: &[&str]| json!({ "type": "object", "properties": properties, "required": required });
    let string = json!({ "type": "string" });
    let tool = object(
        json!({ "name": string, "description": string, "parameters": { "description": "the tool's JSON Schema" } }),
        &["name", "description", "parameters"],
    );
    let step = json!({
        "name": { "type": "string", "description": "a tool's name (with `arguments`)" },
        "arguments": { "description": "a JSON object or its text; `{}` when absent" },
        "text": { "type": "string", "description": "raw model output to parse (instead of `name`)" },
        "format": { "enum": ["codegym", "hermes", "openai-tools"], "description": "how `text` is written" },
    });
    let session_id = json!({ "type": "string", "description": SESSION_ID });
    let mut session_step = step.clone();
    session_step["session_id"] = session_id.clone();
    json!({
        "Error": object(json!({ "error": { "type": "string" } }), &["error"]),
        "OpenEnvError": object(json!({ "detail": { "type": "string" } }), &["detail"]),
        "EnvSummary": object(json!({
            "name": string, "version": string, "category": string, "description": string,
            "tools": { "type": "integer", "description": "how many tools" },
            "error": { "type": "string", "description": "why the component did not load" },
        }), &["name"]),
        "Env": object(json!({
            "name": string, "version": string, "category": string, "description": string,
            "hash": { "type": "string", "description": "blake3 of the component" },
            "tools": { "type": "array", "items": schema("Tool") },
        }), &["name", "hash", "tools"]),
        "Tool": tool,
        "CreateRequest": {
            "type": "object",
            "properties": {
                "env": string,
                "seed": { "type": "integer", "minimum": 0, "description": "0 when absent" },
                "difficulty": { "type": "integer", "minimum": 0, "maximum": 100, "description": "50 when absent" },
                "config": { "description": "a task configuration (object or text); sampled when absent" },
                "limits": { "type": "object", "description": "limits to tighten (never loosen)" },
            },
            "required": ["env"],
            "additionalProperties": false,
        },
        "SessionCreated": object(json!({
            "session_id": session_id, "env": string, "task": string, "config": string,
            "steps": { "type": "integer" }, "tools": { "type": "array", "items": schema("Tool") },
        }), &["session_id", "env", "task", "config", "steps", "tools"]),
        "StepRequest": {
            "description": "either `name` (+ `arguments`) or `text` (+ `format`)",
            "type": "object", "properties": step, "additionalProperties": false,
        },
        "StepReply": object(json!({
            "observation": string,
            "reward": { "type": "number" },
            "done": { "type": "boolean" },
            "steps": { "type": "integer" },
            "fault": { "type": "string", "description": "present when the environment faulted" },
            "outcome": {
                "description": "present once `done`: how the episode ended",
                "type": "object",
                "properties": {
                    "kind": { "enum": ["solved", "wrong_answer", "step_limit", "abandoned", "fault"] },
                    "fault": { "type": "string", "description": "the fault, when `kind` is `fault`" },
                },
                "required": ["kind"],
            },
            "parse_error": { "type": "boolean", "description": "present (true) when `text` held no valid call" },
        }), &["observation", "reward", "done", "steps"]),
        "BatchRequest": object(json!({
            "steps": { "type": "array", "items": object(session_step.clone(), &["session_id"]) },
        }), &["steps"]),
        "BatchReply": object(json!({
            "results": { "type": "array", "items": { "oneOf": [
                { "allOf": [schema("StepReply"), object(json!({ "session_id": string }), &["session_id"])] },
                object(json!({ "session_id": string, "status": { "type": "integer" }, "error": string }), &["status", "error"]),
            ] } },
        }), &["results"]),
        "Session": object(json!({
            "session_id": session_id, "env": string,
            "created_ms": { "type": "integer", "description": "Unix time in milliseconds" },
            "status": { "enum": ["active", "done"] },
            "outcome": { "description": "how the episode ended (null while active)" },
            "steps": { "type": "integer" }, "faults": { "type": "integer" },
            "reward": { "type": "number" }, "fuel_used": { "type": "integer" },
            "limits": { "type": "object" },
            "log": { "type": "object", "description": "the action log: config and calls" },
        }), &["session_id", "env", "status", "steps", "log"]),
        "WsRequest": {
            "description": "one request over `/v1/ws`: `create` takes a CreateRequest's fields, `step` a \
                StepRequest's and `session_id`, `batch` a BatchRequest's, `fork`/`get`/`delete` a \
                `session_id`, `envs` an optional `name`",
            "type": "object",
            "properties": {
                "id": { "description": "any JSON, echoed in the reply" },
                "op": { "enum": ["create", "step", "batch", "fork", "get", "delete", "envs"] },
                "session_id": string,
                "name": string,
            },
            "required": ["op"],
        },
        "WsReply": {
            "oneOf": [
                object(json!({ "id": {}, "ok": { "const": true }, "result": { "description": "the HTTP reply's body" } }),
                    &["id", "ok", "result"]),
                object(json!({ "id": {}, "ok": { "const": false },
                    "status": { "type": "integer", "description": "the HTTP status the error would have" },
                    "error": string }), &["id", "ok", "status", "error"]),
            ],
        },
    })
}

/// The whole document.
pub(crate) fn document() -> Value {
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "CodeGym-rs rollout server",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Environment sessions for RL rollouts. Every error is a JSON `Error` with a \
                4xx (or 503 when a change cannot be stored); a step is acknowledged only once durable.",
        },
        "paths": paths(),
        "components": { "schemas": schemas() },
    })
}
