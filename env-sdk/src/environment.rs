use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Tools;

/// An environment's metadata: shown in listings, cards and prompts.
#[derive(Clone, Copy, Debug)]
pub struct Meta {
    /// Short kebab-case name, unique in a corpus (`binary-search`).
    pub name: &'static str,
    /// Bump when configs, tools or observations change (trajectories record it).
    pub version: &'static str,
    /// One line on the task and the coding problem it comes from.
    pub description: &'static str,
    /// Problem family: one of [`CATEGORIES`].
    pub category: &'static str,
}

/// The problem families of the corpus (the coding-problem topics CodeGym draws from).
pub const CATEGORIES: &[&str] = &[
    "searching",
    "sorting",
    "arrays",
    "strings",
    "hashing",
    "stacks-and-queues",
    "linked-structures",
    "trees",
    "graphs",
    "dynamic-programming",
    "greedy",
    "math",
    "matrices",
    "intervals",
    "bit-manipulation",
    "simulation",
    "parsing",
];

/// A task whose state is hidden behind tools.
///
/// The SDK adds two tools to every environment: `Observe` (returns [`Environment::observe`])
/// and `Done` (takes `{"answer": Answer}`, ends the episode with reward 1 when
/// [`Environment::is_correct`] and 0 otherwise, and states the answer, the reference answer
/// and the result).
pub trait Environment: Sized + 'static {
    /// A task configuration. Stored as JSON in action logs, so keep it self-contained.
    type Config: Serialize + DeserializeOwned;
    /// The final answer passed to `Done`.
    type Answer: Serialize + DeserializeOwned + JsonSchema + PartialEq;

    const META: Meta;

    /// A config from a seed and a difficulty in `0..=100`. Must be pure: same inputs, same
    /// config. Use [`crate::config_rng`] for randomness.
    fn sample_config(seed: u64, difficulty: u32) -> Self::Config;

    /// Start an episode. An invalid config is an `Err` with a message, not a panic.
    fn reset(config: Self::Config) -> Result<Self, String>;

    /// The task statement shown to the agent at the start.
    fn task(&self) -> String;

    /// What the agent may see of the state right now (the `Observe` tool).
    fn observe(&self) -> String;

    /// Register the environment's own tools (atomic steps of a reference solution).
    fn tools(tools: &mut Tools<Self>);

    /// The correct answer for this episode's config.
    fn reference_answer(&self) -> Self::Answer;

    /// Whether `answer` solves the task. Override when several answers are correct.
    fn is_correct(&self, answer: &Self::Answer) -> bool {
        *answer == self.reference_answer()
    }
}
