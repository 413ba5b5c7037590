//! See `tests/envs/flawed.rs`: the flaw here is `ANSWER_TOOL`.

#[path = "../../flawed.rs"]
pub mod flawed;

pub type Env = flawed::Flawed<{ flawed::ANSWER_TOOL }>;
pub type EnvOracle = flawed::FlawedOracle<{ flawed::ANSWER_TOOL }>;

codegym_env_sdk::export_env!(Env, EnvOracle);
