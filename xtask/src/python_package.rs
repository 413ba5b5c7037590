//! The `codegym` Python package (`bindings/python`) in the test venv, built as the rest of the
//! workspace is built.
//!
//! `pip install ./bindings/python` (maturin) builds the crate on its own, which resolves the
//! host's dependencies with other features than the workspace does and so compiles wasmtime
//! a second time (~8 min on 2 cores). The tests instead take the cdylib `cargo build
//! --workspace` has just made and install the package as an editable install would: the
//! library beside the package's Python files, and a `.pth` naming their directory.

use std::path::Path;

use anyhow::{Context, Result};

use crate::setup::PinnedVenv;

/// The package's project directory (`pyproject.toml`, the crate, `python/`, `tests/`).
pub const DIR: &str = "bindings/python";

/// The cdylib the workspace build makes (crate codegym-python, lib `_codegym`).
const BUILT: &str = "target/debug/lib_codegym.so";

/// Where Python finds the extension module `codegym._codegym` (a stable-ABI name: any
/// CPython >= 3.10 loads it).
const MODULE: &str = "python/codegym/_codegym.abi3.so";

/// Put the freshly built extension into the package and the package on `venv`'s path.
pub fn develop(root: &Path, venv: &PinnedVenv) -> Result<()> {
    let built = root.join(BUILT);
    let module = root.join(DIR).join(MODULE);
    // Copied whole and renamed into place: a Python that has the old one loaded keeps its
    // mapping, and nothing ever sees half a library.
    let partial = module.with_extension("so.partial");
    std::fs::copy(&built, &partial)
        .with_context(|| format!("copying {} (built by `cargo build --workspace`)", built.display()))?;
    std::fs::rename(&partial, &module)?;
    let site = venv.site_packages(root)?;
    let source = root.join(DIR).join("python");
    std::fs::write(site.join("codegym.pth"), format!("{}\n", source.display()))
        .with_context(|| format!("writing codegym.pth into {}", site.display()))?;
    Ok(())
}
