//! Root-to-leaf paths of a hidden binary tree whose values sum to a target (LeetCode 112 /
//! 113 "Path Sum" / "Path Sum II").
//!
//! The tree's nodes are named by ids; `Root` gives the root, `Left` / `Right` a node's
//! children, `Value` its value and `Target` the sum to reach. The reference solution is a
//! depth-first search that carries the running sum from the root: at a node with no children
//! (a leaf), the path matches when the sum equals the target. LeetCode 113 returns the paths;
//! here each matching path is named by its leaf, and the answer is the list of those leaves,
//! which a guess cannot hit the way it could hit a small count.

use std::collections::{BTreeMap, BTreeSet};

use codegym_env_sdk::prelude::*;

/// Most nodes a config may hold.
const MAX_NODES: usize = 1_000;
/// Largest magnitude of a value or the target, so path sums never overflow.
const MAX_ABS: i64 = 1_000_000;

#[derive(Serialize, Deserialize)]
pub struct Config {
    /// `[id, left, right]` per node, ids distinct and positive, 0 for a missing child;
    /// `nodes[0]` is the root.
    pub nodes: Vec<[u32; 3]>,
    /// `values[i]` is the value of node `nodes[i][0]`.
    pub values: Vec<i64>,
    pub target: i64,
}

/// A validated binary tree: node id -> [left, right] (0 for none).
struct Tree {
    root: u32,
    children: BTreeMap<u32, [u32; 2]>,
}

impl Tree {
    fn new(nodes: &[[u32; 3]]) -> Result<Self, String> {
        if !(1..=MAX_NODES).contains(&nodes.len()) {
            return Err(format!("the tree must have between 1 and {MAX_NODES} nodes"));
        }
        let mut children = BTreeMap::new();
        for &[id, left, right] in nodes {
            if id == 0 || children.insert(id, [left, right]).is_some() {
                return Err(format!("node id {id} is zero or used twice"));
            }
        }
        let mut has_parent = BTreeMap::new();
        for (&id, pair) in &children {
            for &child in pair.iter().filter(|&&child| child != 0) {
                if !children.contains_key(&child) {
                    return Err(format!("node {id} has an unknown child {child}"));
                }
                if has_parent.insert(child, id).is_some() {
                    return Err(format!("node {child} has two parents"));
                }
            }
        }
        let root = nodes[0][0];
        if has_parent.contains_key(&root) {
            return Err("the root (the first node) cannot be a child".to_owned());
        }
        // Every node has at most one parent and the root none, so this visits each node once.
        let (mut stack, mut reached) = (vec![root], 0);
        while let Some(node) = stack.pop() {
            reached += 1;
            stack.extend(children[&node].iter().filter(|&&child| child != 0));
        }
        if reached != nodes.len() {
            return Err("some nodes cannot be reached from the root".to_owned());
        }
        Ok(Self { root, children })
    }

    fn child(&self, node: u32, side: usize) -> Result<u32, String> {
        self.children.get(&node).map(|pair| pair[side]).ok_or(format!("there is no node {node}"))
    }
}

/// A random binary tree of `count` nodes with distinct ids in 10..1000 (`count` below 990):
/// each new node hangs from a free child slot of a random node among the `recent` latest
/// nodes that still have one (a small `recent` grows deep, thin trees).
fn random_tree(rng: &mut ConfigRng, count: usize, recent: usize) -> Vec<[u32; 3]> {
    let mut ids: Vec<u32> = (10..1000).collect();
    ids.shuffle(rng);
    let mut nodes: Vec<[u32; 3]> = ids[..count].iter().map(|&id| [id, 0, 0]).collect();
    let mut open = vec![0];
    for index in 1..count {
        let lowest = open.len().saturating_sub(recent);
        let slot = rng.random_range(lowest as u32..open.len() as u32) as usize;
        let parent = open[slot];
        let free: Vec<usize> = (1..3).filter(|&side| nodes[parent][side] == 0).collect();
        let side = free[rng.random_range(0..free.len() as u32) as usize];
        nodes[parent][side] = nodes[index][0];
        if free.len() == 1 {
            open.remove(slot);
        }
        open.push(index);
    }
    nodes
}

pub struct PathSumCount {
    tree: Tree,
    values: BTreeMap<u32, i64>,
    target: i64,
    /// Distinct nodes whose value the agent has read.
    read: BTreeSet<u32>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct NodeArgs {
    /// A node id, as returned by Root, Left or Right.
    node: u32,
}

impl PathSumCount {
    fn child(&self, node: u32, side: usize) -> Result<String, String> {
        let name = ["left", "right"][side];
        Ok(match self.tree.child(node, side)? {
            0 => format!("{name}(node {node}) = null"),
            child => format!("{name}(node {node}) = node {child}"),
        })
    }

    /// Leaves whose root-to-leaf sum is the target, left to right.
    fn matching_leaves(&self) -> Vec<u32> {
        let mut found = Vec::new();
        let mut stack = vec![(self.tree.root, 0i64)];
        while let Some((node, above)) = stack.pop() {
            let sum = above + self.values[&node];
            let [left, right] = self.tree.children[&node];
            if left == 0 && right == 0 && sum == self.target {
                found.push(node);
            }
            stack.extend([right, left].into_iter().filter(|&child| child != 0).map(|child| (child, sum)));
        }
        found
    }
}

impl Environment for PathSumCount {
    type Config = Config;
    type Answer = Vec<u32>;

    const META: Meta = Meta {
        name: "path-sum-count",
        version: env!("CARGO_PKG_VERSION"),
        description: "Leaves of the root-to-leaf paths of a hidden binary tree whose values sum to \
                      a target, by depth-first search (LeetCode 112/113 Path Sum).",
        category: "trees",
    };

    fn sample_config(seed: u64, difficulty: u32) -> Config {
        let mut rng = config_rng(seed, difficulty);
        let count = scale(difficulty, 3, 22) + rng.random_range(0..3u32) as usize;
        let nodes = random_tree(&mut rng, count, 4);
        // Small values, some negative, so that several paths can share a sum.
        let values: Vec<i64> = (0..count).map(|_| rng.random_range(-2..=4)).collect();
        // The target is the sum of a random root-to-leaf path, so at least one path matches.
        let index_of: BTreeMap<u32, usize> = nodes.iter().enumerate().map(|(i, node)| (node[0], i)).collect();
        let (mut index, mut target) = (0, values[0]);
        loop {
            let children: Vec<u32> = nodes[index][1..].iter().copied().filter(|&child| child != 0).collect();
            let Some(&child) = children.get(rng.random_range(0..children.len().max(1) as u32) as usize)
            else {
                break;
            };
            index = index_of[&child];
            target += values[index];
        }
        Config { nodes, values, target }
    }

    fn reset(config: Config) -> Result<Self, String> {
        let tree = Tree::new(&config.nodes)?;
        if config.values.len() != config.nodes.len() {
            return Err("there must be one value per node".to_owned());
        }
        if config.values.iter().chain([&config.target]).any(|v| v.abs() > MAX_ABS) {
            return Err(format!("values and the target must lie between -{MAX_ABS} and {MAX_ABS}"));
        }
        let values = config.nodes.iter().zip(&config.values).map(|(node, &value)| (node[0], value)).collect();
        Ok(Self { tree, values, target: config.target, read: BTreeSet::new() })
    }

    fn task(&self) -> String {
        "A binary tree of integers is hidden from you. Find every root-to-leaf path (a leaf has \
         no children) whose node values sum to the target, and answer the ids of those paths' \
         leaves, in any order ([] if there is none). Root gives the root's id, Left / Right a \
         node's children (null when missing), Value a node's value and Target the target sum. \
         Submit the leaf ids with Done, e.g. {\"answer\": [317, 52]}."
            .to_owned()
    }

    fn observe(&self) -> String {
        format!("Nodes whose value you have read: {}.", self.read.len())
    }

    fn tools(tools: &mut Tools<Self>) {
        tools
            .add("Root", "Return the id of the root node.", |env: &mut Self, _: NoArgs| {
                format!("root = node {}", env.tree.root)
            })
            .add("Target", "Return the target sum.", |env: &mut Self, _: NoArgs| {
                format!("target = {}", env.target)
            })
            .add("Left", "Return the left child of `node`, or null.", |env: &mut Self, args: NodeArgs| {
                env.child(args.node, 0)
            })
            .add("Right", "Return the right child of `node`, or null.", |env: &mut Self, args: NodeArgs| {
                env.child(args.node, 1)
            })
            .add("Value", "Return the value stored in `node`.", |env: &mut Self, args: NodeArgs| {
                match env.values.get(&args.node) {
                    Some(&value) => {
                        env.read.insert(args.node);
                        Ok(format!("value(node {}) = {value}", args.node))
                    }
                    None => Err(format!("there is no node {}", args.node)),
                }
            });
    }

    fn reference_answer(&self) -> Vec<u32> {
        self.matching_leaves()
    }

    fn is_correct(&self, answer: &Vec<u32>) -> bool {
        let mut answer = answer.clone();
        answer.sort_unstable();
        let mut expected = self.matching_leaves();
        expected.sort_unstable();
        answer == expected
    }
}

/// Depth-first search carrying the running sum, with the stack kept by the oracle.
pub struct PathSumCountOracle;

impl Oracle for PathSumCountOracle {
    async fn solve(agent: Agent, _task: String) {
        let target = first_int(&agent.call("Target", NoArgs {}).await).unwrap_or(0);
        let root = first_int(&agent.call("Root", NoArgs {}).await).unwrap_or(0);
        let mut stack = vec![(root, 0i64)];
        let mut leaves = Vec::new();
        // Each node is pushed once; the bound only guards against a broken environment.
        for _ in 0..MAX_NODES {
            let Some((node, above)) = stack.pop() else { break };
            let value = agent.call("Value", serde_json::json!({ "node": node })).await;
            let sum = above.saturating_add(ints(&value).last().copied().unwrap_or(0));
            let mut children = Vec::new();
            for side in ["Left", "Right"] {
                let child = agent.call(side, serde_json::json!({ "node": node })).await;
                children.extend(ints(&child).get(1).copied());
            }
            if children.is_empty() && sum == target {
                leaves.push(node);
            }
            stack.extend(children.into_iter().rev().map(|child| (child, sum)));
        }
        agent.done(leaves).await;
    }
}

export_env!(PathSumCount, PathSumCountOracle);

#[cfg(test)]
mod tests {
    use codegym_env_sdk::{Session, ToolCall, testing};

    use super::*;

    /// 30 (5) has children 40 (4) and 50 (8); 40 has a right child 60 (2); 50 has children
    /// 70 (-1) and 80 (-2). Root-to-leaf sums: 11 at 60, 12 at 70, 11 at 80.
    const CONFIG: &str = r#"{"nodes": [[30, 40, 50], [40, 0, 60], [50, 70, 80], [60, 0, 0], [70, 0, 0],
        [80, 0, 0]], "values": [5, 4, 8, 2, -1, -2], "target": 11}"#;

    #[test]
    fn oracle_solves_every_difficulty() {
        testing::check_environment::<PathSumCount, PathSumCountOracle>(10);
    }

    #[test]
    fn tools_walk_the_tree_and_reject_bad_input() {
        let mut session = testing::session::<PathSumCount>(CONFIG);
        let mut step = |name: &str, args: &str| session.step(&ToolCall::new(name, args)).observation;
        assert_eq!(step("Root", "{}"), "root = node 30");
        assert_eq!(step("Target", "{}"), "target = 11");
        assert_eq!(step("Left", r#"{"node": 40}"#), "left(node 40) = null");
        assert_eq!(step("Right", r#"{"node": 40}"#), "right(node 40) = node 60");
        assert_eq!(step("Value", r#"{"node": 70}"#), "value(node 70) = -1");
        assert_eq!(step("Observe", "{}"), "Nodes whose value you have read: 1.");
        for (name, args) in
            [("Value", r#"{"node": 31}"#), ("Left", r#"{"node": 0}"#), ("Right", r#"{"node": -5}"#)]
        {
            assert!(step(name, args).starts_with("Error:"), "{name} {args}");
        }
    }

    #[test]
    fn answers_are_graded_and_configs_validated() {
        assert_eq!(testing::session::<PathSumCount>(CONFIG).reference_answer(), "[60,80]");
        for (answer, reward) in [("[80, 60]", 1.0), ("[60, 80]", 1.0), ("[60]", 0.0), ("[60, 70, 80]", 0.0)] {
            let done = format!(r#"{{"answer": {answer}}}"#);
            let step = testing::session::<PathSumCount>(CONFIG).step(&ToolCall::new("Done", done));
            assert!(step.done && step.reward == reward, "{answer}");
        }
        let mut session = Session::<PathSumCount>::new();
        for bad in [
            CONFIG.replace("[5, 4, 8, 2, -1, -2]", "[5, 4, 8]"),
            CONFIG.replace(r#""target": 11"#, r#""target": 9000000000"#),
            r#"{"nodes": [[1, 2, 0], [2, 1, 0]], "values": [1, 2], "target": 3}"#.to_owned(),
            r#"{"nodes": [], "values": [], "target": 0}"#.to_owned(),
        ] {
            assert!(session.reset(&bad).is_err(), "{bad}");
        }
    }
}
