//! Determinism for engines we cannot configure (a browser's): what the host gets from
//! wasmtime's settings, made part of the component itself, or refused.
//!
//! - NaN bits. Hardware gives different NaNs for the same operation (x86 answers `0.0 / 0.0`
//!   with the negative NaN `0xffc00000` and propagates an operand's payload; other CPUs give
//!   the positive canonical NaN). The host has Cranelift replace every NaN an arithmetic
//!   operation yields by the canonical one; [`canonicalize_nans`] inserts the same check
//!   after the same operations in the component's code, so any engine gives the host's bits.
//! - Relaxed SIMD. Its instructions may answer differently per CPU by design; the host pins
//!   their deterministic semantics (`relaxed_simd_deterministic`), but a rewrite cannot
//!   without emulating each lane, so [`uses_relaxed_simd`] finds them and the web build
//!   refuses such components.

use std::ops::Range;

use wasm_encoder::reencode::{Reencode, RoundtripReencoder};
use wasm_encoder::{CodeSection, Encode, Function, Ieee32, Ieee64, Instruction, ValType};
use wasmparser::{
    BinaryReader, Chunk, CodeSectionReader, CompositeInnerType, Encoding, FunctionBody, Operator, Parser,
    Payload,
};

use crate::Error;

/// The canonical f32 NaN (positive, quiet, no payload): what Cranelift's NaN
/// canonicalisation and [`canonicalize_nans`] give for every NaN result.
pub const CANONICAL_F32_NAN: u32 = 0x7fc0_0000;
/// The canonical f64 NaN.
pub const CANONICAL_F64_NAN: u64 = 0x7ff8_0000_0000_0000;

/// Components nest components; deeper than this is refused rather than recursed into.
const MAX_NESTING: u32 = 64;

const CODE_SECTION: u8 = 10;
const COMPONENT_MODULE_SECTION: u8 = 1;
const COMPONENT_SECTION: u8 = 4;

/// `wasm` (a component, or a core module) with every float operation whose result can be a
/// NaN followed by code that replaces a NaN result by the canonical NaN — the operations
/// Cranelift's `nan_canonicalization` covers: f32/f64 add, sub, mul, div, min, max, sqrt,
/// ceil, floor, trunc, nearest, demote/promote, their f32x4/f64x2 forms, and relaxed SIMD's
/// madd, nmadd, min and max (`fma`, `fmin`, `fmax` in the host's deterministic lowering).
/// Sign-bit operations (neg, abs, copysign), loads, stores, constants and reinterpretations
/// carry bits unchanged everywhere and are left alone.
///
/// Every core module is rewritten, in nested components too; everything else is kept byte
/// for byte, and so is every function body without such an operation (a module without any
/// comes back identical). Code offsets move, so DWARF and branch-hint sections of a
/// rewritten module no longer match its code (components built for release carry neither).
pub fn canonicalize_nans(wasm: &[u8]) -> Result<Vec<u8>, Error> {
    let rewritten = match Parser::new(0).parse(wasm, true)? {
        Chunk::Parsed { payload: Payload::Version { encoding: Encoding::Module, .. }, .. } => {
            rewrite_module(wasm)?
        }
        _ => rewrite_component(wasm, 0)?,
    };
    Ok(rewritten.unwrap_or_else(|| wasm.to_vec()))
}

/// Whether any core module of `wasm` (a component or a core module) has a relaxed SIMD
/// instruction.
pub fn uses_relaxed_simd(wasm: &[u8]) -> Result<bool, Error> {
    for payload in Parser::new(0).parse_all(wasm) {
        if let Payload::CodeSectionEntry(body) = payload? {
            let mut operators = body.get_operators_reader()?;
            while !operators.eof() {
                if is_relaxed_simd(&operators.read()?) {
                    return Ok(true);
                }
            }
        }
    }
    Ok(false)
}

fn is_relaxed_simd(operator: &Operator) -> bool {
    use Operator::*;
    matches!(
        operator,
        I8x16RelaxedSwizzle
            | I32x4RelaxedTruncF32x4S
            | I32x4RelaxedTruncF32x4U
            | I32x4RelaxedTruncF64x2SZero
            | I32x4RelaxedTruncF64x2UZero
            | F32x4RelaxedMadd
            | F32x4RelaxedNmadd
            | F64x2RelaxedMadd
            | F64x2RelaxedNmadd
            | I8x16RelaxedLaneselect
            | I16x8RelaxedLaneselect
            | I32x4RelaxedLaneselect
            | I64x2RelaxedLaneselect
            | F32x4RelaxedMin
            | F32x4RelaxedMax
            | F64x2RelaxedMin
            | F64x2RelaxedMax
            | I16x8RelaxedQ15mulrS
            | I16x8RelaxedDotI8x16I7x16S
            | I32x4RelaxedDotI8x16I7x16AddS
    )
}

/// The type of value an operation's NaN result has, for those whose result can be a NaN
/// that differs between CPUs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum NanResult {
    F32,
    F64,
    F32x4,
    F64x2,
}

fn nan_result(operator: &Operator) -> Option<NanResult> {
    use Operator::*;
    Some(match operator {
        F32Add | F32Sub | F32Mul | F32Div | F32Min | F32Max | F32Sqrt | F32Ceil | F32Floor | F32Trunc
        | F32Nearest | F32DemoteF64 => NanResult::F32,
        F64Add | F64Sub | F64Mul | F64Div | F64Min | F64Max | F64Sqrt | F64Ceil | F64Floor | F64Trunc
        | F64Nearest | F64PromoteF32 => NanResult::F64,
        F32x4Add | F32x4Sub | F32x4Mul | F32x4Div | F32x4Min | F32x4Max | F32x4Sqrt | F32x4Ceil
        | F32x4Floor | F32x4Trunc | F32x4Nearest | F32x4DemoteF64x2Zero | F32x4RelaxedMadd
        | F32x4RelaxedNmadd | F32x4RelaxedMin | F32x4RelaxedMax => NanResult::F32x4,
        F64x2Add | F64x2Sub | F64x2Mul | F64x2Div | F64x2Min | F64x2Max | F64x2Sqrt | F64x2Ceil
        | F64x2Floor | F64x2Trunc | F64x2Nearest | F64x2PromoteLowF32x4 | F64x2RelaxedMadd
        | F64x2RelaxedNmadd | F64x2RelaxedMin | F64x2RelaxedMax => NanResult::F64x2,
        _ => return None,
    })
}

/// `range` (from the parser, unchecked) as an index range into `bytes`.
fn checked(range: Range<u64>, bytes: &[u8]) -> Result<Range<usize>, Error> {
    let start = usize::try_from(range.start).map_err(|_| Error::Malformed("section out of bounds"))?;
    let end = usize::try_from(range.end).map_err(|_| Error::Malformed("section out of bounds"))?;
    if start > end || end > bytes.len() {
        return Err(Error::Malformed("section out of bounds"));
    }
    Ok(start..end)
}

/// A checked range's start as the parser's offset type.
fn unchecked_start(range: &Range<usize>) -> u64 {
    u64::try_from(range.start).unwrap_or(u64::MAX)
}

/// The next payload at `*pos`, advancing `*pos` past what the parser consumed.
fn next<'a>(parser: &mut Parser, bytes: &'a [u8], pos: &mut usize) -> Result<Payload<'a>, Error> {
    let rest = bytes.get(*pos..).unwrap_or_default();
    match parser.parse(rest, true)? {
        Chunk::Parsed { consumed, payload } => {
            *pos += consumed;
            Ok(payload)
        }
        Chunk::NeedMoreData(_) => Err(Error::Malformed("truncated")),
    }
}

/// A section: its id and its contents (the length is written here).
fn push_section(out: &mut Vec<u8>, id: u8, contents: &[u8]) {
    out.push(id);
    contents.encode(out);
}

/// The component with its core modules rewritten, or `None` when none changed.
fn rewrite_component(component: &[u8], depth: u32) -> Result<Option<Vec<u8>>, Error> {
    if depth > MAX_NESTING {
        return Err(Error::Malformed("components nested too deeply"));
    }
    let mut out = Vec::with_capacity(component.len() + component.len() / 16);
    let mut changed = false;
    let mut parser = Parser::new(0);
    let mut pos = 0;
    loop {
        let start = pos;
        let payload = next(&mut parser, component, &mut pos)?;
        let (id, range) = match payload {
            Payload::ModuleSection { unchecked_range, .. } => (COMPONENT_MODULE_SECTION, unchecked_range),
            Payload::ComponentSection { unchecked_range, .. } => (COMPONENT_SECTION, unchecked_range),
            Payload::End(_) => break,
            _ => {
                out.extend_from_slice(&component[start..pos]);
                continue;
            }
        };
        // The parser steps over a nested module or component; so do we.
        let range = checked(range, component)?;
        pos = range.end;
        let nested = &component[range.start..range.end];
        let rewritten = if id == COMPONENT_MODULE_SECTION {
            rewrite_module(nested)?
        } else {
            rewrite_component(nested, depth + 1)?
        };
        match rewritten {
            Some(bytes) => {
                push_section(&mut out, id, &bytes);
                changed = true;
            }
            None => out.extend_from_slice(&component[start..pos]),
        }
    }
    Ok(changed.then_some(out))
}

/// The module with its code canonicalised, or `None` when no function needed it.
fn rewrite_module(module: &[u8]) -> Result<Option<Vec<u8>>, Error> {
    let mut out = Vec::with_capacity(module.len() + module.len() / 16);
    // Parameters of each type index (`None` for non-function types), and each defined
    // function's type index: a new local's index comes after the parameters and locals.
    let mut params: Vec<Option<u32>> = Vec::new();
    let mut function_types: Vec<u32> = Vec::new();
    let mut changed = false;
    let mut parser = Parser::new(0);
    let mut pos = 0;
    loop {
        let start = pos;
        match next(&mut parser, module, &mut pos)? {
            Payload::TypeSection(reader) => {
                for group in reader {
                    for ty in group?.into_types() {
                        params.push(match &ty.composite_type.inner {
                            CompositeInnerType::Func(func) => u32::try_from(func.params().len()).ok(),
                            _ => None,
                        });
                    }
                }
            }
            Payload::FunctionSection(reader) => {
                for ty in reader {
                    function_types.push(ty?);
                }
            }
            Payload::CodeSectionStart { unchecked_range, .. } => {
                parser.skip_section();
                let range = checked(unchecked_range, module)?;
                pos = range.end;
                let reader = BinaryReader::new(&module[range.start..range.end], unchecked_start(&range));
                if let Some(code) = rewrite_code(CodeSectionReader::new(reader)?, &function_types, &params)? {
                    out.push(CODE_SECTION);
                    code.encode(&mut out);
                    changed = true;
                    continue;
                }
            }
            Payload::End(_) => break,
            _ => {}
        }
        out.extend_from_slice(&module[start..pos]);
    }
    Ok(changed.then_some(out))
}

fn rewrite_code(
    reader: CodeSectionReader,
    function_types: &[u32],
    params: &[Option<u32>],
) -> Result<Option<CodeSection>, Error> {
    let mut code = CodeSection::new();
    let mut changed = false;
    for (index, body) in reader.into_iter().enumerate() {
        let body = body?;
        let type_index = function_types.get(index).ok_or(Error::Malformed("more bodies than functions"))?;
        let params = params
            .get(usize::try_from(*type_index).unwrap_or(usize::MAX))
            .copied()
            .flatten()
            .ok_or(Error::Malformed("a function's type is not a function type"))?;
        match rewrite_body(&body, params)? {
            Some(function) => {
                code.function(&function);
                changed = true;
            }
            None => {
                code.raw(body.as_bytes());
            }
        }
    }
    Ok(changed.then_some(code))
}

/// The function with a canonicalisation after each operation that can yield a NaN, or
/// `None` when it has none. Each canonicalisation uses one fresh local of its type:
///
/// ```wat
/// local.tee $t  f32.const nan  local.get $t  local.get $t  f32.eq  select
/// local.tee $v  v128.const (f32x4 nan…)  local.get $v  local.get $v  f32x4.eq  v128.bitselect
/// ```
///
/// (`x == x` is false only for a NaN, so `select`/`bitselect` keep `x` except where it is one.)
fn rewrite_body(body: &FunctionBody, params: u32) -> Result<Option<Function>, Error> {
    let mut operators = body.get_operators_reader()?;
    let code_start = operators.original_position();
    // Where each canonicalisation goes: after the operator that ends at this offset.
    let mut sites = Vec::new();
    while !operators.eof() {
        let operator = operators.read()?;
        if let Some(result) = nan_result(&operator) {
            sites.push((operators.original_position(), result));
        }
    }
    operators.finish()?;
    if sites.is_empty() {
        return Ok(None);
    }

    let mut locals = Vec::new();
    let mut count = params;
    for local in body.get_locals_reader()? {
        let (n, ty) = local?;
        count = count.checked_add(n).ok_or(Error::Malformed("too many locals"))?;
        locals
            .push((n, RoundtripReencoder.val_type(ty).map_err(|_| Error::Malformed("unknown local type"))?));
    }
    let mut scratch = |ty: ValType, used: bool| -> Option<u32> {
        used.then(|| {
            locals.push((1, ty));
            count += 1;
            count - 1
        })
    };
    let uses = |kinds: &[NanResult]| sites.iter().any(|(_, result)| kinds.contains(result));
    let f32_local = scratch(ValType::F32, uses(&[NanResult::F32]));
    let f64_local = scratch(ValType::F64, uses(&[NanResult::F64]));
    let v128_local = scratch(ValType::V128, uses(&[NanResult::F32x4, NanResult::F64x2]));
    if count == u32::MAX {
        return Err(Error::Malformed("too many locals"));
    }

    let bytes = body.as_bytes();
    let base = body.range().start;
    let offset = |at: u64| usize::try_from(at.saturating_sub(base)).unwrap_or(usize::MAX);
    let mut function = Function::new(locals);
    let mut copied = offset(code_start);
    for (end, result) in sites {
        let end = offset(end);
        function
            .raw(bytes.get(copied..end).ok_or(Error::Malformed("operator out of bounds"))?.iter().copied());
        copied = end;
        let (local, nan, eq, select) = match result {
            NanResult::F32 => (
                f32_local,
                Instruction::F32Const(Ieee32::new(CANONICAL_F32_NAN)),
                Instruction::F32Eq,
                Instruction::Select,
            ),
            NanResult::F64 => (
                f64_local,
                Instruction::F64Const(Ieee64::new(CANONICAL_F64_NAN)),
                Instruction::F64Eq,
                Instruction::Select,
            ),
            NanResult::F32x4 => (
                v128_local,
                Instruction::V128Const(i128::from_le_bytes(splat(&CANONICAL_F32_NAN.to_le_bytes()))),
                Instruction::F32x4Eq,
                Instruction::V128Bitselect,
            ),
            NanResult::F64x2 => (
                v128_local,
                Instruction::V128Const(i128::from_le_bytes(splat(&CANONICAL_F64_NAN.to_le_bytes()))),
                Instruction::F64x2Eq,
                Instruction::V128Bitselect,
            ),
        };
        let local = local.ok_or(Error::Malformed("no scratch local"))?;
        for instruction in [
            Instruction::LocalTee(local),
            nan,
            Instruction::LocalGet(local),
            Instruction::LocalGet(local),
            eq,
            select,
        ] {
            function.instruction(&instruction);
        }
    }
    function.raw(bytes.get(copied..).unwrap_or_default().iter().copied());
    Ok(Some(function))
}

/// 16 bytes: `lane` repeated.
fn splat(lane: &[u8]) -> [u8; 16] {
    let mut bytes = [0; 16];
    for (i, byte) in bytes.iter_mut().enumerate() {
        *byte = lane[i % lane.len()];
    }
    bytes
}

#[cfg(test)]
mod tests {
    use wasmparser::{Validator, WasmFeatures};
    use wasmtime::{Config, Engine, Instance, Module, Store};

    use super::*;

    /// An f32 signalling NaN with a payload, and f64's: hardware quiets them and keeps the
    /// payload, so an unpinned engine's results show it.
    const F32_SNAN: u32 = 0x7fa0_0001;
    const F64_SNAN: u64 = 0x7ff4_0000_0000_0001;
    const F32_ONE: u32 = 0x3f80_0000;
    const F64_ONE: u64 = 0x3ff0_0000_0000_0000;

    /// (export name, operator, operand type, result type, binary?)
    const OPS: &[(&str, &str, &str, &str, bool)] = &[
        ("f32.add", "f32.add", "f32", "f32", true),
        ("f32.sub", "f32.sub", "f32", "f32", true),
        ("f32.mul", "f32.mul", "f32", "f32", true),
        ("f32.div", "f32.div", "f32", "f32", true),
        ("f32.min", "f32.min", "f32", "f32", true),
        ("f32.max", "f32.max", "f32", "f32", true),
        ("f32.sqrt", "f32.sqrt", "f32", "f32", false),
        ("f32.ceil", "f32.ceil", "f32", "f32", false),
        ("f32.floor", "f32.floor", "f32", "f32", false),
        ("f32.trunc", "f32.trunc", "f32", "f32", false),
        ("f32.nearest", "f32.nearest", "f32", "f32", false),
        ("f32.demote_f64", "f32.demote_f64", "f64", "f32", false),
        ("f64.add", "f64.add", "f64", "f64", true),
        ("f64.sub", "f64.sub", "f64", "f64", true),
        ("f64.mul", "f64.mul", "f64", "f64", true),
        ("f64.div", "f64.div", "f64", "f64", true),
        ("f64.min", "f64.min", "f64", "f64", true),
        ("f64.max", "f64.max", "f64", "f64", true),
        ("f64.sqrt", "f64.sqrt", "f64", "f64", false),
        ("f64.ceil", "f64.ceil", "f64", "f64", false),
        ("f64.floor", "f64.floor", "f64", "f64", false),
        ("f64.trunc", "f64.trunc", "f64", "f64", false),
        ("f64.nearest", "f64.nearest", "f64", "f64", false),
        ("f64.promote_f32", "f64.promote_f32", "f32", "f64", false),
        ("f32x4.add", "f32x4.add", "f32x4", "f32x4", true),
        ("f32x4.div", "f32x4.div", "f32x4", "f32x4", true),
        ("f32x4.min", "f32x4.min", "f32x4", "f32x4", true),
        ("f32x4.max", "f32x4.max", "f32x4", "f32x4", true),
        ("f32x4.sqrt", "f32x4.sqrt", "f32x4", "f32x4", false),
        ("f32x4.nearest", "f32x4.nearest", "f32x4", "f32x4", false),
        ("f32x4.relaxed_madd", "local.get 1 i32x4.splat f32x4.relaxed_madd", "f32x4", "f32x4", true),
        ("f32x4.demote_f64x2_zero", "f32x4.demote_f64x2_zero", "f64x2", "f32x4", false),
        ("f64x2.add", "f64x2.add", "f64x2", "f64x2", true),
        ("f64x2.mul", "f64x2.mul", "f64x2", "f64x2", true),
        ("f64x2.min", "f64x2.min", "f64x2", "f64x2", true),
        ("f64x2.floor", "f64x2.floor", "f64x2", "f64x2", false),
        ("f64x2.promote_low_f32x4", "f64x2.promote_low_f32x4", "f32x4", "f64x2", false),
    ];

    /// `(value, load)`: the parameter type holding an operand's bits and the code turning
    /// `local.get N` of it into the operand.
    fn operand(ty: &str) -> (&'static str, &'static str) {
        match ty {
            "f32" => ("i32", "f32.reinterpret_i32"),
            "f64" => ("i64", "f64.reinterpret_i64"),
            "f32x4" => ("i32", "i32x4.splat"),
            _ => ("i64", "i64x2.splat"),
        }
    }

    /// Code turning a result into bits (lane 0 of a vector).
    fn result_bits(ty: &str) -> (&'static str, &'static str) {
        match ty {
            "f32" => ("i32", "i32.reinterpret_f32"),
            "f64" => ("i64", "i64.reinterpret_f64"),
            "f32x4" => ("i32", "i32x4.extract_lane 0"),
            _ => ("i64", "i64x2.extract_lane 0"),
        }
    }

    /// One exported function per operation: operand bits in, result bits out (as i64).
    fn ops_module() -> Vec<u8> {
        let mut wat = String::from("(module\n");
        for (name, op, operand_ty, result_ty, binary) in OPS {
            let (param, load) = operand(operand_ty);
            let (result, store) = result_bits(result_ty);
            let widen = if result == "i32" { "i64.extend_i32_u" } else { "" };
            let second = if *binary { format!("local.get 1 {load}") } else { String::new() };
            wat += &format!(
                "(func (export \"{name}\") (param {param} {param}) (result i64) local.get 0 {load} {second} {op} {store} {widen})\n"
            );
        }
        wat += "(func (export \"int\") (param i32) (result i32) local.get 0 i32.const 1 i32.add))";
        wat::parse_str(&wat).expect("valid wat")
    }

    /// Calls `name` of `module` on `(a, b)` in a wasmtime that does not canonicalise NaNs.
    fn run(module: &[u8], name: &str, operands: (u64, u64), wide: bool) -> u64 {
        let mut config = Config::new();
        config.cranelift_nan_canonicalization(false).relaxed_simd_deterministic(true);
        let engine = Engine::new(&config).expect("engine");
        let module = Module::new(&engine, module).expect("compiles");
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).expect("instantiates");
        let bits = if wide {
            let f = instance.get_typed_func::<(u64, u64), u64>(&mut store, name).expect("function");
            f.call(&mut store, operands)
        } else {
            let narrow = |x: u64| u32::try_from(x).expect("32-bit operand");
            let f = instance.get_typed_func::<(u32, u32), u64>(&mut store, name).expect("function");
            f.call(&mut store, (narrow(operands.0), narrow(operands.1)))
        };
        bits.expect("runs")
    }

    fn is_wide(ty: &str) -> bool {
        ty.starts_with("f64")
    }

    #[test]
    fn every_nan_result_is_canonical_after_the_rewrite_and_other_results_are_unchanged() {
        let original = ops_module();
        let rewritten = canonicalize_nans(&original).expect("rewrite");
        Validator::new_with_features(WasmFeatures::all()).validate_all(&rewritten).expect("still valid");
        assert_ne!(original, rewritten);
        let mut native_differs = Vec::new();
        for (name, _, operand_ty, result_ty, binary) in OPS {
            let wide = is_wide(operand_ty);
            let (nan, one, three, two) = if wide {
                (F64_SNAN, F64_ONE, 0x4008_0000_0000_0000, 0x4000_0000_0000_0000)
            } else {
                (u64::from(F32_SNAN), u64::from(F32_ONE), 0x4040_0000, 0x4000_0000)
            };
            let canonical = if is_wide(result_ty) { CANONICAL_F64_NAN } else { u64::from(CANONICAL_F32_NAN) };
            assert_eq!(run(&rewritten, name, (nan, one), wide), canonical, "{name} of a NaN");
            if *binary {
                assert_eq!(run(&rewritten, name, (one, nan), wide), canonical, "{name} with a NaN second");
            }
            if run(&original, name, (nan, one), wide) != canonical {
                native_differs.push(*name);
            }
            // Ordinary operands: the very same bits as before the rewrite.
            assert_eq!(
                run(&rewritten, name, (three, two), wide),
                run(&original, name, (three, two), wide),
                "{name}"
            );
        }
        // Without the rewrite the engine's NaNs show: a signalling NaN's payload survives.
        assert!(native_differs.len() > OPS.len() / 2, "only {native_differs:?} differ natively");
        if cfg!(target_arch = "x86_64") {
            // x86's own NaN for 0 / 0 is negative: 0xffc00000.
            assert_eq!(run(&original, "f32.div", (0, 0), false), 0xffc0_0000);
            assert_eq!(run(&rewritten, "f32.div", (0, 0), false), u64::from(CANONICAL_F32_NAN));
        }
    }

    /// The bodies of `module`'s functions, as bytes.
    fn bodies(module: &[u8]) -> Vec<Vec<u8>> {
        Parser::new(0)
            .parse_all(module)
            .filter_map(|payload| match payload.expect("valid") {
                Payload::CodeSectionEntry(body) => Some(body.as_bytes().to_vec()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn what_needs_no_rewrite_is_kept_byte_for_byte() {
        let plain = wat::parse_str(
            r#"(module (memory 1) (data (i32.const 0) "hi")
                 (func (export "f") (param f32) (result f32) local.get 0 f32.neg f32.abs)
                 (func (export "g") (param i64) (result i64) local.get 0 i64.const 3 i64.mul)
                 (@custom "note" "kept"))"#,
        )
        .expect("valid wat");
        assert_eq!(canonicalize_nans(&plain).expect("rewrite"), plain);

        let original = ops_module();
        let rewritten = canonicalize_nans(&original).expect("rewrite");
        let (before, after) = (bodies(&original), bodies(&rewritten));
        assert_eq!(before.len(), after.len());
        assert_eq!(before.last(), after.last(), "the integer function is copied");
        assert!(
            before.iter().zip(&after).take(OPS.len()).all(|(b, a)| b != a),
            "every float one is rewritten"
        );
        // Idempotent in effect: a second rewrite adds checks but changes no result.
        let twice = canonicalize_nans(&rewritten).expect("rewrite");
        assert_eq!(run(&twice, "f32.div", (0, 0), false), u64::from(CANONICAL_F32_NAN));
    }

    /// Every core module of a component, in order (nested components too).
    fn modules(component: &[u8]) -> Vec<Vec<u8>> {
        Parser::new(0)
            .parse_all(component)
            .filter_map(|payload| match payload.expect("valid") {
                Payload::ModuleSection { unchecked_range, .. } => {
                    Some(component[checked(unchecked_range, component).expect("in bounds")].to_vec())
                }
                _ => None,
            })
            .collect()
    }

    fn component_of(modules: &[&[u8]]) -> Vec<u8> {
        use wasm_encoder::{Component, CustomSection, NestedComponentSection, RawSection};
        let mut inner = Component::new();
        inner.section(&RawSection { id: COMPONENT_MODULE_SECTION, data: modules[0] });
        let mut outer = Component::new();
        for module in modules {
            outer.section(&RawSection { id: COMPONENT_MODULE_SECTION, data: module });
        }
        outer.section(&NestedComponentSection(&inner));
        outer.section(&CustomSection { name: "note".into(), data: b"kept".into() });
        outer.finish()
    }

    #[test]
    fn core_modules_in_components_are_rewritten_and_the_rest_kept() {
        let floats = ops_module();
        let ints = wat::parse_str("(module (func (export \"g\") (param i32) (result i32) local.get 0))")
            .expect("valid wat");
        let component = component_of(&[&floats, &ints]);
        Validator::new_with_features(WasmFeatures::all()).validate_all(&component).expect("valid component");
        let rewritten = canonicalize_nans(&component).expect("rewrite");
        Validator::new_with_features(WasmFeatures::all()).validate_all(&rewritten).expect("still valid");
        let canonical = canonicalize_nans(&floats).expect("rewrite");
        assert_eq!(modules(&rewritten), [canonical.clone(), ints.clone(), canonical]);
        assert!(rewritten.ends_with(b"\x04notekept"), "the custom section is copied");
        // A component with nothing to rewrite comes back as it was.
        let unchanged = component_of(&[&ints]);
        assert_eq!(canonicalize_nans(&unchanged).expect("rewrite"), unchanged);
    }

    #[test]
    fn relaxed_simd_is_found_in_any_module() {
        let relaxed = wat::parse_str(
            "(module (func (param v128) (result v128) local.get 0 local.get 0 i8x16.relaxed_swizzle))",
        )
        .expect("valid wat");
        let plain = ops_module();
        assert!(uses_relaxed_simd(&relaxed).expect("parse"));
        assert!(uses_relaxed_simd(&plain).expect("parse"), "ops_module has f32x4.relaxed_madd");
        let ints = wat::parse_str(
            "(module (func (param v128) (result v128) local.get 0 local.get 0 i8x16.swizzle))",
        )
        .expect("valid wat");
        assert!(!uses_relaxed_simd(&ints).expect("parse"));
        assert!(uses_relaxed_simd(&component_of(&[&ints, &relaxed])).expect("parse"));
        assert!(!uses_relaxed_simd(&component_of(&[&ints])).expect("parse"));
    }

    #[test]
    fn bad_input_is_an_error() {
        let module = ops_module();
        let component = component_of(&[&module]);
        for wasm in [&module, &component] {
            // A prefix ending between sections is a shorter module; any other is an error,
            // and none panics.
            let errors = (0..wasm.len()).filter(|&len| canonicalize_nans(&wasm[..len]).is_err()).count();
            assert!(errors > wasm.len() * 9 / 10, "{errors} of {} prefixes refused", wasm.len());
            assert!(canonicalize_nans(&wasm[..wasm.len() - 1]).is_err());
        }
        assert!(canonicalize_nans(b"not wasm at all").is_err());
        let plain =
            wat::parse_str("(module (func (param f32) (result f32) local.get 0 f32.sqrt))").expect("wat");
        assert!(uses_relaxed_simd(&plain[..plain.len() - 1]).is_err());
    }
}
