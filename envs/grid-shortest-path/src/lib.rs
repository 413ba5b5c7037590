//! Shortest path in a hidden grid maze (LeetCode 1926 "Nearest Exit from Entrance in Maze",
//! LeetCode 1091 "Shortest Path in Binary Matrix"): breadth-first search.
//!
//! The agent cannot see the grid. `Neighbors` lists a cell's open, not yet visited
//! neighbours; the BFS queue and the visited/distance table live in the environment
//! (`Enqueue`, `Dequeue`, `Distance`), so the reference BFS is a loop of atomic tool calls.

use std::collections::VecDeque;

use codegym_env_sdk::prelude::*;

/// At most this many open cells, so a full BFS (three calls a cell) fits in 256 calls.
const MAX_OPEN: usize = 80;
/// Largest side a config's grid may have.
const MAX_SIDE: usize = 200;

#[derive(Serialize, Deserialize)]
pub struct Config {
    /// One string per row: `.` is open, `#` is a wall. All rows have the same length.
    pub grid: Vec<String>,
    /// `[row, col]` of the start cell (open).
    pub start: [usize; 2],
    /// `[row, col]` of the goal cell (open).
    pub goal: [usize; 2],
}

pub struct GridShortestPath {
    rows: usize,
    cols: usize,
    /// Row-major; `true` is a wall.
    walls: Vec<bool>,
    start: [usize; 2],
    goal: [usize; 2],
    /// Row-major BFS distances recorded by `Enqueue`; `None` is unvisited.
    distance: Vec<Option<u32>>,
    queue: VecDeque<(usize, usize, u32)>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct CellArgs {
    /// Zero-based row of the cell.
    row: usize,
    /// Zero-based column of the cell.
    col: usize,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct EnqueueArgs {
    /// Zero-based row of the cell.
    row: usize,
    /// Zero-based column of the cell.
    col: usize,
    /// The cell's distance (number of moves) from the start.
    distance: u32,
}

impl GridShortestPath {
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

    /// The in-range 4-neighbours of a cell, in the order up, down, left, right.
    fn around(&self, row: usize, col: usize) -> Vec<(usize, usize)> {
        let mut out = Vec::with_capacity(4);
        if row > 0 {
            out.push((row - 1, col));
        }
        if row + 1 < self.rows {
            out.push((row + 1, col));
        }
        if col > 0 {
            out.push((row, col - 1));
        }
        if col + 1 < self.cols {
            out.push((row, col + 1));
        }
        out
    }
}

/// BFS distances from `start` over open cells (row-major, `None` = unreachable).
fn bfs(rows: usize, cols: usize, walls: &[bool], start: [usize; 2]) -> Vec<Option<u32>> {
    let mut distance = vec![None; rows * cols];
    let mut queue = VecDeque::new();
    let Some(first) = distance.get_mut(start[0] * cols + start[1]) else { return distance };
    *first = Some(0);
    queue.push_back((start[0], start[1], 0u32));
    while let Some((row, col, d)) = queue.pop_front() {
        let steps: [(isize, isize); 4] = [(-1, 0), (1, 0), (0, -1), (0, 1)];
        for (dr, dc) in steps {
            let (Some(r), Some(c)) = (row.checked_add_signed(dr), col.checked_add_signed(dc)) else {
                continue;
            };
            if r >= rows || c >= cols || walls[r * cols + c] || distance[r * cols + c].is_some() {
                continue;
            }
            distance[r * cols + c] = Some(d + 1);
            queue.push_back((r, c, d + 1));
        }
    }
    distance
}

impl Environment for GridShortestPath {
    type Config = Config;
    type Answer = i64;

    const META: Meta = Meta {
        name: "grid-shortest-path",
        version: env!("CARGO_PKG_VERSION"),
        description: "Shortest 4-neighbour path from start to goal in a hidden grid with walls, by \
                      breadth-first search (LeetCode 1926 / 1091).",
        category: "graphs",
    };

    fn sample_config(seed: u64, difficulty: u32) -> Config {
        let mut rng = config_rng(seed, difficulty);
        let rows = scale(difficulty, 4, 10);
        let cols = scale(difficulty, 4, 9);
        let wall_percent = scale(difficulty, 15, 30) as u32;
        // Start in the top-left third, goal in the bottom-right third (then mirrored or
        // swapped at random), so the path crosses the grid.
        let (band_r, band_c) = (rows.div_ceil(3) as u32, cols.div_ceil(3) as u32);
        let mut start = [rng.random_range(0..band_r) as usize, rng.random_range(0..band_c) as usize];
        let mut goal = [
            rows - 1 - rng.random_range(0..band_r) as usize,
            cols - 1 - rng.random_range(0..band_c) as usize,
        ];
        if rng.random_bool(0.5) {
            start[1] = cols - 1 - start[1];
            goal[1] = cols - 1 - goal[1];
        }
        if rng.random_bool(0.5) {
            std::mem::swap(&mut start, &mut goal);
        }
        let (s, g) = (start[0] * cols + start[1], goal[0] * cols + goal[1]);
        let mut walls = vec![false; rows * cols];
        for _attempt in 0..200 {
            for (index, wall) in walls.iter_mut().enumerate() {
                *wall = index != s && index != g && rng.random_range(0..100) < wall_percent;
            }
            // Cap the open cells so that a full BFS stays within the episode bound.
            let mut open: Vec<usize> = (0..rows * cols).filter(|&i| !walls[i] && i != s && i != g).collect();
            while open.len() + 2 > MAX_OPEN {
                let pick = rng.random_range(0..open.len() as u32) as usize;
                walls[open.swap_remove(pick)] = true;
            }
            // Keep grids where the start is not boxed in, so the search has work to do.
            let reachable = bfs(rows, cols, &walls, start).iter().filter(|d| d.is_some()).count();
            if reachable >= 4 {
                break;
            }
        }
        let grid = walls
            .chunks(cols)
            .map(|row| row.iter().map(|&wall| if wall { '#' } else { '.' }).collect())
            .collect();
        Config { grid, start, goal }
    }

    fn reset(config: Config) -> Result<Self, String> {
        let rows = config.grid.len();
        let cols = config.grid.first().map_or(0, |row| row.chars().count());
        if !(1..=MAX_SIDE).contains(&rows) || !(1..=MAX_SIDE).contains(&cols) {
            return Err(format!("the grid must have 1 to {MAX_SIDE} rows and columns"));
        }
        let mut walls = Vec::with_capacity(rows * cols);
        for (r, row) in config.grid.iter().enumerate() {
            if row.chars().count() != cols {
                return Err(format!("row {r} has a different length than row 0"));
            }
            for ch in row.chars() {
                match ch {
                    '.' => walls.push(false),
                    '#' => walls.push(true),
                    other => return Err(format!("unexpected character {other:?} in row {r}")),
                }
            }
        }
        for (name, [r, c]) in [("start", config.start), ("goal", config.goal)] {
            if r >= rows || c >= cols {
                return Err(format!("{name} ({r}, {c}) is outside the grid"));
            }
            if walls[r * cols + c] {
                return Err(format!("{name} ({r}, {c}) is a wall"));
            }
        }
        Ok(Self {
            rows,
            cols,
            walls,
            start: config.start,
            goal: config.goal,
            distance: vec![None; rows * cols],
            queue: VecDeque::new(),
        })
    }

    fn task(&self) -> String {
        format!(
            "A grid of {} rows and {} columns is hidden from you; some cells are walls. Find the \
             length (number of moves) of the shortest path from the start cell ({}, {}) to the \
             goal cell ({}, {}), moving up, down, left or right through open cells only, or \
             answer -1 if the goal cannot be reached. Cells are (row, col), zero-based. \
             Neighbors lists the open neighbours of a cell that are not visited yet; Enqueue \
             marks a cell visited with its distance and appends it to a FIFO queue; Dequeue \
             removes the cell at the front; Distance reads a visited cell's distance. Submit \
             the length with Done, e.g. {{\"answer\": 7}}.",
            self.rows, self.cols, self.start[0], self.start[1], self.goal[0], self.goal[1]
        )
    }

    fn observe(&self) -> String {
        format!(
            "Grid: {} rows x {} columns. Start: ({}, {}). Goal: ({}, {}). Queue length: {}. \
             Visited cells: {}.",
            self.rows,
            self.cols,
            self.start[0],
            self.start[1],
            self.goal[0],
            self.goal[1],
            self.queue.len(),
            self.distance.iter().filter(|d| d.is_some()).count()
        )
    }

    fn tools(tools: &mut Tools<Self>) {
        tools
            .add(
                "Neighbors",
                "List the open (non-wall) up/down/left/right neighbours of an open cell that are \
                 not visited yet.",
                |env: &mut Self, args: CellArgs| {
                    let index = env.cell(args.row, args.col)?;
                    if env.walls[index] {
                        return Err(format!("cell ({}, {}) is a wall", args.row, args.col));
                    }
                    let found: Vec<String> = env
                        .around(args.row, args.col)
                        .into_iter()
                        .filter(|&(r, c)| {
                            !env.walls[r * env.cols + c] && env.distance[r * env.cols + c].is_none()
                        })
                        .map(|(r, c)| format!("({r}, {c})"))
                        .collect();
                    let list = if found.is_empty() { "none".to_owned() } else { found.join(", ") };
                    Ok::<_, String>(format!(
                        "Unvisited open neighbours of ({}, {}): {list}.",
                        args.row, args.col
                    ))
                },
            )
            .add(
                "Enqueue",
                "Mark an open, unvisited cell as visited at `distance` from the start and append \
                 it to the back of the BFS queue.",
                |env: &mut Self, args: EnqueueArgs| {
                    let index = env.cell(args.row, args.col)?;
                    if env.walls[index] {
                        return Err(format!("cell ({}, {}) is a wall", args.row, args.col));
                    }
                    if let Some(d) = env.distance[index] {
                        return Err(format!(
                            "cell ({}, {}) was already visited at distance {d}",
                            args.row, args.col
                        ));
                    }
                    env.distance[index] = Some(args.distance);
                    env.queue.push_back((args.row, args.col, args.distance));
                    Ok(format!(
                        "Enqueued ({}, {}) at distance {}. Queue length: {}.",
                        args.row,
                        args.col,
                        args.distance,
                        env.queue.len()
                    ))
                },
            )
            .add(
                "Dequeue",
                "Remove the cell at the front of the BFS queue and return it with its distance.",
                |env: &mut Self, _: NoArgs| match env.queue.pop_front() {
                    Some((r, c, d)) => {
                        format!("Dequeued ({r}, {c}) at distance {d}. Queue length: {}.", env.queue.len())
                    }
                    None => "The queue is empty.".to_owned(),
                },
            )
            .add(
                "Distance",
                "Return the distance recorded for a cell when it was enqueued, or say it is not \
                 visited.",
                |env: &mut Self, args: CellArgs| {
                    let index = env.cell(args.row, args.col)?;
                    Ok::<_, String>(match env.distance[index] {
                        Some(d) => format!("Distance of ({}, {}): {d}.", args.row, args.col),
                        None => format!("({}, {}) is not visited yet.", args.row, args.col),
                    })
                },
            );
    }

    fn reference_answer(&self) -> i64 {
        let distance = bfs(self.rows, self.cols, &self.walls, self.start);
        match distance.get(self.goal[0] * self.cols + self.goal[1]) {
            Some(Some(d)) => i64::from(*d),
            _ => -1,
        }
    }
}

/// Breadth-first search with the environment's queue, stopping when the goal is found.
pub struct GridShortestPathOracle;

impl Oracle for GridShortestPathOracle {
    async fn solve(agent: Agent, _task: String) {
        // "Grid: R rows x C columns. Start: (r, c). Goal: (r, c). ..."
        let numbers = ints(&agent.call("Observe", NoArgs {}).await);
        let (Some(start), Some(goal)) = (numbers.get(2..4), numbers.get(4..6)) else {
            agent.done(-1).await;
            return;
        };
        if start == goal {
            agent.done(0).await;
            return;
        }
        let cell = |row: i64, col: i64, distance: i64| serde_json::json!({"row": row, "col": col, "distance": distance});
        agent.call("Enqueue", cell(start[0], start[1], 0)).await;
        loop {
            let front = agent.call("Dequeue", NoArgs {}).await;
            if !front.starts_with("Dequeued") {
                break;
            }
            let front = ints(&front);
            let Some(&[row, col, distance]) = front.get(..3) else { break };
            let neighbours =
                ints(&agent.call("Neighbors", serde_json::json!({"row": row, "col": col})).await);
            for pair in neighbours.get(2..).unwrap_or_default().chunks_exact(2) {
                if pair == goal {
                    agent.done(distance + 1).await;
                    return;
                }
                agent.call("Enqueue", cell(pair[0], pair[1], distance + 1)).await;
            }
        }
        agent.done(-1).await;
    }
}

export_env!(GridShortestPath, GridShortestPathOracle);

#[cfg(test)]
mod tests {
    use codegym_env_sdk::{Session, ToolCall, testing};

    use super::*;

    const CONFIG: &str = r##"{"grid": ["..#", "#..", "..."], "start": [0, 0], "goal": [2, 0]}"##;

    #[test]
    fn oracle_solves_every_difficulty() {
        codegym_env_sdk::testing::check_environment::<GridShortestPath, GridShortestPathOracle>(10);
    }

    #[test]
    fn tools_reject_bad_cells() {
        let mut session = testing::session::<GridShortestPath>(CONFIG);
        for call in [
            ToolCall::new("Neighbors", r#"{"row": 3, "col": 0}"#),
            ToolCall::new("Neighbors", r#"{"row": 0, "col": 2}"#),
            ToolCall::new("Enqueue", r#"{"row": 1, "col": 0, "distance": 1}"#),
            ToolCall::new("Distance", r#"{"row": 0, "col": 99999999999}"#),
        ] {
            let step = session.step(&call);
            assert!(step.observation.starts_with("Error:"), "{call:?}: {}", step.observation);
        }
        session.step(&ToolCall::new("Enqueue", r#"{"row": 0, "col": 0, "distance": 0}"#));
        let again = session.step(&ToolCall::new("Enqueue", r#"{"row": 0, "col": 0, "distance": 0}"#));
        assert!(again.observation.starts_with("Error:"), "{}", again.observation);
        let step = session.step(&ToolCall::new("Neighbors", r#"{"row": 0, "col": 1}"#));
        assert_eq!(step.observation, "Unvisited open neighbours of (0, 1): (1, 1).");
    }

    #[test]
    fn answers_are_graded() {
        // The path goes around the wall at (1, 0): 4 moves.
        assert_eq!(testing::session::<GridShortestPath>(CONFIG).reference_answer(), "4");
        let step =
            testing::session::<GridShortestPath>(CONFIG).step(&ToolCall::new("Done", r#"{"answer": 2}"#));
        assert!(step.done && step.reward == 0.0);
        let walled = r##"{"grid": [".#", "#."], "start": [0, 0], "goal": [1, 1]}"##;
        assert_eq!(testing::session::<GridShortestPath>(walled).reference_answer(), "-1");
        assert!(
            Session::<GridShortestPath>::new()
                .reset(r##"{"grid": [".#"], "start": [0, 0], "goal": [0, 1]}"##)
                .is_err()
        );
    }
}
