//! Environment crates → zero-import WebAssembly components.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// An environment crate: `<dir>/<name>/Cargo.toml` with package `codegym-env-<name>`.
pub struct EnvCrate {
    pub name: String,
    pub package: String,
}

impl EnvCrate {
    /// The core module cargo writes for this crate.
    fn module_path(&self, target: &Path) -> PathBuf {
        target.join("wasm32-unknown-unknown/wasm").join(format!("{}.wasm", self.package.replace('-', "_")))
    }
}

/// Environment crates under `dir`, sorted by name.
pub fn discover(dir: &Path) -> Result<Vec<EnvCrate>> {
    let mut crates = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if !path.join("Cargo.toml").exists() {
            continue;
        }
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else { continue };
        crates.push(EnvCrate { name: name.to_owned(), package: format!("codegym-env-{name}") });
    }
    crates.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(crates)
}

/// Build `crates` for wasm32-unknown-unknown in one cargo invocation, then wrap `wrapped`
/// (a subset) as components in `out`.
pub fn build(root: &Path, crates: &[EnvCrate], out: &Path, wrapped: &[EnvCrate]) -> Result<()> {
    if crates.is_empty() {
        return Ok(());
    }
    let mut cargo = std::process::Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cargo.current_dir(root).args(["build", "--profile", "wasm", "--target", "wasm32-unknown-unknown"]);
    for krate in crates {
        cargo.args(["-p", &krate.package]);
    }
    crate::tasks::run_command(&mut cargo)?;
    wrap(root, wrapped, out)
}

/// Wrap each crate's core module as a component in `out`, unless it is up to date. Fails on
/// any import or validation error.
pub fn wrap(root: &Path, crates: &[EnvCrate], out: &Path) -> Result<()> {
    let target = root.join("target");
    std::fs::create_dir_all(out)?;
    for krate in crates {
        let module = krate.module_path(&target);
        let component = out.join(format!("{}.wasm", krate.name));
        if is_fresh(&component, &module) {
            continue;
        }
        let bytes = std::fs::read(&module).with_context(|| format!("reading {}", module.display()))?;
        let wrapped = componentize(&bytes).with_context(|| format!("componentizing {}", krate.name))?;
        std::fs::write(&component, wrapped)?;
    }
    Ok(())
}

/// Whether `output` is at least as new as `input`.
pub fn is_fresh(output: &Path, input: &Path) -> bool {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    matches!((modified(output), modified(input)), (Some(out), Some(inp)) if out >= inp)
}

/// Wrap a core module as a component without `step`'s post-return (see
/// `codegym-componentize`), validate it, and refuse any import.
pub fn componentize(module: &[u8]) -> Result<Vec<u8>> {
    Ok(codegym_componentize::componentize(module)?)
}

/// `krate`'s component as plain `wit-component` makes it, keeping `step`'s post-return: a
/// test fixture showing that the SDK is sound that way too.
pub fn wrap_keeping_post_return(root: &Path, krate: &EnvCrate, out: &Path) -> Result<()> {
    let module = krate.module_path(&root.join("target"));
    let bytes = std::fs::read(&module).with_context(|| format!("reading {}", module.display()))?;
    std::fs::create_dir_all(out)?;
    std::fs::write(out.join(format!("{}.wasm", krate.name)), encode(&bytes)?)?;
    Ok(())
}

/// Wrap a core module as a component as plain `wit-component` makes it, validate it, and
/// refuse any import.
pub fn encode(module: &[u8]) -> Result<Vec<u8>> {
    Ok(codegym_componentize::encode(module)?)
}
