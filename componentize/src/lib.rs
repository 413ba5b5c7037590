//! Turning built environments into zero-import components, shared by `cargo xtask` and the
//! synthesis pipeline (`codegym-synth`), so that both check a component the same way.
//!
//! - [`componentize`]: a core module from `cargo build --target wasm32-unknown-unknown`
//!   (with wit-bindgen's component-type section) → a component without `step`'s
//!   post-return, validated, importing nothing.
//! - [`canonicalize_nans`], [`uses_relaxed_simd`]: determinism where the engine cannot be
//!   configured (the browser): NaN canonicalisation written into the code, relaxed SIMD
//!   found so that the web build can refuse it.
//! - [`python`]: the componentize-py invocation for a CodeGym-style Python file and the
//!   check of its output.

mod determinism;
pub mod python;

pub use determinism::{CANONICAL_F32_NAN, CANONICAL_F64_NAN, canonicalize_nans, uses_relaxed_simd};

use wasmparser::{Parser, Payload, Validator, WasmFeatures};

/// Why a module could not be made into an acceptable component.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid wasm: {0}")]
    Parse(#[from] wasmparser::BinaryReaderError),
    #[error("wit-component: {0:#}")]
    Encode(String),
    #[error("component does not validate: {0}")]
    Invalid(wasmparser::BinaryReaderError),
    /// The component (or core module) imports something; environments must import nothing.
    #[error("{what} imports {}; environments must import nothing", names.join(", "))]
    Imports { what: &'static str, names: Vec<String> },
    #[error("unexpected export kind {0:?}")]
    ExportKind(wasmparser::ExternalKind),
    #[error("component has no core module")]
    NoModule,
    /// Parsed, but not something a NaN rewrite can make sense of.
    #[error("malformed wasm: {0}")]
    Malformed(&'static str),
}

/// Wrap a core module (with its embedded component-type section from wit-bindgen) as a
/// component without `step`'s post-return, validate it, and refuse any import.
pub fn componentize(module: &[u8]) -> Result<Vec<u8>, Error> {
    encode(&without_export(module, STEP_POST_RETURN)?)
}

/// Wrap a core module as a component as plain `wit-component` makes it, validate it, and
/// refuse any import.
pub fn encode(module: &[u8]) -> Result<Vec<u8>, Error> {
    let component = wit_component::ComponentEncoder::default()
        .module(module)
        .and_then(|encoder| encoder.validate(true).encode())
        .map_err(|error| Error::Encode(format!("{error:#}")))?;
    Validator::new_with_features(WasmFeatures::all()).validate_all(&component).map_err(Error::Invalid)?;
    let names = imports(&component)?;
    if !names.is_empty() {
        return Err(Error::Imports { what: "component", names });
    }
    Ok(component)
}

/// The post-return of `step`, which frees the observation after the host copied it. The
/// SDK frees it at the next step instead (see env-sdk's allocator), so without this export
/// the host makes one call into the instance fewer per step.
pub const STEP_POST_RETURN: &str = "cabi_post_codegym:env/environment@0.1.0#step";

/// `module` without the export `name` (if it has it); every other section byte for byte.
pub fn without_export(module: &[u8], name: &str) -> Result<Vec<u8>, Error> {
    let mut out = wasm_encoder::Module::new();
    for payload in Parser::new(0).parse_all(module) {
        let payload = payload?;
        if let Payload::ExportSection(reader) = &payload {
            let mut exports = wasm_encoder::ExportSection::new();
            for export in reader.clone() {
                let export = export?;
                if export.name != name {
                    exports.export(export.name, export_kind(export.kind)?, export.index);
                }
            }
            out.section(&exports);
        } else if let Some((id, range)) = payload.as_section() {
            // Offsets came from parsing `module`, so they fit in memory.
            let offset = |at: u64| usize::try_from(at).unwrap_or(usize::MAX);
            let data = module.get(offset(range.start)..offset(range.end)).unwrap_or_default();
            out.section(&wasm_encoder::RawSection { id, data });
        }
    }
    Ok(out.finish())
}

fn export_kind(kind: wasmparser::ExternalKind) -> Result<wasm_encoder::ExportKind, Error> {
    use wasm_encoder::ExportKind;
    use wasmparser::ExternalKind;
    Ok(match kind {
        ExternalKind::Func => ExportKind::Func,
        ExternalKind::Table => ExportKind::Table,
        ExternalKind::Memory => ExportKind::Memory,
        ExternalKind::Global => ExportKind::Global,
        ExternalKind::Tag => ExportKind::Tag,
        other => return Err(Error::ExportKind(other)),
    })
}

/// Names the component imports at its top level.
pub fn imports(component: &[u8]) -> Result<Vec<String>, Error> {
    let mut names = Vec::new();
    let mut depth = 0usize;
    for payload in Parser::new(0).parse_all(component) {
        match payload? {
            Payload::ModuleSection { .. } | Payload::ComponentSection { .. } => depth += 1,
            Payload::End(_) => depth = depth.saturating_sub(1),
            Payload::ComponentImportSection(section) if depth == 0 => {
                for import in section {
                    names.push(import?.name.name.to_owned());
                }
            }
            _ => {}
        }
    }
    Ok(names)
}

/// `module::name` of every import of a core module (wit-bindgen's glue imports nothing, so
/// anything here is the environment's own `extern` block).
pub fn module_imports(module: &[u8]) -> Result<Vec<String>, Error> {
    let mut names = Vec::new();
    for payload in Parser::new(0).parse_all(module) {
        if let Payload::ImportSection(section) = payload? {
            for import in section.into_imports() {
                let import = import?;
                names.push(format!("{}::{}", import.module, import.name));
            }
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn export_names(module: &[u8]) -> Vec<String> {
        let mut names = Vec::new();
        for payload in Parser::new(0).parse_all(module) {
            if let Payload::ExportSection(reader) = payload.expect("valid module") {
                names.extend(reader.into_iter().map(|e| e.expect("export").name.to_owned()));
            }
        }
        names
    }

    #[test]
    fn without_export_drops_only_that_export() {
        use wasm_encoder::{
            CodeSection, EntityType, ExportKind, ExportSection, Function, FunctionSection, ImportSection,
            Module, TypeSection,
        };
        let mut module = Module::new();
        let mut types = TypeSection::new();
        types.ty().function([], []);
        module.section(&types);
        let mut imports = ImportSection::new();
        imports.import("host", "leak", EntityType::Function(0));
        module.section(&imports);
        let mut functions = FunctionSection::new();
        functions.function(0);
        module.section(&functions);
        let mut exports = ExportSection::new();
        exports.export("step", ExportKind::Func, 1).export(STEP_POST_RETURN, ExportKind::Func, 1);
        module.section(&exports);
        let mut code = CodeSection::new();
        let mut body = Function::new([]);
        body.instructions().end();
        code.function(&body);
        module.section(&code);
        let module = module.finish();

        let stripped = without_export(&module, STEP_POST_RETURN).expect("rewrite");
        Validator::new().validate_all(&stripped).expect("still valid");
        assert_eq!(export_names(&module), ["step", STEP_POST_RETURN]);
        assert_eq!(export_names(&stripped), ["step"]);
        assert_eq!(without_export(&stripped, STEP_POST_RETURN).expect("rewrite"), stripped);
        assert_eq!(module_imports(&stripped).expect("imports"), ["host::leak"]);
    }
}
