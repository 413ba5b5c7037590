//! Loading components: validation, the no-imports rule, the disk cache.

use codegym_host::{Error, LoadError};

use crate::{component, host_with};

#[test]
fn bytes_that_are_not_wasm_are_refused() {
    let (host, _cache) = host_with(|_| {});
    let error = host.load_bytes(b"definitely not wasm").err().expect("must fail");
    assert!(matches!(error, Error::Load(LoadError::Invalid(_))), "{error}");
    assert!(error.to_string().contains("not a valid WebAssembly component"), "{error}");
}

#[test]
fn a_component_importing_wasi_is_refused() {
    let (host, _cache) = host_with(|_| {});
    let wat = r#"(component
        (import "wasi:cli/environment@0.2.0" (instance
            (export "get-arguments" (func (result (list string))))
        ))
    )"#;
    let error = host.load_bytes(wat.as_bytes()).err().expect("must fail");
    assert!(matches!(error, Error::Load(LoadError::HasImports(_))), "{error}");
    assert!(error.to_string().contains("wasi:cli/environment@0.2.0"), "{error}");
}

#[test]
fn a_component_of_another_world_is_refused() {
    let (host, _cache) = host_with(|_| {});
    let error = host.load_bytes(b"(component)").err().expect("must fail");
    assert!(matches!(error, Error::Load(LoadError::WrongWorld(_))), "{error}");
}

#[test]
fn compiled_components_are_cached_on_disk_and_reused() {
    let (host, cache) = host_with(|_| {});
    let path = component("envs", "binary-search");
    let first = host.load(&path).expect("compile");
    let cached: Vec<_> = std::fs::read_dir(cache.path()).expect("cache dir").collect();
    assert_eq!(cached.len(), 1, "one compiled artifact");
    let second = host.load(&path).expect("load from cache");
    assert_eq!(first.info(), second.info());
    assert_eq!(first.hash(), second.hash());
    // A corrupt artifact is recompiled, not trusted. (Replace the file rather than write
    // into it: the loaded components map it into memory.)
    let artifact = cached[0].as_ref().expect("entry").path();
    let garbage = artifact.with_extension("garbage");
    std::fs::write(&garbage, b"garbage").expect("write");
    std::fs::rename(&garbage, &artifact).expect("corrupt");
    let third = host.load(&path).expect("recompiled");
    assert_eq!(first.info(), third.info());
}
