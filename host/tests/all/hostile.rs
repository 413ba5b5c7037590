//! Components that misbehave: every fault is contained, classified, rolled back, and
//! leaves other episodes alone.

use std::time::Duration;

use codegym_host::{Budget, Error, FaultKind, Limits, Outcome};

use crate::{call, host_with, load};

/// An episode of the hostile env that has counted once (so rollbacks have state to keep).
fn counted_once(env: &codegym_host::Env, limits: Limits) -> codegym_host::Episode {
    let mut episode = env.start_with(r#"{"reset":"ok"}"#, limits).expect("start");
    assert_eq!(episode.step(&call("Count", "{}")).observation, "count = 1");
    episode
}

#[test]
fn each_misbehaving_tool_is_a_distinct_fault_and_is_rolled_back() {
    let (host, _cache) = host_with(|_| {});
    let env = load(&host, "test-envs", "hostile");
    let limits = Limits { step_timeout: Duration::from_secs(10), ..env.limits() };
    let cases = [
        ("Spin", FaultKind::OutOfFuel),
        ("Grow", FaultKind::Memory),
        ("Recurse", FaultKind::StackOverflow),
        // Runs off the bottom of linear memory: an out-of-bounds access, so a plain trap.
        ("DeepStack", FaultKind::Trap),
        ("Panic", FaultKind::Panic),
        ("Big", FaultKind::OutputTooLarge),
    ];
    for (tool, expected) in cases {
        let mut episode = counted_once(&env, limits);
        let step = episode.step(&call(tool, "{}"));
        assert_eq!(step.fault, Some(expected), "{tool}: {step:?}");
        assert!(step.observation.starts_with("Error: "), "{tool}: {}", step.observation);
        assert!(step.observation.contains("rolled back"), "{tool}: {}", step.observation);
        assert!(!step.done, "{tool}: a rolled-back fault does not end the episode");
        // The tool mutated the counter before faulting; the rollback undid it.
        assert_eq!(episode.step(&call("Observe", "{}")).observation, "count = 1", "{tool}");
        assert_eq!(episode.step(&call("Count", "{}")).observation, "count = 2", "{tool}");
        assert_eq!(episode.faults(), 1);
        assert_eq!(episode.log().calls.len(), 3, "{tool}: the faulted call is not in the log");
        let done = episode.step(&call("Done", r#"{"answer":2}"#));
        assert_eq!((done.reward, done.done, episode.outcome()), (1.0, true, Some(Outcome::Solved)), "{tool}");
    }
}

#[test]
fn infinite_loop_with_unlimited_fuel_hits_the_wall_clock_deadline() {
    let (host, _cache) = host_with(|config| config.limits.step_timeout = Duration::from_millis(100));
    let env = load(&host, "test-envs", "hostile");
    let limits = Limits { fuel_per_step: u64::MAX / 4, fuel_per_episode: u64::MAX / 2, ..env.limits() };
    let mut episode = counted_once(&env, limits);
    let step = episode.step(&call("Spin", "{}"));
    assert_eq!(step.fault, Some(FaultKind::Timeout), "{step:?}");
    assert_eq!(episode.step(&call("Observe", "{}")).observation, "count = 1");
}

#[test]
fn misbehaving_reset_is_a_clear_error() {
    let (host, _cache) = host_with(|_| {});
    let env = load(&host, "test-envs", "hostile");
    let cases = [
        ("spin", Some(FaultKind::OutOfFuel)),
        ("panic", Some(FaultKind::Panic)),
        ("grow", Some(FaultKind::Memory)),
        ("big-task", None),
        ("nonsense", None),
    ];
    for (mode, expected) in cases {
        let result = env.start(&format!(r#"{{"reset":"{mode}"}}"#));
        match (result, expected) {
            (Err(Error::Fault { kind, during }), Some(expected)) => {
                assert_eq!((kind, during), (expected, "reset"), "{mode}");
            }
            (Err(Error::Reset(message)), None) => {
                assert!(
                    message.len() <= env.limits().max_output_bytes + 64,
                    "{mode}: error of {} bytes",
                    message.len()
                );
            }
            (other, _) => panic!("{mode}: unexpected {:?}", other.map(|e| e.task().to_owned())),
        }
    }
    let result = env.start("this is not json");
    assert!(matches!(&result, Err(Error::Reset(m)) if m.contains("invalid config")), "{:?}", result.err());
}

#[test]
fn spent_episode_fuel_ends_the_episode() {
    let (host, _cache) = host_with(|_| {});
    let env = load(&host, "test-envs", "hostile");
    let limits = Limits { fuel_per_step: 5_000_000, fuel_per_episode: 8_000_000, ..env.limits() };
    let mut episode = env.start_with(r#"{"reset":"ok"}"#, limits).expect("start");
    let first = episode.step(&call("Spin", "{}"));
    assert_eq!(first.fault, Some(FaultKind::OutOfFuel));
    assert!(!first.done);
    let second = episode.step(&call("Spin", "{}"));
    assert!(second.done, "{second:?}");
    assert_eq!(episode.outcome(), Some(Outcome::Fault(FaultKind::OutOfFuel)));
    let after = episode.step(&call("Count", "{}"));
    assert!(after.observation.contains("episode is over"), "{}", after.observation);
}

#[test]
fn faults_do_not_disturb_concurrent_episodes() {
    let (host, _cache) = host_with(|_| {});
    let hostile = load(&host, "test-envs", "hostile");
    let honest = load(&host, "envs", "binary-search");
    std::thread::scope(|scope| {
        let attacker = scope.spawn(|| {
            let mut episode = hostile.start(r#"{"reset":"ok"}"#).expect("start");
            let mut faults = Vec::new();
            for tool in ["Grow", "Spin", "Recurse", "Panic", "Big", "Grow"] {
                faults.push(episode.step(&call(tool, "{}")).fault);
            }
            faults
        });
        let jobs: Vec<_> = (0..40).map(|seed| codegym_host::Job::sampled(honest.clone(), seed, 50)).collect();
        let options = codegym_host::RolloutOptions { threads: 1, limits: honest.limits() };
        let report =
            codegym_host::rollout(&jobs, &|_| codegym_host::PolicyKind::Oracle.build(0), &options, &|| {});
        assert_eq!((report.episodes, report.solved, report.faults), (40, 40, 0), "{:?}", report.errors);
        let faults = attacker.join().expect("attacker thread");
        assert!(faults.iter().all(Option::is_some), "{faults:?}");
    });
}

#[test]
fn a_budget_in_the_component_tightens_its_episodes_limits() {
    let (host, _cache) = host_with(|_| {});
    let bytes = std::fs::read(crate::component("test-envs", "hostile")).expect("hostile.wasm");
    let budget =
        Budget { fuel_per_step: Some(2_000_000), fuel_per_episode: Some(3_000_000), ..Budget::default() };
    let mut budgeted = bytes.clone();
    budgeted.extend(budget.section());
    let plain = host.load_bytes(&bytes).expect("load");
    let env = host.load_bytes(&budgeted).expect("load with a budget");
    assert_eq!(plain.budget(), None);
    assert_eq!(env.budget(), Some(budget));
    let limits = env.limits();
    assert_eq!((limits.fuel_per_step, limits.fuel_per_episode), (2_000_000, 3_000_000));
    assert_eq!(limits.memory_bytes, plain.limits().memory_bytes, "what it does not declare stays the host's");

    // A budget cannot loosen what the caller asks for, only tighten it.
    let loose = Limits { fuel_per_step: u64::MAX / 4, fuel_per_episode: u64::MAX / 2, ..plain.limits() };
    let mut episode = counted_once(&env, loose);
    let spin = episode.step(&call("Spin", "{}"));
    assert_eq!(spin.fault, Some(FaultKind::OutOfFuel), "{spin:?}");
    assert!(!spin.done, "2M of fuel for the step, 3M for the episode: the step's ran out first");
    // The second runaway call spends the episode's budget: the episode ends.
    let again = episode.step(&call("Spin", "{}"));
    assert_eq!((again.fault, again.done), (Some(FaultKind::OutOfFuel), true), "{again:?}");
    assert!(again.observation.contains("fuel budget is spent"), "{}", again.observation);

    // The same calls under the plain component's limits only stop at the host's bounds.
    assert_eq!(plain.limits().fuel_per_step, Limits::default().fuel_per_step);
}

#[test]
fn a_malformed_budget_is_a_load_error() {
    let (host, _cache) = host_with(|_| {});
    let mut bytes = std::fs::read(crate::component("test-envs", "hostile")).expect("hostile.wasm");
    let json = br#"{"fuel_per_step": "lots"}"#;
    let name = codegym_host::BUDGET_SECTION.as_bytes();
    bytes.extend([0, (1 + name.len() + json.len()) as u8, name.len() as u8]);
    bytes.extend(name);
    bytes.extend(json);
    let error = host.load_bytes(&bytes).err().expect("refused").to_string();
    assert!(error.starts_with("invalid `codegym:budget` section: invalid type"), "{error}");
}
