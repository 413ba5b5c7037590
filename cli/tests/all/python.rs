//! The Python lane through the CLI: CodeGym-style environments (`envs-py/`) next to Rust
//! ones under every command, and `codegym build-py`'s errors.

use std::time::Duration;

use serde_json::{Value, json};

use crate::{Cli, json, stdout};

const PYTHON_ENV: &str = "house-robber";

#[test]
fn show_play_and_solve_a_python_environment() {
    let cli = Cli::new();
    let show = stdout(&cli.run(&["show", PYTHON_ENV]));
    assert!(show.contains("[dynamic-programming]") && show.contains("GetMoney"), "{show}");
    let solve = json(&cli.run(&["solve", PYTHON_ENV, "--seed", "3", "--json"]));
    assert_eq!(solve["reward"], 1.0, "{solve}");
    let play = cli.run_with_stdin(
        &["play", PYTHON_ENV, "--seed", "3"],
        "GetHouseCount\nGetMoney {\"index\": 0}\nGetMoney {\"index\": \"zero\"}\nNope\nDone {\"answer\": -1}\n",
    );
    let text = stdout(&play);
    assert!(play.status.success(), "{text}");
    assert!(text.contains("house 0 holds"), "{text}");
    assert!(text.contains("Error: index must be an integer"), "{text}");
    assert!(text.contains("Error: Invalid action: Nope"), "{text}");
    assert!(text.contains("Episode over: wrong_answer, reward 0"), "{text}");
}

#[test]
fn a_mixed_rollout_replays_in_a_fresh_process() {
    let cli = Cli::new();
    let out = cli.scratch.path().join("mixed.jsonl");
    let out = out.to_str().expect("UTF-8 path");
    let envs = format!("binary-search,{PYTHON_ENV},robot-walk");
    let report = json(&cli.run(&[
        "rollout",
        "--envs",
        &envs,
        "--policy",
        "oracle",
        "--episodes",
        "3",
        "--out",
        out,
        "--json",
    ]));
    assert_eq!((report["episodes"].as_u64(), report["solved"].as_u64()), (Some(9), Some(9)), "{report}");
    let replay = json(&cli.run(&["replay", out, "--json"]));
    let text = replay.to_string();
    assert!(!text.contains("\"expected\""), "replay found mismatches: {text}");
}

#[test]
fn serve_runs_a_python_environment() {
    let cli = Cli::new();
    let server = cli.serve(&[]);
    let url = &server.url;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into();
    let post = |path: &str, body: Value| -> Value {
        let mut response = agent.post(format!("{url}{path}")).send_json(&body).expect("POST");
        response.body_mut().read_json().expect("JSON reply")
    };
    let created = post("/v1/sessions", json!({"env": PYTHON_ENV, "seed": 2}));
    let id = created["session_id"].as_str().unwrap_or_else(|| panic!("{created}")).to_owned();
    let step = post(&format!("/v1/sessions/{id}/step"), json!({"name": "GetHouseCount", "arguments": {}}));
    assert!(step["observation"].as_str().is_some_and(|o| o.parse::<u32>().is_ok()), "{step}");
    let done = post(&format!("/v1/sessions/{id}/step"), json!({"name": "Done", "arguments": {"answer": -5}}));
    assert_eq!((done["done"].as_bool(), done["reward"].as_f64()), (Some(true), Some(0.0)), "{done}");
}

#[test]
fn build_py_explains_what_is_missing() {
    let cli = Cli::new();
    let file = cli.scratch.path().join("my-env.py");
    std::fs::write(&file, "class A:\n    pass\n").expect("write");
    let file = file.to_str().expect("UTF-8 path");
    let output = cli
        .command(&["build-py", file, "--component"])
        .env("CODEGYM_PY_VENV", cli.scratch.path())
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("componentize-py is not installed") && stderr.contains("cargo xtask setup"),
        "{stderr}"
    );
    let no_runtime = cli.scratch.path().join("no-runtime.wasm");
    let output = cli.run(&["build-py", file, "--runtime", no_runtime.to_str().expect("UTF-8")]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("shared Python runtime") && stderr.contains("cargo xtask build-envs"),
        "{stderr}"
    );
    let missing = cli.run(&["build-py", "no-such-file.py"]);
    assert!(String::from_utf8_lossy(&missing.stderr).contains("is neither a file nor a directory"));
    // A file that is no environment is refused with the reason, and nothing is written.
    let out = cli.scratch.path().join("my-env.pyenv");
    let output = cli.run(&["build-py", file, "--out", out.to_str().expect("UTF-8")]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success() && stderr.contains("want exactly one environment class"), "{stderr}");
    assert!(!out.exists());
}

#[test]
fn build_py_writes_the_environments_own_budget() {
    let cli = Cli::new();
    let dir = cli.scratch.path().join("budgeted");
    let out = dir.join("robot-walk.pyenv");
    let source = concat!(env!("CARGO_MANIFEST_DIR"), "/../envs-py/robot-walk.py");
    let built = cli.run(&[
        "build-py",
        source,
        "--out",
        out.to_str().expect("UTF-8 path"),
        "--fuel-per-step",
        "20000000",
        "--memory-mib",
        "48",
    ]);
    let text = stdout(&built);
    assert!(built.status.success(), "{text}{}", String::from_utf8_lossy(&built.stderr));
    assert!(text.starts_with("built robot-walk from ") && text.contains("6 tools"), "{text}");
    let size = std::fs::metadata(&out).expect("the package").len();
    assert!(size < 200_000, "a package is small: {size} bytes");
    assert!(dir.join("runtimes").read_dir().expect("the runtime beside it").count() == 1);
    // `--env-dir` after the subcommand overrides the one `Cli::command` puts first.
    let run = |args: &[&str]| cli.command(args).arg("--env-dir").arg(&dir).output().expect("run codegym");
    let show = stdout(&run(&["show", "robot-walk", "--card-seeds", "2"]));
    assert!(show.contains("limits: 20000000 fuel per call, 2000000000 per episode, 48 MiB memory"), "{show}");
    assert!(show.contains("tightened by the component's own budget"), "{show}");
    let card = json(&run(&["show", "robot-walk", "--json", "--card-seeds", "2"]));
    assert_eq!(
        card["card"]["budget"],
        json!({"fuel_per_step": 20_000_000, "memory_bytes": 48 << 20}),
        "{card}"
    );
    // The oracle's measured cost fits the budget, so episodes run as before.
    let most = card["card"]["difficulties"][1]["call_fuel"]["max"].as_f64().expect("call fuel");
    assert!(most > 0.0 && most < 20e6, "{card}");
    let solve = json(&run(&["solve", "robot-walk", "--seed", "1", "--json"]));
    assert_eq!(solve["reward"], 1.0, "{solve}");

    // A budget below what the environment needs to start is a clear error, and nothing is
    // left behind.
    let starved = dir.join("starved.pyenv");
    let starved = starved.to_str().expect("UTF-8 path");
    let built =
        cli.run(&["build-py", source, "--out", starved, "--name", "starved", "--fuel-per-step", "1000"]);
    assert!(!built.status.success());
    let stderr = String::from_utf8_lossy(&built.stderr);
    assert!(stderr.contains("does not load") && stderr.contains("fuel"), "{stderr}");
    assert!(!std::path::Path::new(starved).exists(), "a package that does not load is removed");
}

/// `--component`: one self-contained `.wasm` for one file (componentize-py), which runs as
/// its package does.
#[test]
fn build_py_component_exports_one_self_contained_wasm() {
    let cli = Cli::new();
    let dir = cli.scratch.path().join("component");
    let out = dir.join("robot-walk.wasm");
    let source = concat!(env!("CARGO_MANIFEST_DIR"), "/../envs-py/robot-walk.py");
    let built = cli.run(&["build-py", source, "--component", "--out", out.to_str().expect("UTF-8 path")]);
    let text = stdout(&built);
    assert!(built.status.success(), "{text}{}", String::from_utf8_lossy(&built.stderr));
    assert!(text.contains("built robot-walk from") && text.contains("MB"), "{text}");
    let run = |args: &[&str]| cli.command(args).arg("--env-dir").arg(&dir).output().expect("run codegym");
    let component = json(&run(&["solve", "robot-walk", "--seed", "4", "--json"]));
    let package = json(&cli.run(&["solve", "robot-walk", "--seed", "4", "--json"]));
    assert_eq!(component["reward"], 1.0, "{component}");
    assert_eq!(component["steps"], package["steps"], "the same episode either way");
}

/// The CodeGym fixtures' paths and the names derived from them.
fn codegym_fixtures() -> (std::path::PathBuf, Vec<(String, String)>) {
    let dir = crate::workspace().join("tests/envs-py/codegym");
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("fixtures")
        .filter_map(|entry| {
            let file = entry.ok()?.file_name().into_string().ok()?;
            let stem = file.strip_suffix(".py")?.to_owned();
            let name = stem.to_lowercase().replace("__", "-").replace('_', "-");
            Some((stem, name))
        })
        .collect();
    files.sort();
    (dir, files)
}

/// A directory in CodeGym's own style builds in one command: a line per file (built, or
/// refused with the reason), a summary, resumable (an unchanged file is not rebuilt), and
/// every package solves its configs; runtimes no package names any more are removed.
#[test]
fn build_py_builds_a_directory_resumably() {
    let cli = Cli::new();
    let (fixtures, files) = codegym_fixtures();
    let input = cli.scratch.path().join("input");
    std::fs::create_dir(&input).expect("input dir");
    for entry in std::fs::read_dir(&fixtures).expect("fixtures") {
        let path = entry.expect("entry").path();
        std::fs::copy(&path, input.join(path.file_name().expect("name"))).expect("copy");
    }
    std::fs::write(input.join("Broken_Env.py"), "def broken(:\n").expect("write");
    let out = cli.scratch.path().join("out");
    let path = |p: &std::path::Path| p.to_str().expect("UTF-8 path").to_owned();
    let first = cli.run(&["build-py", &path(&input), "--out", &path(&out)]);
    let text = stdout(&first);
    assert!(!first.status.success(), "a refused file fails the run: {text}");
    for (_, name) in &files {
        assert!(text.contains(&format!("built {name} from ")), "{name}: {text}");
        assert!(out.join(format!("{name}.pyenv")).is_file(), "{name}");
    }
    assert!(text.contains("Broken_Env.py: the Python environment is unusable: Broken_Env.py:1: "), "{text}");
    assert!(text.contains(&format!("{} built, 0 up to date, 1 refused", files.len())), "{text}");

    std::fs::remove_file(input.join("Broken_Env.py")).expect("remove");
    let touched = input.join(format!("{}.py", files[0].0));
    let mut source = std::fs::read_to_string(&touched).expect("read");
    source.push_str("\n# changed\n");
    std::fs::write(&touched, source).expect("write");
    let runtimes = out.join("runtimes");
    let [stale, partial] = [format!("{}.wasm", "0".repeat(64)), format!("{}.wasm.partial", "1".repeat(64))];
    for name in [&stale, &partial] {
        std::fs::write(runtimes.join(name), b"an older runtime").expect("plant");
    }
    let second = cli.run(&["build-py", &path(&input), "--out", &path(&out)]);
    let text = stdout(&second);
    assert!(second.status.success(), "{text}");
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.contains(&format!("{stale}: no package here names that runtime")), "{stderr}");
    let left: Vec<String> = std::fs::read_dir(&runtimes)
        .expect("runtimes")
        .map(|entry| entry.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left.len(), 1, "only the runtime the packages name is kept: {left:?}");
    assert!(text.contains(&format!("1 built, {} up to date, 0 refused", files.len() - 1)), "{text}");

    let names: Vec<&str> = files.iter().map(|(_, name)| name.as_str()).collect();
    let rollout = cli
        .command(&["rollout", "--envs", &names.join(","), "--policy", "oracle", "--episodes", "6", "--json"])
        .arg("--env-dir")
        .arg(&out)
        .output()
        .expect("rollout");
    let report = json(&rollout);
    let episodes = 6 * files.len() as u64;
    assert_eq!(
        (report["episodes"].as_u64(), report["solved"].as_u64()),
        (Some(episodes), Some(episodes)),
        "{report}"
    );
}

/// CodeGym's task rows (`ability` = `codegym_v1@<file stem>@<config>`) give each file its
/// configs: `--instances` builds the directory with exactly those tasks.
#[test]
fn build_py_takes_configs_from_codegym_task_rows() {
    let cli = Cli::new();
    let (fixtures, files) = codegym_fixtures();
    let mut rows = String::new();
    for (stem, _) in &files {
        let configs = std::fs::read_to_string(fixtures.join(format!("{stem}.jsonl"))).expect("configs");
        for config in configs.lines().filter(|l| !l.trim().is_empty()).take(2) {
            let row = json!({
                "prompt": [{"role": "user", "content": "Solve it."}],
                "ability": format!("codegym_v1@{stem}@{config}"),
                "plugin_call_max_round": 64,
                "extra_info": {"source": "test"},
            });
            rows.push_str(&format!("{row}\n"));
        }
    }
    let tasks = cli.scratch.path().join("tasks.jsonl");
    std::fs::write(&tasks, rows).expect("write");
    // Only the .py files: the configs come from the rows, not from the files beside them.
    let input = cli.scratch.path().join("input");
    std::fs::create_dir(&input).expect("input dir");
    for (stem, _) in &files {
        let file = format!("{stem}.py");
        std::fs::copy(fixtures.join(&file), input.join(&file)).expect("copy");
    }
    let out = cli.scratch.path().join("out");
    let path = |p: &std::path::Path| p.to_str().expect("UTF-8 path").to_owned();
    let built = cli.run(&["build-py", &path(&input), "--out", &path(&out), "--instances", &path(&tasks)]);
    assert!(built.status.success(), "{}{}", stdout(&built), String::from_utf8_lossy(&built.stderr));
    for (stem, name) in &files {
        let package: Value =
            serde_json::from_slice(&std::fs::read(out.join(format!("{name}.pyenv"))).expect("package"))
                .expect("JSON");
        let configs = std::fs::read_to_string(fixtures.join(format!("{stem}.jsonl"))).expect("configs");
        let expected: Vec<&str> = configs.lines().filter(|l| !l.trim().is_empty()).take(2).collect();
        assert_eq!(package["configs"], json!(expected), "{name}");
    }
    let bad = cli.scratch.path().join("bad.jsonl");
    std::fs::write(&bad, "{\"ability\": \"codegym_v2@X@{}\"}\n").expect("write");
    let refused = cli.run(&["build-py", &path(&input), "--out", &path(&out), "--instances", &path(&bad)]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success() && stderr.contains("bad.jsonl:1: ability"), "{stderr}");
}

/// A file in CodeGym's own style and name, with no `sample_config`: `--configs` gives its
/// tasks, its name is derived from the file's, and it solves with every config. Its tool
/// parses times with `datetime.strptime`, which imports `_strptime` late.
#[test]
fn build_py_builds_a_codegym_file_with_its_configs() {
    let cli = Cli::new();
    let dir = cli.scratch.path().join("codegym");
    let fixtures = crate::workspace().join("tests/envs-py/codegym");
    let source = fixtures.join("Codeforces_1741_C__MeetingMinutesEnv.py");
    let configs = fixtures.join("Codeforces_1741_C__MeetingMinutesEnv.jsonl");
    let name = "codeforces-1741-c-meetingminutesenv";
    let path = |p: &std::path::Path| p.to_str().expect("UTF-8 path").to_owned();
    let env_dir = path(&dir);
    // `--env-dir` after the subcommand overrides the one `Cli::command` puts first.
    let built = cli.run(&["build-py", &path(&source), "--configs", &path(&configs), "--env-dir", &env_dir]);
    let text = stdout(&built);
    assert!(built.status.success(), "{text}{}", String::from_utf8_lossy(&built.stderr));
    assert!(text.starts_with(&format!("built {name} from ")), "{text}");
    assert!(dir.join(format!("{name}.pyenv")).is_file(), "the default output is <env dir>/<name>.pyenv");

    let rollout = ["rollout", "--envs", name, "--policy", "oracle", "--episodes", "6", "--json", "--env-dir"];
    let report = json(&cli.run(&[&rollout[..], &[&env_dir]].concat()));
    assert_eq!((report["episodes"].as_u64(), report["solved"].as_u64()), (Some(6), Some(6)), "{report}");
    let play = cli.run_with_stdin(
        &["play", name, "--seed", "2", "--env-dir", &env_dir],
        "MinutesBetween {\"start\": \"2024-02-28 23:30\", \"end\": \"2024-03-01 00:15\"}\nDone {\"answer\": -1}\n",
    );
    let text = stdout(&play);
    assert!(text.contains("1485"), "strptime works in the sandbox: {text}");
    assert!(text.contains("Episode over: wrong_answer, reward 0"), "{text}");
}

#[test]
fn build_py_refuses_bad_configs_and_names_clearly() {
    let cli = Cli::new();
    let source = crate::workspace().join("tests/envs-py/codegym/LeetCode_0739_A__DailyTemperaturesEnv.py");
    let source = source.to_str().expect("UTF-8 path");
    let out = cli.scratch.path().join("never.pyenv");
    let out = out.to_str().expect("UTF-8 path");
    let configs = |name: &str, text: &str| {
        let path = cli.scratch.path().join(name);
        std::fs::write(&path, text).expect("write");
        path.to_str().expect("UTF-8 path").to_owned()
    };
    let cases = [
        (
            cli.scratch.path().join("missing.jsonl").to_str().expect("UTF-8").to_owned(),
            "missing.jsonl: No such file",
        ),
        (
            configs("broken.jsonl", "{\"temperatures\": [1]}\n{\"temperatures\": \n"),
            "broken.jsonl:2: not JSON",
        ),
        (configs("list.jsonl", "[1, 2]\n"), "list.jsonl:1: a config must be a JSON object, not an array"),
        (configs("empty.jsonl", "\n\n"), "empty.jsonl: nothing in it (want one JSON object a line)"),
    ];
    for (file, expected) in cases {
        let output = cli.run(&["build-py", source, "--out", out, "--configs", &file]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success() && stderr.contains(expected), "{expected}: {stderr}");
    }
    let output = cli.run(&["build-py", source, "--out", out, "--name", "Daily_Temperatures"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success() && stderr.contains("must be lowercase letters"), "{stderr}");
    assert!(!std::path::Path::new(out).exists());
}

/// `bench python`: generated environments, all distinct, each built into a package, loaded
/// into one host and solved by its oracle, beside a Rust environment.
#[test]
fn bench_python_builds_loads_and_solves_distinct_environments() {
    let cli = Cli::new();
    let keep = cli.scratch.path().join("generated");
    let report = json(&cli.run(&[
        "bench",
        "python",
        "--envs",
        "25",
        "--json",
        "--keep",
        keep.to_str().expect("UTF-8"),
    ]));
    assert_eq!((report["envs"].as_u64(), report["oracle_solved"].as_u64()), (Some(25), Some(25)), "{report}");
    assert!(report["package_bytes_max"].as_u64().is_some_and(|b| b < 200_000), "{report}");
    assert!(report["python_start_us_p50"].as_f64().is_some_and(|us| us > 0.0), "{report}");
    let sources: std::collections::BTreeSet<String> = std::fs::read_dir(&keep)
        .expect("the packages")
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            let package: Value = serde_json::from_slice(&std::fs::read(&path).ok()?).ok()?;
            package["source"].as_str().map(str::to_owned)
        })
        .collect();
    assert_eq!(sources.len(), 25, "every generated environment is different");
}
