//! Index of the peak of a hidden unimodal array (LeetCode 162 "Find Peak Element").
//!
//! The array strictly increases up to one peak and strictly decreases after it, so the peak
//! is unique. The reference solution is a binary search on the slope: in a window
//! `[low, high]` with middle `mid`, if `a[mid] < a[mid + 1]` the peak lies right of `mid`
//! (keep `[mid + 1, high]`), otherwise at or left of it (keep `[low, mid]`). The window is
//! kept by the environment: `Window` shows it with its middle, `Compare` is the slope test,
//! and `KeepLeft` / `KeepRight` halve it. When one index is left, it is the peak.
//!
//! The array can hold a trillion elements, so the config describes it instead of listing it:
//! left of the peak `a[i] = base + rise * i + jitter`, right of it each step falls by
//! between 1 and `2 * fall - 1`, with jitters drawn from a hash of `salt` and `i`.

use std::cmp::Ordering;

use codegym_env_sdk::prelude::*;

/// Longest array a config may describe.
const MAX_LEN: u64 = 1 << 40;
/// Largest slope step.
const MAX_STEP: i64 = 1_000;
/// Largest magnitude of the first element's base.
const MAX_BASE: i64 = 1_000_000_000_000;

#[derive(Serialize, Deserialize)]
pub struct Config {
    /// Number of elements.
    pub length: u64,
    /// Position of the unique maximum.
    pub peak: u64,
    /// Value around which the array starts.
    pub base: i64,
    /// Mean step up, left of the peak.
    pub rise: i64,
    /// Mean step down, right of the peak.
    pub fall: i64,
    /// Seed of the per-element jitter.
    pub salt: u64,
}

pub struct PeakElement {
    config: Config,
    low: u64,
    high: u64,
    comparisons: u32,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct PositionArgs {
    /// Zero-based position in the array.
    index: u64,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct CompareArgs {
    /// Zero-based position of the first element.
    i: u64,
    /// Zero-based position of the second element.
    j: u64,
}

/// SplitMix64: a fixed, portable hash of one integer.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

impl PeakElement {
    fn jitter(&self, i: u64, step: i64) -> i64 {
        (mix(self.config.salt ^ mix(i)) % step as u64) as i64
    }

    /// `a[index]`; reset bounds the length, steps and base, so nothing overflows.
    fn value(&self, index: u64) -> i64 {
        let Config { peak, base, rise, fall, .. } = self.config;
        let up = |i: u64| base + rise * i as i64 + self.jitter(i, rise);
        if index <= peak {
            up(index)
        } else {
            // Each step down is fall + jitter(i) - jitter(i + 1), between 1 and 2 * fall - 1.
            up(peak) - fall * (index - peak) as i64 + self.jitter(index, fall) - self.jitter(peak, fall)
        }
    }

    fn check(&self, index: u64) -> Result<(), String> {
        if index < self.config.length {
            Ok(())
        } else {
            Err(format!("index {index} is out of range (length {})", self.config.length))
        }
    }

    fn window(&self) -> String {
        format!(
            "Window: low = {}, high = {}, mid = {}.",
            self.low,
            self.high,
            self.low + (self.high - self.low) / 2
        )
    }

    fn mid(&self) -> Result<u64, String> {
        if self.low == self.high {
            Err(format!("the window holds the single index {}", self.low))
        } else {
            Ok(self.low + (self.high - self.low) / 2)
        }
    }
}

impl Environment for PeakElement {
    type Config = Config;
    type Answer = u64;

    const META: Meta = Meta {
        name: "peak-element",
        version: env!("CARGO_PKG_VERSION"),
        description: "Find the index of the peak of a hidden unimodal array by binary search on \
                      the slope (LeetCode 162 Find Peak Element).",
        category: "searching",
    };

    fn sample_config(seed: u64, difficulty: u32) -> Config {
        let mut rng = config_rng(seed, difficulty);
        // Binary search takes about log2(length) steps: scale the bits, not the length.
        let bits = scale(difficulty, 4, 36) as u32;
        let length = rng.random_range((1u64 << (bits - 1)) + 1..=1u64 << bits);
        Config {
            length,
            peak: rng.random_range(0..length),
            base: rng.random_range(-1_000_000..=1_000_000),
            rise: rng.random_range(1..=20),
            fall: rng.random_range(1..=20),
            salt: rng.random(),
        }
    }

    fn reset(config: Config) -> Result<Self, String> {
        if !(1..=MAX_LEN).contains(&config.length) {
            return Err(format!("length must be between 1 and {MAX_LEN}"));
        }
        if config.peak >= config.length {
            return Err("the peak must be a position of the array".into());
        }
        if !(1..=MAX_STEP).contains(&config.rise) || !(1..=MAX_STEP).contains(&config.fall) {
            return Err(format!("rise and fall must be between 1 and {MAX_STEP}"));
        }
        if !(-MAX_BASE..=MAX_BASE).contains(&config.base) {
            return Err(format!("base must be between -{MAX_BASE} and {MAX_BASE}"));
        }
        let high = config.length - 1;
        Ok(Self { config, low: 0, high, comparisons: 0 })
    }

    fn task(&self) -> String {
        format!(
            "An array of {} integers is hidden from you. It strictly increases up to a single \
             peak and strictly decreases after it. Find the peak's index. A search window \
             [low, high], at first the whole array, is kept for you: Window shows it with its \
             middle index mid, Compare compares two elements, KeepLeft shrinks it to \
             [low, mid] and KeepRight to [mid + 1, high]. Get reads one element and Length \
             gives the size. Submit the zero-based index with Done, e.g. {{\"answer\": 12}}.",
            self.config.length
        )
    }

    fn observe(&self) -> String {
        format!(
            "Array length: {}. Window: low = {}, high = {}. Comparisons so far: {}.",
            self.config.length, self.low, self.high, self.comparisons
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
                    Ok::<_, String>(format!("a[{}] = {}", args.index, env.value(args.index)))
                },
            )
            .add(
                "Compare",
                "Compare the elements at positions `i` and `j`, as `a[i] < a[j]`, `a[i] > a[j]` or \
                 `a[i] = a[j]`.",
                |env: &mut Self, args: CompareArgs| {
                    env.check(args.i)?;
                    env.check(args.j)?;
                    env.comparisons += 1;
                    let relation = match env.value(args.i).cmp(&env.value(args.j)) {
                        Ordering::Less => "<",
                        Ordering::Equal => "=",
                        Ordering::Greater => ">",
                    };
                    Ok::<_, String>(format!("a[{}] {relation} a[{}]", args.i, args.j))
                },
            )
            .add(
                "Window",
                "Return the search window's bounds low and high and its middle index mid.",
                |env: &mut Self, _: NoArgs| env.window(),
            )
            .add("KeepLeft", "Shrink the window to its left half [low, mid].", |env: &mut Self, _: NoArgs| {
                env.high = env.mid()?;
                Ok::<_, String>(env.window())
            })
            .add(
                "KeepRight",
                "Shrink the window to its right half [mid + 1, high].",
                |env: &mut Self, _: NoArgs| {
                    env.low = env.mid()? + 1;
                    Ok::<_, String>(env.window())
                },
            );
    }

    fn reference_answer(&self) -> u64 {
        self.config.peak
    }
}

/// Binary search on the slope: compare a[mid] with a[mid + 1] and keep the rising side.
pub struct PeakElementOracle;

impl Oracle for PeakElementOracle {
    async fn solve(agent: Agent, _task: String) {
        let mut window = ints(&agent.call("Window", NoArgs {}).await);
        while let &[low, high, mid] = window.as_slice() {
            if low >= high {
                break;
            }
            let compared = agent.call("Compare", serde_json::json!({ "i": mid, "j": mid + 1 })).await;
            let keep = if compared.contains(" < ") { "KeepRight" } else { "KeepLeft" };
            window = ints(&agent.call(keep, NoArgs {}).await);
        }
        agent.done(window.first().copied().unwrap_or(0)).await;
    }
}

export_env!(PeakElement, PeakElementOracle);

#[cfg(test)]
mod tests {
    use codegym_env_sdk::{Session, ToolCall, testing};

    use super::*;

    /// Steps of 1 make every jitter 0: [10, 11, 12, 13, 12, 11, 10].
    const CONFIG: &str = r#"{"length": 7, "peak": 3, "base": 10, "rise": 1, "fall": 1, "salt": 5}"#;

    #[test]
    fn oracle_solves_every_difficulty() {
        testing::check_environment::<PeakElement, PeakElementOracle>(10);
    }

    #[test]
    fn generated_arrays_are_unimodal() {
        for seed in 0..20 {
            let config = r#"{"length": 300, "peak": 0, "base": -5, "rise": 7, "fall": 9, "salt": 0}"#
                .replace("\"peak\": 0", &format!("\"peak\": {}", seed * 15))
                .replace("\"salt\": 0", &format!("\"salt\": {seed}"));
            let env = PeakElement::reset(serde_json::from_str(&config).unwrap()).unwrap();
            let values: Vec<i64> = (0..300).map(|i| env.value(i)).collect();
            let peak = env.config.peak as usize;
            assert!(values[..=peak].windows(2).all(|w| w[0] < w[1]), "{config}");
            assert!(values[peak..].windows(2).all(|w| w[0] > w[1]), "{config}");
        }
    }

    #[test]
    fn tools_halve_the_window() {
        let mut session = testing::session::<PeakElement>(CONFIG);
        let mut step = |name: &str, args: &str| session.step(&ToolCall::new(name, args)).observation;
        assert_eq!(step("Get", r#"{"index": 3}"#), "a[3] = 13");
        assert_eq!(step("Get", r#"{"index": 6}"#), "a[6] = 10");
        assert_eq!(step("Compare", r#"{"i": 0, "j": 6}"#), "a[0] = a[6]");
        assert_eq!(step("Window", "{}"), "Window: low = 0, high = 6, mid = 3.");
        assert_eq!(step("Compare", r#"{"i": 3, "j": 4}"#), "a[3] > a[4]");
        assert_eq!(step("KeepLeft", "{}"), "Window: low = 0, high = 3, mid = 1.");
        assert_eq!(step("Compare", r#"{"i": 1, "j": 2}"#), "a[1] < a[2]");
        assert_eq!(step("KeepRight", "{}"), "Window: low = 2, high = 3, mid = 2.");
        assert_eq!(step("KeepRight", "{}"), "Window: low = 3, high = 3, mid = 3.");
        for (name, args) in [
            ("KeepLeft", "{}"),
            ("KeepRight", "{}"),
            ("Get", r#"{"index": 7}"#),
            ("Compare", r#"{"i": 6, "j": 7}"#),
            ("Compare", r#"{"i": -1, "j": 2}"#),
            ("Compare", r#"{"i": 1}"#),
        ] {
            assert!(step(name, args).starts_with("Error:"), "{name} {args}");
        }
    }

    #[test]
    fn answers_are_graded_and_configs_validated() {
        assert_eq!(testing::session::<PeakElement>(CONFIG).reference_answer(), "3");
        let step = testing::session::<PeakElement>(CONFIG).step(&ToolCall::new("Done", r#"{"answer": 4}"#));
        assert!(step.done && step.reward == 0.0);
        let step = testing::session::<PeakElement>(CONFIG).step(&ToolCall::new("Done", r#"{"answer": 3}"#));
        assert!(step.done && step.reward == 1.0);
        let mut session = Session::<PeakElement>::new();
        for bad in [
            r#"{"length": 0, "peak": 0, "base": 0, "rise": 1, "fall": 1, "salt": 0}"#,
            r#"{"length": 4, "peak": 4, "base": 0, "rise": 1, "fall": 1, "salt": 0}"#,
            r#"{"length": 4, "peak": 1, "base": 0, "rise": 0, "fall": 1, "salt": 0}"#,
            r#"{"length": 4, "peak": 1, "base": 0, "rise": 1, "fall": 1001, "salt": 0}"#,
            r#"{"length": 4, "peak": 1, "base": -9223372036854775808, "rise": 1, "fall": 1, "salt": 0}"#,
        ] {
            assert!(session.reset(bad).is_err(), "{bad}");
        }
    }
}
