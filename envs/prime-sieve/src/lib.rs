//! Count the primes below a hidden limit `n` (LeetCode 204 "Count Primes") with the sieve of
//! Eratosthenes.
//!
//! The sieve table lives in the environment. The reference solution walks the numbers in
//! order: `NextUnmarked` finds the next number no smaller prime has crossed out (so it is
//! prime), and while `p * p < n`, `MarkMultiples` crosses out `p*p, p*p + p, ...` (the
//! sieve's inner loop for one prime). Counting the numbers `NextUnmarked` visits gives the
//! answer. `IsMarked` and `Mark` read and write single cells of the table.

use codegym_env_sdk::prelude::*;

/// Largest limit a config may hold.
const MAX_N: u32 = 100_000;

#[derive(Serialize, Deserialize)]
pub struct Config {
    /// Count the primes strictly below this limit.
    pub n: u32,
}

pub struct PrimeSieve {
    n: u32,
    /// `marked[k]`: the agent has crossed out `k` as composite.
    marked: Vec<bool>,
    passes: u32,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct NumberArgs {
    /// A number between 2 and n - 1.
    number: u32,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct PrimeArgs {
    /// The prime whose multiples to cross out (between 2 and n - 1).
    p: u32,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct AfterArgs {
    /// Search strictly after this number (use 1 to start from 2).
    after: u32,
}

impl PrimeSieve {
    fn check(&self, number: u32) -> Result<usize, String> {
        if (2..self.n).contains(&number) {
            Ok(number as usize)
        } else {
            Err(format!("{number} is not between 2 and n - 1 = {}", self.n.saturating_sub(1)))
        }
    }
}

impl Environment for PrimeSieve {
    type Config = Config;
    type Answer = u32;

    const META: Meta = Meta {
        name: "prime-sieve",
        version: env!("CARGO_PKG_VERSION"),
        description: "Count the primes below a hidden limit with a sieve of Eratosthenes held by \
                      the environment (LeetCode 204 Count Primes).",
        category: "math",
    };

    fn sample_config(seed: u64, difficulty: u32) -> Config {
        let mut rng = config_rng(seed, difficulty);
        let low = scale(difficulty, 14, 240) as u32;
        // A wide range of limits, so that even easy tasks rarely repeat.
        Config { n: rng.random_range(low..=low + low / 4 + 120) }
    }

    fn reset(config: Config) -> Result<Self, String> {
        if !(2..=MAX_N).contains(&config.n) {
            return Err(format!("n must be between 2 and {MAX_N}"));
        }
        Ok(Self { n: config.n, marked: vec![false; config.n as usize], passes: 0 })
    }

    fn task(&self) -> String {
        "Count the prime numbers strictly below a hidden limit n (Limit tells n). A sieve \
         table over 2..n - 1 is kept for you, with nothing crossed out at first: \
         MarkMultiples crosses out the multiples of p from p * p on, Mark crosses out one \
         number, IsMarked reads one number, and NextUnmarked finds the smallest number after \
         a given one that is not crossed out. Submit the count with Done, e.g. \
         {\"answer\": 25}."
            .to_owned()
    }

    fn observe(&self) -> String {
        format!("The limit is n = {}. MarkMultiples passes so far: {}.", self.n, self.passes)
    }

    fn tools(tools: &mut Tools<Self>) {
        tools
            .add("Limit", "Return the limit n: count the primes below it.", |env: &mut Self, _: NoArgs| {
                format!("n = {}", env.n)
            })
            .add(
                "IsMarked",
                "Whether `number` is crossed out (marked composite) in the sieve table.",
                |env: &mut Self, args: NumberArgs| {
                    let index = env.check(args.number)?;
                    let state = if env.marked[index] { "is marked composite" } else { "is not marked" };
                    Ok::<_, String>(format!("{} {state}", args.number))
                },
            )
            .add("Mark", "Cross out a single `number` as composite.", |env: &mut Self, args: NumberArgs| {
                let index = env.check(args.number)?;
                env.marked[index] = true;
                Ok::<_, String>(format!("Marked {} as composite.", args.number))
            })
            .add(
                "MarkMultiples",
                "Cross out the multiples of `p` from p * p up to n - 1: p*p, p*p + p, p*p + 2p, ...",
                |env: &mut Self, args: PrimeArgs| {
                    env.check(args.p)?;
                    env.passes += 1;
                    let (p, n) = (u64::from(args.p), u64::from(env.n));
                    if p * p >= n {
                        return Ok(format!("{p} * {p} = {} is not below n = {n}: nothing to mark.", p * p));
                    }
                    let mut count = 0;
                    let mut last = p * p;
                    for multiple in (p * p..n).step_by(p as usize) {
                        env.marked[multiple as usize] = true;
                        count += 1;
                        last = multiple;
                    }
                    Ok::<_, String>(format!("Marked {count} multiples of {p}, from {} up to {last}.", p * p))
                },
            )
            .add(
                "NextUnmarked",
                "The smallest number greater than `after` (and at least 2) that is not crossed out.",
                |env: &mut Self, args: AfterArgs| {
                    let start = args.after.saturating_add(1).max(2);
                    match (start..env.n).find(|&k| !env.marked[k as usize]) {
                        Some(next) => format!("The next unmarked number after {} is {next}.", args.after),
                        None => format!("No unmarked number after {} is below n = {}.", args.after, env.n),
                    }
                },
            );
    }

    fn reference_answer(&self) -> u32 {
        let n = self.n as usize;
        let mut composite = vec![false; n];
        let mut primes = 0;
        for p in 2..n {
            if !composite[p] {
                primes += 1;
                for multiple in (p * p..n).step_by(p) {
                    composite[multiple] = true;
                }
            }
        }
        primes
    }
}

/// Walk the unmarked numbers in order; each is prime, and small ones sieve their multiples.
pub struct PrimeSieveOracle;

impl Oracle for PrimeSieveOracle {
    async fn solve(agent: Agent, _task: String) {
        let n = first_int(&agent.call("Limit", NoArgs {}).await).unwrap_or(0);
        let mut count = 0;
        let mut after = 1;
        loop {
            let next = agent.call("NextUnmarked", serde_json::json!({ "after": after })).await;
            if !next.starts_with("The next") {
                break;
            }
            let Some(&p) = ints(&next).last() else { break };
            count += 1;
            if p * p < n {
                agent.call("MarkMultiples", serde_json::json!({ "p": p })).await;
            }
            after = p;
        }
        agent.done(count).await;
    }
}

export_env!(PrimeSieve, PrimeSieveOracle);

#[cfg(test)]
mod tests {
    use codegym_env_sdk::{Session, ToolCall, testing};

    use super::*;

    #[test]
    fn oracle_solves_every_difficulty() {
        testing::check_environment::<PrimeSieve, PrimeSieveOracle>(10);
    }

    #[test]
    fn tools_sieve_and_reject_bad_input() {
        let mut session = testing::session::<PrimeSieve>(r#"{"n": 30}"#);
        let mut step = |name: &str, args: &str| session.step(&ToolCall::new(name, args)).observation;
        assert_eq!(step("Limit", "{}"), "n = 30");
        assert_eq!(step("MarkMultiples", r#"{"p": 3}"#), "Marked 7 multiples of 3, from 9 up to 27.");
        assert_eq!(step("MarkMultiples", r#"{"p": 7}"#), "7 * 7 = 49 is not below n = 30: nothing to mark.");
        assert_eq!(step("IsMarked", r#"{"number": 15}"#), "15 is marked composite");
        assert_eq!(step("IsMarked", r#"{"number": 4}"#), "4 is not marked");
        assert_eq!(step("NextUnmarked", r#"{"after": 7}"#), "The next unmarked number after 7 is 8.");
        assert_eq!(step("Mark", r#"{"number": 8}"#), "Marked 8 as composite.");
        assert_eq!(step("NextUnmarked", r#"{"after": 7}"#), "The next unmarked number after 7 is 10.");
        assert_eq!(step("NextUnmarked", r#"{"after": 29}"#), "No unmarked number after 29 is below n = 30.");
        for (name, args) in [
            ("IsMarked", r#"{"number": 30}"#),
            ("IsMarked", r#"{"number": 1}"#),
            ("Mark", r#"{"number": -2}"#),
            ("MarkMultiples", r#"{"p": 0}"#),
            ("MarkMultiples", r#"{"q": 2}"#),
        ] {
            assert!(step(name, args).starts_with("Error:"), "{name} {args}");
        }
        assert_eq!(step("Observe", "{}"), "The limit is n = 30. MarkMultiples passes so far: 2.");
    }

    #[test]
    fn answers_are_graded_and_configs_validated() {
        assert_eq!(testing::session::<PrimeSieve>(r#"{"n": 10}"#).reference_answer(), "4");
        assert_eq!(testing::session::<PrimeSieve>(r#"{"n": 2}"#).reference_answer(), "0");
        assert_eq!(testing::session::<PrimeSieve>(r#"{"n": 100}"#).reference_answer(), "25");
        let step =
            testing::session::<PrimeSieve>(r#"{"n": 30}"#).step(&ToolCall::new("Done", r#"{"answer": 10}"#));
        assert!(step.done && step.reward == 1.0);
        let mut session = Session::<PrimeSieve>::new();
        assert!(session.reset(r#"{"n": 1}"#).is_err());
        assert!(session.reset(r#"{"n": 100001}"#).is_err());
    }
}
