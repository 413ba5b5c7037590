use std::io::{BufRead, Write};
use std::process::ExitCode;

use anyhow::Result;
use codegym_core::{ActionFormat, ToolCall, canonical_arguments, parse_action};
use codegym_host::Episode;

use crate::{Global, TaskArgs};

/// Play an environment yourself in the terminal, one tool call per line.
///
/// A line is `Name {"arg": 1}` (or just `Name` for no arguments), a JSON object
/// `{"name": "Name", "arguments": {...}}`, or raw model output in the CodeGym or Hermes
/// format. `:tools` lists the tools, `:task` repeats the task, `:quit` leaves.
#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    task: TaskArgs,
}

impl Args {
    pub fn execute(self, global: &Global) -> Result<ExitCode> {
        let mut episode = self.task.start(global)?;
        let env = episode.env().clone();
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "{} (seed {}, difficulty {})\n\n{}\n",
            env.name(),
            self.task.seed,
            self.task.difficulty,
            episode.task()
        )?;
        print_tools(&mut out, &episode)?;
        writeln!(
            out,
            "\nOne tool call per line, e.g. `Observe` or `Done {{\"answer\": ...}}`. `:help` for more."
        )?;
        let stdin = std::io::stdin();
        let mut lines = stdin.lock().lines();
        while !episode.is_done() {
            write!(out, "> ")?;
            out.flush()?;
            let Some(line) = lines.next() else { break };
            let line = line?;
            let line = line.trim();
            match line {
                "" => continue,
                ":quit" | ":q" | ":exit" => break,
                ":tools" => print_tools(&mut out, &episode)?,
                ":task" => writeln!(out, "{}", episode.task())?,
                ":help" | ":h" => writeln!(out, "{}", HELP)?,
                _ => match parse_line(line) {
                    Ok(call) => {
                        let step = episode.step(&call);
                        writeln!(out, "{}", step.observation)?;
                        writeln!(
                            out,
                            "  [step {}, reward {}{}]",
                            episode.steps(),
                            step.reward,
                            if step.done { ", done" } else { "" }
                        )?;
                    }
                    Err(message) => {
                        writeln!(out, "error: {message} (nothing was sent; `:help` shows the syntax)")?
                    }
                },
            }
        }
        let outcome = episode.outcome().map_or_else(|| "unfinished".to_owned(), |o| o.to_string());
        writeln!(out, "\nEpisode over: {outcome}, reward {}, {} steps.", episode.reward(), episode.steps())?;
        Ok(ExitCode::SUCCESS)
    }
}

const HELP: &str = "\
Lines:
  Name                      call a tool without arguments
  Name {\"arg\": 1}           call a tool with a JSON object of arguments
  {\"name\": .., \"arguments\": {..}}
  <|FunctionCallBegin|>[...]<|FunctionCallEnd|>   or   <tool_call>{...}</tool_call>
Commands: :tools  :task  :help  :quit";

fn print_tools(out: &mut impl Write, episode: &Episode) -> Result<()> {
    writeln!(out, "Tools:")?;
    for tool in &episode.env().info().tools {
        let schema: serde_json::Value = serde_json::from_str(&tool.parameters).unwrap_or_default();
        let properties = schema.get("properties").and_then(|p| p.as_object());
        let fields: Vec<String> = properties
            .into_iter()
            .flatten()
            .map(|(name, property)| format!("\"{name}\": {}", type_name(property)))
            .collect();
        let call = if fields.is_empty() {
            tool.name.clone()
        } else {
            format!("{} {{{}}}", tool.name, fields.join(", "))
        };
        writeln!(out, "  {call}\n      {}", tool.description)?;
    }
    Ok(())
}

/// A short type for a JSON Schema property: `integer`, `[integer]`, `string`, ...
fn type_name(schema: &serde_json::Value) -> String {
    match schema.get("type") {
        Some(serde_json::Value::String(kind)) if kind == "array" => {
            format!("[{}]", schema.get("items").map_or_else(|| "...".to_owned(), type_name))
        }
        Some(serde_json::Value::String(kind)) => kind.clone(),
        Some(serde_json::Value::Array(kinds)) => {
            kinds.iter().filter_map(|k| k.as_str()).collect::<Vec<_>>().join(" | ")
        }
        _ => "value".to_owned(),
    }
}

/// One typed line → a tool call, or a message saying what is wrong with it.
pub fn parse_line(line: &str) -> Result<ToolCall, String> {
    for format in [ActionFormat::CodeGym, ActionFormat::Hermes] {
        if format.begin_marker().is_some_and(|marker| line.contains(marker)) {
            return parse_action(line, format).map_err(|e| e.to_string());
        }
    }
    if line.starts_with('{') || line.starts_with('[') {
        return parse_action(line, ActionFormat::OpenAiTools).map_err(|e| e.to_string());
    }
    let (name, arguments) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        return Err(format!("`{name}` is not a tool name"));
    }
    let arguments = arguments.trim();
    let arguments = if arguments.is_empty() {
        "{}".to_owned()
    } else {
        canonical_arguments(arguments).map_err(|e| e.to_string())?
    };
    Ok(ToolCall::new(name, arguments))
}
