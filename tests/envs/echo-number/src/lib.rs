//! The trainer's learning-signal environment: the task states a number and `Done` with that
//! number solves it. One call suffices, so a tiny model that has learnt to copy one token
//! from its prompt is rewarded; the difficulty widens the range of numbers (0..=3 at 0, up
//! to 0..=999 at 100). It is a test component (built into `target/test-envs`) rather than
//! part of the corpus: its oracle needs 2 calls, far below the paper's 10-256, and it has
//! only the built-in tools.

use codegym_env_sdk::prelude::*;

#[derive(Serialize, Deserialize)]
pub struct Config {
    pub number: u32,
}

pub struct EchoNumber {
    config: Config,
}

impl Environment for EchoNumber {
    type Config = Config;
    type Answer = u32;

    const META: Meta = Meta {
        name: "echo-number",
        version: env!("CARGO_PKG_VERSION"),
        description: "Answer with the number the task states (the trainer's easy environment).",
        category: "math",
    };

    fn sample_config(seed: u64, difficulty: u32) -> Config {
        let mut rng = config_rng(seed, difficulty);
        let max = scale(difficulty, 3, 999) as u32;
        Config { number: rng.random_range(0..=max) }
    }

    fn reset(config: Config) -> Result<Self, String> {
        Ok(Self { config })
    }

    fn task(&self) -> String {
        format!("The number is {}. Call Done with it.", self.config.number)
    }

    fn observe(&self) -> String {
        format!("The number is {}.", self.config.number)
    }

    fn tools(_: &mut Tools<Self>) {}

    fn reference_answer(&self) -> u32 {
        self.config.number
    }
}

/// Reads the number back with `Observe` and submits it.
pub struct EchoNumberOracle;

impl Oracle for EchoNumberOracle {
    async fn solve(agent: Agent, _task: String) {
        let number = first_int(&agent.call("Observe", NoArgs {}).await).unwrap_or(0);
        agent.done(number).await;
    }
}

export_env!(EchoNumber, EchoNumberOracle);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oracle_solves_every_difficulty() {
        // Not `check_environment`: that holds corpus environments to 10+ oracle calls.
        for difficulty in [0, 50, 100] {
            for seed in 0..10 {
                let run =
                    codegym_env_sdk::testing::run_oracle::<EchoNumber, EchoNumberOracle>(seed, difficulty);
                assert!(run.done && run.reward == 1.0, "seed {seed} difficulty {difficulty}");
                assert_eq!(run.calls(), 2);
            }
        }
    }

    #[test]
    fn difficulty_widens_the_range() {
        let max = |difficulty| (0..200).map(|seed| EchoNumber::sample_config(seed, difficulty).number).max();
        assert_eq!(max(0), Some(3));
        assert!(max(100).is_some_and(|m| m > 900));
    }

    #[test]
    fn done_with_the_number_solves() {
        let mut session = codegym_env_sdk::testing::session::<EchoNumber>(r#"{"number":7}"#);
        let wrong = session.step(&codegym_env_sdk::ToolCall::new("Done", r#"{"answer":6}"#));
        assert!(wrong.done && wrong.reward == 0.0);
        let mut session = codegym_env_sdk::testing::session::<EchoNumber>(r#"{"number":7}"#);
        let right = session.step(&codegym_env_sdk::ToolCall::new("Done", r#"{"answer":7}"#));
        assert!(right.done && right.reward == 1.0, "{}", right.observation);
    }
}
