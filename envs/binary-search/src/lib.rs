//! Binary search over a hidden sorted array (LeetCode 704 "Binary Search").
//!
//! The agent cannot see the array; it reads one element at a time with `Get`, so the
//! efficient solution is a binary search driven by `Midpoint` and `Get`. Arrays grow to
//! billions of elements, far too many to scan, so they are not listed in the config: element
//! `i` is `first + 10·i + h(seed, i) mod 9` for a fixed hash `h`, strictly increasing, and a
//! value ending in 9 (relative to `first`) is never present. The config stays a few bytes.

use codegym_env_sdk::prelude::*;

/// Longest array (indices must fit a 32-bit `usize` inside the component).
const MAX_LEN: u64 = i32::MAX as u64;

#[derive(Serialize, Deserialize)]
pub struct Config {
    /// Number of elements, 1..=2^31-1.
    pub len: u64,
    /// Lowest possible value: element `i` lies in `first + 10·i ..= first + 10·i + 8`.
    pub first: i64,
    /// Seed of the hash that places each element within its block of ten.
    pub seed: u64,
    pub target: i64,
}

pub struct BinarySearch {
    config: Config,
    reads: u32,
}

impl BinarySearch {
    fn element(&self, index: u64) -> i64 {
        element(&self.config, index)
    }
}

/// Element `index` of the array `config` describes.
fn element(config: &Config, index: u64) -> i64 {
    // SplitMix64's finaliser: a well-mixed hash of (seed, index).
    let mut z = config.seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    config.first + 10 * index as i64 + (z % 9) as i64
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
        // Difficulty scales the search depth: from ~8 to ~2^30 elements.
        let bits = scale(difficulty, 3, 30) as u32;
        let len = rng.random_range(1u64 << bits..(1u64 << (bits + 1)).min(MAX_LEN));
        let mut config = Config { len, first: rng.random_range(-1000..1000), seed: rng.random(), target: 0 };
        let index = rng.random_range(0..len);
        // An absent target (the never-used last value of a block) one time in four.
        config.target = match rng.random_range(0..4) {
            0 => config.first + 10 * index as i64 + 9,
            _ => element(&config, index),
        };
        config
    }

    fn reset(config: Config) -> Result<Self, String> {
        if !(1..=MAX_LEN).contains(&config.len) {
            return Err(format!("len must be between 1 and {MAX_LEN}"));
        }
        if config.first.checked_add(10 * MAX_LEN as i64).is_none() || config.first < -(1 << 60) {
            return Err("first is out of range".into());
        }
        Ok(Self { config, reads: 0 })
    }

    fn task(&self) -> String {
        format!(
            "A sorted array of {} distinct integers is hidden from you. Find the index of the \
             target value {} in it, or answer -1 if it is absent. Read elements with Get; \
             Length gives the size and Midpoint the middle of a range. Submit the index \
             with Done.",
            self.config.len, self.config.target
        )
    }

    fn observe(&self) -> String {
        format!(
            "Target: {}. Array length: {}. Elements read so far: {}.",
            self.config.target, self.config.len, self.reads
        )
    }

    fn tools(tools: &mut Tools<Self>) {
        tools
            .add("Length", "Return the number of elements in the array.", |env: &mut Self, _: NoArgs| {
                format!("{}", env.config.len)
            })
            .add("Get", "Return the array element at `index`.", |env: &mut Self, args: IndexArgs| {
                env.reads += 1;
                let index = args.index as u64;
                if index < env.config.len {
                    Ok(format!("{}", env.element(index)))
                } else {
                    Err(format!("index {} is out of range (length {})", args.index, env.config.len))
                }
            })
            .add(
                "Midpoint",
                "Return the middle index of the range [low, high], rounded down.",
                |_: &mut Self, args: MidpointArgs| {
                    let (low, high) = (i128::from(args.low), i128::from(args.high));
                    format!("{}", low + (high - low).div_euclid(2))
                },
            );
    }

    fn reference_answer(&self) -> i64 {
        // The array is implicit, so search it the same way the agent must.
        let (mut low, mut high) = (0u64, self.config.len);
        while low < high {
            let mid = low + (high - low) / 2;
            match self.element(mid).cmp(&self.config.target) {
                std::cmp::Ordering::Equal => return mid as i64,
                std::cmp::Ordering::Less => low = mid + 1,
                std::cmp::Ordering::Greater => high = mid,
            }
        }
        -1
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

    #[test]
    fn the_implicit_array_is_strictly_increasing_and_skips_every_ninth_value() {
        let config = Config { len: 10_000, first: -5, seed: 42, target: 0 };
        for index in 0..config.len {
            let value = element(&config, index);
            let offset = value - config.first - 10 * index as i64;
            assert!((0..9).contains(&offset), "a[{index}] = {value}");
            if index > 0 {
                assert!(value > element(&config, index - 1));
            }
        }
    }

    #[test]
    fn tools_read_the_implicit_array() {
        let config = Config { len: 100, first: 0, seed: 7, target: 0 };
        let (a3, a99) = (element(&config, 3), element(&config, 99));
        let mut session = codegym_env_sdk::testing::session::<BinarySearch>(&format!(
            r#"{{"len":100,"first":0,"seed":7,"target":{a3}}}"#
        ));
        let step = |session: &mut codegym_env_sdk::Session<BinarySearch>, name: &str, args: &str| {
            session.step(&codegym_env_sdk::ToolCall::new(name, args)).observation
        };
        assert_eq!(step(&mut session, "Get", r#"{"index":3}"#), a3.to_string());
        assert_eq!(step(&mut session, "Get", r#"{"index":99}"#), a99.to_string());
        assert_eq!(
            step(&mut session, "Get", r#"{"index":100}"#),
            "Error: index 100 is out of range (length 100)"
        );
        assert_eq!(step(&mut session, "Midpoint", r#"{"low":0,"high":99}"#), "49");
        assert_eq!(session.reference_answer(), "3");
        let mut session = codegym_env_sdk::Session::<BinarySearch>::new();
        assert!(session.reset(r#"{"len":0,"first":0,"seed":1,"target":1}"#).is_err());
    }
}
