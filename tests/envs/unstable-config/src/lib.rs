//! See `tests/envs/flawed.rs`: the flaw here is `UNSTABLE_CONFIG`.

#[path = "../../flawed.rs"]
pub mod flawed;

pub type Env = flawed::Flawed<{ flawed::UNSTABLE_CONFIG }>;
pub type EnvOracle = flawed::FlawedOracle<{ flawed::UNSTABLE_CONFIG }>;

codegym_env_sdk::export_env!(Env, EnvOracle);
