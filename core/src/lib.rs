//! Shared vocabulary of CodeGym-rs: tool specs, tool calls, steps, outcomes, action logs and
//! trajectories, plus the agent-facing text formats (action parsing and prompt rendering).
//!
//! This crate is `no_std + alloc`, does no IO and knows nothing of wasmtime, so the same code
//! runs in the host, inside environment components and in the browser. Bad input never
//! panics: it becomes a typed error whose text can be shown to the agent as an observation.
#![no_std]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod answer;
mod chat;
mod format;
mod log;
mod outcome;
mod parse;
mod prompt;
mod task;
mod tool;

pub use answer::perturb_answer;
pub use chat::{ChatFunction, ChatMessage, ChatToolCall};
pub use format::{ActionFormat, UnknownFormat};
pub use log::{ActionLog, AgentRecord, RowOrigin, Sampling, StopReason, Trajectory, TrajectoryStep, Usage};
pub use outcome::{FaultKind, Outcome};
pub use parse::{ParseError, canonical_arguments, parse_action};
pub use prompt::{
    CODEGYM_SYSTEM_NAME, Message, Prompt, Role, render_call, render_observation, render_prompt, render_tools,
};
pub use task::{ABILITY_PREFIX, TaskError, TaskRow};
pub use tool::{EnvInfo, Step, ToolCall, ToolSpec};
