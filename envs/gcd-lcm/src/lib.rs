//! Greatest common divisor and least common multiple of a hidden list of numbers, by
//! Euclid's algorithm (the classic gcd/lcm reduction).
//!
//! The reference solution folds the list: `g = gcd(g, x)` and `l = l / gcd(l, x) * x`, where
//! each gcd runs Euclid's algorithm `gcd(a, b) = gcd(b, a mod b)` until the remainder is 0.
//! The agent reads numbers with `Count` / `Get` and does the arithmetic with atomic tools:
//! `Mod` is one remainder step of Euclid's algorithm, and `Divide` / `Multiply` fold the
//! next number into the running lcm.

use codegym_env_sdk::prelude::*;

/// Longest list a config may hold.
const MAX_LEN: usize = 1_000;
/// Largest number a config may hold.
const MAX_VALUE: i64 = 1_000_000_000_000_000;

#[derive(Serialize, Deserialize)]
pub struct Config {
    /// Positive numbers whose lcm fits in an `i64`.
    pub numbers: Vec<i64>,
}

pub struct GcdLcm {
    numbers: Vec<i64>,
    reads: u32,
    operations: u32,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Operands {
    /// The first operand (the dividend for `Mod` and `Divide`).
    a: i64,
    /// The second operand (the divisor for `Mod` and `Divide`).
    b: i64,
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// `[gcd, lcm]` of `numbers`, or `None` when the lcm does not fit in an `i64`.
fn gcd_lcm(numbers: &[i64]) -> Option<[i64; 2]> {
    let mut g: u64 = 0;
    let mut l: u64 = 1;
    for &x in numbers {
        let x = u64::try_from(x).ok()?;
        g = gcd(g, x);
        l = (l / gcd(l, x)).checked_mul(x)?;
    }
    Some([i64::try_from(g).ok()?, i64::try_from(l).ok()?])
}

impl Environment for GcdLcm {
    type Config = Config;
    type Answer = [i64; 2];

    const META: Meta = Meta {
        name: "gcd-lcm",
        version: env!("CARGO_PKG_VERSION"),
        description: "Gcd and lcm of a hidden list of numbers with one-step Euclid remainders \
                      (Euclid's algorithm).",
        category: "math",
    };

    fn sample_config(seed: u64, difficulty: u32) -> Config {
        let mut rng = config_rng(seed, difficulty);
        let count = scale(difficulty, 2, 12);
        // Every number is `common` times a divisor of `pool`, so the lcm stays at most
        // common * pool < 40 * 23^2 * 19^2 * 17^2 * 13^2 * 11^2 < 10^14.
        let common = rng.random_range(1..=scale(difficulty, 6, 40)) as i64;
        let mut primes = vec![2i64, 3, 5, 7, 11, 13, 17, 19, 23];
        primes.shuffle(&mut rng);
        let factors: Vec<(i64, u32)> = primes
            .iter()
            .take(scale(difficulty, 3, 5))
            .map(|&p| (p, rng.random_range(1..=scale(difficulty, 1, 2) as u32)))
            .collect();
        let numbers = (0..count)
            .map(|_| factors.iter().fold(common, |n, &(p, e)| n * p.pow(rng.random_range(0..=e))))
            .collect();
        Config { numbers }
    }

    fn reset(config: Config) -> Result<Self, String> {
        if !(1..=MAX_LEN).contains(&config.numbers.len()) {
            return Err(format!("there must be between 1 and {MAX_LEN} numbers"));
        }
        if let Some(n) = config.numbers.iter().find(|n| !(1..=MAX_VALUE).contains(*n)) {
            return Err(format!("number {n} is not between 1 and {MAX_VALUE}"));
        }
        if gcd_lcm(&config.numbers).is_none() {
            return Err("the lcm of the numbers does not fit in a 64-bit integer".to_owned());
        }
        Ok(Self { numbers: config.numbers, reads: 0, operations: 0 })
    }

    fn task(&self) -> String {
        format!(
            "A list of {} positive integers is hidden from you. Find their greatest common \
             divisor g and least common multiple l. Read numbers with Get (Count gives how \
             many). Mod gives one remainder step of Euclid's algorithm (gcd(a, b) = gcd(b, a \
             mod b)), and Divide and Multiply help fold a number into the lcm \
             (lcm(l, x) = l / gcd(l, x) * x). Submit [g, l] with Done, e.g. \
             {{\"answer\": [6, 360]}}.",
            self.numbers.len()
        )
    }

    fn observe(&self) -> String {
        format!(
            "The list has {} numbers. Numbers read so far: {}. Arithmetic operations so far: {}.",
            self.numbers.len(),
            self.reads,
            self.operations
        )
    }

    fn tools(tools: &mut Tools<Self>) {
        tools
            .add("Count", "Return how many numbers the hidden list holds.", |env: &mut Self, _: NoArgs| {
                format!("{} numbers", env.numbers.len())
            })
            .add(
                "Get",
                "Return the number at `index`, as `a[index] = value`.",
                |env: &mut Self, args: IndexArgs| {
                    let value = env.numbers.get(args.index).ok_or(format!(
                        "index {} is out of range ({} numbers)",
                        args.index,
                        env.numbers.len()
                    ))?;
                    env.reads += 1;
                    Ok::<_, String>(format!("a[{}] = {value}", args.index))
                },
            )
            .add(
                "Mod",
                "One step of Euclid's algorithm: the remainder of `a` divided by `b` (a >= 0, b > 0).",
                |env: &mut Self, args: Operands| {
                    if args.a < 0 || args.b <= 0 {
                        return Err(format!(
                            "Mod needs a >= 0 and b > 0 (got a = {}, b = {})",
                            args.a, args.b
                        ));
                    }
                    env.operations += 1;
                    Ok(format!("{} mod {} = {}", args.a, args.b, args.a % args.b))
                },
            )
            .add(
                "Divide",
                "Integer division of `a` by `b`: quotient and remainder.",
                |env: &mut Self, args: Operands| {
                    let (Some(quotient), Some(remainder)) =
                        (args.a.checked_div(args.b), args.a.checked_rem(args.b))
                    else {
                        return Err(format!("cannot divide {} by {}", args.a, args.b));
                    };
                    env.operations += 1;
                    Ok(format!("{} / {} = {quotient} remainder {remainder}", args.a, args.b))
                },
            )
            .add("Multiply", "The product of `a` and `b`.", |env: &mut Self, args: Operands| {
                let product = args
                    .a
                    .checked_mul(args.b)
                    .ok_or(format!("{} * {} overflows a 64-bit integer", args.a, args.b))?;
                env.operations += 1;
                Ok::<_, String>(format!("{} * {} = {product}", args.a, args.b))
            });
    }

    fn reference_answer(&self) -> [i64; 2] {
        gcd_lcm(&self.numbers).unwrap_or([0, 0])
    }
}

/// Fold the list, running Euclid's algorithm with `Mod` for each gcd.
pub struct GcdLcmOracle;

/// Euclid's algorithm through `Mod` calls.
async fn euclid(agent: &Agent, mut a: i64, mut b: i64) -> i64 {
    while b != 0 {
        let step = agent.call("Mod", serde_json::json!({ "a": a, "b": b })).await;
        let Some(&remainder) = ints(&step).last() else { break };
        (a, b) = (b, remainder);
    }
    a
}

impl Oracle for GcdLcmOracle {
    async fn solve(agent: Agent, _task: String) {
        let count = first_int(&agent.call("Count", NoArgs {}).await).unwrap_or(0);
        let (mut g, mut l) = (0, 1);
        for index in 0..count {
            let read = agent.call("Get", serde_json::json!({ "index": index })).await;
            let x = ints(&read).last().copied().unwrap_or(1);
            if index == 0 {
                (g, l) = (x, x);
                continue;
            }
            g = euclid(&agent, g, x).await;
            let common = euclid(&agent, l, x).await;
            let divided = agent.call("Divide", serde_json::json!({ "a": l, "b": common })).await;
            let quotient = ints(&divided).get(2).copied().unwrap_or(0);
            let product = agent.call("Multiply", serde_json::json!({ "a": quotient, "b": x })).await;
            l = ints(&product).last().copied().unwrap_or(0);
        }
        agent.done([g, l]).await;
    }
}

export_env!(GcdLcm, GcdLcmOracle);

#[cfg(test)]
mod tests {
    use codegym_env_sdk::{Session, ToolCall, testing};

    use super::*;

    const CONFIG: &str = r#"{"numbers": [12, 18, 30]}"#;

    #[test]
    fn oracle_solves_every_difficulty() {
        testing::check_environment::<GcdLcm, GcdLcmOracle>(10);
    }

    #[test]
    fn tools_compute_single_steps_and_reject_bad_input() {
        let mut session = testing::session::<GcdLcm>(CONFIG);
        let mut step = |name: &str, args: &str| session.step(&ToolCall::new(name, args)).observation;
        assert_eq!(step("Count", "{}"), "3 numbers");
        assert_eq!(step("Get", r#"{"index": 1}"#), "a[1] = 18");
        assert_eq!(step("Mod", r#"{"a": 18, "b": 12}"#), "18 mod 12 = 6");
        assert_eq!(step("Divide", r#"{"a": 36, "b": 6}"#), "36 / 6 = 6 remainder 0");
        assert_eq!(step("Multiply", r#"{"a": 6, "b": 30}"#), "6 * 30 = 180");
        for (name, args) in [
            ("Get", r#"{"index": 3}"#),
            ("Mod", r#"{"a": 5, "b": 0}"#),
            ("Mod", r#"{"a": -5, "b": 3}"#),
            ("Divide", r#"{"a": 5, "b": 0}"#),
            ("Multiply", r#"{"a": 9223372036854775807, "b": 2}"#),
            ("Mod", r#"{"a": 5}"#),
        ] {
            assert!(step(name, args).starts_with("Error:"), "{name} {args}");
        }
        assert_eq!(
            step("Observe", "{}"),
            "The list has 3 numbers. Numbers read so far: 1. Arithmetic operations so far: 3."
        );
    }

    #[test]
    fn answers_are_graded_and_configs_validated() {
        assert_eq!(testing::session::<GcdLcm>(CONFIG).reference_answer(), "[6,180]");
        let step = testing::session::<GcdLcm>(CONFIG).step(&ToolCall::new("Done", r#"{"answer": [6, 180]}"#));
        assert!(step.done && step.reward == 1.0);
        let step = testing::session::<GcdLcm>(CONFIG).step(&ToolCall::new("Done", r#"{"answer": [6, 360]}"#));
        assert!(step.done && step.reward == 0.0);
        let mut session = Session::<GcdLcm>::new();
        assert!(session.reset(r#"{"numbers": []}"#).is_err());
        assert!(session.reset(r#"{"numbers": [0, 4]}"#).is_err());
        assert!(session.reset(r#"{"numbers": [999999999999989, 999999999999947]}"#).is_err());
    }
}
