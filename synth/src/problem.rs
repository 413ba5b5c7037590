//! Coding problems: `{id, prompt, solution}` JSON lines, or HumanEval's own format
//! (`task_id`, `prompt`, `canonical_solution`), optionally gzipped.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Error;

/// One coding problem: a statement and a reference solution in any language.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    pub id: String,
    pub prompt: String,
    pub solution: String,
}

impl Problem {
    /// The environment's name: the id in lower case, runs of anything but letters and
    /// digits as one `-` (`HumanEval/0` → `humaneval-0`).
    pub fn name(&self) -> String {
        let mut name = String::new();
        for c in self.id.chars() {
            if c.is_ascii_alphanumeric() {
                name.push(c.to_ascii_lowercase());
            } else if !name.is_empty() && !name.ends_with('-') {
                name.push('-');
            }
        }
        name.trim_end_matches('-').to_owned()
    }

    /// A problem from one JSON object: `{id, prompt, solution}`, or HumanEval's `task_id`,
    /// `prompt` and `canonical_solution` (the solution is then the whole function: the
    /// prompt's signature and docstring followed by the body).
    fn from_json(value: &Value) -> Result<Self, String> {
        let text = |key: &str| value.get(key).and_then(Value::as_str);
        if let (Some(id), Some(prompt), Some(body)) =
            (text("task_id"), text("prompt"), text("canonical_solution"))
        {
            return Ok(Self {
                id: id.to_owned(),
                prompt: prompt.to_owned(),
                solution: format!("{prompt}{body}"),
            });
        }
        match (text("id"), text("prompt"), text("solution")) {
            (Some(id), Some(prompt), Some(solution)) => {
                Ok(Self { id: id.to_owned(), prompt: prompt.to_owned(), solution: solution.to_owned() })
            }
            _ => Err("want string fields id, prompt and solution (or HumanEval's task_id, prompt and \
                      canonical_solution)"
                .to_owned()),
        }
    }
}

/// Read problems from a JSONL file (gzipped if its name ends in `.gz`). Blank lines are
/// skipped; a bad line, an empty name or two problems with one name is an error.
pub fn read_problems(path: &Path) -> Result<Vec<Problem>, Error> {
    let io = |source| Error::Io { path: path.to_owned(), source };
    let file = std::fs::File::open(path).map_err(io)?;
    let reader: Box<dyn Read> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::GzDecoder::new(file))
    } else {
        Box::new(file)
    };
    let mut problems: Vec<Problem> = Vec::new();
    let mut names = std::collections::HashMap::new();
    for (index, line) in BufReader::new(reader).lines().enumerate() {
        let line = line.map_err(io)?;
        if line.trim().is_empty() {
            continue;
        }
        let bad = |reason: String| Error::Problems { path: path.to_owned(), line: index + 1, reason };
        let value: Value = serde_json::from_str(&line).map_err(|e| bad(e.to_string()))?;
        let problem = Problem::from_json(&value).map_err(bad)?;
        let name = problem.name();
        if name.is_empty() {
            return Err(bad(format!("id {:?} gives an empty environment name", problem.id)));
        }
        if let Some(other) = names.insert(name.clone(), problem.id.clone()) {
            return Err(bad(format!("ids {other:?} and {:?} both give the name {name}", problem.id)));
        }
        problems.push(problem);
    }
    Ok(problems)
}
