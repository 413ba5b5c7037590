//! Longest common subsequence of two hidden strings (LeetCode 1143 "Longest Common
//! Subsequence"), by the classic DP table.
//!
//! `dp[i][j]` is the LCS length of the prefixes `a[..i]` and `b[..j]`; row 0 and column 0
//! are 0. When `a[i-1] == b[j-1]` the reference solution sets `dp[i][j] = dp[i-1][j-1] + 1`,
//! otherwise `dp[i][j] = max(dp[i-1][j], dp[i][j-1])`. The agent reads characters with
//! `CharA` / `CharB`, compares them itself, and fills the table held by the environment
//! with `FillMatch` or `FillMax`, one cell per call; `GetCell` reads a cell.

use codegym_env_sdk::prelude::*;

/// Longest string a config may hold.
const MAX_LEN: usize = 60;

#[derive(Serialize, Deserialize)]
pub struct Config {
    /// Lowercase ASCII letters.
    pub a: String,
    /// Lowercase ASCII letters.
    pub b: String,
}

pub struct LongestCommonSubsequence {
    a: Vec<u8>,
    b: Vec<u8>,
    /// The agent's table, row-major `(len a + 1) x (len b + 1)`; `None` is not yet filled.
    dp: Vec<Option<u32>>,
    fills: usize,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct CellArgs {
    /// Prefix length of `a`: 0 to len(a).
    i: usize,
    /// Prefix length of `b`: 0 to len(b).
    j: usize,
}

fn lcs(a: &[u8], b: &[u8]) -> u32 {
    let mut row = vec![0u32; b.len() + 1];
    for &x in a {
        let mut diagonal = 0;
        for (j, &y) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if x == y { diagonal + 1 } else { above.max(row[j]) };
            diagonal = above;
        }
    }
    row[b.len()]
}

impl LongestCommonSubsequence {
    fn index(&self, i: usize, j: usize) -> Result<usize, String> {
        if i <= self.a.len() && j <= self.b.len() {
            Ok(i * (self.b.len() + 1) + j)
        } else {
            Err(format!(
                "cell ({i}, {j}) is outside the table (i <= {}, j <= {})",
                self.a.len(),
                self.b.len()
            ))
        }
    }

    /// A filled cell's value, or an error naming it.
    fn get(&self, i: usize, j: usize) -> Result<u32, String> {
        self.dp[self.index(i, j)?].ok_or(format!("dp[{i}][{j}] is not filled yet"))
    }

    /// The index of an inner cell (i, j >= 1), which the fill tools write.
    fn inner(&self, i: usize, j: usize) -> Result<usize, String> {
        let index = self.index(i, j)?;
        if i == 0 || j == 0 {
            return Err(format!("dp[{i}][{j}] is on row or column 0, which is fixed at 0"));
        }
        Ok(index)
    }
}

fn read_char(text: &[u8], name: &str, index: usize) -> Result<String, String> {
    match text.get(index) {
        Some(&c) => Ok(format!("{name}[{index}] = '{}'", c as char)),
        None => Err(format!("index {index} is out of range (len({name}) = {})", text.len())),
    }
}

impl Environment for LongestCommonSubsequence {
    type Config = Config;
    type Answer = u32;

    const META: Meta = Meta {
        name: "longest-common-subsequence",
        version: env!("CARGO_PKG_VERSION"),
        description: "Length of the longest common subsequence of two hidden strings, by the DP \
                      table (LeetCode 1143).",
        category: "dynamic-programming",
    };

    fn sample_config(seed: u64, difficulty: u32) -> Config {
        let mut rng = config_rng(seed, difficulty);
        let letters = scale(difficulty, 3, 5) as u8;
        let mut word = |len: usize| -> String {
            (0..len).map(|_| (b'a' + rng.random_range(0..letters)) as char).collect()
        };
        let a = word(scale(difficulty, 2, 9));
        let b = word(scale(difficulty, 3, 10));
        Config { a, b }
    }

    fn reset(config: Config) -> Result<Self, String> {
        for text in [&config.a, &config.b] {
            if text.len() > MAX_LEN || !text.bytes().all(|c| c.is_ascii_lowercase()) {
                return Err(format!("strings must be at most {MAX_LEN} lowercase ASCII letters"));
            }
        }
        let (a, b) = (config.a.into_bytes(), config.b.into_bytes());
        let mut dp = vec![None; (a.len() + 1) * (b.len() + 1)];
        for i in 0..=a.len() {
            dp[i * (b.len() + 1)] = Some(0);
        }
        for cell in dp.iter_mut().take(b.len() + 1) {
            *cell = Some(0);
        }
        Ok(Self { a, b, dp, fills: 0 })
    }

    fn task(&self) -> String {
        format!(
            "Two strings a (length {}) and b (length {}) are hidden from you. Find the length of \
             their longest common subsequence. Lengths gives both lengths, CharA and CharB read \
             one character. A DP table is kept for you, where dp[i][j] is the answer for the \
             prefixes a[..i] and b[..j]; row 0 and column 0 hold 0, the other cells start \
             unfilled. FillMatch(i, j) sets dp[i][j] = dp[i-1][j-1] + 1 (for when a[i-1] = \
             b[j-1]), FillMax(i, j) sets dp[i][j] = max(dp[i-1][j], dp[i][j-1]), and GetCell \
             reads a cell. Submit the length with Done, e.g. {{\"answer\": 3}}.",
            self.a.len(),
            self.b.len()
        )
    }

    fn observe(&self) -> String {
        format!(
            "len(a) = {}, len(b) = {}. Fill calls so far: {}. Unfilled cells: {}.",
            self.a.len(),
            self.b.len(),
            self.fills,
            self.dp.iter().filter(|cell| cell.is_none()).count()
        )
    }

    fn tools(tools: &mut Tools<Self>) {
        tools
            .add("Lengths", "Return the lengths of both strings.", |env: &mut Self, _: NoArgs| {
                format!("len(a) = {}, len(b) = {}", env.a.len(), env.b.len())
            })
            .add(
                "CharA",
                "Return the character of `a` at zero-based `index`.",
                |env: &mut Self, args: IndexArgs| read_char(&env.a, "a", args.index),
            )
            .add(
                "CharB",
                "Return the character of `b` at zero-based `index`.",
                |env: &mut Self, args: IndexArgs| read_char(&env.b, "b", args.index),
            )
            .add(
                "FillMatch",
                "Set dp[i][j] = dp[i-1][j-1] + 1, the step for a[i-1] = b[j-1] (i, j >= 1).",
                |env: &mut Self, args: CellArgs| {
                    let index = env.inner(args.i, args.j)?;
                    let diagonal = env.get(args.i - 1, args.j - 1)?;
                    env.dp[index] = Some(diagonal + 1);
                    env.fills += 1;
                    Ok::<_, String>(format!(
                        "dp[{}][{}] = dp[{}][{}] + 1 = {}",
                        args.i,
                        args.j,
                        args.i - 1,
                        args.j - 1,
                        diagonal + 1
                    ))
                },
            )
            .add(
                "FillMax",
                "Set dp[i][j] = max(dp[i-1][j], dp[i][j-1]), the step for a[i-1] != b[j-1] (i, j >= 1).",
                |env: &mut Self, args: CellArgs| {
                    let index = env.inner(args.i, args.j)?;
                    let above = env.get(args.i - 1, args.j)?;
                    let left = env.get(args.i, args.j - 1)?;
                    env.dp[index] = Some(above.max(left));
                    env.fills += 1;
                    Ok::<_, String>(format!(
                        "dp[{}][{}] = max({above}, {left}) = {}",
                        args.i,
                        args.j,
                        above.max(left)
                    ))
                },
            )
            .add("GetCell", "Return the table cell dp[i][j].", |env: &mut Self, args: CellArgs| {
                let value = env.get(args.i, args.j)?;
                Ok::<_, String>(format!("dp[{}][{}] = {value}", args.i, args.j))
            });
    }

    fn reference_answer(&self) -> u32 {
        lcs(&self.a, &self.b)
    }
}

/// Read both strings, fill the table row by row, read the corner cell.
pub struct LongestCommonSubsequenceOracle;

/// The character between the quotes of a `CharA` / `CharB` observation.
fn quoted(observation: &str) -> Option<char> {
    observation.split('\'').nth(1)?.chars().next()
}

impl Oracle for LongestCommonSubsequenceOracle {
    async fn solve(agent: Agent, _task: String) {
        let lengths = ints(&agent.call("Lengths", NoArgs {}).await);
        let (n, m) = (lengths.first().copied().unwrap_or(0), lengths.get(1).copied().unwrap_or(0));
        let mut a = Vec::new();
        for index in 0..n {
            a.push(quoted(&agent.call("CharA", serde_json::json!({ "index": index })).await));
        }
        let mut b = Vec::new();
        for index in 0..m {
            b.push(quoted(&agent.call("CharB", serde_json::json!({ "index": index })).await));
        }
        for (i, x) in a.iter().enumerate() {
            for (j, y) in b.iter().enumerate() {
                let tool = if x == y { "FillMatch" } else { "FillMax" };
                agent.call(tool, serde_json::json!({ "i": i + 1, "j": j + 1 })).await;
            }
        }
        let corner = agent.call("GetCell", serde_json::json!({ "i": n, "j": m })).await;
        agent.done(ints(&corner).last().copied().unwrap_or(0)).await;
    }
}

export_env!(LongestCommonSubsequence, LongestCommonSubsequenceOracle);

#[cfg(test)]
mod tests {
    use codegym_env_sdk::{Session, ToolCall, testing};

    use super::*;

    const CONFIG: &str = r#"{"a": "abcde", "b": "ace"}"#;

    #[test]
    fn oracle_solves_every_difficulty() {
        testing::check_environment::<LongestCommonSubsequence, LongestCommonSubsequenceOracle>(10);
    }

    #[test]
    fn tools_fill_the_table_in_order() {
        let mut session = testing::session::<LongestCommonSubsequence>(CONFIG);
        for call in [
            ToolCall::new("CharA", r#"{"index": 5}"#),
            ToolCall::new("CharB", r#"{"index": 3}"#),
            ToolCall::new("FillMatch", r#"{"i": 0, "j": 1}"#),
            ToolCall::new("FillMax", r#"{"i": 2, "j": 2}"#),
            ToolCall::new("GetCell", r#"{"i": 6, "j": 0}"#),
            ToolCall::new("GetCell", r#"{"i": 1, "j": 1}"#),
        ] {
            let step = session.step(&call);
            assert!(step.observation.starts_with("Error:"), "{call:?}: {}", step.observation);
        }
        assert_eq!(session.step(&ToolCall::new("Lengths", "{}")).observation, "len(a) = 5, len(b) = 3");
        assert_eq!(session.step(&ToolCall::new("CharA", r#"{"index": 2}"#)).observation, "a[2] = 'c'");
        assert_eq!(
            session.step(&ToolCall::new("FillMatch", r#"{"i": 1, "j": 1}"#)).observation,
            "dp[1][1] = dp[0][0] + 1 = 1"
        );
        assert_eq!(
            session.step(&ToolCall::new("FillMax", r#"{"i": 1, "j": 2}"#)).observation,
            "dp[1][2] = max(0, 1) = 1"
        );
        assert_eq!(
            session.step(&ToolCall::new("GetCell", r#"{"i": 1, "j": 2}"#)).observation,
            "dp[1][2] = 1"
        );
        assert_eq!(
            session.step(&ToolCall::new("GetCell", r#"{"i": 3, "j": 0}"#)).observation,
            "dp[3][0] = 0"
        );
    }

    #[test]
    fn answers_are_graded_and_bad_configs_rejected() {
        assert_eq!(testing::session::<LongestCommonSubsequence>(CONFIG).reference_answer(), "3");
        let step = testing::session::<LongestCommonSubsequence>(CONFIG)
            .step(&ToolCall::new("Done", r#"{"answer": 2}"#));
        assert!(step.done && step.reward == 0.0);
        let step = testing::session::<LongestCommonSubsequence>(CONFIG)
            .step(&ToolCall::new("Done", r#"{"answer": 3}"#));
        assert!(step.done && step.reward == 1.0);
        let mut session = Session::<LongestCommonSubsequence>::new();
        assert!(session.reset(r#"{"a": "abC", "b": "ab"}"#).is_err());
        assert!(session.reset(&format!(r#"{{"a": "{}", "b": "a"}}"#, "a".repeat(61))).is_err());
    }
}
