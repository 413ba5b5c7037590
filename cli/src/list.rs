use std::process::ExitCode;

use anyhow::Result;

use crate::{Global, print_json, table};

/// List the available environments.
#[derive(clap::Args)]
pub struct Args {
    /// Only environments of this category.
    #[arg(long)]
    category: Option<String>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

impl Args {
    pub fn execute(self, global: &Global) -> Result<ExitCode> {
        let registry = global.registry()?;
        let mut infos = Vec::new();
        for name in registry.names() {
            // One broken component should not hide the others.
            let env = match registry.get(name) {
                Ok(env) => env,
                Err(error) => {
                    eprintln!("warning: skipping {name}: {error}");
                    continue;
                }
            };
            if self.category.as_deref().is_none_or(|c| c == env.info().category) {
                infos.push(env.info().clone());
            }
        }
        if self.json {
            print_json(&infos)?;
            return Ok(ExitCode::SUCCESS);
        }
        let rows: Vec<Vec<String>> = infos
            .iter()
            .map(|i| {
                vec![i.name.clone(), i.category.clone(), i.tools.len().to_string(), i.description.clone()]
            })
            .collect();
        out!("{}", table::render(&["env", "category", "tools", "description"], &rows));
        Ok(ExitCode::SUCCESS)
    }
}
