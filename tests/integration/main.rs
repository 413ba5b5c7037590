//! Cross-crate tests: every shipped environment component in the real host, and the native
//! SDK harness against the wasm component of the same environment.
//!
//! Needs `cargo xtask build-envs` (done by `cargo xtask test`).

mod corpus;
mod native_vs_wasm;
mod tidy;

use std::path::{Path, PathBuf};

use codegym_host::{Host, HostConfig, Registry};

fn envs_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/envs");
    assert!(dir.is_dir(), "{} is missing: run `cargo xtask build-envs` first", dir.display());
    dir
}

/// A registry over the shipped components, with a private compile cache.
fn registry() -> (Registry, tempfile::TempDir) {
    let cache = tempfile::tempdir().expect("temp dir");
    let config = HostConfig { cache_dir: Some(cache.path().to_owned()), ..HostConfig::default() };
    let host = Host::new(config).expect("host");
    (Registry::open(host, &envs_dir()).expect("registry"), cache)
}
