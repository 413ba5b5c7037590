//! Network delay time on a hidden weighted directed graph (LeetCode 743 "Network Delay
//! Time"), by Dijkstra's algorithm.
//!
//! A signal leaves the source node and travels along directed edges, each taking its weight
//! in time; the answer is the time until every node has received it (the largest shortest
//! distance), or -1 if some node never does. The reference solution is Dijkstra's algorithm
//! with a lazy priority queue: pop the closest queued node, skip it if already settled, and
//! relax its outgoing edges. The agent reads edges with `Neighbors`; the distance table
//! (`GetDist`, `SetDist`) and the priority queue (`PushDist`, `PopMin`) live in the
//! environment.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use codegym_env_sdk::prelude::*;

/// Most nodes a config may have.
const MAX_NODES: usize = 500;
/// Most edges a config may have.
const MAX_EDGES: usize = 5_000;
/// Largest edge weight.
const MAX_WEIGHT: u64 = 1_000_000;
/// Most entries the priority queue holds.
const QUEUE_CAPACITY: usize = 10_000;

#[derive(Serialize, Deserialize)]
pub struct Config {
    /// Nodes are `0..nodes`.
    pub nodes: usize,
    /// Where the signal starts.
    pub source: usize,
    /// Directed edges `[u, v, weight]`: the signal takes `weight` to go from `u` to `v`.
    pub edges: Vec<[u64; 3]>,
}

pub struct DijkstraShortestPath {
    source: usize,
    /// Outgoing edges `(v, weight)` of each node, sorted.
    out: Vec<Vec<(usize, u64)>>,
    edge_count: usize,
    /// The agent's distance table; `None` is infinity.
    dist: Vec<Option<u64>>,
    queue: BinaryHeap<Reverse<(u64, usize)>>,
    pops: usize,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct NodeArgs {
    /// A node, between 0 and the node count minus 1.
    node: usize,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct NodeDistArgs {
    /// A node, between 0 and the node count minus 1.
    node: usize,
    /// A distance (time) from the source.
    dist: u64,
}

/// Shortest distances from `source`, `None` for unreachable nodes.
fn shortest(out: &[Vec<(usize, u64)>], source: usize) -> Vec<Option<u64>> {
    let mut dist = vec![None; out.len()];
    let mut queue = BinaryHeap::from([Reverse((0, source))]);
    dist[source] = Some(0);
    while let Some(Reverse((d, u))) = queue.pop() {
        if dist[u].is_some_and(|best| d > best) {
            continue;
        }
        for &(v, w) in &out[u] {
            let candidate = d + w;
            if dist[v].is_none_or(|best| candidate < best) {
                dist[v] = Some(candidate);
                queue.push(Reverse((candidate, v)));
            }
        }
    }
    dist
}

impl DijkstraShortestPath {
    fn check(&self, node: usize) -> Result<(), String> {
        if node < self.out.len() {
            Ok(())
        } else {
            Err(format!("node {node} is out of range ({} nodes)", self.out.len()))
        }
    }
}

fn show(dist: Option<u64>) -> String {
    dist.map_or_else(|| "infinity".to_owned(), |d| d.to_string())
}

impl Environment for DijkstraShortestPath {
    type Config = Config;
    type Answer = i64;

    const META: Meta = Meta {
        name: "dijkstra-shortest-path",
        version: env!("CARGO_PKG_VERSION"),
        description: "Time for a signal to reach every node of a hidden weighted graph, by Dijkstra's \
                      algorithm (LeetCode 743 Network Delay Time).",
        category: "graphs",
    };

    fn sample_config(seed: u64, difficulty: u32) -> Config {
        let mut rng = config_rng(seed, difficulty);
        let nodes = scale(difficulty, 4, 16);
        let edge_count = scale(difficulty, 5, 34);
        let max_weight = scale(difficulty, 9, 30) as u64;
        // A random tree from the source reaches every node, except, one time in five, the
        // last node of the permutation, which then gets no incoming edge at all.
        let mut order: Vec<usize> = (0..nodes).collect();
        order.shuffle(&mut rng);
        let unreachable = rng.random_ratio(1, 5).then_some(order[nodes - 1]);
        let mut edges: Vec<[u64; 3]> = Vec::with_capacity(edge_count);
        for i in 1..nodes {
            if Some(order[i]) != unreachable {
                let parent = order[rng.random_range(0..i)];
                edges.push([parent as u64, order[i] as u64, rng.random_range(1..=max_weight)]);
            }
        }
        let mut tries = 0;
        while edges.len() < edge_count && tries < 10_000 {
            tries += 1;
            let u = rng.random_range(0..nodes);
            let v = rng.random_range(0..nodes);
            let taken = edges.iter().any(|e| (e[0], e[1]) == (u as u64, v as u64));
            if u != v && Some(v) != unreachable && !taken {
                edges.push([u as u64, v as u64, rng.random_range(1..=max_weight)]);
            }
        }
        Config { nodes, source: order[0], edges }
    }

    fn reset(config: Config) -> Result<Self, String> {
        let nodes = config.nodes;
        if !(1..=MAX_NODES).contains(&nodes) {
            return Err(format!("the node count must be between 1 and {MAX_NODES}"));
        }
        if config.source >= nodes {
            return Err(format!("the source {} is not a node", config.source));
        }
        if config.edges.len() > MAX_EDGES {
            return Err(format!("there may be at most {MAX_EDGES} edges"));
        }
        let mut out = vec![Vec::new(); nodes];
        for &[u, v, w] in &config.edges {
            if u >= nodes as u64 || v >= nodes as u64 || w > MAX_WEIGHT {
                return Err(format!(
                    "edge [{u}, {v}, {w}] names a node outside 0..{nodes} or weighs more than {MAX_WEIGHT}"
                ));
            }
            out[u as usize].push((v as usize, w));
        }
        for list in &mut out {
            list.sort_unstable();
        }
        Ok(Self {
            source: config.source,
            out,
            edge_count: config.edges.len(),
            dist: vec![None; nodes],
            queue: BinaryHeap::new(),
            pops: 0,
        })
    }

    fn task(&self) -> String {
        format!(
            "A directed graph with {} nodes (numbered from 0) and {} weighted edges is hidden from \
             you. A signal starts at node {} and takes an edge's weight in time to cross it. How \
             long until every node has received the signal? Answer -1 if some node never does. \
             Neighbors lists a node's outgoing edges. A distance table (all infinity at first; \
             GetDist, SetDist) and a min-priority queue of (distance, node) entries (PushDist, \
             PopMin) are kept for you. Submit the time with Done, e.g. {{\"answer\": 12}}.",
            self.out.len(),
            self.edge_count,
            self.source
        )
    }

    fn observe(&self) -> String {
        let known = self.dist.iter().filter(|d| d.is_some()).count();
        format!(
            "Source: {}. Nodes: {}. Edges: {}. Finite distances set: {known}. Queue entries: {}. \
             Pops so far: {}.",
            self.source,
            self.out.len(),
            self.edge_count,
            self.queue.len(),
            self.pops
        )
    }

    fn tools(tools: &mut Tools<Self>) {
        tools
            .add("NodeCount", "Return the number of nodes.", |env: &mut Self, _: NoArgs| {
                env.out.len().to_string()
            })
            .add(
                "Neighbors",
                "List the outgoing edges of `node`, as `edges from u: v1 (weight w1), v2 (weight w2)`.",
                |env: &mut Self, args: NodeArgs| {
                    env.check(args.node)?;
                    let list: Vec<String> =
                        env.out[args.node].iter().map(|(v, w)| format!("{v} (weight {w})")).collect();
                    let list = if list.is_empty() { "none".to_owned() } else { list.join(", ") };
                    Ok::<_, String>(format!("edges from {}: {list}", args.node))
                },
            )
            .add(
                "GetDist",
                "Return the distance table entry of `node`, as `dist(node) = d` (or infinity).",
                |env: &mut Self, args: NodeArgs| {
                    env.check(args.node)?;
                    Ok::<_, String>(format!("dist({}) = {}", args.node, show(env.dist[args.node])))
                },
            )
            .add(
                "SetDist",
                "Set the distance table entry of `node` to `dist`.",
                |env: &mut Self, args: NodeDistArgs| {
                    env.check(args.node)?;
                    env.dist[args.node] = Some(args.dist);
                    Ok::<_, String>(format!("dist({}) = {}", args.node, args.dist))
                },
            )
            .add(
                "PushDist",
                "Push the entry (`dist`, `node`) on the min-priority queue.",
                |env: &mut Self, args: NodeDistArgs| {
                    env.check(args.node)?;
                    if env.queue.len() >= QUEUE_CAPACITY {
                        return Err(format!("the queue is full ({QUEUE_CAPACITY} entries)"));
                    }
                    env.queue.push(Reverse((args.dist, args.node)));
                    Ok(format!(
                        "Pushed node {} with dist {}; the queue has {} entries.",
                        args.node,
                        args.dist,
                        env.queue.len()
                    ))
                },
            )
            .add(
                "PopMin",
                "Remove the queue entry with the smallest distance (ties: smallest node) and return it.",
                |env: &mut Self, _: NoArgs| match env.queue.pop() {
                    Some(Reverse((dist, node))) => {
                        env.pops += 1;
                        Ok(format!("Popped node {node} with dist {dist}; {} entries left.", env.queue.len()))
                    }
                    None => Err("the queue is empty"),
                },
            );
    }

    fn reference_answer(&self) -> i64 {
        let dist = shortest(&self.out, self.source);
        if dist.iter().any(Option::is_none) {
            return -1;
        }
        dist.into_iter().flatten().max().map_or(-1, |d| d as i64)
    }
}

/// Lazy Dijkstra through the environment's table and queue.
pub struct DijkstraShortestPathOracle;

impl Oracle for DijkstraShortestPathOracle {
    async fn solve(agent: Agent, _task: String) {
        let source = first_int(&agent.call("Observe", NoArgs {}).await).unwrap_or(0);
        let nodes = first_int(&agent.call("NodeCount", NoArgs {}).await).unwrap_or(0) as usize;
        let mut best: Vec<Option<i64>> = vec![None; nodes];
        let mut settled = vec![false; nodes];
        if let Some(slot) = best.get_mut(source as usize) {
            *slot = Some(0);
        }
        agent.call("SetDist", serde_json::json!({ "node": source, "dist": 0 })).await;
        agent.call("PushDist", serde_json::json!({ "node": source, "dist": 0 })).await;
        loop {
            let popped = agent.call("PopMin", NoArgs {}).await;
            if popped.starts_with("Error:") {
                break; // the queue is empty
            }
            let Some(&[node, dist]) = ints(&popped).get(0..2) else { break };
            let Some(done) = settled.get_mut(node as usize) else { break };
            if *done {
                continue;
            }
            *done = true;
            let edges = ints(&agent.call("Neighbors", serde_json::json!({ "node": node })).await);
            for pair in edges.get(1..).unwrap_or_default().chunks_exact(2) {
                let (next, candidate) = (pair[0], dist + pair[1]);
                let Some(slot) = best.get_mut(next as usize) else { continue };
                if slot.is_none_or(|known| candidate < known) {
                    *slot = Some(candidate);
                    agent.call("SetDist", serde_json::json!({ "node": next, "dist": candidate })).await;
                    agent.call("PushDist", serde_json::json!({ "node": next, "dist": candidate })).await;
                }
            }
        }
        let answer = if best.iter().any(Option::is_none) {
            -1
        } else {
            best.into_iter().flatten().max().unwrap_or(-1)
        };
        agent.done(answer).await;
    }
}

export_env!(DijkstraShortestPath, DijkstraShortestPathOracle);

#[cfg(test)]
mod tests {
    use codegym_env_sdk::{Session, ToolCall, testing};

    use super::*;

    const CONFIG: &str =
        r#"{"nodes": 4, "source": 1, "edges": [[1, 0, 1], [1, 2, 5], [0, 2, 2], [2, 3, 1]]}"#;

    #[test]
    fn oracle_solves_every_difficulty() {
        testing::check_environment::<DijkstraShortestPath, DijkstraShortestPathOracle>(10);
    }

    #[test]
    fn tools_keep_the_table_and_queue() {
        let mut session = testing::session::<DijkstraShortestPath>(CONFIG);
        for call in [
            ToolCall::new("Neighbors", r#"{"node": 4}"#),
            ToolCall::new("GetDist", r#"{"node": 7}"#),
            ToolCall::new("SetDist", r#"{"node": 0, "dist": -3}"#),
            ToolCall::new("PushDist", r#"{"node": 9, "dist": 3}"#),
            ToolCall::new("PopMin", "{}"),
        ] {
            let step = session.step(&call);
            assert!(step.observation.starts_with("Error:"), "{call:?}: {}", step.observation);
        }
        assert_eq!(
            session.step(&ToolCall::new("Neighbors", r#"{"node": 1}"#)).observation,
            "edges from 1: 0 (weight 1), 2 (weight 5)"
        );
        assert_eq!(
            session.step(&ToolCall::new("Neighbors", r#"{"node": 3}"#)).observation,
            "edges from 3: none"
        );
        assert_eq!(
            session.step(&ToolCall::new("GetDist", r#"{"node": 2}"#)).observation,
            "dist(2) = infinity"
        );
        session.step(&ToolCall::new("SetDist", r#"{"node": 2, "dist": 5}"#));
        assert_eq!(session.step(&ToolCall::new("GetDist", r#"{"node": 2}"#)).observation, "dist(2) = 5");
        session.step(&ToolCall::new("PushDist", r#"{"node": 2, "dist": 5}"#));
        session.step(&ToolCall::new("PushDist", r#"{"node": 0, "dist": 1}"#));
        let step = session.step(&ToolCall::new("PopMin", "{}"));
        assert_eq!(step.observation, "Popped node 0 with dist 1; 1 entries left.");
    }

    #[test]
    fn answers_are_graded_and_bad_configs_rejected() {
        assert_eq!(testing::session::<DijkstraShortestPath>(CONFIG).reference_answer(), "4");
        let unreachable = r#"{"nodes": 3, "source": 0, "edges": [[0, 1, 4]]}"#;
        assert_eq!(testing::session::<DijkstraShortestPath>(unreachable).reference_answer(), "-1");
        let step =
            testing::session::<DijkstraShortestPath>(CONFIG).step(&ToolCall::new("Done", r#"{"answer": 6}"#));
        assert!(step.done && step.reward == 0.0);
        let step =
            testing::session::<DijkstraShortestPath>(CONFIG).step(&ToolCall::new("Done", r#"{"answer": 4}"#));
        assert!(step.done && step.reward == 1.0);
        let mut session = Session::<DijkstraShortestPath>::new();
        assert!(session.reset(r#"{"nodes": 3, "source": 3, "edges": []}"#).is_err());
        assert!(session.reset(r#"{"nodes": 3, "source": 0, "edges": [[0, 5, 1]]}"#).is_err());
        assert!(session.reset(r#"{"nodes": 3, "source": 0, "edges": [[0, 1, 9999999]]}"#).is_err());
    }
}
