//! Depth of a hidden binary tree and its bottom-left node, by breadth-first search (LeetCode
//! 104 "Maximum Depth of Binary Tree", with LeetCode 513 "Find Bottom Left Tree Value").
//!
//! The tree's nodes are named by ids; `Root` gives the root and `Left` / `Right` a node's
//! children. The reference solution is a level-order traversal with a queue kept by the
//! environment: start with the root enqueued (`Enqueue`); for each level, read the queue's
//! size (`QueueSize`), then dequeue that many nodes (`Dequeue`) and enqueue their children.
//! The number of levels is the depth, and the first node dequeued on the last level is the
//! leftmost node of the deepest level. Answering both makes a lucky guess unlikely.

use std::collections::{BTreeMap, VecDeque};

use codegym_env_sdk::prelude::*;

/// Most nodes a config may hold (also the queue capacity).
const MAX_NODES: usize = 1_000;

#[derive(Serialize, Deserialize)]
pub struct Config {
    /// `[id, left, right]` per node, ids distinct and positive, 0 for a missing child;
    /// `nodes[0]` is the root.
    pub nodes: Vec<[u32; 3]>,
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

pub struct TreeMaxDepth {
    tree: Tree,
    /// The agent's queue of node ids.
    queue: VecDeque<u32>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct NodeArgs {
    /// A node id, as returned by Root, Left or Right.
    node: u32,
}

impl TreeMaxDepth {
    fn child(&self, node: u32, side: usize) -> Result<String, String> {
        let name = ["left", "right"][side];
        Ok(match self.tree.child(node, side)? {
            0 => format!("{name}(node {node}) = null"),
            child => format!("{name}(node {node}) = node {child}"),
        })
    }
}

impl Environment for TreeMaxDepth {
    type Config = Config;
    type Answer = [u32; 2];

    const META: Meta = Meta {
        name: "tree-max-depth",
        version: env!("CARGO_PKG_VERSION"),
        description: "Depth and bottom-left node of a hidden binary tree, by level-order traversal \
                      with a queue (LeetCode 104 Maximum Depth, LeetCode 513 Bottom Left Value).",
        category: "trees",
    };

    fn sample_config(seed: u64, difficulty: u32) -> Config {
        let mut rng = config_rng(seed, difficulty);
        let count = scale(difficulty, 3, 14) + rng.random_range(0..3u32) as usize;
        Config { nodes: random_tree(&mut rng, count, 4) }
    }

    fn reset(config: Config) -> Result<Self, String> {
        Ok(Self { tree: Tree::new(&config.nodes)?, queue: VecDeque::new() })
    }

    fn task(&self) -> String {
        "A binary tree is hidden from you. Find its depth (the number of nodes on the longest \
         path from the root down to a leaf) and the id of the leftmost node of its deepest \
         level. Root gives the root's id, and Left / Right a node's children (null when \
         missing). A queue of node ids, empty at first, is kept for you: Enqueue, Dequeue and \
         QueueSize. Submit [depth, node id] with Done, e.g. {\"answer\": [4, 317]}."
            .to_owned()
    }

    fn observe(&self) -> String {
        format!("Queue size: {}.", self.queue.len())
    }

    fn tools(tools: &mut Tools<Self>) {
        tools
            .add("Root", "Return the id of the root node.", |env: &mut Self, _: NoArgs| {
                format!("root = node {}", env.tree.root)
            })
            .add("Left", "Return the left child of `node`, or null.", |env: &mut Self, args: NodeArgs| {
                env.child(args.node, 0)
            })
            .add("Right", "Return the right child of `node`, or null.", |env: &mut Self, args: NodeArgs| {
                env.child(args.node, 1)
            })
            .add("Enqueue", "Add `node` at the back of the queue.", |env: &mut Self, args: NodeArgs| {
                env.tree.child(args.node, 0)?;
                if env.queue.len() >= env.tree.children.len() {
                    return Err(format!("the queue is full ({} nodes)", env.queue.len()));
                }
                env.queue.push_back(args.node);
                Ok(format!("Enqueued node {}; queue size {}.", args.node, env.queue.len()))
            })
            .add(
                "Dequeue",
                "Remove and return the node at the front of the queue.",
                |env: &mut Self, _: NoArgs| match env.queue.pop_front() {
                    Some(node) => Ok(format!("Dequeued node {node}; queue size {}.", env.queue.len())),
                    None => Err("the queue is empty".to_owned()),
                },
            )
            .add("QueueSize", "Return the number of nodes in the queue.", |env: &mut Self, _: NoArgs| {
                format!("queue size {}", env.queue.len())
            });
    }

    fn reference_answer(&self) -> [u32; 2] {
        let mut level = vec![self.tree.root];
        let mut depth = 0;
        loop {
            depth += 1;
            let below: Vec<u32> =
                level.iter().flat_map(|node| self.tree.children[node]).filter(|&child| child != 0).collect();
            if below.is_empty() {
                return [depth, level[0]];
            }
            level = below;
        }
    }
}

/// Level-order traversal, one level per round.
pub struct TreeMaxDepthOracle;

impl Oracle for TreeMaxDepthOracle {
    async fn solve(agent: Agent, _task: String) {
        let root = first_int(&agent.call("Root", NoArgs {}).await).unwrap_or(0);
        agent.call("Enqueue", serde_json::json!({ "node": root })).await;
        let (mut depth, mut bottom_left) = (0, root);
        for _ in 0..MAX_NODES {
            let size = first_int(&agent.call("QueueSize", NoArgs {}).await).unwrap_or(0);
            if size == 0 {
                break;
            }
            depth += 1;
            for position in 0..size {
                let Some(node) = first_int(&agent.call("Dequeue", NoArgs {}).await) else { break };
                if position == 0 {
                    bottom_left = node;
                }
                for side in ["Left", "Right"] {
                    let child = agent.call(side, serde_json::json!({ "node": node })).await;
                    if let Some(&child) = ints(&child).get(1) {
                        agent.call("Enqueue", serde_json::json!({ "node": child })).await;
                    }
                }
            }
        }
        agent.done([depth, bottom_left]).await;
    }
}

export_env!(TreeMaxDepth, TreeMaxDepthOracle);

#[cfg(test)]
mod tests {
    use codegym_env_sdk::{Session, ToolCall, testing};

    use super::*;

    /// 30 has children 40 and 50; 40 has a right child 60; 50 has a left child 70; 70 has 80.
    const CONFIG: &str =
        r#"{"nodes": [[30, 40, 50], [40, 0, 60], [50, 70, 0], [60, 0, 0], [70, 80, 0], [80, 0, 0]]}"#;

    #[test]
    fn oracle_solves_every_difficulty() {
        testing::check_environment::<TreeMaxDepth, TreeMaxDepthOracle>(10);
    }

    #[test]
    fn tools_walk_the_tree_and_reject_bad_input() {
        let mut session = testing::session::<TreeMaxDepth>(CONFIG);
        let mut step = |name: &str, args: &str| session.step(&ToolCall::new(name, args)).observation;
        assert_eq!(step("Root", "{}"), "root = node 30");
        assert_eq!(step("Left", r#"{"node": 30}"#), "left(node 30) = node 40");
        assert_eq!(step("Left", r#"{"node": 40}"#), "left(node 40) = null");
        assert_eq!(step("Right", r#"{"node": 40}"#), "right(node 40) = node 60");
        assert_eq!(step("Enqueue", r#"{"node": 40}"#), "Enqueued node 40; queue size 1.");
        assert_eq!(step("Enqueue", r#"{"node": 50}"#), "Enqueued node 50; queue size 2.");
        assert_eq!(step("QueueSize", "{}"), "queue size 2");
        assert_eq!(step("Dequeue", "{}"), "Dequeued node 40; queue size 1.");
        assert_eq!(step("Observe", "{}"), "Queue size: 1.");
        step("Dequeue", "{}");
        for (name, args) in [
            ("Dequeue", "{}"),
            ("Left", r#"{"node": 31}"#),
            ("Right", r#"{"node": 0}"#),
            ("Enqueue", r#"{"node": 99}"#),
            ("Enqueue", r#"{"node": "a"}"#),
        ] {
            assert!(step(name, args).starts_with("Error:"), "{name} {args}");
        }
    }

    #[test]
    fn answers_are_graded_and_configs_validated() {
        assert_eq!(testing::session::<TreeMaxDepth>(CONFIG).reference_answer(), "[4,80]");
        let step =
            testing::session::<TreeMaxDepth>(CONFIG).step(&ToolCall::new("Done", r#"{"answer": [4, 70]}"#));
        assert!(step.done && step.reward == 0.0);
        let step =
            testing::session::<TreeMaxDepth>(CONFIG).step(&ToolCall::new("Done", r#"{"answer": [4, 80]}"#));
        assert!(step.done && step.reward == 1.0);
        let mut session = Session::<TreeMaxDepth>::new();
        for bad in [
            r#"{"nodes": []}"#,
            r#"{"nodes": [[1, 2, 2], [2, 0, 0]]}"#,
            r#"{"nodes": [[1, 2, 0], [2, 1, 0]]}"#,
            r#"{"nodes": [[1, 5, 0], [2, 0, 0]]}"#,
            r#"{"nodes": [[1, 0, 0], [2, 3, 0], [3, 2, 0]]}"#,
            r#"{"nodes": [[0, 0, 0]]}"#,
        ] {
            assert!(session.reset(bad).is_err(), "{bad}");
        }
    }
}
