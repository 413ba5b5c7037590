//! A test component that uses relaxed SIMD: each tool runs one relaxed instruction on the
//! lanes it is given and shows the result's lanes. The relaxed-simd proposal lets each CPU
//! answer some inputs its own way (x86 truncates a NaN to `0x80000000`, indexes a swizzle by
//! the low four bits, blends by the top bit of a mask; without FMA, a multiply-add rounds
//! twice), so these observations replay byte for byte only where the engine pins the
//! proposal's deterministic semantics, as the host does. A browser cannot, so
//! `cargo xtask web` refuses this component.
//!
//! The task: the first lane of `Trunc` of the config's f32 pattern; the oracle reads it.

use codegym_env_sdk::prelude::*;

#[cfg(target_arch = "wasm32")]
mod lanes;
#[cfg(not(target_arch = "wasm32"))]
#[path = "no_lanes.rs"]
mod lanes;

/// f32 patterns the configs choose from: a NaN, +∞, 3e9 (out of i32's range), -2.5.
const VALUES: [u32; 4] = [0x7fc0_0000, 0x7f80_0000, 0x4f32_d05e, 0xc020_0000];

#[derive(Serialize, Deserialize)]
pub struct Config {
    /// The value to truncate, as f32 bits.
    pub value: u32,
}

pub struct RelaxedSimd {
    config: Config,
}

/// Four f32 lanes as bit patterns.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct F32Lanes {
    /// f32 bit patterns.
    pub lanes: [u32; 4],
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MaddArgs {
    /// f32 bit patterns.
    pub a: [u32; 4],
    /// f32 bit patterns.
    pub b: [u32; 4],
    /// f32 bit patterns.
    pub c: [u32; 4],
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PairArgs {
    /// f32 bit patterns.
    pub a: [u32; 4],
    /// f32 bit patterns.
    pub b: [u32; 4],
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SwizzleArgs {
    /// The bytes to pick from.
    pub table: [u8; 16],
    /// Which byte each lane takes (16 and up are out of range).
    pub indices: [u8; 16],
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LaneselectArgs {
    /// i32 lanes taken where the mask is set.
    pub a: [u32; 4],
    /// i32 lanes taken where the mask is clear.
    pub b: [u32; 4],
    /// The mask (deterministically, bit by bit).
    pub mask: [u32; 4],
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Q15Args {
    /// i16 lanes.
    pub a: [i16; 8],
    /// i16 lanes.
    pub b: [i16; 8],
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DotArgs {
    /// i8 lanes.
    pub a: [i8; 16],
    /// i8 lanes (the proposal promises only 7-bit values here).
    pub b: [i8; 16],
}

impl Environment for RelaxedSimd {
    type Config = Config;
    type Answer = i32;

    const META: Meta = Meta {
        name: "relaxed-simd",
        version: env!("CARGO_PKG_VERSION"),
        description: "Shows the lanes of relaxed SIMD operations (a determinism test fixture).",
        category: "testing",
    };

    fn sample_config(seed: u64, _difficulty: u32) -> Config {
        Config { value: VALUES[(seed % VALUES.len() as u64) as usize] }
    }

    fn reset(config: Config) -> Result<Self, String> {
        Ok(Self { config })
    }

    fn task(&self) -> String {
        format!(
            "v = 0x{:08x} is an f32 bit pattern. Call Done with lane 0 of i32x4.relaxed_trunc_f32x4_s of v in every lane.",
            self.config.value
        )
    }

    fn observe(&self) -> String {
        format!("v = 0x{:08x}", self.config.value)
    }

    fn tools(tools: &mut Tools<Self>) {
        tools
            .add("Trunc", "i32x4.relaxed_trunc_f32x4_s: the i32 lanes.", |_, args: F32Lanes| {
                lanes::trunc(args.lanes)
            })
            .add("Madd", "f32x4.relaxed_madd (a * b + c): the lanes' bits.", |_, args: MaddArgs| {
                lanes::madd(args.a, args.b, args.c)
            })
            .add(
                "MinMax",
                "f32x4.relaxed_min and relaxed_max of a and b: the lanes' bits.",
                |_, args: PairArgs| lanes::min_max(args.a, args.b),
            )
            .add("Swizzle", "i8x16.relaxed_swizzle: the bytes.", |_, args: SwizzleArgs| {
                lanes::swizzle(args.table, args.indices)
            })
            .add("Laneselect", "i32x4.relaxed_laneselect: the i32 lanes.", |_, args: LaneselectArgs| {
                lanes::laneselect(args.a, args.b, args.mask)
            })
            .add("Q15mulr", "i16x8.relaxed_q15mulr_s: the i16 lanes.", |_, args: Q15Args| {
                lanes::q15mulr(args.a, args.b)
            })
            .add("Dot", "i16x8.relaxed_dot_i8x16_i7x16_s: the i16 lanes.", |_, args: DotArgs| {
                lanes::dot(args.a, args.b)
            });
    }

    fn reference_answer(&self) -> i32 {
        lanes::trunc_lane0(self.config.value)
    }
}

/// Truncates the task's value with `Trunc` and answers with lane 0.
pub struct RelaxedSimdOracle;

impl Oracle for RelaxedSimdOracle {
    async fn solve(agent: Agent, task: String) {
        let hex = task.split("0x").nth(1).unwrap_or("").get(..8).unwrap_or("0");
        let value = u32::from_str_radix(hex, 16).unwrap_or(0);
        let lanes = agent
            .call("Trunc", codegym_env_sdk::serde_json::json!({ "lanes": [value, value, value, value] }))
            .await;
        agent.done(first_int(&lanes).unwrap_or(0)).await;
    }
}

export_env!(RelaxedSimd, RelaxedSimdOracle);
