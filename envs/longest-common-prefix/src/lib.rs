//! Longest common prefix of several hidden strings, by vertical scanning (LeetCode 14
//! "Longest Common Prefix").
//!
//! The reference solution walks the columns of the strings: at position `i` it compares the
//! first string's character with every other string's; the prefix grows by that character
//! if all agree, and the scan stops at the first column where a string differs or ends. The
//! agent compares characters with `Compare` (or reads them with `CharAt`), and builds the
//! prefix in a buffer held by the environment (`AppendPrefix`, `Prefix`).

use codegym_env_sdk::prelude::*;

/// Most strings a config may hold.
const MAX_STRINGS: usize = 100;
/// Longest string a config may hold.
const MAX_STRING_LEN: usize = 200;

#[derive(Serialize, Deserialize)]
pub struct Config {
    /// At least two strings of lowercase ASCII letters.
    pub strings: Vec<String>,
}

pub struct LongestCommonPrefix {
    strings: Vec<Vec<u8>>,
    /// The agent's prefix buffer.
    prefix: String,
    comparisons: u32,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct StringArgs {
    /// Zero-based number of the string.
    string: usize,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct CharAtArgs {
    /// Zero-based number of the string.
    string: usize,
    /// Zero-based position in that string.
    index: usize,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct CompareArgs {
    /// Zero-based number of the first string.
    a: usize,
    /// Zero-based number of the second string.
    b: usize,
    /// Zero-based position compared in both strings.
    index: usize,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct AppendArgs {
    /// One lowercase letter to append to the prefix buffer, e.g. "q".
    ch: char,
}

/// `count` random lowercase letters.
fn letters(rng: &mut ConfigRng, count: usize) -> String {
    (0..count).map(|_| char::from(b'a' + rng.random_range(0..26u8))).collect()
}

impl LongestCommonPrefix {
    fn string(&self, string: usize) -> Result<&[u8], String> {
        self.strings
            .get(string)
            .map(Vec::as_slice)
            .ok_or(format!("string {string} does not exist ({} strings)", self.strings.len()))
    }

    /// `s<string>[index] = 'c'`, or an error past the end.
    fn char_at(&self, string: usize, index: usize) -> Result<String, String> {
        let chars = self.string(string)?;
        match chars.get(index) {
            Some(&c) => Ok(format!("s{string}[{index}] = '{}'", char::from(c))),
            None => Err(format!("index {index} is past the end of s{string} (length {})", chars.len())),
        }
    }
}

impl Environment for LongestCommonPrefix {
    type Config = Config;
    type Answer = String;

    const META: Meta = Meta {
        name: "longest-common-prefix",
        version: env!("CARGO_PKG_VERSION"),
        description: "Longest common prefix of several hidden strings, by vertical scanning \
                      (LeetCode 14 Longest Common Prefix).",
        category: "strings",
    };

    fn sample_config(seed: u64, difficulty: u32) -> Config {
        let mut rng = config_rng(seed, difficulty);
        let count = scale(difficulty, 2, 8);
        let longest = scale(difficulty, 3, 16);
        let length = rng.random_range(longest * 2 / 3..=longest);
        let shared = letters(&mut rng, length);
        let strings = (0..count)
            .map(|_| {
                let tail = rng.random_range(0..=4);
                shared.clone() + &letters(&mut rng, tail)
            })
            .collect();
        Config { strings }
    }

    fn reset(config: Config) -> Result<Self, String> {
        if !(2..=MAX_STRINGS).contains(&config.strings.len()) {
            return Err(format!("there must be between 2 and {MAX_STRINGS} strings"));
        }
        for string in &config.strings {
            if string.len() > MAX_STRING_LEN {
                return Err(format!("strings must have at most {MAX_STRING_LEN} characters"));
            }
            if !string.bytes().all(|b| b.is_ascii_lowercase()) {
                return Err(format!("string {string:?} holds characters other than lowercase letters"));
            }
        }
        let strings = config.strings.into_iter().map(String::into_bytes).collect();
        Ok(Self { strings, prefix: String::new(), comparisons: 0 })
    }

    fn task(&self) -> String {
        format!(
            "{} strings of lowercase letters, s0 to s{}, are hidden from you. Find their \
             longest common prefix. Count gives the number of strings, Length a string's \
             length, CharAt one of its characters, and Compare tells whether two strings have \
             the same character at a position. A prefix buffer, empty at first, is kept for \
             you: AppendPrefix adds a letter and Prefix shows it. Submit the prefix with Done, \
             e.g. {{\"answer\": \"abc\"}} (an empty string if there is none).",
            self.strings.len(),
            self.strings.len() - 1
        )
    }

    fn observe(&self) -> String {
        format!(
            "Strings: {}. Comparisons so far: {}. Prefix buffer: \"{}\".",
            self.strings.len(),
            self.comparisons,
            self.prefix
        )
    }

    fn tools(tools: &mut Tools<Self>) {
        tools
            .add("Count", "Return the number of strings.", |env: &mut Self, _: NoArgs| {
                format!("There are {} strings.", env.strings.len())
            })
            .add("Length", "Return the length of one string.", |env: &mut Self, args: StringArgs| {
                let chars = env.string(args.string)?;
                Ok::<_, String>(format!("s{} has {} characters.", args.string, chars.len()))
            })
            .add(
                "CharAt",
                "Return the character at position `index` of string `string`, as \
                 `s<string>[index] = 'c'`.",
                |env: &mut Self, args: CharAtArgs| env.char_at(args.string, args.index),
            )
            .add(
                "Compare",
                "Tell whether strings `a` and `b` have the same character at position `index`.",
                |env: &mut Self, args: CompareArgs| {
                    let first = env.char_at(args.a, args.index)?;
                    let second = env.char_at(args.b, args.index)?;
                    env.comparisons += 1;
                    let same = env.strings[args.a][args.index] == env.strings[args.b][args.index];
                    Ok::<_, String>(format!(
                        "{first} and {second}: {}",
                        if same { "equal" } else { "different" }
                    ))
                },
            )
            .add(
                "AppendPrefix",
                "Append one lowercase letter to the prefix buffer.",
                |env: &mut Self, args: AppendArgs| {
                    if !args.ch.is_ascii_lowercase() {
                        return Err(format!("{:?} is not a lowercase letter", args.ch));
                    }
                    if env.prefix.len() >= MAX_STRING_LEN {
                        return Err(format!("the prefix buffer is full ({MAX_STRING_LEN} letters)"));
                    }
                    env.prefix.push(args.ch);
                    Ok(format!("Prefix buffer: \"{}\".", env.prefix))
                },
            )
            .add("Prefix", "Return the prefix buffer.", |env: &mut Self, _: NoArgs| {
                format!("Prefix buffer: \"{}\".", env.prefix)
            });
    }

    fn reference_answer(&self) -> String {
        let first = &self.strings[0];
        let length = self.strings[1..]
            .iter()
            .map(|other| first.iter().zip(other).take_while(|(a, b)| a == b).count())
            .min()
            .unwrap_or(first.len());
        String::from_utf8_lossy(&first[..length]).into_owned()
    }
}

/// Vertical scanning: compare each column of s0 with every other string, stop at a mismatch.
pub struct LongestCommonPrefixOracle;

impl Oracle for LongestCommonPrefixOracle {
    async fn solve(agent: Agent, _task: String) {
        let count = first_int(&agent.call("Count", NoArgs {}).await).unwrap_or(0);
        let length = ints(&agent.call("Length", serde_json::json!({ "string": 0 })).await);
        let length = length.last().copied().unwrap_or(0);
        let mut prefix = String::new();
        'columns: for index in 0..length {
            let mut letter = None;
            for other in 1..count {
                let compared =
                    agent.call("Compare", serde_json::json!({ "a": 0, "b": other, "index": index })).await;
                if !compared.ends_with("equal") {
                    break 'columns;
                }
                // "s0[3] = 'q' and ...": the letter sits between the first two quotes.
                letter = compared.split('\'').nth(1).and_then(|s| s.chars().next());
            }
            let Some(ch) = letter else { break };
            agent.call("AppendPrefix", serde_json::json!({ "ch": ch })).await;
            prefix.push(ch);
        }
        agent.done(prefix).await;
    }
}

export_env!(LongestCommonPrefix, LongestCommonPrefixOracle);

#[cfg(test)]
mod tests {
    use codegym_env_sdk::{Session, ToolCall, testing};

    use super::*;

    const CONFIG: &str = r#"{"strings": ["flower", "flow", "flight"]}"#;

    #[test]
    fn oracle_solves_every_difficulty() {
        testing::check_environment::<LongestCommonPrefix, LongestCommonPrefixOracle>(10);
    }

    #[test]
    fn tools_compare_columns_and_build_the_prefix() {
        let mut session = testing::session::<LongestCommonPrefix>(CONFIG);
        let mut step = |name: &str, args: &str| session.step(&ToolCall::new(name, args)).observation;
        assert_eq!(step("Count", "{}"), "There are 3 strings.");
        assert_eq!(step("Length", r#"{"string": 1}"#), "s1 has 4 characters.");
        assert_eq!(step("CharAt", r#"{"string": 2, "index": 5}"#), "s2[5] = 't'");
        assert_eq!(step("Compare", r#"{"a": 0, "b": 2, "index": 1}"#), "s0[1] = 'l' and s2[1] = 'l': equal");
        assert_eq!(
            step("Compare", r#"{"a": 0, "b": 2, "index": 2}"#),
            "s0[2] = 'o' and s2[2] = 'i': different"
        );
        assert_eq!(step("AppendPrefix", r#"{"ch": "f"}"#), "Prefix buffer: \"f\".");
        assert_eq!(step("Prefix", "{}"), "Prefix buffer: \"f\".");
        for (name, args) in [
            ("Compare", r#"{"a": 0, "b": 1, "index": 4}"#),
            ("Compare", r#"{"a": 0, "b": 3, "index": 0}"#),
            ("CharAt", r#"{"string": 1, "index": 4}"#),
            ("Length", r#"{"string": 3}"#),
            ("AppendPrefix", r#"{"ch": "F"}"#),
            ("AppendPrefix", r#"{"ch": "fl"}"#),
        ] {
            assert!(step(name, args).starts_with("Error:"), "{name} {args}");
        }
        assert_eq!(step("Observe", "{}"), "Strings: 3. Comparisons so far: 2. Prefix buffer: \"f\".");
    }

    #[test]
    fn answers_are_graded_and_configs_validated() {
        assert_eq!(testing::session::<LongestCommonPrefix>(CONFIG).reference_answer(), "\"fl\"");
        let none = r#"{"strings": ["dog", "racecar", "car"]}"#;
        assert_eq!(testing::session::<LongestCommonPrefix>(none).reference_answer(), "\"\"");
        assert_eq!(
            testing::run_oracle_on::<LongestCommonPrefix, LongestCommonPrefixOracle>(none).reward,
            1.0
        );
        let step = testing::session::<LongestCommonPrefix>(CONFIG)
            .step(&ToolCall::new("Done", r#"{"answer": "flo"}"#));
        assert!(step.done && step.reward == 0.0);
        let step = testing::session::<LongestCommonPrefix>(CONFIG)
            .step(&ToolCall::new("Done", r#"{"answer": "fl"}"#));
        assert!(step.done && step.reward == 1.0);
        let mut session = Session::<LongestCommonPrefix>::new();
        for bad in
            [r#"{"strings": ["abc"]}"#, r#"{"strings": ["abc", "aBc"]}"#, r#"{"strings": ["a b", "a"]}"#]
        {
            assert!(session.reset(bad).is_err(), "{bad}");
        }
    }
}
