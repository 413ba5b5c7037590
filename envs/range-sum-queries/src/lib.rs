//! Answer range-sum queries on a hidden array with a prefix-sum table (LeetCode 303 "Range
//! Sum Query - Immutable").
//!
//! The reference solution builds `P[0] = 0`, `P[i + 1] = P[i] + a[i]` in one pass, then
//! answers each query `sum(a[l..=r])` as `P[r + 1] - P[l]` in constant time instead of
//! rereading the range. The table lives in the environment: `Get` reads an element,
//! `SetPrefix` / `GetPrefix` write and read table entries, and `QueryCount` / `GetQuery`
//! read the queries.

use codegym_env_sdk::prelude::*;

/// Longest array a config may hold.
const MAX_LEN: usize = 10_000;
/// Most queries a config may hold.
const MAX_QUERIES: usize = 1_000;
/// Largest magnitude of an element.
const MAX_VALUE: i64 = 1_000_000_000;
/// Largest magnitude of a prefix-table entry.
const MAX_PREFIX: i64 = 1_000_000_000_000_000;

#[derive(Serialize, Deserialize)]
pub struct Config {
    pub array: Vec<i64>,
    /// Inclusive ranges `[l, r]` with `l <= r < array.len()`.
    pub queries: Vec<[usize; 2]>,
}

pub struct RangeSumQueries {
    config: Config,
    /// The agent's table `P[0..=n]`; `P[0]` stays 0.
    prefix: Vec<i64>,
    reads: u32,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct SetPrefixArgs {
    /// Table position, from 1 to the array length (P[0] is always 0).
    index: usize,
    /// The value to store.
    value: i64,
}

impl Environment for RangeSumQueries {
    type Config = Config;
    /// The sum of each query's range, in query order.
    type Answer = Vec<i64>;

    const META: Meta = Meta {
        name: "range-sum-queries",
        version: env!("CARGO_PKG_VERSION"),
        description: "Answer range-sum queries on a hidden array with a prefix-sum table (LeetCode \
                      303 Range Sum Query - Immutable).",
        category: "arrays",
    };

    fn sample_config(seed: u64, difficulty: u32) -> Config {
        let mut rng = config_rng(seed, difficulty);
        let len = scale(difficulty, 3, 18);
        let count = scale(difficulty, 2, 10);
        let range = scale(difficulty, 20, 500) as i64;
        let array = (0..len).map(|_| rng.random_range(-range..=range)).collect();
        let queries = (0..count)
            .map(|_| {
                let l = rng.random_range(0..len);
                [l, rng.random_range(l..len)]
            })
            .collect();
        Config { array, queries }
    }

    fn reset(config: Config) -> Result<Self, String> {
        let len = config.array.len();
        if !(1..=MAX_LEN).contains(&len) {
            return Err(format!("array length must be between 1 and {MAX_LEN}"));
        }
        if !(1..=MAX_QUERIES).contains(&config.queries.len()) {
            return Err(format!("there must be between 1 and {MAX_QUERIES} queries"));
        }
        if config.array.iter().any(|value| !(-MAX_VALUE..=MAX_VALUE).contains(value)) {
            return Err(format!("elements must be between -{MAX_VALUE} and {MAX_VALUE}"));
        }
        if let Some([l, r]) = config.queries.iter().find(|[l, r]| l > r || *r >= len) {
            return Err(format!("query [{l}, {r}] is not a range of the array"));
        }
        Ok(Self { prefix: vec![0; len + 1], config, reads: 0 })
    }

    fn task(&self) -> String {
        format!(
            "An array of {} integers and {} queries are hidden from you. Each query [l, r] \
             asks for a[l] + ... + a[r] (zero-based, inclusive). Get reads an element and \
             Length gives the size; QueryCount and GetQuery read the queries. A prefix table \
             P[0..={}], all zeros at first, is kept for you: SetPrefix writes an entry (P[0] \
             stays 0) and GetPrefix reads one. With P[i] = a[0] + ... + a[i - 1], a query's \
             sum is P[r + 1] - P[l]. Submit the sums in query order with Done, e.g. \
             {{\"answer\": [12, -3]}}.",
            self.config.array.len(),
            self.config.queries.len(),
            self.config.array.len()
        )
    }

    fn observe(&self) -> String {
        let filled = self.prefix.iter().filter(|&&p| p != 0).count();
        format!(
            "Array length: {}. Queries: {}. Elements read so far: {}. Non-zero prefix entries: {filled}.",
            self.config.array.len(),
            self.config.queries.len(),
            self.reads
        )
    }

    fn tools(tools: &mut Tools<Self>) {
        tools
            .add("Length", "Return the number of elements in the array.", |env: &mut Self, _: NoArgs| {
                format!("The array has {} elements.", env.config.array.len())
            })
            .add(
                "Get",
                "Return the array element at `index`, as `a[index] = value`.",
                |env: &mut Self, args: IndexArgs| match env.config.array.get(args.index) {
                    Some(value) => {
                        env.reads += 1;
                        Ok(format!("a[{}] = {value}", args.index))
                    }
                    None => Err(format!(
                        "index {} is out of range (length {})",
                        args.index,
                        env.config.array.len()
                    )),
                },
            )
            .add("QueryCount", "Return the number of queries.", |env: &mut Self, _: NoArgs| {
                format!("There are {} queries.", env.config.queries.len())
            })
            .add(
                "GetQuery",
                "Return the query at `index` (zero-based), as `query index: l = .., r = ..`.",
                |env: &mut Self, args: IndexArgs| match env.config.queries.get(args.index) {
                    Some([l, r]) => Ok(format!("query {}: l = {l}, r = {r}", args.index)),
                    None => Err(format!(
                        "query {} does not exist ({} queries)",
                        args.index,
                        env.config.queries.len()
                    )),
                },
            )
            .add(
                "SetPrefix",
                "Set the prefix-table entry P[index] to `value`.",
                |env: &mut Self, args: SetPrefixArgs| {
                    if !(1..env.prefix.len()).contains(&args.index) {
                        return Err(format!(
                            "index {} must be between 1 and {} (P[0] is always 0)",
                            args.index,
                            env.prefix.len() - 1
                        ));
                    }
                    if !(-MAX_PREFIX..=MAX_PREFIX).contains(&args.value) {
                        return Err(format!("value {} is too large", args.value));
                    }
                    env.prefix[args.index] = args.value;
                    Ok(format!("P[{}] = {}", args.index, args.value))
                },
            )
            .add(
                "GetPrefix",
                "Return the prefix-table entry P[index], as `P[index] = value`.",
                |env: &mut Self, args: IndexArgs| match env.prefix.get(args.index) {
                    Some(value) => Ok(format!("P[{}] = {value}", args.index)),
                    None => Err(format!(
                        "index {} is out of range (the table has {} entries)",
                        args.index,
                        env.prefix.len()
                    )),
                },
            );
    }

    fn reference_answer(&self) -> Vec<i64> {
        let array = &self.config.array;
        self.config.queries.iter().map(|&[l, r]| array[l..=r].iter().sum()).collect()
    }
}

/// Fill the prefix table in one pass, then answer each query from two entries.
pub struct RangeSumQueriesOracle;

impl Oracle for RangeSumQueriesOracle {
    async fn solve(agent: Agent, _task: String) {
        let len = first_int(&agent.call("Length", NoArgs {}).await).unwrap_or(0);
        let count = first_int(&agent.call("QueryCount", NoArgs {}).await).unwrap_or(0);
        let mut sum = 0;
        for index in 0..len {
            let read = agent.call("Get", serde_json::json!({ "index": index })).await;
            sum += ints(&read).last().copied().unwrap_or(0);
            agent.call("SetPrefix", serde_json::json!({ "index": index + 1, "value": sum })).await;
        }
        let entry = async |index: i64| {
            let read = agent.call("GetPrefix", serde_json::json!({ "index": index })).await;
            ints(&read).last().copied().unwrap_or(0)
        };
        let mut sums = Vec::new();
        for query in 0..count {
            let read = ints(&agent.call("GetQuery", serde_json::json!({ "index": query })).await);
            let &[_, l, r] = read.as_slice() else { break };
            // P[0] is always 0: no need to read it.
            let before = if l == 0 { 0 } else { entry(l).await };
            sums.push(entry(r + 1).await - before);
        }
        agent.done(sums).await;
    }
}

export_env!(RangeSumQueries, RangeSumQueriesOracle);

#[cfg(test)]
mod tests {
    use codegym_env_sdk::{Session, ToolCall, testing};

    use super::*;

    const CONFIG: &str = r#"{"array": [-2, 0, 3, -5, 2, -1], "queries": [[0, 2], [2, 5], [0, 5]]}"#;

    #[test]
    fn oracle_solves_every_difficulty() {
        testing::check_environment::<RangeSumQueries, RangeSumQueriesOracle>(10);
    }

    #[test]
    fn tools_fill_and_read_the_table() {
        let mut session = testing::session::<RangeSumQueries>(CONFIG);
        let mut step = |name: &str, args: &str| session.step(&ToolCall::new(name, args)).observation;
        assert_eq!(step("GetQuery", r#"{"index": 1}"#), "query 1: l = 2, r = 5");
        assert_eq!(step("Get", r#"{"index": 3}"#), "a[3] = -5");
        assert_eq!(step("SetPrefix", r#"{"index": 6, "value": -3}"#), "P[6] = -3");
        assert_eq!(step("GetPrefix", r#"{"index": 6}"#), "P[6] = -3");
        assert_eq!(step("GetPrefix", r#"{"index": 0}"#), "P[0] = 0");
        for (name, args) in [
            ("SetPrefix", r#"{"index": 0, "value": 4}"#),
            ("SetPrefix", r#"{"index": 7, "value": 4}"#),
            ("SetPrefix", r#"{"index": 1, "value": 9000000000000000000}"#),
            ("GetPrefix", r#"{"index": 7}"#),
            ("GetQuery", r#"{"index": 3}"#),
            ("Get", r#"{"index": 6}"#),
        ] {
            assert!(step(name, args).starts_with("Error:"), "{name} {args}");
        }
        assert_eq!(
            step("Observe", "{}"),
            "Array length: 6. Queries: 3. Elements read so far: 1. Non-zero prefix entries: 1."
        );
    }

    #[test]
    fn answers_are_graded_and_configs_validated() {
        assert_eq!(testing::session::<RangeSumQueries>(CONFIG).reference_answer(), "[1,-1,-3]");
        let step = testing::session::<RangeSumQueries>(CONFIG)
            .step(&ToolCall::new("Done", r#"{"answer": [1, -1]}"#));
        assert!(step.done && step.reward == 0.0);
        let step = testing::session::<RangeSumQueries>(CONFIG)
            .step(&ToolCall::new("Done", r#"{"answer": [1, -1, -3]}"#));
        assert!(step.done && step.reward == 1.0);
        let mut session = Session::<RangeSumQueries>::new();
        for bad in [
            r#"{"array": [], "queries": [[0, 0]]}"#,
            r#"{"array": [1], "queries": []}"#,
            r#"{"array": [1, 2], "queries": [[1, 0]]}"#,
            r#"{"array": [1, 2], "queries": [[0, 2]]}"#,
            r#"{"array": [1, 2000000000], "queries": [[0, 1]]}"#,
        ] {
            assert!(session.reset(bad).is_err(), "{bad}");
        }
    }
}
