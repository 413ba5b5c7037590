use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use std::sync::Arc;

use codegym_core::{ChatMessage, FaultKind, RowOrigin, Trajectory, TrajectoryStep};
use serde::Serialize;

use crate::parallel::parallel_map;
use crate::{Env, Error, Limits, Policy};

/// One episode to run: an environment and the seed and difficulty of its config, or a task
/// given as data.
#[derive(Clone)]
pub struct Job {
    pub env: Env,
    pub seed: u64,
    pub difficulty: u32,
    /// A task given as data (a CodeGym task row): its config replaces the sampled one
    /// (`seed` and `difficulty` are then unused, and recorded as 0).
    pub task: Option<Arc<GivenTask>>,
}

/// A task given as data rather than sampled: what a CodeGym task row says of its episode.
#[derive(Clone, Debug, PartialEq)]
pub struct GivenTask {
    /// The config, JSON text passed to `reset` as it is.
    pub config: String,
    /// The opening messages a language model is sent as they are (`codegym eval`); empty:
    /// rendered for the action format, as for a sampled task.
    pub prompt: Vec<ChatMessage>,
    /// The most rounds (tool calls, and for a model its replies) the episode may take; a
    /// lower limit of the caller's still applies.
    pub max_rounds: Option<u32>,
    /// Which row it is, recorded in the trajectory.
    pub origin: RowOrigin,
    /// Where it came from, for messages: `FILE:LINE`.
    pub label: String,
}

impl Job {
    /// A job on a config sampled from `(seed, difficulty)`.
    pub fn sampled(env: Env, seed: u64, difficulty: u32) -> Self {
        Self { env, seed, difficulty, task: None }
    }

    /// A job on a task given as data.
    pub fn given(env: Env, task: GivenTask) -> Self {
        Self { env, seed: 0, difficulty: 0, task: Some(Arc::new(task)) }
    }

    /// The episode's config: the given task's, else sampled by the environment.
    pub fn config(&self) -> Result<String, Error> {
        match &self.task {
            Some(task) => Ok(task.config.clone()),
            None => self.env.sample_config(self.seed, self.difficulty),
        }
    }

    /// `limits` with the given task's round limit, when lower, as the step limit.
    pub fn limits(&self, limits: Limits) -> Limits {
        Limits { max_steps: self.max_rounds(limits.max_steps), ..limits }
    }

    /// `max`, or the given task's round limit when that is lower.
    pub fn max_rounds(&self, max: u32) -> u32 {
        self.task.as_ref().and_then(|task| task.max_rounds).map_or(max, |rounds| rounds.min(max))
    }

    /// The job in messages: `<env> seed <seed>`, or `<env> (<FILE:LINE>)` for a given task.
    pub fn describe(&self) -> String {
        match &self.task {
            Some(task) => format!("{} ({})", self.env.name(), task.label),
            None => format!("{} seed {}", self.env.name(), self.seed),
        }
    }

    /// The given task's row, for the trajectory.
    pub(crate) fn row(&self) -> Option<RowOrigin> {
        self.task.as_ref().map(|task| task.origin.clone())
    }
}

#[derive(Clone, Debug)]
pub struct RolloutOptions {
    pub threads: usize,
    pub limits: Limits,
}

/// Results of a batch rollout.
#[derive(Debug, Serialize)]
pub struct RolloutReport {
    pub episodes: usize,
    pub solved: usize,
    pub steps: u64,
    pub faults: u64,
    /// Episodes that could not run at all (bad config, reset fault), with the reason.
    pub errors: Vec<String>,
    pub steps_per_sec: f64,
    pub us_per_step: f64,
    pub elapsed_secs: f64,
    pub per_env: Vec<EnvSummary>,
    #[serde(skip)]
    pub trajectories: Vec<Trajectory>,
}

#[derive(Debug, Default, Serialize)]
pub struct EnvSummary {
    pub env: String,
    pub episodes: usize,
    pub solved: usize,
    pub solved_pct: f64,
    pub mean_steps: f64,
    pub faults: u64,
    pub outcomes: BTreeMap<String, usize>,
}

/// One finished job: its trajectory plus the time spent in the environment.
type JobResult = Result<(Trajectory, EpisodeCost), Error>;

/// Run `jobs` on `options.threads` worker threads. `policy` builds one policy per episode
/// (given the job's index); `progress` is called after each finished episode.
pub fn rollout(
    jobs: &[Job],
    policy: &(dyn Fn(usize) -> Box<dyn Policy> + Sync),
    options: &RolloutOptions,
    progress: &(dyn Fn() + Sync),
) -> RolloutReport {
    let started = Instant::now();
    let results = parallel_map(
        jobs,
        options.threads,
        |index, job| {
            let mut policy = policy(index);
            run_episode(job, policy.as_mut(), options.limits)
        },
        progress,
    );
    summarize(jobs, results, started.elapsed())
}

/// What an episode cost the environment.
#[derive(Clone, Copy, Debug, Default)]
pub struct EpisodeCost {
    /// Time spent in the environment (reset and steps), not in the policy.
    pub env_time: Duration,
    /// Fuel for the whole episode.
    pub fuel: u64,
    /// The most fuel one call took.
    pub most_call_fuel: u64,
}

/// Run one episode to its end with `policy`, timing only the environment's share.
pub fn run_episode(
    job: &Job,
    policy: &mut dyn Policy,
    limits: Limits,
) -> Result<(Trajectory, EpisodeCost), Error> {
    let config = job.config()?;
    let env_started = Instant::now();
    let mut episode = job.env.start_with(&config, job.limits(limits))?;
    let mut env_time = env_started.elapsed();
    policy.start(&job.env, episode.task())?;
    let mut steps = Vec::new();
    let mut observation = String::new();
    while !episode.is_done() {
        let Some(call) = policy.next(&observation) else { break };
        let step_started = Instant::now();
        let result = episode.step(&call);
        env_time += step_started.elapsed();
        observation.clone_from(&result.observation);
        steps.push(TrajectoryStep {
            call,
            observation: result.observation,
            reward: result.reward,
            done: result.done,
            fault: result.fault,
        });
    }
    let trajectory =
        Trajectory { row: job.row(), ..episode.trajectory(job.seed, job.difficulty, policy.name(), steps) };
    let cost = EpisodeCost { env_time, fuel: episode.fuel_used(), most_call_fuel: episode.most_call_fuel() };
    Ok((trajectory, cost))
}

fn summarize(jobs: &[Job], results: Vec<JobResult>, elapsed: Duration) -> RolloutReport {
    let mut per_env: BTreeMap<String, EnvSummary> = BTreeMap::new();
    let mut report = RolloutReport {
        episodes: results.len(),
        solved: 0,
        steps: 0,
        faults: 0,
        errors: Vec::new(),
        steps_per_sec: 0.0,
        us_per_step: 0.0,
        elapsed_secs: elapsed.as_secs_f64(),
        per_env: Vec::new(),
        trajectories: Vec::with_capacity(results.len()),
    };
    let mut env_time = Duration::ZERO;
    for (index, result) in results.into_iter().enumerate() {
        let job = &jobs[index];
        let name = job.env.name().to_owned();
        let summary = per_env
            .entry(name.clone())
            .or_insert_with(|| EnvSummary { env: name.clone(), ..Default::default() });
        summary.episodes += 1;
        match result {
            Ok((trajectory, cost)) => {
                env_time += cost.env_time;
                let steps = trajectory.steps.len() as u64;
                summary.mean_steps += steps as f64;
                summary.faults += u64::from(trajectory.faults);
                *summary.outcomes.entry(trajectory.outcome.as_str().to_owned()).or_default() += 1;
                if trajectory.outcome.is_solved() {
                    summary.solved += 1;
                    report.solved += 1;
                }
                report.steps += steps;
                report.faults += u64::from(trajectory.faults);
                report.trajectories.push(trajectory);
            }
            Err(error) => {
                let kind = match &error {
                    Error::Fault { kind, .. } => kind.as_str(),
                    _ => FaultKind::Trap.as_str(),
                };
                *summary.outcomes.entry(format!("error_{kind}")).or_default() += 1;
                report.errors.push(format!("{}: {error}", job.describe()));
            }
        }
    }
    for summary in per_env.values_mut() {
        summary.mean_steps /= summary.episodes.max(1) as f64;
        summary.solved_pct = 100.0 * summary.solved as f64 / summary.episodes.max(1) as f64;
    }
    report.per_env = per_env.into_values().collect();
    report.steps_per_sec = report.steps as f64 / elapsed.as_secs_f64().max(1e-9);
    report.us_per_step = env_time.as_secs_f64() * 1e6 / report.steps.max(1) as f64;
    report
}
