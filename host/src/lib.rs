//! The CodeGym-rs host: runs environment components in a sandboxed wasmtime.
//!
//! The vocabulary mirrors wasmtime's: a [`HostConfig`] builds a [`Host`] (one engine per
//! process), which loads components into [`Env`]s (compiled once, cached on disk), which
//! start [`Episode`]s (one store and instance each, with fuel, memory and wall-clock
//! limits). Policies drive episodes in batch [`rollout`]s; a language model behind a
//! [`ChatModel`] plays them in [`evaluate`].
//!
//! Environments import nothing, so an episode is a pure function of its [`ActionLog`]:
//! a step that traps is rolled back by replaying the log into a fresh instance
//! (trial-then-overwrite), and [`Episode::fork`] and trajectory replay work the same way.

mod agent;
mod bench;
mod budget;
mod cache;
mod card;
mod env;
mod episode;
mod error;
mod host;
mod limits;
mod parallel;
mod policy;
mod python;
mod registry;
mod replay;
mod rollout;
mod stats;
mod summary;
mod verify;

pub use agent::{
    AgentOptions, ChatModel, ChatRequest, Completion, ContextMeter, EvalReport, EvalSummary, ModelError,
    estimate_tokens, evaluate, run_agent,
};
pub use bench::{BenchOptions, BenchReport, CorpusStarts, bench, corpus_starts};
pub use budget::{Budget, SECTION as BUDGET_SECTION};
pub use cache::CacheOutcome;
pub use card::{DifficultyCard, EnvCard, PROBE_DIFFICULTIES};
pub use codegym_core::{ActionLog, EnvInfo, FaultKind, Outcome, ToolCall, Trajectory};
pub use env::{Env, OracleSession};
pub use episode::{Episode, StepResult};
pub use error::{Error, LoadError};
pub use host::{Host, HostConfig};
pub use limits::Limits;
pub use policy::{OraclePolicy, Policy, PolicyKind, RandomPolicy, ScriptedPolicy};
pub use python::{PACKAGE_EXTENSION, PACKAGE_FORMAT, Package, PythonRuntime, RUNTIMES_DIR, prune_runtimes};
pub use registry::Registry;
pub use replay::{Mismatch, ReplayReport, replay_trajectory};
pub use rollout::{
    EnvSummary, EpisodeCost, GivenTask, Job, RolloutOptions, RolloutReport, rollout, run_episode,
};
pub use stats::{CorpusStats, PAPER, PaperFigures, StepsAt, corpus_stats};
pub use summary::{Summary, percentile};
pub use verify::{Failure, ORACLE_CALLS, Stage, StageCount, VerifyOptions, VerifyReport, verify, verify_env};

/// Host-side bindings of `wit/codegym.wit`: the world `python-runtime` exports the
/// `environment` interface of every world `env` component, and the shared runtime's
/// `runtime`; each is looked up on its own, so one binding serves both kinds.
mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "python-runtime",
    });
}
