//! The SDK's native harness and the wasm component must be the same environment: same
//! configs, same task statements, same observations for the same calls.

use codegym_env_sdk::testing::run_oracle;
use codegym_env_sdk::{Environment, Oracle, Session};

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
