//! Longest run of consecutive integers in a hidden unsorted array (LeetCode 128 "Longest
//! Consecutive Sequence").
//!
//! The O(n) reference solution puts every element in a hash set, then starts a count only at
//! values `v` whose predecessor `v - 1` is absent, walking `v + 1, v + 2, ...` while they are
//! present. The agent reads elements with `Get`, and the hash set is kept by the environment:
//! `Insert` and `Contains` are the two set operations of that solution, and `Remove` allows the
//! variant that deletes values as it grows a run in both directions.

use std::collections::BTreeSet;

use codegym_env_sdk::prelude::*;

/// Longest array a config may hold, and most values the scratch set holds.
const MAX_LEN: usize = 1_000;
/// Largest magnitude of an element, so that `v - 1` and `v + 1` never overflow.
const MAX_ABS: i64 = 1_000_000_000;

#[derive(Serialize, Deserialize)]
pub struct Config {
    /// Unsorted integers, duplicates allowed.
    pub array: Vec<i64>,
}

pub struct LongestConsecutiveSequence {
    array: Vec<i64>,
    /// The agent's scratch hash set.
    set: BTreeSet<i64>,
    reads: u32,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ValueArgs {
    /// The integer to insert, look up or remove.
    value: i64,
}

fn longest_run(array: &[i64]) -> i64 {
    let set: BTreeSet<i64> = array.iter().copied().collect();
    let mut best = 0;
    for &start in set.iter().filter(|&&v| !set.contains(&(v - 1))) {
        let mut end = start;
        while set.contains(&(end + 1)) {
            end += 1;
        }
        best = best.max(end - start + 1);
    }
    best
}

impl Environment for LongestConsecutiveSequence {
    type Config = Config;
    type Answer = i64;

    const META: Meta = Meta {
        name: "longest-consecutive-sequence",
        version: env!("CARGO_PKG_VERSION"),
        description: "Length of the longest run of consecutive integers in a hidden unsorted \
                      array, with a hash set (LeetCode 128 Longest Consecutive Sequence).",
        category: "hashing",
    };

    fn sample_config(seed: u64, difficulty: u32) -> Config {
        let mut rng = config_rng(seed, difficulty);
        let len = scale(difficulty, 4, 18);
        // Values from a window about 1.5 times the length: runs of several values form, with
        // gaps between them, and a few duplicates.
        let span = (len + len / 2) as i64;
        let base = rng.random_range(-100..=100);
        let array = (0..len).map(|_| base + rng.random_range(0..span)).collect();
        Config { array }
    }

    fn reset(config: Config) -> Result<Self, String> {
        if !(1..=MAX_LEN).contains(&config.array.len()) {
            return Err(format!("array length must be between 1 and {MAX_LEN}"));
        }
        if config.array.iter().any(|v| v.abs() > MAX_ABS) {
            return Err(format!("elements must lie between -{MAX_ABS} and {MAX_ABS}"));
        }
        Ok(Self { array: config.array, set: BTreeSet::new(), reads: 0 })
    }

    fn task(&self) -> String {
        format!(
            "An unsorted array of {} integers is hidden from you. Find the length of the \
             longest run of consecutive integers whose values all occur in the array (e.g. \
             [100, 4, 200, 1, 3, 2] gives 4, for 1, 2, 3, 4). Read elements with Get (Length \
             gives the size). A hash set of integers, empty at first, is kept for you: Insert, \
             Contains and Remove. Submit the length with Done, e.g. {{\"answer\": 4}}.",
            self.array.len()
        )
    }

    fn observe(&self) -> String {
        format!(
            "Array length: {}. Elements read so far: {}. Hash set size: {}.",
            self.array.len(),
            self.reads,
            self.set.len()
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
                |env: &mut Self, args: IndexArgs| match env.array.get(args.index) {
                    Some(value) => {
                        env.reads += 1;
                        Ok(format!("a[{}] = {value}", args.index))
                    }
                    None => Err(format!("index {} is out of range (length {})", args.index, env.array.len())),
                },
            )
            .add("Insert", "Insert `value` into the hash set.", |env: &mut Self, args: ValueArgs| {
                if env.set.contains(&args.value) {
                    return Ok(format!("{} is already in the set (size {}).", args.value, env.set.len()));
                }
                if env.set.len() >= MAX_LEN {
                    return Err(format!("the set is full ({MAX_LEN} values)"));
                }
                env.set.insert(args.value);
                Ok(format!("Inserted {} (size {}).", args.value, env.set.len()))
            })
            .add("Contains", "Whether `value` is in the hash set.", |env: &mut Self, args: ValueArgs| {
                let verdict = if env.set.contains(&args.value) { "is" } else { "is not" };
                format!("{} {verdict} in the set.", args.value)
            })
            .add(
                "Remove",
                "Remove `value` from the hash set (if present).",
                |env: &mut Self, args: ValueArgs| {
                    if env.set.remove(&args.value) {
                        format!("Removed {} (size {}).", args.value, env.set.len())
                    } else {
                        format!("{} was not in the set (size {}).", args.value, env.set.len())
                    }
                },
            );
    }

    fn reference_answer(&self) -> i64 {
        longest_run(&self.array)
    }
}

/// Fill the set, then count a run from every value whose predecessor is absent.
pub struct LongestConsecutiveSequenceOracle;

impl Oracle for LongestConsecutiveSequenceOracle {
    async fn solve(agent: Agent, _task: String) {
        let len = first_int(&agent.call("Length", NoArgs {}).await).unwrap_or(0);
        let mut values: Vec<i64> = Vec::new();
        for index in 0..len {
            let read = agent.call("Get", serde_json::json!({ "index": index })).await;
            let Some(&value) = ints(&read).last() else { break };
            agent.call("Insert", serde_json::json!({ "value": value })).await;
            if !values.contains(&value) {
                values.push(value);
            }
        }
        let contains = async |value: i64| {
            let observation = agent.call("Contains", serde_json::json!({ "value": value })).await;
            !observation.contains("is not")
        };
        let mut best = 0;
        for &start in &values {
            if contains(start.saturating_sub(1)).await {
                continue;
            }
            let mut end = start;
            while end < start.saturating_add(len) && contains(end.saturating_add(1)).await {
                end += 1;
            }
            best = best.max(end - start + 1);
        }
        agent.done(best).await;
    }
}

export_env!(LongestConsecutiveSequence, LongestConsecutiveSequenceOracle);

#[cfg(test)]
mod tests {
    use codegym_env_sdk::{Session, ToolCall, testing};

    use super::*;

    const CONFIG: &str = r#"{"array": [100, 4, 200, 1, 3, 2, 4]}"#;

    #[test]
    fn oracle_solves_every_difficulty() {
        testing::check_environment::<LongestConsecutiveSequence, LongestConsecutiveSequenceOracle>(10);
    }

    #[test]
    fn tools_keep_a_set_and_reject_bad_input() {
        let mut session = testing::session::<LongestConsecutiveSequence>(CONFIG);
        let mut step = |name: &str, args: &str| session.step(&ToolCall::new(name, args)).observation;
        assert_eq!(step("Length", "{}"), "7");
        assert_eq!(step("Get", r#"{"index": 1}"#), "a[1] = 4");
        assert_eq!(step("Insert", r#"{"value": 4}"#), "Inserted 4 (size 1).");
        assert_eq!(step("Insert", r#"{"value": 4}"#), "4 is already in the set (size 1).");
        assert_eq!(step("Contains", r#"{"value": 4}"#), "4 is in the set.");
        assert_eq!(step("Contains", r#"{"value": 5}"#), "5 is not in the set.");
        assert_eq!(step("Remove", r#"{"value": 4}"#), "Removed 4 (size 0).");
        assert_eq!(step("Remove", r#"{"value": 4}"#), "4 was not in the set (size 0).");
        assert_eq!(step("Observe", "{}"), "Array length: 7. Elements read so far: 1. Hash set size: 0.");
        for (name, args) in
            [("Get", r#"{"index": 7}"#), ("Get", r#"{"index": -1}"#), ("Insert", r#"{"value": "x"}"#)]
        {
            assert!(step(name, args).starts_with("Error:"), "{name} {args}");
        }
    }

    #[test]
    fn answers_are_graded_and_configs_validated() {
        assert_eq!(testing::session::<LongestConsecutiveSequence>(CONFIG).reference_answer(), "4");
        let step = testing::session::<LongestConsecutiveSequence>(CONFIG)
            .step(&ToolCall::new("Done", r#"{"answer": 3}"#));
        assert!(step.done && step.reward == 0.0);
        let step = testing::session::<LongestConsecutiveSequence>(CONFIG)
            .step(&ToolCall::new("Done", r#"{"answer": 4}"#));
        assert!(step.done && step.reward == 1.0);
        let mut session = Session::<LongestConsecutiveSequence>::new();
        assert!(session.reset(r#"{"array": []}"#).is_err());
        assert!(session.reset(r#"{"array": [9223372036854775807]}"#).is_err());
    }
}
