//! Lowest common ancestor of two nodes of a hidden binary tree (LeetCode 236 "Lowest Common
//! Ancestor of a Binary Tree", solved with parent links as in LeetCode 1650).
//!
//! The tree's nodes are named by ids; `Root` gives the root, `Left` / `Right` a node's
//! children and `Parent` its parent. The reference solution climbs from p to the root, putting
//! every ancestor of p (p included) in a visited set kept by the environment (`Mark`), then
//! climbs from q until it reaches a marked node (`IsMarked`): that node is the lowest common
//! ancestor. `Left` / `Right` also allow the top-down recursive solution.

use std::collections::{BTreeMap, BTreeSet};

use codegym_env_sdk::prelude::*;

/// Most nodes a config may hold.
const MAX_NODES: usize = 1_000;

#[derive(Serialize, Deserialize)]
pub struct Config {
    /// `[id, left, right]` per node, ids distinct and positive, 0 for a missing child;
    /// `nodes[0]` is the root.
    pub nodes: Vec<[u32; 3]>,
    /// The two query nodes (distinct ids of the tree).
    pub p: u32,
    pub q: u32,
}

/// A validated binary tree: node id -> [left, right] (0 for none), and child -> parent.
struct Tree {
    root: u32,
    children: BTreeMap<u32, [u32; 2]>,
    parent: BTreeMap<u32, u32>,
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
        let mut parent = BTreeMap::new();
        for (&id, pair) in &children {
            for &child in pair.iter().filter(|&&child| child != 0) {
                if !children.contains_key(&child) {
                    return Err(format!("node {id} has an unknown child {child}"));
                }
                if parent.insert(child, id).is_some() {
                    return Err(format!("node {child} has two parents"));
                }
            }
        }
        let root = nodes[0][0];
        if parent.contains_key(&root) {
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
        Ok(Self { root, children, parent })
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

pub struct LowestCommonAncestor {
    tree: Tree,
    p: u32,
    q: u32,
    /// The agent's visited set.
    marked: BTreeSet<u32>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct NodeArgs {
    /// A node id, as returned by Root, Left, Right or Parent.
    node: u32,
}

impl LowestCommonAncestor {
    fn child(&self, node: u32, side: usize) -> Result<String, String> {
        let name = ["left", "right"][side];
        Ok(match self.tree.child(node, side)? {
            0 => format!("{name}(node {node}) = null"),
            child => format!("{name}(node {node}) = node {child}"),
        })
    }

    /// The ancestors of `node`, from itself up to the root.
    fn ancestors(&self, node: u32) -> Vec<u32> {
        let mut path = vec![node];
        while let Some(&parent) = path.last().and_then(|last| self.tree.parent.get(last)) {
            path.push(parent);
        }
        path
    }
}

impl Environment for LowestCommonAncestor {
    type Config = Config;
    type Answer = u32;

    const META: Meta = Meta {
        name: "lowest-common-ancestor",
        version: env!("CARGO_PKG_VERSION"),
        description: "Lowest common ancestor of two nodes of a hidden binary tree, by climbing \
                      parent links with a visited set (LeetCode 236 / 1650).",
        category: "trees",
    };

    fn sample_config(seed: u64, difficulty: u32) -> Config {
        let mut rng = config_rng(seed, difficulty);
        let count = scale(difficulty, 5, 60) + rng.random_range(0..3u32) as usize;
        let nodes = random_tree(&mut rng, count, 2);
        // Depth of each node, in creation order (a parent is always created before its child).
        let mut depth = vec![0usize; count];
        let index_of: BTreeMap<u32, usize> = nodes.iter().enumerate().map(|(i, node)| (node[0], i)).collect();
        for (index, node) in nodes.iter().enumerate() {
            for &child in node[1..].iter().filter(|&&child| child != 0) {
                depth[index_of[&child]] = depth[index] + 1;
            }
        }
        // p lies in the deeper half of the tree, so the climbs are long; q is any other node.
        let deepest = depth.iter().copied().max().unwrap_or(0);
        let deep: Vec<usize> = (0..count).filter(|&i| 2 * depth[i] >= deepest && i > 0).collect();
        let p = deep[rng.random_range(0..deep.len() as u32) as usize];
        let mut q = rng.random_range(1..count as u32 - 1) as usize;
        if q >= p {
            q += 1;
        }
        let (p, q) = (nodes[p][0], nodes[q][0]);
        if rng.random_bool(0.5) { Config { nodes, p, q } } else { Config { nodes, p: q, q: p } }
    }

    fn reset(config: Config) -> Result<Self, String> {
        let tree = Tree::new(&config.nodes)?;
        for node in [config.p, config.q] {
            tree.child(node, 0)?;
        }
        if config.p == config.q {
            return Err("p and q must be different nodes".to_owned());
        }
        Ok(Self { tree, p: config.p, q: config.q, marked: BTreeSet::new() })
    }

    fn task(&self) -> String {
        format!(
            "A binary tree is hidden from you. Find the lowest common ancestor of the nodes \
             p = {} and q = {}: the deepest node that has both p and q as descendants (a node \
             is a descendant of itself). Root gives the root's id, Left / Right a node's \
             children and Parent its parent (null for the root). A visited set is kept for \
             you: Mark a node, and IsMarked tests it. Submit the node id with Done, e.g. \
             {{\"answer\": 317}}.",
            self.p, self.q
        )
    }

    fn observe(&self) -> String {
        format!("Query nodes: p = {}, q = {}. Marked nodes: {}.", self.p, self.q, self.marked.len())
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
            .add(
                "Parent",
                "Return the parent of `node`, or null for the root.",
                |env: &mut Self, args: NodeArgs| {
                    env.tree.child(args.node, 0)?;
                    Ok::<_, String>(match env.tree.parent.get(&args.node) {
                        Some(parent) => format!("parent(node {}) = node {parent}", args.node),
                        None => format!("parent(node {}) = null", args.node),
                    })
                },
            )
            .add("Mark", "Add `node` to the visited set.", |env: &mut Self, args: NodeArgs| {
                env.tree.child(args.node, 0)?;
                env.marked.insert(args.node);
                Ok::<_, String>(format!("Marked node {}; {} marked.", args.node, env.marked.len()))
            })
            .add("IsMarked", "Whether `node` is in the visited set.", |env: &mut Self, args: NodeArgs| {
                env.tree.child(args.node, 0)?;
                let verdict = if env.marked.contains(&args.node) { "is" } else { "is not" };
                Ok::<_, String>(format!("node {} {verdict} marked", args.node))
            });
    }

    fn reference_answer(&self) -> u32 {
        let above_p: BTreeSet<u32> = self.ancestors(self.p).into_iter().collect();
        self.ancestors(self.q).into_iter().find(|node| above_p.contains(node)).unwrap_or(self.tree.root)
    }
}

/// Mark p's ancestors, then climb from q to the first marked node.
pub struct LowestCommonAncestorOracle;

impl Oracle for LowestCommonAncestorOracle {
    async fn solve(agent: Agent, task: String) {
        let query = |name: &str| task.split(name).nth(1).and_then(first_int).unwrap_or(0);
        let (p, q) = (query("p = "), query("q = "));
        let parent = async |node: i64| {
            let observation = agent.call("Parent", serde_json::json!({ "node": node })).await;
            ints(&observation).get(1).copied()
        };
        let mut node = Some(p);
        for _ in 0..MAX_NODES {
            let Some(current) = node else { break };
            agent.call("Mark", serde_json::json!({ "node": current })).await;
            node = parent(current).await;
        }
        let mut node = q;
        for _ in 0..MAX_NODES {
            let marked = agent.call("IsMarked", serde_json::json!({ "node": node })).await;
            if !marked.contains("not") {
                break;
            }
            let Some(above) = parent(node).await else { break };
            node = above;
        }
        agent.done(node).await;
    }
}

export_env!(LowestCommonAncestor, LowestCommonAncestorOracle);

#[cfg(test)]
mod tests {
    use codegym_env_sdk::{Session, ToolCall, testing};

    use super::*;

    /// 30 has children 40 and 50; 40 has a right child 60; 50 has a left child 70; 70 has 80.
    const CONFIG: &str = r#"{"nodes": [[30, 40, 50], [40, 0, 60], [50, 70, 0], [60, 0, 0], [70, 80, 0],
        [80, 0, 0]], "p": 80, "q": 50}"#;

    #[test]
    fn oracle_solves_every_difficulty() {
        testing::check_environment::<LowestCommonAncestor, LowestCommonAncestorOracle>(10);
    }

    #[test]
    fn tools_walk_the_tree_and_reject_bad_input() {
        let mut session = testing::session::<LowestCommonAncestor>(CONFIG);
        let mut step = |name: &str, args: &str| session.step(&ToolCall::new(name, args)).observation;
        assert_eq!(step("Root", "{}"), "root = node 30");
        assert_eq!(step("Left", r#"{"node": 50}"#), "left(node 50) = node 70");
        assert_eq!(step("Right", r#"{"node": 50}"#), "right(node 50) = null");
        assert_eq!(step("Parent", r#"{"node": 80}"#), "parent(node 80) = node 70");
        assert_eq!(step("Parent", r#"{"node": 30}"#), "parent(node 30) = null");
        assert_eq!(step("Mark", r#"{"node": 70}"#), "Marked node 70; 1 marked.");
        assert_eq!(step("IsMarked", r#"{"node": 70}"#), "node 70 is marked");
        assert_eq!(step("IsMarked", r#"{"node": 60}"#), "node 60 is not marked");
        assert_eq!(step("Observe", "{}"), "Query nodes: p = 80, q = 50. Marked nodes: 1.");
        for (name, args) in [
            ("Parent", r#"{"node": 31}"#),
            ("Left", r#"{"node": 0}"#),
            ("Mark", r#"{"node": 99}"#),
            ("IsMarked", r#"{"node": -1}"#),
        ] {
            assert!(step(name, args).starts_with("Error:"), "{name} {args}");
        }
    }

    #[test]
    fn answers_are_graded_and_configs_validated() {
        // q = 50 is an ancestor of p = 80, so it is their lowest common ancestor.
        assert_eq!(testing::session::<LowestCommonAncestor>(CONFIG).reference_answer(), "50");
        let other = CONFIG.replace(r#""q": 50"#, r#""q": 60"#);
        assert_eq!(testing::session::<LowestCommonAncestor>(&other).reference_answer(), "30");
        let step = testing::session::<LowestCommonAncestor>(CONFIG)
            .step(&ToolCall::new("Done", r#"{"answer": 30}"#));
        assert!(step.done && step.reward == 0.0);
        let step = testing::session::<LowestCommonAncestor>(CONFIG)
            .step(&ToolCall::new("Done", r#"{"answer": 50}"#));
        assert!(step.done && step.reward == 1.0);
        let mut session = Session::<LowestCommonAncestor>::new();
        for bad in [
            CONFIG.replace(r#""q": 50"#, r#""q": 80"#),
            CONFIG.replace(r#""q": 50"#, r#""q": 55"#),
            r#"{"nodes": [[1, 2, 2], [2, 0, 0]], "p": 1, "q": 2}"#.to_owned(),
            r#"{"nodes": [[1, 0, 0], [2, 3, 0], [3, 2, 0]], "p": 2, "q": 3}"#.to_owned(),
            r#"{"nodes": [], "p": 1, "q": 2}"#.to_owned(),
        ] {
            assert!(session.reset(&bad).is_err(), "{bad}");
        }
    }
}
