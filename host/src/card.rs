//! Environment cards: what a user should know about an environment before training on it,
//! measured from the component itself (metadata, tools, config sizes, oracle effort).

use codegym_core::ToolSpec;
use serde::Serialize;

use crate::summary::Summary;
use crate::{Budget, Env, Error, Job, OraclePolicy, run_episode};

/// The difficulties cards and corpus statistics probe: easy, medium, hard.
pub const PROBE_DIFFICULTIES: [u32; 3] = [0, 50, 100];

/// An environment's card.
#[derive(Clone, Debug, Serialize)]
pub struct EnvCard {
    pub name: String,
    pub version: String,
    pub category: String,
    pub description: String,
    /// Content hash of the component.
    pub hash: String,
    /// The limits the component declares for itself, if any (they tighten the host's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget: Option<Budget>,
    /// Every tool, `Observe` and `Done` included.
    pub tools: Vec<ToolSpec>,
    /// Difficulty is a knob from 0 to 100; these are the probed points.
    pub difficulties: Vec<DifficultyCard>,
}

/// What one difficulty means in practice, measured over `seeds` configs.
#[derive(Clone, Debug, Serialize)]
pub struct DifficultyCard {
    pub difficulty: u32,
    pub seeds: u64,
    pub config_bytes: Summary,
    /// Tool calls the oracle makes, `Done` included.
    pub oracle_calls: Summary,
    /// Episodes the oracle solved (all of them, for a verified environment).
    pub oracle_solved: u64,
    /// Fuel of the oracle's whole episode (reset included): what a budget must allow.
    pub episode_fuel: Summary,
    /// The most fuel one call took in each oracle episode.
    pub call_fuel: Summary,
    /// The most fuel one of the oracle's own steps (`oracle-next`, in its own instance)
    /// took in each episode; the component's per-call budget applies to those too.
    pub oracle_call_fuel: Summary,
    /// The oracle's own fuel over each episode.
    pub oracle_fuel: Summary,
}

impl EnvCard {
    /// Measure the card of `env` by running its oracle on seeds `0..seeds` at each of
    /// [`PROBE_DIFFICULTIES`].
    pub fn measure(env: &Env, seeds: u64) -> Result<Self, Error> {
        let info = env.info();
        let difficulties = PROBE_DIFFICULTIES
            .iter()
            .map(|&difficulty| DifficultyCard::measure(env, difficulty, seeds))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            name: info.name.clone(),
            version: info.version.clone(),
            category: info.category.clone(),
            description: info.description.clone(),
            hash: env.hash(),
            budget: env.budget(),
            tools: info.tools.clone(),
            difficulties,
        })
    }

    /// The probe at `difficulty`, if it was measured.
    pub fn at(&self, difficulty: u32) -> Option<&DifficultyCard> {
        self.difficulties.iter().find(|d| d.difficulty == difficulty)
    }
}

impl DifficultyCard {
    fn measure(env: &Env, difficulty: u32, seeds: u64) -> Result<Self, Error> {
        let mut config_bytes = Vec::new();
        let mut calls = Vec::new();
        let mut episode_fuel = Vec::new();
        let mut call_fuel = Vec::new();
        let mut oracle_call_fuel = Vec::new();
        let mut oracle_fuel = Vec::new();
        let mut solved = 0;
        for seed in 0..seeds {
            let job = Job::sampled(env.clone(), seed, difficulty);
            let mut oracle = OraclePolicy::default();
            let (trajectory, cost) = run_episode(&job, &mut oracle, env.limits())?;
            episode_fuel.push(cost.fuel as f64);
            call_fuel.push(cost.most_call_fuel as f64);
            let (fuel, most) = oracle.fuel_used();
            oracle_fuel.push(fuel as f64);
            oracle_call_fuel.push(most as f64);
            // The episode sampled the config already; its log holds it.
            config_bytes.push(trajectory.log.config.len() as f64);
            calls.push(trajectory.steps.len() as f64);
            solved += u64::from(trajectory.outcome.is_solved());
        }
        Ok(Self {
            difficulty,
            seeds,
            config_bytes: Summary::of(&config_bytes),
            oracle_calls: Summary::of(&calls),
            oracle_solved: solved,
            episode_fuel: Summary::of(&episode_fuel),
            call_fuel: Summary::of(&call_fuel),
            oracle_call_fuel: Summary::of(&oracle_call_fuel),
            oracle_fuel: Summary::of(&oracle_fuel),
        })
    }
}
