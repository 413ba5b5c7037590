//! Build and test orchestration: `cargo xtask <task>`. See `cargo xtask help`.

mod components;
mod openenv;
mod python;
mod python_package;
mod setup;
mod tasks;
mod web;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match tasks::run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask: {error:#}");
            ExitCode::FAILURE
        }
    }
}
