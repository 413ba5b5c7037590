//! `codegym mcp` over stdio, driven with newline-delimited JSON-RPC as an MCP client sends
//! it: the task as instructions, the tools with their schemas, then a transcript of calls on
//! the `hostile` test environment (each fault an error result and a rollback) through `Done`.

use std::io::{BufRead, BufReader, Write};
use std::process::{ChildStdin, ChildStdout, Stdio};

use serde_json::{Value, json};

use crate::{Cli, workspace};

/// One line of a transcript: a tool call and what its result must be.
struct Expect {
    tool: &'static str,
    arguments: Value,
    is_error: bool,
    /// Text the result's first content block contains.
    text: &'static str,
}

const fn expect(tool: &'static str, is_error: bool, text: &'static str) -> Expect {
    Expect { tool, arguments: Value::Null, is_error, text }
}

/// An MCP client's side of a `codegym mcp` over stdio.
struct Client {
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    next_id: u64,
}

impl Client {
    fn send(&mut self, message: &Value) {
        writeln!(self.stdin, "{message}").expect("write stdin");
    }

    /// Send request `method` and return its result, read from stdout (skipping any
    /// notifications); a JSON-RPC error fails the test.
    fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(&json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        loop {
            let mut line = String::new();
            let read = self.stdout.read_line(&mut line).expect("read stdout");
            assert!(read > 0, "the server closed stdout before answering {method}");
            let message: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
            if message["id"] == id {
                assert!(message.get("error").is_none(), "{method}: {message}");
                return message["result"].clone();
            }
        }
    }
}

#[test]
fn mcp_over_stdio_steps_the_episode_to_done() {
    let cli = Cli::new();
    let mut child = cli
        .command(&["mcp", "hostile", "--seed", "3"])
        .arg("--env-dir")
        .arg(workspace().join("target/test-envs"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn codegym mcp");
    let mut client = Client {
        stdin: child.stdin.take().expect("stdin"),
        stdout: BufReader::new(child.stdout.take().expect("stdout")),
        next_id: 0,
    };

    let init = client.request(
        "initialize",
        json!({
            "protocolVersion": "2025-06-18",
            "capabilities": {},
            "clientInfo": { "name": "codegym-test", "version": "0" },
        }),
    );
    assert_eq!(init["protocolVersion"], "2025-06-18", "{init}");
    assert_eq!(init["serverInfo"]["name"], "codegym-hostile", "{init}");
    assert_eq!(init["instructions"], "Call Count some times, then Done with the count.", "{init}");
    assert!(init["capabilities"]["tools"].is_object(), "{init}");
    // The `initialized` notification has no reply; the next request finds it read.
    client.send(&json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }));
    let tools = client.request("tools/list", json!({}));
    let names: Vec<&str> =
        tools["tools"].as_array().expect("tools").iter().filter_map(|t| t["name"].as_str()).collect();
    for name in ["Count", "Spin", "Grow", "Panic", "Done"] {
        assert!(names.contains(&name), "{name} missing from {names:?}");
    }
    let recurse =
        tools["tools"].as_array().expect("tools").iter().find(|t| t["name"] == "Recurse").expect("Recurse");
    assert_eq!(recurse["inputSchema"]["type"], "object", "{recurse}");
    assert!(recurse["inputSchema"]["properties"]["depth"].is_object(), "{recurse}");

    let transcript = [
        expect("Count", false, "count = 1"),
        expect("Spin", true, "Error: the tool call ran out of fuel. The call was rolled back"),
        expect("Grow", true, "Error: the tool call exceeded the memory limit. The call was rolled back"),
        expect("Panic", true, "Error: the environment crashed while running the tool call."),
        expect("Teleport", true, "Error: unknown tool `Teleport`"),
        Expect {
            arguments: json!({ "depth": "deep" }),
            ..expect("Recurse", true, "Error: invalid arguments for Recurse")
        },
        expect("Count", false, "count = 2"),
        Expect { arguments: json!({ "answer": 2 }), ..expect("Done", false, "Result: correct") },
        expect("Count", true, "Error: the episode is over"),
    ];
    for (index, step) in transcript.iter().enumerate() {
        let mut params = json!({ "name": step.tool });
        if !step.arguments.is_null() {
            params["arguments"] = step.arguments.clone();
        }
        let result = client.request("tools/call", params);
        let text = result["content"][0]["text"].as_str().unwrap_or_default();
        assert_eq!(result["isError"], step.is_error, "step {index} {}: {result}", step.tool);
        assert!(text.contains(step.text), "step {index} {}: {text:?}", step.tool);
        let over = index >= 7;
        assert_eq!(result["structuredContent"].is_object(), over, "step {index}: {result}");
        if over {
            let structured = &result["structuredContent"];
            assert_eq!((&structured["reward"], &structured["done"]), (&json!(1.0), &json!(true)), "{result}");
            assert_eq!(structured["outcome"], "solved", "{result}");
            assert!(
                result["content"][1]["text"].as_str().is_some_and(|t| t.contains("reward 1")),
                "{result}"
            );
        }
    }
    drop(client);
    let output = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{}: {stderr}", output.status);
    assert!(stderr.contains("episode over: solved, reward 1, 8 steps"), "{stderr}");
}
