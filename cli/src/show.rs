use std::process::ExitCode;

use anyhow::Result;
use codegym_core::{ActionFormat, ChatMessage, render_prompt};
use codegym_host::EnvCard;

use crate::{Global, TaskArgs, print_json, table};

/// Show an environment's card: metadata, tools with their JSON Schemas, what difficulty
/// means (config size, oracle calls), and a sample task; or, with `--prompt`, the opening
/// messages a language model is sent.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    task: TaskArgs,
    /// Print the episode's opening chat messages (of the task at --seed and --difficulty) as
    /// a JSON list, as `codegym eval` sends them and as a CodeGym task row's `prompt` holds
    /// them; no card. With `--format openai-tools` the tools' definitions, sent beside the
    /// messages, are not printed.
    #[arg(long)]
    prompt: bool,
    /// The prompt's layout, with --prompt: `codegym` (CodeGym's own: a system message
    /// named `functions` listing every tool as a Python function, then a user message of
    /// numbered instructions, a `<|FunctionCallBegin|>` example and `Question:` followed by
    /// the task), `hermes` or `openai-tools`.
    #[arg(long, default_value = "codegym", requires = "prompt")]
    format: ActionFormat,
    /// Oracle episodes per probed difficulty for the card's figures.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=1000))]
    card_seeds: u64,
    /// Print JSON (the card, and the sample task with its config).
    #[arg(long)]
    json: bool,
}

impl Args {
    pub fn execute(self, global: &Global) -> Result<ExitCode> {
        let episode = self.task.start(global)?;
        if self.prompt {
            let prompt = render_prompt(episode.env().info(), episode.task(), self.format);
            let messages: Vec<ChatMessage> = prompt.messages.into_iter().map(ChatMessage::from).collect();
            print_json(&messages)?;
            return Ok(ExitCode::SUCCESS);
        }
        let card = EnvCard::measure(episode.env(), self.card_seeds)?;
        if self.json {
            print_json(&serde_json::json!({
                "card": card,
                "sample": {
                    "seed": self.task.seed,
                    "difficulty": self.task.difficulty,
                    "task": episode.task(),
                    "config": episode.log().config,
                },
            }))?;
            return Ok(ExitCode::SUCCESS);
        }
        outln!("{} {}  [{}]", card.name, card.version, card.category);
        outln!("{}", card.description);
        outln!("component {}", card.hash);
        let limits = episode.env().limits();
        outln!(
            "limits: {} fuel per call, {} per episode, {} MiB memory, {} ms per call{}\n",
            limits.fuel_per_step,
            limits.fuel_per_episode,
            limits.memory_bytes >> 20,
            limits.step_timeout.as_millis(),
            if card.budget.is_some() { " (tightened by the component's own budget)" } else { "" }
        );
        outln!("Tools ({}):", card.tools.len());
        for tool in &card.tools {
            outln!("  {}: {}", tool.name, tool.description);
            outln!("    parameters: {}", tool.parameters);
        }
        let rows: Vec<Vec<String>> = card
            .difficulties
            .iter()
            .map(|d| {
                vec![
                    d.difficulty.to_string(),
                    format!("{:.0}", d.config_bytes.mean),
                    format!("{:.1}", d.oracle_calls.mean),
                    format!("{:.0}-{:.0}", d.oracle_calls.min, d.oracle_calls.max),
                    format!("{}/{}", d.oracle_solved, d.seeds),
                    format!("{:.0}", d.call_fuel.max),
                    format!("{:.0}", d.episode_fuel.max),
                    format!("{:.0}", d.oracle_call_fuel.max),
                ]
            })
            .collect();
        outln!("\nDifficulty 0..=100 ({} seeds per row):", self.card_seeds);
        out!(
            "{}",
            table::render(
                &[
                    "difficulty",
                    "config bytes",
                    "oracle calls",
                    "range",
                    "oracle solved",
                    "fuel/call max",
                    "fuel/episode max",
                    "oracle fuel/call max"
                ],
                &rows
            )
        );
        outln!(
            "\nSample task (seed {}, difficulty {}):\n  {}",
            self.task.seed,
            self.task.difficulty,
            episode.task()
        );
        Ok(ExitCode::SUCCESS)
    }
}
