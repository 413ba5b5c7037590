use std::process::ExitCode;

use anyhow::Result;
use codegym_host::{Job, OraclePolicy};

use crate::{Global, print_json};

/// Watch the environment's oracle solve a task, as a transcript.
#[derive(clap::Args)]
pub struct Args {
    /// Environment name (see `codegym list`).
    env: String,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// 0..=100.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(0..=100))]
    difficulty: u32,
    /// Print the trajectory as JSON.
    #[arg(long)]
    json: bool,
}

impl Args {
    pub fn execute(self, global: &Global) -> Result<ExitCode> {
        let registry = global.registry()?;
        let env = registry.get(&self.env)?;
        let job = Job { env: env.clone(), seed: self.seed, difficulty: self.difficulty };
        let (trajectory, _) = codegym_host::run_episode(&job, &mut OraclePolicy::default(), env.limits())?;
        let solved = trajectory.outcome.is_solved();
        if self.json {
            print_json(&trajectory)?;
        } else {
            println!(
                "{} (seed {}, difficulty {})\n\n{}\n",
                env.name(),
                self.seed,
                self.difficulty,
                trajectory.task
            );
            for (index, step) in trajectory.steps.iter().enumerate() {
                println!("{:>3}. {}\n     {}", index + 1, step.call, step.observation);
            }
            println!(
                "\nOutcome: {}, reward {}, {} calls.",
                trajectory.outcome,
                trajectory.reward,
                trajectory.steps.len()
            );
        }
        Ok(if solved { ExitCode::SUCCESS } else { ExitCode::FAILURE })
    }
}
