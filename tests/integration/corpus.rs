//! Every shipped environment, as a wasm component in the host.

use codegym_host::{Job, Outcome, PolicyKind, RolloutOptions, VerifyOptions, rollout, verify};

use crate::registry;

#[test]
fn there_are_fifty_environments_with_observe_done_and_object_schemas() {
    let registry = registry();
    assert!(registry.len() >= 50, "only {} environments", registry.len());
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

/// The paper's verification (`codegym verify`) on every shipped environment: distinct
/// deterministic configs, reference answers within limits, the oracle solving 30 configs
/// over three difficulties in 10–256 calls at medium, wrong answers scoring 0, no tool that
/// returns the answer.
#[test]
fn every_environment_passes_verification() {
    let registry = registry();
    let names: Vec<String> = registry.names().map(str::to_owned).collect();
    let report = verify(registry, &names, &VerifyOptions { configs: 30, threads: 2 }, || {});
    assert!(report.ok(), "{:#?}", report.failed);
    assert_eq!(report.passed, names.len());
}

#[test]
fn random_policy_never_breaks_an_environment() {
    let registry = registry();
    let envs = registry.select("all").expect("envs");
    let jobs: Vec<Job> =
        envs.iter().flat_map(|env| (0..20).map(move |seed| Job::sampled(env.clone(), seed, 50))).collect();
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
