//! Largest sum of a contiguous subarray of a hidden array, by Kadane's algorithm (LeetCode 53
//! "Maximum Subarray").
//!
//! The reference solution scans once with two registers: `current`, the best sum of a
//! subarray ending at the element just read, and `best`, the largest `current` so far. Each
//! step adds the element to `current`, raises `best` to `current` if it is larger, and
//! resets `current` to 0 when it drops below 0 (a negative prefix never helps). The
//! registers live in the environment: `AddToCurrent`, `UpdateBest`, `ResetCurrent`, and
//! `Registers` to read them.

use codegym_env_sdk::prelude::*;

/// Longest array a config may hold.
const MAX_LEN: usize = 10_000;
/// Largest magnitude of an element.
const MAX_VALUE: i64 = 1_000_000_000;

#[derive(Serialize, Deserialize)]
pub struct Config {
    pub array: Vec<i64>,
}

pub struct MaximumSubarray {
    array: Vec<i64>,
    current: i64,
    /// `None` until the first `UpdateBest`.
    best: Option<i64>,
    additions: u32,
}

impl MaximumSubarray {
    fn check(&self, index: usize) -> Result<(), String> {
        if index < self.array.len() {
            Ok(())
        } else {
            Err(format!("index {index} is out of range (length {})", self.array.len()))
        }
    }

    fn best(&self) -> String {
        self.best.map_or_else(|| "none".to_owned(), |best| best.to_string())
    }
}

impl Environment for MaximumSubarray {
    type Config = Config;
    type Answer = i64;

    const META: Meta = Meta {
        name: "maximum-subarray",
        version: env!("CARGO_PKG_VERSION"),
        description: "Largest sum of a non-empty contiguous subarray of a hidden array, by \
                      Kadane's algorithm (LeetCode 53 Maximum Subarray).",
        category: "arrays",
    };

    fn sample_config(seed: u64, difficulty: u32) -> Config {
        let mut rng = config_rng(seed, difficulty);
        let len = scale(difficulty, 5, 50);
        let range = scale(difficulty, 9, 99) as i64;
        // Slightly more negative than positive values, so that resets happen.
        let array = (0..len).map(|_| rng.random_range(-range..=range * 4 / 5)).collect();
        Config { array }
    }

    fn reset(config: Config) -> Result<Self, String> {
        if !(1..=MAX_LEN).contains(&config.array.len()) {
            return Err(format!("array length must be between 1 and {MAX_LEN}"));
        }
        if config.array.iter().any(|value| !(-MAX_VALUE..=MAX_VALUE).contains(value)) {
            return Err(format!("elements must be between -{MAX_VALUE} and {MAX_VALUE}"));
        }
        Ok(Self { array: config.array, current: 0, best: None, additions: 0 })
    }

    fn task(&self) -> String {
        format!(
            "An array of {} integers is hidden from you. Find the largest sum of a non-empty \
             contiguous subarray. Get reads an element and Length gives the size. Two \
             registers are kept for you, current (at first 0) and best (at first none): \
             AddToCurrent adds an element to current, ResetCurrent sets current to 0, \
             UpdateBest sets best to current if that is larger (or best is none), and \
             Registers shows both. Submit the sum with Done, e.g. {{\"answer\": 23}}.",
            self.array.len()
        )
    }

    fn observe(&self) -> String {
        format!(
            "Array length: {}. Elements added so far: {}. Registers: current = {}, best = {}.",
            self.array.len(),
            self.additions,
            self.current,
            self.best()
        )
    }

    fn tools(tools: &mut Tools<Self>) {
        tools
            .add("Length", "Return the number of elements in the array.", |env: &mut Self, _: NoArgs| {
                format!("The array has {} elements.", env.array.len())
            })
            .add(
                "Get",
                "Return the array element at `index`, as `a[index] = value`.",
                |env: &mut Self, args: IndexArgs| {
                    env.check(args.index)?;
                    Ok::<_, String>(format!("a[{}] = {}", args.index, env.array[args.index]))
                },
            )
            .add(
                "AddToCurrent",
                "Add the element at `index` to the current register.",
                |env: &mut Self, args: IndexArgs| {
                    env.check(args.index)?;
                    env.current = env
                        .current
                        .checked_add(env.array[args.index])
                        .ok_or("the current register would overflow")?;
                    env.additions += 1;
                    Ok::<_, String>(format!("Added a[{}]: current = {}.", args.index, env.current))
                },
            )
            .add("ResetCurrent", "Set the current register to 0.", |env: &mut Self, _: NoArgs| {
                env.current = 0;
                "current = 0."
            })
            .add(
                "UpdateBest",
                "Set the best register to the current register if that is larger, or if best is \
                 none.",
                |env: &mut Self, _: NoArgs| {
                    if env.best.is_none_or(|best| env.current > best) {
                        env.best = Some(env.current);
                    }
                    format!("best = {}.", env.best())
                },
            )
            .add("Registers", "Return the current and best registers.", |env: &mut Self, _: NoArgs| {
                format!("current = {}, best = {}.", env.current, env.best())
            });
    }

    fn reference_answer(&self) -> i64 {
        let (mut current, mut best) = (0i64, i64::MIN);
        for &value in &self.array {
            current += value;
            best = best.max(current);
            current = current.max(0);
        }
        best
    }
}

/// Kadane's scan, calling a register tool only when it changes something.
pub struct MaximumSubarrayOracle;

impl Oracle for MaximumSubarrayOracle {
    async fn solve(agent: Agent, _task: String) {
        let len = first_int(&agent.call("Length", NoArgs {}).await).unwrap_or(0);
        let mut best: Option<i64> = None;
        for index in 0..len {
            let added = agent.call("AddToCurrent", serde_json::json!({ "index": index })).await;
            let current = ints(&added).last().copied().unwrap_or(0);
            if best.is_none_or(|best| current > best) {
                agent.call("UpdateBest", NoArgs {}).await;
                best = Some(current);
            }
            if current < 0 {
                agent.call("ResetCurrent", NoArgs {}).await;
            }
        }
        agent.done(best.unwrap_or(0)).await;
    }
}

export_env!(MaximumSubarray, MaximumSubarrayOracle);

#[cfg(test)]
mod tests {
    use codegym_env_sdk::{Session, ToolCall, testing};

    use super::*;

    const CONFIG: &str = r#"{"array": [-2, 1, -3, 4, -1, 2, 1, -5, 4]}"#;

    #[test]
    fn oracle_solves_every_difficulty() {
        testing::check_environment::<MaximumSubarray, MaximumSubarrayOracle>(10);
    }

    #[test]
    fn tools_drive_the_registers() {
        let mut session = testing::session::<MaximumSubarray>(CONFIG);
        let mut step = |name: &str, args: &str| session.step(&ToolCall::new(name, args)).observation;
        assert_eq!(step("Registers", "{}"), "current = 0, best = none.");
        assert_eq!(step("AddToCurrent", r#"{"index": 0}"#), "Added a[0]: current = -2.");
        assert_eq!(step("UpdateBest", "{}"), "best = -2.");
        assert_eq!(step("ResetCurrent", "{}"), "current = 0.");
        assert_eq!(step("AddToCurrent", r#"{"index": 3}"#), "Added a[3]: current = 4.");
        assert_eq!(step("AddToCurrent", r#"{"index": 4}"#), "Added a[4]: current = 3.");
        assert_eq!(step("UpdateBest", "{}"), "best = 3.");
        assert_eq!(step("Get", r#"{"index": 8}"#), "a[8] = 4");
        for (name, args) in [
            ("Get", r#"{"index": 9}"#),
            ("AddToCurrent", r#"{"index": 9}"#),
            ("AddToCurrent", r#"{"index": "x"}"#),
            ("UpdateBest", r#"{"value": 3}"#),
        ] {
            assert!(step(name, args).starts_with("Error:"), "{name} {args}");
        }
        assert_eq!(
            step("Observe", "{}"),
            "Array length: 9. Elements added so far: 3. Registers: current = 3, best = 3."
        );
    }

    #[test]
    fn answers_are_graded_and_configs_validated() {
        assert_eq!(testing::session::<MaximumSubarray>(CONFIG).reference_answer(), "6");
        let all_negative = r#"{"array": [-3, -1, -2]}"#;
        assert_eq!(testing::session::<MaximumSubarray>(all_negative).reference_answer(), "-1");
        assert_eq!(
            testing::run_oracle_on::<MaximumSubarray, MaximumSubarrayOracle>(all_negative).reward,
            1.0
        );
        let step =
            testing::session::<MaximumSubarray>(CONFIG).step(&ToolCall::new("Done", r#"{"answer": 7}"#));
        assert!(step.done && step.reward == 0.0);
        let step =
            testing::session::<MaximumSubarray>(CONFIG).step(&ToolCall::new("Done", r#"{"answer": 6}"#));
        assert!(step.done && step.reward == 1.0);
        assert!(Session::<MaximumSubarray>::new().reset(r#"{"array": []}"#).is_err());
        assert!(Session::<MaximumSubarray>::new().reset(r#"{"array": [1, 5000000000]}"#).is_err());
    }
}
