//! Number of connected components of a hidden undirected graph (LeetCode 323 "Number of
//! Connected Components in an Undirected Graph"), by union-find.
//!
//! The reference solution starts with one component per node and walks the edge list: for
//! each edge it unions the sets of its endpoints, and every union that merges two different
//! sets removes one component. The agent reads edges with `GetEdge`, and the disjoint-set
//! forest lives in the environment: `Find` returns a node's root and `Union` merges two
//! sets, saying whether they were already one.

use codegym_env_sdk::prelude::*;

/// Most nodes a config may have.
const MAX_NODES: usize = 1_000;
/// Most edges a config may have.
const MAX_EDGES: usize = 5_000;

#[derive(Serialize, Deserialize)]
pub struct Config {
    /// Nodes are `0..nodes`.
    pub nodes: usize,
    /// Undirected edges `[a, b]` between nodes.
    pub edges: Vec<[usize; 2]>,
}

pub struct ConnectedComponents {
    config: Config,
    /// The union-find forest: `parent[x] == x` for a root.
    parent: Vec<usize>,
    /// Upper bound on each root's tree height (union by rank).
    rank: Vec<u8>,
    edges_read: usize,
    unions: usize,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct NodeArgs {
    /// A node, between 0 and the node count minus 1.
    node: usize,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct UnionArgs {
    /// One node.
    a: usize,
    /// The other node.
    b: usize,
}

impl ConnectedComponents {
    fn check(&self, node: usize) -> Result<(), String> {
        if node < self.config.nodes {
            Ok(())
        } else {
            Err(format!("node {node} is out of range ({} nodes)", self.config.nodes))
        }
    }

    /// The root of `node`'s set, compressing the path on the way (heights stay logarithmic).
    fn find(&mut self, node: usize) -> usize {
        let mut root = node;
        while self.parent[root] != root {
            root = self.parent[root];
        }
        let mut current = node;
        while self.parent[current] != root {
            let next = self.parent[current];
            self.parent[current] = root;
            current = next;
        }
        root
    }
}

/// The number of components, by a fresh union-find.
fn count_components(nodes: usize, edges: &[[usize; 2]]) -> usize {
    let mut parent: Vec<usize> = (0..nodes).collect();
    fn root(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    }
    let mut components = nodes;
    for &[a, b] in edges {
        let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
        if ra != rb {
            parent[ra] = rb;
            components -= 1;
        }
    }
    components
}

impl Environment for ConnectedComponents {
    type Config = Config;
    type Answer = usize;

    const META: Meta = Meta {
        name: "connected-components",
        version: env!("CARGO_PKG_VERSION"),
        description: "Count the connected components of a hidden undirected graph with a union-find \
                      forest (LeetCode 323).",
        category: "graphs",
    };

    fn sample_config(seed: u64, difficulty: u32) -> Config {
        let mut rng = config_rng(seed, difficulty);
        let nodes = scale(difficulty, 6, 45);
        let edge_count = scale(difficulty, 4, 36);
        let mut edges: Vec<[usize; 2]> = Vec::with_capacity(edge_count);
        while edges.len() < edge_count {
            let a = rng.random_range(0..nodes);
            let b = rng.random_range(0..nodes);
            if a != b && !edges.iter().any(|&[x, y]| (x, y) == (a, b) || (x, y) == (b, a)) {
                edges.push([a, b]);
            }
        }
        Config { nodes, edges }
    }

    fn reset(config: Config) -> Result<Self, String> {
        if !(1..=MAX_NODES).contains(&config.nodes) {
            return Err(format!("the node count must be between 1 and {MAX_NODES}"));
        }
        if config.edges.len() > MAX_EDGES {
            return Err(format!("there may be at most {MAX_EDGES} edges"));
        }
        if let Some([a, b]) = config.edges.iter().find(|[a, b]| *a >= config.nodes || *b >= config.nodes) {
            return Err(format!("edge [{a}, {b}] names a node outside 0..{}", config.nodes));
        }
        let nodes = config.nodes;
        Ok(Self { config, parent: (0..nodes).collect(), rank: vec![0; nodes], edges_read: 0, unions: 0 })
    }

    fn task(&self) -> String {
        format!(
            "An undirected graph with {} nodes (numbered from 0) and {} edges is hidden from you. \
             Count its connected components (an isolated node is a component of its own). \
             NodeCount and EdgeCount give the sizes and GetEdge reads one edge. A union-find \
             forest, with every node in its own set at first, is kept for you: Find returns a \
             node's root and Union merges the sets of two nodes. Submit the number of components \
             with Done, e.g. {{\"answer\": 3}}.",
            self.config.nodes,
            self.config.edges.len()
        )
    }

    fn observe(&self) -> String {
        format!(
            "Nodes: {}. Edges: {}. Edges read so far: {}. Union calls so far: {}.",
            self.config.nodes,
            self.config.edges.len(),
            self.edges_read,
            self.unions
        )
    }

    fn tools(tools: &mut Tools<Self>) {
        tools
            .add("NodeCount", "Return the number of nodes.", |env: &mut Self, _: NoArgs| {
                env.config.nodes.to_string()
            })
            .add("EdgeCount", "Return the number of edges.", |env: &mut Self, _: NoArgs| {
                env.config.edges.len().to_string()
            })
            .add(
                "GetEdge",
                "Return the edge at `index` of the edge list, as `edge index = (a, b)`.",
                |env: &mut Self, args: IndexArgs| match env.config.edges.get(args.index) {
                    Some(&[a, b]) => {
                        env.edges_read += 1;
                        Ok(format!("edge {} = ({a}, {b})", args.index))
                    }
                    None => Err(format!(
                        "index {} is out of range ({} edges)",
                        args.index,
                        env.config.edges.len()
                    )),
                },
            )
            .add(
                "Find",
                "Return the root of the union-find set holding `node`, as `find(node) = root`.",
                |env: &mut Self, args: NodeArgs| {
                    env.check(args.node)?;
                    Ok::<_, String>(format!("find({}) = {}", args.node, env.find(args.node)))
                },
            )
            .add(
                "Union",
                "Merge the union-find sets of nodes `a` and `b`; says whether they were merged or \
                 already in the same set.",
                |env: &mut Self, args: UnionArgs| {
                    env.check(args.a)?;
                    env.check(args.b)?;
                    env.unions += 1;
                    let (ra, rb) = (env.find(args.a), env.find(args.b));
                    if ra == rb {
                        return Ok(format!(
                            "{} and {} are already in the same set (root {ra}).",
                            args.a, args.b
                        ));
                    }
                    // Union by rank: hang the shorter tree under the taller one.
                    let (child, root) = if env.rank[ra] < env.rank[rb] { (ra, rb) } else { (rb, ra) };
                    env.parent[child] = root;
                    if env.rank[child] == env.rank[root] {
                        env.rank[root] = env.rank[root].saturating_add(1);
                    }
                    Ok::<_, String>(format!(
                        "Merged the sets of {} and {}; their root is now {root}.",
                        args.a, args.b
                    ))
                },
            );
    }

    fn reference_answer(&self) -> usize {
        count_components(self.config.nodes, &self.config.edges)
    }
}

/// One component per node; each edge whose union merges two sets removes one.
pub struct ConnectedComponentsOracle;

impl Oracle for ConnectedComponentsOracle {
    async fn solve(agent: Agent, _task: String) {
        let nodes = first_int(&agent.call("NodeCount", NoArgs {}).await).unwrap_or(0);
        let edges = first_int(&agent.call("EdgeCount", NoArgs {}).await).unwrap_or(0);
        let mut components = nodes;
        for index in 0..edges {
            let edge = ints(&agent.call("GetEdge", serde_json::json!({ "index": index })).await);
            let Some(&[a, b]) = edge.get(1..3) else { break };
            let merged = agent.call("Union", serde_json::json!({ "a": a, "b": b })).await;
            if merged.starts_with("Merged") {
                components -= 1;
            }
        }
        agent.done(components).await;
    }
}

export_env!(ConnectedComponents, ConnectedComponentsOracle);

#[cfg(test)]
mod tests {
    use codegym_env_sdk::{Session, ToolCall, testing};

    use super::*;

    const CONFIG: &str = r#"{"nodes": 5, "edges": [[0, 1], [1, 2], [3, 4], [2, 0]]}"#;

    #[test]
    fn oracle_solves_every_difficulty() {
        testing::check_environment::<ConnectedComponents, ConnectedComponentsOracle>(10);
    }

    #[test]
    fn tools_drive_the_union_find() {
        let mut session = testing::session::<ConnectedComponents>(CONFIG);
        for call in [
            ToolCall::new("GetEdge", r#"{"index": 4}"#),
            ToolCall::new("Find", r#"{"node": 5}"#),
            ToolCall::new("Union", r#"{"a": 0, "b": 9}"#),
            ToolCall::new("Union", r#"{"a": 0}"#),
        ] {
            let step = session.step(&call);
            assert!(step.observation.starts_with("Error:"), "{call:?}: {}", step.observation);
        }
        assert_eq!(session.step(&ToolCall::new("GetEdge", r#"{"index": 2}"#)).observation, "edge 2 = (3, 4)");
        assert_eq!(
            session.step(&ToolCall::new("Union", r#"{"a": 0, "b": 1}"#)).observation,
            "Merged the sets of 0 and 1; their root is now 0."
        );
        assert_eq!(
            session.step(&ToolCall::new("Union", r#"{"a": 2, "b": 1}"#)).observation,
            "Merged the sets of 2 and 1; their root is now 0."
        );
        assert_eq!(
            session.step(&ToolCall::new("Union", r#"{"a": 2, "b": 0}"#)).observation,
            "2 and 0 are already in the same set (root 0)."
        );
        assert_eq!(session.step(&ToolCall::new("Find", r#"{"node": 2}"#)).observation, "find(2) = 0");
        assert_eq!(session.step(&ToolCall::new("Find", r#"{"node": 4}"#)).observation, "find(4) = 4");
    }

    #[test]
    fn answers_are_graded_and_bad_configs_rejected() {
        assert_eq!(testing::session::<ConnectedComponents>(CONFIG).reference_answer(), "2");
        let step =
            testing::session::<ConnectedComponents>(CONFIG).step(&ToolCall::new("Done", r#"{"answer": 3}"#));
        assert!(step.done && step.reward == 0.0);
        let step =
            testing::session::<ConnectedComponents>(CONFIG).step(&ToolCall::new("Done", r#"{"answer": 2}"#));
        assert!(step.done && step.reward == 1.0);
        let mut session = Session::<ConnectedComponents>::new();
        assert!(session.reset(r#"{"nodes": 3, "edges": [[0, 3]]}"#).is_err());
        assert!(session.reset(r#"{"nodes": 0, "edges": []}"#).is_err());
    }
}
