//! Longest increasing subsequence of a hidden array (LeetCode 300 "Longest Increasing
//! Subsequence"), by the O(n²) dynamic program.
//!
//! `dp[i]` is the length of the longest strictly increasing subsequence ending at `i`:
//! `dp[i] = 1 + max(dp[j] for j < i with a[j] < a[i])`. The agent reads elements with `Get`,
//! and the DP table lives in the environment: `MaxDpBefore` is the inner loop's maximum,
//! `SetDp` / `GetDp` write and read entries.

use codegym_env_sdk::prelude::*;

/// Longest array a config may hold.
const MAX_LEN: usize = 10_000;

#[derive(Serialize, Deserialize)]
pub struct Config {
    pub array: Vec<i64>,
}

pub struct LongestIncreasingSubsequence {
    array: Vec<i64>,
    /// The agent's DP table; every entry starts at 0.
    dp: Vec<u32>,
    reads: u32,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct SetDpArgs {
    /// Zero-based position of the DP entry.
    index: usize,
    /// The value to store: a subsequence length between 0 and the array length.
    value: u32,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct MaxDpBeforeArgs {
    /// Only DP entries at positions strictly before this index are considered.
    index: usize,
    /// Only positions j whose element a[j] is strictly less than this value are considered.
    below_value: i64,
}

impl LongestIncreasingSubsequence {
    fn check(&self, index: usize) -> Result<(), String> {
        if index < self.array.len() {
            Ok(())
        } else {
            Err(format!("index {index} is out of range (length {})", self.array.len()))
        }
    }
}

impl Environment for LongestIncreasingSubsequence {
    type Config = Config;
    type Answer = i64;

    const META: Meta = Meta {
        name: "longest-increasing-subsequence",
        version: env!("CARGO_PKG_VERSION"),
        description: "Length of the longest strictly increasing subsequence of a hidden array, by \
                      an O(n^2) DP table (LeetCode 300).",
        category: "dynamic-programming",
    };

    fn sample_config(seed: u64, difficulty: u32) -> Config {
        let mut rng = config_rng(seed, difficulty);
        let len = scale(difficulty, 5, 45);
        let range = scale(difficulty, 10, 200) as i64;
        let array = (0..len).map(|_| rng.random_range(0..=range)).collect();
        Config { array }
    }

    fn reset(config: Config) -> Result<Self, String> {
        let len = config.array.len();
        if !(1..=MAX_LEN).contains(&len) {
            return Err(format!("array length must be between 1 and {MAX_LEN}"));
        }
        Ok(Self { array: config.array, dp: vec![0; len], reads: 0 })
    }

    fn task(&self) -> String {
        format!(
            "An array of {} integers is hidden from you. Find the length of its longest \
             strictly increasing subsequence (not necessarily contiguous). Read elements with \
             Get (Length gives the size). A DP table dp[0..n], all zeros at first, is kept for \
             you: SetDp and GetDp write and read entries, and MaxDpBefore returns the largest \
             dp[j] over positions j < index whose element a[j] is below a value (0 if there \
             is none). Submit the length with Done, e.g. {{\"answer\": 4}}.",
            self.array.len()
        )
    }

    fn observe(&self) -> String {
        let filled = self.dp.iter().filter(|&&v| v > 0).count();
        format!(
            "Array length: {}. Elements read so far: {}. Non-zero DP entries: {filled}. \
             Largest DP entry: {}.",
            self.array.len(),
            self.reads,
            self.dp.iter().max().copied().unwrap_or(0)
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
            .add(
                "GetDp",
                "Return the DP entry at `index`, as `dp[index] = value`.",
                |env: &mut Self, args: IndexArgs| {
                    env.check(args.index)?;
                    Ok::<_, String>(format!("dp[{}] = {}", args.index, env.dp[args.index]))
                },
            )
            .add("SetDp", "Set the DP entry at `index` to `value`.", |env: &mut Self, args: SetDpArgs| {
                env.check(args.index)?;
                if args.value as usize > env.array.len() {
                    return Err(format!(
                        "value {} is larger than the array length {}",
                        args.value,
                        env.array.len()
                    ));
                }
                env.dp[args.index] = args.value;
                Ok(format!("dp[{}] = {}", args.index, args.value))
            })
            .add(
                "MaxDpBefore",
                "Return the largest dp[j] over positions j < `index` with a[j] < `below_value`, \
                 or 0 if there is no such position. `index` may equal the array length.",
                |env: &mut Self, args: MaxDpBeforeArgs| {
                    if args.index > env.array.len() {
                        return Err(format!(
                            "index {} is out of range (at most the length {})",
                            args.index,
                            env.array.len()
                        ));
                    }
                    let best = env.array[..args.index]
                        .iter()
                        .zip(&env.dp)
                        .filter(|&(&a, _)| a < args.below_value)
                        .map(|(_, &dp)| dp)
                        .max()
                        .unwrap_or(0);
                    Ok(format!("max dp[j] for j < {} with a[j] < {}: {best}", args.index, args.below_value))
                },
            );
    }

    fn reference_answer(&self) -> i64 {
        // Patience sorting: tails[k] is the smallest tail of an increasing run of length k + 1.
        let mut tails: Vec<i64> = Vec::new();
        for &value in &self.array {
            let position = tails.partition_point(|&tail| tail < value);
            match tails.get_mut(position) {
                Some(tail) => *tail = value,
                None => tails.push(value),
            }
        }
        tails.len() as i64
    }
}

/// The O(n²) DP: for each i, read a[i], ask for the best earlier entry below it, store + 1.
pub struct LongestIncreasingSubsequenceOracle;

impl Oracle for LongestIncreasingSubsequenceOracle {
    async fn solve(agent: Agent, _task: String) {
        let len = first_int(&agent.call("Length", NoArgs {}).await).unwrap_or(0);
        let mut answer = 0;
        for index in 0..len {
            let read = agent.call("Get", serde_json::json!({ "index": index })).await;
            let value = ints(&read).last().copied().unwrap_or(0);
            let best =
                agent.call("MaxDpBefore", serde_json::json!({ "index": index, "below_value": value })).await;
            let length = ints(&best).last().copied().unwrap_or(0) + 1;
            agent.call("SetDp", serde_json::json!({ "index": index, "value": length })).await;
            answer = answer.max(length);
        }
        agent.done(answer).await;
    }
}

export_env!(LongestIncreasingSubsequence, LongestIncreasingSubsequenceOracle);

#[cfg(test)]
mod tests {
    use codegym_env_sdk::{Session, ToolCall, testing};

    use super::*;

    const CONFIG: &str = r#"{"array": [10, 9, 2, 5, 3, 7, 101, 18]}"#;

    #[test]
    fn oracle_solves_every_difficulty() {
        codegym_env_sdk::testing::check_environment::<
            LongestIncreasingSubsequence,
            LongestIncreasingSubsequenceOracle,
        >(10);
    }

    #[test]
    fn tools_reject_bad_input_and_compute_the_inner_loop() {
        let mut session = testing::session::<LongestIncreasingSubsequence>(CONFIG);
        for call in [
            ToolCall::new("Get", r#"{"index": 8}"#),
            ToolCall::new("GetDp", r#"{"index": 100}"#),
            ToolCall::new("SetDp", r#"{"index": 0, "value": 9}"#),
            ToolCall::new("SetDp", r#"{"index": 0, "value": -1}"#),
            ToolCall::new("MaxDpBefore", r#"{"index": 9, "below_value": 0}"#),
        ] {
            let step = session.step(&call);
            assert!(step.observation.starts_with("Error:"), "{call:?}: {}", step.observation);
        }
        for (index, value) in [(0, 1), (1, 1), (2, 1), (3, 2)] {
            let args = format!(r#"{{"index": {index}, "value": {value}}}"#);
            session.step(&ToolCall::new("SetDp", args));
        }
        let step = session.step(&ToolCall::new("MaxDpBefore", r#"{"index": 4, "below_value": 7}"#));
        assert_eq!(step.observation, "max dp[j] for j < 4 with a[j] < 7: 2");
    }

    #[test]
    fn answers_are_graded() {
        assert_eq!(testing::session::<LongestIncreasingSubsequence>(CONFIG).reference_answer(), "4");
        let step = testing::session::<LongestIncreasingSubsequence>(CONFIG)
            .step(&ToolCall::new("Done", r#"{"answer": 3}"#));
        assert!(step.done && step.reward == 0.0);
        let step = testing::session::<LongestIncreasingSubsequence>(CONFIG)
            .step(&ToolCall::new("Done", r#"{"answer": 4}"#));
        assert!(step.done && step.reward == 1.0);
        assert!(Session::<LongestIncreasingSubsequence>::new().reset(r#"{"array": []}"#).is_err());
    }
}
