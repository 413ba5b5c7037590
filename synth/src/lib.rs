//! Environment synthesis, after the CodeGym paper: a language model rewrites each coding
//! problem and its solution as an environment (Rust against `codegym-env-sdk`, or a
//! CodeGym-style Python class), and only environments that survive every stage are kept:
//!
//! 1. **generation** — the prompt templates in `synth/prompts/` ask for `src/lib.rs` (or
//!    the Python file) only; source that would read host files at compile time is refused;
//! 2. **compile** — offline, `--locked` against the workspace's lock file, in the shared
//!    target directory, under a time and a memory limit, with a bounded number of
//!    repairs that feed the compiler's errors back to the model;
//! 3. **checks** — zero imports, loads in the host, ≥ 4 tools with `Observe` and `Done`;
//! 4. **configs** — deterministic, distinct configs over three difficulties; reference
//!    answers within the fuel limit;
//! 5. **oracle** — the oracle reaches reward 1 on every config (pass@K: up to K
//!    attempts, each told why the previous one failed);
//! 6. **filter** — 10–256 oracle calls at medium difficulty, a wrong answer scores 0, no tool
//!    reveals the answer, and optionally a base model solves at most 25% of sampled tasks.
//!
//! Stages 3–6 are [`codegym_host::verify_env`], the check every shipped environment passes.
//! The model is a [`codegym_host::ChatModel`], so this crate knows no HTTP.

mod compile;
mod pipeline;
mod policy;
mod problem;
mod prompt;

use std::path::PathBuf;

pub use compile::{BuildFailure, BuildLimits, Toolchain};
pub use pipeline::{
    AttemptRecord, DifficultyFilter, Funnel, FunnelRow, Lang, Models, ProblemRecord, Stage, StageRecord,
    Synth, SynthOptions,
};
pub use policy::check_rust;
pub use problem::{Problem, read_problems};
pub use prompt::extract_code;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{}, line {line}: {reason}", path.display())]
    Problems { path: PathBuf, line: usize, reason: String },
    #[error(transparent)]
    Host(#[from] codegym_host::Error),
}
