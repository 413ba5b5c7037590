//! The SIMD tools outside wasm32 (native test builds): `core::arch::wasm32` is wasm-only.

pub fn f32x4(_a: u32, _b: u32) -> String {
    "f32x4 runs only in the component".into()
}

pub fn f64x2(_a: u64, _b: u64) -> String {
    "f64x2 runs only in the component".into()
}
