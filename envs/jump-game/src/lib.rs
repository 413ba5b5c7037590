//! Fewest jumps to the end of a hidden array (LeetCode 45 "Jump Game II"), by the greedy
//! one-pass breadth scan.
//!
//! From index `i` one may jump forward up to `nums[i]` places. The reference solution keeps
//! two registers: `end`, the farthest index reachable with the jumps made so far, and
//! `farthest`, the farthest index reachable with one more. Scanning `i` from 0 to `n - 2`,
//! it raises `farthest` to `i + nums[i]`, and when `i` reaches `end` it makes a jump
//! (`end = farthest`). The agent reads elements with `Get`; the registers live in the
//! environment (`UpdateFarthest`, `Jump`, `Registers`).

use codegym_env_sdk::prelude::*;

/// Longest array a config may hold.
const MAX_LEN: usize = 10_000;
/// Largest jump length.
const MAX_JUMP: u32 = 10_000;

#[derive(Serialize, Deserialize)]
pub struct Config {
    /// Jump lengths; the last index must be reachable from index 0.
    pub nums: Vec<u32>,
}

pub struct JumpGame {
    nums: Vec<u32>,
    /// Farthest index reachable with the jumps made so far.
    end: usize,
    /// Farthest index reachable with one more jump, as raised by the agent.
    farthest: usize,
    jumps: u32,
    reads: usize,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ReachArgs {
    /// An index reachable with one more jump, e.g. `i + nums[i]`.
    reach: usize,
}

/// The fewest jumps from index 0 to the last index, or `None` if it cannot be reached.
fn min_jumps(nums: &[u32]) -> Option<u32> {
    let (mut jumps, mut end, mut farthest) = (0, 0, 0);
    for (i, &n) in nums.iter().enumerate().take(nums.len().saturating_sub(1)) {
        farthest = farthest.max(i + n as usize);
        if i == end {
            if farthest <= i {
                return None;
            }
            jumps += 1;
            end = farthest;
        }
    }
    Some(jumps)
}

impl Environment for JumpGame {
    type Config = Config;
    type Answer = u32;

    const META: Meta = Meta {
        name: "jump-game",
        version: env!("CARGO_PKG_VERSION"),
        description: "Fewest jumps from the start to the end of a hidden array, by the greedy scan \
                      (LeetCode 45 Jump Game II).",
        category: "greedy",
    };

    fn sample_config(seed: u64, difficulty: u32) -> Config {
        let mut rng = config_rng(seed, difficulty);
        let len = scale(difficulty, 4, 30);
        let longest = scale(difficulty, 3, 5) as u32;
        let mut nums: Vec<u32> = (0..len).map(|_| rng.random_range(0..=longest)).collect();
        // Wherever the scan would get stuck, lengthen that jump so the end stays reachable.
        let mut farthest = 0;
        for (i, jump) in nums.iter_mut().enumerate().take(len - 1) {
            if farthest <= i && *jump == 0 {
                *jump = rng.random_range(1..=longest);
            }
            farthest = farthest.max(i + *jump as usize);
        }
        Config { nums }
    }

    fn reset(config: Config) -> Result<Self, String> {
        if !(1..=MAX_LEN).contains(&config.nums.len()) {
            return Err(format!("the array length must be between 1 and {MAX_LEN}"));
        }
        if config.nums.iter().any(|&n| n > MAX_JUMP) {
            return Err(format!("jump lengths may be at most {MAX_JUMP}"));
        }
        if min_jumps(&config.nums).is_none() {
            return Err("the last index cannot be reached".to_owned());
        }
        Ok(Self { nums: config.nums, end: 0, farthest: 0, jumps: 0, reads: 0 })
    }

    fn task(&self) -> String {
        format!(
            "An array nums of {} non-negative integers is hidden from you. You start at index 0, \
             and from index i you may jump forward to any index up to i + nums[i]. Find the \
             fewest jumps that reach the last index (it is always reachable). Length gives the \
             size and Get reads one element. Two registers are kept for you, both 0 at first: \
             `end` (the farthest index reachable with the jumps made so far) and `farthest`. \
             UpdateFarthest(reach) raises farthest to reach if it is larger, Jump counts a jump \
             and sets end = farthest, and Registers shows both. Submit the number of jumps with \
             Done, e.g. {{\"answer\": 3}}.",
            self.nums.len()
        )
    }

    fn observe(&self) -> String {
        format!(
            "Array length: {}. Elements read so far: {}. end = {}, farthest = {}. Jumps made: {}.",
            self.nums.len(),
            self.reads,
            self.end,
            self.farthest,
            self.jumps
        )
    }

    fn tools(tools: &mut Tools<Self>) {
        tools
            .add("Length", "Return the number of elements.", |env: &mut Self, _: NoArgs| {
                env.nums.len().to_string()
            })
            .add(
                "Get",
                "Return the element at `index`, as `nums[index] = value`.",
                |env: &mut Self, args: IndexArgs| match env.nums.get(args.index) {
                    Some(value) => {
                        env.reads += 1;
                        Ok(format!("nums[{}] = {value}", args.index))
                    }
                    None => Err(format!("index {} is out of range (length {})", args.index, env.nums.len())),
                },
            )
            .add(
                "UpdateFarthest",
                "Set farthest = max(farthest, `reach`) and return it.",
                |env: &mut Self, args: ReachArgs| {
                    env.farthest = env.farthest.max(args.reach);
                    format!("farthest = {}", env.farthest)
                },
            )
            .add(
                "Jump",
                "Make one jump: count it and set end = farthest. Fails unless farthest is past end.",
                |env: &mut Self, _: NoArgs| {
                    if env.farthest <= env.end {
                        return Err(format!(
                            "farthest = {} does not pass end = {}, so a jump gains nothing",
                            env.farthest, env.end
                        ));
                    }
                    env.end = env.farthest;
                    env.jumps += 1;
                    Ok(format!("Jump {} made; end = {}.", env.jumps, env.end))
                },
            )
            .add("Registers", "Return both registers.", |env: &mut Self, _: NoArgs| {
                format!("end = {}, farthest = {}", env.end, env.farthest)
            });
    }

    fn reference_answer(&self) -> u32 {
        min_jumps(&self.nums).unwrap_or(0)
    }
}

/// The greedy scan: raise farthest at every index, jump when the scan reaches end.
pub struct JumpGameOracle;

impl Oracle for JumpGameOracle {
    async fn solve(agent: Agent, _task: String) {
        let len = first_int(&agent.call("Length", NoArgs {}).await).unwrap_or(0);
        let (mut end, mut jumps) = (0, 0);
        for index in 0..len - 1 {
            let read = ints(&agent.call("Get", serde_json::json!({ "index": index })).await);
            let reach = index + read.get(1).copied().unwrap_or(0);
            agent.call("UpdateFarthest", serde_json::json!({ "reach": reach })).await;
            if index == end {
                let jumped = agent.call("Jump", NoArgs {}).await;
                end = ints(&jumped).last().copied().unwrap_or(len);
                jumps += 1;
            }
        }
        agent.done(jumps).await;
    }
}

export_env!(JumpGame, JumpGameOracle);

#[cfg(test)]
mod tests {
    use codegym_env_sdk::{Session, ToolCall, testing};

    use super::*;

    const CONFIG: &str = r#"{"nums": [2, 3, 1, 1, 4]}"#;

    #[test]
    fn oracle_solves_every_difficulty() {
        testing::check_environment::<JumpGame, JumpGameOracle>(10);
    }

    #[test]
    fn tools_drive_the_registers() {
        let mut session = testing::session::<JumpGame>(CONFIG);
        for call in [
            ToolCall::new("Get", r#"{"index": 5}"#),
            ToolCall::new("Jump", "{}"),
            ToolCall::new("UpdateFarthest", r#"{"reach": -2}"#),
        ] {
            let step = session.step(&call);
            assert!(step.observation.starts_with("Error:"), "{call:?}: {}", step.observation);
        }
        assert_eq!(session.step(&ToolCall::new("Get", r#"{"index": 1}"#)).observation, "nums[1] = 3");
        assert_eq!(
            session.step(&ToolCall::new("UpdateFarthest", r#"{"reach": 2}"#)).observation,
            "farthest = 2"
        );
        assert_eq!(
            session.step(&ToolCall::new("UpdateFarthest", r#"{"reach": 1}"#)).observation,
            "farthest = 2"
        );
        assert_eq!(session.step(&ToolCall::new("Jump", "{}")).observation, "Jump 1 made; end = 2.");
        assert!(session.step(&ToolCall::new("Jump", "{}")).observation.starts_with("Error:"));
        session.step(&ToolCall::new("UpdateFarthest", r#"{"reach": 4}"#));
        assert_eq!(session.step(&ToolCall::new("Registers", "{}")).observation, "end = 2, farthest = 4");
    }

    #[test]
    fn answers_are_graded_and_bad_configs_rejected() {
        assert_eq!(testing::session::<JumpGame>(CONFIG).reference_answer(), "2");
        assert_eq!(testing::session::<JumpGame>(r#"{"nums": [0]}"#).reference_answer(), "0");
        let step = testing::session::<JumpGame>(CONFIG).step(&ToolCall::new("Done", r#"{"answer": 3}"#));
        assert!(step.done && step.reward == 0.0);
        let step = testing::session::<JumpGame>(CONFIG).step(&ToolCall::new("Done", r#"{"answer": 2}"#));
        assert!(step.done && step.reward == 1.0);
        let mut session = Session::<JumpGame>::new();
        assert!(session.reset(r#"{"nums": [3, 2, 1, 0, 4]}"#).is_err());
        assert!(session.reset(r#"{"nums": []}"#).is_err());
    }
}
