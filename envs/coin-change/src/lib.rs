//! Fewest coins making an amount (LeetCode 322 "Coin Change"), by the bottom-up DP over sums.
//!
//! `dp[s]` is the fewest coins summing to `s` (infinity when impossible), with `dp[0] = 0`.
//! The reference solution walks `s` upwards and, for every coin `c <= s`, relaxes
//! `dp[s] = min(dp[s], dp[s - c] + 1)`; the answer is `dp[amount]`, or -1 when it stays
//! infinite. The agent reads the coins with `Coin`; the DP array lives in the environment:
//! `Relax` performs one update, `GetDp` and `SetDp` read and write entries.

use codegym_env_sdk::prelude::*;

/// Most coins a config may hold.
const MAX_COINS: usize = 50;
/// Largest amount (and coin) a config may have.
const MAX_AMOUNT: usize = 2_000;

#[derive(Serialize, Deserialize)]
pub struct Config {
    /// Coin denominations, each usable any number of times.
    pub coins: Vec<usize>,
    /// The amount to make.
    pub amount: usize,
}

pub struct CoinChange {
    config: Config,
    /// The agent's DP array `dp[0..=amount]`; `None` is infinity. Starts with only dp[0] = 0.
    dp: Vec<Option<u32>>,
    relaxations: usize,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct SumArgs {
    /// A sum between 0 and the amount (the DP entry's index).
    sum: usize,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct SetDpArgs {
    /// A sum between 0 and the amount (the DP entry's index).
    sum: usize,
    /// The coin count to store.
    value: u32,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RelaxArgs {
    /// The DP entry to update: a sum between the coin's value and the amount.
    sum: usize,
    /// The coin to use last, by zero-based index.
    coin: usize,
}

fn show(value: Option<u32>) -> String {
    value.map_or_else(|| "infinity".to_owned(), |v| v.to_string())
}

impl CoinChange {
    fn check(&self, sum: usize) -> Result<(), String> {
        if sum <= self.config.amount {
            Ok(())
        } else {
            Err(format!("sum {sum} is above the amount {}", self.config.amount))
        }
    }
}

impl Environment for CoinChange {
    type Config = Config;
    type Answer = i64;

    const META: Meta = Meta {
        name: "coin-change",
        version: env!("CARGO_PKG_VERSION"),
        description: "Fewest coins of hidden denominations that make an amount, by bottom-up DP \
                      (LeetCode 322 Coin Change).",
        category: "dynamic-programming",
    };

    fn sample_config(seed: u64, difficulty: u32) -> Config {
        let mut rng = config_rng(seed, difficulty);
        let count = scale(difficulty, 2, 4);
        let largest = scale(difficulty, 7, 11);
        // The amount grows faster past medium difficulty, where the call budget allows it.
        let amount = scale(difficulty, 7, 21) + scale(difficulty.saturating_sub(50) * 2, 0, 17);
        // No 1-cent coin, so some amounts cannot be made.
        let mut coins: Vec<usize> = Vec::with_capacity(count);
        while coins.len() < count {
            let coin = rng.random_range(2..=largest);
            if !coins.contains(&coin) {
                coins.push(coin);
            }
        }
        Config { coins, amount: amount + rng.random_range(0..6) }
    }

    fn reset(config: Config) -> Result<Self, String> {
        if !(1..=MAX_COINS).contains(&config.coins.len()) {
            return Err(format!("there must be between 1 and {MAX_COINS} coins"));
        }
        if config.amount > MAX_AMOUNT {
            return Err(format!("the amount may be at most {MAX_AMOUNT}"));
        }
        if let Some(coin) = config.coins.iter().find(|&&coin| !(1..=MAX_AMOUNT).contains(&coin)) {
            return Err(format!("coin {coin} is not between 1 and {MAX_AMOUNT}"));
        }
        let mut dp = vec![None; config.amount + 1];
        dp[0] = Some(0);
        Ok(Self { config, dp, relaxations: 0 })
    }

    fn task(&self) -> String {
        format!(
            "{} coin denominations are hidden from you, each usable any number of times. Find \
             the fewest coins that sum to exactly {}, or -1 if no combination does. CoinCount \
             and Amount give the sizes and Coin reads one denomination. A DP array dp[0..=amount] \
             is kept for you, with dp[0] = 0 and every other entry infinity at first: Relax(sum, \
             coin) sets dp[sum] to the smaller of dp[sum] and dp[sum - coin value] + 1, and GetDp \
             / SetDp read and write entries. Submit the count with Done, e.g. {{\"answer\": 3}}.",
            self.config.coins.len(),
            self.config.amount
        )
    }

    fn observe(&self) -> String {
        format!(
            "Coins: {}. Amount: {}. Relax calls so far: {}. Finite DP entries: {}.",
            self.config.coins.len(),
            self.config.amount,
            self.relaxations,
            self.dp.iter().filter(|v| v.is_some()).count()
        )
    }

    fn tools(tools: &mut Tools<Self>) {
        tools
            .add("CoinCount", "Return the number of coin denominations.", |env: &mut Self, _: NoArgs| {
                env.config.coins.len().to_string()
            })
            .add("Amount", "Return the amount to make.", |env: &mut Self, _: NoArgs| {
                env.config.amount.to_string()
            })
            .add(
                "Coin",
                "Return the denomination at `index`, as `coin index = value`.",
                |env: &mut Self, args: IndexArgs| match env.config.coins.get(args.index) {
                    Some(value) => Ok(format!("coin {} = {value}", args.index)),
                    None => Err(format!(
                        "index {} is out of range ({} coins)",
                        args.index,
                        env.config.coins.len()
                    )),
                },
            )
            .add("GetDp", "Return the DP entry dp[`sum`].", |env: &mut Self, args: SumArgs| {
                env.check(args.sum)?;
                Ok::<_, String>(format!("dp[{}] = {}", args.sum, show(env.dp[args.sum])))
            })
            .add("SetDp", "Set the DP entry dp[`sum`] to `value`.", |env: &mut Self, args: SetDpArgs| {
                env.check(args.sum)?;
                env.dp[args.sum] = Some(args.value);
                Ok::<_, String>(format!("dp[{}] = {}", args.sum, args.value))
            })
            .add(
                "Relax",
                "Use `coin` last for `sum`: dp[sum] = min(dp[sum], dp[sum - coin value] + 1). \
                 Returns the entry's new value.",
                |env: &mut Self, args: RelaxArgs| {
                    env.check(args.sum)?;
                    let Some(&value) = env.config.coins.get(args.coin) else {
                        return Err(format!(
                            "coin {} is out of range ({} coins)",
                            args.coin,
                            env.config.coins.len()
                        ));
                    };
                    let Some(rest) = args.sum.checked_sub(value) else {
                        return Err(format!("coin {} is worth {value}, more than {}", args.coin, args.sum));
                    };
                    env.relaxations += 1;
                    let old = env.dp[args.sum];
                    let candidate = env.dp[rest].map(|v| v.saturating_add(1));
                    let new = match (old, candidate) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
                    env.dp[args.sum] = new;
                    Ok(format!(
                        "dp[{}] = min({}, dp[{rest}] + 1 = {}) = {}",
                        args.sum,
                        show(old),
                        show(candidate),
                        show(new)
                    ))
                },
            );
    }

    fn reference_answer(&self) -> i64 {
        let amount = self.config.amount;
        let mut dp: Vec<Option<u32>> = vec![None; amount + 1];
        dp[0] = Some(0);
        for sum in 1..=amount {
            dp[sum] =
                self.config.coins.iter().filter_map(|&coin| dp[sum.checked_sub(coin)?].map(|v| v + 1)).min();
        }
        dp[amount].map_or(-1, i64::from)
    }
}

/// For every sum upwards, relax with every coin that fits; read dp[amount].
pub struct CoinChangeOracle;

impl Oracle for CoinChangeOracle {
    async fn solve(agent: Agent, _task: String) {
        let count = first_int(&agent.call("CoinCount", NoArgs {}).await).unwrap_or(0);
        let amount = first_int(&agent.call("Amount", NoArgs {}).await).unwrap_or(0);
        let mut coins = Vec::new();
        for index in 0..count {
            let read = ints(&agent.call("Coin", serde_json::json!({ "index": index })).await);
            coins.push(read.get(1).copied().unwrap_or(i64::MAX));
        }
        for sum in 1..=amount {
            for (index, &coin) in coins.iter().enumerate() {
                if coin <= sum {
                    agent.call("Relax", serde_json::json!({ "sum": sum, "coin": index })).await;
                }
            }
        }
        let best = agent.call("GetDp", serde_json::json!({ "sum": amount })).await;
        let answer = if best.ends_with("infinity") { -1 } else { ints(&best).last().copied().unwrap_or(-1) };
        agent.done(answer).await;
    }
}

export_env!(CoinChange, CoinChangeOracle);

#[cfg(test)]
mod tests {
    use codegym_env_sdk::{Session, ToolCall, testing};

    use super::*;

    const CONFIG: &str = r#"{"coins": [1, 2, 5], "amount": 11}"#;

    #[test]
    fn oracle_solves_every_difficulty() {
        testing::check_environment::<CoinChange, CoinChangeOracle>(10);
    }

    #[test]
    fn tools_update_the_dp_array() {
        let mut session = testing::session::<CoinChange>(CONFIG);
        for call in [
            ToolCall::new("Coin", r#"{"index": 3}"#),
            ToolCall::new("GetDp", r#"{"sum": 12}"#),
            ToolCall::new("Relax", r#"{"sum": 4, "coin": 2}"#),
            ToolCall::new("Relax", r#"{"sum": 4, "coin": 3}"#),
            ToolCall::new("SetDp", r#"{"sum": 1, "value": -1}"#),
        ] {
            let step = session.step(&call);
            assert!(step.observation.starts_with("Error:"), "{call:?}: {}", step.observation);
        }
        assert_eq!(session.step(&ToolCall::new("Coin", r#"{"index": 2}"#)).observation, "coin 2 = 5");
        assert_eq!(session.step(&ToolCall::new("GetDp", r#"{"sum": 4}"#)).observation, "dp[4] = infinity");
        assert_eq!(
            session.step(&ToolCall::new("Relax", r#"{"sum": 4, "coin": 1}"#)).observation,
            "dp[4] = min(infinity, dp[2] + 1 = infinity) = infinity"
        );
        assert_eq!(
            session.step(&ToolCall::new("Relax", r#"{"sum": 2, "coin": 1}"#)).observation,
            "dp[2] = min(infinity, dp[0] + 1 = 1) = 1"
        );
        session.step(&ToolCall::new("SetDp", r#"{"sum": 4, "value": 7}"#));
        assert_eq!(
            session.step(&ToolCall::new("Relax", r#"{"sum": 4, "coin": 1}"#)).observation,
            "dp[4] = min(7, dp[2] + 1 = 2) = 2"
        );
    }

    #[test]
    fn answers_are_graded_and_bad_configs_rejected() {
        assert_eq!(testing::session::<CoinChange>(CONFIG).reference_answer(), "3");
        assert_eq!(testing::session::<CoinChange>(r#"{"coins": [2], "amount": 3}"#).reference_answer(), "-1");
        let step = testing::session::<CoinChange>(CONFIG).step(&ToolCall::new("Done", r#"{"answer": 4}"#));
        assert!(step.done && step.reward == 0.0);
        let step = testing::session::<CoinChange>(CONFIG).step(&ToolCall::new("Done", r#"{"answer": 3}"#));
        assert!(step.done && step.reward == 1.0);
        let mut session = Session::<CoinChange>::new();
        assert!(session.reset(r#"{"coins": [0, 2], "amount": 3}"#).is_err());
        assert!(session.reset(r#"{"coins": [], "amount": 3}"#).is_err());
        assert!(session.reset(r#"{"coins": [1], "amount": 99999}"#).is_err());
    }
}
