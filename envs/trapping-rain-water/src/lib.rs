//! Water trapped between the bars of a hidden elevation map, by the two-pointer method
//! (LeetCode 42 "Trapping Rain Water").
//!
//! The reference solution moves two pointers inward from the ends, each with the highest bar
//! seen on its side (`left_max`, `right_max`). It always settles the lower of the two bars
//! under the pointers: the higher bar on the other side guarantees that the water above the
//! lower one is bounded by its own side's maximum. So the bar either raises its side's
//! maximum or holds `max - height` units of water, and its pointer moves inward. The
//! pointers, the maxima and the water total live in the environment: `Heights` reads the
//! bars under the pointers, `RaiseMax` and `AddWater` settle a bar, `Advance` moves a pointer.

use codegym_env_sdk::prelude::*;

/// Longest map a config may hold.
const MAX_LEN: usize = 10_000;
/// Tallest bar.
const MAX_HEIGHT: u64 = 1_000_000;

#[derive(Serialize, Deserialize)]
pub struct Config {
    /// Bar heights, each at most 1,000,000.
    pub heights: Vec<u64>,
}

pub struct TrappingRainWater {
    heights: Vec<u64>,
    left: usize,
    right: usize,
    left_max: u64,
    right_max: u64,
    water: u64,
}

#[derive(Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Side {
    Left,
    Right,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct SideArgs {
    /// Which pointer: "left" or "right".
    side: Side,
}

impl TrappingRainWater {
    fn name(side: Side) -> &'static str {
        match side {
            Side::Left => "left",
            Side::Right => "right",
        }
    }

    fn pointer(&self, side: Side) -> usize {
        match side {
            Side::Left => self.left,
            Side::Right => self.right,
        }
    }

    fn max_mut(&mut self, side: Side) -> &mut u64 {
        match side {
            Side::Left => &mut self.left_max,
            Side::Right => &mut self.right_max,
        }
    }
}

impl Environment for TrappingRainWater {
    type Config = Config;
    type Answer = u64;

    const META: Meta = Meta {
        name: "trapping-rain-water",
        version: env!("CARGO_PKG_VERSION"),
        description: "Total rain water trapped by a hidden elevation map, with two pointers and \
                      running maxima (LeetCode 42 Trapping Rain Water).",
        category: "arrays",
    };

    fn sample_config(seed: u64, difficulty: u32) -> Config {
        let mut rng = config_rng(seed, difficulty);
        let len = scale(difficulty, 5, 36);
        let tallest = scale(difficulty, 5, 12) as u64;
        Config { heights: (0..len).map(|_| rng.random_range(0..=tallest)).collect() }
    }

    fn reset(config: Config) -> Result<Self, String> {
        let len = config.heights.len();
        if !(1..=MAX_LEN).contains(&len) {
            return Err(format!("there must be between 1 and {MAX_LEN} bars"));
        }
        if config.heights.iter().any(|&h| h > MAX_HEIGHT) {
            return Err(format!("bars must be at most {MAX_HEIGHT} high"));
        }
        Ok(Self { heights: config.heights, left: 0, right: len - 1, left_max: 0, right_max: 0, water: 0 })
    }

    fn task(&self) -> String {
        format!(
            "An elevation map of {} bars of width 1 is hidden from you. Compute how many units \
             of rain water it traps. Get reads a bar's height and Length gives the count. Two \
             pointers are kept for you, at first left = 0 and right = {}, each with a maximum \
             register (at first 0), and a water total: Heights reads the bars under both \
             pointers, RaiseMax raises a side's maximum to the height under its pointer, \
             AddWater adds the water above the bar under a side's pointer (that side's maximum \
             minus its height, or 0), and Advance moves a pointer one step inward (side is \
             \"left\" or \"right\"). Submit the total with Done, e.g. {{\"answer\": 6}}.",
            self.heights.len(),
            self.right
        )
    }

    fn observe(&self) -> String {
        format!(
            "Bars: {}. Pointers: left = {}, right = {}. Maxima: left_max = {}, right_max = {}. \
             Water so far: {}.",
            self.heights.len(),
            self.left,
            self.right,
            self.left_max,
            self.right_max,
            self.water
        )
    }

    fn tools(tools: &mut Tools<Self>) {
        tools
            .add("Length", "Return the number of bars.", |env: &mut Self, _: NoArgs| {
                format!("There are {} bars.", env.heights.len())
            })
            .add(
                "Get",
                "Return the height of the bar at `index`, as `h[index] = height`.",
                |env: &mut Self, args: IndexArgs| match env.heights.get(args.index) {
                    Some(height) => Ok(format!("h[{}] = {height}", args.index)),
                    None => Err(format!("index {} is out of range ({} bars)", args.index, env.heights.len())),
                },
            )
            .add(
                "Heights",
                "Return the heights of the bars under both pointers.",
                |env: &mut Self, _: NoArgs| {
                    format!(
                        "left = {}: h = {}; right = {}: h = {}.",
                        env.left, env.heights[env.left], env.right, env.heights[env.right]
                    )
                },
            )
            .add(
                "RaiseMax",
                "Raise the side's maximum register to the height under its pointer, if that is \
                 higher.",
                |env: &mut Self, args: SideArgs| {
                    let height = env.heights[env.pointer(args.side)];
                    let max = env.max_mut(args.side);
                    *max = (*max).max(height);
                    format!("{}_max = {}.", Self::name(args.side), max)
                },
            )
            .add(
                "AddWater",
                "Add the water above the bar under the side's pointer to the total: the side's \
                 maximum minus the bar's height, or 0 if the bar is not lower.",
                |env: &mut Self, args: SideArgs| {
                    let pointer = env.pointer(args.side);
                    let added = env.max_mut(args.side).saturating_sub(env.heights[pointer]);
                    env.water = env.water.saturating_add(added);
                    format!("Added {added} above h[{pointer}]; water = {}.", env.water)
                },
            )
            .add(
                "Advance",
                "Move the side's pointer one step inward (left moves right, right moves left); the \
                 pointers cannot cross.",
                |env: &mut Self, args: SideArgs| {
                    if env.left >= env.right {
                        return Err(format!("the pointers have met at {}", env.left));
                    }
                    let pointer = match args.side {
                        Side::Left => {
                            env.left += 1;
                            env.left
                        }
                        Side::Right => {
                            env.right -= 1;
                            env.right
                        }
                    };
                    Ok(format!("{} = {pointer}: h = {}.", Self::name(args.side), env.heights[pointer]))
                },
            );
    }

    fn reference_answer(&self) -> u64 {
        // Water above a bar: the lower of the highest bars on each side (itself included),
        // minus its height.
        let mut left_max = Vec::with_capacity(self.heights.len());
        let mut max = 0;
        for &height in &self.heights {
            max = max.max(height);
            left_max.push(max);
        }
        let mut right_max = 0;
        let mut total = 0;
        for (index, &height) in self.heights.iter().enumerate().rev() {
            right_max = right_max.max(height);
            total += left_max[index].min(right_max) - height;
        }
        total
    }
}

/// Two pointers: settle the lower bar, raising its side's maximum or adding its water.
pub struct TrappingRainWaterOracle;

impl Oracle for TrappingRainWaterOracle {
    async fn solve(agent: Agent, _task: String) {
        let read = ints(&agent.call("Heights", NoArgs {}).await);
        let &[mut left, mut left_height, mut right, mut right_height] = read.as_slice() else {
            agent.done(0).await;
            return;
        };
        let (mut left_max, mut right_max, mut water) = (0, 0, 0);
        while left < right {
            let (side, height, max) = if left_height < right_height {
                ("left", left_height, &mut left_max)
            } else {
                ("right", right_height, &mut right_max)
            };
            if height >= *max {
                agent.call("RaiseMax", serde_json::json!({ "side": side })).await;
                *max = height;
            } else {
                agent.call("AddWater", serde_json::json!({ "side": side })).await;
                water += *max - height;
            }
            let moved = ints(&agent.call("Advance", serde_json::json!({ "side": side })).await);
            let &[pointer, height] = moved.as_slice() else { break };
            if side == "left" {
                (left, left_height) = (pointer, height);
            } else {
                (right, right_height) = (pointer, height);
            }
        }
        agent.done(water).await;
    }
}

export_env!(TrappingRainWater, TrappingRainWaterOracle);

#[cfg(test)]
mod tests {
    use codegym_env_sdk::{Session, ToolCall, testing};

    use super::*;

    const CONFIG: &str = r#"{"heights": [0, 1, 0, 2, 1, 0, 1, 3, 2, 1, 2, 1]}"#;

    #[test]
    fn oracle_solves_every_difficulty() {
        testing::check_environment::<TrappingRainWater, TrappingRainWaterOracle>(10);
    }

    #[test]
    fn tools_settle_bars() {
        let mut session = testing::session::<TrappingRainWater>(CONFIG);
        let mut step = |name: &str, args: &str| session.step(&ToolCall::new(name, args)).observation;
        assert_eq!(step("Heights", "{}"), "left = 0: h = 0; right = 11: h = 1.");
        assert_eq!(step("RaiseMax", r#"{"side": "left"}"#), "left_max = 0.");
        assert_eq!(step("Advance", r#"{"side": "left"}"#), "left = 1: h = 1.");
        assert_eq!(step("RaiseMax", r#"{"side": "left"}"#), "left_max = 1.");
        assert_eq!(step("Advance", r#"{"side": "left"}"#), "left = 2: h = 0.");
        assert_eq!(step("AddWater", r#"{"side": "left"}"#), "Added 1 above h[2]; water = 1.");
        assert_eq!(step("AddWater", r#"{"side": "right"}"#), "Added 0 above h[11]; water = 1.");
        assert_eq!(step("Advance", r#"{"side": "right"}"#), "right = 10: h = 2.");
        assert_eq!(step("Get", r#"{"index": 7}"#), "h[7] = 3");
        assert_eq!(
            step("Observe", "{}"),
            "Bars: 12. Pointers: left = 2, right = 10. Maxima: left_max = 1, right_max = 0. Water so far: 1."
        );
        for (name, args) in [
            ("Get", r#"{"index": 12}"#),
            ("Advance", r#"{"side": "up"}"#),
            ("RaiseMax", "{}"),
            ("AddWater", r#"{"side": "left", "amount": 3}"#),
        ] {
            assert!(step(name, args).starts_with("Error:"), "{name} {args}");
        }
        for _ in 0..8 {
            step("Advance", r#"{"side": "left"}"#);
        }
        assert_eq!(step("Heights", "{}"), "left = 10: h = 2; right = 10: h = 2.");
        assert_eq!(step("Advance", r#"{"side": "right"}"#), "Error: the pointers have met at 10");
    }

    #[test]
    fn answers_are_graded_and_configs_validated() {
        assert_eq!(testing::session::<TrappingRainWater>(CONFIG).reference_answer(), "6");
        let step =
            testing::session::<TrappingRainWater>(CONFIG).step(&ToolCall::new("Done", r#"{"answer": 5}"#));
        assert!(step.done && step.reward == 0.0);
        let step =
            testing::session::<TrappingRainWater>(CONFIG).step(&ToolCall::new("Done", r#"{"answer": 6}"#));
        assert!(step.done && step.reward == 1.0);
        assert!(Session::<TrappingRainWater>::new().reset(r#"{"heights": []}"#).is_err());
        assert!(Session::<TrappingRainWater>::new().reset(r#"{"heights": [1, 2000000]}"#).is_err());
        assert!(Session::<TrappingRainWater>::new().reset(r#"{"heights": [1, -2]}"#).is_err());
    }
}
