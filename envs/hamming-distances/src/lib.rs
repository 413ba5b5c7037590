//! Sum of the Hamming distances between all pairs of a hidden array (LeetCode 477 "Total
//! Hamming Distance"), bit by bit.
//!
//! At bit `b`, if `k` of the `n` numbers have the bit set, exactly `k * (n - k)` pairs differ
//! there, so the total is the sum of `k * (n - k)` over all bits. The reference solution
//! counts each bit column (`CountOnes`) and adds its pairs to a running total held by the
//! environment (`AddToTotal`). `Get` and `Bit` read single elements and bits, for the
//! pairwise approach or for checking.

use codegym_env_sdk::prelude::*;

/// Longest array a config may hold.
const MAX_LEN: usize = 10_000;
/// Widest numbers a config may hold.
const MAX_BITS: u32 = 31;

#[derive(Serialize, Deserialize)]
pub struct Config {
    /// Every number is in `0..2^bits`.
    pub numbers: Vec<u32>,
    pub bits: u32,
}

pub struct HammingDistances {
    config: Config,
    /// The agent's running total.
    total: u64,
    additions: u32,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct BitArgs {
    /// Bit position, 0 for the least significant bit.
    bit: u32,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ElementBitArgs {
    /// Zero-based position in the array.
    index: usize,
    /// Bit position, 0 for the least significant bit.
    bit: u32,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct AddArgs {
    /// The amount to add to the running total.
    amount: u64,
}

impl HammingDistances {
    fn check_bit(&self, bit: u32) -> Result<(), String> {
        if bit < self.config.bits {
            Ok(())
        } else {
            Err(format!("bit {bit} is out of range (the numbers have {} bits)", self.config.bits))
        }
    }
}

impl Environment for HammingDistances {
    type Config = Config;
    type Answer = u64;

    const META: Meta = Meta {
        name: "hamming-distances",
        version: env!("CARGO_PKG_VERSION"),
        description: "Total Hamming distance over all pairs of a hidden array, counted bit by bit \
                      (LeetCode 477 Total Hamming Distance).",
        category: "bit-manipulation",
    };

    fn sample_config(seed: u64, difficulty: u32) -> Config {
        let mut rng = config_rng(seed, difficulty);
        let bits = scale(difficulty, 4, 30) as u32;
        let len = scale(difficulty, 4, 40);
        let numbers = (0..len).map(|_| rng.random_range(0..1u32 << bits)).collect();
        Config { numbers, bits }
    }

    fn reset(config: Config) -> Result<Self, String> {
        if !(2..=MAX_LEN).contains(&config.numbers.len()) {
            return Err(format!("the array must hold between 2 and {MAX_LEN} numbers"));
        }
        if !(1..=MAX_BITS).contains(&config.bits) {
            return Err(format!("bits must be between 1 and {MAX_BITS}"));
        }
        if let Some(n) = config.numbers.iter().find(|&&n| n >> config.bits != 0) {
            return Err(format!("{n} does not fit in {} bits", config.bits));
        }
        Ok(Self { config, total: 0, additions: 0 })
    }

    fn task(&self) -> String {
        format!(
            "An array of {} non-negative integers with at most {} bits is hidden from you. Find \
             the sum of the Hamming distances (the number of differing bits) over all pairs of \
             its elements. Length and BitWidth give the sizes, Get reads an element, Bit reads \
             one bit of an element, and CountOnes counts the elements with a given bit set. A \
             running total, 0 at first, is kept for you: AddToTotal adds to it. Submit the \
             total with Done, e.g. {{\"answer\": 120}}.",
            self.config.numbers.len(),
            self.config.bits
        )
    }

    fn observe(&self) -> String {
        format!(
            "Array length: {}. Bits: {}. Running total: {} after {} additions.",
            self.config.numbers.len(),
            self.config.bits,
            self.total,
            self.additions
        )
    }

    fn tools(tools: &mut Tools<Self>) {
        tools
            .add("Length", "Return the number of elements.", |env: &mut Self, _: NoArgs| {
                format!("{} elements", env.config.numbers.len())
            })
            .add("BitWidth", "Return how many bits the numbers may have.", |env: &mut Self, _: NoArgs| {
                format!("The numbers have at most {} bits.", env.config.bits)
            })
            .add(
                "Get",
                "Return the element at `index`, as `a[index] = value`.",
                |env: &mut Self, args: IndexArgs| match env.config.numbers.get(args.index) {
                    Some(value) => Ok(format!("a[{}] = {value}", args.index)),
                    None => Err(format!(
                        "index {} is out of range (length {})",
                        args.index,
                        env.config.numbers.len()
                    )),
                },
            )
            .add(
                "Bit",
                "Return bit `bit` of the element at `index`.",
                |env: &mut Self, args: ElementBitArgs| {
                    env.check_bit(args.bit)?;
                    let value = env.config.numbers.get(args.index).ok_or(format!(
                        "index {} is out of range (length {})",
                        args.index,
                        env.config.numbers.len()
                    ))?;
                    Ok::<_, String>(format!(
                        "bit {} of a[{}] is {}",
                        args.bit,
                        args.index,
                        (value >> args.bit) & 1
                    ))
                },
            )
            .add(
                "CountOnes",
                "Count the elements that have bit `bit` set.",
                |env: &mut Self, args: BitArgs| {
                    env.check_bit(args.bit)?;
                    let ones = env.config.numbers.iter().filter(|&&n| (n >> args.bit) & 1 == 1).count();
                    Ok::<_, String>(format!(
                        "{ones} of {} elements have bit {} set",
                        env.config.numbers.len(),
                        args.bit
                    ))
                },
            )
            .add("AddToTotal", "Add `amount` to the running total.", |env: &mut Self, args: AddArgs| {
                env.total = env.total.checked_add(args.amount).ok_or("the running total would overflow")?;
                env.additions += 1;
                Ok::<_, &str>(format!("Added {}; running total = {}.", args.amount, env.total))
            });
    }

    fn reference_answer(&self) -> u64 {
        let n = self.config.numbers.len() as u64;
        (0..self.config.bits)
            .map(|bit| {
                let ones = self.config.numbers.iter().filter(|&&x| (x >> bit) & 1 == 1).count() as u64;
                ones * (n - ones)
            })
            .sum()
    }
}

/// Count each bit column and add its differing pairs to the total.
pub struct HammingDistancesOracle;

impl Oracle for HammingDistancesOracle {
    async fn solve(agent: Agent, _task: String) {
        let len = first_int(&agent.call("Length", NoArgs {}).await).unwrap_or(0);
        let bits = first_int(&agent.call("BitWidth", NoArgs {}).await).unwrap_or(0);
        let mut total = 0;
        for bit in 0..bits {
            let ones =
                first_int(&agent.call("CountOnes", serde_json::json!({ "bit": bit })).await).unwrap_or(0);
            let pairs = ones * (len - ones);
            if pairs > 0 {
                let added = agent.call("AddToTotal", serde_json::json!({ "amount": pairs })).await;
                total = ints(&added).last().copied().unwrap_or(0);
            }
        }
        agent.done(total).await;
    }
}

export_env!(HammingDistances, HammingDistancesOracle);

#[cfg(test)]
mod tests {
    use codegym_env_sdk::{Session, ToolCall, testing};

    use super::*;

    const CONFIG: &str = r#"{"numbers": [4, 14, 2], "bits": 4}"#;

    #[test]
    fn oracle_solves_every_difficulty() {
        testing::check_environment::<HammingDistances, HammingDistancesOracle>(10);
    }

    #[test]
    fn tools_read_bits_and_keep_the_total() {
        let mut session = testing::session::<HammingDistances>(CONFIG);
        let mut step = |name: &str, args: &str| session.step(&ToolCall::new(name, args)).observation;
        assert_eq!(step("Length", "{}"), "3 elements");
        assert_eq!(step("BitWidth", "{}"), "The numbers have at most 4 bits.");
        assert_eq!(step("Get", r#"{"index": 1}"#), "a[1] = 14");
        assert_eq!(step("Bit", r#"{"index": 1, "bit": 3}"#), "bit 3 of a[1] is 1");
        assert_eq!(step("CountOnes", r#"{"bit": 1}"#), "2 of 3 elements have bit 1 set");
        assert_eq!(step("AddToTotal", r#"{"amount": 2}"#), "Added 2; running total = 2.");
        assert_eq!(step("AddToTotal", r#"{"amount": 5}"#), "Added 5; running total = 7.");
        for (name, args) in [
            ("Get", r#"{"index": 3}"#),
            ("Bit", r#"{"index": 0, "bit": 4}"#),
            ("Bit", r#"{"index": 3, "bit": 0}"#),
            ("CountOnes", r#"{"bit": 4}"#),
            ("AddToTotal", r#"{"amount": -1}"#),
            ("AddToTotal", r#"{"amount": 18446744073709551615}"#),
        ] {
            assert!(step(name, args).starts_with("Error:"), "{name} {args}");
        }
        assert_eq!(step("Observe", "{}"), "Array length: 3. Bits: 4. Running total: 7 after 2 additions.");
    }

    #[test]
    fn answers_are_graded_and_configs_validated() {
        assert_eq!(testing::session::<HammingDistances>(CONFIG).reference_answer(), "6");
        let step =
            testing::session::<HammingDistances>(CONFIG).step(&ToolCall::new("Done", r#"{"answer": 7}"#));
        assert!(step.done && step.reward == 0.0);
        let mut session = Session::<HammingDistances>::new();
        assert!(session.reset(r#"{"numbers": [1], "bits": 4}"#).is_err());
        assert!(session.reset(r#"{"numbers": [1, 16], "bits": 4}"#).is_err());
        assert!(session.reset(r#"{"numbers": [1, 2], "bits": 0}"#).is_err());
    }
}
