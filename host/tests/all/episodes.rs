//! Episode semantics on a real environment: errors as observations, limits, fork, replay.

use codegym_host::{Limits, Outcome, PolicyKind};

use crate::{call, host_with, load};

#[test]
fn tool_errors_are_observations_not_faults() {
    let (host, _cache) = host_with(|_| {});
    let env = load(&host, "envs", "binary-search");
    let mut episode = env.start(&env.sample_config(7, 50).expect("config")).expect("start");
    let cases = [
        ("Nope", "{}", "Error: unknown tool `Nope`"),
        ("Get", "{}", "Error: invalid arguments for Get: missing field `index`"),
        ("Get", r#"{"index":"three"}"#, "Error: invalid arguments for Get: invalid type"),
        ("Get", "[1,2]", "Error: invalid arguments for Get"),
        ("Get", "{not json", "Error: invalid arguments for Get"),
        ("Get", r#"{"index":99999999}"#, "Error: index 99999999 is out of range"),
        ("Done", r#"{"answer":"x"}"#, "Error: invalid arguments for Done"),
    ];
    for (name, arguments, expected) in cases {
        let step = episode.step(&call(name, arguments));
        assert!(step.observation.starts_with(expected), "{name} {arguments}: {}", step.observation);
        assert_eq!((step.reward, step.done, step.fault), (0.0, false, None));
    }
    assert_eq!(episode.faults(), 0);
    assert_eq!(episode.steps(), 7);
}

#[test]
fn step_limit_ends_the_episode() {
    let (host, _cache) = host_with(|_| {});
    let env = load(&host, "envs", "binary-search");
    let limits = Limits { max_steps: 5, ..env.limits() };
    let mut episode = env.start_with(&env.sample_config(1, 50).expect("config"), limits).expect("start");
    for i in 1..=5 {
        let step = episode.step(&call("Observe", "{}"));
        assert_eq!(step.done, i == 5, "step {i}");
    }
    assert_eq!(episode.outcome(), Some(Outcome::StepLimit));
}

#[test]
fn forks_are_independent_and_start_from_the_same_state() {
    let (host, _cache) = host_with(|_| {});
    let env = load(&host, "envs", "binary-search");
    let mut episode = env.start(&env.sample_config(3, 50).expect("config")).expect("start");
    episode.step(&call("Get", r#"{"index":2}"#));
    let mut fork = episode.fork().expect("fork");
    assert_eq!(fork.log(), episode.log());
    assert_eq!(fork.steps(), 1);
    let reference: i64 = episode.reference_answer().expect("reference").parse().expect("int");
    let right = fork.step(&call("Done", &format!(r#"{{"answer":{reference}}}"#)));
    assert_eq!((right.reward, fork.outcome()), (1.0, Some(Outcome::Solved)));
    // The original is untouched by the fork's Done.
    let observe = episode.step(&call("Observe", "{}"));
    assert!(observe.observation.contains("Elements read so far: 1"), "{}", observe.observation);
    let wrong = episode.step(&call("Done", &format!(r#"{{"answer":{}}}"#, reference + 1)));
    assert_eq!((wrong.reward, episode.outcome()), (0.0, Some(Outcome::WrongAnswer)));
    assert!(wrong.observation.contains("Result: incorrect"), "{}", wrong.observation);
}

#[test]
fn trajectories_replay_identically() {
    let (host, _cache) = host_with(|_| {});
    let env = load(&host, "envs", "binary-search");
    for policy in [PolicyKind::Oracle, PolicyKind::Random] {
        let jobs: Vec<_> = (0..8).map(|seed| codegym_host::Job::sampled(env.clone(), seed, 50)).collect();
        let options = codegym_host::RolloutOptions { threads: 2, limits: env.limits() };
        let report = codegym_host::rollout(&jobs, &|i| policy.build(i as u64), &options, &|| {});
        assert_eq!(report.trajectories.len(), 8);
        for trajectory in &report.trajectories {
            let replay = codegym_host::replay_trajectory(&env, trajectory).expect("replay");
            assert!(
                replay.mismatches.is_empty(),
                "{policy:?} seed {}: {:?}",
                trajectory.seed,
                replay.mismatches
            );
            assert_eq!(replay.steps, trajectory.steps.len());
        }
    }
}

#[test]
fn a_scripted_policy_replays_the_oracles_calls() {
    let (host, _cache) = host_with(|_| {});
    let env = load(&host, "envs", "binary-search");
    let job = codegym_host::Job::sampled(env.clone(), 11, 50);
    let (oracle, _) =
        codegym_host::run_episode(&job, &mut codegym_host::OraclePolicy::default(), env.limits())
            .expect("oracle episode");
    let calls = oracle.steps.iter().map(|s| s.call.clone()).collect();
    let mut scripted = codegym_host::ScriptedPolicy::new(calls);
    let (replayed, _) =
        codegym_host::run_episode(&job, &mut scripted, env.limits()).expect("scripted episode");
    assert_eq!(replayed.outcome, Outcome::Solved);
    assert_eq!(replayed.policy, "scripted");
    assert_eq!(replayed.steps, oracle.steps);
    // A script that stops early leaves the episode abandoned, not solved.
    let mut short = codegym_host::ScriptedPolicy::new(vec![call("Observe", "{}")]);
    let (abandoned, _) = codegym_host::run_episode(&job, &mut short, env.limits()).expect("short episode");
    assert_eq!((abandoned.outcome, abandoned.steps.len()), (Outcome::Abandoned, 1));
}
