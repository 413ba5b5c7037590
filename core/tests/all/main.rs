//! Integration tests of codegym-core: one binary, one module per area.

mod chat;
mod format;
mod parse_errors;
mod parse_props;
mod prompt;
