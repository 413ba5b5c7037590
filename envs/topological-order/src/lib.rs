//! Lexicographically smallest topological order of a hidden DAG (LeetCode 210 "Course
//! Schedule II"), by Kahn's algorithm with a min-priority queue.
//!
//! The reference solution counts each node's in-degree, puts every node of in-degree 0 in a
//! ready queue, and repeatedly takes the smallest ready node, appends it to the order and
//! decrements the in-degree of each of its successors, queueing those that reach 0. The
//! agent reads the graph with `InDegree` and `OutEdges`; the working in-degrees and the ready
//! queue live in the environment (`DecrementInDegree`, `PushReady`, `PopMin`).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use codegym_env_sdk::prelude::*;

/// Most nodes a config may have.
const MAX_NODES: usize = 500;
/// Most edges a config may have.
const MAX_EDGES: usize = 5_000;

#[derive(Serialize, Deserialize)]
pub struct Config {
    /// Nodes are `0..nodes`.
    pub nodes: usize,
    /// Directed edges `[u, v]`: `u` must come before `v`. No cycles, loops or duplicates.
    pub edges: Vec<[usize; 2]>,
}

pub struct TopologicalOrder {
    nodes: usize,
    edge_count: usize,
    /// Successors of each node, ascending.
    out: Vec<Vec<usize>>,
    /// The working in-degrees, decremented by the agent.
    indegree: Vec<usize>,
    /// Whether each node was ever pushed on the ready queue.
    pushed: Vec<bool>,
    ready: BinaryHeap<Reverse<usize>>,
    popped: usize,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct NodeArgs {
    /// A node, between 0 and the node count minus 1.
    node: usize,
}

/// Successor lists, sorted.
fn successors(nodes: usize, edges: &[[usize; 2]]) -> Vec<Vec<usize>> {
    let mut out = vec![Vec::new(); nodes];
    for &[u, v] in edges {
        out[u].push(v);
    }
    for list in &mut out {
        list.sort_unstable();
    }
    out
}

/// Kahn's algorithm with a min-heap: the smallest order, or `None` if there is a cycle.
fn smallest_order(out: &[Vec<usize>]) -> Option<Vec<usize>> {
    let mut indegree = vec![0usize; out.len()];
    for &v in out.iter().flatten() {
        indegree[v] += 1;
    }
    let mut ready: BinaryHeap<Reverse<usize>> =
        (0..out.len()).filter(|&v| indegree[v] == 0).map(Reverse).collect();
    let mut order = Vec::with_capacity(out.len());
    while let Some(Reverse(u)) = ready.pop() {
        order.push(u);
        for &v in &out[u] {
            indegree[v] -= 1;
            if indegree[v] == 0 {
                ready.push(Reverse(v));
            }
        }
    }
    (order.len() == out.len()).then_some(order)
}

impl TopologicalOrder {
    fn check(&self, node: usize) -> Result<(), String> {
        if node < self.nodes {
            Ok(())
        } else {
            Err(format!("node {node} is out of range ({} nodes)", self.nodes))
        }
    }
}

impl Environment for TopologicalOrder {
    type Config = Config;
    type Answer = Vec<usize>;

    const META: Meta = Meta {
        name: "topological-order",
        version: env!("CARGO_PKG_VERSION"),
        description: "Lexicographically smallest topological order of a hidden DAG by Kahn's algorithm \
                      (LeetCode 210 Course Schedule II).",
        category: "graphs",
    };

    fn sample_config(seed: u64, difficulty: u32) -> Config {
        let mut rng = config_rng(seed, difficulty);
        let nodes = scale(difficulty, 4, 12);
        let edge_count = scale(difficulty, 3, 20).min(nodes * (nodes - 1) / 2);
        // Edges go forward in a random permutation, so the graph is acyclic.
        let mut rank: Vec<usize> = (0..nodes).collect();
        rank.shuffle(&mut rng);
        let mut edges: Vec<[usize; 2]> = Vec::with_capacity(edge_count);
        while edges.len() < edge_count {
            let i = rng.random_range(0..nodes);
            let j = rng.random_range(0..nodes);
            if i < j && !edges.contains(&[rank[i], rank[j]]) {
                edges.push([rank[i], rank[j]]);
            }
        }
        Config { nodes, edges }
    }

    fn reset(config: Config) -> Result<Self, String> {
        let nodes = config.nodes;
        if !(1..=MAX_NODES).contains(&nodes) {
            return Err(format!("the node count must be between 1 and {MAX_NODES}"));
        }
        if config.edges.len() > MAX_EDGES {
            return Err(format!("there may be at most {MAX_EDGES} edges"));
        }
        if let Some([u, v]) = config.edges.iter().find(|&&[u, v]| u >= nodes || v >= nodes || u == v) {
            return Err(format!("edge [{u}, {v}] is a loop or names a node outside 0..{nodes}"));
        }
        let out = successors(nodes, &config.edges);
        if let Some((u, list)) =
            out.iter().enumerate().find(|(_, list)| list.windows(2).any(|w| w[0] == w[1]))
        {
            return Err(format!("node {u} has a repeated edge in its successors {list:?}"));
        }
        if smallest_order(&out).is_none() {
            return Err("the graph has a cycle".to_owned());
        }
        let mut indegree = vec![0; nodes];
        for &[_, v] in &config.edges {
            indegree[v] += 1;
        }
        Ok(Self {
            nodes,
            edge_count: config.edges.len(),
            out,
            indegree,
            pushed: vec![false; nodes],
            ready: BinaryHeap::new(),
            popped: 0,
        })
    }

    fn task(&self) -> String {
        format!(
            "A directed acyclic graph with {} nodes (numbered from 0) and {} edges is hidden from \
             you; an edge u -> v means u must come before v. Find its lexicographically smallest \
             topological order. InDegree gives a node's current in-degree and OutEdges its \
             successors. The working in-degrees and a ready queue are kept for you: \
             DecrementInDegree lowers a node's in-degree by one, PushReady adds a node to the \
             queue, and PopMin removes the smallest queued node. Submit the order with Done, \
             e.g. {{\"answer\": [2, 0, 1]}}.",
            self.nodes, self.edge_count
        )
    }

    fn observe(&self) -> String {
        format!(
            "Nodes: {}. Edges: {}. Ready queue: {} nodes. Nodes popped so far: {}.",
            self.nodes,
            self.edge_count,
            self.ready.len(),
            self.popped
        )
    }

    fn tools(tools: &mut Tools<Self>) {
        tools
            .add("NodeCount", "Return the number of nodes.", |env: &mut Self, _: NoArgs| {
                env.nodes.to_string()
            })
            .add(
                "InDegree",
                "Return the current in-degree of `node` (edges into it not yet decremented), as \
                 `indegree(node) = d`.",
                |env: &mut Self, args: NodeArgs| {
                    env.check(args.node)?;
                    Ok::<_, String>(format!("indegree({}) = {}", args.node, env.indegree[args.node]))
                },
            )
            .add(
                "OutEdges",
                "Return the successors of `node` in ascending order, as `node -> [v1, v2, ...]`.",
                |env: &mut Self, args: NodeArgs| {
                    env.check(args.node)?;
                    let list: Vec<String> = env.out[args.node].iter().map(usize::to_string).collect();
                    Ok::<_, String>(format!("{} -> [{}]", args.node, list.join(", ")))
                },
            )
            .add(
                "DecrementInDegree",
                "Lower the current in-degree of `node` by one and return it.",
                |env: &mut Self, args: NodeArgs| {
                    env.check(args.node)?;
                    let degree = &mut env.indegree[args.node];
                    if *degree == 0 {
                        return Err(format!("the in-degree of {} is already 0", args.node));
                    }
                    *degree -= 1;
                    Ok(format!("indegree({}) = {degree}", args.node))
                },
            )
            .add(
                "PushReady",
                "Add `node` to the ready queue (each node can be pushed once).",
                |env: &mut Self, args: NodeArgs| {
                    env.check(args.node)?;
                    if env.pushed[args.node] {
                        return Err(format!("node {} was already pushed", args.node));
                    }
                    env.pushed[args.node] = true;
                    env.ready.push(Reverse(args.node));
                    Ok(format!("Pushed {}; the ready queue has {} nodes.", args.node, env.ready.len()))
                },
            )
            .add(
                "PopMin",
                "Remove the smallest node from the ready queue and return it.",
                |env: &mut Self, _: NoArgs| match env.ready.pop() {
                    Some(Reverse(node)) => {
                        env.popped += 1;
                        Ok(format!("Popped {node}; the ready queue has {} nodes left.", env.ready.len()))
                    }
                    None => Err("the ready queue is empty"),
                },
            );
    }

    fn reference_answer(&self) -> Vec<usize> {
        smallest_order(&self.out).unwrap_or_default()
    }
}

/// Kahn's algorithm, driven through the environment's in-degrees and ready queue.
pub struct TopologicalOrderOracle;

impl Oracle for TopologicalOrderOracle {
    async fn solve(agent: Agent, _task: String) {
        let nodes = first_int(&agent.call("NodeCount", NoArgs {}).await).unwrap_or(0);
        for node in 0..nodes {
            let degree = ints(&agent.call("InDegree", serde_json::json!({ "node": node })).await);
            if degree.get(1) == Some(&0) {
                agent.call("PushReady", serde_json::json!({ "node": node })).await;
            }
        }
        let mut order = Vec::new();
        for _ in 0..nodes {
            let Some(node) = first_int(&agent.call("PopMin", NoArgs {}).await) else { break };
            order.push(node);
            let successors = ints(&agent.call("OutEdges", serde_json::json!({ "node": node })).await);
            for &next in successors.iter().skip(1) {
                let degree =
                    ints(&agent.call("DecrementInDegree", serde_json::json!({ "node": next })).await);
                if degree.get(1) == Some(&0) {
                    agent.call("PushReady", serde_json::json!({ "node": next })).await;
                }
            }
        }
        agent.done(order).await;
    }
}

export_env!(TopologicalOrder, TopologicalOrderOracle);

#[cfg(test)]
mod tests {
    use codegym_env_sdk::{Session, ToolCall, testing};

    use super::*;

    const CONFIG: &str = r#"{"nodes": 4, "edges": [[3, 1], [3, 0], [1, 0], [2, 0]]}"#;

    #[test]
    fn oracle_solves_every_difficulty() {
        testing::check_environment::<TopologicalOrder, TopologicalOrderOracle>(10);
    }

    #[test]
    fn tools_track_degrees_and_the_queue() {
        let mut session = testing::session::<TopologicalOrder>(CONFIG);
        for call in [
            ToolCall::new("InDegree", r#"{"node": 4}"#),
            ToolCall::new("OutEdges", r#"{"node": -1}"#),
            ToolCall::new("DecrementInDegree", r#"{"node": 3}"#),
            ToolCall::new("PopMin", "{}"),
            ToolCall::new("PushReady", r#"{"index": 0}"#),
        ] {
            let step = session.step(&call);
            assert!(step.observation.starts_with("Error:"), "{call:?}: {}", step.observation);
        }
        assert_eq!(session.step(&ToolCall::new("InDegree", r#"{"node": 0}"#)).observation, "indegree(0) = 3");
        assert_eq!(session.step(&ToolCall::new("OutEdges", r#"{"node": 3}"#)).observation, "3 -> [0, 1]");
        assert_eq!(session.step(&ToolCall::new("OutEdges", r#"{"node": 0}"#)).observation, "0 -> []");
        assert_eq!(
            session.step(&ToolCall::new("DecrementInDegree", r#"{"node": 1}"#)).observation,
            "indegree(1) = 0"
        );
        session.step(&ToolCall::new("PushReady", r#"{"node": 3}"#));
        let step = session.step(&ToolCall::new("PushReady", r#"{"node": 2}"#));
        assert_eq!(step.observation, "Pushed 2; the ready queue has 2 nodes.");
        assert!(
            session.step(&ToolCall::new("PushReady", r#"{"node": 2}"#)).observation.starts_with("Error:")
        );
        let step = session.step(&ToolCall::new("PopMin", "{}"));
        assert_eq!(step.observation, "Popped 2; the ready queue has 1 nodes left.");
    }

    #[test]
    fn answers_are_graded_and_bad_configs_rejected() {
        assert_eq!(testing::session::<TopologicalOrder>(CONFIG).reference_answer(), "[2,3,1,0]");
        let step = testing::session::<TopologicalOrder>(CONFIG)
            .step(&ToolCall::new("Done", r#"{"answer": [3, 2, 1, 0]}"#));
        assert!(step.done && step.reward == 0.0);
        let step = testing::session::<TopologicalOrder>(CONFIG)
            .step(&ToolCall::new("Done", r#"{"answer": [2, 3, 1, 0]}"#));
        assert!(step.done && step.reward == 1.0);
        let mut session = Session::<TopologicalOrder>::new();
        assert!(session.reset(r#"{"nodes": 3, "edges": [[0, 1], [1, 2], [2, 0]]}"#).is_err());
        assert!(session.reset(r#"{"nodes": 3, "edges": [[0, 3]]}"#).is_err());
        assert!(session.reset(r#"{"nodes": 3, "edges": [[0, 1], [0, 1]]}"#).is_err());
        assert!(session.reset(r#"{"nodes": 0, "edges": []}"#).is_err());
    }
}
