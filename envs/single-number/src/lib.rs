//! Find the element that appears once in a hidden array where every other value appears
//! `repeat` times (LeetCode 136 "Single Number" for repeat 2, LeetCode 137 "Single Number II"
//! for repeat 3).
//!
//! For repeat 2 the reference solution XORs all elements together (`Get`, then `Xor` into a
//! running value): pairs cancel and the single number remains. For repeat 3 it works bit by
//! bit: the single number has bit `b` set exactly when the count of elements with bit `b`
//! set (`BitCount`) is not a multiple of 3, and `SetBit` builds the answer one bit at a time.

use std::collections::BTreeMap;

use codegym_env_sdk::prelude::*;

/// Longest array a config may hold.
const MAX_LEN: usize = 10_000;
/// Widest values a config may hold.
const MAX_BITS: u32 = 40;

#[derive(Serialize, Deserialize)]
pub struct Config {
    /// Every value but one appears exactly `repeat` times; that one appears once.
    pub numbers: Vec<i64>,
    /// 2 or 3.
    pub repeat: u32,
    /// Every number is in `0..2^bits`.
    pub bits: u32,
}

pub struct SingleNumber {
    config: Config,
    reads: u32,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct XorArgs {
    /// The first operand.
    a: i64,
    /// The second operand.
    b: i64,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct BitArgs {
    /// Bit position, 0 for the least significant bit.
    bit: u32,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct SetBitArgs {
    /// The value to change.
    value: i64,
    /// Bit position to set, 0 for the least significant bit (at most 62).
    bit: u32,
}

/// The value appearing once, if every other value appears exactly `repeat` times.
fn single(numbers: &[i64], repeat: u32) -> Option<i64> {
    let mut counts: BTreeMap<i64, u32> = BTreeMap::new();
    for &n in numbers {
        *counts.entry(n).or_default() += 1;
    }
    let mut once = counts.iter().filter(|&(_, &count)| count == 1).map(|(&n, _)| n);
    let found = once.next()?;
    let rest_ok = counts.values().all(|&count| count == 1 || count == repeat);
    (once.next().is_none() && rest_ok).then_some(found)
}

impl Environment for SingleNumber {
    type Config = Config;
    type Answer = i64;

    const META: Meta = Meta {
        name: "single-number",
        version: env!("CARGO_PKG_VERSION"),
        description: "Find the element that appears once among pairs or triples in a hidden array, \
                      with XOR and bit counts (LeetCode 136/137 Single Number).",
        category: "bit-manipulation",
    };

    fn sample_config(seed: u64, difficulty: u32) -> Config {
        let mut rng = config_rng(seed, difficulty);
        let repeat = rng.random_range(2..=3);
        let bits = scale(difficulty, 6, 40) as u32;
        let groups = if repeat == 2 { scale(difficulty, 2, 18) } else { scale(difficulty, 2, 12) };
        // Distinct non-zero values: the first is the single one.
        let mut values: Vec<i64> = Vec::new();
        while values.len() <= groups {
            let value = rng.random_range(1..1i64 << bits);
            if !values.contains(&value) {
                values.push(value);
            }
        }
        let mut numbers = vec![values[0]];
        for &value in &values[1..] {
            numbers.extend(std::iter::repeat_n(value, repeat as usize));
        }
        numbers.shuffle(&mut rng);
        Config { numbers, repeat, bits }
    }

    fn reset(config: Config) -> Result<Self, String> {
        if !(1..=MAX_LEN).contains(&config.numbers.len()) {
            return Err(format!("the array must hold between 1 and {MAX_LEN} numbers"));
        }
        if !(2..=3).contains(&config.repeat) {
            return Err("repeat must be 2 or 3".to_owned());
        }
        if !(1..=MAX_BITS).contains(&config.bits) {
            return Err(format!("bits must be between 1 and {MAX_BITS}"));
        }
        if let Some(n) = config.numbers.iter().find(|&&n| !(0..1i64 << config.bits).contains(&n)) {
            return Err(format!("{n} is not in 0..2^{}", config.bits));
        }
        if single(&config.numbers, config.repeat).is_none() {
            return Err(format!(
                "exactly one value must appear once and every other value {} times",
                config.repeat
            ));
        }
        Ok(Self { config, reads: 0 })
    }

    fn task(&self) -> String {
        let Config { numbers, repeat, bits } = &self.config;
        format!(
            "An array of {} non-negative integers below 2^{bits} is hidden from you. Every \
             value appears exactly {repeat} times except one, which appears once. Find that \
             one. Length gives the size and Get reads an element. Xor returns a xor b, \
             BitCount counts the elements with a given bit set, and SetBit sets one bit of a \
             value. Submit the single number with Done, e.g. {{\"answer\": 42}}.",
            numbers.len()
        )
    }

    fn observe(&self) -> String {
        let Config { numbers, repeat, bits } = &self.config;
        format!(
            "Array length: {}. Repeats: {repeat}. Bits: {bits}. Elements read so far: {}.",
            numbers.len(),
            self.reads
        )
    }

    fn tools(tools: &mut Tools<Self>) {
        tools
            .add("Length", "Return the number of elements.", |env: &mut Self, _: NoArgs| {
                format!("{} elements", env.config.numbers.len())
            })
            .add(
                "Get",
                "Return the element at `index`, as `a[index] = value`.",
                |env: &mut Self, args: IndexArgs| {
                    let value = env.config.numbers.get(args.index).ok_or(format!(
                        "index {} is out of range (length {})",
                        args.index,
                        env.config.numbers.len()
                    ))?;
                    env.reads += 1;
                    Ok::<_, String>(format!("a[{}] = {value}", args.index))
                },
            )
            .add("Xor", "Return the bitwise exclusive or of `a` and `b`.", |_: &mut Self, args: XorArgs| {
                format!("{} xor {} = {}", args.a, args.b, args.a ^ args.b)
            })
            .add(
                "BitCount",
                "Count the elements that have bit `bit` set.",
                |env: &mut Self, args: BitArgs| {
                    if args.bit >= 63 {
                        return Err(format!("bit {} is out of range (0 to 62)", args.bit));
                    }
                    let count = env.config.numbers.iter().filter(|&&n| (n >> args.bit) & 1 == 1).count();
                    Ok(format!("{count} elements have bit {} set", args.bit))
                },
            )
            .add("SetBit", "Return `value` with bit `bit` set to 1.", |_: &mut Self, args: SetBitArgs| {
                if args.bit >= 63 {
                    return Err(format!("bit {} is out of range (0 to 62)", args.bit));
                }
                Ok(format!("{} with bit {} set = {}", args.value, args.bit, args.value | (1i64 << args.bit)))
            });
    }

    fn reference_answer(&self) -> i64 {
        single(&self.config.numbers, self.config.repeat).unwrap_or(-1)
    }
}

/// XOR for pairs, per-bit counts modulo 3 for triples.
pub struct SingleNumberOracle;

impl Oracle for SingleNumberOracle {
    async fn solve(agent: Agent, _task: String) {
        // "Array length: n. Repeats: r. Bits: b. ..."
        let info = ints(&agent.call("Observe", NoArgs {}).await);
        let [len, repeat, bits]: [i64; 3] =
            info.get(..3).and_then(|s| s.try_into().ok()).unwrap_or([0, 2, 0]);
        let mut answer = 0;
        if repeat == 2 {
            for index in 0..len {
                let read = agent.call("Get", serde_json::json!({ "index": index })).await;
                let value = ints(&read).last().copied().unwrap_or(0);
                answer = if index == 0 {
                    value
                } else {
                    let xor = agent.call("Xor", serde_json::json!({ "a": answer, "b": value })).await;
                    ints(&xor).last().copied().unwrap_or(0)
                };
            }
        } else {
            for bit in 0..bits {
                let count = first_int(&agent.call("BitCount", serde_json::json!({ "bit": bit })).await);
                if count.unwrap_or(0) % repeat != 0 {
                    let set = agent.call("SetBit", serde_json::json!({ "value": answer, "bit": bit })).await;
                    answer = ints(&set).last().copied().unwrap_or(0);
                }
            }
        }
        agent.done(answer).await;
    }
}

export_env!(SingleNumber, SingleNumberOracle);

#[cfg(test)]
mod tests {
    use codegym_env_sdk::{Session, ToolCall, testing};

    use super::*;

    const PAIRS: &str = r#"{"numbers": [4, 1, 2, 1, 2], "repeat": 2, "bits": 3}"#;
    const TRIPLES: &str = r#"{"numbers": [2, 2, 3, 2], "repeat": 3, "bits": 2}"#;

    #[test]
    fn oracle_solves_every_difficulty() {
        testing::check_environment::<SingleNumber, SingleNumberOracle>(10);
    }

    #[test]
    fn tools_compute_bit_operations() {
        let mut session = testing::session::<SingleNumber>(TRIPLES);
        let mut step = |name: &str, args: &str| session.step(&ToolCall::new(name, args)).observation;
        assert_eq!(step("Length", "{}"), "4 elements");
        assert_eq!(step("Get", r#"{"index": 2}"#), "a[2] = 3");
        assert_eq!(step("Xor", r#"{"a": 6, "b": 3}"#), "6 xor 3 = 5");
        assert_eq!(step("BitCount", r#"{"bit": 0}"#), "1 elements have bit 0 set");
        assert_eq!(step("BitCount", r#"{"bit": 1}"#), "4 elements have bit 1 set");
        assert_eq!(step("SetBit", r#"{"value": 1, "bit": 1}"#), "1 with bit 1 set = 3");
        for (name, args) in [
            ("Get", r#"{"index": 4}"#),
            ("BitCount", r#"{"bit": 63}"#),
            ("SetBit", r#"{"value": 1, "bit": 64}"#),
            ("Xor", r#"{"a": 1}"#),
        ] {
            assert!(step(name, args).starts_with("Error:"), "{name} {args}");
        }
        assert_eq!(step("Observe", "{}"), "Array length: 4. Repeats: 3. Bits: 2. Elements read so far: 1.");
    }

    #[test]
    fn answers_are_graded_and_configs_validated() {
        assert_eq!(testing::session::<SingleNumber>(PAIRS).reference_answer(), "4");
        assert_eq!(testing::session::<SingleNumber>(TRIPLES).reference_answer(), "3");
        let step = testing::session::<SingleNumber>(PAIRS).step(&ToolCall::new("Done", r#"{"answer": 4}"#));
        assert!(step.done && step.reward == 1.0);
        let mut session = Session::<SingleNumber>::new();
        assert!(session.reset(r#"{"numbers": [1, 1, 2, 3], "repeat": 2, "bits": 3}"#).is_err());
        assert!(session.reset(r#"{"numbers": [1, 1, 2], "repeat": 3, "bits": 3}"#).is_err());
        assert!(session.reset(r#"{"numbers": [9, 1, 1], "repeat": 2, "bits": 3}"#).is_err());
        assert!(session.reset(r#"{"numbers": [1], "repeat": 4, "bits": 3}"#).is_err());
    }
}
