//! The longest balanced prefix of a hidden bracket string, with a stack (a variant of
//! LeetCode 20 "Valid Parentheses").
//!
//! The reference solution scans the string: an opening bracket is pushed, a closing bracket
//! must pop its matching opener; every time the stack becomes empty, the prefix read so far
//! is balanced, and the first mismatch ends the scan (no longer prefix can be balanced). The
//! agent reads the string with `CharAt` and drives a stack kept by the environment (`Push`,
//! `Pop`, `Peek`). The answer is a length rather than a yes/no, so it cannot be guessed.

use codegym_env_sdk::prelude::*;

/// Longest string a config may hold.
const MAX_LEN: usize = 10_000;
const OPENERS: [char; 3] = ['(', '[', '{'];
const CLOSERS: [char; 3] = [')', ']', '}'];

#[derive(Serialize, Deserialize)]
pub struct Config {
    /// Only the characters `()[]{}`.
    pub string: String,
}

pub struct StackParentheses {
    chars: Vec<char>,
    stack: Vec<char>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct PushArgs {
    /// One bracket character to push, e.g. "(".
    ch: char,
}

/// The opener matching a closing bracket.
fn opener_of(closer: char) -> Option<char> {
    CLOSERS.iter().position(|&c| c == closer).map(|i| OPENERS[i])
}

/// The length of the longest prefix of `chars` that is balanced.
fn longest_balanced_prefix(chars: &[char]) -> usize {
    let mut stack = Vec::new();
    let mut best = 0;
    for (index, &ch) in chars.iter().enumerate() {
        match opener_of(ch) {
            None => stack.push(ch),
            Some(opener) => {
                if stack.pop() != Some(opener) {
                    break;
                }
            }
        }
        if stack.is_empty() {
            best = index + 1;
        }
    }
    best
}

impl Environment for StackParentheses {
    type Config = Config;
    type Answer = i64;

    const META: Meta = Meta {
        name: "stack-parentheses",
        version: env!("CARGO_PKG_VERSION"),
        description: "Length of the longest balanced prefix of a hidden string of brackets \
                      ()[]{}, with a stack (variant of LeetCode 20 Valid Parentheses).",
        category: "stacks-and-queues",
    };

    fn sample_config(seed: u64, difficulty: u32) -> Config {
        let mut rng = config_rng(seed, difficulty);
        let pairs = scale(difficulty, 3, 32);
        // A random balanced string: open while allowed and a coin says so, else close.
        let mut chars = Vec::with_capacity(2 * pairs);
        let mut open: Vec<usize> = Vec::new();
        let mut left = pairs;
        while left > 0 || !open.is_empty() {
            if left > 0 && (open.is_empty() || rng.random_bool(0.5)) {
                let kind = rng.random_range(0..3u32) as usize;
                chars.push(OPENERS[kind]);
                open.push(kind);
                left -= 1;
            } else if let Some(kind) = open.pop() {
                chars.push(CLOSERS[kind]);
            }
        }
        // Three strings in four get one defect in their second half, so a scan must go deep
        // and the answer is rarely the whole length.
        if rng.random_bool(0.75) {
            let len = chars.len() as u32;
            let at = rng.random_range(len / 2..len) as usize;
            let kind = rng.random_range(0..3u32) as usize;
            match rng.random_range(0..3u32) {
                // Another bracket of the same direction.
                0 => {
                    let set = if OPENERS.contains(&chars[at]) { OPENERS } else { CLOSERS };
                    let current = set.iter().position(|&c| c == chars[at]).unwrap_or(0);
                    chars[at] = set[(current + 1 + kind % 2) % 3];
                }
                // The other direction.
                1 => chars[at] = if OPENERS.contains(&chars[at]) { CLOSERS[kind] } else { OPENERS[kind] },
                // Missing character.
                _ => {
                    chars.remove(at);
                }
            }
        }
        Config { string: chars.into_iter().collect() }
    }

    fn reset(config: Config) -> Result<Self, String> {
        let chars: Vec<char> = config.string.chars().collect();
        if !(1..=MAX_LEN).contains(&chars.len()) {
            return Err(format!("the string must have 1 to {MAX_LEN} characters"));
        }
        if let Some(bad) = chars.iter().find(|c| !OPENERS.contains(c) && !CLOSERS.contains(c)) {
            return Err(format!("unexpected character {bad:?}; only ()[]{{}} are allowed"));
        }
        Ok(Self { chars, stack: Vec::new() })
    }

    fn task(&self) -> String {
        format!(
            "A string of {} bracket characters from ()[]{{}} is hidden from you. Find the \
             length of its longest prefix that is balanced: every closing bracket closes the \
             most recent unclosed opening bracket of the same kind, and none stays open at \
             the end of the prefix. The answer is 0 if no non-empty prefix is balanced, and \
             the whole length if the string is balanced. Read characters with CharAt (Length \
             gives the size). A stack is kept for you: Push puts a character on top, Pop \
             removes and returns the top, Peek shows the top. Submit the length with Done, \
             e.g. {{\"answer\": 6}}.",
            self.chars.len()
        )
    }

    fn observe(&self) -> String {
        format!("String length: {}. Stack size: {}.", self.chars.len(), self.stack.len())
    }

    fn tools(tools: &mut Tools<Self>) {
        tools
            .add("Length", "Return the number of characters in the string.", |env: &mut Self, _: NoArgs| {
                format!("{}", env.chars.len())
            })
            .add(
                "CharAt",
                "Return the character of the string at `index`, as `s[index] = 'c'`.",
                |env: &mut Self, args: IndexArgs| match env.chars.get(args.index) {
                    Some(ch) => Ok(format!("s[{}] = '{ch}'", args.index)),
                    None => Err(format!("index {} is out of range (length {})", args.index, env.chars.len())),
                },
            )
            .add("Push", "Push a bracket character onto the stack.", |env: &mut Self, args: PushArgs| {
                if !OPENERS.contains(&args.ch) && !CLOSERS.contains(&args.ch) {
                    return Err(format!("only bracket characters ()[]{{}} can be pushed, not {:?}", args.ch));
                }
                if env.stack.len() >= MAX_LEN {
                    return Err(format!("the stack is full ({MAX_LEN} characters)"));
                }
                env.stack.push(args.ch);
                Ok(format!("Pushed '{}'. Stack size: {}.", args.ch, env.stack.len()))
            })
            .add(
                "Pop",
                "Remove the top character of the stack and return it.",
                |env: &mut Self, _: NoArgs| match env.stack.pop() {
                    Some(ch) => Ok(format!("Popped '{ch}'. Stack size: {}.", env.stack.len())),
                    None => Err("the stack is empty".to_owned()),
                },
            )
            .add(
                "Peek",
                "Return the top character of the stack without removing it, or say that the \
                 stack is empty.",
                |env: &mut Self, _: NoArgs| match env.stack.last() {
                    Some(ch) => format!("Top of the stack: '{ch}'. Stack size: {}.", env.stack.len()),
                    None => "The stack is empty.".to_owned(),
                },
            );
    }

    fn reference_answer(&self) -> i64 {
        longest_balanced_prefix(&self.chars) as i64
    }
}

/// The quoted character in an observation like `s[3] = '('`.
fn quoted(observation: &str) -> Option<char> {
    let (_, rest) = observation.split_once('\'')?;
    rest.chars().next()
}

/// The stack scan, noting where the stack becomes empty and stopping at the first mismatch.
pub struct StackParenthesesOracle;

impl Oracle for StackParenthesesOracle {
    async fn solve(agent: Agent, _task: String) {
        let len = first_int(&agent.call("Length", NoArgs {}).await).unwrap_or(0);
        let mut best = 0;
        for index in 0..len {
            let Some(ch) = quoted(&agent.call("CharAt", serde_json::json!({ "index": index })).await) else {
                break;
            };
            match opener_of(ch) {
                None => {
                    agent.call("Push", serde_json::json!({ "ch": ch })).await;
                }
                Some(opener) => {
                    // "Popped '('. Stack size: 2."
                    let popped = agent.call("Pop", NoArgs {}).await;
                    if popped.starts_with("Error:") || quoted(&popped) != Some(opener) {
                        break;
                    }
                    if ints(&popped).last() == Some(&0) {
                        best = index + 1;
                    }
                }
            }
        }
        agent.done(best).await;
    }
}

export_env!(StackParentheses, StackParenthesesOracle);

#[cfg(test)]
mod tests {
    use codegym_env_sdk::{Session, ToolCall};

    use super::*;

    fn session(string: &str) -> Session<StackParentheses> {
        codegym_env_sdk::testing::session(&serde_json::json!({ "string": string }).to_string())
    }

    #[test]
    fn oracle_solves_every_difficulty() {
        codegym_env_sdk::testing::check_environment::<StackParentheses, StackParenthesesOracle>(10);
    }

    #[test]
    fn tools_reject_bad_input() {
        let mut session = session("([]{})");
        for call in [
            ToolCall::new("CharAt", r#"{"index": 6}"#),
            ToolCall::new("Pop", "{}"),
            ToolCall::new("Push", r#"{"ch": "x"}"#),
            ToolCall::new("Push", r#"{"ch": "(("}"#),
        ] {
            let step = session.step(&call);
            assert!(step.observation.starts_with("Error:"), "{call:?}: {}", step.observation);
        }
        assert_eq!(session.step(&ToolCall::new("CharAt", r#"{"index": 1}"#)).observation, "s[1] = '['");
        session.step(&ToolCall::new("Push", r#"{"ch": "["}"#));
        assert_eq!(
            session.step(&ToolCall::new("Peek", "{}")).observation,
            "Top of the stack: '['. Stack size: 1."
        );
    }

    #[test]
    fn answers_are_graded() {
        for (string, expected) in
            [("([]{})", 6), ("([)]", 0), ("((", 0), ("}", 0), ("()(]", 2), ("()[]((", 4)]
        {
            assert_eq!(session(string).reference_answer(), expected.to_string(), "{string}");
            let right = format!(r#"{{"answer": {expected}}}"#);
            let step = session(string).step(&ToolCall::new("Done", right));
            assert!(step.done && step.reward == 1.0, "{string}");
            let wrong = format!(r#"{{"answer": {}}}"#, expected + 2);
            let step = session(string).step(&ToolCall::new("Done", wrong));
            assert!(step.done && step.reward == 0.0, "{string}");
        }
        assert!(Session::<StackParentheses>::new().reset(r#"{"string": "(a)"}"#).is_err());
        assert!(Session::<StackParentheses>::new().reset(r#"{"string": ""}"#).is_err());
    }
}
