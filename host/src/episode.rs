use codegym_core::{ActionLog, FaultKind, Outcome, ToolCall, Trajectory, TrajectoryStep};

use crate::env::Instance;
use crate::{Env, Error, Limits};

/// What the agent sees after one tool call.
#[derive(Clone, Debug, PartialEq)]
pub struct StepResult {
    pub observation: String,
    pub reward: f32,
    /// The episode is over: `Done` was called, or a limit ended it (see [`Episode::outcome`]).
    pub done: bool,
    /// The call faulted and was rolled back; the state is as before the call.
    pub fault: Option<FaultKind>,
}

impl StepResult {
    /// Whether this is exactly the reply `stored` recorded (observation, reward bits, done,
    /// fault): what a replay checks.
    pub fn matches(&self, stored: &TrajectoryStep) -> bool {
        self.observation == stored.observation
            && self.reward.to_bits() == stored.reward.to_bits()
            && self.done == stored.done
            && self.fault == stored.fault
    }
}

/// One episode: a component instance, its limits, and the action log that rebuilds it.
pub struct Episode {
    env: Env,
    limits: Limits,
    instance: Option<Instance>,
    task: String,
    log: ActionLog,
    steps: u32,
    faults: u32,
    fuel_used: u64,
    /// The most fuel one call (reset included) burnt: what a budget must allow.
    most_call_fuel: u64,
    outcome: Option<Outcome>,
    reward: f32,
}

impl Episode {
    pub(crate) fn start(env: Env, config: &str, limits: Limits) -> Result<Self, Error> {
        let mut episode = Self {
            env,
            limits,
            instance: None,
            task: String::new(),
            log: ActionLog::new(config),
            steps: 0,
            faults: 0,
            fuel_used: 0,
            most_call_fuel: 0,
            outcome: None,
            reward: 0.0,
        };
        let (instance, task) = episode.reset_instance()?;
        episode.instance = Some(instance);
        episode.task = task;
        Ok(episode)
    }

    /// A fresh instance reset to `log.config`, with its fuel charged to the episode.
    fn reset_instance(&mut self) -> Result<(Instance, String), Error> {
        let (result, used) = self.fresh_instance(self.step_fuel(), "reset");
        self.charge(used);
        result
    }

    /// A new instance reset to `log.config` under `fuel`, and the fuel it burnt. Errors and
    /// task statements are held to the output limit.
    fn fresh_instance(&self, fuel: u64, during: &'static str) -> (Result<(Instance, String), Error>, u64) {
        let mut instance = match self.env.instantiate(&self.limits) {
            Ok(instance) => instance,
            Err(error) => return (Err(error), 0),
        };
        let config = self.log.config.as_str();
        let (result, used) =
            instance.guarded(self.env.host(), &self.limits, fuel, |b, s| b.call_reset(s, config));
        let limit = self.limits.max_output_bytes;
        let task = match result {
            Err(kind) => Err(Error::Fault { kind, during }),
            Ok(Err(message)) => Err(Error::Reset(truncate(message, limit))),
            Ok(Ok(task)) if task.len() > limit => {
                Err(Error::Fault { kind: FaultKind::OutputTooLarge, during })
            }
            Ok(Ok(task)) => Ok(task),
        };
        (task.map(|task| (instance, task)), used)
    }

    fn step_fuel(&self) -> u64 {
        self.limits.fuel_per_step.min(self.limits.fuel_per_episode.saturating_sub(self.fuel_used))
    }

    pub fn env(&self) -> &Env {
        &self.env
    }

    /// The task statement shown to the agent.
    pub fn task(&self) -> &str {
        &self.task
    }

    /// Config plus the calls that took effect: enough to rebuild this exact state.
    pub fn log(&self) -> &ActionLog {
        &self.log
    }

    /// Tool calls made so far, rolled-back ones included.
    pub fn steps(&self) -> u32 {
        self.steps
    }

    pub fn faults(&self) -> u32 {
        self.faults
    }

    pub fn fuel_used(&self) -> u64 {
        self.fuel_used
    }

    /// The most fuel one call into the component (reset or step) has burnt so far.
    pub fn most_call_fuel(&self) -> u64 {
        self.most_call_fuel
    }

    fn charge(&mut self, used: u64) {
        self.fuel_used += used;
        self.most_call_fuel = self.most_call_fuel.max(used);
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// `Some` once the episode is over.
    pub fn outcome(&self) -> Option<Outcome> {
        self.outcome
    }

    pub fn reward(&self) -> f32 {
        self.reward
    }

    pub fn is_done(&self) -> bool {
        self.outcome.is_some()
    }

    /// Run one tool call. Never fails: tool errors, faults and limits are observations.
    pub fn step(&mut self, call: &ToolCall) -> StepResult {
        if self.outcome.is_some() {
            return self.reply("Error: the episode is over; no more tool calls are accepted.".into(), None);
        }
        self.steps += 1;
        let fuel = self.step_fuel();
        let Some(instance) = self.instance.as_mut() else {
            return self
                .end(Outcome::Fault(FaultKind::Trap), "Error: the environment is unavailable.".into());
        };
        let (result, used) = instance
            .guarded(self.env.host(), &self.limits, fuel, |b, s| b.call_step(s, &call.name, &call.arguments));
        self.charge(used);
        let fault = match result {
            Ok(step) if step.observation.len() > self.limits.max_output_bytes => FaultKind::OutputTooLarge,
            Ok(step) => {
                self.log.calls.push(call.clone());
                if step.done {
                    self.reward = step.reward;
                    let outcome = if step.reward > 0.0 { Outcome::Solved } else { Outcome::WrongAnswer };
                    return self.end(outcome, step.observation);
                }
                return self.after_step(step.observation, None);
            }
            Err(fault) => fault,
        };
        self.faults += 1;
        if fault == FaultKind::OutOfFuel && self.fuel_used >= self.limits.fuel_per_episode {
            return self.end(
                Outcome::Fault(fault),
                format!("Error: {}; the episode's fuel budget is spent.", fault.describe()),
            );
        }
        // Trial-then-overwrite: the instance may be mid-mutation (or poisoned by a trap), so
        // throw it away and rebuild the last good state from the log.
        match self.rebuild() {
            Ok(instance) => self.instance = Some(instance),
            Err(_) => {
                self.instance = None;
                return self.end(
                    Outcome::Fault(fault),
                    format!("Error: {}; the environment could not be restored.", fault.describe()),
                );
            }
        }
        let observation =
            format!("Error: {}. The call was rolled back; the state is unchanged.", fault.describe());
        self.after_step(observation, Some(fault))
    }

    fn after_step(&mut self, observation: String, fault: Option<FaultKind>) -> StepResult {
        if self.steps >= self.limits.max_steps {
            self.outcome = Some(Outcome::StepLimit);
            self.instance = None;
        }
        self.reply(observation, fault)
    }

    fn end(&mut self, outcome: Outcome, observation: String) -> StepResult {
        self.outcome = Some(outcome);
        let fault = match outcome {
            Outcome::Fault(kind) => Some(kind),
            _ => None,
        };
        // The instance is no longer needed: give its pool slot back now.
        self.instance = None;
        self.reply(observation, fault)
    }

    fn reply(&self, observation: String, fault: Option<FaultKind>) -> StepResult {
        StepResult { observation, reward: self.reward, done: self.outcome.is_some(), fault }
    }

    /// A fresh instance with the log replayed into it. Replay fuel is not charged to the
    /// episode: the agent already paid for these calls.
    fn rebuild(&self) -> Result<Instance, Error> {
        let (mut instance, _) = self.fresh_instance(self.limits.fuel_per_step, "replay").0?;
        let host = self.env.host();
        for (index, call) in self.log.calls.iter().enumerate() {
            let (result, _) = instance.guarded(host, &self.limits, self.limits.fuel_per_step, |b, s| {
                b.call_step(s, &call.name, &call.arguments)
            });
            if let Err(kind) = result {
                return Err(Error::ReplayDiverged { index, reason: format!("fault: {kind}") });
            }
        }
        Ok(instance)
    }

    /// An independent copy of this episode (same state, same counters), for tree search
    /// and GRPO groups. Built by replaying the log into a fresh instance.
    pub fn fork(&self) -> Result<Episode, Error> {
        let instance = if self.outcome.is_some() { None } else { Some(self.rebuild()?) };
        Ok(Episode {
            env: self.env.clone(),
            limits: self.limits,
            instance,
            task: self.task.clone(),
            log: self.log.clone(),
            steps: self.steps,
            faults: self.faults,
            fuel_used: self.fuel_used,
            most_call_fuel: self.most_call_fuel,
            outcome: self.outcome,
            reward: self.reward,
        })
    }

    /// This episode as a trajectory of `steps` (the calls it received and its replies),
    /// played by `policy` on the config sampled from `(seed, difficulty)`; the outcome is
    /// `abandoned` while it is not over.
    pub fn trajectory(
        &self,
        seed: u64,
        difficulty: u32,
        policy: &str,
        steps: Vec<TrajectoryStep>,
    ) -> Trajectory {
        let info = self.env.info();
        Trajectory {
            env: info.name.clone(),
            env_version: info.version.clone(),
            seed,
            difficulty,
            row: None,
            policy: policy.to_owned(),
            task: self.task.clone(),
            steps,
            outcome: self.outcome.unwrap_or(Outcome::Abandoned),
            reward: self.reward,
            faults: self.faults,
            max_steps: Some(self.limits.max_steps),
            log: self.log.clone(),
            messages: Vec::new(),
            tools: Vec::new(),
            agent: None,
        }
    }

    /// The reference answer (JSON). For verification only: never show it to the agent.
    pub fn reference_answer(&mut self) -> Result<String, Error> {
        let instance = match self.instance.as_mut() {
            Some(instance) => instance,
            None => self.instance.insert(self.rebuild()?),
        };
        let (result, _) =
            instance.guarded(self.env.host(), &self.limits, self.limits.fuel_per_step, |b, s| {
                b.call_reference_answer(s)
            });
        result.map_err(|kind| Error::Fault { kind, during: "reference_answer" })
    }
}

/// Cut an environment's error message to `limit` bytes (on a char boundary).
fn truncate(mut message: String, limit: usize) -> String {
    if message.len() > limit {
        let mut end = limit;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
        message.push_str("… (truncated)");
    }
    message
}
