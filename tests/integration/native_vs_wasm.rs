//! The SDK's native harness and the wasm component must be the same environment: same
//! configs, same task statements, same observations for the same calls.

use codegym_env_sdk::testing::run_oracle;
use codegym_env_sdk::{Environment, Oracle, Session};
use codegym_host::{OraclePolicy, Policy};

use crate::registry;

fn same_behaviour<E: Environment, O: Oracle>() {
    let registry = registry();
    let env = registry.get(E::META.name).expect("component");
    assert_eq!(env.info(), &Session::<E>::info(), "info differs");
    for difficulty in [0, 50, 100] {
        for seed in 0..5 {
            let native = run_oracle::<E, O>(seed, difficulty);
            let config = env.sample_config(seed, difficulty).expect("config");
            assert_eq!(config, native.config, "seed {seed} difficulty {difficulty}: config differs");
            let mut episode = env.start(&config).expect("start");
            assert_eq!(episode.task(), native.task);
            for (index, (call, expected)) in native.transcript.iter().enumerate() {
                let step = episode.step(call);
                assert_eq!(
                    (&step.observation, step.reward, step.done),
                    (&expected.observation, expected.reward, expected.done),
                    "{} seed {seed} difficulty {difficulty} step {index}: {call}",
                    E::META.name
                );
            }
        }
    }
}

#[test]
fn binary_search() {
    same_behaviour::<codegym_env_binary_search::BinarySearch, codegym_env_binary_search::BinarySearchOracle>(
    );
}

#[test]
fn two_sum() {
    same_behaviour::<codegym_env_two_sum::TwoSum, codegym_env_two_sum::TwoSumOracle>();
}

/// `cargo xtask build-envs` drops the post-return of `step` (the SDK frees each observation
/// at the next step instead). A component built with it kept, as plain `wit-component`
/// would, must behave the same: the post-return's free of the retained observation is
/// ignored, never a double free.
#[test]
fn a_component_that_keeps_the_step_post_return_behaves_the_same() {
    let kept = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/test-envs/kept-post-return/binary-search.wasm");
    let kept = registry().host().load(&kept).expect("the fixture (run `cargo xtask build-envs`)");
    let shipped = registry().get("binary-search").expect("component");
    for seed in 0..5 {
        let config = shipped.sample_config(seed, 100).expect("config");
        let (mut a, mut b) = (shipped.start(&config).expect("start"), kept.start(&config).expect("start"));
        let mut oracle = OraclePolicy::default();
        oracle.start(&shipped, a.task()).expect("oracle");
        let mut observation = String::new();
        let mut steps = 0;
        while let Some(call) = oracle.next(&observation) {
            let (x, y) = (a.step(&call), b.step(&call));
            assert_eq!(
                (&x.observation, x.reward, x.done),
                (&y.observation, y.reward, y.done),
                "step {steps}"
            );
            observation = x.observation;
            steps += 1;
        }
        assert!(steps > 10 && a.is_done() && a.reward() == 1.0, "seed {seed}: {steps} steps");
    }
}
