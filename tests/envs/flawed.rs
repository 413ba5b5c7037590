//! A small honest environment (sum a hidden array) with one deliberate flaw, chosen by a
//! const parameter, for the tests of `codegym verify`. Each flawed crate under `tests/envs/`
//! includes this file and exports one flaw; `verify` must reject each at the right stage.

use std::sync::atomic::{AtomicI64, Ordering};

use codegym_env_sdk::prelude::*;

/// The oracle submits the sum plus one.
pub const WRONG_ORACLE: u8 = 0;
/// `sample_config` depends on how often it was called before (hidden global state).
pub const UNSTABLE_CONFIG: u8 = 1;
/// A `Sum` tool returns the answer in one call.
pub const ANSWER_TOOL: u8 = 2;

static SAMPLED: AtomicI64 = AtomicI64::new(0);

#[derive(Serialize, Deserialize)]
pub struct Config {
    values: Vec<i64>,
}

pub struct Flawed<const FLAW: u8> {
    values: Vec<i64>,
}

impl<const FLAW: u8> Environment for Flawed<FLAW> {
    type Config = Config;
    type Answer = i64;

    const META: Meta = Meta {
        name: match FLAW {
            WRONG_ORACLE => "wrong-oracle",
            UNSTABLE_CONFIG => "unstable-config",
            _ => "answer-tool",
        },
        version: env!("CARGO_PKG_VERSION"),
        description: "Sum a hidden array, with a deliberate flaw (a verify test fixture).",
        category: "arrays",
    };

    fn sample_config(seed: u64, difficulty: u32) -> Config {
        let mut rng = config_rng(seed, difficulty);
        let mut values: Vec<i64> =
            (0..scale(difficulty, 12, 40)).map(|_| rng.random_range(-99..100)).collect();
        if FLAW == UNSTABLE_CONFIG {
            values[0] += SAMPLED.fetch_add(1, Ordering::Relaxed);
        }
        Config { values }
    }

    fn reset(config: Config) -> Result<Self, String> {
        Ok(Self { values: config.values })
    }

    fn task(&self) -> String {
        format!("Sum the {} hidden integers.", self.values.len())
    }

    fn observe(&self) -> String {
        format!("{} hidden integers.", self.values.len())
    }

    fn tools(tools: &mut Tools<Self>) {
        tools
            .add("Length", "Number of integers.", |env: &mut Self, _: NoArgs| env.values.len().to_string())
            .add("Get", "The integer at `index`.", |env: &mut Self, args: IndexArgs| {
                env.values.get(args.index).map(|v| format!("a[{}] = {v}", args.index)).ok_or("out of range")
            });
        if FLAW == ANSWER_TOOL {
            tools.add("Sum", "The sum.", |env: &mut Self, _: NoArgs| {
                format!("The sum is {}.", env.values.iter().sum::<i64>())
            });
        }
    }

    fn reference_answer(&self) -> i64 {
        self.values.iter().sum()
    }
}

pub struct FlawedOracle<const FLAW: u8>;

impl<const FLAW: u8> Oracle for FlawedOracle<FLAW> {
    async fn solve(agent: Agent, _task: String) {
        let len = first_int(&agent.call("Length", NoArgs {}).await).unwrap_or(0);
        let mut sum = 0;
        for index in 0..len {
            sum += ints(&agent.call("Get", codegym_env_sdk::serde_json::json!({ "index": index })).await)
                .get(1)
                .unwrap_or(&0);
        }
        agent.done(if FLAW == WRONG_ORACLE { sum + 1 } else { sum }).await;
    }
}
