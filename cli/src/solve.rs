use std::process::ExitCode;

use anyhow::Result;
use codegym_host::{Job, OraclePolicy};

use crate::{Global, TaskArgs, print_json};

/// Watch the environment's oracle solve a task, as a transcript.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    task: TaskArgs,
    /// Print the trajectory as JSON.
    #[arg(long)]
    json: bool,
}

impl Args {
    pub fn execute(self, global: &Global) -> Result<ExitCode> {
        let registry = global.registry()?;
        let env = registry.get(&self.task.env)?;
        let job = Job::sampled(env.clone(), self.task.seed, self.task.difficulty);
        let (trajectory, _) = codegym_host::run_episode(&job, &mut OraclePolicy::default(), env.limits())?;
        let solved = trajectory.outcome.is_solved();
        if self.json {
            print_json(&trajectory)?;
        } else {
            outln!(
                "{} (seed {}, difficulty {})\n\n{}\n",
                env.name(),
                self.task.seed,
                self.task.difficulty,
                trajectory.task
            );
            for (index, step) in trajectory.steps.iter().enumerate() {
                outln!("{:>3}. {}\n     {}", index + 1, step.call, step.observation);
            }
            outln!(
                "\nOutcome: {}, reward {}, {} calls.",
                trajectory.outcome,
                trajectory.reward,
                trajectory.steps.len()
            );
        }
        Ok(if solved { ExitCode::SUCCESS } else { ExitCode::FAILURE })
    }
}
