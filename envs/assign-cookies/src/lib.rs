//! Most children made content with cookies (LeetCode 455 "Assign Cookies"), by sorting and
//! a greedy two-pointer sweep.
//!
//! Child `i` is content with one cookie of size at least `greed[i]`. The reference solution
//! sorts both lists ascending, then walks the cookies from smallest up with a pointer into
//! the children: a cookie big enough for the least greedy waiting child goes to that child,
//! a smaller cookie is skipped (it cannot please anyone later either). The agent sorts with
//! `SortChildren` / `SortCookies`, reads values with `Greed` / `Cookie` and hands cookies
//! out with `Assign`.

use codegym_env_sdk::prelude::*;

/// Most children, and most cookies, a config may hold.
const MAX_LEN: usize = 1_000;

#[derive(Serialize, Deserialize)]
pub struct Config {
    /// Each child's greed factor: the smallest cookie size that makes it content.
    pub greed: Vec<u32>,
    /// Cookie sizes.
    pub cookies: Vec<u32>,
}

pub struct AssignCookies {
    greed: Vec<u32>,
    cookies: Vec<u32>,
    /// Whether each child (in the current order) got a cookie.
    content: Vec<bool>,
    /// Whether each cookie (in the current order) was given away.
    given: Vec<bool>,
    assigned: usize,
    reads: usize,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct AssignArgs {
    /// The child, by zero-based index in the current order.
    child: usize,
    /// The cookie, by zero-based index in the current order.
    cookie: usize,
}

/// The largest number of content children, by the sorted two-pointer sweep.
fn most_content(greed: &[u32], cookies: &[u32]) -> usize {
    let (mut greed, mut cookies) = (greed.to_vec(), cookies.to_vec());
    greed.sort_unstable();
    cookies.sort_unstable();
    let mut child = 0;
    for size in cookies {
        if child < greed.len() && size >= greed[child] {
            child += 1;
        }
    }
    child
}

impl AssignCookies {
    fn sort_check(&self) -> Result<(), String> {
        if self.assigned == 0 { Ok(()) } else { Err("sort before assigning any cookie".to_owned()) }
    }
}

impl Environment for AssignCookies {
    type Config = Config;
    type Answer = usize;

    const META: Meta = Meta {
        name: "assign-cookies",
        version: env!("CARGO_PKG_VERSION"),
        description: "Most children made content with hidden cookie sizes, by sorting and a greedy \
                      two-pointer sweep (LeetCode 455 Assign Cookies).",
        category: "greedy",
    };

    fn sample_config(seed: u64, difficulty: u32) -> Config {
        let mut rng = config_rng(seed, difficulty);
        let top = scale(difficulty, 6, 20) as u32;
        let greed = (0..scale(difficulty, 3, 24)).map(|_| rng.random_range(1..=top)).collect();
        let cookies = (0..scale(difficulty, 3, 28)).map(|_| rng.random_range(1..=top)).collect();
        Config { greed, cookies }
    }

    fn reset(config: Config) -> Result<Self, String> {
        if !(1..=MAX_LEN).contains(&config.greed.len()) || config.cookies.len() > MAX_LEN {
            return Err(format!("there must be 1 to {MAX_LEN} children and at most {MAX_LEN} cookies"));
        }
        Ok(Self {
            content: vec![false; config.greed.len()],
            given: vec![false; config.cookies.len()],
            greed: config.greed,
            cookies: config.cookies,
            assigned: 0,
            reads: 0,
        })
    }

    fn task(&self) -> String {
        format!(
            "{} children and {} cookies are hidden from you. Child i is content with one cookie \
             of size at least its greed factor; each child gets at most one cookie and each \
             cookie goes to at most one child. Find the largest number of content children. \
             ChildCount and CookieCount give the sizes, Greed and Cookie read one value, \
             SortChildren and SortCookies sort a list ascending (before any assignment), and \
             Assign gives a cookie to a child. Submit the number with Done, e.g. \
             {{\"answer\": 2}}.",
            self.greed.len(),
            self.cookies.len()
        )
    }

    fn observe(&self) -> String {
        format!(
            "Children: {}. Cookies: {}. Values read so far: {}. Content children: {}.",
            self.greed.len(),
            self.cookies.len(),
            self.reads,
            self.assigned
        )
    }

    fn tools(tools: &mut Tools<Self>) {
        tools
            .add("ChildCount", "Return the number of children.", |env: &mut Self, _: NoArgs| {
                env.greed.len().to_string()
            })
            .add("CookieCount", "Return the number of cookies.", |env: &mut Self, _: NoArgs| {
                env.cookies.len().to_string()
            })
            .add(
                "SortChildren",
                "Sort the children by greed factor, ascending.",
                |env: &mut Self, _: NoArgs| {
                    env.sort_check()?;
                    env.greed.sort_unstable();
                    Ok::<_, String>(format!("Sorted {} children by greed.", env.greed.len()))
                },
            )
            .add("SortCookies", "Sort the cookies by size, ascending.", |env: &mut Self, _: NoArgs| {
                env.sort_check()?;
                env.cookies.sort_unstable();
                Ok::<_, String>(format!("Sorted {} cookies by size.", env.cookies.len()))
            })
            .add(
                "Greed",
                "Return the greed factor of the child at `index`, as `greed[index] = g`.",
                |env: &mut Self, args: IndexArgs| match env.greed.get(args.index) {
                    Some(value) => {
                        env.reads += 1;
                        Ok(format!("greed[{}] = {value}", args.index))
                    }
                    None => {
                        Err(format!("child {} is out of range ({} children)", args.index, env.greed.len()))
                    }
                },
            )
            .add(
                "Cookie",
                "Return the size of the cookie at `index`, as `cookie[index] = s`.",
                |env: &mut Self, args: IndexArgs| match env.cookies.get(args.index) {
                    Some(value) => {
                        env.reads += 1;
                        Ok(format!("cookie[{}] = {value}", args.index))
                    }
                    None => {
                        Err(format!("cookie {} is out of range ({} cookies)", args.index, env.cookies.len()))
                    }
                },
            )
            .add(
                "Assign",
                "Give `cookie` to `child`; the cookie must be at least the child's greed factor.",
                |env: &mut Self, args: AssignArgs| {
                    let (Some(&greed), Some(&size)) =
                        (env.greed.get(args.child), env.cookies.get(args.cookie))
                    else {
                        return Err(format!(
                            "child {} or cookie {} is out of range ({} children, {} cookies)",
                            args.child,
                            args.cookie,
                            env.greed.len(),
                            env.cookies.len()
                        ));
                    };
                    if env.content[args.child] {
                        return Err(format!("child {} already has a cookie", args.child));
                    }
                    if env.given[args.cookie] {
                        return Err(format!("cookie {} was already given away", args.cookie));
                    }
                    if size < greed {
                        return Err(format!("cookie size {size} is less than greed {greed}"));
                    }
                    env.content[args.child] = true;
                    env.given[args.cookie] = true;
                    env.assigned += 1;
                    Ok(format!(
                        "Child {} gets cookie {} (size {size} >= greed {greed}).",
                        args.child, args.cookie
                    ))
                },
            );
    }

    fn reference_answer(&self) -> usize {
        most_content(&self.greed, &self.cookies)
    }
}

/// Sort both lists, then sweep the cookies with a pointer into the children.
pub struct AssignCookiesOracle;

impl Oracle for AssignCookiesOracle {
    async fn solve(agent: Agent, _task: String) {
        let children = first_int(&agent.call("ChildCount", NoArgs {}).await).unwrap_or(0);
        let cookies = first_int(&agent.call("CookieCount", NoArgs {}).await).unwrap_or(0);
        agent.call("SortChildren", NoArgs {}).await;
        agent.call("SortCookies", NoArgs {}).await;
        let mut child = 0;
        let mut greed = None;
        for cookie in 0..cookies {
            if child >= children {
                break;
            }
            let want = match greed {
                Some(value) => value,
                None => {
                    let read = ints(&agent.call("Greed", serde_json::json!({ "index": child })).await);
                    let value = read.get(1).copied().unwrap_or(i64::MAX);
                    greed = Some(value);
                    value
                }
            };
            let size = ints(&agent.call("Cookie", serde_json::json!({ "index": cookie })).await);
            if size.get(1).is_some_and(|&size| size >= want) {
                agent.call("Assign", serde_json::json!({ "child": child, "cookie": cookie })).await;
                child += 1;
                greed = None;
            }
        }
        agent.done(child).await;
    }
}

export_env!(AssignCookies, AssignCookiesOracle);

#[cfg(test)]
mod tests {
    use codegym_env_sdk::{Session, ToolCall, testing};

    use super::*;

    const CONFIG: &str = r#"{"greed": [3, 1, 2], "cookies": [1, 3]}"#;

    #[test]
    fn oracle_solves_every_difficulty() {
        testing::check_environment::<AssignCookies, AssignCookiesOracle>(10);
    }

    #[test]
    fn tools_sort_read_and_assign() {
        let mut session = testing::session::<AssignCookies>(CONFIG);
        for call in [
            ToolCall::new("Greed", r#"{"index": 3}"#),
            ToolCall::new("Cookie", r#"{"index": 2}"#),
            ToolCall::new("Assign", r#"{"child": 0, "cookie": 0}"#),
            ToolCall::new("Assign", r#"{"child": 5, "cookie": 1}"#),
        ] {
            let step = session.step(&call);
            assert!(step.observation.starts_with("Error:"), "{call:?}: {}", step.observation);
        }
        assert_eq!(
            session.step(&ToolCall::new("SortChildren", "{}")).observation,
            "Sorted 3 children by greed."
        );
        assert_eq!(session.step(&ToolCall::new("Greed", r#"{"index": 0}"#)).observation, "greed[0] = 1");
        assert_eq!(session.step(&ToolCall::new("Cookie", r#"{"index": 1}"#)).observation, "cookie[1] = 3");
        assert_eq!(
            session.step(&ToolCall::new("Assign", r#"{"child": 2, "cookie": 1}"#)).observation,
            "Child 2 gets cookie 1 (size 3 >= greed 3)."
        );
        assert!(
            session
                .step(&ToolCall::new("Assign", r#"{"child": 0, "cookie": 1}"#))
                .observation
                .starts_with("Error:")
        );
        assert!(session.step(&ToolCall::new("SortCookies", "{}")).observation.starts_with("Error:"));
        assert_eq!(
            session.step(&ToolCall::new("Observe", "{}")).observation,
            "Children: 3. Cookies: 2. Values read so far: 2. Content children: 1."
        );
    }

    #[test]
    fn answers_are_graded_and_bad_configs_rejected() {
        assert_eq!(testing::session::<AssignCookies>(CONFIG).reference_answer(), "2");
        let step = testing::session::<AssignCookies>(CONFIG).step(&ToolCall::new("Done", r#"{"answer": 1}"#));
        assert!(step.done && step.reward == 0.0);
        let step = testing::session::<AssignCookies>(CONFIG).step(&ToolCall::new("Done", r#"{"answer": 2}"#));
        assert!(step.done && step.reward == 1.0);
        let mut session = Session::<AssignCookies>::new();
        assert!(session.reset(r#"{"greed": [], "cookies": [1]}"#).is_err());
        assert!(session.reset(r#"{"greed": [1], "cookies": [-1]}"#).is_err());
    }
}
