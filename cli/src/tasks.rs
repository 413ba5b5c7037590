//! `--tasks FILE.jsonl`: CodeGym's task rows as the episodes of `rollout` and `eval`.

use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use codegym_componentize::python::{self, NumberedRow};
use codegym_core::RowOrigin;
use codegym_host::{GivenTask, Job, Registry};

/// One job per row of `path`, in the rows' order: the environment named by the row's file
/// stem (`codegym_v1@<stem>@<config>`, the name derived as `codegym build-py` derives it),
/// the row's config text as it is, its prompt and its round limit. Every row is checked
/// before anything runs; a bad row or an unknown environment is an error naming
/// `FILE:LINE`.
pub(crate) fn jobs(path: &Path, registry: &Registry) -> Result<Vec<Job>> {
    let rows = python::read_task_rows(path)?;
    let mut jobs = Vec::with_capacity(rows.len());
    for (index, NumberedRow { line, row }) in rows.into_iter().enumerate() {
        let at = format!("{}:{line}", path.display());
        let (stem, config) = row.ability().map_err(|error| anyhow!("{at}: {error}"))?;
        let name = python::name_from_stem(stem)
            .ok_or_else(|| anyhow!("{at}: no environment name can be derived from {stem:?}"))?;
        if !registry.names().any(|known| known == name) {
            bail!(
                "{at}: unknown environment `{name}` (from `{stem}`) in {}: build it with `codegym build-py`",
                registry.dir().display()
            );
        }
        if row.plugin_call_max_round == Some(0) {
            bail!("{at}: plugin_call_max_round is 0: an episode needs at least one round");
        }
        let env = registry.get(&name).with_context(|| format!("{at}: loading `{name}`"))?;
        let task = GivenTask {
            config: config.to_owned(),
            prompt: row.prompt.clone(),
            max_rounds: row.plugin_call_max_round,
            origin: RowOrigin::new(u64::try_from(index).unwrap_or(u64::MAX), &row.extra_info),
            label: at,
        };
        jobs.push(Job::given(env, task));
    }
    Ok(jobs)
}

/// Without `--tasks`: `episodes` seeds from `seed` of each environment `envs` selects
/// (`all` or a comma-separated list), at `difficulty`.
pub(crate) fn sampled(
    registry: &Registry,
    envs: &str,
    seed: u64,
    episodes: u64,
    difficulty: u32,
) -> Result<Vec<Job>> {
    Ok(registry
        .select(envs)?
        .iter()
        .flat_map(|env| {
            (seed..seed.saturating_add(episodes)).map(|seed| Job::sampled(env.clone(), seed, difficulty))
        })
        .collect())
}
