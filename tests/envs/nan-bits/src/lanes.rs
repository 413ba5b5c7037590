//! The SIMD tools (wasm32 only: `core::arch::wasm32`).

use core::arch::wasm32::*;

fn f32_lanes(v: v128) -> String {
    let lanes = [
        u32x4_extract_lane::<0>(v),
        u32x4_extract_lane::<1>(v),
        u32x4_extract_lane::<2>(v),
        u32x4_extract_lane::<3>(v),
    ];
    format!("[{}]", lanes.map(|bits| format!("0x{bits:08x}")).join(", "))
}

fn f64_lanes(v: v128) -> String {
    let lanes = [u64x2_extract_lane::<0>(v), u64x2_extract_lane::<1>(v)];
    format!("[{}]", lanes.map(|bits| format!("0x{bits:016x}")).join(", "))
}

/// `[a, b, a, b]` against `[b, a, a, b]`: both operand orders, and each NaN with itself.
#[target_feature(enable = "simd128")]
pub fn f32x4(a: u32, b: u32) -> String {
    let x = u32x4(a, b, a, b);
    let y = u32x4(b, a, a, b);
    format!(
        "add={} div={} min={} max={} sqrt={} nearest={} demote={}",
        f32_lanes(f32x4_add(x, y)),
        f32_lanes(f32x4_div(x, y)),
        f32_lanes(f32x4_min(x, y)),
        f32_lanes(f32x4_max(x, y)),
        f32_lanes(f32x4_sqrt(x)),
        f32_lanes(f32x4_nearest(x)),
        f32_lanes(f32x4_demote_f64x2_zero(f64x2_promote_low_f32x4(x))),
    )
}

/// `[a, b]` against `[b, a]`.
#[target_feature(enable = "simd128")]
pub fn f64x2(a: u64, b: u64) -> String {
    let x = u64x2(a, b);
    let y = u64x2(b, a);
    format!(
        "add={} div={} min={} max={} sqrt={} floor={} promote={}",
        f64_lanes(f64x2_add(x, y)),
        f64_lanes(f64x2_div(x, y)),
        f64_lanes(f64x2_min(x, y)),
        f64_lanes(f64x2_max(x, y)),
        f64_lanes(f64x2_sqrt(x)),
        f64_lanes(f64x2_floor(x)),
        f64_lanes(f64x2_promote_low_f32x4(f32x4_demote_f64x2_zero(x))),
    )
}
