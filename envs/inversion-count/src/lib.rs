//! Count the inversions of a hidden array with merge sort (the classic "count inversions"
//! problem: pairs `i < j` with `a[i] > a[j]`).
//!
//! The reference solution is a bottom-up merge sort. Merging two sorted neighbouring runs
//! `a[low..mid]` and `a[mid..high]`, every time the right run's head is smaller than the
//! left run's head `a[i]`, it forms an inversion with each of the `mid - i` elements left in
//! the left run. The environment holds the array and a merge buffer: `TakeSmaller` compares
//! the two run heads and moves the smaller into the buffer, `Take` moves a leftover element,
//! `WriteBack` copies the merged buffer over the runs, and `AddInversions` adds to an
//! inversion counter.

use codegym_env_sdk::prelude::*;

/// Longest array a config may hold.
const MAX_LEN: usize = 10_000;

#[derive(Serialize, Deserialize)]
pub struct Config {
    pub array: Vec<i64>,
}

pub struct InversionCount {
    array: Vec<i64>,
    /// Inversions of the array as given, computed at reset.
    inversions: u64,
    /// The agent's merge buffer.
    buffer: Vec<i64>,
    /// The agent's inversion counter.
    counter: u64,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct HeadsArgs {
    /// Position of the left run's current head.
    left: usize,
    /// Position of the right run's current head (greater than `left`).
    right: usize,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct WriteBackArgs {
    /// Position where the buffer's first element is written.
    start: usize,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct AddArgs {
    /// How many inversions to add to the counter.
    count: u64,
}

/// Sorts `array` and returns its inversions (top-down merge sort).
fn sort_counting(array: &mut [i64]) -> u64 {
    if array.len() < 2 {
        return 0;
    }
    let mid = array.len() / 2;
    let mut count = sort_counting(&mut array[..mid]) + sort_counting(&mut array[mid..]);
    let mut merged = Vec::with_capacity(array.len());
    let (mut i, mut j) = (0, mid);
    while i < mid && j < array.len() {
        if array[j] < array[i] {
            count += (mid - i) as u64;
            merged.push(array[j]);
            j += 1;
        } else {
            merged.push(array[i]);
            i += 1;
        }
    }
    merged.extend_from_slice(&array[i..mid]);
    merged.extend_from_slice(&array[j..]);
    array.copy_from_slice(&merged);
    count
}

impl InversionCount {
    fn check(&self, index: usize) -> Result<(), String> {
        if index < self.array.len() {
            Ok(())
        } else {
            Err(format!("index {index} is out of range (length {})", self.array.len()))
        }
    }

    fn take(&mut self, index: usize) -> Result<i64, String> {
        if self.buffer.len() >= self.array.len() {
            return Err(format!("the buffer is full ({} elements)", self.buffer.len()));
        }
        let value = self.array[index];
        self.buffer.push(value);
        Ok(value)
    }
}

impl Environment for InversionCount {
    type Config = Config;
    type Answer = u64;

    const META: Meta = Meta {
        name: "inversion-count",
        version: env!("CARGO_PKG_VERSION"),
        description: "Count the inversions of a hidden array while merge sorting it (classic \
                      merge-sort inversion counting).",
        category: "sorting",
    };

    fn sample_config(seed: u64, difficulty: u32) -> Config {
        let mut rng = config_rng(seed, difficulty);
        let len = scale(difficulty, 3, 14);
        let range = scale(difficulty, 9, 99) as i64;
        Config { array: (0..len).map(|_| rng.random_range(0..=range)).collect() }
    }

    fn reset(config: Config) -> Result<Self, String> {
        if !(1..=MAX_LEN).contains(&config.array.len()) {
            return Err(format!("array length must be between 1 and {MAX_LEN}"));
        }
        let inversions = sort_counting(&mut config.array.clone());
        Ok(Self { array: config.array, inversions, buffer: Vec::new(), counter: 0 })
    }

    fn task(&self) -> String {
        format!(
            "An array of {} integers is hidden from you. Count its inversions: pairs of \
             positions i < j with a[i] > a[j]. Get reads an element and Length gives the size. \
             For a merge sort, a merge buffer is kept for you: TakeSmaller compares the heads \
             of two runs and appends the smaller to the buffer (the left one on ties), Take \
             appends any element, and WriteBack copies the buffer into the array from a \
             position and empties it. AddInversions adds to an inversion counter. Submit the \
             number of inversions with Done, e.g. {{\"answer\": 7}}.",
            self.array.len()
        )
    }

    fn observe(&self) -> String {
        format!(
            "Array length: {}. Buffer: {} elements. Inversion counter: {}.",
            self.array.len(),
            self.buffer.len(),
            self.counter
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
                "TakeSmaller",
                "Compare a[left] and a[right] and append the smaller one to the merge buffer \
                 (a[left] when they are equal). Says which side was taken.",
                |env: &mut Self, args: HeadsArgs| {
                    env.check(args.left)?;
                    env.check(args.right)?;
                    if args.left >= args.right {
                        return Err(format!("left {} must be less than right {}", args.left, args.right));
                    }
                    let (side, index) = if env.array[args.right] < env.array[args.left] {
                        ("right", args.right)
                    } else {
                        ("left", args.left)
                    };
                    let value = env.take(index)?;
                    Ok(format!(
                        "Took a[{index}] = {value} from the {side}; the buffer has {} elements.",
                        env.buffer.len()
                    ))
                },
            )
            .add("Take", "Append a[index] to the merge buffer.", |env: &mut Self, args: IndexArgs| {
                env.check(args.index)?;
                let value = env.take(args.index)?;
                Ok::<_, String>(format!(
                    "Took a[{}] = {value}; the buffer has {} elements.",
                    args.index,
                    env.buffer.len()
                ))
            })
            .add(
                "WriteBack",
                "Copy the merge buffer into the array from position `start` on, then empty the \
                 buffer.",
                |env: &mut Self, args: WriteBackArgs| {
                    let count = env.buffer.len();
                    if count == 0 {
                        return Err("the buffer is empty".to_owned());
                    }
                    let end = args.start.saturating_add(count);
                    if end > env.array.len() {
                        return Err(format!(
                            "{count} elements from position {} would run past the end (length {})",
                            args.start,
                            env.array.len()
                        ));
                    }
                    env.array[args.start..end].copy_from_slice(&env.buffer);
                    env.buffer.clear();
                    Ok(format!("Wrote {count} elements to a[{}..{end}]; the buffer is empty.", args.start))
                },
            )
            .add(
                "AddInversions",
                "Add `count` to the inversion counter.",
                |env: &mut Self, args: AddArgs| {
                    let len = env.array.len() as u64;
                    let total = env.counter.saturating_add(args.count);
                    if total > len * (len - 1) / 2 {
                        return Err(format!(
                            "the counter would reach {total}, more than the {} pairs of the array",
                            len * (len - 1) / 2
                        ));
                    }
                    env.counter = total;
                    Ok(format!("Inversion counter: {total}."))
                },
            );
    }

    fn reference_answer(&self) -> u64 {
        self.inversions
    }
}

/// Bottom-up merge sort, counting the left-run elements each right-run take jumps over.
pub struct InversionCountOracle;

impl Oracle for InversionCountOracle {
    async fn solve(agent: Agent, _task: String) {
        let len = first_int(&agent.call("Length", NoArgs {}).await).unwrap_or(0);
        let mut total = 0;
        let mut width = 1;
        while width < len {
            for low in (0..len).step_by(2 * width as usize) {
                let mid = (low + width).min(len);
                let high = (low + 2 * width).min(len);
                if mid >= high {
                    continue; // no right run: already in place
                }
                let (mut i, mut j, mut found) = (low, mid, 0);
                while i < mid && j < high {
                    let took = agent.call("TakeSmaller", serde_json::json!({ "left": i, "right": j })).await;
                    if took.contains("from the right") {
                        found += mid - i;
                        j += 1;
                    } else {
                        i += 1;
                    }
                }
                for index in (i..mid).chain(j..high) {
                    agent.call("Take", serde_json::json!({ "index": index })).await;
                }
                agent.call("WriteBack", serde_json::json!({ "start": low })).await;
                if found > 0 {
                    agent.call("AddInversions", serde_json::json!({ "count": found })).await;
                    total += found;
                }
            }
            width *= 2;
        }
        agent.done(total).await;
    }
}

export_env!(InversionCount, InversionCountOracle);

#[cfg(test)]
mod tests {
    use codegym_env_sdk::{Session, ToolCall, testing};

    use super::*;

    const CONFIG: &str = r#"{"array": [5, 1, 4, 4, 2]}"#;

    #[test]
    fn oracle_solves_every_difficulty() {
        testing::check_environment::<InversionCount, InversionCountOracle>(10);
    }

    #[test]
    fn merge_count_matches_brute_force() {
        for seed in 0..20 {
            let array = InversionCount::sample_config(seed, 100).array;
            let brute = (0..array.len())
                .flat_map(|i| (i + 1..array.len()).map(move |j| (i, j)))
                .filter(|&(i, j)| array[i] > array[j])
                .count() as u64;
            assert_eq!(sort_counting(&mut array.clone()), brute);
        }
    }

    #[test]
    fn tools_merge_through_the_buffer() {
        let mut session = testing::session::<InversionCount>(CONFIG);
        let mut step = |name: &str, args: &str| session.step(&ToolCall::new(name, args)).observation;
        assert_eq!(
            step("TakeSmaller", r#"{"left": 0, "right": 1}"#),
            "Took a[1] = 1 from the right; the buffer has 1 elements."
        );
        assert_eq!(step("Take", r#"{"index": 0}"#), "Took a[0] = 5; the buffer has 2 elements.");
        assert_eq!(step("WriteBack", r#"{"start": 0}"#), "Wrote 2 elements to a[0..2]; the buffer is empty.");
        assert_eq!(step("Get", r#"{"index": 0}"#), "a[0] = 1");
        assert_eq!(
            step("TakeSmaller", r#"{"left": 2, "right": 3}"#),
            "Took a[2] = 4 from the left; the buffer has 1 elements."
        );
        assert_eq!(step("AddInversions", r#"{"count": 1}"#), "Inversion counter: 1.");
        assert_eq!(step("Observe", "{}"), "Array length: 5. Buffer: 1 elements. Inversion counter: 1.");
        for (name, args) in [
            ("TakeSmaller", r#"{"left": 3, "right": 3}"#),
            ("TakeSmaller", r#"{"left": 3, "right": 5}"#),
            ("Take", r#"{"index": 5}"#),
            ("WriteBack", r#"{"start": 5}"#),
            ("AddInversions", r#"{"count": 10}"#),
            ("AddInversions", r#"{"count": -1}"#),
            ("Get", r#"{"index": 5}"#),
        ] {
            assert!(step(name, args).starts_with("Error:"), "{name} {args}");
        }
        for _ in 0..4 {
            step("Take", r#"{"index": 4}"#);
        }
        assert!(step("Take", r#"{"index": 4}"#).starts_with("Error: the buffer is full"));
    }

    #[test]
    fn answers_are_graded_and_configs_validated() {
        // (5,1) (5,4) (5,4) (5,2) (4,2) (4,2)
        assert_eq!(testing::session::<InversionCount>(CONFIG).reference_answer(), "6");
        let step =
            testing::session::<InversionCount>(CONFIG).step(&ToolCall::new("Done", r#"{"answer": 5}"#));
        assert!(step.done && step.reward == 0.0);
        let step =
            testing::session::<InversionCount>(CONFIG).step(&ToolCall::new("Done", r#"{"answer": 6}"#));
        assert!(step.done && step.reward == 1.0);
        assert!(Session::<InversionCount>::new().reset(r#"{"array": []}"#).is_err());
    }
}
