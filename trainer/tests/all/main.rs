//! codegym-trainer integration tests: one binary, a module per area.

mod grpo;
mod optim;
