use std::process::ExitCode;

use anyhow::Result;

use crate::{Global, TaskArgs, print_json};

/// Show an environment's card: metadata, tools with their JSON Schemas, a sample task.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    task: TaskArgs,
    /// Print JSON (info, component hash, sample task and its config).
    #[arg(long)]
    json: bool,
}

impl Args {
    pub fn execute(self, global: &Global) -> Result<ExitCode> {
        let episode = self.task.start(global)?;
        let env = episode.env();
        let config = &episode.log().config;
        let info = env.info();
        if self.json {
            print_json(&serde_json::json!({
                "info": info,
                "hash": env.hash(),
                "sample": { "seed": self.task.seed, "difficulty": self.task.difficulty, "task": episode.task(), "config": config },
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
        println!(
            "\nSample task (seed {}, difficulty {}):\n  {}",
            self.task.seed,
            self.task.difficulty,
            episode.task()
        );
        Ok(ExitCode::SUCCESS)
    }
}
