use codegym_core::Trajectory;
use serde::Serialize;

use crate::{Env, Error, Limits};

/// Where a replayed episode differed from the stored trajectory.
#[derive(Debug, Clone, Serialize)]
pub struct Mismatch {
    /// Step index (`None`: the task statement).
    pub step: Option<usize>,
    pub expected: String,
    pub actual: String,
}

#[derive(Debug, Serialize)]
pub struct ReplayReport {
    pub env: String,
    pub seed: u64,
    pub steps: usize,
    pub mismatches: Vec<Mismatch>,
}

/// Re-run a stored trajectory's calls from its config and compare every observation, reward
/// and done flag byte for byte. Components import nothing, so any difference is a bug (or a
/// different environment build). The episode runs under the trajectory's step limit.
pub fn replay_trajectory(env: &Env, trajectory: &Trajectory) -> Result<ReplayReport, Error> {
    let limits = env.limits();
    let limits = Limits { max_steps: trajectory.max_steps.unwrap_or(limits.max_steps), ..limits };
    let mut episode = env.start_with(&trajectory.log.config, limits)?;
    let mut mismatches = Vec::new();
    if episode.task() != trajectory.task {
        mismatches.push(Mismatch {
            step: None,
            expected: trajectory.task.clone(),
            actual: episode.task().to_owned(),
        });
    }
    for (index, stored) in trajectory.steps.iter().enumerate() {
        let actual = episode.step(&stored.call);
        if !actual.matches(stored) {
            mismatches.push(Mismatch {
                step: Some(index),
                expected: format!("{:?} reward={} done={}", stored.observation, stored.reward, stored.done),
                actual: format!("{:?} reward={} done={}", actual.observation, actual.reward, actual.done),
            });
        }
    }
    Ok(ReplayReport {
        env: trajectory.env.clone(),
        seed: trajectory.seed,
        steps: trajectory.steps.len(),
        mismatches,
    })
}
