//! Run-length compress a hidden character array in place (LeetCode 443 "String
//! Compression").
//!
//! Each group of equal consecutive characters becomes the character followed by the group's
//! length in decimal digits, or the character alone for a group of one: `aabccc` becomes
//! `a2bc3`. The reference solution reads with one pointer and writes with another that never
//! overtakes it: find the end of the group at the read pointer by comparing characters, write
//! the group's character and count at the write pointer, and return the write pointer as the
//! new length. The environment holds the array: `Compare` and `CharAt` read it, `Copy`
//! writes a character taken from another position, and `WriteDigit` writes one digit.

use codegym_env_sdk::prelude::*;

/// Longest string a config may hold.
const MAX_LEN: usize = 2_000;

#[derive(Serialize, Deserialize)]
pub struct Config {
    /// Lowercase ASCII letters.
    pub string: String,
}

pub struct RunLengthEncoding {
    chars: Vec<u8>,
    /// The compression of the original string, computed at reset.
    compressed: Vec<u8>,
    writes: u32,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct CompareArgs {
    /// Zero-based position of the first character.
    i: usize,
    /// Zero-based position of the second character.
    j: usize,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct CopyArgs {
    /// Position to read the character from.
    from: usize,
    /// Position to write it to.
    to: usize,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct DigitArgs {
    /// Position to write the digit to.
    index: usize,
    /// The digit, 0 to 9.
    digit: u8,
}

/// LeetCode 443's compression of `chars`.
fn compress(chars: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for group in chars.chunk_by(|a, b| a == b) {
        out.push(group[0]);
        if group.len() > 1 {
            out.extend(group.len().to_string().bytes());
        }
    }
    out
}

impl RunLengthEncoding {
    fn check(&self, index: usize) -> Result<(), String> {
        if index < self.chars.len() {
            Ok(())
        } else {
            Err(format!("index {index} is out of range (length {})", self.chars.len()))
        }
    }

    fn show(&self, index: usize) -> String {
        format!("s[{index}] = '{}'", char::from(self.chars[index]))
    }
}

impl Environment for RunLengthEncoding {
    type Config = Config;
    /// The length of the compressed string.
    type Answer = usize;

    const META: Meta = Meta {
        name: "run-length-encoding",
        version: env!("CARGO_PKG_VERSION"),
        description: "Run-length compress a hidden character array in place and return its new \
                      length (LeetCode 443 String Compression).",
        category: "strings",
    };

    fn sample_config(seed: u64, difficulty: u32) -> Config {
        let mut rng = config_rng(seed, difficulty);
        let groups = scale(difficulty, 3, 12);
        let longest_run = scale(difficulty, 3, 12);
        let mut string = String::new();
        let mut previous = None;
        for _ in 0..groups {
            // Consecutive groups need different letters, or they would be one group.
            let mut letter = b'a' + rng.random_range(0..6u8);
            if previous == Some(letter) {
                letter += 6;
            }
            previous = Some(letter);
            let run = rng.random_range(1..=longest_run);
            string.extend(std::iter::repeat_n(char::from(letter), run));
        }
        Config { string }
    }

    fn reset(config: Config) -> Result<Self, String> {
        if !(1..=MAX_LEN).contains(&config.string.len()) {
            return Err(format!("the string must have between 1 and {MAX_LEN} characters"));
        }
        if !config.string.bytes().all(|b| b.is_ascii_lowercase()) {
            return Err("the string must hold only lowercase ASCII letters".into());
        }
        let chars = config.string.into_bytes();
        Ok(Self { compressed: compress(&chars), chars, writes: 0 })
    }

    fn task(&self) -> String {
        format!(
            "An array of {} lowercase letters is hidden from you. Compress it in place: each \
             group of equal consecutive letters becomes the letter followed by the group's \
             length in decimal digits, or the letter alone if the group has one letter \
             (\"aabccc\" becomes \"a2bc3\"). The compressed string must be written at the start \
             of the array. CharAt reads a character, Compare tells whether two are equal, \
             Length gives the size, Copy copies the character at one position to another, and \
             WriteDigit writes a digit. Submit the compressed length with Done, e.g. \
             {{\"answer\": 5}}; it only counts if the array starts with the compressed string.",
            self.chars.len()
        )
    }

    fn observe(&self) -> String {
        format!("Array length: {}. Writes so far: {}.", self.chars.len(), self.writes)
    }

    fn tools(tools: &mut Tools<Self>) {
        tools
            .add("Length", "Return the number of characters in the array.", |env: &mut Self, _: NoArgs| {
                format!("The array has {} characters.", env.chars.len())
            })
            .add(
                "CharAt",
                "Return the character at `index`, as `s[index] = 'c'`.",
                |env: &mut Self, args: IndexArgs| {
                    env.check(args.index)?;
                    Ok::<_, String>(env.show(args.index))
                },
            )
            .add(
                "Compare",
                "Tell whether the characters at positions `i` and `j` are equal.",
                |env: &mut Self, args: CompareArgs| {
                    env.check(args.i)?;
                    env.check(args.j)?;
                    let verdict = if env.chars[args.i] == env.chars[args.j] { "equal" } else { "different" };
                    Ok::<_, String>(format!("s[{}] and s[{}] are {verdict}", args.i, args.j))
                },
            )
            .add(
                "Copy",
                "Write the character at position `from` to position `to`.",
                |env: &mut Self, args: CopyArgs| {
                    env.check(args.from)?;
                    env.check(args.to)?;
                    env.chars[args.to] = env.chars[args.from];
                    env.writes += 1;
                    Ok::<_, String>(env.show(args.to))
                },
            )
            .add(
                "WriteDigit",
                "Write the decimal digit `digit` (0 to 9) at position `index`.",
                |env: &mut Self, args: DigitArgs| {
                    env.check(args.index)?;
                    if args.digit > 9 {
                        return Err(format!("{} is not a digit", args.digit));
                    }
                    env.chars[args.index] = b'0' + args.digit;
                    env.writes += 1;
                    Ok(env.show(args.index))
                },
            );
    }

    fn reference_answer(&self) -> usize {
        self.compressed.len()
    }

    fn is_correct(&self, answer: &usize) -> bool {
        *answer == self.compressed.len() && self.chars.starts_with(&self.compressed)
    }
}

/// Read pointer finds each group's end by comparisons; write pointer writes letter and count.
pub struct RunLengthEncodingOracle;

impl Oracle for RunLengthEncodingOracle {
    async fn solve(agent: Agent, _task: String) {
        let len = first_int(&agent.call("Length", NoArgs {}).await).unwrap_or(0);
        let (mut read, mut write) = (0, 0);
        while read < len {
            let mut end = read + 1;
            while end < len {
                let compared = agent.call("Compare", serde_json::json!({ "i": read, "j": end })).await;
                if !compared.ends_with("equal") {
                    break;
                }
                end += 1;
            }
            // The group's letter is already in place while nothing has been compressed yet.
            if write != read {
                agent.call("Copy", serde_json::json!({ "from": read, "to": write })).await;
            }
            write += 1;
            let count = end - read;
            if count > 1 {
                for digit in count.to_string().bytes() {
                    agent
                        .call("WriteDigit", serde_json::json!({ "index": write, "digit": digit - b'0' }))
                        .await;
                    write += 1;
                }
            }
            read = end;
        }
        agent.done(write).await;
    }
}

export_env!(RunLengthEncoding, RunLengthEncodingOracle);

#[cfg(test)]
mod tests {
    use codegym_env_sdk::{Session, ToolCall, testing};

    use super::*;

    const CONFIG: &str = r#"{"string": "aabccc"}"#;

    #[test]
    fn oracle_solves_every_difficulty() {
        testing::check_environment::<RunLengthEncoding, RunLengthEncodingOracle>(10);
    }

    #[test]
    fn compression_follows_leetcode() {
        assert_eq!(compress(b"aabccc"), b"a2bc3");
        assert_eq!(compress(b"a"), b"a");
        assert_eq!(compress(b"abbbbbbbbbbbb"), b"ab12");
    }

    #[test]
    fn tools_rewrite_in_place() {
        let mut session = testing::session::<RunLengthEncoding>(CONFIG);
        let mut step = |name: &str, args: &str| session.step(&ToolCall::new(name, args)).observation;
        assert_eq!(step("Compare", r#"{"i": 0, "j": 1}"#), "s[0] and s[1] are equal");
        assert_eq!(step("Compare", r#"{"i": 0, "j": 2}"#), "s[0] and s[2] are different");
        assert_eq!(step("WriteDigit", r#"{"index": 1, "digit": 2}"#), "s[1] = '2'");
        assert_eq!(step("Copy", r#"{"from": 3, "to": 2}"#), "s[2] = 'c'");
        assert_eq!(step("CharAt", r#"{"index": 1}"#), "s[1] = '2'");
        for (name, args) in [
            ("CharAt", r#"{"index": 6}"#),
            ("Compare", r#"{"i": 6, "j": 0}"#),
            ("Copy", r#"{"from": 0, "to": 6}"#),
            ("WriteDigit", r#"{"index": 0, "digit": 10}"#),
            ("WriteDigit", r#"{"index": 7, "digit": 1}"#),
            ("WriteDigit", r#"{"index": 0, "digit": -1}"#),
        ] {
            assert!(step(name, args).starts_with("Error:"), "{name} {args}");
        }
        assert_eq!(step("Observe", "{}"), "Array length: 6. Writes so far: 2.");
    }

    #[test]
    fn answers_need_the_array_compressed() {
        assert_eq!(testing::session::<RunLengthEncoding>(CONFIG).reference_answer(), "5");
        // The right length on the untouched array does not count.
        let step =
            testing::session::<RunLengthEncoding>(CONFIG).step(&ToolCall::new("Done", r#"{"answer": 5}"#));
        assert!(step.done && step.reward == 0.0);
        let run = testing::run_oracle_on::<RunLengthEncoding, RunLengthEncodingOracle>(CONFIG);
        assert_eq!(run.reward, 1.0);
        // A single-letter group needs no writes at all.
        let run =
            testing::run_oracle_on::<RunLengthEncoding, RunLengthEncodingOracle>(r#"{"string": "abc"}"#);
        assert_eq!((run.reward, run.calls()), (1.0, 4));
        let mut session = Session::<RunLengthEncoding>::new();
        for bad in [r#"{"string": ""}"#, r#"{"string": "aa3"}"#, r#"{"string": "aA"}"#] {
            assert!(session.reset(bad).is_err(), "{bad}");
        }
    }
}
