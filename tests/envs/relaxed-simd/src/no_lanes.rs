//! The tools outside wasm32 (native test builds): `core::arch::wasm32` is wasm-only.

const ONLY_WASM: &str = "relaxed SIMD runs only in the component";

pub fn trunc(_: [u32; 4]) -> String {
    ONLY_WASM.into()
}

pub fn trunc_lane0(_: u32) -> i32 {
    0
}

pub fn madd(_: [u32; 4], _: [u32; 4], _: [u32; 4]) -> String {
    ONLY_WASM.into()
}

pub fn min_max(_: [u32; 4], _: [u32; 4]) -> String {
    ONLY_WASM.into()
}

pub fn swizzle(_: [u8; 16], _: [u8; 16]) -> String {
    ONLY_WASM.into()
}

pub fn laneselect(_: [u32; 4], _: [u32; 4], _: [u32; 4]) -> String {
    ONLY_WASM.into()
}

pub fn q15mulr(_: [i16; 8], _: [i16; 8]) -> String {
    ONLY_WASM.into()
}

pub fn dot(_: [i8; 16], _: [i8; 16]) -> String {
    ONLY_WASM.into()
}
