//! Evaluate a hidden arithmetic expression in Reverse Polish Notation (LeetCode 150
//! "Evaluate Reverse Polish Notation") with an operand stack.
//!
//! The reference solution reads the tokens left to right (`Token`): a number is pushed on
//! the stack held by the environment (`Push`), and an operator pops the right operand, then
//! the left one, and pushes their result (`Apply`). At the end the stack holds exactly the
//! value (`Peek`). Division truncates toward zero.

use codegym_env_sdk::prelude::*;

/// Most tokens a config may hold.
const MAX_TOKENS: usize = 10_000;
/// Bound on every intermediate value, so results stay readable.
const MAX_ABS: u64 = 1_000_000_000_000;

#[derive(Serialize, Deserialize)]
pub struct Config {
    /// Integers and the operators `+`, `-`, `*`, `/`, forming one valid RPN expression.
    pub tokens: Vec<String>,
}

pub struct EvaluateRpn {
    tokens: Vec<String>,
    /// The agent's operand stack.
    stack: Vec<i64>,
}

#[derive(Clone, Copy, Deserialize, JsonSchema)]
enum Operator {
    #[serde(rename = "+")]
    Add,
    #[serde(rename = "-")]
    Subtract,
    #[serde(rename = "*")]
    Multiply,
    #[serde(rename = "/")]
    Divide,
}

impl Operator {
    fn parse(token: &str) -> Option<Self> {
        match token {
            "+" => Some(Self::Add),
            "-" => Some(Self::Subtract),
            "*" => Some(Self::Multiply),
            "/" => Some(Self::Divide),
            _ => None,
        }
    }

    fn symbol(self) -> char {
        match self {
            Self::Add => '+',
            Self::Subtract => '-',
            Self::Multiply => '*',
            Self::Divide => '/',
        }
    }

    /// `left op right` if its magnitude is at most `bound`, or why it cannot be computed.
    fn apply(self, left: i64, right: i64, bound: u64) -> Result<i64, String> {
        let result = match self {
            Self::Add => left.checked_add(right),
            Self::Subtract => left.checked_sub(right),
            Self::Multiply => left.checked_mul(right),
            Self::Divide if right == 0 => return Err(format!("{left} / 0 divides by zero")),
            Self::Divide => left.checked_div(right),
        };
        result
            .filter(|value| value.unsigned_abs() <= bound)
            .ok_or(format!("{left} {} {right} is out of range (beyond {bound})", self.symbol()))
    }
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct PushArgs {
    /// The number to push.
    value: i64,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ApplyArgs {
    /// The operator: "+", "-", "*" or "/".
    op: Operator,
}

/// The value of an RPN expression whose numbers and intermediate values are at most `bound` in
/// magnitude, or why it has none.
fn evaluate(tokens: &[String], bound: u64) -> Result<i64, String> {
    let mut stack: Vec<i64> = Vec::new();
    for token in tokens {
        if let Some(op) = Operator::parse(token) {
            let (Some(right), Some(left)) = (stack.pop(), stack.pop()) else {
                return Err(format!("operator {token} lacks operands"));
            };
            stack.push(op.apply(left, right, bound)?);
        } else {
            let value: i64 =
                token.parse().map_err(|_| format!("token {token:?} is not a number or operator"))?;
            if value.unsigned_abs() > bound {
                return Err(format!("number {value} is out of range"));
            }
            stack.push(value);
        }
    }
    match stack[..] {
        [value] => Ok(value),
        _ => Err(format!("the expression leaves {} values on the stack instead of 1", stack.len())),
    }
}

impl Environment for EvaluateRpn {
    type Config = Config;
    type Answer = i64;

    const META: Meta = Meta {
        name: "evaluate-rpn",
        version: env!("CARGO_PKG_VERSION"),
        description: "Evaluate a hidden Reverse Polish Notation expression with an operand stack \
                      (LeetCode 150 Evaluate Reverse Polish Notation).",
        category: "parsing",
    };

    fn sample_config(seed: u64, difficulty: u32) -> Config {
        let mut rng = config_rng(seed, difficulty);
        let operands = scale(difficulty, 3, 17);
        let largest = scale(difficulty, 9, 99) as i64;
        for _ in 0..200 {
            let mut tokens = Vec::new();
            let (mut pushed, mut depth) = (0, 0);
            while tokens.len() < 2 * operands - 1 {
                // Push while operands remain, sometimes even when an operator could apply.
                if pushed < operands && (depth < 2 || rng.random_bool(0.5)) {
                    let value = rng.random_range(-largest / 4..=largest);
                    tokens.push(value.to_string());
                    pushed += 1;
                    depth += 1;
                } else {
                    let op = ["+", "-", "*", "/", "+", "-", "*"][rng.random_range(0..7)];
                    tokens.push(op.to_owned());
                    depth -= 1;
                }
            }
            // Keep expressions whose values all stay small, like LeetCode's 32-bit guarantee.
            if evaluate(&tokens, 1 << 31).is_ok() {
                return Config { tokens };
            }
        }
        Config { tokens: ["3", "4", "+"].map(str::to_owned).to_vec() }
    }

    fn reset(config: Config) -> Result<Self, String> {
        if !(1..=MAX_TOKENS).contains(&config.tokens.len()) {
            return Err(format!("there must be between 1 and {MAX_TOKENS} tokens"));
        }
        evaluate(&config.tokens, MAX_ABS)?;
        Ok(Self { tokens: config.tokens, stack: Vec::new() })
    }

    fn task(&self) -> String {
        format!(
            "An arithmetic expression of {} tokens in Reverse Polish Notation is hidden from \
             you: each token is an integer or one of the operators + - * /, and an operator \
             applies to the two values before it. Division truncates toward zero. Evaluate it. \
             TokenCount and Token read the tokens. An operand stack, empty at first, is kept \
             for you: Push, Pop and Peek, and Apply pops the right operand, then the left one, \
             and pushes `left op right`. Submit the value with Done, e.g. {{\"answer\": 9}}.",
            self.tokens.len()
        )
    }

    fn observe(&self) -> String {
        format!("Tokens: {}. Stack size: {}.", self.tokens.len(), self.stack.len())
    }

    fn tools(tools: &mut Tools<Self>) {
        tools
            .add("TokenCount", "Return the number of tokens.", |env: &mut Self, _: NoArgs| {
                format!("{} tokens", env.tokens.len())
            })
            .add(
                "Token",
                "Return the token at `index`, as `token index = text`.",
                |env: &mut Self, args: IndexArgs| match env.tokens.get(args.index) {
                    Some(token) => Ok(format!("token {} = {token}", args.index)),
                    None => {
                        Err(format!("index {} is out of range ({} tokens)", args.index, env.tokens.len()))
                    }
                },
            )
            .add("Push", "Push `value` onto the stack.", |env: &mut Self, args: PushArgs| {
                // No expression needs more stack slots than it has tokens.
                if env.stack.len() >= env.tokens.len() {
                    return Err(format!("the stack is full ({} values)", env.stack.len()));
                }
                env.stack.push(args.value);
                Ok(format!("Pushed {}; stack size {}.", args.value, env.stack.len()))
            })
            .add("Pop", "Remove the top value of the stack and return it.", |env: &mut Self, _: NoArgs| {
                match env.stack.pop() {
                    Some(value) => Ok(format!("Popped {value}; stack size {}.", env.stack.len())),
                    None => Err("the stack is empty"),
                }
            })
            .add(
                "Peek",
                "Return the top value of the stack without removing it.",
                |env: &mut Self, _: NoArgs| match env.stack.last() {
                    Some(value) => Ok(format!("top = {value}; stack size {}.", env.stack.len())),
                    None => Err("the stack is empty"),
                },
            )
            .add(
                "Apply",
                "Pop the right operand, then the left operand, and push `left op right`.",
                |env: &mut Self, args: ApplyArgs| {
                    let [.., left, right] = env.stack[..] else {
                        return Err(format!("{} needs two values on the stack", args.op.symbol()));
                    };
                    // On an error the stack is left unchanged.
                    let result = args.op.apply(left, right, MAX_ABS)?;
                    env.stack.truncate(env.stack.len() - 2);
                    env.stack.push(result);
                    Ok(format!(
                        "{left} {} {right} = {result}; stack size {}.",
                        args.op.symbol(),
                        env.stack.len()
                    ))
                },
            );
    }

    fn reference_answer(&self) -> i64 {
        evaluate(&self.tokens, MAX_ABS).unwrap_or(0)
    }
}

/// Token by token: push numbers, apply operators, then read the top of the stack.
pub struct EvaluateRpnOracle;

impl Oracle for EvaluateRpnOracle {
    async fn solve(agent: Agent, _task: String) {
        let count = first_int(&agent.call("TokenCount", NoArgs {}).await).unwrap_or(0);
        for index in 0..count {
            let read = agent.call("Token", serde_json::json!({ "index": index })).await;
            let token = read.split(" = ").nth(1).unwrap_or("").trim();
            match token.parse::<i64>() {
                Ok(value) => agent.call("Push", serde_json::json!({ "value": value })).await,
                Err(_) => agent.call("Apply", serde_json::json!({ "op": token })).await,
            };
        }
        let top = first_int(&agent.call("Peek", NoArgs {}).await).unwrap_or(0);
        agent.done(top).await;
    }
}

export_env!(EvaluateRpn, EvaluateRpnOracle);

#[cfg(test)]
mod tests {
    use codegym_env_sdk::{Session, ToolCall, testing};

    use super::*;

    const CONFIG: &str =
        r#"{"tokens": ["10", "6", "9", "3", "+", "-11", "*", "/", "*", "17", "+", "5", "+"]}"#;

    #[test]
    fn oracle_solves_every_difficulty() {
        testing::check_environment::<EvaluateRpn, EvaluateRpnOracle>(10);
    }

    #[test]
    fn stack_tools_work_and_reject_bad_input() {
        let mut session = testing::session::<EvaluateRpn>(CONFIG);
        let mut step = |name: &str, args: &str| session.step(&ToolCall::new(name, args)).observation;
        assert_eq!(step("TokenCount", "{}"), "13 tokens");
        assert_eq!(step("Token", r#"{"index": 5}"#), "token 5 = -11");
        assert_eq!(step("Token", r#"{"index": 7}"#), "token 7 = /");
        assert!(step("Apply", r#"{"op": "+"}"#).starts_with("Error:"));
        assert_eq!(step("Push", r#"{"value": 7}"#), "Pushed 7; stack size 1.");
        assert_eq!(step("Push", r#"{"value": -2}"#), "Pushed -2; stack size 2.");
        assert_eq!(step("Apply", r#"{"op": "/"}"#), "7 / -2 = -3; stack size 1.");
        assert_eq!(step("Push", r#"{"value": 0}"#), "Pushed 0; stack size 2.");
        assert!(step("Apply", r#"{"op": "/"}"#).starts_with("Error:"));
        assert_eq!(step("Peek", "{}"), "top = 0; stack size 2.");
        assert_eq!(step("Pop", "{}"), "Popped 0; stack size 1.");
        for (name, args) in [
            ("Token", r#"{"index": 13}"#),
            ("Apply", r#"{"op": "%"}"#),
            ("Apply", r#"{"op": "+"}"#),
            ("Push", r#"{"value": "x"}"#),
        ] {
            assert!(step(name, args).starts_with("Error:"), "{name} {args}");
        }
        step("Pop", "{}");
        assert!(step("Pop", "{}").starts_with("Error:"));
        assert_eq!(step("Observe", "{}"), "Tokens: 13. Stack size: 0.");
    }

    #[test]
    fn answers_are_graded_and_configs_validated() {
        assert_eq!(testing::session::<EvaluateRpn>(CONFIG).reference_answer(), "22");
        let step = testing::session::<EvaluateRpn>(CONFIG).step(&ToolCall::new("Done", r#"{"answer": 22}"#));
        assert!(step.done && step.reward == 1.0);
        let mut session = Session::<EvaluateRpn>::new();
        assert!(session.reset(r#"{"tokens": []}"#).is_err());
        assert!(session.reset(r#"{"tokens": ["1", "+"]}"#).is_err());
        assert!(session.reset(r#"{"tokens": ["1", "2"]}"#).is_err());
        assert!(session.reset(r#"{"tokens": ["1", "0", "/"]}"#).is_err());
        assert!(session.reset(r#"{"tokens": ["1", "x", "+"]}"#).is_err());
    }
}
