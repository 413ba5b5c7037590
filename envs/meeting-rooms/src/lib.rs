//! Minimum number of meeting rooms for a hidden list of meetings (LeetCode 253 "Meeting Rooms
//! II"), with a min-heap of end times.
//!
//! The reference solution sorts the meetings by start (`SortByStart`) and keeps the end time
//! of every busy room in a min-heap held by the environment. For each meeting (`Meeting`):
//! if the earliest-ending room is free by its start (`PeekMin`), reuse it (`PopMin`); then
//! the meeting occupies a room until its end (`PushEnd`). The heap never shrinks overall, so
//! its final size (`HeapSize`) is the number of rooms needed.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use codegym_env_sdk::prelude::*;

/// Most meetings a config may hold.
const MAX_LEN: usize = 10_000;

#[derive(Serialize, Deserialize)]
pub struct Config {
    /// Half-open meetings `[start, end)` with `start < end`, in any order.
    pub meetings: Vec<[i64; 2]>,
}

pub struct MeetingRooms {
    meetings: Vec<[i64; 2]>,
    sorted: bool,
    /// The agent's min-heap of end times.
    heap: BinaryHeap<Reverse<i64>>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct PushArgs {
    /// The end time to push onto the heap.
    end: i64,
}

impl MeetingRooms {
    fn heap_size(&self) -> String {
        format!("heap size = {}", self.heap.len())
    }
}

impl Environment for MeetingRooms {
    type Config = Config;
    type Answer = usize;

    const META: Meta = Meta {
        name: "meeting-rooms",
        version: env!("CARGO_PKG_VERSION"),
        description: "Minimum number of rooms for a hidden list of meetings, with a min-heap of \
                      end times (LeetCode 253 Meeting Rooms II).",
        category: "intervals",
    };

    fn sample_config(seed: u64, difficulty: u32) -> Config {
        let mut rng = config_rng(seed, difficulty);
        let count = scale(difficulty, 3, 18);
        let span = 4 * count as i64;
        let longest = scale(difficulty, 6, 16) as i64;
        let meetings = (0..count)
            .map(|_| {
                let start = rng.random_range(0..span);
                [start, start + rng.random_range(1..=longest)]
            })
            .collect();
        Config { meetings }
    }

    fn reset(config: Config) -> Result<Self, String> {
        if !(1..=MAX_LEN).contains(&config.meetings.len()) {
            return Err(format!("there must be between 1 and {MAX_LEN} meetings"));
        }
        if let Some([start, end]) = config.meetings.iter().find(|[start, end]| start >= end) {
            return Err(format!("meeting [{start}, {end}) does not end after it starts"));
        }
        Ok(Self { meetings: config.meetings, sorted: false, heap: BinaryHeap::new() })
    }

    fn task(&self) -> String {
        format!(
            "A list of {} meetings [start, end) is hidden from you. A room holds one meeting \
             at a time; a meeting ending at time t and one starting at t may share a room. \
             Find the minimum number of rooms needed. Count gives the number of meetings, \
             SortByStart sorts them by start, and Meeting reads one. A min-heap of end times is \
             kept for you: PushEnd, PopMin, PeekMin and HeapSize. Submit the number of rooms \
             with Done, e.g. {{\"answer\": 3}}.",
            self.meetings.len()
        )
    }

    fn observe(&self) -> String {
        format!(
            "Meetings: {} (sorted by start: {}). Heap size: {}.",
            self.meetings.len(),
            if self.sorted { "yes" } else { "no" },
            self.heap.len()
        )
    }

    fn tools(tools: &mut Tools<Self>) {
        tools
            .add("Count", "Return the number of meetings.", |env: &mut Self, _: NoArgs| {
                format!("{} meetings", env.meetings.len())
            })
            .add(
                "SortByStart",
                "Sort the hidden meetings by start time (ties by end), in place.",
                |env: &mut Self, _: NoArgs| {
                    env.meetings.sort_unstable();
                    env.sorted = true;
                    format!("Sorted {} meetings by start.", env.meetings.len())
                },
            )
            .add(
                "Meeting",
                "Return the meeting at `index` of the (possibly sorted) list, as \
                 `meeting index = [start, end)`.",
                |env: &mut Self, args: IndexArgs| match env.meetings.get(args.index) {
                    Some([start, end]) => Ok(format!("meeting {} = [{start}, {end})", args.index)),
                    None => {
                        Err(format!("index {} is out of range ({} meetings)", args.index, env.meetings.len()))
                    }
                },
            )
            .add("PushEnd", "Push an end time onto the min-heap.", |env: &mut Self, args: PushArgs| {
                // One room per meeting is the most a solution needs.
                if env.heap.len() >= env.meetings.len() {
                    return Err(format!("the heap is full ({} end times, one per meeting)", env.heap.len()));
                }
                env.heap.push(Reverse(args.end));
                Ok(format!("Pushed {}; {}.", args.end, env.heap_size()))
            })
            .add(
                "PopMin",
                "Remove the earliest end time from the heap and return it.",
                |env: &mut Self, _: NoArgs| match env.heap.pop() {
                    Some(Reverse(end)) => Ok(format!("Popped {end}; {}.", env.heap_size())),
                    None => Err("the heap is empty".to_owned()),
                },
            )
            .add(
                "PeekMin",
                "Return the earliest end time in the heap without removing it.",
                |env: &mut Self, _: NoArgs| match env.heap.peek() {
                    Some(Reverse(end)) => format!("The earliest end time in the heap is {end}."),
                    None => "The heap is empty.".to_owned(),
                },
            )
            .add("HeapSize", "Return how many end times the heap holds.", |env: &mut Self, _: NoArgs| {
                env.heap_size()
            });
    }

    fn reference_answer(&self) -> usize {
        // Sweep the start and end events; an end at t frees its room before a start at t.
        let mut events: Vec<(i64, i32)> =
            self.meetings.iter().flat_map(|&[start, end]| [(start, 1), (end, -1)]).collect();
        events.sort_unstable();
        let (mut busy, mut most) = (0i32, 0i32);
        for (_, change) in events {
            busy += change;
            most = most.max(busy);
        }
        most as usize
    }
}

/// Sort, then one heap step per meeting.
pub struct MeetingRoomsOracle;

impl Oracle for MeetingRoomsOracle {
    async fn solve(agent: Agent, _task: String) {
        let count = first_int(&agent.call("Count", NoArgs {}).await).unwrap_or(0);
        agent.call("SortByStart", NoArgs {}).await;
        let mut size = 0;
        for index in 0..count {
            let meeting = ints(&agent.call("Meeting", serde_json::json!({ "index": index })).await);
            let Some(&[_, start, end]) = meeting.get(..3) else { break };
            if size > 0 {
                let earliest = first_int(&agent.call("PeekMin", NoArgs {}).await).unwrap_or(i64::MAX);
                if earliest <= start {
                    agent.call("PopMin", NoArgs {}).await;
                    size -= 1;
                }
            }
            agent.call("PushEnd", serde_json::json!({ "end": end })).await;
            size += 1;
        }
        agent.done(size).await;
    }
}

export_env!(MeetingRooms, MeetingRoomsOracle);

#[cfg(test)]
mod tests {
    use codegym_env_sdk::{Session, ToolCall, testing};

    use super::*;

    const CONFIG: &str = r#"{"meetings": [[15, 20], [0, 30], [5, 10]]}"#;

    #[test]
    fn oracle_solves_every_difficulty() {
        testing::check_environment::<MeetingRooms, MeetingRoomsOracle>(10);
    }

    #[test]
    fn heap_tools_work_and_reject_bad_input() {
        let mut session = testing::session::<MeetingRooms>(CONFIG);
        let mut step = |name: &str, args: &str| session.step(&ToolCall::new(name, args)).observation;
        assert_eq!(step("Count", "{}"), "3 meetings");
        assert_eq!(step("SortByStart", "{}"), "Sorted 3 meetings by start.");
        assert_eq!(step("Meeting", r#"{"index": 1}"#), "meeting 1 = [5, 10)");
        assert_eq!(step("PeekMin", "{}"), "The heap is empty.");
        assert!(step("PopMin", "{}").starts_with("Error:"));
        assert_eq!(step("PushEnd", r#"{"end": 30}"#), "Pushed 30; heap size = 1.");
        assert_eq!(step("PushEnd", r#"{"end": 10}"#), "Pushed 10; heap size = 2.");
        assert_eq!(step("PeekMin", "{}"), "The earliest end time in the heap is 10.");
        assert_eq!(step("PopMin", "{}"), "Popped 10; heap size = 1.");
        assert_eq!(step("HeapSize", "{}"), "heap size = 1");
        step("PushEnd", r#"{"end": 20}"#);
        step("PushEnd", r#"{"end": 20}"#);
        for (name, args) in
            [("PushEnd", r#"{"end": 40}"#), ("Meeting", r#"{"index": 3}"#), ("PushEnd", r#"{"start": 1}"#)]
        {
            assert!(step(name, args).starts_with("Error:"), "{name} {args}");
        }
        assert_eq!(step("Observe", "{}"), "Meetings: 3 (sorted by start: yes). Heap size: 3.");
    }

    #[test]
    fn answers_are_graded_and_configs_validated() {
        assert_eq!(testing::session::<MeetingRooms>(CONFIG).reference_answer(), "2");
        let touching = r#"{"meetings": [[1, 5], [5, 8], [8, 9]]}"#;
        assert_eq!(testing::session::<MeetingRooms>(touching).reference_answer(), "1");
        let step = testing::session::<MeetingRooms>(CONFIG).step(&ToolCall::new("Done", r#"{"answer": 3}"#));
        assert!(step.done && step.reward == 0.0);
        let mut session = Session::<MeetingRooms>::new();
        assert!(session.reset(r#"{"meetings": []}"#).is_err());
        assert!(session.reset(r#"{"meetings": [[4, 4]]}"#).is_err());
    }
}
