//! Where the cycle of a hidden singly linked list begins (LeetCode 142 "Linked List Cycle
//! II").
//!
//! The list's nodes are named by ids; `Head` gives the first node and `Next` follows one
//! link. Floyd's reference solution moves a slow pointer one link and a fast pointer two links
//! per round (three `Next` calls) until they meet inside the cycle, then restarts one pointer
//! at the head and advances both one link at a time: they meet at the cycle's first node. The
//! hash-set solution is also available: `Mark` a node as visited, `IsMarked` tests it, and the
//! first node reached twice is the answer. `NodeCount` gives the number of nodes.

use std::collections::{BTreeMap, BTreeSet};

use codegym_env_sdk::prelude::*;

/// Most nodes a config may hold.
const MAX_NODES: usize = 1_000;

#[derive(Serialize, Deserialize)]
pub struct Config {
    /// Distinct positive node ids in list order: `ids[0]` is the head.
    pub ids: Vec<u32>,
    /// Position in `ids` that the last node links back to.
    pub cycle_start: usize,
}

pub struct LinkedListCycle {
    config: Config,
    /// Node id -> id of the next node.
    next: BTreeMap<u32, u32>,
    /// The agent's visited set.
    marked: BTreeSet<u32>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct NodeArgs {
    /// A node id, as returned by Head or Next.
    node: u32,
}

impl LinkedListCycle {
    fn check(&self, node: u32) -> Result<(), String> {
        if self.next.contains_key(&node) { Ok(()) } else { Err(format!("there is no node {node}")) }
    }
}

impl Environment for LinkedListCycle {
    type Config = Config;
    type Answer = u32;

    const META: Meta = Meta {
        name: "linked-list-cycle",
        version: env!("CARGO_PKG_VERSION"),
        description: "Find the node where the cycle of a hidden singly linked list begins, with \
                      Floyd's slow and fast pointers (LeetCode 142 Linked List Cycle II).",
        category: "linked-structures",
    };

    fn sample_config(seed: u64, difficulty: u32) -> Config {
        let mut rng = config_rng(seed, difficulty);
        let len = scale(difficulty, 4, 20);
        let mut pool: Vec<u32> = (10..1000).collect();
        pool.shuffle(&mut rng);
        pool.truncate(len);
        let cycle_start = rng.random_range(0..len as u32 - 1) as usize;
        Config { ids: pool, cycle_start }
    }

    fn reset(config: Config) -> Result<Self, String> {
        let len = config.ids.len();
        if !(1..=MAX_NODES).contains(&len) {
            return Err(format!("the list must have between 1 and {MAX_NODES} nodes"));
        }
        if config.cycle_start >= len {
            return Err(format!("cycle_start {} is not a position of the list", config.cycle_start));
        }
        if config.ids.contains(&0) {
            return Err("node ids must be positive".to_owned());
        }
        let mut next = BTreeMap::new();
        for (position, &id) in config.ids.iter().enumerate() {
            let successor = config.ids.get(position + 1).unwrap_or(&config.ids[config.cycle_start]);
            if next.insert(id, *successor).is_some() {
                return Err(format!("node id {id} is used twice"));
            }
        }
        Ok(Self { config, next, marked: BTreeSet::new() })
    }

    fn task(&self) -> String {
        "A singly linked list is hidden from you; its last node links back to an earlier node \
         (or itself), so following links loops forever. Find the id of the first node of the \
         cycle: the node where the list enters the loop. Head gives the first node, Next \
         follows a link and NodeCount gives the number of nodes. A visited set is kept for \
         you: Mark a node, and IsMarked tests it. Submit the node id with Done, e.g. \
         {\"answer\": 417}."
            .to_owned()
    }

    fn observe(&self) -> String {
        format!("Marked nodes: {}.", self.marked.len())
    }

    fn tools(tools: &mut Tools<Self>) {
        tools
            .add("Head", "Return the id of the list's first node.", |env: &mut Self, _: NoArgs| {
                format!("head = node {}", env.config.ids[0])
            })
            .add(
                "Next",
                "Return the id of the node that `node` links to.",
                |env: &mut Self, args: NodeArgs| {
                    env.check(args.node)?;
                    Ok::<_, String>(format!("next(node {}) = node {}", args.node, env.next[&args.node]))
                },
            )
            .add("NodeCount", "Return the number of nodes in the list.", |env: &mut Self, _: NoArgs| {
                format!("{} nodes", env.config.ids.len())
            })
            .add("Mark", "Add `node` to the visited set.", |env: &mut Self, args: NodeArgs| {
                env.check(args.node)?;
                env.marked.insert(args.node);
                Ok::<_, String>(format!("Marked node {}; {} marked.", args.node, env.marked.len()))
            })
            .add("IsMarked", "Whether `node` is in the visited set.", |env: &mut Self, args: NodeArgs| {
                env.check(args.node)?;
                let verdict = if env.marked.contains(&args.node) { "is" } else { "is not" };
                Ok::<_, String>(format!("node {} {verdict} marked", args.node))
            });
    }

    fn reference_answer(&self) -> u32 {
        self.config.ids[self.config.cycle_start]
    }
}

/// Floyd's tortoise and hare.
pub struct LinkedListCycleOracle;

impl Oracle for LinkedListCycleOracle {
    async fn solve(agent: Agent, _task: String) {
        let next = async |node: i64| {
            let observation = agent.call("Next", serde_json::json!({ "node": node })).await;
            ints(&observation).last().copied().unwrap_or(0)
        };
        let head = first_int(&agent.call("Head", NoArgs {}).await).unwrap_or(0);
        let (mut slow, mut fast) = (head, head);
        // Each phase takes at most as many rounds as there are nodes; the bounds only guard
        // against a broken environment.
        for _ in 0..=MAX_NODES {
            slow = next(slow).await;
            fast = next(next(fast).await).await;
            if slow == fast {
                break;
            }
        }
        let mut entry = head;
        for _ in 0..=MAX_NODES {
            if entry == slow {
                break;
            }
            entry = next(entry).await;
            slow = next(slow).await;
        }
        agent.done(entry).await;
    }
}

export_env!(LinkedListCycle, LinkedListCycleOracle);

#[cfg(test)]
mod tests {
    use codegym_env_sdk::{Session, ToolCall, testing};

    use super::*;

    /// 31 -> 42 -> 53 -> 64 -> 75 -> back to 53.
    const CONFIG: &str = r#"{"ids": [31, 42, 53, 64, 75], "cycle_start": 2}"#;

    #[test]
    fn oracle_solves_every_difficulty() {
        testing::check_environment::<LinkedListCycle, LinkedListCycleOracle>(10);
    }

    #[test]
    fn tools_follow_links_and_reject_bad_input() {
        let mut session = testing::session::<LinkedListCycle>(CONFIG);
        let mut step = |name: &str, args: &str| session.step(&ToolCall::new(name, args)).observation;
        assert_eq!(step("Head", "{}"), "head = node 31");
        assert_eq!(step("Next", r#"{"node": 31}"#), "next(node 31) = node 42");
        assert_eq!(step("Next", r#"{"node": 75}"#), "next(node 75) = node 53");
        assert_eq!(step("NodeCount", "{}"), "5 nodes");
        assert_eq!(step("IsMarked", r#"{"node": 53}"#), "node 53 is not marked");
        assert_eq!(step("Mark", r#"{"node": 53}"#), "Marked node 53; 1 marked.");
        assert_eq!(step("IsMarked", r#"{"node": 53}"#), "node 53 is marked");
        assert_eq!(step("Observe", "{}"), "Marked nodes: 1.");
        for (name, args) in [
            ("Next", r#"{"node": 7}"#),
            ("Mark", r#"{"node": 0}"#),
            ("IsMarked", r#"{"node": -3}"#),
            ("Next", r#"{}"#),
        ] {
            assert!(step(name, args).starts_with("Error:"), "{name} {args}");
        }
    }

    #[test]
    fn answers_are_graded_and_configs_validated() {
        assert_eq!(testing::session::<LinkedListCycle>(CONFIG).reference_answer(), "53");
        let step =
            testing::session::<LinkedListCycle>(CONFIG).step(&ToolCall::new("Done", r#"{"answer": 31}"#));
        assert!(step.done && step.reward == 0.0);
        let step =
            testing::session::<LinkedListCycle>(CONFIG).step(&ToolCall::new("Done", r#"{"answer": 53}"#));
        assert!(step.done && step.reward == 1.0);
        let mut session = Session::<LinkedListCycle>::new();
        assert!(session.reset(r#"{"ids": [1, 2, 1], "cycle_start": 0}"#).is_err());
        assert!(session.reset(r#"{"ids": [1, 2], "cycle_start": 2}"#).is_err());
        assert!(session.reset(r#"{"ids": [], "cycle_start": 0}"#).is_err());
        assert!(session.reset(r#"{"ids": [0, 2], "cycle_start": 0}"#).is_err());
        // A self-loop on a single node is a valid list.
        assert!(session.reset(r#"{"ids": [8], "cycle_start": 0}"#).is_ok());
    }
}
