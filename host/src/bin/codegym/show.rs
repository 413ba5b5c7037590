use std::process::ExitCode;

use anyhow::Result;

use crate::{Global, print_json};

/// Show an environment's card: metadata, tools with their JSON Schemas, a sample task.
#[derive(clap::Args)]
pub struct Args {
    /// Environment name (see `codegym list`).
    env: String,
    /// Seed of the sample task.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Difficulty of the sample task, 0..=100.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(0..=100))]
    difficulty: u32,
    #[arg(long)]
    json: bool,
}

impl Args {
    pub fn execute(self, global: &Global) -> Result<ExitCode> {
        let registry = global.registry()?;
        let env = registry.get(&self.env)?;
        let config = env.sample_config(self.seed, self.difficulty)?;
        let episode = env.start(&config)?;
        let info = env.info();
        if self.json {
            print_json(&serde_json::json!({
                "info": info,
                "hash": env.hash(),
                "sample": { "seed": self.seed, "difficulty": self.difficulty, "task": episode.task(), "config": config },
            }))?;
            return Ok(ExitCode::SUCCESS);
        }
        println!("{} {} ({})", info.name, info.version, info.category);
        println!("{}\n", info.description);
        println!("Tools:");
        for tool in &info.tools {
            println!("  {}: {}", tool.name, tool.description);
            println!("    parameters: {}", tool.parameters);
        }
        println!("\nSample task (seed {}, difficulty {}):\n  {}", self.seed, self.difficulty, episode.task());
        Ok(ExitCode::SUCCESS)
    }
}
