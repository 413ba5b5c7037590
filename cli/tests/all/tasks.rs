//! CodeGym's task data as it ships: `rollout --tasks` and `eval --tasks` run exactly the rows
//! of a task file (the environment its `ability` names, the row's config text, its round
//! limit; for `eval`, its prompt as it is), and `show --prompt --format codegym` renders
//! CodeGym's own prompt layout, checked byte for byte against the committed rows of
//! `tests/envs-py/codegym/tasks.jsonl`. Those rows are what `show` renders for seeds 0 and 1
//! of each fixture (`extra_info` says which), so a change to the layout fails here until the
//! file is rewritten with `UPDATE_EXPECT=1`.

use std::path::{Path, PathBuf};
use std::process::Output;

use codegym_core::{ActionFormat, ChatMessage, Outcome, RowOrigin, StopReason, TaskRow};
use codegym_host::{GivenTask, Job, OraclePolicy};
use serde_json::{Value, json};

use crate::eval::{Endpoint, KEY, KEY_VAR, MODEL, Recorded, Script, host, json_report, trajectories};
use crate::{Cli, workspace};

fn fixtures() -> PathBuf {
    workspace().join("tests/envs-py/codegym")
}

fn tasks_file() -> PathBuf {
    fixtures().join("tasks.jsonl")
}

/// Where `cargo xtask build-envs` puts the fixtures' packages.
fn env_dir() -> PathBuf {
    workspace().join("target/test-envs/codegym")
}

fn path(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

/// The fixtures' file stems, sorted.
fn stems() -> Vec<String> {
    let mut stems: Vec<String> = std::fs::read_dir(fixtures())
        .expect("fixtures")
        .filter_map(|entry| {
            entry.ok()?.file_name().into_string().ok()?.strip_suffix(".py").map(str::to_owned)
        })
        .collect();
    stems.sort();
    stems
}

/// The environment name CodeGym's file stem derives.
fn name_of(stem: &str) -> String {
    stem.to_lowercase().replace("__", "-").replace('_', "-")
}

/// `codegym ARGS --env-dir <the fixtures' packages>`.
fn run(cli: &Cli, args: &[&str]) -> Output {
    cli.command(args).arg("--env-dir").arg(env_dir()).output().expect("run codegym")
}

fn success(output: &Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    stdout
}

/// The rows of a task file as JSON, each with its parsed form.
fn rows(file: &Path) -> Vec<(Value, TaskRow)> {
    let text = std::fs::read_to_string(file).expect("task file");
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| (serde_json::from_str(line).expect("JSON"), TaskRow::parse(line).expect("a task row")))
        .collect()
}

fn write_rows(file: &Path, rows: &[Value]) {
    let text: String = rows.iter().map(|row| format!("{row}\n")).collect();
    std::fs::write(file, text).expect("write rows");
}

/// The rows `show` renders: seeds 0 and 1 (difficulty 0) of every fixture, in CodeGym's
/// row format, with the config `show --json` reports for that seed.
fn render_rows(cli: &Cli) -> Vec<Value> {
    let mut rows = Vec::new();
    for stem in stems() {
        let name = name_of(&stem);
        for seed in ["0", "1"] {
            let task = &["show", name.as_str(), "--seed", seed, "--difficulty", "0"];
            let sample: Value = serde_json::from_str(&success(&run(
                cli,
                &[&task[..], &["--json", "--card-seeds", "1"]].concat(),
            )))
            .expect("JSON");
            let prompt: Value =
                serde_json::from_str(&success(&run(cli, &[&task[..], &["--prompt"]].concat())))
                    .expect("JSON");
            let config = sample["sample"]["config"].as_str().expect("config");
            rows.push(json!({
                "ability": format!("codegym_v1@{stem}@{config}"),
                "data_source": "codegym_v1",
                "prompt": prompt,
                "reward_model": {"ground_truth": null, "style": "agent_env"},
                "plugin_call_max_round": 256,
                "extra_info": {"index": rows.len().to_string(), "seed": seed.parse::<u64>().expect("seed"), "difficulty": 0},
            }));
        }
    }
    rows
}

/// `show --prompt --format codegym` gives each committed row's prompt byte for byte, and
/// that prompt is CodeGym's layout.
#[test]
fn show_prompt_renders_codegym_rows_byte_for_byte() {
    let cli = Cli::new();
    if std::env::var_os("UPDATE_EXPECT").is_some() {
        write_rows(&tasks_file(), &render_rows(&cli));
    }
    let rows = rows(&tasks_file());
    assert_eq!(rows.len(), 2 * stems().len(), "two rows a fixture; rewrite with UPDATE_EXPECT=1");
    for (json, row) in &rows {
        let (stem, _) = row.ability().expect("ability");
        let name = name_of(stem);
        let seed = json["extra_info"]["seed"].to_string();
        let task = ["show", &name, "--seed", &seed, "--difficulty", "0"];
        let shown = success(&run(&cli, &[&task[..], &["--prompt", "--format", "codegym"]].concat()));
        let messages: Value = serde_json::from_str(&shown).expect("JSON");
        assert_eq!(
            serde_json::to_string(&messages).expect("JSON"),
            serde_json::to_string(&json["prompt"]).expect("JSON"),
            "{name} seed {seed}: `show --prompt` differs from tasks.jsonl; rewrite it with UPDATE_EXPECT=1"
        );
        // Byte for byte, as the model reads them.
        let shown: Vec<ChatMessage> = serde_json::from_value(messages).expect("chat messages");
        assert_eq!(shown, row.prompt);

        // CodeGym's layout: every tool a Python function in the system message named
        // `functions`, then the rules, an example call and `Question:` with the task.
        let sample = success(&run(&cli, &[&task[..], &["--json", "--card-seeds", "1"]].concat()));
        let sample: Value = serde_json::from_str(&sample).expect("JSON");
        let [system, user] = &shown[..] else { panic!("two messages: {shown:?}") };
        assert_eq!((system.role, system.name.as_deref()), (codegym_core::Role::System, Some("functions")));
        assert_eq!((user.role, user.name.as_deref()), (codegym_core::Role::User, None));
        assert!(system.text().starts_with("\nFunction:\n\ndef ") && system.text().ends_with("\"\"\"\n\n\n"));
        for tool in sample["card"]["tools"].as_array().expect("tools") {
            let def = format!("\nFunction:\n\ndef {}(", tool["name"].as_str().expect("name"));
            assert_eq!(system.text().matches(&def).count(), 1, "{def:?} in {}", system.text());
        }
        let task_text = sample["sample"]["task"].as_str().expect("task");
        assert!(user.text().ends_with(&format!("\n\nQuestion:\n\n{task_text}")), "{}", user.text());
        let example = user.text().split("For example:\n").nth(1).expect("an example call");
        let call = codegym_core::parse_action(example, ActionFormat::CodeGym).expect("the example parses");
        assert_eq!(call.name, sample["card"]["tools"][0]["name"].as_str().expect("name"));
    }
    // Another format renders its own layout.
    let name = name_of(&stems()[0]);
    let hermes = success(&run(&cli, &["show", &name, "--prompt", "--format", "hermes"]));
    let hermes: Vec<ChatMessage> = serde_json::from_str(&hermes).expect("chat messages");
    assert!(hermes[0].text().contains("<tools>") && hermes[0].name.is_none(), "{hermes:?}");
}

/// The oracle plays every row of `file` with exactly the row's config and round limit, and
/// each trajectory says which row it ran.
#[test]
fn rollout_runs_exactly_the_task_rows() {
    let cli = Cli::new();
    let mut rows: Vec<Value> = rows(&tasks_file()).into_iter().map(|(json, _)| json).collect();
    // A round limit below what the oracle needs cuts that episode off.
    rows[0]["plugin_call_max_round"] = 2.into();
    let file = cli.scratch.path().join("tasks.jsonl");
    write_rows(&file, &rows);
    let out = cli.scratch.path().join("rollout.jsonl");
    let report = json_report(&run(
        &cli,
        &["rollout", "--tasks", path(&file), "--policy", "oracle", "--json", "--out", path(&out)],
    ));
    assert_eq!(report["episodes"], rows.len(), "{report}");
    assert_eq!(report["solved"], rows.len() - 1, "{report}");
    let stored = trajectories(&out);
    assert_eq!(stored.len(), rows.len());
    for (index, (trajectory, row)) in stored.iter().zip(&rows).enumerate() {
        let parsed = TaskRow::parse(&row.to_string()).expect("row");
        let (stem, config) = parsed.ability().expect("ability");
        assert_eq!(trajectory.env, name_of(stem));
        assert_eq!(trajectory.log.config, config, "the row's config text, as it is");
        assert_eq!(trajectory.row, Some(RowOrigin::new(index as u64, &row["extra_info"])));
        assert_eq!((trajectory.seed, trajectory.difficulty), (0, 0));
        if index == 0 {
            assert_eq!((trajectory.outcome, trajectory.steps.len()), (Outcome::StepLimit, 2));
        } else {
            assert_eq!(trajectory.outcome, Outcome::Solved, "row {index}");
        }
    }
    let line = std::fs::read_to_string(&out).expect("trajectories");
    assert!(line.lines().next().is_some_and(|l| l.contains(r#""row":{"index":0,"extra_info":{"#)), "{line}");
    let replay = json_report(&run(&cli, &["replay", path(&out), "--json"]));
    assert_eq!(replay["identical"], rows.len(), "{replay}");
}

/// `eval --tasks`: each row's own prompt goes to the model as it is (here prompts no
/// renderer writes: a numbered question, an empty `name`), its round limit caps the turns,
/// and the trajectory records the row.
#[test]
fn eval_sends_each_rows_prompt_verbatim() {
    let cli = Cli::new();
    let host = host();
    let mut rows: Vec<Value> = rows(&tasks_file()).into_iter().map(|(json, _)| json).collect();
    for (index, row) in rows.iter_mut().enumerate() {
        let user = &mut row["prompt"][1];
        user["content"] = format!("{} (row {index})", user["content"].as_str().expect("content")).into();
        user["name"] = "".into();
        // CodeGym's environment source rides along in `extra_info`; it is not kept.
        row["extra_info"]["gym_env"] = "x".repeat(RowOrigin::MAX_FIELD_BYTES).into();
    }
    rows[1]["plugin_call_max_round"] = 3.into();
    let file = cli.scratch.path().join("tasks.jsonl");
    write_rows(&file, &rows);

    // The oracle's calls on each row's config, as the model's replies.
    let recorded: Vec<Recorded> = rows
        .iter()
        .map(|row| {
            let parsed = TaskRow::parse(&row.to_string()).expect("row");
            let (stem, config) = parsed.ability().expect("ability");
            let env = host.load(&env_dir().join(format!("{}.pyenv", name_of(stem)))).expect("load");
            let task = GivenTask {
                config: config.to_owned(),
                prompt: Vec::new(),
                max_rounds: None,
                origin: RowOrigin::new(0, &Value::Null),
                label: "test".into(),
            };
            let job = Job::given(env.clone(), task);
            let (trajectory, _) =
                codegym_host::run_episode(&job, &mut OraclePolicy::default(), env.limits()).expect("oracle");
            assert!(trajectory.outcome.is_solved(), "{stem}");
            Recorded::plain(parsed.prompt[1].text(), &trajectory, ActionFormat::CodeGym)
        })
        .collect();
    let script = Script::new(ActionFormat::CodeGym, &recorded);
    let prompts: Vec<Value> = rows.iter().map(|row| row["prompt"].clone()).collect();
    let endpoint = Endpoint::start(move |request| {
        // The conversation opens with one row's prompt, exactly.
        let messages = request.body["messages"].as_array().map(Vec::as_slice).unwrap_or_default();
        if !prompts.iter().any(|prompt| messages.get(..2) == prompt.as_array().map(Vec::as_slice)) {
            return crate::eval::Http::error(400, &format!("not a row's prompt: {:?}", messages.get(..2)));
        }
        script.reply(request)
    });
    let out = cli.scratch.path().join("eval.jsonl");
    let output = cli
        .command(&["eval", "--base-url", &endpoint.base_url(), "--model", MODEL, "--api-key-env", KEY_VAR])
        .args(["--tasks", path(&file), "--json", "--out", path(&out), "--env-dir", path(&env_dir())])
        .env(KEY_VAR, KEY)
        .output()
        .expect("run codegym eval");
    let report = json_report(&output);
    assert!(output.status.success(), "{report}\n{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(report["episodes"], rows.len(), "{report}");
    assert_eq!(report["solved"], rows.len() - 1, "{report}");
    // The round limit is the environment's step limit too, so the episode ends there.
    assert_eq!(report["stops"], json!({"ended": rows.len()}), "{report}");
    assert_eq!(report["parse_errors"], 0, "{report}");

    let stored = trajectories(&out);
    assert_eq!(stored.len(), rows.len());
    for trajectory in &stored {
        let origin = trajectory.row.as_ref().expect("the row is recorded");
        let index = usize::try_from(origin.index).expect("index");
        let row = &rows[index];
        let mut kept = row["extra_info"].clone();
        kept.as_object_mut().expect("extra_info").remove("gym_env");
        assert_eq!(origin.extra_info, kept, "extra_info without the environment's source");
        let prompt: Vec<ChatMessage> = serde_json::from_value(row["prompt"].clone()).expect("prompt");
        assert_eq!(trajectory.messages[..2], prompt[..], "row {index}: the prompt as it is");
        assert_eq!(trajectory.messages[1].name.as_deref(), Some(""));
        let agent = trajectory.agent.as_ref().expect("agent record");
        let recorded = &recorded[index];
        if index == 1 {
            assert_eq!((agent.max_turns, agent.turns, agent.stop), (3, 3, StopReason::Ended));
            assert_eq!((trajectory.outcome, trajectory.max_steps), (Outcome::StepLimit, Some(3)));
        } else {
            assert_eq!((agent.max_turns, agent.stop), (256, StopReason::Ended), "row {index}");
            assert_eq!((trajectory.outcome, trajectory.steps.len()), (Outcome::Solved, recorded.calls));
        }
    }
    let replay = json_report(&run(&cli, &["replay", path(&out), "--json"]));
    assert_eq!(replay["identical"], rows.len(), "{replay}");
}

/// A row naming an unknown environment, or a bad row, stops `rollout` and `eval` before any
/// episode with the file and line; `--tasks` does not mix with sampled tasks.
#[test]
fn bad_task_rows_are_clear_errors() {
    let cli = Cli::new();
    let good = std::fs::read_to_string(tasks_file()).expect("tasks");
    let good = good.lines().next().expect("a row");
    let row = |ability: &str, extra: &str| {
        format!(r#"{{"prompt": [], "ability": {}{extra}}}"#, Value::from(ability))
    };
    let cases = [
        (
            format!("{good}\n\n{}\n", row("codegym_v1@No_Such__Env@{}", "")),
            ":3: unknown environment `no-such-env` (from `No_Such__Env`) in ",
        ),
        ("{\"ability\": 7}\n".to_owned(), ":1: not a task row: "),
        (
            format!("{}\n", row("codegym_v2@X@{}", "")),
            ":1: ability \"codegym_v2@X@{}\": want codegym_v1@<env>@<config>",
        ),
        (
            format!("{}\n", row("codegym_v1@X@[1]", "")),
            ":1: ability \"codegym_v1@X@[1]\": the config is not a JSON object",
        ),
        (
            format!("{}\n", row("codegym_v1@X@{oops", "")),
            ":1: ability \"codegym_v1@X@{oops\": the config is not JSON",
        ),
        (
            format!(
                "{}\n",
                row(&format!("codegym_v1@{}@{{}}", stems()[0]), r#", "plugin_call_max_round": 0"#)
            ),
            ":1: plugin_call_max_round is 0",
        ),
        ("\n\n".to_owned(), ": nothing in it (want one CodeGym task row a line)"),
    ];
    let dead = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("address");
    let url = format!("http://{dead}/v1");
    for (number, (text, expected)) in cases.iter().enumerate() {
        let file = cli.scratch.path().join(format!("bad-{number}.jsonl"));
        std::fs::write(&file, text).expect("write");
        let expected = format!("{}{expected}", path(&file));
        for command in [
            &["rollout", "--tasks", path(&file)][..],
            &["eval", "--base-url", &url, "--model", MODEL, "--tasks", path(&file)],
        ] {
            let output = run(&cli, command);
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(
                !output.status.success() && stderr.contains(&expected),
                "{command:?}: {expected}\n{stderr}"
            );
            assert!(!stderr.contains("cannot reach"), "rows are checked before the endpoint: {stderr}");
        }
    }
    let output = run(&cli, &["rollout", "--tasks", path(&tasks_file()), "--envs", "all"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success() && stderr.contains("cannot be used with"), "{stderr}");
}
