//! Every shipped environment, as a wasm component in the host.

use codegym_core::{ToolCall, perturb_answer};
use codegym_host::{Job, Outcome, PolicyKind, RolloutOptions, rollout};

use crate::registry;

const DIFFICULTIES: [u32; 3] = [0, 50, 100];
const SEEDS_PER_DIFFICULTY: u64 = 10;

#[test]
fn there_are_at_least_five_environments_with_observe_and_done() {
    let (registry, _cache) = registry();
    assert!(registry.len() >= 5, "only {} environments", registry.len());
    for name in registry.names() {
        let env = registry.get(name).expect("load");
        let info = env.info();
        assert_eq!(info.name, name, "component file name matches its info");
        assert!(info.tools.len() >= 4, "{name}: {} tools", info.tools.len());
        for required in ["Observe", "Done"] {
            assert!(info.tool(required).is_some(), "{name} lacks {required}");
        }
        for tool in &info.tools {
            let schema: serde_json::Value = serde_json::from_str(&tool.parameters).expect("schema is JSON");
            assert_eq!(schema["type"], "object", "{name}.{}: {schema}", tool.name);
        }
        assert!(!info.category.is_empty() && !info.description.is_empty(), "{name}: metadata");
    }
}

#[test]
fn oracle_solves_thirty_configs_of_every_environment() {
    let (registry, _cache) = registry();
    let envs = registry.select("all").expect("envs");
    let jobs: Vec<Job> = envs
        .iter()
        .flat_map(|env| {
            DIFFICULTIES.into_iter().flat_map(move |difficulty| {
                (0..SEEDS_PER_DIFFICULTY).map(move |seed| Job { env: env.clone(), seed, difficulty })
            })
        })
        .collect();
    let options = RolloutOptions { threads: 2, limits: envs[0].limits() };
    let report = rollout(&jobs, &|_| PolicyKind::Oracle.build(0), &options, &|| {});
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    for trajectory in &report.trajectories {
        assert_eq!(
            (trajectory.outcome, trajectory.reward, trajectory.faults),
            (Outcome::Solved, 1.0, 0),
            "{} seed {} difficulty {}: last steps {:?}",
            trajectory.env,
            trajectory.seed,
            trajectory.difficulty,
            trajectory.steps.iter().rev().take(3).collect::<Vec<_>>()
        );
        if trajectory.difficulty == 50 {
            let calls = trajectory.steps.len();
            assert!(
                (10..=256).contains(&calls),
                "{} seed {}: {calls} calls at medium",
                trajectory.env,
                trajectory.seed
            );
        }
    }
    assert_eq!(report.solved, jobs.len());
}

#[test]
fn a_wrong_answer_gets_reward_zero_everywhere() {
    let (registry, _cache) = registry();
    for env in registry.select("all").expect("envs") {
        for seed in 0..5 {
            let config = env.sample_config(seed, 50).expect("config");
            let mut episode = env.start(&config).expect("start");
            let reference: serde_json::Value =
                serde_json::from_str(&episode.reference_answer().expect("reference")).expect("JSON");
            let wrong = perturb_answer(&reference).expect("perturbable answer");
            let step =
                episode.step(&ToolCall::new("Done", serde_json::json!({ "answer": wrong }).to_string()));
            assert!(step.done, "{}: {step:?}", env.name());
            assert_eq!((step.reward, episode.outcome()), (0.0, Some(Outcome::WrongAnswer)), "{}", env.name());
            assert!(step.observation.contains("Reference answer"), "{}: {}", env.name(), step.observation);
        }
    }
}

#[test]
fn configs_are_deterministic_and_distinct() {
    let (registry, _cache) = registry();
    for env in registry.select("all").expect("envs") {
        for difficulty in DIFFICULTIES {
            let configs: Vec<String> =
                (0..8).map(|seed| env.sample_config(seed, difficulty).expect("config")).collect();
            let again: Vec<String> =
                (0..8).map(|seed| env.sample_config(seed, difficulty).expect("config")).collect();
            assert_eq!(configs, again, "{} is not deterministic", env.name());
            let distinct: std::collections::HashSet<_> = configs.iter().collect();
            assert!(
                distinct.len() >= 6,
                "{} difficulty {difficulty}: {} distinct of 8",
                env.name(),
                distinct.len()
            );
        }
    }
}

#[test]
fn random_policy_never_breaks_an_environment() {
    let (registry, _cache) = registry();
    let envs = registry.select("all").expect("envs");
    let jobs: Vec<Job> = envs
        .iter()
        .flat_map(|env| (0..20).map(move |seed| Job { env: env.clone(), seed, difficulty: 50 }))
        .collect();
    let options = RolloutOptions { threads: 2, limits: envs[0].limits() };
    let report = rollout(&jobs, &|i| PolicyKind::Random.build(i as u64), &options, &|| {});
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.episodes, jobs.len());
    // Random calls are wrong often, but a well-behaved environment answers every one with an
    // observation: no faults, and every episode ends by Done or the step limit.
    assert_eq!(report.faults, 0, "{:?}", report.per_env);
    for trajectory in &report.trajectories {
        assert!(matches!(trajectory.outcome, Outcome::Solved | Outcome::WrongAnswer | Outcome::StepLimit));
        assert!(trajectory.steps.iter().all(|s| !s.observation.is_empty()));
    }
    let errors: usize = report
        .trajectories
        .iter()
        .flat_map(|t| &t.steps)
        .filter(|s| s.observation.starts_with("Error:"))
        .count();
    assert!(errors > 0, "random arguments should trigger some tool errors");
}
