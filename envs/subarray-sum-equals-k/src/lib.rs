//! Count the contiguous subarrays of a hidden array that sum to k (LeetCode 560 "Subarray Sum
//! Equals K").
//!
//! The reference solution keeps a running prefix sum and a hash map from prefix sums to how
//! often they occurred (starting with `0 -> 1`): at each element it adds `map[prefix - k]` to
//! the count, then increments `map[prefix]`. The agent reads elements with `Get` and `k` with
//! `Target`; the map is kept by the environment (`MapAdd` increments a key, `MapCount` reads it).

use std::collections::BTreeMap;

use codegym_env_sdk::prelude::*;

/// Longest array a config may hold; the map holds at most one more key than this.
const MAX_LEN: usize = 1_000;
/// Largest magnitude of an element, so prefix sums stay far from overflow.
const MAX_ABS: i64 = 1_000_000;

#[derive(Serialize, Deserialize)]
pub struct Config {
    pub array: Vec<i64>,
    /// The sum k that counted subarrays must have.
    pub k: i64,
}

pub struct SubarraySumEqualsK {
    config: Config,
    /// The agent's hash map: prefix sum -> occurrences.
    map: BTreeMap<i64, u32>,
    reads: u32,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct KeyArgs {
    /// The map key, e.g. a prefix sum.
    key: i64,
}

fn count_subarrays(array: &[i64], k: i64) -> i64 {
    let mut count = 0;
    for start in 0..array.len() {
        let mut sum = 0;
        for &value in &array[start..] {
            sum += value;
            if sum == k {
                count += 1;
            }
        }
    }
    count
}

impl Environment for SubarraySumEqualsK {
    type Config = Config;
    type Answer = i64;

    const META: Meta = Meta {
        name: "subarray-sum-equals-k",
        version: env!("CARGO_PKG_VERSION"),
        description: "Count the contiguous subarrays of a hidden array that sum to k, with prefix \
                      sums and a hash map of counts (LeetCode 560 Subarray Sum Equals K).",
        category: "hashing",
    };

    fn sample_config(seed: u64, difficulty: u32) -> Config {
        let mut rng = config_rng(seed, difficulty);
        // The length varies by a few elements so it cannot be inferred from the difficulty.
        let len = scale(difficulty, 3, 20) + rng.random_range(0..3u32) as usize;
        // Small values, some negative, so that several subarrays share a sum.
        let array: Vec<i64> = (0..len).map(|_| rng.random_range(-4..=9)).collect();
        // k is the sum of some subarray, so the count is at least 1.
        let start = rng.random_range(0..len as u32) as usize;
        let end = rng.random_range(start as u32..len as u32) as usize;
        let k = array[start..=end].iter().sum();
        Config { array, k }
    }

    fn reset(config: Config) -> Result<Self, String> {
        if !(1..=MAX_LEN).contains(&config.array.len()) {
            return Err(format!("array length must be between 1 and {MAX_LEN}"));
        }
        if config.array.iter().chain([&config.k]).any(|v| v.abs() > MAX_ABS) {
            return Err(format!("elements and k must lie between -{MAX_ABS} and {MAX_ABS}"));
        }
        Ok(Self { config, map: BTreeMap::new(), reads: 0 })
    }

    fn task(&self) -> String {
        format!(
            "An array of {} integers is hidden from you. Count its non-empty contiguous \
             subarrays whose elements sum to k. Read elements with Get, the length with Length \
             and k with Target. A hash map from integers to counts, empty at first, is kept for \
             you: MapAdd adds 1 to a key's count and MapCount reads it (0 when absent). Submit \
             the count with Done, e.g. {{\"answer\": 3}}.",
            self.config.array.len()
        )
    }

    fn observe(&self) -> String {
        format!(
            "Array length: {}. Elements read so far: {}. Hash map keys: {}.",
            self.config.array.len(),
            self.reads,
            self.map.len()
        )
    }

    fn tools(tools: &mut Tools<Self>) {
        tools
            .add("Length", "Return the number of elements in the array.", |env: &mut Self, _: NoArgs| {
                format!("{}", env.config.array.len())
            })
            .add("Target", "Return k, the sum to look for.", |env: &mut Self, _: NoArgs| {
                format!("k = {}", env.config.k)
            })
            .add(
                "Get",
                "Return the array element at `index`, as `a[index] = value`.",
                |env: &mut Self, args: IndexArgs| match env.config.array.get(args.index) {
                    Some(value) => {
                        env.reads += 1;
                        Ok(format!("a[{}] = {value}", args.index))
                    }
                    None => Err(format!(
                        "index {} is out of range (length {})",
                        args.index,
                        env.config.array.len()
                    )),
                },
            )
            .add(
                "MapAdd",
                "Add 1 to the count stored under `key` in the hash map; returns the new count.",
                |env: &mut Self, args: KeyArgs| {
                    if env.map.len() > MAX_LEN && !env.map.contains_key(&args.key) {
                        return Err(format!("the map is full ({} keys)", MAX_LEN + 1));
                    }
                    let count = env.map.entry(args.key).or_default();
                    *count = count.saturating_add(1);
                    Ok(format!("map[{}] = {count}", args.key))
                },
            )
            .add(
                "MapCount",
                "Return the count stored under `key` in the hash map (0 when absent).",
                |env: &mut Self, args: KeyArgs| {
                    format!("map[{}] = {}", args.key, env.map.get(&args.key).copied().unwrap_or(0))
                },
            );
    }

    fn reference_answer(&self) -> i64 {
        count_subarrays(&self.config.array, self.config.k)
    }
}

/// One pass over prefix sums with the map of their counts.
pub struct SubarraySumEqualsKOracle;

impl Oracle for SubarraySumEqualsKOracle {
    async fn solve(agent: Agent, _task: String) {
        let k = first_int(&agent.call("Target", NoArgs {}).await).unwrap_or(0);
        let len = first_int(&agent.call("Length", NoArgs {}).await).unwrap_or(0);
        agent.call("MapAdd", serde_json::json!({ "key": 0 })).await;
        let (mut prefix, mut count) = (0i64, 0i64);
        for index in 0..len {
            let read = agent.call("Get", serde_json::json!({ "index": index })).await;
            prefix = prefix.saturating_add(ints(&read).last().copied().unwrap_or(0));
            let seen = agent.call("MapCount", serde_json::json!({ "key": prefix.saturating_sub(k) })).await;
            count += ints(&seen).last().copied().unwrap_or(0);
            agent.call("MapAdd", serde_json::json!({ "key": prefix })).await;
        }
        agent.done(count).await;
    }
}

export_env!(SubarraySumEqualsK, SubarraySumEqualsKOracle);

#[cfg(test)]
mod tests {
    use codegym_env_sdk::{Session, ToolCall, testing};

    use super::*;

    const CONFIG: &str = r#"{"array": [1, 2, 3, -3, 3], "k": 3}"#;

    #[test]
    fn oracle_solves_every_difficulty() {
        testing::check_environment::<SubarraySumEqualsK, SubarraySumEqualsKOracle>(10);
    }

    #[test]
    fn tools_keep_a_map_and_reject_bad_input() {
        let mut session = testing::session::<SubarraySumEqualsK>(CONFIG);
        let mut step = |name: &str, args: &str| session.step(&ToolCall::new(name, args)).observation;
        assert_eq!(step("Target", "{}"), "k = 3");
        assert_eq!(step("Length", "{}"), "5");
        assert_eq!(step("Get", r#"{"index": 3}"#), "a[3] = -3");
        assert_eq!(step("MapAdd", r#"{"key": -2}"#), "map[-2] = 1");
        assert_eq!(step("MapAdd", r#"{"key": -2}"#), "map[-2] = 2");
        assert_eq!(step("MapCount", r#"{"key": -2}"#), "map[-2] = 2");
        assert_eq!(step("MapCount", r#"{"key": 7}"#), "map[7] = 0");
        assert_eq!(step("Observe", "{}"), "Array length: 5. Elements read so far: 1. Hash map keys: 1.");
        for (name, args) in
            [("Get", r#"{"index": 5}"#), ("MapAdd", r#"{"key": 1.5}"#), ("MapCount", r#"{"value": 1}"#)]
        {
            assert!(step(name, args).starts_with("Error:"), "{name} {args}");
        }
    }

    #[test]
    fn answers_are_graded_and_configs_validated() {
        // [1, 2], [3], [1, 2, 3, -3], [3, -3, 3] and the last [3].
        assert_eq!(testing::session::<SubarraySumEqualsK>(CONFIG).reference_answer(), "5");
        let step =
            testing::session::<SubarraySumEqualsK>(CONFIG).step(&ToolCall::new("Done", r#"{"answer": 4}"#));
        assert!(step.done && step.reward == 0.0);
        let step =
            testing::session::<SubarraySumEqualsK>(CONFIG).step(&ToolCall::new("Done", r#"{"answer": 5}"#));
        assert!(step.done && step.reward == 1.0);
        let mut session = Session::<SubarraySumEqualsK>::new();
        assert!(session.reset(r#"{"array": [], "k": 0}"#).is_err());
        assert!(session.reset(r#"{"array": [1, 2], "k": 9223372036854775807}"#).is_err());
    }
}
