//! Integration tests of the host: real components in a real wasmtime.
//!
//! Components come from `cargo xtask build-envs` (`target/envs`, `target/test-envs`);
//! `cargo xtask test` builds them before running this.

mod cache;
mod determinism;
mod episodes;
mod hostile;
mod loading;
mod python;
mod runtime;
mod verify;

use std::path::{Path, PathBuf};

use codegym_host::{Env, Host, HostConfig};

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("host/ is inside the workspace")
}

/// Path of a built environment, a component (`.wasm`) or a Python package (`.pyenv`);
/// fails with a hint when it has not been built.
fn component(dir: &str, name: &str) -> PathBuf {
    let dir = workspace().join("target").join(dir);
    let path =
        ["wasm", "pyenv"].map(|ext| dir.join(format!("{name}.{ext}"))).into_iter().find(|p| p.exists());
    path.unwrap_or_else(|| panic!("{}/{name} is missing: run `cargo xtask build-envs` first", dir.display()))
}

/// A host with a private compile cache (so tests never share or race on one).
fn host_with(configure: impl FnOnce(&mut HostConfig)) -> (Host, tempfile::TempDir) {
    let cache = tempfile::tempdir().expect("temp dir");
    let mut config =
        HostConfig { cache_dir: Some(cache.path().to_owned()), pool_size: 256, ..HostConfig::default() };
    configure(&mut config);
    (Host::new(config).expect("host"), cache)
}

fn load(host: &Host, dir: &str, name: &str) -> Env {
    host.load(&component(dir, name)).unwrap_or_else(|e| panic!("loading {name}: {e}"))
}

fn call(name: &str, arguments: &str) -> codegym_host::ToolCall {
    codegym_host::ToolCall::new(name, arguments)
}
