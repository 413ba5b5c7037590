use serde::{Deserialize, Serialize};

/// Why a call into an environment component was stopped by the sandbox.
///
/// A fault during a step is rolled back (the agent sees an `Error: ...` observation and the
/// episode goes on); a fault during `reset` or one that exhausts the episode budget ends it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// The per-step or per-episode fuel budget ran out.
    OutOfFuel,
    /// The wall-clock deadline passed.
    Timeout,
    /// The component tried to grow its memory beyond the limit.
    Memory,
    /// Wasm stack exhausted (unbounded recursion).
    StackOverflow,
    /// The component panicked or hit `unreachable`.
    Panic,
    /// The observation was larger than the output limit.
    OutputTooLarge,
    /// Any other trap.
    Trap,
}

impl FaultKind {
    pub const ALL: [FaultKind; 7] = [
        FaultKind::OutOfFuel,
        FaultKind::Timeout,
        FaultKind::Memory,
        FaultKind::StackOverflow,
        FaultKind::Panic,
        FaultKind::OutputTooLarge,
        FaultKind::Trap,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FaultKind::OutOfFuel => "out_of_fuel",
            FaultKind::Timeout => "timeout",
            FaultKind::Memory => "memory",
            FaultKind::StackOverflow => "stack_overflow",
            FaultKind::Panic => "panic",
            FaultKind::OutputTooLarge => "output_too_large",
            FaultKind::Trap => "trap",
        }
    }

    /// A sentence for the agent's `Error: ...` observation.
    pub fn describe(self) -> &'static str {
        match self {
            FaultKind::OutOfFuel => "the tool call ran out of fuel",
            FaultKind::Timeout => "the tool call exceeded its time limit",
            FaultKind::Memory => "the tool call exceeded the memory limit",
            FaultKind::StackOverflow => "the tool call overflowed the stack",
            FaultKind::Panic => "the environment crashed while running the tool call",
            FaultKind::OutputTooLarge => "the tool call produced too much output",
            FaultKind::Trap => "the environment trapped while running the tool call",
        }
    }
}

impl core::fmt::Display for FaultKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How an episode ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "fault")]
pub enum Outcome {
    /// `Done` with the right answer (reward 1).
    Solved,
    /// `Done` with a wrong answer (reward 0).
    WrongAnswer,
    /// The step limit was reached before `Done`.
    StepLimit,
    /// The policy stopped without calling `Done`.
    Abandoned,
    /// The episode could not go on: `reset` faulted or the episode budget ran out.
    Fault(FaultKind),
}

impl Outcome {
    pub fn is_solved(self) -> bool {
        self == Outcome::Solved
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Solved => "solved",
            Outcome::WrongAnswer => "wrong_answer",
            Outcome::StepLimit => "step_limit",
            Outcome::Abandoned => "abandoned",
            Outcome::Fault(kind) => kind.as_str(),
        }
    }
}

impl core::fmt::Display for Outcome {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Outcome::Fault(kind) => write!(f, "fault: {kind}"),
            other => f.write_str(other.as_str()),
        }
    }
}
