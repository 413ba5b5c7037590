//! Run an environment and its oracle natively, without wasm: the same [`Session`] and
//! [`OracleDriver`] the component uses, for fast unit tests in environment crates.

use codegym_core::{Step, ToolCall};

use crate::{Environment, Oracle, OracleDriver, Session};

/// CodeGym's bound on episode length (T_max).
pub const MAX_STEPS: usize = 256;

/// One oracle episode.
#[derive(Debug)]
pub struct OracleRun {
    pub task: String,
    pub config: String,
    pub transcript: Vec<(ToolCall, Step)>,
    pub reward: f32,
    pub done: bool,
}

impl OracleRun {
    pub fn calls(&self) -> usize {
        self.transcript.len()
    }
}

/// A session already reset to `config` (JSON), for unit tests that drive tools directly.
pub fn session<E: Environment>(config: &str) -> Session<E> {
    let mut session = Session::new();
    if let Err(error) = session.reset(config) {
        panic!("{}: reset failed on {config}: {error}", E::META.name);
    }
    session
}

/// Run the oracle on the config for `(seed, difficulty)` for at most [`MAX_STEPS`] calls.
pub fn run_oracle<E: Environment, O: Oracle>(seed: u64, difficulty: u32) -> OracleRun {
    let config = Session::<E>::sample_config(seed, difficulty);
    run_oracle_on::<E, O>(&config)
}

/// Run the oracle on an explicit JSON config.
pub fn run_oracle_on<E: Environment, O: Oracle>(config: &str) -> OracleRun {
    let mut session = Session::<E>::new();
    let task = match session.reset(config) {
        Ok(task) => task,
        Err(error) => panic!("{}: reset failed on {config}: {error}", E::META.name),
    };
    let mut oracle = OracleDriver::start::<O>(&task);
    let mut transcript = Vec::new();
    let mut observation = String::new();
    while transcript.len() < MAX_STEPS {
        let Some(call) = oracle.next(&observation) else { break };
        let step = session.step(&call);
        observation = step.observation.clone();
        let done = step.done;
        transcript.push((call, step));
        if done {
            break;
        }
    }
    let (reward, done) = transcript.last().map_or((0.0, false), |(_, s)| (s.reward, s.done));
    OracleRun { task, config: config.to_owned(), transcript, reward, done }
}

/// The checks every environment crate should run in its unit tests, as `verify` does:
/// deterministic and distinct configs, the oracle solves `seeds` configs at difficulties
/// 0, 50 and 100 within [`MAX_STEPS`] (10 or more calls at medium difficulty), and a
/// wrong answer gets reward 0. Panics with a transcript excerpt on failure.
pub fn check_environment<E: Environment, O: Oracle>(seeds: u64) {
    let name = E::META.name;
    let info = Session::<E>::info();
    assert!(info.tools.len() >= 4, "{name}: needs at least 4 tools, has {}", info.tools.len());
    assert!(
        crate::CATEGORIES.contains(&E::META.category),
        "{name}: category {:?} is not one of {:?}",
        E::META.category,
        crate::CATEGORIES
    );
    for difficulty in [0, 50, 100] {
        let mut configs = std::collections::HashSet::new();
        for seed in 0..seeds {
            let config = Session::<E>::sample_config(seed, difficulty);
            assert_eq!(
                config,
                Session::<E>::sample_config(seed, difficulty),
                "{name}: sample_config is not deterministic"
            );
            configs.insert(config);
            let run = run_oracle::<E, O>(seed, difficulty);
            let tail: Vec<_> = run.transcript.iter().rev().take(3).collect();
            assert!(
                run.done && run.reward == 1.0,
                "{name}: oracle failed seed {seed} difficulty {difficulty} after {} calls; last: {tail:?}",
                run.calls()
            );
            if difficulty == 50 {
                assert!(
                    (10..=MAX_STEPS).contains(&run.calls()),
                    "{name}: oracle used {} calls at medium difficulty (want 10..=256)",
                    run.calls()
                );
            }
            check_wrong_answer::<E>(&run.config);
        }
        assert!(
            configs.len() as u64 > seeds / 2,
            "{name}: configs at difficulty {difficulty} are mostly identical"
        );
    }
}

/// `Done` with a perturbed reference answer must end the episode with reward 0.
fn check_wrong_answer<E: Environment>(config: &str) {
    let mut session = Session::<E>::new();
    session.reset(config).expect("reset worked a moment ago");
    let reference: serde_json::Value =
        serde_json::from_str(&session.reference_answer()).expect("reference answer is JSON");
    let Some(wrong) = codegym_core::perturb_answer(&reference) else { return };
    let arguments = serde_json::json!({ "answer": wrong }).to_string();
    let step = session.step(&ToolCall::new("Done", arguments));
    if step.observation.starts_with("Error:") {
        return; // the perturbed value is not a valid answer of this type
    }
    assert!(step.done && step.reward == 0.0, "{}: wrong answer {wrong} got {step:?}", E::META.name);
}
