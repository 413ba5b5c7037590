//! `codegym verify` on deliberately flawed components: each is rejected at the right stage
//! with the right reason.

use codegym_host::{Stage, verify_env};

use crate::{host_with, load};

#[test]
fn flawed_environments_are_rejected_with_the_right_reason() {
    let (host, _cache) = host_with(|_| {});
    let cases = [
        ("wrong-oracle", Stage::Oracle, "oracle ended with wrong_answer"),
        ("unstable-config", Stage::Configs, "is not deterministic"),
        ("answer-tool", Stage::NoAnswerTool, "tool Sum reveals the reference answer"),
    ];
    for (name, stage, reason) in cases {
        let env = load(&host, "test-envs", name);
        let rejection = verify_env(&env, 9).expect_err(name);
        assert_eq!(rejection.0, stage, "{name}: {}", rejection.1);
        assert!(rejection.1.contains(reason), "{name}: {}", rejection.1);
    }
}

#[test]
fn a_shipped_environment_passes() {
    let (host, _cache) = host_with(|_| {});
    let env = load(&host, "envs", "binary-search");
    verify_env(&env, 9).expect("binary-search passes verification");
}
