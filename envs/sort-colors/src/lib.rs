//! Sort a hidden array of colors 0, 1 and 2 in place with the Dutch national flag algorithm
//! (LeetCode 75 "Sort Colors").
//!
//! The reference solution keeps three pointers: `a[..low]` holds 0s, `a[low..mid]` holds
//! 1s, `a[high + 1..]` holds 2s, and `a[mid..=high]` is still unsorted. Each step reads
//! `a[mid]`: a 0 is swapped to `low` (both advance), a 1 stays (`mid` advances), a 2 is
//! swapped to `high` (which retreats). The pointers are kept by the environment: `ReadMid`
//! reads `a[mid]` and `SwapLowMid`, `AdvanceMid` and `SwapMidHigh` are the three branches.
//! The answer is where the 1s and the 2s start, and it only counts if the array is sorted.

use codegym_env_sdk::prelude::*;

/// Longest array a config may hold.
const MAX_LEN: usize = 10_000;

#[derive(Serialize, Deserialize)]
pub struct Config {
    /// Each color is 0, 1 or 2.
    pub colors: Vec<u8>,
}

pub struct SortColors {
    colors: Vec<u8>,
    low: usize,
    mid: usize,
    /// One past the `high` pointer, so that `high = -1` needs no sign.
    high_end: usize,
    swaps: u32,
}

impl SortColors {
    fn high(&self) -> i64 {
        self.high_end as i64 - 1
    }

    fn pointers(&self) -> String {
        format!("low = {}, mid = {}, high = {}", self.low, self.mid, self.high())
    }

    /// The unsorted region `a[mid..=high]` must be non-empty for a step.
    fn check_unsorted(&self) -> Result<(), String> {
        if self.mid < self.high_end {
            Ok(())
        } else {
            Err(format!("the unsorted region is empty ({})", self.pointers()))
        }
    }

    fn boundaries(colors: &[u8]) -> [usize; 2] {
        let zeros = colors.iter().filter(|&&c| c == 0).count();
        let ones = colors.iter().filter(|&&c| c == 1).count();
        [zeros, zeros + ones]
    }
}

impl Environment for SortColors {
    type Config = Config;
    /// `[index where the 1s start, index where the 2s start]` in the sorted array.
    type Answer = [usize; 2];

    const META: Meta = Meta {
        name: "sort-colors",
        version: env!("CARGO_PKG_VERSION"),
        description: "Sort a hidden array of 0s, 1s and 2s in place with the Dutch national flag \
                      algorithm (LeetCode 75 Sort Colors).",
        category: "sorting",
    };

    fn sample_config(seed: u64, difficulty: u32) -> Config {
        let mut rng = config_rng(seed, difficulty);
        let len = scale(difficulty, 4, 36);
        Config { colors: (0..len).map(|_| rng.random_range(0..3)).collect() }
    }

    fn reset(config: Config) -> Result<Self, String> {
        let len = config.colors.len();
        if !(1..=MAX_LEN).contains(&len) {
            return Err(format!("there must be between 1 and {MAX_LEN} colors"));
        }
        if let Some(color) = config.colors.iter().find(|&&c| c > 2) {
            return Err(format!("color {color} is not 0, 1 or 2"));
        }
        Ok(Self { colors: config.colors, low: 0, mid: 0, high_end: len, swaps: 0 })
    }

    fn task(&self) -> String {
        format!(
            "An array of {} colors, each 0, 1 or 2, is hidden from you. Sort it in place into \
             0s, then 1s, then 2s, with the Dutch national flag algorithm. Three pointers are \
             kept for you, at first low = 0, mid = 0, high = {}: Pointers shows them, ReadMid \
             reads a[mid], SwapLowMid swaps a[low] and a[mid] and advances both, AdvanceMid \
             advances mid, and SwapMidHigh swaps a[mid] and a[high] and moves high back. Get \
             reads any element. When the array is sorted, submit with Done the index where the \
             1s start and the index where the 2s start (the number of 0s, and of 0s and 1s), \
             e.g. {{\"answer\": [3, 7]}}. The answer only counts if the array is sorted.",
            self.colors.len(),
            self.high()
        )
    }

    fn observe(&self) -> String {
        format!(
            "Array length: {}. Pointers: {}. Swaps so far: {}.",
            self.colors.len(),
            self.pointers(),
            self.swaps
        )
    }

    fn tools(tools: &mut Tools<Self>) {
        tools
            .add(
                "Get",
                "Return the color at `index`, as `a[index] = color`.",
                |env: &mut Self, args: IndexArgs| match env.colors.get(args.index) {
                    Some(color) => Ok(format!("a[{}] = {color}", args.index)),
                    None => {
                        Err(format!("index {} is out of range (length {})", args.index, env.colors.len()))
                    }
                },
            )
            .add("Pointers", "Return the pointers low, mid and high.", |env: &mut Self, _: NoArgs| {
                format!("{}.", env.pointers())
            })
            .add("ReadMid", "Return the color at the mid pointer.", |env: &mut Self, _: NoArgs| {
                env.check_unsorted()?;
                Ok::<_, String>(format!("a[mid] = a[{}] = {}", env.mid, env.colors[env.mid]))
            })
            .add(
                "SwapLowMid",
                "Swap a[low] and a[mid], then advance both low and mid by one.",
                |env: &mut Self, _: NoArgs| {
                    env.check_unsorted()?;
                    env.colors.swap(env.low, env.mid);
                    let swapped = format!("Swapped a[{}] and a[{}]", env.low, env.mid);
                    env.low += 1;
                    env.mid += 1;
                    env.swaps += 1;
                    Ok::<_, String>(format!("{swapped}; low = {}, mid = {}.", env.low, env.mid))
                },
            )
            .add("AdvanceMid", "Advance the mid pointer by one.", |env: &mut Self, _: NoArgs| {
                env.check_unsorted()?;
                env.mid += 1;
                Ok::<_, String>(format!("mid = {}.", env.mid))
            })
            .add(
                "SwapMidHigh",
                "Swap a[mid] and a[high], then move high back by one.",
                |env: &mut Self, _: NoArgs| {
                    env.check_unsorted()?;
                    let high = env.high_end - 1;
                    env.colors.swap(env.mid, high);
                    env.high_end -= 1;
                    env.swaps += 1;
                    Ok::<_, String>(format!("Swapped a[{}] and a[{high}]; high = {}.", env.mid, env.high()))
                },
            );
    }

    fn reference_answer(&self) -> [usize; 2] {
        Self::boundaries(&self.colors)
    }

    fn is_correct(&self, answer: &[usize; 2]) -> bool {
        *answer == self.reference_answer() && self.colors.is_sorted()
    }
}

/// The Dutch national flag loop, one branch per color read at mid.
pub struct SortColorsOracle;

impl Oracle for SortColorsOracle {
    async fn solve(agent: Agent, _task: String) {
        let pointers = ints(&agent.call("Pointers", NoArgs {}).await);
        let &[mut low, mut mid, mut high] = pointers.as_slice() else {
            agent.done([0, 0]).await;
            return;
        };
        while mid <= high {
            let read = agent.call("ReadMid", NoArgs {}).await;
            match ints(&read).last() {
                Some(0) => {
                    agent.call("SwapLowMid", NoArgs {}).await;
                    low += 1;
                    mid += 1;
                }
                Some(1) => {
                    agent.call("AdvanceMid", NoArgs {}).await;
                    mid += 1;
                }
                _ => {
                    agent.call("SwapMidHigh", NoArgs {}).await;
                    high -= 1;
                }
            }
        }
        agent.done([low, high + 1]).await;
    }
}

export_env!(SortColors, SortColorsOracle);

#[cfg(test)]
mod tests {
    use codegym_env_sdk::{Session, ToolCall, testing};

    use super::*;

    const CONFIG: &str = r#"{"colors": [2, 0, 2, 1, 1, 0]}"#;

    #[test]
    fn oracle_solves_every_difficulty() {
        testing::check_environment::<SortColors, SortColorsOracle>(10);
    }

    #[test]
    fn tools_move_the_pointers() {
        let mut session = testing::session::<SortColors>(CONFIG);
        let mut step = |name: &str| session.step(&ToolCall::new(name, "{}")).observation;
        assert_eq!(step("Pointers"), "low = 0, mid = 0, high = 5.");
        assert_eq!(step("ReadMid"), "a[mid] = a[0] = 2");
        assert_eq!(step("SwapMidHigh"), "Swapped a[0] and a[5]; high = 4.");
        assert_eq!(step("ReadMid"), "a[mid] = a[0] = 0");
        assert_eq!(step("SwapLowMid"), "Swapped a[0] and a[0]; low = 1, mid = 1.");
        assert_eq!(step("AdvanceMid"), "mid = 2.");
        assert_eq!(
            step("Observe"),
            "Array length: 6. Pointers: low = 1, mid = 2, high = 4. Swaps so far: 2."
        );
        let mut session = testing::session::<SortColors>(CONFIG);
        assert!(session.step(&ToolCall::new("Get", r#"{"index": 6}"#)).observation.starts_with("Error:"));
        assert_eq!(session.step(&ToolCall::new("Get", r#"{"index": 5}"#)).observation, "a[5] = 0");
        for _ in 0..6 {
            session.step(&ToolCall::new("SwapMidHigh", "{}"));
        }
        assert_eq!(
            session.step(&ToolCall::new("Pointers", "{}")).observation,
            "low = 0, mid = 0, high = -1."
        );
        for name in ["ReadMid", "SwapLowMid", "AdvanceMid", "SwapMidHigh"] {
            let observation = session.step(&ToolCall::new(name, "{}")).observation;
            assert!(observation.starts_with("Error: the unsorted region is empty"), "{name}: {observation}");
        }
    }

    #[test]
    fn answers_need_a_sorted_array() {
        assert_eq!(testing::session::<SortColors>(CONFIG).reference_answer(), "[2,4]");
        // The right boundaries on the unsorted array do not count.
        let step =
            testing::session::<SortColors>(CONFIG).step(&ToolCall::new("Done", r#"{"answer": [2, 4]}"#));
        assert!(step.done && step.reward == 0.0);
        let run = testing::run_oracle_on::<SortColors, SortColorsOracle>(CONFIG);
        assert_eq!(run.reward, 1.0);
        assert!(Session::<SortColors>::new().reset(r#"{"colors": []}"#).is_err());
        assert!(Session::<SortColors>::new().reset(r#"{"colors": [0, 3]}"#).is_err());
    }
}
