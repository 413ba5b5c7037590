//! Merge overlapping intervals of a hidden list (LeetCode 56 "Merge Intervals").
//!
//! The reference solution sorts by start, then sweeps: an interval that starts after the
//! last merged interval ends opens a new one, otherwise it extends the last one. The agent
//! drives that sweep with `SortByStart`, `GetInterval`, and an output list kept by the
//! environment (`AppendMerged`, `ExtendLast`).

use codegym_env_sdk::prelude::*;

/// Most intervals a config may hold.
const MAX_LEN: usize = 10_000;

#[derive(Serialize, Deserialize)]
pub struct Config {
    /// Closed intervals `[start, end]` with `start <= end`, in any order.
    pub intervals: Vec<[i64; 2]>,
}

pub struct MergeIntervals {
    intervals: Vec<[i64; 2]>,
    sorted: bool,
    /// The agent's output list.
    merged: Vec<[i64; 2]>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct AppendArgs {
    /// Start of the interval to append.
    start: i64,
    /// End of the interval to append (at least `start`).
    end: i64,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ExtendArgs {
    /// The last merged interval's end becomes the larger of its current end and this value.
    end: i64,
}

fn merge(intervals: &[[i64; 2]]) -> Vec<[i64; 2]> {
    let mut sorted = intervals.to_vec();
    sorted.sort_unstable();
    let mut merged: Vec<[i64; 2]> = Vec::new();
    for [start, end] in sorted {
        match merged.last_mut() {
            Some(last) if start <= last[1] => last[1] = last[1].max(end),
            _ => merged.push([start, end]),
        }
    }
    merged
}

impl Environment for MergeIntervals {
    type Config = Config;
    type Answer = Vec<[i64; 2]>;

    const META: Meta = Meta {
        name: "merge-intervals",
        version: env!("CARGO_PKG_VERSION"),
        description: "Merge all overlapping intervals of a hidden list into sorted disjoint \
                      intervals (LeetCode 56).",
        category: "intervals",
    };

    fn sample_config(seed: u64, difficulty: u32) -> Config {
        let mut rng = config_rng(seed, difficulty);
        let count = scale(difficulty, 4, 60);
        // About as many start points as 3 per interval, lengths up to 8: a mix of isolated
        // intervals and chains that merge.
        let span = (3 * count + 10) as i64;
        let max_length = scale(difficulty, 5, 8) as i64;
        let intervals = (0..count)
            .map(|_| {
                let start = rng.random_range(0..=span);
                [start, start + rng.random_range(0..=max_length)]
            })
            .collect();
        Config { intervals }
    }

    fn reset(config: Config) -> Result<Self, String> {
        if !(1..=MAX_LEN).contains(&config.intervals.len()) {
            return Err(format!("there must be between 1 and {MAX_LEN} intervals"));
        }
        if let Some([start, end]) = config.intervals.iter().find(|[start, end]| start > end) {
            return Err(format!("interval [{start}, {end}] ends before it starts"));
        }
        Ok(Self { intervals: config.intervals, sorted: false, merged: Vec::new() })
    }

    fn task(&self) -> String {
        format!(
            "A list of {} closed intervals [start, end] is hidden from you. Merge all \
             overlapping intervals (two intervals overlap when they share at least one point, \
             so [1, 4] and [4, 5] merge into [1, 5]) and answer the merged intervals sorted by \
             start. Count gives the number of intervals, SortByStart sorts the hidden list by \
             start, and GetInterval reads one. An output list is kept for you: AppendMerged \
             adds an interval at its end and ExtendLast pushes out the end of its last \
             interval. Submit the merged intervals with Done, e.g. \
             {{\"answer\": [[1, 6], [8, 10]]}}.",
            self.intervals.len()
        )
    }

    fn observe(&self) -> String {
        let last = match self.merged.last() {
            Some([start, end]) => format!(", last [{start}, {end}]"),
            None => String::new(),
        };
        format!(
            "Intervals: {} (sorted by start: {}). Output list: {} intervals{last}.",
            self.intervals.len(),
            if self.sorted { "yes" } else { "no" },
            self.merged.len()
        )
    }

    fn tools(tools: &mut Tools<Self>) {
        tools
            .add("Count", "Return the number of hidden intervals.", |env: &mut Self, _: NoArgs| {
                format!("{}", env.intervals.len())
            })
            .add(
                "SortByStart",
                "Sort the hidden list of intervals by start (ties by end), in place.",
                |env: &mut Self, _: NoArgs| {
                    env.intervals.sort_unstable();
                    env.sorted = true;
                    format!("Sorted {} intervals by start.", env.intervals.len())
                },
            )
            .add(
                "GetInterval",
                "Return the interval at `index` of the hidden (possibly sorted) list, as \
                 `interval index = [start, end]`.",
                |env: &mut Self, args: IndexArgs| match env.intervals.get(args.index) {
                    Some([start, end]) => Ok(format!("interval {} = [{start}, {end}]", args.index)),
                    None => Err(format!(
                        "index {} is out of range ({} intervals)",
                        args.index,
                        env.intervals.len()
                    )),
                },
            )
            .add(
                "AppendMerged",
                "Append the interval [start, end] at the end of the output list.",
                |env: &mut Self, args: AppendArgs| {
                    if args.start > args.end {
                        return Err(format!("start {} is after end {}", args.start, args.end));
                    }
                    if env.merged.len() >= env.intervals.len() {
                        return Err(format!(
                            "the output list already holds {} intervals, as many as the input",
                            env.merged.len()
                        ));
                    }
                    env.merged.push([args.start, args.end]);
                    Ok(format!(
                        "Appended [{}, {}]; the output list has {} intervals.",
                        args.start,
                        args.end,
                        env.merged.len()
                    ))
                },
            )
            .add(
                "ExtendLast",
                "Set the end of the output list's last interval to the larger of its end and `end`.",
                |env: &mut Self, args: ExtendArgs| match env.merged.last_mut() {
                    Some(last) => {
                        last[1] = last[1].max(args.end);
                        Ok(format!("The last output interval is now [{}, {}].", last[0], last[1]))
                    }
                    None => Err("the output list is empty".to_owned()),
                },
            );
    }

    fn reference_answer(&self) -> Vec<[i64; 2]> {
        merge(&self.intervals)
    }
}

/// Sort, then sweep, building the output list in the environment.
pub struct MergeIntervalsOracle;

impl Oracle for MergeIntervalsOracle {
    async fn solve(agent: Agent, _task: String) {
        let count = first_int(&agent.call("Count", NoArgs {}).await).unwrap_or(0);
        agent.call("SortByStart", NoArgs {}).await;
        let mut merged: Vec<[i64; 2]> = Vec::new();
        for index in 0..count {
            let read = ints(&agent.call("GetInterval", serde_json::json!({ "index": index })).await);
            let Some(&[start, end]) = read.get(1..3) else { break };
            match merged.last_mut() {
                Some(last) if start <= last[1] => {
                    if end > last[1] {
                        agent.call("ExtendLast", serde_json::json!({ "end": end })).await;
                        last[1] = end;
                    }
                }
                _ => {
                    agent.call("AppendMerged", serde_json::json!({ "start": start, "end": end })).await;
                    merged.push([start, end]);
                }
            }
        }
        agent.done(merged).await;
    }
}

export_env!(MergeIntervals, MergeIntervalsOracle);

#[cfg(test)]
mod tests {
    use codegym_env_sdk::{Session, ToolCall, testing};

    use super::*;

    const CONFIG: &str = r#"{"intervals": [[8, 10], [1, 3], [15, 18], [2, 6], [6, 7]]}"#;

    #[test]
    fn oracle_solves_every_difficulty() {
        codegym_env_sdk::testing::check_environment::<MergeIntervals, MergeIntervalsOracle>(10);
    }

    #[test]
    fn tools_reject_bad_input() {
        let mut session = testing::session::<MergeIntervals>(CONFIG);
        for call in [
            ToolCall::new("GetInterval", r#"{"index": 5}"#),
            ToolCall::new("ExtendLast", r#"{"end": 3}"#),
            ToolCall::new("AppendMerged", r#"{"start": 4, "end": 2}"#),
            ToolCall::new("AppendMerged", r#"{"start": 4}"#),
        ] {
            let step = session.step(&call);
            assert!(step.observation.starts_with("Error:"), "{call:?}: {}", step.observation);
        }
        session.step(&ToolCall::new("SortByStart", "{}"));
        assert_eq!(
            session.step(&ToolCall::new("GetInterval", r#"{"index": 1}"#)).observation,
            "interval 1 = [2, 6]"
        );
    }

    #[test]
    fn answers_are_graded() {
        assert_eq!(testing::session::<MergeIntervals>(CONFIG).reference_answer(), "[[1,7],[8,10],[15,18]]");
        let unmerged = r#"{"answer": [[1, 6], [6, 7], [8, 10], [15, 18]]}"#;
        let step = testing::session::<MergeIntervals>(CONFIG).step(&ToolCall::new("Done", unmerged));
        assert!(step.done && step.reward == 0.0);
        let step = testing::session::<MergeIntervals>(CONFIG)
            .step(&ToolCall::new("Done", r#"{"answer": [[1, 7], [8, 10], [15, 18]]}"#));
        assert!(step.done && step.reward == 1.0);
        assert!(Session::<MergeIntervals>::new().reset(r#"{"intervals": [[3, 1]]}"#).is_err());
    }
}
