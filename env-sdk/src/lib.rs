//! Write CodeGym-rs environments in plain Rust.
//!
//! An environment hides a task state behind typed tools; the agent calls one tool at a time
//! and sees only text observations. Implement [`Environment`] for the state and [`Oracle`]
//! for a policy that solves the task through observations only, then call [`export_env!`]:
//! built for `wasm32-unknown-unknown` and wrapped by `cargo xtask build-envs`, the crate
//! becomes a sandboxed component with zero imports. [`testing`] runs the same code natively.
//!
//! See `env-sdk/README.md` for a tutorial.

#[cfg(target_arch = "wasm32")]
mod allocator;
mod config;
mod environment;
#[doc(hidden)]
pub mod export;
mod oracle;
mod session;
pub mod testing;
mod text;
mod tools;

pub use codegym_core::{EnvInfo, Step, ToolCall, ToolSpec};
pub use config::{ConfigRng, config_rng, scale};
pub use environment::{CATEGORIES, Environment, Meta};
pub use oracle::{Agent, Oracle, OracleDriver};
pub use session::Session;
pub use text::{first_int, ints};
pub use tools::{IndexArgs, NoArgs, ToolOutput, Tools};

pub use rand;
pub use schemars;
pub use serde;
pub use serde_json;

/// Everything an environment crate usually needs.
pub mod prelude {
    pub use crate::rand::seq::SliceRandom as _;
    pub use crate::rand::{Rng as _, RngExt as _};
    pub use crate::{
        Agent, ConfigRng, Environment, IndexArgs, Meta, NoArgs, Oracle, Tools, config_rng, export_env,
        first_int, ints, scale,
    };
    pub use schemars::JsonSchema;
    pub use serde::{Deserialize, Serialize};
}
