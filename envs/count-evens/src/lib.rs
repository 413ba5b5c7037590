use codegym_env_sdk::prelude::*;

/// The task configuration: all the hidden state, as JSON. Keep it self-contained.
#[derive(Serialize, Deserialize)]
pub struct Config {
    numbers: Vec<i64>,
}

pub struct CountEvens {
    config: Config,
}

impl Environment for CountEvens {
    type Config = Config;
    type Answer = usize; // what `Done` takes

    const META: Meta = Meta {
        name: "count-evens",
        version: env!("CARGO_PKG_VERSION"),
        description: "Count the even numbers in a hidden array.",
        category: "arrays",
    };

    fn sample_config(seed: u64, difficulty: u32) -> Config {
        let mut rng = config_rng(seed, difficulty);
        let len = scale(difficulty, 8, 120); // difficulty 0..=100 scales the work
        Config { numbers: (0..len).map(|_| rng.random_range(-99..100)).collect() }
    }

    fn reset(config: Config) -> Result<Self, String> {
        Ok(Self { config }) // validate here; an `Err` is reported, never a panic
    }

    fn task(&self) -> String {
        format!(
            "An array of {} integers is hidden. Count its even numbers and \
                 answer with Done.",
            self.config.numbers.len()
        )
    }

    fn observe(&self) -> String {
        format!("The array has {} elements.", self.config.numbers.len())
    }

    fn tools(tools: &mut Tools<Self>) {
        // Tool arguments are typed: the SDK has `NoArgs` and `IndexArgs`, and any struct
        // deriving `Deserialize` and `JsonSchema` will do. Its JSON Schema is generated, and
        // its doc comments become the parameter descriptions the agent reads.
        tools
            .add("Length", "Number of elements.", |env: &mut Self, _: NoArgs| {
                env.config.numbers.len().to_string()
            })
            .add("Get", "The array element at `index`.", |env: &mut Self, args: IndexArgs| {
                // An `Err` becomes the observation "Error: ..."; tools never panic.
                env.config
                    .numbers
                    .get(args.index)
                    .map(|n| format!("a[{}] = {n}", args.index))
                    .ok_or(format!("index {} is out of range", args.index))
            });
    }

    fn reference_answer(&self) -> usize {
        self.config.numbers.iter().filter(|n| *n % 2 == 0).count()
    }
}

/// The oracle solves the task through tool calls only, like an agent: it never sees the
/// config. The host runs it in its own instance.
pub struct CountEvensOracle;

impl Oracle for CountEvensOracle {
    async fn solve(agent: Agent, _task: String) {
        let len = first_int(&agent.call("Length", NoArgs {}).await).unwrap_or(0);
        let mut evens = 0;
        for index in 0..len {
            let observation = agent.call("Get", serde_json::json!({ "index": index })).await;
            if ints(&observation).get(1).is_some_and(|value| value % 2 == 0) {
                evens += 1;
            }
        }
        agent.done(evens).await;
    }
}

export_env!(CountEvens, CountEvensOracle);

#[cfg(test)]
mod tests {
    #[test]
    fn oracle_solves_every_difficulty() {
        // Deterministic and distinct configs, oracle reward 1 at difficulties 0/50/100,
        // 10–256 calls at medium, a wrong answer gets 0.
        codegym_env_sdk::testing::check_environment::<super::CountEvens, super::CountEvensOracle>(10);
    }
}
