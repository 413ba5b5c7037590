//! Number of islands in a hidden grid (LeetCode 200 "Number of Islands"), by depth-first
//! search with an explicit stack.
//!
//! The reference solution scans every cell; each land cell not yet visited starts a new
//! island, whose cells are then flooded: push the cell (marking it visited), and while the
//! stack is not empty pop a cell and push its unvisited land neighbours. The agent reads
//! cells with `Cell`; the visited marks and the stack live in the environment (`Push`, `Pop`,
//! `LandNeighbors`).

use codegym_env_sdk::prelude::*;

/// Largest side a config's grid may have.
const MAX_SIDE: usize = 40;

#[derive(Serialize, Deserialize)]
pub struct Config {
    /// One string per row: `1` is land, `0` is water. All rows have the same length.
    pub grid: Vec<String>,
}

pub struct NumberOfIslands {
    rows: usize,
    cols: usize,
    /// Row-major; `true` is land.
    land: Vec<bool>,
    /// Row-major visited marks, set by `Push`.
    visited: Vec<bool>,
    stack: Vec<(usize, usize)>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct CellArgs {
    /// Zero-based row of the cell.
    row: usize,
    /// Zero-based column of the cell.
    col: usize,
}

/// Islands of a row-major land mask, by iterative flood fill.
fn count_islands(rows: usize, cols: usize, land: &[bool]) -> usize {
    let mut seen = vec![false; land.len()];
    let mut islands = 0;
    for start in 0..land.len() {
        if !land[start] || seen[start] {
            continue;
        }
        islands += 1;
        seen[start] = true;
        let mut stack = vec![start];
        while let Some(cell) = stack.pop() {
            let (row, col) = (cell / cols, cell % cols);
            for (r, c) in around(rows, cols, row, col) {
                let next = r * cols + c;
                if land[next] && !seen[next] {
                    seen[next] = true;
                    stack.push(next);
                }
            }
        }
    }
    islands
}

/// The in-range 4-neighbours of a cell, in the order up, down, left, right.
fn around(rows: usize, cols: usize, row: usize, col: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::with_capacity(4);
    if row > 0 {
        out.push((row - 1, col));
    }
    if row + 1 < rows {
        out.push((row + 1, col));
    }
    if col > 0 {
        out.push((row, col - 1));
    }
    if col + 1 < cols {
        out.push((row, col + 1));
    }
    out
}

impl NumberOfIslands {
    /// The row-major index of an in-range cell, or an error naming the grid size.
    fn cell(&self, row: usize, col: usize) -> Result<usize, String> {
        if row < self.rows && col < self.cols {
            Ok(row * self.cols + col)
        } else {
            Err(format!(
                "cell ({row}, {col}) is outside the grid ({} rows x {} columns)",
                self.rows, self.cols
            ))
        }
    }
}

impl Environment for NumberOfIslands {
    type Config = Config;
    type Answer = usize;

    const META: Meta = Meta {
        name: "number-of-islands",
        version: env!("CARGO_PKG_VERSION"),
        description: "Count the islands of a hidden land/water grid by depth-first flood fill \
                      (LeetCode 200 Number of Islands).",
        category: "graphs",
    };

    fn sample_config(seed: u64, difficulty: u32) -> Config {
        let mut rng = config_rng(seed, difficulty);
        let rows = scale(difficulty, 3, 6);
        let cols = scale(difficulty, 3, 6);
        let grid = (0..rows)
            .map(|_| (0..cols).map(|_| if rng.random_ratio(9, 20) { '1' } else { '0' }).collect())
            .collect();
        Config { grid }
    }

    fn reset(config: Config) -> Result<Self, String> {
        let rows = config.grid.len();
        let cols = config.grid.first().map_or(0, String::len);
        if !(1..=MAX_SIDE).contains(&rows) || !(1..=MAX_SIDE).contains(&cols) {
            return Err(format!("the grid must have between 1 and {MAX_SIDE} rows and columns"));
        }
        if config.grid.iter().any(|row| row.len() != cols) {
            return Err("all rows must have the same length".to_owned());
        }
        let mut land = Vec::with_capacity(rows * cols);
        for byte in config.grid.iter().flat_map(|row| row.bytes()) {
            match byte {
                b'1' => land.push(true),
                b'0' => land.push(false),
                _ => return Err("the grid may hold only '0' and '1'".to_owned()),
            }
        }
        Ok(Self { rows, cols, visited: vec![false; land.len()], land, stack: Vec::new() })
    }

    fn task(&self) -> String {
        format!(
            "A grid of {} rows x {} columns is hidden from you; each cell is land or water. An \
             island is a group of land cells connected up, down, left or right. Count the \
             islands. Dimensions gives the size and Cell reads a cell (and whether it is \
             visited). Visited marks and a stack are kept for you: Push marks a land cell \
             visited and pushes it, Pop removes the top cell, and LandNeighbors lists the \
             unvisited land cells next to a cell. Submit the count with Done, e.g. \
             {{\"answer\": 3}}.",
            self.rows, self.cols
        )
    }

    fn observe(&self) -> String {
        let visited = self.visited.iter().filter(|&&v| v).count();
        format!(
            "Grid: {} rows x {} columns. Visited cells: {visited}. Stack size: {}.",
            self.rows,
            self.cols,
            self.stack.len()
        )
    }

    fn tools(tools: &mut Tools<Self>) {
        tools
            .add(
                "Dimensions",
                "Return the grid size, as `R rows x C columns`.",
                |env: &mut Self, _: NoArgs| format!("{} rows x {} columns", env.rows, env.cols),
            )
            .add(
                "Cell",
                "Read the cell at (`row`, `col`): water, or land and whether it is visited.",
                |env: &mut Self, args: CellArgs| {
                    let index = env.cell(args.row, args.col)?;
                    let what = match (env.land[index], env.visited[index]) {
                        (false, _) => "water",
                        (true, false) => "land, not visited",
                        (true, true) => "land, visited",
                    };
                    Ok::<_, String>(format!("cell ({}, {}): {what}", args.row, args.col))
                },
            )
            .add(
                "Push",
                "Mark the land cell at (`row`, `col`) visited and push it on the stack.",
                |env: &mut Self, args: CellArgs| {
                    let index = env.cell(args.row, args.col)?;
                    if !env.land[index] {
                        return Err(format!("cell ({}, {}) is water", args.row, args.col));
                    }
                    if env.visited[index] {
                        return Err(format!("cell ({}, {}) is already visited", args.row, args.col));
                    }
                    env.visited[index] = true;
                    env.stack.push((args.row, args.col));
                    Ok(format!(
                        "Pushed ({}, {}) and marked it visited; the stack has {} cells.",
                        args.row,
                        args.col,
                        env.stack.len()
                    ))
                },
            )
            .add("Pop", "Remove the top cell of the stack and return it.", |env: &mut Self, _: NoArgs| {
                match env.stack.pop() {
                    Some((row, col)) => {
                        Ok(format!("Popped ({row}, {col}); the stack has {} cells left.", env.stack.len()))
                    }
                    None => Err("the stack is empty"),
                }
            })
            .add(
                "LandNeighbors",
                "List the unvisited land cells next to (`row`, `col`) (up, down, left, right).",
                |env: &mut Self, args: CellArgs| {
                    env.cell(args.row, args.col)?;
                    let found: Vec<String> = around(env.rows, env.cols, args.row, args.col)
                        .into_iter()
                        .filter(|&(r, c)| env.land[r * env.cols + c] && !env.visited[r * env.cols + c])
                        .map(|(r, c)| format!("({r}, {c})"))
                        .collect();
                    let found = if found.is_empty() { "none".to_owned() } else { found.join(", ") };
                    Ok::<_, String>(format!("unvisited land next to ({}, {}): {found}", args.row, args.col))
                },
            );
    }

    fn reference_answer(&self) -> usize {
        count_islands(self.rows, self.cols, &self.land)
    }
}

/// Scan every cell; flood each new island with the environment's stack.
pub struct NumberOfIslandsOracle;

impl Oracle for NumberOfIslandsOracle {
    async fn solve(agent: Agent, _task: String) {
        let size = ints(&agent.call("Dimensions", NoArgs {}).await);
        let (rows, cols) = (size.first().copied().unwrap_or(0), size.get(1).copied().unwrap_or(0));
        let mut islands = 0;
        for row in 0..rows {
            for col in 0..cols {
                let cell = agent.call("Cell", serde_json::json!({ "row": row, "col": col })).await;
                if !cell.ends_with("land, not visited") {
                    continue;
                }
                islands += 1;
                agent.call("Push", serde_json::json!({ "row": row, "col": col })).await;
                let mut stacked = 1;
                while stacked > 0 {
                    let popped = ints(&agent.call("Pop", NoArgs {}).await);
                    stacked -= 1;
                    let Some(&[r, c]) = popped.get(0..2) else { break };
                    let next =
                        ints(&agent.call("LandNeighbors", serde_json::json!({ "row": r, "col": c })).await);
                    for pair in next.get(2..).unwrap_or_default().chunks_exact(2) {
                        agent.call("Push", serde_json::json!({ "row": pair[0], "col": pair[1] })).await;
                        stacked += 1;
                    }
                }
            }
        }
        agent.done(islands).await;
    }
}

export_env!(NumberOfIslands, NumberOfIslandsOracle);

#[cfg(test)]
mod tests {
    use codegym_env_sdk::{Session, ToolCall, testing};

    use super::*;

    const CONFIG: &str = r#"{"grid": ["110", "010", "001"]}"#;

    #[test]
    fn oracle_solves_every_difficulty() {
        testing::check_environment::<NumberOfIslands, NumberOfIslandsOracle>(10);
    }

    #[test]
    fn tools_flood_an_island() {
        let mut session = testing::session::<NumberOfIslands>(CONFIG);
        for call in [
            ToolCall::new("Cell", r#"{"row": 3, "col": 0}"#),
            ToolCall::new("Push", r#"{"row": 0, "col": 2}"#),
            ToolCall::new("LandNeighbors", r#"{"row": 0, "col": 3}"#),
            ToolCall::new("Pop", "{}"),
            ToolCall::new("Cell", r#"{"row": 0}"#),
        ] {
            let step = session.step(&call);
            assert!(step.observation.starts_with("Error:"), "{call:?}: {}", step.observation);
        }
        assert_eq!(session.step(&ToolCall::new("Dimensions", "{}")).observation, "3 rows x 3 columns");
        assert_eq!(
            session.step(&ToolCall::new("Cell", r#"{"row": 0, "col": 2}"#)).observation,
            "cell (0, 2): water"
        );
        assert_eq!(
            session.step(&ToolCall::new("Push", r#"{"row": 0, "col": 0}"#)).observation,
            "Pushed (0, 0) and marked it visited; the stack has 1 cells."
        );
        assert!(
            session.step(&ToolCall::new("Push", r#"{"row": 0, "col": 0}"#)).observation.starts_with("Error:")
        );
        assert_eq!(
            session.step(&ToolCall::new("Cell", r#"{"row": 0, "col": 0}"#)).observation,
            "cell (0, 0): land, visited"
        );
        assert_eq!(
            session.step(&ToolCall::new("Pop", "{}")).observation,
            "Popped (0, 0); the stack has 0 cells left."
        );
        assert_eq!(
            session.step(&ToolCall::new("LandNeighbors", r#"{"row": 0, "col": 0}"#)).observation,
            "unvisited land next to (0, 0): (0, 1)"
        );
        assert_eq!(
            session.step(&ToolCall::new("LandNeighbors", r#"{"row": 2, "col": 2}"#)).observation,
            "unvisited land next to (2, 2): none"
        );
    }

    #[test]
    fn answers_are_graded_and_bad_configs_rejected() {
        assert_eq!(testing::session::<NumberOfIslands>(CONFIG).reference_answer(), "2");
        let step =
            testing::session::<NumberOfIslands>(CONFIG).step(&ToolCall::new("Done", r#"{"answer": 3}"#));
        assert!(step.done && step.reward == 0.0);
        let step =
            testing::session::<NumberOfIslands>(CONFIG).step(&ToolCall::new("Done", r#"{"answer": 2}"#));
        assert!(step.done && step.reward == 1.0);
        let mut session = Session::<NumberOfIslands>::new();
        assert!(session.reset(r#"{"grid": ["10", "1"]}"#).is_err());
        assert!(session.reset(r#"{"grid": ["1x"]}"#).is_err());
        assert!(session.reset(r#"{"grid": []}"#).is_err());
    }
}
