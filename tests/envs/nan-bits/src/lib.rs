//! A test component whose observations are the bit patterns of float operations that can
//! produce a NaN: scalar f32/f64 arithmetic, rounding, conversions and SIMD lanes. Hardware
//! gives different NaN bits for these (x86 answers `0.0 / 0.0` with the negative NaN
//! `0xffc00000`, and propagates an operand's payload), so the observations are the same
//! everywhere only if every NaN result is canonicalised: by Cranelift in the host, by the
//! rewrite of `cargo xtask web` in the browser. Operands are the tool call's arguments (bit
//! patterns), so nothing is folded at compile time.
//!
//! The task: the bits of `a / b` for the config's two f32 patterns; the oracle reads them
//! from `F32` after calling every tool once.

use codegym_env_sdk::prelude::*;
use codegym_env_sdk::serde_json::json;

#[cfg(target_arch = "wasm32")]
mod lanes;
#[cfg(not(target_arch = "wasm32"))]
#[path = "no_lanes.rs"]
mod lanes;

/// Operand pairs (f32 bit patterns) the configs choose from: 0/0, ∞−∞ (via ∞/∞), a
/// signalling NaN with a payload, a negative quiet NaN, and an ordinary quotient.
const OPERANDS: [(u32, u32); 5] = [
    (0x0000_0000, 0x0000_0000),
    (0x7f80_0000, 0x7f80_0000),
    (0x7fa0_0001, 0x3f80_0000),
    (0xffc0_0000, 0x4000_0000),
    (0x4040_0000, 0x4000_0000),
];

#[derive(Serialize, Deserialize)]
pub struct Config {
    /// The dividend, as f32 bits.
    pub a: u32,
    /// The divisor, as f32 bits.
    pub b: u32,
}

pub struct NanBits {
    config: Config,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct F32Args {
    /// The first operand, as f32 bits (e.g. 2143289344 = 0x7fc00000).
    a: u32,
    /// The second operand, as f32 bits.
    b: u32,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct F64Args {
    /// The first operand, as f64 bits.
    a: u64,
    /// The second operand, as f64 bits.
    b: u64,
}

/// `a` and `b` through every scalar f32 operation whose result can be a NaN.
fn f32_ops(a: f32, b: f32) -> String {
    format!(
        "add=0x{:08x} sub=0x{:08x} mul=0x{:08x} div=0x{:08x} min=0x{:08x} max=0x{:08x} \
         sqrt=0x{:08x} ceil=0x{:08x} floor=0x{:08x} trunc=0x{:08x} nearest=0x{:08x} \
         promote=0x{:016x}",
        (a + b).to_bits(),
        (a - b).to_bits(),
        (a * b).to_bits(),
        (a / b).to_bits(),
        a.min(b).to_bits(),
        a.max(b).to_bits(),
        a.sqrt().to_bits(),
        a.ceil().to_bits(),
        a.floor().to_bits(),
        a.trunc().to_bits(),
        a.round_ties_even().to_bits(),
        f64::from(a).to_bits(),
    )
}

/// The same for f64, with the demotion to f32.
fn f64_ops(a: f64, b: f64) -> String {
    format!(
        "add=0x{:016x} sub=0x{:016x} mul=0x{:016x} div=0x{:016x} min=0x{:016x} max=0x{:016x} \
         sqrt=0x{:016x} ceil=0x{:016x} floor=0x{:016x} trunc=0x{:016x} nearest=0x{:016x} \
         demote=0x{:08x}",
        (a + b).to_bits(),
        (a - b).to_bits(),
        (a * b).to_bits(),
        (a / b).to_bits(),
        a.min(b).to_bits(),
        a.max(b).to_bits(),
        a.sqrt().to_bits(),
        a.ceil().to_bits(),
        a.floor().to_bits(),
        a.trunc().to_bits(),
        a.round_ties_even().to_bits(),
        (a as f32).to_bits(),
    )
}

impl Environment for NanBits {
    type Config = Config;
    type Answer = u32;

    const META: Meta = Meta {
        name: "nan-bits",
        version: env!("CARGO_PKG_VERSION"),
        description: "Shows the bits of NaN-producing float operations (a determinism test fixture).",
        category: "testing",
    };

    fn sample_config(seed: u64, _difficulty: u32) -> Config {
        let (a, b) = OPERANDS[(seed % OPERANDS.len() as u64) as usize];
        Config { a, b }
    }

    fn reset(config: Config) -> Result<Self, String> {
        Ok(Self { config })
    }

    fn task(&self) -> String {
        format!(
            "a = 0x{:08x} and b = 0x{:08x} are f32 bit patterns. Call Done with the bits of a / b, as an integer.",
            self.config.a, self.config.b
        )
    }

    fn observe(&self) -> String {
        format!("a = 0x{:08x}, b = 0x{:08x}", self.config.a, self.config.b)
    }

    fn tools(tools: &mut Tools<Self>) {
        tools
            .add(
                "F32",
                "Scalar f32 operations on two bit patterns; their results' bits.",
                |_, args: F32Args| f32_ops(f32::from_bits(args.a), f32::from_bits(args.b)),
            )
            .add(
                "F64",
                "Scalar f64 operations on two bit patterns; their results' bits.",
                |_, args: F64Args| f64_ops(f64::from_bits(args.a), f64::from_bits(args.b)),
            )
            .add(
                "F32x4",
                "f32x4 operations on lanes [a, b, a, b] and [b, a, a, b]; each result's lanes' bits.",
                |_, args: F32Args| lanes::f32x4(args.a, args.b),
            )
            .add(
                "F64x2",
                "f64x2 operations on lanes [a, b] and [b, a]; each result's lanes' bits.",
                |_, args: F64Args| lanes::f64x2(args.a, args.b),
            );
    }

    fn reference_answer(&self) -> u32 {
        (f32::from_bits(self.config.a) / f32::from_bits(self.config.b)).to_bits()
    }
}

/// The hexadecimal number after `marker` (which ends in `0x`) in `text`.
fn hex_after(text: &str, marker: &str) -> Option<u64> {
    let start = text.find(marker)? + marker.len();
    let digits: String = text[start..].chars().take_while(char::is_ascii_hexdigit).collect();
    u64::from_str_radix(&digits, 16).ok()
}

/// Calls every tool once, the f32 ones with the task's operands, the f64 ones with 0 / 0 and
/// a signalling NaN against 1; then answers with `F32`'s quotient.
pub struct NanBitsOracle;

impl Oracle for NanBitsOracle {
    async fn solve(agent: Agent, task: String) {
        let a = hex_after(&task, "a = 0x").unwrap_or(0);
        let b = hex_after(&task, "b = 0x").unwrap_or(0);
        let f32s = json!({ "a": a, "b": b });
        let quotient = hex_after(&agent.call("F32", &f32s).await, "div=0x").unwrap_or(0);
        agent.call("F32x4", &f32s).await;
        agent.call("F64", json!({ "a": 0, "b": 0 })).await;
        agent.call("F64x2", json!({ "a": 0x7ff4_0000_0000_0001_u64, "b": 0x3ff0_0000_0000_0000_u64 })).await;
        agent.done(quotient).await;
    }
}

export_env!(NanBits, NanBitsOracle);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_oracle_solves_every_config() {
        for seed in 0..OPERANDS.len() as u64 {
            let run = codegym_env_sdk::testing::run_oracle::<NanBits, NanBitsOracle>(seed, 0);
            assert!(run.done && run.reward == 1.0, "seed {seed}");
        }
    }
}
