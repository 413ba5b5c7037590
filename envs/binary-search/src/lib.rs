//! Binary search over a hidden sorted array (LeetCode 704 "Binary Search").
//!
//! The agent cannot see the array; it reads one element at a time with `Get`, so the
//! efficient solution is a binary search driven by `Midpoint` and `Get`.

use codegym_env_sdk::prelude::*;

#[derive(Serialize, Deserialize)]
pub struct Config {
    /// Strictly increasing.
    pub array: Vec<i64>,
    pub target: i64,
}

pub struct BinarySearch {
    config: Config,
    reads: u32,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct MidpointArgs {
    /// Lower bound of the search range (inclusive).
    low: i64,
    /// Upper bound of the search range (inclusive).
    high: i64,
}

impl Environment for BinarySearch {
    type Config = Config;
    type Answer = i64;

    const META: Meta = Meta {
        name: "binary-search",
        version: env!("CARGO_PKG_VERSION"),
        description: "Find a target's index in a hidden sorted array (LeetCode 704).",
        category: "searching",
    };

    fn sample_config(seed: u64, difficulty: u32) -> Config {
        let mut rng = config_rng(seed, difficulty);
        let len = scale(difficulty, 8, 1000);
        let mut array = Vec::with_capacity(len);
        let mut value = rng.random_range(-1000..1000);
        for _ in 0..len {
            value += rng.random_range(1..20);
            array.push(value);
        }
        // Absent targets (between two elements) one time in four.
        let index = rng.random_range(0..len);
        let target = if rng.random_range(0..4) == 0 { array[index] + 1 } else { array[index] };
        Config { array, target }
    }

    fn reset(config: Config) -> Result<Self, String> {
        if config.array.windows(2).any(|w| w[0] >= w[1]) {
            return Err("array must be strictly increasing".into());
        }
        Ok(Self { config, reads: 0 })
    }

    fn task(&self) -> String {
        format!(
            "A sorted array of {} distinct integers is hidden from you. Find the index of the \
             target value {} in it, or answer -1 if it is absent. Read elements with Get; \
             Length gives the size and Midpoint the middle of a range. Submit the index \
             with Done.",
            self.config.array.len(),
            self.config.target
        )
    }

    fn observe(&self) -> String {
        format!(
            "Target: {}. Array length: {}. Elements read so far: {}.",
            self.config.target,
            self.config.array.len(),
            self.reads
        )
    }

    fn tools(tools: &mut Tools<Self>) {
        tools
            .add("Length", "Return the number of elements in the array.", |env: &mut Self, _: NoArgs| {
                format!("{}", env.config.array.len())
            })
            .add("Get", "Return the array element at `index`.", |env: &mut Self, args: IndexArgs| {
                env.reads += 1;
                match env.config.array.get(args.index) {
                    Some(value) => Ok(format!("{value}")),
                    None => Err(format!(
                        "index {} is out of range (length {})",
                        args.index,
                        env.config.array.len()
                    )),
                }
            })
            .add(
                "Midpoint",
                "Return the middle index of the range [low, high], rounded down.",
                |_: &mut Self, args: MidpointArgs| {
                    format!("{}", args.low + (args.high - args.low).div_euclid(2))
                },
            );
    }

    fn reference_answer(&self) -> i64 {
        match self.config.array.binary_search(&self.config.target) {
            Ok(index) => index as i64,
            Err(_) => -1,
        }
    }
}

/// Classic binary search, reading the target from the task statement.
pub struct BinarySearchOracle;

impl Oracle for BinarySearchOracle {
    async fn solve(agent: Agent, _task: String) {
        let target = ints(&agent.call("Observe", NoArgs {}).await).first().copied().unwrap_or(0);
        let len = first_int(&agent.call("Length", NoArgs {}).await).unwrap_or(0);
        let (mut low, mut high) = (0, len - 1);
        let mut answer = -1;
        while low <= high {
            let mid = first_int(&agent.call("Midpoint", serde_json::json!({"low": low, "high": high})).await)
                .unwrap_or(low);
            let value = first_int(&agent.call("Get", serde_json::json!({"index": mid})).await).unwrap_or(0);
            if value == target {
                answer = mid;
                break;
            } else if value < target {
                low = mid + 1;
            } else {
                high = mid - 1;
            }
        }
        agent.done(answer).await;
    }
}

export_env!(BinarySearch, BinarySearchOracle);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oracle_solves_every_difficulty() {
        codegym_env_sdk::testing::check_environment::<BinarySearch, BinarySearchOracle>(10);
    }
}
