//! Two Sum over a hidden array (LeetCode 1 "Two Sum").
//!
//! The agent reads the array one element at a time with `Get` and fills a scratch hash map
//! held by the environment (`Remember` / `Lookup`), as in the one-pass hash-map solution:
//! for each element, look up its complement `target - a[i]`; if it was seen, the pair is
//! found, otherwise remember `a[i] -> i` and move on.

use std::collections::BTreeMap;

use codegym_env_sdk::prelude::*;

/// Most entries the scratch map holds.
const MAP_CAPACITY: usize = 1_000;
/// Longest array a config may hold.
const MAX_LEN: usize = 10_000;

#[derive(Serialize, Deserialize)]
pub struct Config {
    /// Exactly one pair of positions `i < j` has `array[i] + array[j] == target`.
    pub array: Vec<i64>,
    pub target: i64,
}

pub struct TwoSum {
    config: Config,
    /// The agent's scratch hash map: value -> index.
    map: BTreeMap<i64, usize>,
    reads: u32,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RememberArgs {
    /// The key to store: an element's value.
    value: i64,
    /// The index to store under that key (a valid array position).
    index: usize,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct LookupArgs {
    /// The key to look up, e.g. the complement `target - a[i]`.
    value: i64,
}

/// All pairs `i < j` with `array[i] + array[j] == target` (at most `limit` of them).
fn solutions(array: &[i64], target: i64, limit: usize) -> Vec<[usize; 2]> {
    let mut seen: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
    let mut out = Vec::new();
    for (j, &value) in array.iter().enumerate() {
        if let Some(indices) = target.checked_sub(value).and_then(|c| seen.get(&c)) {
            for &i in indices {
                out.push([i, j]);
                if out.len() >= limit {
                    return out;
                }
            }
        }
        seen.entry(value).or_default().push(j);
    }
    out
}

impl Environment for TwoSum {
    type Config = Config;
    type Answer = [usize; 2];

    const META: Meta = Meta {
        name: "two-sum",
        version: env!("CARGO_PKG_VERSION"),
        description: "Find the two indices whose elements sum to a target in a hidden array, \
                      with a scratch hash map (LeetCode 1 Two Sum).",
        category: "hashing",
    };

    fn sample_config(seed: u64, difficulty: u32) -> Config {
        let mut rng = config_rng(seed, difficulty);
        let len = scale(difficulty, 6, 60);
        let range = scale(difficulty, 20, 1000) as i64;
        // The pair's second index lies in the later part of the array, so the one-pass
        // solution has to scan a fair share of it.
        let j = rng.random_range(len as u32 / 3..len as u32) as usize;
        let j = j.max(1);
        let i = rng.random_range(0..j as u32) as usize;
        let first = rng.random_range(-range..=range);
        let second = rng.random_range(-range..=range);
        let target = first + second;
        let mut array = vec![0; len];
        array[i] = first;
        array[j] = second;
        let mut placed = vec![first, second];
        for (position, slot) in array.iter_mut().enumerate() {
            if position == i || position == j {
                continue;
            }
            // A value whose complement is already placed would make a second solution.
            let mut value = rng.random_range(-range..=range);
            let mut tries = 0;
            while placed.contains(&(target - value)) && tries < 1000 {
                value = rng.random_range(-range..=range);
                tries += 1;
            }
            if placed.contains(&(target - value)) {
                // Cannot happen with the ranges above; stay correct anyway.
                value = 4 * range + 1 + position as i64;
            }
            *slot = value;
            placed.push(value);
        }
        Config { array, target }
    }

    fn reset(config: Config) -> Result<Self, String> {
        if config.array.len() < 2 || config.array.len() > MAX_LEN {
            return Err(format!("array length must be between 2 and {MAX_LEN}"));
        }
        let found = solutions(&config.array, config.target, 2);
        if found.len() != 1 {
            return Err(format!(
                "exactly one pair must sum to the target (found {})",
                if found.is_empty() { "none" } else { "several" }
            ));
        }
        Ok(Self { config, map: BTreeMap::new(), reads: 0 })
    }

    fn task(&self) -> String {
        format!(
            "An array of {} integers is hidden from you. Exactly one pair of positions i < j \
             has a[i] + a[j] = {}. Find it. Read elements with Get (Length gives the size). \
             You also have a scratch hash map from values to indices: Remember stores \
             value -> index and Lookup finds the index stored for a value. Submit the two \
             zero-based indices in increasing order with Done, e.g. {{\"answer\": [1, 4]}}.",
            self.config.array.len(),
            self.config.target
        )
    }

    fn observe(&self) -> String {
        format!(
            "Target: {}. Array length: {}. Elements read so far: {}. Hash map entries: {}.",
            self.config.target,
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
            .add(
                "Get",
                "Return the array element at `index`, as `a[index] = value`.",
                |env: &mut Self, args: IndexArgs| {
                    env.reads += 1;
                    match env.config.array.get(args.index) {
                        Some(value) => Ok(format!("a[{}] = {value}", args.index)),
                        None => Err(format!(
                            "index {} is out of range (length {})",
                            args.index,
                            env.config.array.len()
                        )),
                    }
                },
            )
            .add(
                "Remember",
                "Store `value -> index` in the scratch hash map (replacing any index already \
                 stored for that value).",
                |env: &mut Self, args: RememberArgs| {
                    if args.index >= env.config.array.len() {
                        return Err(format!(
                            "index {} is out of range (length {})",
                            args.index,
                            env.config.array.len()
                        ));
                    }
                    if env.map.len() >= MAP_CAPACITY && !env.map.contains_key(&args.value) {
                        return Err(format!("the hash map is full ({MAP_CAPACITY} entries)"));
                    }
                    env.map.insert(args.value, args.index);
                    Ok(format!("Stored map[{}] = {}.", args.value, args.index))
                },
            )
            .add(
                "Lookup",
                "Look up `value` in the scratch hash map: `map[value] = index` if stored, \
                 otherwise says it is absent.",
                |env: &mut Self, args: LookupArgs| match env.map.get(&args.value) {
                    Some(index) => format!("map[{}] = {index}", args.value),
                    None => format!("{} is not in the map.", args.value),
                },
            );
    }

    fn reference_answer(&self) -> [usize; 2] {
        solutions(&self.config.array, self.config.target, 1).first().copied().unwrap_or([0, 0])
    }
}

/// The one-pass hash-map solution.
pub struct TwoSumOracle;

impl Oracle for TwoSumOracle {
    async fn solve(agent: Agent, _task: String) {
        let target = first_int(&agent.call("Observe", NoArgs {}).await).unwrap_or(0);
        let len = first_int(&agent.call("Length", NoArgs {}).await).unwrap_or(0);
        for index in 0..len {
            let observation = agent.call("Get", serde_json::json!({ "index": index })).await;
            let Some(&value) = ints(&observation).last() else { break };
            let complement = target.saturating_sub(value);
            let found = agent.call("Lookup", serde_json::json!({ "value": complement })).await;
            if found.starts_with("map[") {
                let earlier = ints(&found).last().copied().unwrap_or(0);
                agent.done([earlier, index]).await;
                return;
            }
            agent.call("Remember", serde_json::json!({ "value": value, "index": index })).await;
        }
        agent.done([0, 0]).await;
    }
}

export_env!(TwoSum, TwoSumOracle);

#[cfg(test)]
mod tests {
    use codegym_env_sdk::{Session, ToolCall, testing};

    use super::*;

    #[test]
    fn oracle_solves_every_difficulty() {
        codegym_env_sdk::testing::check_environment::<TwoSum, TwoSumOracle>(10);
    }

    #[test]
    fn tools_report_errors_and_lookups() {
        let mut session = testing::session::<TwoSum>(r#"{"array": [2, 7, 11, 15], "target": 9}"#);
        let step = session.step(&ToolCall::new("Get", r#"{"index": 4}"#));
        assert!(step.observation.starts_with("Error:"), "{}", step.observation);
        let step = session.step(&ToolCall::new("Remember", r#"{"value": 2, "index": 9}"#));
        assert!(step.observation.starts_with("Error:"), "{}", step.observation);
        let step = session.step(&ToolCall::new("Get", r#"{"index": -1}"#));
        assert!(step.observation.starts_with("Error:"), "{}", step.observation);
        session.step(&ToolCall::new("Remember", r#"{"value": 2, "index": 0}"#));
        assert_eq!(session.step(&ToolCall::new("Lookup", r#"{"value": 2}"#)).observation, "map[2] = 0");
        assert!(!session.step(&ToolCall::new("Lookup", r#"{"value": 7}"#)).observation.starts_with("map["));
    }

    #[test]
    fn answers_are_graded() {
        let config = r#"{"array": [2, 7, 11, 15], "target": 9}"#;
        let step = testing::session::<TwoSum>(config).step(&ToolCall::new("Done", r#"{"answer": [0, 2]}"#));
        assert!(step.done && step.reward == 0.0);
        let step = testing::session::<TwoSum>(config).step(&ToolCall::new("Done", r#"{"answer": [0, 1]}"#));
        assert!(step.done && step.reward == 1.0);
    }

    #[test]
    fn reset_rejects_ambiguous_or_unsolvable_configs() {
        let mut session = Session::<TwoSum>::new();
        assert!(session.reset(r#"{"array": [1, 2, 3, 4], "target": 5}"#).is_err());
        assert!(session.reset(r#"{"array": [1, 2], "target": 100}"#).is_err());
        assert!(session.reset(r#"{"array": [], "target": 0}"#).is_err());
        assert!(
            session.reset(r#"{"array": [9223372036854775807, 1], "target": -9223372036854775808}"#).is_err()
        );
    }
}
