//! Longest palindromic substring of a hidden string, by expanding around centers (LeetCode 5
//! "Longest Palindromic Substring").
//!
//! Every palindrome has a center: a character (odd length) or the gap between two
//! characters (even length). The reference solution tries each center from left to right
//! and grows the palindrome outward while the characters on both ends are equal, keeping the
//! longest found. The agent compares characters with `CompareChars` (or reads them with
//! `CharAt`), and keeps the best palindrome in a register held by the environment
//! (`SetBest`, `GetBest`).

use codegym_env_sdk::prelude::*;

/// Longest string a config may hold (the reference answer is quadratic in the worst case).
const MAX_LEN: usize = 2_000;

#[derive(Serialize, Deserialize)]
pub struct Config {
    /// Lowercase ASCII letters.
    pub string: String,
}

pub struct LongestPalindromicSubstring {
    chars: Vec<u8>,
    /// The agent's best-palindrome register: (start, length).
    best: Option<(usize, usize)>,
    comparisons: u32,
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
struct BestArgs {
    /// Zero-based position where the substring starts.
    start: usize,
    /// Number of characters in the substring (at least 1).
    length: usize,
}

/// Leftmost longest palindrome as `(start, length)`, expanding around each center.
fn longest_palindrome(chars: &[u8]) -> (usize, usize) {
    let mut best = (0, 1);
    for center in 0..2 * chars.len() - 1 {
        // Odd centers are characters, even ones the gaps after them.
        let (mut low, mut high) = (center / 2, center.div_ceil(2));
        while chars[low] == chars[high] {
            let length = high - low + 1;
            if length > best.1 {
                best = (low, length);
            }
            if low == 0 || high + 1 == chars.len() {
                break;
            }
            low -= 1;
            high += 1;
        }
    }
    best
}

impl LongestPalindromicSubstring {
    fn check(&self, index: usize) -> Result<(), String> {
        if index < self.chars.len() {
            Ok(())
        } else {
            Err(format!("index {index} is out of range (length {})", self.chars.len()))
        }
    }

    fn best(&self) -> String {
        match self.best {
            Some((start, length)) => format!("start = {start}, length = {length}"),
            None => "none".to_owned(),
        }
    }
}

impl Environment for LongestPalindromicSubstring {
    type Config = Config;
    /// `[start, length]` of the leftmost longest palindromic substring.
    type Answer = [usize; 2];

    const META: Meta = Meta {
        name: "longest-palindromic-substring",
        version: env!("CARGO_PKG_VERSION"),
        description: "Find the longest palindromic substring of a hidden string by expanding \
                      around centers (LeetCode 5 Longest Palindromic Substring).",
        category: "strings",
    };

    fn sample_config(seed: u64, difficulty: u32) -> Config {
        let mut rng = config_rng(seed, difficulty);
        let len = scale(difficulty, 5, 26);
        let letters = b"abcd"[..scale(difficulty, 3, 4)].to_vec();
        let mut chars: Vec<u8> = (0..len).map(|_| letters[rng.random_range(0..letters.len())]).collect();
        // Plant one palindrome of a third to a half of the string, so the answer is long.
        let planted = rng.random_range(len / 3..=len / 2).max(2);
        let start = rng.random_range(0..=len - planted);
        for offset in 0..planted / 2 {
            chars[start + planted - 1 - offset] = chars[start + offset];
        }
        Config { string: chars.into_iter().map(char::from).collect() }
    }

    fn reset(config: Config) -> Result<Self, String> {
        if !(1..=MAX_LEN).contains(&config.string.len()) {
            return Err(format!("the string must have between 1 and {MAX_LEN} characters"));
        }
        if !config.string.bytes().all(|b| b.is_ascii_lowercase()) {
            return Err("the string must hold only lowercase ASCII letters".into());
        }
        Ok(Self { chars: config.string.into_bytes(), best: None, comparisons: 0 })
    }

    fn task(&self) -> String {
        format!(
            "A string of {} lowercase letters is hidden from you. Find its longest palindromic \
             substring (the leftmost one if several have that length). CharAt reads a \
             character, CompareChars tells whether two characters are equal, and Length gives \
             the size. A register for the best palindrome so far is kept for you: SetBest \
             stores a start and a length, GetBest shows them. Submit the zero-based start and \
             the length with Done, e.g. {{\"answer\": [2, 5]}}.",
            self.chars.len()
        )
    }

    fn observe(&self) -> String {
        format!(
            "String length: {}. Comparisons so far: {}. Best register: {}.",
            self.chars.len(),
            self.comparisons,
            self.best()
        )
    }

    fn tools(tools: &mut Tools<Self>) {
        tools
            .add("Length", "Return the number of characters in the string.", |env: &mut Self, _: NoArgs| {
                format!("The string has {} characters.", env.chars.len())
            })
            .add(
                "CharAt",
                "Return the character at `index`, as `s[index] = 'c'`.",
                |env: &mut Self, args: IndexArgs| {
                    env.check(args.index)?;
                    Ok::<_, String>(format!("s[{}] = '{}'", args.index, char::from(env.chars[args.index])))
                },
            )
            .add(
                "CompareChars",
                "Tell whether the characters at positions `i` and `j` are equal.",
                |env: &mut Self, args: CompareArgs| {
                    env.check(args.i)?;
                    env.check(args.j)?;
                    env.comparisons += 1;
                    let verdict = if env.chars[args.i] == env.chars[args.j] { "equal" } else { "different" };
                    Ok::<_, String>(format!("s[{}] and s[{}] are {verdict}", args.i, args.j))
                },
            )
            .add(
                "SetBest",
                "Store a substring, by start and length, in the best-palindrome register.",
                |env: &mut Self, args: BestArgs| {
                    if args.length == 0 || args.start.saturating_add(args.length) > env.chars.len() {
                        return Err(format!(
                            "start {} and length {} do not give a non-empty substring of a string of {} \
                             characters",
                            args.start,
                            args.length,
                            env.chars.len()
                        ));
                    }
                    env.best = Some((args.start, args.length));
                    Ok(format!("Best: {}.", env.best()))
                },
            )
            .add("GetBest", "Return the best-palindrome register.", |env: &mut Self, _: NoArgs| {
                format!("Best: {}.", env.best())
            });
    }

    fn reference_answer(&self) -> [usize; 2] {
        let (start, length) = longest_palindrome(&self.chars);
        [start, length]
    }
}

/// Expand around each center left to right, skipping centers that cannot beat the best.
pub struct LongestPalindromicSubstringOracle;

impl Oracle for LongestPalindromicSubstringOracle {
    async fn solve(agent: Agent, _task: String) {
        let len = first_int(&agent.call("Length", NoArgs {}).await).unwrap_or(1);
        let mut best = [0, 0];
        for center in 0..2 * len - 1 {
            // The palindrome spans s[low + 1..high] once the ends s[low], s[high] differ.
            let (mut low, mut high) =
                if center % 2 == 0 { (center / 2 - 1, center / 2 + 1) } else { (center / 2, center / 2 + 1) };
            let longest_possible = high - low - 1 + 2 * (low + 1).min(len - high);
            if longest_possible <= best[1] {
                continue;
            }
            while low >= 0 && high < len {
                let compared = agent.call("CompareChars", serde_json::json!({ "i": low, "j": high })).await;
                if !compared.ends_with("equal") {
                    break;
                }
                low -= 1;
                high += 1;
            }
            let length = high - low - 1;
            if length > best[1] {
                best = [low + 1, length];
                agent.call("SetBest", serde_json::json!({ "start": best[0], "length": length })).await;
            }
        }
        agent.done(best).await;
    }
}

export_env!(LongestPalindromicSubstring, LongestPalindromicSubstringOracle);

#[cfg(test)]
mod tests {
    use codegym_env_sdk::{Session, ToolCall, testing};

    use super::*;

    const CONFIG: &str = r#"{"string": "babadcbbd"}"#;

    #[test]
    fn oracle_solves_every_difficulty() {
        testing::check_environment::<LongestPalindromicSubstring, LongestPalindromicSubstringOracle>(10);
    }

    #[test]
    fn reference_is_the_leftmost_longest() {
        for (string, expected) in [
            ("babadcbbd", [0, 3]),
            ("babadcbbc", [5, 4]),
            ("cbbd", [1, 2]),
            ("a", [0, 1]),
            ("abcd", [0, 1]),
            ("xabbaabbay", [1, 8]),
        ] {
            let chars = string.as_bytes();
            let (start, length) = longest_palindrome(chars);
            assert_eq!([start, length], expected, "{string}");
        }
    }

    #[test]
    fn tools_compare_and_record() {
        let mut session = testing::session::<LongestPalindromicSubstring>(CONFIG);
        let mut step = |name: &str, args: &str| session.step(&ToolCall::new(name, args)).observation;
        assert_eq!(step("CharAt", r#"{"index": 4}"#), "s[4] = 'd'");
        assert_eq!(step("CompareChars", r#"{"i": 0, "j": 2}"#), "s[0] and s[2] are equal");
        assert_eq!(step("CompareChars", r#"{"i": 5, "j": 6}"#), "s[5] and s[6] are different");
        assert_eq!(step("GetBest", "{}"), "Best: none.");
        assert_eq!(step("SetBest", r#"{"start": 5, "length": 4}"#), "Best: start = 5, length = 4.");
        for (name, args) in [
            ("CharAt", r#"{"index": 9}"#),
            ("CompareChars", r#"{"i": 0, "j": 9}"#),
            ("SetBest", r#"{"start": 6, "length": 4}"#),
            ("SetBest", r#"{"start": 0, "length": 0}"#),
            ("SetBest", r#"{"start": 1}"#),
        ] {
            assert!(step(name, args).starts_with("Error:"), "{name} {args}");
        }
        assert_eq!(
            step("Observe", "{}"),
            "String length: 9. Comparisons so far: 2. Best register: start = 5, length = 4."
        );
    }

    #[test]
    fn answers_are_graded_and_configs_validated() {
        assert_eq!(testing::session::<LongestPalindromicSubstring>(CONFIG).reference_answer(), "[0,3]");
        // "aba" at 1 is as long as "bab" at 0, but not the leftmost.
        let step = testing::session::<LongestPalindromicSubstring>(CONFIG)
            .step(&ToolCall::new("Done", r#"{"answer": [1, 3]}"#));
        assert!(step.done && step.reward == 0.0);
        let step = testing::session::<LongestPalindromicSubstring>(CONFIG)
            .step(&ToolCall::new("Done", r#"{"answer": [0, 3]}"#));
        assert!(step.done && step.reward == 1.0);
        let mut session = Session::<LongestPalindromicSubstring>::new();
        for bad in [r#"{"string": ""}"#, r#"{"string": "abC"}"#, r#"{"string": "ab1"}"#] {
            assert!(session.reset(bad).is_err(), "{bad}");
        }
    }
}
