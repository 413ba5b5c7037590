//! Run Conway's Game of Life on a hidden board for a few generations (LeetCode 289 "Game of
//! Life", repeated).
//!
//! Cells outside the board are dead. The environment holds the current board and a next
//! board that starts as a copy of it. The reference solution visits every cell, reads its
//! state and live-neighbour count (`LiveNeighbors`), applies the rules (a live cell with 2 or
//! 3 live neighbours survives, a dead cell with exactly 3 becomes alive, every other cell
//! is dead next), writes the cells that change (`SetNext`), and then `Commit`s the next board
//! as the new current one, once per generation.

use codegym_env_sdk::prelude::*;

/// Most rows or columns a config may hold.
const MAX_DIM: usize = 50;
/// Most generations a config may ask for.
const MAX_GENERATIONS: u32 = 100;

#[derive(Serialize, Deserialize)]
pub struct Config {
    /// Rows of equal length: `#` for a live cell, `.` for a dead one.
    pub board: Vec<String>,
    /// How many generations to run.
    pub generations: u32,
}

type Board = Vec<Vec<bool>>;

pub struct GameOfLife {
    current: Board,
    next: Board,
    committed: u32,
    generations: u32,
    /// The board after all generations, computed at reset.
    reference: Board,
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
struct SetNextArgs {
    /// Zero-based row.
    row: usize,
    /// Zero-based column.
    col: usize,
    /// Whether the cell is alive in the next generation.
    alive: bool,
}

fn live_neighbors(board: &Board, row: usize, col: usize) -> usize {
    let mut count = 0;
    for r in row.saturating_sub(1)..=row + 1 {
        for c in col.saturating_sub(1)..=col + 1 {
            if (r, c) != (row, col) && board.get(r).and_then(|cells| cells.get(c)).copied().unwrap_or(false) {
                count += 1;
            }
        }
    }
    count
}

fn step(board: &Board) -> Board {
    (0..board.len())
        .map(|row| {
            (0..board[row].len())
                .map(|col| matches!((board[row][col], live_neighbors(board, row, col)), (true, 2) | (_, 3)))
                .collect()
        })
        .collect()
}

fn live_cells(board: &Board) -> Vec<[usize; 2]> {
    let mut cells = Vec::new();
    for (row, values) in board.iter().enumerate() {
        for (col, &alive) in values.iter().enumerate() {
            if alive {
                cells.push([row, col]);
            }
        }
    }
    cells
}

fn run(board: &Board, generations: u32) -> Board {
    (0..generations).fold(board.clone(), |board, _| step(&board))
}

impl GameOfLife {
    fn check(&self, row: usize, col: usize) -> Result<(), String> {
        if row < self.current.len() && col < self.current[0].len() {
            Ok(())
        } else {
            Err(format!("cell ({row}, {col}) is outside the board"))
        }
    }

    fn state(alive: bool) -> &'static str {
        if alive { "alive" } else { "dead" }
    }
}

impl Environment for GameOfLife {
    type Config = Config;
    /// The `[row, column]` positions of the live cells after the last generation, in
    /// row-major order.
    type Answer = Vec<[usize; 2]>;

    const META: Meta = Meta {
        name: "game-of-life",
        version: env!("CARGO_PKG_VERSION"),
        description: "Run Conway's Game of Life on a hidden board for a few generations, cell by \
                      cell (LeetCode 289 Game of Life).",
        category: "simulation",
    };

    fn sample_config(seed: u64, difficulty: u32) -> Config {
        let mut rng = config_rng(seed, difficulty);
        let rows = scale(difficulty, 3, 6);
        let cols = scale(difficulty, 3, 6);
        let generations = scale(difficulty, 1, 3) as u32;
        // Redraw boards that die out: an empty answer is too easy to guess.
        for _ in 0..100 {
            let board: Board = (0..rows).map(|_| (0..cols).map(|_| rng.random_bool(0.4)).collect()).collect();
            if !live_cells(&run(&board, generations)).is_empty() {
                let board =
                    board.iter().map(|cells| cells.iter().map(|&a| if a { '#' } else { '.' }).collect());
                return Config { board: board.collect(), generations };
            }
        }
        // A 2 x 2 block is a still life: it never dies.
        let mut board = vec![".".repeat(cols); rows];
        board[0] = format!("##{}", ".".repeat(cols - 2));
        board[1] = board[0].clone();
        Config { board, generations }
    }

    fn reset(config: Config) -> Result<Self, String> {
        let rows = config.board.len();
        let cols = config.board.first().map_or(0, String::len);
        if !(1..=MAX_DIM).contains(&rows) || !(1..=MAX_DIM).contains(&cols) {
            return Err(format!("the board must have between 1 and {MAX_DIM} rows and columns"));
        }
        if config.board.iter().any(|row| row.len() != cols || row.chars().any(|c| c != '#' && c != '.')) {
            return Err("every row must have the same length and hold only '#' and '.'".to_owned());
        }
        if !(1..=MAX_GENERATIONS).contains(&config.generations) {
            return Err(format!("generations must be between 1 and {MAX_GENERATIONS}"));
        }
        let current: Board = config.board.iter().map(|row| row.chars().map(|c| c == '#').collect()).collect();
        let reference = run(&current, config.generations);
        Ok(Self { next: current.clone(), current, committed: 0, generations: config.generations, reference })
    }

    fn task(&self) -> String {
        format!(
            "A Game of Life board of {} rows and {} columns is hidden from you; cells outside \
             it are dead. Run {} generations: a live cell with 2 or 3 live neighbours stays \
             alive, a dead cell with exactly 3 becomes alive, and every other cell is dead in \
             the next generation. Cell reads the current board and LiveNeighbors also counts a \
             cell's live neighbours. A next board, a copy of the current one, is kept for you: \
             SetNext changes a cell of it and Commit makes it the current board. Submit the \
             [row, column] positions of the live cells after the last generation, in \
             row-major order, with Done, e.g. {{\"answer\": [[0, 1], [2, 2]]}}.",
            self.current.len(),
            self.current[0].len(),
            self.generations
        )
    }

    fn observe(&self) -> String {
        let changes: usize = self
            .current
            .iter()
            .zip(&self.next)
            .map(|(a, b)| a.iter().zip(b).filter(|(x, y)| x != y).count())
            .sum();
        format!(
            "Board: {} rows, {} columns. Generations committed: {} of {}. Pending changes in the \
             next board: {changes}.",
            self.current.len(),
            self.current[0].len(),
            self.committed,
            self.generations
        )
    }

    fn tools(tools: &mut Tools<Self>) {
        tools
            .add(
                "Size",
                "Return the board's rows and columns and the generations to run.",
                |env: &mut Self, _: NoArgs| {
                    format!(
                        "{} rows, {} columns, {} generations to run",
                        env.current.len(),
                        env.current[0].len(),
                        env.generations
                    )
                },
            )
            .add(
                "Cell",
                "Whether the cell at (`row`, `col`) of the current board is alive.",
                |env: &mut Self, args: CellArgs| {
                    env.check(args.row, args.col)?;
                    Ok::<_, String>(format!(
                        "cell ({}, {}) is {}",
                        args.row,
                        args.col,
                        Self::state(env.current[args.row][args.col])
                    ))
                },
            )
            .add(
                "LiveNeighbors",
                "The state of the cell at (`row`, `col`) of the current board and how many of its \
                 8 neighbours are alive.",
                |env: &mut Self, args: CellArgs| {
                    env.check(args.row, args.col)?;
                    Ok::<_, String>(format!(
                        "cell ({}, {}) is {} with {} live neighbours",
                        args.row,
                        args.col,
                        Self::state(env.current[args.row][args.col]),
                        live_neighbors(&env.current, args.row, args.col)
                    ))
                },
            )
            .add(
                "SetNext",
                "Set the cell at (`row`, `col`) of the next board.",
                |env: &mut Self, args: SetNextArgs| {
                    env.check(args.row, args.col)?;
                    env.next[args.row][args.col] = args.alive;
                    Ok::<_, String>(format!(
                        "next ({}, {}) = {}",
                        args.row,
                        args.col,
                        Self::state(args.alive)
                    ))
                },
            )
            .add(
                "Commit",
                "Make the next board the current one (advance one generation).",
                |env: &mut Self, _: NoArgs| {
                    if env.committed >= env.generations {
                        return Err(format!("all {} generations are already committed", env.generations));
                    }
                    env.current = env.next.clone();
                    env.committed += 1;
                    Ok(format!("Generation {} of {} committed.", env.committed, env.generations))
                },
            );
    }

    fn reference_answer(&self) -> Vec<[usize; 2]> {
        live_cells(&self.reference)
    }
}

/// One sweep of `LiveNeighbors` per generation, writing only the cells that change.
pub struct GameOfLifeOracle;

impl Oracle for GameOfLifeOracle {
    async fn solve(agent: Agent, _task: String) {
        let size = ints(&agent.call("Size", NoArgs {}).await);
        let [rows, cols, generations]: [i64; 3] =
            size.get(..3).and_then(|s| s.try_into().ok()).unwrap_or([0; 3]);
        let mut live = Vec::new();
        for _ in 0..generations {
            live.clear();
            for row in 0..rows {
                for col in 0..cols {
                    let cell =
                        agent.call("LiveNeighbors", serde_json::json!({ "row": row, "col": col })).await;
                    let alive = cell.contains("alive");
                    let neighbors = ints(&cell).last().copied().unwrap_or(0);
                    let next = neighbors == 3 || (alive && neighbors == 2);
                    if next != alive {
                        let args = serde_json::json!({ "row": row, "col": col, "alive": next });
                        agent.call("SetNext", args).await;
                    }
                    if next {
                        live.push([row, col]);
                    }
                }
            }
            agent.call("Commit", NoArgs {}).await;
        }
        agent.done(live).await;
    }
}

export_env!(GameOfLife, GameOfLifeOracle);

#[cfg(test)]
mod tests {
    use codegym_env_sdk::{Session, ToolCall, testing};

    use super::*;

    // A blinker: the vertical bar turns horizontal and back.
    const CONFIG: &str = r##"{"board": [".#.", ".#.", ".#."], "generations": 1}"##;

    #[test]
    fn oracle_solves_every_difficulty() {
        testing::check_environment::<GameOfLife, GameOfLifeOracle>(10);
    }

    #[test]
    fn tools_count_neighbours_and_commit() {
        let mut session = testing::session::<GameOfLife>(CONFIG);
        let mut step = |name: &str, args: &str| session.step(&ToolCall::new(name, args)).observation;
        assert_eq!(step("Size", "{}"), "3 rows, 3 columns, 1 generations to run");
        assert_eq!(
            step("LiveNeighbors", r#"{"row": 1, "col": 0}"#),
            "cell (1, 0) is dead with 3 live neighbours"
        );
        assert_eq!(
            step("LiveNeighbors", r#"{"row": 0, "col": 1}"#),
            "cell (0, 1) is alive with 1 live neighbours"
        );
        assert_eq!(step("SetNext", r#"{"row": 1, "col": 0, "alive": true}"#), "next (1, 0) = alive");
        assert_eq!(step("Cell", r#"{"row": 1, "col": 0}"#), "cell (1, 0) is dead");
        assert_eq!(
            step("Observe", "{}"),
            "Board: 3 rows, 3 columns. Generations committed: 0 of 1. Pending changes in the next board: 1."
        );
        assert_eq!(step("Commit", "{}"), "Generation 1 of 1 committed.");
        assert_eq!(step("Cell", r#"{"row": 1, "col": 0}"#), "cell (1, 0) is alive");
        for (name, args) in [
            ("Commit", "{}"),
            ("Cell", r#"{"row": 3, "col": 0}"#),
            ("LiveNeighbors", r#"{"row": 0, "col": 3}"#),
            ("SetNext", r#"{"row": 0, "col": 0}"#),
            ("SetNext", r#"{"row": -1, "col": 0, "alive": true}"#),
        ] {
            assert!(step(name, args).starts_with("Error:"), "{name} {args}");
        }
    }

    #[test]
    fn answers_are_graded_and_configs_validated() {
        assert_eq!(testing::session::<GameOfLife>(CONFIG).reference_answer(), "[[1,0],[1,1],[1,2]]");
        let two = r##"{"board": [".#.", ".#.", ".#."], "generations": 2}"##;
        assert_eq!(testing::session::<GameOfLife>(two).reference_answer(), "[[0,1],[1,1],[2,1]]");
        let step = testing::session::<GameOfLife>(CONFIG)
            .step(&ToolCall::new("Done", r#"{"answer": [[0, 1], [1, 1], [2, 1]]}"#));
        assert!(step.done && step.reward == 0.0);
        let mut session = Session::<GameOfLife>::new();
        assert!(session.reset(r##"{"board": [], "generations": 1}"##).is_err());
        assert!(session.reset(r##"{"board": ["#.", "#"], "generations": 1}"##).is_err());
        assert!(session.reset(r##"{"board": ["#x"], "generations": 1}"##).is_err());
        assert!(session.reset(r##"{"board": ["#."], "generations": 0}"##).is_err());
    }
}
