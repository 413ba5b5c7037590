//! Maximum of every window of k consecutive elements of a hidden array, with a monotonic
//! deque (LeetCode 239 "Sliding Window Maximum").
//!
//! The reference solution keeps a deque of indices whose values decrease from front to back.
//! For each new index `i` it drops smaller-or-equal values from the back (`Back`, `PopBack`),
//! appends `i` (`PushBack`), drops the front if it slid out of the window (`Front`,
//! `PopFront`), and once the first window is complete the front holds the window's maximum.
//! The deque is kept by the environment; elements are read with `Get`.

use std::collections::VecDeque;

use codegym_env_sdk::prelude::*;

/// Longest array a config may hold (also the deque capacity).
const MAX_LEN: usize = 1_000;

#[derive(Serialize, Deserialize)]
pub struct Config {
    pub array: Vec<i64>,
    /// The window size, between 1 and the array length.
    pub k: usize,
}

pub struct SlidingWindowMaximum {
    config: Config,
    /// The agent's deque of indices.
    deque: VecDeque<usize>,
    reads: u32,
}

impl SlidingWindowMaximum {
    fn check(&self, index: usize) -> Result<(), String> {
        if index < self.config.array.len() {
            Ok(())
        } else {
            Err(format!("index {index} is out of range (length {})", self.config.array.len()))
        }
    }

    fn size(&self) -> String {
        format!("deque size {}", self.deque.len())
    }
}

impl Environment for SlidingWindowMaximum {
    type Config = Config;
    type Answer = Vec<i64>;

    const META: Meta = Meta {
        name: "sliding-window-maximum",
        version: env!("CARGO_PKG_VERSION"),
        description: "Maximum of every window of k consecutive elements of a hidden array, with a \
                      monotonic deque (LeetCode 239 Sliding Window Maximum).",
        category: "stacks-and-queues",
    };

    fn sample_config(seed: u64, difficulty: u32) -> Config {
        let mut rng = config_rng(seed, difficulty);
        let len = scale(difficulty, 4, 18);
        let k = rng.random_range(2..=scale(difficulty, 3, 6) as u32) as usize;
        let range = scale(difficulty, 20, 99) as i64;
        Config { array: (0..len).map(|_| rng.random_range(-range..=range)).collect(), k }
    }

    fn reset(config: Config) -> Result<Self, String> {
        let len = config.array.len();
        if !(1..=MAX_LEN).contains(&len) {
            return Err(format!("array length must be between 1 and {MAX_LEN}"));
        }
        if !(1..=len).contains(&config.k) {
            return Err(format!("the window size k must be between 1 and the length {len}"));
        }
        Ok(Self { config, deque: VecDeque::new(), reads: 0 })
    }

    fn task(&self) -> String {
        format!(
            "An array of {} integers is hidden from you. For every window of k = {} consecutive \
             elements, from the window starting at index 0 to the one ending at the last index, \
             find the window's maximum. Read elements with Get. A deque of indices, empty at \
             first, is kept for you: PushBack, PopBack, PopFront, and Front / Back to read its \
             ends. Submit the {} maxima in order with Done, e.g. {{\"answer\": [3, 3, 5]}}.",
            self.config.array.len(),
            self.config.k,
            self.config.array.len() + 1 - self.config.k
        )
    }

    fn observe(&self) -> String {
        format!(
            "Array length: {}. Window size k: {}. Elements read so far: {}. Deque size: {}.",
            self.config.array.len(),
            self.config.k,
            self.reads,
            self.deque.len()
        )
    }

    fn tools(tools: &mut Tools<Self>) {
        tools
            .add(
                "Get",
                "Return the array element at `index`, as `a[index] = value`.",
                |env: &mut Self, args: IndexArgs| {
                    env.check(args.index)?;
                    env.reads += 1;
                    Ok::<_, String>(format!("a[{}] = {}", args.index, env.config.array[args.index]))
                },
            )
            .add(
                "PushBack",
                "Append an array `index` at the back of the deque.",
                |env: &mut Self, args: IndexArgs| {
                    env.check(args.index)?;
                    if env.deque.len() >= env.config.array.len() {
                        return Err(format!("the deque is full ({} indices)", env.deque.len()));
                    }
                    env.deque.push_back(args.index);
                    Ok(format!("Pushed index {} at the back; {}.", args.index, env.size()))
                },
            )
            .add("PopBack", "Remove the index at the back of the deque.", |env: &mut Self, _: NoArgs| {
                match env.deque.pop_back() {
                    Some(index) => Ok(format!("Popped index {index} from the back; {}.", env.size())),
                    None => Err("the deque is empty".to_owned()),
                }
            })
            .add("PopFront", "Remove the index at the front of the deque.", |env: &mut Self, _: NoArgs| {
                match env.deque.pop_front() {
                    Some(index) => Ok(format!("Popped index {index} from the front; {}.", env.size())),
                    None => Err("the deque is empty".to_owned()),
                }
            })
            .add(
                "Front",
                "Return the index at the front of the deque without removing it.",
                |env: &mut Self, _: NoArgs| match env.deque.front() {
                    Some(index) => format!("front = index {index}"),
                    None => "The deque is empty.".to_owned(),
                },
            )
            .add(
                "Back",
                "Return the index at the back of the deque without removing it.",
                |env: &mut Self, _: NoArgs| match env.deque.back() {
                    Some(index) => format!("back = index {index}"),
                    None => "The deque is empty.".to_owned(),
                },
            );
    }

    fn reference_answer(&self) -> Vec<i64> {
        let Config { array, k } = &self.config;
        array.windows(*k).filter_map(|window| window.iter().max().copied()).collect()
    }
}

/// The monotonic-deque scan. The oracle remembers the deque it built (as an agent would) and
/// reads the front from the environment for each window's maximum.
pub struct SlidingWindowMaximumOracle;

impl Oracle for SlidingWindowMaximumOracle {
    async fn solve(agent: Agent, task: String) {
        let numbers = ints(&task);
        let (len, k) = match numbers.as_slice() {
            [len, k, ..] => (*len as usize, *k as usize),
            _ => (0, 1),
        };
        let mut values = Vec::with_capacity(len);
        let mut deque: VecDeque<usize> = VecDeque::new();
        let mut maxima = Vec::new();
        for index in 0..len {
            let read = agent.call("Get", serde_json::json!({ "index": index })).await;
            let value = ints(&read).last().copied().unwrap_or(0);
            values.push(value);
            while deque.back().is_some_and(|&back| values[back] <= value) {
                agent.call("PopBack", NoArgs {}).await;
                deque.pop_back();
            }
            agent.call("PushBack", serde_json::json!({ "index": index })).await;
            deque.push_back(index);
            if deque.front().is_some_and(|&front| front + k <= index) {
                agent.call("PopFront", NoArgs {}).await;
                deque.pop_front();
            }
            if index + 1 >= k {
                let front = first_int(&agent.call("Front", NoArgs {}).await).unwrap_or(0);
                maxima.push(values.get(front as usize).copied().unwrap_or(0));
            }
        }
        agent.done(maxima).await;
    }
}

export_env!(SlidingWindowMaximum, SlidingWindowMaximumOracle);

#[cfg(test)]
mod tests {
    use codegym_env_sdk::{Session, ToolCall, testing};

    use super::*;

    const CONFIG: &str = r#"{"array": [1, 3, -1, -3, 5, 3, 6, 7], "k": 3}"#;

    #[test]
    fn oracle_solves_every_difficulty() {
        testing::check_environment::<SlidingWindowMaximum, SlidingWindowMaximumOracle>(10);
    }

    #[test]
    fn tools_drive_a_deque_and_reject_bad_input() {
        let mut session = testing::session::<SlidingWindowMaximum>(CONFIG);
        let mut step = |name: &str, args: &str| session.step(&ToolCall::new(name, args)).observation;
        assert_eq!(step("Front", "{}"), "The deque is empty.");
        assert_eq!(step("Get", r#"{"index": 2}"#), "a[2] = -1");
        assert_eq!(step("PushBack", r#"{"index": 1}"#), "Pushed index 1 at the back; deque size 1.");
        assert_eq!(step("PushBack", r#"{"index": 2}"#), "Pushed index 2 at the back; deque size 2.");
        assert_eq!(step("Front", "{}"), "front = index 1");
        assert_eq!(step("Back", "{}"), "back = index 2");
        assert_eq!(step("PopFront", "{}"), "Popped index 1 from the front; deque size 1.");
        assert_eq!(step("PopBack", "{}"), "Popped index 2 from the back; deque size 0.");
        assert_eq!(
            step("Observe", "{}"),
            "Array length: 8. Window size k: 3. Elements read so far: 1. Deque size: 0."
        );
        for (name, args) in [
            ("PopBack", "{}"),
            ("PopFront", "{}"),
            ("Get", r#"{"index": 8}"#),
            ("PushBack", r#"{"index": 8}"#),
            ("PushBack", r#"{}"#),
        ] {
            assert!(step(name, args).starts_with("Error:"), "{name} {args}");
        }
    }

    #[test]
    fn answers_are_graded_and_configs_validated() {
        assert_eq!(testing::session::<SlidingWindowMaximum>(CONFIG).reference_answer(), "[3,3,5,5,6,7]");
        let step = testing::session::<SlidingWindowMaximum>(CONFIG)
            .step(&ToolCall::new("Done", r#"{"answer": [3, 3, 5, 5, 6, 6]}"#));
        assert!(step.done && step.reward == 0.0);
        let step = testing::session::<SlidingWindowMaximum>(CONFIG)
            .step(&ToolCall::new("Done", r#"{"answer": [3, 3, 5, 5, 6, 7]}"#));
        assert!(step.done && step.reward == 1.0);
        let mut session = Session::<SlidingWindowMaximum>::new();
        assert!(session.reset(r#"{"array": [1, 2], "k": 3}"#).is_err());
        assert!(session.reset(r#"{"array": [1, 2], "k": 0}"#).is_err());
        assert!(session.reset(r#"{"array": [], "k": 1}"#).is_err());
    }
}
