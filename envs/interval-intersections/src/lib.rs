//! Intersections of two hidden sorted lists of disjoint intervals (LeetCode 986 "Interval
//! List Intersections"), by the two-pointer sweep.
//!
//! The environment holds one pointer into each list, both starting at 0. The reference
//! solution repeats: intersect the two current intervals (`Overlap`), then advance the
//! pointer of the interval that ends first (`Advance`), since it cannot meet any later
//! interval of the other list. It stops when either list is exhausted. `Current` shows the
//! two current intervals, and `Count` / `Interval` read the lists directly.

use codegym_env_sdk::prelude::*;

/// Most intervals a list may hold.
const MAX_LEN: usize = 10_000;

#[derive(Serialize, Deserialize)]
pub struct Config {
    /// Closed intervals `[start, end]`, sorted and pairwise disjoint.
    pub a: Vec<[i64; 2]>,
    /// Closed intervals `[start, end]`, sorted and pairwise disjoint.
    pub b: Vec<[i64; 2]>,
}

pub struct IntervalIntersections {
    config: Config,
    /// The pointers into lists A and B.
    i: usize,
    j: usize,
    overlaps: u32,
}

#[derive(Clone, Copy, Deserialize, JsonSchema)]
enum List {
    A,
    B,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ListArgs {
    /// Which list: "A" or "B".
    list: List,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct IntervalArgs {
    /// Which list: "A" or "B".
    list: List,
    /// Zero-based position in that list.
    index: usize,
}

fn check_list(name: &str, list: &[[i64; 2]]) -> Result<(), String> {
    if !(1..=MAX_LEN).contains(&list.len()) {
        return Err(format!("list {name} must hold between 1 and {MAX_LEN} intervals"));
    }
    if let Some([start, end]) = list.iter().find(|[start, end]| start > end) {
        return Err(format!("interval [{start}, {end}] of list {name} ends before it starts"));
    }
    if list.windows(2).any(|pair| pair[0][1] >= pair[1][0]) {
        return Err(format!("list {name} must be sorted and pairwise disjoint"));
    }
    Ok(())
}

fn intersections(a: &[[i64; 2]], b: &[[i64; 2]]) -> Vec<[i64; 2]> {
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() && j < b.len() {
        let (start, end) = (a[i][0].max(b[j][0]), a[i][1].min(b[j][1]));
        if start <= end {
            out.push([start, end]);
        }
        if a[i][1] < b[j][1] {
            i += 1;
        } else {
            j += 1;
        }
    }
    out
}

/// A sorted list of disjoint intervals starting a little after 0, with gaps and lengths up to
/// `longest`.
fn sample_list(rng: &mut ConfigRng, count: usize, longest: i64) -> Vec<[i64; 2]> {
    let mut end = -1;
    (0..count)
        .map(|_| {
            let start = end + rng.random_range(1..=longest);
            end = start + rng.random_range(0..=longest);
            [start, end]
        })
        .collect()
}

impl IntervalIntersections {
    fn list(&self, list: List) -> (&'static str, &[[i64; 2]], usize) {
        match list {
            List::A => ("A", &self.config.a, self.i),
            List::B => ("B", &self.config.b, self.j),
        }
    }

    fn current(&self) -> String {
        let show = |list| {
            let (name, intervals, pointer) = self.list(list);
            match intervals.get(pointer) {
                Some([start, end]) => format!("{name}[{pointer}] = [{start}, {end}]"),
                None => format!("{name} is exhausted"),
            }
        };
        format!("{}, {}", show(List::A), show(List::B))
    }
}

impl Environment for IntervalIntersections {
    type Config = Config;
    type Answer = Vec<[i64; 2]>;

    const META: Meta = Meta {
        name: "interval-intersections",
        version: env!("CARGO_PKG_VERSION"),
        description: "Intersect two hidden sorted lists of disjoint intervals with two pointers \
                      (LeetCode 986 Interval List Intersections).",
        category: "intervals",
    };

    fn sample_config(seed: u64, difficulty: u32) -> Config {
        let mut rng = config_rng(seed, difficulty);
        let longest = scale(difficulty, 4, 8) as i64;
        let count_a = scale(difficulty, 3, 18) + rng.random_range(0..=1);
        let count_b = scale(difficulty, 3, 18) + rng.random_range(0..=1);
        Config { a: sample_list(&mut rng, count_a, longest), b: sample_list(&mut rng, count_b, longest) }
    }

    fn reset(config: Config) -> Result<Self, String> {
        check_list("A", &config.a)?;
        check_list("B", &config.b)?;
        Ok(Self { config, i: 0, j: 0, overlaps: 0 })
    }

    fn task(&self) -> String {
        format!(
            "Two lists of closed intervals are hidden from you: A with {} intervals and B with \
             {}. Each list is sorted and its intervals are pairwise disjoint. Find all \
             intersections of an interval of A with an interval of B ([1, 5] and [5, 8] meet \
             in [5, 5]). Count and Interval read the lists. A pointer into each list starts at \
             0: Current shows the two current intervals, Overlap intersects them, and Advance \
             moves one pointer forward. Submit the intersections in order with Done, e.g. \
             {{\"answer\": [[1, 2], [5, 5]]}}.",
            self.config.a.len(),
            self.config.b.len()
        )
    }

    fn observe(&self) -> String {
        format!(
            "List A: {} intervals, pointer {}. List B: {} intervals, pointer {}. Overlap calls so far: {}.",
            self.config.a.len(),
            self.i,
            self.config.b.len(),
            self.j,
            self.overlaps
        )
    }

    fn tools(tools: &mut Tools<Self>) {
        tools
            .add("Count", "Return the number of intervals in `list`.", |env: &mut Self, args: ListArgs| {
                let (name, intervals, _) = env.list(args.list);
                format!("list {name} has {} intervals", intervals.len())
            })
            .add(
                "Interval",
                "Return the interval at `index` of `list`, as `A[index] = [start, end]`.",
                |env: &mut Self, args: IntervalArgs| {
                    let (name, intervals, _) = env.list(args.list);
                    match intervals.get(args.index) {
                        Some([start, end]) => Ok(format!("{name}[{}] = [{start}, {end}]", args.index)),
                        None => Err(format!(
                            "index {} is out of range ({} intervals)",
                            args.index,
                            intervals.len()
                        )),
                    }
                },
            )
            .add("Current", "Show the intervals under the two pointers.", |env: &mut Self, _: NoArgs| {
                env.current()
            })
            .add(
                "Overlap",
                "Intersect the two current intervals: their common part, or that they do not meet.",
                |env: &mut Self, _: NoArgs| {
                    let (Some(a), Some(b)) = (env.config.a.get(env.i), env.config.b.get(env.j)) else {
                        return Err(format!("a list is exhausted: {}", env.current()));
                    };
                    env.overlaps += 1;
                    let (start, end) = (a[0].max(b[0]), a[1].min(b[1]));
                    Ok(if start <= end {
                        format!("A[{}] and B[{}] overlap on [{start}, {end}]", env.i, env.j)
                    } else {
                        format!("A[{}] and B[{}] do not overlap", env.i, env.j)
                    })
                },
            )
            .add(
                "Advance",
                "Move the pointer of `list` to its next interval, then show the current intervals.",
                |env: &mut Self, args: ListArgs| {
                    let (name, intervals, pointer) = env.list(args.list);
                    if pointer >= intervals.len() {
                        return Err(format!("list {name} is already exhausted"));
                    }
                    match args.list {
                        List::A => env.i += 1,
                        List::B => env.j += 1,
                    }
                    Ok(env.current())
                },
            );
    }

    fn reference_answer(&self) -> Vec<[i64; 2]> {
        intersections(&self.config.a, &self.config.b)
    }
}

/// The two-pointer sweep.
pub struct IntervalIntersectionsOracle;

impl Oracle for IntervalIntersectionsOracle {
    async fn solve(agent: Agent, _task: String) {
        let mut current = agent.call("Current", NoArgs {}).await;
        let mut found = Vec::new();
        while !current.contains("exhausted") {
            // "A[i] = [s, e], B[j] = [s, e]"
            let Some(&[_, _, a_end, _, _, b_end]) = ints(&current).get(..6) else { break };
            let overlap = agent.call("Overlap", NoArgs {}).await;
            if overlap.contains("overlap on")
                && let Some(&[_, _, start, end]) = ints(&overlap).get(..4)
            {
                found.push([start, end]);
            }
            let list = if a_end < b_end { "A" } else { "B" };
            current = agent.call("Advance", serde_json::json!({ "list": list })).await;
        }
        agent.done(found).await;
    }
}

export_env!(IntervalIntersections, IntervalIntersectionsOracle);

#[cfg(test)]
mod tests {
    use codegym_env_sdk::{Session, ToolCall, testing};

    use super::*;

    const CONFIG: &str =
        r#"{"a": [[0, 2], [5, 10], [13, 23], [24, 25]], "b": [[1, 5], [8, 12], [15, 24], [25, 26]]}"#;

    #[test]
    fn oracle_solves_every_difficulty() {
        testing::check_environment::<IntervalIntersections, IntervalIntersectionsOracle>(10);
    }

    #[test]
    fn pointers_move_and_overlaps_are_computed() {
        let mut session = testing::session::<IntervalIntersections>(CONFIG);
        let mut step = |name: &str, args: &str| session.step(&ToolCall::new(name, args)).observation;
        assert_eq!(step("Count", r#"{"list": "B"}"#), "list B has 4 intervals");
        assert_eq!(step("Interval", r#"{"list": "A", "index": 2}"#), "A[2] = [13, 23]");
        assert_eq!(step("Current", "{}"), "A[0] = [0, 2], B[0] = [1, 5]");
        assert_eq!(step("Overlap", "{}"), "A[0] and B[0] overlap on [1, 2]");
        assert_eq!(step("Advance", r#"{"list": "A"}"#), "A[1] = [5, 10], B[0] = [1, 5]");
        assert_eq!(step("Overlap", "{}"), "A[1] and B[0] overlap on [5, 5]");
        assert_eq!(step("Advance", r#"{"list": "B"}"#), "A[1] = [5, 10], B[1] = [8, 12]");
        for _ in 0..3 {
            step("Advance", r#"{"list": "B"}"#);
        }
        assert_eq!(step("Current", "{}"), "A[1] = [5, 10], B is exhausted");
        for (name, args) in [
            ("Overlap", "{}"),
            ("Advance", r#"{"list": "B"}"#),
            ("Advance", r#"{"list": "C"}"#),
            ("Interval", r#"{"list": "A", "index": 4}"#),
        ] {
            assert!(step(name, args).starts_with("Error:"), "{name} {args}");
        }
        assert_eq!(
            step("Observe", "{}"),
            "List A: 4 intervals, pointer 1. List B: 4 intervals, pointer 4. Overlap calls so far: 2."
        );
    }

    #[test]
    fn answers_are_graded_and_configs_validated() {
        assert_eq!(
            testing::session::<IntervalIntersections>(CONFIG).reference_answer(),
            "[[1,2],[5,5],[8,10],[15,23],[24,24],[25,25]]"
        );
        let step = testing::session::<IntervalIntersections>(CONFIG)
            .step(&ToolCall::new("Done", r#"{"answer": [[1, 2], [5, 5]]}"#));
        assert!(step.done && step.reward == 0.0);
        let mut session = Session::<IntervalIntersections>::new();
        assert!(session.reset(r#"{"a": [], "b": [[1, 2]]}"#).is_err());
        assert!(session.reset(r#"{"a": [[3, 1]], "b": [[1, 2]]}"#).is_err());
        assert!(session.reset(r#"{"a": [[1, 4], [4, 6]], "b": [[1, 2]]}"#).is_err());
    }
}
