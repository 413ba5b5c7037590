//! Start station of a circular route (LeetCode 134 "Gas Station"), by the greedy one-pass
//! scan.
//!
//! Station `i` gives `gas[i]` fuel and the drive to the next station costs `cost[i]`. The
//! reference solution keeps a `tank` since the candidate start and a `total` over all
//! stations: it adds `gas[i] - cost[i]` to both, and whenever the tank goes negative no
//! station up to `i` can be the start, so it restarts at `i + 1` with an empty tank. At the
//! end the candidate is the answer if `total >= 0`, otherwise there is none (-1). The agent
//! reads stations with `Gas` / `Cost`; the registers live in the environment (`AddFuel`,
//! `Restart`, `Registers`).

use codegym_env_sdk::prelude::*;

/// Most stations a config may hold.
const MAX_STATIONS: usize = 500;
/// Largest gas or cost value.
const MAX_VALUE: u32 = 10_000;

#[derive(Serialize, Deserialize)]
pub struct Config {
    /// Fuel gained at each station.
    pub gas: Vec<u32>,
    /// Fuel spent driving from each station to the next (the last one to station 0).
    pub cost: Vec<u32>,
}

pub struct GasStation {
    config: Config,
    tank: i64,
    total: i64,
    start: usize,
    reads: usize,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct FuelArgs {
    /// Fuel to add to both registers (negative to remove), e.g. `gas[i] - cost[i]`.
    delta: i64,
}

/// Every station from which the whole circuit can be driven.
fn valid_starts(gas: &[u32], cost: &[u32]) -> Vec<usize> {
    let n = gas.len();
    (0..n)
        .filter(|&start| {
            let mut tank = 0i64;
            (0..n).all(|step| {
                let i = (start + step) % n;
                tank += i64::from(gas[i]) - i64::from(cost[i]);
                tank >= 0
            })
        })
        .collect()
}

impl Environment for GasStation {
    type Config = Config;
    type Answer = i64;

    const META: Meta = Meta {
        name: "gas-station",
        version: env!("CARGO_PKG_VERSION"),
        description: "Station from which a circular route can be driven on hidden gas and costs, by \
                      the greedy scan (LeetCode 134 Gas Station).",
        category: "greedy",
    };

    fn sample_config(seed: u64, difficulty: u32) -> Config {
        let mut rng = config_rng(seed, difficulty);
        let n = scale(difficulty, 3, 22);
        let top = scale(difficulty, 6, 12) as u32;
        // About one task in four has no answer; the others have exactly one start.
        let want_none = rng.random_ratio(1, 4);
        for _ in 0..200 {
            let gas: Vec<u32> = (0..n).map(|_| rng.random_range(0..=top)).collect();
            let cost: Vec<u32> = (0..n).map(|_| rng.random_range(0..=top)).collect();
            let starts = valid_starts(&gas, &cost).len();
            if starts == usize::from(!want_none) {
                return Config { gas, cost };
            }
        }
        // Only the station holding all the fuel works.
        let mut gas = vec![0; n];
        gas[rng.random_range(0..n)] = n as u32;
        Config { gas, cost: vec![1; n] }
    }

    fn reset(config: Config) -> Result<Self, String> {
        let n = config.gas.len();
        if !(1..=MAX_STATIONS).contains(&n) || config.cost.len() != n {
            return Err(format!("gas and cost must both have between 1 and {MAX_STATIONS} entries"));
        }
        if config.gas.iter().chain(&config.cost).any(|&v| v > MAX_VALUE) {
            return Err(format!("gas and cost values may be at most {MAX_VALUE}"));
        }
        if valid_starts(&config.gas, &config.cost).len() > 1 {
            return Err("more than one station works as the start".to_owned());
        }
        Ok(Self { config, tank: 0, total: 0, start: 0, reads: 0 })
    }

    fn task(&self) -> String {
        format!(
            "{} gas stations stand on a circular route, with amounts hidden from you: station i \
             gives gas[i] fuel, and driving from it to the next station (the last one to station \
             0) costs cost[i]. With an empty tank, from which station can you drive the whole \
             circuit? At most one station works; answer -1 if none does. StationCount gives the \
             size; Gas and Cost read one station. Three registers are kept for you: tank, total \
             (both 0) and start (station 0). AddFuel adds an amount to tank and total, \
             Restart(index) empties the tank and makes index the start, and Registers shows \
             all three. Submit the station index with Done, e.g. {{\"answer\": 3}}.",
            self.config.gas.len()
        )
    }

    fn observe(&self) -> String {
        format!(
            "Stations: {}. Values read so far: {}. tank = {}, total = {}, start = {}.",
            self.config.gas.len(),
            self.reads,
            self.tank,
            self.total,
            self.start
        )
    }

    fn tools(tools: &mut Tools<Self>) {
        tools
            .add("StationCount", "Return the number of stations.", |env: &mut Self, _: NoArgs| {
                env.config.gas.len().to_string()
            })
            .add("Gas", "Return the fuel gained at station `index`.", |env: &mut Self, args: IndexArgs| {
                match env.config.gas.get(args.index) {
                    Some(value) => {
                        env.reads += 1;
                        Ok(format!("gas[{}] = {value}", args.index))
                    }
                    None => Err(format!(
                        "station {} is out of range ({} stations)",
                        args.index,
                        env.config.gas.len()
                    )),
                }
            })
            .add(
                "Cost",
                "Return the fuel spent driving from station `index` to the next.",
                |env: &mut Self, args: IndexArgs| match env.config.cost.get(args.index) {
                    Some(value) => {
                        env.reads += 1;
                        Ok(format!("cost[{}] = {value}", args.index))
                    }
                    None => Err(format!(
                        "station {} is out of range ({} stations)",
                        args.index,
                        env.config.gas.len()
                    )),
                },
            )
            .add("AddFuel", "Add `delta` to both tank and total.", |env: &mut Self, args: FuelArgs| {
                env.tank = env.tank.saturating_add(args.delta);
                env.total = env.total.saturating_add(args.delta);
                format!("tank = {}, total = {}", env.tank, env.total)
            })
            .add(
                "Restart",
                "Empty the tank and make `index` the candidate start (it may equal the station count).",
                |env: &mut Self, args: IndexArgs| {
                    if args.index > env.config.gas.len() {
                        return Err(format!(
                            "index {} is past the station count {}",
                            args.index,
                            env.config.gas.len()
                        ));
                    }
                    env.tank = 0;
                    env.start = args.index;
                    Ok(format!("start = {}, tank = 0", args.index))
                },
            )
            .add("Registers", "Return tank, total and start.", |env: &mut Self, _: NoArgs| {
                format!("tank = {}, total = {}, start = {}", env.tank, env.total, env.start)
            });
    }

    fn reference_answer(&self) -> i64 {
        valid_starts(&self.config.gas, &self.config.cost).first().map_or(-1, |&start| start as i64)
    }
}

/// The greedy scan: restart after every station where the tank runs dry.
pub struct GasStationOracle;

impl Oracle for GasStationOracle {
    async fn solve(agent: Agent, _task: String) {
        let n = first_int(&agent.call("StationCount", NoArgs {}).await).unwrap_or(0);
        let (mut start, mut total) = (0, 0);
        for index in 0..n {
            let gas = ints(&agent.call("Gas", serde_json::json!({ "index": index })).await);
            let cost = ints(&agent.call("Cost", serde_json::json!({ "index": index })).await);
            let delta = gas.get(1).copied().unwrap_or(0) - cost.get(1).copied().unwrap_or(0);
            let registers = ints(&agent.call("AddFuel", serde_json::json!({ "delta": delta })).await);
            let tank = registers.first().copied().unwrap_or(0);
            total = registers.get(1).copied().unwrap_or(0);
            if tank < 0 {
                agent.call("Restart", serde_json::json!({ "index": index + 1 })).await;
                start = index + 1;
            }
        }
        agent.done(if total < 0 { -1 } else { start }).await;
    }
}

export_env!(GasStation, GasStationOracle);

#[cfg(test)]
mod tests {
    use codegym_env_sdk::{Session, ToolCall, testing};

    use super::*;

    const CONFIG: &str = r#"{"gas": [1, 2, 3, 4, 5], "cost": [3, 4, 5, 1, 2]}"#;

    #[test]
    fn oracle_solves_every_difficulty() {
        testing::check_environment::<GasStation, GasStationOracle>(10);
    }

    #[test]
    fn tools_drive_the_registers() {
        let mut session = testing::session::<GasStation>(CONFIG);
        for call in [
            ToolCall::new("Gas", r#"{"index": 5}"#),
            ToolCall::new("Cost", r#"{"index": 7}"#),
            ToolCall::new("Restart", r#"{"index": 6}"#),
            ToolCall::new("AddFuel", r#"{"delta": "x"}"#),
        ] {
            let step = session.step(&call);
            assert!(step.observation.starts_with("Error:"), "{call:?}: {}", step.observation);
        }
        assert_eq!(session.step(&ToolCall::new("Gas", r#"{"index": 3}"#)).observation, "gas[3] = 4");
        assert_eq!(session.step(&ToolCall::new("Cost", r#"{"index": 3}"#)).observation, "cost[3] = 1");
        assert_eq!(
            session.step(&ToolCall::new("AddFuel", r#"{"delta": -2}"#)).observation,
            "tank = -2, total = -2"
        );
        assert_eq!(
            session.step(&ToolCall::new("Restart", r#"{"index": 1}"#)).observation,
            "start = 1, tank = 0"
        );
        assert_eq!(
            session.step(&ToolCall::new("AddFuel", r#"{"delta": 5}"#)).observation,
            "tank = 5, total = 3"
        );
        assert_eq!(
            session.step(&ToolCall::new("Registers", "{}")).observation,
            "tank = 5, total = 3, start = 1"
        );
    }

    #[test]
    fn answers_are_graded_and_bad_configs_rejected() {
        assert_eq!(testing::session::<GasStation>(CONFIG).reference_answer(), "3");
        let none = r#"{"gas": [2, 3, 4], "cost": [3, 4, 3]}"#;
        assert_eq!(testing::session::<GasStation>(none).reference_answer(), "-1");
        let step = testing::session::<GasStation>(CONFIG).step(&ToolCall::new("Done", r#"{"answer": 4}"#));
        assert!(step.done && step.reward == 0.0);
        let step = testing::session::<GasStation>(CONFIG).step(&ToolCall::new("Done", r#"{"answer": 3}"#));
        assert!(step.done && step.reward == 1.0);
        let mut session = Session::<GasStation>::new();
        assert!(session.reset(r#"{"gas": [2, 2], "cost": [1, 1]}"#).is_err());
        assert!(session.reset(r#"{"gas": [2, 2], "cost": [1]}"#).is_err());
        assert!(session.reset(r#"{"gas": [], "cost": []}"#).is_err());
    }
}
