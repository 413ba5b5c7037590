//! Find every occurrence of a target in a hidden sorted matrix (LeetCode 240 "Search a 2D
//! Matrix II") by the staircase search.
//!
//! Rows increase left to right and columns increase top to bottom. The reference solution
//! starts a cursor at the top-right corner: a cell above the target rules out its column
//! (`MoveLeft`), a cell below the target rules out its row (`MoveDown`), and a match is
//! recorded before moving down. The search ends when the cursor would leave the matrix.
//! `Cell` reads any cell directly, for other strategies.

use codegym_env_sdk::prelude::*;

/// Most rows or columns a config may hold.
const MAX_DIM: usize = 100;

#[derive(Serialize, Deserialize)]
pub struct Config {
    /// Rows strictly increase left to right; columns strictly increase top to bottom.
    pub matrix: Vec<Vec<i64>>,
    pub target: i64,
}

pub struct SearchSortedMatrix {
    config: Config,
    /// The cursor's (row, column); it starts at the top-right corner.
    cursor: (usize, usize),
    moves: u32,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct CellArgs {
    /// Zero-based row.
    row: usize,
    /// Zero-based column.
    col: usize,
}

impl SearchSortedMatrix {
    fn cursor_text(&self) -> String {
        let (row, col) = self.cursor;
        format!("cursor at ({row}, {col}): a[{row}][{col}] = {}", self.config.matrix[row][col])
    }
}

impl Environment for SearchSortedMatrix {
    type Config = Config;
    /// The `[row, column]` positions of the target in row-major order.
    type Answer = Vec<[usize; 2]>;

    const META: Meta = Meta {
        name: "search-sorted-matrix",
        version: env!("CARGO_PKG_VERSION"),
        description: "Find every position of a target in a hidden row- and column-sorted matrix \
                      with the staircase search (LeetCode 240 Search a 2D Matrix II).",
        category: "matrices",
    };

    fn sample_config(seed: u64, difficulty: u32) -> Config {
        let mut rng = config_rng(seed, difficulty);
        let rows = scale(difficulty, 5, 26) + rng.random_range(0..=2);
        let cols = scale(difficulty, 5, 26) + rng.random_range(0..=2);
        let start = rng.random_range(0..=20);
        let mut matrix = vec![vec![0i64; cols]; rows];
        for row in 0..rows {
            for col in 0..cols {
                // Small steps make equal values along anti-diagonals, so targets repeat.
                let up = if row > 0 { matrix[row - 1][col] } else { start };
                let left = if col > 0 { matrix[row][col - 1] } else { start };
                matrix[row][col] = up.max(left) + rng.random_range(1..=2);
            }
        }
        // A target from the lower-left part makes the staircase walk most of the way across.
        let target = matrix[rng.random_range(rows / 2..rows)][rng.random_range(0..=cols / 2)];
        Config { matrix, target }
    }

    fn reset(config: Config) -> Result<Self, String> {
        let rows = config.matrix.len();
        let cols = config.matrix.first().map_or(0, Vec::len);
        if !(1..=MAX_DIM).contains(&rows) || !(1..=MAX_DIM).contains(&cols) {
            return Err(format!("the matrix must have between 1 and {MAX_DIM} rows and columns"));
        }
        if config.matrix.iter().any(|row| row.len() != cols) {
            return Err("every row must have the same length".to_owned());
        }
        for row in 0..rows {
            for col in 0..cols {
                let value = config.matrix[row][col];
                if (col > 0 && config.matrix[row][col - 1] >= value)
                    || (row > 0 && config.matrix[row - 1][col] >= value)
                {
                    return Err(format!("a[{row}][{col}] breaks the strict row or column order"));
                }
            }
        }
        Ok(Self { config, cursor: (0, cols - 1), moves: 0 })
    }

    fn task(&self) -> String {
        format!(
            "A matrix of {} rows and {} columns is hidden from you. Each row strictly \
             increases from left to right and each column strictly increases from top to \
             bottom. Find every cell equal to the target (Target tells it). Cell reads any \
             cell; a cursor starts at the top-right corner: Cursor reads it, MoveLeft and \
             MoveDown move it one cell. Submit the [row, column] positions of all matches in \
             row-major order with Done, e.g. {{\"answer\": [[0, 3], [2, 1]]}}.",
            self.config.matrix.len(),
            self.config.matrix[0].len()
        )
    }

    fn observe(&self) -> String {
        format!(
            "Matrix: {} rows, {} columns. Cursor at ({}, {}). Cursor moves so far: {}.",
            self.config.matrix.len(),
            self.config.matrix[0].len(),
            self.cursor.0,
            self.cursor.1,
            self.moves
        )
    }

    fn tools(tools: &mut Tools<Self>) {
        tools
            .add("Dimensions", "Return the number of rows and columns.", |env: &mut Self, _: NoArgs| {
                format!("{} rows, {} columns", env.config.matrix.len(), env.config.matrix[0].len())
            })
            .add("Target", "Return the target value.", |env: &mut Self, _: NoArgs| {
                format!("target = {}", env.config.target)
            })
            .add(
                "Cell",
                "Return the cell at (`row`, `col`), as `a[row][col] = value`.",
                |env: &mut Self, args: CellArgs| match env
                    .config
                    .matrix
                    .get(args.row)
                    .and_then(|row| row.get(args.col))
                {
                    Some(value) => Ok(format!("a[{}][{}] = {value}", args.row, args.col)),
                    None => Err(format!("cell ({}, {}) is outside the matrix", args.row, args.col)),
                },
            )
            .add(
                "Cursor",
                "Return the cursor's position and the value under it.",
                |env: &mut Self, _: NoArgs| env.cursor_text(),
            )
            .add(
                "MoveLeft",
                "Move the cursor one column left and read the new cell.",
                |env: &mut Self, _: NoArgs| {
                    if env.cursor.1 == 0 {
                        return Err("the cursor is in column 0 and cannot move left".to_owned());
                    }
                    env.cursor.1 -= 1;
                    env.moves += 1;
                    Ok(env.cursor_text())
                },
            )
            .add(
                "MoveDown",
                "Move the cursor one row down and read the new cell.",
                |env: &mut Self, _: NoArgs| {
                    if env.cursor.0 + 1 >= env.config.matrix.len() {
                        return Err("the cursor is in the last row and cannot move down".to_owned());
                    }
                    env.cursor.0 += 1;
                    env.moves += 1;
                    Ok(env.cursor_text())
                },
            );
    }

    fn reference_answer(&self) -> Vec<[usize; 2]> {
        let mut found = Vec::new();
        for (row, values) in self.config.matrix.iter().enumerate() {
            for (col, &value) in values.iter().enumerate() {
                if value == self.config.target {
                    found.push([row, col]);
                }
            }
        }
        found
    }
}

/// The staircase from the top-right corner; in a strictly sorted matrix a row holds at most
/// one match, so matches come out in row-major order.
pub struct SearchSortedMatrixOracle;

impl Oracle for SearchSortedMatrixOracle {
    async fn solve(agent: Agent, _task: String) {
        let target = first_int(&agent.call("Target", NoArgs {}).await).unwrap_or(0);
        let mut cell = agent.call("Cursor", NoArgs {}).await;
        let mut found = Vec::new();
        while !cell.starts_with("Error:") {
            let Some(&[row, col, _, _, value]) = ints(&cell).get(..5) else { break };
            cell = if value > target {
                agent.call("MoveLeft", NoArgs {}).await
            } else {
                if value == target {
                    found.push([row, col]);
                }
                agent.call("MoveDown", NoArgs {}).await
            };
        }
        agent.done(found).await;
    }
}

export_env!(SearchSortedMatrix, SearchSortedMatrixOracle);

#[cfg(test)]
mod tests {
    use codegym_env_sdk::{Session, ToolCall, testing};

    use super::*;

    const CONFIG: &str = r#"{"matrix": [[1, 4, 7], [2, 5, 8], [4, 6, 9]], "target": 4}"#;

    #[test]
    fn oracle_solves_every_difficulty() {
        testing::check_environment::<SearchSortedMatrix, SearchSortedMatrixOracle>(10);
    }

    #[test]
    fn cursor_moves_and_reads() {
        let mut session = testing::session::<SearchSortedMatrix>(CONFIG);
        let mut step = |name: &str, args: &str| session.step(&ToolCall::new(name, args)).observation;
        assert_eq!(step("Dimensions", "{}"), "3 rows, 3 columns");
        assert_eq!(step("Target", "{}"), "target = 4");
        assert_eq!(step("Cursor", "{}"), "cursor at (0, 2): a[0][2] = 7");
        assert_eq!(step("MoveLeft", "{}"), "cursor at (0, 1): a[0][1] = 4");
        assert_eq!(step("MoveDown", "{}"), "cursor at (1, 1): a[1][1] = 5");
        assert_eq!(step("Cell", r#"{"row": 2, "col": 0}"#), "a[2][0] = 4");
        assert_eq!(step("MoveLeft", "{}"), "cursor at (1, 0): a[1][0] = 2");
        assert_eq!(step("MoveDown", "{}"), "cursor at (2, 0): a[2][0] = 4");
        for (name, args) in [
            ("MoveDown", "{}"),
            ("MoveLeft", "{}"),
            ("Cell", r#"{"row": 3, "col": 0}"#),
            ("Cell", r#"{"row": 0, "col": -1}"#),
        ] {
            assert!(step(name, args).starts_with("Error:"), "{name} {args}");
        }
        assert_eq!(
            step("Observe", "{}"),
            "Matrix: 3 rows, 3 columns. Cursor at (2, 0). Cursor moves so far: 4."
        );
    }

    #[test]
    fn answers_are_graded_and_configs_validated() {
        assert_eq!(testing::session::<SearchSortedMatrix>(CONFIG).reference_answer(), "[[0,1],[2,0]]");
        let step = testing::session::<SearchSortedMatrix>(CONFIG)
            .step(&ToolCall::new("Done", r#"{"answer": [[0, 1]]}"#));
        assert!(step.done && step.reward == 0.0);
        let mut session = Session::<SearchSortedMatrix>::new();
        assert!(session.reset(r#"{"matrix": [], "target": 1}"#).is_err());
        assert!(session.reset(r#"{"matrix": [[1, 2], [3]], "target": 1}"#).is_err());
        assert!(session.reset(r#"{"matrix": [[1, 2], [2, 2]], "target": 1}"#).is_err());
    }
}
