//! codegym-synth as a library: reading problems (HumanEval's own file included) and the
//! stages that need no compiler. The compile, check, verify and filter stages run end to
//! end in `cli/tests/all/synth.rs`, against real builds.

mod pipeline;
mod problems;

use std::path::{Path, PathBuf};

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("synth/ is inside the workspace")
}

fn fixture(name: &str) -> PathBuf {
    workspace().join("synth/tests/fixtures").join(name)
}
