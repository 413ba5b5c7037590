//! Malformed model output and the exact error observation the agent sees for it.

use codegym_core::{ActionFormat, parse_action};
use expect_test::{Expect, expect};

/// Parses each input and lists the input with its call or its error observation.
fn check(format: ActionFormat, inputs: &[&str], expect: Expect) {
    let mut out = String::new();
    for input in inputs {
        let result = match parse_action(input, format) {
            Ok(call) => format!("ok: {call}"),
            Err(err) => err.to_observation(),
        };
        out.push_str(&format!("{input}\n  => {result}\n"));
    }
    expect.assert_eq(&out);
}

#[test]
fn codegym() {
    check(
        ActionFormat::CodeGym,
        &[
            r#"I think I should add the numbers."#,
            r#"<tool_call>{"name":"Add","arguments":{"a":1}}</tool_call>"#,
            r#"<|FunctionCallBegin|>[{"name":"Add","parameters":{"a":1}}]"#,
            r#"<|FunctionCallBegin|>[{"name":"Add","parameters":{"a":1}}] ok<|FunctionCallEnd|>"#,
            r#"<|FunctionCallBegin|>[{"name":"Add","parameters":{"a":1,}}]<|FunctionCallEnd|>"#,
            r#"<|FunctionCallBegin|>[{"name":"Add","parameters":{"a":1"#,
            r#"<|FunctionCallBegin|>[{"name":"Add"},{"name":"Observe"}]<|FunctionCallEnd|>"#,
            r#"<|FunctionCallBegin|>[{"name":"Add"}]<|FunctionCallEnd|> <|FunctionCallBegin|>[{"name":"Observe"}]<|FunctionCallEnd|>"#,
            r#"<|FunctionCallBegin|>[]<|FunctionCallEnd|>"#,
            r#"<|FunctionCallBegin|>{"name":"Add"}<|FunctionCallEnd|>"#,
            r#"<|FunctionCallBegin|>["Add"]<|FunctionCallEnd|>"#,
            r#"<|FunctionCallBegin|>[{"name":"","parameters":{}}]<|FunctionCallEnd|>"#,
            r#"<|FunctionCallBegin|>[{"parameters":{"a":1}}]<|FunctionCallEnd|>"#,
            r#"<|FunctionCallBegin|>[{"name":"Add","parameters":[1,2]}]<|FunctionCallEnd|>"#,
            r#"<|FunctionCallBegin|>[{"name":"Add","parameters":"{\"a\":"}]<|FunctionCallEnd|>"#,
            r#"Calls start with <|FunctionCallBegin|>. <|FunctionCallBegin|>[{"name":"Observe"}]<|FunctionCallEnd|>"#,
            r#"<|FunctionCallBegin|>[{"name":"Say","parameters":{"text":"]<|FunctionCallEnd|>"}}]<|FunctionCallEnd|>"#,
        ],
        expect![[r#"
            I think I should add the numbers.
              => Error: no tool call found; make exactly one tool call, written as <|FunctionCallBegin|>[{"name": "ToolName", "parameters": {"arg": "value"}}]<|FunctionCallEnd|>
            <tool_call>{"name":"Add","arguments":{"a":1}}</tool_call>
              => Error: no tool call found; make exactly one tool call, written as <|FunctionCallBegin|>[{"name": "ToolName", "parameters": {"arg": "value"}}]<|FunctionCallEnd|>
            <|FunctionCallBegin|>[{"name":"Add","parameters":{"a":1}}]
              => Error: the tool call must end with <|FunctionCallEnd|> right after its JSON
            <|FunctionCallBegin|>[{"name":"Add","parameters":{"a":1}}] ok<|FunctionCallEnd|>
              => Error: the tool call must end with <|FunctionCallEnd|> right after its JSON
            <|FunctionCallBegin|>[{"name":"Add","parameters":{"a":1,}}]<|FunctionCallEnd|>
              => Error: the tool call is not valid JSON (trailing comma at line 1 column 36)
            <|FunctionCallBegin|>[{"name":"Add","parameters":{"a":1
              => Error: the tool call is not valid JSON (EOF while parsing an object at line 1 column 34)
            <|FunctionCallBegin|>[{"name":"Add"},{"name":"Observe"}]<|FunctionCallEnd|>
              => Error: found 2 tool calls, but only one is allowed per turn; make one call and wait for its result
            <|FunctionCallBegin|>[{"name":"Add"}]<|FunctionCallEnd|> <|FunctionCallBegin|>[{"name":"Observe"}]<|FunctionCallEnd|>
              => Error: found 2 tool calls, but only one is allowed per turn; make one call and wait for its result
            <|FunctionCallBegin|>[]<|FunctionCallEnd|>
              => Error: no tool call found; make exactly one tool call, written as <|FunctionCallBegin|>[{"name": "ToolName", "parameters": {"arg": "value"}}]<|FunctionCallEnd|>
            <|FunctionCallBegin|>{"name":"Add"}<|FunctionCallEnd|>
              => Error: expected a tool call written as <|FunctionCallBegin|>[{"name": "ToolName", "parameters": {"arg": "value"}}]<|FunctionCallEnd|>, but found an object
            <|FunctionCallBegin|>["Add"]<|FunctionCallEnd|>
              => Error: expected a tool call written as <|FunctionCallBegin|>[{"name": "ToolName", "parameters": {"arg": "value"}}]<|FunctionCallEnd|>, but found a string
            <|FunctionCallBegin|>[{"name":"","parameters":{}}]<|FunctionCallEnd|>
              => Error: the tool call needs a "name" field holding the tool name as a non-empty string
            <|FunctionCallBegin|>[{"parameters":{"a":1}}]<|FunctionCallEnd|>
              => Error: the tool call needs a "name" field holding the tool name as a non-empty string
            <|FunctionCallBegin|>[{"name":"Add","parameters":[1,2]}]<|FunctionCallEnd|>
              => Error: the tool arguments must be a JSON object such as {"arg": "value"}, not a list
            <|FunctionCallBegin|>[{"name":"Add","parameters":"{\"a\":"}]<|FunctionCallEnd|>
              => Error: the arguments string is not valid JSON (EOF while parsing a value at line 1 column 5); it must encode a JSON object such as {"arg": "value"}
            Calls start with <|FunctionCallBegin|>. <|FunctionCallBegin|>[{"name":"Observe"}]<|FunctionCallEnd|>
              => ok: Observe {}
            <|FunctionCallBegin|>[{"name":"Say","parameters":{"text":"]<|FunctionCallEnd|>"}}]<|FunctionCallEnd|>
              => ok: Say {"text":"]<|FunctionCallEnd|>"}
        "#]],
    );
}

#[test]
fn hermes() {
    check(
        ActionFormat::Hermes,
        &[
            r#"Let me think about it."#,
            r#"<tool_call>{"name":"Add","arguments":{"a":1}}"#,
            r#"<tool_call>{"name":"Add","arguments":{"a":1}}</tool_call><tool_call>{"name":"Add"}</tool_call>"#,
            r#"<tool_call>{"name":"Add","arguments":[1]}</tool_call>"#,
            r#"<tool_call>{"name":"Add","arguments":"[1]"}</tool_call>"#,
            r#"<tool_call>[{"name":"Add"}]</tool_call>"#,
            r#"<tool_call>{"name":5}</tool_call>"#,
            r#"<tool_call>{'name': 'Add'}</tool_call>"#,
            r#"<tool_call>{"name":"Add","arguments":"{\"b\": 2, \"a\": 1}"}</tool_call>"#,
            r#"<tool_call>{"name":"Add","parameters":{"a":1}}</tool_call>"#,
            r#"<tool_call>{"name":"Say","arguments":{"text":"</tool_call>"}}</tool_call>"#,
        ],
        expect![[r#"
            Let me think about it.
              => Error: no tool call found; make exactly one tool call, written as <tool_call>{"name": "ToolName", "arguments": {"arg": "value"}}</tool_call>
            <tool_call>{"name":"Add","arguments":{"a":1}}
              => Error: the tool call must end with </tool_call> right after its JSON
            <tool_call>{"name":"Add","arguments":{"a":1}}</tool_call><tool_call>{"name":"Add"}</tool_call>
              => Error: found 2 tool calls, but only one is allowed per turn; make one call and wait for its result
            <tool_call>{"name":"Add","arguments":[1]}</tool_call>
              => Error: the tool arguments must be a JSON object such as {"arg": "value"}, not a list
            <tool_call>{"name":"Add","arguments":"[1]"}</tool_call>
              => Error: the tool arguments must be a JSON object such as {"arg": "value"}, not a list
            <tool_call>[{"name":"Add"}]</tool_call>
              => Error: expected a tool call written as <tool_call>{"name": "ToolName", "arguments": {"arg": "value"}}</tool_call>, but found a list
            <tool_call>{"name":5}</tool_call>
              => Error: the tool call needs a "name" field holding the tool name as a non-empty string
            <tool_call>{'name': 'Add'}</tool_call>
              => Error: the tool call is not valid JSON (key must be a string at line 1 column 2)
            <tool_call>{"name":"Add","arguments":"{\"b\": 2, \"a\": 1}"}</tool_call>
              => ok: Add {"a":1,"b":2}
            <tool_call>{"name":"Add","parameters":{"a":1}}</tool_call>
              => ok: Add {"a":1}
            <tool_call>{"name":"Say","arguments":{"text":"</tool_call>"}}</tool_call>
              => ok: Say {"text":"</tool_call>"}
        "#]],
    );
}

#[test]
fn openai_tools() {
    check(
        ActionFormat::OpenAiTools,
        &[
            r#"I am not sure yet."#,
            r#"{"role":"assistant","content":"I am done"}"#,
            r#"{"role":"assistant","content":null,"tool_calls":[]}"#,
            r#"{"tool_calls":[{"type":"function","function":{"name":"Add","arguments":"{}"}},{"type":"function","function":{"name":"Observe","arguments":"{}"}}]}"#,
            r#"{"tool_calls":[{"type":"function","function":{"name":"Add","arguments":"{}"}}]} {"tool_calls":[]}"#,
            r#"{"tool_calls":[{"type":"function","function":{"name":"Add","arguments":"{\"a\":"}}]}"#,
            r#"{"tool_calls":[{"type":"function","function":{"name":"Add","arguments":"[1]"}}]}"#,
            r#"{"tool_calls":{"name":"Add"}}"#,
            r#"{"tool_calls":[{"type":"function","function":{"name":"Add","arguments":"{}"}}]"#,
            r#"{"foo":1}"#,
            r#"[{"type":"function","function":{"arguments":"{}"}}]"#,
            r#"[{"type":"function","function":"Add"}]"#,
            r#"{"name":"Add","arguments":{"a":1}}"#,
            r#"{"role":"assistant","function_call":{"name":"Add","arguments":"{\"a\":1}"}}"#,
            r#"Calling: {"function":{"name":"Add","arguments":{"b":2,"a":1}}} (done)"#,
            r#"The array is [3, 5, 7], so I compare `a[i] < a[j]` next."#,
        ],
        expect![[r#"
            I am not sure yet.
              => Error: no tool call found; make exactly one tool call, written as {"tool_calls": [{"type": "function", "function": {"name": "ToolName", "arguments": "{\"arg\": \"value\"}"}}]}
            {"role":"assistant","content":"I am done"}
              => Error: no tool call found; make exactly one tool call, written as {"tool_calls": [{"type": "function", "function": {"name": "ToolName", "arguments": "{\"arg\": \"value\"}"}}]}
            {"role":"assistant","content":null,"tool_calls":[]}
              => Error: no tool call found; make exactly one tool call, written as {"tool_calls": [{"type": "function", "function": {"name": "ToolName", "arguments": "{\"arg\": \"value\"}"}}]}
            {"tool_calls":[{"type":"function","function":{"name":"Add","arguments":"{}"}},{"type":"function","function":{"name":"Observe","arguments":"{}"}}]}
              => Error: found 2 tool calls, but only one is allowed per turn; make one call and wait for its result
            {"tool_calls":[{"type":"function","function":{"name":"Add","arguments":"{}"}}]} {"tool_calls":[]}
              => Error: found 2 tool calls, but only one is allowed per turn; make one call and wait for its result
            {"tool_calls":[{"type":"function","function":{"name":"Add","arguments":"{\"a\":"}}]}
              => Error: the arguments string is not valid JSON (EOF while parsing a value at line 1 column 5); it must encode a JSON object such as {"arg": "value"}
            {"tool_calls":[{"type":"function","function":{"name":"Add","arguments":"[1]"}}]}
              => Error: the tool arguments must be a JSON object such as {"arg": "value"}, not a list
            {"tool_calls":{"name":"Add"}}
              => Error: expected a tool call written as {"tool_calls": [{"type": "function", "function": {"name": "ToolName", "arguments": "{\"arg\": \"value\"}"}}]}, but found a "tool_calls" field that is not a list
            {"tool_calls":[{"type":"function","function":{"name":"Add","arguments":"{}"}}]
              => Error: the tool call is not valid JSON (EOF while parsing an object at line 1 column 78)
            {"foo":1}
              => Error: no tool call found; make exactly one tool call, written as {"tool_calls": [{"type": "function", "function": {"name": "ToolName", "arguments": "{\"arg\": \"value\"}"}}]}
            [{"type":"function","function":{"arguments":"{}"}}]
              => Error: the tool call needs a "name" field holding the tool name as a non-empty string
            [{"type":"function","function":"Add"}]
              => Error: expected a tool call written as {"tool_calls": [{"type": "function", "function": {"name": "ToolName", "arguments": "{\"arg\": \"value\"}"}}]}, but found a string
            {"name":"Add","arguments":{"a":1}}
              => ok: Add {"a":1}
            {"role":"assistant","function_call":{"name":"Add","arguments":"{\"a\":1}"}}
              => ok: Add {"a":1}
            Calling: {"function":{"name":"Add","arguments":{"b":2,"a":1}}} (done)
              => ok: Add {"a":1,"b":2}
            The array is [3, 5, 7], so I compare `a[i] < a[j]` next.
              => Error: no tool call found; make exactly one tool call, written as {"tool_calls": [{"type": "function", "function": {"name": "ToolName", "arguments": "{\"arg\": \"value\"}"}}]}
        "#]],
    );
}
