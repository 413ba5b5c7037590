//! The k-th smallest element of a hidden array by quickselect (LeetCode 215 "Kth Largest
//! Element in an Array", asked from the small end).
//!
//! The reference solution partitions a range `[low, high]` around a pivot (Lomuto: the
//! pivot is `a[high]`; every element below it is swapped to the front of the range, then
//! the pivot is swapped in after them, landing at its sorted position `p`), then continues
//! in the one side that holds position `k - 1` until the pivot lands there. The agent keeps
//! the range; the environment holds the array, which it rearranges in place (`Swap`), and a
//! pivot register (`SetPivot`, `LessThanPivot`). `Get` reads an element.

use codegym_env_sdk::prelude::*;

/// Longest array a config may hold.
const MAX_LEN: usize = 10_000;
/// Largest magnitude of an element.
const MAX_VALUE: i64 = 1_000_000_000;

#[derive(Serialize, Deserialize)]
pub struct Config {
    pub array: Vec<i64>,
    /// One-based rank of the element to find, in `1..=array.len()`.
    pub k: usize,
}

pub struct KthSmallest {
    array: Vec<i64>,
    k: usize,
    /// The pivot register: the value copied by `SetPivot` and where it was read.
    pivot: Option<(usize, i64)>,
    swaps: u32,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct SwapArgs {
    /// Zero-based position of the first element.
    i: usize,
    /// Zero-based position of the second element.
    j: usize,
}

impl KthSmallest {
    fn check(&self, index: usize) -> Result<(), String> {
        if index < self.array.len() {
            Ok(())
        } else {
            Err(format!("index {index} is out of range (length {})", self.array.len()))
        }
    }
}

impl Environment for KthSmallest {
    type Config = Config;
    type Answer = i64;

    const META: Meta = Meta {
        name: "kth-smallest",
        version: env!("CARGO_PKG_VERSION"),
        description: "Find the k-th smallest element of a hidden array by quickselect with Lomuto \
                      partitions (LeetCode 215 Kth Largest Element in an Array).",
        category: "sorting",
    };

    fn sample_config(seed: u64, difficulty: u32) -> Config {
        let mut rng = config_rng(seed, difficulty);
        let len = scale(difficulty, 4, 22);
        let range = scale(difficulty, 30, 999) as i64;
        let array = (0..len).map(|_| rng.random_range(-range..=range)).collect();
        Config { array, k: rng.random_range(1..=len) }
    }

    fn reset(config: Config) -> Result<Self, String> {
        let len = config.array.len();
        if !(1..=MAX_LEN).contains(&len) {
            return Err(format!("array length must be between 1 and {MAX_LEN}"));
        }
        if !(1..=len).contains(&config.k) {
            return Err(format!("k must be between 1 and the array length {len}"));
        }
        if config.array.iter().any(|value| !(-MAX_VALUE..=MAX_VALUE).contains(value)) {
            return Err(format!("elements must be between -{MAX_VALUE} and {MAX_VALUE}"));
        }
        Ok(Self { array: config.array, k: config.k, pivot: None, swaps: 0 })
    }

    fn task(&self) -> String {
        format!(
            "An array of {} integers is hidden from you. Find its k-th smallest element for \
             k = {} (k = 1 is the minimum; equal values count separately). Get reads an \
             element and Length gives the size; Swap exchanges two elements in place. A pivot \
             register is kept for you: SetPivot copies an element's value into it, and \
             LessThanPivot tells whether an element is below the pivot value. Submit the \
             value with Done, e.g. {{\"answer\": 42}}.",
            self.array.len(),
            self.k
        )
    }

    fn observe(&self) -> String {
        let pivot = match self.pivot {
            Some((index, value)) => format!("{value} (read from index {index})"),
            None => "not set".to_owned(),
        };
        format!(
            "Array length: {}. k = {}. Pivot: {pivot}. Swaps so far: {}.",
            self.array.len(),
            self.k,
            self.swaps
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
                "Swap",
                "Exchange the elements at positions `i` and `j`.",
                |env: &mut Self, args: SwapArgs| {
                    env.check(args.i)?;
                    env.check(args.j)?;
                    env.array.swap(args.i, args.j);
                    env.swaps += 1;
                    Ok::<_, String>(format!("Swapped a[{}] and a[{}].", args.i, args.j))
                },
            )
            .add(
                "SetPivot",
                "Copy the value of the element at `index` into the pivot register.",
                |env: &mut Self, args: IndexArgs| {
                    env.check(args.index)?;
                    let value = env.array[args.index];
                    env.pivot = Some((args.index, value));
                    Ok::<_, String>(format!("pivot = a[{}] = {value}", args.index))
                },
            )
            .add(
                "LessThanPivot",
                "Tell whether the element at `index` is strictly less than the pivot value.",
                |env: &mut Self, args: IndexArgs| {
                    env.check(args.index)?;
                    let Some((_, pivot)) = env.pivot else {
                        return Err("the pivot is not set (call SetPivot first)".to_owned());
                    };
                    let verdict = if env.array[args.index] < pivot { "yes" } else { "no" };
                    Ok(format!("a[{}] < pivot: {verdict}", args.index))
                },
            );
    }

    fn reference_answer(&self) -> i64 {
        let mut sorted = self.array.clone();
        sorted.sort_unstable();
        sorted.get(self.k - 1).copied().unwrap_or(0)
    }
}

/// Quickselect with Lomuto partitions, pivot at the end of the range.
pub struct KthSmallestOracle;

impl Oracle for KthSmallestOracle {
    async fn solve(agent: Agent, task: String) {
        // The task names k after "k = ".
        let target = task.split("k = ").nth(1).and_then(first_int).unwrap_or(1) - 1;
        let len = first_int(&agent.call("Length", NoArgs {}).await).unwrap_or(1);
        let (mut low, mut high) = (0, len - 1);
        while low < high {
            let set = agent.call("SetPivot", serde_json::json!({ "index": high })).await;
            let pivot = ints(&set).last().copied().unwrap_or(0);
            let mut store = low;
            for j in low..high {
                let less = agent.call("LessThanPivot", serde_json::json!({ "index": j })).await;
                if less.ends_with("yes") {
                    if store != j {
                        agent.call("Swap", serde_json::json!({ "i": store, "j": j })).await;
                    }
                    store += 1;
                }
            }
            if store != high {
                agent.call("Swap", serde_json::json!({ "i": store, "j": high })).await;
            }
            match store.cmp(&target) {
                std::cmp::Ordering::Equal => {
                    agent.done(pivot).await;
                    return;
                }
                std::cmp::Ordering::Less => low = store + 1,
                std::cmp::Ordering::Greater => high = store - 1,
            }
        }
        let read = agent.call("Get", serde_json::json!({ "index": low })).await;
        agent.done(ints(&read).last().copied().unwrap_or(0)).await;
    }
}

export_env!(KthSmallest, KthSmallestOracle);

#[cfg(test)]
mod tests {
    use codegym_env_sdk::{Session, ToolCall, testing};

    use super::*;

    const CONFIG: &str = r#"{"array": [3, 2, 1, 5, 6, 4], "k": 2}"#;

    #[test]
    fn oracle_solves_every_difficulty() {
        testing::check_environment::<KthSmallest, KthSmallestOracle>(10);
    }

    #[test]
    fn tools_partition_in_place() {
        let mut session = testing::session::<KthSmallest>(CONFIG);
        let mut step = |name: &str, args: &str| session.step(&ToolCall::new(name, args)).observation;
        assert!(step("LessThanPivot", r#"{"index": 0}"#).starts_with("Error:"));
        assert_eq!(step("SetPivot", r#"{"index": 5}"#), "pivot = a[5] = 4");
        assert_eq!(step("LessThanPivot", r#"{"index": 0}"#), "a[0] < pivot: yes");
        assert_eq!(step("LessThanPivot", r#"{"index": 3}"#), "a[3] < pivot: no");
        assert_eq!(step("Swap", r#"{"i": 3, "j": 5}"#), "Swapped a[3] and a[5].");
        assert_eq!(step("Get", r#"{"index": 3}"#), "a[3] = 4");
        assert_eq!(step("LessThanPivot", r#"{"index": 3}"#), "a[3] < pivot: no");
        assert_eq!(
            step("Observe", "{}"),
            "Array length: 6. k = 2. Pivot: 4 (read from index 5). Swaps so far: 1."
        );
        for (name, args) in [
            ("Get", r#"{"index": 6}"#),
            ("Swap", r#"{"i": 0, "j": 6}"#),
            ("SetPivot", r#"{"index": 99}"#),
            ("LessThanPivot", r#"{"index": -2}"#),
            ("Swap", r#"{"i": 0}"#),
        ] {
            assert!(step(name, args).starts_with("Error:"), "{name} {args}");
        }
    }

    #[test]
    fn answers_are_graded_and_configs_validated() {
        assert_eq!(testing::session::<KthSmallest>(CONFIG).reference_answer(), "2");
        let step = testing::session::<KthSmallest>(CONFIG).step(&ToolCall::new("Done", r#"{"answer": 5}"#));
        assert!(step.done && step.reward == 0.0);
        let step = testing::session::<KthSmallest>(CONFIG).step(&ToolCall::new("Done", r#"{"answer": 2}"#));
        assert!(step.done && step.reward == 1.0);
        let mut session = Session::<KthSmallest>::new();
        for bad in [
            r#"{"array": [], "k": 1}"#,
            r#"{"array": [1, 2], "k": 0}"#,
            r#"{"array": [1, 2], "k": 3}"#,
            r#"{"array": [1, -9223372036854775808], "k": 1}"#,
        ] {
            assert!(session.reset(bad).is_err(), "{bad}");
        }
    }
}
