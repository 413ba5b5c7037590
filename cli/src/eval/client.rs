//! A blocking client for OpenAI-compatible chat-completions endpoints (vLLM, SGLang, the
//! llama.cpp server, hosted APIs), with bounded, deterministic retries.

use std::time::Duration;

use anyhow::{Result, bail};
use codegym_core::{ChatMessage, ChatToolCall, Role, Usage};
use codegym_host::{ChatModel, ChatRequest, Completion, ModelError};
use serde_json::{Map, Value};

/// When and how often a failed request is sent again.
#[derive(Clone, Copy, Debug)]
pub struct Retry {
    /// Retries after the first attempt.
    pub retries: u32,
    /// The wait before the first retry; it doubles with each retry.
    pub backoff: Duration,
    /// No wait is longer, whatever the backoff or the server's `Retry-After`.
    pub max_delay: Duration,
}

impl Retry {
    /// The wait before retry number `retry` (0 for the first): the server's `Retry-After`
    /// when it sent one, else `backoff × 2^retry`; at most `max_delay`.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        let exponential = self.backoff.saturating_mul(2u32.saturating_pow(retry));
        retry_after.unwrap_or(exponential).min(self.max_delay)
    }
}

/// One endpoint and model; cheap to clone (clones share the connection pool).
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    url: String,
    model: String,
    api_key: Option<String>,
    retry: Retry,
}

impl Client {
    /// A client for `base_url` (e.g. `http://localhost:8000/v1`), each request abandoned
    /// after `timeout`.
    pub fn new(
        base_url: &str,
        model: &str,
        api_key: Option<String>,
        timeout: Duration,
        retry: Retry,
    ) -> Result<Self> {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .build()
            .into();
        Ok(Self { agent, url: completions_url(base_url)?, model: model.to_owned(), api_key, retry })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Fails fast, before any episode starts, when nothing answers at the endpoint's address
    /// (connection refused, unknown host). Any HTTP reply will do: this sends one `GET
    /// <base>/models`, which most servers implement, and ignores its status.
    pub fn check_reachable(&self) -> Result<()> {
        let base = self.url.strip_suffix("/chat/completions").unwrap_or(&self.url);
        let response = self
            .agent
            .get(&format!("{base}/models"))
            .config()
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .call();
        match response {
            Err(error @ (ureq::Error::Io(_) | ureq::Error::ConnectionFailed | ureq::Error::HostNotFound)) => {
                bail!("cannot reach {}: {error} (is the server running?)", self.url)
            }
            _ => Ok(()),
        }
    }

    /// One attempt: the reply's body, or why there is none and whether to try again.
    fn attempt(&self, body: &str) -> Result<String, Failure> {
        let mut request = self.agent.post(&self.url).header("content-type", "application/json");
        if let Some(key) = &self.api_key {
            request = request.header("authorization", &format!("Bearer {key}"));
        }
        let mut response = request.send(body).map_err(|error| self.transport_failure(error))?;
        let status = response.status().as_u16();
        let retry_after = retry_after(response.headers());
        let text = response
            .body_mut()
            .with_config()
            .limit(64 << 20)
            .read_to_string()
            .map_err(|error| self.transport_failure(error))?;
        match status {
            200..=299 => Ok(text),
            408 | 429 | 500..=599 => Err(Failure::Retry {
                message: format!("HTTP {status}: {}", error_message(&text)),
                retry_after,
            }),
            _ => Err(Failure::Reject { status, message: error_message(&text) }),
        }
    }

    fn transport_failure(&self, error: ureq::Error) -> Failure {
        let url = &self.url;
        match error {
            ureq::Error::Timeout(_) => {
                Failure::Retry { message: format!("{url}: timed out"), retry_after: None }
            }
            ureq::Error::Io(error) => {
                Failure::Retry { message: format!("cannot reach {url}: {error}"), retry_after: None }
            }
            ureq::Error::ConnectionFailed | ureq::Error::HostNotFound | ureq::Error::Protocol(_) => {
                Failure::Retry { message: format!("cannot reach {url}: {error}"), retry_after: None }
            }
            other => Failure::Fatal(format!("{url}: {other}")),
        }
    }
}

/// Why an attempt failed.
enum Failure {
    /// Worth another attempt: 408, 429, 5xx, a timeout, a connection error.
    Retry { message: String, retry_after: Option<Duration> },
    /// A status that retrying will not change.
    Reject { status: u16, message: String },
    /// The request cannot be sent as it is.
    Fatal(String),
}

impl ChatModel for Client {
    fn name(&self) -> &str {
        &self.model
    }

    fn complete(&mut self, request: &ChatRequest<'_>) -> Result<Completion, ModelError> {
        let body = request_body(&self.model, request);
        let mut retries = 0;
        loop {
            match self.attempt(&body) {
                Ok(text) => {
                    return parse_completion(&text)
                        .map(|(message, usage)| Completion { message, usage, retries })
                        .map_err(|message| ModelError::Malformed { message, retries });
                }
                Err(Failure::Retry { retry_after, .. }) if retries < self.retry.retries => {
                    std::thread::sleep(self.retry.delay(retries, retry_after));
                    retries += 1;
                }
                Err(Failure::Retry { message, .. }) => {
                    return Err(ModelError::Unavailable { attempts: retries + 1, last: message });
                }
                Err(Failure::Reject { status, message }) => {
                    return Err(ModelError::Rejected { status, message, retries });
                }
                Err(Failure::Fatal(message)) => return Err(ModelError::Request { message }),
            }
        }
    }
}

/// `<base>/chat/completions`, unless `base_url` already ends there. http:// for local
/// servers, https:// (rustls, with the Mozilla root certificates built in) for hosted APIs.
pub fn completions_url(base_url: &str) -> Result<String> {
    let base = base_url.trim().trim_end_matches('/');
    let Some(rest) = base.strip_prefix("http://").or_else(|| base.strip_prefix("https://")) else {
        bail!("--base-url {base_url}: expected an http:// or https:// URL such as http://localhost:8000/v1");
    };
    if rest.is_empty() || rest.starts_with('/') {
        bail!("--base-url {base_url}: the URL has no host");
    }
    if base.ends_with("/chat/completions") {
        return Ok(base.to_owned());
    }
    Ok(format!("{base}/chat/completions"))
}

/// The JSON body of a chat-completions request.
fn request_body(model: &str, request: &ChatRequest<'_>) -> String {
    let mut body = Map::new();
    body.insert("model".into(), model.into());
    body.insert("messages".into(), serde_json::to_value(request.messages).unwrap_or_default());
    if !request.tools.is_empty() {
        body.insert("tools".into(), Value::Array(request.tools.to_vec()));
        // One call per turn is the rule; don't invite several.
        body.insert("parallel_tool_calls".into(), false.into());
    }
    if let Some(temperature) = request.sampling.temperature {
        body.insert("temperature".into(), f64::from(temperature).into());
    }
    if let Some(max_tokens) = request.sampling.max_tokens {
        body.insert("max_tokens".into(), max_tokens.into());
    }
    Value::Object(body).to_string()
}

/// The assistant message and token usage of a chat-completions reply, or what is wrong
/// with it.
pub fn parse_completion(text: &str) -> Result<(ChatMessage, Option<Usage>), String> {
    let reply: Value = serde_json::from_str(text)
        .map_err(|error| format!("the body is not JSON ({error}): {}", excerpt(text)))?;
    if let Some(error) = reply.get("error").filter(|error| !error.is_null()) {
        return Err(format!("the body is an error: {}", error_text(error)));
    }
    let Some(message) = reply.pointer("/choices/0/message").and_then(Value::as_object) else {
        return Err(format!("no choices[0].message in the reply: {}", excerpt(text)));
    };
    let content = match message.get("content") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(text.clone()),
        // Content parts: keep the text ones.
        Some(Value::Array(parts)) => {
            Some(parts.iter().filter_map(|part| part.get("text").and_then(Value::as_str)).collect())
        }
        Some(other) => {
            return Err(format!("choices[0].message.content is not text: {}", excerpt(&other.to_string())));
        }
    };
    let tool_calls = match message.get("tool_calls") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(calls)) => calls.iter().map(tool_call).collect(),
        Some(other) => {
            return Err(format!(
                "choices[0].message.tool_calls is not a list: {}",
                excerpt(&other.to_string())
            ));
        }
    };
    let message = ChatMessage { role: Role::Assistant, content, tool_calls, tool_call_id: None, name: None };
    let count = |key: &str| reply.get("usage").and_then(|usage| usage.get(key)).and_then(Value::as_u64);
    let usage = match (count("prompt_tokens"), count("completion_tokens")) {
        (None, None) => None,
        (prompt, completion) => {
            Some(Usage { prompt_tokens: prompt.unwrap_or(0), completion_tokens: completion.unwrap_or(0) })
        }
    };
    Ok((message, usage))
}

/// One element of `tool_calls`, as leniently as possible: whatever is missing or oddly typed
/// is left for the action parser to report to the model.
fn tool_call(call: &Value) -> ChatToolCall {
    let text = |value: Option<&Value>| match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
    };
    let function = call.get("function");
    ChatToolCall::new(
        text(call.get("id")),
        text(function.and_then(|function| function.get("name"))),
        text(function.and_then(|function| function.get("arguments"))),
    )
}

/// `retry-after-ms` (OpenAI) or `retry-after` in seconds; an HTTP date is ignored.
fn retry_after(headers: &ureq::http::HeaderMap) -> Option<Duration> {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok()).map(str::trim);
    if let Some(millis) = header("retry-after-ms").and_then(|value| value.parse::<f64>().ok()) {
        return Duration::try_from_secs_f64(millis / 1000.0).ok();
    }
    header("retry-after")
        .and_then(|value| value.parse::<f64>().ok())
        .and_then(|secs| Duration::try_from_secs_f64(secs).ok())
}

/// The message of an error reply: OpenAI's `{"error": {"message"}}` if present, else the
/// start of the body.
fn error_message(body: &str) -> String {
    match serde_json::from_str::<Value>(body) {
        Ok(reply) if reply.get("error").is_some_and(|error| !error.is_null()) => {
            reply.get("error").map(error_text).unwrap_or_default()
        }
        _ => excerpt(body),
    }
}

fn error_text(error: &Value) -> String {
    match error.get("message").and_then(Value::as_str) {
        Some(message) => message.to_owned(),
        None => excerpt(&error.to_string()),
    }
}

/// The first 200 characters of `text`, on one line.
fn excerpt(text: &str) -> String {
    let text = text.trim();
    if text.is_empty() {
        return "(empty body)".into();
    }
    let mut short: String = text.chars().take(200).map(|c| if c.is_control() { ' ' } else { c }).collect();
    if text.chars().nth(200).is_some() {
        short.push('…');
    }
    short
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_unless_told_when() {
        let retry =
            Retry { retries: 4, backoff: Duration::from_millis(500), max_delay: Duration::from_secs(60) };
        let delays: Vec<u128> = (0..4).map(|n| retry.delay(n, None).as_millis()).collect();
        assert_eq!(delays, [500, 1000, 2000, 4000]);
        assert_eq!(retry.delay(30, None), Duration::from_secs(60));
        assert_eq!(retry.delay(3, Some(Duration::ZERO)), Duration::ZERO);
        assert_eq!(retry.delay(0, Some(Duration::from_secs(600))), Duration::from_secs(60));
    }

    #[test]
    fn retry_after_in_seconds_or_milliseconds() {
        let mut headers = ureq::http::HeaderMap::new();
        assert_eq!(retry_after(&headers), None);
        headers.insert("retry-after", "2".parse().expect("header"));
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(2)));
        headers.insert("retry-after-ms", "250".parse().expect("header"));
        assert_eq!(retry_after(&headers), Some(Duration::from_millis(250)));
        headers.clear();
        headers.insert("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT".parse().expect("header"));
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn base_urls() {
        let url = |base| completions_url(base).map_err(|error| error.to_string());
        assert_eq!(
            url("http://localhost:8000/v1").as_deref(),
            Ok("http://localhost:8000/v1/chat/completions")
        );
        assert_eq!(url("http://h/v1/").as_deref(), Ok("http://h/v1/chat/completions"));
        assert_eq!(url("http://h/v1/chat/completions").as_deref(), Ok("http://h/v1/chat/completions"));
        assert_eq!(
            url("https://api.openai.com/v1").as_deref(),
            Ok("https://api.openai.com/v1/chat/completions")
        );
        assert!(url("localhost:8000").is_err_and(|e| e.contains("expected an http:// or https:// URL")));
        assert!(url("http:///v1").is_err_and(|e| e.contains("no host")));
    }

    #[test]
    fn completions_are_read_leniently_and_errors_are_clear() {
        let (message, usage) = parse_completion(
            r#"{"id":"x","choices":[{"index":0,"message":{"role":"assistant","content":null,
                "tool_calls":[{"id":"call_1","type":"function","function":{"name":"Get","arguments":{"index":3}}},
                              {"function":{"name":"Length"}}]},"finish_reason":"tool_calls"}],
               "usage":{"prompt_tokens":12,"completion_tokens":5,"total_tokens":17}}"#,
        )
        .expect("a completion");
        assert_eq!(message.content, None);
        assert_eq!(
            message.tool_calls,
            [ChatToolCall::new("call_1", "Get", r#"{"index":3}"#), ChatToolCall::new("", "Length", "")]
        );
        assert_eq!(usage, Some(Usage { prompt_tokens: 12, completion_tokens: 5 }));

        let (message, usage) = parse_completion(
            r#"{"choices":[{"message":{"content":[{"type":"text","text":"a"},{"type":"text","text":"b"}],"tool_calls":null}}]}"#,
        )
        .expect("a completion");
        assert_eq!((message.text(), message.tool_calls.len(), usage), ("ab", 0, None));

        for (body, expected) in [
            ("<html>Bad gateway</html>", "the body is not JSON"),
            ("", "(empty body)"),
            (r#"{"error":{"message":"model not loaded"}}"#, "the body is an error: model not loaded"),
            (r#"{"choices":[]}"#, "no choices[0].message"),
            (r#"{"choices":[{"message":{"content":5}}]}"#, "content is not text"),
            (r#"{"choices":[{"message":{"tool_calls":{}}}]}"#, "tool_calls is not a list"),
        ] {
            let error = parse_completion(body).expect_err(body);
            assert!(error.contains(expected), "{body}: {error}");
        }
        assert_eq!(error_message(r#"{"error":{"message":"bad model","type":"invalid"}}"#), "bad model");
        assert_eq!(error_message("not json"), "not json");
    }

    #[test]
    fn request_body_sends_tools_only_when_given() {
        let messages = [ChatMessage::new(Role::User, "task")];
        let sampling = codegym_core::Sampling { temperature: Some(0.5), max_tokens: Some(64) };
        let tools = [serde_json::json!({"type": "function", "function": {"name": "Get"}})];
        let body: Value = serde_json::from_str(&request_body(
            "m",
            &ChatRequest { messages: &messages, tools: &tools, sampling },
        ))
        .expect("JSON");
        assert_eq!(
            body,
            serde_json::json!({
                "model": "m",
                "messages": [{"role": "user", "content": "task"}],
                "tools": tools,
                "parallel_tool_calls": false,
                "temperature": 0.5,
                "max_tokens": 64,
            })
        );
        let body: Value = serde_json::from_str(&request_body(
            "m",
            &ChatRequest { messages: &messages, tools: &[], sampling: Default::default() },
        ))
        .expect("JSON");
        assert_eq!(
            body,
            serde_json::json!({"model": "m", "messages": [{"role": "user", "content": "task"}]})
        );
    }
}
