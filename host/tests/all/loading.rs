//! Loading components: validation, the no-imports rule (the disk cache: `cache.rs`).

use codegym_host::{Error, LoadError};

use crate::host_with;

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
