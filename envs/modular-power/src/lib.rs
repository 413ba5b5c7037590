//! Modular exponentiation `base^exponent mod m` by square-and-multiply (the classic fast
//! power algorithm, as in LeetCode 50 "Pow(x, n)" and 372 "Super Pow").
//!
//! The exponent is hidden and read one bit at a time. The reference solution scans the
//! bits from the least significant: keep `power = base^(2^i) mod m`, multiply it into the
//! result when bit `i` is 1, then square it. `MulMod` is the only arithmetic tool: one
//! modular product per call.

use codegym_env_sdk::prelude::*;

/// Largest modulus a config may hold (products of two residues fit in a `u128`).
const MAX_MODULUS: u64 = 1_000_000_000_000_000_000;

#[derive(Serialize, Deserialize)]
pub struct Config {
    /// At least 0 and below `modulus`.
    pub base: u64,
    /// At least 1.
    pub exponent: u64,
    /// At least 2.
    pub modulus: u64,
}

pub struct ModularPower {
    config: Config,
    bits_read: u32,
    products: u32,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct MulModArgs {
    /// The first factor, below the modulus.
    a: u64,
    /// The second factor, below the modulus.
    b: u64,
}

fn mul_mod(a: u64, b: u64, m: u64) -> u64 {
    // Both factors are below m <= 10^18, so the product fits in a u128 and the remainder in a u64.
    (u128::from(a) * u128::from(b) % u128::from(m)) as u64
}

fn bit_length(exponent: u64) -> u32 {
    u64::BITS - exponent.leading_zeros()
}

impl Environment for ModularPower {
    type Config = Config;
    type Answer = u64;

    const META: Meta = Meta {
        name: "modular-power",
        version: env!("CARGO_PKG_VERSION"),
        description: "Compute base^exponent mod m for a hidden exponent by square-and-multiply \
                      (fast modular exponentiation).",
        category: "math",
    };

    fn sample_config(seed: u64, difficulty: u32) -> Config {
        let mut rng = config_rng(seed, difficulty);
        let bits = scale(difficulty, 3, 30) as u32;
        // The top bit is set, so the exponent has exactly `bits` bits.
        let exponent = (1u64 << (bits - 1)) | rng.random_range(0..1u64 << (bits - 1));
        let digits = scale(difficulty, 3, 12) as u32;
        let modulus = rng.random_range(10u64.pow(digits - 1)..10u64.pow(digits));
        let base = rng.random_range(2..modulus);
        Config { base, exponent, modulus }
    }

    fn reset(config: Config) -> Result<Self, String> {
        if !(2..=MAX_MODULUS).contains(&config.modulus) {
            return Err(format!("the modulus must be between 2 and {MAX_MODULUS}"));
        }
        if config.base >= config.modulus {
            return Err("the base must be below the modulus".to_owned());
        }
        if config.exponent == 0 {
            return Err("the exponent must be at least 1".to_owned());
        }
        Ok(Self { config, bits_read: 0, products: 0 })
    }

    fn task(&self) -> String {
        "Compute base^exponent mod m. Base and Modulus tell the base and m; the exponent is \
         hidden, but BitLength tells how many bits it has and Bit reads one of them (bit 0 is \
         the least significant). MulMod multiplies two numbers below m modulo m. Submit \
         base^exponent mod m with Done, e.g. {\"answer\": 4096}."
            .to_owned()
    }

    fn observe(&self) -> String {
        format!(
            "The exponent has {} bits. Bits read so far: {}. MulMod calls so far: {}.",
            bit_length(self.config.exponent),
            self.bits_read,
            self.products
        )
    }

    fn tools(tools: &mut Tools<Self>) {
        tools
            .add("Base", "Return the base.", |env: &mut Self, _: NoArgs| {
                format!("base = {}", env.config.base)
            })
            .add("Modulus", "Return the modulus m.", |env: &mut Self, _: NoArgs| {
                format!("m = {}", env.config.modulus)
            })
            .add("BitLength", "Return how many bits the exponent has.", |env: &mut Self, _: NoArgs| {
                format!("The exponent has {} bits.", bit_length(env.config.exponent))
            })
            .add(
                "Bit",
                "Return bit `index` of the exponent (0 is the least significant bit).",
                |env: &mut Self, args: IndexArgs| {
                    let length = bit_length(env.config.exponent);
                    if args.index >= length as usize {
                        return Err(format!("the exponent has only {length} bits (0 to {})", length - 1));
                    }
                    env.bits_read += 1;
                    Ok(format!(
                        "bit {} of the exponent is {}",
                        args.index,
                        (env.config.exponent >> args.index) & 1
                    ))
                },
            )
            .add("MulMod", "Return a * b mod m, for a and b below m.", |env: &mut Self, args: MulModArgs| {
                let m = env.config.modulus;
                if args.a >= m || args.b >= m {
                    return Err(format!(
                        "both factors must be below m = {m} (got {} and {})",
                        args.a, args.b
                    ));
                }
                env.products += 1;
                Ok(format!("{} * {} mod {m} = {}", args.a, args.b, mul_mod(args.a, args.b, m)))
            });
    }

    fn reference_answer(&self) -> u64 {
        let Config { base, mut exponent, modulus } = self.config;
        let (mut result, mut power) = (1 % modulus, base);
        while exponent > 0 {
            if exponent & 1 == 1 {
                result = mul_mod(result, power, modulus);
            }
            power = mul_mod(power, power, modulus);
            exponent >>= 1;
        }
        result
    }
}

/// Right-to-left square-and-multiply, one `MulMod` per product.
pub struct ModularPowerOracle;

impl Oracle for ModularPowerOracle {
    async fn solve(agent: Agent, _task: String) {
        let mut power = first_int(&agent.call("Base", NoArgs {}).await).unwrap_or(0);
        let bits = first_int(&agent.call("BitLength", NoArgs {}).await).unwrap_or(0);
        // `None` stands for a result of 1: the first set bit needs no product.
        let mut result: Option<i64> = None;
        for index in 0..bits {
            let bit =
                ints(&agent.call("Bit", serde_json::json!({ "index": index })).await).last() == Some(&1);
            if bit {
                result = Some(match result {
                    None => power,
                    Some(value) => {
                        let product =
                            agent.call("MulMod", serde_json::json!({ "a": value, "b": power })).await;
                        ints(&product).last().copied().unwrap_or(0)
                    }
                });
            }
            if index + 1 < bits {
                let square = agent.call("MulMod", serde_json::json!({ "a": power, "b": power })).await;
                power = ints(&square).last().copied().unwrap_or(0);
            }
        }
        agent.done(result.unwrap_or(1)).await;
    }
}

export_env!(ModularPower, ModularPowerOracle);

#[cfg(test)]
mod tests {
    use codegym_env_sdk::{Session, ToolCall, testing};

    use super::*;

    const CONFIG: &str = r#"{"base": 3, "exponent": 13, "modulus": 100}"#;

    #[test]
    fn oracle_solves_every_difficulty() {
        testing::check_environment::<ModularPower, ModularPowerOracle>(10);
    }

    #[test]
    fn tools_read_bits_and_multiply() {
        let mut session = testing::session::<ModularPower>(CONFIG);
        let mut step = |name: &str, args: &str| session.step(&ToolCall::new(name, args)).observation;
        assert_eq!(step("Base", "{}"), "base = 3");
        assert_eq!(step("Modulus", "{}"), "m = 100");
        assert_eq!(step("BitLength", "{}"), "The exponent has 4 bits.");
        assert_eq!(step("Bit", r#"{"index": 1}"#), "bit 1 of the exponent is 0");
        assert_eq!(step("Bit", r#"{"index": 3}"#), "bit 3 of the exponent is 1");
        assert_eq!(step("MulMod", r#"{"a": 81, "b": 27}"#), "81 * 27 mod 100 = 87");
        for (name, args) in [
            ("Bit", r#"{"index": 4}"#),
            ("MulMod", r#"{"a": 100, "b": 2}"#),
            ("MulMod", r#"{"a": -1, "b": 2}"#),
            ("MulMod", r#"{"a": 1}"#),
        ] {
            assert!(step(name, args).starts_with("Error:"), "{name} {args}");
        }
        assert_eq!(
            step("Observe", "{}"),
            "The exponent has 4 bits. Bits read so far: 2. MulMod calls so far: 1."
        );
    }

    #[test]
    fn answers_are_graded_and_configs_validated() {
        // 3^13 = 1594323.
        assert_eq!(testing::session::<ModularPower>(CONFIG).reference_answer(), "23");
        let step = testing::session::<ModularPower>(CONFIG).step(&ToolCall::new("Done", r#"{"answer": 23}"#));
        assert!(step.done && step.reward == 1.0);
        let mut session = Session::<ModularPower>::new();
        assert!(session.reset(r#"{"base": 3, "exponent": 13, "modulus": 1}"#).is_err());
        assert!(session.reset(r#"{"base": 100, "exponent": 13, "modulus": 100}"#).is_err());
        assert!(session.reset(r#"{"base": 3, "exponent": 0, "modulus": 100}"#).is_err());
    }
}
