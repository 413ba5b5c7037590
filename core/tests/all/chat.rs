//! Chat messages in OpenAI's wire format, and trajectories with and without a model's
//! conversation.

use codegym_core::{
    ActionFormat, AgentRecord, ChatMessage, ChatToolCall, ParseError, Role, Sampling, StopReason, ToolCall,
    Trajectory, Usage, parse_action,
};
use expect_test::expect;

fn assistant_calling(calls: Vec<ChatToolCall>) -> ChatMessage {
    ChatMessage { role: Role::Assistant, content: None, tool_calls: calls, tool_call_id: None, name: None }
}

#[test]
fn messages_serialize_as_openai_chat_messages() {
    let call = assistant_calling(vec![ChatToolCall::new("call_1", "Get", r#"{"index":3}"#)]);
    expect![[r#"{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"Get","arguments":"{\"index\":3}"}}]}"#]]
        .assert_eq(&serde_json::to_string(&call).unwrap());
    let result = ChatMessage::tool_result("call_1", "7");
    expect![[r#"{"role":"tool","content":"7","tool_call_id":"call_1"}"#]]
        .assert_eq(&serde_json::to_string(&result).unwrap());
    expect![[r#"{"role":"user","content":"task"}"#]]
        .assert_eq(&serde_json::to_string(&ChatMessage::new(Role::User, "task")).unwrap());
    // `type` may be left out, as some servers do.
    let parsed: ChatMessage = serde_json::from_str(
        r#"{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","function":{"name":"Get","arguments":"{\"index\":3}"}}]}"#,
    )
    .unwrap();
    assert_eq!(parsed, call);
}

#[test]
fn action_text_is_what_the_parser_reads() {
    let format = ActionFormat::OpenAiTools;
    let call = assistant_calling(vec![ChatToolCall::new("call_1", "Get", r#"{"index": 3}"#)]);
    assert_eq!(parse_action(&call.action_text(format), format), Ok(ToolCall::new("Get", r#"{"index":3}"#)));
    let two =
        assistant_calling(vec![ChatToolCall::new("a", "Get", "{}"), ChatToolCall::new("b", "Length", "{}")]);
    assert_eq!(parse_action(&two.action_text(format), format), Err(ParseError::MultipleCalls { count: 2 }));
    // No tool_calls: the content is read, so a call written as text still counts.
    let text = ChatMessage::new(Role::Assistant, r#"{"name": "Length", "arguments": "{}"}"#);
    assert_eq!(parse_action(&text.action_text(format), format), Ok(ToolCall::new("Length", "{}")));
    let prose = ChatMessage::new(Role::Assistant, "Thinking...");
    assert_eq!(parse_action(&prose.action_text(format), format), Err(ParseError::NoToolCall { format }));
    // The text formats read only the content.
    let hermes = ChatMessage::new(Role::Assistant, "<tool_call>{\"name\": \"Length\"}</tool_call>");
    assert_eq!(hermes.action_text(ActionFormat::Hermes), hermes.text());
}

/// A rollout trajectory line as `codegym rollout --out` wrote it before conversations were
/// stored.
const ROLLOUT_LINE: &str = r#"{"env":"binary-search","env_version":"0.1.0","seed":1,"difficulty":50,"policy":"oracle","task":"Find it.","steps":[{"call":{"name":"Length","arguments":"{}"},"observation":"10","reward":0.0,"done":false}],"outcome":{"kind":"abandoned"},"reward":0.0,"faults":0,"log":{"config":"{}","calls":[{"name":"Length","arguments":"{}"}]}}"#;

#[test]
fn trajectories_without_a_conversation_load_and_write_as_before() {
    let trajectory: Trajectory = serde_json::from_str(ROLLOUT_LINE).unwrap();
    assert!(trajectory.messages.is_empty() && trajectory.tools.is_empty() && trajectory.agent.is_none());
    assert_eq!(serde_json::to_string(&trajectory).unwrap(), ROLLOUT_LINE);
}

#[test]
fn a_models_trajectory_round_trips() {
    let mut trajectory: Trajectory = serde_json::from_str(ROLLOUT_LINE).unwrap();
    trajectory.messages = vec![
        ChatMessage::new(Role::System, "tools..."),
        ChatMessage::new(Role::User, "Find it."),
        assistant_calling(vec![ChatToolCall::new("call_1", "Length", "{}")]),
        ChatMessage::tool_result("call_1", "10"),
    ];
    trajectory.tools = vec![serde_json::json!({"type": "function", "function": {"name": "Length"}})];
    trajectory.agent = Some(AgentRecord {
        model: "qwen".into(),
        format: ActionFormat::OpenAiTools,
        sampling: Sampling { temperature: Some(0.5), max_tokens: None },
        max_turns: 256,
        max_context_tokens: 32_768,
        turns: 1,
        parse_errors: 0,
        retries: 2,
        usage: Some(Usage { prompt_tokens: 900, completion_tokens: 12 }),
        stop: StopReason::ContextBudget,
        error: None,
    });
    let line = serde_json::to_string(&trajectory).unwrap();
    expect![[r#"{"model":"qwen","format":"openai-tools","sampling":{"temperature":0.5},"max_turns":256,"max_context_tokens":32768,"turns":1,"parse_errors":0,"retries":2,"usage":{"prompt_tokens":900,"completion_tokens":12},"stop":"context_budget"}"#]]
        .assert_eq(&serde_json::to_string(&trajectory.agent).unwrap());
    assert_eq!(serde_json::from_str::<Trajectory>(&line).unwrap(), trajectory);
}
