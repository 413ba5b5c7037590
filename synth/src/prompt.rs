//! Prompt templates (`synth/prompts/*.md`), rendering, and reading code out of a reply.

use crate::{Lang, Problem};

const RUST: &str = include_str!("../prompts/rust.md");
const PYTHON: &str = include_str!("../prompts/python.md");
const REPAIR: &str = include_str!("../prompts/repair.md");
const FEEDBACK: &str = include_str!("../prompts/feedback.md");
// The guides and examples the model writes against: the SDK's own, so they never drift.
const RUST_GUIDE: &str = include_str!("../../env-sdk/README.md");
const RUST_EXAMPLE: &str = include_str!("../../envs/count-evens/src/lib.rs");
const PYTHON_GUIDE: &str = include_str!("../../envs-py/README.md");
const PYTHON_EXAMPLE: &str = include_str!("../../envs-py/search-insert-position.py");

/// `template` with each `{{key}}` replaced by its value (one pass, so values are not
/// themselves expanded).
fn render(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after
            .find("}}")
            .and_then(|end| values.iter().find(|(k, _)| *k == &after[..end]).map(|v| (end, v.1)))
        {
            Some((end, value)) => {
                out.push_str(value);
                rest = &after[end + 2..];
            }
            None => {
                out.push_str("{{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Why the previous attempt at a problem was rejected, told to the next one.
pub struct Feedback<'a> {
    pub attempt: usize,
    pub stage: &'a str,
    pub reason: &'a str,
}

/// The first message of an attempt: the problem, the guide, an example, and what went wrong
/// last time.
pub fn generation(lang: Lang, problem: &Problem, name: &str, feedback: Option<&Feedback<'_>>) -> String {
    let feedback = feedback.map_or_else(String::new, |f| {
        render(
            FEEDBACK,
            &[("attempt", &f.attempt.to_string()), ("stage", f.stage), ("reason", &clip(f.reason, 2000))],
        )
    });
    let (template, guide, example) = match lang {
        Lang::Rust => (RUST, RUST_GUIDE, RUST_EXAMPLE),
        Lang::Python => (PYTHON, PYTHON_GUIDE, PYTHON_EXAMPLE),
    };
    render(
        template,
        &[
            ("name", name),
            ("guide", guide),
            ("example", example.trim_end()),
            ("id", &problem.id),
            ("statement", problem.prompt.trim_end()),
            ("solution", problem.solution.trim_end()),
            ("feedback", &feedback),
        ],
    )
}

/// The message asking for a fix of a build that failed with `errors`.
pub fn repair(lang: Lang, errors: &str) -> String {
    render(REPAIR, &[("errors", &clip(errors, 6000)), ("fence", lang.fence())])
}

/// The code in a reply: the longest fenced block tagged with the language (else the longest
/// untagged one).
pub fn extract_code(reply: &str, lang: Lang) -> Option<String> {
    let mut tagged: Vec<&str> = Vec::new();
    let mut untagged: Vec<&str> = Vec::new();
    let mut rest = reply;
    while let Some(open) = rest.find("```") {
        let after = &rest[open + 3..];
        let Some(line_end) = after.find('\n') else { break };
        let tag = after[..line_end].trim().to_ascii_lowercase();
        let body = &after[line_end + 1..];
        let Some(close) = body.find("\n```").map(|i| i + 1).or_else(|| body.strip_prefix("```").map(|_| 0))
        else {
            break;
        };
        let code = &body[..close];
        if lang.tags().contains(&tag.as_str()) {
            tagged.push(code);
        } else if tag.is_empty() {
            untagged.push(code);
        }
        rest = &body[close + 3..];
    }
    let longest = |blocks: &[&str]| blocks.iter().max_by_key(|b| b.len()).map(|b| (*b).to_owned());
    longest(&tagged).or_else(|| longest(&untagged)).filter(|code| !code.trim().is_empty())
}

/// `text` cut to at most `limit` bytes (at a character boundary), marked when cut.
pub(crate) fn clip(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.to_owned();
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}\n… ({} more bytes)", &text[..end], text.len() - end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_replaces_known_keys_once() {
        let out = render("a {{x}} b {{y}} {{unknown}}", &[("x", "{{y}}"), ("y", "2")]);
        assert_eq!(out, "a {{y}} b 2 {{unknown}}");
    }

    #[test]
    fn extract_prefers_the_longest_tagged_block() {
        let reply =
            "Here:\n```\nuntagged\n```\n```rust\nfn a() {}\n```\ntext\n```rust\nfn longer() {}\n```\n";
        assert_eq!(extract_code(reply, Lang::Rust).as_deref(), Some("fn longer() {}\n"));
        assert_eq!(extract_code(reply, Lang::Python).as_deref(), Some("untagged\n"));
        assert_eq!(extract_code("no code at all", Lang::Rust), None);
        assert_eq!(extract_code("```rust\nunterminated", Lang::Rust), None);
    }
}
