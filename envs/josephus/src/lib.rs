//! The Josephus problem (LeetCode 1823 "Find the Winner of the Circular Game"), simulated on
//! a circle held by the environment.
//!
//! People stand in a circle; counting starts at the current person (who counts as 1), and
//! the `k`-th person counted leaves the circle. Counting resumes at the person after them.
//! The reference simulation repeats `Advance(k - 1)` (skip `k - 1` people) and `Remove` (the
//! person now current leaves; the next one becomes current) until one person is left.

use codegym_env_sdk::prelude::*;

/// Most people a config may hold.
const MAX_PEOPLE: usize = 10_000;
/// Largest step a config may hold.
const MAX_STEP: u32 = 10_000;

#[derive(Serialize, Deserialize)]
pub struct Config {
    /// Distinct labels in circle order; counting starts at the first.
    pub people: Vec<i64>,
    /// Every `step`-th person counted leaves.
    pub step: u32,
}

pub struct Josephus {
    /// The people still in the circle, in circle order.
    circle: Vec<i64>,
    /// Position of the current person in `circle`.
    current: usize,
    step: u32,
    /// The survivor, computed at reset.
    survivor: i64,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct AdvanceArgs {
    /// How many places to move clockwise (0 stays put).
    places: u32,
}

impl Josephus {
    fn current_text(&self) -> String {
        format!("current person: {} ({} people remain)", self.circle[self.current], self.circle.len())
    }
}

impl Environment for Josephus {
    type Config = Config;
    /// The label of the last person in the circle.
    type Answer = i64;

    const META: Meta = Meta {
        name: "josephus",
        version: env!("CARGO_PKG_VERSION"),
        description: "Find the survivor of the Josephus elimination game on a hidden circle \
                      (LeetCode 1823 Find the Winner of the Circular Game).",
        category: "simulation",
    };

    fn sample_config(seed: u64, difficulty: u32) -> Config {
        let mut rng = config_rng(seed, difficulty);
        let count = scale(difficulty, 4, 36);
        let mut labels: Vec<i64> = (1..=(count as i64 * 5)).collect();
        labels.shuffle(&mut rng);
        labels.truncate(count);
        let step = rng.random_range(2..=scale(difficulty, 4, 12) as u32);
        Config { people: labels, step }
    }

    fn reset(config: Config) -> Result<Self, String> {
        let count = config.people.len();
        if !(1..=MAX_PEOPLE).contains(&count) {
            return Err(format!("there must be between 1 and {MAX_PEOPLE} people"));
        }
        if !(1..=MAX_STEP).contains(&config.step) {
            return Err(format!("the step must be between 1 and {MAX_STEP}"));
        }
        let mut sorted = config.people.clone();
        sorted.sort_unstable();
        if sorted.windows(2).any(|pair| pair[0] == pair[1]) {
            return Err("the labels must be distinct".to_owned());
        }
        // The classic recurrence: the survivor's position among m people is
        // J(m) = (J(m - 1) + k) mod m, with J(1) = 0.
        let k = config.step as usize;
        let position = (2..=count).fold(0, |j, m| (j + k) % m);
        Ok(Self { survivor: config.people[position], circle: config.people, current: 0, step: config.step })
    }

    fn task(&self) -> String {
        format!(
            "{} people stand in a circle, hidden from you. Counting starts at the current \
             person, who counts as 1; the person counted at k (StepSize tells k) leaves the \
             circle, and counting starts again at the person after them. Find the last person \
             left. Count tells how many remain and Current shows the current person; Advance \
             moves the current position clockwise and Remove takes the current person out \
             (the next person becomes current). Submit the survivor's label with Done, e.g. \
             {{\"answer\": 17}}.",
            self.circle.len()
        )
    }

    fn observe(&self) -> String {
        format!("People remaining: {}. Step k = {}.", self.circle.len(), self.step)
    }

    fn tools(tools: &mut Tools<Self>) {
        tools
            .add("Count", "Return how many people remain in the circle.", |env: &mut Self, _: NoArgs| {
                format!("{} people remain", env.circle.len())
            })
            .add("StepSize", "Return k: the k-th person counted leaves.", |env: &mut Self, _: NoArgs| {
                format!("k = {}", env.step)
            })
            .add("Current", "Return the label of the current person.", |env: &mut Self, _: NoArgs| {
                env.current_text()
            })
            .add(
                "Advance",
                "Move the current position `places` people clockwise and show the new current person.",
                |env: &mut Self, args: AdvanceArgs| {
                    env.current = (env.current + args.places as usize % env.circle.len()) % env.circle.len();
                    format!("Moved {} places; {}.", args.places, env.current_text())
                },
            )
            .add(
                "Remove",
                "Take the current person out of the circle; the person after them becomes current.",
                |env: &mut Self, _: NoArgs| {
                    if env.circle.len() == 1 {
                        return Err(format!("only {} remains: the survivor", env.circle[0]));
                    }
                    let removed = env.circle.remove(env.current);
                    if env.current == env.circle.len() {
                        env.current = 0;
                    }
                    Ok(format!("Removed {removed}; {}.", env.current_text()))
                },
            );
    }

    fn reference_answer(&self) -> i64 {
        self.survivor
    }
}

/// Simulate: skip k - 1 people, remove the next, until one is left.
pub struct JosephusOracle;

impl Oracle for JosephusOracle {
    async fn solve(agent: Agent, _task: String) {
        let count = first_int(&agent.call("Count", NoArgs {}).await).unwrap_or(1);
        let k = first_int(&agent.call("StepSize", NoArgs {}).await).unwrap_or(1);
        let mut survivor = None;
        for _ in 1..count {
            if k > 1 {
                agent.call("Advance", serde_json::json!({ "places": k - 1 })).await;
            }
            // "Removed a; current person: b (m people remain)."
            survivor = ints(&agent.call("Remove", NoArgs {}).await).get(1).copied();
        }
        let survivor = match survivor {
            Some(label) => label,
            None => first_int(&agent.call("Current", NoArgs {}).await).unwrap_or(0),
        };
        agent.done(survivor).await;
    }
}

export_env!(Josephus, JosephusOracle);

#[cfg(test)]
mod tests {
    use codegym_env_sdk::{Session, ToolCall, testing};

    use super::*;

    const CONFIG: &str = r#"{"people": [10, 20, 30, 40, 50], "step": 2}"#;

    #[test]
    fn oracle_solves_every_difficulty() {
        testing::check_environment::<Josephus, JosephusOracle>(10);
    }

    #[test]
    fn circle_tools_move_and_remove() {
        let mut session = testing::session::<Josephus>(CONFIG);
        let mut step = |name: &str, args: &str| session.step(&ToolCall::new(name, args)).observation;
        assert_eq!(step("StepSize", "{}"), "k = 2");
        assert_eq!(step("Current", "{}"), "current person: 10 (5 people remain)");
        assert_eq!(
            step("Advance", r#"{"places": 6}"#),
            "Moved 6 places; current person: 20 (5 people remain)."
        );
        assert_eq!(
            step("Advance", r#"{"places": 3}"#),
            "Moved 3 places; current person: 50 (5 people remain)."
        );
        assert_eq!(step("Remove", "{}"), "Removed 50; current person: 10 (4 people remain).");
        assert_eq!(step("Count", "{}"), "4 people remain");
        for _ in 0..3 {
            step("Remove", "{}");
        }
        assert_eq!(step("Current", "{}"), "current person: 40 (1 people remain)");
        for (name, args) in [("Remove", "{}"), ("Advance", r#"{"places": -1}"#), ("Advance", "{}")] {
            assert!(step(name, args).starts_with("Error:"), "{name} {args}");
        }
        assert_eq!(step("Observe", "{}"), "People remaining: 1. Step k = 2.");
    }

    #[test]
    fn answers_are_graded_and_configs_validated() {
        // Classic n = 5, k = 2: positions 2, 4, 1, 5 leave and position 3 survives.
        assert_eq!(testing::session::<Josephus>(CONFIG).reference_answer(), "30");
        let one = r#"{"people": [7], "step": 3}"#;
        assert_eq!(testing::session::<Josephus>(one).reference_answer(), "7");
        let step = testing::session::<Josephus>(CONFIG).step(&ToolCall::new("Done", r#"{"answer": 30}"#));
        assert!(step.done && step.reward == 1.0);
        let mut session = Session::<Josephus>::new();
        assert!(session.reset(r#"{"people": [], "step": 2}"#).is_err());
        assert!(session.reset(r#"{"people": [1, 2], "step": 0}"#).is_err());
        assert!(session.reset(r#"{"people": [1, 1], "step": 2}"#).is_err());
    }
}
