//! The relaxed SIMD tools (wasm32 only: `core::arch::wasm32`). Lanes are loaded from
//! arguments, so nothing is folded at compile time; lanes are shown as decimal integers or
//! hexadecimal bits.

use core::arch::wasm32::*;

fn load<T: Copy, const N: usize>(lanes: [T; N]) -> v128 {
    const { assert!(size_of::<[T; N]>() == 16) };
    // SAFETY: `lanes` is 16 readable bytes (checked at compile time) of plain integers (the
    // callers pass [u32; 4], [i16; 8], [u8; 16], [i8; 16]), and `v128_load` has no
    // alignment requirement.
    unsafe { v128_load(lanes.as_ptr().cast()) }
}

fn hex32(v: v128) -> String {
    let lanes = [
        u32x4_extract_lane::<0>(v),
        u32x4_extract_lane::<1>(v),
        u32x4_extract_lane::<2>(v),
        u32x4_extract_lane::<3>(v),
    ];
    format!("[{}]", lanes.map(|bits| format!("0x{bits:08x}")).join(", "))
}

fn ints32(v: v128) -> String {
    let lanes = [
        i32x4_extract_lane::<0>(v),
        i32x4_extract_lane::<1>(v),
        i32x4_extract_lane::<2>(v),
        i32x4_extract_lane::<3>(v),
    ];
    format!("[{}]", lanes.map(|lane| lane.to_string()).join(", "))
}

fn ints16(v: v128) -> String {
    let lanes = [
        i16x8_extract_lane::<0>(v),
        i16x8_extract_lane::<1>(v),
        i16x8_extract_lane::<2>(v),
        i16x8_extract_lane::<3>(v),
        i16x8_extract_lane::<4>(v),
        i16x8_extract_lane::<5>(v),
        i16x8_extract_lane::<6>(v),
        i16x8_extract_lane::<7>(v),
    ];
    format!("[{}]", lanes.map(|lane| lane.to_string()).join(", "))
}

#[target_feature(enable = "relaxed-simd")]
pub fn trunc(lanes: [u32; 4]) -> String {
    ints32(i32x4_relaxed_trunc_f32x4(load(lanes)))
}

#[target_feature(enable = "relaxed-simd")]
pub fn trunc_lane0(value: u32) -> i32 {
    i32x4_extract_lane::<0>(i32x4_relaxed_trunc_f32x4(u32x4_splat(value)))
}

#[target_feature(enable = "relaxed-simd")]
pub fn madd(a: [u32; 4], b: [u32; 4], c: [u32; 4]) -> String {
    hex32(f32x4_relaxed_madd(load(a), load(b), load(c)))
}

#[target_feature(enable = "relaxed-simd")]
pub fn min_max(a: [u32; 4], b: [u32; 4]) -> String {
    let (a, b) = (load(a), load(b));
    format!("min={} max={}", hex32(f32x4_relaxed_min(a, b)), hex32(f32x4_relaxed_max(a, b)))
}

#[target_feature(enable = "relaxed-simd")]
pub fn swizzle(table: [u8; 16], indices: [u8; 16]) -> String {
    let v = i8x16_relaxed_swizzle(load(table), load(indices));
    let mut bytes = [0u8; 16];
    // SAFETY: `bytes` is 16 writable bytes; `v128_store` has no alignment requirement.
    unsafe { v128_store(bytes.as_mut_ptr().cast(), v) };
    format!("{bytes:?}")
}

#[target_feature(enable = "relaxed-simd")]
pub fn laneselect(a: [u32; 4], b: [u32; 4], mask: [u32; 4]) -> String {
    hex32(i32x4_relaxed_laneselect(load(a), load(b), load(mask)))
}

#[target_feature(enable = "relaxed-simd")]
pub fn q15mulr(a: [i16; 8], b: [i16; 8]) -> String {
    ints16(i16x8_relaxed_q15mulr(load(a), load(b)))
}

#[target_feature(enable = "relaxed-simd")]
pub fn dot(a: [i8; 16], b: [i8; 16]) -> String {
    ints16(i16x8_relaxed_dot_i8x16_i7x16(load(a), load(b)))
}
