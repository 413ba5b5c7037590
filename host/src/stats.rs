//! Corpus statistics in the shape of the CodeGym paper's (section 3, Figure 4), from the
//! environments' cards.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::card::{EnvCard, PROBE_DIFFICULTIES};
use crate::parallel::parallel_map;
use crate::summary::Summary;
use crate::{Error, Registry};

/// The paper's corpus, for comparison.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct PaperFigures {
    pub envs: usize,
    pub tools_mean: f64,
    pub oracle_steps_mean: f64,
}

pub const PAPER: PaperFigures = PaperFigures { envs: 13_116, tools_mean: 6.52, oracle_steps_mean: 44.07 };

#[derive(Clone, Debug, Serialize)]
pub struct CorpusStats {
    pub envs: usize,
    pub categories: usize,
    pub per_category: BTreeMap<String, usize>,
    pub tools_mean: f64,
    pub tools_min: usize,
    pub tools_max: usize,
    /// Mean oracle calls per episode at medium difficulty (50), over all envs and seeds.
    pub oracle_steps_mean_medium: f64,
    /// Mean oracle calls per episode of each env, summarised over envs, per difficulty.
    pub oracle_steps: Vec<StepsAt>,
    pub seeds: u64,
    pub paper: PaperFigures,
    pub cards: Vec<EnvCard>,
}

#[derive(Clone, Debug, Serialize)]
pub struct StepsAt {
    pub difficulty: u32,
    #[serde(flatten)]
    pub calls: Summary,
}

/// Measure every environment in `names` (its card, over `seeds` seeds per difficulty) and
/// aggregate. `done` is called after each environment.
pub fn corpus_stats(
    registry: &Registry,
    names: &[String],
    seeds: u64,
    threads: usize,
    done: impl Fn() + Sync,
) -> Result<CorpusStats, Error> {
    let cards = parallel_map(names, threads, |_, name| EnvCard::measure(&registry.get(name)?, seeds), done)
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    Ok(aggregate(cards, seeds))
}

fn aggregate(cards: Vec<EnvCard>, seeds: u64) -> CorpusStats {
    let mut per_category: BTreeMap<String, usize> = BTreeMap::new();
    for card in &cards {
        *per_category.entry(card.category.clone()).or_default() += 1;
    }
    let tools: Vec<f64> = cards.iter().map(|c| c.tools.len() as f64).collect();
    let tools = Summary::of(&tools);
    // Over per-env means: every env ran the same number of seeds, so their mean is also the
    // mean over all episodes, and the median and p90 describe the spread between envs.
    let oracle_steps: Vec<StepsAt> = PROBE_DIFFICULTIES
        .iter()
        .map(|&difficulty| {
            let per_env: Vec<f64> =
                cards.iter().filter_map(|c| c.at(difficulty)).map(|d| d.oracle_calls.mean).collect();
            StepsAt { difficulty, calls: Summary::of(&per_env) }
        })
        .collect();
    let medium = oracle_steps.iter().find(|s| s.difficulty == 50).map_or(0.0, |s| s.calls.mean);
    CorpusStats {
        envs: cards.len(),
        categories: per_category.len(),
        per_category,
        tools_mean: tools.mean,
        tools_min: tools.min as usize,
        tools_max: tools.max as usize,
        oracle_steps_mean_medium: medium,
        oracle_steps,
        seeds,
        paper: PAPER,
        cards,
    }
}
