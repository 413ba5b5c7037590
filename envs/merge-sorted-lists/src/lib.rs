//! Merge two hidden sorted linked lists (LeetCode 21 "Merge Two Sorted Lists").
//!
//! The lists' nodes are named by ids; `Head` gives a list's first node, `Next` follows one
//! link and `Value` reads a node's value. The reference solution keeps one pointer per list
//! and repeatedly splices the node with the smaller value onto the tail of the merged list
//! (`Append`), then advances that pointer. The merged list is kept by the environment
//! (`MergedAt` reads it back). The answer is the value at position k of the merged list, and
//! it only counts once the merged list is complete and correct.

use std::collections::{BTreeMap, BTreeSet};

use codegym_env_sdk::prelude::*;

/// Most nodes a config may hold in both lists together.
const MAX_NODES: usize = 1_000;

#[derive(Serialize, Deserialize)]
pub struct Config {
    /// Distinct positive node ids of list 0 and list 1, each in list order.
    pub ids: [Vec<u32>; 2],
    /// The nodes' values, parallel to `ids`; each list is sorted in non-decreasing order.
    pub values: [Vec<i64>; 2],
    /// Zero-based position in the merged list whose value is the answer.
    pub k: usize,
}

pub struct MergeSortedLists {
    config: Config,
    /// Node id -> (list, position in that list).
    nodes: BTreeMap<u32, (usize, usize)>,
    /// The merged list built by the agent.
    merged: Vec<u32>,
    appended: BTreeSet<u32>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ListArgs {
    /// Which list: 0 or 1.
    list: usize,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct NodeArgs {
    /// A node id, as returned by Head or Next.
    node: u32,
}

impl MergeSortedLists {
    fn find(&self, node: u32) -> Result<(usize, usize), String> {
        self.nodes.get(&node).copied().ok_or(format!("there is no node {node}"))
    }

    fn value(&self, node: u32) -> i64 {
        self.nodes.get(&node).map_or(0, |&(list, position)| self.config.values[list][position])
    }

    fn total(&self) -> usize {
        self.config.ids[0].len() + self.config.ids[1].len()
    }

    /// Whether the merged list holds every node, sorted, with each list's order kept.
    fn merge_is_complete(&self) -> bool {
        let mut next_position = [0, 0];
        let mut last = i64::MIN;
        for &node in &self.merged {
            let Some(&(list, position)) = self.nodes.get(&node) else { return false };
            let value = self.config.values[list][position];
            if position != next_position[list] || value < last {
                return false;
            }
            next_position[list] += 1;
            last = value;
        }
        self.merged.len() == self.total()
    }
}

impl Environment for MergeSortedLists {
    type Config = Config;
    type Answer = i64;

    const META: Meta = Meta {
        name: "merge-sorted-lists",
        version: env!("CARGO_PKG_VERSION"),
        description: "Merge two hidden sorted linked lists by splicing the smaller head, and read \
                      the value at position k (LeetCode 21 Merge Two Sorted Lists).",
        category: "linked-structures",
    };

    fn sample_config(seed: u64, difficulty: u32) -> Config {
        let mut rng = config_rng(seed, difficulty);
        let total = (scale(difficulty, 3, 21) + rng.random_range(0..3u32) as usize) as u32;
        let first = rng.random_range(1..total);
        let range = scale(difficulty, 30, 200) as i64;
        let mut pool: Vec<u32> = (10..1000).collect();
        pool.shuffle(&mut rng);
        let mut sorted_values = |count: u32| {
            let mut values: Vec<i64> = (0..count).map(|_| rng.random_range(1..=range)).collect();
            values.sort_unstable();
            values
        };
        let values = [sorted_values(first), sorted_values(total - first)];
        let ids = [pool[..first as usize].to_vec(), pool[first as usize..total as usize].to_vec()];
        let k = rng.random_range(0..total) as usize;
        Config { ids, values, k }
    }

    fn reset(config: Config) -> Result<Self, String> {
        let total = config.ids[0].len() + config.ids[1].len();
        if !(1..=MAX_NODES).contains(&total) {
            return Err(format!("the lists must hold between 1 and {MAX_NODES} nodes in all"));
        }
        if config.k >= total {
            return Err(format!("k = {} is past the end of the merged list ({total} nodes)", config.k));
        }
        let mut nodes = BTreeMap::new();
        for list in 0..2 {
            let (ids, values) = (&config.ids[list], &config.values[list]);
            if ids.len() != values.len() {
                return Err(format!("list {list} needs one value per node"));
            }
            if values.windows(2).any(|pair| pair[0] > pair[1]) {
                return Err(format!("list {list} is not sorted"));
            }
            for (position, &id) in ids.iter().enumerate() {
                if id == 0 || nodes.insert(id, (list, position)).is_some() {
                    return Err(format!("node id {id} is zero or used twice"));
                }
            }
        }
        Ok(Self { config, nodes, merged: Vec::new(), appended: BTreeSet::new() })
    }

    fn task(&self) -> String {
        format!(
            "Two singly linked lists, each sorted in non-decreasing order, are hidden from you \
             ({} nodes in all). Merge them into one sorted list, then answer the value at \
             zero-based position k = {} of the merged list. Head gives a list's first node \
             (lists are numbered 0 and 1), Next follows a link (null after a list's last node) \
             and Value reads a node's value. Build the merged list with Append, which adds a \
             node at its end (MergedAt reads it back): the answer only counts if the merged \
             list holds every node in sorted order, each list's nodes in their original \
             order. Submit the value with Done, e.g. {{\"answer\": 42}}.",
            self.total(),
            self.config.k
        )
    }

    fn observe(&self) -> String {
        format!("Nodes in both lists: {}. Merged list length: {}.", self.total(), self.merged.len())
    }

    fn tools(tools: &mut Tools<Self>) {
        tools
            .add("Head", "Return the id of the first node of `list`.", |env: &mut Self, args: ListArgs| {
                match env.config.ids.get(args.list) {
                    Some(ids) => Ok(match ids.first() {
                        Some(head) => format!("head(list {}) = node {head}", args.list),
                        None => format!("head(list {}) = null", args.list),
                    }),
                    None => Err(format!("there is no list {}; lists are 0 and 1", args.list)),
                }
            })
            .add(
                "Next",
                "Return the id of the node after `node` in its list, or null after the last node.",
                |env: &mut Self, args: NodeArgs| {
                    let (list, position) = env.find(args.node)?;
                    Ok::<_, String>(match env.config.ids[list].get(position + 1) {
                        Some(next) => format!("next(node {}) = node {next}", args.node),
                        None => format!("next(node {}) = null", args.node),
                    })
                },
            )
            .add("Value", "Return the value stored in `node`.", |env: &mut Self, args: NodeArgs| {
                env.find(args.node)?;
                Ok::<_, String>(format!("value(node {}) = {}", args.node, env.value(args.node)))
            })
            .add(
                "Append",
                "Append `node` at the end of the merged list.",
                |env: &mut Self, args: NodeArgs| {
                    env.find(args.node)?;
                    if !env.appended.insert(args.node) {
                        return Err(format!("node {} is already in the merged list", args.node));
                    }
                    env.merged.push(args.node);
                    Ok(format!(
                        "Appended node {} at position {} of the merged list.",
                        args.node,
                        env.merged.len() - 1
                    ))
                },
            )
            .add(
                "MergedAt",
                "Return the node at `index` of the merged list.",
                |env: &mut Self, args: IndexArgs| match env.merged.get(args.index) {
                    Some(node) => Ok(format!("merged[{}] = node {node}", args.index)),
                    None => Err(format!(
                        "index {} is out of range (the merged list has {} nodes)",
                        args.index,
                        env.merged.len()
                    )),
                },
            );
    }

    fn reference_answer(&self) -> i64 {
        let mut values: Vec<i64> = self.config.values.concat();
        values.sort_unstable();
        values.get(self.config.k).copied().unwrap_or(0)
    }

    fn is_correct(&self, answer: &i64) -> bool {
        *answer == self.reference_answer() && self.merge_is_complete()
    }
}

/// Splice the smaller head until both lists are used up.
pub struct MergeSortedListsOracle;

impl Oracle for MergeSortedListsOracle {
    async fn solve(agent: Agent, task: String) {
        let k = task.split("k = ").nth(1).and_then(first_int).unwrap_or(0) as usize;
        // A pointer is (node, value), `None` once its list is used up.
        let read = async |node: Option<i64>| match node {
            Some(node) => {
                let value = agent.call("Value", serde_json::json!({ "node": node })).await;
                Some((node, ints(&value).last().copied().unwrap_or(0)))
            }
            None => None,
        };
        let mut heads = [None, None];
        for (list, head) in heads.iter_mut().enumerate() {
            let observation = agent.call("Head", serde_json::json!({ "list": list })).await;
            *head = read(ints(&observation).get(1).copied()).await;
        }
        let mut merged = Vec::new();
        for _ in 0..MAX_NODES {
            let list = match heads {
                [Some((_, a)), Some((_, b))] => usize::from(b < a),
                [Some(_), None] => 0,
                [None, Some(_)] => 1,
                [None, None] => break,
            };
            let Some((node, value)) = heads[list] else { break };
            agent.call("Append", serde_json::json!({ "node": node })).await;
            merged.push(value);
            let next = agent.call("Next", serde_json::json!({ "node": node })).await;
            heads[list] = read(ints(&next).get(1).copied()).await;
        }
        agent.done(merged.get(k).copied().unwrap_or(0)).await;
    }
}

export_env!(MergeSortedLists, MergeSortedListsOracle);

#[cfg(test)]
mod tests {
    use codegym_env_sdk::{Session, ToolCall, testing};

    use super::*;

    const CONFIG: &str = r#"{"ids": [[11, 12, 13], [21, 22]], "values": [[1, 4, 4], [2, 4]], "k": 3}"#;

    #[test]
    fn oracle_solves_every_difficulty() {
        testing::check_environment::<MergeSortedLists, MergeSortedListsOracle>(10);
    }

    #[test]
    fn tools_walk_and_merge_and_reject_bad_input() {
        let mut session = testing::session::<MergeSortedLists>(CONFIG);
        let mut step = |name: &str, args: &str| session.step(&ToolCall::new(name, args)).observation;
        assert_eq!(step("Head", r#"{"list": 1}"#), "head(list 1) = node 21");
        assert_eq!(step("Next", r#"{"node": 12}"#), "next(node 12) = node 13");
        assert_eq!(step("Next", r#"{"node": 22}"#), "next(node 22) = null");
        assert_eq!(step("Value", r#"{"node": 21}"#), "value(node 21) = 2");
        assert_eq!(step("Append", r#"{"node": 11}"#), "Appended node 11 at position 0 of the merged list.");
        assert_eq!(step("MergedAt", r#"{"index": 0}"#), "merged[0] = node 11");
        assert_eq!(step("Observe", "{}"), "Nodes in both lists: 5. Merged list length: 1.");
        for (name, args) in [
            ("Head", r#"{"list": 2}"#),
            ("Next", r#"{"node": 14}"#),
            ("Value", r#"{"node": 0}"#),
            ("Append", r#"{"node": 11}"#),
            ("MergedAt", r#"{"index": 1}"#),
        ] {
            assert!(step(name, args).starts_with("Error:"), "{name} {args}");
        }
    }

    #[test]
    fn answers_need_a_complete_merge() {
        assert_eq!(testing::session::<MergeSortedLists>(CONFIG).reference_answer(), "4");
        // The right value without the merge gets nothing.
        let step =
            testing::session::<MergeSortedLists>(CONFIG).step(&ToolCall::new("Done", r#"{"answer": 4}"#));
        assert!(step.done && step.reward == 0.0);
        // Equal values may come from either list, but each list keeps its own order.
        for (order, reward) in
            [([11, 21, 12, 22, 13], 1.0), ([11, 21, 22, 12, 13], 1.0), ([11, 21, 13, 12, 22], 0.0)]
        {
            let mut session = testing::session::<MergeSortedLists>(CONFIG);
            for node in order {
                session.step(&ToolCall::new("Append", format!(r#"{{"node": {node}}}"#)));
            }
            let step = session.step(&ToolCall::new("Done", r#"{"answer": 4}"#));
            assert!(step.done && step.reward == reward, "{order:?}");
        }
        let mut session = Session::<MergeSortedLists>::new();
        assert!(session.reset(r#"{"ids": [[1, 2], [3]], "values": [[5, 4], [1]], "k": 0}"#).is_err());
        assert!(session.reset(r#"{"ids": [[1, 2], [2]], "values": [[1, 4], [1]], "k": 0}"#).is_err());
        assert!(session.reset(r#"{"ids": [[1, 2], [3]], "values": [[1, 4], [1]], "k": 3}"#).is_err());
        assert!(session.reset(r#"{"ids": [[], []], "values": [[], []], "k": 0}"#).is_err());
    }
}
