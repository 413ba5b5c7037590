//! The Python lane: components built by componentize-py from CodeGym-style files
//! (`envs-py/`, `tests/envs-py/hostile-py.py`, CodeGym's own style in
//! `tests/envs-py/codegym/`) in the same host as Rust ones.
//!
//! A Python component takes ~15 s to compile, so this module loads each one once, into
//! one host whose compile cache is shared with the other test binaries
//! (`target/test-cache`; the cache writes by rename, so sharing is safe).

use std::collections::BTreeSet;
use std::sync::OnceLock;
use std::time::Duration;

use codegym_host::{
    Env, FaultKind, Host, HostConfig, Job, Limits, OraclePolicy, Outcome, PolicyKind, RolloutOptions,
    replay_trajectory, rollout, run_episode,
};

use crate::{call, component, workspace};

struct Lane {
    hostile: Env,
    python: Env,
    rust: Env,
}

/// The host every test here shares, with the workspace's shared compile cache.
pub(crate) fn host() -> &'static Host {
    static HOST: OnceLock<Host> = OnceLock::new();
    HOST.get_or_init(|| {
        let config = HostConfig {
            cache_dir: Some(workspace().join("target/test-cache")),
            pool_size: 256,
            ..HostConfig::default()
        };
        Host::new(config).expect("host")
    })
}

fn lane() -> &'static Lane {
    static LANE: OnceLock<Lane> = OnceLock::new();
    LANE.get_or_init(|| {
        let load = |dir: &str, name: &str| {
            host().load(&component(dir, name)).unwrap_or_else(|e| panic!("loading {name}: {e}"))
        };
        Lane {
            hostile: load("test-envs", "hostile-py"),
            python: load("envs", "search-insert-position"),
            rust: load("envs", "binary-search"),
        }
    })
}

/// An episode of the hostile env that has counted once, under `limits`.
fn counted_once(limits: Limits) -> codegym_host::Episode {
    let env = &lane().hostile;
    let mut episode = env.start_with(r#"{"raise": false}"#, limits).expect("start");
    assert_eq!(episode.step(&call("Count", "{}")).observation, "count = 1");
    episode
}

#[test]
fn a_python_component_loads_with_its_tools_and_schemas() {
    let info = lane().python.info();
    assert_eq!((info.name.as_str(), info.category.as_str()), ("search-insert-position", "searching"));
    let names: Vec<&str> = info.tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["GetLength", "GetElement", "GetTarget", "Compare", "Observe", "Done"]);
    let get = info.tool("GetElement").expect("GetElement");
    let schema: serde_json::Value = serde_json::from_str(&get.parameters).expect("JSON");
    assert_eq!(schema["properties"]["index"]["type"], "integer", "{schema}");
    assert_eq!(schema["required"], serde_json::json!(["index"]));
    assert!(get.description.starts_with("Return the element"), "{}", get.description);
}

/// Each rule the sandbox enforces is a clear outcome: a Python error becomes an `Error:`
/// observation, a limit a rolled-back fault; the state survives either way.
#[test]
fn hostile_python_tools_are_errors_or_rolled_back_faults() {
    // Fuel enough for the memory bomb to reach the memory limit first.
    let limits = Limits {
        fuel_per_step: 2_000_000_000,
        fuel_per_episode: 20_000_000_000,
        step_timeout: Duration::from_secs(30),
        ..lane().hostile.limits()
    };
    let faults = [("Grow", FaultKind::Memory), ("Big", FaultKind::OutputTooLarge)];
    for (tool, expected) in faults {
        let mut episode = counted_once(limits);
        let step = episode.step(&call(tool, "{}"));
        assert_eq!(step.fault, Some(expected), "{tool}: {step:?}");
        assert!(step.observation.contains("rolled back"), "{tool}: {}", step.observation);
        assert_eq!(episode.step(&call("Observe", "{}")).observation, "count = 1", "{tool}");
    }
    let errors = [
        ("Raise", "Error: this tool always fails"),
        ("Recurse", "Error: maximum recursion depth exceeded"),
        ("Socket", "Error: module 'socket' is not available"),
        ("ReadFile", "Error: open() is not available"),
        ("ListDir", "Error: os.listdir is not available"),
        ("Clock", "Error: time.time is not available"),
        ("LateImport", "Error: module 'xml' is not available at run time"),
        ("Exit", "Error: SystemExit: 3"),
        ("Nope", "Error: unknown tool 'Nope'"),
    ];
    let mut episode = counted_once(limits);
    for (tool, expected) in errors {
        let step = episode.step(&call(tool, "{}"));
        assert!(step.observation.starts_with(expected), "{tool}: {}", step.observation);
        assert_eq!((step.fault, step.done), (None, false), "{tool}");
    }
    // print() goes nowhere (stdout is a stub that would trap) and the tool goes on.
    assert_eq!(episode.step(&call("Print", "{}")).observation, "printed");
    let bad = episode.step(&call("Count", r#"{"x": 1}"#));
    assert!(bad.observation.contains("unexpected keyword argument 'x'"), "{}", bad.observation);
    assert_eq!(episode.step(&call("Observe", "{}")).observation, "count = 1");
    assert_eq!(episode.faults(), 0);
    // A wrong answer scores 0 even though the file says -1.
    let done = episode.step(&call("Done", r#"{"answer": 5}"#));
    assert_eq!((done.reward, done.done, episode.outcome()), (0.0, true, Some(Outcome::WrongAnswer)));
}

#[test]
fn an_infinite_python_loop_runs_out_of_fuel_or_time() {
    let env = &lane().hostile;
    let mut episode = counted_once(env.limits());
    let step = episode.step(&call("Spin", "{}"));
    assert_eq!(step.fault, Some(FaultKind::OutOfFuel), "{step:?}");
    assert_eq!(episode.step(&call("Observe", "{}")).observation, "count = 1");
    let unmetered = Limits {
        fuel_per_step: u64::MAX / 4,
        fuel_per_episode: u64::MAX / 2,
        step_timeout: Duration::from_millis(200),
        ..env.limits()
    };
    let mut episode = counted_once(unmetered);
    let step = episode.step(&call("Spin", "{}"));
    assert_eq!(step.fault, Some(FaultKind::Timeout), "{step:?}");
    assert_eq!(episode.step(&call("Count", "{}")).observation, "count = 2");
}

#[test]
fn an_exception_in_every_tool_is_an_error_observation() {
    let env = &lane().hostile;
    let mut episode = env.start(r#"{"raise": true}"#).expect("start");
    for tool in env.info().tools.iter().map(|t| t.name.clone()) {
        let step = episode.step(&call(&tool, "{}"));
        assert_eq!(step.observation, format!("Error: RuntimeError: {tool} always raises"));
        assert_eq!((step.fault, step.done), (None, false));
    }
    assert!(env.start("[1, 2]").is_err(), "a config that is not an object is refused");
}

/// Rust and Python environments side by side in one rollout, then every trajectory
/// replayed byte for byte.
#[test]
fn a_mixed_rollout_solves_both_lanes_and_replays_exactly() {
    let lane = lane();
    let jobs: Vec<Job> = [&lane.rust, &lane.python]
        .into_iter()
        .flat_map(|env| (0..6).map(move |seed| Job::sampled(env.clone(), seed, 50)))
        .collect();
    let options = RolloutOptions { threads: 2, limits: lane.python.limits() };
    let report = rollout(&jobs, &|_| PolicyKind::Oracle.build(0), &options, &|| {});
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!((report.episodes, report.solved, report.faults), (12, 12, 0));
    assert_eq!(report.per_env.len(), 2);
    let random = rollout(&jobs, &|i| PolicyKind::Random.build(i as u64), &options, &|| {});
    assert_eq!(random.faults, 0, "{:?}", random.per_env);
    for trajectory in report.trajectories.iter().chain(&random.trajectories) {
        let env = if trajectory.env == lane.rust.name() { &lane.rust } else { &lane.python };
        let replay = replay_trajectory(env, trajectory).expect("replay");
        assert!(replay.mismatches.is_empty(), "{}: {:?}", trajectory.env, replay.mismatches);
    }
}

#[test]
fn python_episodes_fork_independently() {
    let env = &lane().python;
    let config = env.sample_config(4, 50).expect("config");
    let mut episode = env.start(&config).expect("start");
    let length = episode.step(&call("GetLength", "{}")).observation;
    let mut fork = episode.fork().expect("fork");
    let reference = episode.reference_answer().expect("reference");
    let right = fork.step(&call("Done", &format!(r#"{{"answer": {reference}}}"#)));
    assert_eq!((right.reward, fork.outcome()), (1.0, Some(Outcome::Solved)), "{}", right.observation);
    assert_eq!(episode.step(&call("GetLength", "{}")).observation, length);
    assert!(episode.outcome().is_none());
}

/// The files in CodeGym's own style and the names `cargo xtask build-envs` derives for
/// them (into `target/test-envs/codegym/`, with each file's `.jsonl` as its configs).
const CODEGYM_FILES: [(&str, &str); 5] = [
    ("Code_Contests_10107_I__LargestNumberEnv", "code-contests-10107-i-largestnumberenv"),
    ("Codeforces_1352_C__KthNotDivisibleEnv", "codeforces-1352-c-kthnotdivisibleenv"),
    ("Codeforces_1741_C__MeetingMinutesEnv", "codeforces-1741-c-meetingminutesenv"),
    ("LeetCode_0063_B__GridPathsEnv", "leetcode-0063-b-gridpathsenv"),
    ("LeetCode_0739_A__DailyTemperaturesEnv", "leetcode-0739-a-dailytemperaturesenv"),
];

/// CodeGym's files as they are (no `sample_config`, a `solve` through nested functions,
/// lambdas, recursion, an alias of `self.step`, tools that need `_strptime`): the oracle
/// solves every config of each file's JSONL, and a wrong answer scores 0.
#[test]
fn codegym_files_solve_every_config() {
    let dir = workspace().join("tests/envs-py/codegym");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("tests/envs-py/codegym")
        .filter_map(|entry| {
            entry.ok()?.file_name().into_string().ok()?.strip_suffix(".py").map(str::to_owned)
        })
        .collect();
    files.sort();
    assert_eq!(files, CODEGYM_FILES.map(|(file, _)| file.to_owned()), "CODEGYM_FILES lists every fixture");
    for (file, name) in CODEGYM_FILES {
        let env =
            host().load(&component("test-envs/codegym", name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(env.name(), name);
        let jsonl = std::fs::read_to_string(dir.join(format!("{file}.jsonl"))).expect("configs");
        let configs = jsonl.lines().filter(|line| !line.trim().is_empty()).count();
        let mut seen = BTreeSet::new();
        // Seeds pick configs by (101 * seed + difficulty) mod their count, so 0..count picks each.
        for seed in 0..configs as u64 {
            let job = Job::sampled(env.clone(), seed, 50);
            let mut oracle = OraclePolicy::default();
            let (trajectory, _) = run_episode(&job, &mut oracle, env.limits()).expect("episode");
            let last = trajectory.steps.last().map(|s| s.observation.as_str());
            assert_eq!(trajectory.outcome, Outcome::Solved, "{name} seed {seed}: {last:?}");
            assert_eq!(oracle.fault(), None, "{name} seed {seed}");
            seen.insert(trajectory.log.config.clone());

            let mut episode = env.start(&trajectory.log.config).expect("start");
            let reference: serde_json::Value =
                serde_json::from_str(&episode.reference_answer().expect("reference")).expect("JSON");
            let wrong = codegym_core::perturb_answer(&reference).expect("a wrong answer");
            let done = episode.step(&call("Done", &serde_json::json!({ "answer": wrong }).to_string()));
            assert_eq!((done.reward, episode.outcome()), (0.0, Some(Outcome::WrongAnswer)), "{name}");
        }
        assert_eq!(seen.len(), configs, "{name}: every config was solved");
    }
}
