//! Cross-crate tests: every shipped environment component in the real host, and the native
//! SDK harness against the wasm component of the same environment.
//!
//! Needs `cargo xtask build-envs` (done by `cargo xtask test`).

mod corpus;
mod native_vs_wasm;
mod tidy;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use codegym_host::{Host, HostConfig, Registry};

fn envs_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/envs");
    assert!(dir.is_dir(), "{} is missing: run `cargo xtask build-envs` first", dir.display());
    dir
}

/// One registry over the shipped components for the whole test binary, with a private
/// compile cache: each component is compiled once, not once per test.
fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<(Registry, tempfile::TempDir)> = OnceLock::new();
    let (registry, _cache) = REGISTRY.get_or_init(|| {
        let cache = tempfile::tempdir().expect("temp dir");
        let config = HostConfig { cache_dir: Some(cache.path().to_owned()), ..HostConfig::default() };
        let host = Host::new(config).expect("host");
        (Registry::open(host, &envs_dir()).expect("registry"), cache)
    });
    registry
}
