//! Corpus verification, after the CodeGym paper's: an environment is kept only when its
//! configs are reproducible, its reference answers compute within limits, its oracle solves
//! every config in a sane number of calls, a wrong answer is rejected, and no single tool
//! hands out the answer.

use std::collections::HashMap;

use codegym_core::{ToolCall, Trajectory, perturb_answer};
use serde::Serialize;
use serde_json::Value;

use crate::parallel::parallel_map;
use crate::{Env, Error, Job, OraclePolicy, Registry, run_episode};

/// Oracle calls a medium-difficulty task must take (CodeGym's task filter).
pub const ORACLE_CALLS: std::ops::RangeInclusive<usize> = 10..=256;
/// The difficulties configs are sampled at; the middle one is "medium".
pub const VERIFY_DIFFICULTIES: [u32; 3] = [0, 50, 100];
const MEDIUM: u32 = 50;

#[derive(Clone, Debug)]
pub struct VerifyOptions {
    /// Configs per environment, spread evenly over [`VERIFY_DIFFICULTIES`].
    pub configs: usize,
    pub threads: usize,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        // 2 × 15, as in the paper.
        Self { configs: 30, threads: std::thread::available_parallelism().map_or(1, usize::from) }
    }
}

/// The checks, in the order they run. An environment stops at the first it fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stage {
    /// The component loads (zero imports, valid info).
    Load,
    /// At least 4 tools, `Observe` and `Done` among them.
    Tools,
    /// `sample_config` is deterministic and gives distinct configs (at most a tenth repeat).
    Configs,
    /// Reset and the reference answer succeed within the fuel limit.
    Reference,
    /// The oracle reaches reward 1 on every config.
    Oracle,
    /// The oracle needs 10–256 calls on every medium config.
    OracleCalls,
    /// `Done` with a wrong answer gets reward 0.
    WrongAnswer,
    /// No tool reveals the answer in one call.
    NoAnswerTool,
}

impl Stage {
    pub const ALL: [Stage; 8] = [
        Stage::Load,
        Stage::Tools,
        Stage::Configs,
        Stage::Reference,
        Stage::Oracle,
        Stage::OracleCalls,
        Stage::WrongAnswer,
        Stage::NoAnswerTool,
    ];

    pub fn describe(self) -> &'static str {
        match self {
            Stage::Load => "component loads",
            Stage::Tools => ">= 4 tools with Observe and Done",
            Stage::Configs => "configs deterministic and distinct",
            Stage::Reference => "reference answers within limits",
            Stage::Oracle => "oracle reward 1 on every config",
            Stage::OracleCalls => "oracle calls 10-256 at medium",
            Stage::WrongAnswer => "wrong answer gets reward 0",
            Stage::NoAnswerTool => "no tool returns the answer",
        }
    }
}

/// Why an environment was rejected.
#[derive(Clone, Debug, Serialize)]
pub struct Failure {
    pub env: String,
    pub stage: Stage,
    pub reason: String,
}

/// How many environments passed each stage.
#[derive(Clone, Debug, Serialize)]
pub struct StageCount {
    pub stage: Stage,
    pub description: &'static str,
    pub passed: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct VerifyReport {
    pub envs: usize,
    pub passed: usize,
    pub configs_per_env: usize,
    pub funnel: Vec<StageCount>,
    pub failed: Vec<Failure>,
}

impl VerifyReport {
    pub fn ok(&self) -> bool {
        self.failed.is_empty()
    }
}

/// Verify the environments `names` of `registry`; `done` is called after each one.
pub fn verify(
    registry: &Registry,
    names: &[String],
    options: &VerifyOptions,
    done: impl Fn() + Sync,
) -> VerifyReport {
    let outcomes = parallel_map(
        names,
        options.threads,
        |_, name| match registry.get(name) {
            Ok(env) => verify_env(&env, options.configs).err(),
            Err(error) => Some((Stage::Load, error.to_string())),
        },
        done,
    );
    let failed: Vec<Failure> = names
        .iter()
        .zip(outcomes)
        .filter_map(|(env, outcome)| {
            outcome.map(|(stage, reason)| Failure { env: env.clone(), stage, reason })
        })
        .collect();
    let funnel = Stage::ALL
        .iter()
        .enumerate()
        .map(|(index, &stage)| StageCount {
            stage,
            description: stage.describe(),
            // An environment passed a stage if it failed at none up to and including it.
            passed: names.len() - failed.iter().filter(|f| Stage::ALL[..=index].contains(&f.stage)).count(),
        })
        .collect();
    VerifyReport {
        envs: names.len(),
        passed: names.len() - failed.len(),
        configs_per_env: options.configs,
        funnel,
        failed,
    }
}

type Rejection = (Stage, String);

/// One sampled config and what the checks learnt about it.
struct Probe {
    seed: u64,
    difficulty: u32,
    config: String,
    reference: String,
}

/// Run every check on one environment; the first failure is returned.
pub fn verify_env(env: &Env, configs: usize) -> Result<(), Rejection> {
    check_tools(env)?;
    let mut probes = sample_configs(env, configs)?;
    for probe in &mut probes {
        probe.reference = reference_answer(env, &probe.config)
            .map_err(|error| (Stage::Reference, format!("{} : {error}", probe.name())))?;
    }
    let mut medium_runs = Vec::new();
    for probe in &probes {
        let job = Job::sampled(env.clone(), probe.seed, probe.difficulty);
        let mut oracle = OraclePolicy::default();
        let (trajectory, _) = run_episode(&job, &mut oracle, env.limits())
            .map_err(|error| (Stage::Oracle, format!("{}: {error}", probe.name())))?;
        if !trajectory.outcome.is_solved() {
            let last = trajectory.steps.last().map_or("", |s| s.observation.as_str());
            // An oracle that faulted stops without a call, which the episode records as abandoned.
            let fault =
                oracle.fault().map(|kind| format!(" (the oracle itself faulted: {})", kind.describe()));
            return Err((
                Stage::Oracle,
                format!(
                    "{}: oracle ended with {} after {} calls{} (last observation: {})",
                    probe.name(),
                    trajectory.outcome.as_str(),
                    trajectory.steps.len(),
                    fault.unwrap_or_default(),
                    clip(last, 160)
                ),
            ));
        }
        if probe.difficulty == MEDIUM {
            medium_runs.push((probe, trajectory));
        }
    }
    for (probe, trajectory) in &medium_runs {
        if !ORACLE_CALLS.contains(&trajectory.steps.len()) {
            return Err((
                Stage::OracleCalls,
                format!("{}: the oracle used {} calls (want 10-256)", probe.name(), trajectory.steps.len()),
            ));
        }
    }
    for probe in &probes {
        check_wrong_answer(env, probe).map_err(|reason| (Stage::WrongAnswer, reason))?;
    }
    check_no_answer_tool(env, &medium_runs).map_err(|reason| (Stage::NoAnswerTool, reason))
}

impl Probe {
    fn name(&self) -> String {
        format!("seed {} difficulty {}", self.seed, self.difficulty)
    }
}

fn check_tools(env: &Env) -> Result<(), Rejection> {
    let tools = &env.info().tools;
    let has = |name: &str| tools.iter().any(|t| t.name == name);
    if tools.len() < 4 || !has("Observe") || !has("Done") {
        let names: Vec<&str> = tools.iter().map(|t| t.name.as_str()).collect();
        return Err((Stage::Tools, format!("needs >= 4 tools including Observe and Done; has {names:?}")));
    }
    Ok(())
}

/// `configs` configs over the verification difficulties, each sampled three times (in a fresh
/// instance, then twice in another) to check that the generator is pure; configs at one
/// difficulty must be (nearly) all different.
fn sample_configs(env: &Env, configs: usize) -> Result<Vec<Probe>, Rejection> {
    let per_difficulty = configs.div_ceil(VERIFY_DIFFICULTIES.len()).max(1) as u64;
    let mut probes = Vec::new();
    for difficulty in VERIFY_DIFFICULTIES {
        let mut seen: HashMap<String, u64> = HashMap::new();
        let mut duplicates = Vec::new();
        for seed in 0..per_difficulty {
            let failed =
                |error: Error| (Stage::Configs, format!("sample_config({seed}, {difficulty}): {error}"));
            let config = env.sample_config(seed, difficulty).map_err(failed)?;
            let (first, second) = env.sample_config_twice(seed, difficulty).map_err(failed)?;
            if first != config || second != config {
                return Err((
                    Stage::Configs,
                    format!(
                        "sample_config({seed}, {difficulty}) is not deterministic (it gave a different \
                         config when called again)"
                    ),
                ));
            }
            if let Some(other) = seen.insert(config.clone(), seed) {
                duplicates.push((other, seed));
            }
            probes.push(Probe { seed, difficulty, config, reference: String::new() });
        }
        // Small task spaces (one number at difficulty 0) may repeat a config now and then;
        // a generator that ignores its seed repeats them all the time.
        if duplicates.len() as u64 * 10 > per_difficulty {
            let (a, b) = duplicates[0];
            return Err((
                Stage::Configs,
                format!(
                    "{} of {per_difficulty} configs at difficulty {difficulty} repeat an earlier one \
                     (e.g. seeds {a} and {b}); at most a tenth may",
                    duplicates.len()
                ),
            ));
        }
    }
    Ok(probes)
}

fn reference_answer(env: &Env, config: &str) -> Result<String, Error> {
    env.start(config)?.reference_answer()
}

/// `Done` with a perturbed reference answer must end the episode with reward 0. A
/// perturbation the answer type rejects (an `Error:` observation) proves nothing either way.
fn check_wrong_answer(env: &Env, probe: &Probe) -> Result<(), String> {
    let reference: Value = serde_json::from_str(&probe.reference)
        .map_err(|error| format!("{}: reference answer is not JSON: {error}", probe.name()))?;
    let Some(wrong) = perturb_answer(&reference) else { return Ok(()) };
    let mut episode = env.start(&probe.config).map_err(|error| format!("{}: {error}", probe.name()))?;
    let step = episode.step(&ToolCall::new("Done", serde_json::json!({ "answer": wrong }).to_string()));
    if step.observation.starts_with("Error:") || (step.done && step.reward == 0.0) {
        Ok(())
    } else {
        Err(format!(
            "{}: wrong answer {wrong} got reward {} ({})",
            probe.name(),
            step.reward,
            step.observation
        ))
    }
}

/// A tool that returns the answer turns the task into one call. Call each tool once, first
/// thing in a fresh episode, and reject the environment if some tool's observation contains
/// the reference answer on every medium config: coincidences happen, but not on all of
/// them. The arguments are those the oracle first gave the tool on the *next* config (else
/// `{}`): plausible arguments that carry no knowledge of this config's answer (the oracle's
/// own last `Get` on this config would point right at it).
fn check_no_answer_tool(env: &Env, medium_runs: &[(&Probe, Trajectory)]) -> Result<(), String> {
    if medium_runs.is_empty() {
        return Ok(());
    }
    for tool in &env.info().tools {
        if tool.name == "Done" || tool.name == "Observe" {
            continue;
        }
        let mut revealed = 0;
        for (index, (probe, _)) in medium_runs.iter().enumerate() {
            let (_, other) = &medium_runs[(index + 1) % medium_runs.len()];
            let arguments = other
                .steps
                .iter()
                .find(|step| step.call.name == tool.name)
                .map_or_else(|| "{}".to_owned(), |step| step.call.arguments.clone());
            let mut episode =
                env.start(&probe.config).map_err(|error| format!("{}: {error}", probe.name()))?;
            let step = episode.step(&ToolCall::new(tool.name.clone(), arguments));
            if reveals(&step.observation, &probe.reference) {
                revealed += 1;
            }
        }
        if revealed == medium_runs.len() {
            return Err(format!(
                "tool {} reveals the reference answer in one call on all {revealed} medium configs",
                tool.name
            ));
        }
    }
    Ok(())
}

/// Whether `observation` contains `answer` (JSON; a string answer also unquoted) as a whole
/// token: not as part of a longer number or word.
fn reveals(observation: &str, answer: &str) -> bool {
    let unquoted = serde_json::from_str::<String>(answer).ok();
    // A sign, a letter or a digit next to it would make it a different token; a full stop
    // ends a sentence unless a digit follows (then it is a decimal point).
    let starts_token =
        |before: Option<char>| before.is_none_or(|c| !(c.is_alphanumeric() || "_-".contains(c)));
    let ends_token = |rest: &str| {
        let mut chars = rest.chars();
        match chars.next() {
            None => true,
            Some('.') => chars.next().is_none_or(|c| !c.is_ascii_digit()),
            Some(c) => !(c.is_alphanumeric() || c == '_'),
        }
    };
    [Some(answer), unquoted.as_deref()].into_iter().flatten().filter(|a| !a.is_empty()).any(|needle| {
        observation.match_indices(needle).any(|(start, _)| {
            starts_token(observation[..start].chars().next_back())
                && ends_token(&observation[start + needle.len()..])
        })
    })
}

fn clip(text: &str, limit: usize) -> String {
    match text.char_indices().nth(limit) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::reveals;

    #[test]
    fn reveals_matches_whole_tokens_only() {
        let cases = [
            ("The answer is 42.", "42", true),
            ("a[3] = 142", "42", false),
            ("value -42", "42", false),
            ("x = 42.5", "42", false),
            ("order: [1,2,3]", "[1,2,3]", true),
            ("best word: apple", "\"apple\"", true),
            ("pineapples", "\"apple\"", false),
        ];
        for (observation, answer, expected) in cases {
            assert_eq!(reveals(observation, answer), expected, "{observation:?} / {answer}");
        }
    }
}
