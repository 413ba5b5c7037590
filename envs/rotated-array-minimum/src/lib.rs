//! Minimum of a hidden rotated sorted array (LeetCode 153 "Find Minimum in Rotated Sorted
//! Array").
//!
//! A strictly increasing array was rotated at an unknown pivot. The reference solution is a
//! binary search on a window `[low, high]`: look at the middle element; if it is greater
//! than `a[high]`, the minimum lies right of it (`low = mid + 1`), otherwise at or left of
//! it (`high = mid`). The window is kept by the environment: `Window` shows it, `Midpoint`
//! gives its middle, `CompareWithHigh` is the loop's comparison, and `SetLow` / `SetHigh`
//! move its bounds. When the window holds one index, `Get` reads the minimum.
//!
//! The array can hold millions of elements, so the config describes it instead of listing
//! it: element `i` of the sorted array is `base + i * gap + jitter(i)` with a jitter in
//! `0..gap` drawn from a hash of `salt` and `i`, which keeps it strictly increasing.

use codegym_env_sdk::prelude::*;

/// Longest array a config may describe.
const MAX_LEN: u64 = 1 << 30;
/// Largest step between consecutive sorted elements.
const MAX_GAP: i64 = 1_000;
/// Largest magnitude of the smallest element.
const MAX_BASE: i64 = 1_000_000_000_000;

#[derive(Serialize, Deserialize)]
pub struct Config {
    /// Number of elements.
    pub length: u64,
    /// The sorted array shifted left by this many places: `a[j] = sorted[(j + rotation) % length]`.
    pub rotation: u64,
    /// Smallest possible value of the sorted array's first element.
    pub base: i64,
    /// Every sorted element exceeds the previous one by between 1 and `2 * gap - 1`.
    pub gap: i64,
    /// Seed of the per-element jitter.
    pub salt: u64,
}

pub struct RotatedArrayMinimum {
    config: Config,
    low: u64,
    high: u64,
    reads: u32,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct PositionArgs {
    /// Zero-based position in the array.
    index: u64,
}

/// SplitMix64: a fixed, portable hash of one integer.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

impl RotatedArrayMinimum {
    /// The `i`-th smallest element (reset bounds `length`, `gap` and `base`, so no overflow).
    fn sorted(&self, i: u64) -> i64 {
        let jitter = (mix(self.config.salt ^ mix(i)) % self.config.gap as u64) as i64;
        self.config.base + i as i64 * self.config.gap + jitter
    }

    fn value(&self, index: u64) -> i64 {
        self.sorted((index + self.config.rotation) % self.config.length)
    }

    fn check(&self, index: u64) -> Result<(), String> {
        if index < self.config.length {
            Ok(())
        } else {
            Err(format!("index {index} is out of range (length {})", self.config.length))
        }
    }

    fn window(&self) -> String {
        format!("Window: low = {}, high = {}.", self.low, self.high)
    }
}

impl Environment for RotatedArrayMinimum {
    type Config = Config;
    type Answer = i64;

    const META: Meta = Meta {
        name: "rotated-array-minimum",
        version: env!("CARGO_PKG_VERSION"),
        description: "Find the minimum of a hidden rotated sorted array by binary search \
                      (LeetCode 153 Find Minimum in Rotated Sorted Array).",
        category: "searching",
    };

    fn sample_config(seed: u64, difficulty: u32) -> Config {
        let mut rng = config_rng(seed, difficulty);
        // Binary search takes about log2(length) steps: scale the bits, not the length.
        let bits = scale(difficulty, 3, 23) as u32;
        let length = rng.random_range((1u64 << (bits - 1)) + 1..=1u64 << bits);
        // One array in eight is not rotated at all.
        let rotation = if rng.random_range(0..8) == 0 { 0 } else { rng.random_range(1..length) };
        Config {
            length,
            rotation,
            base: rng.random_range(-1_000_000..=1_000_000),
            gap: rng.random_range(2..=20),
            salt: rng.random(),
        }
    }

    fn reset(config: Config) -> Result<Self, String> {
        if !(1..=MAX_LEN).contains(&config.length) {
            return Err(format!("length must be between 1 and {MAX_LEN}"));
        }
        if config.rotation >= config.length {
            return Err("rotation must be less than the length".into());
        }
        if !(1..=MAX_GAP).contains(&config.gap) {
            return Err(format!("gap must be between 1 and {MAX_GAP}"));
        }
        if !(-MAX_BASE..=MAX_BASE).contains(&config.base) {
            return Err(format!("base must be between -{MAX_BASE} and {MAX_BASE}"));
        }
        let high = config.length - 1;
        Ok(Self { config, low: 0, high, reads: 0 })
    }

    fn task(&self) -> String {
        format!(
            "A strictly increasing array of {} distinct integers was rotated at an unknown \
             position and is hidden from you. Find its minimum value. A search window \
             [low, high], at first the whole array, is kept for you: Window shows it, \
             Midpoint gives its middle index, CompareWithHigh compares an element with \
             a[high], and SetLow / SetHigh move its bounds. Get reads one element and Length \
             gives the size. Submit the minimum value with Done, e.g. {{\"answer\": -17}}.",
            self.config.length
        )
    }

    fn observe(&self) -> String {
        format!(
            "Array length: {}. Window: low = {}, high = {}. Elements read so far: {}.",
            self.config.length, self.low, self.high, self.reads
        )
    }

    fn tools(tools: &mut Tools<Self>) {
        tools
            .add("Length", "Return the number of elements in the array.", |env: &mut Self, _: NoArgs| {
                format!("The array has {} elements.", env.config.length)
            })
            .add(
                "Get",
                "Return the array element at `index`, as `a[index] = value`.",
                |env: &mut Self, args: PositionArgs| {
                    env.check(args.index)?;
                    env.reads += 1;
                    Ok::<_, String>(format!("a[{}] = {}", args.index, env.value(args.index)))
                },
            )
            .add("Window", "Return the search window's bounds low and high.", |env: &mut Self, _: NoArgs| {
                env.window()
            })
            .add(
                "Midpoint",
                "Return the middle index of the window, low + (high - low) / 2 rounded down.",
                |env: &mut Self, _: NoArgs| format!("mid = {}", env.low + (env.high - env.low) / 2),
            )
            .add(
                "CompareWithHigh",
                "Compare the element at `index` with a[high], the element at the window's upper \
                 bound.",
                |env: &mut Self, args: PositionArgs| {
                    env.check(args.index)?;
                    env.reads += 2;
                    let (value, last) = (env.value(args.index), env.value(env.high));
                    let relation = match value.cmp(&last) {
                        std::cmp::Ordering::Less => "<",
                        std::cmp::Ordering::Equal => "=",
                        std::cmp::Ordering::Greater => ">",
                    };
                    Ok::<_, String>(format!(
                        "a[{}] = {value} {relation} a[{}] = {last}",
                        args.index, env.high
                    ))
                },
            )
            .add(
                "SetLow",
                "Move the window's lower bound to `index` (at most high).",
                |env: &mut Self, args: PositionArgs| {
                    if args.index > env.high {
                        return Err(format!("low {} would be above high {}", args.index, env.high));
                    }
                    env.low = args.index;
                    Ok(env.window())
                },
            )
            .add(
                "SetHigh",
                "Move the window's upper bound to `index` (at least low, below the length).",
                |env: &mut Self, args: PositionArgs| {
                    env.check(args.index)?;
                    if args.index < env.low {
                        return Err(format!("high {} would be below low {}", args.index, env.low));
                    }
                    env.high = args.index;
                    Ok(env.window())
                },
            );
    }

    fn reference_answer(&self) -> i64 {
        self.sorted(0)
    }
}

/// Binary search on the window: compare the middle with a[high], keep the half with the drop.
pub struct RotatedArrayMinimumOracle;

impl Oracle for RotatedArrayMinimumOracle {
    async fn solve(agent: Agent, _task: String) {
        let window = ints(&agent.call("Window", NoArgs {}).await);
        let (mut low, mut high) = (window.first().copied().unwrap_or(0), window.get(1).copied().unwrap_or(0));
        while low < high {
            let mid = first_int(&agent.call("Midpoint", NoArgs {}).await).unwrap_or(low);
            let compared = agent.call("CompareWithHigh", serde_json::json!({ "index": mid })).await;
            if compared.contains(" > ") {
                low = mid + 1;
                agent.call("SetLow", serde_json::json!({ "index": low })).await;
            } else {
                high = mid;
                agent.call("SetHigh", serde_json::json!({ "index": high })).await;
            }
        }
        let read = agent.call("Get", serde_json::json!({ "index": low })).await;
        agent.done(ints(&read).last().copied().unwrap_or(0)).await;
    }
}

export_env!(RotatedArrayMinimum, RotatedArrayMinimumOracle);

#[cfg(test)]
mod tests {
    use codegym_env_sdk::{Session, ToolCall, testing};

    use super::*;

    /// gap 1 makes the jitter 0: the sorted array is 10, 11, ..., 17, rotated by 5 it is
    /// [15, 16, 17, 10, 11, 12, 13, 14].
    const CONFIG: &str = r#"{"length": 8, "rotation": 5, "base": 10, "gap": 1, "salt": 7}"#;

    #[test]
    fn oracle_solves_every_difficulty() {
        testing::check_environment::<RotatedArrayMinimum, RotatedArrayMinimumOracle>(10);
    }

    #[test]
    fn tools_search_the_window() {
        let mut session = testing::session::<RotatedArrayMinimum>(CONFIG);
        let mut step = |name: &str, args: &str| session.step(&ToolCall::new(name, args)).observation;
        assert_eq!(step("Get", r#"{"index": 0}"#), "a[0] = 15");
        assert_eq!(step("Get", r#"{"index": 3}"#), "a[3] = 10");
        assert_eq!(step("Midpoint", "{}"), "mid = 3");
        assert_eq!(step("CompareWithHigh", r#"{"index": 1}"#), "a[1] = 16 > a[7] = 14");
        assert_eq!(step("SetLow", r#"{"index": 2}"#), "Window: low = 2, high = 7.");
        assert_eq!(step("SetHigh", r#"{"index": 4}"#), "Window: low = 2, high = 4.");
        assert_eq!(step("CompareWithHigh", r#"{"index": 3}"#), "a[3] = 10 < a[4] = 11");
        assert_eq!(step("Midpoint", "{}"), "mid = 3");
        for (name, args) in [
            ("Get", r#"{"index": 8}"#),
            ("Get", r#"{"index": -1}"#),
            ("SetLow", r#"{"index": 5}"#),
            ("SetHigh", r#"{"index": 1}"#),
            ("SetHigh", r#"{"index": 8}"#),
            ("CompareWithHigh", r#"{"index": 9}"#),
        ] {
            assert!(step(name, args).starts_with("Error:"), "{name} {args}");
        }
        assert_eq!(step("Window", "{}"), "Window: low = 2, high = 4.");
    }

    #[test]
    fn answers_are_graded_and_configs_validated() {
        assert_eq!(testing::session::<RotatedArrayMinimum>(CONFIG).reference_answer(), "10");
        let step =
            testing::session::<RotatedArrayMinimum>(CONFIG).step(&ToolCall::new("Done", r#"{"answer": 15}"#));
        assert!(step.done && step.reward == 0.0);
        let step =
            testing::session::<RotatedArrayMinimum>(CONFIG).step(&ToolCall::new("Done", r#"{"answer": 10}"#));
        assert!(step.done && step.reward == 1.0);
        let mut session = Session::<RotatedArrayMinimum>::new();
        for bad in [
            r#"{"length": 0, "rotation": 0, "base": 0, "gap": 1, "salt": 0}"#,
            r#"{"length": 4, "rotation": 4, "base": 0, "gap": 1, "salt": 0}"#,
            r#"{"length": 4, "rotation": 0, "base": 0, "gap": 0, "salt": 0}"#,
            r#"{"length": 4, "rotation": 0, "base": 9223372036854775807, "gap": 5, "salt": 0}"#,
        ] {
            assert!(session.reset(bad).is_err(), "{bad}");
        }
    }
}
