//! Rotate a hidden square matrix 90 degrees clockwise in place (LeetCode 48 "Rotate Image").
//!
//! The reference solution is transpose-then-mirror: swap `a[i][j]` with `a[j][i]` for every
//! `i < j` (`TransposeSwap`), then reverse every row by swapping `a[i][j]` with
//! `a[i][n-1-j]` (`MirrorSwap`). `Swap` exchanges any two cells, for other strategies such as
//! rotating four cells at a time. The matrix lives in the environment, and an answer only
//! counts when the matrix there really is rotated: the agent then reports the main diagonal
//! of the rotated matrix, read with `Get`.

use codegym_env_sdk::prelude::*;

/// Largest side a config's matrix may have.
const MAX_N: usize = 50;

#[derive(Serialize, Deserialize)]
pub struct Config {
    /// A square matrix, as rows.
    pub matrix: Vec<Vec<i64>>,
}

pub struct RotateMatrix {
    /// The matrix as the agent rearranges it.
    grid: Vec<Vec<i64>>,
    /// The matrix rotated clockwise: what `grid` must become.
    rotated: Vec<Vec<i64>>,
    swaps: u32,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct CellArgs {
    /// Zero-based row.
    row: usize,
    /// Zero-based column.
    col: usize,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct SwapArgs {
    /// Row of the first cell.
    row1: usize,
    /// Column of the first cell.
    col1: usize,
    /// Row of the second cell.
    row2: usize,
    /// Column of the second cell.
    col2: usize,
}

fn rotate(matrix: &[Vec<i64>]) -> Vec<Vec<i64>> {
    let n = matrix.len();
    (0..n).map(|row| (0..n).map(|col| matrix[n - 1 - col][row]).collect()).collect()
}

impl RotateMatrix {
    fn swap(&mut self, (row1, col1): (usize, usize), (row2, col2): (usize, usize)) -> Result<String, String> {
        let n = self.grid.len();
        for (row, col) in [(row1, col1), (row2, col2)] {
            if row >= n || col >= n {
                return Err(format!("cell ({row}, {col}) is outside the {n} x {n} matrix"));
            }
        }
        let first = self.grid[row1][col1];
        self.grid[row1][col1] = self.grid[row2][col2];
        self.grid[row2][col2] = first;
        self.swaps += 1;
        Ok(format!("Swapped a[{row1}][{col1}] and a[{row2}][{col2}]."))
    }
}

impl Environment for RotateMatrix {
    type Config = Config;
    /// The main diagonal of the rotated matrix, `a[0][0], a[1][1], ...`.
    type Answer = Vec<i64>;

    const META: Meta = Meta {
        name: "rotate-matrix",
        version: env!("CARGO_PKG_VERSION"),
        description: "Rotate a hidden square matrix 90 degrees clockwise in place with cell swaps \
                      (LeetCode 48 Rotate Image).",
        category: "matrices",
    };

    fn sample_config(seed: u64, difficulty: u32) -> Config {
        let mut rng = config_rng(seed, difficulty);
        let n = scale(difficulty, 3, 10);
        let matrix = (0..n).map(|_| (0..n).map(|_| rng.random_range(-99..=99)).collect()).collect();
        Config { matrix }
    }

    fn reset(config: Config) -> Result<Self, String> {
        let n = config.matrix.len();
        if !(1..=MAX_N).contains(&n) {
            return Err(format!("the matrix side must be between 1 and {MAX_N}"));
        }
        if config.matrix.iter().any(|row| row.len() != n) {
            return Err("the matrix must be square".to_owned());
        }
        let rotated = rotate(&config.matrix);
        Ok(Self { grid: config.matrix, rotated, swaps: 0 })
    }

    fn task(&self) -> String {
        format!(
            "A {n} x {n} matrix of integers is hidden from you. Rotate it 90 degrees clockwise \
             in place, using swaps: Swap exchanges any two cells, TransposeSwap exchanges \
             a[row][col] with a[col][row], and MirrorSwap exchanges a[row][col] with \
             a[row][n-1-col]. Get reads a cell and Size tells n. Then submit the main diagonal \
             of the rotated matrix (a[0][0], a[1][1], ...) with Done, e.g. \
             {{\"answer\": [7, 5, 3]}}. The answer only counts if the matrix is rotated.",
            n = self.grid.len()
        )
    }

    fn observe(&self) -> String {
        format!("Matrix: {n} x {n}. Swaps so far: {}.", self.swaps, n = self.grid.len())
    }

    fn tools(tools: &mut Tools<Self>) {
        tools
            .add("Size", "Return n, the side of the square matrix.", |env: &mut Self, _: NoArgs| {
                format!("n = {}", env.grid.len())
            })
            .add(
                "Get",
                "Return the cell at (`row`, `col`), as `a[row][col] = value`.",
                |env: &mut Self, args: CellArgs| match env
                    .grid
                    .get(args.row)
                    .and_then(|row| row.get(args.col))
                {
                    Some(value) => Ok(format!("a[{}][{}] = {value}", args.row, args.col)),
                    None => Err(format!("cell ({}, {}) is outside the matrix", args.row, args.col)),
                },
            )
            .add(
                "Swap",
                "Exchange the cells (`row1`, `col1`) and (`row2`, `col2`).",
                |env: &mut Self, args: SwapArgs| env.swap((args.row1, args.col1), (args.row2, args.col2)),
            )
            .add(
                "TransposeSwap",
                "Exchange a[row][col] with its mirror across the main diagonal, a[col][row].",
                |env: &mut Self, args: CellArgs| env.swap((args.row, args.col), (args.col, args.row)),
            )
            .add(
                "MirrorSwap",
                "Exchange a[row][col] with its mirror in the same row, a[row][n-1-col].",
                |env: &mut Self, args: CellArgs| {
                    let mirror = env.grid.len().checked_sub(args.col + 1).ok_or(format!(
                        "column {} is outside the {n} x {n} matrix",
                        args.col,
                        n = env.grid.len()
                    ))?;
                    env.swap((args.row, args.col), (args.row, mirror))
                },
            );
    }

    fn reference_answer(&self) -> Vec<i64> {
        (0..self.rotated.len()).map(|i| self.rotated[i][i]).collect()
    }

    fn is_correct(&self, answer: &Vec<i64>) -> bool {
        self.grid == self.rotated && *answer == self.reference_answer()
    }
}

/// Transpose, mirror each row, then read the diagonal.
pub struct RotateMatrixOracle;

impl Oracle for RotateMatrixOracle {
    async fn solve(agent: Agent, _task: String) {
        let n = first_int(&agent.call("Size", NoArgs {}).await).unwrap_or(0);
        for row in 0..n {
            for col in row + 1..n {
                agent.call("TransposeSwap", serde_json::json!({ "row": row, "col": col })).await;
            }
        }
        for row in 0..n {
            for col in 0..n / 2 {
                agent.call("MirrorSwap", serde_json::json!({ "row": row, "col": col })).await;
            }
        }
        let mut diagonal = Vec::new();
        for i in 0..n {
            let cell = agent.call("Get", serde_json::json!({ "row": i, "col": i })).await;
            diagonal.push(ints(&cell).last().copied().unwrap_or(0));
        }
        agent.done(diagonal).await;
    }
}

export_env!(RotateMatrix, RotateMatrixOracle);

#[cfg(test)]
mod tests {
    use codegym_env_sdk::{Session, ToolCall, testing};

    use super::*;

    const CONFIG: &str = r#"{"matrix": [[1, 2, 3], [4, 5, 6], [7, 8, 9]]}"#;

    #[test]
    fn oracle_solves_every_difficulty() {
        testing::check_environment::<RotateMatrix, RotateMatrixOracle>(10);
    }

    #[test]
    fn swaps_rearrange_the_matrix() {
        let mut session = testing::session::<RotateMatrix>(CONFIG);
        let mut step = |name: &str, args: &str| session.step(&ToolCall::new(name, args)).observation;
        assert_eq!(step("Size", "{}"), "n = 3");
        assert_eq!(step("TransposeSwap", r#"{"row": 0, "col": 2}"#), "Swapped a[0][2] and a[2][0].");
        assert_eq!(step("Get", r#"{"row": 0, "col": 2}"#), "a[0][2] = 7");
        assert_eq!(step("MirrorSwap", r#"{"row": 1, "col": 0}"#), "Swapped a[1][0] and a[1][2].");
        assert_eq!(step("Get", r#"{"row": 1, "col": 0}"#), "a[1][0] = 6");
        assert_eq!(
            step("Swap", r#"{"row1": 0, "col1": 0, "row2": 2, "col2": 2}"#),
            "Swapped a[0][0] and a[2][2]."
        );
        assert_eq!(step("Get", r#"{"row": 0, "col": 0}"#), "a[0][0] = 9");
        for (name, args) in [
            ("Get", r#"{"row": 3, "col": 0}"#),
            ("TransposeSwap", r#"{"row": 0, "col": 3}"#),
            ("MirrorSwap", r#"{"row": 0, "col": 3}"#),
            ("Swap", r#"{"row1": 0, "col1": 0, "row2": 0, "col2": 5}"#),
            ("Swap", r#"{"row1": 0, "col1": 0}"#),
        ] {
            assert!(step(name, args).starts_with("Error:"), "{name} {args}");
        }
        assert_eq!(step("Observe", "{}"), "Matrix: 3 x 3. Swaps so far: 3.");
    }

    #[test]
    fn answers_need_the_rotation() {
        assert_eq!(testing::session::<RotateMatrix>(CONFIG).reference_answer(), "[7,5,3]");
        // The right diagonal without rotating the matrix does not count.
        let done = ToolCall::new("Done", r#"{"answer": [7, 5, 3]}"#);
        let step = testing::session::<RotateMatrix>(CONFIG).step(&done);
        assert!(step.done && step.reward == 0.0);
        let mut session = testing::session::<RotateMatrix>(CONFIG);
        for (row, col) in [(0, 1), (0, 2), (1, 2)] {
            session.step(&ToolCall::new("TransposeSwap", format!(r#"{{"row": {row}, "col": {col}}}"#)));
        }
        for row in 0..3 {
            session.step(&ToolCall::new("MirrorSwap", format!(r#"{{"row": {row}, "col": 0}}"#)));
        }
        let step = session.step(&done);
        assert!(step.done && step.reward == 1.0);
        let mut session = Session::<RotateMatrix>::new();
        assert!(session.reset(r#"{"matrix": []}"#).is_err());
        assert!(session.reset(r#"{"matrix": [[1, 2], [3]]}"#).is_err());
    }
}
