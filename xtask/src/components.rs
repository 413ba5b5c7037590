//! Environment crates → zero-import WebAssembly components.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use wasmparser::{Parser, Payload, Validator, WasmFeatures};

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

fn is_fresh(output: &Path, input: &Path) -> bool {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    matches!((modified(output), modified(input)), (Some(out), Some(inp)) if out >= inp)
}

/// Wrap a core module (with its embedded component-type section from wit-bindgen) as a
/// component without `step`'s post-return, validate it, and refuse any import.
pub fn componentize(module: &[u8]) -> Result<Vec<u8>> {
    encode(&without_export(module, STEP_POST_RETURN)?)
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
    let component = wit_component::ComponentEncoder::default().module(module)?.validate(true).encode()?;
    Validator::new_with_features(WasmFeatures::all())
        .validate_all(&component)
        .context("validating component")?;
    let imports = imports(&component)?;
    if !imports.is_empty() {
        bail!("component imports {}; environments must import nothing", imports.join(", "));
    }
    Ok(component)
}

/// The post-return of `step`, which frees the observation after the host copied it. The
/// SDK frees it at the next step instead (see env-sdk's allocator), so without this export
/// the host makes one call into the instance fewer per step.
const STEP_POST_RETURN: &str = "cabi_post_codegym:env/environment@0.1.0#step";

/// `module` without the export `name` (if it has it); every other section byte for byte.
fn without_export(module: &[u8], name: &str) -> Result<Vec<u8>> {
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
            let data = &module[range.start as usize..range.end as usize];
            out.section(&wasm_encoder::RawSection { id, data });
        }
    }
    Ok(out.finish())
}

fn export_kind(kind: wasmparser::ExternalKind) -> Result<wasm_encoder::ExportKind> {
    use wasm_encoder::ExportKind;
    use wasmparser::ExternalKind;
    Ok(match kind {
        ExternalKind::Func => ExportKind::Func,
        ExternalKind::Table => ExportKind::Table,
        ExternalKind::Memory => ExportKind::Memory,
        ExternalKind::Global => ExportKind::Global,
        ExternalKind::Tag => ExportKind::Tag,
        other => bail!("unexpected export kind {other:?}"),
    })
}

/// Names the component imports at its top level.
pub fn imports(component: &[u8]) -> Result<Vec<String>> {
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
            CodeSection, ExportKind, ExportSection, Function, FunctionSection, Module, TypeSection,
        };
        let mut module = Module::new();
        let mut types = TypeSection::new();
        types.ty().function([], []);
        module.section(&types);
        let mut functions = FunctionSection::new();
        functions.function(0);
        module.section(&functions);
        let mut exports = ExportSection::new();
        exports.export("step", ExportKind::Func, 0).export(STEP_POST_RETURN, ExportKind::Func, 0);
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
    }
}
