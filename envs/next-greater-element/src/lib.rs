//! Next greater element of every position of a hidden array, with a monotonic stack
//! (LeetCode 496 / 503 "Next Greater Element", in its single-array form).
//!
//! The reference solution scans left to right keeping a stack of indices whose next greater
//! element is not known yet (their values never increase from bottom to top). For each new
//! element it looks at the top (`Peek`): while the top's value is smaller, that index has
//! found its answer (`Pop`, then `SetResult`). Then the new index is pushed (`Push`). Indices
//! left on the stack have no greater element to their right (-1). The stack and the result
//! array are kept by the environment; `GetResult` reads the result array back.

use codegym_env_sdk::prelude::*;

/// Longest array a config may hold (also the stack capacity).
const MAX_LEN: usize = 1_000;

#[derive(Serialize, Deserialize)]
pub struct Config {
    /// Non-negative integers, so that -1 can mean "no greater element".
    pub array: Vec<i64>,
}

pub struct NextGreaterElement {
    array: Vec<i64>,
    /// The agent's stack of indices.
    stack: Vec<usize>,
    /// The agent's result array, all -1 at first.
    result: Vec<i64>,
    reads: u32,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct SetResultArgs {
    /// Zero-based position in the result array.
    index: usize,
    /// The next greater element of that position, or -1 for none.
    value: i64,
}

impl NextGreaterElement {
    fn check(&self, index: usize) -> Result<(), String> {
        if index < self.array.len() {
            Ok(())
        } else {
            Err(format!("index {index} is out of range (length {})", self.array.len()))
        }
    }
}

fn next_greater(array: &[i64]) -> Vec<i64> {
    (0..array.len()).map(|i| array[i + 1..].iter().copied().find(|&v| v > array[i]).unwrap_or(-1)).collect()
}

impl Environment for NextGreaterElement {
    type Config = Config;
    type Answer = Vec<i64>;

    const META: Meta = Meta {
        name: "next-greater-element",
        version: env!("CARGO_PKG_VERSION"),
        description: "Next greater element to the right of every position of a hidden array, \
                      with a monotonic stack (LeetCode 496/503 Next Greater Element).",
        category: "stacks-and-queues",
    };

    fn sample_config(seed: u64, difficulty: u32) -> Config {
        let mut rng = config_rng(seed, difficulty);
        let len = scale(difficulty, 3, 14);
        let range = scale(difficulty, 20, 99) as i64;
        Config { array: (0..len).map(|_| rng.random_range(1..=range)).collect() }
    }

    fn reset(config: Config) -> Result<Self, String> {
        let len = config.array.len();
        if !(1..=MAX_LEN).contains(&len) {
            return Err(format!("array length must be between 1 and {MAX_LEN}"));
        }
        if config.array.iter().any(|&v| v < 0) {
            return Err("elements must be non-negative".to_owned());
        }
        Ok(Self { array: config.array, stack: Vec::new(), result: vec![-1; len], reads: 0 })
    }

    fn task(&self) -> String {
        format!(
            "An array of {} non-negative integers is hidden from you. For every position i, \
             find the next greater element: the first element to the right of i that is \
             strictly greater than a[i], or -1 if there is none. Read elements with Get (Length \
             gives the size). A stack of indices (Push, Pop, Peek) and a result array of -1s \
             (SetResult, GetResult) are kept for you. Submit the whole result array with Done, \
             e.g. {{\"answer\": [5, 5, -1]}}.",
            self.array.len()
        )
    }

    fn observe(&self) -> String {
        let top = match self.stack.last() {
            Some(index) => format!("top index {index}"),
            None => "empty".to_owned(),
        };
        format!(
            "Array length: {}. Elements read so far: {}. Stack size: {} ({top}). Result entries set \
             (not -1): {}.",
            self.array.len(),
            self.reads,
            self.stack.len(),
            self.result.iter().filter(|&&v| v != -1).count()
        )
    }

    fn tools(tools: &mut Tools<Self>) {
        tools
            .add("Length", "Return the number of elements in the array.", |env: &mut Self, _: NoArgs| {
                format!("{}", env.array.len())
            })
            .add(
                "Get",
                "Return the array element at `index`, as `a[index] = value`.",
                |env: &mut Self, args: IndexArgs| {
                    env.check(args.index)?;
                    env.reads += 1;
                    Ok::<_, String>(format!("a[{}] = {}", args.index, env.array[args.index]))
                },
            )
            .add("Push", "Push an array `index` onto the stack.", |env: &mut Self, args: IndexArgs| {
                env.check(args.index)?;
                if env.stack.len() >= env.array.len() {
                    return Err(format!("the stack is full ({} indices)", env.stack.len()));
                }
                env.stack.push(args.index);
                Ok(format!("Pushed index {}; stack size {}.", args.index, env.stack.len()))
            })
            .add("Pop", "Pop the top index off the stack and return it.", |env: &mut Self, _: NoArgs| {
                match env.stack.pop() {
                    Some(index) => Ok(format!("Popped index {index}; stack size {}.", env.stack.len())),
                    None => Err("the stack is empty".to_owned()),
                }
            })
            .add(
                "Peek",
                "Return the index on top of the stack without removing it.",
                |env: &mut Self, _: NoArgs| match env.stack.last() {
                    Some(index) => format!("top = index {index}"),
                    None => "The stack is empty.".to_owned(),
                },
            )
            .add(
                "SetResult",
                "Set `result[index]` to `value` (the next greater element, or -1).",
                |env: &mut Self, args: SetResultArgs| {
                    env.check(args.index)?;
                    env.result[args.index] = args.value;
                    Ok::<_, String>(format!("result[{}] = {}", args.index, args.value))
                },
            )
            .add("GetResult", "Return `result[index]`.", |env: &mut Self, args: IndexArgs| {
                env.check(args.index)?;
                Ok::<_, String>(format!("result[{}] = {}", args.index, env.result[args.index]))
            });
    }

    fn reference_answer(&self) -> Vec<i64> {
        next_greater(&self.array)
    }
}

/// The monotonic-stack scan; the result array is filled in the environment and mirrored here.
pub struct NextGreaterElementOracle;

impl Oracle for NextGreaterElementOracle {
    async fn solve(agent: Agent, _task: String) {
        let len = first_int(&agent.call("Length", NoArgs {}).await).unwrap_or(0).max(0) as usize;
        let mut values = Vec::with_capacity(len);
        let mut result = vec![-1; len];
        for index in 0..len {
            let read = agent.call("Get", serde_json::json!({ "index": index })).await;
            let value = ints(&read).last().copied().unwrap_or(0);
            values.push(value);
            // At most `index` pops can happen before the stack is empty.
            for _ in 0..index {
                let peek = agent.call("Peek", NoArgs {}).await;
                let Some(top) = first_int(&peek).and_then(|top| usize::try_from(top).ok()) else { break };
                if values.get(top).is_none_or(|&below| below >= value) {
                    break;
                }
                agent.call("Pop", NoArgs {}).await;
                agent.call("SetResult", serde_json::json!({ "index": top, "value": value })).await;
                result[top] = value;
            }
            agent.call("Push", serde_json::json!({ "index": index })).await;
        }
        agent.done(result).await;
    }
}

export_env!(NextGreaterElement, NextGreaterElementOracle);

#[cfg(test)]
mod tests {
    use codegym_env_sdk::{Session, ToolCall, testing};

    use super::*;

    const CONFIG: &str = r#"{"array": [2, 1, 2, 4, 3]}"#;

    #[test]
    fn oracle_solves_every_difficulty() {
        testing::check_environment::<NextGreaterElement, NextGreaterElementOracle>(10);
    }

    #[test]
    fn tools_drive_a_stack_and_reject_bad_input() {
        let mut session = testing::session::<NextGreaterElement>(CONFIG);
        let mut step = |name: &str, args: &str| session.step(&ToolCall::new(name, args)).observation;
        assert_eq!(step("Peek", "{}"), "The stack is empty.");
        assert!(step("Pop", "{}").starts_with("Error:"));
        assert_eq!(step("Get", r#"{"index": 3}"#), "a[3] = 4");
        assert_eq!(step("Push", r#"{"index": 0}"#), "Pushed index 0; stack size 1.");
        assert_eq!(step("Push", r#"{"index": 1}"#), "Pushed index 1; stack size 2.");
        assert_eq!(step("Peek", "{}"), "top = index 1");
        assert_eq!(step("Pop", "{}"), "Popped index 1; stack size 1.");
        assert_eq!(step("SetResult", r#"{"index": 1, "value": 2}"#), "result[1] = 2");
        assert_eq!(step("GetResult", r#"{"index": 1}"#), "result[1] = 2");
        assert_eq!(step("GetResult", r#"{"index": 2}"#), "result[2] = -1");
        assert_eq!(
            step("Observe", "{}"),
            "Array length: 5. Elements read so far: 1. Stack size: 1 (top index 0). Result entries set \
             (not -1): 1."
        );
        for (name, args) in [
            ("Get", r#"{"index": 5}"#),
            ("Push", r#"{"index": 9}"#),
            ("SetResult", r#"{"index": 5, "value": 1}"#),
            ("GetResult", r#"{"index": -1}"#),
        ] {
            assert!(step(name, args).starts_with("Error:"), "{name} {args}");
        }
    }

    #[test]
    fn answers_are_graded_and_configs_validated() {
        assert_eq!(testing::session::<NextGreaterElement>(CONFIG).reference_answer(), "[4,2,4,-1,-1]");
        let step = testing::session::<NextGreaterElement>(CONFIG)
            .step(&ToolCall::new("Done", r#"{"answer": [4, 2, 4, -1, 4]}"#));
        assert!(step.done && step.reward == 0.0);
        let step = testing::session::<NextGreaterElement>(CONFIG)
            .step(&ToolCall::new("Done", r#"{"answer": [4, 2, 4, -1, -1]}"#));
        assert!(step.done && step.reward == 1.0);
        let mut session = Session::<NextGreaterElement>::new();
        assert!(session.reset(r#"{"array": []}"#).is_err());
        assert!(session.reset(r#"{"array": [3, -2]}"#).is_err());
    }
}
