//! Prompt rendering: snapshots of a small environment in each format.

use codegym_core::{
    ActionFormat, EnvInfo, Prompt, Role, ToolCall, ToolSpec, render_observation, render_prompt,
};
use expect_test::{Expect, expect};

fn counter_env() -> EnvInfo {
    let tool = |name: &str, description: &str, parameters: &str| ToolSpec {
        name: name.into(),
        description: description.into(),
        parameters: parameters.into(),
    };
    EnvInfo {
        name: "counter".into(),
        version: "0.1.0".into(),
        description: "Count the marbles hidden in a row of boxes.".into(),
        category: "toy".into(),
        tools: vec![
            tool(
                "OpenBox",
                "Returns the number of marbles in box `index` (0-based).",
                r#"{"$schema":"https://json-schema.org/draft/2020-12/schema","title":"OpenBoxArgs","type":"object","properties":{"index":{"type":"integer"}},"required":["index"]}"#,
            ),
            tool("Observe", "Returns how many boxes there are.", r#"{"type":"object","properties":{}}"#),
            tool(
                "Done",
                "Submits the total number of marbles and ends the episode.",
                r#"{"type":"object","properties":{"answer":{"type":"integer"}},"required":["answer"]}"#,
            ),
        ],
    }
}

/// The prompt as plain text: each message under its role, then the tools as JSON lines.
fn show(prompt: &Prompt) -> String {
    let mut out = String::new();
    for message in &prompt.messages {
        out.push_str(&format!("=== {:?} ===\n{}\n", message.role, message.content));
    }
    if !prompt.tools.is_empty() {
        out.push_str("=== tools ===\n");
        for tool in &prompt.tools {
            out.push_str(&format!("{tool}\n"));
        }
    }
    out
}

fn check(format: ActionFormat, expect: Expect) {
    let prompt = render_prompt(&counter_env(), "There are 3 boxes. How many marbles?", format);
    expect.assert_eq(&show(&prompt));
}

#[test]
fn codegym_prompt() {
    check(
        ActionFormat::CodeGym,
        expect![[r#"
            === System ===

            Function:

            def OpenBox(index: int):
                r"""

                Returns the number of marbles in box `index` (0-based).

                Args:
                    index (int)

                """

            Function:

            def Observe():
                r"""

                Returns how many boxes there are.

                Args:
                    None

                """

            Function:

            def Done(answer: int):
                r"""

                Submits the total number of marbles and ends the episode.

                Args:
                    answer (int)

                """



            === User ===
            Work through the question below step by step, keeping to these rules:

            1. Do not write code to answer it: act only by calling the functions provided, at most one function per step.
            2. After each call, wait for the function's result; never assume what it will return.
            3. If a function's description leaves you unsure, try the function and correct your later calls by what it returns.
            4. Wrap each call in `<|FunctionCallBegin|>` and `<|FunctionCallEnd|>`: a JSON list holding one object with two keys, `name` (the function's name) and `parameters` (an object of its arguments).
            5. When you know the answer, submit it with `Done`: that ends the episode, and only that answer is scored.

            For example:
            <|FunctionCallBegin|>[{"name":"OpenBox","parameters":{"index":0}}]<|FunctionCallEnd|>

            Also:

            * Think briefly, then call a function: you have many turns, so there is no need to plan every step in advance.
            * Do not try to answer without calling the functions.

            Question:

            There are 3 boxes. How many marbles?
        "#]],
    );
}

#[test]
fn hermes_prompt() {
    check(
        ActionFormat::Hermes,
        expect![[r#"
        === System ===
        You are an agent solving a task in the environment "counter".
        Count the marbles hidden in a row of boxes.

        You can act only by calling the tools below, and you see the environment only through their results. Make exactly one tool call per turn, then wait for its result. A result starting with "Error:" means the call was not carried out; fix it and try again. When you know the final answer, call `Done` with it: this ends the episode, and only that answer is scored.

        # Tools

        The tools' signatures are given within <tools></tools> XML tags:
        <tools>
        {"type":"function","function":{"name":"OpenBox","description":"Returns the number of marbles in box `index` (0-based).","parameters":{"properties":{"index":{"type":"integer"}},"required":["index"],"type":"object"}}}
        {"type":"function","function":{"name":"Observe","description":"Returns how many boxes there are.","parameters":{"properties":{},"type":"object"}}}
        {"type":"function","function":{"name":"Done","description":"Submits the total number of marbles and ends the episode.","parameters":{"properties":{"answer":{"type":"integer"}},"required":["answer"],"type":"object"}}}
        </tools>

        # Calling a tool

        Write each call as a JSON object with the tool name and its arguments within <tool_call></tool_call> XML tags:
        <tool_call>{"name": "ToolName", "arguments": {"arg": "value"}}</tool_call>

        For example:
        <tool_call>
        {"name":"OpenBox","arguments":{"index":0}}
        </tool_call>
        === User ===
        There are 3 boxes. How many marbles?
    "#]],
    );
}

#[test]
fn openai_tools_prompt() {
    check(
        ActionFormat::OpenAiTools,
        expect![[r#"
        === System ===
        You are an agent solving a task in the environment "counter".
        Count the marbles hidden in a row of boxes.

        You can act only by calling the tools below, and you see the environment only through their results. Make exactly one tool call per turn, then wait for its result. A result starting with "Error:" means the call was not carried out; fix it and try again. When you know the final answer, call `Done` with it: this ends the episode, and only that answer is scored.

        # Tools

        The tools are provided through the function-calling interface:
        - OpenBox: Returns the number of marbles in box `index` (0-based).
        - Observe: Returns how many boxes there are.
        - Done: Submits the total number of marbles and ends the episode.

        # Calling a tool

        Call tools through the function-calling interface. If you write a call as text instead, write this JSON, with the arguments as a JSON-encoded string:
        {"tool_calls": [{"type": "function", "function": {"name": "ToolName", "arguments": "{\"arg\": \"value\"}"}}]}

        For example:
        {"tool_calls":[{"id":"call_0","type":"function","function":{"name":"OpenBox","arguments":"{\"index\":0}"}}]}
        === User ===
        There are 3 boxes. How many marbles?
        === tools ===
        {"function":{"description":"Returns the number of marbles in box `index` (0-based).","name":"OpenBox","parameters":{"properties":{"index":{"type":"integer"}},"required":["index"],"type":"object"}},"type":"function"}
        {"function":{"description":"Returns how many boxes there are.","name":"Observe","parameters":{"properties":{},"type":"object"}},"type":"function"}
        {"function":{"description":"Submits the total number of marbles and ends the episode.","name":"Done","parameters":{"properties":{"answer":{"type":"integer"}},"required":["answer"],"type":"object"}},"type":"function"}
    "#]],
    );
}

#[test]
fn every_tool_is_named_in_every_format() {
    let info = counter_env();
    for format in ActionFormat::ALL {
        let prompt = render_prompt(&info, "task", format);
        let text = serde_json::to_string(&prompt).unwrap();
        for tool in &info.tools {
            assert!(prompt.messages[0].content.contains(&tool.name), "{format}: {}", tool.name);
            assert!(text.contains(&tool.description), "{format}: {}", tool.description);
        }
        assert!(prompt.messages[1].content.ends_with("task"), "{format}");
        assert_eq!(prompt.tools.len(), if format == ActionFormat::OpenAiTools { 3 } else { 0 });
    }
}

#[test]
fn the_prompt_example_parses() {
    let info = counter_env();
    for format in ActionFormat::ALL {
        let prompt = render_prompt(&info, "task", format);
        let text = prompt.messages.iter().find(|m| m.content.contains("For example:\n")).unwrap();
        let example = text.content.split("For example:\n").nth(1).unwrap();
        let call = codegym_core::parse_action(example, format).unwrap();
        assert_eq!(call, ToolCall::new("OpenBox", r#"{"index":0}"#), "{format}");
    }
}

#[test]
fn observations_follow_each_format() {
    let shown: Vec<_> = ActionFormat::ALL
        .into_iter()
        .map(|format| render_observation("3 marbles", format))
        .map(|message| format!("{:?}: {:?}", message.role, message.content))
        .collect();
    expect![[r#"
        [
            "User: \"3 marbles\"",
            "User: \"<tool_response>\\n3 marbles\\n</tool_response>\"",
            "Tool: \"3 marbles\"",
        ]
    "#]]
    .assert_debug_eq(&shown);
    assert_eq!(render_observation("x", ActionFormat::OpenAiTools).role, Role::Tool);
}

/// CodeGym's layout byte for byte: the system message is named `functions`, opens with a
/// newline and ends with two more; parameters keep their schema's order (not sorted), with
/// Python types, list item types in `Args:`, defaults as Python literals, and descriptions
/// on one line; a multi-line tool description is indented line by line.
#[test]
fn codegym_layout_keeps_each_signature() {
    let info = EnvInfo {
        name: "ranges".into(),
        version: "0.1.0".into(),
        description: "".into(),
        category: "toy".into(),
        tools: vec![ToolSpec {
            name: "SumRange".into(),
            description: "Sum a range of the hidden list.\n\nBoth ends are included.".into(),
            parameters: r#"{"type":"object","properties":{"start":{"type":"integer","description":"First index,\n    counted from 0."},"end":{"type":["integer","null"]},"weights":{"type":"array","items":{"type":"number"}},"strict":{"type":"boolean","default":false},"tag":{}},"required":["start","end"]}"#
                .into(),
        }],
    };
    let prompt = render_prompt(&info, "Sum it.", ActionFormat::CodeGym);
    assert_eq!(prompt.messages[0].name.as_deref(), Some(codegym_core::CODEGYM_SYSTEM_NAME));
    assert_eq!(prompt.messages[1].name, None);
    expect![[r#"
        "\nFunction:\n\ndef SumRange(start: int, end: int, weights: list, strict: bool = False, tag):\n    r\"\"\"\n\n    Sum a range of the hidden list.\n\n    Both ends are included.\n\n    Args:\n        start (int): First index, counted from 0.\n        end (int)\n        weights (list[float])\n        strict (bool)\n        tag\n\n    \"\"\"\n\n\n"
    "#]]
    .assert_debug_eq(&prompt.messages[0].content);
    assert!(prompt.messages[1].content.ends_with("\n\nQuestion:\n\nSum it."));
    // A prompt as JSON names only the system message.
    let json = serde_json::to_value(&prompt.messages).unwrap();
    assert_eq!(json[0]["name"], "functions");
    assert!(json[1].get("name").is_none());
}
