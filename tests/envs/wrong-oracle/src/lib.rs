//! See `tests/envs/flawed.rs`: the flaw here is `WRONG_ORACLE`.

#[path = "../../flawed.rs"]
pub mod flawed;

pub type Env = flawed::Flawed<{ flawed::WRONG_ORACLE }>;
pub type EnvOracle = flawed::FlawedOracle<{ flawed::WRONG_ORACLE }>;

codegym_env_sdk::export_env!(Env, EnvOracle);
