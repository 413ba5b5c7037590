//! Properties of parsing: rendered calls parse back to their canonical form in every format,
//! whatever the arguments hold, and no input makes the parser panic.

use codegym_core::{ActionFormat, ToolCall, canonical_arguments, parse_action, render_call};
use proptest::prelude::*;
use serde_json::Value;

/// Strings that break naive parsers: markup, JSON syntax, escapes, non-ASCII.
const FRAGMENTS: &[&str] = &[
    "<|FunctionCallBegin|>",
    "<|FunctionCallEnd|>",
    "<tool_call>",
    "</tool_call>",
    "<tool_response>",
    "\"",
    "\\",
    "\\\"",
    "{",
    "}",
    "[",
    "]",
    "\"}]",
    "\"}",
    ",",
    ":",
    "\n",
    "\u{0}",
    "é",
    "\u{1F600}",
    "\u{2028}",
    "{\"name\":\"Observe\"",
    "[{\"name\":\"Add\",\"parameters\":{\"a\":1}}]",
    "{\"name\":\"Add\",\"arguments\":\"{\\\"a\\\":1}\"}",
    "\"tool_calls\":[",
    "{\"type\":\"function\",\"function\":",
    "\"arguments\":",
    "\"parameters\":",
];

fn fragment() -> impl Strategy<Value = String> {
    prop::sample::select(FRAGMENTS).prop_map(String::from)
}

/// Arbitrary text with markup and JSON fragments spliced in.
fn spliced_text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop_oneof![any::<String>(), fragment()], 0..8).prop_map(|parts| parts.concat())
}

fn json_text() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "[a-z \"\\\\]{0,8}", fragment(), spliced_text()]
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter("JSON has no NaN or infinity", |x| x.is_finite()).prop_map(Value::from),
        json_text().prop_map(Value::from),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(json_text(), inner, 0..4)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

/// A call whose arguments are written compactly or pretty-printed, so parsing has to
/// canonicalize them.
fn tool_call() -> impl Strategy<Value = ToolCall> {
    let arguments = prop::collection::btree_map(json_text(), json_value(), 0..5)
        .prop_map(|map| Value::Object(map.into_iter().collect()));
    ("[A-Za-z][A-Za-z0-9_]{0,20}", arguments, any::<bool>()).prop_map(|(name, arguments, pretty)| {
        let text =
            if pretty { serde_json::to_string_pretty(&arguments).unwrap() } else { arguments.to_string() };
        ToolCall::new(name, text)
    })
}

/// Prose around a call: anything but the start of a JSON value, so it cannot be read as a
/// call, markers mentioned in passing included.
fn prose() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), fragment(), spliced_text()].prop_map(|text| text.replace(['{', '['], ""))
}

fn canonical(call: &ToolCall) -> ToolCall {
    ToolCall::new(call.name.clone(), canonical_arguments(&call.arguments).unwrap())
}

proptest! {
    #[test]
    fn rendered_calls_parse_back_in_every_format(call in tool_call()) {
        for format in ActionFormat::ALL {
            let text = render_call(&call, format);
            prop_assert_eq!(parse_action(&text, format), Ok(canonical(&call)), "{}", text);
        }
    }

    #[test]
    fn prose_around_a_call_is_ignored(call in tool_call(), before in prose(), after in prose()) {
        for format in ActionFormat::ALL {
            let text = format!("{before}{}{after}", render_call(&call, format));
            prop_assert_eq!(parse_action(&text, format), Ok(canonical(&call)), "{}", text);
        }
    }

    #[test]
    fn two_calls_are_rejected(first in tool_call(), second in tool_call(), between in prose()) {
        for format in ActionFormat::ALL {
            // OpenAI calls are bare JSON: text after one is prose unless it is more JSON.
            let between = if format == ActionFormat::OpenAiTools { "\n" } else { between.as_str() };
            let text =
                format!("{}{between}{}", render_call(&first, format), render_call(&second, format));
            let result = parse_action(&text, format);
            prop_assert!(
                matches!(result, Err(codegym_core::ParseError::MultipleCalls { count: 2 })),
                "{:?} for {}", result, text
            );
        }
    }

    #[test]
    fn invalid_arguments_render_as_no_arguments(name in "[A-Za-z][A-Za-z0-9_]{0,20}", arguments in json_text()) {
        prop_assume!(canonical_arguments(&arguments).is_err());
        let call = ToolCall::new(name, arguments);
        for format in ActionFormat::ALL {
            let parsed = parse_action(&render_call(&call, format), format);
            prop_assert_eq!(parsed, Ok(ToolCall::new(call.name.clone(), "{}")));
        }
    }

    #[test]
    fn arbitrary_text_never_panics(text in prop_oneof![any::<String>(), spliced_text()]) {
        for format in ActionFormat::ALL {
            if let Err(err) = parse_action(&text, format) {
                prop_assert!(err.to_observation().starts_with("Error: "));
            }
        }
    }

    #[test]
    fn arbitrary_calls_render_without_panicking(name in any::<String>(), arguments in spliced_text()) {
        for format in ActionFormat::ALL {
            let _ = render_call(&ToolCall::new(name.clone(), arguments.clone()), format);
        }
    }
}
