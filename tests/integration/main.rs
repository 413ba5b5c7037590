//! Cross-crate tests: every shipped environment component in the real host, and the native
//! SDK harness against the wasm component of the same environment.
//!
//! Needs `cargo xtask build-envs` (done by `cargo xtask test`).

mod corpus;
mod native_vs_wasm;
mod python;
mod tidy;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use codegym_host::{Host, HostConfig, Registry};

fn envs_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/envs");
    assert!(dir.is_dir(), "{} is missing: run `cargo xtask build-envs` first", dir.display());
    dir
}

/// One registry over the shipped components for the whole test binary, with a compile
/// cache shared with the host's tests (`target/test-cache`; written by rename, so sharing
/// is safe): each component is compiled once per checkout, not once per test or binary —
/// a Python component takes ~15 s.
fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let cache = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-cache");
        let config = HostConfig { cache_dir: Some(cache), ..HostConfig::default() };
        let host = Host::new(config).expect("host");
        Registry::open(host, &envs_dir()).expect("registry")
    })
}
