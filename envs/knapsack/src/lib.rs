//! 0/1 knapsack over hidden items (the classic 0/1 knapsack problem), by the one-row dynamic
//! program.
//!
//! `dp[w]` is the best value within weight `w` using the items processed so far. The
//! reference solution starts with `dp = 0` and, for each item, walks `w` from the capacity
//! down to the item's weight, relaxing `dp[w] = max(dp[w], dp[w - weight] + value)`; going
//! downwards is what keeps each item used at most once. The agent reads items with `Item`;
//! the DP row lives in the environment: `Relax` performs one cell update, `GetCell` and
//! `SetCell` read and write cells.

use codegym_env_sdk::prelude::*;

/// Most items a config may hold.
const MAX_ITEMS: usize = 200;
/// Largest capacity a config may have.
const MAX_CAPACITY: usize = 1_000;
/// Largest item value.
const MAX_VALUE: u64 = 1_000_000;

#[derive(Serialize, Deserialize)]
pub struct Config {
    /// The knapsack's weight limit.
    pub capacity: usize,
    /// Items `[weight, value]`, weight at least 1.
    pub items: Vec<[u64; 2]>,
}

pub struct Knapsack {
    config: Config,
    /// The agent's DP row `dp[0..=capacity]`, all zeros at first.
    dp: Vec<u64>,
    relaxations: usize,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct CellArgs {
    /// A weight between 0 and the capacity (the DP cell's index).
    weight: usize,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct SetCellArgs {
    /// A weight between 0 and the capacity (the DP cell's index).
    weight: usize,
    /// The value to store.
    value: u64,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RelaxArgs {
    /// The item to consider, by zero-based index.
    item: usize,
    /// The DP cell to update: a weight between the item's weight and the capacity.
    weight: usize,
}

impl Knapsack {
    fn check(&self, weight: usize) -> Result<(), String> {
        if weight <= self.config.capacity {
            Ok(())
        } else {
            Err(format!("weight {weight} is above the capacity {}", self.config.capacity))
        }
    }
}

impl Environment for Knapsack {
    type Config = Config;
    type Answer = u64;

    const META: Meta = Meta {
        name: "knapsack",
        version: env!("CARGO_PKG_VERSION"),
        description: "Best total value of hidden items within a weight limit, by the one-row 0/1 \
                      knapsack dynamic program.",
        category: "dynamic-programming",
    };

    fn sample_config(seed: u64, difficulty: u32) -> Config {
        let mut rng = config_rng(seed, difficulty);
        let count = scale(difficulty, 2, 7);
        let capacity = scale(difficulty, 5, 18);
        let max_weight = scale(difficulty, 4, 10) as u64;
        let max_value = scale(difficulty, 10, 60) as u64;
        let items =
            (0..count).map(|_| [rng.random_range(1..=max_weight), rng.random_range(1..=max_value)]).collect();
        Config { capacity, items }
    }

    fn reset(config: Config) -> Result<Self, String> {
        if !(1..=MAX_ITEMS).contains(&config.items.len()) {
            return Err(format!("there must be between 1 and {MAX_ITEMS} items"));
        }
        if config.capacity > MAX_CAPACITY {
            return Err(format!("the capacity may be at most {MAX_CAPACITY}"));
        }
        if let Some([weight, value]) = config
            .items
            .iter()
            .find(|[weight, value]| *weight == 0 || *weight > MAX_CAPACITY as u64 || *value > MAX_VALUE)
        {
            return Err(format!(
                "item [{weight}, {value}]: weights must be 1..={MAX_CAPACITY}, values at most {MAX_VALUE}"
            ));
        }
        let dp = vec![0; config.capacity + 1];
        Ok(Self { config, dp, relaxations: 0 })
    }

    fn task(&self) -> String {
        format!(
            "{} items, each with a weight and a value, are hidden from you. Choose items (each at \
             most once) of total weight at most {} with the largest total value. ItemCount and \
             Capacity give the sizes and Item reads one item. A DP row dp[0..=capacity], all \
             zeros at first, is kept for you: Relax(item, weight) sets dp[weight] to the larger \
             of dp[weight] and dp[weight - item weight] + item value, and GetCell / SetCell read \
             and write cells. Submit the best value with Done, e.g. {{\"answer\": 42}}.",
            self.config.items.len(),
            self.config.capacity
        )
    }

    fn observe(&self) -> String {
        format!(
            "Items: {}. Capacity: {}. Relax calls so far: {}. Non-zero DP cells: {}.",
            self.config.items.len(),
            self.config.capacity,
            self.relaxations,
            self.dp.iter().filter(|&&v| v > 0).count()
        )
    }

    fn tools(tools: &mut Tools<Self>) {
        tools
            .add("ItemCount", "Return the number of items.", |env: &mut Self, _: NoArgs| {
                env.config.items.len().to_string()
            })
            .add("Capacity", "Return the knapsack's weight limit.", |env: &mut Self, _: NoArgs| {
                env.config.capacity.to_string()
            })
            .add(
                "Item",
                "Return the item at `index`, as `item i: weight w, value v`.",
                |env: &mut Self, args: IndexArgs| match env.config.items.get(args.index) {
                    Some([weight, value]) => {
                        Ok(format!("item {}: weight {weight}, value {value}", args.index))
                    }
                    None => Err(format!(
                        "index {} is out of range ({} items)",
                        args.index,
                        env.config.items.len()
                    )),
                },
            )
            .add("GetCell", "Return the DP cell dp[`weight`].", |env: &mut Self, args: CellArgs| {
                env.check(args.weight)?;
                Ok::<_, String>(format!("dp[{}] = {}", args.weight, env.dp[args.weight]))
            })
            .add(
                "SetCell",
                "Set the DP cell dp[`weight`] to `value`.",
                |env: &mut Self, args: SetCellArgs| {
                    env.check(args.weight)?;
                    env.dp[args.weight] = args.value;
                    Ok::<_, String>(format!("dp[{}] = {}", args.weight, args.value))
                },
            )
            .add(
                "Relax",
                "Consider `item` for the DP cell `weight`: dp[weight] = max(dp[weight], \
                 dp[weight - item weight] + item value). Returns the cell's new value.",
                |env: &mut Self, args: RelaxArgs| {
                    env.check(args.weight)?;
                    let Some(&[item_weight, value]) = env.config.items.get(args.item) else {
                        return Err(format!(
                            "item {} is out of range ({} items)",
                            args.item,
                            env.config.items.len()
                        ));
                    };
                    let Some(rest) = (args.weight as u64).checked_sub(item_weight) else {
                        return Err(format!(
                            "item {} weighs {item_weight}, more than {}",
                            args.item, args.weight
                        ));
                    };
                    env.relaxations += 1;
                    let old = env.dp[args.weight];
                    let with_item = env.dp[rest as usize].saturating_add(value);
                    env.dp[args.weight] = old.max(with_item);
                    Ok(format!(
                        "dp[{}] = max({old}, dp[{rest}] + {value} = {with_item}) = {}",
                        args.weight, env.dp[args.weight]
                    ))
                },
            );
    }

    fn reference_answer(&self) -> u64 {
        let mut dp = vec![0u64; self.config.capacity + 1];
        for &[weight, value] in &self.config.items {
            for w in (weight as usize..=self.config.capacity).rev() {
                dp[w] = dp[w].max(dp[w - weight as usize] + value);
            }
        }
        dp[self.config.capacity]
    }
}

/// For each item, relax the row from the capacity down to its weight; read dp[capacity].
pub struct KnapsackOracle;

impl Oracle for KnapsackOracle {
    async fn solve(agent: Agent, _task: String) {
        let count = first_int(&agent.call("ItemCount", NoArgs {}).await).unwrap_or(0);
        let capacity = first_int(&agent.call("Capacity", NoArgs {}).await).unwrap_or(0);
        for item in 0..count {
            let read = ints(&agent.call("Item", serde_json::json!({ "index": item })).await);
            let weight = read.get(1).copied().unwrap_or(i64::MAX);
            for w in (weight..=capacity).rev() {
                agent.call("Relax", serde_json::json!({ "item": item, "weight": w })).await;
            }
        }
        let best = agent.call("GetCell", serde_json::json!({ "weight": capacity })).await;
        agent.done(ints(&best).last().copied().unwrap_or(0)).await;
    }
}

export_env!(Knapsack, KnapsackOracle);

#[cfg(test)]
mod tests {
    use codegym_env_sdk::{Session, ToolCall, testing};

    use super::*;

    const CONFIG: &str = r#"{"capacity": 5, "items": [[2, 3], [3, 4], [4, 5], [5, 6]]}"#;

    #[test]
    fn oracle_solves_every_difficulty() {
        testing::check_environment::<Knapsack, KnapsackOracle>(10);
    }

    #[test]
    fn tools_update_the_dp_row() {
        let mut session = testing::session::<Knapsack>(CONFIG);
        for call in [
            ToolCall::new("Item", r#"{"index": 4}"#),
            ToolCall::new("GetCell", r#"{"weight": 6}"#),
            ToolCall::new("Relax", r#"{"item": 1, "weight": 2}"#),
            ToolCall::new("Relax", r#"{"item": 7, "weight": 5}"#),
            ToolCall::new("SetCell", r#"{"weight": 1, "value": -2}"#),
        ] {
            let step = session.step(&call);
            assert!(step.observation.starts_with("Error:"), "{call:?}: {}", step.observation);
        }
        assert_eq!(
            session.step(&ToolCall::new("Item", r#"{"index": 1}"#)).observation,
            "item 1: weight 3, value 4"
        );
        assert_eq!(
            session.step(&ToolCall::new("Relax", r#"{"item": 0, "weight": 2}"#)).observation,
            "dp[2] = max(0, dp[0] + 3 = 3) = 3"
        );
        assert_eq!(
            session.step(&ToolCall::new("Relax", r#"{"item": 1, "weight": 5}"#)).observation,
            "dp[5] = max(0, dp[2] + 4 = 7) = 7"
        );
        session.step(&ToolCall::new("SetCell", r#"{"weight": 1, "value": 9}"#));
        assert_eq!(
            session.step(&ToolCall::new("Relax", r#"{"item": 1, "weight": 4}"#)).observation,
            "dp[4] = max(0, dp[1] + 4 = 13) = 13"
        );
        assert_eq!(session.step(&ToolCall::new("GetCell", r#"{"weight": 4}"#)).observation, "dp[4] = 13");
    }

    #[test]
    fn answers_are_graded_and_bad_configs_rejected() {
        assert_eq!(testing::session::<Knapsack>(CONFIG).reference_answer(), "7");
        let step = testing::session::<Knapsack>(CONFIG).step(&ToolCall::new("Done", r#"{"answer": 6}"#));
        assert!(step.done && step.reward == 0.0);
        let step = testing::session::<Knapsack>(CONFIG).step(&ToolCall::new("Done", r#"{"answer": 7}"#));
        assert!(step.done && step.reward == 1.0);
        let mut session = Session::<Knapsack>::new();
        assert!(session.reset(r#"{"capacity": 5, "items": [[0, 3]]}"#).is_err());
        assert!(session.reset(r#"{"capacity": 5, "items": []}"#).is_err());
        assert!(session.reset(r#"{"capacity": 5000, "items": [[1, 1]]}"#).is_err());
    }
}
