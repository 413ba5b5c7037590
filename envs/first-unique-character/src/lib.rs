//! First non-repeating character of a hidden string (LeetCode 387 "First Unique Character
//! in a String").
//!
//! The reference solution makes two passes with a hash map of letter counts: the first pass
//! reads every character (`CharAt`) and bumps its count (`Increment`); the second pass reads
//! the counts in string order (`Count`) and stops at the first letter seen exactly once. The
//! counter map is kept by the environment; `Decrement` undoes a wrong increment.

use codegym_env_sdk::prelude::*;

/// Longest string a config may hold.
const MAX_LEN: usize = 1_000;

#[derive(Serialize, Deserialize)]
pub struct Config {
    /// Lowercase ASCII letters; at least one occurs exactly once.
    pub string: String,
}

pub struct FirstUniqueCharacter {
    chars: Vec<char>,
    /// The agent's counter map: counts[letter - 'a'].
    counts: [u32; 26],
    reads: u32,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct LetterArgs {
    /// One lowercase letter, e.g. "c".
    letter: char,
}

/// The counter slot of a lowercase letter.
fn slot(letter: char) -> Result<usize, String> {
    if letter.is_ascii_lowercase() {
        Ok(letter as usize - 'a' as usize)
    } else {
        Err(format!("{letter:?} is not a lowercase letter a-z"))
    }
}

/// Index of the first letter occurring exactly once.
fn first_unique(chars: &[char]) -> Option<usize> {
    let mut counts = [0usize; 26];
    for &c in chars {
        counts[c as usize - 'a' as usize] += 1;
    }
    chars.iter().position(|&c| counts[c as usize - 'a' as usize] == 1)
}

/// A uniform index in `low..high`, drawn through `u32` so wasm32 and native agree.
fn pick(rng: &mut ConfigRng, low: usize, high: usize) -> usize {
    rng.random_range(low as u32..high as u32) as usize
}

impl Environment for FirstUniqueCharacter {
    type Config = Config;
    type Answer = i64;

    const META: Meta = Meta {
        name: "first-unique-character",
        version: env!("CARGO_PKG_VERSION"),
        description: "Index of the first non-repeating character of a hidden string, with a \
                      counter hash map (LeetCode 387 First Unique Character in a String).",
        category: "hashing",
    };

    fn sample_config(seed: u64, difficulty: u32) -> Config {
        let mut rng = config_rng(seed, difficulty);
        let len = scale(difficulty, 5, 24);
        let alphabet = scale(difficulty, 3, 9);
        let mut letters: Vec<char> = ('a'..='z').collect();
        letters.shuffle(&mut rng);
        let unique = letters[0];
        let pool = &letters[1..=alphabet];
        // Every other letter comes in pairs (one triple when the count is odd), so the unique
        // letter is the only answer; it sits in the second half so the scan is long.
        let mut rest = Vec::with_capacity(len);
        while rest.len() + 2 < len {
            let letter = pool[pick(&mut rng, 0, pool.len())];
            rest.extend([letter, letter]);
        }
        if rest.len() < len - 1 {
            rest.push(rest[0]);
        }
        rest.shuffle(&mut rng);
        rest.insert(pick(&mut rng, len / 2, len), unique);
        Config { string: rest.into_iter().collect() }
    }

    fn reset(config: Config) -> Result<Self, String> {
        let chars: Vec<char> = config.string.chars().collect();
        if !(1..=MAX_LEN).contains(&chars.len()) {
            return Err(format!("the string length must be between 1 and {MAX_LEN}"));
        }
        if let Some(bad) = chars.iter().find(|c| !c.is_ascii_lowercase()) {
            return Err(format!("the string may hold only lowercase letters, found {bad:?}"));
        }
        if first_unique(&chars).is_none() {
            return Err("some letter must occur exactly once".to_owned());
        }
        Ok(Self { chars, counts: [0; 26], reads: 0 })
    }

    fn task(&self) -> String {
        format!(
            "A string of {} lowercase letters is hidden from you. Find the zero-based index of \
             its first character that occurs exactly once in the string (one exists). Read \
             characters with CharAt (Length gives the size). A counter map from letters to \
             counts, all zero at first, is kept for you: Increment and Decrement change a \
             letter's count and Count reads it. Submit the index with Done, e.g. \
             {{\"answer\": 3}}.",
            self.chars.len()
        )
    }

    fn observe(&self) -> String {
        let distinct = self.counts.iter().filter(|&&c| c > 0).count();
        let total: u32 = self.counts.iter().sum();
        format!(
            "String length: {}. Characters read so far: {}. Counter map: {distinct} letters, \
             total count {total}.",
            self.chars.len(),
            self.reads
        )
    }

    fn tools(tools: &mut Tools<Self>) {
        tools
            .add("Length", "Return the number of characters in the string.", |env: &mut Self, _: NoArgs| {
                format!("{}", env.chars.len())
            })
            .add(
                "CharAt",
                "Return the character at `index`, as `s[index] = 'c'`.",
                |env: &mut Self, args: IndexArgs| match env.chars.get(args.index) {
                    Some(c) => {
                        env.reads += 1;
                        Ok(format!("s[{}] = '{c}'", args.index))
                    }
                    None => Err(format!("index {} is out of range (length {})", args.index, env.chars.len())),
                },
            )
            .add(
                "Increment",
                "Add 1 to the count of `letter` in the counter map; returns the new count.",
                |env: &mut Self, args: LetterArgs| {
                    let slot = slot(args.letter)?;
                    env.counts[slot] = env.counts[slot].saturating_add(1);
                    Ok::<_, String>(format!("count('{}') = {}", args.letter, env.counts[slot]))
                },
            )
            .add(
                "Decrement",
                "Subtract 1 from the count of `letter` in the counter map; returns the new count.",
                |env: &mut Self, args: LetterArgs| {
                    let slot = slot(args.letter)?;
                    if env.counts[slot] == 0 {
                        return Err(format!("the count of '{}' is already 0", args.letter));
                    }
                    env.counts[slot] -= 1;
                    Ok(format!("count('{}') = {}", args.letter, env.counts[slot]))
                },
            )
            .add(
                "Count",
                "Return the count of `letter` in the counter map.",
                |env: &mut Self, args: LetterArgs| {
                    let slot = slot(args.letter)?;
                    Ok::<_, String>(format!("count('{}') = {}", args.letter, env.counts[slot]))
                },
            );
    }

    fn reference_answer(&self) -> i64 {
        first_unique(&self.chars).map_or(-1, |index| index as i64)
    }
}

/// Count every letter, then scan again for the first count of 1.
pub struct FirstUniqueCharacterOracle;

/// The letter between the quotes of `s[i] = 'c'`.
fn quoted_letter(observation: &str) -> Option<char> {
    observation.split('\'').nth(1)?.chars().next()
}

impl Oracle for FirstUniqueCharacterOracle {
    async fn solve(agent: Agent, _task: String) {
        let len = first_int(&agent.call("Length", NoArgs {}).await).unwrap_or(0);
        let mut letters = Vec::new();
        for index in 0..len {
            let read = agent.call("CharAt", serde_json::json!({ "index": index })).await;
            let Some(letter) = quoted_letter(&read) else { break };
            agent.call("Increment", serde_json::json!({ "letter": letter })).await;
            letters.push(letter);
        }
        for (index, letter) in letters.into_iter().enumerate() {
            let count = agent.call("Count", serde_json::json!({ "letter": letter })).await;
            if ints(&count).last() == Some(&1) {
                agent.done(index).await;
                return;
            }
        }
        agent.done(-1).await;
    }
}

export_env!(FirstUniqueCharacter, FirstUniqueCharacterOracle);

#[cfg(test)]
mod tests {
    use codegym_env_sdk::{Session, ToolCall, testing};

    use super::*;

    const CONFIG: &str = r#"{"string": "loveleetcode"}"#;

    #[test]
    fn oracle_solves_every_difficulty() {
        testing::check_environment::<FirstUniqueCharacter, FirstUniqueCharacterOracle>(10);
    }

    #[test]
    fn tools_count_letters_and_reject_bad_input() {
        let mut session = testing::session::<FirstUniqueCharacter>(CONFIG);
        let mut step = |name: &str, args: &str| session.step(&ToolCall::new(name, args)).observation;
        assert_eq!(step("Length", "{}"), "12");
        assert_eq!(step("CharAt", r#"{"index": 2}"#), "s[2] = 'v'");
        assert_eq!(step("Increment", r#"{"letter": "e"}"#), "count('e') = 1");
        assert_eq!(step("Increment", r#"{"letter": "e"}"#), "count('e') = 2");
        assert_eq!(step("Decrement", r#"{"letter": "e"}"#), "count('e') = 1");
        assert_eq!(step("Count", r#"{"letter": "e"}"#), "count('e') = 1");
        assert_eq!(step("Count", r#"{"letter": "z"}"#), "count('z') = 0");
        assert_eq!(
            step("Observe", "{}"),
            "String length: 12. Characters read so far: 1. Counter map: 1 letters, total count 1."
        );
        for (name, args) in [
            ("CharAt", r#"{"index": 12}"#),
            ("Increment", r#"{"letter": "E"}"#),
            ("Count", r#"{"letter": "ab"}"#),
            ("Decrement", r#"{"letter": "q"}"#),
        ] {
            assert!(step(name, args).starts_with("Error:"), "{name} {args}");
        }
    }

    #[test]
    fn answers_are_graded_and_configs_validated() {
        assert_eq!(testing::session::<FirstUniqueCharacter>(CONFIG).reference_answer(), "2");
        let step =
            testing::session::<FirstUniqueCharacter>(CONFIG).step(&ToolCall::new("Done", r#"{"answer": 0}"#));
        assert!(step.done && step.reward == 0.0);
        let step =
            testing::session::<FirstUniqueCharacter>(CONFIG).step(&ToolCall::new("Done", r#"{"answer": 2}"#));
        assert!(step.done && step.reward == 1.0);
        let mut session = Session::<FirstUniqueCharacter>::new();
        assert!(session.reset(r#"{"string": "aabb"}"#).is_err());
        assert!(session.reset(r#"{"string": "abC"}"#).is_err());
        assert!(session.reset(r#"{"string": ""}"#).is_err());
    }
}
