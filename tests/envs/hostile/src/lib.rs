//! A hostile environment: each tool misbehaves in one way a broken or malicious component
//! could (loops, memory bombs, unbounded recursion, panics, huge output), and `reset` can
//! too. `Count` is the one honest tool: its counter must survive every rollback.

use std::hint::black_box;

use codegym_env_sdk::prelude::*;

#[derive(Serialize, Deserialize)]
pub struct Config {
    /// `ok`, or how `reset` misbehaves: `spin`, `panic`, `grow`, `big-task`.
    pub reset: String,
}

pub struct Hostile {
    count: i64,
}

#[derive(Deserialize, JsonSchema)]
struct RecurseArgs {
    /// Levels to recurse; the default never stops.
    depth: Option<u64>,
}

fn spin() -> String {
    let mut i: u64 = 0;
    loop {
        i = black_box(i.wrapping_add(1));
        if black_box(i) == u64::MAX {
            return i.to_string();
        }
    }
}

fn grow() -> String {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        // Reserve without filling: growth, not memset, is what should hit the limit.
        let mut chunk = Vec::<u8>::with_capacity(1 << 20);
        chunk.push(1);
        hoard.push(black_box(chunk));
        if black_box(hoard.len()) == usize::MAX {
            return String::new();
        }
    }
}

/// Recursion that keeps its frames on the wasm call stack (no locals in linear memory) and
/// that LLVM cannot turn into a loop, so it exhausts the engine's stack limit.
#[inline(never)]
fn recurse(depth: u64) -> u64 {
    if depth == 0 {
        return 0;
    }
    recurse(depth - 1).wrapping_mul(3).wrapping_add(depth)
}

/// Recursion whose frames live in linear memory (an address-taken buffer), so it runs off the
/// bottom of the component's 32 KiB shadow stack rather than exhausting the engine's stack.
#[inline(never)]
fn deep_frames(depth: u64) -> u64 {
    let mut buffer = [depth; 64];
    black_box(&mut buffer);
    if depth == 0 {
        return buffer[1];
    }
    deep_frames(depth - 1).wrapping_add(buffer[3])
}

impl Environment for Hostile {
    type Config = Config;
    type Answer = i64;

    const META: Meta = Meta {
        name: "hostile",
        version: env!("CARGO_PKG_VERSION"),
        description: "Misbehaves on purpose, to test the sandbox.",
        category: "testing",
    };

    fn sample_config(_seed: u64, _difficulty: u32) -> Config {
        Config { reset: "ok".into() }
    }

    fn reset(config: Config) -> Result<Self, String> {
        match config.reset.as_str() {
            "ok" => {}
            "spin" => {
                spin();
            }
            "panic" => panic!("reset was told to panic"),
            "grow" => {
                grow();
            }
            "big-task" => return Err("x".repeat(10 << 20)),
            other => return Err(format!("unknown reset mode {other}")),
        }
        Ok(Self { count: 0 })
    }

    fn task(&self) -> String {
        "Call Count some times, then Done with the count.".into()
    }

    fn observe(&self) -> String {
        format!("count = {}", self.count)
    }

    fn tools(tools: &mut Tools<Self>) {
        tools
            .add("Count", "Add one to the counter.", |env: &mut Self, _: NoArgs| {
                env.count += 1;
                format!("count = {}", env.count)
            })
            .add("Spin", "Loop forever.", |env: &mut Self, _: NoArgs| {
                env.count += 1000; // mutate first: the rollback must undo this
                spin()
            })
            .add("Grow", "Allocate memory forever.", |env: &mut Self, _: NoArgs| {
                env.count += 1000;
                grow()
            })
            .add("Recurse", "Recurse without end.", |_: &mut Self, args: RecurseArgs| {
                recurse(black_box(args.depth.unwrap_or(u64::MAX))).to_string()
            })
            .add("DeepStack", "Overflow the shadow stack in linear memory.", |_: &mut Self, _: NoArgs| {
                deep_frames(black_box(u64::MAX)).to_string()
            })
            .add("Panic", "Panic.", |env: &mut Self, _: NoArgs| -> String {
                env.count += 1000;
                panic!("the Panic tool panics")
            })
            .add("Big", "Return a 10 MB observation.", |_: &mut Self, _: NoArgs| "x".repeat(10 << 20));
    }

    fn reference_answer(&self) -> i64 {
        self.count
    }
}

/// Counts three times and answers 3.
pub struct HostileOracle;

impl Oracle for HostileOracle {
    async fn solve(agent: Agent, _task: String) {
        for _ in 0..3 {
            agent.call("Count", NoArgs {}).await;
        }
        agent.done(3).await;
    }
}

export_env!(Hostile, HostileOracle);
