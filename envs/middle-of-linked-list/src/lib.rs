//! Value of the middle node of a hidden singly linked list (LeetCode 876 "Middle of the
//! Linked List").
//!
//! The list's nodes are named by ids; `Head` gives the first node, `Next` follows one link and
//! `Value` reads a node's value. The reference solution runs a slow and a fast pointer from
//! the head: while the fast node has a successor (`HasNext`), the fast pointer moves two links
//! and the slow pointer one; when the fast pointer runs off the end, the slow pointer is at
//! the middle (the second of the two middles for an even length). The array solution is also
//! available: `Record` appends a node to a scratch array and `RecordedAt` reads it back.

use std::collections::BTreeMap;

use codegym_env_sdk::prelude::*;

/// Most nodes a config may hold (also the scratch array's capacity).
const MAX_NODES: usize = 1_000;

#[derive(Serialize, Deserialize)]
pub struct Config {
    /// Distinct positive node ids in list order: `ids[0]` is the head.
    pub ids: Vec<u32>,
    /// `values[i]` is the value of node `ids[i]`.
    pub values: Vec<i64>,
}

pub struct MiddleOfLinkedList {
    config: Config,
    /// Node id -> its position in the list.
    position: BTreeMap<u32, usize>,
    /// The agent's scratch array of node ids.
    recorded: Vec<u32>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct NodeArgs {
    /// A node id, as returned by Head or Next.
    node: u32,
}

impl MiddleOfLinkedList {
    fn find(&self, node: u32) -> Result<usize, String> {
        self.position.get(&node).copied().ok_or(format!("there is no node {node}"))
    }
}

impl Environment for MiddleOfLinkedList {
    type Config = Config;
    type Answer = i64;

    const META: Meta = Meta {
        name: "middle-of-linked-list",
        version: env!("CARGO_PKG_VERSION"),
        description: "Value of the middle node of a hidden singly linked list, with slow and fast \
                      pointers (LeetCode 876 Middle of the Linked List).",
        category: "linked-structures",
    };

    fn sample_config(seed: u64, difficulty: u32) -> Config {
        let mut rng = config_rng(seed, difficulty);
        // The length varies by a few nodes so it cannot be inferred from the difficulty.
        let len = scale(difficulty, 4, 32) + rng.random_range(0..3u32) as usize;
        let mut ids: Vec<u32> = (10..1000).collect();
        ids.shuffle(&mut rng);
        ids.truncate(len);
        let values = (0..len).map(|_| rng.random_range(1..1000)).collect();
        Config { ids, values }
    }

    fn reset(config: Config) -> Result<Self, String> {
        let len = config.ids.len();
        if !(1..=MAX_NODES).contains(&len) {
            return Err(format!("the list must have between 1 and {MAX_NODES} nodes"));
        }
        if config.values.len() != len {
            return Err("there must be one value per node".to_owned());
        }
        if config.ids.contains(&0) {
            return Err("node ids must be positive".to_owned());
        }
        let mut position = BTreeMap::new();
        for (index, &id) in config.ids.iter().enumerate() {
            if position.insert(id, index).is_some() {
                return Err(format!("node id {id} is used twice"));
            }
        }
        Ok(Self { config, position, recorded: Vec::new() })
    }

    fn task(&self) -> String {
        "A singly linked list is hidden from you. Find the value of its middle node: for n nodes, \
         the node at zero-based position n / 2 rounded down (the second middle when n is even). \
         Head gives the first node, Next follows a link (null after the last node), HasNext \
         tells whether a node has a successor and Value reads a node's value. A scratch array \
         of node ids is kept for you: Record appends a node and RecordedAt reads one back. \
         Submit the value with Done, e.g. {\"answer\": 417}."
            .to_owned()
    }

    fn observe(&self) -> String {
        format!("Recorded nodes: {}.", self.recorded.len())
    }

    fn tools(tools: &mut Tools<Self>) {
        tools
            .add("Head", "Return the id of the list's first node.", |env: &mut Self, _: NoArgs| {
                format!("head = node {}", env.config.ids[0])
            })
            .add(
                "Next",
                "Return the id of the node after `node`, or null after the last node.",
                |env: &mut Self, args: NodeArgs| {
                    let index = env.find(args.node)?;
                    Ok::<_, String>(match env.config.ids.get(index + 1) {
                        Some(next) => format!("next(node {}) = node {next}", args.node),
                        None => format!("next(node {}) = null", args.node),
                    })
                },
            )
            .add("HasNext", "Whether `node` has a successor.", |env: &mut Self, args: NodeArgs| {
                let index = env.find(args.node)?;
                let verdict = if index + 1 < env.config.ids.len() { "has" } else { "has no" };
                Ok::<_, String>(format!("node {} {verdict} successor", args.node))
            })
            .add("Value", "Return the value stored in `node`.", |env: &mut Self, args: NodeArgs| {
                let index = env.find(args.node)?;
                Ok::<_, String>(format!("value(node {}) = {}", args.node, env.config.values[index]))
            })
            .add(
                "Record",
                "Append `node` at the end of the scratch array.",
                |env: &mut Self, args: NodeArgs| {
                    env.find(args.node)?;
                    if env.recorded.len() >= env.config.ids.len() {
                        return Err(format!("the scratch array is full ({} nodes)", env.recorded.len()));
                    }
                    env.recorded.push(args.node);
                    Ok(format!("Recorded node {} at index {}.", args.node, env.recorded.len() - 1))
                },
            )
            .add(
                "RecordedAt",
                "Return the node id stored at `index` of the scratch array.",
                |env: &mut Self, args: IndexArgs| match env.recorded.get(args.index) {
                    Some(node) => Ok(format!("recorded[{}] = node {node}", args.index)),
                    None => {
                        Err(format!("index {} is out of range ({} recorded)", args.index, env.recorded.len()))
                    }
                },
            );
    }

    fn reference_answer(&self) -> i64 {
        self.config.values[self.config.values.len() / 2]
    }
}

/// Slow and fast pointers.
pub struct MiddleOfLinkedListOracle;

impl Oracle for MiddleOfLinkedListOracle {
    async fn solve(agent: Agent, _task: String) {
        // `None` is null. The node count bounds the loop only to guard against a broken env.
        let next = async |node: i64| {
            let observation = agent.call("Next", serde_json::json!({ "node": node })).await;
            ints(&observation).get(1).copied()
        };
        let head = first_int(&agent.call("Head", NoArgs {}).await).unwrap_or(0);
        let (mut slow, mut fast) = (head, Some(head));
        for _ in 0..MAX_NODES {
            let Some(node) = fast else { break };
            let has_next = agent.call("HasNext", serde_json::json!({ "node": node })).await;
            if has_next.contains("has no") || has_next.starts_with("Error") {
                break;
            }
            fast = match next(node).await {
                Some(after) => next(after).await,
                None => None,
            };
            slow = next(slow).await.unwrap_or(slow);
        }
        let value = agent.call("Value", serde_json::json!({ "node": slow })).await;
        agent.done(ints(&value).last().copied().unwrap_or(0)).await;
    }
}

export_env!(MiddleOfLinkedList, MiddleOfLinkedListOracle);

#[cfg(test)]
mod tests {
    use codegym_env_sdk::{Session, ToolCall, testing};

    use super::*;

    const CONFIG: &str = r#"{"ids": [31, 42, 53, 64], "values": [5, -7, 9, 5]}"#;

    #[test]
    fn oracle_solves_every_difficulty() {
        testing::check_environment::<MiddleOfLinkedList, MiddleOfLinkedListOracle>(10);
    }

    #[test]
    fn tools_follow_links_and_reject_bad_input() {
        let mut session = testing::session::<MiddleOfLinkedList>(CONFIG);
        let mut step = |name: &str, args: &str| session.step(&ToolCall::new(name, args)).observation;
        assert_eq!(step("Head", "{}"), "head = node 31");
        assert_eq!(step("Next", r#"{"node": 31}"#), "next(node 31) = node 42");
        assert_eq!(step("Next", r#"{"node": 64}"#), "next(node 64) = null");
        assert_eq!(step("HasNext", r#"{"node": 53}"#), "node 53 has successor");
        assert_eq!(step("HasNext", r#"{"node": 64}"#), "node 64 has no successor");
        assert_eq!(step("Value", r#"{"node": 42}"#), "value(node 42) = -7");
        assert_eq!(step("Record", r#"{"node": 42}"#), "Recorded node 42 at index 0.");
        assert_eq!(step("RecordedAt", r#"{"index": 0}"#), "recorded[0] = node 42");
        assert_eq!(step("Observe", "{}"), "Recorded nodes: 1.");
        for (name, args) in [
            ("Next", r#"{"node": 7}"#),
            ("Value", r#"{"node": 0}"#),
            ("HasNext", r#"{"node": -3}"#),
            ("RecordedAt", r#"{"index": 1}"#),
            ("Record", r#"{"node": 99}"#),
        ] {
            assert!(step(name, args).starts_with("Error:"), "{name} {args}");
        }
    }

    #[test]
    fn answers_are_graded_and_configs_validated() {
        assert_eq!(testing::session::<MiddleOfLinkedList>(CONFIG).reference_answer(), "9");
        let step =
            testing::session::<MiddleOfLinkedList>(CONFIG).step(&ToolCall::new("Done", r#"{"answer": -7}"#));
        assert!(step.done && step.reward == 0.0);
        let step =
            testing::session::<MiddleOfLinkedList>(CONFIG).step(&ToolCall::new("Done", r#"{"answer": 9}"#));
        assert!(step.done && step.reward == 1.0);
        let mut session = Session::<MiddleOfLinkedList>::new();
        assert!(session.reset(r#"{"ids": [1, 2, 1], "values": [1, 2, 3]}"#).is_err());
        assert!(session.reset(r#"{"ids": [1, 2], "values": [1]}"#).is_err());
        assert!(session.reset(r#"{"ids": [], "values": []}"#).is_err());
    }
}
